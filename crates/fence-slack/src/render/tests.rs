use super::*;
use fence_core::{Category, Cvss, Severity};

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
        detail: fence_core::Detail::Full,
        acknowledge: false,
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
        intel: None,
        now_exploited: false,
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
        "example.com",
        "CRITICAL (CVSS 9.8)",
        "SQL Injection in login form",
        "CVE-2024-12345",
        "A03:2021 - Injection",
        // On the finding's own domain, the affected URL is a real link.
        "<https://example.com/login|https://example.com/login>",
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

fn seed_certificate(days_left: i64) -> fence_core::alert::CertificateAlert {
    fence_core::alert::CertificateAlert {
        domain: "example.com".into(),
        // February 3, 2025 00:00 UTC.
        not_after: 1_738_540_800_000,
        days_left,
        issuer: "Let's Encrypt".into(),
        sans: vec!["example.com".into(), "www.example.com".into()],
        fingerprint: "ab".repeat(32),
        renew_url: Some("https://example.com/renew".into()),
    }
}

fn seed_scan(counts: [u32; 5]) -> fence_core::alert::ScanAlert {
    fence_core::alert::ScanAlert {
        scan_id: "scan-1".into(),
        domain: "example.com".into(),
        scan_type: "full".into(),
        duration_secs: 272,
        counts,
        changes: None,
    }
}

#[test]
fn every_alert_type_renders_in_both_formats_within_limits() {
    let s = signer();
    let reminder = Alert::Reminder(fence_core::alert::ReminderAlert {
        finding: seed_vuln(Severity::Critical, 9.8),
        open_since: 1_737_331_200_000,
        days_open: 3,
    });
    let cases = [
        (
            "certificate_14_days",
            Alert::CertificateExpiring(seed_certificate(14)),
        ),
        (
            "certificate_5_days",
            Alert::CertificateExpiring(seed_certificate(5)),
        ),
        (
            "scan_completed_seed",
            Alert::ScanCompleted(seed_scan([0, 2, 7, 4, 1])),
        ),
        ("reminder", reminder),
        (
            "digest_daily",
            Alert::Digest(fence_core::alert::DigestAlert {
                label: "Daily".into(),
                period_end: 1_737_363_600_000,
                timezone: "UTC".into(),
                scans_run: 47,
                domains_scanned: 12,
                new_vulnerabilities: 8,
                top: vec![
                    fence_core::alert::DigestIssue {
                        severity: Severity::Critical,
                        title: "SQL Injection".into(),
                        domain: "example.com".into(),
                        cvss: Cvss::new(9.8).ok(),
                        intel: None,
                    },
                    fence_core::alert::DigestIssue {
                        severity: Severity::High,
                        title: "Weak TLS Ciphers".into(),
                        domain: "api.example.com".into(),
                        cvss: Cvss::new(7.5).ok(),
                        intel: None,
                    },
                ],
                certificates: vec![fence_core::alert::DigestCertificate {
                    domain: "example.com".into(),
                    days_left: 14,
                }],
                report_url: "https://fence.example.org/reports/findings.csv?sig=x".into(),
                silenced: 0,
                silences_ending: vec![],
            }),
        ),
        (
            "channel_broken",
            Alert::ChannelBroken(fence_core::alert::ChannelBrokenAlert {
                channel_name: "Security Alerts".into(),
                error: "invalid_token".into(),
                hint: crate::hint_for("invalid_token").into(),
            }),
        ),
    ];
    for (name, alert) in cases {
        for format in [MessageFormat::Blocks, MessageFormat::Attachments] {
            let msg = render(
                &ctx(&s, ChannelKind::Slack, format),
                std::slice::from_ref(&alert),
                &["<@U0123456789>".into()],
            );
            check_message(&msg).expect("within Block Kit limits");
            assert!(
                msg["text"]
                    .as_str()
                    .unwrap_or_default()
                    .ends_with("<@U0123456789>"),
                "{name}: mentions in the text"
            );
            insta::assert_json_snapshot!(format!("{name}_{format:?}").to_lowercase(), msg);
        }
        let mm = render(
            &ctx(&s, ChannelKind::Mattermost, MessageFormat::Attachments),
            std::slice::from_ref(&alert),
            &[],
        );
        assert!(
            mm["attachments"][0].get("blocks").is_none()
                && mm["attachments"][0].get("actions").is_none(),
            "{name}: {mm}"
        );
    }
}

