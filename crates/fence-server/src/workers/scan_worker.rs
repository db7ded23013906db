//! Scan workers: `scan.workers` of them take queued built-in scans (one active scan per domain, across
//! processes), run Fence's checks against the domain, record the findings and the certificate seen, and end the scan
//! with its summary. A scan whose every check ran closes the open findings of its domain and type that it no longer
//! sees, as an import does; a scan with a check that could not run closes nothing.

use crate::services::certificates::observe_tls;
use crate::services::scans::{record_results, target_of, FileResults, Results};
use crate::state::AppState;
use fence_scan::checks::{self, Kind};
use fence_store::scans::ScanRow;
use std::time::Duration;
use tokio::sync::watch;

/// A built-in scan's lease; it is failed as "timed out" when its worker stops renewing by finishing.
const SCAN_LEASE_MS: i64 = 10 * 60_000;
/// Longest a scan's checks may take.
const SCAN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Runs the checks of one claimed scan and records its outcome.
pub async fn run_scan(state: &AppState, scan: &ScanRow) -> anyhow::Result<ScanRow> {
    let kind = Kind::parse(&scan.scan_type).unwrap_or(Kind::Full);
    let target = target_of(state, &scan.org_id, &scan.domain).await;
    let started = state.clock.now_ms();
    let result = tokio::time::timeout(SCAN_TIMEOUT, checks::run(kind, &target, &[], started)).await;
    let duration_ms = state.clock.now_ms() - started;
    let Ok(mut result) = result else {
        let results = Results {
            findings: vec![],
            completed: false,
            duration_ms,
            error: Some("timed out".into()),
            file: None,
        };
        return Ok(record_results(state, &scan.org_id, scan, results).await?);
    };
    if let Some(r) = &result.tls {
        observe_tls(state, &scan.org_id, &scan.domain, r).await?;
    }
    for f in &mut result.findings {
        f.scan_id = Some(scan.id.clone());
    }
    let failed = result.findings.is_empty() && !result.errors.is_empty();
    let error = (!result.errors.is_empty())
        .then(|| fence_core::text::truncate_chars(&result.errors.join("; "), 500));
    // Only a scan whose every check ran speaks for all of Fence's findings of its type on the domain.
    let file = result.errors.is_empty().then(|| FileResults {
        counts: fence_scan::import::FileCounts {
            results: result.findings.len(),
            ..Default::default()
        },
        tools: vec![checks::SCANNER.to_string()],
        close_missing: true,
        actor: format!("scan:{}", scan.id),
        ..Default::default()
    });
    let results = Results {
        findings: result.findings,
        completed: !failed,
        duration_ms,
        error,
        file,
    };
    Ok(record_results(state, &scan.org_id, scan, results).await?)
}

/// One worker: takes queued scans until told to stop.
pub async fn worker(state: AppState, mut stop: watch::Receiver<bool>) {
    let owner = format!("scanner:{}", fence_store::new_id());
    while !*stop.borrow() {
        let now = state.clock.now_ms();
        let _ = state.store.expire_scans(now).await;
        match state.store.claim_scan(&owner, now, SCAN_LEASE_MS).await {
            Ok(Some(scan)) => {
                if let Err(e) = run_scan(&state, &scan).await {
                    tracing::warn!(scan = %scan.id, error = %e, "scan failed inside Fence");
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the scan queue"),
        }
        tokio::select! {
            _ = state.scan_wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = stop.changed() => {}
        }
    }
}
