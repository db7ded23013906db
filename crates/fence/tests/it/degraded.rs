//! Bot-token channels whose bot Slack refuses: `not_in_channel` and `missing_scope` on `chat.postMessage` send the
//! alert through the channel's webhook and show `degraded` with the fix; the membership re-check (every 5 minutes,
//! `conversations.info`) returns the channel to the bot by itself; nothing is lost when the webhook fails too; and
//! errors of `chat.update` or of look-ups never break a channel. Time is driven by hand (`ManualClock`).

use crate::both_dbs;
use crate::support::{config_toml_full, seed_finding, Db, ADMIN_TOKEN};
use fence_server::workers::dispatcher::Dispatcher;
use fence_server::workers::scheduler::Scheduler;
use fence_server::{App, ManualClock, RunningApp};
use fence_testkit::{Answer, FakeSlack, Limit, RateLimits, BOT_TOKEN};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;

/// Monday 2026-03-02 12:00 UTC.
const T0: i64 = 1_772_452_800_000;
const MINUTE: i64 = 60_000;
/// A bot that was never invited and may not post in public channels it is not in.
const UNINVITED: &str = "xoxb-uninvited";
const UNINVITED_SCOPES: &[&str] = &[
    "incoming-webhook",
    "commands",
    "chat:write",
    "channels:read",
    "groups:read",
];

