//! The cached directory of Slack workspaces (users, user groups, channels) that mention names resolve in, shared by
//! every process; and the organization's own Slack install, whose bot token resolves names for webhook channels.

use crate::{get_i64, get_opt_i64, get_str, row_placeholders, Result, Store, StoreError};
use std::collections::BTreeMap;

/// A workspace Fence keeps a directory of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// `team:T…`, or `token:` and a keyed hash of the bot token.
    pub key: String,
    /// The bot token the refresh reads with, encrypted.
    pub token_enc: String,
    pub requested_at: i64,
    /// When the last complete read finished; `None` while it was never read.
    pub refreshed_at: Option<i64>,
    /// The last read's failures, per list method.
    pub errors: BTreeMap<String, String>,
}

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    User,
    Group,
    Channel,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::User => "user",
            EntryKind::Group => "group",
            EntryKind::Channel => "channel",
        }
    }
}

/// One user, user group or channel: its id, and its name as Slack spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub label: String,
}

/// The organization's Slack install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgInstall {
    pub team_id: String,
    pub bot_token_enc: String,
}

/// Rows per `INSERT` when a list is replaced.
const INSERT_BATCH: usize = 200;

fn workspace_from(row: &sqlx::any::AnyRow) -> Result<Workspace> {
    let errors = get_str(row, "errors")?;
    Ok(Workspace {
        key: get_str(row, "workspace")?,
        token_enc: get_str(row, "token_enc")?,
        requested_at: get_i64(row, "requested_at")?,
        refreshed_at: get_opt_i64(row, "refreshed_at")?,
        errors: serde_json::from_str(&errors).map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}

impl Store {
    /// Records that a save needs workspace `key`, read with this (encrypted) token: a new workspace is read by the
    /// next refresh; a known one keeps its directory and takes the newer token.
    pub async fn request_workspace(
        &self,
        key: &str,
        token_enc: &str,
        now: i64,
    ) -> Result<Workspace> {
        sqlx::query("INSERT INTO slack_workspaces (workspace, token_enc, requested_at) VALUES ($1, $2, $3) ON CONFLICT (workspace) DO UPDATE SET token_enc = excluded.token_enc, requested_at = excluded.requested_at")
            .bind(key)
            .bind(token_enc)
            .bind(now)
            .execute(&self.pool)
            .await?;
        self.workspace(key).await?.ok_or(StoreError::NotFound)
    }

    pub async fn workspace(&self, key: &str) -> Result<Option<Workspace>> {
        let row = sqlx::query("SELECT * FROM slack_workspaces WHERE workspace = $1")
            .bind(key)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(workspace_from).transpose()
    }

    /// Every workspace with a directory, for the background refresh.
    pub async fn workspaces(&self) -> Result<Vec<Workspace>> {
        let rows = sqlx::query("SELECT * FROM slack_workspaces ORDER BY workspace")
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(workspace_from).collect()
    }

    /// Replaces one list of a workspace's directory, in one transaction.
    pub async fn replace_directory(
        &self,
        key: &str,
        kind: EntryKind,
        entries: &[(String, String)],
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM slack_directory WHERE workspace = $1 AND kind = $2")
            .bind(key)
            .bind(kind.as_str())
            .execute(&mut *tx)
            .await?;
        let mut seen = std::collections::HashSet::new();
        let unique: Vec<&(String, String)> = entries
            .iter()
            .filter(|(id, _)| seen.insert(id.clone()))
            .collect();
        for chunk in unique.chunks(INSERT_BATCH) {
            let sql = format!(
                "INSERT INTO slack_directory (workspace, kind, id, name, label) VALUES {}",
                row_placeholders(self.dialect, chunk.len(), 5)
            );
            let mut q = sqlx::query(&sql);
            for (id, label) in chunk {
                q = q
                    .bind(key)
                    .bind(kind.as_str())
                    .bind(id.as_str())
                    .bind(label.to_lowercase())
                    .bind(label.as_str());
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records a finished read of a workspace and what failed in it.
    pub async fn finish_refresh(
        &self,
        key: &str,
        now: i64,
        errors: &BTreeMap<String, String>,
    ) -> Result<()> {
        let errors =
            serde_json::to_string(errors).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "UPDATE slack_workspaces SET refreshed_at = $1, errors = $2 WHERE workspace = $3",
        )
        .bind(now)
        .bind(errors)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The entries of a kind whose name is `name`, case-insensitively (more than one: the name is ambiguous).
    pub async fn directory_lookup(
        &self,
        key: &str,
        kind: EntryKind,
        name: &str,
    ) -> Result<Vec<Entry>> {
        let rows = sqlx::query("SELECT id, label FROM slack_directory WHERE workspace = $1 AND kind = $2 AND name = $3 ORDER BY id LIMIT 20")
            .bind(key)
            .bind(kind.as_str())
            .bind(name.to_lowercase())
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Entry {
                    id: get_str(r, "id")?,
                    label: get_str(r, "label")?,
                })
            })
            .collect()
    }

    /// Forgets a workspace: its directory and its token.
    pub async fn forget_workspace(&self, key: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM slack_directory WHERE workspace = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM slack_workspaces WHERE workspace = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores (or replaces) the organization's Slack install.
    pub async fn save_org_install(
        &self,
        org_id: &str,
        team_id: &str,
        token_enc: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query("INSERT INTO slack_org_installs (org_id, team_id, bot_token_enc, installed_at) VALUES ($1, $2, $3, $4) ON CONFLICT (org_id) DO UPDATE SET team_id = excluded.team_id, bot_token_enc = excluded.bot_token_enc, installed_at = excluded.installed_at")
            .bind(org_id)
            .bind(team_id)
            .bind(token_enc)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn org_install(&self, org_id: &str) -> Result<Option<OrgInstall>> {
        let row =
            sqlx::query("SELECT team_id, bot_token_enc FROM slack_org_installs WHERE org_id = $1")
                .bind(org_id)
                .fetch_optional(self.reader())
                .await?;
        row.map(|r| {
            Ok(OrgInstall {
                team_id: get_str(&r, "team_id")?,
                bot_token_enc: get_str(&r, "bot_token_enc")?,
            })
        })
        .transpose()
    }
}
