//! The audit log: who changed what, from the API, the UI or Slack.

use crate::{get_i64, get_opt_str, get_str, new_id, Result, Store};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: String,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub created_at: i64,
}

impl Store {
    pub async fn audit(
        &self,
        org_id: &str,
        actor: &str,
        action: &str,
        target: Option<&str>,
        detail: Option<&str>,
        now: i64,
    ) -> Result<()> {
        sqlx::query("INSERT INTO audit_log (id, org_id, actor, action, target, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(new_id())
            .bind(org_id)
            .bind(actor)
            .bind(action)
            .bind(target)
            .bind(detail)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn list_audit(&self, org_id: &str, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows =
            sqlx::query("SELECT * FROM audit_log WHERE org_id = $1 ORDER BY id DESC LIMIT $2")
                .bind(org_id)
                .bind(limit)
                .fetch_all(self.reader())
                .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: get_str(r, "id")?,
                    actor: get_str(r, "actor")?,
                    action: get_str(r, "action")?,
                    target: get_opt_str(r, "target")?,
                    detail: get_opt_str(r, "detail")?,
                    created_at: get_i64(r, "created_at")?,
                })
            })
            .collect()
    }
}
