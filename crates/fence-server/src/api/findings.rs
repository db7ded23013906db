//! `POST /api/v1/findings` (validated, all-or-nothing, deduplicated) and finding reads and status changes.

use super::{JsonBody, MAX_FINDINGS};
use crate::http::auth::{Caller, Scope};
use crate::http::error::{ApiError, ApiResult};
use crate::http::query::ApiQuery;
use crate::services::triage::{change_status, Actor};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use fence_core::time::fmt_ts;
use fence_core::{FieldErrors, FindingStatus, NewFinding, Severity};
use fence_store::findings::{FindingQuery, FindingRow};
use fence_store::silences::SilenceRow;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// What a page's findings' feeds say, by CVE, and the silences they name: one read each for the page.
pub struct PageContext {
    pub silences: HashMap<String, SilenceRow>,
    pub intel: HashMap<String, fence_core::intel::Intel>,
}

pub async fn context_of(
    state: &AppState,
    org_id: &str,
    rows: &[FindingRow],
) -> ApiResult<PageContext> {
    let cves: Vec<&str> = rows.iter().filter_map(|f| f.cve.as_deref()).collect();
    let intel = if cves.is_empty() {
        HashMap::new()
    } else {
        state.store.intel_for(&cves).await?
    };
    Ok(PageContext {
        silences: silences_of(state, org_id, rows).await?,
        intel,
    })
}

/// The silences a page of findings names, by id (one read for the page).
pub async fn silences_of(
    state: &AppState,
    org_id: &str,
    rows: &[FindingRow],
) -> ApiResult<HashMap<String, SilenceRow>> {
    let ids: Vec<&str> = rows
        .iter()
        .filter_map(|f| f.silence_id.as_deref())
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(state.store.silences_by_id(org_id, &ids).await?)
}

/// A finding as the API shows it; `silenced_by` names the silence that kept it from alerting, if any.
pub fn finding_json(state: &AppState, f: &FindingRow, cx: &PageContext) -> Value {
    let silences = &cx.silences;
    let intel = f.cve.as_deref().and_then(|c| cx.intel.get(c));
    let silenced_by = f
        .silence_id
        .as_deref()
        .and_then(|id| silences.get(id))
        .map(|s| json!({"id": s.id, "reason": s.reason, "expires_at": fmt_ts(s.expires_at)}));
    json!({
        "id": f.id,
        "domain": f.domain,
        "title": f.title,
        "severity": f.severity,
        "cvss": f.cvss,
        "cvss_vector": f.cvss_vector,
        "cve": f.cve,
        "owasp": f.owasp,
        "category": f.category,
        "affected_url": f.affected_url,
        "description": f.description,
        "remediation": f.remediation,
        "fingerprint": f.fingerprint,
        "scanner": f.scanner,
        "scan_id": f.scan_id,
        "rule": f.rule,
        "package": f.package,
        "silenced_by": silenced_by,
        "known_exploited": intel.and_then(|i| i.known_exploited.as_ref()),
        "epss": intel.and_then(|i| i.epss),
        "detected_at": f.detected_at.map(fmt_ts),
        "status": f.status.as_str(),
        "snoozed_until": f.snoozed_until.map(fmt_ts),
        "acknowledged_by": f.acknowledged_by,
        "acknowledged_at": f.acknowledged_at.map(fmt_ts),
        "first_seen": fmt_ts(f.first_seen),
        "last_seen": fmt_ts(f.last_seen),
        "updated_at": fmt_ts(f.updated_at),
        "url": format!("{}/findings/{}", state.config.base_url, f.id),
    })
}

