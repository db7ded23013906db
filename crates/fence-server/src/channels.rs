//! Channel settings as the API sees them: parsing a channel object (create or patch), enforcing plan limits,
//! encrypting its secrets, rendering it back without them, and sending "✅ Test from Fence".

use crate::app::AppState;
use crate::error::ApiError;
use fence_core::{ChannelConfig, ChannelKind, FieldError, FieldErrors, Plan, Secret};
use fence_slack::{hint_for, SendOutcome, WebhookUrl};
use fence_store::channels::ChannelRow;
use serde_json::{json, Map, Value};

const RULE_KEYS: [&str; 8] = [
    "alert_types",
    "filters",
    "mentions",
    "digest",
    "reminders",
    "format",
    "template",
    "identity",
];
const WRITABLE: [&str; 6] = [
    "name",
    "type",
    "webhook_url",
    "bot_token",
    "channel_id",
    "channel",
];
const READ_ONLY: [&str; 7] = [
    "id",
    "status",
    "webhook_url_hint",
    "has_bot_token",
    "created_at",
    "updated_at",
    "resolved_mentions",
];

/// A validated channel object, secrets still in the clear (they are encrypted by [`ChannelInput::into_row`]).
#[derive(Debug)]
pub struct ChannelInput {
    pub name: String,
    pub kind: ChannelKind,
    pub webhook_url: WebhookUrl,
    pub bot_token: Option<Secret<String>>,
    pub channel_id: Option<String>,
    pub channel: Option<String>,
    pub config: ChannelConfig,
    /// The rule fields as stored and shown back.
    pub config_json: Value,
    /// Whether the webhook URL is new (a new destination: health starts over).
    pub url_changed: bool,
}

fn opt_string(
    obj: &Map<String, Value>,
    key: &str,
    max: usize,
    errs: &mut FieldErrors,
) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) if s.chars().count() <= max => Some(s.trim().to_string()),
        Some(Value::String(_)) => {
            errs.push(FieldError::new(
                key,
                format!("must be at most {max} characters"),
            ));
            None
        }
        Some(_) => {
            errs.push(FieldError::new(key, "must be a string"));
            None
        }
    }
}

