//! Retention: what Fence deletes as it ages — sent deliveries and the alert sets no delivery refers to any more,
//! audit entries past their keep, expired sessions, old log-in attempts — a small batch
//! of each at a time, so the one SQLite writer is never held for long. Work still owed (pending, sending, held)
//! and dead deliveries (what an operator retries from) are never deleted.

use crate::{Result, Store};

/// Rows older than these (milliseconds since the epoch) may go.
#[derive(Debug, Clone, Copy)]
pub struct Cutoffs {
    /// Sent deliveries sent before this, and alert sets created before this that nothing refers to.
    pub deliveries_before: i64,
    pub audit_before: i64,
    /// Log-in attempts before this (long past the back-off window).
    pub logins_before: i64,
    /// Sessions and Add to Slack attempts that expired by now.
    pub now: i64,
}

/// What one batch deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub deliveries: u64,
    pub alert_sets: u64,
    pub audit: u64,
    pub sessions: u64,
    pub logins: u64,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.deliveries + self.alert_sets + self.audit + self.sessions + self.logins
    }

    pub fn add(&mut self, other: Pruned) {
        self.deliveries += other.deliveries;
        self.alert_sets += other.alert_sets;
        self.audit += other.audit;
        self.sessions += other.sessions;
        self.logins += other.logins;
    }
}

impl Store {
    /// Deletes at most `batch` rows of each kind, each kind in its own short statement; call again until it
    /// deletes nothing.
    pub async fn prune_batch(&self, c: &Cutoffs, batch: i64) -> Result<Pruned> {
        let run = |sql: &'static str, cutoff: i64| async move {
            let r = sqlx::query(sql)
                .bind(cutoff)
                .bind(batch)
                .execute(&self.pool)
                .await?;
            Ok::<u64, crate::StoreError>(r.rows_affected())
        };
        let deliveries = run(
            "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE state = 'sent' AND sent_at < $1 LIMIT $2)",
            c.deliveries_before,
        )
        .await?;
        let alert_sets = run(
            "DELETE FROM alert_sets WHERE id IN (SELECT a.id FROM alert_sets a WHERE a.created_at < $1
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_set_id = a.id) LIMIT $2)",
            c.deliveries_before,
        )
        .await?;
        let audit = run(
            "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE created_at < $1 LIMIT $2)",
            c.audit_before,
        )
        .await?;
        let sessions = run(
            "DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions WHERE expires_at <= $1 LIMIT $2)",
            c.now,
        )
        .await?;
        // Attempts have no unique key of their own: delete up to the batch's latest time.
        let logins = run(
            "DELETE FROM login_failures WHERE at <= (SELECT MAX(at) FROM (SELECT at FROM login_failures WHERE at <= $1 ORDER BY at LIMIT $2) oldest)",
            c.logins_before,
        )
        .await?;
        Ok(Pruned {
            deliveries,
            alert_sets,
            audit,
            sessions,
            logins,
        })
    }
}
