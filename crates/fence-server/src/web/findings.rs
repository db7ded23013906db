//! Findings pages: the list with filters, and a finding with its history and triage buttons.

use super::findings_sort::{self, Listed, Sort};
use super::labels::{self, Action, Choice};
use super::page::{message, page};
use super::when::When;
use super::{field, Session};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use fence_core::{FindingStatus, Severity};
use fence_store::findings::{FindingQuery, FindingRow};
use serde::Serialize;
use std::collections::HashMap;

/// Findings per page of the list.
const PAGE: usize = 50;

/// The findings list's filters as submitted (trimmed), and where the page starts (below this finding's id).
#[derive(Serialize)]
struct Filter {
    severity: String,
    status: String,
    category: String,
    domain: String,
    /// `severity` (most severe first) or empty (newest first).
    sort: String,
    after: String,
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
            sort: Sort::parse(&get("sort")).as_str().to_string(),
            after: get("after"),
        }
    }

    /// This list's address with the same filters, starting below `after` (or at the newest).
    fn url(&self, after: Option<&str>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("severity", &self.severity),
            ("status", &self.status),
            ("category", &self.category),
            ("domain", &self.domain),
            ("sort", &self.sort),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        if let Some(a) = after {
            q.append_pair("after", a);
        }
        let q = q.finish();
        if q.is_empty() {
            "/findings".into()
        } else {
            format!("/findings?{q}")
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
            ..Default::default()
        }
    }
}

/// The list's orders besides newest first (`?sort=`).
fn sort_choices() -> Vec<Choice> {
    vec![
        Choice {
            value: Sort::Severity.as_str(),
            label: "Most severe first",
        },
        Choice {
            value: Sort::Exploitability.as_str(),
            label: "Most exploitable first (known exploited, then EPSS)",
        },
    ]
}

/// A finding in a list.
#[derive(Serialize)]
struct ListedFinding<'a> {
    id: &'a str,
    title: &'a str,
    domain: &'a str,
    severity: &'a str,
    cvss: String,
    status: &'static str,
    first_seen: Option<When>,
}

impl<'a> ListedFinding<'a> {
    fn of(f: &'a FindingRow, session: &Session) -> Self {
        ListedFinding {
            id: &f.id,
            title: &f.title,
            domain: &f.domain,
            severity: f.severity.as_str(),
            cvss: f.cvss.map(|c| format!("{c:.1}")).unwrap_or_default(),
            status: labels::status_label(f.status),
            first_seen: session.when(f.first_seen),
        }
    }
}

#[derive(Serialize)]
struct FindingsPage<'a> {
    filter: Filter,
    /// The orders besides newest first.
    sorts: Vec<Choice>,
    severities: Vec<Choice>,
    statuses: Vec<Choice>,
    categories: Vec<Choice>,
    rows: Vec<ListedFinding<'a>>,
    /// Some filter is set (an empty list then says how to widen it, not how to send findings).
    filtered: bool,
    /// The next page (older findings) and the first, when this is not it.
    next_url: Option<String>,
    first_url: Option<String>,
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
    let found = findings_sort::list(
        &state.store,
        &session.user.org_id,
        filter.query(),
        Sort::parse(&filter.sort),
        &filter.after,
        PAGE,
    )
    .await;
    let Listed {
        rows,
        next,
        bounded,
    } = found.unwrap_or_default();
    let filtered = [
        &filter.severity,
        &filter.status,
        &filter.category,
        &filter.domain,
    ]
    .iter()
    .any(|v| !v.is_empty());
    let next_url = next.as_deref().map(|n| filter.url(Some(n)));
    let first_url = (!filter.after.is_empty()).then(|| filter.url(None));
    let ctx = FindingsPage {
        next_url,
        first_url,
        filter,
        sorts: sort_choices(),
        severities: labels::severity_choices(),
        statuses: labels::status_choices(),
        categories: labels::category_choices(),
        rows: rows
            .iter()
            .map(|f| ListedFinding::of(f, &session))
            .collect(),
        filtered,
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
    status: &'static str,
    /// Until when a snoozed finding sleeps.
    snoozed_until: Option<When>,
    cve: Option<&'a str>,
    owasp: Option<&'a str>,
    category: Option<String>,
    affected: Option<&'a str>,
    cvss_vector: Option<&'a str>,
    scanner: Option<&'a str>,
    first_seen: Option<When>,
    last_seen: Option<When>,
    description: Option<&'a str>,
    remediation: Option<&'a str>,
    rule: Option<&'a str>,
    package: Option<&'a str>,
    /// "alice@example.com, Dec 2, 2026, 09:00 UTC" when someone acknowledged it.
    acknowledged: Option<String>,
    acknowledged_at: Option<When>,
    /// The silence that kept it from alerting.
    silence: Option<&'a str>,
    /// What the KEV and EPSS feeds say of its CVE, in words.
    exploitation: Option<String>,
}

