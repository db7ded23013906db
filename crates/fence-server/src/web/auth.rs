//! Logging in and out: argon2id password hashes, sessions in HttpOnly SameSite cookies, a CSRF token on the log-in
//! form too (double-submit cookie), and a back-off per (account, client address) after repeated attempts.

use super::page::{bare, bare_error, Static};
use super::{cookie, field, form, Session, SESSION_COOKIE};
use crate::crypto::{hash_password, verify_password_blocking};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::{header, request::Parts, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Serialize;

pub(super) const LOGIN_CSRF_COOKIE: &str = "fence_login_csrf";
const SESSION_MS: i64 = 12 * 3_600_000;
/// How long log-in attempts are remembered.
const FAILURE_WINDOW_MS: i64 = 15 * 60_000;
/// Attempts an (account, address) pair may make in the window before each must wait for the previous one.
const FREE_ATTEMPTS: usize = 5;
/// The longest wait between two attempts.
const MAX_BACKOFF_MS: i64 = 15 * 60_000;

/// How long after the previous attempt the next may come, with `before` attempts in the window: nothing for the
/// first five, then 1 s, 2 s, 4 s … up to 15 minutes.
fn backoff_ms(before: usize) -> i64 {
    if before < FREE_ATTEMPTS {
        return 0;
    }
    let doublings = u32::try_from(before - FREE_ATTEMPTS)
        .unwrap_or(u32::MAX)
        .min(20);
    (1_000i64 << doublings).min(MAX_BACKOFF_MS)
}
/// The longest email (RFC 5321's path limit) and password a log-in may send; longer ones are refused unread (and
/// never stored as a failure).
const MAX_EMAIL_LEN: usize = 254;
const MAX_PASSWORD_LEN: usize = 1024;

pub(super) fn secure(state: &AppState) -> &'static str {
    if state.config.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// The log-in form, with the double-submit token, the reason of a failed attempt and the page to go to after.
#[derive(Serialize)]
struct LoginForm<'a> {
    csrf: &'a str,
    error: Option<&'a str>,
    next: Option<&'a str>,
    /// The single sign-on link (`/login/oidc?next=…`) and its words, when `[oidc]` is configured.
    sso: Option<Sso>,
}

/// The log-in page's single sign-on button.
#[derive(Serialize)]
pub(super) struct Sso {
    href: String,
    label: &'static str,
}

impl Sso {
    pub(super) fn of(state: &AppState, next: Option<&str>) -> Option<Sso> {
        let oidc = state.config.oidc.as_ref()?;
        let href = match next {
            Some(n) => format!(
                "/login/oidc?next={}",
                url::form_urlencoded::byte_serialize(n.as_bytes()).collect::<String>()
            ),
            None => "/login/oidc".into(),
        };
        let label = if oidc.is_slack() {
            "Sign in with Slack"
        } else {
            "Sign in with single sign-on"
        };
        Some(Sso { href, label })
    }
}

pub(super) fn login_form(
    token: &str,
    error: Option<&str>,
    next: Option<&str>,
    sso: Option<Sso>,
) -> Html<String> {
    bare(
        "web/login.html",
        "Log in",
        LoginForm {
            csrf: token,
            error,
            next,
            sso,
        },
    )
}

/// The longest page address a log-in carries to come back to.
const MAX_NEXT_LEN: usize = 2_000;

/// Where a log-in may send its user afterwards: a path on this server (`/findings/…`), never another site
/// (`//evil.example`, `/\evil.example`, `https://…`), never the log-in page itself; anything else is the dashboard.
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.starts_with("/login")
        && next.len() <= MAX_NEXT_LEN
        && !next
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    ok.then_some(next)
}

