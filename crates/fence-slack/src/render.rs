//! Renders alerts into Slack (or Mattermost) message JSON: one alert, or several coalesced into one message.
//! Every value from a finding goes through [`bounded`] and every message passes [`check_message`].

use crate::buttons::ButtonSigner;
use crate::escape::{bounded, bounded_in, host};
use crate::limits::{self, check_message};
use fence_core::alert::ChannelBrokenAlert;
use fence_core::channel::Mention;
use fence_core::{Alert, ChannelKind, Detail, MessageFormat, VulnerabilityAlert};
use serde_json::{json, Value};
use std::borrow::Borrow;

/// How many findings a coalesced message lists one line each (each with its overflow menu); the rest are counted.
pub const COALESCE_LISTED: usize = 15;

/// Everything rendering needs besides the alerts.
#[derive(Debug, Clone, Copy)]
pub struct RenderContext<'a> {
    /// Public URL of Fence, without trailing slash; links in messages point under it.
    pub base_url: &'a str,
    pub org_id: &'a str,
    pub kind: ChannelKind,
    pub format: MessageFormat,
    /// Whether the organization's plan offers the Run Scan button.
    pub run_scan: bool,
    pub signer: &'a ButtonSigner,
    /// The channel's `detail`: on `minimal` channels every message comes from [`minimal`].
    pub detail: Detail,
    /// The channel has an `escalation`: its finding alerts carry Acknowledge.
    pub acknowledge: bool,
}

impl RenderContext<'_> {
    fn finding_url(&self, id: &str) -> String {
        format!("{}/findings/{}", self.base_url, url_segment(id))
    }
    fn findings_url(&self) -> String {
        format!("{}/findings?status=open", self.base_url)
    }
}

/// One path segment of a Fence URL: unreserved characters (RFC 3986 §2.3) as they are, every other byte
/// percent-encoded, so `example.com` stays `example.com` and nothing can end the segment early.
fn url_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Renders configured mentions in the syntax that notifies on this platform; unresolved names are dropped.
pub fn render_mentions(kind: ChannelKind, mentions: &[String]) -> String {
    let mut out = Vec::new();
    for m in mentions {
        let Ok(m) = Mention::parse(m) else { continue };
        let s = match (kind, m) {
            (_, Mention::User(id)) => format!("<@{id}>"),
            (ChannelKind::Slack, Mention::Group(id)) => format!("<!subteam^{id}>"),
            (ChannelKind::Slack, Mention::Channel(id)) => format!("<#{id}>"),
            (ChannelKind::Slack, Mention::Here) => "<!here>".into(),
            (ChannelKind::Slack, Mention::AtChannel) => "<!channel>".into(),
            (ChannelKind::Slack, Mention::Everyone) => "<!everyone>".into(),
            (ChannelKind::Slack, Mention::Name(_)) => continue,
            (ChannelKind::Mattermost, Mention::Here) => "@here".into(),
            (ChannelKind::Mattermost, Mention::AtChannel) => "@channel".into(),
            (ChannelKind::Mattermost, Mention::Everyone) => "@all".into(),
            (ChannelKind::Mattermost, Mention::Name(n)) if n.starts_with('@') => n,
            (ChannelKind::Mattermost, _) => continue,
        };
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out.join(" ")
}

/// Renders one or more alerts for one channel. Several vulnerability alerts become one coalesced message.
/// Alerts are taken by reference (`&[Alert]`, or the dispatcher's shared views), so a burst is never copied.
pub fn render<A: Borrow<Alert>>(
    ctx: &RenderContext<'_>,
    alerts: &[A],
    mentions: &[String],
) -> Value {
    render_gathered(ctx, alerts, Unlisted::default(), mentions)
}

/// [`render`] for alerts gathered by [`Gathered`]: a burst's kept findings, the others counted in `unlisted`.
pub fn render_gathered<A: Borrow<Alert>>(
    ctx: &RenderContext<'_>,
    alerts: &[A],
    unlisted: Unlisted,
    mentions: &[String],
) -> Value {
    let alerts: Vec<&Alert> = alerts.iter().map(Borrow::borrow).collect();
    let alerts = alerts.as_slice();
    let mention_text = render_mentions(ctx.kind, mentions);
    if ctx.detail == Detail::Minimal {
        let msg = minimal::render(ctx, alerts, unlisted, &mention_text);
        debug_assert!(check_message(&msg).is_ok(), "{:?}", check_message(&msg));
        return msg;
    }
    let several = |alerts: &[&Alert]| match burst_of(alerts) {
        Some((findings, reminder)) => coalesced(ctx, &findings, unlisted, &mention_text, reminder),
        None => plain_gathered(ctx.kind, alerts, unlisted),
    };
    let msg = match alerts {
        // A gathered burst counts more than it carries: it is a burst whatever is left of it.
        _ if unlisted.total() > 0 => several(alerts),
        [Alert::Vulnerability(v)] => vulnerability(ctx, v, &mention_text),
        [Alert::ChannelBroken(b)] => channel_broken(ctx, b, &mention_text),
        [Alert::CertificateExpiring(c)] => kinds::certificate(ctx, c, &mention_text),
        [Alert::ScanCompleted(sc)] => kinds::scan(ctx, sc, &mention_text),
        [Alert::Reminder(r)] => kinds::reminder(ctx, r, &mention_text),
        [Alert::Digest(d)] => kinds::digest(ctx, d, &mention_text),
        [Alert::Escalation(e)] => escalation::escalation(ctx, e, &mention_text),
        _ => several(alerts),
    };
    debug_assert!(check_message(&msg).is_ok(), "{:?}", check_message(&msg));
    if check_message(&msg).is_ok() {
        no_unfurl(msg)
    } else {
        plain_gathered(ctx.kind, alerts, unlisted)
    }
}

/// The findings of a burst — every alert a new finding (`false`) or every alert a reminder (`true`) — or `None`
/// for anything else (a single alert counts too).
pub fn burst_of<'a>(alerts: &[&'a Alert]) -> Option<(Vec<&'a VulnerabilityAlert>, bool)> {
    let new: Vec<&VulnerabilityAlert> = alerts
        .iter()
        .filter_map(|a| match a {
            Alert::Vulnerability(v) => Some(v),
            _ => None,
        })
        .collect();
    if !new.is_empty() && new.len() == alerts.len() {
        return Some((new, false));
    }
    let open: Vec<&VulnerabilityAlert> = alerts
        .iter()
        .filter_map(|a| match a {
            Alert::Reminder(r) => Some(&r.finding),
            _ => None,
        })
        .collect();
    (!open.is_empty() && open.len() == alerts.len()).then_some((open, true))
}