/// Fence without its background workers, against the fake Slack, on a clock moved by hand.
struct Rig {
    app: RunningApp,
    clock: ManualClock,
    dispatcher: Arc<Dispatcher>,
    scheduler: Scheduler,
    slack: FakeSlack,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Rig {
    async fn new(db: Db) -> Rig {
        let slack = FakeSlack::start().await.expect("fake slack");
        slack.add_channel("C0SEC", "security-alerts");
        // The fake paces by real time; these tests move Fence's clock by hand and are not about pacing.
        slack.set_rate_limits(RateLimits::unlimited());
        let dir = tempfile::tempdir().expect("tempdir");
        let toml = format!(
            "{}\n[slack]\napi_url = \"{}\"\n",
            config_toml_full(dir.path(), &db, "", ""),
            slack.api_url()
        );
        let config = fence_server::Config::from_sources(Some(&toml), None, &[]).expect("config");
        let clock = ManualClock::new(T0);
        let (app, _) = App::build(config, Arc::new(clock.clone()))
            .await
            .expect("build");
        let app = app.start_with(false).await.expect("start");
        Rig {
            dispatcher: Arc::new(Dispatcher::new(app.state.clone())),
            scheduler: Scheduler::new(app.state.clone()),
            app,
            clock,
            slack,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.app.url()))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        let s = r.status();
        let text = r.text().await.expect("body");
        (
            s,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await.1
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// A bot-token channel posting to `#security-alerts` (`C0SEC`) with `token`, its webhook the fake's `hook` —
    /// what Add to Slack creates. Returns its id.
    async fn bot_channel(&self, hook: &str, token: &str) -> String {
        let (s, v) = self
            .post(
                "/api/v1/channels",
                json!({"name": "Security", "webhook_url": self.slack.webhook_url(hook), "bot_token": token,
                       "channel_id": "C0SEC", "channel": "#security-alerts"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().expect("id").to_string()
    }

    /// Reports a finding; returns its id.
    async fn finding(&self, title: &str) -> String {
        let mut f = seed_finding();
        f["title"] = json!(title);
        let (s, v) = self.post("/api/v1/findings", f).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        v["ids"][0].as_str().expect("id").to_string()
    }

    /// Moves the clock and runs one dispatcher pass; returns how many sends it started.
    async fn at(&self, ms_after_t0: i64) -> usize {
        self.clock.set_ms(T0 + ms_after_t0);
        self.dispatcher.run_once().await
    }

    /// Moves the clock and runs the scheduler's due jobs (the membership re-check among them).
    async fn tick(&self, ms_after_t0: i64) {
        self.clock.set_ms(T0 + ms_after_t0);
        self.scheduler.tick().await.expect("tick");
    }

    async fn status(&self, id: &str) -> Value {
        self.get(&format!("/api/v1/channels/{id}")).await["status"].clone()
    }

    async fn deliveries(&self, state: &str) -> usize {
        self.get(&format!("/api/v1/deliveries?state={state}")).await["deliveries"]
            .as_array()
            .map_or(0, Vec::len)
    }

    fn texts(&self, hook: &str) -> Vec<String> {
        self.slack
            .accepted(hook)
            .iter()
            .map(|m| m.body.to_string())
            .collect()
    }
}

fn ok_posts(calls: &[fence_testkit::ApiCall]) -> Vec<&fence_testkit::ApiCall> {
    calls.iter().filter(|c| c.ok()).collect()
}

/// SLACK.md Addendum: without membership and without `chat:write.public`, `chat.postMessage` answers
/// `not_in_channel`; the channel's incoming webhook (SLACK.md §1, §8: the install's `incoming_webhook`) is not
/// affected and cannot thread. SLACK.md §9: `conversations.info` answers the channel with `is_member`.
async fn not_in_channel_falls_back_to_the_webhook_until_the_bot_is_invited(db: Db) {
    let r = Rig::new(db).await;
    r.slack.set_scopes(UNINVITED, UNINVITED_SCOPES);
    let id = r.bot_channel("fallback", UNINVITED).await;
    r.finding("SQL Injection in login form").await;
    assert_eq!(r.at(0).await, 1);

    let posts = r.slack.api_calls("chat.postMessage");
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].error(), Some("not_in_channel"));
    let hooked = r.slack.accepted("fallback");
    assert_eq!(hooked.len(), 1, "the alert arrives through the webhook");
    assert!(hooked[0].body["text"]
        .as_str()
        .unwrap_or_default()
        .contains("Critical"));
    assert!(
        hooked[0].body.get("thread_ts").is_none(),
        "webhook posts are not threaded"
    );
    let status = r.status(&id).await;
    assert_eq!(status["state"], "degraded", "{status}");
    assert_eq!(status["error"], "not_in_channel");
    let hint = status["hint"].as_str().unwrap_or_default();
    assert!(
        hint.contains("/invite @Fence to #security-alerts"),
        "{hint}"
    );
    assert_eq!(r.deliveries("sent").await, 1);
    let metrics = r
        .http
        .get(format!("{}/metrics", r.app.url()))
        .send()
        .await
        .expect("metrics");
    let metrics = metrics.text().await.expect("metrics body");
    assert!(metrics.contains("fence_channels_degraded 1"), "{metrics}");
    assert!(metrics.contains("fence_channels_broken 0"), "{metrics}");

    // While degraded, alerts go straight to the webhook: no refused chat.postMessage for each.
    r.finding("Second finding").await;
    assert_eq!(r.at(2_000).await, 1);
    assert_eq!(r.slack.api_calls("chat.postMessage").len(), 1);
    assert_eq!(r.slack.accepted("fallback").len(), 2);

    // The first re-check finds the bot still outside; it is invited; the next re-check is 5 minutes later.
    r.tick(3_000).await;
    assert_eq!(r.slack.api_calls("conversations.info").len(), 1);
    assert_eq!(r.status(&id).await["state"], "degraded");
    // A channel test goes through the bot: it answers Slack's refusal, and the channel stays degraded (not broken).
    let (_, test) = r
        .post(&format!("/api/v1/channels/{id}/test"), json!({}))
        .await;
    assert_eq!(test["ok"], false, "{test}");
    assert_eq!(test["error"], "not_in_channel");
    let status = r.status(&id).await;
    assert_eq!(status["state"], "degraded", "{status}");
    assert!(status["hint"]
        .as_str()
        .unwrap_or_default()
        .contains("/invite @Fence to #security-alerts"));
    r.slack.join("C0SEC", UNINVITED);
    r.tick(3_000 + MINUTE).await;
    assert_eq!(
        r.slack.api_calls("conversations.info").len(),
        1,
        "not before 5 minutes"
    );
    assert_eq!(r.status(&id).await["state"], "degraded");
    r.tick(3_000 + 5 * MINUTE).await;
    let checks = r.slack.api_calls("conversations.info");
    assert_eq!(checks.len(), 2);
    assert_eq!(checks[1].answer["channel"]["is_member"], true);
    let status = r.status(&id).await;
    assert_eq!(status["state"], "healthy", "{status}");

    r.finding("Third finding").await;
    assert_eq!(r.at(6 * MINUTE).await, 1);
    let posts = r.slack.api_calls("chat.postMessage");
    assert_eq!(
        posts.len(),
        3,
        "the refused alert, the refused test, the third alert"
    );
    assert!(posts[2].ok(), "{:?}", posts[2].answer);
    assert!(posts[2].body.to_string().contains("Third finding"));
    assert_eq!(
        r.slack.accepted("fallback").len(),
        2,
        "the webhook is no longer used"
    );
    let metrics = r
        .http
        .get(format!("{}/metrics", r.app.url()))
        .send()
        .await
        .expect("metrics");
    assert!(metrics
        .text()
        .await
        .expect("body")
        .contains("fence_channels_degraded 0"));
    r.app.shutdown().await;
}
both_dbs!(not_in_channel_falls_back_to_the_webhook_until_the_bot_is_invited);

/// SLACK.md Addendum: a method outside the token's scopes answers `missing_scope` with `needed`; the webhook still
/// works. A failing look-up (`conversations.info` is itself out of scope) leaves the channel degraded, not broken;
/// once the app is reinstalled with the scopes, the re-check returns the channel to the bot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_scope_degrades_naming_the_scope_and_a_failed_lookup_breaks_nothing() {
    let r = Rig::new(Db::Sqlite).await;
    let token = "xoxb-narrow";
    r.slack.set_scopes(
        token,
        &["incoming-webhook", "commands", "chat:write.public"],
    );
    let id = r.bot_channel("narrow", token).await;
    r.finding("SQL Injection in login form").await;
    assert_eq!(r.at(0).await, 1);
    let posts = r.slack.api_calls("chat.postMessage");
    assert_eq!(posts[0].error(), Some("missing_scope"));
    assert_eq!(posts[0].answer["needed"], "chat:write");
    assert_eq!(r.slack.accepted("narrow").len(), 1);
    let status = r.status(&id).await;
    assert_eq!(status["state"], "degraded", "{status}");
    assert_eq!(status["error"], "missing_scope");
    let hint = status["hint"].as_str().unwrap_or_default();
    assert!(
        hint.contains("the chat:write scope") && hint.contains("Reinstall"),
        "{hint}"
    );

    r.tick(1_000).await;
    let checks = r.slack.api_calls("conversations.info");
    assert_eq!(checks[0].error(), Some("missing_scope"));
    assert_eq!(
        r.status(&id).await["state"],
        "degraded",
        "a look-up error breaks nothing"
    );

    // Reinstalled: the grant now has the manifest's scopes.
    let manifest = fence_testkit::manifest::bot_scopes();
    let scopes: Vec<&str> = manifest.iter().map(String::as_str).collect();
    r.slack.set_scopes(token, &scopes);
    r.tick(1_000 + 5 * MINUTE).await;
    assert_eq!(r.status(&id).await["state"], "healthy");
    r.finding("After the reinstall").await;
    assert_eq!(r.at(6 * MINUTE).await, 1);
    let posts = r.slack.api_calls("chat.postMessage");
    assert_eq!(
        ok_posts(&posts).len(),
        1,
        "{:?}",
        posts.iter().map(|p| &p.answer).collect::<Vec<_>>()
    );
    assert_eq!(r.slack.accepted("narrow").len(), 1);
    r.app.shutdown().await;
}

/// SLACK.md Addendum (`not_in_channel`) and §1 (a revoked webhook answers `invalid_token`, permanent): with no
/// working way into the channel it is `broken` and holds the alert, naming both errors; once the bot is invited the
/// re-check (SLACK.md §9, `is_member`) releases it through the bot. A webhook failing for a while (SLACK.md §1:
/// 5xx is retryable) keeps the delivery for a retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_webhook_fails_too_nothing_is_lost() {
    let r = Rig::new(Db::Sqlite).await;
    r.slack.set_scopes(UNINVITED, UNINVITED_SCOPES);
    r.slack
        .set_default("revoked", Answer::Status(403, "invalid_token".into()));
    let id = r.bot_channel("revoked", UNINVITED).await;
    r.finding("SQL Injection in login form").await;
    assert_eq!(r.at(0).await, 1);
    let status = r.status(&id).await;
    assert_eq!(status["state"], "broken", "{status}");
    assert_eq!(status["error"], "not_in_channel");
    let hint = status["hint"].as_str().unwrap_or_default();
    assert!(
        hint.contains("/invite @Fence to #security-alerts") && hint.contains("invalid_token"),
        "{hint}"
    );
    assert_eq!(r.deliveries("held").await, 1);
    assert_eq!(r.at(5_000).await, 0, "a broken channel holds its alerts");

    r.slack.join("C0SEC", UNINVITED);
    r.tick(10_000).await;
    assert_eq!(r.status(&id).await["state"], "healthy");
    assert_eq!(r.at(11_000).await, 1);
    let posts = r.slack.api_calls("chat.postMessage");
    assert!(posts
        .last()
        .is_some_and(|p| p.ok() && p.body.to_string().contains("SQL Injection in login form")));
    assert_eq!(r.deliveries("held").await, 0);
    assert_eq!(r.deliveries("sent").await, 1);
    r.app.shutdown().await;

    // The webhook answers 500 once: the delivery waits for a retry, the channel is degraded, then it arrives.
    let r = Rig::new(Db::Sqlite).await;
    r.slack.set_scopes(UNINVITED, UNINVITED_SCOPES);
    r.slack
        .script("flaky", [Answer::Status(500, "rollup_error".into())]);
    let id = r.bot_channel("flaky", UNINVITED).await;
    r.finding("SQL Injection in login form").await;
    assert_eq!(r.at(0).await, 1);
    assert_eq!(r.status(&id).await["state"], "degraded");
    assert_eq!(r.deliveries("pending").await, 1);
    assert!(r.slack.accepted("flaky").is_empty());
    let mut t = 1_000;
    while r.slack.accepted("flaky").is_empty() && t < 10 * MINUTE {
        r.at(t).await;
        t += 1_000;
    }
    assert_eq!(
        r.slack.accepted("flaky").len(),
        1,
        "the retry goes through the webhook"
    );
    assert_eq!(
        r.slack.api_calls("chat.postMessage").len(),
        1,
        "no new refused bot call"
    );
    assert_eq!(r.deliveries("sent").await, 1);
    assert_eq!(r.status(&id).await["state"], "degraded");
    r.app.shutdown().await;
}

/// SLACK.md §2: `chat.update` is Tier 3 and answers 429 past its limit. A triaged alert's update that fails leaves
/// the follow-up posted and the channel healthy: only `chat.postMessage` refusals change a channel's health.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_chat_update_leaves_the_channel_healthy() {
    let r = Rig::new(Db::Sqlite).await;
    let id = r.bot_channel("unused", BOT_TOKEN).await;
    let finding = r.finding("SQL Injection in login form").await;
    assert_eq!(r.at(0).await, 1);
    assert_eq!(r.status(&id).await["state"], "healthy");
    r.slack.set_rate_limits(RateLimits {
        tier3: Limit {
            calls: 0,
            per: std::time::Duration::from_secs(60),
        },
        ..RateLimits::unlimited()
    });
    let (s, _) = r
        .post(
            &format!("/api/v1/findings/{finding}/false-positive"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r.at(2_000).await, 1);
    let updates = r.slack.api_calls("chat.update");
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].status, 429);
    let posts = r.slack.api_calls("chat.postMessage");
    assert_eq!(
        ok_posts(&posts).len(),
        2,
        "the alert and its follow-up in the thread"
    );
    assert!(posts[1].body["thread_ts"].is_string());
    let status = r.status(&id).await;
    assert_eq!(status["state"], "healthy", "{status}");
    assert!(r.texts("unused").is_empty(), "the webhook is not used");
    r.app.shutdown().await;
}

