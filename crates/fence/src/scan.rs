//! `fence scan`: the built-in checks (TLS certificate, security headers) against one domain, printed as text or JSON.

use anyhow::Context;
use fence_server::{Clock, SystemClock};

pub async fn scan(
    domain: &str,
    scan_type: &str,
    port: u16,
    http_port: u16,
    allow_private: bool,
    json: bool,
) -> anyhow::Result<()> {
    let domain =
        fence_core::DomainName::parse(domain).map_err(|e| anyhow::anyhow!("domain: {e}"))?;
    let kind = fence_scan::checks::Kind::parse(scan_type)
        .context("--type must be full, tls or headers")?;
    let mut target = fence_scan::target::Target::new(domain.as_str());
    target.https_port = port;
    target.http_port = http_port;
    target.allow_private = allow_private;
    eprintln!("scanning {domain} ({scan_type})…");
    let r = fence_scan::checks::run(kind, &target, &[], SystemClock.now_ms()).await;
    if json {
        let findings: Vec<serde_json::Value> = r
            .findings
            .iter()
            .map(|f| serde_json::json!({"title": f.title, "severity": f.severity, "cvss": f.cvss.map(|c| c.value()), "category": f.category.map(|c| c.as_str()), "remediation": f.remediation}))
            .collect();
        let cert = r.tls.as_ref().map(|t| serde_json::json!({"issuer": t.cert.issuer, "not_after": fence_core::time::fmt_ts(t.cert.not_after), "sans": t.cert.sans, "fingerprint": t.cert.fingerprint}));
        println!(
            "{}",
            serde_json::json!({"domain": domain.as_str(), "findings": findings, "certificate": cert, "errors": r.errors})
        );
    } else {
        if let Some(t) = &r.tls {
            println!(
                "certificate: issued by {}, expires {}, names {}",
                t.cert.issuer,
                fence_core::time::fmt_ts(t.cert.not_after),
                t.cert.sans.join(", ")
            );
        }
        for f in &r.findings {
            println!(
                "{:<8} {:<5} {}",
                f.severity.label(),
                f.cvss.map(|c| c.to_string()).unwrap_or_default(),
                f.title
            );
        }
        for e in &r.errors {
            println!("error: {e}");
        }
        if r.findings.is_empty() && r.errors.is_empty() {
            println!("no findings");
        }
    }
    if r.findings.is_empty() && !r.errors.is_empty() {
        std::process::exit(2);
    }
    Ok(())
}
