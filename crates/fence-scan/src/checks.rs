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

/// The `scanner` of every finding the built-in checks report.
pub const SCANNER: &str = "fence";

/// What a scan found: findings, the certificate it saw, and the errors of checks that could not run.
#[derive(Debug, Default)]
pub struct ScanResult {
    pub findings: Vec<NewFinding>,
    pub tls: Option<TlsReport>,
    pub errors: Vec<String>,
}

/// What a check says about one problem.
struct Problem<'a> {
    key: &'a str,
    title: &'a str,
    severity: &'a str,
    cvss: f64,
    category: &'a str,
    description: String,
    remediation: &'a str,
}

fn finding(target: &Target, p: Problem<'_>) -> Option<NewFinding> {
    let v = json!({
        "domain": target.host,
        "title": p.title,
        "severity": p.severity,
        "cvss": p.cvss,
        "category": p.category,
        "affected_url": format!("https://{}/", target.host),
        "description": p.description,
        "remediation": p.remediation,
        "fingerprint": format!("fence:{}:{}", p.key, target.host),
        "scanner": SCANNER,
    });
    NewFinding::from_json(&v).ok()
}

/// Findings for what the TLS check saw.
pub fn tls_findings(target: &Target, r: &TlsReport) -> Vec<NewFinding> {
    r.problems
        .iter()
        .filter_map(|p| match p {
            TlsProblem::Expired => finding(target, Problem {
                key: "tls-expired",
                title: "TLS certificate expired",
                severity: "high",
                cvss: 7.5,
                category: "certificate",
                description: format!("The certificate for {} (issuer {}) expired; browsers refuse the site.", target.host, r.cert.issuer),
                remediation: "Renew the certificate now and automate renewal (for example with an ACME client), then reload the server.",
            }),
            TlsProblem::HostnameMismatch => finding(target, Problem {
                key: "tls-hostname",
                title: "TLS certificate does not match the host name",
                severity: "medium",
                cvss: 6.5,
                category: "certificate",
                description: format!("The certificate covers {} but not {}.", r.cert.sans.join(", "), target.host),
                remediation: "Issue a certificate whose subject alternative names include this host name, or serve the right certificate for this name (SNI).",
            }),
            TlsProblem::Untrusted(why) => finding(target, Problem {
                key: "tls-untrusted",
                title: "TLS certificate is not trusted",
                severity: "medium",
                cvss: 5.9,
                category: "certificate",
                description: format!("The certificate is not trusted: {why}."),
                remediation: "Use a certificate from a publicly trusted authority and send the full chain (leaf and intermediates).",
            }),
        })
        .collect()
}

fn header_finding(target: &Target, i: &HeaderIssue) -> Option<NewFinding> {
    let category = if i.key == "http-redirect" {
        "weak_tls"
    } else {
        "missing_security_header"
    };
    let key = format!("header-{}", i.key);
    finding(
        target,
        Problem {
            key: &key,
            title: &i.title,
            severity: i.severity,
            cvss: i.cvss,
            category,
            description: format!("{} on https://{}/.", i.title, target.host),
            remediation: &i.remediation,
        },
    )
}

/// Runs the checks of `kind` against `target`.
pub async fn run(
    kind: Kind,
    target: &Target,
    extra_roots: &[CertificateDer<'static>],
    now_ms: i64,
) -> ScanResult {
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
            Ok(issues) => out
                .findings
                .extend(issues.iter().filter_map(|i| header_finding(target, i))),
            Err(e) => out.errors.push(e),
        }
    }
    out
}
