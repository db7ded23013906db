//! The delivery outbox and its lanes. A delivery is one message owed to one channel (it may carry many alerts);
//! a lane is one destination, paced through `next_slot_at` and owned by one process at a time through a lease, so
//! pacing holds across every `fence serve` sharing the database.

use crate::{
    get_i64, get_opt_i64, get_opt_str, get_str, new_id, row_placeholders, Result, Store, StoreError,
};
use fence_core::{Alert, ChannelConfig};
use jiff::Timestamp;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

mod claims;
mod health;
mod lanes;
mod sent;
mod tags;

pub use health::DeliveryHealth;
pub use lanes::{ClaimedLane, LaneRelease, Streak};
pub(crate) use sent::SentGroup;
pub(crate) use tags::domain_tags_for;
pub use tags::DomainTags;

/// A channel as routing sees it.
#[derive(Debug, Clone)]
pub struct RoutableChannel {
    pub id: String,
    pub destination: String,
    pub config: ChannelConfig,
}

/// A delivery about to be stored: a reference into an alert set, not a copy of the alerts.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: String,
    pub org_id: String,
    pub channel_id: String,
    pub destination: String,
    pub alert_type: String,
    pub finding_id: Option<String>,
    /// Indices into the alert set; `None` when the channel takes every alert of it.
    pub indices: Option<Vec<u32>>,
    pub alert_count: i64,
    pub severity_rank: i64,
    pub due_at: i64,
    pub created_at: i64,
}

/// A set of alerts stored once and shared by the deliveries of every channel that wants them.
#[derive(Debug, Clone)]
pub struct AlertSet {
    pub id: String,
    pub org_id: String,
    pub alerts: Vec<Alert>,
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
    pub alert_set_id: String,
    #[serde(skip)]
    pub indices: Option<Vec<u32>>,
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
    /// Claims of this delivery begun and not finished (see `claims::claim_batch_in`): 1 while a send is in flight.
    #[serde(skip)]
    pub template_renders: i64,
}

pub(crate) fn delivery_from(r: &AnyRow) -> Result<DeliveryRow> {
    let indices = match get_opt_str(r, "alert_indices")? {
        None => None,
        Some(s) => Some(
            serde_json::from_str(&s)
                .map_err(|e| StoreError::Corrupt(format!("delivery indices: {e}")))?,
        ),
    };
    Ok(DeliveryRow {
        id: get_str(r, "id")?,
        org_id: get_str(r, "org_id")?,
        channel_id: get_str(r, "channel_id")?,
        destination: get_str(r, "destination")?,
        alert_type: get_str(r, "alert_type")?,
        finding_id: get_opt_str(r, "finding_id")?,
        alert_set_id: get_str(r, "alert_set_id")?,
        indices,
        alert_count: get_i64(r, "alert_count")?,
        state: get_str(r, "state")?,
        attempts: get_i64(r, "attempts")?,
        plain_fallback: get_i64(r, "plain_fallback")? != 0,
        due_at: get_i64(r, "due_at")?,
        created_at: get_i64(r, "created_at")?,
        first_attempt_at: get_opt_i64(r, "first_attempt_at")?,
        sent_at: get_opt_i64(r, "sent_at")?,
        last_error: get_opt_str(r, "last_error")?,
        template_renders: get_i64(r, "template_renders")?,
    })
}

impl RoutableChannel {
    pub fn from_row(row: &crate::channels::ChannelRow) -> Result<RoutableChannel> {
        Ok(RoutableChannel {
            id: row.id.clone(),
            destination: row.destination.clone(),
            config: row.rules()?,
        })
    }
}

pub(crate) async fn load_routable_channels(
    tx: &mut Transaction<'static, Any>,
    org_id: &str,
) -> Result<Vec<RoutableChannel>> {
    let rows = sqlx::query("SELECT * FROM channels WHERE org_id = $1")
        .bind(org_id)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter()
        .map(|r| RoutableChannel::from_row(&crate::channels::channel_from(r)?))
        .collect()
}

/// Routes a set of alerts: each channel that wants some of them gets one delivery referring to those alerts, due
/// now or when the channel's time window opens.
pub fn route(channels: &[RoutableChannel], set: &AlertSet, now: i64) -> Vec<NewDelivery> {
    route_tagged(channels, set, &DomainTags::new(), now)
}

