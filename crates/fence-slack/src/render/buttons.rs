//! A single finding's buttons — View Details, Mark as False Positive, Snooze (24h), Fix Instructions, Run Scan where
//! the plan has it — and its overflow menu with "Mute this rule for 30 days", each value signed.

use super::RenderContext;
use crate::limits;
use fence_core::VulnerabilityAlert;
use serde_json::{json, Value};

pub(super) fn button(text: &str, action_id: &str) -> Value {
    json!({"type": "button", "text": {"type": "plain_text", "text": text, "emoji": true}, "action_id": action_id})
}

pub(super) fn finding_buttons(
    ctx: &RenderContext<'_>,
    v: &VulnerabilityAlert,
    suffix: &str,
) -> Vec<Value> {
    let sign = |action: &str| ctx.signer.sign(action, ctx.org_id, &v.finding_id);
    let mut view = button("View Details", &format!("view_details{suffix}"));
    view["url"] = json!(ctx.finding_url(&v.finding_id));
    let mut fp = button("Mark as False Positive", &format!("false_positive{suffix}"));
    fp["value"] = json!(sign("false_positive"));
    let mut snooze = button("Snooze (24h)", &format!("snooze{suffix}"));
    snooze["value"] = json!(sign("snooze"));
    let mut fix = button("Fix Instructions", &format!("fix_instructions{suffix}"));
    fix["value"] = json!(sign("fix_instructions"));
    let mut out = vec![view, fp, snooze, fix];
    if ctx.acknowledge {
        let mut ack = button("Acknowledge", &format!("acknowledge{suffix}"));
        ack["value"] = json!(sign("acknowledge"));
        ack["style"] = json!("primary");
        out.insert(1, ack);
    }
    if ctx.run_scan {
        let mut scan = button("Run Scan", &format!("run_scan{suffix}"));
        scan["value"] = json!(ctx.signer.sign("run_scan", ctx.org_id, &v.domain));
        out.push(scan);
    }
    // An option's value holds 150 characters; a finding id too long for it leaves the menu out (the finding's page
    // offers the same).
    // An overflow menu holds two to five options: muting, and the finding's page as a link option.
    let mute = sign("mute_rule");
    let open = sign("view_details");
    if mute.chars().count().max(open.chars().count()) <= limits::MAX_OPTION_VALUE {
        out.push(
            json!({"type": "overflow", "action_id": format!("finding_more{suffix}"), "options": [
                {"text": {"type": "plain_text", "text": MUTE_RULE}, "value": mute},
                {"text": {"type": "plain_text", "text": "Open in Fence"}, "value": open, "url": ctx.finding_url(&v.finding_id)}
            ]}),
        );
    }
    out
}

/// The text of the `mute_rule` action: a silence on the finding's rule (or CVE) and domain.
pub const MUTE_RULE: &str = "Mute this rule for 30 days";
