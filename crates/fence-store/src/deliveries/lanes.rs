//! Lanes: which destinations have something due, when the dispatcher should wake, and the lease that lets one
//! process at a time send to a destination at its pace (`next_slot_at`), taken for a whole dispatcher pass in one
//! transaction. Also the recovery of claims of senders that died.

use super::DeliveryRow;
use crate::{get_opt_i64, get_str, Result, Store};
use sqlx::{Any, Transaction};

impl Store {
    /// Returns deliveries whose sender died mid-send to `pending` (at-least-once: they may go out twice).
    pub async fn recover_expired_claims(&self, now: i64) -> Result<u64> {
        let r = sqlx::query("UPDATE deliveries SET state = 'pending', claim_token = NULL, claim_until = NULL WHERE state = 'sending' AND claim_until < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    /// Returns every claim and lane lease to the queue at once. Only for SQLite at start-up: a SQLite database has
    /// one `fence serve`, so whatever is claimed belonged to a process that is gone.
    pub async fn release_all_claims(&self) -> Result<u64> {
        let r = sqlx::query("UPDATE deliveries SET state = 'pending', claim_token = NULL, claim_until = NULL WHERE state = 'sending'").execute(&self.pool).await?;
        sqlx::query("UPDATE lanes SET lease_owner = NULL, lease_until = 0")
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    /// Destinations with a due delivery of a healthy channel whose lane is free and whose next send slot has come.
    pub async fn due_destinations(&self, now: i64, limit: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT d.destination AS destination FROM deliveries d
             JOIN channels c ON c.id = d.channel_id
             LEFT JOIN lanes l ON l.destination = d.destination
             WHERE d.state = 'pending' AND d.due_at <= $1 AND c.state <> 'broken'
               AND (l.destination IS NULL OR (l.lease_until < $1 AND l.next_slot_at <= $1))
             LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|r| get_str(r, "destination")).collect()
    }

    /// The earliest moment something may become sendable (a due time or a lane's next slot), for the dispatcher's sleep.
    pub async fn next_wakeup(&self, now: i64) -> Result<Option<i64>> {
        // The latest of: due time, the lane's next slot, and the end of another sender's lease.
        let greatest = match self.dialect {
            crate::Dialect::Sqlite => "MAX",
            crate::Dialect::Postgres => "GREATEST",
        };
        let sql = format!(
            "SELECT MIN({greatest}(d.due_at, COALESCE(l.next_slot_at, 0), COALESCE(l.lease_until, 0))) AS t FROM deliveries d
             JOIN channels c ON c.id = d.channel_id
             LEFT JOIN lanes l ON l.destination = d.destination
             WHERE d.state = 'pending' AND c.state <> 'broken'"
        );
        let row = sqlx::query(&sql).fetch_one(self.reader()).await?;
        let t = get_opt_i64(&row, "t")?;
        Ok(t.map(|t| t.max(now)))
    }

    /// Takes a destination's lane for `lease_ms` if no live process holds it and its send slot has come.
    pub async fn claim_lane(
        &self,
        destination: &str,
        owner: &str,
        now: i64,
        lease_ms: i64,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let got = take_lane(&mut tx, destination, owner, now, lease_ms).await?;
        tx.commit().await?;
        Ok(got.is_some())
    }

    /// Takes the lanes of `destinations` that are free and whose slot has come, and claims each one's next message
    /// (see `claims::claim_batch_in`), all in one transaction: one commit for a whole pass of the dispatcher, not
    /// several per destination. Lanes are taken in a fixed order, so two processes claiming overlapping sets on
    /// PostgreSQL wait for each other instead of deadlocking. Each lane's owner is also its claim token.
    pub async fn claim_lanes(
        &self,
        destinations: &[String],
        now: i64,
        lease_ms: i64,
    ) -> Result<Vec<ClaimedLane>> {
        let mut sorted: Vec<&String> = destinations.iter().collect();
        sorted.sort();
        sorted.dedup();
        let mut tx = self.pool.begin().await?;
        let mut claimed = Vec::new();
        for destination in sorted {
            let owner = format!("lane:{}", crate::new_id());
            if let Some((failures, streak_since)) =
                take_lane(&mut tx, destination, &owner, now, lease_ms).await?
            {
                let batch =
                    super::claims::claim_batch_in(&mut tx, destination, &owner, now, lease_ms)
                        .await?;
                claimed.push(ClaimedLane {
                    destination: destination.clone(),
                    owner,
                    batch,
                    failures,
                    streak_since,
                });
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Gives a lane back, setting when it may send next.
    pub async fn release_lane(
        &self,
        destination: &str,
        owner: &str,
        next_slot_at: i64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        release_in(
            &mut tx,
            &LaneRelease {
                destination,
                owner,
                next_slot_at,
                streak: Streak::Unchanged,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// The heartbeat of a sender: every lane lease and delivery claim it still holds (`owners`, each a lane's
    /// owner and its claim's token) lasts until `until`. A process that stops beating loses them when the last
    /// renewal runs out. Returns how many lanes were renewed.
    pub async fn renew_leases(&self, owners: &[String], until: i64) -> Result<u64> {
        let mut renewed = 0;
        for chunk in owners.chunks(200) {
            let marks: Vec<String> = (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
            let marks = marks.join(", ");
            let mut tx = self.pool.begin().await?;
            let sql = format!("UPDATE lanes SET lease_until = $1 WHERE lease_until > 0 AND lease_owner IN ({marks})");
            let mut q = sqlx::query(&sql).bind(until);
            for o in chunk {
                q = q.bind(o);
            }
            renewed += q.execute(&mut *tx).await?.rows_affected();
            let sql = format!("UPDATE deliveries SET claim_until = $1 WHERE state = 'sending' AND claim_token IN ({marks})");
            let mut q = sqlx::query(&sql).bind(until);
            for o in chunk {
                q = q.bind(o);
            }
            q.execute(&mut *tx).await?;
            tx.commit().await?;
        }
        Ok(renewed)
    }

    /// The fencing check before a send: whether `owner` still holds the lane of `destination` at `now`. A sender
    /// that lost its lease (it stopped beating long enough for another process to take the lane) must not send.
    /// Read outside a transaction (on SQLite a read-only connection, not the writer's queue): the claim it checks
    /// was committed before the send began.
    pub async fn holds_lane(&self, destination: &str, owner: &str, now: i64) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS held FROM lanes WHERE destination = $1 AND lease_owner = $2 AND lease_until > $3")
            .bind(destination)
            .bind(owner)
            .bind(now)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.is_some())
    }
}

/// A lane taken by one sender, with the claim of its next message (empty when nothing was left to claim).
#[derive(Debug)]
pub struct ClaimedLane {
    pub destination: String,
    pub owner: String,
    pub batch: Vec<DeliveryRow>,
    /// Retryable failures in a row of this destination before this send (0 when its last attempt was answered).
    pub failures: u32,
    /// When that streak began (its first failure), if there is one.
    pub streak_since: Option<i64>,
}

/// How a finished send gives its lane back: free again, sendable from `next_slot_at` (never earlier than a slot
/// already set).
#[derive(Debug, Clone, Copy)]
pub struct LaneRelease<'a> {
    pub destination: &'a str,
    pub owner: &'a str,
    pub next_slot_at: i64,
    pub streak: Streak,
}

/// What a send did to the destination's failing streak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streak {
    /// Answered at this time (ms: sent, or refused for a reason of its own): the streak and any outage end, and the
    /// outage's length is taken off the age of the deliveries still waiting (they do not age in an outage).
    Answered(i64),
    /// A retryable failure at `at` (ms): the streak grows; with `probing`, the outage starts unless it already had.
    Failed { at: i64, probing: bool },
    /// Neither (a 429, a send that did not happen).
    Unchanged,
}

/// Takes the lane; returns its failing streak (failures, since when) when it was taken.
async fn take_lane(
    tx: &mut Transaction<'static, Any>,
    destination: &str,
    owner: &str,
    now: i64,
    lease_ms: i64,
) -> Result<Option<(u32, Option<i64>)>> {
    sqlx::query("INSERT INTO lanes (destination, next_slot_at, lease_until) VALUES ($1, 0, 0) ON CONFLICT (destination) DO NOTHING")
        .bind(destination)
        .execute(&mut **tx)
        .await?;
    // The streak comes back with the lease: no second statement per send.
    let row = sqlx::query("UPDATE lanes SET lease_owner = $1, lease_until = $2 WHERE destination = $3 AND lease_until < $4 AND next_slot_at <= $4 RETURNING failures, streak_since")
        .bind(owner)
        .bind(now + lease_ms)
        .bind(destination)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let failures = crate::get_i64(&row, "failures")?.clamp(0, u32::MAX as i64) as u32;
    Ok(Some((failures, get_opt_i64(&row, "streak_since")?)))
}

pub(super) async fn release_in(
    tx: &mut Transaction<'static, Any>,
    lane: &LaneRelease<'_>,
) -> Result<()> {
    sqlx::query("UPDATE lanes SET lease_owner = NULL, lease_until = 0, next_slot_at = CASE WHEN next_slot_at > $1 THEN next_slot_at ELSE $1 END WHERE destination = $2 AND lease_owner = $3")
        .bind(lane.next_slot_at)
        .bind(lane.destination)
        .bind(lane.owner)
        .execute(&mut **tx)
        .await?;
    match lane.streak {
        Streak::Unchanged => {}
        Streak::Answered(at) => {
            let row = sqlx::query("SELECT outage_since FROM lanes WHERE destination = $1")
                .bind(lane.destination)
                .fetch_optional(&mut **tx)
                .await?;
            if let Some(since) = row
                .as_ref()
                .map(|r| get_opt_i64(r, "outage_since"))
                .transpose()?
                .flatten()
            {
                // Each waiting delivery's age resumes from now, less the time it waited before the outage began.
                sqlx::query("UPDATE deliveries SET first_attempt_at = first_attempt_at + ($1 - CASE WHEN first_attempt_at > $2 THEN first_attempt_at ELSE $2 END) WHERE destination = $3 AND state = 'pending' AND first_attempt_at IS NOT NULL")
                    .bind(at)
                    .bind(since)
                    .bind(lane.destination)
                    .execute(&mut **tx)
                    .await?;
            }
            sqlx::query("UPDATE lanes SET failures = 0, streak_since = NULL, outage_since = NULL WHERE destination = $1 AND (failures <> 0 OR streak_since IS NOT NULL OR outage_since IS NOT NULL)")
                .bind(lane.destination)
                .execute(&mut **tx)
                .await?;
        }
        Streak::Failed { at, probing } => {
            let since = probing.then_some(at);
            sqlx::query("UPDATE lanes SET failures = failures + 1, streak_since = COALESCE(streak_since, $1), outage_since = COALESCE(outage_since, $2) WHERE destination = $3")
                .bind(at)
                .bind(since)
                .bind(lane.destination)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}
