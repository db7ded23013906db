//! Findings pages (list with filters, a finding with its history and triage buttons), scans and their reports,
//! a domain's page and the dashboard.

use super::page::{badge, csrf_input, esc, layout};
use super::{field, Session};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use fence_core::time::fmt_ts;
use fence_core::{FindingStatus, Severity};
use fence_store::findings::FindingQuery;
use std::collections::HashMap;

fn select(name: &str, options: &[&str], current: &str) -> String {
    let opts: String = std::iter::once(("", "any"))
        .chain(options.iter().map(|o| (*o, *o)))
        .map(|(v, l)| {
            format!(
                "<option value=\"{v}\"{}>{l}</option>",
                if v == current { " selected" } else { "" }
            )
        })
        .collect();
    format!("<select name={name} id=filter-{name}>{opts}</select>")
}

pub async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| {
        q.get(k)
            .map(String::as_str)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let query = FindingQuery {
        severity: get("severity").parse::<Severity>().ok(),
        domain: Some(get("domain").to_ascii_lowercase()).filter(|d| !d.is_empty()),
        status: FindingStatus::parse(&get("status")).ok(),
        category: fence_core::Category::parse(&get("category"))
            .ok()
            .map(|c| c.as_str().to_string()),
        limit: 200,
        ..Default::default()
    };
    let rows = state
        .store
        .list_findings(&session.user.org_id, &query)
        .await
        .unwrap_or_default();
    let categories: Vec<&str> = fence_core::Category::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    let filters = format!(
        "<form class=\"card inline\" method=get action=/findings><label>Severity {}</label><label>Status {}</label><label>Category {}</label><label>Domain <input type=text name=domain value=\"{}\" style=\"width:14em\"></label><button>Filter</button></form>",
        select("severity", &["critical", "high", "medium", "low", "info"], &get("severity")),
        select("status", &["open", "false_positive", "snoozed", "resolved"], &get("status")),
        select("category", &categories, &get("category")),
        esc(&get("domain"))
    );
    let body: String = rows
        .iter()
        .map(|f| {
            format!(
                "<tr><td>{}</td><td><a href=\"/findings/{id}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                badge(f.severity.as_str()),
                esc(&f.title),
                esc(&f.domain),
                f.cvss.map(|c| format!("{c:.1}")).unwrap_or_default(),
                esc(f.status.as_str()),
                fmt_ts(f.first_seen),
                id = esc(&f.id)
            )
        })
        .collect();
    let table = if rows.is_empty() {
        "<p class=muted>No findings match.</p>".to_string()
    } else {
        format!("<table><tr><th>Severity</th><th>Title</th><th>Domain</th><th>CVSS</th><th>Status</th><th>First seen</th></tr>{body}</table>")
    };
    layout("Findings", &session, &format!("{filters}{table}")).into_response()
}

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let Ok(f) = state.store.finding(&session.user.org_id, &id).await else {
        return (
            StatusCode::NOT_FOUND,
            layout("Not found", &session, "<p>No such finding.</p>"),
        )
            .into_response();
    };
    let row = |k: &str, v: Option<String>| {
        v.map(|v| format!("<tr><th>{k}</th><td>{}</td></tr>", esc(&v)))
            .unwrap_or_default()
    };
    let details = [
        row("Domain", Some(f.domain.clone())),
        format!(
            "<tr><th>Severity</th><td>{} {}</td></tr>",
            badge(f.severity.as_str()),
            f.cvss.map(|c| format!("CVSS {c:.1}")).unwrap_or_default()
        ),
        row(
            "Status",
            Some(
                f.status.as_str().to_string()
                    + &f.snoozed_until
                        .map(|u| format!(" until {}", fmt_ts(u)))
                        .unwrap_or_default(),
            ),
        ),
        row("CVE", f.cve.clone()),
        row("OWASP", f.owasp.clone()),
        row("Category", f.category.clone()),
        row("Affected", f.affected_url.clone()),
        row("CVSS vector", f.cvss_vector.clone()),
        row("Scanner", f.scanner.clone()),
        row("First seen", Some(fmt_ts(f.first_seen))),
        row("Last seen", Some(fmt_ts(f.last_seen))),
    ]
    .concat();
    let text = |title: &str, v: &Option<String>| {
        v.as_ref().map(|v| format!("<div class=card><h2>{title}</h2><pre style=\"white-space:pre-wrap;background:#fff;color:#1f2933\">{}</pre></div>", esc(v))).unwrap_or_default()
    };
    let buttons = if session.can_edit() {
        let b = |action: &str, label: &str, class: &str| {
            format!("<form method=post action=\"/findings/{}/triage\" style=\"display:inline\">{}<input type=hidden name=action value={action}><button id=\"triage-{action}\" class=\"{class}\">{label}</button></form>", esc(&f.id), csrf_input(&session))
        };
        format!(
            "<p>{}{}{}{}</p>",
            b("false_positive", "Mark as False Positive", "danger"),
            b("snooze", "Snooze (24h)", "secondary"),
            b("resolve", "Resolve", ""),
            b("reopen", "Reopen", "secondary")
        )
    } else {
        String::new()
    };
    let history: String = state
        .store
        .audit_of(&session.user.org_id, &f.id)
        .await
        .unwrap_or_default()
        .iter()
        .map(|e| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                fmt_ts(e.created_at),
                esc(&e.actor),
                esc(&e.action)
            )
        })
        .collect();
    let history = if history.is_empty() {
        "<p class=muted>No changes yet.</p>".into()
    } else {
        format!("<table><tr><th>When</th><th>Who</th><th>What</th></tr>{history}</table>")
    };
    let body = format!(
        "{buttons}<div class=card><table>{details}</table></div>{}{}<div class=card><h2>History</h2>{history}</div>",
        text("Description", &f.description),
        text("Fix instructions", &f.remediation)
    );
    layout(&f.title, &session, &body).into_response()
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

