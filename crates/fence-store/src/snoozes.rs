//! Snoozes that end: findings whose `snoozed_until` has passed are open again, each with its audit entry and a
//! "Snooze ended" follow-up to the channels whose rules take the finding's alerts — all in one transaction, so a
//! follow-up is queued exactly once, whichever process wakes the finding and whenever it crashes (on PostgreSQL the
//! rows are locked with `SKIP LOCKED`, so two processes split the work). Found by the partial index of migration 0113.

use crate::deliveries::{
    domain_tags_for, insert_routed, load_routable_channels, route_tagged, AlertSet, RoutableChannel,
};
use crate::findings::finding_from;
use crate::{new_id, Dialect, Result, Store};
use fence_core::alert::FollowUpAlert;
use fence_core::Alert;
use std::collections::HashMap;

/// Findings woken per transaction.
const BATCH: i64 = 200;

impl Store {
    /// Opens every finding whose snooze ended by `now` and queues its follow-up (`note`, shown in threads and as a
    /// message of its own on webhooks); returns how many deliveries were queued.
    pub async fn end_snoozes(&self, now: i64, note: &str) -> Result<usize> {
        let mut queued = 0;
        loop {
            let mut tx = self.pool.begin().await?;
            let lock = if self.dialect == Dialect::Postgres {
                " FOR UPDATE SKIP LOCKED"
            } else {
                ""
            };
            let rows = sqlx::query(&format!(
                "SELECT * FROM findings WHERE status = 'snoozed' AND snoozed_until <= $1 ORDER BY snoozed_until LIMIT $2{lock}"
            ))
            .bind(now)
            .bind(BATCH)
            .fetch_all(&mut *tx)
            .await?;
            let mut channels: HashMap<String, Vec<RoutableChannel>> = HashMap::new();
            for r in &rows {
                let f = finding_from(r)?;
                let woke = sqlx::query("UPDATE findings SET status = 'open', snoozed_until = NULL, updated_at = $1 WHERE id = $2 AND status = 'snoozed'")
                    .bind(now)
                    .bind(&f.id)
                    .execute(&mut *tx)
                    .await?;
                if woke.rows_affected() == 0 {
                    continue;
                }
                sqlx::query("INSERT INTO audit_log (id, org_id, actor, action, target, detail, created_at) VALUES ($1, $2, 'fence', 'finding.snooze_ended', $3, NULL, $4)")
                    .bind(new_id())
                    .bind(&f.org_id)
                    .bind(&f.id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                if !channels.contains_key(&f.org_id) {
                    let loaded = load_routable_channels(&mut tx, &f.org_id).await?;
                    channels.insert(f.org_id.clone(), loaded);
                }
                let finding_alert = f.alert(false);
                let Alert::Vulnerability(v) = finding_alert.clone() else {
                    continue;
                };
                let takers: Vec<RoutableChannel> = channels
                    .get(&f.org_id)
                    .into_iter()
                    .flatten()
                    .filter(|c| c.config.wants(&finding_alert))
                    .cloned()
                    .collect();
                let set = AlertSet {
                    id: new_id(),
                    org_id: f.org_id.clone(),
                    alerts: vec![Alert::FollowUp(FollowUpAlert {
                        finding: v,
                        note: note.to_string(),
                        body: None,
                        update_original: false,
                        announce: true,
                    })],
                };
                let tags = domain_tags_for(&mut tx, &f.org_id, &takers, &set.alerts).await?;
                let mut ds = route_tagged(&takers, &set, &tags, now);
                for d in &mut ds {
                    d.alert_type = "followup".into();
                    d.finding_id = Some(f.id.clone());
                }
                insert_routed(self.dialect, &mut tx, &set, &ds, now).await?;
                queued += ds.len();
            }
            tx.commit().await?;
            if (rows.len() as i64) < BATCH {
                return Ok(queued);
            }
        }
    }
}
