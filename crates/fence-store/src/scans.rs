//! Scans: the queue of built-in scans (claimed by workers, one active scan per domain), external scans whose
//! results a scanner posts, and imports; completing a scan stores its counts and queues its summary alert in the
//! same transaction.

use crate::deliveries::{insert_routed, load_routable_channels, AlertSet};
use crate::{get_i64, get_opt_i64, get_opt_str, get_str, new_id, Result, Store, StoreError};
use fence_core::alert::ScanAlert;
use fence_core::Alert;
use sqlx::any::AnyRow;

/// A stored scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRow {
    pub id: String,
    pub org_id: String,
    pub domain: String,
    pub scan_type: String,
    pub source: String,
    pub status: String,
    pub requested_by: Option<String>,
    pub error: Option<String>,
    /// critical, high, medium, low, info
    pub counts: [i64; 5],
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub duration_ms: Option<i64>,
    /// A Slack response URL to post the summary to (scans queued from `/fence scan`).
    pub notify_url: Option<String>,
    /// What became of each result of an imported file, as JSON (the scans service writes and reads it).
    pub result_counts: Option<String>,
}

fn scan_from(r: &AnyRow) -> Result<ScanRow> {
    Ok(ScanRow {
        id: get_str(r, "id")?,
        org_id: get_str(r, "org_id")?,
        domain: get_str(r, "domain")?,
        scan_type: get_str(r, "scan_type")?,
        source: get_str(r, "source")?,
        status: get_str(r, "status")?,
        requested_by: get_opt_str(r, "requested_by")?,
        error: get_opt_str(r, "error")?,
        counts: [
            get_i64(r, "critical")?,
            get_i64(r, "high")?,
            get_i64(r, "medium")?,
            get_i64(r, "low")?,
            get_i64(r, "info")?,
        ],
        created_at: get_i64(r, "created_at")?,
        started_at: get_opt_i64(r, "started_at")?,
        finished_at: get_opt_i64(r, "finished_at")?,
        duration_ms: get_opt_i64(r, "duration_ms")?,
        notify_url: get_opt_str(r, "notify_url")?,
        result_counts: get_opt_str(r, "result_counts")?,
    })
}

/// An organization's limits on built-in scans (`scan.max_queued_per_org`, `scan.max_per_org_per_hour` since
/// `since`).
#[derive(Debug, Clone, Copy)]
pub struct ScanQuota {
    pub max_queued: i64,
    pub max_recent: i64,
    pub since: i64,
}

/// What an organization used of its scan quotas when a scan was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaUse {
    pub queued: i64,
    pub recent: i64,
    /// When the oldest scan counted in `recent` was asked for.
    pub oldest: Option<i64>,
}

/// How a scan ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOutcome {
    pub completed: bool,
    pub counts: [i64; 5],
    pub duration_ms: i64,
    pub error: Option<String>,
    /// What became of each result of an imported file, as JSON.
    pub result_counts: Option<String>,
    /// What the scan changed among the stored findings, for its summary.
    pub changes: Option<fence_core::alert::ScanChanges>,
}

