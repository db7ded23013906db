//! Plans on every path, custom payload templates (save-time validation, send-time fallback, preview) and the
//! white-label identity.

use crate::support::{seed_finding, Db, TestApp};
use fence_testkit::BOT_TOKEN;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);
const SEED_TEMPLATE: &str = "{\n\"text\": \"Security Alert for {{ domain }}\",\n\"blocks\": [\n{\n\"type\": \"header\",\n\"text\": {\"type\": \"plain_text\", \"text\": \"{{ title }}\"}\n},\n{\n\"type\": \"section\",\n\"text\": {\"type\": \"mrkdwn\", \"text\": \"*CVSS:* {{ cvss_score }}\\n*CVE:* {{ cve_id }}\"}\n}\n]\n}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn features_are_refused_below_their_plan_with_a_message_naming_it() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let startup = t.other_org("small", "startup", &["admin"]).await;
    let enterprise = t.other_org("big", "enterprise", &["admin"]).await;
    t.other_org("tiny", "hobby", &["admin"]).await;
    let channel = |extra: Value| {
        let mut b = json!({"name": "c", "webhook_url": t.slack.webhook_url("p")});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            b[k] = v;
        }
        b
    };
    let (s, e) = t
        .request(
            Method::POST,
            "/api/v1/channels",
            &startup,
            Some(channel(json!({"template": SEED_TEMPLATE}))),
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].clone()),
        (StatusCode::FORBIDDEN, json!("plan_limit"))
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("startup"),
        "{e}"
    );
    let (s, e) = t
        .request(
            Method::POST,
            "/api/v1/channels",
            &enterprise,
            Some(channel(json!({"identity": {"username": "Acme Security"}}))),
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].clone()),
        (StatusCode::FORBIDDEN, json!("plan_limit"))
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("custom plan"),
        "{e}"
    );
    let (s, _) = t
        .request(
            Method::POST,
            "/api/v1/channels",
            &enterprise,
            Some(channel(json!({"template": SEED_TEMPLATE}))),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "enterprise has custom payloads");
    // Enabling a template later on a startup channel is refused too.
    let (_, c) = t
        .request(
            Method::POST,
            "/api/v1/channels",
            &startup,
            Some(channel(json!({}))),
        )
        .await;
    let (s, _) = t
        .request(
            Method::PATCH,
            &format!("/api/v1/channels/{}", c["id"].as_str().unwrap_or_default()),
            &startup,
            Some(json!({"template": SEED_TEMPLATE})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // "Add to Slack" on hobby, by the organization's admin.
    let admin = crate::slack_install::session_of(&t, "tiny", "admin").await;
    let (status, location, _, _) = crate::slack_install::start(&t, Some(&admin)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{location}");
    t.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_downgrade_keeps_existing_channels_working_but_blocks_new_ones_and_says_so() {
    let t = TestApp::spawn(Db::Sqlite).await;
    for i in 0..6 {
        t.channel(&format!("c{i}"), json!({})).await;
    }
    t.app
        .state
        .store
        .set_org_plan("default", "startup")
        .await
        .expect("downgrade");
    let (s, e) = t
        .post(
            "/api/v1/channels",
            json!({"name": "seventh", "webhook_url": t.slack.webhook_url("c6")}),
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].clone()),
        (StatusCode::FORBIDDEN, json!("plan_limit"))
    );
    let (_, org) = t.get("/api/v1/org").await;
    assert!(
        org["notice"]
            .as_str()
            .unwrap_or_default()
            .contains("6 channels, above the startup plan's 5"),
        "{org}"
    );
    t.post("/api/v1/findings", seed_finding()).await;
    for i in 0..6 {
        assert_eq!(
            t.slack.wait_accepted(&format!("c{i}"), 1, WAIT).await.len(),
            1,
            "channel c{i} still delivers"
        );
    }
    t.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_template_drives_the_message_and_bad_templates_are_refused_by_line() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let id = t
        .channel("custom", json!({"template": SEED_TEMPLATE}))
        .await;
    t.post("/api/v1/findings", seed_finding()).await;
    let got = t.slack.wait_accepted("custom", 1, WAIT).await;
    assert_eq!(got[0].body["text"], "Security Alert for example.com");
    assert_eq!(
        got[0].body["blocks"][0]["text"]["text"],
        "SQL Injection in login form"
    );
    assert_eq!(
        got[0].body["blocks"][1]["text"]["text"],
        "*CVSS:* 9.8\n*CVE:* CVE-2024-12345"
    );

    let (s, preview) = t
        .post(
            &format!("/api/v1/channels/{id}/preview"),
            json!({"alert_type": "vulnerability"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(preview["template"], true);
    assert_eq!(preview["message"]["text"], "Security Alert for example.com");

    let bad = [
        ("{\n\"text\": \"{{ title }\"\n}", "line 2"),
        ("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}{}", "fuel"),
        ("{\"text\": {{ title }}}", "not valid JSON"),
        ("{\"text\": \"x\", \"blocks\": [{\"type\": \"header\", \"text\": {\"type\": \"plain_text\", \"text\": \"{{ title }}{{ title }}{{ title }}{{ title }}{{ title }}{{ title }}\"}}]}", "150"),
    ];
    for (template, needle) in bad {
        let (s, e) = t.post("/api/v1/channels", json!({"name": "bad", "webhook_url": t.slack.webhook_url("bad"), "template": template})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{template}");
        assert_eq!(e["error"]["field"], "template");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(needle),
            "{needle} in {e}"
        );
    }
    t.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_failing_at_send_time_sends_the_default_and_warns() {
    let t = TestApp::spawn(Db::Sqlite).await;
    // Valid for the sample data; fails for a finding titled "boom".
    let template = "{\"text\": \"{% if title == 'boom' %}{{ 1 // 0 }}{% endif %}{{ title }}\"}";
    let id = t.channel("fragile", json!({"template": template})).await;
    let mut f = seed_finding();
    f["title"] = json!("boom");
    t.post("/api/v1/findings", f).await;
    let got = t.slack.wait_accepted("fragile", 1, WAIT).await;
    assert_eq!(
        got[0].body["text"], "🚨 Critical Vulnerability Detected",
        "the default rendering: {}",
        got[0].body
    );
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (_, c) = t.get(&format!("/api/v1/channels/{id}")).await;
        if let Some(w) = c["status"]["warning"].as_str() {
            assert!(w.contains("template failed at send time"), "{w}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "warning recorded: {c}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    t.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_white_label_identity_applies_where_slack_honours_it() {
    let t = TestApp::spawn(Db::Sqlite).await;
    t.slack.add_channel("C0SEC", "security-alerts");
    let identity =
        json!({"username": "Acme Security", "icon_url": "https://acme.example/icon.png"});
    t.channel(
        "unused",
        json!({"bot_token": BOT_TOKEN, "channel_id": "C0SEC", "identity": identity}),
    )
    .await;
    t.channel("hook", json!({"identity": identity})).await;
    let (s, e) = t.post("/api/v1/channels", json!({"name": "x", "webhook_url": t.slack.webhook_url("x"), "identity": {"icon_url": "http://insecure"}})).await;
    assert_eq!(
        (s, e["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("identity.icon_url"))
    );
    t.post("/api/v1/findings", seed_finding()).await;
    let posts = t.slack.wait_api("chat.postMessage", 1, WAIT).await;
    // What Slack shows: overrides count only with chat:write.customize (SLACK.md §6), which the manifest grants.
    assert!(posts[0].ok(), "{:?}", posts[0].answer);
    assert_eq!(posts[0].shown_as["username"], "Acme Security");
    assert_eq!(
        posts[0].shown_as["icon_url"],
        "https://acme.example/icon.png"
    );
    let hook = t.slack.wait_accepted("hook", 1, WAIT).await;
    assert!(
        hook[0].body.get("username").is_none(),
        "app webhooks ignore overrides, so Fence does not send them"
    );
    t.app.shutdown().await;
}
