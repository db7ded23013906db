//! `POST /api/slack/events`: the Events API request URL the manifest declares for its metadata subscriptions
//! (Fence's own `fence_*` events, which Slack apps and workflows act on). Signed like every Slack request; Slack's
//! `url_verification` gets its `challenge` back, and every event is acknowledged and otherwise ignored — Fence
//! needs none of them, it only has to answer so Slack keeps the subscription.

use super::verify;
use crate::http::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

/// The longest challenge echoed back.
const MAX_CHALLENGE: usize = 200;

pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    verify(&state, &headers, &body)?;
    let v: Value =
        serde_json::from_slice(&body).map_err(|_| ApiError::malformed("not a JSON event"))?;
    if v["type"] == "url_verification" {
        let challenge = v["challenge"]
            .as_str()
            .filter(|c| c.len() <= MAX_CHALLENGE)
            .ok_or_else(|| {
                ApiError::invalid("challenge", "must be a string of at most 200 bytes")
            })?;
        return Ok(Json(json!({ "challenge": challenge })));
    }
    Ok(Json(json!({})))
}