/// Parses a channel object. With `existing`, the object is a patch: absent fields keep their stored values.
pub fn parse_input(
    state: &AppState,
    body: &Value,
    existing: Option<(&ChannelRow, WebhookUrl, Option<Secret<String>>)>,
) -> Result<ChannelInput, ApiError> {
    let Some(patch) = body.as_object() else {
        return Err(ApiError::malformed("the body must be a JSON object"));
    };
    let mut errs = FieldErrors::default();
    for k in patch.keys() {
        if !RULE_KEYS.contains(&k.as_str())
            && !WRITABLE.contains(&k.as_str())
            && !READ_ONLY.contains(&k.as_str())
        {
            errs.push(FieldError::new(k.clone(), "unknown field"));
        }
    }
    // Start from the stored object when patching.
    let mut obj: Map<String, Value> = Map::new();
    if let Some((row, _, _)) = &existing {
        if let Ok(Value::Object(stored)) = serde_json::from_str::<Value>(&row.config) {
            obj = stored;
        }
        obj.insert("name".into(), json!(row.name));
        obj.insert("type".into(), json!(row.kind));
        if let Some(c) = &row.channel {
            obj.insert("channel".into(), json!(c));
        }
        if let Some(c) = &row.slack_channel_id {
            obj.insert("channel_id".into(), json!(c));
        }
    }
    for (k, v) in patch {
        if !READ_ONLY.contains(&k.as_str()) {
            obj.insert(k.clone(), v.clone());
        }
    }

    let name = opt_string(&obj, "name", 100, &mut errs);
    if name.is_none() && !errs.0.iter().any(|e| e.field == "name") {
        errs.push(FieldError::new("name", "is required"));
    }
    let kind = match obj.get("type") {
        None | Some(Value::Null) => ChannelKind::Slack,
        Some(Value::String(s)) => ChannelKind::parse(s).unwrap_or_else(|e| {
            errs.push(FieldError::new("type", e));
            ChannelKind::Slack
        }),
        Some(_) => {
            errs.push(FieldError::new("type", "must be a string"));
            ChannelKind::Slack
        }
    };
    if let Some((row, _, _)) = &existing {
        if row.kind != kind.as_str() {
            errs.push(FieldError::new(
                "type",
                "cannot be changed; create a new channel instead",
            ));
        }
    }
    let new_url = match patch.get("webhook_url") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match WebhookUrl::parse(s, kind, &state.webhook_hosts) {
            Ok(u) => Some(u),
            Err(e) => {
                errs.push(FieldError::new("webhook_url", e));
                None
            }
        },
        Some(_) => {
            errs.push(FieldError::new("webhook_url", "must be a string"));
            None
        }
    };
    let bot_token = match patch.get("bot_token") {
        None => existing.as_ref().and_then(|(_, _, t)| t.clone()),
        Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s))
            if s.starts_with("xoxb-") && s.len() <= 255 && !s.contains(char::is_whitespace) =>
        {
            Some(Secret::new(s.clone()))
        }
        Some(_) => {
            errs.push(FieldError::new(
                "bot_token",
                "must be a Slack bot token (xoxb-…)",
            ));
            None
        }
    };
    if kind == ChannelKind::Mattermost && bot_token.is_some() {
        errs.push(FieldError::new(
            "bot_token",
            "Mattermost channels use an incoming webhook only",
        ));
    }
    let channel_id = opt_string(&obj, "channel_id", 30, &mut errs);
    if let Some(c) = &channel_id {
        if !(c.starts_with(['C', 'G'])
            && c.chars()
                .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit()))
        {
            errs.push(FieldError::new(
                "channel_id",
                "must be a Slack channel id such as C0123456789",
            ));
        }
    }
    let channel = opt_string(&obj, "channel", 100, &mut errs);

    let config = match ChannelConfig::from_json(&obj, kind) {
        Ok(c) => Some(c),
        Err(e) => {
            errs.0.extend(e.0);
            None
        }
    };
    if let Some(c) = &config {
        // Names need the Web API (a bot token); without one they cannot become ids, and Slack would show them as
        // inert text, so they are refused here.
        if bot_token.is_none() || kind == ChannelKind::Mattermost {
            for (field, n) in c.mention_names() {
                if kind == ChannelKind::Mattermost && n.starts_with('@') {
                    continue;
                }
                errs.push(FieldError::new(
                    field,
                    format!("{n:?} is a name, and without a bot token Fence cannot resolve it to a Slack id; add a bot token, or use the id form (<@U…> for a user, <!subteam^S…> for a user group, <#C…> for a channel)"),
                ));
            }
        }
    }
    if kind == ChannelKind::Slack
        && bot_token.is_some()
        && channel_id.is_none()
        && !errs.0.iter().any(|e| e.field == "channel_id")
    {
        errs.push(FieldError::new(
            "channel_id",
            "is required with bot_token: the Slack channel id (C…) Fence posts to",
        ));
    }
    let webhook_url = match (new_url, &existing) {
        (Some(u), _) => Some(u),
        (None, Some((_, u, _))) => Some(u.clone()),
        (None, None) => {
            if !errs.0.iter().any(|e| e.field == "webhook_url") {
                errs.push(FieldError::new("webhook_url", "is required"));
            }
            None
        }
    };
    if let Some(c) = &config {
        if let Some(source) = &c.template {
            if let Err(e) = validate_template(source, c, &state.config.base_url) {
                errs.push(FieldError::new("template", e));
            }
        }
        if let Some(Value::Object(id)) = &c.identity {
            validate_identity(id, &mut errs);
        }
    }
    if !errs.is_empty() {
        return Err(errs.into());
    }
    let (Some(name), Some(webhook_url), Some(config)) = (name, webhook_url, config) else {
        return Err(ApiError::invalid("", "invalid channel"));
    };
    // A new webhook, bot token or Slack channel is a new destination: its health starts over (a broken channel is
    // fixed by replacing what broke).
    let url_changed = existing.as_ref().is_none_or(|(row, old, old_token)| {
        old.expose() != webhook_url.expose()
            || old_token.as_ref().map(|t| t.expose()) != bot_token.as_ref().map(|t| t.expose())
            || row.slack_channel_id != channel_id
    });
    let mut config_json = Map::new();
    for k in RULE_KEYS {
        config_json.insert(k.to_string(), obj.get(k).cloned().unwrap_or(Value::Null));
    }
    config_json.insert(
        "alert_types".into(),
        json!(config
            .alert_types
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()),
    );
    config_json.insert(
        "format".into(),
        json!(match config.format {
            fence_core::MessageFormat::Blocks => "blocks",
            fence_core::MessageFormat::Attachments => "attachments",
        }),
    );
    for k in ["filters", "mentions"] {
        if config_json.get(k).is_some_and(Value::is_null) {
            config_json.insert(k.into(), json!({}));
        }
    }
    Ok(ChannelInput {
        name,
        kind,
        webhook_url,
        bot_token,
        channel_id,
        channel,
        config,
        config_json: Value::Object(config_json),
        url_changed,
    })
}

