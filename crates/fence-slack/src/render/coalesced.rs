//! Several findings in one message: the worst first, up to `COALESCE_LISTED` listed with their buttons (Block Kit)
//! or links (attachments, Mattermost), and a counted tail linking to the rest in Fence.

use super::{
    finding_buttons, header, headline_text, severity_value, RenderContext, COALESCE_LISTED,
};
use crate::escape::{bounded_in, host};
use crate::limits;
use fence_core::{ChannelKind, MessageFormat, Severity, VulnerabilityAlert};
use serde_json::{json, Value};

fn counts_phrase(vulns: &[&VulnerabilityAlert]) -> String {
    Severity::ALL
        .iter()
        .filter_map(|s| {
            let n = vulns.iter().filter(|v| v.severity == *s).count();
            (n > 0).then(|| format!("{n} {}", s.as_str()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Findings worst first: by severity, then by CVSS score.
fn worst_first<'a>(vulns: &[&'a VulnerabilityAlert]) -> Vec<&'a VulnerabilityAlert> {
    let mut sorted: Vec<&VulnerabilityAlert> = vulns.to_vec();
    sorted.sort_by(|a, b| {
        b.severity.cmp(&a.severity).then_with(|| {
            let (x, y) = (
                a.cvss.map(|c| c.value()).unwrap_or(-1.0),
                b.cvss.map(|c| c.value()).unwrap_or(-1.0),
            );
            y.total_cmp(&x)
        })
    });
    sorted
}

/// One finding's line in a coalesced message.
fn coalesced_line(v: &VulnerabilityAlert, kind: ChannelKind) -> String {
    let reopened = if v.reopened { " _(reopened)_" } else { "" };
    format!(
        "{} *{}* — {} · {}{reopened}",
        v.severity.dot(),
        bounded_in(kind, &v.title, 300),
        host(&v.domain, 253),
        severity_value(v)
    )
}

/// What a coalesced message says, before it is laid out in blocks or attachments.
struct Coalesced<'a> {
    headline: String,
    top: Severity,
    listed: &'a [&'a VulnerabilityAlert],
    rest: &'a [&'a VulnerabilityAlert],
}

/// Several findings in one message: new ones (`reminder == false`) or still-open ones.
pub(super) fn coalesced(
    ctx: &RenderContext<'_>,
    vulns: &[&VulnerabilityAlert],
    mentions: &str,
    reminder: bool,
) -> Value {
    let sorted = worst_first(vulns);
    let top = sorted.first().map(|v| v.severity).unwrap_or(Severity::Info);
    let headline = if reminder {
        format!(
            "⏰ {} findings still open: {}",
            vulns.len(),
            counts_phrase(vulns)
        )
    } else {
        format!(
            "{} {} new vulnerabilities: {}",
            top.icon(),
            vulns.len(),
            counts_phrase(vulns)
        )
    };
    let listed = &sorted[..sorted.len().min(COALESCE_LISTED)];
    let c = Coalesced {
        headline,
        top,
        listed,
        rest: &sorted[listed.len()..],
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
    kind: ChannelKind,
) -> Option<String> {
    if rest.is_empty() {
        return None;
    }
    let (n, counts, url) = (rest.len(), counts_phrase(rest), ctx.findings_url());
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
        blocks.push(
            json!({"type": "section", "text": {"type": "mrkdwn", "text": coalesced_line(v, ctx.kind)}}),
        );
        blocks.push(json!({"type": "actions", "block_id": format!("fence_finding_{i}"), "elements": finding_buttons(ctx, v, &format!("_{i}"))}));
    }
    if let Some(t) = coalesced_rest(ctx, c.rest, ChannelKind::Slack) {
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": t}]}));
    }
    json!({"text": headline_text(&c.headline, mentions), "attachments": [{"color": c.top.color(), "fallback": c.headline, "blocks": blocks}]})
}

fn coalesced_attachment(ctx: &RenderContext<'_>, c: &Coalesced<'_>, mentions: &str) -> Value {
    let mut lines: Vec<String> = c
        .listed
        .iter()
        .map(|v| {
            let (line, url) = (coalesced_line(v, ctx.kind), ctx.finding_url(&v.finding_id));
            match ctx.kind {
                ChannelKind::Slack => format!("{line} <{url}|Details>"),
                ChannelKind::Mattermost => format!("{line} [Details]({url})"),
            }
        })
        .collect();
    if let Some(t) = coalesced_rest(ctx, c.rest, ctx.kind) {
        lines.push(t);
    }
    let text = fence_core::text::truncate_chars(&lines.join("\n"), limits::MAX_SECTION_TEXT);
    json!({"text": headline_text(&c.headline, mentions), "attachments": [{"color": c.top.color(), "fallback": c.headline, "text": text, "mrkdwn_in": ["text"]}]})
}
