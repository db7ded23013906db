//! The delivery outbox and its lanes. A delivery is one message owed to one channel (it may carry many alerts);
//! a lane is one destination, paced through `next_slot_at` and owned by one process at a time through a lease, so
//! pacing holds across every `fence serve` sharing the database.

use crate::{
    get_i64, get_opt_i64, get_opt_str, get_str, new_id, placeholders, row_placeholders, Result,
    Store, StoreError,
};
use fence_core::{Alert, ChannelConfig, ChannelKind};
use jiff::Timestamp;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

/// A channel as routing sees it.
#[derive(Debug, Clone)]
pub struct RoutableChannel {
    pub id: String,
    pub destination: String,
    pub config: ChannelConfig,
}

/// A delivery about to be stored.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: String,
    pub org_id: String,
    pub channel_id: String,
    pub destination: String,
    pub alert_type: String,
    pub finding_id: Option<String>,
    pub alerts: Vec<Alert>,
    pub severity_rank: i64,
    pub due_at: i64,
    pub created_at: i64,
}

/// A stored delivery.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRow {
    pub id: String,
    pub org_id: String,
    pub channel_id: String,
    #[serde(skip)]
    pub destination: String,
    pub alert_type: String,
    pub finding_id: Option<String>,
    #[serde(skip)]
    pub alerts: Vec<Alert>,
    pub alert_count: i64,
    pub state: String,
    pub attempts: i64,
    #[serde(skip)]
    pub plain_fallback: bool,
    pub due_at: i64,
    pub created_at: i64,
    pub first_attempt_at: Option<i64>,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

fn delivery_from(r: &AnyRow) -> Result<DeliveryRow> {
    let alerts: Vec<Alert> = serde_json::from_str(&get_str(r, "alerts")?)
        .map_err(|e| StoreError::Corrupt(format!("delivery alerts: {e}")))?;
    Ok(DeliveryRow {
        id: get_str(r, "id")?,
        org_id: get_str(r, "org_id")?,
        channel_id: get_str(r, "channel_id")?,
        destination: get_str(r, "destination")?,
        alert_type: get_str(r, "alert_type")?,
        finding_id: get_opt_str(r, "finding_id")?,
        alerts,
        alert_count: get_i64(r, "alert_count")?,
        state: get_str(r, "state")?,
        attempts: get_i64(r, "attempts")?,
        plain_fallback: get_i64(r, "plain_fallback")? != 0,
        due_at: get_i64(r, "due_at")?,
        created_at: get_i64(r, "created_at")?,
        first_attempt_at: get_opt_i64(r, "first_attempt_at")?,
        sent_at: get_opt_i64(r, "sent_at")?,
        last_error: get_opt_str(r, "last_error")?,
    })
}

pub(crate) async fn load_routable_channels(
    tx: &mut Transaction<'static, Any>,
    org_id: &str,
) -> Result<Vec<RoutableChannel>> {
    let rows = sqlx::query("SELECT id, kind, destination, config FROM channels WHERE org_id = $1")
        .bind(org_id)
        .fetch_all(&mut **tx)
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let kind = ChannelKind::parse(&get_str(&r, "kind")?).map_err(StoreError::Corrupt)?;
        let config_json: serde_json::Value = serde_json::from_str(&get_str(&r, "config")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let obj = config_json.as_object().cloned().unwrap_or_default();
        let config = ChannelConfig::from_json(&obj, kind)
            .map_err(|e| StoreError::Corrupt(format!("channel config: {e}")))?;
        out.push(RoutableChannel {
            id: get_str(&r, "id")?,
            destination: get_str(&r, "destination")?,
            config,
        });
    }
    Ok(out)
}

/// The deliveries an alert causes: one per channel that wants it, due now or when the channel's window opens.
pub fn route(
    channels: &[RoutableChannel],
    org_id: &str,
    alert: &Alert,
    now: i64,
) -> Vec<NewDelivery> {
    route_many(channels, org_id, std::slice::from_ref(alert), now)
}

