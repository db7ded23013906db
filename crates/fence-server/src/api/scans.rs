//! Scans API: queue a built-in scan or open one for an external scanner, list and read scans, post an external
//! scanner's results, and import a scanner's output file as a completed scan.

use super::findings::parse_batch;
use super::JsonBody;
use crate::app::AppState;
use crate::auth::{Caller, Scope};
use crate::channels::fmt_ts;
use crate::error::{ApiError, ApiResult};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use fence_core::{DomainName, NewFinding, Severity};
use fence_store::scans::{ScanOutcome, ScanRow};
use serde_json::{json, Value};

pub const SCAN_TYPES: [&str; 3] = ["full", "tls", "headers"];

pub async fn scan_json(state: &AppState, s: &ScanRow) -> Value {
    let position = if s.status == "queued" {
        state.store.queue_position(&s.id).await.unwrap_or(0)
    } else {
        0
    };
    json!({
        "id": s.id,
        "domain": s.domain,
        "type": s.scan_type,
        "source": s.source,
        "status": s.status,
        "position": (position > 0).then_some(position),
        "requested_by": s.requested_by,
        "error": s.error,
        "counts": {"critical": s.counts[0], "high": s.counts[1], "medium": s.counts[2], "low": s.counts[3], "info": s.counts[4]},
        "created_at": fmt_ts(s.created_at),
        "started_at": s.started_at.map(fmt_ts),
        "finished_at": s.finished_at.map(fmt_ts),
        "duration_seconds": s.duration_ms.map(|d| d / 1000),
        "report_url": format!("{}/scans/{}", state.config.base_url, s.id),
    })
}

/// Counts findings by severity: critical, high, medium, low, info.
pub fn count(findings: &[NewFinding]) -> [i64; 5] {
    let mut c = [0i64; 5];
    for f in findings {
        let i = Severity::ALL
            .iter()
            .position(|s| *s == f.severity)
            .unwrap_or(4);
        c[i] += 1;
    }
    c
}

/// Queues a built-in scan; returns it with its queue position.
pub async fn queue_scan(
    state: &AppState,
    org_id: &str,
    domain: &DomainName,
    scan_type: &str,
    requested_by: &str,
) -> Result<ScanRow, ApiError> {
    let s = state
        .store
        .create_scan(
            org_id,
            domain.as_str(),
            scan_type,
            "builtin",
            Some(requested_by),
            state.clock.now_ms(),
        )
        .await?;
    state.scan_wake.notify_one();
    Ok(s)
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
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
    let scan_type = obj.get("type").and_then(Value::as_str).unwrap_or("full");
    if !SCAN_TYPES.contains(&scan_type) {
        return Err(ApiError::invalid("type", "must be full, tls or headers"));
    }
    let external = match obj.get("external") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::invalid("external", "must be true or false")),
    };
    let s = if external {
        state
            .store
            .create_scan(
                &caller.org_id,
                domain.as_str(),
                scan_type,
                "external",
                Some(&caller.actor()),
                state.clock.now_ms(),
            )
            .await?
    } else {
        queue_scan(&state, &caller.org_id, &domain, scan_type, &caller.actor()).await?
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

/// Stores a scan's findings and ends it, then wakes the dispatcher.
pub async fn record_results(
    state: &AppState,
    org_id: &str,
    scan: &ScanRow,
    findings: Vec<NewFinding>,
    completed: bool,
    duration_ms: i64,
    error: Option<String>,
) -> Result<ScanRow, ApiError> {
    let now = state.clock.now_ms();
    let counts = count(&findings);
    if !findings.is_empty() {
        state.store.ingest(org_id, &findings, now).await?;
        state
            .metrics
            .findings_ingested
            .fetch_add(findings.len() as u64, std::sync::atomic::Ordering::Relaxed);
    }
    let outcome = ScanOutcome {
        completed,
        counts,
        duration_ms,
        error,
    };
    let s = state
        .store
        .finish_scan(org_id, &scan.id, &outcome, now)
        .await?;
    state.wake.notify_one();
    if s.notify_url.is_some() && s.status == "completed" {
        let (state, s) = (state.clone(), s.clone());
        tokio::spawn(async move { crate::slack_app::notify_scan(&state, &s).await });
    }
    Ok(s)
}

pub async fn results(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
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
    super::only_fields(&obj, &["findings", "status", "duration_seconds", "error"])?;
    let completed = match obj.get("status").and_then(Value::as_str) {
        None | Some("completed") => true,
        Some("failed") => false,
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
    let error = obj
        .get("error")
        .and_then(Value::as_str)
        .map(|e| fence_core::text::truncate_chars(e, 500));
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
    let s = record_results(
        &state,
        &caller.org_id,
        &scan,
        findings,
        completed,
        duration_ms,
        error,
    )
    .await?;
    Ok(Json(scan_json(&state, &s).await))
}

#[derive(Debug, serde::Deserialize)]
pub struct ImportParams {
    format: Option<String>,
    domain: Option<String>,
}

/// Imports a scanner's output file as one completed scan: all of it, or nothing with an error naming where it broke.
pub async fn import_file(
    state: &AppState,
    org_id: &str,
    actor: &str,
    format: &str,
    domain: &str,
    body: &[u8],
) -> Result<(ScanRow, usize), ApiError> {
    let fmt =
        fence_scan::import::Format::parse(format).map_err(|e| ApiError::invalid("format", e))?;
    let domain = DomainName::parse(domain).map_err(|e| ApiError::invalid("domain", e))?;
    let findings = fence_scan::import::import(fmt, body, &domain).map_err(|e| {
        if e.is_too_large() {
            ApiError::too_large(e.to_string())
        } else {
            ApiError::invalid(e.location.clone(), e.message.clone())
        }
    })?;
    let n = findings.len();
    let scan = state
        .store
        .create_scan(
            org_id,
            domain.as_str(),
            fmt.as_str(),
            "import",
            Some(actor),
            state.clock.now_ms(),
        )
        .await?;
    let findings = findings
        .into_iter()
        .map(|mut f| {
            f.scan_id = Some(scan.id.clone());
            f
        })
        .collect();
    let s = record_results(state, org_id, &scan, findings, true, 0, None).await?;
    Ok((s, n))
}

pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Query(p): axum::extract::Query<ImportParams>,
    req: axum::extract::Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_any(&[Scope::Ingest, Scope::Admin])?;
    let format = p.format.ok_or_else(|| {
        ApiError::invalid("format", "is required: sarif, nuclei, dependabot or fence")
    })?;
    let domain = p
        .domain
        .ok_or_else(|| ApiError::invalid("domain", "is required: the domain the file is about"))?;
    let body = super::read_limited(req).await?;
    let (s, n) = import_file(
        &state,
        &caller.org_id,
        &caller.actor(),
        &format,
        &domain,
        &body,
    )
    .await?;
    let mut v = scan_json(&state, &s).await;
    v["imported"] = json!(n);
    Ok((StatusCode::ACCEPTED, Json(v)))
}
