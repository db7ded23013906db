//! Who may act from Slack, attacked: guests, Slack Connect users of other companies, deactivated accounts and
//! unknown users try to triage, run scans and list vulnerabilities; a failing `users.info` refuses; answers are
//! cached. Each refusal is ephemeral and audited.

use crate::slack_app::{alert_buttons, checkable, click, command, connect, slack_post, value_of};
use crate::support::{Db, TestApp};
use fence_testkit::BOT_TOKEN;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// Clicks `action` as `user` (whose payload claims `user_team`, SLACK.md §5 `user{id, team_id}`) in T0ACME; returns
/// the answers on the click's response URL.
async fn click_as(
    t: &TestApp,
    user: &str,
    user_team: &str,
    action: &str,
    value: &str,
) -> Vec<Value> {
    let id = format!("{user}-{action}-{}", uuid::Uuid::new_v4().simple());
    let body = click(
        user_team,
        user,
        action,
        "fence_finding",
        value,
        &t.slack.response_url(&id),
    );
    let body = in_shared_channel(&body, user_team);
    slack_post(t, "/api/slack/interactions", &body, None).await;
    t.slack.wait_responses(&id, 1, WAIT).await
}

/// The click's `team.id` is always T0ACME (Slack Connect users click in the organization's shared channel); the
/// user's `team_id` is what the payload claims.
fn in_shared_channel(body: &str, user_team: &str) -> String {
    let (_, payload) = body.split_once('=').expect("payload");
    let mut v: Value = serde_json::from_str(&form_decode(payload)).expect("json");
    v["team"]["id"] = json!("T0ACME");
    v["user"]["team_id"] = json!(user_team);
    serde_urlencoded::to_string([("payload", v.to_string())]).expect("form")
}

fn form_decode(s: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("p={s}"))
        .expect("urlencoded")
        .remove(0)
        .1
}

async fn run(t: &TestApp, user: &str, text: &str) -> String {
    let (_, v) = slack_post(
        t,
        "/api/slack/commands",
        &command("T0ACME", user, text, ""),
        None,
    )
    .await;
    v["text"].as_str().unwrap_or_default().to_string()
}

async fn status(t: &TestApp, id: &str) -> Value {
    t.get(&format!("/api/v1/findings/{id}")).await.1["status"].clone()
}

