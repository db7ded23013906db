//! "Add to Slack" attempts: who started each (organization, user, a hash of the session), a hash of the nonce in
//! the installer's cookie, until when it is valid, and whether it was used (once).

use crate::orgs::hash_token;
use crate::{get_i64, get_opt_i64, get_str, Result, Store};

/// A stored attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackInstallRow {
    pub id: String,
    pub org_id: String,
    pub user_id: String,
    /// SHA-256 of the session id that started it.
    pub session_hash: String,
    /// SHA-256 of the cookie's nonce.
    pub nonce_hash: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

impl Store {
    /// Deletes Add to Slack attempts that expired by `now` (as new ones start, and from the retention job).
    pub async fn delete_expired_installs(&self, now: i64) -> Result<()> {
        sqlx::query("DELETE FROM slack_installs WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores an attempt (hashes of `session_id` and `nonce`, never the values) and forgets expired ones.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_slack_install(
        &self,
        id: &str,
        org_id: &str,
        user_id: &str,
        session_id: &str,
        nonce: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<()> {
        self.delete_expired_installs(now).await?;
        sqlx::query("INSERT INTO slack_installs (id, org_id, user_id, session_hash, nonce_hash, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id)
            .bind(org_id)
            .bind(user_id)
            .bind(hash_token(session_id))
            .bind(hash_token(nonce))
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn slack_install(&self, id: &str) -> Result<Option<SlackInstallRow>> {
        let row = sqlx::query("SELECT * FROM slack_installs WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.map(|r| {
            Ok(SlackInstallRow {
                id: get_str(&r, "id")?,
                org_id: get_str(&r, "org_id")?,
                user_id: get_str(&r, "user_id")?,
                session_hash: get_str(&r, "session_hash")?,
                nonce_hash: get_str(&r, "nonce_hash")?,
                expires_at: get_i64(&r, "expires_at")?,
                used_at: get_opt_i64(&r, "used_at")?,
            })
        })
        .transpose()
    }

    /// Marks an unused, unexpired attempt used; whether this call did (of two at once, exactly one does).
    pub async fn use_slack_install(&self, id: &str, now: i64) -> Result<bool> {
        let r = sqlx::query("UPDATE slack_installs SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND expires_at > $3")
            .bind(now)
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }
}