fn headline_text(headline: &str, mentions: &str) -> String {
    let text = if mentions.is_empty() {
        headline.to_string()
    } else {
        format!("{headline} {mentions}")
    };
    fence_core::text::truncate_chars(&text, limits::MAX_TEXT)
}

fn severity_value(v: &VulnerabilityAlert) -> String {
    match v.cvss {
        Some(c) => format!("{} (CVSS {c})", v.severity.label()),
        None => v.severity.label().to_string(),
    }
}

fn vuln_headline(v: &VulnerabilityAlert) -> String {
    let reopened = if v.reopened { " (Reopened)" } else { "" };
    if v.now_exploited {
        return format!("🔥 Now Known Exploited: {}", v.severity.headline());
    }
    format!("{} {}{reopened}", v.severity.icon(), v.severity.headline())
}

/// (label, value) pairs of a vulnerability, values already escaped and bounded.
fn vuln_fields(v: &VulnerabilityAlert, kind: ChannelKind) -> Vec<(&'static str, String, bool)> {
    let mut f = vec![
        ("Domain", host(&v.domain, 253), true),
        ("Severity", severity_value(v), true),
        ("Title", bounded_in(kind, &v.title, 600), false),
    ];
    if let Some(cve) = &v.cve {
        f.push(("CVE", bounded_in(kind, cve, 40), true));
    }
    // The feeds' own words: validated dates and numbers, nothing from the scanner.
    if let Some(i) = v.intel.as_ref().filter(|i| !i.is_empty()) {
        let lines: Vec<String> = [i.kev_line(), i.epss_line()]
            .into_iter()
            .flatten()
            .collect();
        f.push(("Exploitation", lines.join("\n"), false));
    }
    if let Some(o) = &v.owasp {
        f.push(("OWASP", bounded_in(kind, o, 200), true));
    }
    if let Some(c) = v.category {
        f.push(("Type", c.display_name().to_string(), true));
    }
    if let Some(u) = &v.affected_url {
        f.push(("Affected", affected(u, &v.domain, kind), false));
    }
    f
}

/// The affected URL: a real link when it is on the finding's domain or a subdomain of it (the asset the finding is
/// about), else scanner text shown as code.
fn affected(url: &str, domain: &str, kind: ChannelKind) -> String {
    let on_domain = url::Url::parse(url).ok().filter(|u| {
        u.host_str().is_some_and(|h| {
            let h = h.to_ascii_lowercase();
            h == domain || h.ends_with(&format!(".{domain}"))
        })
    });
    let Some(u) = on_domain else {
        return bounded_in(kind, url, 1000);
    };
    // Parsed and re-serialized, the URL has no spaces, quotes or angle brackets; `|` and `)` would end the link.
    let href = u.as_str().replace('|', "%7C").replace(')', "%29");
    if href.chars().count() > 1000 {
        return bounded_in(kind, url, 1000);
    }
    match kind {
        ChannelKind::Slack => format!(
            "<{}|{}>",
            href.replace('&', "&amp;"),
            href.replace('&', "&amp;")
        ),
        ChannelKind::Mattermost => format!("[{href}]({href})"),
    }
}