/// Resolves mention names (`@alice`, `@security-team`, `#security-alerts`) through the Web API with the channel's
/// bot token, recording the ids in `resolved_mentions`; a name that does not resolve is a 422 naming its field.
pub async fn resolve_mentions(state: &AppState, input: &mut ChannelInput) -> Result<(), ApiError> {
    let names = input.config.mention_names();
    let (Some(token), ChannelKind::Slack) = (&input.bot_token, input.kind) else {
        return Ok(());
    };
    if names.is_empty() {
        return Ok(());
    }
    let directory = state.directory(token).await.map_err(|e| {
        ApiError::invalid(names[0].0.clone(), format!("Slack refused to list the workspace's users and groups ({e}); check the bot token and its users:read and usergroups:read scopes"))
    })?;
    let mut resolved = Map::new();
    let mut errs = FieldErrors::default();
    for (field, name) in names {
        match directory.resolve(&name) {
            Some(id) => {
                resolved.insert(name, json!(id));
            }
            None => errs.push(FieldError::new(
                field,
                format!("{name:?} is not a user, user group or channel in this Slack workspace"),
            )),
        }
    }
    if !errs.is_empty() {
        return Err(errs.into());
    }
    input.config_json["resolved_mentions"] = Value::Object(resolved.clone());
    input.config.resolved_mentions = resolved
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.as_str()?.to_string())))
        .collect();
    Ok(())
}

/// Alert types a channel receives: its `alert_types`, plus reminders and digests when configured.
pub fn received_types(c: &ChannelConfig) -> Vec<fence_core::AlertType> {
    let mut types = c.alert_types.clone();
    if c.reminder_rules.is_some() && !types.contains(&fence_core::AlertType::Reminder) {
        types.push(fence_core::AlertType::Reminder);
    }
    if c.digest_schedule.is_some() && !types.contains(&fence_core::AlertType::Digest) {
        types.push(fence_core::AlertType::Digest);
    }
    types
}

/// Renders a template against sample data of every alert type the channel receives; the error names the type and line.
fn validate_template(source: &str, c: &ChannelConfig, base_url: &str) -> Result<(), String> {
    for t in received_types(c) {
        let alert = fence_slack::template::sample(t);
        let vars = fence_slack::template::variables(
            &alert,
            base_url,
            "",
            Some("Description."),
            Some("Remediation."),
        );
        fence_slack::template::render(source, &vars)
            .map_err(|e| format!("{} alerts: {e}", t.as_str()))?;
    }
    Ok(())
}

fn validate_identity(id: &Map<String, Value>, errs: &mut FieldErrors) {
    for (k, v) in id {
        let ok = match (k.as_str(), v.as_str()) {
            ("username", Some(u)) => !u.trim().is_empty() && u.chars().count() <= 80,
            ("icon_url", Some(u)) => {
                u.starts_with("https://") && u.len() <= 2000 && url::Url::parse(u).is_ok()
            }
            ("icon_emoji", Some(e)) => {
                e.len() <= 100 && e.starts_with(':') && e.ends_with(':') && e.len() > 2
            }
            _ => false,
        };
        if !ok {
            errs.push(FieldError::new(
                format!("identity.{k}"),
                "must be username (≤ 80 characters), icon_url (https URL) or icon_emoji (:name:)",
            ));
        }
    }
}

