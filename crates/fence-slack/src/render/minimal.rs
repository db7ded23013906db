//! Messages for `detail: minimal` channels (the seed's "Data Sensitivity" advice): the alert type, severity, counts
//! and a link to Fence whose URL holds only an opaque id — no domain, title, CVE, URL, description, remediation,
//! SANs, issuer or other scanner text, in any alert type, burst, follow-up or fallback. Every such Slack message
//! carries the [`MARKER`] id, so a click on it is answered minimally too.

use super::{button, header, headline_text, no_unfurl, RenderContext, Unlisted};
use crate::limits;
use fence_core::{Alert, ChannelKind, MessageFormat, Severity, VulnerabilityAlert};
use serde_json::{json, Value};

/// The `block_id` (Block Kit) or `callback_id` (attachments) that marks a minimal message.
pub const MARKER: &str = "fence_minimal";

/// Whether a message (a click's `message`) is one of a minimal channel's.
pub fn is_minimal(message: &Value) -> bool {
    let text = message.to_string();
    text.contains(&format!("\"{MARKER}\""))
}

/// "2 critical, 1 high" for these severities and those counted in `unlisted` (most severe first), or "no findings".
fn counts(severities: &[Severity], unlisted: Unlisted) -> String {
    let parts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|s| {
            let n = severities.iter().filter(|x| *x == s).count() + unlisted.of(*s);
            (n > 0).then(|| format!("{n} {}", s.as_str()))
        })
        .collect();
    if parts.is_empty() {
        "no findings".into()
    } else {
        parts.join(", ")
    }
}

/// A link in the platform's syntax.
fn link(kind: ChannelKind, url: &str, text: &str) -> String {
    match kind {
        ChannelKind::Slack => format!("<{url}|{text}>"),
        ChannelKind::Mattermost => format!("[{text}]({url})"),
    }
}

/// The triage actions of a minimal message about one finding (Acknowledge goes first where the channel escalates).
const ACTIONS: [(&str, &str); 3] = [
    ("Mark as False Positive", "false_positive"),
    ("Snooze (24h)", "snooze"),
    ("Fix Instructions", "fix_instructions"),
];

/// One minimal message: a headline, a line of counts, a link, and (Slack, Block Kit or attachments) the triage
/// buttons of one finding.
fn message(
    ctx: &RenderContext<'_>,
    headline: &str,
    line: &str,
    color: &str,
    url: &str,
    finding: Option<&str>,
    mentions: &str,
) -> Value {
    let view = link(ctx.kind, url, "View in Fence");
    let body = format!("{line}\n{view}");
    let signed = |action: &str| finding.map(|id| ctx.signer.sign(action, ctx.org_id, id));
    let msg = match (ctx.format, ctx.kind) {
        (MessageFormat::Blocks, _) => {
            let mut blocks = vec![
                header(headline),
                json!({"type": "section", "block_id": MARKER, "text": {"type": "mrkdwn", "text": body}}),
            ];
            let mut elements = Vec::new();
            let mut view = button("View Details", "view_details");
            view["url"] = json!(url);
            elements.push(view);
            for (text, action) in ctx
                .acknowledge
                .then_some(("Acknowledge", "acknowledge"))
                .into_iter()
                .chain(ACTIONS)
            {
                if let Some(v) = signed(action) {
                    let mut b = button(text, action);
                    b["value"] = json!(v);
                    elements.push(b);
                }
            }
            let block_id = if finding.is_some() {
                "fence_finding"
            } else {
                "fence_actions"
            };
            blocks.push(json!({"type": "actions", "block_id": block_id, "elements": elements}));
            json!({"text": headline_text(headline, mentions),
                   "attachments": [{"color": color, "fallback": headline, "blocks": blocks}]})
        }
        (MessageFormat::Attachments, ChannelKind::Slack) => {
            let mut actions = vec![json!({"type": "button", "text": "View Details", "url": url})];
            for (text, action) in ctx
                .acknowledge
                .then_some(("Acknowledge", "acknowledge"))
                .into_iter()
                .chain(ACTIONS)
            {
                if let Some(v) = signed(action) {
                    actions
                        .push(json!({"type": "button", "name": action, "text": text, "value": v}));
                }
            }
            json!({"text": headline_text(headline, mentions), "attachments": [{"color": color, "fallback": headline,
                   "text": body, "callback_id": MARKER, "actions": actions, "mrkdwn_in": ["text"]}]})
        }
        (MessageFormat::Attachments, ChannelKind::Mattermost) => {
            json!({"text": headline_text(headline, mentions), "attachments": [{"color": color, "fallback": headline,
                   "text": body}]})
        }
    };
    no_unfurl(msg)
}

