//! Channels API: validation of webhook URLs and rules, write-only secrets, test messages, plan limits.

use crate::both_dbs;
use crate::support::{Db, TestApp};
use fence_testkit::Answer;
use reqwest::StatusCode;
use serde_json::json;

async fn channels_are_created_listed_updated_and_deleted(db: Db) {
    let t = TestApp::spawn(db).await;
    let body = json!({
        "name": "Security Alerts Channel",
        "type": "slack",
        "webhook_url": t.slack.webhook_url("XXXXWXYZ"),
        "channel": "#security-alerts",
        "alert_types": ["vulnerability", "certificate_expiring"],
        "filters": {"severities": ["critical", "high"], "domains": ["production.example.com", "*.api.example.com"], "categories": ["sql_injection"],
                    "schedule": {"days": ["mon","tue","wed","thu","fri"], "start": "09:00", "end": "18:00", "timezone": "America/New_York"}},
        "mentions": {"critical": ["<!subteam^S0123456789>"], "high": ["<@U0123456789>"]},
        "format": "attachments"
    });
    let (status, c) = t.post("/api/v1/channels", body).await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    let id = c["id"].as_str().expect("id").to_string();
    assert_eq!(
        c["webhook_url_hint"],
        format!("{}/…/••••WXYZ", t.slack.addr().ip())
    );
    assert_eq!(c["status"]["state"], "unverified");
    assert_eq!(c["channel"], "#security-alerts");
    assert_eq!(c["filters"]["schedule"]["timezone"], "America/New_York");
    assert_eq!(c["format"], "attachments");

    let (_, list) = t.get("/api/v1/channels").await;
    assert_eq!(list["channels"].as_array().map(Vec::len), Some(1));

    let (status, u) = t
        .patch(
            &format!("/api/v1/channels/{id}"),
            json!({"name": "Renamed", "filters": {"severities": ["critical"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{u}");
    assert_eq!(u["name"], "Renamed");
    assert_eq!(u["filters"]["severities"], json!(["critical"]));
    assert_eq!(u["channel"], "#security-alerts", "untouched fields stay");
    assert_eq!(
        u["webhook_url_hint"], c["webhook_url_hint"],
        "the URL is kept when not given"
    );

    let (status, _) = t
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/channels/{id}"),
            crate::support::ADMIN_TOKEN,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = t.get(&format!("/api/v1/channels/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    t.app.shutdown().await;
}
both_dbs!(channels_are_created_listed_updated_and_deleted);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_channels_get_422_naming_the_field_without_echoing_the_url() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let cases = [
        (
            json!({"name": "x", "webhook_url": "http://hooks.slack.com/services/T0/B0/SECRETX1"}),
            "webhook_url",
        ),
        (
            json!({"name": "x", "webhook_url": "https://evil.example/services/T0/B0/SECRETX1"}),
            "webhook_url",
        ),
        (
            json!({"name": "x", "webhook_url": "https://hooks.slack.com/api/SECRETX1"}),
            "webhook_url",
        ),
        (json!({"name": "x"}), "webhook_url"),
        (
            json!({"webhook_url": "https://hooks.slack.com/services/T0/B0/SECRETX1"}),
            "name",
        ),
        (
            json!({"name": "x", "webhook_url": "https://hooks.slack.com/services/T0/B0/SECRETX1", "alert_types": ["pager"]}),
            "alert_types[0]",
        ),
        (
            json!({"name": "x", "webhook_url": "https://hooks.slack.com/services/T0/B0/SECRETX1", "filters": {"schedule": {"timezone": "Moon/Base"}}}),
            "filters.schedule.timezone",
        ),
        (
            json!({"name": "x", "webhook_url": "https://hooks.slack.com/services/T0/B0/SECRETX1", "mentions": {"critical": ["@alice"]}}),
            "mentions.critical[0]",
        ),
        (
            json!({"name": "x", "webhook_url": "https://hooks.slack.com/services/T0/B0/SECRETX1", "type": "teams"}),
            "type",
        ),
        (
            json!({"name": "x", "webhook_url": "https://hooks.slack.com/services/T0/B0/SECRETX1", "colour": "red"}),
            "colour",
        ),
    ];
    for (body, field) in cases {
        let (status, e) = t.post("/api/v1/channels", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {e}");
        assert_eq!(e["error"]["field"], field, "{e}");
        assert!(
            !e.to_string().contains("SECRETX1"),
            "errors never echo the webhook URL: {e}"
        );
    }
    let (_, list) = t.get("/api/v1/channels").await;
    assert_eq!(list["channels"], json!([]));
    t.app.shutdown().await;
}

async fn testing_a_channel_reports_slacks_answer_and_the_seed_hint(db: Db) {
    let t = TestApp::spawn(db).await;
    // Unsaved configuration.
    let (_, ok) = t
        .post(
            "/api/v1/channels/test",
            json!({"webhook_url": t.slack.webhook_url("fresh")}),
        )
        .await;
    assert_eq!(ok, json!({"ok": true}));
    let got = t.slack.accepted("fresh");
    assert!(
        got[0].body["text"]
            .as_str()
            .unwrap_or_default()
            .starts_with("✅ Test from Fence\nThis channel will receive: vulnerability"),
        "{}",
        got[0].body
    );

    // A saved channel whose webhook was revoked.
    let id = t.channel("revoked", json!({})).await;
    t.slack
        .set_default("revoked", Answer::Status(403, "invalid_token".into()));
    let (_, r) = t
        .post(&format!("/api/v1/channels/{id}/test"), json!({}))
        .await;
    assert_eq!(r["ok"], false);
    assert_eq!(r["error"], "invalid_token");
    assert!(
        r["hint"]
            .as_str()
            .unwrap_or_default()
            .contains("Create a new webhook and update it in Fence"),
        "{r}"
    );
    let (_, c) = t.get(&format!("/api/v1/channels/{id}")).await;
    assert_eq!(c["status"]["state"], "broken");
    assert_eq!(c["status"]["error"], "invalid_token");

    // Fixed in Slack: a successful test makes it healthy.
    t.slack.set_default("revoked", Answer::Ok);
    let (_, r) = t
        .post(&format!("/api/v1/channels/{id}/test"), json!({}))
        .await;
    assert_eq!(r, json!({"ok": true}));
    let (_, c) = t.get(&format!("/api/v1/channels/{id}")).await;
    assert_eq!(c["status"]["state"], "healthy");
    t.app.shutdown().await;
}
both_dbs!(testing_a_channel_reports_slacks_answer_and_the_seed_hint);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_limit_channels_and_features() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let hobby = t.other_org("hobbyist", "hobby", &["admin"]).await;
    let body = json!({"name": "x", "webhook_url": t.slack.webhook_url("h")});
    let (status, e) = t
        .request(
            reqwest::Method::POST,
            "/api/v1/channels",
            &hobby,
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(e["error"]["code"], "plan_limit");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("hobby"),
        "{e}"
    );

    let startup = t.other_org("small", "startup", &["admin"]).await;
    for i in 0..5 {
        let (status, c) = t
            .request(
                reqwest::Method::POST,
                "/api/v1/channels",
                &startup,
                Some(json!({"name": format!("c{i}"), "webhook_url": t.slack.webhook_url("s")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{c}");
    }
    let (status, e) = t
        .request(
            reqwest::Method::POST,
            "/api/v1/channels",
            &startup,
            Some(body.clone()),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].clone()),
        (StatusCode::FORBIDDEN, json!("plan_limit"))
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("5 channels"),
        "{e}"
    );
    let (_, org) = t
        .request(reqwest::Method::GET, "/api/v1/org", &startup, None)
        .await;
    assert_eq!(
        (
            org["plan"].clone(),
            org["limits"]["channels"].clone(),
            org["usage"]["channels"].clone()
        ),
        (json!("startup"), json!(5), json!(5))
    );
    t.app.shutdown().await;
}

/// Slack ignores `username`/`icon_*` on app webhooks (SLACK.md §1): saving an identity on a webhook-only channel
/// says so on the channel, and adding a bot token (whose messages honour it) clears the warning.
async fn an_identity_on_a_webhook_channel_carries_a_warning_until_a_bot_token_is_added(db: Db) {
    let t = TestApp::spawn(db).await;
    let (s, c) = t
        .post(
            "/api/v1/channels",
            json!({"name": "branded", "webhook_url": t.slack.webhook_url("branded"),
                   "identity": {"username": "Acme Security", "icon_emoji": ":shield:"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let warning = c["status"]["warning"].as_str().unwrap_or_default();
    assert!(warning.contains("ignores the white-label identity"), "{c}");
    let id = c["id"].as_str().expect("id");
    let (_, again) = t.get(&format!("/api/v1/channels/{id}")).await;
    assert_eq!(
        again["status"]["warnings"],
        json!([warning]),
        "the warning stays with the channel, once"
    );
    t.slack.add_channel("C0BRAND01", "branded");
    let (s, fixed) = t
        .patch(
            &format!("/api/v1/channels/{id}"),
            json!({"bot_token": fence_testkit::BOT_TOKEN, "channel_id": "C0BRAND01"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{fixed}");
    assert!(fixed["status"]["warning"].is_null(), "{fixed}");
    assert_eq!(fixed["status"]["warnings"], json!([]), "{fixed}");
    t.app.shutdown().await;
}
both_dbs!(an_identity_on_a_webhook_channel_carries_a_warning_until_a_bot_token_is_added);
