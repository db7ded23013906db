//! Escalation and Acknowledge: findings alerted to a channel with an `escalation` that are still open and
//! unacknowledged `after` the delivery was sent become one escalation alert per channel and pass; each delivery is
//! looked at once, across processes, by the channel's mark (`escalation_marks.scanned_to`, moved by compare-and-set in
//! the commit that queues the escalation). Acknowledging records who and when and counts as the finding's triage.

use crate::deliveries::{delivery_from, insert_routed, AlertSet, DeliveryRow, RoutableChannel};
use crate::findings::{finding_from, FindingRow};
use crate::{get_i64, new_id, placeholders, Dialect, Result, Store, StoreError};
use fence_core::alert::EscalationAlert;
use fence_core::{Alert, Severity, VulnerabilityAlert};
use sqlx::{Any, Transaction};
use std::collections::HashSet;

/// Sent deliveries of one channel looked at per pass.
const DELIVERIES_PER_PASS: i64 = 2_000;

impl Store {
    /// Queues the escalations due at `now`, one per channel at most; returns how many channels were escalated.
    pub async fn raise_escalations(&self, now: i64) -> Result<usize> {
        let mut raised = 0;
        for c in self.all_channels().await? {
            let Ok(config) = c.rules() else {
                continue;
            };
            let Some(rule) = config.escalation.clone() else {
                continue;
            };
            let target = RoutableChannel {
                id: c.id.clone(),
                destination: c.destination.clone(),
                config,
            };
            // A new rule looks only at what is sent after it was saved.
            if self
                .escalate_channel(&c.org_id, &target, &rule, c.updated_at, now)
                .await?
            {
                raised += 1;
            }
        }
        Ok(raised)
    }

    async fn escalate_channel(
        &self,
        org_id: &str,
        target: &RoutableChannel,
        rule: &fence_core::channel::Escalation,
        since: i64,
        now: i64,
    ) -> Result<bool> {
        let d = self.dialect;
        let mark = sqlx::query("SELECT scanned_to FROM escalation_marks WHERE channel_id = $1")
            .bind(&target.id)
            .fetch_optional(self.reader())
            .await?
            .map(|r| get_i64(&r, "scanned_to"))
            .transpose()?;
        let from = mark.unwrap_or(since - 1);
        let cutoff = now - rule.after_ms;
        let rows = sqlx::query("SELECT * FROM deliveries WHERE channel_id = $1 AND state = 'sent' AND alert_type = 'vulnerability' AND sent_at > $2 AND sent_at <= $3 ORDER BY sent_at LIMIT $4")
            .bind(&target.id)
            .bind(from)
            .bind(cutoff)
            .bind(DELIVERIES_PER_PASS)
            .fetch_all(self.reader())
            .await?;
        let mut batch: Vec<DeliveryRow> = rows.iter().map(delivery_from).collect::<Result<_>>()?;
        if batch.is_empty() {
            return Ok(false);
        }
        // A full page may end inside one group commit's sent_at: that instant is taken whole next pass.
        let last = batch.last().and_then(|b| b.sent_at).unwrap_or(from);
        if batch.len() as i64 == DELIVERIES_PER_PASS
            && batch.iter().any(|b| b.sent_at != Some(last))
        {
            batch.retain(|b| b.sent_at != Some(last));
        }
        let scanned_to = batch.iter().filter_map(|b| b.sent_at).max().unwrap_or(from);
        let mut ids: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        self.for_each_alert(&batch, |a| {
            if let Alert::Vulnerability(v) = a {
                if rule.covers(v.severity) && seen.insert(v.finding_id.clone()) {
                    ids.push(v.finding_id.clone());
                }
            }
        })
        .await?;
        let mut tx = self.pool.begin().await?;
        if !move_mark(&mut tx, &target.id, mark, scanned_to).await? {
            // Another process took these deliveries.
            return Ok(false);
        }
        let due = still_unacknowledged(d, &mut tx, org_id, &ids).await?;
        let raised = !due.is_empty();
        if raised {
            let set = AlertSet {
                id: new_id(),
                org_id: org_id.to_string(),
                alerts: vec![escalation_of(&due, &rule.after)],
            };
            let target = std::slice::from_ref(target);
            let tags =
                crate::deliveries::domain_tags_for(&mut tx, org_id, target, &set.alerts).await?;
            let ds = crate::deliveries::route_tagged(target, &set, &tags, now);
            insert_routed(d, &mut tx, &set, &ds, now).await?;
        }
        tx.commit().await.map_err(StoreError::Db)?;
        Ok(raised)
    }

