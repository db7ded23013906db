//! The scheduler: periodic jobs (reminders, escalations, digests, the certificate monitor, the membership re-check of degraded
//! channels, retention, summing the finding counts, PostgreSQL's planner statistics) that run once across every process sharing the database, each claimed through the store's
//! job lease at its due time.

use crate::state::AppState;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often reminders are looked for.
const REMINDERS_EVERY_MS: i64 = 60_000;
const JOB_LEASE_MS: i64 = 120_000;
/// How often due digests are looked for (each is sent once, whenever its time is found to have passed).
const DIGESTS_EVERY_MS: i64 = 30_000;
/// How often the certificate monitor looks for due domains (each is checked every `certificates.check_every`).
const CERTIFICATES_EVERY_MS: i64 = 60_000;
/// How often the finding counts' and daily trends' change rows are summed up (`Store::compact_finding_counts`,
/// `Store::compact_finding_days`, `Store::compact_delivery_hours`) and the most affected domains counted again (`Store::refresh_top_domains`).
const COUNTS_EVERY_MS: i64 = 60_000;
/// How often PostgreSQL's planner statistics are looked at (`Store::analyze_if_stale`).
const PLANNER_STATS_EVERY_MS: i64 = 5_000;

/// The follow-up of a snooze that ended, in the finding's thread or as a message of its own on webhooks (it names
/// nothing of the finding: minimal channels show it as it is).
pub const SNOOZE_ENDED: &str = "⏰ Snooze ended: this finding is still open.";

pub struct Scheduler {
    state: AppState,
    owner: String,
    /// This process's certificate monitor pass is running.
    certificates_running: Arc<AtomicBool>,
}

