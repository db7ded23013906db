//! What a template sees: the variables of each alert type (SPEC §7), of a coalesced burst, and sample data of
//! each for validating templates at save time and for previews.

use crate::render::Unlisted;
use fence_core::{Severity, VulnerabilityAlert};
use serde_json::{json, Value};

/// The variables a template sees for an alert (SPEC §7). `extra` holds what the alert itself does not carry
/// (`description`, `remediation` of the finding).
pub fn variables(
    alert: &fence_core::Alert,
    base_url: &str,
    mentions: &str,
    description: Option<&str>,
    remediation: Option<&str>,
) -> Value {
    use fence_core::Alert;
    let finding = |v: &VulnerabilityAlert, alert_type: &str| {
        let mut o = finding_vars(v, base_url);
        o["alert_type"] = json!(alert_type);
        o["description"] = json!(description);
        o["remediation"] = json!(remediation);
        o["mentions"] = json!(mentions);
        o
    };
    match alert {
        Alert::Vulnerability(v) => finding(v, "vulnerability"),
        Alert::Reminder(r) => {
            let mut o = finding(&r.finding, "reminder");
            o["days_open"] = json!(r.days_open);
            o
        }
        Alert::CertificateExpiring(c) => json!({
            "alert_type": "certificate_expiring",
            "title": if c.days_left < 0 { format!("SSL certificate expired: {}", c.domain) } else { format!("SSL certificate expiring: {}", c.domain) },
            "domain": c.domain,
            "color": c.color(),
            "icon": "⚠️",
            "mentions": mentions,
            "certificate": {"domain": c.domain, "expires": crate::render::expiry_phrase(c.not_after, c.days_left), "days_left": c.days_left, "issuer": fence_core::certificate::issuer_label(&c.issuer), "sans": c.sans, "fingerprint": c.fingerprint, "renew_url": c.renew_url},
        }),
        Alert::ScanCompleted(s) => json!({
            "alert_type": "scan_completed",
            "title": format!("Scan completed: {}", s.domain),
            "domain": s.domain,
            "color": s.color(),
            "icon": "✅",
            "mentions": mentions,
            "scan": {"id": s.scan_id, "domain": s.domain, "type": s.scan_type, "duration": crate::render::duration(s.duration_secs),
                     "critical": s.counts[0], "high": s.counts[1], "medium": s.counts[2], "low": s.counts[3], "info": s.counts[4],
                     "new": s.changes.map(|c| c.new), "still_open": s.changes.map(|c| c.still_open), "closed": s.changes.map(|c| c.closed),
                     "report_url": format!("{base_url}/scans/{}", s.scan_id)},
        }),
        Alert::Digest(d) => json!({
            "alert_type": "digest",
            "title": format!("{} security digest", d.label),
            "color": "#1E90FF",
            "icon": "📊",
            "mentions": mentions,
            "digest": {"label": d.label, "scans_run": d.scans_run, "domains_scanned": d.domains_scanned, "new_vulnerabilities": d.new_vulnerabilities,
                       "top": d.top.iter().map(|t| json!({"severity": t.severity.as_str(), "title": t.title, "domain": t.domain, "cvss": t.cvss.map(|c| c.value()),
                                                      "known_exploited": t.intel.as_ref().and_then(|i| i.known_exploited.as_ref()), "epss": t.intel.as_ref().and_then(|i| i.epss)})).collect::<Vec<_>>(),
                       "certificates": d.certificates.iter().map(|c| json!({"domain": c.domain, "days_left": c.days_left})).collect::<Vec<_>>(),
                       "report_url": d.report_url},
        }),
        Alert::ChannelBroken(_) | Alert::FollowUp(_) | Alert::Escalation(_) => {
            json!({"alert_type": "notice"})
        }
    }
}

