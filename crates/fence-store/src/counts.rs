//! Finding counts per organization, severity and status, kept as appended changes (`finding_counts`, migration
//! 0105): ingest adds one row per severity and batch, a trigger two per status or severity change, and
//! [`Store::compact_finding_counts`] sums them into one row per key. Reading a count sums the rows of one
//! organization: a few hundred between compactions, however many findings there are.

use crate::{get_i64, get_str, Result, Store};
use sqlx::{Any, Transaction};
use std::collections::BTreeMap;

/// One organization's finding count for a severity and a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingCount {
    pub severity: String,
    pub status: String,
    pub n: i64,
}

/// Rows summed per compaction transaction.
const COMPACT_BATCH: i64 = 10_000;

/// Appends the new findings of one ingest: `(severity, count)` of findings stored as `open`.
pub(crate) async fn add_new(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    by_severity: &BTreeMap<&str, i64>,
) -> Result<()> {
    for (severity, n) in by_severity {
        sqlx::query(
            "INSERT INTO finding_counts (org_id, severity, status, n) VALUES ($1, $2, 'open', $3)",
        )
        .bind(org_id)
        .bind(*severity)
        .bind(*n)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// The organization's finding counts by severity and status (keys with no findings left out).
    pub async fn finding_counts(&self, org_id: &str) -> Result<Vec<FindingCount>> {
        let rows = sqlx::query("SELECT severity, status, CAST(SUM(n) AS BIGINT) AS n FROM finding_counts WHERE org_id = $1 GROUP BY severity, status")
            .bind(org_id)
            .fetch_all(self.reader())
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            let n = get_i64(r, "n")?;
            if n != 0 {
                out.push(FindingCount {
                    severity: get_str(r, "severity")?,
                    status: get_str(r, "status")?,
                    n,
                });
            }
        }
        Ok(out)
    }

    /// Sums the oldest change rows into one row per key, `COMPACT_BATCH` at a time; returns how many rows it
    /// removed. Exactly the deleted rows are summed (`DELETE … RETURNING`), so a change committed meanwhile by
    /// another process is either in this sum or left for the next.
    pub async fn compact_finding_counts(&self) -> Result<u64> {
        let mut removed = 0;
        // Each round removes a full batch and adds one row per key; bounded in case keys outnumber a batch.
        for _ in 0..100 {
            let mut tx = self.pool.begin().await?;
            let rows = sqlx::query("DELETE FROM finding_counts WHERE seq IN (SELECT seq FROM finding_counts ORDER BY seq LIMIT $1) RETURNING org_id, severity, status, n")
                .bind(COMPACT_BATCH)
                .fetch_all(&mut *tx)
                .await?;
            let mut sums: BTreeMap<(String, String, String), i64> = BTreeMap::new();
            for r in &rows {
                let key = (
                    get_str(r, "org_id")?,
                    get_str(r, "severity")?,
                    get_str(r, "status")?,
                );
                *sums.entry(key).or_default() += get_i64(r, "n")?;
            }
            for ((org, severity, status), n) in sums.into_iter().filter(|(_, n)| *n != 0) {
                sqlx::query("INSERT INTO finding_counts (org_id, severity, status, n) VALUES ($1, $2, $3, $4)")
                    .bind(org)
                    .bind(severity)
                    .bind(status)
                    .bind(n)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            removed += rows.len() as u64;
            // A batch that was not full held every row but the sums just written.
            if (rows.len() as i64) < COMPACT_BATCH {
                break;
            }
        }
        Ok(removed)
    }
}
