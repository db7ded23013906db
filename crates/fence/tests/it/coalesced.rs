//! Bursts read at a glance (issue 12): a coalesced message is one line per finding with its actions in an overflow
//! menu on Slack, plain lines with links in attachments and on Mattermost; a menu click changes only its line; on bot
//! channels the message is the thread of every finding it lists.

use crate::slack_app::{connect, now, slack_post};
use crate::support::{Db, TestApp};
use fence_testkit::BOT_TOKEN;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// `n` findings in one request (one delivery, so one message): every fourth critical, the rest high.
async fn burst(t: &TestApp, n: usize) -> Vec<String> {
    let findings: Vec<Value> = (0..n)
        .map(|i| {
            let critical = i % 4 == 0;
            json!({"domain": "example.com", "title": format!("Burst finding {i}"),
                   "severity": if critical { "critical" } else { "high" }, "cvss": if critical { 9.1 } else { 7.4 },
                   "remediation": format!("Fix number {i}.")})
        })
        .collect();
    let (_, v) = t
        .post("/api/v1/findings", json!({"findings": findings}))
        .await;
    v["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|i| i.as_str().map(str::to_string))
        .collect()
}

fn lines(msg: &Value) -> Vec<Value> {
    msg["attachments"][0]["blocks"]
        .as_array()
        .map(|b| {
            b.iter()
                .filter(|b| {
                    b["block_id"]
                        .as_str()
                        .is_some_and(|id| id.starts_with("fence_line_"))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The finding a line links to.
fn finding_of(line: &Value) -> String {
    let text = line["text"]["text"].as_str().unwrap_or_default();
    let after = text.split("/findings/").nth(1).unwrap_or_default();
    after.split('|').next().unwrap_or_default().to_string()
}

/// The signed value of a line's overflow option for `action` (the options are in Fence's order).
fn option_value(line: &Value, index: usize) -> String {
    line["accessory"]["options"][index]["value"]
        .as_str()
        .expect("option value")
        .to_string()
}

/// A `block_actions` payload of an overflow menu choice: the action has `type: "overflow"` and `selected_option`
/// instead of a button's `value`, and the payload carries the message as Slack shows it (SLACK.md §5, [BOLTJS-BA]).
fn overflow_click(
    team: &str,
    message: &Value,
    ts: &str,
    block_id: &str,
    value: &str,
    response_url: &str,
) -> String {
    let mut shown = message.clone();
    shown["type"] = json!("message");
    shown["ts"] = json!(ts);
    let payload = json!({
        "type": "block_actions",
        "user": {"id": "U0ALICE", "team_id": team},
        "team": {"id": team},
        "container": {"type": "message", "message_ts": ts, "channel_id": "C0SEC"},
        "channel": {"id": "C0SEC"},
        "message": shown,
        "response_url": response_url,
        "actions": [{"type": "overflow", "action_id": "finding_actions", "block_id": block_id,
                     "selected_option": {"text": {"type": "plain_text", "text": "Mark as false positive"}, "value": value},
                     "action_ts": format!("{}.000200", now())}],
    });
    serde_urlencoded::to_string([("payload", payload.to_string())]).expect("form")
}

async fn status_of(t: &TestApp, id: &str) -> Value {
    t.get(&format!("/api/v1/findings/{id}")).await.1["status"].clone()
}

/// SLACK.md §1 and §7: the webhook accepts only Block Kit Slack accepts (the strict fake checks every message): a
/// 300-finding burst is one message of 15 lines, each with an overflow menu and no button, and a counted tail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_on_a_webhook_is_one_message_of_lines_with_menus() {
    let t = TestApp::spawn(Db::Sqlite).await;
    t.channel("hook", json!({})).await;
    burst(&t, 300).await;
    let got = t.slack.wait_accepted("hook", 1, WAIT).await;
    assert!(t.slack.requests("hook").iter().all(|r| r.status == 200));
    assert_eq!(got.len(), 1, "one message");
    let msg = &got[0].body;
    assert_eq!(
        msg["text"],
        "🚨 300 new vulnerabilities: 75 critical, 225 high"
    );
    let body = msg.to_string();
    assert!(!body.contains("\"button\""), "no buttons");
    let lines = lines(msg);
    assert_eq!(lines.len(), 15);
    assert!(lines.iter().all(|l| l["accessory"]["type"] == "overflow"));
    assert!(lines[0]["text"]["text"]
        .as_str()
        .unwrap_or_default()
        .starts_with("🔴 <https://fence.test/findings/"));
    assert!(body.contains("…and 285 more (60 critical, 225 high). <https://fence.test/findings?status=open|View all open findings>"), "{body}");
    // Four options per line's menu (the fourth mutes the rule): about 16.8 KB.
    assert!(body.len() < 17_000, "{} bytes", body.len());
    t.app.shutdown().await;
}

/// SLACK.md §5: a menu choice arrives as `selected_option.value`; replying on the response URL with
/// `replace_original` updates the message. Only the chosen line changes; the note names the finding in the thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overflow_choice_triages_and_changes_only_its_line() {
    let t = TestApp::spawn(Db::Sqlite).await;
    connect(&t, "T0ACME").await;
    crate::slack_app::checkable(&t).await;
    t.channel("sec", json!({})).await;
    burst(&t, 6).await;
    let msg = t.slack.wait_accepted("sec", 1, WAIT).await[0].body.clone();
    let before = lines(&msg);
    let ts = "1700000000.000300";
    let (id, fp) = (finding_of(&before[2]), option_value(&before[2], 0));
    let url = t.slack.response_url("line");
    slack_post(
        &t,
        "/api/slack/interactions",
        &overflow_click("T0ACME", &msg, ts, "fence_line_2", &fp, &url),
        None,
    )
    .await;
    let answers = t.slack.wait_responses("line", 2, WAIT).await;
    assert_eq!(status_of(&t, &id).await, "false_positive");
    let replaced = &answers[0];
    assert_eq!(replaced["replace_original"], true);
    let after = lines(replaced);
    assert_eq!(after.len(), before.len());
    for (i, (a, b)) in after.iter().zip(&before).enumerate() {
        if i == 2 {
            assert!(a.get("accessory").is_none(), "{a}");
            assert!(
                a["text"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .ends_with("\n✓ Marked as false positive by <@U0ALICE>"),
                "{a}"
            );
            assert_eq!(finding_of(a), id);
        } else {
            assert_eq!(a, b, "line {i} as it was");
        }
    }
    assert_eq!(answers[1]["thread_ts"], ts);
    let note = answers[1]["text"].as_str().unwrap_or_default();
    assert!(
        note.starts_with("✓ Marked as false positive by <@U0ALICE> — Burst finding"),
        "{note}"
    );

    // Snooze and Fix instructions from other lines' menus.
    let (other, snooze) = (finding_of(&before[4]), option_value(&before[4], 1));
    let url = t.slack.response_url("snooze");
    slack_post(
        &t,
        "/api/slack/interactions",
        &overflow_click("T0ACME", replaced, ts, "fence_line_4", &snooze, &url),
        None,
    )
    .await;
    let answers = t.slack.wait_responses("snooze", 2, WAIT).await;
    assert_eq!(status_of(&t, &other).await, "snoozed");
    let after = lines(&answers[0]);
    assert!(after[2].get("accessory").is_none() && after[4].get("accessory").is_none());
    assert!(after[4]["text"]["text"]
        .as_str()
        .unwrap_or_default()
        .contains("💤 Snoozed for 24h by <@U0ALICE>"));
    assert_eq!(lines(&answers[0])[3], before[3]);
    let url = t.slack.response_url("fix");
    let fix = option_value(&before[5], 2);
    slack_post(
        &t,
        "/api/slack/interactions",
        &overflow_click("T0ACME", replaced, ts, "fence_line_5", &fix, &url),
        None,
    )
    .await;
    let answers = t.slack.wait_responses("fix", 1, WAIT).await;
    assert_eq!(answers[0]["thread_ts"], ts);
    assert!(
        answers[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Fix number"),
        "{answers:?}"
    );
    t.app.shutdown().await;
}

/// SLACK.md §5 and §3: whoever can post to Fence's interaction URL with Slack's signature still needs a value Fence
/// signed for the finding and a workspace of the finding's organization; an altered or foreign choice changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_or_foreign_overflow_choices_change_nothing() {
    let t = TestApp::spawn(Db::Sqlite).await;
    connect(&t, "T0ACME").await;
    t.channel("sec", json!({})).await;
    let ids = burst(&t, 3).await;
    let msg = t.slack.wait_accepted("sec", 1, WAIT).await[0].body.clone();
    let line = &lines(&msg)[0];
    let (id, fp) = (finding_of(line), option_value(line, 0));
    let victim = ids.iter().find(|i| **i != id).expect("another finding");
    let forged = fp.replacen(&id, victim, 1);
    let url = t.slack.response_url("forged");
    slack_post(
        &t,
        "/api/slack/interactions",
        &overflow_click("T0ACME", &msg, "1.2", "fence_line_0", &forged, &url),
        None,
    )
    .await;
    let other = t.other_org("evil", "custom", &["admin"]).await;
    t.request(
        reqwest::Method::PATCH,
        "/api/v1/org",
        &other,
        Some(json!({"slack_team_id": "T0EVIL"})),
    )
    .await;
    let url = t.slack.response_url("foreign");
    slack_post(
        &t,
        "/api/slack/interactions",
        &overflow_click("T0EVIL", &msg, "1.2", "fence_line_0", &fp, &url),
        None,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(t.slack.responses("forged").is_empty() && t.slack.responses("foreign").is_empty());
    for i in &ids {
        assert_eq!(status_of(&t, i).await, "open", "nothing changed");
    }
    t.app.shutdown().await;
}

/// SLACK.md §6: `chat.postMessage` answers the message's `ts` and `thread_ts` makes a reply. The coalesced message is
/// the thread of every finding it lists: a menu choice replaces its line (response URL, SLACK.md §5) and the note
/// follows in the thread naming the finding; a status change made in Fence threads there too.
async fn on_a_bot_channel_the_burst_is_the_thread_of_each_listed_finding(db: Db) {
    let t = TestApp::spawn(db).await;
    connect(&t, "T0ACME").await;
    t.slack.add_user("U0ALICE", "alice");
    t.slack.add_channel("C0SEC", "security-alerts");
    t.channel(
        "bot",
        json!({"bot_token": BOT_TOKEN, "channel_id": "C0SEC"}),
    )
    .await;
    burst(&t, 20).await;
    let posts = t
        .slack
        .wait_until_api("chat.postMessage", WAIT, |c| c.iter().any(|c| c.ok()))
        .await;
    let post = posts.iter().find(|c| c.ok()).expect("posted");
    let ts = post.ts.clone().expect("ts");
    let msg = post.body.clone();
    let listed = lines(&msg);
    assert_eq!(listed.len(), 15);
    // Sent (and where its findings were announced recorded) once Fence has Slack's answer.
    t.wait_deliveries("sent", 1).await;

    let (id, fp) = (finding_of(&listed[1]), option_value(&listed[1], 0));
    let url = t.slack.response_url("bot");
    slack_post(
        &t,
        "/api/slack/interactions",
        &overflow_click("T0ACME", &msg, &ts, "fence_line_1", &fp, &url),
        None,
    )
    .await;
    let answers = t.slack.wait_responses("bot", 1, WAIT).await;
    assert_eq!(status_of(&t, &id).await, "false_positive");
    let after = lines(&answers[0]);
    assert!(after[1].get("accessory").is_none() && after[0] == listed[0] && after[2] == listed[2]);

    let resolved = finding_of(&listed[14]);
    let (s, v) = t
        .post(&format!("/api/v1/findings/{resolved}/resolve"), json!({}))
        .await;
    assert!(s.is_success(), "{v}");
    let replies = t
        .slack
        .wait_until_api("chat.postMessage", WAIT, |c| {
            c.iter()
                .filter(|c| c.ok() && c.body["thread_ts"] == ts.as_str())
                .count()
                >= 2
        })
        .await;
    let notes: Vec<String> = replies
        .iter()
        .filter(|c| c.ok() && c.body["thread_ts"] == ts.as_str())
        .map(|c| c.body["text"].as_str().unwrap_or_default().to_string())
        .collect();
    let all: Vec<(u16, Value, Value)> = t
        .slack
        .api_calls("chat.postMessage")
        .into_iter()
        .map(|c| (c.status, c.body["thread_ts"].clone(), c.answer))
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?} {all:?}");
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("✓ Marked as false positive by <@U0ALICE> — Burst finding")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("Resolved by") && n.contains("— Burst finding")),
        "{notes:?}"
    );
    assert!(
        t.slack.responses("bot").len() == 1,
        "the note is the bot's thread reply, not a second response"
    );
    assert!(
        t.slack.api_calls("chat.update").is_empty(),
        "the whole message is never replaced by one finding's"
    );
    t.app.shutdown().await;
}
crate::both_dbs!(on_a_bot_channel_the_burst_is_the_thread_of_each_listed_finding);

/// SLACK.md §10: Mattermost has no Block Kit (no menus); legacy attachments have no overflow either. Both list
/// plain lines with links to each finding and the counted tail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_and_mattermost_list_plain_lines_with_links() {
    let t = TestApp::spawn(Db::Sqlite).await;
    t.channel("legacy", json!({"format": "attachments"})).await;
    let (s, v) = t
        .post("/api/v1/channels", json!({"name": "mm", "type": "mattermost", "webhook_url": t.slack.mattermost_url("mm")}))
        .await;
    assert!(s.is_success(), "{v}");
    burst(&t, 20).await;
    for (hook, link) in [
        ("legacy", "<https://fence.test/findings/"),
        ("mm", "[View Details](https://fence.test/findings/"),
    ] {
        let got = t.slack.wait_accepted(hook, 1, WAIT).await;
        assert_eq!(got.len(), 1, "{hook}");
        let att = &got[0].body["attachments"][0];
        assert!(
            att.get("blocks").is_none() && att.get("actions").is_none(),
            "{att}"
        );
        let text = att["text"].as_str().unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 16, "{text}");
        assert!(
            lines[..15].iter().all(|l| l.contains(link)),
            "{hook}: {text}"
        );
        assert!(lines[15].starts_with("…and 5 more (5 high)."), "{text}");
    }
    t.app.shutdown().await;
}

/// SLACK.md §6 (`thread_ts` makes a reply): a reminder of a finding listed in a coalesced bot message goes in that
/// message's thread. Driven with a manual clock, so a day passes at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_of_a_listed_finding_threads_under_the_burst() {
    use crate::pacing::T0;
    use fence_server::workers::{dispatcher::Dispatcher, scheduler::Scheduler};
    let slack = fence_testkit::FakeSlack::start().await.expect("fake slack");
    slack.add_channel("C0SEC", "security-alerts");
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = format!(
        "{}\n[slack]\napi_url = \"{}\"\n",
        crate::support::config_toml(dir.path(), &Db::Sqlite, ""),
        slack.api_url()
    );
    let config = fence_server::Config::from_sources(Some(&toml), None, &[]).expect("config");
    let clock = fence_server::ManualClock::new(T0);
    let (app, _) = fence_server::App::build(config, std::sync::Arc::new(clock.clone()))
        .await
        .expect("build");
    let app = app.start_with(false).await.expect("start");
    let dispatcher = std::sync::Arc::new(Dispatcher::new(app.state.clone()));
    let scheduler = Scheduler::new(app.state.clone());
    let http = reqwest::Client::new();
    let post = |path: String, body: Value| {
        let req = http
            .post(format!("{}{path}", app.url()))
            .bearer_auth(crate::support::ADMIN_TOKEN)
            .json(&body);
        async move {
            req.send()
                .await
                .expect("post")
                .json::<Value>()
                .await
                .unwrap_or(Value::Null)
        }
    };
    post(
        "/api/v1/channels".into(),
        json!({"name": "bot", "webhook_url": slack.webhook_url("bot"), "bot_token": BOT_TOKEN,
        "channel_id": "C0SEC", "reminders": {"every": "24h", "severities": ["critical"]}}),
    )
    .await;
    let findings: Vec<Value> = (0..4)
        .map(|i| json!({"domain": "example.com", "title": format!("Listed {i}"), "severity": if i == 0 { "critical" } else { "high" }}))
        .collect();
    let ids = post("/api/v1/findings".into(), json!({"findings": findings})).await;
    assert_eq!(dispatcher.run_once().await, 1, "one message for the burst");
    let posts = slack.api_calls("chat.postMessage");
    let ts = posts[0].ts.clone().expect("posted with a ts");
    assert_eq!(lines(&posts[0].body).len(), 4);

    // Slack takes one message per second per channel (SLACK.md §2); the fake counts real seconds.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    clock.set_ms(T0 + 24 * 3_600_000);
    assert_eq!(
        scheduler.tick().await.expect("tick"),
        1,
        "the critical finding is reminded"
    );
    assert_eq!(dispatcher.run_once().await, 1);
    let posts = slack.api_calls("chat.postMessage");
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(posts[1].ok(), "{:?}", posts[1].answer);
    assert_eq!(
        posts[1].body["thread_ts"],
        ts.as_str(),
        "in the burst's thread"
    );
    assert!(posts[1].body.to_string().contains("Listed 0"));
    assert!(ids["ids"][0].is_string());
    app.shutdown().await;
}
