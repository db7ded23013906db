//! Domains (assets): their ports, certificate monitoring flag, renewal link and tags.

use crate::{get_i64, get_opt_str, get_str, new_id, Result, Store, StoreError};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainRow {
    pub name: String,
    pub monitor_certificates: bool,
    pub port: i64,
    pub http_port: i64,
    pub renew_url: Option<String>,
    pub tags: Vec<String>,
}

pub(crate) fn domain_from(r: &sqlx::any::AnyRow) -> Result<DomainRow> {
    Ok(DomainRow {
        name: get_str(r, "name")?,
        monitor_certificates: get_i64(r, "monitor_certificates")? != 0,
        port: get_i64(r, "port")?,
        http_port: get_i64(r, "http_port")?,
        renew_url: get_opt_str(r, "renew_url")?,
        tags: serde_json::from_str(&get_str(r, "tags")?).unwrap_or_default(),
    })
}

impl Store {
    /// Creates or replaces a domain's settings.
    pub async fn upsert_domain(&self, org_id: &str, d: &DomainRow, now: i64) -> Result<DomainRow> {
        let tags =
            serde_json::to_string(&d.tags).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO domains (id, org_id, name, monitor_certificates, port, http_port, renew_url, tags, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (org_id, name) DO UPDATE SET monitor_certificates = excluded.monitor_certificates, port = excluded.port,
               http_port = excluded.http_port, renew_url = excluded.renew_url, tags = excluded.tags",
        )
        .bind(new_id())
        .bind(org_id)
        .bind(&d.name)
        .bind(i64::from(d.monitor_certificates))
        .bind(d.port)
        .bind(d.http_port)
        .bind(d.renew_url.as_deref())
        .bind(tags)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.domain(org_id, &d.name).await
    }

    pub async fn domain(&self, org_id: &str, name: &str) -> Result<DomainRow> {
        let r = sqlx::query("SELECT * FROM domains WHERE org_id = $1 AND name = $2")
            .bind(org_id)
            .bind(name)
            .fetch_optional(self.reader())
            .await?;
        r.as_ref()
            .map(domain_from)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    pub async fn list_domains(&self, org_id: &str) -> Result<Vec<DomainRow>> {
        let rows = sqlx::query("SELECT * FROM domains WHERE org_id = $1 ORDER BY name")
            .bind(org_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(domain_from).collect()
    }

    pub async fn delete_domain(&self, org_id: &str, name: &str) -> Result<()> {
        let r = sqlx::query("DELETE FROM domains WHERE org_id = $1 AND name = $2")
            .bind(org_id)
            .bind(name)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
