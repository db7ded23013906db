//! The web session's cookie, which the web UI and "Add to Slack" both read, and the install nonce's cookie that
//! binds an OAuth callback to the browser that started it.

use crate::services::channels::Installer;
use crate::state::AppState;
use axum::http::HeaderMap;
use fence_core::Role;

pub const SESSION_COOKIE: &str = "fence_session";
/// The "Add to Slack" nonce: HttpOnly, only sent to the callback, gone after ten minutes.
pub const INSTALL_COOKIE: &str = "fence_slack_install";
const INSTALL_PATH: &str = "/api/slack/oauth";

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// `; Secure` when Fence is served over https.
pub fn secure(state: &AppState) -> &'static str {
    if state.config.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// The `Set-Cookie` value carrying an install's nonce. `SameSite=Lax`: Slack sends the browser back with a
/// top-level GET, which Lax cookies accompany.
pub fn install_cookie(state: &AppState, nonce: &str) -> String {
    format!(
        "{INSTALL_COOKIE}={nonce}; Path={INSTALL_PATH}; HttpOnly; SameSite=Lax; Max-Age=600{}",
        secure(state)
    )
}

/// The `Set-Cookie` value that removes the install nonce.
pub fn clear_install_cookie() -> String {
    format!("{INSTALL_COOKIE}=; Path={INSTALL_PATH}; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// The logged-in user of a request, with their role, as an installer.
pub async fn installer(state: &AppState, headers: &HeaderMap) -> Option<(Installer, Role)> {
    let id = cookie(headers, SESSION_COOKIE)?;
    let s = state
        .store
        .session(id, state.clock.now_ms())
        .await
        .ok()
        .flatten()?;
    let role = s.user.role;
    Some((
        Installer {
            org_id: s.user.org_id,
            user_id: s.user.id,
            session_id: id.to_string(),
        },
        role,
    ))
}
