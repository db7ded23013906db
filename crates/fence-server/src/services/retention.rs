//! Retention as a scheduled job: sent deliveries and the alert sets nothing refers to after `retention.deliveries`,
//! audit entries after `retention.audit`, expired sessions and Add to Slack attempts, log-in attempts after a day —
//! deleted a small batch at a time, at most `MAX_BATCHES` per run; a run that stopped with rows left asks to run
//! again soon.

use crate::services::ServiceResult;
use crate::state::AppState;
use fence_store::retention::{Cutoffs, Pruned};

/// Rows of each kind one statement deletes.
const BATCH: i64 = 500;
/// Batches one run takes at most (then the job runs again a minute later).
const MAX_BATCHES: usize = 200;
const DAY_MS: i64 = 86_400_000;
/// How often the job runs when nothing is left over.
pub const EVERY_MS: i64 = 3_600_000;
/// How soon it runs again when a run stopped at `MAX_BATCHES`.
pub const AGAIN_MS: i64 = 60_000;

/// One run at `now`: what it deleted, and whether rows were left for the next run.
pub async fn prune(state: &AppState, now: i64) -> ServiceResult<(Pruned, bool)> {
    let keep = &state.config.retention;
    let millis = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let cutoffs = Cutoffs {
        deliveries_before: now.saturating_sub(millis(keep.deliveries)),
        audit_before: now.saturating_sub(millis(keep.audit)),
        logins_before: now - DAY_MS,
        now,
    };
    state.store.delete_expired_installs(now).await?;
    let mut total = Pruned::default();
    for _ in 0..MAX_BATCHES {
        let p = state.store.prune_batch(&cutoffs, BATCH).await?;
        total.add(p);
        if p.total() == 0 {
            return Ok((total, false));
        }
        // Between batches other writers (ingest, the dispatcher) get the database.
        tokio::task::yield_now().await;
    }
    Ok((total, true))
}
