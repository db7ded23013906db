//! Scans and their reports: the list, a scan's findings and its CSV download.

use super::page::{message, page};
use super::Session;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use fence_store::findings::FindingQuery;
use serde::Serialize;

/// A scan in the list.
#[derive(Serialize)]
struct ListedScan<'a> {
    id: &'a str,
    domain: &'a str,
    scan_type: &'a str,
    status: &'static str,
    counts: [i64; 5],
    queued: Option<super::when::When>,
}

#[derive(Serialize)]
struct ScansPage<'a> {
    rows: Vec<ListedScan<'a>>,
}

pub async fn scans(State(state): State<AppState>, session: Session) -> Response {
    let rows = state
        .store
        .list_scans(&session.user.org_id, 100)
        .await
        .unwrap_or_default();
    let rows = rows
        .iter()
        .map(|s| ListedScan {
            id: &s.id,
            domain: &s.domain,
            scan_type: &s.scan_type,
            status: super::labels::scan_status_label(&s.status),
            counts: s.counts,
            queued: session.when(s.created_at),
        })
        .collect();
    page("web/scans.html", "Scans", &session, ScansPage { rows }).into_response()
}

/// A scan's report.
#[derive(Serialize)]
struct ScanView<'a> {
    id: &'a str,
    domain: &'a str,
    scan_type: &'a str,
    status: &'static str,
    duration: String,
    counts: [i64; 5],
    error: Option<&'a str>,
}

/// A finding of a scan.
#[derive(Serialize)]
struct ScanFinding<'a> {
    id: &'a str,
    title: &'a str,
    severity: &'a str,
    status: &'static str,
}

#[derive(Serialize)]
struct ScanPage<'a> {
    scan: ScanView<'a>,
    findings: Vec<ScanFinding<'a>>,
}

pub async fn scan(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let Ok(s) = state.store.scan(&session.user.org_id, &id).await else {
        let body = message("Not found", &session, "No such scan.");
        return (StatusCode::NOT_FOUND, body).into_response();
    };
    let q = FindingQuery {
        domain: Some(s.domain.clone()),
        limit: 500,
        ..Default::default()
    };
    let rows = state
        .store
        .list_findings(&session.user.org_id, &q)
        .await
        .unwrap_or_default();
    let findings = rows
        .iter()
        .filter(|f| f.scan_id.as_deref() == Some(s.id.as_str()))
        .map(|f| ScanFinding {
            id: &f.id,
            title: &f.title,
            severity: f.severity.as_str(),
            status: super::labels::status_label(f.status),
        })
        .collect();
    let seconds = (s.duration_ms.unwrap_or(0).max(0) / 1000) as u64;
    let scan = ScanView {
        id: &s.id,
        domain: &s.domain,
        scan_type: &s.scan_type,
        status: super::labels::scan_status_label(&s.status),
        duration: fence_slack::render::duration(seconds),
        counts: s.counts,
        error: s.error.as_deref(),
    };
    page(
        "web/scan.html",
        "Scan report",
        &session,
        ScanPage { scan, findings },
    )
    .into_response()
}

pub async fn scan_csv(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let Ok(s) = state.store.scan(&session.user.org_id, &id).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match state
        .store
        .findings_of_scan(&session.user.org_id, &s.id)
        .await
    {
        Ok(rows) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"fence-scan.csv\"",
                ),
            ],
            crate::services::digests::findings_csv(rows),
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::page::testing::render;

    #[test]
    fn scans_and_a_scan_report_render() {
        let out = render("web/scans.html", ScansPage { rows: vec![] });
        assert!(out.contains("No scans yet."));
        let row = ListedScan {
            id: "s1",
            domain: "example.com",
            scan_type: "full",
            status: "completed",
            counts: [1, 2, 3, 4, 5],
            queued: None,
        };
        let out = render("web/scans.html", ScansPage { rows: vec![row] });
        assert!(out.contains("<td>1 / 2 / 3 / 4 / 5</td>"), "{out}");
        let scan = ScanView {
            id: "s1",
            domain: "example.com",
            scan_type: "full",
            status: "failed",
            duration: "4m 32s".into(),
            counts: [0, 1, 0, 0, 0],
            error: Some("timed <out>"),
        };
        let findings = vec![ScanFinding {
            id: "f1",
            title: "Missing header",
            severity: "high",
            status: "open",
        }];
        let out = render("web/scan.html", ScanPage { scan, findings });
        assert!(
            out.contains("duration 4m 32s · 0 critical, 1 high, 0 medium"),
            "{out}"
        );
        assert!(out.contains("href=\"/scans/s1/report.csv\""));
        assert!(out.contains("<p class=error>timed &lt;out&gt;</p>"));
        assert!(out.contains("<a href=\"/findings/f1\">Missing header</a>"));
    }
}
