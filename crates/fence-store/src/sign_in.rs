//! Sign in with Slack / OpenID Connect: sign-ins under way (by the hash of their `state`, taken once), and users
//! by their identity at the provider (issuer and subject, migration 0111).

use crate::orgs::hash_token;
use crate::users::user_from;
use crate::{get_i64, get_opt_str, get_str, new_id, Result, Store, StoreError};

/// A sign-in under way, as its callback takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcLogin {
    pub nonce: String,
    /// The PKCE code verifier.
    pub verifier: String,
    /// The page of this server to return to.
    pub next: Option<String>,
}

impl Store {
    /// Stores a sign-in under `state` (its hash, never the value) until `expires_at`, and forgets expired ones.
    pub async fn begin_oidc_login(
        &self,
        state: &str,
        login: &OidcLogin,
        expires_at: i64,
        now: i64,
    ) -> Result<()> {
        sqlx::query("DELETE FROM oidc_logins WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query("INSERT INTO oidc_logins (state_hash, nonce, verifier, next, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(hash_token(state))
            .bind(&login.nonce)
            .bind(&login.verifier)
            .bind(login.next.as_deref())
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Takes the sign-in stored under `state`: once (of two callbacks at once exactly one gets it), and only before
    /// it expires.
    pub async fn take_oidc_login(&self, state: &str, now: i64) -> Result<Option<OidcLogin>> {
        let row = sqlx::query(
            "DELETE FROM oidc_logins WHERE state_hash = $1 RETURNING nonce, verifier, next, expires_at",
        )
        .bind(hash_token(state))
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        if get_i64(&r, "expires_at")? <= now {
            return Ok(None);
        }
        Ok(Some(OidcLogin {
            nonce: get_str(&r, "nonce")?,
            verifier: get_str(&r, "verifier")?,
            next: get_opt_str(&r, "next")?,
        }))
    }

    /// The user who signed in before as `subject` of `issuer`.
    pub async fn user_by_oidc(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<crate::users::UserRow>> {
        let r = sqlx::query("SELECT * FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2")
            .bind(issuer)
            .bind(subject)
            .fetch_optional(self.reader())
            .await?;
        r.as_ref().map(user_from).transpose()
    }

    /// Ties an existing user (who has no provider identity yet) to `subject` of `issuer`; whether it did.
    pub async fn link_oidc(&self, user_id: &str, issuer: &str, subject: &str) -> Result<bool> {
        let r = sqlx::query("UPDATE users SET oidc_issuer = $1, oidc_subject = $2 WHERE id = $3 AND oidc_subject IS NULL")
            .bind(issuer)
            .bind(subject)
            .bind(user_id)
            .execute(&self.pool)
            .await;
        match r {
            Ok(r) => Ok(r.rows_affected() == 1),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict(
                "this identity already belongs to another user".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// A user who signs in only through the provider (no password: the stored hash is empty, which no password
    /// matches).
    pub async fn create_oidc_user(
        &self,
        org_id: &str,
        email: &str,
        role: fence_core::Role,
        issuer: &str,
        subject: &str,
        now: i64,
    ) -> Result<crate::users::UserRow> {
        let id = new_id();
        let r = sqlx::query("INSERT INTO users (id, org_id, email, password_hash, role, created_at, oidc_issuer, oidc_subject) VALUES ($1, $2, $3, '', $4, $5, $6, $7)")
            .bind(&id)
            .bind(org_id)
            .bind(email)
            .bind(role.as_str())
            .bind(now)
            .bind(issuer)
            .bind(subject)
            .execute(&self.pool)
            .await;
        match r {
            Ok(_) => Ok(crate::users::UserRow {
                id,
                org_id: org_id.into(),
                email: email.into(),
                password_hash: String::new(),
                role,
                timezone: None,
            }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict(
                format!("a user with the email {email} exists"),
            )),
            Err(e) => Err(e.into()),
        }
    }
}
