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

/// Domains checked at once by one process: each check mostly waits on the network (up to the target's timeout).
const CONCURRENT_CHECKS: usize = 64;
/// Domains taken per claim, when check slots are free for them.
const CLAIM_BATCH: i64 = 16;
/// How long a domain stays taken: well past the check's own timeout, so a live check never loses it.
const CHECK_LEASE_MS: i64 = 120_000;

/// The certificate monitor's pass: every monitored domain not checked within `certificates.check_every` is taken
/// (with a per-domain lease, so processes running passes at once share the work), checked up to 64 at a time, its
/// certificate recorded (alerting crossed thresholds) and expired, mismatched or untrusted certificates stored as
/// findings. A domain that cannot be checked is logged and counted, and waits for the next period like the others;
/// it never stops the pass. Returns how many domains were checked.
pub async fn monitor_certificates(state: &AppState) -> anyhow::Result<usize> {
    let owner: std::sync::Arc<str> = format!("certificates:{}", fence_store::new_id()).into();
    let every = state.config.certificates_check_every.as_millis() as i64;
    // Domains are taken a few at a time as check slots free up, so a slow check (a blackhole waits out the 10 s
    // timeout) holds one slot, not a whole batch, and what is taken starts at once (its lease runs meanwhile).
    let mut queue = std::collections::VecDeque::new();
    // Tasks, not futures polled by this loop: a check holding the database (SQLite has one writer) keeps running
    // while the loop waits to claim more.
    let mut running = tokio::task::JoinSet::new();
    let (mut checked, mut claims, mut exhausted) = (0, 0, false);
    loop {
        while running.len() < CONCURRENT_CHECKS {
            // Bounded: a domain whose result cannot be recorded returns only after its lease.
            if queue.is_empty() && !exhausted && claims < 100_000 {
                claims += 1;
                let now = state.clock.now_ms();
                let due = state
                    .store
                    .claim_certificate_checks(&owner, now, now - every, CHECK_LEASE_MS, CLAIM_BATCH)
                    .await?;
                exhausted = due.is_empty();
                queue.extend(due);
            }
            let Some(c) = queue.pop_front() else { break };
            running.spawn(check_one(state.clone(), owner.clone(), c));
        }
        match running.join_next().await {
            Some(Ok(true)) => checked += 1,
            Some(Ok(false)) => {}
            Some(Err(e)) => tracing::warn!(error = %e, "a certificate check stopped"),
            None => break,
        }
    }
    Ok(checked)
}

/// Checks one taken domain; whatever happens, marks it checked. Returns whether a certificate was recorded.
async fn check_one(
    state: AppState,
    owner: std::sync::Arc<str>,
    c: fence_store::certificate_checks::CertificateCheck,
) -> bool {
    let state = &state;
    use std::sync::atomic::Ordering;
    let name = &c.domain.name;
    // The claim read the domain already: its ports come with it.
    let target = crate::services::scans::target_for(state, &c.domain);
    let now = state.clock.now_ms();
    let recorded = match fence_scan::tls::check(&target, &[], now).await {
        Ok(r) => match record_check(state, &c.org_id, name, &target, &r).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(domain = %name, error = %e, "cannot record a certificate check");
                false
            }
        },
        Err(e) => {
            tracing::warn!(domain = %name, error = %e, "certificate check failed");
            false
        }
    };
    let counter = if recorded {
        &state.metrics.certificate_checks
    } else {
        &state.metrics.certificate_check_failures
    };
    counter.fetch_add(1, Ordering::Relaxed);
    if let Err(e) = state
        .store
        .finish_certificate_check(&c.id, &owner, state.clock.now_ms())
        .await
    {
        tracing::warn!(domain = %name, error = %e, "cannot mark a certificate check done; it is taken again after its lease");
    }
    recorded
}

async fn record_check(
    state: &AppState,
    org_id: &str,
    name: &str,
    target: &fence_scan::target::Target,
    r: &fence_scan::tls::TlsReport,
) -> anyhow::Result<()> {
    observe_tls(state, org_id, name, r).await?;
    let findings = fence_scan::checks::tls_findings(target, r);
    if !findings.is_empty() {
        crate::services::findings::ingest(state, org_id, &findings).await?;
    }
    Ok(())
}
