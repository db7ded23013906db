//! The Slack app end to end: signed slash commands and button clicks, triage restrictions, forged values, and the
//! "Add to Slack" OAuth round trip against the fake Slack.

use crate::support::{seed_finding, Db, TestApp, SIGNING_SECRET};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Posts a form body to a Slack endpoint, signed as Slack signs (or with the given signature and timestamp).
pub(crate) async fn slack_post(
    t: &TestApp,
    path: &str,
    body: &str,
    sig: Option<(&str, i64)>,
) -> (StatusCode, Value) {
    let ts = sig.map(|(_, ts)| ts).unwrap_or_else(now);
    let signature = match sig {
        Some((s, _)) => s.to_string(),
        None => fence_slack::signature::sign(SIGNING_SECRET, ts, body.as_bytes()),
    };
    let r = t
        .http
        .post(format!("{}{path}", t.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-Slack-Request-Timestamp", ts.to_string())
        .header("X-Slack-Signature", signature)
        .body(body.to_string())
        .send()
        .await
        .expect("post");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub(crate) fn command(team: &str, user: &str, text: &str, response_url: &str) -> String {
    serde_urlencoded::to_string([
        ("team_id", team),
        ("user_id", user),
        ("command", "/fence"),
        ("text", text),
        ("response_url", response_url),
        ("channel_id", "C0SEC"),
    ])
    .expect("form")
}

pub(crate) fn click(
    team: &str,
    user: &str,
    action_id: &str,
    block_id: &str,
    value: &str,
    response_url: &str,
) -> String {
    let payload = json!({
        "type": "block_actions",
        "user": {"id": user, "team_id": team},
        "team": {"id": team},
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": "C0SEC"},
        "channel": {"id": "C0SEC"},
        "response_url": response_url,
        "actions": [{"action_id": action_id, "block_id": block_id, "value": value, "type": "button"}],
    });
    serde_urlencoded::to_string([("payload", payload.to_string())]).expect("form")
}

/// Runs `/fence <text>` as U0ALICE of a workspace and returns the answer's text.
async fn ask(t: &TestApp, team: &str, text: &str) -> String {
    let (_, v) = slack_post(
        t,
        "/api/slack/commands",
        &command(team, "U0ALICE", text, ""),
        None,
    )
    .await;
    v["text"].as_str().unwrap_or_default().to_string()
}

pub(crate) async fn connect(t: &TestApp, team: &str) {
    let (s, v) = t.patch("/api/v1/org", json!({"slack_team_id": team})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_stale_or_altered_requests_are_refused_and_change_nothing() {
    let t = TestApp::spawn(Db::Sqlite).await;
    connect(&t, "T0ACME").await;
    let body = command("T0ACME", "U0ALICE", "scan example.com", "");
    let good = fence_slack::signature::sign(SIGNING_SECRET, now(), body.as_bytes());
    for (label, sig, ts, b) in [
        (
            "wrong signature",
            "v0=deadbeef".to_string(),
            now(),
            body.clone(),
        ),
        (
            "stale",
            fence_slack::signature::sign(SIGNING_SECRET, now() - 301, body.as_bytes()),
            now() - 301,
            body.clone(),
        ),
        (
            "replayed with a changed byte",
            good.clone(),
            now(),
            body.replace("example.com", "examplf.com"),
        ),
        (
            "other secret",
            fence_slack::signature::sign("not-the-secret", now(), body.as_bytes()),
            now(),
            body.clone(),
        ),
    ] {
        let (s, _) = slack_post(&t, "/api/slack/commands", &b, Some((&sig, ts))).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{label}");
    }
    let r = t
        .http
        .post(format!("{}/api/slack/commands", t.url))
        .body(body.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "unsigned");
    let (_, scans) = t.get("/api/v1/scans").await;
    assert_eq!(scans["scans"], json!([]), "nothing was queued");
    let (s, _) = slack_post(&t, "/api/slack/commands", "ssl_check=1&token=x", None).await;
    assert_eq!(s, StatusCode::OK, "ssl_check is answered");
    t.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_commands_queue_scans_and_answer_status_vulnerabilities_and_help() {
    use fence_testkit::tls::{ca, http_server, leaf, tls_server};
    let t = TestApp::spawn_with(Db::Sqlite, "[scan]\nallow_private_targets = true").await;
    connect(&t, "T0ACME").await;
    checkable(&t).await;
    let authority = ca();
    let (cert, key) = leaf(Some(&authority), &["localhost"], -10, 60);
    let https = tls_server(cert, key, "").await;
    let http = http_server("HTTP/1.1 301 Moved Permanently\r\nLocation: https://localhost/\r\nContent-Length: 0\r\n\r\n").await;
    t.post(
        "/api/v1/domains",
        json!({"name": "localhost", "port": https, "http_port": http}),
    )
    .await;
    t.post("/api/v1/findings", seed_finding()).await;

    let (s, help) = slack_post(
        &t,
        "/api/slack/commands",
        &command("T0ACME", "U0ALICE", "help", ""),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        help["text"]
            .as_str()
            .unwrap_or_default()
            .contains("/fence scan <domain>"),
        "{help}"
    );
    let vulns = ask(&t, "T0ACME", "vulnerabilities").await;
    assert!(vulns.contains("SQL Injection in login form"), "{vulns}");
    let unknown = ask(&t, "T0ACME", "dance").await;
    assert!(unknown.starts_with("Unknown command `dance`"), "{unknown}");

    let response_url = t.slack.response_url("cmd1");
    let (_, queued) = slack_post(
        &t,
        "/api/slack/commands",
        &command("T0ACME", "U0ALICE", "scan localhost", &response_url),
        None,
    )
    .await;
    assert_eq!(queued["response_type"], "in_channel");
    assert!(
        queued["text"]
            .as_str()
            .unwrap_or_default()
            .contains("position 1"),
        "{queued}"
    );
    let status = ask(&t, "T0ACME", "status").await;
    assert!(status.contains("localhost"), "{status}");
    // The summary follows through the response URL once the scan is done.
    let got = t
        .slack
        .wait_responses("cmd1", 1, Duration::from_secs(20))
        .await;
    assert_eq!(
        got.first().map(|m| m["text"].clone()),
        Some(json!("✅ Security Scan Completed")),
        "{got:?}"
    );

    // A workspace nobody connected is told how to connect; a startup organization has no slash commands.
    let other = ask(&t, "T0NOBODY", "help").await;
    assert!(other.contains("not connected"), "{other}");
    let startup = t.other_org("small", "startup", &["admin"]).await;
    t.request(
        reqwest::Method::PATCH,
        "/api/v1/org",
        &startup,
        Some(json!({"slack_team_id": "T0SMALL"})),
    )
    .await;
    let refused = ask(&t, "T0SMALL", "scan example.com").await;
    assert!(refused.contains("enterprise or custom plan"), "{refused}");
    t.app.shutdown().await;
}

pub(crate) async fn alert_buttons(t: &TestApp) -> (String, Vec<Value>) {
    let (_, f) = t.post("/api/v1/findings", seed_finding()).await;
    let id = f["ids"][0].as_str().expect("id").to_string();
    let got = t.slack.wait_accepted("sec", 1, WAIT).await;
    let buttons = got[0].body["attachments"][0]["blocks"][2]["elements"]
        .as_array()
        .cloned()
        .expect("buttons");
    (id, buttons)
}

pub(crate) fn value_of(buttons: &[Value], action: &str) -> String {
    buttons
        .iter()
        .find(|b| b["action_id"] == action)
        .and_then(|b| b["value"].as_str())
        .expect("button")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_triage_findings_update_the_message_and_answer_in_the_thread() {
    let t = TestApp::spawn(Db::Sqlite).await;
    connect(&t, "T0ACME").await;
    checkable(&t).await;
    t.channel("sec", json!({})).await;
    let (id, buttons) = alert_buttons(&t).await;

    let fix_url = t.slack.response_url("fix");
    let (s, _) = slack_post(
        &t,
        "/api/slack/interactions",
        &click(
            "T0ACME",
            "U0ALICE",
            "fix_instructions",
            "fence_finding",
            &value_of(&buttons, "fix_instructions"),
            &fix_url,
        ),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let fix = t.slack.wait_responses("fix", 1, WAIT).await;
    assert_eq!(fix[0]["thread_ts"], "1700000000.000001");
    assert!(
        fix[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Use parameterised queries."),
        "{fix:?}"
    );

    let fp_url = t.slack.response_url("fp");
    slack_post(
        &t,
        "/api/slack/interactions",
        &click(
            "T0ACME",
            "U0ALICE",
            "false_positive",
            "fence_finding",
            &value_of(&buttons, "false_positive"),
            &fp_url,
        ),
        None,
    )
    .await;
    let fp = t.slack.wait_responses("fp", 2, WAIT).await;
    assert_eq!(fp[0]["replace_original"], true);
    assert!(
        fp[0]
            .to_string()
            .contains("✓ Marked as false positive by <@U0ALICE>"),
        "{fp:?}"
    );
    assert_eq!(fp[1]["thread_ts"], "1700000000.000001");
    assert_eq!(fp[1]["text"], "✓ Marked as false positive by <@U0ALICE>");
    let (_, f) = t.get(&format!("/api/v1/findings/{id}")).await;
    assert_eq!(
        f["status"], "false_positive",
        "changed in Fence, not only in the message"
    );
    let (_, audit) = t.get("/api/v1/audit").await;
    assert!(audit["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .any(|e| e["actor"] == "slack:U0ALICE" && e["action"] == "finding.false_positive"));
    t.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_foreign_or_unauthorised_clicks_change_nothing() {
    let t = TestApp::spawn(Db::Sqlite).await;
    connect(&t, "T0ACME").await;
    checkable(&t).await;
    t.channel("sec", json!({})).await;
    let (id, buttons) = alert_buttons(&t).await;
    let fp = value_of(&buttons, "false_positive");

    // Forged: the finding id changed after signing.
    let forged = fp.replacen(&id, "01a20000-0000-7000-8000-000000000000", 1);
    slack_post(
        &t,
        "/api/slack/interactions",
        &click(
            "T0ACME",
            "U0ALICE",
            "false_positive",
            "fence_finding",
            &forged,
            &t.slack.response_url("forged"),
        ),
        None,
    )
    .await;
    // From a workspace of another organization.
    let other = t.other_org("evil", "custom", &["admin"]).await;
    t.request(
        reqwest::Method::PATCH,
        "/api/v1/org",
        &other,
        Some(json!({"slack_team_id": "T0EVIL"})),
    )
    .await;
    slack_post(
        &t,
        "/api/slack/interactions",
        &click(
            "T0EVIL",
            "U0MALLORY",
            "false_positive",
            "fence_finding",
            &fp,
            &t.slack.response_url("foreign"),
        ),
        None,
    )
    .await;
    // Restricted triage: only U0BOSS and members of S0SEC.
    t.slack.add_user("U0INTERN", "intern");
    t.slack.add_user("U0ANALYST", "analyst");
    t.patch("/api/v1/org", json!({"triage_allow": ["U0BOSS", "S0SEC"]}))
        .await;
    slack_post(
        &t,
        "/api/slack/interactions",
        &click(
            "T0ACME",
            "U0INTERN",
            "false_positive",
            "fence_finding",
            &fp,
            &t.slack.response_url("intern"),
        ),
        None,
    )
    .await;
    let refusal = t.slack.wait_responses("intern", 1, WAIT).await;
    assert_eq!(refusal[0]["response_type"], "ephemeral");
    assert!(refusal[0]["text"]
        .as_str()
        .unwrap_or_default()
        .contains("not allowed"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(t.slack.responses("forged").is_empty() && t.slack.responses("foreign").is_empty());
    let (_, f) = t.get(&format!("/api/v1/findings/{id}")).await;
    assert_eq!(f["status"], "open", "nothing changed");

    // A member of the allowed group (looked up with the organization's bot token) may triage.
    t.slack.add_channel("C0SEC", "security-alerts");
    t.slack.add_group_member("S0SEC", "U0ANALYST");
    t.channel(
        "bot",
        json!({"bot_token": fence_testkit::BOT_TOKEN, "channel_id": "C0SEC"}),
    )
    .await;
    let snooze = value_of(&buttons, "snooze");
    slack_post(
        &t,
        "/api/slack/interactions",
        &click(
            "T0ACME",
            "U0ANALYST",
            "snooze",
            "fence_finding",
            &snooze,
            &t.slack.response_url("analyst"),
        ),
        None,
    )
    .await;
    t.slack.wait_responses("analyst", 2, WAIT).await;
    let (_, f) = t.get(&format!("/api/v1/findings/{id}")).await;
    assert_eq!(f["status"], "snoozed");
    t.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_to_slack_creates_the_channel_from_the_oauth_answer() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let admin = crate::slack_install::session_of(&t, "default", "admin").await;
    let (status, location, state, set) = crate::slack_install::start(&t, Some(&admin)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookies = format!("{admin}; {}", set.split(';').next().unwrap_or_default());
    assert!(location.starts_with("https://slack.test/oauth/v2/authorize?client_id=123.456&scope=incoming-webhook%2Ccommands%2Cchat%3Awrite%2Cchat%3Awrite.public%2Cchat%3Awrite.customize%2Cusers%3Aread%2Cusers%3Aread.email%2Cusergroups%3Aread%2Cchannels%3Aread%2Cgroups%3Aread"), "{location}");

    t.slack.add_oauth_code(
        "code-1",
        json!({"ok": true, "access_token": fence_testkit::BOT_TOKEN, "token_type": "bot", "team": {"id": "T0ACME", "name": "Acme"},
               "incoming_webhook": {"channel": "#security-alerts", "channel_id": "C0SEC", "url": t.slack.webhook_url("oauthhook"), "configuration_url": "https://acme.slack.com/services/B1"}}),
    );
    let forged = format!(
        "{}/api/slack/oauth/callback?code=code-1&state={}",
        t.url,
        state.replace('.', "x")
    );
    assert_eq!(
        t.http
            .get(forged)
            .header("cookie", &cookies)
            .send()
            .await
            .expect("callback")
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let ok = t
        .http
        .get(format!(
            "{}/api/slack/oauth/callback?code=code-1&state={state}",
            t.url
        ))
        .header("cookie", &cookies)
        .send()
        .await
        .expect("callback");
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok
        .text()
        .await
        .expect("page")
        .contains("connected to #security-alerts"));
    let (_, channels) = t.get("/api/v1/channels").await;
    let c = &channels["channels"][0];
    assert_eq!(
        (
            c["channel"].clone(),
            c["channel_id"].clone(),
            c["has_bot_token"].clone()
        ),
        (json!("#security-alerts"), json!("C0SEC"), json!(true))
    );
    assert!(
        !channels.to_string().contains("oauthhook")
            && !channels.to_string().contains(fence_testkit::BOT_TOKEN)
    );
    let (_, org) = t.get("/api/v1/org").await;
    assert_eq!(org["slack_team_id"], "T0ACME");
    // A code is exchanged once.
    let again = t
        .http
        .get(format!(
            "{}/api/slack/oauth/callback?code=code-1&state={state}",
            t.url
        ))
        .header("cookie", &cookies)
        .send()
        .await
        .expect("callback");
    assert_ne!(again.status(), StatusCode::OK);
    let manifest = t
        .http
        .get(format!("{}/api/slack/manifest", t.url))
        .send()
        .await
        .expect("manifest")
        .text()
        .await
        .expect("text");
    assert!(
        manifest.contains("url: https://fence.test/api/slack/commands")
            && manifest.contains("request_url: https://fence.test/api/slack/interactions")
    );
    t.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_scan_buttons_need_the_enterprise_plan() {
    let t = TestApp::spawn(Db::Sqlite).await;
    connect(&t, "T0ACME").await;
    checkable(&t).await;
    t.channel("sec", json!({})).await;
    let (_, buttons) = alert_buttons(&t).await;
    let run = value_of(&buttons, "run_scan");
    // Downgraded after the alert was posted: the button still exists in Slack, but queues nothing.
    t.app
        .state
        .store
        .set_org_plan("default", "startup")
        .await
        .expect("downgrade");
    slack_post(
        &t,
        "/api/slack/interactions",
        &click(
            "T0ACME",
            "U0ALICE",
            "run_scan",
            "fence_finding",
            &run,
            &t.slack.response_url("run"),
        ),
        None,
    )
    .await;
    let answer = t.slack.wait_responses("run", 1, WAIT).await;
    assert_eq!(answer[0]["response_type"], "ephemeral");
    assert!(
        answer[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("enterprise or custom plan"),
        "{answer:?}"
    );
    let (_, scans) = t.get("/api/v1/scans").await;
    assert_eq!(scans["scans"], json!([]));
    // On enterprise it queues a scan and says where it is in the queue.
    t.app
        .state
        .store
        .set_org_plan("default", "enterprise")
        .await
        .expect("upgrade");
    slack_post(
        &t,
        "/api/slack/interactions",
        &click(
            "T0ACME",
            "U0ALICE",
            "run_scan",
            "fence_finding",
            &run,
            &t.slack.response_url("run2"),
        ),
        None,
    )
    .await;
    let answer = t.slack.wait_responses("run2", 1, WAIT).await;
    assert!(
        answer[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Queued a full scan of example.com"),
        "{answer:?}"
    );
    t.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_belongs_to_one_organization() {
    let t = TestApp::spawn(Db::Sqlite).await;
    connect(&t, "T0ACME").await;
    let other = t.other_org("rival", "custom", &["admin"]).await;
    let (s, e) = t
        .request(
            reqwest::Method::PATCH,
            "/api/v1/org",
            &other,
            Some(json!({"slack_team_id": "T0ACME"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    let (_, org) = t.get("/api/v1/org").await;
    assert_eq!(
        org["slack_team_id"], "T0ACME",
        "the first organization keeps its workspace"
    );
    t.app.shutdown().await;
}

/// Makes the organization's Slack users checkable (SLACK.md §9: `users.info` needs a token with `users:read`): a
/// bot-token channel that receives no finding alerts, and U0ALICE, a full member of the fake's workspace.
pub(crate) async fn checkable(t: &TestApp) {
    t.slack.add_channel("C0CHECK", "fence-check");
    t.slack.add_user("U0ALICE", "alice");
    t.channel(
        "check",
        json!({"bot_token": fence_testkit::BOT_TOKEN, "channel_id": "C0CHECK", "alert_types": ["certificate_expiring"]}),
    )
    .await;
}
