use super::*;
use crate::buttons::ButtonSigner;
use crate::render::render;
use fence_core::Cvss;

const ORG: &str = "0190f0f0-0000-7000-8000-00000000a001";

fn ctx(signer: &ButtonSigner, kind: ChannelKind, format: MessageFormat) -> RenderContext<'_> {
    RenderContext {
        base_url: "https://fence.example.org",
        org_id: ORG,
        kind,
        format,
        run_scan: true,
        signer,
        detail: fence_core::Detail::Full,
        acknowledge: false,
    }
}

/// Finding `i` of a burst: ids shaped like Fence's (UUIDs), every fifth critical, the rest high or medium.
fn finding(i: usize) -> VulnerabilityAlert {
    let severity = match i % 5 {
        0 => Severity::Critical,
        1 | 2 => Severity::High,
        _ => Severity::Medium,
    };
    VulnerabilityAlert {
        finding_id: format!("0190f0f0-0000-7000-8000-{i:012}"),
        domain: format!("app{}.example.com", i % 7),
        title: format!("Outdated TLS configuration on login endpoint {i}"),
        severity,
        cvss: Cvss::new(match severity {
            Severity::Critical => 9.0 + (i % 10) as f64 / 10.0,
            Severity::High => 7.5,
            _ => 5.3,
        })
        .ok(),
        cve: Some("CVE-2024-12345".into()),
        owasp: Some("A02:2021 - Cryptographic Failures".into()),
        category: None,
        affected_url: Some(format!("https://app{}.example.com/login", i % 7)),
        has_remediation: true,
        reopened: false,
        intel: None,
        now_exploited: false,
    }
}

fn burst(n: usize) -> Vec<Alert> {
    (0..n).map(|i| Alert::Vulnerability(finding(i))).collect()
}

/// Every element of a type anywhere in a message.
fn elements<'a>(v: &'a Value, kind: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => {
            if m.get("type").and_then(Value::as_str) == Some(kind) {
                out.push(v);
            }
            m.values().for_each(|x| elements(x, kind, out));
        }
        Value::Array(a) => a.iter().for_each(|x| elements(x, kind, out)),
        _ => {}
    }
}

