//! Delivery: Slack's answers (429, 5xx, revoked, bad payload), held deliveries of broken channels, dead
//! deliveries and replays, pacing and coalescing of bursts.

use crate::both_dbs;
use crate::support::{seed_finding, Db, TestApp};
use fence_testkit::Answer;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(15);

fn finding(i: usize, severity: &str) -> Value {
    json!({"domain": "example.com", "title": format!("finding {i}"), "severity": severity})
}

async fn a_revoked_webhook_holds_deliveries_until_the_channel_is_fixed(db: Db) {
    let t = TestApp::spawn(db).await;
    let broken = t
        .channel("revoked", json!({"name": "Security Alerts"}))
        .await;
    t.channel("ops", json!({"alert_types": ["scan_completed"]}))
        .await;
    t.slack
        .set_default("revoked", Answer::Status(404, "no_service".into()));
    t.post("/api/v1/findings", seed_finding()).await;

    // The other healthy channel is told, whatever its alert types.
    let notice = t.slack.wait_accepted("ops", 1, WAIT).await;
    assert!(
        notice[0].body["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Slack channel Security Alerts stopped accepting messages: no_service"),
        "{}",
        notice[0].body
    );
    let (_, c) = t.get(&format!("/api/v1/channels/{broken}")).await;
    assert_eq!(
        (c["status"]["state"].clone(), c["status"]["error"].clone()),
        (json!("broken"), json!("no_service"))
    );
    assert!(c["status"]["hint"]
        .as_str()
        .unwrap_or_default()
        .contains("Create a new webhook"));
    let (_, held) = t
        .get(&format!(
            "/api/v1/deliveries?channel_id={broken}&state=held"
        ))
        .await;
    assert_eq!(
        held["deliveries"].as_array().map(Vec::len),
        Some(1),
        "held, not dropped: {held}"
    );
    let metrics = reqwest::get(format!("{}/metrics", t.url))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("fence_channels_broken 1")
            && metrics.contains("fence_deliveries{state=\"held\"} 1"),
        "{metrics}"
    );

    // More findings while broken are held too, and nothing is sent to the dead webhook meanwhile.
    t.post("/api/v1/findings", finding(1, "high")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        t.slack.requests("revoked").len(),
        1,
        "a broken channel is not hammered"
    );

    // A new webhook URL fixes it: everything held goes out, coalesced.
    let (status, _) = t
        .patch(
            &format!("/api/v1/channels/{broken}"),
            json!({"webhook_url": t.slack.webhook_url("fresh")}),
        )
        .await;
    assert_eq!(status, 200);
    let got = t
        .slack
        .wait_until("fresh", WAIT, |r| {
            r.iter()
                .map(|m| m.body.to_string())
                .collect::<String>()
                .contains("finding 1")
        })
        .await;
    let all: String = got.iter().map(|m| m.body.to_string()).collect();
    assert!(
        all.contains("SQL Injection in login form") && all.contains("finding 1"),
        "{all}"
    );
    // Slack's answer is recorded just after the fake sees the message.
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, c) = t.get(&format!("/api/v1/channels/{broken}")).await;
        if c["status"]["state"] == "healthy" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "healthy again after a successful send: {c}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    t.app.shutdown().await;
}
both_dbs!(a_revoked_webhook_holds_deliveries_until_the_channel_is_fixed);