/// [`route`], with the tags of the alerts' domains for channels that filter on them (a domain missing from
/// `tags` has none).
pub fn route_tagged(
    channels: &[RoutableChannel],
    set: &AlertSet,
    tags: &DomainTags,
    now: i64,
) -> Vec<NewDelivery> {
    let now_ts = Timestamp::from_millisecond(now).unwrap_or(Timestamp::UNIX_EPOCH);
    let mut out = Vec::new();
    let no_tags: Vec<String> = Vec::new();
    for c in channels {
        let wanted: Vec<u32> = set
            .alerts
            .iter()
            .enumerate()
            .filter(|(_, a)| c.config.wants(a))
            .filter(|(_, a)| {
                c.config.filters.admits_tags(
                    a.domain()
                        .map(|d| tags.get(d).unwrap_or(&no_tags).as_slice()),
                )
            })
            .map(|(i, _)| i as u32)
            .collect();
        let Some(&first) = wanted.first() else {
            continue;
        };
        let first = &set.alerts[first as usize];
        let alert_type = first
            .alert_type()
            .map(|t| t.as_str())
            .unwrap_or("notice")
            .to_string();
        let finding_id = match (wanted.len(), first) {
            (1, Alert::Vulnerability(v)) => Some(v.finding_id.clone()),
            _ => None,
        };
        let severity_rank = wanted
            .iter()
            .map(|i| set.alerts[*i as usize].severity() as i64)
            .max()
            .unwrap_or(0);
        let alert_count = wanted.len() as i64;
        out.push(NewDelivery {
            id: new_id(),
            org_id: set.org_id.clone(),
            channel_id: c.id.clone(),
            destination: c.destination.clone(),
            alert_type,
            finding_id,
            indices: (wanted.len() < set.alerts.len()).then_some(wanted),
            alert_count,
            severity_rank,
            due_at: c.config.due_at(now_ts).as_millisecond(),
            created_at: now,
        });
    }
    out
}

const DELIVERY_COLS: usize = 13;

/// Stores an alert set and the deliveries that refer to it (nothing when no channel wants any of it).
pub(crate) async fn insert_routed(
    dialect: crate::Dialect,
    tx: &mut Transaction<'static, Any>,
    set: &AlertSet,
    ds: &[NewDelivery],
    now: i64,
) -> Result<()> {
    if ds.is_empty() {
        return Ok(());
    }
    let alerts =
        serde_json::to_string(&set.alerts).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query("INSERT INTO alert_sets (id, org_id, alerts, created_at) VALUES ($1, $2, $3, $4)")
        .bind(set.id.as_str())
        .bind(set.org_id.as_str())
        .bind(alerts)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    for chunk in ds.chunks(200) {
        let sql = format!(
            "{} deliveries (id, org_id, channel_id, destination, alert_type, finding_id, alert_set_id, alert_indices, alert_count, severity_rank, state, due_at, created_at) VALUES {}",
            crate::insert_into(dialect),
            row_placeholders(dialect, chunk.len(), DELIVERY_COLS)
        );
        let mut q = sqlx::query(&sql);
        for d in chunk {
            let indices = d
                .indices
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            q = q
                .bind(d.id.as_str())
                .bind(d.org_id.as_str())
                .bind(d.channel_id.as_str())
                .bind(d.destination.as_str())
                .bind(d.alert_type.as_str())
                .bind(d.finding_id.as_deref())
                .bind(set.id.as_str())
                .bind(indices)
                .bind(d.alert_count)
                .bind(d.severity_rank)
                .bind("pending")
                .bind(d.due_at)
                .bind(d.created_at);
        }
        q.execute(&mut **tx).await?;
    }
    crate::notify::deliveries_stored(dialect, tx).await?;
    Ok(())
}

/// Counts for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct OutboxStats {
    pub by_state: Vec<(String, i64)>,
    /// Pending deliveries of broken channels.
    pub held: i64,
    pub broken_channels: i64,
    /// Bot-token channels posting through their webhook (the bot may not post there).
    pub degraded_channels: i64,
    /// Destinations in an outage: probed once per `probe_interval` until they answer.
    pub destinations_in_outage: i64,
}

