use super::*;
use fence_core::{Category, Cvss};

fn signer() -> ButtonSigner {
    ButtonSigner::new([1; 32])
}

fn ctx<'a>(
    signer: &'a ButtonSigner,
    kind: ChannelKind,
    format: MessageFormat,
) -> RenderContext<'a> {
    RenderContext {
        base_url: "https://fence.example.org",
        org_id: "org1",
        kind,
        format,
        run_scan: false,
        signer,
    }
}

fn seed_vuln(severity: Severity, cvss: f64) -> VulnerabilityAlert {
    VulnerabilityAlert {
        finding_id: "0190f0f0-0000-7000-8000-000000000001".into(),
        domain: "example.com".into(),
        title: "SQL Injection in login form".into(),
        severity,
        cvss: Cvss::new(cvss).ok(),
        cve: Some("CVE-2024-12345".into()),
        owasp: Some("A03:2021 - Injection".into()),
        category: Some(Category::SqlInjection),
        affected_url: Some("https://example.com/login".into()),
        has_remediation: true,
        reopened: false,
    }
}

#[test]
fn every_severity_renders_in_both_formats_with_the_seed_content() {
    let s = signer();
    for (severity, cvss) in [
        (Severity::Critical, 9.8),
        (Severity::High, 7.5),
        (Severity::Medium, 5.3),
        (Severity::Low, 2.1),
        (Severity::Info, 0.0),
    ] {
        for format in [MessageFormat::Blocks, MessageFormat::Attachments] {
            let alert = Alert::Vulnerability(seed_vuln(severity, cvss));
            let msg = render(
                &ctx(&s, ChannelKind::Slack, format),
                &[alert],
                &["<!subteam^S0123456789>".into()],
            );
            check_message(&msg).expect("within Block Kit limits");
            assert_eq!(msg["attachments"][0]["color"], severity.color());
            let text = msg["text"].as_str().unwrap_or_default();
            assert!(
                text.starts_with(severity.icon()) && text.contains(severity.headline()),
                "{text}"
            );
            assert!(
                text.ends_with("<!subteam^S0123456789>"),
                "mention in top-level text: {text}"
            );
            insta::assert_json_snapshot!(
                format!("vulnerability_{}_{:?}", severity.as_str(), format).to_lowercase(),
                msg
            );
        }
    }
}

#[test]
fn the_critical_alert_carries_every_seed_field_and_button() {
    let s = signer();
    let msg = render(
        &ctx(&s, ChannelKind::Slack, MessageFormat::Blocks),
        &[Alert::Vulnerability(seed_vuln(Severity::Critical, 9.8))],
        &[],
    );
    let body = msg.to_string();
    for needle in [
        "🚨 Critical Vulnerability Detected",
        "example.\u{200B}com",
        "CRITICAL (CVSS 9.8)",
        "SQL Injection in login form",
        "CVE-2024-12345",
        "A03:2021 - Injection",
        "https:\u{200B}//example.\u{200B}com/login",
        "View Details",
        "Mark as False Positive",
        "Snooze (24h)",
        "Fix Instructions",
    ] {
        assert!(body.contains(needle), "missing {needle:?} in {body}");
    }
    assert!(
        !body.contains("Run Scan"),
        "Run Scan only on plans that allow it"
    );
    let buttons = &msg["attachments"][0]["blocks"][2]["elements"];
    assert_eq!(
        buttons[0]["url"],
        "https://fence.example.org/findings/0190f0f0-0000-7000-8000-000000000001"
    );
    let value = buttons[1]["value"].as_str().unwrap_or_default();
    assert_eq!(
        s.verify(value).map(|b| b.action),
        Some("false_positive".to_string())
    );
}

#[test]
fn hostile_titles_are_shown_literally() {
    let s = signer();
    let mut v = seed_vuln(Severity::Critical, 9.8);
    v.title = "<!channel> <https://evil.example|click> <@U123>".into();
    for format in [MessageFormat::Blocks, MessageFormat::Attachments] {
        let msg = render(
            &ctx(&s, ChannelKind::Slack, format),
            &[Alert::Vulnerability(v.clone())],
            &[],
        );
        let body = msg.to_string();
        assert!(body.contains("&lt;!channel&gt;"), "{body}");
        assert!(
            !body.contains("<!channel>")
                && !body.contains("<https://evil")
                && !body.contains("<@U123>"),
            "{body}"
        );
    }
}

