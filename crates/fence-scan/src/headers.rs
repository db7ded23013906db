//! The HTTP security-header check: HSTS, CSP, X-Frame-Options, X-Content-Type-Options, Referrer-Policy, cookie
//! flags, and the redirect from HTTP to HTTPS. Certificate trust is the TLS check's business, not this one's.

use crate::target::{resolve, Target};
use reqwest::header::HeaderMap;

/// One missing protection.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderIssue {
    /// Stable identity within the domain (e.g. `hsts`, `cookie:session`).
    pub key: String,
    pub title: String,
    pub severity: &'static str,
    pub cvss: f64,
    pub remediation: String,
}

fn issue(
    key: &str,
    title: &str,
    severity: &'static str,
    cvss: f64,
    remediation: &str,
) -> HeaderIssue {
    HeaderIssue {
        key: key.into(),
        title: title.into(),
        severity,
        cvss,
        remediation: remediation.into(),
    }
}

/// Evaluates response headers of the HTTPS page.
pub fn evaluate(h: &HeaderMap) -> Vec<HeaderIssue> {
    let csp = header(h, "content-security-policy");
    let mut out: Vec<HeaderIssue> = [
        hsts(h),
        missing_csp(csp.as_deref()),
        missing_frame_options(h, csp.as_deref()),
        missing_nosniff(h),
        missing_referrer_policy(h),
    ]
    .into_iter()
    .flatten()
    .collect();
    out.extend(
        h.get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(cookie_flags),
    );
    out
}

/// A response header's value, lower-cased; `None` when absent or not visible ASCII.
fn header(h: &HeaderMap, k: &str) -> Option<String> {
    h.get(k)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
}

/// HSTS missing, or with a max-age shorter than 180 days.
fn hsts(h: &HeaderMap) -> Option<HeaderIssue> {
    match header(h, "strict-transport-security") {
        None => Some(issue("hsts", "Missing HSTS Header", "medium", 6.5, "Send `Strict-Transport-Security: max-age=31536000; includeSubDomains` on every HTTPS response so browsers never fall back to HTTP.")),
        Some(v) => {
            let max_age = v.split(';').find_map(|p| p.trim().strip_prefix("max-age=")).and_then(|n| n.trim_matches('"').parse::<u64>().ok()).unwrap_or(0);
            (max_age < 15_552_000).then(|| issue("hsts-short", "HSTS max-age shorter than 180 days", "low", 3.7, "Raise `Strict-Transport-Security` max-age to at least 15552000 (180 days), ideally 31536000."))
        }
    }
}

/// No Content-Security-Policy.
fn missing_csp(csp: Option<&str>) -> Option<HeaderIssue> {
    csp.is_none().then(|| issue("csp", "Missing Content-Security-Policy Header", "medium", 5.3, "Send a `Content-Security-Policy` that allows only the sources the site needs, e.g. `default-src 'self'`; start with Content-Security-Policy-Report-Only to find breakage."))
}

/// No X-Frame-Options and no CSP `frame-ancestors` (clickjacking).
fn missing_frame_options(h: &HeaderMap, csp: Option<&str>) -> Option<HeaderIssue> {
    let frame_ancestors = csp.is_some_and(|c| c.contains("frame-ancestors"));
    (header(h, "x-frame-options").is_none() && !frame_ancestors).then(|| issue("x-frame-options", "Missing X-Frame-Options Header (clickjacking)", "medium", 4.3, "Send `X-Frame-Options: DENY` (or `SAMEORIGIN`), or `Content-Security-Policy: frame-ancestors 'none'`."))
}

/// X-Content-Type-Options other than `nosniff`.
fn missing_nosniff(h: &HeaderMap) -> Option<HeaderIssue> {
    (header(h, "x-content-type-options").as_deref() != Some("nosniff")).then(|| {
        issue(
            "x-content-type-options",
            "Missing X-Content-Type-Options: nosniff",
            "low",
            3.7,
            "Send `X-Content-Type-Options: nosniff` so browsers do not guess content types.",
        )
    })
}

/// No Referrer-Policy.
fn missing_referrer_policy(h: &HeaderMap) -> Option<HeaderIssue> {
    header(h, "referrer-policy").is_none().then(|| issue("referrer-policy", "Missing Referrer-Policy Header", "low", 3.1, "Send `Referrer-Policy: strict-origin-when-cross-origin` (or stricter) so URLs do not leak to other sites."))
}

