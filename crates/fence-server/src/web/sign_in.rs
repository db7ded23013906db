//! Sign in with Slack / OpenID Connect pages: `GET /login/oidc` sends the browser to the provider (the flow's
//! `state` also kept in an HttpOnly cookie of this browser), `GET /login/oidc/callback` finishes the sign-in
//! (`services::sign_in`) and starts a session on the page that asked for a log-in; a refusal shows the log-in page
//! with the reason.

use super::auth::{login_form, safe_next, secure, start_session, Sso, LOGIN_CSRF_COOKIE};
use super::cookie;
use crate::services::sign_in;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;

/// The cookie that ties a sign-in to the browser that started it.
const STATE_COOKIE: &str = "fence_oidc_state";
/// The longest callback parameter read.
const MAX_PARAM: usize = 2_048;

/// The log-in page with a refusal, and a fresh CSRF cookie for its password form.
fn refused(state: &AppState, status: StatusCode, message: &str, next: Option<&str>) -> Response {
    let token = crate::crypto::new_token();
    let set = format!(
        "{LOGIN_CSRF_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict{}",
        secure(state)
    );
    let clear = format!("{STATE_COOKIE}=; Path=/login/oidc; HttpOnly; SameSite=Lax; Max-Age=0");
    let page = login_form(&token, Some(message), next, Sso::of(state, next));
    let mut r = (status, page).into_response();
    for c in [set, clear] {
        if let Ok(v) = header::HeaderValue::from_str(&c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

pub async fn start(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if state.oidc.is_none() {
        return (StatusCode::NOT_FOUND, "Single sign-on is not configured.").into_response();
    }
    let next = q.get("next").and_then(|n| safe_next(n));
    match sign_in::start(&state, next).await {
        Ok(started) => {
            let set = format!(
                "{STATE_COOKIE}={}; Path=/login/oidc; HttpOnly; SameSite=Lax; Max-Age={}{}",
                started.state,
                sign_in::SIGN_IN_MS / 1000,
                secure(&state)
            );
            (
                [(header::SET_COOKIE, set)],
                Redirect::to(&started.authorize_url),
            )
                .into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e.public_message(), "sign-in could not start");
            refused(
                &state,
                StatusCode::BAD_GATEWAY,
                "Sign-in is unavailable right now: the identity provider could not be reached. Try again, or log in with your password.",
                next,
            )
        }
    }
}

pub async fn callback(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if state.oidc.is_none() {
        return (StatusCode::NOT_FOUND, "Single sign-on is not configured.").into_response();
    }
    let param = |k: &str| {
        q.get(k)
            .map(String::as_str)
            .filter(|v| v.len() <= MAX_PARAM)
            .unwrap_or("")
    };
    if !param("error").is_empty() {
        // The user cancelled at the provider (`access_denied`) or it refused; its words are shown as text.
        let said: String = param("error").chars().take(100).collect();
        let message = format!(
            "The sign-in did not complete ({said}). Try again, or log in with your password."
        );
        return refused(&state, StatusCode::UNAUTHORIZED, &message, None);
    }
    let cookie_state = cookie(&headers, STATE_COOKIE);
    match sign_in::finish(&state, param("code"), param("state"), cookie_state).await {
        Ok((user, next)) => {
            let clear =
                format!("{STATE_COOKIE}=; Path=/login/oidc; HttpOnly; SameSite=Lax; Max-Age=0");
            let next = next.as_deref().and_then(safe_next);
            start_session(&state, &user, next, &[clear]).await
        }
        Err(e) => refused(&state, StatusCode::UNAUTHORIZED, &e.public_message(), None),
    }
}
