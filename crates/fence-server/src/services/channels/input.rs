//! The channel object — as the API takes it, the web form builds it and "Add to Slack" installs it — parsed into a
//! validated [`ChannelInput`]: name, type, destination (webhook, bot token, Slack channel), rules, mention names,
//! template and identity. With a stored channel the object is a patch: absent fields keep their stored values.

use super::rules::{stored_rules, validate_identity, validate_template, RULE_KEYS};
use super::Existing;
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use fence_core::{ChannelConfig, ChannelKind, FieldError, FieldErrors, Secret};
use fence_slack::{WebhookHosts, WebhookUrl};
use fence_store::channels::ChannelRow;
use serde_json::{json, Map, Value};

const WRITABLE: [&str; 6] = [
    "name",
    "type",
    "webhook_url",
    "bot_token",
    "channel_id",
    "channel",
];
const READ_ONLY: [&str; 8] = [
    "id",
    "status",
    "webhook_url_hint",
    "has_bot_token",
    "created_at",
    "updated_at",
    "resolved_mentions",
    "resolved_labels",
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
    /// Whether the destination is new (a new webhook, bot token or Slack channel: health starts over).
    pub url_changed: bool,
}

/// Collects field errors in the order they are found; the first is the one reported.
#[derive(Default)]
struct Errors(FieldErrors);

impl Errors {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }
    fn has(&self, field: &str) -> bool {
        self.0 .0.iter().any(|e| e.field == field)
    }
}

/// Parses a channel object; with `existing`, a patch of that stored channel.
pub fn parse_input(
    state: &AppState,
    body: &Value,
    existing: Option<&Existing>,
    plan: fence_core::Plan,
) -> ServiceResult<ChannelInput> {
    let Some(patch) = body.as_object() else {
        return Err(ServiceError::Malformed(
            "the body must be a JSON object".into(),
        ));
    };
    let mut errs = Errors::default();
    for k in patch.keys() {
        let k = k.as_str();
        if !RULE_KEYS.contains(&k) && !WRITABLE.contains(&k) && !READ_ONLY.contains(&k) {
            errs.push(k, "unknown field");
        }
    }
    let obj = merged(patch, existing.map(|e| &e.row));
    let name = opt_string(&obj, "name", 100, &mut errs);
    if name.is_none() && !errs.has("name") {
        errs.push("name", "is required");
    }
    let kind = parse_kind(&obj, existing.map(|e| &e.row), &mut errs);
    let new_url = parse_webhook_url(patch, kind, &state.webhook_hosts, &mut errs);
    let bot_token = parse_bot_token(patch, kind, existing, &mut errs);
    let channel_id = parse_channel_id(&obj, &mut errs);
    let channel = opt_string(&obj, "channel", 100, &mut errs);
    let config = parse_rules(&obj, kind, &mut errs);
    if kind == ChannelKind::Slack
        && bot_token.is_some()
        && channel_id.is_none()
        && !errs.has("channel_id")
    {
        errs.push(
            "channel_id",
            "is required with bot_token: the Slack channel id (C…) Fence posts to",
        );
    }
    let webhook_url = new_url.or_else(|| existing.map(|e| e.url.clone()));
    if webhook_url.is_none() && !errs.has("webhook_url") {
        errs.push("webhook_url", "is required");
    }
    if let Some(c) = &config {
        check_template_and_identity(c, &state.config.base_url, plan, &mut errs);
    }
    if !errs.0.is_empty() {
        return Err(errs.0.into());
    }
    let (Some(name), Some(webhook_url), Some(config)) = (name, webhook_url, config) else {
        return Err(ServiceError::invalid("", "invalid channel"));
    };
    let url_changed = existing.is_none_or(|e| {
        e.url.expose() != webhook_url.expose()
            || e.token.as_ref().map(|t| t.expose()) != bot_token.as_ref().map(|t| t.expose())
            || e.row.slack_channel_id != channel_id
    });
    let config_json = stored_rules(&obj, &config);
    Ok(ChannelInput {
        name,
        kind,
        webhook_url,
        bot_token,
        channel_id,
        channel,
        config,
        config_json,
        url_changed,
    })
}

/// The object to validate: the stored channel's fields overlaid with the patch (read-only fields ignored).
fn merged(patch: &Map<String, Value>, row: Option<&ChannelRow>) -> Map<String, Value> {
    let mut obj: Map<String, Value> = Map::new();
    if let Some(row) = row {
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
    obj
}

fn opt_string(
    obj: &Map<String, Value>,
    key: &str,
    max: usize,
    errs: &mut Errors,
) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) if s.chars().count() <= max => Some(s.trim().to_string()),
        Some(Value::String(_)) => {
            errs.push(key, format!("must be at most {max} characters"));
            None
        }
        Some(_) => {
            errs.push(key, "must be a string");
            None
        }
    }
}

