//! The escalation message: "⏰ Unacknowledged for 30m: …" with the escalation's mentions — one finding with its
//! Acknowledge button, or several as the worst ones' lines (each linking to the finding) and the rest counted.

use super::buttons::button;
use super::coalesced::coalesced_line;
use super::{header, headline_text, RenderContext};
use crate::escape::{bounded_in, host};
use fence_core::alert::EscalationAlert;
use fence_core::{ChannelKind, MessageFormat};
use serde_json::{json, Value};

/// "2 critical, 1 high".
fn counts_phrase(e: &EscalationAlert) -> String {
    e.counts
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The headline: the finding's title when there is one finding, else how many and of which severities.
pub(super) fn headline(kind: ChannelKind, e: &EscalationAlert) -> String {
    match (e.total(), e.findings.first()) {
        (1, Some(v)) => format!(
            "⏰ Unacknowledged for {}: {}",
            bounded_in(kind, &e.after, 20),
            bounded_in(kind, &v.title, 150)
        ),
        (n, _) => format!(
            "⏰ Unacknowledged for {}: {n} findings ({})",
            bounded_in(kind, &e.after, 20),
            counts_phrase(e)
        ),
    }
}

/// One line of the plain-text form.
pub(super) fn plain_line(kind: ChannelKind, e: &EscalationAlert) -> String {
    match (e.total(), e.findings.first()) {
        (1, Some(v)) => format!("{} ({})", headline(kind, e), host(&v.domain, 253)),
        _ => headline(kind, e),
    }
}

pub(super) fn escalation(ctx: &RenderContext<'_>, e: &EscalationAlert, mentions: &str) -> Value {
    let title = headline(ctx.kind, e);
    let mut lines: Vec<String> = e.findings.iter().map(|v| coalesced_line(ctx, v)).collect();
    let rest = e.total().saturating_sub(e.findings.len());
    if rest > 0 {
        lines.push(format!("…and {rest} more still unacknowledged."));
    }
    let body = lines.join("\n");
    let single = (e.total() == 1).then(|| e.findings.first()).flatten();
    let color = e.counts.first().map_or("#FF8C00", |(s, _)| s.color());
    match (ctx.format, ctx.kind) {
        (MessageFormat::Blocks, _) => {
            let mut elements = Vec::new();
            match single {
                Some(v) => {
                    let mut ack = button("Acknowledge", "acknowledge");
                    ack["value"] = json!(ctx.signer.sign("acknowledge", ctx.org_id, &v.finding_id));
                    ack["style"] = json!("primary");
                    elements.push(ack);
                    let mut view = button("View Details", "view_details");
                    view["url"] = json!(ctx.finding_url(&v.finding_id));
                    elements.push(view);
                }
                None => {
                    let mut all = button("View all open findings", "view_all");
                    all["url"] = json!(ctx.findings_url());
                    elements.push(all);
                }
            }
            let block_id = if single.is_some() {
                "fence_finding"
            } else {
                "fence_actions"
            };
            // A header is plain text: the title (escaped for mrkdwn) stays in the lines below.
            let blocks = vec![
                header(&format!("⏰ Unacknowledged for {}", e.after)),
                json!({"type": "section", "text": {"type": "mrkdwn", "text": body}}),
                json!({"type": "actions", "block_id": block_id, "elements": elements}),
            ];
            json!({"text": headline_text(&title, mentions),
                   "attachments": [{"color": color, "fallback": title, "blocks": blocks}]})
        }
        (MessageFormat::Attachments, ChannelKind::Slack) => {
            let mut att =
                json!({"color": color, "fallback": title, "text": body, "mrkdwn_in": ["text"]});
            if let Some(v) = single {
                att["callback_id"] = json!("fence_finding");
                att["actions"] = json!([
                    {"type": "button", "name": "acknowledge", "text": "Acknowledge", "style": "primary",
                     "value": ctx.signer.sign("acknowledge", ctx.org_id, &v.finding_id)},
                    {"type": "button", "text": "View Details", "url": ctx.finding_url(&v.finding_id)},
                ]);
            }
            json!({"text": headline_text(&title, mentions), "attachments": [att]})
        }
        (MessageFormat::Attachments, ChannelKind::Mattermost) => {
            let link = format!("[View all open findings]({})", ctx.findings_url());
            json!({"text": headline_text(&title, mentions),
                   "attachments": [{"color": color, "fallback": title, "text": format!("{body}\n{link}")}]})
        }
    }
}