/// What a template on a `minimal` channel sees of `vars` (a single alert's or a burst's): the alert type, severity,
/// colour, icon, mentions, counts and Fence links with opaque ids; every title is the alert type's, and nothing
/// from a finding, certificate or scan (domain, title, CVE, URLs, description, remediation, SANs, issuer) is left.
pub fn minimal_variables(vars: &Value) -> Value {
    const KEEP: [&str; 10] = [
        "alert_type",
        "severity",
        "severity_label",
        "color",
        "icon",
        "mentions",
        "reopened",
        "days_open",
        "reminder",
        "finding_url",
    ];
    let pick = |v: &Value| -> Value {
        let mut out = serde_json::Map::new();
        for k in KEEP {
            if let Some(x) = v.get(k) {
                out.insert(k.to_string(), x.clone());
            }
        }
        Value::Object(out)
    };
    let mut out = pick(vars);
    let title = match vars["alert_type"].as_str().unwrap_or_default() {
        "vulnerability" | "reminder" => {
            format!("{} finding", vars["severity_label"].as_str().unwrap_or("A"))
        }
        "certificate_expiring" => "SSL certificate expiring".into(),
        "scan_completed" => "Scan completed".into(),
        "digest" => "Security digest".into(),
        "coalesced" => format!("{} findings", vars["counts"]["total"]),
        _ => "Fence alert".into(),
    };
    out["title"] = json!(title);
    if let Some(c) = vars.get("counts") {
        out["counts"] = c.clone();
    }
    if let Some(list) = vars["alerts"].as_array() {
        out["alerts"] = json!(list.iter().map(pick).collect::<Vec<_>>());
    }
    if let Some(c) = vars.get("certificate") {
        out["certificate"] = json!({"days_left": c["days_left"]});
    }
    if let Some(s) = vars.get("scan") {
        let mut scan = serde_json::Map::new();
        for k in [
            "critical",
            "high",
            "medium",
            "low",
            "info",
            "new",
            "still_open",
            "closed",
            "report_url",
        ] {
            scan.insert(k.to_string(), s[k].clone());
        }
        out["scan"] = Value::Object(scan);
    }
    if let Some(d) = vars.get("digest") {
        out["digest"] = json!({"label": d["label"], "scans_run": d["scans_run"], "domains_scanned": d["domains_scanned"],
            "new_vulnerabilities": d["new_vulnerabilities"], "certificates": d["certificates"].as_array().map_or(0, Vec::len)});
    }
    out
}

/// One finding's variables, as single alerts and each entry of a burst's `alerts` have them.
fn finding_vars(v: &VulnerabilityAlert, base_url: &str) -> Value {
    json!({
        "domain": v.domain,
        "title": v.title,
        "severity": v.severity.as_str(),
        "severity_label": v.severity.label(),
        "cvss_score": v.cvss.map(|c| c.value()),
        "cve_id": v.cve,
        "owasp": v.owasp,
        "category": v.category.map(|c| c.display_name()),
        "affected_url": v.affected_url,
        "finding_url": format!("{base_url}/findings/{}", v.finding_id),
        "color": v.severity.color(),
        "icon": v.severity.icon(),
        "reopened": v.reopened,
        "known_exploited": v.intel.as_ref().and_then(|i| i.known_exploited.as_ref()),
        "epss": v.intel.as_ref().and_then(|i| i.epss),
        "now_exploited": v.now_exploited,
    })
}

/// Whether a template renders bursts itself: it names the `coalesced` alert type (`{% if alert_type ==
/// "coalesced" %}`). Other templates render single alerts, and bursts get Fence's coalesced message, so a template
/// written for one finding never shows a burst as one finding.
pub fn handles_coalesced(source: &str) -> bool {
    source.contains("\"coalesced\"") || source.contains("'coalesced'")
}

/// How many of a burst's findings its template sees in `alerts`, as Fence's own coalesced message lists (a burst
/// of thousands would otherwise give a template more than it may build); `counts` has them all.
pub const BURST_LISTED: usize = 15;

/// The variables of a burst (`alert_type == "coalesced"`): its [`BURST_LISTED`] worst findings first in `alerts`
/// (each with a single alert's finding variables), `counts` per severity and in total, `reminder` when the burst lists still-open
/// findings, and the top severity's `color` and `icon`.
pub fn coalesced_variables(
    vulns: &[&VulnerabilityAlert],
    base_url: &str,
    mentions: &str,
    reminder: bool,
) -> Value {
    gathered_variables(vulns, Unlisted::default(), base_url, mentions, reminder)
}