async fn refusals(t: &TestApp) -> Vec<(String, String)> {
    let (_, audit) = t.get("/api/v1/audit").await;
    audit["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .filter(|e| e["action"] == "slack.refused")
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or_default().to_string(),
                e["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Before this rule anyone who could click triaged when `triage_allow` was empty. SLACK.md §5: a click carries
/// `user{id, team_id}`; §9 and the test kit: `users.info` (scope `users:read`) tells the user's home `team_id`
/// and whether they are a guest (`is_restricted`, `is_ultra_restricted`) or `deleted`.
async fn only_full_members_of_the_workspace_act_from_slack(db: Db) {
    let t = TestApp::spawn(db).await;
    connect(&t, "T0ACME").await;
    checkable(&t).await;
    t.slack.add_guest("U0GUEST", "guest", false);
    t.slack.add_guest("U0SINGLE", "single", true);
    t.slack.add_external_user("U0EXT", "partner", "T0PARTNER");
    t.slack.add_user("U0GONE", "gone");
    t.slack.deactivate_user("U0GONE");
    t.channel("sec", json!({})).await;
    let (id, buttons) = alert_buttons(&t).await;
    let (fp, run_scan) = (
        value_of(&buttons, "false_positive"),
        value_of(&buttons, "run_scan"),
    );

    for (user, claimed, why) in [
        ("U0GUEST", "T0ACME", "Guests"),
        ("U0SINGLE", "T0ACME", "Guests"),
        ("U0EXT", "T0PARTNER", "own Slack workspace"),
        // A payload claiming the organization's team does not help: users.info says where the user is from.
        ("U0EXT", "T0ACME", "own Slack workspace"),
        ("U0GONE", "T0ACME", "Deactivated"),
        ("U0GHOST", "T0ACME", "could not check"),
    ] {
        for (action, value) in [("false_positive", &fp), ("run_scan", &run_scan)] {
            let answer = click_as(&t, user, claimed, action, value).await;
            assert_eq!(answer.len(), 1, "{user} {action}: {answer:?}");
            assert_eq!(answer[0]["response_type"], "ephemeral", "{answer:?}");
            let text = answer[0]["text"].as_str().unwrap_or_default();
            assert!(text.contains(why), "{user} {action}: {text}");
        }
        let (_, v) = slack_post(
            &t,
            "/api/slack/commands",
            &command("T0ACME", user, "vulnerabilities", ""),
            None,
        )
        .await;
        assert_eq!(v["response_type"], "ephemeral", "{v}");
        let vulns = v["text"].as_str().unwrap_or_default();
        assert!(
            vulns.contains(why) && !vulns.contains("SQL Injection"),
            "{user}: {vulns}"
        );
        let scan = run(&t, user, "scan example.com").await;
        assert!(scan.contains(why), "{user}: {scan}");
    }
    assert_eq!(
        status(&t, &id).await,
        "open",
        "nobody outside changed the finding"
    );
    let (_, scans) = t.get("/api/v1/scans").await;
    assert_eq!(scans["scans"], json!([]), "nobody outside queued a scan");
    let refused = refusals(&t).await;
    for (who, what) in [
        ("slack:U0GUEST", "triage: guest"),
        ("slack:U0SINGLE", "scan: guest"),
        ("slack:U0EXT", "vulnerabilities: other workspace"),
        ("slack:U0GONE", "triage: deactivated or bot"),
        ("slack:U0GHOST", "scan: users.info failed"),
    ] {
        assert!(
            refused.iter().any(|(a, d)| a == who && d == what),
            "{who} {what} audited: {refused:?}"
        );
    }

    // A full member lists, triages and scans.
    let vulns = run(&t, "U0ALICE", "vulnerabilities").await;
    assert!(vulns.contains("SQL Injection in login form"), "{vulns}");
    let answer = click_as(&t, "U0ALICE", "T0ACME", "false_positive", &fp).await;
    assert!(
        answer[0]
            .to_string()
            .contains("Marked as false positive by <@U0ALICE>"),
        "{answer:?}"
    );
    assert_eq!(status(&t, &id).await, "false_positive");
    // triage_allow narrows triage further, for members too.
    t.slack.add_user("U0BOB", "bob");
    t.patch("/api/v1/org", json!({"triage_allow": ["U0ALICE"]}))
        .await;
    let snooze = value_of(&buttons, "snooze");
    let answer = click_as(&t, "U0BOB", "T0ACME", "snooze", &snooze).await;
    assert!(
        answer[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("triage_allow"),
        "{answer:?}"
    );
    assert_eq!(status(&t, &id).await, "false_positive");
    t.app.shutdown().await;
}
crate::both_dbs!(only_full_members_of_the_workspace_act_from_slack);

/// Fail closed: without a token that may call `users.info` (SLACK.md Addendum: `missing_scope` when the grant lacks
/// `users:read`), or without any bot token, nobody acts; answers are cached so a burst of clicks makes one
/// `users.info` call (Tier 4, SLACK.md §2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_users_info_refuses_and_answers_are_cached() {
    let t = TestApp::spawn(Db::Sqlite).await;
    connect(&t, "T0ACME").await;
    t.slack.add_user("U0ALICE", "alice");
    t.channel("sec", json!({})).await;
    let (id, buttons) = alert_buttons(&t).await;
    let fp = value_of(&buttons, "false_positive");
    // No bot token at all: Fence cannot tell a guest from a member.
    let answer = click_as(&t, "U0ALICE", "T0ACME", "false_positive", &fp).await;
    assert!(
        answer[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("could not check your Slack account"),
        "{answer:?}"
    );
    // A bot token without users:read.
    let scopes: Vec<String> = t
        .slack
        .scopes(BOT_TOKEN)
        .into_iter()
        .filter(|s| s != "users:read")
        .collect();
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    t.slack.set_scopes(BOT_TOKEN, &scopes);
    checkable(&t).await;
    let answer = click_as(&t, "U0ALICE", "T0ACME", "false_positive", &fp).await;
    let text = answer[0]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("missing_scope") && !text.contains(BOT_TOKEN),
        "{text}"
    );
    assert_eq!(status(&t, &id).await, "open");
    let calls = t.slack.api_calls("users.info");
    assert_eq!(calls.last().and_then(|c| c.error()), Some("missing_scope"));
    // With the scope back, a burst of commands asks Slack once.
    let mut scopes = scopes;
    scopes.push("users:read");
    t.slack.set_scopes(BOT_TOKEN, &scopes);
    let before = t.slack.api_calls("users.info").len();
    for _ in 0..5 {
        let vulns = run(&t, "U0ALICE", "vulnerabilities").await;
        assert!(vulns.contains("SQL Injection"), "{vulns}");
    }
    assert_eq!(t.slack.api_calls("users.info").len(), before + 1, "cached");
    t.app.shutdown().await;
}

/// The organization's Add to Slack install is the token Fence asks `users.info` with, so a webhook-only
/// organization whose installed channel is gone still checks its users (SLACK.md §8: the install's `access_token`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_install_token_checks_users_when_no_channel_has_a_bot_token() {
    let t = TestApp::spawn(Db::Sqlite).await;
    t.slack.add_channel("C0SEC", "security-alerts");
    t.slack.add_user("U0ALICE", "alice");
    t.slack.add_guest("U0GUEST", "guest", false);
    let install_token = crate::slack_strict::add_to_slack(&t).await;
    let (_, channels) = t.get("/api/v1/channels").await;
    let installed = channels["channels"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let (s, _) = t
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/channels/{installed}"),
            crate::support::ADMIN_TOKEN,
            None,
        )
        .await;
    assert!(s.is_success(), "{s}");
    t.channel("sec", json!({})).await;
    let (id, buttons) = alert_buttons(&t).await;
    let fp = value_of(&buttons, "false_positive");
    let answer = click_as(&t, "U0GUEST", "T0ACME", "false_positive", &fp).await;
    assert!(
        answer[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Guests"),
        "{answer:?}"
    );
    click_as(&t, "U0ALICE", "T0ACME", "false_positive", &fp).await;
    assert_eq!(status(&t, &id).await, "false_positive");
    let calls = t.slack.api_calls("users.info");
    assert!(
        !calls.is_empty()
            && calls
                .iter()
                .all(|c| c.token.as_deref() == Some(install_token.as_str())),
        "{:?}",
        calls.iter().map(|c| &c.token).collect::<Vec<_>>()
    );
    t.app.shutdown().await;
}
