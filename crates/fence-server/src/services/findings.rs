//! Findings in: a validated batch stored in one transaction with every delivery it causes (deduplicated by
//! fingerprint), counted in the metrics, and the dispatcher woken when something is owed. Findings out: one by id,
//! and one whose fix instructions were asked for.

use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use fence_core::NewFinding;
use fence_store::findings::{FindingRow, IngestOutcome};
use std::sync::atomic::Ordering;

/// Stores a batch (all or nothing) and wakes the dispatcher when it routed deliveries.
pub async fn ingest(
    state: &AppState,
    org_id: &str,
    batch: &[NewFinding],
) -> ServiceResult<IngestOutcome> {
    let out = state
        .store
        .ingest(org_id, batch, state.clock.now_ms())
        .await?;
    Ok(ingested(state, batch, out))
}

/// What every stored batch does next: count it, and wake the dispatcher when it queued deliveries.
fn ingested(state: &AppState, batch: &[NewFinding], out: IngestOutcome) -> IngestOutcome {
    state
        .metrics
        .findings_ingested
        .fetch_add(batch.len() as u64, Ordering::Relaxed);
    if out.deliveries > 0 {
        state.wake.notify_one();
    }
    out
}

/// Stores a scan's results while the scan is still open (see `Store::ingest_scan_results`).
pub async fn ingest_scan_results(
    state: &AppState,
    org_id: &str,
    scan_id: &str,
    batch: &[NewFinding],
) -> ServiceResult<IngestOutcome> {
    let out = state
        .store
        .ingest_scan_results(org_id, scan_id, batch, state.clock.now_ms())
        .await?;
    Ok(ingested(state, batch, out))
}

/// A finding of the organization, or `NotFound("finding")`.
pub async fn get(state: &AppState, org_id: &str, id: &str) -> ServiceResult<FindingRow> {
    state
        .store
        .finding(org_id, id)
        .await
        .map_err(ServiceError::not_found_as("finding"))
}

/// A finding whose fix instructions someone asked for (Slack's Fix Instructions button), with the audit entry.
pub async fn fix_instructions(
    state: &AppState,
    org_id: &str,
    id: &str,
    actor: &str,
) -> ServiceResult<FindingRow> {
    let f = get(state, org_id, id).await?;
    state
        .store
        .audit(
            org_id,
            actor,
            "finding.fix_instructions",
            Some(&f.id),
            None,
            state.clock.now_ms(),
        )
        .await?;
    Ok(f)
}
