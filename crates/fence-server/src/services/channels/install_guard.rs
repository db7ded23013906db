//! Who may finish an "Add to Slack": the `state` Fence sends through Slack names a stored attempt (signed, expiring
//! in ten minutes), and the attempt is bound to the admin's Fence session and to a nonce kept in an HttpOnly cookie of
//! that browser. The callback is accepted once, from the same session with the same nonce; a forged, replayed,
//! expired or foreign `state` installs nothing.

use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use fence_store::orgs::hash_token;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const STATE_TTL_MS: i64 = 10 * 60_000;

/// The admin starting or finishing an install, as their Fence session shows them.
#[derive(Debug, Clone)]
pub struct Installer {
    pub org_id: String,
    pub user_id: String,
    /// The session's id (the cookie's value); only its hash is stored.
    pub session_id: String,
}

/// A started install: the `state` to send through Slack and the nonce for the installer's cookie.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub state: String,
    pub nonce: String,
}

/// Why a callback is refused, for the installer's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Altered, unknown or expired.
    Invalid,
    /// Already used once.
    Used,
    /// Started by another session or browser (the cookie's nonce differs or is missing).
    OtherSession,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Invalid => "The install link is not valid or has expired; start again from Fence.",
            Refusal::Used => "This install link was already used; start again from Fence.",
            Refusal::OtherSession => "This install was started in another Fence session or browser; start it again here, logged in as an admin.",
        }
    }
}

fn state_mac(state: &AppState, payload: &str) -> String {
    let key = state.secrets.derive("oauth-state");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key)
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(payload.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// Stores a new attempt for `installer` (an admin: the edge checked the role) and returns its `state` and nonce.
pub async fn begin(state: &AppState, installer: &Installer) -> ServiceResult<Attempt> {
    let now = state.clock.now_ms();
    let id = fence_store::new_id();
    let nonce = crate::crypto::new_token();
    let expires = now + STATE_TTL_MS;
    state
        .store
        .create_slack_install(
            &id,
            &installer.org_id,
            &installer.user_id,
            &installer.session_id,
            &nonce,
            expires,
            now,
        )
        .await?;
    let payload = format!("{id}.{expires}");
    let signed = format!("{payload}.{}", state_mac(state, &payload));
    Ok(Attempt {
        state: signed,
        nonce,
    })
}

fn same(a: &str, b: &str) -> bool {
    subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()).into()
}

/// Checks a callback's `state` against the installer's session and cookie `nonce` and uses the attempt up (of two
/// callbacks at once, one passes). `Ok` is the organization to install into.
pub async fn redeem(
    state: &AppState,
    signed: &str,
    installer: &Installer,
    nonce: Option<&str>,
) -> ServiceResult<Result<String, Refusal>> {
    let now = state.clock.now_ms();
    let Some((payload, mac)) = signed.rsplit_once('.') else {
        return Ok(Err(Refusal::Invalid));
    };
    let Some((id, expires)) = payload.split_once('.') else {
        return Ok(Err(Refusal::Invalid));
    };
    let live = expires.parse::<i64>().is_ok_and(|e| e > now);
    if !same(&state_mac(state, payload), mac) || !live {
        return Ok(Err(Refusal::Invalid));
    }
    let Some(row) = state.store.slack_install(id).await? else {
        return Ok(Err(Refusal::Invalid));
    };
    if row.used_at.is_some() {
        return Ok(Err(Refusal::Used));
    }
    let bound = row.org_id == installer.org_id
        && row.user_id == installer.user_id
        && same(&row.session_hash, &hash_token(&installer.session_id))
        && nonce.is_some_and(|n| same(&row.nonce_hash, &hash_token(n)));
    if !bound {
        return Ok(Err(Refusal::OtherSession));
    }
    if !state.store.use_slack_install(id, now).await? {
        return Ok(Err(Refusal::Used));
    }
    Ok(Ok(row.org_id))
}

/// Connects the organization to the installed workspace (`services::org::claim_team`'s rules), as a service error.
pub(super) async fn claim_team(state: &AppState, org_id: &str, team: &str) -> ServiceResult<bool> {
    state
        .store
        .claim_slack_team(org_id, team)
        .await
        .map_err(|e| match e {
            fence_store::StoreError::Conflict(m) => ServiceError::Conflict(format!(
                "Fence did not install the app: {m}. An organization's workspace is changed only on purpose, by an admin (PATCH /api/v1/org with \"slack_team_id\")."
            )),
            other => other.into(),
        })
}
