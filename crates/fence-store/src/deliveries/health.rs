//! How an organization's deliveries are doing, for the dashboard: messages sent per hour over the last day, 429s and
//! failed attempts (from `delivery_hours`, migration 0112: rows of changes appended with each outcome, summed by the
//! minute job), and what waits (retried or not) or died (by the deliveries' state index). It costs the day's hours
//! and what waits now, not the history.

use crate::{get_i64, get_str, Result, Store};

const HOUR_MS: i64 = 3_600_000;

/// The hour columns of `delivery_hours`.
const COLUMNS: [&str; 3] = ["sent", "rate_limited", "failed"];
/// Hours kept in `delivery_hours`.
const KEEP_HOURS: i64 = 30 * 24;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryHealth {
    /// Messages Slack accepted in each of the 24 hours before now, oldest first (the last is the current hour).
    pub sent_per_hour: Vec<i64>,
    /// 429 answers and failed attempts (errors, timeouts, 5xx) in those 24 hours.
    pub rate_limited: i64,
    pub failed: i64,
    /// Deliveries waiting to be sent, and how many of those failed at least once.
    pub waiting: i64,
    pub retried: i64,
    pub dead: i64,
}

/// Which `delivery_hours` column an outcome adds to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Hourly {
    Sent,
    RateLimited,
    Failed,
}

impl Hourly {
    fn column(self) -> &'static str {
        match self {
            Hourly::Sent => "sent",
            Hourly::RateLimited => "rate_limited",
            Hourly::Failed => "failed",
        }
    }
}

/// Appends, for the hour of `at`, one `what` per claim of `claims` still being sent, to its organization's row of
/// changes — in the transaction that records the claims' outcome, before it does.
pub(crate) async fn count_claims_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    claims: &[&str],
    at: i64,
    what: Hourly,
) -> Result<()> {
    if claims.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = (2..2 + claims.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO delivery_hours (org_id, hour, {}) SELECT org_id, $1, COUNT(DISTINCT claim_token) FROM deliveries
         WHERE state = 'sending' AND claim_token IN ({}) GROUP BY org_id",
        what.column(),
        list.join(", ")
    );
    let mut q = sqlx::query(&sql).bind(at.div_euclid(HOUR_MS));
    for c in claims {
        q = q.bind(*c);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

impl Store {
    pub async fn delivery_health(&self, org_id: &str, now: i64) -> Result<DeliveryHealth> {
        let this_hour = now.div_euclid(HOUR_MS);
        let first = this_hour - 23;
        let sums = COLUMNS
            .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
            .join(", ");
        let rows = sqlx::query(&format!(
            "SELECT hour, {sums} FROM delivery_hours WHERE org_id = $1 AND hour >= $2 GROUP BY hour"
        ))
        .bind(org_id)
        .bind(first)
        .fetch_all(self.reader())
        .await?;
        let mut h = DeliveryHealth {
            sent_per_hour: vec![0; 24],
            ..DeliveryHealth::default()
        };
        for r in &rows {
            let at = get_i64(r, "hour")? - first;
            if let Some(slot) = usize::try_from(at)
                .ok()
                .and_then(|i| h.sent_per_hour.get_mut(i))
            {
                *slot += get_i64(r, "sent")?;
                h.rate_limited += get_i64(r, "rate_limited")?;
                h.failed += get_i64(r, "failed")?;
            }
        }
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n, CAST(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS BIGINT) AS retried
             FROM deliveries WHERE state IN ('pending', 'sending', 'dead') AND org_id = $1 GROUP BY state",
        )
        .bind(org_id)
        .fetch_all(self.reader())
        .await?;
        for r in &rows {
            let n = get_i64(r, "n")?;
            match get_str(r, "state")?.as_str() {
                "dead" => h.dead += n,
                _ => {
                    h.waiting += n;
                    h.retried += get_i64(r, "retried")?;
                }
            }
        }
        Ok(h)
    }

    /// Sums `delivery_hours`' change rows into one row per organization and hour (`deltas::compact`), and drops
    /// hours older than 30 days; returns how many rows it removed.
    pub async fn compact_delivery_hours(&self, now: i64) -> Result<u64> {
        let old = sqlx::query("DELETE FROM delivery_hours WHERE hour < $1")
            .bind(now.div_euclid(HOUR_MS) - KEEP_HOURS)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(old + crate::deltas::compact(&self.pool, "delivery_hours", "hour", &COLUMNS).await?)
    }
}
