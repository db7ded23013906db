//! Channels: destinations with their rules (stored as the JSON the user gave), encrypted secrets and health.

use crate::{get_i64, get_opt_i64, get_opt_str, get_str, Result, Store, StoreError};
use sqlx::any::AnyRow;

/// A stored channel. Secrets are ciphertexts here; only the server's key opens them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub kind: fence_core::ChannelKind,
    pub webhook_url_enc: String,
    pub webhook_hint: String,
    /// Pacing key: a hash of the webhook URL (never the URL itself).
    pub destination: String,
    pub bot_token_enc: Option<String>,
    pub slack_channel_id: Option<String>,
    pub channel: Option<String>,
    /// The channel's rules as JSON (alert types, filters, mentions, …).
    pub config: String,
    pub state: fence_core::ChannelState,
    pub status_error: Option<String>,
    pub status_hint: Option<String>,
    pub status_since: Option<i64>,
    /// The last send-time failure of the channel's template (read-only here; see `set_template_warning`).
    pub template_warning: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ChannelRow {
    /// The channel's rules (alert types, filters, mentions, schedules…), parsed from their stored JSON.
    pub fn rules(&self) -> Result<fence_core::ChannelConfig> {
        let value: serde_json::Value = serde_json::from_str(&self.config)
            .map_err(|e| StoreError::Corrupt(format!("channel config: {e}")))?;
        let obj = value.as_object().cloned().unwrap_or_default();
        fence_core::ChannelConfig::from_json(&obj, self.kind)
            .map_err(|e| StoreError::Corrupt(format!("channel config: {e}")))
    }
}

pub(crate) fn channel_from(r: &AnyRow) -> Result<ChannelRow> {
    Ok(ChannelRow {
        id: get_str(r, "id")?,
        org_id: get_str(r, "org_id")?,
        name: get_str(r, "name")?,
        kind: fence_core::ChannelKind::parse(&get_str(r, "kind")?).map_err(StoreError::Corrupt)?,
        webhook_url_enc: get_str(r, "webhook_url_enc")?,
        webhook_hint: get_str(r, "webhook_hint")?,
        destination: get_str(r, "destination")?,
        bot_token_enc: get_opt_str(r, "bot_token_enc")?,
        slack_channel_id: get_opt_str(r, "slack_channel_id")?,
        channel: get_opt_str(r, "channel")?,
        config: get_str(r, "config")?,
        state: fence_core::ChannelState::parse(&get_str(r, "state")?)
            .map_err(StoreError::Corrupt)?,
        status_error: get_opt_str(r, "status_error")?,
        status_hint: get_opt_str(r, "status_hint")?,
        status_since: get_opt_i64(r, "status_since")?,
        template_warning: get_opt_str(r, "template_warning")?,
        created_at: get_i64(r, "created_at")?,
        updated_at: get_i64(r, "updated_at")?,
    })
}

impl Store {
    pub async fn insert_channel(&self, c: &ChannelRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO channels (id, org_id, name, kind, webhook_url_enc, webhook_hint, destination, bot_token_enc, slack_channel_id, channel, config, state, status_error, status_hint, status_since, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(&c.id)
        .bind(&c.org_id)
        .bind(&c.name)
        .bind(c.kind.as_str())
        .bind(&c.webhook_url_enc)
        .bind(&c.webhook_hint)
        .bind(&c.destination)
        .bind(&c.bot_token_enc)
        .bind(&c.slack_channel_id)
        .bind(&c.channel)
        .bind(&c.config)
        .bind(c.state.as_str())
        .bind(&c.status_error)
        .bind(&c.status_hint)
        .bind(c.status_since)
        .bind(c.created_at)
        .bind(c.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Replaces a channel's settings. When its destination changes, its held deliveries move to the new one.
    pub async fn update_channel(&self, c: &ChannelRow) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "UPDATE channels SET name = $1, kind = $2, webhook_url_enc = $3, webhook_hint = $4, destination = $5, bot_token_enc = $6,
             slack_channel_id = $7, channel = $8, config = $9, state = $10, status_error = $11, status_hint = $12, status_since = $13, updated_at = $14
             WHERE id = $15 AND org_id = $16",
        )
        .bind(&c.name)
        .bind(c.kind.as_str())
        .bind(&c.webhook_url_enc)
        .bind(&c.webhook_hint)
        .bind(&c.destination)
        .bind(&c.bot_token_enc)
        .bind(&c.slack_channel_id)
        .bind(&c.channel)
        .bind(&c.config)
        .bind(c.state.as_str())
        .bind(&c.status_error)
        .bind(&c.status_hint)
        .bind(c.status_since)
        .bind(c.updated_at)
        .bind(&c.id)
        .bind(&c.org_id)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "UPDATE deliveries SET destination = $1 WHERE channel_id = $2 AND state = 'pending'",
        )
        .bind(&c.destination)
        .bind(&c.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn channel(&self, org_id: &str, id: &str) -> Result<ChannelRow> {
        let row = sqlx::query("SELECT * FROM channels WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org_id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref()
            .map(channel_from)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    pub async fn channel_by_id(&self, id: &str) -> Result<ChannelRow> {
        let row = sqlx::query("SELECT * FROM channels WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref()
            .map(channel_from)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    pub async fn list_channels(&self, org_id: &str) -> Result<Vec<ChannelRow>> {
        let rows = sqlx::query("SELECT * FROM channels WHERE org_id = $1 ORDER BY id")
            .bind(org_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(channel_from).collect()
    }

    /// Records (or clears) the warning of a template that failed at send time.
    pub async fn set_template_warning(&self, id: &str, warning: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE channels SET template_warning = $1 WHERE id = $2")
            .bind(warning)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn template_warning(&self, id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT template_warning FROM channels WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row
            .map(|r| get_opt_str(&r, "template_warning"))
            .transpose()?
            .flatten())
    }

    /// Every channel of every organization (the scheduler's view).
    pub async fn all_channels(&self) -> Result<Vec<ChannelRow>> {
        let rows = sqlx::query("SELECT * FROM channels ORDER BY id")
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(channel_from).collect()
    }

    pub async fn count_channels(&self, org_id: &str) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM channels WHERE org_id = $1")
            .bind(org_id)
            .fetch_one(self.reader())
            .await?;
        get_i64(&row, "n")
    }

    /// Deletes a channel and the deliveries it still owed (the user chose to stop that destination).
    pub async fn delete_channel(&self, org_id: &str, id: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query("DELETE FROM channels WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "DELETE FROM deliveries WHERE channel_id = $1 AND state IN ('pending', 'sending')",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a channel's health. Returns true when the state actually changed (so a transition is reported once);
    /// a channel already in that state only gets its error and hint refreshed.
    pub async fn set_channel_health(
        &self,
        id: &str,
        state: fence_core::ChannelState,
        error: Option<&str>,
        hint: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        let r = sqlx::query("UPDATE channels SET state = $1, status_error = $2, status_hint = $3, status_since = $4 WHERE id = $5 AND state <> $1")
            .bind(state.as_str())
            .bind(error)
            .bind(hint)
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() > 0 {
            return Ok(true);
        }
        sqlx::query("UPDATE channels SET status_error = $1, status_hint = $2 WHERE id = $3")
            .bind(error)
            .bind(hint)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(false)
    }
}
