//! Scan workers: `scan.workers` of them take queued built-in scans (one active scan per domain, across
//! processes), run Fence's checks against the domain, record the findings and the certificate seen, and end the scan
//! with its summary. Also the certificate monitor, which checks monitored domains every `certificates.check_every`.

use crate::app::AppState;
use fence_scan::checks::{self, Kind};
use fence_scan::target::Target;
use fence_store::digests::CertificateRow;
use fence_store::scans::ScanRow;
use std::time::Duration;
use tokio::sync::watch;

/// A built-in scan's lease; it is failed as "timed out" when its worker stops renewing by finishing.
const SCAN_LEASE_MS: i64 = 10 * 60_000;
/// Longest a scan's checks may take.
const SCAN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The target of a domain: its configured ports, and whether private addresses may be reached.
pub async fn target_of(state: &AppState, org_id: &str, domain: &str) -> Target {
    let mut t = Target::new(domain);
    if let Ok(d) = state.store.domain(org_id, domain).await {
        t.https_port = u16::try_from(d.port).unwrap_or(443);
        t.http_port = u16::try_from(d.http_port).unwrap_or(80);
    }
    t.allow_private = state.config.scan.allow_private_targets;
    t
}

/// Runs the checks of one claimed scan and records its outcome.
pub async fn run_scan(state: &AppState, scan: &ScanRow) -> anyhow::Result<ScanRow> {
    let kind = Kind::parse(&scan.scan_type).unwrap_or(Kind::Full);
    let target = target_of(state, &scan.org_id, &scan.domain).await;
    let started = state.clock.now_ms();
    let result = tokio::time::timeout(SCAN_TIMEOUT, checks::run(kind, &target, &[], started)).await;
    let duration_ms = state.clock.now_ms() - started;
    let Ok(mut result) = result else {
        return crate::api::scans::record_results(
            state,
            &scan.org_id,
            scan,
            vec![],
            false,
            duration_ms,
            Some("timed out".into()),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message));
    };
    if let Some(r) = &result.tls {
        observe(state, &scan.org_id, &scan.domain, r).await?;
    }
    for f in &mut result.findings {
        f.scan_id = Some(scan.id.clone());
    }
    let failed = result.findings.is_empty() && !result.errors.is_empty();
    let error = (!result.errors.is_empty())
        .then(|| fence_core::text::truncate_chars(&result.errors.join("; "), 500));
    crate::api::scans::record_results(
        state,
        &scan.org_id,
        scan,
        result.findings,
        !failed,
        duration_ms,
        error,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", e.message))
}

async fn observe(
    state: &AppState,
    org_id: &str,
    domain: &str,
    r: &fence_scan::tls::TlsReport,
) -> anyhow::Result<()> {
    let cert = CertificateRow {
        domain: domain.to_string(),
        fingerprint: r.cert.fingerprint.clone(),
        not_before: Some(r.cert.not_before),
        not_after: r.cert.not_after,
        issuer: r.cert.issuer.clone(),
        sans: r.cert.sans.clone(),
        alerted: vec![],
    };
    crate::certs::observe(state, org_id, &cert).await?;
    Ok(())
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

/// The certificate monitor's pass: checks every monitored domain, records its certificate (alerting crossed
/// thresholds) and stores expired, mismatched or untrusted certificates as findings.
pub async fn monitor_certificates(state: &AppState) -> anyhow::Result<usize> {
    let mut checked = 0;
    for (org_id, d) in state.store.monitored_domains().await? {
        let target = target_of(state, &org_id, &d.name).await;
        let now = state.clock.now_ms();
        match fence_scan::tls::check(&target, &[], now).await {
            Ok(r) => {
                observe(state, &org_id, &d.name, &r).await?;
                let findings = checks::tls_findings(&target, &r);
                if !findings.is_empty() {
                    state.store.ingest(&org_id, &findings, now).await?;
                    state.wake.notify_one();
                }
                checked += 1;
            }
            Err(e) => tracing::warn!(domain = %d.name, error = %e, "certificate check failed"),
        }
    }
    Ok(checked)
}
