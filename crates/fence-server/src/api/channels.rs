//! Channels API: create, list, get, update, delete, and test (saved or not yet saved).

use super::JsonBody;
use crate::http::auth::{Caller, Scope};
use crate::http::error::ApiResult;
use crate::services::channels::{self, channel_json, TestResult};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

/// The answer of `…/test`: `{"ok": true}`, or Slack's error with the hint that fixes it.
fn test_json(r: &TestResult) -> Value {
    if r.ok {
        json!({"ok": true})
    } else {
        json!({"ok": false, "error": r.error, "hint": r.hint})
    }
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read)?;
    let rows = state.store.list_channels(&caller.org_id).await?;
    Ok(Json(
        json!({"channels": rows.iter().map(channel_json).collect::<Vec<_>>(), "next_cursor": null}),
    ))
}

pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read)?;
    let row = channels::load(&state, &caller.org_id, &id).await?;
    Ok(Json(channel_json(&row)))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body, _memory): JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Scope::Admin)?;
    let row = channels::create(&state, &caller.org_id, &caller.actor(), &body).await?;
    Ok((StatusCode::CREATED, Json(channel_json(&row))))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body, _memory): JsonBody,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Admin)?;
    let row = channels::update(&state, &caller.org_id, &caller.actor(), &id, &body).await?;
    Ok(Json(channel_json(&row)))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Scope::Admin)?;
    channels::delete(&state, &caller.org_id, &caller.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn test_saved(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Admin)?;
    let result = channels::test_saved(&state, &caller.org_id, &id).await?;
    Ok(Json(test_json(&result)))
}

pub async fn test_unsaved(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body, _memory): JsonBody,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Admin)?;
    let result = channels::test_unsaved(&state, &caller.org_id, &body).await?;
    Ok(Json(test_json(&result)))
}