pub async fn scans(State(state): State<AppState>, session: Session) -> Response {
    let rows = state
        .store
        .list_scans(&session.user.org_id, 100)
        .await
        .unwrap_or_default();
    let body: String = rows
        .iter()
        .map(|s| {
            format!(
                "<tr><td><a href=\"/scans/{id}\">{}</a></td><td>{}</td><td>{}</td><td>{} / {} / {} / {} / {}</td><td>{}</td></tr>",
                esc(&s.domain),
                esc(&s.scan_type),
                esc(&s.status),
                s.counts[0],
                s.counts[1],
                s.counts[2],
                s.counts[3],
                s.counts[4],
                fmt_ts(s.created_at),
                id = esc(&s.id)
            )
        })
        .collect();
    let table = if rows.is_empty() {
        "<p class=muted>No scans yet.</p>".into()
    } else {
        format!("<table><tr><th>Domain</th><th>Type</th><th>Status</th><th>Critical / High / Medium / Low / Info</th><th>Queued</th></tr>{body}</table>")
    };
    layout("Scans", &session, &table).into_response()
}

pub async fn scan(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let Ok(s) = state.store.scan(&session.user.org_id, &id).await else {
        return (
            StatusCode::NOT_FOUND,
            layout("Not found", &session, "<p>No such scan.</p>"),
        )
            .into_response();
    };
    let q = FindingQuery {
        domain: Some(s.domain.clone()),
        limit: 500,
        ..Default::default()
    };
    let findings: String = state
        .store
        .list_findings(&session.user.org_id, &q)
        .await
        .unwrap_or_default()
        .iter()
        .filter(|f| f.scan_id.as_deref() == Some(s.id.as_str()))
        .map(|f| {
            format!(
                "<tr><td>{}</td><td><a href=\"/findings/{}\">{}</a></td><td>{}</td></tr>",
                badge(f.severity.as_str()),
                esc(&f.id),
                esc(&f.title),
                esc(f.status.as_str())
            )
        })
        .collect();
    let body = format!(
        "<div class=card><p>Domain <b>{}</b> · type {} · status {} · duration {} · {} critical, {} high, {} medium, {} low, {} info</p><p><a class=button href=\"/scans/{id}/report.csv\">Download Report (CSV)</a></p>{}</div><table><tr><th>Severity</th><th>Finding</th><th>Status</th></tr>{findings}</table>",
        esc(&s.domain),
        esc(&s.scan_type),
        esc(&s.status),
        fence_slack::render::duration((s.duration_ms.unwrap_or(0).max(0) / 1000) as u64),
        s.counts[0],
        s.counts[1],
        s.counts[2],
        s.counts[3],
        s.counts[4],
        s.error.as_ref().map(|e| format!("<p class=error>{}</p>", esc(e))).unwrap_or_default(),
        id = esc(&s.id)
    );
    layout("Scan report", &session, &body).into_response()
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

pub async fn domain(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
) -> Response {
    let cert = state
        .store
        .certificate(&session.user.org_id, &name)
        .await
        .ok();
    let body = match cert {
        Some(c) => format!(
            "<div class=card><p>Certificate issued by <b>{}</b>, expires {} ({} days left).</p><p>Names: {}</p><p class=muted>SHA-256 {}</p></div>",
            esc(&c.issuer),
            fmt_ts(c.not_after),
            fence_core::certificate::days_left(c.not_after, state.clock.now_ms()),
            esc(&c.sans.join(", ")),
            esc(&c.fingerprint)
        ),
        None => "<p class=muted>No certificate observed for this domain yet.</p>".into(),
    };
    layout(
        &name,
        &session,
        &format!(
            "{body}<p><a href=\"/findings?domain={}\">Findings of this domain</a></p>",
            esc(&name)
        ),
    )
    .into_response()
}

pub async fn certificate_docs(session: Session) -> Response {
    layout("Renewing a certificate", &session, "<div class=card><p>Renew the certificate with your certificate authority (for Let's Encrypt, run your ACME client, e.g. <code>certbot renew</code>), install it and reload the web server. Set a domain's <code>renew_url</code> (PATCH /api/v1/domains/{name}) to point the alert's Renew Certificate button at your own procedure.</p></div>").into_response()
}

pub async fn dashboard(State(state): State<AppState>, session: Session) -> Response {
    let org = &session.user.org_id;
    let mut counts = String::new();
    for sev in Severity::ALL {
        let q = FindingQuery {
            severity: Some(sev),
            status: Some(FindingStatus::Open),
            limit: 10_000,
            ..Default::default()
        };
        let n = state
            .store
            .list_findings(org, &q)
            .await
            .map(|r| r.len())
            .unwrap_or(0);
        counts.push_str(&format!("<div class=card style=\"display:inline-block;min-width:8em;margin-right:.5em\">{}<h2 style=\"margin:.3em 0\">{n}</h2><a href=\"/findings?severity={}&status=open\">open</a></div>", badge(sev.as_str()), sev.as_str()));
    }
    let now = state.clock.now_ms();
    let certs: String = state
        .store
        .expiring_certificates(org, now + 30 * 86_400_000)
        .await
        .unwrap_or_default()
        .iter()
        .map(|c| {
            format!(
                "<li>⚠️ <a href=\"/domains/{d}\">{d}</a> — expires in {} days</li>",
                fence_core::certificate::days_left(c.not_after, now),
                d = esc(&c.domain)
            )
        })
        .collect();
    let certs = if certs.is_empty() {
        "<p class=muted>No certificate expires within 30 days.</p>".into()
    } else {
        format!("<ul>{certs}</ul>")
    };
    layout(
        "Dashboard",
        &session,
        &format!("<div>{counts}</div><div class=card><h2>Certificates expiring</h2>{certs}</div>"),
    )
    .into_response()
}