impl Store {
    /// Routes alerts raised outside an ingest (notices) to `channels` and stores them; returns how many deliveries.
    pub async fn enqueue(
        &self,
        org_id: &str,
        channels: &[RoutableChannel],
        alerts: Vec<Alert>,
        now: i64,
    ) -> Result<usize> {
        let set = AlertSet {
            id: new_id(),
            org_id: org_id.to_string(),
            alerts,
        };
        let mut tx = self.pool.begin().await?;
        let tags = domain_tags_for(&mut tx, org_id, channels, &set.alerts).await?;
        let ds = route_tagged(channels, &set, &tags, now);
        insert_routed(self.dialect, &mut tx, &set, &ds, now).await?;
        tx.commit().await?;
        Ok(ds.len())
    }

    /// Calls `each` with every alert a batch carries, in order, one alert set at a time (from the cache, or read
    /// and decoded once for every sender that asks at the same moment) and holding none past its turn: what a
    /// send keeps of a backlog is up to `each`, not the size of the backlog.
    pub async fn for_each_alert(
        &self,
        batch: &[DeliveryRow],
        mut each: impl FnMut(&Alert),
    ) -> Result<()> {
        for d in batch {
            let set = self.alert_set(&d.alert_set_id).await?;
            match d.indices.as_deref() {
                None => set.iter().for_each(&mut each),
                Some(idx) => idx
                    .iter()
                    .filter_map(|i| set.get(*i as usize))
                    .for_each(&mut each),
            }
        }
        Ok(())
    }

    async fn alert_set(&self, id: &str) -> Result<std::sync::Arc<Vec<Alert>>> {
        self.alert_cache
            .get_or_load(id, || async {
                let row = sqlx::query("SELECT alerts FROM alert_sets WHERE id = $1")
                    .bind(id)
                    .fetch_optional(self.reader())
                    .await?;
                let row =
                    row.ok_or_else(|| StoreError::Corrupt(format!("alert set {id} is missing")))?;
                let text = get_str(&row, "alerts")?;
                let alerts = serde_json::from_str(&text)
                    .map_err(|e| StoreError::Corrupt(format!("alert set: {e}")))?;
                Ok((alerts, text.len()))
            })
            .await
    }

    /// Findings of an organization changed since `since` that must stay quiet now: false positives, resolved ones,
    /// and those snoozed past `now`. (Alerts queued at `since` were about open findings; only a later change can
    /// silence them, so this looks at the few findings changed since, not at every alert of a burst.)
    pub async fn quiet_findings(
        &self,
        org_id: &str,
        since: i64,
        now: i64,
    ) -> Result<std::collections::HashSet<String>> {
        let rows = sqlx::query(
            "SELECT id FROM findings WHERE org_id = $1 AND status IN ('false_positive', 'resolved', 'snoozed')
             AND updated_at >= $2 AND (status <> 'snoozed' OR snoozed_until > $3)",
        )
        .bind(org_id)
        .bind(since)
        .bind(now)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|r| get_str(r, "id")).collect()
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
        let rows = q.bind(limit).fetch_all(self.reader()).await?;
        rows.iter().map(delivery_from).collect()
    }

    pub async fn delivery(&self, org_id: &str, id: &str) -> Result<DeliveryRow> {
        let row = sqlx::query("SELECT * FROM deliveries WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org_id)
            .fetch_optional(self.reader())
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
            .fetch_all(self.reader())
            .await?;
        let by_state = rows
            .iter()
            .map(|r| Ok((get_str(r, "state")?, get_i64(r, "n")?)))
            .collect::<Result<Vec<_>>>()?;
        let held = sqlx::query("SELECT COUNT(*) AS n FROM deliveries d JOIN channels c ON c.id = d.channel_id WHERE d.state = 'pending' AND c.state = 'broken'")
            .fetch_one(self.reader())
            .await?;
        let broken = sqlx::query("SELECT COUNT(*) AS n FROM channels WHERE state = 'broken'")
            .fetch_one(self.reader())
            .await?;
        let degraded = sqlx::query("SELECT COUNT(*) AS n FROM channels WHERE state = 'degraded'")
            .fetch_one(self.reader())
            .await?;
        let outage = sqlx::query("SELECT COUNT(*) AS n FROM lanes WHERE outage_since IS NOT NULL")
            .fetch_one(self.reader())
            .await?;
        Ok(OutboxStats {
            by_state,
            held: get_i64(&held, "n")?,
            broken_channels: get_i64(&broken, "n")?,
            degraded_channels: get_i64(&degraded, "n")?,
            destinations_in_outage: get_i64(&outage, "n")?,
        })
    }
}
