//! Channels: create, change, delete, test and preview a channel — from the API, the web form or "Add to Slack" —
//! with the plan's limits, secrets encrypted at rest, mention names resolved, and an audit entry for each change.

mod input;
mod install;
mod install_guard;
mod rules;
mod test;
mod view;

pub use input::{parse_input, ChannelInput};
pub use install::{finish_install, install_url, SCOPES};
pub use install_guard::{redeem as redeem_install, Attempt, Installer, Refusal as InstallRefusal};
pub use rules::{check_plan, received_types};
pub use test::{record_test, send_test, summary, TestResult};
pub use view::{channel_json, preview_message, warnings, IDENTITY_IGNORED};

use crate::services::{directory, ServiceError, ServiceResult};
use crate::state::AppState;
use fence_core::{ChannelKind, ChannelState, FieldError, FieldErrors, Secret};
use fence_slack::WebhookUrl;
use fence_store::channels::ChannelRow;
use serde_json::{json, Map, Value};

/// A stored channel with its secrets opened: what a patch applies to.
#[derive(Debug)]
pub struct Existing {
    pub row: ChannelRow,
    pub url: WebhookUrl,
    pub token: Option<Secret<String>>,
}

/// A channel of the organization, or `NotFound("channel")`.
pub async fn load(state: &AppState, org_id: &str, id: &str) -> ServiceResult<ChannelRow> {
    state
        .store
        .channel(org_id, id)
        .await
        .map_err(ServiceError::not_found_as("channel"))
}

/// Opens a stored channel's secrets.
pub fn open(state: &AppState, row: ChannelRow) -> ServiceResult<Existing> {
    let url = WebhookUrl::from_trusted(
        state
            .secrets
            .decrypt(&row.webhook_url_enc)?
            .expose()
            .clone(),
    );
    let token = row
        .bot_token_enc
        .as_deref()
        .map(|t| state.secrets.decrypt(t))
        .transpose()?;
    Ok(Existing { row, url, token })
}

/// Parses a channel object (a patch of `existing` when given) and resolves its mention names: what a save or a
/// test takes. What the organization's plan does not include is refused before anything of it runs.
pub async fn prepare(
    state: &AppState,
    org_id: &str,
    body: &Value,
    existing: Option<&Existing>,
) -> ServiceResult<ChannelInput> {
    let plan = state.plan_of(org_id).await?;
    let mut input = parse_input(state, body, existing, plan)?;
    check_plan(plan, &input, false, 0)?;
    resolve_mentions(state, org_id, &mut input).await?;
    Ok(input)
}

/// Stores a prepared channel — new, or replacing `existing` — once the plan allows it, with its audit entry. Wakes
/// the dispatcher: a fixed channel releases what it held.
pub async fn save(
    state: &AppState,
    org_id: &str,
    actor: &str,
    input: ChannelInput,
    existing: Option<&ChannelRow>,
) -> ServiceResult<ChannelRow> {
    let plan = state.plan_of(org_id).await?;
    let count = match existing {
        Some(_) => 0,
        None => state.store.count_channels(org_id).await?,
    };
    check_plan(plan, &input, existing.is_none(), count)?;
    let now = state.clock.now_ms();
    let id = existing.map_or_else(fence_store::new_id, |e| e.id.clone());
    let row = input.into_row(state, id, org_id.to_string(), existing, now);
    let action = match existing {
        Some(_) => {
            state.store.update_channel(&row).await?;
            "channel.update"
        }
        None => {
            state.store.insert_channel(&row).await?;
            "channel.create"
        }
    };
    state
        .store
        .audit(org_id, actor, action, Some(&row.id), Some(&row.name), now)
        .await?;
    state.wake.notify_one();
    Ok(row)
}

/// Creates a channel from a channel object.
pub async fn create(
    state: &AppState,
    org_id: &str,
    actor: &str,
    body: &Value,
) -> ServiceResult<ChannelRow> {
    let input = prepare(state, org_id, body, None).await?;
    save(state, org_id, actor, input, None).await
}

/// Applies a patch to a stored channel.
pub async fn update(
    state: &AppState,
    org_id: &str,
    actor: &str,
    id: &str,
    body: &Value,
) -> ServiceResult<ChannelRow> {
    let existing = open(state, load(state, org_id, id).await?)?;
    let input = prepare(state, org_id, body, Some(&existing)).await?;
    save(state, org_id, actor, input, Some(&existing.row)).await
}

/// Deletes a channel and what it still owed.
pub async fn delete(state: &AppState, org_id: &str, actor: &str, id: &str) -> ServiceResult<()> {
    let row = load(state, org_id, id).await?;
    state.store.delete_channel(org_id, id).await?;
    state
        .store
        .audit(
            org_id,
            actor,
            "channel.delete",
            Some(id),
            Some(&row.name),
            state.clock.now_ms(),
        )
        .await?;
    Ok(())
}