impl Store {
    /// Queues a built-in scan (`queued`), or opens an external scan or an import (`running`).
    pub async fn create_scan(
        &self,
        org_id: &str,
        domain: &str,
        scan_type: &str,
        source: &str,
        requested_by: Option<&str>,
        now: i64,
    ) -> Result<ScanRow> {
        let id = new_id();
        let status = if source == "builtin" {
            "queued"
        } else {
            "running"
        };
        let started = (status == "running").then_some(now);
        sqlx::query("INSERT INTO scans (id, org_id, domain, scan_type, source, status, requested_by, created_at, started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(&id)
            .bind(org_id)
            .bind(domain)
            .bind(scan_type)
            .bind(source)
            .bind(status)
            .bind(requested_by)
            .bind(now)
            .bind(started)
            .execute(&self.pool)
            .await?;
        self.scan(org_id, &id).await
    }

    pub async fn scan(&self, org_id: &str, id: &str) -> Result<ScanRow> {
        let row = sqlx::query("SELECT * FROM scans WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org_id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref()
            .map(scan_from)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    /// Asks for the scan's summary to be posted to `url` too.
    pub async fn set_scan_notify(&self, id: &str, url: &str) -> Result<()> {
        sqlx::query("UPDATE scans SET notify_url = $1 WHERE id = $2")
            .bind(url)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The scan's place in the queue of built-in scans (1 = next), or 0 once it left the queue.
    pub async fn queue_position(&self, id: &str) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM scans q, scans me WHERE me.id = $1 AND me.status = 'queued' AND q.status = 'queued'
             AND (q.created_at < me.created_at OR (q.created_at = me.created_at AND q.id <= me.id))",
        )
        .bind(id)
        .fetch_one(self.reader())
        .await?;
        get_i64(&row, "n")
    }

    /// The organization's queue and recent scans, newest first.
    pub async fn list_scans(&self, org_id: &str, limit: i64) -> Result<Vec<ScanRow>> {
        let rows = sqlx::query("SELECT * FROM scans WHERE org_id = $1 ORDER BY id DESC LIMIT $2")
            .bind(org_id)
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(scan_from).collect()
    }

    /// Takes the next queued built-in scan whose domain has no scan running, for `lease_ms`: round-robin across
    /// organizations (the one whose latest scan started longest ago first), oldest first within one.
    pub async fn claim_scan(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
    ) -> Result<Option<ScanRow>> {
        for _ in 0..5 {
            let next = sqlx::query(
                "SELECT s.id AS id, s.org_id AS org_id FROM scans s WHERE s.status = 'queued' AND s.source = 'builtin'
                 AND NOT EXISTS (SELECT 1 FROM scans r WHERE r.org_id = s.org_id AND r.domain = s.domain AND r.status IN ('running', 'reporting'))
                 ORDER BY (SELECT COALESCE(MAX(p.started_at), 0) FROM scans p WHERE p.org_id = s.org_id AND p.source = 'builtin'),
                          s.created_at, s.id
                 LIMIT 1",
            )
            .fetch_optional(&self.pool)
            .await?;
            let Some(next) = next else { return Ok(None) };
            let id = get_str(&next, "id")?;
            let r = sqlx::query("UPDATE scans SET status = 'running', started_at = $1, lease_owner = $2, lease_until = $3 WHERE id = $4 AND status = 'queued'")
                .bind(now)
                .bind(owner)
                .bind(now + lease_ms)
                .bind(&id)
                .execute(&self.pool)
                .await?;
            if r.rows_affected() == 1 {
                return self.scan(&get_str(&next, "org_id")?, &id).await.map(Some);
            }
        }
        Ok(None)
    }

    /// Queues a built-in scan unless the organization is at a quota (`max_queued` waiting, or `max_recent` asked for
    /// since `since`): the use is counted and the scan inserted in one transaction, with the organization's row
    /// locked on PostgreSQL (SQLite has one writer), so concurrent requests cannot all pass one check. Refused: the
    /// use found (queued, asked for since `since`, the oldest of those).
    #[allow(clippy::too_many_arguments)]
    pub async fn queue_builtin_scan(
        &self,
        org_id: &str,
        domain: &str,
        scan_type: &str,
        requested_by: Option<&str>,
        now: i64,
        quota: ScanQuota,
    ) -> Result<std::result::Result<ScanRow, QuotaUse>> {
        let mut tx = self.pool.begin().await?;
        if self.dialect == crate::Dialect::Postgres {
            sqlx::query("SELECT id FROM organizations WHERE id = $1 FOR UPDATE")
                .bind(org_id)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let row = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END), 0) AS queued,
                    COALESCE(SUM(CASE WHEN created_at > $2 THEN 1 ELSE 0 END), 0) AS recent,
                    MIN(CASE WHEN created_at > $2 THEN created_at END) AS oldest
             FROM scans WHERE org_id = $1 AND source = 'builtin' AND (status = 'queued' OR created_at > $2)",
        )
        .bind(org_id)
        .bind(quota.since)
        .fetch_one(&mut *tx)
        .await?;
        let used = QuotaUse {
            queued: get_i64(&row, "queued")?,
            recent: get_i64(&row, "recent")?,
            oldest: crate::get_opt_i64(&row, "oldest")?,
        };
        if used.queued >= quota.max_queued || used.recent >= quota.max_recent {
            tx.rollback().await?;
            return Ok(Err(used));
        }
        let id = new_id();
        sqlx::query("INSERT INTO scans (id, org_id, domain, scan_type, source, status, requested_by, created_at) VALUES ($1, $2, $3, $4, 'builtin', 'queued', $5, $6)")
            .bind(&id)
            .bind(org_id)
            .bind(domain)
            .bind(scan_type)
            .bind(requested_by)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        crate::notify::scan_queued(self.dialect, &mut tx).await?;
        tx.commit().await?;
        Ok(Ok(self.scan(org_id, &id).await?))
    }

