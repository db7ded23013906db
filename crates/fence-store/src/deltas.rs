//! Tables kept as appended changes (`finding_days`, `delivery_hours`): writers append a row of deltas in their own
//! transaction, never updating a shared row (no lock for concurrent commits to wait on), and the minute job sums
//! the oldest rows into one per organization and period. Readers sum what is there, compacted or not.

use crate::{get_i64, get_str, Result};
use std::collections::BTreeMap;

/// Rows summed per compaction transaction.
const COMPACT_BATCH: i64 = 10_000;

/// Sums the oldest change rows of `table` (columns `seq`, `org_id`, `period`, then `columns`) into one row per
/// organization and `period`, `COMPACT_BATCH` at a time; returns how many rows it removed. Exactly the deleted
/// rows are summed, so a change appended meanwhile is neither lost nor counted twice.
pub(crate) async fn compact(
    pool: &sqlx::AnyPool,
    table: &str,
    period: &str,
    columns: &[&str],
) -> Result<u64> {
    let mut removed = 0;
    let list = columns.join(", ");
    let placeholders: Vec<String> = (3..3 + columns.len()).map(|i| format!("${i}")).collect();
    let insert = format!(
        "INSERT INTO {table} (org_id, {period}, {list}) VALUES ($1, $2, {})",
        placeholders.join(", ")
    );
    for _ in 0..100 {
        let mut tx = pool.begin().await?;
        let rows = sqlx::query(&format!(
            "DELETE FROM {table} WHERE seq IN (SELECT seq FROM {table} ORDER BY seq LIMIT $1) RETURNING org_id, {period}, {list}"
        ))
        .bind(COMPACT_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let mut sums: BTreeMap<(String, i64), Vec<i64>> = BTreeMap::new();
        for r in &rows {
            let key = (get_str(r, "org_id")?, get_i64(r, period)?);
            let sum = sums.entry(key).or_insert_with(|| vec![0; columns.len()]);
            for (slot, c) in sum.iter_mut().zip(columns) {
                *slot += get_i64(r, c)?;
            }
        }
        for ((org, at), values) in sums.into_iter().filter(|(_, v)| v.iter().any(|x| *x != 0)) {
            let mut q = sqlx::query(&insert).bind(org).bind(at);
            for v in values {
                q = q.bind(v);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        removed += rows.len() as u64;
        if (rows.len() as i64) < COMPACT_BATCH {
            break;
        }
    }
    Ok(removed)
}
