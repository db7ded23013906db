//! "Add to Slack": `GET /api/slack/install` (an admin's Fence session) redirects to Slack's consent screen and sets
//! the install's nonce cookie, and `GET /api/slack/oauth/callback` finishes the installation — for the same admin
//! session with the same cookie, once — and says so on a small page; also `GET /api/slack/manifest`, the app
//! manifest for this Fence's `base_url`.

use crate::http::error::ApiError;
use crate::http::session::{
    clear_install_cookie, cookie, install_cookie, installer, INSTALL_COOKIE,
};
use crate::services::channels::{finish_install, install_url, redeem_install, Installer};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fence_core::Role;

/// The admin whose session this request carries, or the page that says why not.
async fn admin(state: &AppState, headers: &HeaderMap) -> Result<Installer, Response> {
    match installer(state, headers).await {
        None => Err(page(
            StatusCode::UNAUTHORIZED,
            "Log in to Fence as an admin, then use Add to Slack (Settings → Notifications).",
        )),
        Some((_, role)) if role != Role::Admin => Err(page(
            StatusCode::FORBIDDEN,
            "Only a Fence admin may install the Slack app.",
        )),
        Some((i, _)) => Ok(i),
    }
}

/// `GET /api/slack/install` (an admin's session): redirects to Slack's consent screen with the attempt's `state`,
/// and keeps its nonce in an HttpOnly cookie.
pub async fn install(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let installer = match admin(&state, &headers).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    match install_url(&state, &installer).await {
        Ok((url, attempt)) => (
            [(header::SET_COOKIE, install_cookie(&state, &attempt.nonce))],
            Redirect::to(&url),
        )
            .into_response(),
        Err(e) => {
            let text = e.public_message();
            page(ApiError::from(e).status, &text)
        }
    }
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
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    let mut r = finish(&state, &headers, q).await;
    if let Ok(v) = header::HeaderValue::from_str(&clear_install_cookie()) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn finish(state: &AppState, headers: &HeaderMap, q: Callback) -> Response {
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
    let installer = match admin(state, headers).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let org_id =
        match redeem_install(state, &signed, &installer, cookie(headers, INSTALL_COOKIE)).await {
            Ok(Ok(org)) => org,
            Ok(Err(refusal)) => return page(StatusCode::UNAUTHORIZED, refusal.message()),
            Err(e) => return page(StatusCode::INTERNAL_SERVER_ERROR, &e.public_message()),
        };
    match finish_install(state, &org_id, &code).await {
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