fn blocks(msg: &Value) -> Vec<Value> {
    msg["attachments"][0]["blocks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_300_finding_burst_is_one_small_message_of_lines_with_menus_and_no_buttons() {
    let s = ButtonSigner::new([3; 32]);
    let msg = render(
        &ctx(&s, ChannelKind::Slack, MessageFormat::Blocks),
        &burst(300),
        &[],
    );
    check_message(&msg).expect("within Block Kit limits");
    let bytes = msg.to_string().len();
    let (mut buttons, mut menus) = (Vec::new(), Vec::new());
    elements(&msg, "button", &mut buttons);
    elements(&msg, "overflow", &mut menus);
    let old = old_layout(&s, &burst(300));
    let mut old_buttons = Vec::new();
    elements(&old, "button", &mut old_buttons);
    let old_bytes = old.to_string().len();
    // Measured: 16,781 bytes, no button and 15 menus of 4 options (the fourth mutes the rule), where the old layout
    // of the same burst is 24,609 bytes with 75 buttons (issue 12 measured 21.5 KB / 75 buttons); 17 blocks instead
    // of 32.
    assert!(
        bytes <= 17_000 && bytes * 10 < old_bytes * 7,
        "{bytes} bytes, old {old_bytes}"
    );
    assert_eq!((buttons.len(), old_buttons.len()), (0, 75));
    assert_eq!(menus.len(), COALESCE_LISTED);
    let b = blocks(&msg);
    assert_eq!(
        b.len(),
        1 + COALESCE_LISTED + 1,
        "header, 15 lines, the tail"
    );
    for m in menus {
        let options = m["options"].as_array().expect("options");
        let values: Vec<ButtonValueView> = options.iter().map(|o| view(&s, o)).collect();
        // SLACK.md §7 and issue 12: at most 5 options, each value within 150 characters, each text within 75.
        assert!(options.len() <= 5);
        assert!(
            values.iter().all(|v| v.len <= 150 && v.text_len <= 75),
            "{values:?}"
        );
        let actions: Vec<&str> = values.iter().map(|v| v.action.as_str()).collect();
        assert_eq!(
            actions,
            ["false_positive", "snooze", "fix_instructions", "mute_rule"],
            "Run Scan stays on single alerts"
        );
        assert!(values.iter().all(|v| v.org == ORG));
    }
}

/// The layout coalesced messages had before: per listed finding a section and an actions row of its five buttons.
fn old_layout(s: &ButtonSigner, alerts: &[Alert]) -> Value {
    let c = ctx(s, ChannelKind::Slack, MessageFormat::Blocks);
    let vulns: Vec<&VulnerabilityAlert> = alerts
        .iter()
        .filter_map(|a| match a {
            Alert::Vulnerability(v) => Some(v),
            _ => None,
        })
        .collect();
    let mut blocks = vec![header(
        "🚨 300 new vulnerabilities: 60 critical, 120 high, 120 medium",
    )];
    for (i, v) in worst_first(&vulns, COALESCE_LISTED)
        .iter()
        .take(COALESCE_LISTED)
        .enumerate()
    {
        let line = format!(
            "{} *{}* — {} · {}",
            v.severity.dot(),
            bounded(&v.title, 300),
            host(&v.domain, 253),
            severity_value(v)
        );
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": line}}));
        blocks.push(json!({"type": "actions", "block_id": format!("fence_finding_{i}"), "elements": crate::render::finding_buttons(&c, v, &format!("_{i}"))}));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": "…and 285 more (45 critical, 120 high, 120 medium). <https://fence.example.org/findings?status=open|View all open findings>"}]}));
    json!({"text": "🚨 300 new vulnerabilities: 60 critical, 120 high, 120 medium", "attachments": [{"color": "#FF0000", "fallback": "x", "blocks": blocks}], "unfurl_links": false, "unfurl_media": false})
}

#[derive(Debug)]
struct ButtonValueView {
    action: String,
    org: String,
    len: usize,
    text_len: usize,
}

fn view(s: &ButtonSigner, option: &Value) -> ButtonValueView {
    let value = option["value"].as_str().unwrap_or_default();
    let signed = s.verify(value).expect("signed by Fence");
    ButtonValueView {
        action: signed.action,
        org: signed.org_id,
        len: value.chars().count(),
        text_len: option["text"]["text"]
            .as_str()
            .unwrap_or_default()
            .chars()
            .count(),
    }
}

#[test]
fn lines_are_worst_first_with_title_link_domain_and_cvss_then_a_counted_tail() {
    let s = ButtonSigner::new([3; 32]);
    let msg = render(
        &ctx(&s, ChannelKind::Slack, MessageFormat::Blocks),
        &burst(40),
        &[],
    );
    assert_eq!(
        msg["text"],
        "🚨 40 new vulnerabilities: 8 critical, 16 high, 16 medium"
    );
    let b = blocks(&msg);
    let first = b[1]["text"]["text"].as_str().unwrap_or_default();
    // Finding 5 is critical with the highest CVSS of the burst (9.5).
    assert_eq!(
        first,
        "🔴 <https://fence.example.org/findings/0190f0f0-0000-7000-8000-000000000005|Outdated TLS configuration on login endpoint 5> — app5.example.com · CRITICAL (CVSS 9.5)"
    );
    let lines: Vec<&str> = b[1..=COALESCE_LISTED]
        .iter()
        .map(|l| l["text"]["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(lines.iter().filter(|l| l.starts_with("🔴")).count(), 8);
    assert!(lines[8..].iter().all(|l| l.starts_with("🟠")), "{lines:?}");
    let tail = b[COALESCE_LISTED + 1]["elements"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(
        tail,
        "…and 25 more (9 high, 16 medium). <https://fence.example.org/findings?status=open|View all open findings>"
    );
    let listed = listed_findings(&burst(40));
    assert_eq!(listed.len(), COALESCE_LISTED);
    assert_eq!(listed[0], "0190f0f0-0000-7000-8000-000000000005");
    assert!(lines[0].contains(&listed[0]) && lines[14].contains(&listed[14]));
}

#[test]
fn attachments_and_mattermost_list_plain_lines_with_links_and_no_menus() {
    let s = ButtonSigner::new([3; 32]);
    for (kind, link) in [
        (ChannelKind::Slack, "<https://fence.example.org/findings/0190f0f0-0000-7000-8000-000000000005|Outdated TLS configuration on login endpoint 5>"),
        (ChannelKind::Mattermost, "*Outdated TLS configuration on login endpoint 5*"),
    ] {
        let msg = render(&ctx(&s, kind, MessageFormat::Attachments), &burst(20), &[]);
        check_message(&msg).expect("within limits");
        let att = &msg["attachments"][0];
        assert!(att.get("blocks").is_none() && att.get("actions").is_none(), "{att}");
        let text = att["text"].as_str().unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), COALESCE_LISTED + 1, "{text}");
        assert!(lines[0].starts_with(&format!("🔴 {link} — app5.example.com")), "{text}");
        if kind == ChannelKind::Mattermost {
            assert!(lines[0].ends_with(" · [View Details](https://fence.example.org/findings/0190f0f0-0000-7000-8000-000000000005)"), "{text}");
        }
        assert!(lines[15].starts_with("…and 5 more"), "{text}");
    }
}

#[test]
fn a_title_cannot_break_its_link() {
    let s = ButtonSigner::new([3; 32]);
    let mut v = finding(0);
    v.title = "bad>|title\n<@U0EVIL> at https://evil.test/x".into();
    let alerts = [Alert::Vulnerability(v), Alert::Vulnerability(finding(1))];
    let msg = render(
        &ctx(&s, ChannelKind::Slack, MessageFormat::Blocks),
        &alerts,
        &[],
    );
    let line = blocks(&msg)[1]["text"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        line,
        "🔴 <https://fence.example.org/findings/0190f0f0-0000-7000-8000-000000000000|bad&gt;|title &lt;@U0EVIL&gt; at `https://evil.test/x`> — app0.example.com · CRITICAL (CVSS 9.0)"
    );
}

/// The message as a click's payload carries it (SLACK.md §5): Slack adds ids and answers colors without `#`.
fn as_slack_shows_it(msg: &Value) -> Value {
    let mut m = msg.clone();
    m["type"] = json!("message");
    m["ts"] = json!("1700000000.000100");
    m["attachments"][0]["id"] = json!(1);
    m["attachments"][0]["color"] = json!("FF0000");
    m["blocks"] = json!([]);
    m
}

#[test]
fn a_click_replaces_only_its_line_with_the_new_state() {
    let s = ButtonSigner::new([3; 32]);
    let c = ctx(&s, ChannelKind::Slack, MessageFormat::Blocks);
    let msg = render(&c, &burst(20), &[]);
    let shown = as_slack_shows_it(&msg);
    let target = blocks(&msg)[3].clone();
    let id = target["block_id"].as_str().expect("block id");
    let url = target["text"]["text"].as_str().unwrap_or_default();
    let clicked = (0..20)
        .map(finding)
        .find(|f| url.contains(&format!("/findings/{}|", f.finding_id)))
        .expect("the line's finding");
    let replaced = replace_line(
        &c,
        &shown,
        id,
        &clicked,
        "✓ Marked as false positive by <@U0ALICE>",
    )
    .expect("replaced");
    check_message(&replaced).expect("valid Block Kit");
    let after = blocks(&replaced);
    let before = blocks(&msg);
    assert_eq!(after.len(), before.len());
    for (i, (a, b)) in after.iter().zip(&before).enumerate() {
        if i == 3 {
            assert!(a.get("accessory").is_none(), "the menu is gone: {a}");
            let text = a["text"]["text"].as_str().unwrap_or_default();
            assert!(
                text.ends_with("\n✓ Marked as false positive by <@U0ALICE>"),
                "{text}"
            );
            assert!(text.starts_with(&format!(
                "🔴 <https://fence.example.org/findings/{}|",
                clicked.finding_id
            )));
        } else {
            assert_eq!(a, b, "line {i} unchanged");
        }
    }
    assert_eq!(replaced["attachments"][0]["color"], "#FF0000");
    assert!(replaced["attachments"][0].get("id").is_none());
    assert!(
        replaced.get("blocks").is_none(),
        "no empty top-level blocks sent back"
    );
    assert_eq!(replaced["text"], msg["text"]);
    assert!(replace_line(&c, &shown, "fence_line_99", &clicked, "x").is_none());
    assert!(replace_line(&c, &shown, "fence_finding", &clicked, "x").is_none());
}

#[test]
fn a_small_burst_renders_as_recorded_in_each_format() {
    let s = ButtonSigner::new([3; 32]);
    let alerts = burst(3);
    for (kind, format) in [
        (ChannelKind::Slack, MessageFormat::Blocks),
        (ChannelKind::Slack, MessageFormat::Attachments),
        (ChannelKind::Mattermost, MessageFormat::Attachments),
    ] {
        let msg = render(&ctx(&s, kind, format), &alerts, &["<!here>".into()]);
        check_message(&msg).expect("within limits");
        insta::assert_json_snapshot!(format!("coalesced_{kind:?}_{format:?}").to_lowercase(), msg);
    }
}

#[test]
fn the_listed_findings_of_a_large_burst_are_those_a_full_sort_would_list_in_that_order() {
    let alerts = burst(2_000);
    let vulns: Vec<&VulnerabilityAlert> = alerts
        .iter()
        .filter_map(|a| match a {
            Alert::Vulnerability(v) => Some(v),
            _ => None,
        })
        .collect();
    // The reference: a stable sort of the whole burst (ties keep their arrival order).
    let mut reference = vulns.clone();
    reference.sort_by(|a, b| {
        b.severity.cmp(&a.severity).then_with(|| {
            let score = |v: &VulnerabilityAlert| v.cvss.map(|c| c.value()).unwrap_or(-1.0);
            score(b).total_cmp(&score(a))
        })
    });
    let ids =
        |v: &[&VulnerabilityAlert]| v.iter().map(|v| v.finding_id.clone()).collect::<Vec<_>>();
    let picked = worst_first(&vulns, COALESCE_LISTED);
    assert_eq!(
        ids(&picked[..COALESCE_LISTED]),
        ids(&reference[..COALESCE_LISTED])
    );
    // Nothing lost or repeated: the rest is every other finding.
    let mut all = ids(&picked);
    all.sort();
    let mut expected = ids(&vulns);
    expected.sort();
    assert_eq!(all, expected);
    assert_eq!(listed_findings(&alerts), ids(&reference[..COALESCE_LISTED]));
}
