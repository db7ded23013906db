//! A snooze that ends: the finding is open again and the channels that take it are told once — in the alert's
//! thread on a bot-token channel, as a message of its own on a webhook.

use crate::support::{Db, TestApp};
use fence_testkit::BOT_TOKEN;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// The "Snooze ended" replies posted in the thread of `ts`.
fn snooze_replies(t: &TestApp, ts: &str) -> Vec<fence_testkit::ApiCall> {
    t.slack
        .api_calls("chat.postMessage")
        .into_iter()
        .filter(|c| c.body["thread_ts"] == ts)
        .filter(|c| {
            c.body["text"]
                .as_str()
                .unwrap_or_default()
                .contains("Snooze ended")
        })
        .collect()
}

async fn a_snooze_that_ends_is_told_once_in_the_thread_or_as_a_message(db: Db) {
    let t = TestApp::spawn(db).await;
    t.slack.add_channel("C0BOT", "security-alerts");
    t.channel(
        "bot",
        json!({"bot_token": BOT_TOKEN, "channel_id": "C0BOT"}),
    )
    .await;
    t.channel("hook", json!({})).await;
    let (_, f) = t
        .post(
            "/api/v1/findings",
            json!({"domain": "shop.example.com", "title": "Exposed admin panel", "severity": "high"}),
        )
        .await;
    let id = f["ids"][0].as_str().expect("id").to_string();
    t.slack.wait_accepted("hook", 1, WAIT).await;
    let deadline = Instant::now() + WAIT;
    let first_ts = loop {
        let posts = t.slack.api_calls("chat.postMessage");
        if let Some(ts) = posts.iter().find_map(|c| c.ts.clone()) {
            break ts;
        }
        assert!(Instant::now() < deadline, "the bot channel's alert");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Snoozed for about two seconds.
    let (s, v) = t
        .post(
            &format!("/api/v1/findings/{id}/snooze"),
            json!({"hours": 0.0006}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let hook = t.slack.wait_accepted("hook", 2, WAIT).await;
    let told = hook[1].body.to_string();
    assert!(
        told.contains("Snooze ended") && told.contains("Exposed admin panel"),
        "a message of its own on the webhook: {told}"
    );
    let deadline = Instant::now() + WAIT;
    let reply = loop {
        let replies = snooze_replies(&t, &first_ts);
        if let Some(r) = replies.first() {
            break r.clone();
        }
        assert!(Instant::now() < deadline, "the thread reply");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        reply.body["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Snooze ended"),
        "{:?}",
        reply.body
    );
    let (_, f) = t.get(&format!("/api/v1/findings/{id}")).await;
    assert_eq!(f["status"], "open", "{f}");
    let (_, audit) = t.get("/api/v1/audit").await;
    assert!(
        audit["audit"]
            .as_array()
            .expect("audit")
            .iter()
            .any(|e| e["action"] == "finding.snooze_ended" && e["target"] == id.as_str()),
        "{audit}"
    );
    // The scheduler passes again (every 5 s): nothing more is told.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(t.slack.accepted("hook").len(), 2, "told once");
    let replies = snooze_replies(&t, &first_ts).len();
    assert_eq!(replies, 1, "told once in the thread");
    t.app.shutdown().await;
}
crate::both_dbs!(a_snooze_that_ends_is_told_once_in_the_thread_or_as_a_message);