/// Validates every finding of a body (one object or `{"findings": [...]}`); any error rejects the whole batch.
pub fn parse_batch(body: &Value) -> Result<Vec<NewFinding>, ApiError> {
    let (items, prefix): (Vec<&Value>, bool) = match body {
        Value::Object(m) if m.contains_key("findings") => {
            if let Some(k) = m.keys().find(|k| k.as_str() != "findings") {
                return Err(ApiError::invalid(
                    k.clone(),
                    "unknown field next to `findings`",
                ));
            }
            match &m["findings"] {
                Value::Array(a) => (a.iter().collect(), true),
                _ => return Err(ApiError::invalid("findings", "must be a list")),
            }
        }
        Value::Object(_) => (vec![body], false),
        _ => {
            return Err(ApiError::malformed(
                "the body must be a finding object or {\"findings\": [...]}",
            ))
        }
    };
    if items.len() > MAX_FINDINGS {
        return Err(ApiError::too_large(format!(
            "{} findings in one request; the limit is {MAX_FINDINGS}",
            items.len()
        )));
    }
    if items.is_empty() {
        return Err(ApiError::invalid(
            "findings",
            "must contain at least one finding",
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    let mut errs = FieldErrors::default();
    for (i, item) in items.iter().enumerate() {
        match NewFinding::from_json(item) {
            Ok(f) => out.push(f),
            Err(e) => {
                let at = if prefix {
                    format!("findings[{i}]")
                } else {
                    String::new()
                };
                errs.0.extend(e.0.into_iter().map(|f| f.under(&at)));
                if errs.0.len() >= 20 {
                    break;
                }
            }
        }
    }
    if !errs.is_empty() {
        return Err(errs.into());
    }
    Ok(out)
}

pub async fn ingest(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body, memory): JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Scope::Ingest)?;
    let batch = parse_batch(&body)?;
    // The parsed body is let go before the batch waits for the database.
    drop((body, memory));
    let out = crate::services::findings::ingest(&state, &caller.org_id, &batch).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(
            json!({"accepted": batch.len(), "new": out.new, "duplicates": out.duplicates, "suppressed": out.suppressed, "silenced": out.silenced, "ids": out.ids}),
        ),
    ))
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    severity: Option<String>,
    domain: Option<String>,
    status: Option<String>,
    category: Option<String>,
    since: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
    known_exploited: Option<String>,
    min_epss: Option<String>,
    sort: Option<String>,
}

/// The list's filters and page size from its query string; each bad parameter is named.
fn query_of(p: ListParams) -> Result<(FindingQuery, i64), ApiError> {
    let nonempty = |o: Option<String>| o.filter(|s| !s.trim().is_empty());
    let limit = match nonempty(p.limit) {
        None => 50,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| ApiError::invalid("limit", "must be a whole number from 1 to 500"))?,
    };
    let q = FindingQuery {
        severity: nonempty(p.severity)
            .map(|s| {
                s.parse::<Severity>()
                    .map_err(|e| ApiError::invalid("severity", e))
            })
            .transpose()?,
        domain: nonempty(p.domain)
            .map(|d| {
                fence_core::DomainName::parse(&d)
                    .map(String::from)
                    .map_err(|e| ApiError::invalid("domain", e))
            })
            .transpose()?,
        status: nonempty(p.status)
            .map(|s| FindingStatus::parse(&s).map_err(|e| ApiError::invalid("status", e)))
            .transpose()?,
        category: nonempty(p.category)
            .map(|c| {
                fence_core::Category::parse(&c)
                    .map(|c| c.as_str().to_string())
                    .map_err(|e| ApiError::invalid("category", e))
            })
            .transpose()?,
        since: nonempty(p.since)
            .map(|s| {
                s.parse::<jiff::Timestamp>()
                    .map(|t| t.as_millisecond())
                    .map_err(|_| {
                        ApiError::invalid(
                            "since",
                            "must be an RFC 3339 time such as 2025-01-20T00:00:00Z",
                        )
                    })
            })
            .transpose()?,
        known_exploited: match nonempty(p.known_exploited).as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(ApiError::invalid(
                    "known_exploited",
                    "must be true or false",
                ))
            }
        },
        min_epss: nonempty(p.min_epss)
            .map(|e| {
                e.parse::<f64>()
                    .ok()
                    .filter(|x| (0.0..=1.0).contains(x))
                    .ok_or_else(|| ApiError::invalid("min_epss", "must be a number from 0 to 1"))
            })
            .transpose()?,
        cursor: nonempty(p.cursor),
        limit: limit + 1,
    };
    Ok((q, limit))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read)?;
    let sort = p.sort.clone().filter(|s| !s.trim().is_empty());
    let (q, limit) = query_of(p)?;
    match sort.as_deref() {
        None | Some("newest") => {}
        Some("exploitability") => return by_exploitability(&state, &caller, q, limit).await,
        Some(_) => {
            return Err(ApiError::invalid(
                "sort",
                "must be newest or exploitability",
            ));
        }
    }
    let page = state.store.list_findings_page(&caller.org_id, &q).await?;
    let mut rows = page.findings;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id.clone())
    } else {
        // A filter without an index of its own looked at a bounded window: the rest lies below it.
        page.scanned_to
    };
    let cx = context_of(&state, &caller.org_id, &rows).await?;
    Ok(Json(
        json!({"findings": rows.iter().map(|f| finding_json(&state, f, &cx)).collect::<Vec<_>>(), "next_cursor": next}),
    ))
}