    /// Fails built-in scans whose worker stopped answering, external scans nobody finished within a day, and scans
    /// whose results were being recorded by a process that died.
    pub async fn expire_scans(&self, now: i64) -> Result<u64> {
        let a = sqlx::query("UPDATE scans SET status = 'failed', error = 'timed out', finished_at = $1 WHERE status = 'running' AND source = 'builtin' AND lease_until < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let b = sqlx::query("UPDATE scans SET status = 'failed', error = 'no results within 24 hours', finished_at = $1 WHERE status = 'running' AND source = 'external' AND started_at < $2")
            .bind(now)
            .bind(now - 24 * 3_600_000)
            .execute(&self.pool)
            .await?;
        let c = sqlx::query("UPDATE scans SET status = 'failed', error = 'interrupted while recording its results (the findings it reported are stored)', finished_at = $1 WHERE status = 'reporting' AND lease_until < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(a.rows_affected() + b.rows_affected() + c.rows_affected())
    }

    /// Ends a running scan and queues its "Security Scan Completed" summary, atomically. A scan that already
    /// ended is a conflict (a scanner posting results twice).
    pub async fn finish_scan(
        &self,
        org_id: &str,
        id: &str,
        outcome: &ScanOutcome,
        now: i64,
    ) -> Result<ScanRow> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "UPDATE scans SET status = $1, error = $2, critical = $3, high = $4, medium = $5, low = $6, info = $7, finished_at = $8, duration_ms = $9, lease_owner = NULL, lease_until = 0, result_counts = $12
             WHERE id = $10 AND org_id = $11 AND status IN ('queued', 'running', 'reporting')",
        )
        .bind(if outcome.completed { "completed" } else { "failed" })
        .bind(outcome.error.as_deref())
        .bind(outcome.counts[0])
        .bind(outcome.counts[1])
        .bind(outcome.counts[2])
        .bind(outcome.counts[3])
        .bind(outcome.counts[4])
        .bind(now)
        .bind(outcome.duration_ms)
        .bind(id)
        .bind(org_id)
        .bind(outcome.result_counts.as_deref())
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::Conflict("this scan has already ended".into()));
        }
        let row = sqlx::query("SELECT * FROM scans WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let scan = scan_from(&row)?;
        if outcome.completed {
            let counts = outcome
                .counts
                .map(|c| u32::try_from(c.max(0)).unwrap_or(u32::MAX));
            let alert = Alert::ScanCompleted(ScanAlert {
                scan_id: scan.id.clone(),
                domain: scan.domain.clone(),
                scan_type: scan.scan_type.clone(),
                duration_secs: (outcome.duration_ms.max(0) / 1000) as u64,
                counts,
                changes: outcome.changes,
            });
            let channels = load_routable_channels(&mut tx, org_id).await?;
            let set = AlertSet {
                id: new_id(),
                org_id: org_id.to_string(),
                alerts: vec![alert],
            };
            let tags =
                crate::deliveries::domain_tags_for(&mut tx, org_id, &channels, &set.alerts).await?;
            let ds = crate::deliveries::route_tagged(&channels, &set, &tags, now);
            insert_routed(self.dialect, &mut tx, &set, &ds, now).await?;
        }
        tx.commit().await?;
        Ok(scan)
    }

    /// Scans completed in `(from, to]` and the distinct domains they covered (digests).
    pub async fn scan_stats(&self, org_id: &str, from: i64, to: i64) -> Result<(i64, i64)> {
        let row = sqlx::query("SELECT COUNT(*) AS n, COUNT(DISTINCT domain) AS d FROM scans WHERE org_id = $1 AND status = 'completed' AND finished_at > $2 AND finished_at <= $3")
            .bind(org_id)
            .bind(from)
            .bind(to)
            .fetch_one(self.reader())
            .await?;
        Ok((get_i64(&row, "n")?, get_i64(&row, "d")?))
    }
}