fn finding_headline(v: &VulnerabilityAlert) -> String {
    let reopened = if v.reopened { " (Reopened)" } else { "" };
    format!("{} {}{reopened}", v.severity.icon(), v.severity.headline())
}

fn one_finding(
    ctx: &RenderContext<'_>,
    v: &VulnerabilityAlert,
    line: &str,
    mentions: &str,
) -> Value {
    message(
        ctx,
        &finding_headline(v),
        line,
        v.severity.color(),
        &ctx.finding_url(&v.finding_id),
        Some(&v.finding_id),
        mentions,
    )
}

fn burst(
    ctx: &RenderContext<'_>,
    vulns: &[&VulnerabilityAlert],
    unlisted: Unlisted,
    reminder: bool,
    mentions: &str,
) -> Value {
    let severities: Vec<Severity> = vulns.iter().map(|v| v.severity).collect();
    let top = severities.iter().max().copied().unwrap_or(Severity::Info);
    let total = vulns.len() + unlisted.total();
    let headline = if reminder {
        format!("⏰ {total} findings still open")
    } else {
        format!("{} {total} new findings", top.icon())
    };
    message(
        ctx,
        &headline,
        &counts(&severities, unlisted),
        top.color(),
        &ctx.findings_url(),
        None,
        mentions,
    )
}

/// The minimal message for these alerts (what [`super::render`] sends on a minimal channel).
pub fn render(
    ctx: &RenderContext<'_>,
    alerts: &[&Alert],
    unlisted: Unlisted,
    mentions: &str,
) -> Value {
    if unlisted.total() > 0 {
        return several(ctx, alerts, unlisted, mentions);
    }
    match alerts {
        [Alert::Vulnerability(v)] => {
            let line = format!("A {} finding.", v.severity.as_str());
            one_finding(ctx, v, &line, mentions)
        }
        [Alert::Reminder(r)] => {
            let line = format!(
                "⏰ Still open: a {} finding, open {} {}.",
                r.finding.severity.as_str(),
                r.days_open,
                if r.days_open == 1 { "day" } else { "days" }
            );
            one_finding(ctx, &r.finding, &line, mentions)
        }
        [Alert::FollowUp(f)] => followup(f),
        [Alert::Escalation(e)] => {
            let counts: Vec<String> = e
                .counts
                .iter()
                .map(|(s, n)| format!("{n} {}", s.as_str()))
                .collect();
            let line = format!("{} still unacknowledged.", counts.join(", "));
            let headline = format!("⏰ Unacknowledged for {}", e.after);
            let single = (e.total() == 1)
                .then(|| e.findings.first().map(|v| v.finding_id.as_str()))
                .flatten();
            let url = match single {
                Some(id) => ctx.finding_url(id),
                None => ctx.findings_url(),
            };
            message(ctx, &headline, &line, "#FF8C00", &url, single, mentions)
        }
        [a @ (Alert::CertificateExpiring(_) | Alert::ScanCompleted(_) | Alert::Digest(_))] => {
            summary(ctx, a, mentions)
        }
        [Alert::ChannelBroken(_)] => message(
            ctx,
            "🔌 A channel stopped accepting messages",
            "Its alerts are held and will be sent once it is fixed.",
            "#FF0000",
            &format!("{}/settings/notifications", ctx.base_url),
            None,
            mentions,
        ),
        _ => several(ctx, alerts, unlisted, mentions),
    }
}

/// A certificate, a scan or a digest, counted.
fn summary(ctx: &RenderContext<'_>, alert: &Alert, mentions: &str) -> Value {
    let dashboard = format!("{}/dashboard", ctx.base_url);
    match alert {
        Alert::CertificateExpiring(c) => {
            let line = if c.days_left < 0 {
                "A monitored certificate has expired.".to_string()
            } else {
                format!(
                    "A monitored certificate expires in {} {}.",
                    c.days_left,
                    if c.days_left == 1 { "day" } else { "days" }
                )
            };
            message(
                ctx,
                "⚠️ SSL Certificate Expiring Soon",
                &line,
                c.color(),
                &dashboard,
                None,
                mentions,
            )
        }
        Alert::ScanCompleted(s) => {
            let line = format!(
                "{} critical, {} high, {} medium, {} low, {} info.",
                s.counts[0], s.counts[1], s.counts[2], s.counts[3], s.counts[4]
            );
            let url = format!("{}/scans/{}", ctx.base_url, super::url_segment(&s.scan_id));
            message(
                ctx,
                "✅ Scan Completed",
                &line,
                s.color(),
                &url,
                None,
                mentions,
            )
        }
        Alert::Digest(d) => {
            let mut line = format!(
                "{} scans, {} domains scanned, {} new vulnerabilities, {} certificates expiring.",
                d.scans_run,
                d.domains_scanned,
                d.new_vulnerabilities,
                d.certificates.len()
            );
            if d.silenced > 0 || !d.silences_ending.is_empty() {
                line.push_str(&format!(
                    " {} silenced, {} silences ending within 7 days.",
                    d.silenced,
                    d.silences_ending.len()
                ));
            }
            let headline = format!("📊 Fence Security {} Digest", d.label);
            message(ctx, &headline, &line, "#1E90FF", &dashboard, None, mentions)
        }
        _ => plain(&[alert], Unlisted::default()),
    }
}

