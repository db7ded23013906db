//! Several findings in one message: the worst first, up to `COALESCE_LISTED` listed one line each — severity, title
//! as the link to the finding in Fence, domain, CVSS — with the finding's other actions in an overflow menu (Block
//! Kit) or as plain lines with links (attachments, Mattermost), and a counted tail linking to the rest in Fence. A
//! click on a line's menu replaces that line with its new state ([`replace_line`]).

use super::{
    header, headline_text, no_unfurl, severity_value, RenderContext, Unlisted, COALESCE_LISTED,
};
use crate::escape::{bounded, bounded_in, host};
use crate::limits::{self, check_message};
use fence_core::{Alert, ChannelKind, MessageFormat, Severity, VulnerabilityAlert};
use serde_json::{json, Map, Value};

/// `block_id` of a coalesced message's line `i` is this prefix and `i`; a click on its menu names it.
pub const LINE_BLOCK: &str = "fence_line_";

/// The overflow options of a listed finding (Run Scan stays on single alerts): (text, signed action).
const MENU: [(&str, &str); 4] = [
    ("Mark as false positive", "false_positive"),
    ("Snooze (24h)", "snooze"),
    ("Fix instructions", "fix_instructions"),
    (super::MUTE_RULE, "mute_rule"),
];

/// "12 critical, 25 high": the findings in `vulns` and those only counted in `unlisted`.
fn counts_phrase(vulns: &[&VulnerabilityAlert], unlisted: Unlisted) -> String {
    Severity::ALL
        .iter()
        .filter_map(|s| {
            let n = vulns.iter().filter(|v| v.severity == *s).count() + unlisted.of(*s);
            (n > 0).then(|| format!("{n} {}", s.as_str()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Findings with the worst `listed` first, in order (by severity, then by CVSS score, then as they came), then the
/// rest in no particular order: a burst of 10,000 sorts its ten worst, not all of them.
pub(crate) fn worst_first<'a>(
    vulns: &[&'a VulnerabilityAlert],
    listed: usize,
) -> Vec<&'a VulnerabilityAlert> {
    let mut order: Vec<(usize, &VulnerabilityAlert)> = vulns.iter().copied().enumerate().collect();
    // A total order (the arrival index breaks ties), so the partial selection lists what a full sort would.
    let worse = |(i, a): &(usize, &VulnerabilityAlert), (j, b): &(usize, &VulnerabilityAlert)| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| {
                let (x, y) = (
                    a.cvss.map(|c| c.value()).unwrap_or(-1.0),
                    b.cvss.map(|c| c.value()).unwrap_or(-1.0),
                );
                y.total_cmp(&x)
            })
            .then(i.cmp(j))
    };
    if listed < order.len() {
        if listed > 0 {
            order.select_nth_unstable_by(listed - 1, worse);
        }
        order[..listed].sort_unstable_by(worse);
    } else {
        order.sort_unstable_by(worse);
    }
    order.into_iter().map(|(_, v)| v).collect()
}

/// The findings a message of these alerts lists one by one (the worst `COALESCE_LISTED` of its vulnerabilities;
/// a single alert's finding): where a bot channel records the message as their thread.
pub fn listed_findings<A: std::borrow::Borrow<Alert>>(alerts: &[A]) -> Vec<String> {
    let vulns: Vec<&VulnerabilityAlert> = alerts
        .iter()
        .filter_map(|a| match a.borrow() {
            Alert::Vulnerability(v) => Some(v),
            _ => None,
        })
        .collect();
    worst_first(&vulns, COALESCE_LISTED)
        .into_iter()
        .take(COALESCE_LISTED)
        .map(|v| v.finding_id.clone())
        .collect()
}

/// One finding's line: severity dot, title (on Slack the link to the finding in Fence), domain, severity and CVSS.
/// The title is scanner text: escaped and bounded, on one line so the link stays one link.
pub(super) fn coalesced_line(ctx: &RenderContext<'_>, v: &VulnerabilityAlert) -> String {
    let reopened = match (
        v.reopened,
        v.intel.as_ref().and_then(|i| i.known_exploited.as_ref()),
    ) {
        _ if v.now_exploited => " 🔥 _now known exploited_",
        (_, Some(_)) => " 🔥 _known exploited_",
        (true, None) => " _(reopened)_",
        (false, None) => "",
    };
    let one_line: String = v
        .title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let title = bounded_in(ctx.kind, &one_line, 300);
    let url = ctx.finding_url(&v.finding_id);
    let (dot, domain, severity) = (v.severity.dot(), host(&v.domain, 253), severity_value(v));
    match ctx.kind {
        // `<url|label>`: the label ends at `>`, which escaped text never contains (SLACK.md §7, [FMT]).
        ChannelKind::Slack => format!("{dot} <{url}|{title}> — {domain} · {severity}{reopened}"),
        // A Markdown link label could be closed by scanner text; the title stays text and the link follows.
        ChannelKind::Mattermost => {
            format!("{dot} *{title}* — {domain} · {severity}{reopened} · [View Details]({url})")
        }
    }
}

/// The line's overflow menu, its options' values signed like the single alert's buttons; none when a value would
/// not fit an option's 150 characters (the finding's page offers the same actions).
fn line_menu(ctx: &RenderContext<'_>, v: &VulnerabilityAlert) -> Option<Value> {
    let mut options = Vec::new();
    let ack = ctx.acknowledge.then_some(("Acknowledge", "acknowledge"));
    for (text, action) in ack.into_iter().chain(MENU) {
        let value = ctx.signer.sign(action, ctx.org_id, &v.finding_id);
        if value.chars().count() > limits::MAX_OPTION_VALUE {
            return None;
        }
        options.push(json!({"text": {"type": "plain_text", "text": text}, "value": value}));
    }
    Some(json!({"type": "overflow", "action_id": "finding_actions", "options": options}))
}

fn line_block(ctx: &RenderContext<'_>, i: usize, v: &VulnerabilityAlert) -> Value {
    let mut block = json!({"type": "section", "block_id": format!("{LINE_BLOCK}{i}"),
                           "text": {"type": "mrkdwn", "text": coalesced_line(ctx, v)}});
    if let Some(menu) = line_menu(ctx, v) {
        block["accessory"] = menu;
    }
    block
}

/// What a coalesced message says, before it is laid out in blocks or attachments.
struct Coalesced<'a> {
    headline: String,
    top: Severity,
    listed: &'a [&'a VulnerabilityAlert],
    rest: &'a [&'a VulnerabilityAlert],
    /// Findings of the burst counted but not carried (see [`super::Gathered`]): part of the rest.
    unlisted: Unlisted,
}

