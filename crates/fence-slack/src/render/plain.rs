//! The plain-text forms of a message: what Fence sends when Slack rejects the rich payload, one line per alert (up
//! to 50), then how many more the message counts; on a minimal channel, `minimal::plain`.

use super::{escalation, gather::Unlisted, kinds, minimal, no_unfurl, RenderContext};
use crate::escape::{bounded_in, host};
use crate::limits;
use fence_core::{Alert, ChannelKind, Detail};
use serde_json::{json, Value};
use std::borrow::Borrow;

/// The plain-text form for this channel (its detail level), used when Slack rejects the rich payload.
pub fn plain_in<A: Borrow<Alert>>(
    ctx: &RenderContext<'_>,
    alerts: &[A],
    unlisted: Unlisted,
) -> Value {
    match ctx.detail {
        Detail::Minimal => minimal::plain(alerts, unlisted),
        Detail::Full => plain_gathered(ctx.kind, alerts, unlisted),
    }
}

/// The minimal plain-text form, used when Slack rejects the rich payload.
pub fn plain<A: Borrow<Alert>>(kind: ChannelKind, alerts: &[A]) -> Value {
    plain_gathered(kind, alerts, Unlisted::default())
}

/// [`plain`] for gathered alerts: up to 50 lines, then how many more the message counts.
pub(super) fn plain_gathered<A: Borrow<Alert>>(
    kind: ChannelKind,
    alerts: &[A],
    unlisted: Unlisted,
) -> Value {
    let mut lines = Vec::new();
    for a in alerts.iter().take(50) {
        lines.push(match a.borrow() {
            Alert::Vulnerability(v) => format!(
                "{} {}: {} ({}){}",
                v.severity.icon(),
                v.severity.label(),
                bounded_in(kind, &v.title, 200),
                host(&v.domain, 253),
                v.cvss.map(|c| format!(" CVSS {c}")).unwrap_or_default()
            ),
            Alert::ChannelBroken(b) => format!(
                "🔌 Channel {} stopped accepting messages: {}",
                bounded_in(kind, &b.channel_name, 100),
                bounded_in(kind, &b.error, 100)
            ),
            Alert::CertificateExpiring(c) => {
                format!(
                    "⚠️ SSL certificate of {} expires {}",
                    host(&c.domain, 253),
                    kinds::expiry_phrase(c.not_after, c.days_left)
                )
            }
            Alert::ScanCompleted(sc) => format!(
                "✅ Scan of {} completed: {} critical, {} high, {} medium, {} low, {} info",
                host(&sc.domain, 253),
                sc.counts[0],
                sc.counts[1],
                sc.counts[2],
                sc.counts[3],
                sc.counts[4]
            ),
            Alert::Reminder(r) => format!(
                "⏰ Still open: {} {} ({})",
                r.finding.severity.label(),
                bounded_in(kind, &r.finding.title, 200),
                host(&r.finding.domain, 253)
            ),
            Alert::FollowUp(f) => fence_core::text::truncate_chars(&f.note, 500),
            Alert::Escalation(e) => escalation::plain_line(kind, e),
            Alert::Digest(d) => format!(
                "📊 Fence Security {} Digest: {} scans, {} domains, {} new vulnerabilities",
                d.label, d.scans_run, d.domains_scanned, d.new_vulnerabilities
            ),
        });
    }
    let more = alerts.len().saturating_sub(50) + unlisted.total();
    if more > 0 {
        lines.push(format!("…and {more} more"));
    }
    no_unfurl(
        json!({ "text": fence_core::text::truncate_chars(&lines.join("\n"), limits::MAX_TEXT) }),
    )
}
