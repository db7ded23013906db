//! Claims: what the next message of a destination carries (a batch of deliveries taken by one sender), and what
//! became of it: sent, rate limited, retried, held, re-sent in plain text, or dead.

use super::health::{count_claims_in, Hourly};
use super::lanes::{release_in, LaneRelease};
use super::{delivery_from, DeliveryRow};
use crate::{get_i64, get_str, Result, Store};
use sqlx::{Any, Transaction};

/// Claims what the next message of a destination will carry: every due vulnerability delivery of the first
/// channel in line (most severe first), however many; reminders likewise; other alerts travel alone. Each claim
/// counts a render begun (`template_renders`); finishing the claim, or [`Store::template_rendered`], takes it back,
/// so a count that grows across claims is a process that died while sending them.
pub(super) async fn claim_batch_in(
    tx: &mut Transaction<'static, Any>,
    destination: &str,
    claim_token: &str,
    now: i64,
    claim_ms: i64,
) -> Result<Vec<DeliveryRow>> {
    let head = sqlx::query(
        "SELECT d.id AS id, d.channel_id AS channel_id, d.alert_type AS alert_type, d.plain_fallback AS plain_fallback
         FROM deliveries d JOIN channels c ON c.id = d.channel_id
         WHERE d.destination = $1 AND d.state = 'pending' AND d.due_at <= $2 AND c.state <> 'broken'
         ORDER BY d.severity_rank DESC, d.created_at, d.id LIMIT 1",
    )
    .bind(destination)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(head) = head else { return Ok(vec![]) };
    let set = "SET state = 'sending', claim_token = $1, claim_until = $2, attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, $3), template_renders = template_renders + 1";
    let alert_type = get_str(&head, "alert_type")?;
    // Findings (new ones, or reminders of open ones) coalesce; anything else travels alone.
    if alert_type == "vulnerability" || alert_type == "reminder" {
        sqlx::query(&format!(
            "UPDATE deliveries {set} WHERE destination = $4 AND channel_id = $5 AND state = 'pending' AND due_at <= $3 AND alert_type = $6 AND plain_fallback = $7"
        ))
        .bind(claim_token)
        .bind(now + claim_ms)
        .bind(now)
        .bind(destination)
        .bind(get_str(&head, "channel_id")?)
        .bind(alert_type)
        .bind(get_i64(&head, "plain_fallback")?)
        .execute(&mut **tx)
        .await?;
    } else {
        sqlx::query(&format!(
            "UPDATE deliveries {set} WHERE id = $4 AND state = 'pending'"
        ))
        .bind(claim_token)
        .bind(now + claim_ms)
        .bind(now)
        .bind(get_str(&head, "id")?)
        .execute(&mut **tx)
        .await?;
    }
    let rows = sqlx::query("SELECT * FROM deliveries WHERE claim_token = $1 AND state = 'sending' ORDER BY severity_rank DESC, created_at, id")
        .bind(claim_token)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(delivery_from).collect()
}

impl Store {
    /// Ends a claim (`set` on its deliveries; the render count taken back) and, with `lane`, gives the lane back in
    /// the same commit.
    async fn finish_claim(
        &self,
        claim_token: &str,
        set: &str,
        binds: Vec<BindVal>,
        lane: Option<&LaneRelease<'_>>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        finish_in(&mut tx, claim_token, set, binds).await?;
        if let Some(lane) = lane {
            release_in(&mut tx, lane).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The claim's custom template render finished, or its send failed inside a process that lives on: the render
    /// count [`claim_batch_in`] added is taken back.
    pub async fn template_rendered(&self, claim_token: &str) -> Result<()> {
        sqlx::query("UPDATE deliveries SET template_renders = 0 WHERE claim_token = $1")
            .bind(claim_token)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Back to the queue after a 429 at `now`; the attempt is not counted as a failure (but as a 429 of the hour).
    pub async fn mark_rate_limited(
        &self,
        claim_token: &str,
        now: i64,
        lane: Option<&LaneRelease<'_>>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        count_claims_in(&mut tx, &[claim_token], now, Hourly::RateLimited).await?;
        finish_in(
            &mut tx,
            claim_token,
            "state = 'pending', attempts = attempts - 1",
            vec![],
        )
        .await?;
        if let Some(lane) = lane {
            release_in(&mut tx, lane).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A retryable failure at `now`: deliveries first tried at or before `give_up_before` are dead (none while the
    /// destination is in an outage: `None`); the rest are due again at `due_at`.
    #[allow(clippy::too_many_arguments)]
    pub async fn mark_retry(
        &self,
        claim_token: &str,
        now: i64,
        due_at: i64,
        give_up_before: Option<i64>,
        error: &str,
        lane: Option<&LaneRelease<'_>>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        count_claims_in(&mut tx, &[claim_token], now, Hourly::Failed).await?;
        if let Some(give_up_before) = give_up_before {
            sqlx::query("UPDATE deliveries SET state = 'dead', last_error = $1, claim_token = NULL, claim_until = NULL, template_renders = 0 WHERE claim_token = $2 AND state = 'sending' AND first_attempt_at <= $3")
                .bind(error)
                .bind(claim_token)
                .bind(give_up_before)
                .execute(&mut *tx)
                .await?;
        }
        finish_in(
            &mut tx,
            claim_token,
            "state = 'pending', due_at = $1, last_error = $2",
            vec![BindVal::I(due_at), BindVal::S(error.into())],
        )
        .await?;
        if let Some(lane) = lane {
            release_in(&mut tx, lane).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Held: the channel is broken; pending again, sent once it is fixed.
    pub async fn mark_held(
        &self,
        claim_token: &str,
        error: &str,
        lane: Option<&LaneRelease<'_>>,
    ) -> Result<()> {
        self.finish_claim(
            claim_token,
            "state = 'pending', attempts = attempts - 1, last_error = $1",
            vec![BindVal::S(error.into())],
            lane,
        )
        .await
    }

    /// Slack refused the payload: re-send once in plain text.
    pub async fn mark_plain_fallback(
        &self,
        claim_token: &str,
        error: &str,
        lane: Option<&LaneRelease<'_>>,
    ) -> Result<()> {
        self.finish_claim(
            claim_token,
            "state = 'pending', plain_fallback = 1, last_error = $1",
            vec![BindVal::S(error.into())],
            lane,
        )
        .await
    }

    pub async fn mark_dead(
        &self,
        claim_token: &str,
        error: &str,
        lane: Option<&LaneRelease<'_>>,
    ) -> Result<()> {
        self.finish_claim(
            claim_token,
            "state = 'dead', last_error = $1",
            vec![BindVal::S(error.into())],
            lane,
        )
        .await
    }
}

pub(super) async fn finish_in(
    tx: &mut Transaction<'static, Any>,
    claim_token: &str,
    set: &str,
    binds: Vec<BindVal>,
) -> Result<()> {
    let n = binds.len();
    let sql = format!("UPDATE deliveries SET {set}, claim_token = NULL, claim_until = NULL, template_renders = 0 WHERE claim_token = ${} AND state = 'sending'", n + 1);
    let mut q = sqlx::query(&sql);
    for b in binds {
        q = match b {
            BindVal::I(i) => q.bind(i),
            BindVal::S(s) => q.bind(s),
        };
    }
    q.bind(claim_token).execute(&mut **tx).await?;
    Ok(())
}

pub(super) enum BindVal {
    I(i64),
    S(String),
}