/// Several findings in one message: new ones (`reminder == false`) or still-open ones; `vulns` with the worst of
/// the burst, `unlisted` the others, counted.
pub(super) fn coalesced(
    ctx: &RenderContext<'_>,
    vulns: &[&VulnerabilityAlert],
    unlisted: Unlisted,
    mentions: &str,
    reminder: bool,
) -> Value {
    let sorted = worst_first(vulns, COALESCE_LISTED);
    let top = sorted.first().map(|v| v.severity).unwrap_or(Severity::Info);
    let total = vulns.len() + unlisted.total();
    let counts = counts_phrase(vulns, unlisted);
    let headline = if reminder {
        format!("⏰ {total} findings still open: {counts}")
    } else {
        format!("{} {total} new vulnerabilities: {counts}", top.icon())
    };
    let listed = &sorted[..sorted.len().min(COALESCE_LISTED)];
    let c = Coalesced {
        headline,
        top,
        listed,
        rest: &sorted[listed.len()..],
        unlisted,
    };
    match ctx.format {
        MessageFormat::Blocks => coalesced_blocks(ctx, &c, mentions),
        MessageFormat::Attachments => coalesced_attachment(ctx, &c, mentions),
    }
}

/// "…and N more (counts). View all open findings" — in Slack's link syntax or Mattermost's Markdown.
fn coalesced_rest(
    ctx: &RenderContext<'_>,
    rest: &[&VulnerabilityAlert],
    unlisted: Unlisted,
    kind: ChannelKind,
) -> Option<String> {
    let n = rest.len() + unlisted.total();
    if n == 0 {
        return None;
    }
    let (counts, url) = (counts_phrase(rest, unlisted), ctx.findings_url());
    Some(match kind {
        ChannelKind::Slack => format!("…and {n} more ({counts}). <{url}|View all open findings>"),
        ChannelKind::Mattermost => {
            format!("…and {n} more ({counts}). [View all open findings]({url})")
        }
    })
}