#[test]
fn oversized_input_stays_within_block_kit_limits() {
    let s = signer();
    let mut v = seed_vuln(Severity::Critical, 9.8);
    v.title = "<&>".repeat(10_000);
    v.domain = format!("{}.com", "a".repeat(60));
    v.owasp = Some("x".repeat(5000));
    v.affected_url = Some(format!("https://example.com/{}", "<".repeat(3000)));
    v.finding_id = "f".repeat(300);
    let mentions: Vec<String> = (0..500).map(|i| format!("U{i:08}")).collect();
    for format in [MessageFormat::Blocks, MessageFormat::Attachments] {
        let one = render(
            &ctx(&s, ChannelKind::Slack, format),
            &[Alert::Vulnerability(v.clone())],
            &mentions,
        );
        check_message(&one).expect("single alert within limits");
        let many: Vec<Alert> = (0..2000).map(|_| Alert::Vulnerability(v.clone())).collect();
        let msg = render(&ctx(&s, ChannelKind::Slack, format), &many, &mentions);
        check_message(&msg).expect("coalesced alert within limits");
    }
}

#[test]
fn a_burst_is_coalesced_with_counts_the_most_severe_listed_and_the_rest_counted() {
    let s = signer();
    let mut alerts = Vec::new();
    for i in 0..25 {
        let mut v = seed_vuln(Severity::High, 7.0 + f64::from(i % 10) / 10.0);
        v.title = format!("high {i}");
        alerts.push(Alert::Vulnerability(v));
    }
    for i in 0..12 {
        let mut v = seed_vuln(Severity::Critical, 9.0 + f64::from(i % 10) / 10.0);
        v.title = format!("critical {i}");
        alerts.push(Alert::Vulnerability(v));
    }
    let msg = render(
        &ctx(&s, ChannelKind::Slack, MessageFormat::Blocks),
        &alerts,
        &[],
    );
    check_message(&msg).expect("within limits");
    assert_eq!(
        msg["text"],
        "🚨 37 new vulnerabilities: 12 critical, 25 high"
    );
    assert_eq!(msg["attachments"][0]["color"], "#FF0000");
    let blocks = msg["attachments"][0]["blocks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        blocks[1]["text"]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("critical"),
        "most severe first"
    );
    let last = blocks
        .last()
        .map(|b| {
            b["elements"][0]["text"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .unwrap_or_default();
    assert!(last.starts_with("…and 22 more (22 high)"), "{last}");
    let ids: std::collections::HashSet<&str> = blocks
        .iter()
        .filter_map(|b| b["block_id"].as_str())
        .collect();
    assert_eq!(ids.len(), COALESCE_LISTED, "block ids are unique");
}

#[test]
fn mattermost_gets_attachments_and_its_own_mention_syntax() {
    let s = signer();
    let msg = render(
        &ctx(&s, ChannelKind::Mattermost, MessageFormat::Attachments),
        &[Alert::Vulnerability(seed_vuln(Severity::High, 7.5))],
        &["@everyone".into(), "@alice".into(), "<#C0123>".into()],
    );
    assert!(msg["attachments"][0].get("blocks").is_none());
    assert!(msg["attachments"][0].get("actions").is_none());
    let text = msg["text"].as_str().unwrap_or_default();
    assert!(text.ends_with("@all @alice"), "{text}");
}

#[test]
fn reopened_findings_say_so() {
    let s = signer();
    let mut v = seed_vuln(Severity::High, 7.5);
    v.reopened = true;
    let msg = render(
        &ctx(&s, ChannelKind::Slack, MessageFormat::Blocks),
        &[Alert::Vulnerability(v)],
        &[],
    );
    assert!(msg["text"]
        .as_str()
        .unwrap_or_default()
        .contains("(Reopened)"));
    assert!(msg.to_string().contains("detected again"));
}