/// Routes a batch: each channel gets one delivery carrying every alert of the batch it wants.
pub fn route_many(
    channels: &[RoutableChannel],
    org_id: &str,
    alerts: &[Alert],
    now: i64,
) -> Vec<NewDelivery> {
    let now_ts = Timestamp::from_millisecond(now).unwrap_or(Timestamp::UNIX_EPOCH);
    let mut out = Vec::new();
    for c in channels {
        let wanted: Vec<Alert> = alerts
            .iter()
            .filter(|a| c.config.wants(a))
            .cloned()
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let alert_type = wanted[0]
            .alert_type()
            .map(|t| t.as_str())
            .unwrap_or("notice")
            .to_string();
        let finding_id = match wanted.as_slice() {
            [Alert::Vulnerability(v)] => Some(v.finding_id.clone()),
            _ => None,
        };
        let severity_rank = wanted
            .iter()
            .map(|a| a.severity() as i64)
            .max()
            .unwrap_or(0);
        out.push(NewDelivery {
            id: new_id(),
            org_id: org_id.to_string(),
            channel_id: c.id.clone(),
            destination: c.destination.clone(),
            alert_type,
            finding_id,
            alerts: wanted,
            severity_rank,
            due_at: c.config.due_at(now_ts).as_millisecond(),
            created_at: now,
        });
    }
    out
}

const DELIVERY_COLS: usize = 12;

