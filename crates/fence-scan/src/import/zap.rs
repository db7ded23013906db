//! OWASP ZAP reports: its SARIF report (read as SARIF) or its traditional JSON report (`-J report.json`:
//! `{"@programName": "ZAP", "site": [{"@name", "alerts": [{"pluginid", "alertRef", "name", "riskcode", "desc",
//! "solution", "reference", "cweid", "instances": [{"uri", "method", "param", "evidence"}]}]}]}`), one finding per
//! alert of each site, at its first instance's URL.

use super::draft::{category_for_cwe, head, Draft};
use super::identity::{Evidence, Pending};
use super::json::{as_array, Loc, Obj};
use super::{Findings, ImportError};
use fence_core::{DomainName, Severity};
use serde_json::Value;

/// How many instances of an alert are listed; the rest are counted.
const MAX_INSTANCES: usize = 20;

/// Whether a ZAP report is its SARIF report (imported as SARIF).
pub(super) fn is_sarif(doc: &Value) -> bool {
    doc.get("runs").is_some() || doc.get("version").is_some()
}

/// Imports ZAP's traditional JSON report.
pub(super) fn import(
    doc: Value,
    domain: &DomainName,
    out: &mut Findings,
) -> Result<(), ImportError> {
    let root = Obj::of(&doc, Loc::root())?;
    out.tool("ZAP");
    let sites_at = root.at("site");
    let sites = root
        .get("site")
        .ok_or_else(|| sites_at.error("is required (a ZAP JSON report, or a SARIF log)"))?;
    for (i, site) in as_array(sites, &sites_at)?.iter().enumerate() {
        let site = Obj::of(site, sites_at.index(i))?;
        let name = site.opt_str("@name")?.unwrap_or("");
        let Some(alerts) = site.opt_array("alerts")? else {
            continue;
        };
        for (j, a) in alerts.iter().enumerate() {
            let a = Obj::of(a, site.at("alerts").index(j))?;
            out.push(alert(&a, name, domain)?)?;
        }
    }
    Ok(())
}

/// ZAP's numbers are strings (`"riskcode": "2"`); numbers are accepted too.
fn text<'a>(o: &Obj<'a>, key: &str) -> Result<Option<String>, ImportError> {
    match o.get(key) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Ok(o.opt_str(key)?.map(String::from)),
    }
}

fn alert(a: &Obj<'_>, site: &str, domain: &DomainName) -> Result<Pending, ImportError> {
    let name = match a.opt_str("name")? {
        Some(n) => n,
        None => a.req_str("alert")?,
    };
    let severity = match text(a, "riskcode")?.as_deref().map(str::trim) {
        Some("3") => Severity::High,
        Some("2") => Severity::Medium,
        Some("1") => Severity::Low,
        Some("0") | None => Severity::Info,
        Some(other) => {
            return Err(a.at("riskcode").error(format!(
            "unknown risk code {:?}; expected 0 (informational), 1 (low), 2 (medium) or 3 (high)",
            head(other, 20)
        )))
        }
    };
    let mut d = Draft::new(domain, "ZAP");
    d.title([Some(name)]);
    d.severity(severity);
    let cwe = text(a, "cweid")?.and_then(|c| c.trim().parse::<u32>().ok());
    d.category(cwe.and_then(category_for_cwe));
    d.describe(&plain(a.opt_str("desc")?.unwrap_or("")));
    d.remediation(&plain(a.opt_str("solution")?.unwrap_or("")));
    let first = instances(a, &mut d)?;
    let other = plain(a.opt_str("otherinfo")?.unwrap_or(""));
    if !other.is_empty() {
        d.note(format!("Other information: {other}"));
    }
    let reference = plain(a.opt_str("reference")?.unwrap_or(""));
    if !reference.is_empty() {
        d.note(format!("References: {}", reference.replace('\n', " ")));
    }
    if let Some(c) = cwe {
        d.note(format!("CWE-{c}"));
    }
    let plugin = match text(a, "alertRef")? {
        Some(r) => r,
        None => text(a, "pluginid")?.unwrap_or_default(),
    };
    d.rule(&plugin);
    let evidence = Evidence {
        scope: "ZAP".into(),
        key: [
            head(site, 2_000),
            head(&plugin, 200),
            head(name, 500),
            head(&first, 2_000),
        ]
        .map(String::from)
        .to_vec(),
        ..Evidence::default()
    };
    Ok(Pending {
        kind: "zap",
        draft: d,
        loc: a.loc.clone(),
        evidence,
        upstream: None,
    })
}

