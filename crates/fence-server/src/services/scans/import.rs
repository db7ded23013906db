//! Imports of scanner output files: the file read and checked whole by `fence_scan::import::import_stream` on a
//! blocking thread, its findings stored a chunk at a time as they arrive, and the scan ended with what became of
//! every result — the same operation for `POST /api/v1/import` and `fence import`.

use super::{conclude, count, FileResults, Results};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use fence_core::{DomainName, NewFinding};
use fence_store::findings::IngestOutcome;
use fence_store::scans::{ScanOutcome, ScanRow};

/// A scanner's output file to import: in memory, or spooled to disk (read as a stream, in passes).
#[derive(Debug, Clone)]
pub enum ImportBody {
    Bytes(Vec<u8>),
    File(std::path::PathBuf),
}

/// Imports a scanner's output file as one completed scan: all of it, or nothing with an error naming where it
/// broke. The file is read and checked whole before anything is stored; its findings are then stored
/// [`fence_scan::import::CHUNK`] at a time as the importer hands them over, so a large SARIF file is never held in
/// memory. With `close_missing`, the open findings of the same domain, tool and scan type that the file no longer
/// reports are resolved. Returns the scan (its `result_counts` say what became of each result).
pub async fn import_file(
    state: &AppState,
    org_id: &str,
    actor: &str,
    format: &str,
    domain: &str,
    body: ImportBody,
    close_missing: bool,
) -> ServiceResult<ScanRow> {
    let fmt = fence_scan::import::Format::parse(format)
        .map_err(|e| ServiceError::invalid("format", e))?;
    let domain = DomainName::parse(domain).map_err(|e| ServiceError::invalid("domain", e))?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<NewFinding>>(2);
    let reading = {
        let domain = domain.clone();
        tokio::task::spawn_blocking(move || {
            let src = match &body {
                ImportBody::Bytes(b) => fence_scan::import::Source::Bytes(b),
                ImportBody::File(p) => fence_scan::import::Source::File(p),
            };
            fence_scan::import::import_stream(fmt, src, &domain, &mut |chunk| {
                tx.blocking_send(chunk)
                    .map_err(|_| fence_scan::import::Stopped)
            })
        })
    };
    let mut stored = Stored::default();
    let mut scan = None;
    while let Some(chunk) = rx.recv().await {
        let s = match &scan {
            Some(s) => s,
            None => scan.insert(import_scan(state, org_id, actor, fmt, &domain).await?),
        };
        if let Err(e) = stored.add(state, org_id, s, chunk).await {
            fail(state, org_id, s, &e).await;
            return Err(e);
        }
    }
    let imported = reading
        .await
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("the import stopped: {e}")))?
        .map_err(|e| {
            if e.is_too_large() {
                ServiceError::TooLarge(e.to_string())
            } else {
                ServiceError::invalid(e.location.clone(), e.message.clone())
            }
        })?;
    let scan = match scan {
        Some(s) => s,
        None => import_scan(state, org_id, actor, fmt, &domain).await?,
    };
    let file = FileResults {
        counts: imported.counts,
        upstream: imported.upstream,
        tools: imported.tools,
        close_missing,
        actor: actor.to_string(),
    };
    let results = Results {
        completed: true,
        file: Some(file),
        ..Results::default()
    };
    conclude(
        state,
        org_id,
        &scan,
        results,
        &stored.ingested,
        stored.counts,
    )
    .await
}

/// The scan an import becomes.
async fn import_scan(
    state: &AppState,
    org_id: &str,
    actor: &str,
    fmt: fence_scan::import::Format,
    domain: &DomainName,
) -> ServiceResult<ScanRow> {
    Ok(state
        .store
        .create_scan(
            org_id,
            domain.as_str(),
            fmt.as_str(),
            "import",
            Some(actor),
            state.clock.now_ms(),
        )
        .await?)
}

/// What an import has stored so far.
#[derive(Default)]
struct Stored {
    ingested: IngestOutcome,
    counts: [i64; 5],
}

impl Stored {
    /// Stores one chunk of an import's findings as the scan's.
    async fn add(
        &mut self,
        state: &AppState,
        org_id: &str,
        scan: &ScanRow,
        mut chunk: Vec<NewFinding>,
    ) -> ServiceResult<()> {
        for f in &mut chunk {
            f.scan_id = Some(scan.id.clone());
        }
        for (total, n) in self.counts.iter_mut().zip(count(&chunk)) {
            *total += n;
        }
        let out = crate::services::findings::ingest(state, org_id, &chunk).await?;
        let i = &mut self.ingested;
        i.new += out.new;
        i.duplicates += out.duplicates;
        i.suppressed += out.suppressed;
        i.silenced += out.silenced;
        i.deliveries += out.deliveries;
        Ok(())
    }
}

/// Ends an import that could not store all of its findings as failed (what it stored stays, as that scan's).
async fn fail(state: &AppState, org_id: &str, scan: &ScanRow, e: &ServiceError) {
    let outcome = ScanOutcome {
        completed: false,
        counts: [0; 5],
        duration_ms: 0,
        error: Some(fence_core::text::truncate_chars(&e.public_message(), 500)),
        result_counts: None,
        changes: None,
    };
    let now = state.clock.now_ms();
    if let Err(e) = state
        .store
        .finish_scan(org_id, &scan.id, &outcome, now)
        .await
    {
        tracing::warn!(scan = %scan.id, error = %e, "cannot end a failed import");
    }
}