/// `sort=exploitability`: KEV-listed first, then by EPSS score, then by CVSS; the cursor is `o:` and an offset.
async fn by_exploitability(
    state: &AppState,
    caller: &Caller,
    mut q: FindingQuery,
    limit: i64,
) -> ApiResult<Json<Value>> {
    let offset = match q.cursor.take() {
        None => 0,
        Some(c) => c
            .strip_prefix("o:")
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor of this order"))?,
    };
    let mut rows = state
        .store
        .list_by_exploitability(&caller.org_id, &q, offset)
        .await?;
    let next = (rows.len() as i64 > limit).then(|| format!("o:{}", offset + limit));
    rows.truncate(limit as usize);
    let cx = context_of(state, &caller.org_id, &rows).await?;
    Ok(Json(
        json!({"findings": rows.iter().map(|f| finding_json(state, f, &cx)).collect::<Vec<_>>(), "next_cursor": next}),
    ))
}

pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read)?;
    let f = crate::services::findings::get(&state, &caller.org_id, &id).await?;
    let cx = context_of(&state, &caller.org_id, std::slice::from_ref(&f)).await?;
    Ok(Json(finding_json(&state, &f, &cx)))
}

async fn change(
    state: &AppState,
    caller: &Caller,
    id: &str,
    status: FindingStatus,
    hours: Option<f64>,
) -> ApiResult<Json<Value>> {
    caller.require_any(&[Scope::Ingest, Scope::Admin])?;
    let actor = Actor {
        audit: caller.actor(),
        shown: "an API token".into(),
    };
    let f = change_status(state, &caller.org_id, id, status, hours, &actor).await?;
    let cx = context_of(state, &caller.org_id, std::slice::from_ref(&f)).await?;
    Ok(Json(finding_json(state, &f, &cx)))
}

pub async fn false_positive(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    change(&state, &caller, &id, FindingStatus::FalsePositive, None).await
}

pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    change(&state, &caller, &id, FindingStatus::Resolved, None).await
}

pub async fn reopen(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    change(&state, &caller, &id, FindingStatus::Open, None).await
}

/// Acknowledges an open finding (escalation stops; reminders go on).
pub async fn acknowledge(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require_any(&[Scope::Ingest, Scope::Admin])?;
    let actor = Actor {
        audit: caller.actor(),
        shown: "an API token".into(),
    };
    let (f, _) = crate::services::triage::acknowledge(&state, &caller.org_id, &id, &actor).await?;
    let cx = context_of(&state, &caller.org_id, std::slice::from_ref(&f)).await?;
    Ok(Json(finding_json(&state, &f, &cx)))
}

pub async fn snooze(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body, _memory): JsonBody,
) -> ApiResult<Json<Value>> {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::malformed("the body must be a JSON object"))?;
    super::only_fields(obj, &["hours"])?;
    let hours = match obj.get("hours") {
        None | Some(Value::Null) => 24.0,
        Some(v) => v
            .as_f64()
            .filter(|h| *h > 0.0 && *h <= 24.0 * 365.0)
            .ok_or_else(|| {
                ApiError::invalid("hours", "must be a number of hours from 0 to 8760")
            })?,
    };
    change(&state, &caller, &id, FindingStatus::Snoozed, Some(hours)).await
}
