//! Routing: several channels each taking their alert types and severities with their mentions, bot-token
//! channels that resolve names, thread follow-ups and update their messages, and Mattermost channels.

use crate::both_dbs;
use crate::support::{seed_finding, Db, TestApp};
use fence_testkit::{Answer, BOT_TOKEN};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

async fn each_channel_gets_its_severities_with_its_mentions(db: Db) {
    let t = TestApp::spawn(db).await;
    t.channel("critical", json!({"name": "#security-critical", "filters": {"severities": ["critical"]}, "mentions": {"critical": ["<!subteam^S0SECTEAM>"]}})).await;
    t.channel("high", json!({"name": "#security-high", "filters": {"severities": ["high"]}, "mentions": {"high": ["<!subteam^S0DEVOPS>"]}})).await;
    t.channel("api", json!({"name": "#api-sqli", "filters": {"domains": ["*.api.example.com"], "categories": ["sql_injection"]}, "mentions": {"vulnerability": ["@here"]}})).await;
    t.channel(
        "reports",
        json!({"name": "#security-reports", "alert_types": ["scan_completed"]}),
    )
    .await;

    t.post("/api/v1/findings", seed_finding()).await;
    t.post("/api/v1/findings", json!({"domain": "v1.api.example.com", "title": "Blind SQLi", "severity": "high", "category": "sql_injection"})).await;
    t.post(
        "/api/v1/findings",
        json!({"domain": "example.com", "title": "Verbose errors", "severity": "medium"}),
    )
    .await;

    let critical = t.slack.wait_accepted("critical", 1, WAIT).await;
    let high = t.slack.wait_accepted("high", 1, WAIT).await;
    let api = t.slack.wait_accepted("api", 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(t.slack.accepted("critical").len(), 1);
    assert_eq!(t.slack.accepted("high").len(), 1);
    assert_eq!(t.slack.accepted("api").len(), 1);
    assert!(t.slack.accepted("reports").is_empty(), "scan reports only");
    assert_eq!(
        critical[0].body["text"],
        "🚨 Critical Vulnerability Detected <!subteam^S0SECTEAM>"
    );
    assert_eq!(
        high[0].body["text"],
        "🟠 High Severity Vulnerability Detected <!subteam^S0DEVOPS>"
    );
    assert_eq!(
        api[0].body["text"],
        "🟠 High Severity Vulnerability Detected <!here>"
    );
    t.app.shutdown().await;
}
both_dbs!(each_channel_gets_its_severities_with_its_mentions);

async fn a_bot_channel_resolves_names_threads_follow_ups_and_updates_its_message(db: Db) {
    let t = TestApp::spawn(db).await;
    for (id, name) in [("U0BOB", "bob"), ("U0CAROL", "carol"), ("U0ALICE", "alice")] {
        t.slack.add_user(id, name);
    }
    t.slack.add_group("S0SECTEAM", "security-team");
    t.slack.add_channel("C0OTHER", "general");
    t.slack.add_channel("C0SEC", "security-alerts");
    let bot = json!({"bot_token": BOT_TOKEN, "channel_id": "C0SEC", "channel": "#security-alerts"});

    // A name that is not in the workspace is refused, naming the field.
    let mut bad = bot.clone();
    bad["mentions"] = json!({"critical": ["@security-team", "@mallory"]});
    bad["name"] = json!("bad");
    bad["webhook_url"] = json!(t.slack.webhook_url("unused"));
    let (status, e) = t.post("/api/v1/channels", bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "mentions.critical[1]");

    let mut good = bot.clone();
    good["mentions"] = json!({"critical": ["@security-team", "@alice", "#security-alerts"]});
    let id = t.channel("unused", good).await;
    let (_, c) = t.get(&format!("/api/v1/channels/{id}")).await;
    assert_eq!(
        c["resolved_mentions"]["@alice"], "<@U0ALICE>",
        "found on the second page of users.list: {c}"
    );
    assert!(c["has_bot_token"].as_bool().unwrap_or(false) && !c.to_string().contains(BOT_TOKEN));

    let (_, f) = t.post("/api/v1/findings", seed_finding()).await;
    let fid = f["ids"][0].as_str().expect("id").to_string();
    let posts = t.slack.wait_api("chat.postMessage", 1, WAIT).await;
    // Slack accepted it (the fake answers as Slack does: scopes, membership, Block Kit, pace).
    assert!(posts[0].ok(), "{:?}", posts[0].answer);
    assert_eq!(posts[0].body["channel"], "C0SEC");
    assert_eq!(
        posts[0].body["text"],
        "🚨 Critical Vulnerability Detected <!subteam^S0SECTEAM> <@U0ALICE> <#C0SEC>"
    );
    let ts = posts[0].ts.clone().expect("ts");
    assert!(
        t.slack.accepted("unused").is_empty(),
        "bot channels post through chat.postMessage, not the webhook"
    );

    // Triage from the API: a reply in the alert's thread, and the alert updated in place.
    let (s, _) = t
        .post(&format!("/api/v1/findings/{fid}/false-positive"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let posts: Vec<_> = t
        .slack
        .wait_until_api("chat.postMessage", WAIT, |p| {
            p.iter().filter(|c| c.ok()).count() >= 2
        })
        .await
        .into_iter()
        .filter(|c| c.ok())
        .collect();
    assert_eq!(posts[1].body["thread_ts"], ts.as_str());
    assert_eq!(
        posts[1].body["text"],
        "✓ Marked as false positive by an API token"
    );
    let updates = t.slack.wait_api("chat.update", 1, WAIT).await;
    assert!(updates[0].ok(), "{:?}", updates[0].answer);
    assert_eq!(updates[0].body["ts"], ts.as_str());
    let updated = updates[0].body.to_string();
    assert!(
        updated.contains("✓ Marked as false positive") && !updated.contains("\"actions\""),
        "{updated}"
    );

    // Seen again after being resolved: announced in the original thread and broadcast to the channel.
    t.post(&format!("/api/v1/findings/{fid}/resolve"), json!({}))
        .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    t.post("/api/v1/findings", seed_finding()).await;
    let posts = t
        .slack
        .wait_until_api("chat.postMessage", WAIT, |p| {
            p.iter()
                .any(|c| c.ok() && c.body["reply_broadcast"] == true)
        })
        .await;
    let reopened = posts
        .iter()
        .find(|c| c.ok() && c.body["reply_broadcast"] == true)
        .expect("reopened post");
    assert_eq!(reopened.body["thread_ts"], ts.as_str());
    assert!(reopened.body["text"]
        .as_str()
        .unwrap_or_default()
        .contains("(Reopened)"));
    t.app.shutdown().await;
}
both_dbs!(a_bot_channel_resolves_names_threads_follow_ups_and_updates_its_message);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_bot_token_breaks_the_channel_and_holds_its_alerts() {
    let t = TestApp::spawn(Db::Sqlite).await;
    t.slack.add_channel("C0SEC", "security-alerts");
    let id = t
        .channel(
            "unused",
            json!({"bot_token": BOT_TOKEN, "channel_id": "C0SEC"}),
        )
        .await;
    t.slack.script_post_errors("C0SEC", &["token_revoked"]);
    t.post("/api/v1/findings", seed_finding()).await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (_, c) = t.get(&format!("/api/v1/channels/{id}")).await;
        if c["status"]["state"] == "broken" {
            assert_eq!(c["status"]["error"], "token_revoked");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "broken: {c}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, held) = t.get("/api/v1/deliveries?state=held").await;
    assert_eq!(held["deliveries"].as_array().map(Vec::len), Some(1));
    // A successful test fixes it and releases the alert.
    let (_, r) = t
        .post(&format!("/api/v1/channels/{id}/test"), json!({}))
        .await;
    assert_eq!(r, json!({"ok": true}));
    let posts = t
        .slack
        .wait_until_api("chat.postMessage", WAIT, |p| {
            p.iter().any(|c| {
                c.ts.is_some()
                    && c.body["text"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("Critical")
            })
        })
        .await;
    assert!(posts.iter().any(|c| c.ts.is_some()
        && c.body["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Critical")));
    t.app.shutdown().await;
}

async fn a_mattermost_channel_gets_attachments_and_its_own_mentions(db: Db) {
    let t = TestApp::spawn(db).await;
    let (status, c) = t
        .post(
            "/api/v1/channels",
            json!({"name": "mm", "type": "mattermost", "webhook_url": t.slack.mattermost_url("mmhook"), "mentions": {"high": ["@everyone", "@alice"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    assert_eq!(c["format"], "attachments");
    let (status, e) = t.post("/api/v1/channels", json!({"name": "mm2", "type": "mattermost", "webhook_url": t.slack.mattermost_url("x"), "format": "blocks"})).await;
    assert_eq!(
        (status, e["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("format"))
    );

    let mut f = seed_finding();
    f["severity"] = json!("high");
    f["cvss"] = json!(7.5);
    t.post("/api/v1/findings", f).await;
    let got = t.slack.wait_accepted("mmhook", 1, WAIT).await;
    let msg = &got[0].body;
    assert_eq!(
        msg["text"],
        "🟠 High Severity Vulnerability Detected @all @alice"
    );
    assert!(msg["attachments"][0].get("blocks").is_none() && msg.get("blocks").is_none());
    assert!(msg["attachments"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .starts_with("[View Details](https://fence.test/findings/"));

    // Mattermost's JSON errors are understood: an unknown channel breaks the channel.
    t.slack.set_default("mmhook", Answer::Json(404, json!({"id": "web.incoming_webhook.channel.app_error", "message": "Unable to find the channel.", "status_code": 404})));
    t.post(
        "/api/v1/findings",
        json!({"domain": "example.com", "title": "another", "severity": "high"}),
    )
    .await;
    let id = c["id"].as_str().expect("id");
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (_, c) = t.get(&format!("/api/v1/channels/{id}")).await;
        if c["status"]["state"] == "broken" {
            assert_eq!(c["status"]["error"], "channel_not_found");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "broken: {c}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    t.app.shutdown().await;
}
both_dbs!(a_mattermost_channel_gets_attachments_and_its_own_mentions);

/// `filters.tags`: a team's channel gets the alerts about its own assets (domains tagged for it), a channel without
/// the filter gets everything; digests and notices, about no domain, pass.
async fn a_channel_filtered_on_domain_tags_gets_only_its_assets_alerts(db: Db) {
    let t = TestApp::spawn(db).await;
    let (s, v) = t
        .post(
            "/api/v1/domains",
            json!({"name": "pay.example.com", "tags": ["payments", "pci"]}),
        )
        .await;
    assert!(s.is_success(), "{v}");
    t.post(
        "/api/v1/domains",
        json!({"name": "blog.example.com", "tags": ["marketing"]}),
    )
    .await;
    let (s, v) = t
        .post(
            "/api/v1/channels",
            json!({"name": "payments", "webhook_url": t.slack.webhook_url("payments"),
                   "filters": {"tags": ["payments"]}}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["filters"]["tags"], json!(["payments"]), "{v}");
    t.channel("everything", json!({})).await;
    for domain in ["pay.example.com", "blog.example.com", "new.example.com"] {
        t.post(
            "/api/v1/findings",
            json!({"domain": domain, "title": format!("Exposed panel on {domain}"), "severity": "critical"}),
        )
        .await;
        // One message each, not coalesced, so what each channel got is plain.
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    }
    let all = t
        .slack
        .wait_accepted("everything", 3, std::time::Duration::from_secs(10))
        .await;
    assert_eq!(fence_testkit::count_findings(&all), 3);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let payments = t.slack.accepted("payments");
    let text: String = payments.iter().map(|m| m.body.to_string()).collect();
    assert!(text.contains("pay.example.com"), "{text}");
    assert!(
        !text.contains("blog.example.com") && !text.contains("new.example.com"),
        "only the payments assets: {text}"
    );
    let (s, v) = t
        .post(
            "/api/v1/channels",
            json!({"name": "bad", "webhook_url": t.slack.webhook_url("bad"), "filters": {"tags": [""]}}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["field"], "filters.tags[0]", "{v}");
    t.app.shutdown().await;
}
both_dbs!(a_channel_filtered_on_domain_tags_gets_only_its_assets_alerts);
