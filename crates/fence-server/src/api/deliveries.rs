//! Deliveries API: what is owed to which channel, in which state, and replaying dead ones.

use crate::http::auth::{Caller, Scope};
use crate::http::error::{ApiError, ApiResult};
use crate::http::query::ApiQuery;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use fence_core::time::fmt_ts;
use fence_store::deliveries::DeliveryRow;
use serde::Deserialize;
use serde_json::{json, Value};

const STATES: [&str; 5] = ["pending", "sending", "sent", "dead", "held"];

fn delivery_json(d: &DeliveryRow, broken: bool) -> Value {
    let state = if broken && d.state == "pending" {
        "held"
    } else {
        d.state.as_str()
    };
    json!({
        "id": d.id,
        "channel_id": d.channel_id,
        "alert_type": d.alert_type,
        "finding_id": d.finding_id,
        "alert_count": d.alert_count,
        "state": state,
        "attempts": d.attempts,
        "due_at": fmt_ts(d.due_at),
        "created_at": fmt_ts(d.created_at),
        "first_attempt_at": d.first_attempt_at.map(fmt_ts),
        "sent_at": d.sent_at.map(fmt_ts),
        "last_error": d.last_error,
    })
}

#[derive(Debug, Deserialize)]
pub struct Params {
    channel_id: Option<String>,
    state: Option<String>,
    limit: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<Params>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read)?;
    let wanted = p.state.filter(|s| !s.is_empty());
    if let Some(s) = &wanted {
        if !STATES.contains(&s.as_str()) {
            return Err(ApiError::invalid(
                "state",
                format!("unknown state; expected one of {}", STATES.join(", ")),
            ));
        }
    }
    let limit = match p.limit {
        None => 100,
        Some(l) if (1..=1000).contains(&l) => l,
        Some(_) => {
            return Err(ApiError::invalid(
                "limit",
                "must be a whole number from 1 to 1000",
            ))
        }
    };
    let broken: Vec<String> = state
        .store
        .list_channels(&caller.org_id)
        .await?
        .into_iter()
        .filter(|c| c.state == fence_core::ChannelState::Broken)
        .map(|c| c.id)
        .collect();
    let db_state = match wanted.as_deref() {
        Some("held") => Some("pending"),
        other => other,
    };
    let rows = state
        .store
        .list_deliveries(
            &caller.org_id,
            p.channel_id.as_deref().filter(|s| !s.is_empty()),
            db_state,
            limit,
        )
        .await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|d| delivery_json(d, broken.contains(&d.channel_id)))
        .filter(|v| match wanted.as_deref() {
            Some(w) => v["state"] == w,
            None => true,
        })
        .collect();
    Ok(Json(json!({"deliveries": items, "next_cursor": null})))
}

pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Admin)?;
    let d =
        crate::services::deliveries::retry(&state, &caller.org_id, &caller.actor(), &id).await?;
    Ok(Json(delivery_json(&d, false)))
}
