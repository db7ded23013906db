//! Digests: what a channel's digest says for a period, sending each scheduled digest exactly once (also one
//! missed while Fence was down, once), and the signed CSV report its Download Report button links to.

use crate::state::AppState;
use fence_core::alert::{DigestAlert, DigestCertificate, DigestIssue, DigestSilence};
use fence_core::{Alert, ChannelConfig, Cvss};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const DAY_MS: i64 = 86_400_000;

/// The report link's signature over organization, period and expiry (milliseconds): changing any of them, the
/// expiry included, breaks it.
pub fn report_signature(
    state: &AppState,
    org_id: &str,
    from: i64,
    to: i64,
    expires: i64,
) -> String {
    let key = state.secrets.derive("reports");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key)
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(format!("{org_id}:{from}:{to}:{expires}").as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// A Download Report link valid for `reports.link_lifetime` from now.
pub fn report_url(state: &AppState, org_id: &str, from: i64, to: i64) -> String {
    let lifetime = i64::try_from(state.config.report_link_lifetime.as_millis()).unwrap_or(i64::MAX);
    let expires = state.clock.now_ms().saturating_add(lifetime);
    format!(
        "{}/reports/findings.csv?org={org_id}&from={from}&to={to}&exp={expires}&sig={}",
        state.config.base_url,
        report_signature(state, org_id, from, to, expires)
    )
}

/// Whether a report link's parameters are Fence's and it has not expired.
pub fn report_link_valid(
    state: &AppState,
    org_id: &str,
    (from, to): (i64, i64),
    expires: i64,
    sig: &str,
) -> bool {
    let want = report_signature(state, org_id, from, to, expires);
    let signed: bool = subtle::ConstantTimeEq::ct_eq(want.as_bytes(), sig.as_bytes()).into();
    signed && state.clock.now_ms() <= expires
}

/// The digest of an organization for `(from, to]`, titled by `label` and dated in `timezone`.
pub async fn build(
    state: &AppState,
    org_id: &str,
    label: &str,
    timezone: &str,
    from: i64,
    to: i64,
) -> anyhow::Result<Alert> {
    let (scans_run, domains_scanned) = state.store.scan_stats(org_id, from, to).await?;
    let (new_vulnerabilities, top) = state.store.new_findings(org_id, from, to, 5).await?;
    let cves: Vec<&str> = top.iter().filter_map(|f| f.cve.as_deref()).collect();
    let intel = state.store.intel_for(&cves).await?;
    let silenced = state.store.count_silenced_between(org_id, from, to).await?;
    let now = state.clock.now_ms();
    let silences_ending = state
        .store
        .silences_ending(org_id, now, now + 7 * DAY_MS, 20)
        .await?
        .into_iter()
        .map(|s| DigestSilence {
            matchers: s.matchers.summary(),
            reason: s.reason,
            expires_at: s.expires_at,
        })
        .collect();
    let certificates = state
        .store
        .expiring_certificates(org_id, now + 30 * DAY_MS)
        .await?
        .into_iter()
        .map(|c| DigestCertificate {
            domain: c.domain,
            days_left: fence_core::certificate::days_left(c.not_after, now),
        })
        .collect();
    Ok(Alert::Digest(DigestAlert {
        label: label.to_string(),
        period_end: to,
        timezone: timezone.to_string(),
        scans_run,
        domains_scanned,
        new_vulnerabilities,
        top: top
            .into_iter()
            .map(|f| DigestIssue {
                severity: f.severity,
                cvss: f.cvss.and_then(|c| Cvss::new(c).ok()),
                intel: f.cve.as_deref().and_then(|c| intel.get(c)).cloned(),
                title: f.title,
                domain: f.domain,
            })
            .collect(),
        certificates,
        report_url: report_url(state, org_id, from, to),
        silenced,
        silences_ending,
    }))
}

/// The period a digest fired at `fire` covers: since the previous scheduled time.
pub fn period(config: &ChannelConfig, fire: i64) -> (i64, i64) {
    let from = config
        .digest_schedule
        .as_ref()
        .and_then(|s| {
            jiff::Timestamp::from_millisecond(fire - 1)
                .ok()
                .and_then(|t| s.previous(t))
        })
        .map(|t| t.as_millisecond())
        .unwrap_or(fire - DAY_MS);
    (from, fire)
}

/// Sends every digest whose scheduled time has come and was not sent yet; returns how many were queued.
pub async fn send_due(state: &AppState) -> anyhow::Result<usize> {
    let now = state.clock.now_ms();
    let now_ts = jiff::Timestamp::from_millisecond(now)?;
    let mut sent = 0;
    for c in state.store.all_channels().await? {
        let Ok(config) = c.rules() else {
            continue;
        };
        let Some(schedule) = config.digest_schedule.as_ref() else {
            continue;
        };
        let Some(fire) = schedule.previous(now_ts).map(|t| t.as_millisecond()) else {
            continue;
        };
        match state.store.digest_mark(&c.id).await? {
            // A digest newly configured starts with its next scheduled time.
            None => state.store.init_digest_mark(&c.id, fire).await?,
            Some(last) if last < fire => {
                let (from, to) = period(&config, fire);
                let alert = build(
                    state,
                    &c.org_id,
                    schedule.label,
                    &schedule.timezone,
                    from,
                    to,
                )
                .await?;
                if state
                    .store
                    .enqueue_digest(&c.org_id, &c.id, &c.destination, alert, Some(fire), now)
                    .await?
                {
                    sent += 1;
                }
            }
            Some(_) => {}
        }
    }
    if sent > 0 {
        state.wake.notify_one();
    }
    Ok(sent)
}

/// One CSV field: quoted, and defused against spreadsheet formulas.
fn csv(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Findings per page of the streamed report: a page of 1,000 decoded rows was 2 MiB of the server's peak memory
/// (BENCHMARKS.md, "A send's memory and the backlog"); a 100,000-row report took as long at 250 (1.4–1.9 s against
/// 1.6–2.1 s).
const REPORT_PAGE: i64 = 250;

/// The CSV report's first line.
const CSV_HEADER: &str =
    "id,domain,title,severity,cvss,cve,owasp,category,affected_url,status,first_seen,last_seen\n";

/// The report: the period's findings as CSV, streamed a page of 250 at a time (a period of a million findings
/// is sent whole in constant memory). A database error ends the stream with an error, so the download fails instead
/// of looking complete.
pub fn report_csv(
    state: &AppState,
    org_id: &str,
    from: i64,
    to: i64,
) -> impl futures_util::Stream<Item = Result<String, std::io::Error>> + Send + 'static {
    struct Page {
        state: AppState,
        org_id: String,
        after: Option<String>,
        started: bool,
        done: bool,
    }
    let start = Page {
        state: state.clone(),
        org_id: org_id.to_string(),
        after: None,
        started: false,
        done: false,
    };
    futures_util::stream::unfold(start, move |mut p| async move {
        if p.done {
            return None;
        }
        if !p.started {
            p.started = true;
            return Some((Ok(CSV_HEADER.to_string()), p));
        }
        let page = p
            .state
            .store
            .findings_between(&p.org_id, (from, to), p.after.as_deref(), REPORT_PAGE)
            .await;
        match page {
            Ok(rows) => {
                p.done = (rows.len() as i64) < REPORT_PAGE;
                p.after = rows.last().map(|f| f.id.clone());
                let mut out = String::new();
                csv_rows(rows, &mut out);
                Some((Ok(out), p))
            }
            Err(e) => {
                p.done = true;
                tracing::warn!(error = %e, "report stopped: cannot read findings");
                Some((Err(std::io::Error::other("cannot read findings")), p))
            }
        }
    })
}

/// Findings as CSV, one row each, with the header.
pub fn findings_csv(rows: Vec<fence_store::findings::FindingRow>) -> String {
    let mut out = String::from(CSV_HEADER);
    csv_rows(rows, &mut out);
    out
}

/// Appends one CSV line per finding.
fn csv_rows(rows: Vec<fence_store::findings::FindingRow>, out: &mut String) {
    for f in rows {
        let fields = [
            f.id,
            f.domain,
            f.title,
            f.severity.as_str().to_string(),
            f.cvss.map(|c| format!("{c:.1}")).unwrap_or_default(),
            f.cve.unwrap_or_default(),
            f.owasp.unwrap_or_default(),
            f.category.unwrap_or_default(),
            f.affected_url.unwrap_or_default(),
            f.status.as_str().to_string(),
            fence_core::time::fmt_ts(f.first_seen),
            fence_core::time::fmt_ts(f.last_seen),
        ];
        out.push_str(&fields.iter().map(|s| csv(s)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
}
