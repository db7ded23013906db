//! Triage: changing a finding's status (false positive, snooze, resolve, reopen) from any surface — the API, the
//! UI or a Slack button — with its audit entry and the follow-ups that update Slack; and who may triage from Slack.

use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use fence_core::alert::FollowUpAlert;
use fence_core::{Alert, FindingStatus};
use fence_store::findings::FindingRow;
use fence_store::orgs::Org;
use fence_store::StoreError;

/// Who acted, for the audit log and for the note shown in Slack.
#[derive(Debug, Clone)]
pub struct Actor {
    /// `token:…`, `user:…` or `slack:U…` (audit log).
    pub audit: String,
    /// How Slack shows it: "<@U123>" or "via the Fence API".
    pub shown: String,
}

/// The note posted in the alert's thread and shown on the updated alert.
pub fn note(status: FindingStatus, hours: Option<f64>, actor: &Actor) -> String {
    let who = &actor.shown;
    match status {
        FindingStatus::FalsePositive => format!("✓ Marked as false positive by {who}"),
        FindingStatus::Snoozed => format!(
            "💤 Snoozed for {}h by {who}",
            hours.map(|h| format!("{h}")).unwrap_or_else(|| "24".into())
        ),
        FindingStatus::Resolved => format!("✅ Resolved by {who}"),
        FindingStatus::Open => format!("↺ Reopened by {who}"),
    }
}

/// Changes a finding's status, records it in the audit log, and queues the thread reply and message update for
/// every channel where Fence posted the finding with a bot token.
pub async fn change_status(
    state: &AppState,
    org_id: &str,
    finding_id: &str,
    status: FindingStatus,
    hours: Option<f64>,
    actor: &Actor,
) -> ServiceResult<FindingRow> {
    let now = state.clock.now_ms();
    let until = match (status, hours) {
        (FindingStatus::Snoozed, h) => Some(now + (h.unwrap_or(24.0) * 3_600_000.0) as i64),
        _ => None,
    };
    let f = state
        .store
        .set_finding_status(org_id, finding_id, status, until, &actor.audit, now)
        .await
        .map_err(ServiceError::not_found_as("finding"))?;
    update_alerts(state, org_id, &f, note(status, hours, actor), now).await?;
    Ok(f)
}

/// Queues, for every channel where Fence posted the finding with a bot token, `note` in the alert's thread and the
/// alert updated to show it.
async fn update_alerts(
    state: &AppState,
    org_id: &str,
    f: &FindingRow,
    note: String,
    now: i64,
) -> ServiceResult<()> {
    let Alert::Vulnerability(v) = f.alert(false) else {
        return Err(StoreError::Corrupt("finding alert".into()).into());
    };
    let followup = Alert::FollowUp(FollowUpAlert {
        finding: v,
        note,
        body: None,
        update_original: true,
        announce: false,
    });
    if state
        .store
        .enqueue_followup(org_id, &f.id, followup, now)
        .await?
        > 0
    {
        state.wake.notify_one();
    }
    Ok(())
}

/// Acknowledges an open finding: who and when are recorded (once) and audited, escalation stops for it (reminders go
/// on), and every bot-posted alert of it is updated to say so, with a note in its thread. A finding that is not open
/// has nothing to acknowledge (a conflict).
pub async fn acknowledge(
    state: &AppState,
    org_id: &str,
    finding_id: &str,
    actor: &Actor,
) -> ServiceResult<(FindingRow, String)> {
    let now = state.clock.now_ms();
    let f = crate::services::findings::get(state, org_id, finding_id).await?;
    if f.status != FindingStatus::Open {
        return Err(ServiceError::Conflict(format!(
            "this finding is {}; only an open finding can be acknowledged",
            f.status.as_str().replace('_', " ")
        )));
    }
    let (f, done) = state
        .store
        .acknowledge_finding(org_id, finding_id, &actor.audit, now)
        .await
        .map_err(ServiceError::not_found_as("finding"))?;
    let note = format!("{} {}", fence_slack::render::ACKNOWLEDGED, actor.shown);
    if !done {
        // Already acknowledged: nothing changes, and nothing is posted again.
        return Ok((f, note));
    }
    update_alerts(state, org_id, &f, note.clone(), now).await?;
    Ok((f, note))
}

/// Whether `triage_allow` lets a Slack user triage for `org`: every full member of the workspace when it is empty
/// (`services::slack_access` decides who that is), else listed users and members of listed user groups (read with
/// the organization's workspace token).
pub async fn may_triage_in_slack(state: &AppState, org: &Org, user: &str) -> bool {
    if org.triage_allow.is_empty() || org.triage_allow.iter().any(|a| a == user) {
        return true;
    }
    let groups: Vec<&String> = org
        .triage_allow
        .iter()
        .filter(|a| a.starts_with('S'))
        .collect();
    if groups.is_empty() {
        return false;
    }
    let Some(token) = crate::services::slack_access::workspace_token(state, org).await else {
        return false;
    };
    for g in groups {
        if state
            .webapi
            .group_members(&token, g)
            .await
            .is_ok_and(|m| m.iter().any(|u| u == user))
        {
            return true;
        }
    }
    false
}