fn parse_kind(
    obj: &Map<String, Value>,
    row: Option<&ChannelRow>,
    errs: &mut Errors,
) -> ChannelKind {
    let kind = match obj.get("type") {
        None | Some(Value::Null) => ChannelKind::Slack,
        Some(Value::String(s)) => ChannelKind::parse(s).unwrap_or_else(|e| {
            errs.push("type", e);
            ChannelKind::Slack
        }),
        Some(_) => {
            errs.push("type", "must be a string");
            ChannelKind::Slack
        }
    };
    if row.is_some_and(|r| r.kind != kind) {
        errs.push("type", "cannot be changed; create a new channel instead");
    }
    kind
}

fn parse_webhook_url(
    patch: &Map<String, Value>,
    kind: ChannelKind,
    hosts: &WebhookHosts,
    errs: &mut Errors,
) -> Option<WebhookUrl> {
    match patch.get("webhook_url") {
        None => None,
        // Every channel needs its webhook (SPEC §4): null neither removes it nor means "unchanged".
        Some(Value::Null) => {
            errs.push(
                "webhook_url",
                "must be a string (every channel needs its webhook URL)",
            );
            None
        }
        Some(Value::String(s)) => match WebhookUrl::parse(s, kind, hosts) {
            Ok(u) => Some(u),
            Err(e) => {
                errs.push("webhook_url", e);
                None
            }
        },
        Some(_) => {
            errs.push("webhook_url", "must be a string");
            None
        }
    }
}

fn parse_bot_token(
    patch: &Map<String, Value>,
    kind: ChannelKind,
    existing: Option<&Existing>,
    errs: &mut Errors,
) -> Option<Secret<String>> {
    let token = match patch.get("bot_token") {
        None => existing.and_then(|e| e.token.clone()),
        Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s))
            if s.starts_with("xoxb-") && s.len() <= 255 && !s.contains(char::is_whitespace) =>
        {
            Some(Secret::new(s.clone()))
        }
        Some(_) => {
            errs.push("bot_token", "must be a Slack bot token (xoxb-…)");
            None
        }
    };
    if kind == ChannelKind::Mattermost && token.is_some() {
        errs.push(
            "bot_token",
            "Mattermost channels use an incoming webhook only",
        );
    }
    token
}

fn parse_channel_id(obj: &Map<String, Value>, errs: &mut Errors) -> Option<String> {
    let id = opt_string(obj, "channel_id", 30, errs);
    if let Some(c) = &id {
        let well_formed = c.starts_with(['C', 'G'])
            && c.chars()
                .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit());
        if !well_formed {
            errs.push(
                "channel_id",
                "must be a Slack channel id such as C0123456789",
            );
        }
    }
    id
}

/// The channel's rules; on Mattermost, `#channel` names are refused, since only `@name` is meaningful there and
/// Fence has no directory to resolve them in (Slack names are resolved by `resolve_mentions`).
fn parse_rules(
    obj: &Map<String, Value>,
    kind: ChannelKind,
    errs: &mut Errors,
) -> Option<ChannelConfig> {
    let config = match ChannelConfig::from_json(obj, kind) {
        Ok(c) => c,
        Err(e) => {
            errs.0 .0.extend(e.0);
            return None;
        }
    };
    if kind == ChannelKind::Mattermost {
        for (field, n) in config.mention_names() {
            if n.starts_with('@') {
                continue;
            }
            errs.push(
                field,
                format!("{n:?} is a name Mattermost cannot mention; use @name"),
            );
        }
    }
    Some(config)
}

/// Validates the template by rendering it — only on plans that have templates, so a plan without them is refused
/// (by `check_plan`) before any template runs.
fn check_template_and_identity(
    c: &ChannelConfig,
    base_url: &str,
    plan: fence_core::Plan,
    errs: &mut Errors,
) {
    if let Some(source) = c
        .template
        .as_ref()
        .filter(|_| plan.has_enterprise_features())
    {
        if let Err(e) = validate_template(source, c, base_url) {
            errs.push("template", e);
        }
    }
    if let Some(Value::Object(id)) = &c.identity {
        validate_identity(id, &mut errs.0);
    }
}
