//! Findings pages: the list with filters, and a finding with its history and triage buttons.

use super::page::{message, page};
use super::{field, Session};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use fence_core::time::fmt_ts;
use fence_core::{FindingStatus, Severity};
use fence_store::findings::{FindingQuery, FindingRow};
use serde::Serialize;
use std::collections::HashMap;

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];
const STATUSES: [&str; 4] = ["open", "false_positive", "snoozed", "resolved"];

/// The findings list's filters as submitted (trimmed).
#[derive(Serialize)]
struct Filter {
    severity: String,
    status: String,
    category: String,
    domain: String,
}

impl Filter {
    fn from_query(q: &HashMap<String, String>) -> Filter {
        let get = |k: &str| {
            q.get(k)
                .map(String::as_str)
                .unwrap_or("")
                .trim()
                .to_string()
        };
        Filter {
            severity: get("severity"),
            status: get("status"),
            category: get("category"),
            domain: get("domain"),
        }
    }

    fn query(&self) -> FindingQuery {
        FindingQuery {
            severity: self.severity.parse::<Severity>().ok(),
            domain: Some(self.domain.to_ascii_lowercase()).filter(|d| !d.is_empty()),
            status: FindingStatus::parse(&self.status).ok(),
            category: fence_core::Category::parse(&self.category)
                .ok()
                .map(|c| c.as_str().to_string()),
            limit: 200,
            ..Default::default()
        }
    }
}

/// A finding in a list.
#[derive(Serialize)]
struct ListedFinding<'a> {
    id: &'a str,
    title: &'a str,
    domain: &'a str,
    severity: &'a str,
    cvss: String,
    status: &'a str,
    first_seen: String,
}

impl<'a> ListedFinding<'a> {
    fn of(f: &'a FindingRow) -> Self {
        ListedFinding {
            id: &f.id,
            title: &f.title,
            domain: &f.domain,
            severity: f.severity.as_str(),
            cvss: f.cvss.map(|c| format!("{c:.1}")).unwrap_or_default(),
            status: f.status.as_str(),
            first_seen: fmt_ts(f.first_seen),
        }
    }
}

#[derive(Serialize)]
struct FindingsPage<'a> {
    filter: Filter,
    severities: [&'static str; 5],
    statuses: [&'static str; 4],
    categories: Vec<&'static str>,
    rows: Vec<ListedFinding<'a>>,
    /// These filters have no index of their own and only the newest findings were looked at (see
    /// `Store::list_findings_page`): the page says so instead of "No findings match".
    bounded: bool,
}

pub async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let filter = Filter::from_query(&q);
    let found = state
        .store
        .list_findings_page(&session.user.org_id, &filter.query())
        .await;
    let (rows, bounded) = match found {
        Ok(p) => (p.findings, p.scanned_to.is_some()),
        Err(_) => (Vec::new(), false),
    };
    let ctx = FindingsPage {
        filter,
        severities: SEVERITIES,
        statuses: STATUSES,
        categories: fence_core::Category::ALL
            .iter()
            .map(|c| c.as_str())
            .collect(),
        rows: rows.iter().map(ListedFinding::of).collect(),
        bounded,
    };
    page("web/findings.html", "Findings", &session, ctx).into_response()
}

/// A finding's page: absent fields are `None` and not shown.
#[derive(Serialize)]
struct FindingView<'a> {
    id: &'a str,
    domain: &'a str,
    severity: &'a str,
    cvss: Option<String>,
    status: String,
    cve: Option<&'a str>,
    owasp: Option<&'a str>,
    category: Option<&'a str>,
    affected: Option<&'a str>,
    cvss_vector: Option<&'a str>,
    scanner: Option<&'a str>,
    first_seen: String,
    last_seen: String,
    description: Option<&'a str>,
    remediation: Option<&'a str>,
}

impl<'a> FindingView<'a> {
    fn of(f: &'a FindingRow) -> Self {
        let until = f.snoozed_until.map(|u| format!(" until {}", fmt_ts(u)));
        FindingView {
            id: &f.id,
            domain: &f.domain,
            severity: f.severity.as_str(),
            cvss: f.cvss.map(|c| format!("{c:.1}")),
            status: format!("{}{}", f.status.as_str(), until.unwrap_or_default()),
            cve: f.cve.as_deref(),
            owasp: f.owasp.as_deref(),
            category: f.category.as_deref(),
            affected: f.affected_url.as_deref(),
            cvss_vector: f.cvss_vector.as_deref(),
            scanner: f.scanner.as_deref(),
            first_seen: fmt_ts(f.first_seen),
            last_seen: fmt_ts(f.last_seen),
            description: f.description.as_deref(),
            remediation: f.remediation.as_deref(),
        }
    }
}

