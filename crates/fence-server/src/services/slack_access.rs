//! Who may act for an organization from Slack: by default only full members of the organization's own workspace —
//! the user's `team_id` is the organization's `slack_team_id`, and `users.info` says the user is neither a guest
//! (`is_restricted`, `is_ultra_restricted`) nor deactivated nor a bot — may triage, run scans or list
//! vulnerabilities; `triage_allow` narrows triage further. A refusal is audited and its message is for the user; a
//! `users.info` that fails refuses too (fail closed). Answers are cached briefly (`AppState::slack_users`).

use crate::services::triage::may_triage_in_slack;
use crate::state::AppState;
use fence_core::Secret;
use fence_slack::SlackUser;
use fence_store::orgs::Org;

/// What a Slack user asks Fence to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlackAction {
    /// Mark as False Positive, Snooze (buttons and overflow-menu options).
    Triage,
    /// Run Scan, `/fence scan`.
    Scan,
    /// `/fence vulnerabilities`.
    Vulnerabilities,
}

impl SlackAction {
    /// The audit log's name of the action.
    pub fn as_str(self) -> &'static str {
        match self {
            SlackAction::Triage => "triage",
            SlackAction::Scan => "scan",
            SlackAction::Vulnerabilities => "vulnerabilities",
        }
    }

    /// How the refusal names it: "…may not {verb}".
    fn verb(self) -> &'static str {
        match self {
            SlackAction::Triage => "triage findings",
            SlackAction::Scan => "run scans",
            SlackAction::Vulnerabilities => "list vulnerabilities",
        }
    }
}

/// The token Fence reads the organization's workspace with: its "Add to Slack" install's bot token when the install
/// is of the organization's workspace, else a bot token of one of its channels. Every caller (this check,
/// `triage_allow`'s user groups) goes through this function.
pub async fn workspace_token(state: &AppState, org: &Org) -> Option<Secret<String>> {
    if let Ok(Some(install)) = state.store.org_install(&org.id).await {
        if org.slack_team_id.as_deref() == Some(install.team_id.as_str()) {
            if let Ok(t) = state.secrets.decrypt(&install.bot_token_enc) {
                return Some(t);
            }
        }
    }
    let channels = state.store.list_channels(&org.id).await.ok()?;
    channels
        .iter()
        .filter_map(|c| c.bot_token_enc.as_deref())
        .find_map(|t| state.secrets.decrypt(t).ok())
}

/// Whether `user` (who clicked or ran the command; `claimed_team` is the `team_id` the payload gives for the user,
/// when it gives one) may do `action` for `org`. `Err` carries the message to show the user, ephemerally; the
/// refusal is already in the audit log.
pub async fn authorize(
    state: &AppState,
    org: &Org,
    user: &str,
    claimed_team: Option<&str>,
    action: SlackAction,
) -> Result<(), String> {
    let refusal = decide(state, org, user, claimed_team, action).await;
    let Err((reason, message)) = refusal else {
        return Ok(());
    };
    let detail = format!("{}: {reason}", action.as_str());
    let actor = format!("slack:{}", fence_slack::escape::bounded(user, 40));
    if let Err(e) = state
        .store
        .audit(
            &org.id,
            &actor,
            "slack.refused",
            None,
            Some(&detail),
            state.clock.now_ms(),
        )
        .await
    {
        tracing::warn!(error = %e, "a Slack refusal could not be audited");
    }
    Err(message)
}

/// The decision, with the audit log's reason and the user's message on a refusal.
async fn decide(
    state: &AppState,
    org: &Org,
    user: &str,
    claimed_team: Option<&str>,
    action: SlackAction,
) -> Result<(), (&'static str, String)> {
    let verb = action.verb();
    let Some(team) = org.slack_team_id.as_deref() else {
        return Err((
            "no workspace",
            "This organization is not connected to a Slack workspace.".into(),
        ));
    };
    let outsider = || {
        (
            "other workspace",
            format!("Only members of this organization's own Slack workspace may {verb}; people from other workspaces (Slack Connect) may not."),
        )
    };
    if claimed_team.is_some_and(|t| !t.is_empty() && t != team) {
        return Err(outsider());
    }
    let member = who_is(state, org, team, user).await.map_err(|e| {
        tracing::warn!(error = %e, "users.info failed: the Slack action was refused");
        (
            "users.info failed",
            format!("Fence could not check your Slack account ({e}), so it did nothing. Try again in a minute; if this persists, ask a Fence admin to reinstall the app (Add to Slack) so its bot token has `users:read`."),
        )
    })?;
    if member.team_id != team {
        return Err(outsider());
    }
    if member.is_restricted || member.is_ultra_restricted {
        return Err((
            "guest",
            format!("Guests of the workspace may not {verb}; ask a full member."),
        ));
    }
    if member.deleted || member.is_bot {
        return Err((
            "deactivated or bot",
            format!("Deactivated accounts and bots may not {verb}."),
        ));
    }
    if action == SlackAction::Triage && !may_triage_in_slack(state, org, user).await {
        return Err((
            "not in triage_allow",
            "You are not allowed to triage findings for this organization; ask a Fence admin to add you to `triage_allow`.".into(),
        ));
    }
    Ok(())
}

/// `users.info` for `user` of the organization's workspace, cached.
async fn who_is(state: &AppState, org: &Org, team: &str, user: &str) -> Result<SlackUser, String> {
    let now = state.clock.now_ms();
    if let Some(u) = state.slack_users.get(team, user, now) {
        return Ok(u);
    }
    let Some(token) = workspace_token(state, org).await else {
        return Err("the organization has no bot token to ask Slack with".into());
    };
    let u = state.webapi.user_info(&token, user).await?;
    state.slack_users.put(team, u.clone(), now);
    Ok(u)
}
