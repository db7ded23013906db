//! Scans and imports: queue a built-in scan or open one for an external scanner, record a scan's results (its
//! findings ingested, its summary sent to the Slack conversation that asked for it), and import a scanner's output
//! file as one completed scan — the same operation for `POST /api/v1/import`, `fence import` and the scan workers.

use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use fence_core::time::fmt_ts;
use fence_core::{Alert, DomainName, FindingStatus, NewFinding, Severity};
use fence_scan::import::UpstreamState;
use fence_store::findings::IngestOutcome;
use fence_store::scans::{ScanOutcome, ScanQuota, ScanRow};
use serde::{Deserialize, Serialize};

mod import;
pub use import::{import_file, ImportBody};

/// The scan types a user may ask for.
pub const SCAN_TYPES: [&str; 3] = ["full", "tls", "headers"];

/// A scan as users see it (API answers, `fence import --json`).
#[derive(Debug, Clone, Serialize)]
pub struct ScanView {
    pub id: String,
    pub domain: String,
    #[serde(rename = "type")]
    pub scan_type: String,
    pub source: String,
    pub status: String,
    /// Place in the queue while queued.
    pub position: Option<i64>,
    pub requested_by: Option<String>,
    pub error: Option<String>,
    pub counts: SeverityCounts,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_seconds: Option<i64>,
    pub report_url: String,
    /// For an imported file: what became of each of its results.
    pub results: Option<ResultCounts>,
}

/// Findings by severity.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SeverityCounts {
    pub critical: i64,
    pub high: i64,
    pub medium: i64,
    pub low: i64,
    pub info: i64,
}

/// How a scan is shown, with its queue position while it waits.
pub async fn view(state: &AppState, s: &ScanRow) -> ScanView {
    let position = if s.status == "queued" {
        state.store.queue_position(&s.id).await.unwrap_or(0)
    } else {
        0
    };
    let [critical, high, medium, low, info] = s.counts;
    ScanView {
        id: s.id.clone(),
        domain: s.domain.clone(),
        scan_type: s.scan_type.clone(),
        source: s.source.clone(),
        status: s.status.clone(),
        position: (position > 0).then_some(position),
        requested_by: s.requested_by.clone(),
        error: s.error.clone(),
        counts: SeverityCounts {
            critical,
            high,
            medium,
            low,
            info,
        },
        created_at: fmt_ts(s.created_at),
        started_at: s.started_at.map(fmt_ts),
        finished_at: s.finished_at.map(fmt_ts),
        duration_seconds: s.duration_ms.map(|d| d / 1000),
        report_url: format!("{}/scans/{}", state.config.base_url, s.id),
        results: s
            .result_counts
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok()),
    }
}

/// Counts findings by severity: critical, high, medium, low, info.
pub fn count(findings: &[NewFinding]) -> [i64; 5] {
    let mut c = [0i64; 5];
    for f in findings {
        let i = Severity::ALL
            .iter()
            .position(|s| *s == f.severity)
            .unwrap_or(4);
        c[i] += 1;
    }
    c
}

/// Queues a built-in scan for the scan workers, within the organization's quotas (`scan.max_queued_per_org`
/// waiting, `scan.max_per_org_per_hour` asked for; checked and queued in one transaction), so one organization
/// cannot fill the queue.
pub async fn queue_scan(
    state: &AppState,
    org_id: &str,
    domain: &DomainName,
    scan_type: &str,
    requested_by: &str,
) -> ServiceResult<ScanRow> {
    const HOUR_MS: i64 = 3_600_000;
    let now = state.clock.now_ms();
    let limits = &state.config.scan;
    let quota = ScanQuota {
        max_queued: i64::from(limits.max_queued_per_org),
        max_recent: i64::from(limits.max_per_org_per_hour),
        since: now - HOUR_MS,
    };
    let queued = state
        .store
        .queue_builtin_scan(
            org_id,
            domain.as_str(),
            scan_type,
            Some(requested_by),
            now,
            quota,
        )
        .await?;
    let used = match queued {
        Ok(s) => {
            state.scan_wake.notify_one();
            return Ok(s);
        }
        Err(used) => used,
    };
    if used.queued >= quota.max_queued {
        return Err(ServiceError::Quota {
            message: format!("this organization already has {} scans waiting (scan.max_queued_per_org is {}); try again when some have run", used.queued, limits.max_queued_per_org),
            retry_after_secs: 60,
        });
    }
    let free_at = used.oldest.unwrap_or(now) + HOUR_MS;
    Err(ServiceError::Quota {
        message: format!("this organization asked for {} scans in the last hour (scan.max_per_org_per_hour is {})", used.recent, limits.max_per_org_per_hour),
        retry_after_secs: u64::try_from((free_at - now + 999) / 1000).unwrap_or(1).max(1),
    })
}

/// Opens a scan that an external scanner runs and reports with [`record_results`].
pub async fn open_external(
    state: &AppState,
    org_id: &str,
    domain: &DomainName,
    scan_type: &str,
    requested_by: &str,
) -> ServiceResult<ScanRow> {
    Ok(state
        .store
        .create_scan(
            org_id,
            domain.as_str(),
            scan_type,
            "external",
            Some(requested_by),
            state.clock.now_ms(),
        )
        .await?)
}

