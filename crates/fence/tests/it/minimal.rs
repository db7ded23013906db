//! `detail: minimal` channels, end to end: what reaches Slack (single alerts, bursts, certificates, scans, digests'
//! previews), what a click on such a message answers (Fix Instructions to the clicker alone, with a link), and what
//! slash commands answer where Fence cannot tell the conversation is not the sensitive one — never a domain, title,
//! CVE, URL or other scanner text.

use crate::slack_app::{checkable, connect, slack_post};
use crate::support::{Db, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);
const SECRETS: [&str; 5] = [
    "secret-shop.example",
    "Secret injection",
    "CVE-2099-4242",
    "/secret-path",
    "Rotate the secret",
];

fn assert_clean(what: &str, v: &Value) {
    let text = v.to_string();
    for s in SECRETS {
        assert!(!text.contains(s), "{what} shows {s:?}: {text}");
    }
}

fn finding(title: &str, severity: &str) -> Value {
    json!({"domain": "secret-shop.example", "title": title, "severity": severity, "cve": "CVE-2099-4242",
           "affected_url": "https://secret-shop.example/secret-path", "remediation": "Rotate the secret key."})
}

async fn minimal_channel(db: Db) {
    let t = TestApp::spawn(db).await;
    connect(&t, "T0ACME").await;
    checkable(&t).await;
    let (s, ch) = t
        .post(
            "/api/v1/channels",
            json!({"name": "restricted", "webhook_url": t.slack.webhook_url("restricted"), "detail": "minimal",
                   "alert_types": ["vulnerability", "certificate_expiring", "scan_completed"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ch}");
    assert_eq!(
        ch["detail"], "minimal",
        "the API shows the channel's detail"
    );
    let id = ch["id"].as_str().expect("id").to_string();

    // One finding, then a burst of 30 that the channel's pace holds.
    let (_, f) = t
        .post(
            "/api/v1/findings",
            finding("Secret injection in login", "critical"),
        )
        .await;
    let finding_id = f["ids"][0].as_str().expect("id").to_string();
    // The single alert is out before the burst comes (else the two would be one coalesced message).
    t.slack.wait_accepted("restricted", 1, WAIT).await;
    let burst: Vec<Value> = (0..30)
        .map(|i| finding(&format!("Secret injection {i}"), ["high", "medium"][i % 2]))
        .collect();
    t.post("/api/v1/findings", json!({ "findings": burst }))
        .await;
    let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(3 * 24);
    t.post(
        "/api/v1/certificates",
        json!({"domain": "secret-shop.example", "not_after": soon.to_string(), "fingerprint": "ab12",
               "issuer": "Secret CA", "sans": ["secret-shop.example"]}),
    )
    .await;
    let got = t.slack.wait_accepted("restricted", 3, WAIT).await;
    for m in &got {
        assert_clean("a message to the minimal channel", &m.body);
    }
    let single = &got[0].body;
    assert!(
        single
            .to_string()
            .contains(&format!("https://fence.test/findings/{finding_id}")),
        "View Details opens the finding by its id: {single}"
    );
    assert!(
        got.iter()
            .any(|m| m.body.to_string().contains("30 new findings")),
        "the burst is counted: {:?}",
        got.iter().map(|m| m.body.to_string()).collect::<Vec<_>>()
    );
    assert!(
        t.slack.findings_counted("restricted") >= 1,
        "Fence's fake counts it"
    );

    // Fix Instructions on that message: a link for the clicker alone, nothing in the thread.
    let fix = single["attachments"][0]["blocks"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["type"] == "actions"))
        .and_then(|b| b["elements"].as_array())
        .and_then(|e| e.iter().find(|e| e["action_id"] == "fix_instructions"))
        .and_then(|e| e["value"].as_str())
        .expect("a Fix Instructions button")
        .to_string();
    let url = t.slack.response_url("minimal-fix");
    let payload = json!({
        "type": "block_actions",
        "user": {"id": "U0ALICE", "team_id": "T0ACME"},
        "team": {"id": "T0ACME"},
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": "C0RESTRICTED"},
        "channel": {"id": "C0RESTRICTED"},
        "message": single,
        "response_url": url,
        "actions": [{"action_id": "fix_instructions", "block_id": "fence_finding", "value": fix, "type": "button"}],
    });
    let body = serde_urlencoded::to_string([("payload", payload.to_string())]).expect("form");
    let (s, _) = slack_post(&t, "/api/slack/interactions", &body, None).await;
    assert_eq!(s, StatusCode::OK);
    let answers = t.slack.wait_responses("minimal-fix", 1, WAIT).await;
    assert_eq!(answers[0]["response_type"], "ephemeral", "{answers:?}");
    assert!(answers[0]["thread_ts"].is_null());
    assert!(
        answers[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("/findings/{finding_id}")),
        "{answers:?}"
    );
    assert_clean("the Fix Instructions answer", &answers[0]);

    // `/fence vulnerabilities` from a conversation Fence cannot tell apart from the webhook's: counts only.
    let cmd = serde_urlencoded::to_string([
        ("team_id", "T0ACME"),
        ("user_id", "U0ALICE"),
        ("command", "/fence"),
        ("text", "vulnerabilities"),
        ("response_url", ""),
        ("channel_id", "C0ELSEWHERE"),
    ])
    .expect("form");
    let (_, answer) = slack_post(&t, "/api/slack/commands", &cmd, None).await;
    assert_clean("/fence vulnerabilities", &answer);
    assert!(
        answer["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Open findings: 1 critical, 15 high."),
        "{answer}"
    );
    let cmd = cmd.replace("text=vulnerabilities", "text=scan+secret-shop.example");
    let (_, answer) = slack_post(&t, "/api/slack/commands", &cmd, None).await;
    assert!(
        answer["text"]
            .as_str()
            .unwrap_or_default()
            .contains("data-sensitive"),
        "{answer}"
    );
    // The channel's preview is what it will receive.
    let (s, preview) = t
        .post(
            &format!("/api/v1/channels/{id}/preview"),
            json!({"alert_type": "vulnerability"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{preview}");
    assert!(
        !preview.to_string().contains("SQL Injection in login form"),
        "the preview is minimal too: {preview}"
    );
    t.app.shutdown().await;
}
crate::both_dbs!(minimal_channel);

/// A full channel beside it still shows everything: the detail is the channel's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_channel_keeps_every_field() {
    let t = TestApp::spawn(Db::Sqlite).await;
    t.channel("full", json!({})).await;
    t.post(
        "/api/v1/findings",
        finding("Secret injection in login", "critical"),
    )
    .await;
    let got = t.slack.wait_accepted("full", 1, WAIT).await;
    let text = got[0].body.to_string();
    assert!(
        text.contains("secret-shop.example") && text.contains("CVE-2099-4242"),
        "{text}"
    );
}
