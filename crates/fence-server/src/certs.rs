//! Observed certificates (from the monitor or `POST /api/v1/certificates`): stored per domain, and an expiry alert
//! raised when a threshold is crossed, once per threshold and certificate.

use crate::app::AppState;
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
