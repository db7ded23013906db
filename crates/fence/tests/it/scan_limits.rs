//! Scans under attack: results for a scan that has ended store nothing (the check is in the findings' own
//! transaction), an organization cannot queue more scans than its quotas allow, and the queue is served
//! round-robin so one organization's backlog does not hold up another's scan.

use crate::support::{Db, TestApp};
use reqwest::StatusCode;
use serde_json::json;

/// The review: results were stored first and the "scan already ended" check came after, so a late or repeated
/// report was refused with 409 — and its findings were stored anyway.
async fn results_for_an_ended_scan_store_nothing(db: Db) {
    let t = TestApp::spawn(db).await;
    let id = t.external_scan().await;
    let id = id.as_str();
    let report = |title: &str| json!({"findings": [{"title": title, "severity": "high", "scanner": "baseline"}], "status": "completed"});
    let (s, _) = t
        .post(
            &format!("/api/v1/scans/{id}/results"),
            report("First report"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = t
        .post(
            &format!("/api/v1/scans/{id}/results"),
            report("Late report"),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    let (_, findings) = t.get("/api/v1/findings").await;
    let text = findings.to_string();
    assert!(text.contains("First report"), "{text}");
    assert!(
        !text.contains("Late report"),
        "the refused report stored nothing: {text}"
    );
    t.app.shutdown().await;
}
crate::both_dbs!(results_for_an_ended_scan_store_nothing);

/// One organization asking for scans in a loop is stopped at `scan.max_per_org_per_hour` with 429
/// `quota_exceeded` and a `Retry-After`, nothing queued beyond it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_beyond_the_hourly_quota_are_refused_with_retry_after() {
    let t = TestApp::spawn_with(Db::Sqlite, "[scan]\nmax_per_org_per_hour = 3").await;
    for _ in 0..3 {
        let (s, v) = t
            .post(
                "/api/v1/scans",
                json!({"domain": "example.com", "type": "headers"}),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    }
    let r = t
        .http
        .post(format!("{}/api/v1/scans", t.url))
        .bearer_auth(crate::support::ADMIN_TOKEN)
        .json(&json!({"domain": "example.com", "type": "headers"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("seconds");
    assert!((1..=3600).contains(&retry), "{retry}");
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "quota_exceeded");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("scan.max_per_org_per_hour"));
    let (_, scans) = t.get("/api/v1/scans").await;
    assert_eq!(scans["scans"].as_array().map(Vec::len), Some(3));
    t.app.shutdown().await;
}

/// An organization with a backlog of ten queued scans does not hold up another organization's one scan: once
/// the first organization's scan started, the other's is next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scan_queue_is_served_round_robin_across_organizations() {
    // No workers of its own: this test is the only one claiming.
    let r = crate::pacing::Rig::new(crate::pacing::T0).await;
    let store = &r.app.state.store;
    let busy = store.create_org("busy", "custom", 0).await.expect("org");
    let quiet = store.create_org("quiet", "custom", 0).await.expect("org");
    for i in 0..10 {
        store
            .create_scan(
                &busy.id,
                &format!("d{i}.busy.example"),
                "headers",
                "builtin",
                None,
                1_000 + i,
            )
            .await
            .expect("scan");
    }
    store
        .create_scan(
            &quiet.id,
            "quiet.example",
            "headers",
            "builtin",
            None,
            5_000,
        )
        .await
        .expect("scan");
    let first = store
        .claim_scan("test", 10_000, 60_000)
        .await
        .expect("claim");
    let second = store
        .claim_scan("test", 10_001, 60_000)
        .await
        .expect("claim");
    let orgs: Vec<String> = [first, second]
        .into_iter()
        .map(|s| s.expect("a scan").org_id)
        .collect();
    assert_eq!(orgs, [busy.id.clone(), quiet.id.clone()]);
}

/// The review: the quota was read, then the scan inserted, so requests sent together all passed one check. Twelve
/// at once against `scan.max_per_org_per_hour = 3` queue exactly three (PostgreSQL serves them on separate
/// connections).
async fn scan_requests_sent_together_cannot_pass_the_quota_together(db: Db) {
    let t = TestApp::spawn_with(db, "[scan]\nmax_per_org_per_hour = 3").await;
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..12 {
        let (http, url) = (t.http.clone(), format!("{}/api/v1/scans", t.url));
        sends.spawn(async move {
            http.post(url)
                .bearer_auth(crate::support::ADMIN_TOKEN)
                .json(&json!({"domain": format!("host{i}.example.com"), "type": "headers"}))
                .send()
                .await
                .expect("post")
                .status()
        });
    }
    let mut accepted = 0;
    while let Some(status) = sends.join_next().await {
        match status.expect("join") {
            StatusCode::ACCEPTED => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(accepted, 3);
    let (_, scans) = t.get("/api/v1/scans").await;
    let stored = scans["scans"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(stored, 3, "nothing beyond the quota was stored: {scans}");
    t.app.shutdown().await;
}
crate::both_dbs!(scan_requests_sent_together_cannot_pass_the_quota_together);