/// Several alerts in one message: a burst of new findings or of reminders, counted; anything else, plain.
fn several(
    ctx: &RenderContext<'_>,
    alerts: &[&Alert],
    unlisted: Unlisted,
    mentions: &str,
) -> Value {
    match super::burst_of(alerts) {
        Some((findings, reminder)) => burst(ctx, &findings, unlisted, reminder, mentions),
        None => plain(alerts, unlisted),
    }
}

/// The plain-text form on a minimal channel: one line per alert with its type and severity.
pub fn plain<A: std::borrow::Borrow<Alert>>(alerts: &[A], unlisted: Unlisted) -> Value {
    let mut lines: Vec<String> = alerts
        .iter()
        .take(50)
        .map(|a| match a.borrow() {
            Alert::Vulnerability(v) => {
                format!("{} A {} finding", v.severity.icon(), v.severity.as_str())
            }
            Alert::Reminder(r) => {
                format!("⏰ Still open: a {} finding", r.finding.severity.as_str())
            }
            Alert::CertificateExpiring(_) => "⚠️ A monitored certificate expires soon".into(),
            Alert::ScanCompleted(_) => "✅ A scan completed".into(),
            Alert::Digest(d) => format!("📊 Fence Security {} Digest", d.label),
            Alert::ChannelBroken(_) => "🔌 A channel stopped accepting messages".into(),
            Alert::FollowUp(f) => fence_core::text::truncate_chars(&f.note, 500),
            Alert::Escalation(e) => {
                format!("⏰ Unacknowledged for {}: {} findings", e.after, e.total())
            }
        })
        .collect();
    let more = alerts.len().saturating_sub(50) + unlisted.total();
    if more > 0 {
        lines.push(format!("…and {more} more"));
    }
    no_unfurl(
        json!({"text": fence_core::text::truncate_chars(&lines.join("\n"), limits::MAX_TEXT)}),
    )
}

/// A thread follow-up on a minimal channel: the note Fence wrote (who did what), never the fix instructions.
pub fn followup(f: &fence_core::alert::FollowUpAlert) -> Value {
    no_unfurl(json!({"text": fence_core::text::truncate_chars(&f.note, 500)}))
}

/// The original minimal message re-rendered with its finding's new state, its buttons replaced by the note.
pub fn updated(ctx: &RenderContext<'_>, f: &fence_core::alert::FollowUpAlert) -> Value {
    let line = format!("A {} finding.", f.finding.severity.as_str());
    let mut msg = one_finding(ctx, &f.finding, &line, "");
    let note = fence_core::text::truncate_chars(&f.note, 500);
    if let Some(blocks) = msg["attachments"][0]["blocks"].as_array_mut() {
        blocks.retain(|b| b["type"] != "actions");
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}));
    } else if let Some(att) = msg["attachments"][0].as_object_mut() {
        att.remove("actions");
        att.insert(
            "footer".into(),
            json!(fence_core::text::truncate_chars(&note, limits::MAX_FOOTER)),
        );
    }
    msg
}

/// A follow-up told as a message of its own on a minimal channel: the note, the severity and the link.
pub fn announced(ctx: &RenderContext<'_>, f: &fence_core::alert::FollowUpAlert) -> Value {
    let note = fence_core::text::truncate_chars(&f.note, 300);
    one_finding(ctx, &f.finding, &note, "")
}

