//! `POST /api/v1/intel/kev` (CISA's KEV catalog JSON as published) and `POST /api/v1/intel/epss` (FIRST's EPSS CSV):
//! each replaces the stored feed atomically and answers `{"entries", "matched_open_findings", "newly_flagged"}`.
//! Admin scope; the body is spooled like an import (`import.max_bytes`).

use crate::http::auth::{Caller, Scope};
use crate::http::error::ApiResult;
use crate::services::intel::{import_file, Feed};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

async fn load(
    state: &AppState,
    caller: &Caller,
    feed: Feed,
    req: axum::extract::Request,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Admin)?;
    let body =
        crate::http::body::spool(req, state.config.import_max_bytes, "import.max_bytes").await?;
    let actor = caller.actor();
    let l = import_file(state, feed, &body, Some((&caller.org_id, &actor))).await?;
    drop(body);
    Ok(Json(json!({
        "entries": l.entries,
        "matched_open_findings": l.matched_open_findings,
        "newly_flagged": l.newly_flagged,
    })))
}

pub async fn kev(
    State(state): State<AppState>,
    caller: Caller,
    req: axum::extract::Request,
) -> ApiResult<Json<Value>> {
    load(&state, &caller, Feed::Kev, req).await
}

pub async fn epss(
    State(state): State<AppState>,
    caller: Caller,
    req: axum::extract::Request,
) -> ApiResult<Json<Value>> {
    load(&state, &caller, Feed::Epss, req).await
}
