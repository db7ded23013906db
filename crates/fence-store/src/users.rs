//! Users of the web UI (argon2id hashes are made by the server; this stores them), sessions by hash with their
//! CSRF token, and the failed log-ins that slow down guessing.

use crate::orgs::hash_token;
use crate::{get_i64, get_opt_str, get_str, new_id, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub password_hash: String,
    pub role: fence_core::Role,
    /// The IANA time zone the pages show this user times in; `None`: the organization's.
    pub timezone: Option<String>,
}

/// A live session and whom it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub user: UserRow,
    pub csrf: String,
    /// The organization's time zone (the user's own is on `user`).
    pub org_timezone: String,
}

pub(crate) fn user_from(r: &sqlx::any::AnyRow) -> Result<UserRow> {
    Ok(UserRow {
        id: get_str(r, "id")?,
        org_id: get_str(r, "org_id")?,
        email: get_str(r, "email")?,
        password_hash: get_str(r, "password_hash")?,
        role: fence_core::Role::parse(&get_str(r, "role")?).map_err(StoreError::Corrupt)?,
        timezone: get_opt_str(r, "timezone")?,
    })
}

impl Store {
    /// A user's own time zone for the pages (an IANA name checked by the caller), or `None` for the organization's.
    pub async fn set_user_timezone(&self, user_id: &str, timezone: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE users SET timezone = $1 WHERE id = $2")
            .bind(timezone)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn create_user(
        &self,
        org_id: &str,
        email: &str,
        password_hash: &str,
        role: fence_core::Role,
        now: i64,
    ) -> Result<UserRow> {
        let id = new_id();
        let r = sqlx::query("INSERT INTO users (id, org_id, email, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&id)
            .bind(org_id)
            .bind(email)
            .bind(password_hash)
            .bind(role.as_str())
            .bind(now)
            .execute(&self.pool)
            .await;
        match r {
            Ok(_) => Ok(UserRow {
                id,
                org_id: org_id.into(),
                email: email.into(),
                password_hash: password_hash.into(),
                role,
                timezone: None,
            }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict(
                format!("a user with the email {email} exists"),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The organization's users, by email.
    pub async fn list_users(&self, org_id: &str) -> Result<Vec<UserRow>> {
        let rows = sqlx::query("SELECT * FROM users WHERE org_id = $1 ORDER BY email")
            .bind(org_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(user_from).collect()
    }

    /// Gives a user of the organization another role. The organization's last admin keeps theirs (`Conflict`);
    /// on PostgreSQL the organization's row is locked first, so two admins demoting each other cannot both succeed.
    pub async fn set_user_role(
        &self,
        org_id: &str,
        user_id: &str,
        role: fence_core::Role,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        if self.dialect == crate::Dialect::Postgres {
            sqlx::query("SELECT id FROM organizations WHERE id = $1 FOR UPDATE")
                .bind(org_id)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let current = sqlx::query("SELECT role FROM users WHERE id = $1 AND org_id = $2")
            .bind(user_id)
            .bind(org_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        if get_str(&current, "role")? == "admin" && role != fence_core::Role::Admin {
            let admins =
                sqlx::query("SELECT COUNT(*) AS n FROM users WHERE org_id = $1 AND role = 'admin'")
                    .bind(org_id)
                    .fetch_one(&mut *tx)
                    .await?;
            if get_i64(&admins, "n")? <= 1 {
                return Err(StoreError::Conflict(
                    "role: the organization's last admin stays an admin; make someone else an admin first".into(),
                ));
            }
        }
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2 AND org_id = $3")
            .bind(role.as_str())
            .bind(user_id)
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>> {
        let r = sqlx::query("SELECT * FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(self.reader())
            .await?;
        r.as_ref().map(user_from).transpose()
    }

    /// Stores a session by the hash of its id.
    pub async fn create_session(
        &self,
        session_id: &str,
        user_id: &str,
        csrf: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<()> {
        // Expired sessions are deleted as new ones start, so the table holds only live ones.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query("INSERT INTO sessions (id_hash, user_id, csrf, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(hash_token(session_id))
            .bind(user_id)
            .bind(csrf)
            .bind(expires_at)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The signed-in user of every web page, read beside the writer (`Store::reader`): on the writer's connection
    /// each page waited behind an ingest's commits (p99 150–210 ms under a 5,000/s ingest). A session is committed
    /// before the log-in answers, so the page after it finds the row.
    pub async fn session(&self, session_id: &str, now: i64) -> Result<Option<SessionRow>> {
        let r = sqlx::query("SELECT u.*, s.csrf AS csrf, o.timezone AS org_timezone FROM sessions s JOIN users u ON u.id = s.user_id JOIN organizations o ON o.id = u.org_id WHERE s.id_hash = $1 AND s.expires_at > $2")
            .bind(hash_token(session_id))
            .bind(now)
            .fetch_optional(self.reader())
            .await?;
        r.map(|r| {
            Ok(SessionRow {
                user: user_from(&r)?,
                csrf: get_str(&r, "csrf")?,
                org_timezone: get_str(&r, "org_timezone")?,
            })
        })
        .transpose()
    }

    pub async fn delete_session(&self, session_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(hash_token(session_id))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Reserves a log-in attempt for `email` from `ip` before its password is checked, pruning every attempt older
    /// than `since` (of any account), so the table holds only the window. Returns the attempt's id and the times of
    /// this pair's attempts in the window, oldest first, this one included: concurrent attempts each see the
    /// others, so checking them cannot be raced.
    pub async fn reserve_login_attempt(
        &self,
        email: &str,
        ip: &str,
        now: i64,
        since: i64,
    ) -> Result<(String, Vec<i64>)> {
        sqlx::query("DELETE FROM login_failures WHERE at <= $1")
            .bind(since)
            .execute(&self.pool)
            .await?;
        let id = crate::new_id();
        sqlx::query(
            "INSERT INTO login_failures (email, ip, at, attempt_id) VALUES ($1, $2, $3, $4)",
        )
        .bind(email)
        .bind(ip)
        .bind(now)
        .bind(&id)
        .execute(&self.pool)
        .await?;
        let rows = sqlx::query(
            "SELECT at FROM login_failures WHERE email = $1 AND ip = $2 AND at > $3 ORDER BY at",
        )
        .bind(email)
        .bind(ip)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let times = rows
            .iter()
            .map(|r| get_i64(r, "at"))
            .collect::<Result<_>>()?;
        Ok((id, times))
    }

    /// Takes back a reserved attempt (one refused without checking the password).
    pub async fn release_login_attempt(&self, attempt_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE attempt_id = $1")
            .bind(attempt_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// How many log-in attempts `email` had since `since`, from any address.
    pub async fn login_attempts(&self, email: &str, since: i64) -> Result<i64> {
        let r =
            sqlx::query("SELECT COUNT(*) AS n FROM login_failures WHERE email = $1 AND at > $2")
                .bind(email)
                .bind(since)
                .fetch_one(self.reader())
                .await?;
        get_i64(&r, "n")
    }

    /// Forgets a pair's attempts after it logged in.
    pub async fn clear_login_attempts(&self, email: &str, ip: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE email = $1 AND ip = $2")
            .bind(email)
            .bind(ip)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Audit entries about one target (a finding's history).
    pub async fn audit_of(
        &self,
        org_id: &str,
        target: &str,
    ) -> Result<Vec<crate::audit::AuditEntry>> {
        let rows =
            sqlx::query("SELECT * FROM audit_log WHERE org_id = $1 AND target = $2 ORDER BY id")
                .bind(org_id)
                .bind(target)
                .fetch_all(self.reader())
                .await?;
        rows.iter()
            .map(|r| {
                Ok(crate::audit::AuditEntry {
                    id: get_str(r, "id")?,
                    actor: get_str(r, "actor")?,
                    action: get_str(r, "action")?,
                    target: crate::get_opt_str(r, "target")?,
                    detail: crate::get_opt_str(r, "detail")?,
                    created_at: get_i64(r, "created_at")?,
                })
            })
            .collect()
    }
}