/// Tests a saved channel through its destination, and records what the answer says of its health.
pub async fn test_saved(state: &AppState, org_id: &str, id: &str) -> ServiceResult<TestResult> {
    let Existing { row, url, token } = open(state, load(state, org_id, id).await?)?;
    let config = row.rules()?;
    let bot = token.as_ref().zip(row.slack_channel_id.as_deref());
    let result = send_test(state, row.kind, &url, &config, bot).await;
    record_test(state, &row.id, &result).await?;
    Ok(result)
}

/// Tests a channel object that is not saved (it needs no name), within the organization's plan.
pub async fn test_unsaved(
    state: &AppState,
    org_id: &str,
    body: &Value,
) -> ServiceResult<TestResult> {
    let mut body = body.clone();
    if let Some(o) = body.as_object_mut() {
        o.entry("name").or_insert_with(|| json!("Unsaved channel"));
    }
    let plan = state.plan_of(org_id).await?;
    let input = parse_input(state, &body, None, plan)?;
    check_plan(plan, &input, false, 0)?;
    Ok(test_input(state, &input, None).await)
}

/// Tests a prepared channel (the form's Test Integration). When it is a saved channel with its saved destination,
/// the answer is recorded as a saved test's is.
pub async fn test_input(
    state: &AppState,
    input: &ChannelInput,
    existing: Option<&ChannelRow>,
) -> TestResult {
    let bot = input.bot_token.as_ref().zip(input.channel_id.as_deref());
    let result = send_test(state, input.kind, &input.webhook_url, &input.config, bot).await;
    if let (Some(row), false) = (existing, input.url_changed) {
        if let Err(e) = record_test(state, &row.id, &result).await {
            tracing::warn!(error = %e, "cannot record a test's answer");
        }
    }
    result
}

/// Resolves mention names (`@security-team`, `@alice`, `#security-alerts`, `alice@example.com`) in the cached
/// directory of the channel's workspace — through its bot token, else the organization's Slack install — recording
/// the ids in `resolved_mentions` and what each is in `resolved_labels`. A name that does not resolve, or matches
/// several entries, is a 422 naming its field; a list Slack refused fails only the names that need it.
pub async fn resolve_mentions(
    state: &AppState,
    org_id: &str,
    input: &mut ChannelInput,
) -> ServiceResult<()> {
    let names = input.config.mention_names();
    if names.is_empty() || input.kind != ChannelKind::Slack {
        return Ok(());
    }
    let target = directory::target_for(
        state,
        org_id,
        input.bot_token.as_ref(),
        input.webhook_url.expose(),
    )
    .await?;
    let target = match target {
        Ok(t) => t,
        Err(why) => {
            let mut errs = FieldErrors::default();
            for (field, n) in names {
                errs.push(FieldError::new(field, format!("{n:?} is a name, and {why}; or use the id form (<@U…> for a user, <!subteam^S…> for a user group, <#C…> for a channel)")));
            }
            return Err(errs.into());
        }
    };
    let ws = directory::ready(state, &target).await?;
    let mut resolved = Map::new();
    let mut labels = Map::new();
    let mut errs = FieldErrors::default();
    for (field, name) in names {
        match directory::resolve(state, &ws, &target.token, &name).await? {
            Ok(r) => {
                resolved.insert(name.clone(), json!(r.mention));
                labels.insert(name, json!(r.label));
            }
            Err(message) => errs.push(FieldError::new(field, message)),
        }
    }
    if !errs.is_empty() {
        return Err(errs.into());
    }
    input.config_json["resolved_mentions"] = Value::Object(resolved.clone());
    input.config_json["resolved_labels"] = Value::Object(labels);
    input.config.resolved_mentions = resolved
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.as_str()?.to_string())))
        .collect();
    Ok(())
}

impl ChannelInput {
    /// The row to store: secrets encrypted, destination keyed by a hash of the URL.
    pub fn into_row(
        self,
        state: &AppState,
        id: String,
        org_id: String,
        previous: Option<&ChannelRow>,
        now: i64,
    ) -> ChannelRow {
        let (status_state, error, hint, since) = match previous {
            Some(p) if !self.url_changed => (
                p.state,
                p.status_error.clone(),
                p.status_hint.clone(),
                p.status_since,
            ),
            _ => (ChannelState::Unverified, None, None, Some(now)),
        };
        ChannelRow {
            id,
            org_id,
            name: self.name,
            kind: self.kind,
            webhook_url_enc: state.secrets.encrypt(self.webhook_url.expose()),
            webhook_hint: self.webhook_url.hint(),
            destination: match (&self.bot_token, &self.channel_id) {
                // Bot messages are paced per Slack channel (chat.postMessage's limit).
                (Some(_), Some(c)) => state.secrets.destination_key(&format!("slack-channel:{c}")),
                _ => state.secrets.destination_key(self.webhook_url.expose()),
            },
            bot_token_enc: self
                .bot_token
                .as_ref()
                .map(|t| state.secrets.encrypt(t.expose())),
            slack_channel_id: self.channel_id,
            channel: self.channel,
            config: self.config_json.to_string(),
            state: status_state,
            status_error: error,
            status_hint: hint,
            status_since: since,
            template_warning: previous.and_then(|p| p.template_warning.clone()),
            created_at: previous.map(|p| p.created_at).unwrap_or(now),
            updated_at: now,
        }
    }
}
