//! "Add to Slack" (OAuth v2): the consent URL with the attempt's `state` (`install_guard`), and the installation —
//! the code exchanged for a webhook, its channel and a bot token, stored as a new channel, with the workspace mapped
//! to the organization (never replacing another workspace) and the install's bot token kept (encrypted) for
//! resolving names and checking who acts from Slack.

use super::{parse_input, save};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use serde_json::json;

/// The bot scopes "Add to Slack" asks for: exactly those of `slack-app-manifest.yaml` (Slack refuses to grant a
/// scope the app does not declare), each needed by what Fence does (README, "Slack app"; SLACK.md §6, §9 and the
/// Addendum): `incoming-webhook` the channel's webhook, `commands` `/fence`, `chat:write` posting and updating alerts,
/// `chat:write.public` posting to a public channel the bot was not invited to, `chat:write.customize` the white-label
/// identity, `users:read` / `users:read.email` / `usergroups:read` / `channels:read` / `groups:read` turning
/// `@name`, e-mail addresses and `#channel` into mentions.
pub const SCOPES: &str = "incoming-webhook,commands,chat:write,chat:write.public,chat:write.customize,users:read,users:read.email,usergroups:read,channels:read,groups:read,metadata.message:read";
fn redirect_uri(state: &AppState) -> String {
    format!("{}/api/slack/oauth/callback", state.config.base_url)
}

/// Slack's consent screen for an admin's install, when Add to Slack is configured and the plan has channels.
pub async fn install_url(
    state: &AppState,
    installer: &super::Installer,
) -> ServiceResult<(String, super::Attempt)> {
    let org_id = installer.org_id.as_str();
    let Some(client_id) = &state.config.slack.client_id else {
        return Err(ServiceError::NotConfigured(
            "slack.client_id and slack.client_secret must be configured for Add to Slack".into(),
        ));
    };
    let plan = state.plan_of(org_id).await?;
    if plan.channel_limit() == Some(0) {
        return Err(ServiceError::PlanLimit(format!(
            "the {plan} plan does not include Slack channels"
        )));
    }
    let attempt = super::install_guard::begin(state, installer).await?;
    let url = url::Url::parse_with_params(
        &state.config.slack.oauth_authorize_url,
        &[
            ("client_id", client_id.as_str()),
            ("scope", SCOPES),
            ("state", &attempt.state),
            ("redirect_uri", &redirect_uri(state)),
        ],
    )
    .map_err(|e| ServiceError::Internal(anyhow::anyhow!("slack.oauth_authorize_url: {e}")))?;
    Ok((url.into(), attempt))
}

/// Exchanges the code and creates the channel with the webhook, its channel name and the bot token; maps the
/// workspace to the organization. Returns the channel's name (`#security-alerts`).
pub async fn finish_install(state: &AppState, org_id: &str, code: &str) -> ServiceResult<String> {
    let (Some(client_id), Some(secret)) = (
        &state.config.slack.client_id,
        &state.config.slack.client_secret,
    ) else {
        return Err(ServiceError::NotConfigured(
            "slack.client_id and slack.client_secret must be configured".into(),
        ));
    };
    let v = state
        .webapi
        .oauth_access(client_id, secret, code, &redirect_uri(state))
        .await
        .map_err(|e| ServiceError::Upstream(format!("Slack refused the installation: {e}")))?;
    let hook = &v["incoming_webhook"];
    let channel_name = hook["channel"]
        .as_str()
        .unwrap_or("#security-alerts")
        .to_string();
    let mut body = json!({
        "name": format!("Slack {channel_name}"),
        "type": "slack",
        "webhook_url": hook["url"],
        "channel": channel_name,
    });
    if let (Some(token), Some(cid)) = (v["access_token"].as_str(), hook["channel_id"].as_str()) {
        body["bot_token"] = json!(token);
        body["channel_id"] = json!(cid);
    }
    let team = v["team"]["id"].as_str();
    let plan = state.plan_of(org_id).await?;
    let input = parse_input(state, &body, None, plan)?;
    let claimed = match team {
        Some(t) => super::install_guard::claim_team(state, org_id, t).await?,
        None => false,
    };
    if let Err(e) = save(state, org_id, "slack:oauth", input, None).await {
        if let (true, Some(t)) = (claimed, team) {
            state.store.release_slack_team(org_id, t).await?;
        }
        return Err(e);
    }
    if let (Some(team), Some(token)) = (team, v["access_token"].as_str()) {
        // The organization's install: channels without a bot token of their own (plain webhooks) resolve mention
        // names with it, and Slack users are checked with it. Encrypted like channel bot tokens; never shown.
        let enc = state.secrets.encrypt(token);
        state
            .store
            .save_org_install(org_id, team, &enc, state.clock.now_ms())
            .await?;
    }
    Ok(channel_name)
}

#[cfg(test)]
mod tests {
    /// The manifest's `oauth_config.scopes.bot` list, read line by line.
    fn manifest_scopes() -> Vec<String> {
        let manifest = include_str!("../../../../../slack-app-manifest.yaml");
        let mut in_bot = false;
        let mut out = Vec::new();
        for line in manifest.lines() {
            let t = line.trim();
            if t == "bot:" {
                in_bot = true;
            } else if in_bot {
                match t.strip_prefix("- ") {
                    Some(scope) => out.push(scope.trim().to_string()),
                    None => break,
                }
            }
        }
        out
    }

    #[test]
    fn add_to_slack_asks_for_exactly_the_manifest_scopes() {
        let asked: Vec<String> = super::SCOPES.split(',').map(str::to_string).collect();
        assert_eq!(asked, manifest_scopes());
    }
}