/// Queues a scan asked for from Slack (`/fence scan`, Run Scan): audited, and its summary posted to `response_url`
/// when it ends. Returns the scan and its queue position.
pub async fn queue_from_slack(
    state: &AppState,
    org_id: &str,
    domain: &DomainName,
    actor: &str,
    response_url: &str,
) -> ServiceResult<(ScanRow, i64)> {
    let scan = queue_scan(state, org_id, domain, "full", actor).await?;
    if !response_url.is_empty() {
        state.store.set_scan_notify(&scan.id, response_url).await?;
    }
    state
        .store
        .audit(
            org_id,
            actor,
            "scan.queue",
            Some(&scan.id),
            Some(domain.as_str()),
            state.clock.now_ms(),
        )
        .await?;
    let position = state.store.queue_position(&scan.id).await?;
    Ok((scan, position))
}

/// A scan's results: its findings (already validated) and how it ended.
#[derive(Debug, Default)]
pub struct Results {
    pub findings: Vec<NewFinding>,
    pub completed: bool,
    pub duration_ms: i64,
    pub error: Option<String>,
    /// For an imported file: what became of its other results, and what the scan closes.
    pub file: Option<FileResults>,
}

/// What an imported file says besides its findings.
#[derive(Debug, Default)]
pub struct FileResults {
    pub counts: fence_scan::import::FileCounts,
    pub upstream: Vec<fence_scan::import::Upstream>,
    /// The tools the file speaks for.
    pub tools: Vec<String>,
    /// Resolve the open findings of the same domain, tool and scan type that the file no longer reports.
    pub close_missing: bool,
    /// Who imported it (the audit's actor of every finding closed).
    pub actor: String,
}

impl FileResults {
    /// The findings an external scanner posted as a scan's results: the tools are their scanners.
    pub fn posted(findings: &[NewFinding], close_missing: bool, actor: &str) -> Self {
        let mut tools: Vec<String> = findings.iter().filter_map(|f| f.scanner.clone()).collect();
        tools.sort_unstable();
        tools.dedup();
        FileResults {
            counts: fence_scan::import::FileCounts {
                results: findings.len(),
                ..Default::default()
            },
            upstream: Vec::new(),
            tools,
            close_missing,
            actor: actor.to_string(),
        }
    }
}

/// What became of each result of an imported file: `results = new + duplicate + merged + suppressed +
/// not_results`; `closed` counts stored findings the import resolved (no longer detected, or closed upstream).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultCounts {
    pub results: usize,
    /// New findings, and resolved ones seen again (reopened).
    pub new: usize,
    /// Already stored (open, snoozed or marked false positive).
    pub duplicate: usize,
    /// Repeats of a problem the file already reported.
    pub merged: usize,
    /// Why, for the first merges.
    pub merged_why: Vec<String>,
    /// Suppressed in the file (SARIF suppressions, dismissed alerts).
    pub suppressed: usize,
    /// Of `new`, those an active silence kept from alerting.
    #[serde(default)]
    pub silenced: usize,
    /// Not results: passes, not applicable, absent, fixed alerts.
    pub not_results: usize,
    pub closed: usize,
}

/// Stores a scan's findings and ends it, wakes the dispatcher, and posts the summary where it was asked for.
pub async fn record_results(
    state: &AppState,
    org_id: &str,
    scan: &ScanRow,
    mut results: Results,
) -> ServiceResult<ScanRow> {
    let counts = count(&results.findings);
    // Stored only while the scan is open, checked in the findings' own transaction: a report for an ended scan
    // stores nothing.
    let ingested = if results.findings.is_empty() {
        IngestOutcome::default()
    } else {
        crate::services::findings::ingest_scan_results(state, org_id, &scan.id, &results.findings)
            .await?
    };
    results.findings = Vec::new();
    conclude(state, org_id, scan, results, &ingested, counts).await
}

/// Ends a scan whose findings are stored (`ingested`, by severity `counts`): closes what it no longer reports,
/// stores its counts, wakes the dispatcher and posts the summary where it was asked for.
async fn conclude(
    state: &AppState,
    org_id: &str,
    scan: &ScanRow,
    results: Results,
    ingested: &IngestOutcome,
    counts: [i64; 5],
) -> ServiceResult<ScanRow> {
    let now = state.clock.now_ms();
    let mut closed = 0;
    let result_counts = match &results.file {
        Some(file) if results.completed => {
            let c = close(state, org_id, scan, file, ingested).await?;
            closed = c.closed;
            Some(serde_json::to_string(&c).map_err(|e| ServiceError::Internal(e.into()))?)
        }
        _ => None,
    };
    let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let changes = fence_core::alert::ScanChanges {
        new: to_u32(ingested.new),
        still_open: to_u32(ingested.duplicates),
        closed: to_u32(closed),
    };
    let outcome = ScanOutcome {
        completed: results.completed,
        counts,
        duration_ms: results.duration_ms,
        error: results.error,
        result_counts,
        changes: Some(changes),
    };
    let s = state
        .store
        .finish_scan(org_id, &scan.id, &outcome, now)
        .await?;
    state.wake.notify_one();
    if s.notify_url.is_some() && s.status == "completed" {
        let (state, s) = (state.clone(), s.clone());
        tokio::spawn(async move { notify_scan(&state, &s, Some(changes)).await });
    }
    Ok(s)
}

