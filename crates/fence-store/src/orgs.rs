//! Organizations (tenants, with a plan) and their API tokens (stored as SHA-256 hashes, with scopes).

use crate::{get_i64, get_opt_i64, get_opt_str, get_str, new_id, Result, Store, StoreError};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub plan: String,
    pub slack_team_id: Option<String>,
    pub triage_allow: Vec<String>,
    /// The IANA time zone the pages show times in for members without their own.
    pub timezone: String,
}

impl Org {
    /// The organization's plan; an unreadable one counts as startup (Slack without the enterprise features).
    pub fn plan(&self) -> fence_core::Plan {
        fence_core::Plan::parse(&self.plan).unwrap_or(fence_core::Plan::Startup)
    }
}

/// A token's organization and scopes, once the bearer value matched a stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    pub token_id: String,
    pub org_id: String,
    pub scopes: Vec<fence_core::Scope>,
}

/// A stored token as listed: never its value (only its hash is stored, and not even that is listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: String,
    pub label: Option<String>,
    pub scopes: Vec<fence_core::Scope>,
    pub created_at: i64,
    /// When it stops authenticating; `None` for never.
    pub expires_at: Option<i64>,
}

fn scopes_of(s: &str) -> Result<Vec<fence_core::Scope>> {
    s.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| fence_core::Scope::parse(s).map_err(StoreError::Corrupt))
        .collect()
}

/// SHA-256 of a token value; tokens are long random strings, so a fast hash is enough.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn team_taken() -> StoreError {
    StoreError::Conflict("this Slack workspace is connected to another organization".into())
}

fn org_from(row: &sqlx::any::AnyRow) -> Result<Org> {
    let allow = get_str(row, "triage_allow")?;
    Ok(Org {
        id: get_str(row, "id")?,
        name: get_str(row, "name")?,
        plan: get_str(row, "plan")?,
        slack_team_id: get_opt_str(row, "slack_team_id")?,
        triage_allow: serde_json::from_str(&allow)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        timezone: get_str(row, "timezone")?,
    })
}