/// Slack and Mattermost must not unfurl scanner-controlled links (or Fence's own pages) into previews.
fn no_unfurl(mut msg: Value) -> Value {
    if let Some(o) = msg.as_object_mut() {
        o.insert("unfurl_links".into(), json!(false));
        o.insert("unfurl_media".into(), json!(false));
    }
    msg
}

fn header(text: &str) -> Value {
    json!({"type": "header", "text": {"type": "plain_text", "text": fence_core::text::truncate_chars(text, limits::MAX_HEADER), "emoji": true}})
}

fn vulnerability(ctx: &RenderContext<'_>, v: &VulnerabilityAlert, mentions: &str) -> Value {
    let headline = vuln_headline(v);
    let fields = vuln_fields(v, ctx.kind);
    let fallback = format!(
        "{headline}: {} ({})",
        bounded_in(ctx.kind, &v.title, 300),
        host(&v.domain, 253)
    );
    match ctx.format {
        MessageFormat::Blocks => {
            let mut blocks = vec![header(&headline)];
            if v.reopened {
                blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": "↺ This finding was resolved and has been detected again."}]}));
            }
            let items: Vec<Value> = fields
                .iter()
                .map(|(label, value, _)| json!({"type": "mrkdwn", "text": format!("*{label}:*\n{value}")}))
                .collect();
            blocks.push(json!({"type": "section", "fields": items}));
            blocks.push(json!({"type": "actions", "block_id": "fence_finding", "elements": finding_buttons(ctx, v, "")}));
            json!({
                "text": headline_text(&headline, mentions),
                "attachments": [{"color": v.severity.color(), "fallback": fallback, "blocks": blocks}]
            })
        }
        MessageFormat::Attachments => {
            let mut att = json!({
                "color": v.severity.color(),
                "fallback": fallback,
                "fields": fields.iter().map(|(label, value, short)| json!({"title": label, "value": value, "short": short})).collect::<Vec<_>>(),
                "mrkdwn_in": ["fields"],
            });
            match ctx.kind {
                ChannelKind::Slack => {
                    let sign = |action: &str| ctx.signer.sign(action, ctx.org_id, &v.finding_id);
                    let mut actions = vec![
                        json!({"type": "button", "text": "View Details", "url": ctx.finding_url(&v.finding_id)}),
                        json!({"type": "button", "name": "false_positive", "text": "Mark as False Positive", "value": sign("false_positive")}),
                        json!({"type": "button", "name": "snooze", "text": "Snooze (24h)", "value": sign("snooze")}),
                        json!({"type": "button", "name": "fix_instructions", "text": "Fix Instructions", "value": sign("fix_instructions")}),
                    ];
                    // A legacy attachment holds five actions: Acknowledge where the channel escalates, then Run
                    // Scan where the plan has it, then Mute.
                    if ctx.acknowledge {
                        actions.push(json!({"type": "button", "name": "acknowledge", "text": "Acknowledge", "style": "primary", "value": sign("acknowledge")}));
                    }
                    if ctx.run_scan && actions.len() < 5 {
                        actions.push(json!({"type": "button", "name": "run_scan", "text": "Run Scan", "value": ctx.signer.sign("run_scan", ctx.org_id, &v.domain)}));
                    }
                    // A legacy attachment holds five actions; Run Scan, where the plan has it, comes first.
                    if actions.len() < 5 {
                        actions.push(json!({"type": "button", "name": "mute_rule", "text": MUTE_RULE, "value": sign("mute_rule")}));
                    }
                    att["callback_id"] = json!("fence_finding");
                    att["actions"] = json!(actions);
                }
                ChannelKind::Mattermost => {
                    att["text"] = json!(format!(
                        "[View Details]({})",
                        ctx.finding_url(&v.finding_id)
                    ));
                }
            }
            if v.reopened {
                att["pretext"] = json!("↺ This finding was resolved and has been detected again.");
            }
            json!({"text": headline_text(&headline, mentions), "attachments": [att]})
        }
    }
}

fn channel_broken(ctx: &RenderContext<'_>, b: &ChannelBrokenAlert, mentions: &str) -> Value {
    let headline = format!(
        "🔌 Slack channel {} stopped accepting messages: {}",
        bounded_in(ctx.kind, &b.channel_name, 80),
        bounded_in(ctx.kind, &b.error, 60)
    );
    let hint = bounded_in(ctx.kind, &b.hint, 1000);
    match ctx.format {
        MessageFormat::Blocks => json!({
            "text": headline_text(&headline, mentions),
            "attachments": [{"color": "#FF0000", "fallback": headline, "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": format!("*{headline}*\n{hint}\nIts alerts are held and will be sent once the channel is fixed.")}}
            ]}]
        }),
        MessageFormat::Attachments => json!({
            "text": headline_text(&headline, mentions),
            "attachments": [{"color": "#FF0000", "fallback": headline, "text": format!("{hint}\nIts alerts are held and will be sent once the channel is fixed.")}]
        }),
    }
}