async fn rate_limits_and_server_errors_are_retried_until_delivered(db: Db) {
    let t = TestApp::spawn(db).await;
    t.channel("busy", json!({})).await;
    t.slack.script(
        "busy",
        [
            Answer::RateLimited(1),
            Answer::Status(500, "rollup_error".into()),
            Answer::Status(503, "".into()),
        ],
    );
    let start = Instant::now();
    t.post("/api/v1/findings", seed_finding()).await;
    let got = t.slack.wait_accepted("busy", 1, WAIT).await;
    assert_eq!(got.len(), 1, "delivered after a 429 and two 5xx");
    let reqs = t.slack.requests("busy");
    assert_eq!(
        reqs.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 500, 503, 200]
    );
    // Retry-After: 1 was honoured: the second attempt came at least a second after the first.
    assert!(
        reqs[1].at.duration_since(reqs[0].at) >= Duration::from_millis(990),
        "waited Retry-After"
    );
    assert!(start.elapsed() < WAIT);
    let sent = t.wait_deliveries("sent", 1).await;
    assert_eq!(
        sent["deliveries"][0]["attempts"], 3,
        "the 429 is not counted as a failed attempt: {sent}"
    );
    t.app.shutdown().await;
}
both_dbs!(rate_limits_and_server_errors_are_retried_until_delivered);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_payload_is_resent_once_as_plain_text() {
    let t = TestApp::spawn(Db::Sqlite).await;
    t.channel("picky", json!({})).await;
    t.slack
        .script("picky", [Answer::Status(400, "invalid_blocks".into())]);
    t.post("/api/v1/findings", seed_finding()).await;
    let got = t.slack.wait_accepted("picky", 1, WAIT).await;
    assert_eq!(got.len(), 1);
    assert!(
        got[0].body.get("attachments").is_none(),
        "plain text only: {}",
        got[0].body
    );
    assert!(
        got[0].body["text"]
            .as_str()
            .unwrap_or_default()
            .contains("CRITICAL: SQL Injection in login form"),
        "{}",
        got[0].body
    );

    t.slack
        .set_default("picky", Answer::Status(400, "invalid_payload".into()));
    let mut f = seed_finding();
    f["title"] = json!("Second");
    t.post("/api/v1/findings", f).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, dead) = t.get("/api/v1/deliveries?state=dead").await;
        if let Some(d) = dead["deliveries"].as_array().and_then(|a| a.first()) {
            assert_eq!(d["last_error"], "invalid_payload");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the delivery ends dead after the plain-text retry"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        t.slack.requests("picky").len(),
        4,
        "first: rich then plain; second: rich then plain, then no more"
    );
    t.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_that_outlast_a_max_retry_age_shorter_than_the_back_off_end_dead_and_can_be_replayed(
) {
    // 2 s ends the retries before the back-off reaches the probe interval (then an outage would age nothing).
    let t = TestApp::spawn_full(Db::Sqlite, "", "max_retry_age = \"2s\"").await;
    t.slack.set_default("down", Answer::Status(502, "".into()));
    t.channel("down", json!({})).await;
    t.post("/api/v1/findings", seed_finding()).await;
    let deadline = Instant::now() + WAIT;
    let dead_id = loop {
        let (_, v) = t.get("/api/v1/deliveries?state=dead").await;
        if let Some(id) = v["deliveries"][0]["id"].as_str() {
            assert_eq!(v["deliveries"][0]["last_error"], "http_502");
            break id.to_string();
        }
        assert!(Instant::now() < deadline, "dead after max_retry_age");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        t.slack.requests("down").len() >= 2,
        "retried before giving up"
    );
    t.slack.set_default("down", Answer::Ok);
    let (status, _) = t
        .post(&format!("/api/v1/deliveries/{dead_id}/retry"), json!({}))
        .await;
    assert_eq!(status, 200);
    let got = t.slack.wait_accepted("down", 1, WAIT).await;
    assert_eq!(got.len(), 1, "the replayed delivery arrives");
    t.app.shutdown().await;
}

async fn a_burst_is_paced_and_coalesced_without_a_single_429(db: Db) {
    let t = TestApp::spawn(db).await;
    t.channel("burst", json!({})).await;
    t.slack.enforce_rate(1.0);
    let start = Instant::now();
    // 30 separate API calls, as a scanner posting one finding at a time would make.
    for i in 0..30 {
        let sev = if i % 3 == 0 { "critical" } else { "high" };
        let (status, _) = t.post("/api/v1/findings", finding(i, sev)).await;
        assert_eq!(status, 202);
    }
    let counted = |msgs: &[fence_testkit::Received]| -> usize {
        msgs.iter()
            .map(|m| {
                let text = m.body["text"].as_str().unwrap_or_default();
                text.split(" new vulnerabilities")
                    .next()
                    .and_then(|n| n.split_whitespace().last())
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(1)
            })
            .sum()
    };
    let got = t
        .slack
        .wait_until("burst", WAIT, |m| counted(m) >= 30)
        .await;
    assert_eq!(counted(&got), 30, "every finding counted");
    assert_eq!(t.slack.rejected_429(), 0, "no message Slack would reject");
    assert!(
        got.len() <= 5,
        "coalesced into a few messages, not drip-fed: {}",
        got.len()
    );
    for w in got.windows(2) {
        assert!(
            w[1].at.duration_since(w[0].at) >= Duration::from_millis(990),
            "paced at one per second"
        );
    }
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "the burst is in Slack within seconds: {:?}",
        start.elapsed()
    );
    t.app.shutdown().await;
}
both_dbs!(a_burst_is_paced_and_coalesced_without_a_single_429);