fn coalesced_blocks(ctx: &RenderContext<'_>, c: &Coalesced<'_>, mentions: &str) -> Value {
    let mut blocks = vec![header(&c.headline)];
    for (i, v) in c.listed.iter().enumerate() {
        blocks.push(line_block(ctx, i, v));
    }
    if let Some(t) = coalesced_rest(ctx, c.rest, c.unlisted, ChannelKind::Slack) {
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": t}]}));
    }
    json!({"text": headline_text(&c.headline, mentions), "attachments": [{"color": c.top.color(), "fallback": c.headline, "blocks": blocks}]})
}

fn coalesced_attachment(ctx: &RenderContext<'_>, c: &Coalesced<'_>, mentions: &str) -> Value {
    let mut lines: Vec<String> = c.listed.iter().map(|v| coalesced_line(ctx, v)).collect();
    if let Some(t) = coalesced_rest(ctx, c.rest, c.unlisted, ctx.kind) {
        lines.push(t);
    }
    let text = fence_core::text::truncate_chars(&lines.join("\n"), limits::MAX_SECTION_TEXT);
    json!({"text": headline_text(&c.headline, mentions), "attachments": [{"color": c.top.color(), "fallback": c.headline, "text": text, "mrkdwn_in": ["text"]}]})
}

/// What of a message Slack shows in a click's payload (`message`, SLACK.md §5) goes back when it is replaced: its
/// text, blocks and attachments (their content, not the ids Slack gave them).
fn resendable(message: &Value) -> Value {
    let mut out = Map::new();
    for key in ["text", "blocks"] {
        let present = |v: &&Value| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty());
        if let Some(v) = message.get(key).filter(present) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(atts) = message["attachments"].as_array() {
        let kept: Vec<Value> = atts
            .iter()
            .map(|a| {
                let mut att = Map::new();
                for key in [
                    "color",
                    "fallback",
                    "blocks",
                    "text",
                    "mrkdwn_in",
                    "pretext",
                    "footer",
                ] {
                    if let Some(v) = a.get(key).filter(|v| !v.is_null()) {
                        att.insert(key.into(), v.clone());
                    }
                }
                // Slack answers colors without their `#`.
                if let Some(c) = att.get("color").and_then(Value::as_str) {
                    if c.len() == 6 && c.chars().all(|ch| ch.is_ascii_hexdigit()) {
                        att.insert("color".into(), json!(format!("#{c}")));
                    }
                }
                Value::Object(att)
            })
            .collect();
        out.insert("attachments".into(), json!(kept));
    }
    Value::Object(out)
}

/// The coalesced message of a click's payload with the clicked line (`block_id`) showing the finding's new state
/// instead of its menu, every other line as it was; `None` when the message has no such line or the result would
/// not be valid Block Kit. Send it with `replace_original` through the click's response URL (SLACK.md §5).
pub fn replace_line(
    ctx: &RenderContext<'_>,
    message: &Value,
    block_id: &str,
    v: &VulnerabilityAlert,
    note: &str,
) -> Option<Value> {
    if !block_id.starts_with(LINE_BLOCK) {
        return None;
    }
    let mut msg = resendable(message);
    let line = format!(
        "{}\n{}",
        coalesced_line(ctx, v),
        fence_core::text::truncate_chars(note, 500)
    );
    let replacement =
        json!({"type": "section", "block_id": block_id, "text": {"type": "mrkdwn", "text": line}});
    let mut found = false;
    let mut replace_in = |blocks: Option<&mut Vec<Value>>| {
        for b in blocks.into_iter().flatten() {
            if b["block_id"] == block_id && b["type"] == "section" {
                *b = replacement.clone();
                found = true;
            }
        }
    };
    replace_in(msg.get_mut("blocks").and_then(Value::as_array_mut));
    if let Some(atts) = msg.get_mut("attachments").and_then(Value::as_array_mut) {
        for a in atts {
            replace_in(a.get_mut("blocks").and_then(Value::as_array_mut));
        }
    }
    (found && check_message(&msg).is_ok()).then(|| no_unfurl(msg))
}

/// A follow-up in the thread of a message that lists several findings names which one it is about.
pub fn listed_note(v: &VulnerabilityAlert, note: &str) -> String {
    format!(
        "{} — {} ({})",
        fence_core::text::truncate_chars(note, 500),
        bounded(&v.title, 300),
        host(&v.domain, 253)
    )
}

#[cfg(test)]
mod tests;
