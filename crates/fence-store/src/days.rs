//! The dashboard's daily trends per organization (`finding_days`, migration 0109): findings opened and closed per
//! UTC day, and how long triage and resolution took, kept as appended changes like `counts` — ingest adds one row
//! per batch, a trigger one per status change (in its transaction), and [`Store::compact_finding_days`] sums them
//! into one row per day. Reading 90 days sums a few hundred rows, however many findings there are.

use crate::{get_i64, Result, Store};
use sqlx::{Any, Transaction};
use std::collections::BTreeMap;

/// Milliseconds in a day: `day = ms / DAY_MS` (UTC).
pub const DAY_MS: i64 = 86_400_000;

/// One UTC day of an organization.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Day {
    /// Days since 1970-01-01.
    pub day: i64,
    pub opened: i64,
    pub closed: i64,
    /// Findings triaged for the first time that day, and the sum of the times it took (ms).
    pub triaged: i64,
    pub triage_ms: i64,
    /// Findings resolved that day, and the sum of their resolve periods (ms).
    pub resolved: i64,
    pub resolve_ms: i64,
}

const COLUMNS: [&str; 6] = [
    "opened",
    "closed",
    "triaged",
    "triage_ms",
    "resolved",
    "resolve_ms",
];

impl Day {
    fn add(&mut self, v: [i64; 6]) {
        self.opened += v[0];
        self.closed += v[1];
        self.triaged += v[2];
        self.triage_ms += v[3];
        self.resolved += v[4];
        self.resolve_ms += v[5];
    }
}

fn values_of(r: &sqlx::any::AnyRow) -> Result<[i64; 6]> {
    let mut v = [0; 6];
    for (slot, c) in v.iter_mut().zip(COLUMNS) {
        *slot = get_i64(r, c)?;
    }
    Ok(v)
}

/// Appends `n` findings first seen at `now` by one ingest.
pub(crate) async fn add_opened(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    now: i64,
    n: i64,
) -> Result<()> {
    if n > 0 {
        sqlx::query("INSERT INTO finding_days (org_id, day, opened) VALUES ($1, $2, $3)")
            .bind(org_id)
            .bind(now.div_euclid(DAY_MS))
            .bind(n)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

impl Store {
    /// The organization's days from `from` to `to` (days since the epoch, both included), one per day, zeros where
    /// nothing happened.
    pub async fn finding_days(&self, org_id: &str, from: i64, to: i64) -> Result<Vec<Day>> {
        let sums = COLUMNS
            .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
            .join(", ");
        let rows = sqlx::query(&format!(
            "SELECT day, {sums} FROM finding_days WHERE org_id = $1 AND day >= $2 AND day <= $3 GROUP BY day"
        ))
        .bind(org_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.reader())
        .await?;
        let mut by_day: BTreeMap<i64, Day> = (from..=to)
            .map(|d| {
                (
                    d,
                    Day {
                        day: d,
                        ..Day::default()
                    },
                )
            })
            .collect();
        for r in &rows {
            let day = get_i64(r, "day")?;
            if let Some(d) = by_day.get_mut(&day) {
                d.add(values_of(r)?);
            }
        }
        Ok(by_day.into_values().collect())
    }

    /// Sums the oldest change rows into one row per organization and day (`deltas::compact`); returns how many
    /// rows it removed.
    pub async fn compact_finding_days(&self) -> Result<u64> {
        crate::deltas::compact(&self.pool, "finding_days", "day", &COLUMNS).await
    }
}
