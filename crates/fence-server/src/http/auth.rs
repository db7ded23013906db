//! API authentication: a bearer token, looked up by hash, confined to its organization and scopes.

use crate::http::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
pub use fence_core::Scope;

/// An authenticated caller: its organization and scopes.
#[derive(Debug, Clone)]
pub struct Caller {
    pub org_id: String,
    pub token_id: String,
    scopes: Vec<Scope>,
}

impl Caller {
    /// Fails with 403 unless the token has `scope` (or `admin`).
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.iter().any(|s| s.grants(scope)) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this token lacks the `{}` scope",
                scope.as_str()
            )))
        }
    }

    /// Whether any of `scopes` is granted.
    pub fn require_any(&self, scopes: &[Scope]) -> Result<(), ApiError> {
        if scopes.iter().any(|s| self.require(*s).is_ok()) {
            Ok(())
        } else {
            let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
            Err(ApiError::forbidden(format!(
                "this token needs one of the scopes {}",
                names.join(", ")
            )))
        }
    }

    /// The audit trail's name for this caller.
    pub fn actor(&self) -> String {
        format!("token:{}", self.token_id)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .unwrap_or("");
        // Fence never issues a token this short: no guessable value authenticates, whatever is stored.
        if token.chars().count() < crate::crypto::MIN_TOKEN_CHARS {
            return Err(ApiError::unauthorized());
        }
        match state
            .store
            .authenticate(token, state.clock.now_ms())
            .await?
        {
            Some(g) => Ok(Caller {
                org_id: g.org_id,
                token_id: g.token_id,
                scopes: g.scopes,
            }),
            None => Err(ApiError::unauthorized()),
        }
    }
}