pub async fn login_page(
    State(state): State<AppState>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let token = crate::crypto::new_token();
    let set = format!(
        "{LOGIN_CSRF_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict{}",
        secure(&state)
    );
    let next = q.get("next").and_then(|n| safe_next(n));
    let sso = Sso::of(&state, next);
    (
        [(header::SET_COOKIE, set)],
        login_form(&token, None, next, sso),
    )
        .into_response()
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

/// Counts this attempt of (`email`, `ip`) before its password is checked, or refuses it — the message, status and
/// seconds to wait — when it comes before the back-off allows.
async fn reserve_attempt(
    state: &AppState,
    email: &str,
    ip: &str,
    now: i64,
) -> Result<(), (String, StatusCode, Option<i64>)> {
    let since = now - FAILURE_WINDOW_MS;
    let Ok((attempt, times)) = state
        .store
        .reserve_login_attempt(email, ip, now, since)
        .await
    else {
        return Err((
            "Cannot log in right now; try again.".into(),
            StatusCode::SERVICE_UNAVAILABLE,
            None,
        ));
    };
    // The latest other attempt of this pair (concurrent ones included) and how long after it this one must come.
    let before = times.len().saturating_sub(1);
    let previous = times.iter().rev().nth(1).copied().unwrap_or(0);
    let wait_until = previous + backoff_ms(before);
    if before >= FREE_ATTEMPTS && now < wait_until {
        let _ = state.store.release_login_attempt(&attempt).await;
        let secs = (wait_until - now + 999) / 1000;
        return Err((
            format!("Too many attempts from here for this account; try again in {secs} s."),
            StatusCode::TOO_MANY_REQUESTS,
            Some(secs),
        ));
    }
    Ok(())
}

pub async fn login(
    State(state): State<AppState>,
    peer: Option<axum::Extension<crate::http::client_ip::Peer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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
    let next = safe_next(field(&f, "next"));
    let now = state.clock.now_ms();
    let retry = |msg: &str, status: StatusCode| {
        let sso = Sso::of(&state, next);
        (status, login_form(&expected, Some(msg), next, sso)).into_response()
    };
    if email.len() > MAX_EMAIL_LEN || password.len() > MAX_PASSWORD_LEN {
        return retry("Wrong email or password.", StatusCode::UNAUTHORIZED);
    }
    let ip = peer.map_or_else(String::new, |p| {
        state
            .config
            .trusted_proxies
            .client_ip(p.0 .0.ip(), &headers)
            .to_string()
    });
    if let Err((message, status, wait_secs)) = reserve_attempt(&state, &email, &ip, now).await {
        let mut refused = retry(&message, status);
        if let Some(v) = wait_secs.and_then(|s| header::HeaderValue::from_str(&s.to_string()).ok())
        {
            refused.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return refused;
    }
    let user = check_password(&state, &email, password).await;
    let Some(user) = user else {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        return retry("Wrong email or password.", StatusCode::UNAUTHORIZED);
    };
    let _ = state.store.clear_login_attempts(&email, &ip).await;
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
    start_session(&state, &user, next, &[]).await
}

/// Starts a session for a user who proved who they are (a password, or the identity provider) and sends them to
/// `next` (a checked page of this server) or the dashboard, also setting `extra_cookies`.
pub(super) async fn start_session(
    state: &AppState,
    user: &fence_store::users::UserRow,
    next: Option<&str>,
    extra_cookies: &[String],
) -> Response {
    let now = state.clock.now_ms();
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
    let set = format!(
        "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        SESSION_MS / 1000,
        secure(state)
    );
    let to = next.unwrap_or("/dashboard");
    let mut r = Redirect::to(to).into_response();
    for c in std::iter::once(&set).chain(extra_cookies) {
        if let Ok(v) = header::HeaderValue::from_str(c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
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
        let out = login_form(
            "fence_t",
            Some("Wrong <email>."),
            Some("/findings/f1?x=1&y=2"),
            None,
        )
        .0;
        assert!(
            out.contains(
                "<input type=hidden name=next value=\"&#x2f;findings&#x2f;f1?x=1&amp;y=2\">"
            ),
            "{out}"
        );
        assert!(
            out.contains("<input type=hidden name=_csrf value=\"fence_t\">"),
            "{out}"
        );
        assert!(out.contains("<p class=error>Wrong &lt;email&gt;.</p>"));
        assert!(out.contains("id=login") && !out.contains("Log out"));
        assert!(
            !out.contains("/login/oidc"),
            "no sign-on button unless configured"
        );
        assert!(!login_form("fence_t", None, None, None)
            .0
            .contains("class=error"));
        assert!(!login_form("fence_t", None, None, None)
            .0
            .contains("name=next"));
        let sso = Sso {
            href: "/login/oidc?next=%2Ffindings%2Ff1".into(),
            label: "Sign in with Slack",
        };
        let out = login_form("fence_t", None, None, Some(sso)).0;
        assert!(
            out.contains("href=\"&#x2f;login&#x2f;oidc?next=%2Ffindings%2Ff1\"")
                && out.contains("Sign in with Slack"),
            "{out}"
        );
        let out = bare("web/login_expired.html", "Log in", Static {}).0;
        assert!(out.contains("CSRF check failed"), "{out}");
    }

    #[test]
    fn a_log_in_returns_only_to_pages_of_this_server() {
        assert_eq!(safe_next("/findings/f1"), Some("/findings/f1"));
        assert_eq!(
            safe_next("/findings?status=open"),
            Some("/findings?status=open")
        );
        for bad in [
            "//evil.example/x",
            "/\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "/login?next=/x",
            "/findings/\nSet-Cookie:x",
            "",
            "findings",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
        assert_eq!(safe_next(&format!("/{}", "a".repeat(3_000))), None);
    }
}