/// Closes what an imported file no longer reports (unless it opted out) and what its tool closed upstream, and
/// counts what became of every result.
async fn close(
    state: &AppState,
    org_id: &str,
    scan: &ScanRow,
    file: &FileResults,
    ingested: &IngestOutcome,
) -> ServiceResult<ResultCounts> {
    let now = state.clock.now_ms();
    let upstream: Vec<(String, FindingStatus)> = file
        .upstream
        .iter()
        .map(|u| {
            let status = match u.state {
                UpstreamState::Fixed => FindingStatus::Resolved,
                UpstreamState::Dismissed => FindingStatus::FalsePositive,
            };
            (u.fingerprint.as_str().to_string(), status)
        })
        .collect();
    let ids = state
        .store
        .close_upstream(org_id, &scan.id, &upstream, &file.actor, now)
        .await?;
    let mut closed = ids.len();
    announce_closed(state, org_id, &ids, "✅ Closed upstream by the scanner").await?;
    if file.close_missing {
        let ids = state
            .store
            .close_missing(org_id, &scan.id, &file.tools, &file.actor, now)
            .await?;
        closed += ids.len();
        announce_closed(state, org_id, &ids, "✅ No longer detected").await?;
    }
    let c = &file.counts;
    Ok(ResultCounts {
        results: c.results,
        new: ingested.new,
        duplicate: ingested.duplicates + ingested.suppressed,
        merged: c.merged,
        merged_why: c.merged_why.clone(),
        suppressed: c.suppressed,
        silenced: ingested.silenced,
        not_results: c.not_results,
        closed,
    })
}

/// Queues, for every channel where Fence posted each finding with a bot token, a reply in the alert's thread saying
/// why it closed, and the alert updated in place.
async fn announce_closed(
    state: &AppState,
    org_id: &str,
    ids: &[String],
    note: &str,
) -> ServiceResult<()> {
    let now = state.clock.now_ms();
    let mut queued = 0;
    for id in ids {
        let f = state.store.finding(org_id, id).await?;
        let Alert::Vulnerability(finding) = f.alert(false) else {
            continue;
        };
        let followup = Alert::FollowUp(fence_core::alert::FollowUpAlert {
            finding,
            note: note.to_string(),
            body: None,
            update_original: true,
            announce: false,
        });
        queued += state
            .store
            .enqueue_followup(org_id, id, followup, now)
            .await?;
    }
    if queued > 0 {
        state.wake.notify_one();
    }
    Ok(())
}

/// Posts a finished scan's summary to the response URL of the command or button that queued it.
pub async fn notify_scan(
    state: &AppState,
    scan: &ScanRow,
    changes: Option<fence_core::alert::ScanChanges>,
) {
    let Some(url) = scan
        .notify_url
        .as_deref()
        .filter(|u| state.config.slack.response_url_allowed(u))
    else {
        return;
    };
    let Ok(org) = state.store.org(&scan.org_id).await else {
        return;
    };
    let ctx = state.render_context(
        &org.id,
        fence_core::ChannelKind::Slack,
        fence_core::MessageFormat::Blocks,
        org.plan(),
    );
    let alert = Alert::ScanCompleted(fence_core::alert::ScanAlert {
        scan_id: scan.id.clone(),
        domain: scan.domain.clone(),
        scan_type: scan.scan_type.clone(),
        duration_secs: (scan.duration_ms.unwrap_or(0).max(0) / 1000) as u64,
        counts: scan
            .counts
            .map(|c| u32::try_from(c.max(0)).unwrap_or(u32::MAX)),
        changes,
    });
    let mut msg = fence_slack::render::render(&ctx, &[alert], &[]);
    msg["response_type"] = serde_json::json!("in_channel");
    state.webapi.respond(url, &msg).await;
}

/// The target of a domain: its configured ports, and whether private addresses may be reached.
pub async fn target_of(state: &AppState, org_id: &str, domain: &str) -> fence_scan::target::Target {
    match state.store.domain(org_id, domain).await {
        Ok(d) => target_for(state, &d),
        Err(_) => {
            let mut t = fence_scan::target::Target::new(domain);
            t.allow_private = state.config.scan.allow_private_targets;
            t
        }
    }
}

/// The scan target of a domain already read: its name and ports.
pub fn target_for(
    state: &AppState,
    d: &fence_store::domains::DomainRow,
) -> fence_scan::target::Target {
    let mut t = fence_scan::target::Target::new(&d.name);
    t.https_port = u16::try_from(d.port).unwrap_or(443);
    t.http_port = u16::try_from(d.http_port).unwrap_or(80);
    t.allow_private = state.config.scan.allow_private_targets;
    t
}