impl Store {
    pub async fn create_org(&self, name: &str, plan: &str, now: i64) -> Result<Org> {
        let id = new_id();
        let res = sqlx::query(
            "INSERT INTO organizations (id, name, plan, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(name)
        .bind(plan)
        .bind(now)
        .execute(&self.pool)
        .await;
        match res {
            Ok(_) => Ok(Org {
                id,
                name: name.into(),
                plan: plan.into(),
                slack_team_id: None,
                triage_allow: vec![],
                timezone: "UTC".into(),
            }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict(
                format!("an organization named {name:?} already exists"),
            )),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn org_by_name(&self, name: &str) -> Result<Org> {
        let row = sqlx::query("SELECT * FROM organizations WHERE name = $1")
            .bind(name)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref()
            .map(org_from)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    pub async fn org(&self, id: &str) -> Result<Org> {
        let row = sqlx::query("SELECT * FROM organizations WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref()
            .map(org_from)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    /// The time zone the pages use for members without their own (checked by the caller: an IANA name).
    pub async fn set_org_timezone(&self, org_id: &str, timezone: &str) -> Result<()> {
        sqlx::query("UPDATE organizations SET timezone = $1 WHERE id = $2")
            .bind(timezone)
            .bind(org_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The ids of the first `limit` organizations, oldest first.
    pub async fn list_org_ids(&self, limit: i64) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM organizations ORDER BY created_at, id LIMIT $1")
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(|r| crate::get_str(r, "id")).collect()
    }

    pub async fn count_orgs(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM organizations")
            .fetch_one(self.reader())
            .await?;
        crate::get_i64(&row, "n")
    }

    pub async fn set_org_plan(&self, name: &str, plan: &str) -> Result<()> {
        let r = sqlx::query("UPDATE organizations SET plan = $1 WHERE name = $2")
            .bind(plan)
            .bind(name)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn update_org_slack(
        &self,
        id: &str,
        slack_team_id: Option<&str>,
        triage_allow: &[String],
    ) -> Result<()> {
        let allow =
            serde_json::to_string(triage_allow).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let r = sqlx::query(
            "UPDATE organizations SET slack_team_id = $1, triage_allow = $2 WHERE id = $3",
        )
        .bind(slack_team_id)
        .bind(allow)
        .bind(id)
        .execute(&self.pool)
        .await;
        match r {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(team_taken()),
            Err(e) => Err(e.into()),
        }
    }

    /// Connects the organization to `team` unless it is connected to another workspace, atomically: `Ok(true)` when
    /// it was not connected before, `Ok(false)` when it already was to `team`; `Conflict` when another
    /// organization has `team` (the unique index decides between two claims at once) or this one has another
    /// workspace, which is never overwritten here.
    pub async fn claim_slack_team(&self, id: &str, team: &str) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE organizations SET slack_team_id = $1 WHERE id = $2 AND slack_team_id IS NULL",
        )
        .bind(team)
        .bind(id)
        .execute(&self.pool)
        .await;
        match r {
            Ok(r) if r.rows_affected() == 1 => return Ok(true),
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Err(team_taken()),
            Err(e) => return Err(e.into()),
        }
        match self.org(id).await?.slack_team_id {
            Some(t) if t == team => Ok(false),
            Some(_) => Err(StoreError::Conflict(
                "this organization is already connected to another Slack workspace".into(),
            )),
            None => Err(StoreError::Conflict(
                "the organization changed meanwhile; try again".into(),
            )),
        }
    }

    /// Undoes a claim of `team` (an install that failed after claiming it).
    pub async fn release_slack_team(&self, id: &str, team: &str) -> Result<()> {
        sqlx::query(
            "UPDATE organizations SET slack_team_id = NULL WHERE id = $1 AND slack_team_id = $2",
        )
        .bind(id)
        .bind(team)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores a token's hash with its scopes; the value itself is never stored.
    pub async fn create_token(
        &self,
        org_id: &str,
        token: &str,
        scopes: &[fence_core::Scope],
        label: Option<&str>,
        now: i64,
    ) -> Result<String> {
        self.create_expiring_token(org_id, token, scopes, label, now, None)
            .await
    }

    /// Like [`Store::create_token`], for a token that stops authenticating at `expires_at`.
    pub async fn create_expiring_token(
        &self,
        org_id: &str,
        token: &str,
        scopes: &[fence_core::Scope],
        label: Option<&str>,
        now: i64,
        expires_at: Option<i64>,
    ) -> Result<String> {
        let id = new_id();
        let res = sqlx::query("INSERT INTO api_tokens (id, org_id, token_hash, scopes, label, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&id)
            .bind(org_id)
            .bind(hash_token(token))
            .bind(
                scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            )
            .bind(label)
            .bind(now)
            .bind(expires_at)
            .execute(&self.pool)
            .await;
        match res {
            Ok(_) => Ok(id),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::Conflict("this token already exists".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn token_exists(&self, token: &str) -> Result<bool> {
        let row = sqlx::query("SELECT id FROM api_tokens WHERE token_hash = $1")
            .bind(hash_token(token))
            .fetch_optional(self.reader())
            .await?;
        Ok(row.is_some())
    }

    /// Looks a bearer token up by its hash; an expired one authenticates nothing.
    pub async fn authenticate(&self, token: &str, now: i64) -> Result<Option<TokenGrant>> {
        let row = sqlx::query("SELECT id, org_id, scopes FROM api_tokens WHERE token_hash = $1 AND (expires_at IS NULL OR expires_at > $2)")
            .bind(hash_token(token))
            .bind(now)
            .fetch_optional(self.reader())
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(TokenGrant {
            token_id: get_str(&row, "id")?,
            org_id: get_str(&row, "org_id")?,
            scopes: scopes_of(&get_str(&row, "scopes")?)?,
        }))
    }

    /// An organization's tokens, oldest first.
    pub async fn list_tokens(&self, org_id: &str) -> Result<Vec<TokenRow>> {
        let rows = sqlx::query(
            "SELECT id, label, scopes, created_at, expires_at FROM api_tokens WHERE org_id = $1 ORDER BY created_at, id",
        )
        .bind(org_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TokenRow {
                    id: get_str(r, "id")?,
                    label: get_opt_str(r, "label")?,
                    scopes: scopes_of(&get_str(r, "scopes")?)?,
                    created_at: get_i64(r, "created_at")?,
                    expires_at: get_opt_i64(r, "expires_at")?,
                })
            })
            .collect()
    }

    /// Deletes a token of the organization; whether it existed.
    pub async fn delete_token(&self, org_id: &str, id: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM api_tokens WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Deletes the organization's tokens with this label except the one with value `keep`; how many.
    pub async fn delete_labelled_tokens_except(
        &self,
        org_id: &str,
        label: &str,
        keep: &str,
    ) -> Result<u64> {
        let r = sqlx::query(
            "DELETE FROM api_tokens WHERE org_id = $1 AND label = $2 AND token_hash <> $3",
        )
        .bind(org_id)
        .bind(label)
        .bind(hash_token(keep))
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }
}

impl Store {
    /// The "Renew Certificate" link configured for a domain, if any.
    pub async fn domain_renew_url(&self, org_id: &str, domain: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT renew_url FROM domains WHERE org_id = $1 AND name = $2")
            .bind(org_id)
            .bind(domain)
            .fetch_optional(self.reader())
            .await?;
        Ok(row
            .map(|r| get_opt_str(&r, "renew_url"))
            .transpose()?
            .flatten())
    }
}

impl Store {
    /// The organization a Slack workspace belongs to (set by "Add to Slack" or `PATCH /api/v1/org`).
    pub async fn org_by_slack_team(&self, team_id: &str) -> Result<Option<Org>> {
        let row = sqlx::query(
            "SELECT * FROM organizations WHERE slack_team_id = $1 ORDER BY created_at LIMIT 1",
        )
        .bind(team_id)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(org_from).transpose()
    }
}
