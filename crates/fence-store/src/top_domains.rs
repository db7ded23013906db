//! The dashboard's most affected domains (`top_domains`, migration 0110): the minute job counts each organization's
//! open findings per domain on a read-only connection (the `(org_id, domain, severity, status, id)` index covers
//! it) and replaces that organization's ten rows in one short commit; the dashboard reads the ten rows.

use crate::{get_i64, get_str, Result, Store};

/// Domains kept per organization.
pub const TOP: i64 = 10;

/// A domain and its open findings, as last counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopDomain {
    pub domain: String,
    pub open: i64,
    pub counted_at: i64,
}

impl Store {
    /// Counts again, for every organization, the domains with the most open findings.
    pub async fn refresh_top_domains(&self, now: i64) -> Result<()> {
        let orgs = sqlx::query("SELECT id FROM organizations")
            .fetch_all(self.reader())
            .await?;
        for org in &orgs {
            let org_id = get_str(org, "id")?;
            let rows = sqlx::query(
                "SELECT domain, COUNT(*) AS n FROM findings WHERE org_id = $1 AND status = 'open'
                 GROUP BY domain ORDER BY COUNT(*) DESC, domain LIMIT $2",
            )
            .bind(&org_id)
            .bind(TOP)
            .fetch_all(self.reader())
            .await?;
            let mut tx = self.pool.begin().await?;
            sqlx::query("DELETE FROM top_domains WHERE org_id = $1")
                .bind(&org_id)
                .execute(&mut *tx)
                .await?;
            for r in &rows {
                // Two refreshes at once (the minute job of two processes) each delete then insert: on PostgreSQL
                // the second's insert meets the first's rows, so it updates them instead of failing.
                sqlx::query("INSERT INTO top_domains (org_id, domain, open_findings, counted_at) VALUES ($1, $2, $3, $4) ON CONFLICT (org_id, domain) DO UPDATE SET open_findings = excluded.open_findings, counted_at = excluded.counted_at")
                    .bind(&org_id)
                    .bind(get_str(r, "domain")?)
                    .bind(get_i64(r, "n")?)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// The organization's most affected domains, most open findings first.
    pub async fn top_domains(&self, org_id: &str) -> Result<Vec<TopDomain>> {
        let rows = sqlx::query("SELECT domain, open_findings, counted_at FROM top_domains WHERE org_id = $1 ORDER BY open_findings DESC, domain")
            .bind(org_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(TopDomain {
                    domain: get_str(r, "domain")?,
                    open: get_i64(r, "open_findings")?,
                    counted_at: get_i64(r, "counted_at")?,
                })
            })
            .collect()
    }
}