impl<'a> FindingView<'a> {
    fn of(f: &'a FindingRow, session: &Session) -> Self {
        FindingView {
            id: &f.id,
            domain: &f.domain,
            severity: f.severity.as_str(),
            cvss: f.cvss.map(|c| format!("{c:.1}")),
            status: labels::status_label(f.status),
            snoozed_until: f
                .snoozed_until
                .filter(|_| f.status == FindingStatus::Snoozed)
                .and_then(|u| session.when(u)),
            cve: f.cve.as_deref(),
            owasp: f.owasp.as_deref(),
            category: f.category.as_deref().map(labels::category_label),
            affected: f.affected_url.as_deref(),
            cvss_vector: f.cvss_vector.as_deref(),
            scanner: f.scanner.as_deref(),
            first_seen: session.when(f.first_seen),
            last_seen: session.when(f.last_seen),
            description: f.description.as_deref(),
            remediation: f.remediation.as_deref(),
            rule: f.rule.as_deref(),
            package: f.package.as_deref(),
            acknowledged: f.acknowledged_by.as_deref().map(labels::actor_text),
            acknowledged_at: f.acknowledged_at.and_then(|t| session.when(t)),
            silence: f.silence_id.as_deref(),
            exploitation: None,
        }
    }
}

/// One change in a finding's history.
#[derive(Serialize)]
struct Change {
    when: Option<When>,
    who: String,
    what: String,
}

