//! Fence's built-in checks as findings: the TLS certificate check and the security-header check, each turning what
//! it sees into validated findings with category, CVSS and remediation.

use crate::headers::{self, HeaderIssue};
use crate::target::Target;
use crate::tls::{self, TlsProblem, TlsReport};
use fence_core::NewFinding;
use rustls::pki_types::CertificateDer;
use serde_json::json;

/// Which checks a scan runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Full,
    Tls,
    Headers,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "full" => Some(Kind::Full),
            "tls" => Some(Kind::Tls),
            "headers" => Some(Kind::Headers),
            _ => None,
        }
    }
}

/// What a scan found: findings, the certificate it saw, and the errors of checks that could not run.
#[derive(Debug, Default)]
pub struct ScanResult {
    pub findings: Vec<NewFinding>,
    pub tls: Option<TlsReport>,
    pub errors: Vec<String>,
}

fn finding(target: &Target, key: &str, title: &str, severity: &str, cvss: f64, category: &str, description: &str, remediation: &str) -> Option<NewFinding> {
    let v = json!({
        "domain": target.host,
        "title": title,
        "severity": severity,
        "cvss": cvss,
        "category": category,
        "affected_url": format!("https://{}/", target.host),
        "description": description,
        "remediation": remediation,
        "fingerprint": format!("fence:{key}:{}", target.host),
        "scanner": "fence",
    });
    NewFinding::from_json(&v).ok()
}

/// Findings for what the TLS check saw.
pub fn tls_findings(target: &Target, r: &TlsReport) -> Vec<NewFinding> {
    r.problems
        .iter()
        .filter_map(|p| match p {
            TlsProblem::Expired => finding(target, "tls-expired", "TLS certificate expired", "high", 7.5, "certificate",
                &format!("The certificate for {} (issuer {}) expired; browsers refuse the site.", target.host, r.cert.issuer),
                "Renew the certificate now and automate renewal (for example with an ACME client), then reload the server."),
            TlsProblem::HostnameMismatch => finding(target, "tls-hostname", "TLS certificate does not match the host name", "medium", 6.5, "certificate",
                &format!("The certificate covers {} but not {}.", r.cert.sans.join(", "), target.host),
                "Issue a certificate whose subject alternative names include this host name, or serve the right certificate for this name (SNI)."),
            TlsProblem::Untrusted(why) => finding(target, "tls-untrusted", "TLS certificate is not trusted", "medium", 5.9, "certificate",
                &format!("The certificate is not trusted: {why}."),
                "Use a certificate from a publicly trusted authority and send the full chain (leaf and intermediates)."),
        })
        .collect()
}

fn header_finding(target: &Target, i: &HeaderIssue) -> Option<NewFinding> {
    let category = if i.key == "http-redirect" { "weak_tls" } else { "missing_security_header" };
    finding(target, &format!("header-{}", i.key), &i.title, i.severity, i.cvss, category, &format!("{} on https://{}/.", i.title, target.host), &i.remediation)
}

/// Runs the checks of `kind` against `target`.
pub async fn run(kind: Kind, target: &Target, extra_roots: &[CertificateDer<'static>], now_ms: i64) -> ScanResult {
    let mut out = ScanResult::default();
    if matches!(kind, Kind::Full | Kind::Tls) {
        match tls::check(target, extra_roots, now_ms).await {
            Ok(r) => {
                out.findings.extend(tls_findings(target, &r));
                out.tls = Some(r);
            }
            Err(e) => out.errors.push(e),
        }
    }
    if matches!(kind, Kind::Full | Kind::Headers) {
        match headers::check(target).await {
            Ok(issues) => out.findings.extend(issues.iter().filter_map(|i| header_finding(target, i))),
            Err(e) => out.errors.push(e),
        }
    }
    out
}