pub(crate) async fn insert_deliveries(
    tx: &mut Transaction<'static, Any>,
    ds: &[NewDelivery],
) -> Result<()> {
    for chunk in ds.chunks(200) {
        let sql = format!(
            "INSERT INTO deliveries (id, org_id, channel_id, destination, alert_type, finding_id, alerts, alert_count, severity_rank, state, due_at, created_at) VALUES {}",
            row_placeholders(chunk.len(), DELIVERY_COLS)
        );
        let mut q = sqlx::query(&sql);
        for d in chunk {
            let alerts =
                serde_json::to_string(&d.alerts).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            q = q
                .bind(d.id.as_str())
                .bind(d.org_id.as_str())
                .bind(d.channel_id.as_str())
                .bind(d.destination.as_str())
                .bind(d.alert_type.as_str())
                .bind(d.finding_id.as_deref())
                .bind(alerts)
                .bind(d.alerts.len() as i64)
                .bind(d.severity_rank)
                .bind("pending")
                .bind(d.due_at)
                .bind(d.created_at);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Counts for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct OutboxStats {
    pub by_state: Vec<(String, i64)>,
    /// Pending deliveries of broken channels.
    pub held: i64,
    pub broken_channels: i64,
}

impl Store {
    /// Stores deliveries outside an ingest (notices, test replays).
    pub async fn enqueue(&self, ds: &[NewDelivery]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_deliveries(&mut tx, ds).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Returns deliveries whose sender died mid-send to `pending` (at-least-once: they may go out twice).
    pub async fn recover_expired_claims(&self, now: i64) -> Result<u64> {
        let r = sqlx::query("UPDATE deliveries SET state = 'pending', claim_token = NULL, claim_until = NULL WHERE state = 'sending' AND claim_until < $1")
            .bind(now)
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
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| get_str(r, "destination")).collect()
    }

    /// The earliest moment something may become sendable (a due time or a lane's next slot), for the dispatcher's sleep.
    pub async fn next_wakeup(&self, now: i64) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT MIN(CASE WHEN l.next_slot_at > d.due_at THEN l.next_slot_at ELSE d.due_at END) AS t FROM deliveries d
             JOIN channels c ON c.id = d.channel_id
             LEFT JOIN lanes l ON l.destination = d.destination
             WHERE d.state = 'pending' AND c.state <> 'broken'",
        )
        .fetch_one(&self.pool)
        .await?;
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
        sqlx::query("INSERT INTO lanes (destination, next_slot_at, lease_until) VALUES ($1, 0, 0) ON CONFLICT (destination) DO NOTHING")
            .bind(destination)
            .execute(&self.pool)
            .await?;
        let r = sqlx::query("UPDATE lanes SET lease_owner = $1, lease_until = $2 WHERE destination = $3 AND lease_until < $4 AND next_slot_at <= $4")
            .bind(owner)
            .bind(now + lease_ms)
            .bind(destination)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Gives a lane back, setting when it may send next.
    pub async fn release_lane(
        &self,
        destination: &str,
        owner: &str,
        next_slot_at: i64,
    ) -> Result<()> {
        sqlx::query("UPDATE lanes SET lease_owner = NULL, lease_until = 0, next_slot_at = CASE WHEN next_slot_at > $1 THEN next_slot_at ELSE $1 END WHERE destination = $2 AND lease_owner = $3")
            .bind(next_slot_at)
            .bind(destination)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Claims what the next message of a destination will carry: every due delivery of the first channel in line
    /// (most severe first). Non-vulnerability notices travel alone.
    pub async fn claim_batch(
        &self,
        destination: &str,
        claim_token: &str,
        now: i64,
        claim_ms: i64,
    ) -> Result<Vec<DeliveryRow>> {
        let rows = sqlx::query(
            "SELECT d.* FROM deliveries d JOIN channels c ON c.id = d.channel_id
             WHERE d.destination = $1 AND d.state = 'pending' AND d.due_at <= $2 AND c.state <> 'broken'
             ORDER BY d.severity_rank DESC, d.created_at, d.id LIMIT 500",
        )
        .bind(destination)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let all: Vec<DeliveryRow> = rows.iter().map(delivery_from).collect::<Result<_>>()?;
        let Some(first) = all.first() else {
            return Ok(vec![]);
        };
        let (channel, kind, fallback) = (
            first.channel_id.clone(),
            first.alert_type.clone(),
            first.plain_fallback,
        );
        let batch: Vec<DeliveryRow> = if kind == "vulnerability" {
            all.into_iter()
                .filter(|d| {
                    d.channel_id == channel && d.alert_type == kind && d.plain_fallback == fallback
                })
                .collect()
        } else {
            all.into_iter().take(1).collect()
        };
        let sql = format!(
            "UPDATE deliveries SET state = 'sending', claim_token = $1, claim_until = $2, attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, $3)
             WHERE state = 'pending' AND id IN ({})",
            placeholders(4, batch.len())
        );
        let mut q = sqlx::query(&sql)
            .bind(claim_token)
            .bind(now + claim_ms)
            .bind(now);
        for d in &batch {
            q = q.bind(d.id.as_str());
        }
        q.execute(&self.pool).await?;
        // Only what this claim actually took (another process may have raced for a row).
        let sql = format!(
            "SELECT * FROM deliveries WHERE claim_token = $1 AND state = 'sending' AND id IN ({})",
            placeholders(2, batch.len())
        );
        let mut q = sqlx::query(&sql).bind(claim_token);
        for d in &batch {
            q = q.bind(d.id.as_str());
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(delivery_from).collect()
    }

    async fn update_claimed(
        &self,
        sql_set: &str,
        claim_token: &str,
        ids: &[String],
        first_binds: Vec<BindVal>,
    ) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let n = first_binds.len();
        let sql = format!(
            "UPDATE deliveries SET {sql_set}, claim_token = NULL, claim_until = NULL WHERE claim_token = ${} AND id IN ({})",
            n + 1,
            placeholders(n + 2, ids.len())
        );
        let mut q = sqlx::query(&sql);
        for b in first_binds {
            q = match b {
                BindVal::I(i) => q.bind(i),
                BindVal::S(s) => q.bind(s),
                BindVal::OS(s) => q.bind(s),
            };
        }
        q = q.bind(claim_token);
        for id in ids {
            q = q.bind(id.as_str());
        }
        q.execute(&self.pool).await?;
        Ok(())
    }

    pub async fn mark_sent(&self, claim_token: &str, ids: &[String], now: i64) -> Result<()> {
        self.update_claimed(
            "state = 'sent', sent_at = $1, last_error = NULL",
            claim_token,
            ids,
            vec![BindVal::I(now)],
        )
        .await
    }

    /// Back to the queue after a 429; the attempt is not counted as a failure.
    pub async fn mark_rate_limited(&self, claim_token: &str, ids: &[String]) -> Result<()> {
        self.update_claimed(
            "state = 'pending', attempts = attempts - 1",
            claim_token,
            ids,
            vec![],
        )
        .await
    }

    /// Back to the queue, due again at `due_at`, with the error kept for the API.
    pub async fn mark_retry(
        &self,
        claim_token: &str,
        ids: &[String],
        due_at: i64,
        error: &str,
    ) -> Result<()> {
        self.update_claimed(
            "state = 'pending', due_at = $1, last_error = $2",
            claim_token,
            ids,
            vec![BindVal::I(due_at), BindVal::S(error.into())],
        )
        .await
    }

    /// Held: the channel is broken; pending again, sent once it is fixed.
    pub async fn mark_held(&self, claim_token: &str, ids: &[String], error: &str) -> Result<()> {
        self.update_claimed(
            "state = 'pending', attempts = attempts - 1, last_error = $1",
            claim_token,
            ids,
            vec![BindVal::S(error.into())],
        )
        .await
    }

    /// Slack refused the payload: re-send once in plain text.
    pub async fn mark_plain_fallback(
        &self,
        claim_token: &str,
        ids: &[String],
        error: &str,
    ) -> Result<()> {
        self.update_claimed(
            "state = 'pending', plain_fallback = 1, last_error = $1",
            claim_token,
            ids,
            vec![BindVal::S(error.into())],
        )
        .await
    }

    pub async fn mark_dead(&self, claim_token: &str, ids: &[String], error: &str) -> Result<()> {
        self.update_claimed(
            "state = 'dead', last_error = $1",
            claim_token,
            ids,
            vec![BindVal::OS(Some(error.into()))],
        )
        .await
    }

    pub async fn list_deliveries(
        &self,
        org_id: &str,
        channel_id: Option<&str>,
        state: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>> {
        let mut sql = String::from("SELECT * FROM deliveries WHERE org_id = $1");
        let mut binds = Vec::new();
        if let Some(c) = channel_id {
            binds.push(c.to_string());
            sql.push_str(&format!(" AND channel_id = ${}", binds.len() + 1));
        }
        if let Some(s) = state {
            binds.push(s.to_string());
            sql.push_str(&format!(" AND state = ${}", binds.len() + 1));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", binds.len() + 2));
        let mut q = sqlx::query(&sql).bind(org_id);
        for b in &binds {
            q = q.bind(b.as_str());
        }
        let rows = q.bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(delivery_from).collect()
    }

    pub async fn delivery(&self, org_id: &str, id: &str) -> Result<DeliveryRow> {
        let row = sqlx::query("SELECT * FROM deliveries WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(delivery_from)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    /// Replays a dead (or sent) delivery: pending again, due now, with a fresh retry budget.
    pub async fn retry_delivery(&self, org_id: &str, id: &str, now: i64) -> Result<DeliveryRow> {
        let r = sqlx::query(
            "UPDATE deliveries SET state = 'pending', due_at = $1, attempts = 0, first_attempt_at = NULL, plain_fallback = 0, claim_token = NULL, claim_until = NULL
             WHERE id = $2 AND org_id = $3 AND state IN ('dead', 'sent')",
        )
        .bind(now)
        .bind(id)
        .bind(org_id)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            let d = self.delivery(org_id, id).await?;
            return Err(StoreError::Conflict(format!(
                "delivery is {} and will be sent without a replay",
                d.state
            )));
        }
        self.delivery(org_id, id).await
    }

    /// Lets a fixed channel's held deliveries go at once.
    pub async fn release_held(&self, channel_id: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE deliveries SET due_at = $1 WHERE channel_id = $2 AND state = 'pending' AND due_at < $1").bind(now).bind(channel_id).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn outbox_stats(&self) -> Result<OutboxStats> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        let by_state = rows
            .iter()
            .map(|r| Ok((get_str(r, "state")?, get_i64(r, "n")?)))
            .collect::<Result<Vec<_>>>()?;
        let held = sqlx::query("SELECT COUNT(*) AS n FROM deliveries d JOIN channels c ON c.id = d.channel_id WHERE d.state = 'pending' AND c.state = 'broken'")
            .fetch_one(&self.pool)
            .await?;
        let broken = sqlx::query("SELECT COUNT(*) AS n FROM channels WHERE state = 'broken'")
            .fetch_one(&self.pool)
            .await?;
        Ok(OutboxStats {
            by_state,
            held: get_i64(&held, "n")?,
            broken_channels: get_i64(&broken, "n")?,
        })
    }
}

enum BindVal {
    I(i64),
    S(String),
    OS(Option<String>),
}