#[derive(Serialize)]
struct FindingPage<'a> {
    /// The triage buttons this user may press for the finding's status (none for viewers).
    actions: Vec<Action>,
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
            when: session.when(e.created_at),
            who: labels::actor_text(&e.actor),
            what: labels::audit_text(&e.action),
        })
        .collect();
    let actions = if session.can_edit() {
        let mut a = labels::actions_for(f.status);
        if f.status == FindingStatus::Open && f.acknowledged_at.is_none() {
            a.insert(0, labels::ACKNOWLEDGE);
        }
        a
    } else {
        Vec::new()
    };
    let mut finding = FindingView::of(&f, &session);
    if let Some(cve) = f.cve.as_deref() {
        let intel = state.store.intel_for(&[cve]).await.unwrap_or_default();
        finding.exploitation = intel.get(cve).map(|i| {
            [i.kev_line(), i.epss_line()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ")
        });
    }
    let ctx = FindingPage {
        actions,
        finding,
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
    let actor = crate::services::triage::Actor {
        audit: format!("user:{}", session.user.email),
        shown: session.user.email.clone(),
    };
    if field(&f, "action") == "acknowledge" {
        return match crate::services::triage::acknowledge(&state, &session.user.org_id, &id, &actor)
            .await
        {
            Ok(_) => Redirect::to(&format!("/findings/{id}")).into_response(),
            Err(crate::services::ServiceError::Conflict(m)) => {
                (StatusCode::CONFLICT, m).into_response()
            }
            Err(_) => (StatusCode::NOT_FOUND, "no such finding").into_response(),
        };
    }
    let (status, hours) = match field(&f, "action") {
        "false_positive" => (FindingStatus::FalsePositive, None),
        "snooze" => (FindingStatus::Snoozed, Some(24.0)),
        "resolve" => (FindingStatus::Resolved, None),
        "reopen" => (FindingStatus::Open, None),
        _ => return (StatusCode::BAD_REQUEST, "unknown action").into_response(),
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
            sorts: sort_choices(),
            severities: labels::severity_choices(),
            statuses: labels::status_choices(),
            categories: labels::category_choices(),
            rows: vec![ListedFinding {
                id: "f1",
                title: "<script>x</script>",
                domain: "example.com",
                severity: "high",
                cvss: "7.5".into(),
                status: "Open",
                first_seen: When::at(1_704_067_200_000, &jiff::tz::TimeZone::UTC),
            }],
            filtered: true,
            bounded: false,
            next_url: Some("/findings?status=open&after=f1".into()),
            first_url: Some("/findings?status=open".into()),
        };
        let out = render("web/findings.html", ctx);
        assert!(
            out.contains("<option value=\"open\" selected>Open</option>"),
            "{out}"
        );
        assert!(out.contains("<option value=\"false_positive\">False positive</option>"));
        assert!(out.contains("<option value=\"sql_injection\">SQL Injection</option>"));
        assert!(out.contains("<td><time datetime=\"2024-01-01T00:00:00Z\" title=\"2024-01-01 00:00:00 UTC\">Jan 1, 2024, 00:00 UTC</time></td>"), "{out}");
        assert!(out.contains("id=\"filter-category\""));
        assert!(out.contains("name=domain value=\"&lt;x&gt;\""));
        assert!(out.contains("<span class=\"badge high\">HIGH</span>"));
        assert!(out.contains("&lt;script&gt;x&lt;&#x2f;script&gt;") && !out.contains("<script>"));
        assert!(out.contains("<td>7.5</td>"));
        assert!(out.contains("<a id=next-page href=\"&#x2f;findings?status=open&amp;after=f1\">Older findings →</a>"), "{out}");
        assert!(
            out.contains("<a href=\"&#x2f;findings?status=open\">← Newest</a>"),
            "{out}"
        );
    }

    #[test]
    fn a_finding_shows_what_it_has_and_triage_buttons_to_editors() {
        let at = |ms| When::at(ms, &jiff::tz::TimeZone::UTC);
        let view = |status: FindingStatus, can_edit: bool| FindingPage {
            actions: if can_edit {
                labels::actions_for(status)
            } else {
                Vec::new()
            },
            finding: FindingView {
                id: "f1",
                domain: "example.com",
                severity: "critical",
                cvss: Some("9.8".into()),
                status: labels::status_label(status),
                snoozed_until: (status == FindingStatus::Snoozed)
                    .then(|| at(1_704_153_600_000))
                    .flatten(),
                cve: Some("CVE-2024-1"),
                owasp: None,
                category: Some(labels::category_label("xss")),
                affected: None,
                cvss_vector: None,
                scanner: None,
                first_seen: at(1_704_067_200_000),
                last_seen: at(1_704_067_200_000),
                description: Some("<b>bold</b>"),
                remediation: None,
                rule: Some("js/xss"),
                package: None,
                acknowledged: Some(labels::actor_text("slack:U0ALICE")),
                acknowledged_at: at(1_704_070_000_000),
                silence: Some("s-1"),
                exploitation: Some("🔥 Known exploited (CISA KEV, added 2021-12-10)".into()),
            },
            history: vec![Change {
                when: at(1_704_070_800_000),
                who: labels::actor_text("user:alice@example.com"),
                what: labels::audit_text("finding.false_positive"),
            }],
        };
        let out = render("web/finding.html", view(FindingStatus::Open, true));
        assert!(out.contains("id=\"triage-false_positive\""), "{out}");
        assert!(out.contains("id=\"triage-resolve\"") && !out.contains("triage-reopen"));
        assert!(out.contains("<tr><th>Category</th><td>XSS</td></tr>"));
        assert!(
            out.contains("<tr><th>Rule</th><td>js&#x2f;xss</td></tr>"),
            "{out}"
        );
        assert!(
            out.contains("<th>Acknowledged</th><td>by U0ALICE (in Slack)"),
            "{out}"
        );
        assert!(out.contains("silence <code>s-1</code>"), "{out}");
        assert!(out.contains("<tr><th>Exploitation</th><td>🔥 Known exploited (CISA KEV, added 2021-12-10)</td></tr>"), "{out}");
        assert!(
            out.contains("<td>alice@example.com</td><td>Marked as false positive</td>"),
            "{out}"
        );
        assert!(out.contains("CRITICAL</span> CVSS 9.8"));
        assert!(out.contains("<tr><th>CVE</th><td>CVE-2024-1</td></tr>"));
        assert!(!out.contains("OWASP") && !out.contains("Fix instructions"));
        assert!(out.contains("&lt;b&gt;bold&lt;&#x2f;b&gt;"));
        // A false positive offers only Reopen; a snoozed finding says until when, and can be woken up.
        let out = render("web/finding.html", view(FindingStatus::FalsePositive, true));
        assert!(out.contains("triage-reopen") && !out.contains("triage-false_positive"));
        assert!(
            out.contains("<th>Status</th><td>False positive</td>"),
            "{out}"
        );
        let out = render("web/finding.html", view(FindingStatus::Snoozed, true));
        assert!(
            out.contains("Snoozed until <time datetime=\"2024-01-02T00:00:00Z\""),
            "{out}"
        );
        assert!(out.contains("Wake up (reopen)") && !out.contains("triage-snooze"));
        let out = render("web/finding.html", view(FindingStatus::Open, false));
        assert!(!out.contains("triage-"));
    }

    /// A bounded search that found nothing does not claim that nothing matches.
    #[test]
    fn a_bounded_search_says_so_instead_of_no_match() {
        let ctx = FindingsPage {
            filter: Filter::from_query(&HashMap::new()),
            sorts: sort_choices(),
            severities: labels::severity_choices(),
            statuses: labels::status_choices(),
            categories: labels::category_choices(),
            rows: Vec::new(),
            filtered: true,
            bounded: true,
            next_url: None,
            first_url: None,
        };
        let out = render("web/findings.html", ctx);
        assert!(
            out.contains("only 10,000 findings were searched at a time"),
            "{out}"
        );
        assert!(!out.contains("No findings match"), "{out}");
    }
}

#[test]
fn an_empty_list_says_what_to_do_next() {
    use crate::web::page::testing::render;
    let ctx = |filtered| FindingsPage {
        filter: Filter::from_query(&HashMap::new()),
        sorts: sort_choices(),
        severities: labels::severity_choices(),
        statuses: labels::status_choices(),
        categories: labels::category_choices(),
        rows: Vec::new(),
        filtered,
        bounded: false,
        next_url: None,
        first_url: None,
    };
    let out = render("web/findings.html", ctx(false));
    assert!(out.contains("No findings yet. Send them with"), "{out}");
    let out = render("web/findings.html", ctx(true));
    assert!(
        out.contains("<a href=/findings>Clear the filters</a>"),
        "{out}"
    );
}