/// Lists the alert's instances (the first http(s) URL becomes the affected URL); returns the first one's method and
/// URI.
fn instances(a: &Obj<'_>, d: &mut Draft) -> Result<String, ImportError> {
    let Some(list) = a.opt_array("instances")? else {
        return Ok(String::new());
    };
    let mut first = String::new();
    for (i, inst) in list.iter().take(MAX_INSTANCES).enumerate() {
        let inst = Obj::of(inst, a.at("instances").index(i))?;
        let uri = inst.opt_str("uri")?.unwrap_or("").trim();
        let method = inst.opt_str("method")?.unwrap_or("").trim();
        let param = inst.opt_str("param")?.unwrap_or("").trim();
        if i == 0 {
            first = format!("{method} {uri} {param}");
        }
        d.location(uri);
        if !param.is_empty() {
            d.note(format!("Parameter: {param} ({method} {uri})"));
        }
        if let Some(e) = inst.opt_str("evidence")?.filter(|e| !e.trim().is_empty()) {
            d.note(format!("Evidence: {}", head(e.trim(), 500)));
        }
    }
    if list.len() > MAX_INSTANCES {
        d.note(format!(
            "… and {} more instances",
            list.len() - MAX_INSTANCES
        ));
    }
    Ok(first)
}

/// ZAP's HTML fragments (`<p>…</p>`) as plain text: paragraphs on their own lines, tags dropped, common entities
/// decoded.
fn plain(html: &str) -> String {
    let html = head(html, 40_000);
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        match rest[open..].find('>') {
            Some(close) => {
                let tag = rest[open + 1..open + close].trim().to_ascii_lowercase();
                if tag == "/p" || tag.starts_with("br") || tag == "/li" {
                    out.push('\n');
                }
                rest = &rest[open + close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let lines: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::super::testing::{err_at, fixture, ok};
    use super::super::Format;
    use fence_core::{Category, Severity};

    #[test]
    fn the_traditional_json_report_gives_one_finding_per_alert_and_site() {
        let f = ok(Format::Zap, &fixture("zap.json"));
        assert_eq!(f.len(), 3);
        let csp = &f[0];
        assert_eq!(csp.title, "Content Security Policy (CSP) Header Not Set");
        assert_eq!(csp.severity, Severity::Medium);
        assert_eq!(csp.scanner.as_deref(), Some("ZAP"));
        assert_eq!(
            csp.rule.as_deref(),
            Some("10038-1"),
            "the alert's reference"
        );
        assert_eq!(
            csp.affected_url.as_deref(),
            Some("https://shop.example.com/")
        );
        let desc = csp.description.as_deref().unwrap_or("");
        assert!(
            desc.starts_with("Content Security Policy (CSP) is an added layer"),
            "{desc}"
        );
        assert!(!desc.contains("<p>"), "{desc}");
        assert!(
            desc.contains("Location: https://shop.example.com/robots.txt"),
            "{desc}"
        );
        assert!(csp
            .remediation
            .as_deref()
            .is_some_and(|r| r.starts_with("Ensure that your web server")));
        let sqli = &f[1];
        assert_eq!(sqli.severity, Severity::High);
        assert_eq!(sqli.category, Some(Category::SqlInjection));
        assert!(sqli.description.as_deref().is_some_and(
            |d| d.contains("Parameter: q (GET https://shop.example.com/search?q=ZAP)")
        ));
        assert_eq!(f[2].severity, Severity::Info);
        assert_ne!(f[0].fingerprint, f[2].fingerprint);
    }

    #[test]
    fn the_sarif_report_is_read_as_sarif() {
        assert_eq!(
            ok(Format::Zap, &fixture("zap.sarif")),
            ok(Format::Sarif, &fixture("zap.sarif"))
        );
    }

    #[test]
    fn broken_reports_name_where_they_broke() {
        assert_eq!(err_at(Format::Zap, br#"{"@programName": "ZAP"}"#), "site");
        assert_eq!(
            err_at(
                Format::Zap,
                br#"{"site": [{"alerts": [{"name": "x", "riskcode": "9"}]}]}"#
            ),
            "site[0].alerts[0].riskcode"
        );
        assert_eq!(
            err_at(
                Format::Zap,
                br#"{"site": [{"alerts": [{"riskcode": "1"}]}]}"#
            ),
            "site[0].alerts[0].alert"
        );
    }
}
