//! Channels API: create, list, get, update, delete, and test (saved or not yet saved).

use super::JsonBody;
use crate::app::AppState;
use crate::auth::{Caller, Scope};
use crate::channels::{channel_json, check_plan, parse_input, resolve_mentions, send_test};
use crate::error::{ApiError, ApiResult};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use fence_slack::WebhookUrl;
use fence_store::channels::ChannelRow;
use serde_json::{json, Value};

async fn load(state: &AppState, org_id: &str, id: &str) -> ApiResult<ChannelRow> {
    state.store.channel(org_id, id).await.map_err(|e| match e {
        fence_store::StoreError::NotFound => ApiError::not_found("channel"),
        other => other.into(),
    })
}

fn webhook_of(state: &AppState, row: &ChannelRow) -> ApiResult<WebhookUrl> {
    Ok(WebhookUrl::from_trusted(
        state
            .secrets
            .decrypt(&row.webhook_url_enc)?
            .expose()
            .clone(),
    ))
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
    Ok(Json(channel_json(
        &load(&state, &caller.org_id, &id).await?,
    )))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Scope::Admin)?;
    let mut input = parse_input(&state, &body, None)?;
    resolve_mentions(&state, &mut input).await?;
    let plan = state.plan_of(&caller.org_id).await?;
    check_plan(
        plan,
        &input,
        true,
        state.store.count_channels(&caller.org_id).await?,
    )?;
    let now = state.clock.now_ms();
    let row = input.into_row(
        &state,
        fence_store::new_id(),
        caller.org_id.clone(),
        None,
        now,
    );
    state.store.insert_channel(&row).await?;
    state
        .store
        .audit(
            &caller.org_id,
            &caller.actor(),
            "channel.create",
            Some(&row.id),
            Some(&row.name),
            now,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(channel_json(&row))))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Admin)?;
    let existing = load(&state, &caller.org_id, &id).await?;
    let url = webhook_of(&state, &existing)?;
    let token = existing
        .bot_token_enc
        .as_deref()
        .map(|t| state.secrets.decrypt(t))
        .transpose()?;
    let mut input = parse_input(&state, &body, Some((&existing, url, token)))?;
    resolve_mentions(&state, &mut input).await?;
    let plan = state.plan_of(&caller.org_id).await?;
    check_plan(plan, &input, false, 0)?;
    let now = state.clock.now_ms();
    let row = input.into_row(
        &state,
        existing.id.clone(),
        caller.org_id.clone(),
        Some(&existing),
        now,
    );
    state.store.update_channel(&row).await?;
    state
        .store
        .audit(
            &caller.org_id,
            &caller.actor(),
            "channel.update",
            Some(&row.id),
            Some(&row.name),
            now,
        )
        .await?;
    // A fixed channel (new URL) releases what it held.
    state.wake.notify_one();
    Ok(Json(channel_json(&row)))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Scope::Admin)?;
    let row = load(&state, &caller.org_id, &id).await?;
    state.store.delete_channel(&caller.org_id, &id).await?;
    state
        .store
        .audit(
            &caller.org_id,
            &caller.actor(),
            "channel.delete",
            Some(&id),
            Some(&row.name),
            state.clock.now_ms(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn test_saved(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Admin)?;
    let row = load(&state, &caller.org_id, &id).await?;
    let url = webhook_of(&state, &row)?;
    let kind = row.kind()?;
    let config = row.rules()?;
    let token = row
        .bot_token_enc
        .as_deref()
        .map(|t| state.secrets.decrypt(t))
        .transpose()?;
    let bot = token.as_ref().zip(row.slack_channel_id.as_deref());
    let result = send_test(&state, kind, &url, &config, bot).await;
    crate::channels::record_test(&state, &row.id, &result).await?;
    Ok(Json(result.json()))
}

pub async fn test_unsaved(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Admin)?;
    let mut body = body;
    if let Some(o) = body.as_object_mut() {
        o.entry("name").or_insert_with(|| json!("Unsaved channel"));
    }
    let input = parse_input(&state, &body, None)?;
    let bot = input.bot_token.as_ref().zip(input.channel_id.as_deref());
    let result = send_test(&state, input.kind, &input.webhook_url, &input.config, bot).await;
    Ok(Json(result.json()))
}
