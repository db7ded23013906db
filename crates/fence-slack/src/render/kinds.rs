//! Certificate-expiry, scan-completed and reminder messages, with the seed's headlines, fields, colors and buttons.

use super::{button, finding_buttons, header, headline_text, vuln_fields, RenderContext};
use crate::escape::{bounded_in, host};
use fence_core::alert::{CertificateAlert, DigestAlert, ReminderAlert, ScanAlert};
use fence_core::{ChannelKind, MessageFormat, Severity};
use serde_json::{json, Value};

/// How many subject alternative names are listed before the rest are counted.
const MAX_SANS: usize = 20;

/// "February 3, 2025" (UTC).
pub fn date(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::UTC)
                .strftime("%B %-d, %Y")
                .to_string()
        })
        .unwrap_or_default()
}

/// "(14 days)", "(1 day)", "(today)", "(expired 3 days ago)".
pub fn days_phrase(days: i64) -> String {
    match days {
        d if d > 1 => format!("({d} days)"),
        1 => "(1 day)".into(),
        0 => "(today)".into(),
        -1 => "(expired 1 day ago)".into(),
        d => format!("(expired {} days ago)", -d),
    }
}

/// "February 3, 2025 (14 days)".
pub fn expiry_phrase(not_after: i64, days: i64) -> String {
    format!("{} {}", date(not_after), days_phrase(days))
}

/// "4m 32s", "1h 2m 3s", "12s".
pub fn duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m {s}s"),
    }
}

fn link_button(text: &str, action_id: &str, url: &str) -> Value {
    let mut b = button(text, action_id);
    b["url"] = json!(url);
    b
}

fn message(
    ctx: &RenderContext<'_>,
    headline: &str,
    color: &str,
    fields: &[(&str, String, bool)],
    buttons: Vec<Value>,
    mentions: &str,
) -> Value {
    match ctx.format {
        MessageFormat::Blocks => {
            let mut blocks = vec![header(headline)];
            let items: Vec<Value> = fields.iter().map(|(label, value, _)| json!({"type": "mrkdwn", "text": format!("*{label}:*\n{value}")})).collect();
            blocks.push(json!({"type": "section", "fields": items}));
            if !buttons.is_empty() {
                blocks.push(
                    json!({"type": "actions", "block_id": "fence_actions", "elements": buttons}),
                );
            }
            json!({"text": headline_text(headline, mentions), "attachments": [{"color": color, "fallback": headline, "blocks": blocks}]})
        }
        MessageFormat::Attachments => {
            let mut att = json!({
                "color": color,
                "fallback": headline,
                "fields": fields.iter().map(|(label, value, short)| json!({"title": label, "value": value, "short": short})).collect::<Vec<_>>(),
                "mrkdwn_in": ["fields"],
            });
            let links: Vec<(String, String)> = buttons
                .iter()
                .filter_map(|b| {
                    Some((
                        b["text"]["text"].as_str()?.to_string(),
                        b["url"].as_str()?.to_string(),
                    ))
                })
                .collect();
            match ctx.kind {
                ChannelKind::Slack => {
                    let actions: Vec<Value> = buttons
                        .iter()
                        .map(|b| match b["url"].as_str() {
                            Some(url) => json!({"type": "button", "text": b["text"]["text"], "url": url}),
                            None => json!({"type": "button", "name": b["action_id"], "text": b["text"]["text"], "value": b["value"]}),
                        })
                        .collect();
                    if !actions.is_empty() {
                        att["callback_id"] = json!("fence_actions");
                        att["actions"] = json!(actions);
                    }
                }
                ChannelKind::Mattermost => {
                    let text: Vec<String> =
                        links.iter().map(|(t, u)| format!("[{t}]({u})")).collect();
                    att["text"] = json!(text.join(" · "));
                }
            }
            json!({"text": headline_text(headline, mentions), "attachments": [att]})
        }
    }
}