/// The "✅ Test from Fence" message, with a summary of what the channel will receive.
pub fn test_message(kind: ChannelKind, summary: &str) -> Value {
    let _ = kind;
    no_unfurl(
        json!({"text": format!("✅ Test from Fence\n{}", fence_core::text::truncate_chars(summary, 3000))}),
    )
}

/// A follow-up posted in the thread of the message that announced a finding, as this channel shows it (on a
/// minimal channel, the note without the fix instructions).
pub fn followup_in(ctx: &RenderContext<'_>, f: &fence_core::alert::FollowUpAlert) -> Value {
    match ctx.detail {
        Detail::Minimal => minimal::followup(f),
        Detail::Full => followup(f),
    }
}

/// A follow-up posted in the thread of the message that announced a finding.
pub fn followup(f: &fence_core::alert::FollowUpAlert) -> Value {
    let note = fence_core::text::truncate_chars(&f.note, 500);
    no_unfurl(match &f.body {
        None => json!({ "text": note }),
        Some(body) => {
            json!({ "text": format!("{note}\n{}", bounded(body, limits::MAX_TEXT - 600)) })
        }
    })
}

/// A follow-up told as a message of its own (`announce`: a snooze that ended, on a webhook or a bot channel without the
/// finding's message): the finding's alert with the note above it, and the note in the notification text.
pub fn announced(ctx: &RenderContext<'_>, f: &fence_core::alert::FollowUpAlert) -> Value {
    let note = fence_core::text::truncate_chars(&f.note, 300);
    if ctx.detail == Detail::Minimal {
        return minimal::announced(ctx, f);
    }
    let mut msg = vulnerability(ctx, &f.finding, "");
    msg["text"] = json!(headline_text(
        &format!("{note} {}", bounded_in(ctx.kind, &f.finding.title, 300)),
        ""
    ));
    match ctx.format {
        MessageFormat::Blocks => {
            if let Some(blocks) = msg["attachments"][0]["blocks"].as_array_mut() {
                blocks.insert(
                    1,
                    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}),
                );
            }
        }
        MessageFormat::Attachments => {
            msg["attachments"][0]["pretext"] = json!(note);
        }
    }
    no_unfurl(msg)
}

/// How an acknowledgement's note starts: the updated alert keeps its other actions (the finding is still open).
pub const ACKNOWLEDGED: &str = "👀 Acknowledged by";

/// The original single-finding message re-rendered with its new state (for `chat.update`).
pub fn updated(ctx: &RenderContext<'_>, f: &fence_core::alert::FollowUpAlert) -> Value {
    if ctx.detail == Detail::Minimal {
        return minimal::updated(ctx, f);
    }
    let acknowledged = f.note.starts_with(ACKNOWLEDGED);
    let mut ctx = *ctx;
    ctx.acknowledge = false;
    let mut msg = vulnerability(&ctx, &f.finding, "");
    let note = fence_core::text::truncate_chars(&f.note, 500);
    match ctx.format {
        MessageFormat::Blocks => {
            if let Some(blocks) = msg["attachments"][0]["blocks"].as_array_mut() {
                // The triage buttons have done their work; the state replaces them (an acknowledged finding is
                // still open: its actions stay, without Acknowledge).
                blocks.retain(|b| acknowledged || b["type"] != "actions");
                blocks.push(
                    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}),
                );
            }
        }
        MessageFormat::Attachments => {
            if let Some(att) = msg["attachments"][0].as_object_mut() {
                if !acknowledged {
                    att.remove("actions");
                }
                att.insert(
                    "footer".into(),
                    json!(fence_core::text::truncate_chars(&note, limits::MAX_FOOTER)),
                );
            }
        }
    }
    no_unfurl(msg)
}

mod buttons;
pub use buttons::MUTE_RULE;
use buttons::{button, finding_buttons};
mod coalesced;
mod escalation;
pub mod gather;
pub use gather::{Gathered, Unlisted};
mod kinds;
mod metadata;
mod plain;
use plain::plain_gathered;
pub use plain::{plain, plain_in};
pub mod minimal;

use coalesced::coalesced;
pub(crate) use coalesced::worst_first;
pub use coalesced::{listed_findings, listed_note, replace_line, LINE_BLOCK};
pub use kinds::{duration, expiry_phrase};
pub use metadata::metadata;
#[cfg(test)]
mod tests;
