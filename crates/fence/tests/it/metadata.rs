//! Slack message metadata on bot-token posts, checked by the strict fake (`invalid_metadata_format` for a malformed
//! one, the `invalid_metadata_schema` warning for a bad event type): a finding's message names its `fence_finding`
//! event with the finding's fields, absent ones left out; a minimal channel's carries only id, severity and url;
//! webhooks carry none.

use crate::support::{Db, TestApp};
use fence_testkit::BOT_TOKEN;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn posted(t: &TestApp, n: usize) -> Vec<fence_testkit::ApiCall> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let calls: Vec<_> = t
            .slack
            .api_calls("chat.postMessage")
            .into_iter()
            .filter(|c| c.ok())
            .collect();
        if calls.len() >= n {
            return calls;
        }
        assert!(
            Instant::now() < deadline,
            "{} posts: {calls:?}",
            calls.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_posts_carry_the_findings_event_for_workflows() {
    let t = TestApp::spawn(Db::Sqlite).await;
    t.slack.add_channel("C0FULL", "security-alerts");
    t.slack.add_channel("C0MIN", "restricted");
    t.channel(
        "full",
        json!({"bot_token": BOT_TOKEN, "channel_id": "C0FULL"}),
    )
    .await;
    t.channel(
        "min",
        json!({"bot_token": BOT_TOKEN, "channel_id": "C0MIN", "detail": "minimal"}),
    )
    .await;
    t.channel("hook", json!({})).await;
    let (_, f) = t
        .post(
            "/api/v1/findings",
            json!({"domain": "shop.example.com", "title": "SQL injection", "severity": "critical", "cvss": 9.8}),
        )
        .await;
    let id = f["ids"][0].as_str().expect("id").to_string();
    let calls = posted(&t, 2).await;
    let on = |channel: &str| -> Value {
        calls
            .iter()
            .find(|c| c.body["channel"] == channel)
            .map(|c| c.body["metadata"].clone())
            .expect("a post")
    };
    assert_eq!(
        on("C0FULL"),
        json!({"event_type": "fence_finding", "event_payload": {"id": id, "domain": "shop.example.com",
               "severity": "critical", "cvss": 9.8, "status": "open",
               "url": format!("https://fence.test/findings/{id}")}}),
        "no cve: left out, not null"
    );
    assert_eq!(
        on("C0MIN"),
        json!({"event_type": "fence_finding", "event_payload": {"id": id, "severity": "critical",
               "url": format!("https://fence.test/findings/{id}")}})
    );
    for c in &calls {
        assert!(
            c.answer["warning"].is_null(),
            "Slack kept it: {:?}",
            c.answer
        );
        assert_eq!(c.answer["message"]["metadata"], c.body["metadata"]);
    }
    let hook = t
        .slack
        .wait_accepted("hook", 1, Duration::from_secs(10))
        .await;
    assert!(
        hook[0].body.get("metadata").is_none(),
        "webhooks carry none"
    );
}

/// The manifest's metadata subscriptions point Slack at `/api/slack/events`: a signed `url_verification` gets its
/// challenge back, an unsigned one nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_url_answers_slacks_verification_only_when_signed() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let body = json!({"type": "url_verification", "token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}).to_string();
    let ts = crate::slack_app::now();
    let sig = fence_slack::signature::sign(crate::support::SIGNING_SECRET, ts, body.as_bytes());
    let send = |sig: String| {
        t.http
            .post(format!("{}/api/slack/events", t.url))
            .header("content-type", "application/json")
            .header("X-Slack-Request-Timestamp", ts.to_string())
            .header("X-Slack-Signature", sig)
            .body(body.clone())
            .send()
    };
    let r = send(sig).await.expect("events");
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    assert_eq!(
        v["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
    let r = send("v0=forged".into()).await.expect("events");
    assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
    let manifest = fence_testkit::manifest::MANIFEST;
    for event in [
        "fence_finding",
        "fence_certificate",
        "fence_scan",
        "fence_digest",
    ] {
        assert!(
            manifest.contains(&format!("event_type: {event}")),
            "{event}"
        );
    }
    assert!(manifest.contains("request_url: https://fence.example.com/api/slack/events"));
}