/// One change in a finding's history.
#[derive(Serialize)]
struct Change {
    when: String,
    who: String,
    what: String,
}

#[derive(Serialize)]
struct FindingPage<'a> {
    can_edit: bool,
    finding: FindingView<'a>,
    history: Vec<Change>,
}

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let Ok(f) = state.store.finding(&session.user.org_id, &id).await else {
        let body = message("Not found", &session, "No such finding.");
        return (StatusCode::NOT_FOUND, body).into_response();
    };
    let history = state
        .store
        .audit_of(&session.user.org_id, &f.id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|e| Change {
            when: fmt_ts(e.created_at),
            who: e.actor,
            what: e.action,
        })
        .collect();
    let ctx = FindingPage {
        can_edit: session.can_edit(),
        finding: FindingView::of(&f),
        history,
    };
    page("web/finding.html", &f.title, &session, ctx).into_response()
}

pub async fn triage(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let f = match session.editing_form(&body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let (status, hours) = match field(&f, "action") {
        "false_positive" => (FindingStatus::FalsePositive, None),
        "snooze" => (FindingStatus::Snoozed, Some(24.0)),
        "resolve" => (FindingStatus::Resolved, None),
        "reopen" => (FindingStatus::Open, None),
        _ => return (StatusCode::BAD_REQUEST, "unknown action").into_response(),
    };
    let actor = crate::services::triage::Actor {
        audit: format!("user:{}", session.user.email),
        shown: session.user.email.clone(),
    };
    match crate::services::triage::change_status(
        &state,
        &session.user.org_id,
        &id,
        status,
        hours,
        &actor,
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/findings/{id}")).into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "no such finding").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::page::testing::render;

    #[test]
    fn the_findings_list_shows_its_filters_and_rows() {
        let q: HashMap<String, String> = [("status", "open"), ("domain", " <x> ")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let ctx = FindingsPage {
            filter: Filter::from_query(&q),
            severities: SEVERITIES,
            statuses: STATUSES,
            categories: vec!["xss"],
            rows: vec![ListedFinding {
                id: "f1",
                title: "<script>x</script>",
                domain: "example.com",
                severity: "high",
                cvss: "7.5".into(),
                status: "open",
                first_seen: "2024-01-01T00:00:00Z".into(),
            }],
            bounded: false,
        };
        let out = render("web/findings.html", ctx);
        assert!(
            out.contains("<option value=\"open\" selected>open</option>"),
            "{out}"
        );
        assert!(out.contains("id=\"filter-category\""));
        assert!(out.contains("name=domain value=\"&lt;x&gt;\""));
        assert!(out.contains("<span class=\"badge high\">HIGH</span>"));
        assert!(out.contains("&lt;script&gt;x&lt;&#x2f;script&gt;") && !out.contains("<script>"));
        assert!(out.contains("<td>7.5</td>"));
    }

    #[test]
    fn a_finding_shows_what_it_has_and_triage_buttons_to_editors() {
        let view = |can_edit| FindingPage {
            can_edit,
            finding: FindingView {
                id: "f1",
                domain: "example.com",
                severity: "critical",
                cvss: Some("9.8".into()),
                status: "open".into(),
                cve: Some("CVE-2024-1"),
                owasp: None,
                category: None,
                affected: None,
                cvss_vector: None,
                scanner: None,
                first_seen: "t1".into(),
                last_seen: "t2".into(),
                description: Some("<b>bold</b>"),
                remediation: None,
            },
            history: vec![Change {
                when: "t3".into(),
                who: "user:alice".into(),
                what: "finding.false_positive".into(),
            }],
        };
        let out = render("web/finding.html", view(true));
        assert!(out.contains("id=\"triage-false_positive\""), "{out}");
        assert!(out.contains("CRITICAL</span> CVSS 9.8"));
        assert!(out.contains("<tr><th>CVE</th><td>CVE-2024-1</td></tr>"));
        assert!(!out.contains("OWASP") && !out.contains("Fix instructions"));
        assert!(out.contains("&lt;b&gt;bold&lt;&#x2f;b&gt;"));
        assert!(out.contains("<td>finding.false_positive</td>"));
        let out = render("web/finding.html", view(false));
        assert!(!out.contains("triage-"));
    }

    /// A bounded search that found nothing does not claim that nothing matches.
    #[test]
    fn a_bounded_search_says_so_instead_of_no_match() {
        let ctx = FindingsPage {
            filter: Filter::from_query(&HashMap::new()),
            severities: SEVERITIES,
            statuses: STATUSES,
            categories: vec!["xss"],
            rows: Vec::new(),
            bounded: true,
        };
        let out = render("web/findings.html", ctx);
        assert!(out.contains("only the newest 10,000 findings"), "{out}");
        assert!(!out.contains("No findings match"), "{out}");
    }
}
