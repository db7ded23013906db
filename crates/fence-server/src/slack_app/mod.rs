//! The Slack app edge: slash commands (`/fence scan|status|vulnerabilities|help`), button clicks (triage, fix
//! instructions, run scan), "Add to Slack" (OAuth v2), the Events API URL of the metadata subscriptions, and the app
//! manifest. Every Slack request is checked against
//! the v0 signature first; an unsigned or stale one gets 401 and changes nothing (404 when
//! `slack.signing_secret` is unset), and answers go only to `response_url`s on `slack.response_url_hosts`. The work is done by the services.

mod commands;
mod events;
mod interactions;
mod oauth;

use crate::http::error::ApiError;
use crate::state::AppState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fence_store::orgs::Org;
use serde_json::json;

/// The Slack app's routes under `/api/slack`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/slack/commands", post(commands::commands))
        .route("/api/slack/interactions", post(interactions::interactions))
        .route("/api/slack/events", post(events::events))
        .route("/api/slack/install", get(oauth::install))
        .route("/api/slack/oauth/callback", get(oauth::callback))
        .route("/api/slack/manifest", get(oauth::manifest))
}

/// Checks Slack's v0 signature over the raw body. Without `slack.signing_secret` the Slack endpoints do not exist
/// (404, like any unknown path): nothing can be signed, so nothing is accepted.
fn verify(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let Some(secret) = &state.config.slack.signing_secret else {
        return Err(ApiError::not_found("endpoint"));
    };
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    fence_slack::signature::verify(
        secret.expose(),
        h("x-slack-request-timestamp"),
        h("x-slack-signature"),
        body,
        state.clock.now_ms() / 1000,
    )
    .map_err(|_| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the request is not signed by Slack, or is too old",
        )
    })
}

/// A urlencoded form body's fields.
fn form(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_bytes(body).map_err(|_| ApiError::malformed("not a form body"))
}

/// A request's `response_url` when Fence may answer through it (`slack.response_url_hosts`), else nothing: a
/// signed request still must not make Fence post to an arbitrary address.
fn response_url<'a>(state: &AppState, url: &'a str) -> &'a str {
    if url.is_empty() || state.config.slack.response_url_allowed(url) {
        url
    } else {
        tracing::warn!("a response_url outside slack.response_url_hosts was ignored");
        ""
    }
}

/// What Fence reads of a Slack request body before it looks anything up — the form, an interaction's JSON payload
/// and its click, a command's words — for the fuzz target `slack_request` (`crates/fence-server/fuzz`). `None` when
/// the body would be refused as malformed.
#[doc(hidden)]
pub fn read_untrusted(body: &[u8]) -> Option<(String, String)> {
    let form = form(body).ok()?;
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    if form.iter().any(|(k, _)| k == "payload") {
        let payload: serde_json::Value = serde_json::from_str(get("payload")).ok()?;
        return Some(interactions::read_click(&payload));
    }
    let (cmd, rest) = commands::split_command(get("text"));
    Some((cmd.to_ascii_lowercase(), rest.to_string()))
}

fn ephemeral(text: impl Into<String>) -> Response {
    Json(json!({"response_type": "ephemeral", "text": text.into()})).into_response()
}

async fn org_of_team(state: &AppState, team: &str) -> Result<Option<Org>, ApiError> {
    Ok(state.store.org_by_slack_team(team).await?)
}

#[cfg(test)]
mod tests {
    use super::read_untrusted;

    #[test]
    fn commands_and_clicks_are_read_before_anything_is_looked_up() {
        assert_eq!(
            read_untrusted(b"team_id=T1&text=%20SCAN%20%20example.com%20"),
            Some(("scan".into(), "example.com".into()))
        );
        let click = "payload=%7B%22user%22%3A%7B%22team_id%22%3A%22T1%22%7D%2C%22actions%22%3A%5B%7B%22value%22%3A%22v%22%7D%5D%7D";
        assert_eq!(
            read_untrusted(click.as_bytes()),
            Some(("v".into(), "T1".into()))
        );
        assert_eq!(read_untrusted(b"payload=not-json"), None);
    }
}