#[test]
fn the_certificate_alert_has_the_seed_content_and_colors() {
    let s = signer();
    let msg = render(
        &ctx(&s, ChannelKind::Slack, MessageFormat::Blocks),
        &[Alert::CertificateExpiring(seed_certificate(14))],
        &[],
    );
    let body = msg.to_string().replace('\u{200B}', "");
    for needle in [
        "⚠️ SSL Certificate Expiring Soon",
        "February 3, 2025 (14 days)",
        "Let's Encrypt",
        "• example.com",
        "• www.example.com",
        "Renew Certificate",
        "View Details",
        "https://example.com/renew",
    ] {
        assert!(body.contains(needle), "{needle} in {body}");
    }
    assert_eq!(
        msg["attachments"][0]["color"], "#FFA500",
        "orange below 30 days"
    );
    let red = render(
        &ctx(&s, ChannelKind::Slack, MessageFormat::Blocks),
        &[Alert::CertificateExpiring(seed_certificate(6))],
        &[],
    );
    assert_eq!(
        red["attachments"][0]["color"], "#FF0000",
        "red below 7 days"
    );
    let expired = render(
        &ctx(&s, ChannelKind::Slack, MessageFormat::Blocks),
        &[Alert::CertificateExpiring(seed_certificate(-2))],
        &[],
    );
    assert!(expired.to_string().contains("(expired 2 days ago)"));
}

#[test]
fn the_scan_summary_has_the_seed_content_and_colors() {
    let s = signer();
    let msg = render(
        &ctx(&s, ChannelKind::Slack, MessageFormat::Blocks),
        &[Alert::ScanCompleted(seed_scan([0, 2, 7, 4, 1]))],
        &[],
    );
    let body = msg.to_string();
    for needle in [
        "✅ Security Scan Completed",
        "Full Scan",
        "4m 32s",
        "🔴 Critical: 0",
        "🟠 High: 2",
        "🟡 Medium: 7",
        "🔵 Low: 4",
        "⚪ Info: 1",
        "View Full Report",
    ] {
        assert!(body.contains(needle), "{needle} in {body}");
    }
    assert_eq!(
        msg["attachments"][0]["color"], "#FFD700",
        "yellow with high"
    );
    let green = render(
        &ctx(&s, ChannelKind::Slack, MessageFormat::Blocks),
        &[Alert::ScanCompleted(seed_scan([0, 0, 3, 0, 0]))],
        &[],
    );
    assert_eq!(green["attachments"][0]["color"], "#00FF00");
    let red = render(
        &ctx(&s, ChannelKind::Slack, MessageFormat::Blocks),
        &[Alert::ScanCompleted(seed_scan([1, 0, 0, 0, 0]))],
        &[],
    );
    assert_eq!(red["attachments"][0]["color"], "#FF0000");
    let mut with_scan = ctx(&s, ChannelKind::Slack, MessageFormat::Blocks);
    with_scan.run_scan = true;
    assert!(
        render(&with_scan, &[Alert::ScanCompleted(seed_scan([0; 5]))], &[])
            .to_string()
            .contains("Run New Scan")
    );
}

#[test]
fn hostile_certificate_and_scan_values_stay_inert_and_bounded() {
    let s = signer();
    let mut c = seed_certificate(3);
    c.issuer = "<!everyone> ".repeat(500);
    c.sans = (0..1000).map(|i| format!("<@U{i}>.evil.example")).collect();
    c.renew_url = Some("javascript:alert(1)".into());
    let mut sc = seed_scan([u32::MAX; 5]);
    sc.scan_type = "<https://evil|x>".repeat(100);
    for format in [MessageFormat::Blocks, MessageFormat::Attachments] {
        for alert in [
            Alert::CertificateExpiring(c.clone()),
            Alert::ScanCompleted(sc.clone()),
        ] {
            let msg = render(&ctx(&s, ChannelKind::Slack, format), &[alert], &[]);
            check_message(&msg).expect("within limits");
            let body = msg.to_string();
            assert!(
                !body.contains("<!everyone>")
                    && !body.contains("<@U")
                    && !body.contains("<https://evil")
                    && !body.contains("javascript:"),
                "{body}"
            );
        }
    }
}

