//! An organization's Slack settings: the workspace it is connected to (one organization per workspace) and who may
//! triage from Slack, changed with an audit entry.

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
    state
        .store
        .update_org_slack(org_id, team, triage_allow)
        .await?;
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
