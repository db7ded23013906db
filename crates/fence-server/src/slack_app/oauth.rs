//! "Add to Slack": `GET /api/slack/install` (admin token) redirects to Slack's consent screen, and
//! `GET /api/slack/oauth/callback` finishes the installation and says so on a small page; also
//! `GET /api/slack/manifest`, the app manifest for this Fence's `base_url`.

use crate::http::auth::{Caller, Scope};
use crate::http::error::ApiError;
use crate::services::channels::{finish_install, install_url, verify_state};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};

/// `GET /api/slack/install` (admin): redirects to Slack's consent screen with a signed, expiring `state`.
pub async fn install(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let url = install_url(&state, &caller.org_id).await?;
    Ok(Redirect::to(&url).into_response())
}

#[derive(Debug, serde::Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The page the browser shows after Slack sent it back.
fn page(status: StatusCode, text: &str) -> Response {
    let body = crate::html::render("slack_page.html", minijinja::context! { text });
    (status, Html(body)).into_response()
}

/// `GET /api/slack/oauth/callback`: exchanges the code and creates the channel with the webhook, its channel name
/// and the bot token, and maps the workspace to the organization.
pub async fn callback(State(state): State<AppState>, Query(q): Query<Callback>) -> Response {
    if let Some(e) = q.error {
        return page(
            StatusCode::BAD_REQUEST,
            &format!(
                "Slack did not install the app: {}",
                e.chars().take(60).collect::<String>()
            ),
        );
    }
    let (Some(code), Some(signed)) = (q.code, q.state) else {
        return page(
            StatusCode::BAD_REQUEST,
            "The link is missing its code or state.",
        );
    };
    let Some(org_id) = verify_state(&state, &signed) else {
        return page(
            StatusCode::UNAUTHORIZED,
            "The install link is not valid or has expired; start again from Fence.",
        );
    };
    match finish_install(&state, &org_id, &code).await {
        Ok(channel) => page(
            StatusCode::OK,
            &format!("Fence is connected to {channel}. You can close this page."),
        ),
        Err(e) => {
            let text = e.public_message();
            let e = ApiError::from(e);
            page(e.status, &text)
        }
    }
}

/// `GET /api/slack/manifest`: the app manifest for this Fence's `base_url`, to paste at api.slack.com.
pub async fn manifest(State(state): State<AppState>) -> Response {
    let text = include_str!("../../../../slack-app-manifest.yaml")
        .replace("https://fence.example.com", &state.config.base_url);
    ([(header::CONTENT_TYPE, "text/yaml; charset=utf-8")], text).into_response()
}