/// SLACK.md Addendum (`not_in_channel`): a user sees the degraded state and its fix in Settings → Notifications
/// and on the channel's page, with Fence running on its own (dispatcher and scheduler in the background).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_show_a_degraded_channel_with_its_fix() {
    let t = crate::support::TestApp::spawn(Db::Sqlite).await;
    t.slack.set_rate_limits(RateLimits::unlimited());
    t.slack.add_channel("C0SEC", "security-alerts");
    t.slack.set_scopes(UNINVITED, UNINVITED_SCOPES);
    let id = t
        .channel(
            "web",
            json!({"bot_token": UNINVITED, "channel_id": "C0SEC", "channel": "#security-alerts"}),
        )
        .await;
    t.post("/api/v1/findings", seed_finding()).await;
    let got = t
        .slack
        .wait_accepted("web", 1, std::time::Duration::from_secs(10))
        .await;
    assert_eq!(got.len(), 1, "the alert arrives through the webhook");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while t.get(&format!("/api/v1/channels/{id}")).await.1["status"]["state"] != "degraded" {
        assert!(
            std::time::Instant::now() < deadline,
            "channel never degraded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let password = "degraded-test-password-1";
    crate::browser::add_user(&t, "lead@example.com", password, "admin").await;
    let (_, cookie) = crate::browser::login(&t, "lead@example.com", password).await;
    let cookie = cookie.expect("a session cookie");
    for path in [
        "/settings/notifications".to_string(),
        format!("/settings/notifications/{id}"),
    ] {
        let page = t
            .http
            .get(format!("{}{path}", t.url))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("page");
        assert_eq!(page.status(), StatusCode::OK);
        // The page escapes `/` as `&#x2f;`; a browser shows "/invite @Fence to #security-alerts".
        let html = page.text().await.expect("html").replace("&#x2f;", "/");
        assert!(html.contains("not_in_channel"), "{path}: {html}");
        assert!(
            html.contains("/invite @Fence to #security-alerts"),
            "{path}: {html}"
        );
    }
    t.app.shutdown().await;
}
