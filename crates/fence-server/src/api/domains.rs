//! Domains API: the assets Fence alerts and scans about, with their ports, monitoring flag and renewal link.

use super::JsonBody;
use crate::http::auth::{Caller, Scope};
use crate::http::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use fence_core::{DomainName, FieldError, FieldErrors};
use fence_store::domains::DomainRow;
use serde_json::{json, Map, Value};

/// A renew link Fence puts on a Slack button: http(s), a host that is a valid domain name, no credentials, and
/// nothing Slack's link syntax would stop at (the OpenAPI document's `pattern` says the same).
fn renew_url_ok(s: &str) -> bool {
    let plain = s.len() <= 2000
        && percent_escapes_ok(s)
        && !s
            .chars()
            .any(|c| c.is_whitespace() || "<>|\"\\".contains(c));
    plain
        && (s.starts_with("https://") || s.starts_with("http://"))
        && url::Url::parse(s).is_ok_and(|u| {
            u.username().is_empty()
                && u.password().is_none()
                && u.host_str()
                    .is_some_and(|h| !h.ends_with('.') && fence_core::DomainName::parse(h).is_ok())
        })
        && s.split("://")
            .nth(1)
            .and_then(|rest| rest.split(['/', '?', '#', ':']).next())
            .is_some_and(|host| {
                !host.is_empty()
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
            })
}

/// Every `%` starts an escape of two hex digits (RFC 3986), as a link must have to open the same page everywhere.
fn percent_escapes_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().all(|(i, c)| {
        *c != b'%'
            || (b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

fn parse(obj: &Map<String, Value>, base: DomainRow) -> Result<DomainRow, ApiError> {
    let mut d = base;
    let mut errs = FieldErrors::default();
    for (k, v) in obj {
        match (k.as_str(), v) {
            ("name", _) => {}
            ("monitor_certificates", Value::Bool(b)) => d.monitor_certificates = *b,
            ("port" | "http_port", Value::Number(n)) if n.as_u64().is_some_and(|p| (1..=65535).contains(&p)) => {
                let p = n.as_i64().unwrap_or(443);
                if k == "port" {
                    d.port = p;
                } else {
                    d.http_port = p;
                }
            }
            ("renew_url", Value::Null) => d.renew_url = None,
            ("renew_url", Value::String(s)) if renew_url_ok(s) => d.renew_url = Some(s.clone()),
            ("tags", Value::Array(items)) if items.len() <= 50 && items.iter().all(|t| t.as_str().is_some_and(|s| !s.is_empty() && s.len() <= 64)) => {
                d.tags = items.iter().filter_map(|t| t.as_str().map(str::to_string)).collect();
            }
            ("monitor_certificates", _) => errs.push(FieldError::new(k.clone(), "must be true or false")),
            ("port" | "http_port", _) => errs.push(FieldError::new(k.clone(), "must be a port from 1 to 65535")),
            ("renew_url", _) => errs.push(FieldError::new(k.clone(), "must be an http(s) URL")),
            ("tags", _) => errs.push(FieldError::new(k.clone(), "must be a list of up to 50 short strings")),
            _ => errs.push(FieldError::new(k.clone(), "unknown field; expected name, monitor_certificates, port, http_port, renew_url or tags")),
        }
    }
    errs.into_result(d).map_err(ApiError::from)
}

fn domain_json(d: &DomainRow) -> Value {
    json!(d)
}

/// A domain named in a path, written as it was typed: the stored name (`DomainName`'s lower-cased form without a
/// trailing dot), or the text lower-cased when it is no domain name (then nothing matches it).
fn path_name(name: &str) -> String {
    fence_core::DomainName::parse(name)
        .map(|d| d.as_str().to_string())
        .unwrap_or_else(|_| name.to_ascii_lowercase())
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read)?;
    let rows = state.store.list_domains(&caller.org_id).await?;
    Ok(Json(
        json!({"domains": rows.iter().map(domain_json).collect::<Vec<_>>(), "next_cursor": null}),
    ))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body, _memory): JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Scope::Admin)?;
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::malformed("the body must be a JSON object"))?;
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("name", "is required"))?;
    let name = DomainName::parse(name).map_err(|e| ApiError::invalid("name", e))?;
    let base = DomainRow {
        name: name.as_str().to_string(),
        monitor_certificates: false,
        port: 443,
        http_port: 80,
        renew_url: None,
        tags: vec![],
    };
    let d = parse(obj, base)?;
    let d = state
        .store
        .upsert_domain(&caller.org_id, &d, state.clock.now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(domain_json(&d))))
}

pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read)?;
    let d = state
        .store
        .domain(&caller.org_id, &path_name(&name))
        .await
        .map_err(|_| ApiError::not_found("domain"))?;
    Ok(Json(domain_json(&d)))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(body, _memory): JsonBody,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Admin)?;
    let existing = state
        .store
        .domain(&caller.org_id, &path_name(&name))
        .await
        .map_err(|_| ApiError::not_found("domain"))?;
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::malformed("the body must be a JSON object"))?;
    let renamed = obj.get("name").is_some_and(|n| {
        n.as_str()
            .and_then(|n| DomainName::parse(n).ok())
            .is_none_or(|n| n.as_str() != existing.name)
    });
    if renamed {
        return Err(ApiError::invalid(
            "name",
            "cannot be changed; create the new domain and delete this one",
        ));
    }
    let d = parse(obj, existing)?;
    let d = state
        .store
        .upsert_domain(&caller.org_id, &d, state.clock.now_ms())
        .await?;
    Ok(Json(domain_json(&d)))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Scope::Admin)?;
    state
        .store
        .delete_domain(&caller.org_id, &path_name(&name))
        .await
        .map_err(|_| ApiError::not_found("domain"))?;
    Ok(StatusCode::NO_CONTENT)
}