/// Fix Instructions clicked on a minimal channel: answered to the clicker alone, with a link instead of the text.
pub fn fix_instructions_link(ctx: &RenderContext<'_>, finding_id: &str) -> Value {
    json!({"response_type": "ephemeral", "replace_original": false,
           "text": format!("Fix instructions for this finding are in Fence: {}", link(ChannelKind::Slack, &ctx.finding_url(finding_id), "open the finding"))})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buttons::ButtonSigner;
    use fence_core::alert::*;
    use fence_core::{Category, Cvss};

    /// What must never reach a minimal channel: every value below comes from a finding, certificate, scan or
    /// channel and is marked so.
    const SECRETS: [&str; 12] = [
        "secret-domain",
        "SECRET TITLE",
        "CVE-2099",
        "SECRET OWASP",
        "/secret-path",
        "SECRET ISSUER",
        "secret-san",
        "SECRET CHANNEL",
        "SECRET ERROR",
        "SECRET FIX",
        "SQL Injection",
        "sha256-secret",
    ];

    fn vuln(id: &str, severity: Severity) -> VulnerabilityAlert {
        VulnerabilityAlert {
            finding_id: id.into(),
            domain: "shop.secret-domain.example".into(),
            title: "SECRET TITLE <!channel> <https://evil.example|click>".into(),
            severity,
            cvss: Cvss::new(9.8).ok(),
            cve: Some("CVE-2099-0001".into()),
            owasp: Some("SECRET OWASP".into()),
            category: Some(Category::SqlInjection),
            affected_url: Some("https://shop.secret-domain.example/secret-path".into()),
            has_remediation: true,
            reopened: false,
            intel: None,
            now_exploited: false,
        }
    }

    /// Every message kind Fence sends to a channel.
    fn every_kind() -> Vec<Vec<Alert>> {
        let v = vuln("f1", Severity::Critical);
        let reminder = |v: VulnerabilityAlert| {
            Alert::Reminder(ReminderAlert {
                finding: v,
                open_since: 0,
                days_open: 3,
            })
        };
        vec![
            vec![Alert::Vulnerability(v.clone())],
            (0..40)
                .map(|i| Alert::Vulnerability(vuln(&format!("f{i}"), Severity::ALL[i % 5])))
                .collect(),
            vec![reminder(v.clone())],
            vec![reminder(v.clone()), reminder(vuln("f2", Severity::High))],
            vec![Alert::CertificateExpiring(CertificateAlert {
                domain: "secret-domain.example".into(),
                not_after: 1_738_540_800_000,
                days_left: 5,
                issuer: "SECRET ISSUER".into(),
                sans: vec!["secret-san.example".into()],
                fingerprint: "sha256-secret".into(),
                renew_url: Some("https://secret-domain.example/renew".into()),
            })],
            vec![Alert::ScanCompleted(ScanAlert {
                scan_id: "s1".into(),
                domain: "secret-domain.example".into(),
                scan_type: "SECRET TITLE".into(),
                duration_secs: 3,
                counts: [1, 2, 3, 4, 5],
                changes: None,
            })],
            vec![Alert::Digest(DigestAlert {
                label: "Daily".into(),
                period_end: 0,
                timezone: "UTC".into(),
                scans_run: 4,
                domains_scanned: 2,
                new_vulnerabilities: 7,
                top: vec![DigestIssue {
                    severity: Severity::Critical,
                    title: "SECRET TITLE".into(),
                    domain: "secret-domain.example".into(),
                    cvss: None,
                    intel: None,
                }],
                certificates: vec![DigestCertificate {
                    domain: "secret-domain.example".into(),
                    days_left: 3,
                }],
                report_url: "https://fence.test/reports/secret-domain.example".into(),
                silenced: 2,
                silences_ending: vec![fence_core::alert::DigestSilence {
                    matchers: "rule=SECRET-RULE domain=secret-domain.example".into(),
                    reason: "SECRET REASON".into(),
                    expires_at: 1_737_363_600_000,
                }],
            })],
            vec![Alert::ChannelBroken(ChannelBrokenAlert {
                channel_name: "SECRET CHANNEL".into(),
                error: "SECRET ERROR".into(),
                hint: "SECRET FIX".into(),
            })],
            vec![Alert::FollowUp(FollowUpAlert {
                finding: v.clone(),
                note: "✓ Marked as false positive by <@U123>".into(),
                body: Some("SECRET FIX".into()),
                update_original: true,
                announce: false,
            })],
            vec![
                Alert::Vulnerability(v.clone()),
                Alert::ChannelBroken(ChannelBrokenAlert {
                    channel_name: "SECRET CHANNEL".into(),
                    error: "x".into(),
                    hint: "y".into(),
                }),
            ],
            // An escalation of one finding and of several, and a "Now Known Exploited" alert.
            vec![Alert::Escalation(fence_core::alert::EscalationAlert {
                findings: vec![v.clone()],
                counts: vec![(v.severity, 1)],
                after: "30m".into(),
            })],
            vec![Alert::Escalation(fence_core::alert::EscalationAlert {
                findings: vec![v.clone(), v.clone()],
                counts: vec![(v.severity, 40)],
                after: "30m".into(),
            })],
            vec![Alert::Vulnerability(VulnerabilityAlert {
                now_exploited: true,
                ..v.clone()
            })],
        ]
    }

    fn assert_clean(what: &str, msg: &Value) {
        let text = msg.to_string();
        for s in SECRETS {
            assert!(!text.contains(s), "{what} shows {s:?}: {text}");
        }
        for u in text.split("http").skip(1) {
            let url: String = u.chars().take_while(|c| !"|>\"] )".contains(*c)).collect();
            assert!(
                url.starts_with("s://fence.test/"),
                "{what}: only links to Fence: http{url}"
            );
        }
    }

    #[test]
    fn nothing_from_a_finding_reaches_a_minimal_channel_in_any_message() {
        let signer = ButtonSigner::new([7; 32]);
        for (kind, format) in [
            (ChannelKind::Slack, MessageFormat::Blocks),
            (ChannelKind::Slack, MessageFormat::Attachments),
            (ChannelKind::Mattermost, MessageFormat::Attachments),
        ] {
            let ctx = RenderContext {
                base_url: "https://fence.test",
                org_id: "org",
                kind,
                format,
                run_scan: true,
                signer: &signer,
                detail: fence_core::Detail::Minimal,
                acknowledge: true,
            };
            for alerts in every_kind() {
                let what = format!("{kind:?}/{format:?} {:?}", alerts[0].alert_type());
                let msg = crate::render::render(&ctx, &alerts, &["<!here>".to_string()]);
                assert_clean(&what, &msg);
                assert!(
                    crate::limits::check_message(&msg).is_ok(),
                    "{what}: {:?}",
                    crate::limits::check_message(&msg)
                );
                let notice = matches!(alerts[0], Alert::FollowUp(_)) || alerts.len() == 2;
                if kind == ChannelKind::Slack && !notice {
                    assert!(msg.to_string().contains("<!here>"), "{what}: mentions stay");
                    assert!(is_minimal(&msg), "{what}: {msg}");
                }
                assert_clean(
                    &what,
                    &crate::render::plain_in(&ctx, &alerts, crate::render::Unlisted::default()),
                );
            }
            let f = FollowUpAlert {
                finding: vuln("f1", Severity::High),
                note: "✓ Resolved by <@U1>".into(),
                body: Some("SECRET FIX".into()),
                update_original: true,
                announce: false,
            };
            assert_clean("follow-up", &crate::render::followup_in(&ctx, &f));
            let updated = crate::render::updated(&ctx, &f);
            assert_clean("updated original", &updated);
            assert!(updated.to_string().contains("Resolved by"), "{updated}");
            assert_clean("fix instructions", &fix_instructions_link(&ctx, "f1"));
            let ended = FollowUpAlert {
                note: "⏰ Snooze ended: this finding is still open.".into(),
                announce: true,
                ..f.clone()
            };
            let told = crate::render::announced(&ctx, &ended);
            assert_clean("snooze ended", &told);
            assert!(told.to_string().contains("Snooze ended"), "{told}");
        }
    }

    #[test]
    fn a_minimal_channels_template_sees_no_finding_text() {
        for t in fence_core::AlertType::ALL {
            let mut alert = crate::template::sample(t);
            if let Alert::Vulnerability(v) | Alert::Reminder(ReminderAlert { finding: v, .. }) =
                &mut alert
            {
                *v = vuln("f1", Severity::Critical);
            }
            let vars = crate::template::variables(
                &alert,
                "https://fence.test",
                "<!here>",
                Some("SECRET FIX"),
                Some("SECRET FIX"),
            );
            let minimal = crate::template::minimal_variables(&vars);
            let text = minimal.to_string();
            for s in SECRETS
                .iter()
                .chain(&["example.com", "Let's Encrypt", "login"])
            {
                assert!(!text.contains(s), "{t:?} template sees {s:?}: {text}");
            }
            assert_eq!(minimal["alert_type"], vars["alert_type"]);
        }
        let burst: Vec<VulnerabilityAlert> = (0..3)
            .map(|i| vuln(&format!("f{i}"), Severity::High))
            .collect();
        let refs: Vec<&VulnerabilityAlert> = burst.iter().collect();
        let vars = crate::template::coalesced_variables(&refs, "https://fence.test", "", false);
        let minimal = crate::template::minimal_variables(&vars);
        let text = minimal.to_string();
        assert!(
            !text.contains("secret-domain") && !text.contains("SECRET"),
            "{text}"
        );
        assert_eq!(minimal["counts"]["total"], 3);
        assert_eq!(minimal["alerts"].as_array().map(Vec::len), Some(3));
    }
}
