//! The caller's organization (plan, limits, usage, Slack settings) and its audit log.

use super::JsonBody;
use crate::http::auth::{Caller, Scope};
use crate::http::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use fence_core::time::fmt_ts;
use fence_core::{FieldError, FieldErrors};
use serde_json::{json, Value};

async fn org_json(state: &AppState, org_id: &str) -> ApiResult<Value> {
    let org = state.store.org(org_id).await?;
    let plan = org.plan();
    let channels = state.store.count_channels(org_id).await?;
    let findings = state.store.count_findings(org_id).await?;
    Ok(json!({
        "id": org.id,
        "name": org.name,
        "plan": plan.as_str(),
        "limits": {
            "channels": plan.channel_limit(),
            "slash_commands": plan.has_enterprise_features(),
            "custom_payloads": plan.has_enterprise_features(),
            "run_scan_buttons": plan.has_enterprise_features(),
            "white_label_identity": plan.has_identity(),
        },
        "usage": {"channels": channels, "findings": findings},
        "notice": plan.channel_limit().filter(|l| channels > i64::from(*l)).map(|l| format!(
            "This organization has {channels} channels, above the {plan} plan's {l}: they keep working, but no channel can be added until it is within the limit or on a larger plan."
        )),
        "slack_team_id": org.slack_team_id,
        "triage_allow": org.triage_allow,
    }))
}

pub async fn get_org(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read)?;
    Ok(Json(org_json(&state, &caller.org_id).await?))
}

pub async fn patch_org(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body, _memory): JsonBody,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Admin)?;
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::malformed("the body must be a JSON object"))?;
    let org = state.store.org(&caller.org_id).await?;
    let mut errs = FieldErrors::default();
    let mut team = org.slack_team_id.clone();
    let mut allow = org.triage_allow.clone();
    for (k, v) in obj {
        match k.as_str() {
            "slack_team_id" => match v {
                Value::Null => team = None,
                Value::String(s) if s.starts_with('T') && s.len() <= 20 && s.chars().all(|c| c.is_ascii_alphanumeric()) => team = Some(s.clone()),
                _ => errs.push(FieldError::new("slack_team_id", "must be a Slack team id such as T0123456789, or null")),
            },
            "triage_allow" => match v.as_array() {
                Some(items) if items.len() > fence_core::MAX_LIST_ITEMS => {
                    if let Some(e) = fence_core::too_many_items("triage_allow", items.len()) {
                        errs.push(e);
                    }
                }
                Some(items) => {
                    allow = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        match item.as_str() {
                            Some(s) if (s.starts_with(['U', 'W', 'S'])) && s.len() <= 20 && s.chars().all(|c| c.is_ascii_alphanumeric()) => allow.push(s.to_string()),
                            _ => errs.push(FieldError::new(format!("triage_allow[{i}]"), "must be a Slack user (U…) or user group (S…) id")),
                        }
                    }
                }
                None => errs.push(FieldError::new("triage_allow", "must be a list of Slack user or user group ids")),
            },
            other => errs.push(FieldError::new(other, "unknown or read-only field; only slack_team_id and triage_allow can be changed here")),
        }
    }
    if !errs.is_empty() {
        return Err(errs.into());
    }
    crate::services::org::update_slack(
        &state,
        &caller.org_id,
        &caller.actor(),
        team.as_deref(),
        &allow,
    )
    .await?;
    Ok(Json(org_json(&state, &caller.org_id).await?))
}

pub async fn audit(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read)?;
    let entries = state.store.list_audit(&caller.org_id, 200).await?;
    let items: Vec<Value> = entries
        .iter()
        .map(|e| json!({"id": e.id, "actor": e.actor, "action": e.action, "target": e.target, "detail": e.detail, "created_at": fmt_ts(e.created_at)}))
        .collect();
    Ok(Json(json!({"audit": items, "next_cursor": null})))
}
