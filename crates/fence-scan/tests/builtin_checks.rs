//! The built-in checks against local TLS and HTTP servers whose certificates are generated here (rcgen).

#![allow(clippy::too_many_lines)] // test scenarios read top to bottom

use fence_scan::checks::{self, Kind};
use fence_scan::target::Target;
use fence_scan::tls::{self, TlsProblem};
use fence_testkit::tls::{ca, http_server, leaf, now_s, tls_server};
use std::time::Duration;

fn target(https_port: u16, http_port: u16) -> Target {
    Target {
        host: "localhost".into(),
        https_port,
        http_port,
        allow_private: true,
        timeout: Duration::from_secs(5),
    }
}

const GOOD_HEADERS: &str = "Strict-Transport-Security: max-age=31536000\r\nContent-Security-Policy: default-src 'self'; frame-ancestors 'none'\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n";
const REDIRECT: &str = "HTTP/1.1 301 Moved Permanently\r\nLocation: https://localhost/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn certificates_are_read_and_their_problems_named() {
    let ca = ca();
    let roots = vec![ca.cert.der().clone()];
    let now = now_s() * 1000;
    // (names, valid from, valid until (days from now), signed by the CA, expected problems)
    type Case<'a> = (&'a [&'a str], i64, i64, bool, Vec<TlsProblem>);
    let cases: [Case<'_>; 5] = [
        (&["localhost", "www.localhost"], -10, 40, true, vec![]),
        (&["localhost"], -10, 29, true, vec![]),
        (&["localhost"], -10, 6, true, vec![]),
        (&["localhost"], -30, -1, true, vec![TlsProblem::Expired]),
        (
            &["other.example"],
            -10,
            40,
            true,
            vec![TlsProblem::HostnameMismatch],
        ),
    ];
    for (names, from, to, signed, want) in cases {
        let (cert, key) = leaf(signed.then_some(&ca), names, from, to);
        let port = tls_server(cert, key, GOOD_HEADERS).await;
        let r = tls::check(&target(port, 1), &roots, now)
            .await
            .expect("read the certificate");
        assert_eq!(r.problems, want, "{names:?} {from}..{to}");
        let days = fence_core::certificate::days_left(r.cert.not_after, now);
        assert!(
            (to - 1..=to).contains(&days),
            "days left of {names:?}: {days}, expected {to}"
        );
        assert_eq!(r.cert.issuer, "Fence Test CA");
        assert_eq!(
            r.cert.sans,
            names.iter().map(|s| s.to_string()).collect::<Vec<_>>()
        );
        assert_eq!(r.cert.fingerprint.len(), 64);
    }
    // Self-signed: read, but untrusted.
    let (cert, key) = leaf(None, &["localhost"], -1, 40);
    let port = tls_server(cert, key, GOOD_HEADERS).await;
    let r = tls::check(&target(port, 1), &roots, now)
        .await
        .expect("read");
    assert!(
        matches!(r.problems.as_slice(), [TlsProblem::Untrusted(why)] if why.contains("unknown authority")),
        "{:?}",
        r.problems
    );
}

#[tokio::test]
async fn a_full_scan_turns_problems_into_findings() {
    let ca = ca();
    let (cert, key) = leaf(Some(&ca), &["localhost"], -30, -1);
    let https = tls_server(cert, key, "Set-Cookie: session=abc; Path=/\r\n").await;
    let http =
        http_server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok").await;
    let r = checks::run(
        Kind::Full,
        &target(https, http),
        &[ca.cert.der().clone()],
        now_s() * 1000,
    )
    .await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let titles: Vec<&str> = r.findings.iter().map(|f| f.title.as_str()).collect();
    for t in [
        "TLS certificate expired",
        "Missing HSTS Header",
        "Missing Content-Security-Policy Header",
        "Missing X-Frame-Options Header (clickjacking)",
        "Cookie session without Secure, HttpOnly, SameSite",
        "HTTP does not redirect to HTTPS",
    ] {
        assert!(titles.contains(&t), "{t} in {titles:?}");
    }
    let expired = r
        .findings
        .iter()
        .find(|f| f.title == "TLS certificate expired")
        .expect("expired");
    assert_eq!(expired.severity, fence_core::Severity::High);
    assert!(expired
        .remediation
        .as_deref()
        .unwrap_or_default()
        .contains("Renew"));
    // Stable identities: scanning again finds the same fingerprints.
    let again = checks::run(
        Kind::Full,
        &target(https, http),
        &[ca.cert.der().clone()],
        now_s() * 1000,
    )
    .await;
    let fp = |r: &checks::ScanResult| {
        r.findings
            .iter()
            .map(|f| f.fingerprint.as_str().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(fp(&r), fp(&again));
}

#[tokio::test]
async fn a_well_configured_site_has_no_findings() {
    let ca = ca();
    let (cert, key) = leaf(Some(&ca), &["localhost"], -1, 90);
    let https = tls_server(cert, key, GOOD_HEADERS).await;
    let http = http_server(REDIRECT).await;
    let r = checks::run(
        Kind::Full,
        &target(https, http),
        &[ca.cert.der().clone()],
        now_s() * 1000,
    )
    .await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(
        r.findings.is_empty(),
        "{:?}",
        r.findings.iter().map(|f| &f.title).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn private_targets_are_refused_by_default() {
    let mut t = target(443, 80);
    t.allow_private = false;
    let r = checks::run(Kind::Full, &t, &[], now_s() * 1000).await;
    assert!(r.findings.is_empty());
    assert!(
        r.errors
            .iter()
            .all(|e| e.contains("scan.allow_private_targets")),
        "{:?}",
        r.errors
    );
}