/// A `Set-Cookie` without Secure, HttpOnly or SameSite.
fn cookie_flags(cookie: &str) -> Option<HeaderIssue> {
    let name = cookie
        .split('=')
        .next()
        .unwrap_or("")
        .trim()
        .chars()
        .take(64)
        .collect::<String>();
    let attrs: Vec<String> = cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    let has = |a: &str| {
        attrs
            .iter()
            .any(|x| x == a || x.starts_with(&format!("{a}=")))
    };
    let missing: Vec<&str> = [
        ("secure", "Secure"),
        ("httponly", "HttpOnly"),
        ("samesite", "SameSite"),
    ]
    .iter()
    .filter(|(a, _)| !has(a))
    .map(|(_, n)| *n)
    .collect();
    if missing.is_empty() {
        return None;
    }
    Some(issue(
        &format!("cookie:{name}"),
        &format!("Cookie {name} without {}", missing.join(", ")),
        "medium",
        4.3,
        &format!(
            "Set the {} attribute(s) on the `{name}` cookie.",
            missing.join(", ")
        ),
    ))
}

/// Fetches the HTTPS page and the HTTP one and evaluates them.
pub async fn check(target: &Target) -> Result<Vec<HeaderIssue>, String> {
    let https_addrs = resolve(&target.host, target.https_port, target.allow_private).await?;
    let http_addrs = resolve(&target.host, target.http_port, target.allow_private).await?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(target.timeout)
        .danger_accept_invalid_certs(true)
        .resolve_to_addrs(&target.host, &https_addrs)
        .user_agent(concat!(
            "Fence/",
            env!("CARGO_PKG_VERSION"),
            " security-headers check"
        ))
        .build()
        .map_err(|e| format!("HTTP client: {}", e.without_url()))?;
    let url = format!("https://{}:{}/", target.host, target.https_port);
    let resp = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("cannot fetch https://{}/: {}", target.host, e.without_url()))?;
    let mut issues = evaluate(resp.headers());

    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(target.timeout)
        .resolve_to_addrs(&target.host, &http_addrs)
        .build()
        .map_err(|e| format!("HTTP client: {}", e.without_url()))?;
    let redirects = match plain
        .get(format!("http://{}:{}/", target.host, target.http_port))
        .send()
        .await
    {
        Ok(r) => {
            r.status().is_redirection()
                && r.headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .is_some_and(|l| l.to_ascii_lowercase().starts_with("https://"))
        }
        // Nothing listening on HTTP at all is as good as a redirect: nobody is served in clear text.
        Err(e) if e.is_connect() => true,
        Err(_) => false,
    };
    if !redirects {
        issues.push(issue("http-redirect", "HTTP does not redirect to HTTPS", "medium", 5.3, "Answer every plain-HTTP request with `301 Moved Permanently` to the same URL on https://."));
    }
    Ok(issues)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        h
    }

    #[test]
    fn a_bare_response_misses_every_header() {
        let keys: Vec<String> = evaluate(&headers(&[])).into_iter().map(|i| i.key).collect();
        assert_eq!(
            keys,
            [
                "hsts",
                "csp",
                "x-frame-options",
                "x-content-type-options",
                "referrer-policy"
            ]
        );
    }

    #[test]
    fn a_well_configured_response_passes_and_cookies_are_checked() {
        let good = headers(&[
            (
                "strict-transport-security",
                "max-age=31536000; includeSubDomains",
            ),
            (
                "content-security-policy",
                "default-src 'self'; frame-ancestors 'none'",
            ),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "no-referrer"),
            ("set-cookie", "session=abc; Secure; HttpOnly; SameSite=Lax"),
        ]);
        assert!(evaluate(&good).is_empty(), "{:?}", evaluate(&good));
        let bad = headers(&[
            ("set-cookie", "session=abc; Path=/"),
            ("strict-transport-security", "max-age=300"),
        ]);
        let issues = evaluate(&bad);
        let cookie = issues
            .iter()
            .find(|i| i.key == "cookie:session")
            .expect("cookie issue");
        assert_eq!(
            cookie.title,
            "Cookie session without Secure, HttpOnly, SameSite"
        );
        assert!(issues.iter().any(|i| i.key == "hsts-short"));
    }
}