/// [`coalesced_variables`] of a gathered burst: `vulns` its worst findings, `unlisted` the others, counted.
pub fn gathered_variables(
    vulns: &[&VulnerabilityAlert],
    unlisted: Unlisted,
    base_url: &str,
    mentions: &str,
    reminder: bool,
) -> Value {
    // Fence's own order (severity, then CVSS, then as they came), so a template lists what the message would.
    let sorted = crate::render::worst_first(vulns, BURST_LISTED);
    let top = sorted.first().map(|v| v.severity).unwrap_or(Severity::Info);
    let mut counts = serde_json::Map::new();
    for s in Severity::ALL {
        let n = vulns.iter().filter(|v| v.severity == s).count() + unlisted.of(s);
        counts.insert(s.as_str().to_string(), json!(n));
    }
    let total = vulns.len() + unlisted.total();
    counts.insert("total".into(), json!(total));
    let title = if reminder {
        format!("{total} findings still open")
    } else {
        format!("{total} new vulnerabilities")
    };
    json!({
        "alert_type": "coalesced",
        "title": title,
        "reminder": reminder,
        "alerts": sorted.iter().take(BURST_LISTED).map(|v| finding_vars(v, base_url)).collect::<Vec<_>>(),
        "counts": counts,
        "color": top.color(),
        "icon": top.icon(),
        "mentions": mentions,
    })
}

/// A sample burst for validating templates that render bursts: three findings of different severities.
pub fn sample_burst() -> Vec<VulnerabilityAlert> {
    let fence_core::Alert::Vulnerability(first) = sample(fence_core::AlertType::Vulnerability)
    else {
        return Vec::new();
    };
    let mut second = first.clone();
    second.finding_id = "sample-2".into();
    second.title = "Missing Content-Security-Policy header".into();
    second.severity = Severity::Medium;
    second.cvss = fence_core::Cvss::new(5.3).ok();
    second.cve = None;
    let mut third = second.clone();
    third.finding_id = "sample-3".into();
    third.domain = "api.example.com".into();
    third.title = "Outdated TLS version".into();
    third.severity = Severity::High;
    vec![first, second, third]
}

/// Sample data of an alert type, for validating templates at save time and for previews.
pub fn sample(alert_type: fence_core::AlertType) -> fence_core::Alert {
    use fence_core::alert::*;
    use fence_core::{Alert, AlertType, Category, Cvss};
    let vuln = VulnerabilityAlert {
        finding_id: "sample".into(),
        domain: "example.com".into(),
        title: "SQL Injection in login form".into(),
        severity: Severity::Critical,
        cvss: Cvss::new(9.8).ok(),
        cve: Some("CVE-2024-12345".into()),
        owasp: Some("A03:2021 - Injection".into()),
        category: Some(Category::SqlInjection),
        affected_url: Some("https://example.com/login".into()),
        has_remediation: true,
        reopened: false,
        // Sample feeds, so a template that reads `known_exploited.date_added` or `epss.score` validates.
        intel: Some(fence_core::intel::Intel {
            known_exploited: Some(fence_core::intel::KnownExploited {
                date_added: "2024-05-01".into(),
                due_date: Some("2024-05-22".into()),
                ransomware: false,
            }),
            epss: Some(fence_core::intel::Epss {
                score: 0.97,
                percentile: 0.99,
            }),
        }),
        now_exploited: false,
    };
    match alert_type {
        AlertType::Vulnerability => Alert::Vulnerability(vuln),
        AlertType::Reminder => Alert::Reminder(ReminderAlert {
            finding: vuln,
            open_since: 1_737_331_200_000,
            days_open: 3,
        }),
        AlertType::CertificateExpiring => Alert::CertificateExpiring(CertificateAlert {
            domain: "example.com".into(),
            not_after: 1_738_540_800_000,
            days_left: 14,
            issuer: "Let's Encrypt".into(),
            sans: vec!["example.com".into(), "www.example.com".into()],
            fingerprint: "ab".repeat(32),
            renew_url: None,
        }),
        AlertType::ScanCompleted => Alert::ScanCompleted(ScanAlert {
            scan_id: "sample".into(),
            domain: "example.com".into(),
            scan_type: "full".into(),
            duration_secs: 272,
            counts: [0, 2, 7, 4, 1],
            changes: Some(fence_core::alert::ScanChanges {
                new: 3,
                still_open: 11,
                closed: 2,
            }),
        }),
        AlertType::Digest => Alert::Digest(DigestAlert {
            label: "Daily".into(),
            period_end: 1_737_363_600_000,
            timezone: "UTC".into(),
            scans_run: 47,
            domains_scanned: 12,
            new_vulnerabilities: 8,
            top: vec![DigestIssue {
                severity: Severity::Critical,
                title: "SQL Injection".into(),
                domain: "example.com".into(),
                cvss: Cvss::new(9.8).ok(),
                intel: None,
            }],
            certificates: vec![DigestCertificate {
                domain: "example.com".into(),
                days_left: 14,
            }],
            report_url: String::new(),
            silenced: 0,
            silences_ending: Vec::new(),
        }),
    }
}
