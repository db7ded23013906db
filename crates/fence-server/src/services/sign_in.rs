//! Sign in with Slack / OpenID Connect: starting a sign-in (its `state`, `nonce` and PKCE verifier stored for ten
//! minutes, taken once) and finishing it — the provider's identity checked (`crate::oidc`), the Slack workspace
//! the organization's, and the user found by identity, else linked by a verified email, else created with
//! `oidc.default_role` — audited like a password log-in.

use super::ServiceError;
use crate::oidc::Identity;
use crate::state::AppState;
use fence_store::sign_in::OidcLogin;
use fence_store::users::UserRow;

/// How long a started sign-in may take.
pub const SIGN_IN_MS: i64 = 10 * 60_000;

/// A started sign-in: where to send the browser, and the `state` its cookie keeps.
#[derive(Debug)]
pub struct Started {
    pub authorize_url: String,
    pub state: String,
}

/// Where the provider sends the browser back.
pub fn redirect_uri(state: &AppState) -> String {
    format!("{}/login/oidc/callback", state.config.base_url)
}

fn client(state: &AppState) -> Result<&crate::oidc::OidcClient, ServiceError> {
    state.oidc.as_deref().ok_or_else(|| {
        ServiceError::NotConfigured("Single sign-on is not configured (oidc.issuer).".into())
    })
}

/// Starts a sign-in that returns to `next` (a page of this server, already checked).
pub async fn start(state: &AppState, next: Option<&str>) -> Result<Started, ServiceError> {
    let oidc = client(state)?;
    let now = state.clock.now_ms();
    let flow = crate::crypto::new_token();
    let login = OidcLogin {
        nonce: crate::crypto::new_token(),
        verifier: crate::crypto::new_token(),
        next: next.map(str::to_string),
    };
    let authorize_url = oidc
        .authorize_url(&redirect_uri(state), &flow, &login.nonce, &login.verifier)
        .await
        .map_err(|e| ServiceError::Upstream(e.to_string()))?;
    state
        .store
        .begin_oidc_login(&flow, &login, now + SIGN_IN_MS, now)
        .await?;
    Ok(Started {
        authorize_url,
        state: flow,
    })
}

/// Finishes the sign-in whose callback brought `code` and `state`, from a browser whose cookie holds
/// `cookie_state`: the user (and the page to go to) once every check passed.
pub async fn finish(
    state: &AppState,
    code: &str,
    flow: &str,
    cookie_state: Option<&str>,
) -> Result<(UserRow, Option<String>), ServiceError> {
    let oidc = client(state)?;
    let same: bool = cookie_state
        .is_some_and(|c| subtle::ConstantTimeEq::ct_eq(c.as_bytes(), flow.as_bytes()).into());
    if !same || flow.is_empty() {
        return Err(ServiceError::Conflict(
            "This sign-in was started in another browser or has expired. Sign in again.".into(),
        ));
    }
    let now = state.clock.now_ms();
    let Some(login) = state.store.take_oidc_login(flow, now).await? else {
        return Err(ServiceError::Conflict(
            "This sign-in was already used or has expired. Sign in again.".into(),
        ));
    };
    let identity = oidc
        .finish(
            code,
            &redirect_uri(state),
            &login.verifier,
            &login.nonce,
            now / 1000,
        )
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "sign-in refused");
            ServiceError::Upstream(format!("Sign-in failed: {e}."))
        })?;
    let org_id = organization_of(state, &identity).await?;
    let user = user_for(state, &org_id, &identity).await?;
    let _ = state
        .store
        .audit(
            &user.org_id,
            &format!("user:{}", user.email),
            "user.login",
            None,
            Some("single sign-on"),
            now,
        )
        .await;
    Ok((user, login.next))
}

/// The organization a signed-in identity belongs to: the one whose Slack workspace it is (which must be
/// `oidc.allowed_team` when that is set); with a provider that names no workspace, the installation's only
/// organization.
async fn organization_of(state: &AppState, id: &Identity) -> Result<String, ServiceError> {
    let foreign = || {
        ServiceError::Conflict(
            "Your Slack workspace is not the one this Fence belongs to; sign in with an account of the organization's workspace.".into(),
        )
    };
    let allowed = state
        .oidc
        .as_deref()
        .and_then(|o| o.config.allowed_team.as_deref());
    match (id.team.as_deref(), allowed) {
        (Some(team), Some(allowed)) if team != allowed => Err(foreign()),
        (None, Some(_)) => Err(foreign()),
        (Some(team), allowed) => match state.store.org_by_slack_team(team).await? {
            Some(org) => Ok(org.id),
            None if allowed.is_some() => only_organization(state).await,
            None => Err(foreign()),
        },
        (None, None) => only_organization(state).await,
    }
}

async fn only_organization(state: &AppState) -> Result<String, ServiceError> {
    let orgs = state.store.list_org_ids(2).await?;
    match orgs.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(ServiceError::Conflict(
            "This Fence has several organizations; sign-in needs each to have its Slack workspace (Add to Slack).".into(),
        )),
    }
}

/// The user of an identity: the one who signed in with it before; else the organization's user with its (verified)
/// email, from now on tied to it; else a new user with `oidc.default_role`.
async fn user_for(state: &AppState, org_id: &str, id: &Identity) -> Result<UserRow, ServiceError> {
    let Some(oidc) = state.oidc.as_deref() else {
        return Err(ServiceError::NotConfigured("oidc.issuer".into()));
    };
    let issuer = &oidc.config.issuer;
    if let Some(user) = state.store.user_by_oidc(issuer, &id.subject).await? {
        if user.org_id != org_id {
            return Err(ServiceError::Conflict(
                "This account belongs to another organization of this Fence.".into(),
            ));
        }
        return Ok(user);
    }
    let email = id
        .email
        .as_deref()
        .filter(|e| e.contains('@') && e.len() <= 254)
        .ok_or_else(|| {
            ServiceError::Conflict(
                "The identity provider did not share your email address (the email scope); Fence needs it to know you.".into(),
            )
        })?
        .trim()
        .to_ascii_lowercase();
    if !id.email_verified {
        return Err(ServiceError::Conflict(
            "The identity provider says your email address is not verified; verify it there, then sign in again.".into(),
        ));
    }
    if let Some(user) = state.store.user_by_email(&email).await? {
        if user.org_id != org_id {
            return Err(ServiceError::Conflict(
                "A user with your email address belongs to another organization of this Fence."
                    .into(),
            ));
        }
        if !state.store.link_oidc(&user.id, issuer, &id.subject).await? {
            return Err(ServiceError::Conflict(
                "Your Fence user is already tied to another sign-in account; ask an admin.".into(),
            ));
        }
        return Ok(user);
    }
    let now = state.clock.now_ms();
    let user = state
        .store
        .create_oidc_user(
            org_id,
            &email,
            oidc.config.default_role,
            issuer,
            &id.subject,
            now,
        )
        .await?;
    let _ = state
        .store
        .audit(
            org_id,
            &format!("user:{email}"),
            "user.created",
            None,
            Some(&format!("first sign-in, role {}", user.role.as_str())),
            now,
        )
        .await;
    Ok(user)
}
