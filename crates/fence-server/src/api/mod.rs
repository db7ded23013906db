//! The HTTP API under `/api/v1`, plus `/healthz`, `/readyz` and `/metrics`. Handlers convert JSON to domain
//! types at this edge and call the store; nothing below knows about HTTP.

mod channels;
mod deliveries;
mod domains;
pub mod findings;
mod health;
mod org;
mod reports;
pub mod scans;

use crate::app::AppState;
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

/// Largest accepted request body (SPEC §3).
pub const MAX_BODY: usize = 10 * 1024 * 1024;
/// Largest accepted batch of findings.
pub const MAX_FINDINGS: usize = 10_000;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route(
            "/api/v1/findings",
            post(findings::ingest).get(findings::list),
        )
        .route("/api/v1/findings/{id}", get(findings::get_one))
        .route(
            "/api/v1/findings/{id}/false-positive",
            post(findings::false_positive),
        )
        .route("/api/v1/findings/{id}/snooze", post(findings::snooze))
        .route("/api/v1/findings/{id}/resolve", post(findings::resolve))
        .route("/api/v1/findings/{id}/reopen", post(findings::reopen))
        .route(
            "/api/v1/channels",
            get(channels::list).post(channels::create),
        )
        .route("/api/v1/channels/test", post(channels::test_unsaved))
        .route(
            "/api/v1/channels/{id}",
            get(channels::get_one)
                .patch(channels::update)
                .delete(channels::delete),
        )
        .route("/api/v1/channels/{id}/test", post(channels::test_saved))
        .route("/api/v1/deliveries", get(deliveries::list))
        .route("/api/v1/deliveries/{id}/retry", post(deliveries::retry))
        .route("/api/v1/channels/{id}/preview", post(reports::preview))
        .route(
            "/api/v1/channels/{id}/digest/preview",
            post(reports::digest_preview),
        )
        .route(
            "/api/v1/channels/{id}/digest/send",
            post(reports::digest_send),
        )
        .route("/api/v1/certificates", post(reports::observe_certificate))
        .route("/reports/findings.csv", get(reports::report))
        .route("/api/v1/domains", get(domains::list).post(domains::create))
        .route(
            "/api/v1/domains/{name}",
            get(domains::get_one)
                .patch(domains::update)
                .delete(domains::delete),
        )
        .route("/api/v1/import", post(scans::import))
        .route("/api/slack/commands", post(crate::slack_app::commands))
        .route(
            "/api/slack/interactions",
            post(crate::slack_app::interactions),
        )
        .route("/api/slack/install", get(crate::slack_app::install))
        .route("/api/slack/oauth/callback", get(crate::slack_app::callback))
        .route("/api/slack/manifest", get(crate::slack_app::manifest))
        .route("/api/v1/scans", get(scans::list).post(scans::create))
        .route("/api/v1/scans/{id}", get(scans::get_one))
        .route("/api/v1/scans/{id}/results", post(scans::results))
        .route("/api/v1/org", get(org::get_org).patch(org::patch_org))
        .route("/api/v1/audit", get(org::audit))
        .merge(crate::web::router())
        .fallback(|| async { ApiError::not_found("endpoint") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Refuses a field that is not in `allowed`, naming it and the fields that are.
pub fn only_fields(obj: &serde_json::Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => {
            let (last, rest) = allowed.split_last().unwrap_or((&"", &[]));
            let list = if rest.is_empty() {
                last.to_string()
            } else {
                format!("{} or {last}", rest.join(", "))
            };
            Err(ApiError::invalid(
                k.clone(),
                format!("unknown field; expected {list}"),
            ))
        }
    }
}

/// Reads a body of at most [`MAX_BODY`] bytes. A larger one is read to its end (up to a bound) and discarded, so the
/// client receives the 413 instead of a connection closed under it.
pub async fn read_limited(req: Request) -> Result<Bytes, ApiError> {
    use futures_util::StreamExt;
    const DRAIN_MAX: usize = 8 * MAX_BODY;
    let mut stream = req.into_body().into_data_stream();
    let mut buf: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::malformed("cannot read the request body"))?;
        seen += chunk.len();
        if seen <= MAX_BODY {
            buf.extend_from_slice(&chunk);
        } else if seen > DRAIN_MAX {
            break;
        }
    }
    if seen > MAX_BODY {
        return Err(ApiError::too_large(format!(
            "the body is larger than {} MiB",
            MAX_BODY / 1024 / 1024
        )));
    }
    Ok(Bytes::from(buf))
}

/// A JSON body: 413 over the size limit, 400 when it is not JSON. An empty body reads as `{}`.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_limited(req).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(Value::Object(Default::default())));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::malformed(format!("the body is not valid JSON: {e}")))
    }
}
