//! Observed certificates (from the monitor or `POST /api/v1/certificates`): stored per domain, and an expiry alert
//! raised when a threshold is crossed, once per threshold and certificate; and the certificate monitor's pass over
//! every monitored domain.

use crate::state::AppState;
use fence_core::alert::CertificateAlert;
use fence_core::{certificate, Alert};
use fence_store::digests::CertificateRow;

/// What observing a certificate did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub days_left: i64,
    /// Channels the expiry alert was queued for (0 when no threshold was newly crossed).
    pub alerted_channels: usize,
}

pub async fn observe(
    state: &AppState,
    org_id: &str,
    cert: &CertificateRow,
) -> anyhow::Result<Observed> {
    let now = state.clock.now_ms();
    let stored = state.store.record_certificate(org_id, cert, now).await?;
    let days_left = certificate::days_left(stored.not_after, now);
    let Some(alerted) = certificate::due(stored.not_before, stored.not_after, now, &stored.alerted)
    else {
        return Ok(Observed {
            days_left,
            alerted_channels: 0,
        });
    };
    let alert = Alert::CertificateExpiring(CertificateAlert {
        domain: stored.domain.clone(),
        not_after: stored.not_after,
        days_left,
        issuer: stored.issuer.clone(),
        sans: stored.sans.clone(),
        fingerprint: stored.fingerprint.clone(),
        renew_url: state.store.domain_renew_url(org_id, &stored.domain).await?,
    });
    let n = state
        .store
        .alert_certificate(
            org_id,
            &stored.domain,
            &stored.fingerprint,
            &alerted,
            alert,
            now,
        )
        .await?;
    if n > 0 {
        state.wake.notify_one();
    }
    Ok(Observed {
        days_left,
        alerted_channels: n,
    })
}

/// Records the certificate a TLS check saw (alerting crossed thresholds).
pub async fn observe_tls(
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
    observe(state, org_id, &cert).await?;
    Ok(())
}

/// The certificate monitor's pass: checks every monitored domain, records its certificate (alerting crossed
/// thresholds) and stores expired, mismatched or untrusted certificates as findings.
pub async fn monitor_certificates(state: &AppState) -> anyhow::Result<usize> {
    let mut checked = 0;
    for (org_id, d) in state.store.monitored_domains().await? {
        let target = crate::services::scans::target_of(state, &org_id, &d.name).await;
        let now = state.clock.now_ms();
        match fence_scan::tls::check(&target, &[], now).await {
            Ok(r) => {
                observe_tls(state, &org_id, &d.name, &r).await?;
                let findings = fence_scan::checks::tls_findings(&target, &r);
                if !findings.is_empty() {
                    crate::services::findings::ingest(state, &org_id, &findings).await?;
                }
                checked += 1;
            }
            Err(e) => tracing::warn!(domain = %d.name, error = %e, "certificate check failed"),
        }
    }
    Ok(checked)
}
