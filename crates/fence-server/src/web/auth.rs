//! Logging in and out: argon2id password hashes, sessions in HttpOnly SameSite cookies, a CSRF token on the log-in
//! form too (double-submit cookie), and a slow-down after repeated failures.

use super::page::{bare, bare_error, Static};
use super::{cookie, field, form, Session, SESSION_COOKIE};
use crate::crypto::{hash_password, verify_password_blocking};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::{header, request::Parts, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Serialize;

const LOGIN_CSRF_COOKIE: &str = "fence_login_csrf";
const SESSION_MS: i64 = 12 * 3_600_000;
/// Failed log-ins for one email within this window before further attempts are refused.
const FAILURE_WINDOW_MS: i64 = 15 * 60_000;
const MAX_FAILURES: i64 = 5;
/// The longest email (RFC 5321's path limit) and password a log-in may send; longer ones are refused unread (and
/// never stored as a failure).
const MAX_EMAIL_LEN: usize = 254;
const MAX_PASSWORD_LEN: usize = 1024;

fn secure(state: &AppState) -> &'static str {
    if state.config.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// The log-in form, with the double-submit token and the reason of a failed attempt.
#[derive(Serialize)]
struct LoginForm<'a> {
    csrf: &'a str,
    error: Option<&'a str>,
}

fn login_form(token: &str, error: Option<&str>) -> Html<String> {
    bare("web/login.html", "Log in", LoginForm { csrf: token, error })
}

pub async fn login_page(State(state): State<AppState>) -> Response {
    let token = crate::crypto::new_token();
    let set = format!(
        "{LOGIN_CSRF_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict{}",
        secure(&state)
    );
    ([(header::SET_COOKIE, set)], login_form(&token, None)).into_response()
}

/// The user whose password this is, or none; the same work whether or not the account exists, off the async
/// workers.
async fn check_password(
    state: &AppState,
    email: &str,
    password: &str,
) -> Option<fence_store::users::UserRow> {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let user = state.store.user_by_email(email).await.ok().flatten();
    let hash = match &user {
        Some(u) => u.password_hash.clone(),
        None => DUMMY
            .get_or_init(|| hash_password("not a password").unwrap_or_default())
            .clone(),
    };
    let valid = verify_password_blocking(password.to_string(), hash).await;
    user.filter(|_| valid)
}

pub async fn login(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let f = form(&body);
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE)
        .unwrap_or("")
        .to_string();
    let sent = field(&f, "_csrf");
    let ok: bool = subtle::ConstantTimeEq::ct_eq(sent.as_bytes(), expected.as_bytes()).into();
    if expected.is_empty() || !ok {
        let expired = bare("web/login_expired.html", "Log in", Static {});
        return (StatusCode::FORBIDDEN, expired).into_response();
    }
    let email = field(&f, "email").trim().to_ascii_lowercase();
    let password = field(&f, "password");
    let now = state.clock.now_ms();
    let retry =
        |msg: &str, status: StatusCode| (status, login_form(&expected, Some(msg))).into_response();
    if email.len() > MAX_EMAIL_LEN || password.len() > MAX_PASSWORD_LEN {
        return retry("Wrong email or password.", StatusCode::UNAUTHORIZED);
    }
    if state
        .store
        .login_failures(&email, now - FAILURE_WINDOW_MS)
        .await
        .unwrap_or(0)
        >= MAX_FAILURES
    {
        return retry(
            "Too many failed attempts for this account; wait 15 minutes and try again.",
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let user = check_password(&state, &email, password).await;
    let Some(user) = user else {
        let _ = state
            .store
            .record_login_failure(&email, now, now - FAILURE_WINDOW_MS)
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        return retry("Wrong email or password.", StatusCode::UNAUTHORIZED);
    };
    let _ = state.store.clear_login_failures(&email).await;
    let session = crate::crypto::new_token();
    let csrf = crate::crypto::new_token();
    if state
        .store
        .create_session(&session, &user.id, &csrf, now + SESSION_MS, now)
        .await
        .is_err()
    {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            bare_error("Log in", "Cannot start a session."),
        )
            .into_response();
    }
    let _ = state
        .store
        .audit(
            &user.org_id,
            &format!("user:{}", user.email),
            "user.login",
            None,
            None,
            now,
        )
        .await;
    let set = format!(
        "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        SESSION_MS / 1000,
        secure(&state)
    );
    ([(header::SET_COOKIE, set)], Redirect::to("/dashboard")).into_response()
}

pub async fn logout(State(state): State<AppState>, parts: Parts, body: Bytes) -> Response {
    let mut parts = parts;
    let Ok(session) = Session::from_request_parts(&mut parts, &state).await else {
        return Redirect::to("/login").into_response();
    };
    if let Err(r) = session.check_csrf(&form(&body)) {
        return r.into_response();
    }
    if let Some(id) = cookie(&parts.headers, SESSION_COOKIE) {
        let _ = state.store.delete_session(id).await;
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    ([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_in_pages_render() {
        let out = login_form("fence_t", Some("Wrong <email>.")).0;
        assert!(
            out.contains("<input type=hidden name=_csrf value=\"fence_t\">"),
            "{out}"
        );
        assert!(out.contains("<p class=error>Wrong &lt;email&gt;.</p>"));
        assert!(out.contains("id=login") && !out.contains("Log out"));
        assert!(!login_form("fence_t", None).0.contains("class=error"));
        let out = bare("web/login_expired.html", "Log in", Static {}).0;
        assert!(out.contains("CSRF check failed"), "{out}");
    }
}
