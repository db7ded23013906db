//! How an organization's deliveries are doing, for the dashboard: messages sent per hour over the last day, and what
//! waits (retried or not) or died. Reads by the `(state, sent_at)` and `(state, due_at)` indexes, so it costs what
//! was sent in a day and what waits now, not the history.

use crate::{get_i64, get_str, Result, Store};

const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryHealth {
    /// Messages sent in each of the 24 hours before now, oldest first (the last is the current hour).
    pub sent_per_hour: Vec<i64>,
    /// Deliveries waiting to be sent, and how many of those failed at least once.
    pub waiting: i64,
    pub retried: i64,
    pub dead: i64,
}

impl Store {
    pub async fn delivery_health(&self, org_id: &str, now: i64) -> Result<DeliveryHealth> {
        let this_hour = now.div_euclid(HOUR_MS);
        let first = this_hour - 23;
        let rows = sqlx::query(
            "SELECT sent_at / 3600000 AS h, COUNT(*) AS n FROM deliveries
             WHERE state = 'sent' AND sent_at >= $1 AND org_id = $2 GROUP BY sent_at / 3600000",
        )
        .bind(first * HOUR_MS)
        .bind(org_id)
        .fetch_all(self.reader())
        .await?;
        let mut sent_per_hour = vec![0; 24];
        for r in &rows {
            let h = get_i64(r, "h")? - first;
            if let Some(slot) = usize::try_from(h)
                .ok()
                .and_then(|h| sent_per_hour.get_mut(h))
            {
                *slot += get_i64(r, "n")?;
            }
        }
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n, CAST(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS BIGINT) AS retried
             FROM deliveries WHERE state IN ('pending', 'sending', 'dead') AND org_id = $1 GROUP BY state",
        )
        .bind(org_id)
        .fetch_all(self.reader())
        .await?;
        let mut h = DeliveryHealth {
            sent_per_hour,
            ..DeliveryHealth::default()
        };
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
}
