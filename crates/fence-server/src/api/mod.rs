//! The JSON API edge under `/api/v1`, plus `/healthz`, `/readyz`, `/metrics` and the signed CSV report. Handlers
//! check the caller's scopes, turn JSON into domain types, call one service operation and answer in JSON; nothing
//! below knows about HTTP.

mod channels;
mod deliveries;
mod domains;
mod findings;
mod health;
mod intel;
mod openapi;
mod org;
mod reports;
mod scans;
mod silences;
mod tokens;

pub use crate::http::body::{only_fields, read_limited, JsonBody, MAX_BODY, MAX_FINDINGS};
use crate::state::AppState;
use axum::routing::{get, post};
use axum::Router;

pub fn router() -> Router<AppState> {
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
            "/api/v1/findings/{id}/acknowledge",
            post(findings::acknowledge),
        )
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
        .route("/api/v1/scans", get(scans::list).post(scans::create))
        .route("/api/v1/scans/{id}", get(scans::get_one))
        .route("/api/v1/scans/{id}/results", post(scans::results))
        .route(
            "/api/v1/silences",
            get(silences::list).post(silences::create),
        )
        .route(
            "/api/v1/silences/{id}",
            get(silences::get_one).delete(silences::expire),
        )
        .route("/api/v1/intel/kev", post(intel::kev))
        .route("/api/v1/intel/epss", post(intel::epss))
        .route("/api/v1/org", get(org::get_org).patch(org::patch_org))
        .route("/api/v1/audit", get(org::audit))
        .route("/api/v1/tokens", get(tokens::list))
        .route("/api/v1/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route("/api/v1/openapi.json", get(openapi::document))
}
