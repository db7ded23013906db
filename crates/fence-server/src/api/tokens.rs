//! `GET /api/v1/tokens` and `DELETE /api/v1/tokens/{id}` (admin): the organization's API tokens by id, label, scopes
//! creation and expiry time — never their values — and revocation.

use crate::http::auth::{Caller, Scope};
use crate::http::error::ApiResult;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use fence_core::time::fmt_ts;
use serde_json::{json, Value};

pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Scope::Admin)?;
    let tokens: Vec<Value> = state
        .store
        .list_tokens(&caller.org_id)
        .await?
        .into_iter()
        .map(|t| {
            json!({
                "id": t.id,
                "label": t.label,
                "scopes": t.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                "created_at": fmt_ts(t.created_at),
                "expires_at": t.expires_at.map(fmt_ts),
                "current": t.id == caller.token_id,
            })
        })
        .collect();
    Ok(Json(json!({ "tokens": tokens })))
}

pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Scope::Admin)?;
    crate::services::tokens::revoke(
        &state.store,
        &caller.org_id,
        &id,
        &caller.actor(),
        state.clock.now_ms(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
