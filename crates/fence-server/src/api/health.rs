//! Liveness, readiness (the database answers) and Prometheus metrics.

use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

pub async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.store.ping().await {
        (StatusCode::OK, Json(json!({"status": "ready"})))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "database unreachable"})),
        )
    }
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let stats = state.store.outbox_stats().await.unwrap_or_default();
    let body = state.metrics.render(&stats, state.store.cached_alerts());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
