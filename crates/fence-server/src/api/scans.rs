//! Scans API: queue a built-in scan or open one for an external scanner, list and read scans, post an external
//! scanner's results, and import a scanner's output file as a completed scan (the scans service does the work).

use super::findings::parse_batch;
use super::JsonBody;
use crate::http::auth::{Caller, Scope};
use crate::http::error::{ApiError, ApiResult};
use crate::services::scans;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use fence_core::DomainName;
use fence_store::scans::ScanRow;
use serde_json::{json, Value};

async fn scan_json(state: &AppState, s: &ScanRow) -> Value {
    serde_json::to_value(scans::view(state, s).await).unwrap_or_default()
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
    super::only_fields(obj, &["domain", "type", "external"])?;
    let domain = obj
        .get("domain")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("domain", "is required"))?;
    let domain = DomainName::parse(domain).map_err(|e| ApiError::invalid("domain", e))?;
    let scan_type = match obj.get("type") {
        None | Some(Value::Null) => "full",
        Some(Value::String(t)) => t.as_str(),
        Some(_) => return Err(ApiError::invalid("type", "must be full, tls or headers")),
    };
    if !scans::SCAN_TYPES.contains(&scan_type) {
        return Err(ApiError::invalid("type", "must be full, tls or headers"));
    }
    let external = match obj.get("external") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::invalid("external", "must be true or false")),
    };
    let s = if external {
        scans::open_external(&state, &caller.org_id, &domain, scan_type, &caller.actor()).await?
    } else {
        scans::queue_scan(&state, &caller.org_id, &domain, scan_type, &caller.actor()).await?
    };
    let position = state.store.queue_position(&s.id).await?;
    let mut v = scan_json(&state, &s).await;
    v["position"] = json!(position);
    Ok((StatusCode::ACCEPTED, Json(v)))
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read)?;
    let rows = state.store.list_scans(&caller.org_id, 100).await?;
    let mut items = Vec::new();
    for s in &rows {
        items.push(scan_json(&state, s).await);
    }
    Ok(Json(json!({"scans": items, "next_cursor": null})))
}

pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read)?;
    let s = state
        .store
        .scan(&caller.org_id, &id)
        .await
        .map_err(|_| ApiError::not_found("scan"))?;
    Ok(Json(scan_json(&state, &s).await))
}

pub async fn results(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body, _memory): JsonBody,
) -> ApiResult<Json<Value>> {
    caller.require_any(&[Scope::Ingest, Scope::Admin])?;
    let scan = state
        .store
        .scan(&caller.org_id, &id)
        .await
        .map_err(|_| ApiError::not_found("scan"))?;
    let mut obj = body
        .as_object()
        .cloned()
        .ok_or_else(|| ApiError::malformed("the body must be a JSON object"))?;
    super::only_fields(
        &obj,
        &[
            "findings",
            "status",
            "duration_seconds",
            "error",
            "close_missing",
        ],
    )?;
    let close_missing = flag(&obj, "close_missing", true)?;
    let completed = match obj.get("status") {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) if s == "completed" => true,
        Some(Value::String(s)) if s == "failed" => false,
        Some(_) => return Err(ApiError::invalid("status", "must be completed or failed")),
    };
    let duration_ms = match obj.get("duration_seconds") {
        None | Some(Value::Null) => {
            state.clock.now_ms() - scan.started_at.unwrap_or(scan.created_at)
        }
        Some(v) => v
            .as_f64()
            .filter(|d| *d >= 0.0 && *d < 1e9)
            .map(|d| (d * 1000.0) as i64)
            .ok_or_else(|| {
                ApiError::invalid("duration_seconds", "must be a non-negative number")
            })?,
    };
    let error = match obj.get("error") {
        None | Some(Value::Null) => None,
        Some(Value::String(e)) => Some(fence_core::text::truncate_chars(e, 500)),
        Some(_) => return Err(ApiError::invalid("error", "must be a string")),
    };
    // Findings default to the scan's domain and carry its id.
    let findings = match obj.remove("findings") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(mut items)) => {
            for item in items.iter_mut() {
                if let Some(o) = item.as_object_mut() {
                    o.entry("domain").or_insert_with(|| json!(scan.domain));
                    o.entry("scan_id").or_insert_with(|| json!(scan.id));
                }
            }
            if items.is_empty() {
                Vec::new()
            } else {
                parse_batch(&json!({"findings": items}))?
            }
        }
        Some(_) => return Err(ApiError::invalid("findings", "must be a list")),
    };
    let file = scans::FileResults::posted(&findings, close_missing, &caller.actor());
    let results = scans::Results {
        findings,
        completed,
        duration_ms,
        error,
        file: Some(file),
    };
    let s = scans::record_results(&state, &caller.org_id, &scan, results).await?;
    Ok(Json(scan_json(&state, &s).await))
}

/// A boolean member, `default` when absent or null.
fn flag(obj: &serde_json::Map<String, Value>, key: &str, default: bool) -> ApiResult<bool> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(ApiError::invalid(key, "must be true or false")),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct ImportParams {
    format: Option<String>,
    domain: Option<String>,
    /// `false` for a partial scan: findings the file does not report stay open.
    close_missing: Option<String>,
}

pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    crate::http::query::ApiQuery(p): crate::http::query::ApiQuery<ImportParams>,
    req: axum::extract::Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_any(&[Scope::Ingest, Scope::Admin])?;
    let format = p.format.ok_or_else(|| {
        ApiError::invalid(
            "format",
            "is required: sarif, nuclei, dependabot, zap or fence",
        )
    })?;
    let domain = p
        .domain
        .ok_or_else(|| ApiError::invalid("domain", "is required: the domain the file is about"))?;
    let close_missing = match p.close_missing.as_deref().map(str::trim) {
        None | Some("true" | "1") => true,
        Some("false" | "0") => false,
        Some(_) => return Err(ApiError::invalid("close_missing", "must be true or false")),
    };
    let max = state.config.import_max_bytes;
    let body = crate::http::body::spool(req, max, "import.max_bytes").await?;
    let s = scans::import_file(
        &state,
        &caller.org_id,
        &caller.actor(),
        &format,
        &domain,
        scans::ImportBody::File(body.to_path_buf()),
        close_missing,
    )
    .await?;
    drop(body);
    let n: i64 = s.counts.iter().sum();
    let mut v = scan_json(&state, &s).await;
    v["imported"] = json!(n);
    Ok((StatusCode::ACCEPTED, Json(v)))
}