/// Refuses what the organization's plan does not include.
pub fn check_plan(
    plan: Plan,
    input: &ChannelInput,
    creating: bool,
    current_channels: i64,
) -> Result<(), ApiError> {
    if let (true, Some(limit)) = (creating, plan.channel_limit()) {
        if limit == 0 {
            return Err(ApiError::plan_limit(format!("the {plan} plan does not include Slack or Mattermost channels; upgrade to startup or above")));
        }
        if current_channels >= i64::from(limit) {
            return Err(ApiError::plan_limit(format!("the {plan} plan allows {limit} channels and this organization has {current_channels}")));
        }
    }
    if input.config.template.is_some() && !plan.has_enterprise_features() {
        return Err(ApiError::plan_limit(format!("custom payload templates need the enterprise or custom plan (this organization is on {plan})")));
    }
    if input.config.identity.is_some() && !plan.has_identity() {
        return Err(ApiError::plan_limit(format!(
            "a white-label identity needs the custom plan (this organization is on {plan})"
        )));
    }
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
                p.state.clone(),
                p.status_error.clone(),
                p.status_hint.clone(),
                p.status_since,
            ),
            _ => ("unverified".to_string(), None, None, Some(now)),
        };
        ChannelRow {
            id,
            org_id,
            name: self.name,
            kind: self.kind.as_str().into(),
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

/// How an alert will look in a channel: its custom template (when the plan has them) or Fence's rendering.
/// Returns the message and whether a template made it; a template that fails says why.
pub async fn preview_message(
    state: &AppState,
    row: &ChannelRow,
    alert: &fence_core::Alert,
) -> Result<(Value, bool), ApiError> {
    let config = row.rules()?;
    let kind = row.kind()?;
    let plan = state.plan_of(&row.org_id).await?;
    let mentions = config.mentions_for(alert);
    if let Some(source) = config
        .template
        .as_deref()
        .filter(|_| plan.has_enterprise_features())
    {
        let vars = fence_slack::template::variables(
            alert,
            &state.config.base_url,
            &fence_slack::render::render_mentions(kind, &mentions),
            Some("Description."),
            Some("Remediation."),
        );
        return fence_slack::template::render(source, &vars)
            .map(|m| (m, true))
            .map_err(|e| ApiError::invalid("template", e.to_string()));
    }
    let ctx = state.render_context(&row.org_id, kind, config.format, plan);
    Ok((
        fence_slack::render::render(&ctx, std::slice::from_ref(alert), &mentions),
        false,
    ))
}

/// RFC 3339 text for a millisecond timestamp.
pub fn fmt_ts(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// The API's view of a channel: no secrets, a hint instead of the URL, and its health.
pub fn channel_json(row: &ChannelRow) -> Value {
    let mut out = match serde_json::from_str::<Value>(&row.config) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    out.insert("id".into(), json!(row.id));
    out.insert("name".into(), json!(row.name));
    out.insert("type".into(), json!(row.kind));
    out.insert("channel".into(), json!(row.channel));
    out.insert("channel_id".into(), json!(row.slack_channel_id));
    out.insert("webhook_url_hint".into(), json!(row.webhook_hint));
    out.insert("has_bot_token".into(), json!(row.bot_token_enc.is_some()));
    out.insert(
        "status".into(),
        json!({"state": row.state, "error": row.status_error, "hint": row.status_hint, "since": row.status_since.map(fmt_ts), "warning": row.template_warning}),
    );
    out.insert("created_at".into(), json!(fmt_ts(row.created_at)));
    out.insert("updated_at".into(), json!(fmt_ts(row.updated_at)));
    Value::Object(out)
}

/// A one-paragraph summary of what a channel will receive, for the test message.
pub fn summary(config: &ChannelConfig) -> String {
    let types: Vec<&str> = config.alert_types.iter().map(|t| t.as_str()).collect();
    let mut parts = vec![format!(
        "This channel will receive: {}.",
        types.join(", ").replace('_', " ")
    )];
    let f = &config.filters;
    if !f.severities.is_empty() {
        parts.push(format!(
            "Severities: {}.",
            f.severities
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !f.domains.is_empty() {
        parts.push(format!("Domains: {}.", f.domains.join(", ")));
    }
    if !f.categories.is_empty() {
        parts.push(format!(
            "Types: {}.",
            f.categories
                .iter()
                .map(|c| c.display_name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    match &f.schedule {
        None => parts.push("Alerts are sent immediately (24/7).".into()),
        Some(s) => parts.push(format!(
            "Alerts are sent {}–{} ({}){}; others wait for the window.",
            s.start.strftime("%H:%M"),
            s.end.strftime("%H:%M"),
            s.timezone,
            if s.days.is_empty() {
                String::new()
            } else {
                format!(
                    " on {}",
                    s.days
                        .iter()
                        .map(|d| format!("{d:?}")[..3].to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )),
    }
    fence_slack::escape::escape(&parts.join(" "))
}

/// Records what a test of a saved channel showed: a success makes it healthy (releasing what it held), a
/// revoked-webhook answer makes it broken.
pub async fn record_test(
    state: &AppState,
    channel_id: &str,
    result: &TestResult,
) -> fence_store::Result<()> {
    let now = state.clock.now_ms();
    if result.ok {
        state
            .store
            .set_channel_health(channel_id, "healthy", None, None, now)
            .await?;
        state.wake.notify_one();
    } else if let Some(e) = &result.error {
        if matches!(
            fence_slack::classify(400, None, e),
            SendOutcome::ChannelBroken { .. }
        ) || e == "unexpected_redirect"
        {
            state
                .store
                .set_channel_health(channel_id, "broken", Some(e), result.hint.as_deref(), now)
                .await?;
        }
    }
    Ok(())
}

/// The answer of `…/test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    pub ok: bool,
    pub error: Option<String>,
    pub hint: Option<String>,
}

impl TestResult {
    pub fn json(&self) -> Value {
        if self.ok {
            json!({"ok": true})
        } else {
            json!({"ok": false, "error": self.error, "hint": self.hint})
        }
    }
}

/// Sends the test message through the destination's lane (waiting briefly for its send slot) and reports Slack's answer.
/// With `bot` (token, Slack channel id) the test goes through `chat.postMessage`, as the channel's alerts will.
pub async fn send_test(
    state: &AppState,
    kind: ChannelKind,
    url: &WebhookUrl,
    config: &ChannelConfig,
    bot: Option<(&Secret<String>, &str)>,
) -> TestResult {
    let destination = match bot {
        Some((_, c)) => state.secrets.destination_key(&format!("slack-channel:{c}")),
        None => state.secrets.destination_key(url.expose()),
    };
    let owner = format!("test:{}", fence_store::new_id());
    let mut claimed = false;
    for _ in 0..30 {
        let now = state.clock.now_ms();
        if let Ok(true) = state
            .store
            .claim_lane(&destination, &owner, now, 15_000)
            .await
        {
            claimed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    if !claimed {
        return TestResult {
            ok: false,
            error: Some("busy".into()),
            hint: Some("This channel is sending alerts right now (or waiting out Slack's Retry-After); Fence never sends faster than Slack allows. Try the test again in a few seconds.".into()),
        };
    }
    let started = state.clock.now_ms();
    let message = fence_slack::render::test_message(kind, &summary(config));
    let outcome = match bot {
        Some((token, channel)) => {
            state
                .webapi
                .post_message(token, channel, &message, None, false)
                .await
                .outcome
        }
        None => state.client.post(url, &message).await,
    };
    let next_slot = match &outcome {
        SendOutcome::RateLimited { retry_after } => started + retry_after.as_millis() as i64,
        _ => started + state.interval_ms,
    };
    if claimed {
        let _ = state
            .store
            .release_lane(&destination, &owner, next_slot)
            .await;
    }
    match outcome {
        SendOutcome::Delivered => TestResult {
            ok: true,
            error: None,
            hint: None,
        },
        SendOutcome::RateLimited { .. } => TestResult {
            ok: false,
            error: Some("rate_limited".into()),
            hint: Some(hint_for("rate_limited").into()),
        },
        SendOutcome::Retryable { error }
        | SendOutcome::ChannelBroken { error }
        | SendOutcome::PayloadRejected { error }
        | SendOutcome::Failed { error } => {
            let hint = hint_for(&error).to_string();
            TestResult {
                ok: false,
                error: Some(error),
                hint: Some(hint),
            }
        }
    }
}
