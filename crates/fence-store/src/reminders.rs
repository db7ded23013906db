//! Reminders: open findings still unhandled after a channel's `reminders.every`, raised once per period per
//! channel and finding (marks remember the last one), in one transaction with their deliveries.

use crate::deliveries::{insert_routed, AlertSet, RoutableChannel};
use crate::findings::finding_from;
use crate::{new_id, Result, Store, StoreError};
use fence_core::alert::ReminderAlert;
use fence_core::Alert;

/// At most this many findings are reminded per channel and pass (the message counts them all anyway).
const MAX_PER_PASS: i64 = 10_000;

impl Store {
    /// Raises the reminders due at `now` for every channel that has `reminders`; returns how many alerts.
    pub async fn raise_reminders(&self, now: i64) -> Result<usize> {
        let channels = self.all_channels().await?;
        let mut raised = 0;
        for c in channels {
            let Ok(config) = c.rules() else {
                continue;
            };
            let Some(rules) = config.reminder_rules.clone() else {
                continue;
            };
            let cutoff = now - rules.every_ms;
            let mut tx = self.pool.begin().await?;
            let rows = sqlx::query(
                "SELECT f.* FROM findings f LEFT JOIN reminder_marks m ON m.channel_id = $1 AND m.finding_id = f.id
                 WHERE f.org_id = $2 AND (f.status = 'open' OR (f.status = 'snoozed' AND f.snoozed_until <= $3))
                   AND f.first_seen <= $4 AND (m.last_at IS NULL OR m.last_at <= $4)
                   AND (f.silence_id IS NULL OR NOT EXISTS (SELECT 1 FROM silences s WHERE s.id = f.silence_id AND s.expires_at > $3))
                 ORDER BY f.severity_rank DESC, f.id LIMIT $5",
            )
            .bind(&c.id)
            .bind(&c.org_id)
            .bind(now)
            .bind(cutoff)
            .bind(MAX_PER_PASS)
            .fetch_all(&mut *tx)
            .await?;
            let mut alerts = Vec::new();
            let mut ids = Vec::new();
            for r in &rows {
                let f = finding_from(r)?;
                if !rules.severities.is_empty() && !rules.severities.contains(&f.severity) {
                    continue;
                }
                let Alert::Vulnerability(v) = f.alert(false) else {
                    continue;
                };
                let alert = Alert::Reminder(ReminderAlert {
                    finding: v,
                    open_since: f.first_seen,
                    days_open: (now - f.first_seen) / 86_400_000,
                });
                if !config.wants(&alert) {
                    continue;
                }
                ids.push(f.id.clone());
                alerts.push(alert);
            }
            if alerts.is_empty() {
                continue;
            }
            for id in &ids {
                sqlx::query(
                    "INSERT INTO reminder_marks (channel_id, finding_id, last_at) VALUES ($1, $2, $3)
                     ON CONFLICT (channel_id, finding_id) DO UPDATE SET last_at = excluded.last_at",
                )
                .bind(&c.id)
                .bind(id.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            raised += alerts.len();
            let set = AlertSet {
                id: new_id(),
                org_id: c.org_id.clone(),
                alerts,
            };
            let target = [RoutableChannel {
                id: c.id.clone(),
                destination: c.destination.clone(),
                config,
            }];
            let tags = crate::deliveries::domain_tags_for(&mut tx, &c.org_id, &target, &set.alerts)
                .await?;
            let ds = crate::deliveries::route_tagged(&target, &set, &tags, now);
            insert_routed(self.dialect, &mut tx, &set, &ds, now).await?;
            tx.commit().await.map_err(StoreError::Db)?;
        }
        Ok(raised)
    }
}