    /// Acknowledges an open finding for `actor` (once: a second acknowledge leaves the first one), audited; it counts
    /// as the finding's first triage when nothing triaged it before.
    pub async fn acknowledge_finding(
        &self,
        org_id: &str,
        id: &str,
        actor: &str,
        now: i64,
    ) -> Result<(FindingRow, bool)> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT * FROM findings WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let before = finding_from(&row)?;
        let done = sqlx::query("UPDATE findings SET acknowledged_by = $1, acknowledged_at = $2, triaged_at = COALESCE(triaged_at, $2) WHERE id = $3 AND org_id = $4 AND acknowledged_at IS NULL")
            .bind(actor)
            .bind(now)
            .bind(id)
            .bind(org_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if done {
            let untriaged: Option<i64> =
                sqlx::query("SELECT triaged_at FROM findings WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await
                    .map(|r| crate::get_opt_i64(&r, "triaged_at"))??;
            // Our own write set it now: nothing had triaged it before.
            if untriaged == Some(now) && before.status == fence_core::FindingStatus::Open {
                sqlx::query("INSERT INTO finding_days (org_id, day, triaged, triage_ms) VALUES ($1, $2, 1, $3)")
                    .bind(org_id)
                    .bind(now.div_euclid(crate::days::DAY_MS))
                    .bind((now - before.first_seen).max(0))
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("INSERT INTO audit_log (id, org_id, actor, action, target, detail, created_at) VALUES ($1, $2, $3, 'finding.acknowledged', $4, NULL, $5)")
                .bind(new_id())
                .bind(org_id)
                .bind(actor)
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok((self.finding(org_id, id).await?, done))
    }
}

/// Moves the channel's mark from `old` (none: not yet written) to `to`; false when another process moved it first.
async fn move_mark(
    tx: &mut Transaction<'_, Any>,
    channel_id: &str,
    old: Option<i64>,
    to: i64,
) -> Result<bool> {
    let moved = match old {
        None => sqlx::query("INSERT INTO escalation_marks (channel_id, scanned_to) VALUES ($1, $2) ON CONFLICT (channel_id) DO NOTHING")
            .bind(channel_id)
            .bind(to)
            .execute(&mut **tx)
            .await?,
        Some(old) => sqlx::query("UPDATE escalation_marks SET scanned_to = $1 WHERE channel_id = $2 AND scanned_to = $3")
            .bind(to)
            .bind(channel_id)
            .bind(old)
            .execute(&mut **tx)
            .await?,
    };
    Ok(moved.rows_affected() == 1)
}

/// Of these findings, those still open and unacknowledged (not snoozed, resolved or false positive), worst first.
async fn still_unacknowledged(
    d: Dialect,
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    ids: &[String],
) -> Result<Vec<FindingRow>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT * FROM findings WHERE org_id = {} AND status = 'open' AND acknowledged_at IS NULL AND id IN ({})",
            crate::ph(d, 1),
            placeholders(d, 2, chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(org_id);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for r in q.fetch_all(&mut **tx).await? {
            out.push(finding_from(&r)?);
        }
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.cvss.unwrap_or(-1.0).total_cmp(&a.cvss.unwrap_or(-1.0)))
            .then(a.id.cmp(&b.id))
    });
    Ok(out)
}

/// One escalation for the findings (worst first): the first ones listed, all of them counted by severity.
fn escalation_of(due: &[FindingRow], after: &str) -> Alert {
    let findings: Vec<VulnerabilityAlert> = due
        .iter()
        .take(EscalationAlert::LISTED)
        .filter_map(|f| match f.alert(false) {
            Alert::Vulnerability(v) => Some(v),
            _ => None,
        })
        .collect();
    let counts = Severity::ALL
        .iter()
        .map(|s| (*s, due.iter().filter(|f| f.severity == *s).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    Alert::Escalation(EscalationAlert {
        findings,
        counts,
        after: after.to_string(),
    })
}
