//! Every link Fence puts in a message opens a page of this Fence that exists and shows that thing: the finding, the
//! domain, the scan, the open findings, the digest's report. Followed with a logged-in session, as a channel member
//! clicking it would.

use crate::support::{Db, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// Logs a fresh admin user in; returns the session cookie.
async fn session(t: &TestApp) -> String {
    let password = "links-test-password-1";
    crate::browser::add_user(t, "lead@example.com", password, "admin").await;
    let (_, cookie) = crate::browser::login(t, "lead@example.com", password).await;
    cookie.expect("a session cookie")
}

/// Every URL of this Fence in a message: Slack link syntax (`<url|text>`), button `url`s, plain text.
fn fence_links(message: &Value, base: &str) -> Vec<String> {
    let text = message.to_string();
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find(base) {
        let tail = &rest[i..];
        let end = tail
            .find(['|', '>', '"', ' ', '\\', ')'])
            .unwrap_or(tail.len());
        // Slack's text escapes `&` as `&amp;`, and a client opens the link unescaped.
        let url = tail[..end].replace("&amp;", "&");
        if !out.contains(&url) {
            out.push(url);
        }
        rest = &tail[end..];
    }
    out
}

/// Queues one alert of each kind that links to Fence: a vulnerability, a certificate expiring, a scan completed and
/// a digest.
async fn raise_every_alert(t: &TestApp, channel: &str) -> (String, String) {
    let (s, v) = t
        .post(
            "/api/v1/findings",
            json!({"domain": "shop.example.com", "title": "SQL injection in the search form", "cvss": 9.8,
                   "affected_url": "https://shop.example.com/search?q=1"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let finding = v["ids"][0].as_str().expect("finding id").to_string();
    let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(5 * 24);
    let (s, v) = t
        .post(
            "/api/v1/certificates",
            json!({"domain": "shop.example.com", "not_after": soon.to_string(), "fingerprint": "ab12"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let (s, scan) = t
        .post(
            "/api/v1/scans",
            json!({"domain": "shop.example.com", "external": true}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{scan}");
    let scan = scan["id"].as_str().expect("scan id").to_string();
    let (s, v) = t
        .post(
            &format!("/api/v1/scans/{scan}/results"),
            json!({"status": "completed"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = t
        .post(
            &format!("/api/v1/channels/{channel}/digest/send"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    (finding, scan)
}

/// What the page a link opens must name.
fn expected_on_page(path: &str, finding: &str, scan: &str) -> &'static str {
    if path.starts_with("/findings/") {
        assert!(
            path.ends_with(finding),
            "a finding link names the finding: {path}"
        );
        "SQL injection in the search form"
    } else if path.starts_with("/scans/") {
        assert!(path.contains(scan), "a scan link names the scan: {path}");
        "shop.example.com"
    } else if path.starts_with("/domains/") || path.starts_with("/findings") {
        "shop.example.com"
    } else if path.starts_with("/reports/findings.csv") {
        "SQL injection in the search form"
    } else if path == "/dashboard" {
        "Dashboard"
    } else if path.starts_with("/docs/certificates") {
        "Renewing a certificate"
    } else {
        panic!("a link to an unexpected page of Fence: {path}")
    }
}

async fn every_link_in_every_alert_opens_the_page_of_that_thing(db: Db) {
    let t = TestApp::spawn(db).await;
    let channel = t
        .channel(
            "links",
            json!({"alert_types": ["vulnerability", "certificate_expiring", "scan_completed", "digest"],
                   "digest": {"frequency": "daily", "time": "09:00", "timezone": "UTC"}}),
        )
        .await;
    let cookie = session(&t).await;
    let (finding, scan) = raise_every_alert(&t, &channel).await;
    let got = t
        .slack
        .wait_accepted("links", 4, Duration::from_secs(15))
        .await;
    assert!(got.len() >= 4, "four alerts reached Slack: {}", got.len());
    let http = reqwest::Client::new();
    let mut followed = 0;
    // Messages link to the public `base_url`; this Fence listens on `t.url`.
    let base = t.app.state.config.base_url.clone();
    for m in &got {
        let links = fence_links(&m.body, &base);
        assert!(!links.is_empty(), "every alert links to Fence: {}", m.body);
        for link in links {
            let path = link.trim_start_matches(&base).to_string();
            let link = format!("{}{path}", t.url);
            let want = expected_on_page(&path, &finding, &scan);
            let r = http
                .get(&link)
                .header("cookie", &cookie)
                .send()
                .await
                .expect("follow the link");
            assert_eq!(r.status(), StatusCode::OK, "{link}");
            let page = r.text().await.expect("page");
            assert!(page.contains(want), "{link} shows {want:?}");
            followed += 1;
        }
    }
    assert!(followed >= 4, "followed {followed} links");
    t.app.shutdown().await;
}
crate::both_dbs!(every_link_in_every_alert_opens_the_page_of_that_thing);