pub fn certificate(ctx: &RenderContext<'_>, c: &CertificateAlert, mentions: &str) -> Value {
    let headline = "⚠️ SSL Certificate Expiring Soon";
    let mut sans: Vec<String> = c
        .sans
        .iter()
        .take(MAX_SANS)
        .map(|s| format!("• {}", host(s, 253)))
        .collect();
    if c.sans.len() > MAX_SANS {
        sans.push(format!("…and {} more", c.sans.len() - MAX_SANS));
    }
    let mut fields = vec![
        ("Domain", host(&c.domain, 253), true),
        ("Expires", expiry_phrase(c.not_after, c.days_left), true),
        (
            "Issuer",
            bounded_in(
                ctx.kind,
                &fence_core::certificate::issuer_label(&c.issuer),
                300,
            ),
            true,
        ),
    ];
    if !sans.is_empty() {
        fields.push(("Subject Alternative Names", sans.join("\n"), false));
    }
    let renew = c
        .renew_url
        .as_deref()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map(|u| fence_core::text::truncate_chars(u, 2000))
        .unwrap_or_else(|| format!("{}/docs/certificates#renewing", ctx.base_url));
    let buttons = vec![
        link_button("Renew Certificate", "renew_certificate", &renew),
        link_button(
            "View Details",
            "view_domain",
            &format!("{}/domains/{}", ctx.base_url, super::url_segment(&c.domain)),
        ),
    ];
    message(ctx, headline, c.color(), &fields, buttons, mentions)
}

pub fn scan(ctx: &RenderContext<'_>, sc: &ScanAlert, mentions: &str) -> Value {
    let headline = "✅ Security Scan Completed";
    let counts: Vec<String> = Severity::ALL
        .iter()
        .map(|s| format!("{} {}: {}", s.dot(), s.title(), sc.count(*s)))
        .collect();
    let scan_type = match sc.scan_type.as_str() {
        "full" => "Full Scan".to_string(),
        "tls" => "TLS Scan".to_string(),
        "headers" => "Security Headers Scan".to_string(),
        other => bounded_in(ctx.kind, other, 100),
    };
    let mut fields = vec![
        ("Domain", host(&sc.domain, 253), true),
        ("Scan Type", scan_type, true),
        ("Duration", duration(sc.duration_secs), true),
        ("Vulnerabilities Found", counts.join("\n"), false),
    ];
    if let Some(c) = sc.changes {
        fields.push((
            "Changes",
            format!(
                "🆕 {} new · {} still open · ✅ {} closed",
                c.new, c.still_open, c.closed
            ),
            false,
        ));
    }
    let mut buttons = vec![link_button(
        "View Full Report",
        "view_report",
        &format!("{}/scans/{}", ctx.base_url, super::url_segment(&sc.scan_id)),
    )];
    if ctx.run_scan {
        let mut b = button("Run New Scan", "run_scan");
        b["value"] = json!(ctx.signer.sign("run_scan", ctx.org_id, &sc.domain));
        buttons.push(b);
    }
    message(ctx, headline, sc.color(), &fields, buttons, mentions)
}

pub fn reminder(ctx: &RenderContext<'_>, r: &ReminderAlert, mentions: &str) -> Value {
    let v = &r.finding;
    let headline = format!("⏰ Reminder: {} finding still open", v.severity.title());
    let mut fields = vuln_fields(v, ctx.kind);
    fields.push((
        "Open since",
        format!(
            "{} {}",
            date(r.open_since),
            days_phrase_open(r.days_open.max(0))
        ),
        true,
    ));
    message(
        ctx,
        &headline,
        v.severity.color(),
        &fields,
        finding_buttons(ctx, v, ""),
        mentions,
    )
}

fn days_phrase_open(days: i64) -> String {
    match days {
        0 => "(today)".into(),
        1 => "(1 day)".into(),
        d => format!("({d} days)"),
    }
}

