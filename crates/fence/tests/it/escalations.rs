//! Escalation and Acknowledge with a controlled clock: what nobody acknowledged is escalated once per channel,
//! coalesced, with the escalation's mentions; acknowledged, triaged and uncovered findings are not; two processes on
//! one PostgreSQL database escalate a delivery once.

use crate::pacing::{Rig, T0};
use crate::support::{Db, ADMIN_TOKEN};
use reqwest::StatusCode;
use serde_json::{json, Value};

const MIN: i64 = 60_000;

async fn finding(r: &Rig, title: &str, severity: &str) -> String {
    let (s, v) = r
        .post(
            "/api/v1/findings",
            json!({"domain": "shop.example.com", "title": title, "severity": severity}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    v["ids"][0].as_str().expect("id").to_string()
}

fn escalations(r: &Rig, hook: &str) -> Vec<Value> {
    r.slack
        .accepted(hook)
        .into_iter()
        .map(|m| m.body)
        .filter(|b| b.to_string().contains("Unacknowledged for"))
        .collect()
}

/// Runs the scheduler at `at` after T0, then the dispatcher.
async fn pass(r: &Rig, at: i64) {
    r.clock.set_ms(T0 + at);
    r.scheduler.tick().await.expect("scheduler pass");
    r.dispatcher.run_once().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacknowledged_findings_are_escalated_once_coalesced_and_acknowledged_ones_are_not() {
    let r = Rig::new(T0).await;
    r.channel(
        "esc",
        json!({"escalation": {"after": "30m", "severities": ["critical", "high"], "mentions": ["<!subteam^S0SEC>"]}}),
    )
    .await;
    let crit = finding(&r, "Remote code execution in upload", "critical").await;
    let high = finding(&r, "Stored XSS in comments", "high").await;
    let low = finding(&r, "Verbose server banner", "low").await;
    assert_eq!(r.at(0).await, 1, "one coalesced alert");
    let alert = r.slack.accepted("esc")[0].body.to_string();
    assert!(
        alert.contains("acknowledge:"),
        "the alert's menus offer Acknowledge: {alert}"
    );

    // Acknowledged from the API: who and when, audited.
    let (s, acked) = r
        .post(&format!("/api/v1/findings/{high}/acknowledge"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{acked}");
    assert!(
        acked["acknowledged_by"]
            .as_str()
            .unwrap_or_default()
            .starts_with("token:"),
        "{acked}"
    );
    assert!(acked["acknowledged_at"].is_string(), "{acked}");
    let audit = r.get("/api/v1/audit").await;
    assert!(
        audit["audit"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .any(|e| e["action"] == "finding.acknowledged" && e["target"] == high.as_str()),
        "{audit}"
    );

    pass(&r, 29 * MIN).await;
    assert!(escalations(&r, "esc").is_empty(), "not yet");
    pass(&r, 31 * MIN).await;
    let esc = escalations(&r, "esc");
    assert_eq!(esc.len(), 1, "{esc:?}");
    let text = esc[0].to_string();
    assert!(
        text.contains("⏰ Unacknowledged for 30m: Remote code execution in upload"),
        "{text}"
    );
    assert!(
        text.contains("<!subteam^S0SEC>"),
        "the escalation's mentions: {text}"
    );
    assert!(
        !text.contains("Stored XSS") && !text.contains("Verbose server banner"),
        "{text}"
    );
    assert!(text.contains("acknowledge:"), "{text}");

    // Later passes escalate nothing again, across the scheduler's and the dispatcher's passes.
    pass(&r, 45 * MIN).await;
    pass(&r, 120 * MIN).await;
    assert_eq!(escalations(&r, "esc").len(), 1);

    // A burst of 40 unacknowledged findings: one escalation message, the worst listed, the rest counted.
    for i in 0..40 {
        finding(
            &r,
            &format!("Open redirect {i}"),
            if i < 5 { "critical" } else { "high" },
        )
        .await;
    }
    r.at(121 * MIN + 10).await;
    pass(&r, 160 * MIN).await;
    let esc = escalations(&r, "esc");
    assert_eq!(esc.len(), 2, "one more message for the whole burst");
    let burst = esc[1].to_string();
    assert!(
        burst.contains("Unacknowledged for 30m: 40 findings (5 critical, 35 high)"),
        "{burst}"
    );
    assert!(
        burst.contains("…and 25 more still unacknowledged."),
        "{burst}"
    );

    // Only an open finding can be acknowledged; the low one stays open and is never escalated.
    let (s, _) = r
        .post(&format!("/api/v1/findings/{crit}/resolve"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = r
        .post(&format!("/api/v1/findings/{crit}/acknowledge"), json!({}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let f = r.get(&format!("/api/v1/findings/{low}")).await;
    assert_eq!(f["status"], "open");
    assert_eq!(f["acknowledged_at"], Value::Null);
    r.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_rules_are_validated_and_name_their_field() {
    let r = Rig::new(T0).await;
    for (escalation, field) in [
        (json!({"after": "0s"}), "escalation.after"),
        (json!({"severities": ["critical"]}), "escalation.after"),
        (
            json!({"after": "5m", "severities": ["urgent"]}),
            "escalation.severities[0]",
        ),
        (
            json!({"after": "5m", "mentions": ["<@nope>"]}),
            "escalation.mentions[0]",
        ),
        (json!({"after": "5m", "to": "me"}), "escalation.to"),
    ] {
        let (s, v) = r
            .post(
                "/api/v1/channels",
                json!({"name": "bad", "webhook_url": r.slack.webhook_url("bad"), "escalation": escalation}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], field, "{v}");
    }
    let channels = r.get("/api/v1/channels").await;
    assert_eq!(
        channels["channels"].as_array().map(Vec::len),
        Some(0),
        "nothing stored"
    );
    r.app.shutdown().await;
}

/// Two processes (two apps on one PostgreSQL database, each with its scheduler and dispatcher) look for
/// escalations at the same moments: the delivery is escalated once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_escalate_a_finding_once() {
    let Some(db) = Db::postgres().await else {
        eprintln!("FENCE_TEST_DATABASE_URL is not set: the PostgreSQL variant did not run");
        return;
    };
    // Processes sharing a database share its secret key.
    let key = "secret_key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"";
    let a = Rig::on(&db, T0, key, "").await;
    let b = Rig::on(&db, T0, key, "").await;
    a.channel("esc", json!({"escalation": {"after": "1m"}}))
        .await;
    finding(&a, "SQL injection in search", "critical").await;
    assert_eq!(a.at(0).await, 1);
    for at in [2 * MIN, 3 * MIN, 10 * MIN] {
        a.clock.set_ms(T0 + at);
        b.clock.set_ms(T0 + at);
        let (x, y) = tokio::join!(a.scheduler.tick(), b.scheduler.tick());
        x.expect("a's pass");
        y.expect("b's pass");
        tokio::join!(a.dispatcher.run_once(), b.dispatcher.run_once());
    }
    let esc = escalations(&a, "esc");
    assert_eq!(esc.len(), 1, "{esc:?}");
    let d = reqwest::Client::new()
        .get(format!("{}/api/v1/deliveries?state=sent", b.app.url()))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("deliveries")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(
        d["deliveries"].as_array().map(Vec::len),
        Some(2),
        "the alert and one escalation: {d}"
    );
    a.app.shutdown().await;
    b.app.shutdown().await;
}

/// Acknowledge from Slack: whoever may triage; the alert keeps its other actions and says who acknowledged it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledge_from_slack_records_the_member_and_updates_the_alert() {
    use crate::slack_app::{click, connect, slack_post, value_of};
    let t = crate::support::TestApp::spawn(Db::Sqlite).await;
    connect(&t, "T0ACME").await;
    crate::slack_app::checkable(&t).await;
    t.channel("sec", json!({"escalation": {"after": "30m"}}))
        .await;
    let (_, f) = t
        .post("/api/v1/findings", crate::support::seed_finding())
        .await;
    let id = f["ids"][0].as_str().expect("id").to_string();
    let got = t
        .slack
        .wait_accepted("sec", 1, std::time::Duration::from_secs(10))
        .await;
    let buttons = got[0].body["attachments"][0]["blocks"][2]["elements"]
        .as_array()
        .cloned()
        .expect("buttons");
    let url = t.slack.response_url("ack");
    let (s, _) = slack_post(
        &t,
        "/api/slack/interactions",
        &click(
            "T0ACME",
            "U0ALICE",
            "acknowledge",
            "fence_finding",
            &value_of(&buttons, "acknowledge"),
            &url,
        ),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let answers = t
        .slack
        .wait_responses("ack", 2, std::time::Duration::from_secs(10))
        .await;
    let updated = answers
        .iter()
        .find(|a| a["replace_original"] == true)
        .expect("the alert, updated");
    let text = updated.to_string();
    assert!(text.contains("👀 Acknowledged by <@U0ALICE>"), "{text}");
    assert!(
        text.contains("false_positive:") && !text.contains("acknowledge:"),
        "other actions stay: {text}"
    );
    let (_, f) = t.get(&format!("/api/v1/findings/{id}")).await;
    assert_eq!(f["acknowledged_by"], "slack:U0ALICE", "{f}");
    // A second click is told who acknowledged it, and nothing is posted again.
    let again = t.slack.response_url("again");
    slack_post(
        &t,
        "/api/slack/interactions",
        &click(
            "T0ACME",
            "U0ALICE",
            "acknowledge",
            "fence_finding",
            &value_of(&buttons, "acknowledge"),
            &again,
        ),
        None,
    )
    .await;
    let answers = t
        .slack
        .wait_responses("again", 1, std::time::Duration::from_secs(10))
        .await;
    assert_eq!(answers[0]["response_type"], "ephemeral", "{answers:?}");
    assert!(
        answers[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Already acknowledged by <@U0ALICE>"),
        "{answers:?}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(t.slack.responses("again").len(), 1, "no second thread note");
    t.app.shutdown().await;
}

/// An escalation due outside the channel's time window waits for it to open, like any alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_waits_for_the_channels_time_window() {
    let r = Rig::new(T0).await;
    // Monday 12:00–12:20 UTC only (T0 is Monday 12:00 UTC).
    r.channel(
        "windowed",
        json!({"escalation": {"after": "30m"},
               "filters": {"schedule": {"days": ["mon"], "start": "12:00", "end": "12:20", "timezone": "UTC"}}}),
    )
    .await;
    finding(&r, "Exposed admin panel", "critical").await;
    assert_eq!(r.at(0).await, 1, "the alert, inside the window");
    pass(&r, 31 * MIN).await;
    assert!(
        escalations(&r, "windowed").is_empty(),
        "12:31 is outside the window"
    );
    // The next Monday at 12:00 the window opens again.
    let week = 7 * 24 * 60 * MIN;
    pass(&r, week + MIN).await;
    let esc = escalations(&r, "windowed");
    assert_eq!(esc.len(), 1, "{esc:?}");
    assert!(esc[0].to_string().contains("Exposed admin panel"));
    r.app.shutdown().await;
}

/// On Mattermost (no buttons) and legacy Slack attachments, the escalation is plain lines with links; the Slack one
/// keeps its Acknowledge button.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalations_on_mattermost_and_legacy_attachments() {
    let r = Rig::new(T0).await;
    let (s, v) = r
        .post(
            "/api/v1/channels",
            json!({"name": "mm", "type": "mattermost", "webhook_url": r.slack.mattermost_url("mm"), "escalation": {"after": "5m", "mentions": ["@channel"]}}),
        )
        .await;
    assert!(s.is_success(), "{v}");
    r.channel(
        "legacy",
        json!({"format": "attachments", "escalation": {"after": "5m"}}),
    )
    .await;
    finding(&r, "Default credentials on the router", "high").await;
    r.at(0).await;
    r.at(2_000).await;
    pass(&r, 6 * MIN).await;
    pass(&r, 6 * MIN + 2_000).await;
    let mm = escalations(&r, "mm");
    assert_eq!(mm.len(), 1, "{mm:?}");
    let text = mm[0].to_string();
    assert!(
        text.contains("Unacknowledged for 5m: Default credentials on the router"),
        "{text}"
    );
    assert!(
        text.contains("[View Details](https://fence.test/findings/") && text.contains("@channel"),
        "{text}"
    );
    assert!(
        !text.contains("\"actions\"") && !text.contains("\"blocks\""),
        "{text}"
    );
    let legacy = escalations(&r, "legacy");
    assert_eq!(legacy.len(), 1, "{legacy:?}");
    assert_eq!(
        legacy[0]["attachments"][0]["actions"][0]["name"], "acknowledge",
        "{}",
        legacy[0]
    );
    r.app.shutdown().await;
}

/// On a bot-token channel the escalation of one finding, and its "Now Known Exploited" alert, go in the finding's
/// thread and are broadcast to the channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_bot_channel_escalations_and_now_exploited_go_in_the_thread_and_are_broadcast() {
    use std::time::{Duration, Instant};
    let t = crate::support::TestApp::spawn(Db::Sqlite).await;
    t.slack.add_channel("C0BOT", "security-alerts");
    t.channel(
        "bot",
        json!({"bot_token": fence_testkit::BOT_TOKEN, "channel_id": "C0BOT", "escalation": {"after": "1s"}}),
    )
    .await;
    t.post(
        "/api/v1/findings",
        json!({"domain": "shop.example.com", "title": "Log4Shell in search", "severity": "critical", "cve": "CVE-2021-44228"}),
    )
    .await;
    let wait_for = |what: &'static str| {
        let slack = t.slack.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let posts = slack.api_calls("chat.postMessage");
                let first = posts.iter().find_map(|c| c.ts.clone());
                let found = posts
                    .iter()
                    .find(|c| c.body.to_string().contains(what) && c.body["thread_ts"].is_string());
                if let (Some(ts), Some(c)) = (first, found) {
                    return (ts, c.body.clone());
                }
                assert!(Instant::now() < deadline, "no threaded {what:?}: {posts:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let (ts, esc) = wait_for("Unacknowledged for 1s").await;
    assert_eq!(esc["thread_ts"], ts.as_str(), "{esc}");
    assert_eq!(esc["reply_broadcast"], true, "{esc}");
    let catalog = json!({"vulnerabilities": [{"cveID": "CVE-2021-44228", "dateAdded": "2021-12-10", "knownRansomwareCampaignUse": "Known"}]});
    let r = t
        .http
        .post(format!("{}/api/v1/intel/kev", t.url))
        .bearer_auth(ADMIN_TOKEN)
        .body(catalog.to_string())
        .send()
        .await
        .expect("kev");
    assert!(r.status().is_success());
    let (ts2, hot) = wait_for("Now Known Exploited").await;
    assert_eq!(ts2, ts);
    assert_eq!(hot["thread_ts"], ts.as_str(), "{hot}");
    assert_eq!(hot["reply_broadcast"], true, "{hot}");
    t.app.shutdown().await;
}
