//! Digests on demand (preview, send), the signed CSV report, and observed certificates.

use super::JsonBody;
use crate::http::auth::{Caller, Scope};
use crate::http::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use fence_core::DomainName;
use fence_store::digests::CertificateRow;
use serde::Deserialize;
use serde_json::{json, Map, Value};

async fn digest_for(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> ApiResult<(fence_store::channels::ChannelRow, fence_core::Alert)> {
    let c = state
        .store
        .channel(&caller.org_id, id)
        .await
        .map_err(|_| ApiError::not_found("channel"))?;
    let config = c.rules()?;
    let now = state.clock.now_ms();
    let (label, tz, from) = match config.digest_schedule.as_ref() {
        Some(s) => {
            let prev = jiff::Timestamp::from_millisecond(now)
                .ok()
                .and_then(|t| s.previous(t))
                .map(|t| t.as_millisecond());
            let from = prev.filter(|p| *p < now).unwrap_or(now - 86_400_000);
            (s.label, s.timezone.clone(), from)
        }
        None => ("Daily", "UTC".to_string(), now - 86_400_000),
    };
    let alert =
        crate::services::digests::build(state, &caller.org_id, label, &tz, from, now).await?;
    Ok((c, alert))
}

pub async fn digest_preview(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read)?;
    let (c, alert) = digest_for(&state, &caller, &id).await?;
    let (message, _) = crate::services::channels::preview_message(&state, &c, &alert).await?;
    Ok(Json(json!({ "message": message })))
}

pub async fn digest_send(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Scope::Admin)?;
    let (c, alert) = digest_for(&state, &caller, &id).await?;
    state
        .store
        .enqueue_digest(
            &caller.org_id,
            &c.id,
            &c.destination,
            alert,
            None,
            state.clock.now_ms(),
        )
        .await?;
    state.wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(json!({"queued": true}))))
}

#[derive(Debug, Deserialize)]
pub struct ReportParams {
    org: String,
    from: i64,
    to: i64,
    /// When the link expires (milliseconds), inside the signature; links from before expiry existed have none.
    exp: Option<i64>,
    sig: String,
}

/// `GET /reports/findings.csv`: the link in a digest, valid by its signature alone (no login needed) until it
/// expires (`reports.link_lifetime` after the digest, default 30 days).
pub async fn report(
    State(state): State<AppState>,
    Query(p): Query<ReportParams>,
) -> Result<impl IntoResponse, ApiError> {
    let valid = p.exp.is_some_and(|exp| {
        crate::services::digests::report_link_valid(&state, &p.org, (p.from, p.to), exp, &p.sig)
    });
    if !valid {
        return Err(ApiError::forbidden(
            "this report link is not valid or has expired",
        ));
    }
    let csv = axum::body::Body::from_stream(crate::services::digests::report_csv(
        &state, &p.org, p.from, p.to,
    ));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"fence-findings.csv\"",
            ),
        ],
        csv,
    ))
}

/// `POST /api/v1/certificates`: a certificate observed by an external monitor.
pub async fn observe_certificate(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body, _memory): JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_any(&[Scope::Ingest, Scope::Admin])?;
    let cert = certificate_of(&body)?;
    let o = crate::services::certificates::observe(&state, &caller.org_id, &cert).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(
            json!({"domain": cert.domain, "days_left": o.days_left, "alerted": o.alerted_channels > 0}),
        ),
    ))
}

/// An RFC 3339 time field of a certificate object.
fn time_field(obj: &Map<String, Value>, k: &str, required: bool) -> ApiResult<Option<i64>> {
    let invalid = || ApiError::invalid(k, "must be an RFC 3339 time such as 2025-02-03T00:00:00Z");
    match obj.get(k) {
        Some(Value::String(s)) => s
            .parse::<jiff::Timestamp>()
            .map(|t| Some(t.as_millisecond()))
            .map_err(|_| invalid()),
        None | Some(Value::Null) if required => Err(ApiError::invalid(k, "is required")),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(invalid()),
    }
}

fn certificate_of(body: &Value) -> ApiResult<CertificateRow> {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::malformed("the body must be a JSON object"))?;
    super::only_fields(
        obj,
        &[
            "domain",
            "not_after",
            "not_before",
            "issuer",
            "sans",
            "fingerprint",
        ],
    )?;
    let domain = obj
        .get("domain")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("domain", "is required"))?;
    let domain = DomainName::parse(domain).map_err(|e| ApiError::invalid("domain", e))?;
    let not_after = time_field(obj, "not_after", true)?.unwrap_or_default();
    let not_before = time_field(obj, "not_before", false)?;
    let issuer = match obj.get("issuer") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => fence_core::text::truncate_chars(s, 500),
        Some(_) => return Err(ApiError::invalid("issuer", "must be a string")),
    };
    let sans = match obj.get("sans") {
        None | Some(Value::Null) => vec![domain.as_str().to_string()],
        Some(Value::Array(a)) if a.len() <= 1000 => {
            let mut names = Vec::with_capacity(a.len());
            for (i, v) in a.iter().enumerate() {
                let name = v.as_str().ok_or_else(|| {
                    ApiError::invalid(format!("sans[{i}]"), "must be a host name (a string)")
                })?;
                names.push(fence_core::text::truncate_chars(name, 253));
            }
            names
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "sans",
                "must be a list of at most 1000 names",
            ))
        }
    };
    let fingerprint = match obj.get("fingerprint").and_then(Value::as_str) {
        Some(f) if !f.is_empty() && f.len() <= 200 => f.to_ascii_lowercase().replace(':', ""),
        Some(_) => {
            return Err(ApiError::invalid(
                "fingerprint",
                "must be 1–200 characters (the SHA-256 fingerprint)",
            ))
        }
        None => return Err(ApiError::invalid("fingerprint", "is required")),
    };
    Ok(CertificateRow {
        domain: domain.as_str().to_string(),
        fingerprint,
        not_before,
        not_after,
        issuer,
        sans,
        alerted: vec![],
    })
}

/// `POST /api/v1/channels/{id}/preview`: how an alert type (`{"alert_type": "vulnerability"}`) will look in this
/// channel, rendered from sample data with its template (when its plan has them) or Fence's default.
pub async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body, _memory): JsonBody,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read)?;
    if let Some(obj) = body.as_object() {
        super::only_fields(obj, &["alert_type"])?;
    }
    let c = crate::services::channels::load(&state, &caller.org_id, &id).await?;
    let alert_type = match body.get("alert_type") {
        None | Some(Value::Null) => "vulnerability",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(ApiError::invalid("alert_type", "must be a string")),
    };
    let t =
        fence_core::AlertType::parse(alert_type).map_err(|e| ApiError::invalid("alert_type", e))?;
    let (message, template) =
        crate::services::channels::preview_message(&state, &c, &fence_slack::template::sample(t))
            .await?;
    Ok(Json(json!({"message": message, "template": template})))
}
