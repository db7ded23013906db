//! An organization's Slack settings: the workspace it is connected to (one organization per workspace) and who may
//! triage from Slack, changed with an audit entry. Changing the workspace here is an admin's explicit choice; "Add
//! to Slack" never replaces one (`channels::install_guard`).

use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;

/// Connects the organization to `team` (or disconnects it) and sets its triage allow-list.
pub async fn update_slack(
    state: &AppState,
    org_id: &str,
    actor: &str,
    team: Option<&str>,
    triage_allow: &[String],
) -> ServiceResult<()> {
    if let Some(t) = team {
        if state
            .store
            .org_by_slack_team(t)
            .await?
            .is_some_and(|o| o.id != org_id)
        {
            return Err(ServiceError::Conflict(
                "this Slack workspace is connected to another organization".into(),
            ));
        }
    }
    // The unique index decides between two organizations claiming one workspace at once.
    state
        .store
        .update_org_slack(org_id, team, triage_allow)
        .await
        .map_err(|e| match e {
            fence_store::StoreError::Conflict(m) => ServiceError::Conflict(m),
            other => other.into(),
        })?;
    state
        .store
        .audit(
            org_id,
            actor,
            "org.update",
            None,
            None,
            state.clock.now_ms(),
        )
        .await?;
    Ok(())
}
