//! Fence against a Slack as strict as the real one (the test kit's fake, SLACK.md with its Addendum): scopes per
//! method, channel membership, identity overrides, Block Kit rules and rate limits. Each test asserts what a user
//! would notice, and names the SLACK.md fact it relies on.

use crate::support::{seed_finding, Db, TestApp};
use fence_testkit::{Install, Limit, RateLimits, BOT_TOKEN};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

/// Waits until the channel's status is `state`; returns the channel.
async fn wait_state(t: &TestApp, id: &str, state: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, c) = t.get(&format!("/api/v1/channels/{id}")).await;
        if c["status"]["state"] == state {
            return c;
        }
        assert!(Instant::now() < deadline, "channel {state}: {c}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Installs Fence through the fake's consent screen with the scopes Fence's Add to Slack asks for, the webhook and
/// channel picked being `#security-alerts` (`C0SEC`); returns the bot token the grant gave.
pub(crate) async fn add_to_slack(t: &TestApp) -> String {
    let admin = crate::slack_install::session_of(t, "default", "admin").await;
    let (_, location, _, nonce) = crate::slack_install::start(t, Some(&admin)).await;
    let cookies = format!("{admin}; {}", nonce.split(';').next().unwrap_or_default());
    let install = Install {
        team_id: "T0ACME".into(),
        channel_id: "C0SEC".into(),
        channel_name: "security-alerts".into(),
        hook: "installed".into(),
    };
    let back = t
        .slack
        .consent(&location, &install)
        .expect("Slack grants every scope Fence asks for: the manifest declares them");
    let back = back.replace("https://fence.test", &t.url);
    let page = t
        .http
        .get(back)
        .header("cookie", cookies)
        .send()
        .await
        .expect("callback");
    assert_eq!(page.status(), StatusCode::OK);
    let calls = t.slack.api_calls("oauth.v2.access");
    calls[0].answer["access_token"]
        .as_str()
        .expect("token")
        .to_string()
}

/// SLACK.md §6 and Addendum: a bot may post to a public channel it was not invited to only with
/// `chat:write.public`, and overrides its name and icon only with `chat:write.customize`. A workspace that installed
/// Fence with Add to Slack gets alerts in the channel it picked (the bot is not a member), under the white-label
/// name, with `@name` and `#channel` mentions resolved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_to_slack_grants_every_scope_fence_uses() {
    let t = TestApp::spawn(Db::Sqlite).await;
    t.slack.add_channel("C0SEC", "security-alerts");
    t.slack.add_user("U0ALICE", "alice");
    t.slack.add_group("S0SECTEAM", "security-team");
    let token = add_to_slack(&t).await;
    assert!(
        t.slack
            .scopes(&token)
            .contains(&"chat:write.public".to_string()),
        "{:?}",
        t.slack.scopes(&token)
    );
    let (_, channels) = t.get("/api/v1/channels").await;
    let id = channels["channels"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let (s, c) = t
        .patch(
            &format!("/api/v1/channels/{id}"),
            json!({"identity": {"username": "Acme Security", "icon_emoji": ":shield:"},
                   "mentions": {"critical": ["@security-team", "@alice", "#security-alerts"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    t.post("/api/v1/findings", seed_finding()).await;
    let posts = t
        .slack
        .wait_until_api("chat.postMessage", WAIT, |p| p.iter().any(|c| c.ok()))
        .await;
    let post = posts.iter().find(|c| c.ok()).expect("posted");
    assert!(
        posts.iter().all(|c| c.ok()),
        "{:?}",
        posts.iter().map(|c| &c.answer).collect::<Vec<_>>()
    );
    assert_eq!(
        post.shown_as,
        json!({"username": "Acme Security", "icon_emoji": ":shield:"})
    );
    assert_eq!(
        post.body["text"],
        "🚨 Critical Vulnerability Detected <!subteam^S0SECTEAM> <@U0ALICE> <#C0SEC>"
    );
    t.app.shutdown().await;
}

/// SLACK.md Addendum: a private channel the bot is not in does not exist for it (`channel_not_found`), even with
/// `chat:write.public`; the channel is broken with the seed's hint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_channel_without_the_bot_is_channel_not_found() {
    let t = TestApp::spawn(Db::Sqlite).await;
    t.slack.add_private_channel("G0SEC", "secret-alerts");
    let id = t
        .channel(
            "unused",
            json!({"bot_token": BOT_TOKEN, "channel_id": "G0SEC"}),
        )
        .await;
    t.post("/api/v1/findings", seed_finding()).await;
    let c = wait_state(&t, &id, "broken").await;
    assert_eq!(c["status"]["error"], "channel_not_found");
    t.app.shutdown().await;
}

/// SLACK.md Addendum: a method outside the token's scopes answers `missing_scope` with `needed`. A bot token
/// without `channels:read` cannot list channels, so a `#channel` mention is refused at save, naming the scope.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_scope_is_refused_at_save_naming_the_scope() {
    let t = TestApp::spawn(Db::Sqlite).await;
    t.slack.add_channel("C0SEC", "security-alerts");
    let token = "xoxb-no-channels-read";
    t.slack.set_scopes(
        token,
        &[
            "chat:write",
            "chat:write.public",
            "users:read",
            "usergroups:read",
        ],
    );
    let (s, e) = t
        .post(
            "/api/v1/channels",
            json!({"name": "x", "webhook_url": t.slack.webhook_url("x"), "bot_token": token, "channel_id": "C0SEC",
                   "mentions": {"critical": ["#security-alerts"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let message = e["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("missing_scope") && message.contains("channels:read"),
        "{e}"
    );
    let calls = t.slack.api_calls("conversations.list");
    assert_eq!(calls[0].answer["needed"], "channels:read,groups:read");
    t.app.shutdown().await;
}

/// SLACK.md §1 and §7: Slack refuses Block Kit it does not accept (`invalid_blocks`, 400 on webhooks). Every
/// message of a burst — single alerts and a coalesced one — passes Slack's rules on a webhook and a bot channel, so
/// none falls back to plain text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_and_coalesced_alerts_pass_slacks_block_kit_rules() {
    let t = TestApp::spawn(Db::Sqlite).await;
    t.slack.add_channel("C0SEC", "security-alerts");
    t.channel("hook", json!({})).await;
    t.channel(
        "unused",
        json!({"bot_token": BOT_TOKEN, "channel_id": "C0SEC"}),
    )
    .await;
    t.post("/api/v1/findings", seed_finding()).await;
    let burst: Vec<Value> = (0..12)
        .map(|i| json!({"domain": "example.com", "title": format!("Finding {i}"), "severity": if i % 2 == 0 { "critical" } else { "high" },
                        "affected_url": format!("https://example.com/p{i}")}))
        .collect();
    let (s, _) = t.post("/api/v1/findings", json!({"findings": burst})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let got = t
        .slack
        .wait_until("hook", WAIT, |m| fence_testkit::count_findings(m) >= 13)
        .await;
    assert_eq!(fence_testkit::count_findings(&got), 13);
    let refused: Vec<(u16, Value)> = t
        .slack
        .requests("hook")
        .into_iter()
        .filter(|r| r.status != 200)
        .map(|r| (r.status, r.body))
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    // Block Kit in the message or in its attachment: not the plain-text fallback.
    assert!(
        got.iter()
            .all(|m| m.body.to_string().contains("\"blocks\"")),
        "plain-text fallback: {got:?}"
    );
    t.slack
        .wait_until_api("chat.postMessage", WAIT, |p| p.iter().any(|c| c.ok()))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let posts = t.slack.api_calls("chat.postMessage");
    assert!(posts.iter().any(|c| c.ok()), "{posts:?}");
    let bad: Vec<&Value> = posts
        .iter()
        .filter(|c| !c.ok())
        .map(|c| &c.answer)
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
    t.app.shutdown().await;
}

/// SLACK.md §1: a webhook answers 400 `invalid_blocks` to Block Kit Slack refuses. Should Slack refuse a rule Fence
/// does not know yet (scripted here, since Fence's checker and the fake now agree), Fence sends the alert again as
/// plain text, so it still arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_slack_refuses_fall_back_to_plain_text() {
    let t = TestApp::spawn(Db::Sqlite).await;
    t.channel("refusing", json!({})).await;
    t.slack.script(
        "refusing",
        [fence_testkit::Answer::Status(400, "invalid_blocks".into())],
    );
    t.post("/api/v1/findings", seed_finding()).await;
    let got = t.slack.wait_accepted("refusing", 1, WAIT).await;
    let requests = t.slack.requests("refusing");
    assert_eq!(requests[0].status, 400);
    assert!(
        requests[0].body.to_string().contains("\"blocks\""),
        "{:?}",
        requests[0].body
    );
    assert!(
        !got[0].body.to_string().contains("\"blocks\""),
        "plain text: {:?}",
        got[0].body
    );
    assert!(got[0].all_text().contains("SQL Injection in login form"));
    t.app.shutdown().await;
}

/// SLACK.md §7: Slack refuses a header with empty text. A template whose header renders empty for one finding
/// (here: one without remediation) is caught by Fence's own checker before Slack sees it: that finding goes out as
/// Fence's default message, nothing reaches Slack that it refuses, and the channel warns about its template.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_rendering_what_slack_refuses_is_caught_before_sending() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let template = r#"{"text": "{{ title }}", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "{{ remediation }}"}}]}"#;
    let id = t
        .channel(
            "tpl",
            json!({"template": template, "alert_types": ["vulnerability"]}),
        )
        .await;
    let mut f = seed_finding();
    f.as_object_mut().expect("object").remove("remediation");
    t.post("/api/v1/findings", f).await;
    let got = t.slack.wait_accepted("tpl", 1, WAIT).await;
    assert!(
        t.slack.requests("tpl").iter().all(|r| r.status == 200),
        "nothing Slack refuses was sent"
    );
    assert_ne!(
        got[0].body["blocks"][0]["text"]["text"], "",
        "{:?}",
        got[0].body
    );
    assert!(got[0].all_text().contains("SQL Injection in login form"));
    let (_, c) = t.get(&format!("/api/v1/channels/{id}")).await;
    let warning = c["status"]["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.contains("blocks[0].text must have 1–150 characters"),
        "{c}"
    );
    t.app.shutdown().await;
}

/// Each of the three findings is in a message Slack accepted.
fn all_three_posted(posts: &[fence_testkit::ApiCall]) -> bool {
    (0..3).all(|i| {
        let title = format!("Separate {i}");
        posts
            .iter()
            .any(|c| c.ok() && c.body.to_string().contains(&title))
    })
}

/// Three findings 300 ms apart to a bot channel: each reaches Slack, and Slack never had to refuse a post with 429.
async fn three_findings_reach_a_bot_channel_within_its_pace(t: TestApp) {
    t.slack.add_channel("C0SEC", "security-alerts");
    t.channel(
        "unused",
        json!({"bot_token": BOT_TOKEN, "channel_id": "C0SEC"}),
    )
    .await;
    for i in 0..3 {
        t.post(
            "/api/v1/findings",
            json!({"domain": "example.com", "title": format!("Separate {i}"), "severity": "critical"}),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let posts = t
        .slack
        .wait_until_api("chat.postMessage", WAIT, all_three_posted)
        .await;
    assert!(all_three_posted(&posts), "every finding reached Slack");
    let limited = posts.iter().filter(|c| c.status == 429).count();
    assert_eq!(limited, 0, "Fence posted faster than Slack allows");
    t.app.shutdown().await;
}

/// SLACK.md §2: `chat.postMessage` allows one message per second per channel (429 with `Retry-After` beyond); the
/// fake holds Fence to Slack's documented limits. Fence paces a bot channel's alerts so Slack never has to refuse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_channel_stays_within_one_message_per_second() {
    three_findings_reach_a_bot_channel_within_its_pace(TestApp::spawn(Db::Sqlite).await).await;
}

/// SLACK.md §2 again, with `delivery.rate_per_second` raised for fast webhooks: a bot channel still gets at most one
/// `chat.postMessage` a second, since that is Slack's limit per channel whatever Fence's setting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faster_delivery_rate_never_hurries_a_bot_channel() {
    let t = TestApp::spawn_full(Db::Sqlite, "", "rate_per_second = 5").await;
    three_findings_reach_a_bot_channel_within_its_pace(t).await;
}

/// The fake itself answers as SLACK.md §2 says: a second `chat.postMessage` to a channel within a second is a 429
/// with `Retry-After`, another channel is unaffected, and Tier 2 methods allow 20 calls a minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_rate_limits_as_slack_documents() {
    let slack = fence_testkit::FakeSlack::start().await.expect("fake");
    slack.add_channel("C1", "one");
    slack.add_channel("C2", "two");
    let http = reqwest::Client::new();
    let call = |method: &str, body: Value| {
        http.post(format!("{}/{method}", slack.api_url()))
            .bearer_auth(BOT_TOKEN)
            .json(&body)
            .send()
    };
    let msg = |c: &str| json!({"channel": c, "text": "hi"});
    assert_eq!(
        call("chat.postMessage", msg("C1"))
            .await
            .expect("post")
            .status(),
        200
    );
    let r = call("chat.postMessage", msg("C1")).await.expect("post");
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["retry-after"].to_str().ok()
        ),
        (429, Some("1"))
    );
    assert_eq!(
        call("chat.postMessage", msg("C2"))
            .await
            .expect("post")
            .status(),
        200
    );
    for _ in 0..20 {
        assert_eq!(
            call("users.list", json!({})).await.expect("list").status(),
            200
        );
    }
    assert_eq!(
        call("users.list", json!({})).await.expect("list").status(),
        429
    );
    // Configurable, for tests that are not about pacing.
    slack.set_rate_limits(RateLimits {
        tier2: Limit::UNLIMITED,
        ..RateLimits::default()
    });
    assert_eq!(
        call("users.list", json!({})).await.expect("list").status(),
        200
    );
    // Scopes: a method outside the grant is missing_scope, with what is needed and what was provided.
    slack.set_scopes(BOT_TOKEN, &["chat:write"]);
    let v: Value = call("usergroups.list", json!({}))
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(
        v,
        json!({"ok": false, "error": "missing_scope", "needed": "usergroups:read", "provided": "chat:write"})
    );
    // Overrides without chat:write.customize are ignored: Slack shows the bot's own name.
    slack.join("C2", BOT_TOKEN);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let _ = call(
        "chat.postMessage",
        json!({"channel": "C2", "text": "x", "username": "Mallory"}),
    )
    .await;
    let shown: Vec<Value> = slack
        .api_calls("chat.postMessage")
        .into_iter()
        .filter(|c| c.ok())
        .map(|c| c.shown_as)
        .collect();
    assert_eq!(shown.last(), Some(&json!({"username": "Fence"})));
}

/// SLACK.md §1, §5, §6 and §7: the fake refuses Block Kit Slack refuses wherever a message goes — 400
/// `invalid_blocks` on a webhook and a response URL, `ok: false` with `errors` on `chat.postMessage` — and a
/// Mattermost hook, which has no Block Kit (§10), is not checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_refuses_invalid_blocks_on_every_path() {
    let slack = fence_testkit::FakeSlack::start().await.expect("fake");
    slack.add_channel("C1", "one");
    let http = reqwest::Client::new();
    let bad = json!({"text": "x", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": ""}}]});
    let r = http
        .post(slack.webhook_url("h"))
        .json(&bad)
        .send()
        .await
        .expect("webhook");
    assert_eq!(
        (r.status().as_u16(), r.text().await.expect("body")),
        (400, "invalid_blocks".to_string())
    );
    assert!(slack.accepted("h").is_empty());
    let r = http
        .post(slack.response_url("r"))
        .json(&bad)
        .send()
        .await
        .expect("response url");
    assert_eq!(r.status().as_u16(), 400);
    assert!(slack.responses("r").is_empty());
    let mut post = bad.clone();
    post["channel"] = json!("C1");
    let v: Value = http
        .post(format!("{}/chat.postMessage", slack.api_url()))
        .bearer_auth(BOT_TOKEN)
        .json(&post)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(
        (v["ok"].clone(), v["error"].clone()),
        (json!(false), json!("invalid_blocks"))
    );
    assert!(
        v["errors"][0]
            .as_str()
            .unwrap_or_default()
            .contains("blocks[0].text"),
        "{v}"
    );
    let r = http
        .post(slack.mattermost_url("mm"))
        .json(&bad)
        .send()
        .await
        .expect("mattermost");
    assert_eq!(r.status().as_u16(), 200);
}

/// SLACK.md §1, §2 and §10: a message with nothing to show is refused before posting — Slack with `400 no_text`,
/// Mattermost with a 400 `AppError` — and, posting nothing, does not use the webhook's one message a second; a second
/// message within the second does. Fence's outage probes rely on both.
#[tokio::test]
async fn the_fake_refuses_an_empty_message_before_posting_and_paces_only_what_it_posts() {
    let slack = fence_testkit::FakeSlack::start().await.expect("fake slack");
    slack.enforce_rate(1.0);
    let http = reqwest::Client::new();
    let post = |url: String, body: Value| {
        let http = http.clone();
        async move {
            let r = http.post(url).json(&body).send().await.expect("post");
            (r.status().as_u16(), r.text().await.expect("body"))
        }
    };
    let hook = slack.webhook_url("paced");
    assert_eq!(
        post(hook.clone(), json!({"text": ""})).await,
        (400, "no_text".to_string())
    );
    assert_eq!(post(hook.clone(), json!({"text": "hi"})).await.0, 200);
    assert_eq!(
        post(hook, json!({"text": "again"})).await.0,
        429,
        "the second message within the second"
    );
    let (status, body) = post(slack.mattermost_url("mm"), json!({"text": ""})).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("web.incoming_webhook.text.app_error"),
        "{body}"
    );
    assert!(slack.accepted("mm").is_empty() && slack.accepted("paced").len() == 1);
}