/// "January 20, 2025" in a time zone.
fn local_date(ms: i64, tz: &str) -> String {
    let zone = jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(zone).strftime("%B %-d, %Y").to_string())
        .unwrap_or_default()
}

/// The digest's silences that end within 7 days, one line each: what they match, why, and when they end.
fn silences_ending(ctx: &RenderContext<'_>, d: &DigestAlert) -> String {
    let mut lines: Vec<String> = d
        .silences_ending
        .iter()
        .take(5)
        .map(|s| {
            format!(
                "🔇 {} — ends {} ({})",
                bounded_in(ctx.kind, &s.matchers, 200),
                local_date(s.expires_at, &d.timezone),
                bounded_in(ctx.kind, &s.reason, 100)
            )
        })
        .collect();
    if d.silences_ending.len() > 5 {
        lines.push(format!("…and {} more", d.silences_ending.len() - 5));
    }
    lines.join("\n")
}

pub fn digest(ctx: &RenderContext<'_>, d: &DigestAlert, mentions: &str) -> Value {
    let headline = format!(
        "📊 Fence Security {} Digest - {}",
        bounded_in(ctx.kind, &d.label, 20),
        local_date(d.period_end, &d.timezone)
    );
    let top = if d.top.is_empty() {
        "No new vulnerabilities".to_string()
    } else {
        d.top
            .iter()
            .take(10)
            .enumerate()
            .map(|(i, t)| {
                let cvss = t.cvss.map(|c| format!(" (CVSS {c})")).unwrap_or_default();
                let intel = t.intel.as_ref();
                let kev = intel
                    .and_then(|i| i.known_exploited.as_ref())
                    .map(|_| " 🔥 known exploited".to_string())
                    .unwrap_or_default();
                let epss = intel
                    .and_then(|i| i.epss)
                    .map(|e| format!(" · EPSS {:.2}", e.score))
                    .unwrap_or_default();
                format!(
                    "{}. {} {} in {}{cvss}{kev}{epss}",
                    i + 1,
                    t.severity.dot(),
                    bounded_in(ctx.kind, &t.title, 150),
                    host(&t.domain, 253)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let certs = if d.certificates.is_empty() {
        "None in the next 30 days".to_string()
    } else {
        let mut lines: Vec<String> = d
            .certificates
            .iter()
            .take(15)
            .map(|c| match c.days_left {
                n if n < 0 => format!("⚠️ {} - Expired {} days ago", host(&c.domain, 253), -n),
                1 => format!("⚠️ {} - Expires in 1 day", host(&c.domain, 253)),
                n => format!("⚠️ {} - Expires in {n} days", host(&c.domain, 253)),
            })
            .collect();
        if d.certificates.len() > 15 {
            lines.push(format!("…and {} more", d.certificates.len() - 15));
        }
        lines.join("\n")
    };
    let new = match d.silenced {
        0 => d.new_vulnerabilities.to_string(),
        n => format!("{} ({n} silenced)", d.new_vulnerabilities),
    };
    let mut fields = vec![
        ("Scans Run", d.scans_run.to_string(), true),
        ("Domains Scanned", d.domains_scanned.to_string(), true),
        ("New Vulnerabilities", new, true),
        ("Top Issues", top, false),
        ("Certificates Expiring", certs, false),
    ];
    if !d.silences_ending.is_empty() {
        fields.push(("Silences Ending", silences_ending(ctx, d), false));
    }
    let report = if d.report_url.starts_with(ctx.base_url) {
        d.report_url.clone()
    } else {
        format!("{}/dashboard", ctx.base_url)
    };
    let buttons = vec![
        link_button(
            "View Dashboard",
            "view_dashboard",
            &format!("{}/dashboard", ctx.base_url),
        ),
        link_button("Download Report", "download_report", &report),
    ];
    message(ctx, &headline, "#1E90FF", &fields, buttons, mentions)
}