impl Scheduler {
    pub fn new(state: AppState) -> Self {
        Scheduler {
            state,
            owner: format!("scheduler:{}", fence_store::new_id()),
            certificates_running: Arc::default(),
        }
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            if let Err(e) = self.tick().await {
                tracing::warn!(error = %e, "scheduler pass failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Reloads the configured exploitability feeds when due (at start, then every `intel.reload_every`), once across
    /// processes; a feed that fails to load keeps the stored one and is logged.
    async fn intel(&self, now: i64) -> anyhow::Result<()> {
        let st = &self.state;
        let cfg = &st.config.intel;
        if !cfg.configured()
            || !st
                .store
                .claim_job("intel", &self.owner, now, JOB_LEASE_MS)
                .await?
        {
            return Ok(());
        }
        use crate::services::intel::{import_file, Feed};
        for (feed, file) in [(Feed::Kev, &cfg.kev_file), (Feed::Epss, &cfg.epss_file)] {
            let Some(path) = file else { continue };
            match import_file(st, feed, path, None).await {
                Ok(l) => tracing::info!(
                    feed = feed.as_str(),
                    entries = l.entries,
                    newly_flagged = l.newly_flagged,
                    "exploitability feed loaded"
                ),
                Err(e) => {
                    tracing::warn!(feed = feed.as_str(), error = %e.public_message(), "exploitability feed not loaded; the stored one stays")
                }
            }
        }
        let every = i64::try_from(cfg.reload_every.as_millis()).unwrap_or(i64::MAX);
        st.store
            .finish_job("intel", &self.owner, now.saturating_add(every))
            .await?;
        Ok(())
    }

    /// Runs every job that is due now; returns how many alerts they raised.
    pub async fn tick(&self) -> anyhow::Result<usize> {
        let st = &self.state;
        let now = st.clock.now_ms();
        let mut raised = 0;
        if st
            .store
            .claim_job("reminders", &self.owner, now, JOB_LEASE_MS)
            .await?
        {
            let result = st.store.raise_reminders(now).await;
            st.store
                .finish_job("reminders", &self.owner, now + REMINDERS_EVERY_MS)
                .await?;
            raised += result?;
        }
        if st
            .store
            .claim_job("digests", &self.owner, now, JOB_LEASE_MS)
            .await?
        {
            let result = crate::services::digests::send_due(st).await;
            st.store
                .finish_job("digests", &self.owner, now + DIGESTS_EVERY_MS)
                .await?;
            raised += result?;
        }
        // Snoozes that ended: open again, with their follow-up queued in the same commit (once, across processes).
        raised += st.store.end_snoozes(now, SNOOZE_ENDED).await?;
        // Escalations of what nobody acknowledged: each channel's sent alerts looked at once (its mark, moved by
        // compare-and-set in the commit that queues the escalation), so every pass of every process may look.
        raised += st.store.raise_escalations(now).await?;
        self.certificates(now).await?;
        if st
            .store
            .claim_job("membership", &self.owner, now, JOB_LEASE_MS)
            .await?
        {
            let result = crate::services::membership::recheck(st).await;
            st.store
                .finish_job(
                    "membership",
                    &self.owner,
                    now + crate::services::membership::EVERY_MS,
                )
                .await?;
            if let Err(e) = result {
                tracing::warn!(error = %e, "membership re-check pass failed");
            }
        }
        self.retention(now).await?;
        self.intel(now).await?;
        if st
            .store
            .claim_job("finding-counts", &self.owner, now, JOB_LEASE_MS)
            .await?
        {
            let mut result = st.store.compact_finding_counts().await;
            if result.is_ok() {
                result = st.store.compact_finding_days().await;
            }
            if result.is_ok() {
                result = st.store.compact_delivery_hours(now).await;
            }
            if result.is_ok() {
                result = st.store.refresh_top_domains(now).await.map(|()| 0);
            }
            st.store
                .finish_job("finding-counts", &self.owner, now + COUNTS_EVERY_MS)
                .await?;
            if let Err(e) = result {
                tracing::warn!(error = %e, "finding counts compaction failed");
            }
        }
        self.planner_stats(now).await?;
        if raised > 0 {
            st.wake.notify_one();
        }
        Ok(raised)
    }

    /// PostgreSQL: the planner's statistics of the busiest tables refreshed when stale, looked at every pass (5 s)
    /// once across processes. Once a minute, a new database's first minute of ingest ran at 3,700 findings/s instead
    /// of 19,000: the planner, told the table was empty, scanned it for each batch's fingerprints.
    async fn planner_stats(&self, now: i64) -> anyhow::Result<()> {
        let st = &self.state;
        if st.store.dialect() != fence_store::Dialect::Postgres
            || !st
                .store
                .claim_job("planner-stats", &self.owner, now, JOB_LEASE_MS)
                .await?
        {
            return Ok(());
        }
        if let Err(e) = st.store.analyze_if_stale().await {
            tracing::warn!(error = %e, "cannot refresh the planner's statistics");
        }
        st.store
            .finish_job("planner-stats", &self.owner, now + PLANNER_STATS_EVERY_MS)
            .await?;
        Ok(())
    }

    /// The certificate monitor: once a minute across processes, a pass over the domains that are due (each every
    /// `certificates.check_every`). The pass runs beside the other jobs, not in their way (10,000 domains take
    /// minutes); a process runs one pass at a time, and passes of several processes share the domains.
    async fn certificates(&self, now: i64) -> anyhow::Result<()> {
        let st = &self.state;
        if self.certificates_running.load(Ordering::Acquire)
            || !st
                .store
                .claim_job("certificates", &self.owner, now, JOB_LEASE_MS)
                .await?
        {
            return Ok(());
        }
        st.store
            .finish_job("certificates", &self.owner, now + CERTIFICATES_EVERY_MS)
            .await?;
        self.certificates_running.store(true, Ordering::Release);
        let (state, running) = (st.clone(), self.certificates_running.clone());
        tokio::spawn(async move {
            match crate::services::certificates::monitor_certificates(&state).await {
                Ok(n) if n > 0 => tracing::info!(checked = n, "certificate monitor pass done"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "certificate monitor pass failed"),
            }
            running.store(false, Ordering::Release);
        });
        Ok(())
    }

    /// The retention job (hourly, again within a minute when it left rows over).
    async fn retention(&self, now: i64) -> anyhow::Result<()> {
        let st = &self.state;
        if st
            .store
            .claim_job("retention", &self.owner, now, JOB_LEASE_MS)
            .await?
        {
            let result = crate::services::retention::prune(st, now).await;
            let again = match &result {
                Ok((_, true)) => crate::services::retention::AGAIN_MS,
                _ => crate::services::retention::EVERY_MS,
            };
            st.store
                .finish_job("retention", &self.owner, now + again)
                .await?;
            match result {
                Ok((p, _)) if p.total() > 0 => tracing::info!(
                    deliveries = p.deliveries,
                    alert_sets = p.alert_sets,
                    audit = p.audit,
                    sessions = p.sessions,
                    logins = p.logins,
                    "retention: deleted what aged out"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention pass failed"),
            }
        }
        Ok(())
    }
}