#[test]
fn reminders_coalesce_as_still_open_findings() {
    let s = signer();
    let alerts: Vec<Alert> = (0..3)
        .map(|i| {
            let mut v = seed_vuln(
                if i == 0 {
                    Severity::Critical
                } else {
                    Severity::High
                },
                8.0,
            );
            v.title = format!("open {i}");
            Alert::Reminder(fence_core::alert::ReminderAlert {
                finding: v,
                open_since: 0,
                days_open: 2,
            })
        })
        .collect();
    let msg = render(
        &ctx(&s, ChannelKind::Slack, MessageFormat::Blocks),
        &alerts,
        &[],
    );
    assert_eq!(msg["text"], "⏰ 3 findings still open: 1 critical, 2 high");
}

#[test]
fn text_copies_as_written_and_only_fence_and_the_asset_are_links() {
    let s = signer();
    let mut v = seed_vuln(Severity::High, 8.1);
    v.title = "Open redirect to https://evil.example.net/x via evil.example.net".into();
    v.affected_url = Some("https://attacker.test/phish".into());
    for kind in [ChannelKind::Slack, ChannelKind::Mattermost] {
        for format in [MessageFormat::Blocks, MessageFormat::Attachments] {
            let msg = render(
                &ctx(&s, kind, format),
                &[Alert::Vulnerability(v.clone())],
                &[],
            );
            let body = msg.to_string();
            assert!(
                !body
                    .chars()
                    .any(|c| matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')),
                "no invisible characters: {body}"
            );
            // Searching Slack for the title finds it: only backticks were added around its URL and host.
            assert!(
                body.contains(
                    "Open redirect to `https://evil.example.net/x` via `evil.example.net`"
                ),
                "{body}"
            );
            // A URL off the finding's domain is text, not a link.
            assert!(body.contains("`https://attacker.test/phish`"), "{body}");
            assert!(
                !body.contains("<https://attacker") && !body.contains("](https://attacker"),
                "{body}"
            );
            assert_eq!(msg["unfurl_links"], false);
            assert_eq!(msg["unfurl_media"], false);
        }
    }
}

#[test]
fn a_certificate_issuer_reads_as_people_call_it() {
    let s = signer();
    let mut c = seed_certificate(5);
    c.issuer = "C=US, O=Let's Encrypt, CN=R11".into();
    for format in [MessageFormat::Blocks, MessageFormat::Attachments] {
        let msg = render(
            &ctx(&s, ChannelKind::Slack, format),
            &[Alert::CertificateExpiring(c.clone())],
            &[],
        );
        let body = msg.to_string();
        assert!(body.contains("Let's Encrypt (R11)"), "{body}");
        assert!(!body.contains("CN=R11"), "{body}");
    }
}

#[test]
fn mattermost_messages_of_scanner_text_neither_mention_nor_link_nor_embed() {
    let s = signer();
    let mut v = seed_vuln(Severity::Critical, 9.8);
    v.title =
        "@channel @all look [here](https://evil.test) ![x](https://evil.test/p.png) //evil.test"
            .into();
    let mut w = v.clone();
    w.finding_id = "other".into();
    let c = ctx(&s, ChannelKind::Mattermost, MessageFormat::Attachments);
    let single = render(&c, &[Alert::Vulnerability(v.clone())], &[]);
    let coalesced = render(
        &c,
        &[Alert::Vulnerability(v.clone()), Alert::Vulnerability(w)],
        &[],
    );
    let plain_text = plain(ChannelKind::Mattermost, &[Alert::Vulnerability(v)]);
    for msg in [single, coalesced, plain_text] {
        let body = msg.to_string();
        for inert in ["`@channel`", "`@all`", "`//evil.test`"] {
            assert!(body.contains(inert), "{inert} in {body}");
        }
        assert!(
            !body.contains(" @channel") && !body.contains("[here](https"),
            "{body}"
        );
        // The image syntax survives only inside a code span, where Mattermost shows it as text.
        assert_eq!(
            body.matches("![x](https").count(),
            body.matches("`![x](https").count(),
            "{body}"
        );
    }
}

#[test]
fn a_scan_summary_says_what_it_changed() {
    let s = signer();
    let mut sc = seed_scan([0, 2, 7, 4, 1]);
    sc.changes = Some(fence_core::alert::ScanChanges {
        new: 3,
        still_open: 11,
        closed: 2,
    });
    for kind in [ChannelKind::Slack, ChannelKind::Mattermost] {
        for format in [MessageFormat::Blocks, MessageFormat::Attachments] {
            let msg = render(
                &ctx(&s, kind, format),
                &[Alert::ScanCompleted(sc.clone())],
                &[],
            );
            assert!(
                msg.to_string()
                    .contains("🆕 3 new · 11 still open · ✅ 2 closed"),
                "{msg}"
            );
        }
    }
}
