//! The PostgreSQL planner's statistics of Fence's busiest tables, refreshed when stale (where autovacuum is off, they
//! never are otherwise, and fingerprint look-ups fall back to scanning an organization's findings).

use crate::{get_i64, Result, Store};

/// Tables whose statistics the PostgreSQL planner needs to stay current (their indexes are chosen by them).
const ANALYZED: [&str; 2] = ["findings", "deliveries"];

impl Store {
    /// On PostgreSQL, `ANALYZE`s the busiest tables whose statistics are stale (changed rows since the last analyse
    /// above 10% of the table and 1,000), as autovacuum would. Without statistics the planner looks fingerprints up
    /// by scanning an organization's findings instead of the unique index, which made ingest slower with every batch
    /// on a server with autovacuum off. Returns the tables analysed; SQLite has nothing to do.
    pub async fn analyze_if_stale(&self) -> Result<Vec<&'static str>> {
        if self.dialect != crate::Dialect::Postgres {
            return Ok(Vec::new());
        }
        let mut done = Vec::new();
        for table in ANALYZED {
            let row = sqlx::query("SELECT CAST(COALESCE(n_live_tup, 0) AS BIGINT) AS live, CAST(COALESCE(n_mod_since_analyze, 0) AS BIGINT) AS changed FROM pg_stat_user_tables WHERE relname = $1")
                .bind(table)
                .fetch_optional(&self.pool)
                .await?;
            let Some(row) = row else { continue };
            let (live, changed) = (get_i64(&row, "live")?, get_i64(&row, "changed")?);
            if changed > 1_000 && changed * 10 > live {
                sqlx::query(&format!("ANALYZE {table}"))
                    .execute(&self.pool)
                    .await?;
                done.push(table);
            }
        }
        Ok(done)
    }
}
