//! The dispatcher driven by hand with a controlled clock: pacing, Retry-After, backoff bounds, window release and
//! coalescing limits, without sleeping for real time.

use crate::support::{config_toml_full, seed_finding, Db, ADMIN_TOKEN};
use fence_server::workers::dispatcher::Dispatcher;
use fence_server::{App, ManualClock, RunningApp};
use fence_testkit::{Answer, FakeSlack};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;

/// Monday 2026-03-02 12:00 UTC.
pub const T0: i64 = 1_772_452_800_000;

pub struct Rig {
    pub app: RunningApp,
    pub clock: ManualClock,
    pub dispatcher: Arc<Dispatcher>,
    pub scheduler: fence_server::workers::scheduler::Scheduler,
    pub slack: FakeSlack,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Rig {
    pub async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.app.url()))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("get");
        r.json().await.unwrap_or(Value::Null)
    }

    pub async fn new(start: i64) -> Rig {
        Self::with_delivery(start, "").await
    }

    /// A rig whose `[delivery]` section has `delivery` too (e.g. `max_retry_age = "20s"`).
    pub async fn with_delivery(start: i64, delivery: &str) -> Rig {
        Self::with_config(start, "", delivery).await
    }

    /// A rig with `extra` top-level configuration and `delivery` in its `[delivery]` section.
    pub async fn with_config(start: i64, extra: &str, delivery: &str) -> Rig {
        Self::on(&Db::Sqlite, start, extra, delivery).await
    }

    /// A rig on `db`: several rigs on one PostgreSQL database are several processes sharing it.
    pub async fn on(db: &Db, start: i64, extra: &str, delivery: &str) -> Rig {
        let slack = FakeSlack::start().await.expect("fake slack");
        let dir = tempfile::tempdir().expect("tempdir");
        let config = fence_server::Config::from_sources(
            Some(&config_toml_full(dir.path(), db, extra, delivery)),
            None,
            &[],
        )
        .expect("config");
        let clock = ManualClock::new(start);
        let (app, _) = App::build(config, Arc::new(clock.clone()))
            .await
            .expect("build");
        let app = app.start_with(false).await.expect("start");
        let dispatcher = Arc::new(Dispatcher::new(app.state.clone()));
        let scheduler = fence_server::workers::scheduler::Scheduler::new(app.state.clone());
        Rig {
            app,
            clock,
            dispatcher,
            scheduler,
            slack,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.app.url()))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .expect("post");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn channel(&self, hook: &str, extra: Value) {
        let mut body = json!({"name": hook, "webhook_url": self.slack.webhook_url(hook)});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            body[k] = v;
        }
        let (s, v) = self.post("/api/v1/channels", body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }

    pub async fn finding(&self, title: &str, severity: &str) {
        let (s, v) = self
            .post(
                "/api/v1/findings",
                json!({"domain": "example.com", "title": title, "severity": severity}),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    }

    /// Moves the clock and runs one dispatcher pass; returns how many messages it started.
    pub async fn at(&self, ms_after_t0: i64) -> usize {
        self.clock.set_ms(T0 + ms_after_t0);
        self.dispatcher.run_once().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_message_per_second_per_destination_and_what_waits_is_coalesced() {
    let r = Rig::new(T0).await;
    r.channel("paced", json!({})).await;
    r.finding("first", "high").await;
    assert_eq!(r.at(0).await, 1, "an idle destination sends at once");
    r.finding("second", "high").await;
    r.finding("third", "critical").await;
    assert_eq!(r.at(0).await, 0);
    assert_eq!(r.at(999).await, 0, "not before the next slot");
    assert_eq!(r.at(1000).await, 1, "exactly at the next slot");
    let got = r.slack.accepted("paced");
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[1].body["text"],
        "🚨 2 new vulnerabilities: 1 critical, 1 high"
    );
    assert_eq!(r.at(5000).await, 0, "nothing left");
    r.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_slot_counts_from_slacks_answer_so_a_slow_send_never_crowds_the_next() {
    let r = Rig::new(T0).await;
    r.channel("slowpoke", json!({})).await;
    r.slack.script(
        "slowpoke",
        [Answer::Slow(std::time::Duration::from_millis(400))],
    );
    r.finding("first", "high").await;
    r.clock.set_ms(T0);
    let pass = {
        let d = r.dispatcher.clone();
        tokio::spawn(async move { d.run_once().await })
    };
    // Slack takes its time: 700 ms pass on the clock between the request's arrival and Slack's answer.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while r.slack.arrived() == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(r.slack.arrived(), 1, "the first message is on its way");
    r.clock.set_ms(T0 + 700);
    assert_eq!(pass.await.expect("pass"), 1);
    assert_eq!(r.slack.accepted("slowpoke").len(), 1);
    r.finding("second", "critical").await;
    // The request may have reached Slack as late as its answer: a second second counted from the start would let
    // the next message arrive 300 ms after it.
    assert_eq!(
        r.at(1000).await,
        0,
        "a second after the send began is too soon"
    );
    assert_eq!(
        r.at(1699).await,
        0,
        "not a millisecond before a second after the answer"
    );
    assert_eq!(r.at(1700).await, 1);
    assert_eq!(r.slack.accepted("slowpoke").len(), 2);
    r.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_waits_exactly_retry_after() {
    let r = Rig::new(T0).await;
    r.channel("limited", json!({})).await;
    r.slack.script("limited", [Answer::RateLimited(30)]);
    r.finding("x", "high").await;
    assert_eq!(r.at(0).await, 1);
    assert_eq!(r.slack.requests("limited")[0].status, 429);
    assert_eq!(r.at(29_999).await, 0, "not a millisecond early");
    assert_eq!(r.at(30_000).await, 1);
    assert_eq!(r.slack.accepted("limited").len(), 1);
    r.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_back_off_exponentially_within_bounds() {
    let r = Rig::new(T0).await;
    r.channel("flaky", json!({})).await;
    r.slack.script(
        "flaky",
        [
            Answer::Status(500, "rollup_error".into()),
            Answer::Status(500, "rollup_error".into()),
        ],
    );
    r.finding("x", "high").await;
    assert_eq!(r.at(0).await, 1, "first attempt fails");
    // Attempt 2 is due 0.5–1 s later (and the lane's pace is 1 s): never before 500 ms, certainly by 1 s.
    assert_eq!(r.at(499).await, 0);
    let mut t = 499;
    while r.slack.requests("flaky").len() < 2 {
        assert!(t < 1000, "second attempt by 1 s");
        t = (t + 50).min(1000);
        r.at(t).await;
    }
    let second = t;
    // Attempt 3 is due 1–2 s after the second.
    assert_eq!(r.at(second + 999).await, 0, "backoff doubled");
    let mut t = second + 999;
    while r.slack.accepted("flaky").is_empty() {
        assert!(t < second + 2000, "third attempt by 2 s after the second");
        t = (t + 50).min(second + 2000);
        r.at(t).await;
    }
    r.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_outside_the_window_wait_and_go_out_coalesced_when_it_opens() {
    // Saturday 2026-03-07 17:00 UTC = 12:00 EST.
    let saturday = 1_772_902_800_000;
    let r = Rig::new(saturday).await;
    r.channel(
        "office",
        json!({"filters": {"schedule": {"days": ["mon","tue","wed","thu","fri"], "start": "09:00", "end": "18:00", "timezone": "America/New_York"}}}),
    )
    .await;
    for i in 0..3 {
        r.finding(&format!("weekend {i}"), "critical").await;
    }
    r.clock.set_ms(saturday);
    assert_eq!(r.dispatcher.run_once().await, 0, "closed on Saturday");
    // Monday 2026-03-09 09:00 EDT (DST began on Sunday) = 13:00 UTC.
    let opening = 1_773_061_200_000;
    r.clock.set_ms(opening - 1);
    assert_eq!(r.dispatcher.run_once().await, 0, "not a millisecond early");
    r.clock.set_ms(opening);
    assert_eq!(r.dispatcher.run_once().await, 1);
    let got = r.slack.accepted("office");
    assert_eq!(got[0].body["text"], "🚨 3 new vulnerabilities: 3 critical");
    r.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_any_size_is_counted_in_one_message_within_slack_limits() {
    let r = Rig::new(T0).await;
    // Only medium findings mention, and the message lists none of them (200 criticals come first): the mention
    // comes from findings the message counts but does not carry.
    r.channel("big", json!({"mentions": {"medium": ["<@U0MEDIUM01>"]}}))
        .await;
    r.finding("warm-up", "low").await;
    assert_eq!(r.at(0).await, 1);
    for batch in 0..4 {
        let findings: Vec<Value> = (0..2500)
            .map(|i| json!({"domain": format!("h{i}.example.com"), "title": format!("<b{batch}> finding {i}"), "severity": if i % 50 == 0 { "critical" } else { "medium" }, "cvss": if i % 50 == 0 { 9.1 } else { 5.0 }}))
            .collect();
        let (s, v) = r
            .post("/api/v1/findings", json!({"findings": findings}))
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    }
    assert_eq!(r.at(1000).await, 1, "one message for the whole burst");
    let got = r.slack.accepted("big");
    let msg = &got[1].body;
    assert_eq!(
        msg["text"],
        "🚨 10000 new vulnerabilities: 200 critical, 9800 medium <@U0MEDIUM01>"
    );
    fence_slack::limits::check_message(msg).expect("within Block Kit limits");
    let blocks = msg["attachments"][0]["blocks"].as_array().expect("blocks");
    assert!(
        blocks[1]["text"]["text"]
            .as_str()
            .unwrap_or_default()
            .starts_with("🔴"),
        "most severe first"
    );
    let last = blocks
        .last()
        .and_then(|b| b["elements"][0]["text"].as_str())
        .unwrap_or_default();
    assert!(
        last.starts_with("…and 9985 more (185 critical, 9800 medium)"),
        "{last}"
    );
    let _ = seed_finding;
    r.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_findings_are_reminded_every_period_until_handled() {
    const HOUR: i64 = 3_600_000;
    let r = Rig::new(T0).await;
    r.channel(
        "remind",
        json!({"reminders": {"every": "24h", "severities": ["critical"]}}),
    )
    .await;
    let (_, crit) = r
        .post(
            "/api/v1/findings",
            json!({"domain": "example.com", "title": "still open", "severity": "critical"}),
        )
        .await;
    let crit_id = crit["ids"][0].as_str().expect("id").to_string();
    r.finding("high one", "high").await;
    assert_eq!(r.at(0).await, 1, "the new findings");

    r.clock.set_ms(T0 + 23 * HOUR);
    assert_eq!(
        r.scheduler.tick().await.expect("tick"),
        0,
        "not before 24 h"
    );
    r.clock.set_ms(T0 + 24 * HOUR);
    assert_eq!(
        r.scheduler.tick().await.expect("tick"),
        1,
        "only the critical finding is reminded"
    );
    assert_eq!(r.at(24 * HOUR).await, 1);
    let got = r.slack.accepted("remind");
    assert_eq!(
        got[1].body["text"],
        "⏰ Reminder: Critical finding still open"
    );
    assert!(
        got[1].body.to_string().contains("(1 day)"),
        "{}",
        got[1].body
    );

    r.clock.set_ms(T0 + 24 * HOUR + 2 * 60_000);
    assert_eq!(
        r.scheduler.tick().await.expect("tick"),
        0,
        "once per period"
    );

    // Snoozed: silent until the snooze ends.
    r.clock.set_ms(T0 + 30 * HOUR);
    let (s, _) = r
        .post(
            &format!("/api/v1/findings/{crit_id}/snooze"),
            json!({"hours": 24}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    r.clock.set_ms(T0 + 48 * HOUR);
    assert_eq!(
        r.scheduler.tick().await.expect("tick"),
        0,
        "snoozed until +54 h"
    );
    r.clock.set_ms(T0 + 54 * HOUR);
    assert_eq!(
        r.scheduler.tick().await.expect("tick"),
        2,
        "reminded again once the snooze ended, and told that it ended"
    );

    // False positive: never again.
    let (s, _) = r
        .post(
            &format!("/api/v1/findings/{crit_id}/false-positive"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    r.clock.set_ms(T0 + 100 * HOUR);
    assert_eq!(r.scheduler.tick().await.expect("tick"), 0);
    r.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_waiting_for_its_window_is_dropped_if_the_finding_is_triaged_meanwhile() {
    // Saturday 2026-03-07 17:00 UTC; the window opens Monday 13:00 UTC.
    let saturday = 1_772_902_800_000;
    let opening = 1_773_061_200_000;
    let r = Rig::new(saturday).await;
    r.channel("office", json!({"filters": {"schedule": {"days": ["mon","tue","wed","thu","fri"], "start": "09:00", "end": "18:00", "timezone": "America/New_York"}}})).await;
    let (_, fp) = r
        .post(
            "/api/v1/findings",
            json!({"domain": "example.com", "title": "noise", "severity": "critical"}),
        )
        .await;
    r.post(
        "/api/v1/findings",
        json!({"domain": "example.com", "title": "real", "severity": "high"}),
    )
    .await;
    let id = fp["ids"][0].as_str().expect("id").to_string();
    r.post(&format!("/api/v1/findings/{id}/false-positive"), json!({}))
        .await;
    r.clock.set_ms(opening);
    r.dispatcher.run_once().await;
    let got = r.slack.accepted("office");
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].body["text"], "🟠 High Severity Vulnerability Detected",
        "the false positive is not announced: {}",
        got[0].body
    );
    r.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_message_never_jumps_the_pace_of_a_busy_channel() {
    let r = Rig::new(T0).await;
    let url = r.slack.webhook_url("busy");
    // Another sender holds the destination's lane (a burst in progress).
    let destination = r.app.state.secrets.destination_key(&url);
    assert!(r
        .app
        .state
        .store
        .claim_lane(&destination, "someone-else", T0, 60_000)
        .await
        .expect("claim"));
    let (_, answer) = r
        .post("/api/v1/channels/test", json!({"webhook_url": url}))
        .await;
    assert_eq!(answer["ok"], false);
    assert_eq!(answer["error"], "busy");
    assert!(
        r.slack.requests("busy").is_empty(),
        "nothing was sent out of pace"
    );
    r.app.shutdown().await;
}

/// Sixty sends that Slack accepts at the same moment are recorded together (one shared commit): each channel's
/// delivery is sent once, every lane is free again with its own next slot, and none sends early.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_finishing_together_are_each_recorded_and_free_their_lanes() {
    let r = Rig::new(T0).await;
    let hooks: Vec<String> = (0..60).map(|i| format!("many{i}")).collect();
    for h in &hooks {
        r.channel(h, json!({})).await;
    }
    r.finding("first", "high").await;
    assert_eq!(r.at(0).await, 60, "every idle destination at once");
    let sent = r.get("/api/v1/deliveries?state=sent&limit=1000").await;
    assert_eq!(
        sent["deliveries"].as_array().map(Vec::len),
        Some(60),
        "{sent}"
    );
    let pending = r.get("/api/v1/deliveries?state=sending&limit=1000").await;
    assert_eq!(pending["deliveries"].as_array().map(Vec::len), Some(0));
    r.finding("second", "high").await;
    assert_eq!(r.at(999).await, 0, "each lane keeps its pace");
    assert_eq!(r.at(1000).await, 60, "and every lane was given back");
    for h in &hooks {
        assert_eq!(r.slack.accepted(h).len(), 2, "{h}");
    }
    r.app.shutdown().await;
}
