//! What a channel looks like from outside: its stored object without secrets (a hint instead of the URL, and its
//! health), and how an alert will look in it.

use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use fence_core::time::fmt_ts;
use fence_store::channels::ChannelRow;
use serde_json::{json, Map, Value};

/// The API's view of a channel: no secrets, a hint instead of the URL, and its health.
pub fn channel_json(row: &ChannelRow) -> Value {
    let mut out = match serde_json::from_str::<Value>(&row.config) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let warnings = warnings(row);
    out.insert("id".into(), json!(row.id));
    out.insert("name".into(), json!(row.name));
    out.insert("type".into(), json!(row.kind));
    out.insert("channel".into(), json!(row.channel));
    out.insert("channel_id".into(), json!(row.slack_channel_id));
    out.insert("webhook_url_hint".into(), json!(row.webhook_hint));
    out.insert("has_bot_token".into(), json!(row.bot_token_enc.is_some()));
    out.insert(
        "status".into(),
        json!({"state": row.state, "error": row.status_error, "hint": row.status_hint, "since": row.status_since.map(fmt_ts), "warning": warnings.first(), "warnings": warnings}),
    );
    out.insert("created_at".into(), json!(fmt_ts(row.created_at)));
    out.insert("updated_at".into(), json!(fmt_ts(row.updated_at)));
    Value::Object(out)
}

/// The warning a Slack webhook channel with a white-label identity carries: Slack ignores `username` and `icon_*`
/// on app webhooks (SLACK.md §1), so the identity shows only with a bot token that has `chat:write.customize`.
pub const IDENTITY_IGNORED: &str = "Slack ignores the white-label identity on incoming webhooks: messages show the app's name and icon. Add a bot token (with chat:write.customize) for the identity to show.";

/// What a channel's owner should know although it works: the identity Slack ignores here (from its settings, so
/// it comes and goes with them) and its template's last send-time failure.
pub fn warnings(row: &ChannelRow) -> Vec<String> {
    let mut out = Vec::new();
    let identity = serde_json::from_str::<Value>(&row.config)
        .ok()
        .and_then(|c| c.get("identity").cloned())
        .is_some_and(|i| i.as_object().is_some_and(|o| !o.is_empty()));
    if identity && row.kind == fence_core::ChannelKind::Slack && row.bot_token_enc.is_none() {
        out.push(IDENTITY_IGNORED.to_string());
    }
    // Rows written before the identity warning was computed kept it in the template's column.
    if let Some(w) = row
        .template_warning
        .as_deref()
        .filter(|w| *w != IDENTITY_IGNORED)
    {
        out.push(w.to_string());
    }
    out
}

/// How an alert will look in a channel: its custom template (when the plan has them) or Fence's rendering.
/// Returns the message and whether a template made it; a template that fails says why.
pub async fn preview_message(
    state: &AppState,
    row: &ChannelRow,
    alert: &fence_core::Alert,
) -> ServiceResult<(Value, bool)> {
    let config = row.rules()?;
    let kind = row.kind;
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
        let vars = match config.detail {
            fence_core::Detail::Minimal => fence_slack::template::minimal_variables(&vars),
            fence_core::Detail::Full => vars,
        };
        return fence_slack::template::render(source, &vars)
            .map(|m| (m, true))
            .map_err(|e| ServiceError::invalid("template", e.to_string()));
    }
    let mut ctx = state.render_context(&row.org_id, kind, config.format, plan);
    ctx.detail = config.detail;
    ctx.acknowledge = config.escalation.is_some();
    Ok((
        fence_slack::render::render(&ctx, std::slice::from_ref(alert), &mentions),
        false,
    ))
}
