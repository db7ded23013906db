//! `POST /api/v1/silences`, `GET /api/v1/silences?active=true`, `GET`/`DELETE /api/v1/silences/{id}`: silences as
//! JSON. Creating and ending one takes the same scopes as triage (ingest or admin); reading takes read.

use super::{only_fields, JsonBody};
use crate::http::auth::{Caller, Scope};
use crate::http::error::{ApiError, ApiResult};
use crate::http::query::ApiQuery;
use crate::services::silences::{self, Expiry};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use fence_core::silence::Matchers;
use fence_core::time::fmt_ts;
use fence_store::silences::SilenceRow;
use serde::Deserialize;
use serde_json::{json, Value};

/// A silence as the API shows it; `active` says whether it still mutes at this moment.
pub fn silence_json(s: &SilenceRow, now: i64) -> Value {
    json!({
        "id": s.id,
        "matchers": s.matchers.to_json(),
        "reason": s.reason,
        "created_by": s.created_by,
        "created_at": fmt_ts(s.created_at),
        "expires_at": fmt_ts(s.expires_at),
        "active": s.active_at(now),
        "matched": s.matched,
    })
}

fn expiry(obj: &serde_json::Map<String, Value>) -> Result<Expiry, ApiError> {
    match (obj.get("expires_at"), obj.get("duration")) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "duration",
            "give either expires_at or duration, not both",
        )),
        (Some(v), None) => v
            .as_str()
            .and_then(|s| s.parse::<jiff::Timestamp>().ok())
            .map(|t| Expiry::At(t.as_millisecond()))
            .ok_or_else(|| {
                ApiError::invalid(
                    "expires_at",
                    "must be an RFC 3339 time such as 2026-01-31T00:00:00Z",
                )
            }),
        (None, Some(v)) => v
            .as_str()
            .ok_or_else(|| "must be a duration such as 30d or 12h".to_string())
            .and_then(fence_core::text::parse_duration)
            .map(Expiry::After)
            .map_err(|e| ApiError::invalid("duration", e)),
        (None, None) => Err(ApiError::invalid(
            "expires_at",
            "is required (or give duration, such as 30d)",
        )),
    }
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body, _memory): JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_any(&[Scope::Ingest, Scope::Admin])?;
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::malformed("the body must be a JSON object"))?;
    only_fields(obj, &["matchers", "expires_at", "duration", "reason"])?;
    let matchers = Matchers::parse(obj.get("matchers").unwrap_or(&Value::Null))?;
    let expiry = expiry(obj)?;
    let reason = match obj.get("reason") {
        None => "",
        Some(v) => v
            .as_str()
            .ok_or_else(|| ApiError::invalid("reason", "must be a string"))?,
    };
    let s = silences::create(
        &state,
        &caller.org_id,
        matchers,
        expiry,
        reason,
        &caller.actor(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(silence_json(&s, state.clock.now_ms())),
    ))
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    active: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read)?;
    let now = state.clock.now_ms();
    let active = match p.active.as_deref().map(str::trim) {
        None | Some("" | "false") => None,
        Some("true") => Some(now),
        Some(_) => return Err(ApiError::invalid("active", "must be true or false")),
    };
    let rows = state
        .store
        .list_silences(&caller.org_id, active, 500)
        .await?;
    Ok(Json(
        json!({"silences": rows.iter().map(|s| silence_json(s, now)).collect::<Vec<_>>()}),
    ))
}

pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read)?;
    let s = state
        .store
        .get_silence(&caller.org_id, &id)
        .await
        .map_err(|_| ApiError::not_found("silence"))?;
    Ok(Json(silence_json(&s, state.clock.now_ms())))
}

/// Ends the silence now (it stays listed, inactive).
pub async fn expire(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require_any(&[Scope::Ingest, Scope::Admin])?;
    let s = silences::expire(&state, &caller.org_id, &id, &caller.actor()).await?;
    Ok(Json(silence_json(&s, state.clock.now_ms())))
}
