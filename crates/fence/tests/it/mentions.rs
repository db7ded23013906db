//! Mention names resolved as Slack identifies things (SLACK.md §9): `@name` is a user group handle first, then a
//! user's unique `name` — never the display or real name a member picks; `#name` a channel; an e-mail address
//! `users.lookupByEmail`. Names come from a directory Fence reads in the background, within Tier 2 (SLACK.md §2),
//! never from a crawl inside the save; webhook channels resolve through the organization's Slack install.

use crate::support::{seed_finding, Db, TestApp, SIGNING_SECRET};
use fence_testkit::BOT_TOKEN;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

/// A bot-token channel in `#security-alerts` with these mentions for critical findings.
fn bot_channel(t: &TestApp, name: &str, mentions: Value) -> Value {
    json!({"name": name, "webhook_url": t.slack.webhook_url("unused"), "bot_token": BOT_TOKEN,
           "channel_id": "C0SEC", "mentions": {"critical": mentions}})
}

async fn create(t: &TestApp, body: Value) -> (StatusCode, Value) {
    t.post("/api/v1/channels", body).await
}

/// SLACK.md §9: `users.list` members carry `name` (unique) and `profile.display_name` / `profile.real_name`, which
/// any member sets as they like. A member who calls themselves "oncall" captures nothing; a group handle wins over
/// a username; the answer shows each id beside what it is.
async fn display_names_never_resolve_and_a_group_handle_wins(db: Db) {
    let t = TestApp::spawn(db).await;
    t.slack.add_channel("C0SEC", "security-alerts");
    t.slack
        .add_user_named("U0MALLORY", "mallory", "oncall", "oncall");
    t.slack.add_user("U0ALICE", "alice");
    t.slack.add_user("U0DEVOPSBOT", "devops");
    t.slack.add_group("S0DEVOPS", "devops");

    let (s, e) = create(&t, bot_channel(&t, "spoofed", json!(["@alice", "@oncall"]))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "mentions.critical[1]");
    let message = e["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("display and real names are not used"),
        "{e}"
    );
    assert!(!message.contains("U0MALLORY"), "{e}");

    let (s, c) = create(
        &t,
        bot_channel(&t, "ok", json!(["@devops", "@Alice", "#security-alerts"])),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["resolved_mentions"]["@devops"], "<!subteam^S0DEVOPS>");
    assert_eq!(c["resolved_mentions"]["@Alice"], "<@U0ALICE>");
    assert_eq!(c["resolved_mentions"]["#security-alerts"], "<#C0SEC>");
    assert_eq!(
        c["resolved_labels"]["@devops"],
        "user group @devops (S0DEVOPS)"
    );
    assert_eq!(c["resolved_labels"]["@Alice"], "user @alice (U0ALICE)");
    assert_eq!(
        c["resolved_labels"]["#security-alerts"],
        "channel #security-alerts (C0SEC)"
    );

    t.post("/api/v1/findings", seed_finding()).await;
    let posts = t
        .slack
        .wait_until_api("chat.postMessage", WAIT, |p| p.iter().any(|c| c.ok()))
        .await;
    let post = posts.iter().find(|c| c.ok()).expect("posted");
    assert_eq!(
        post.body["text"],
        "🚨 Critical Vulnerability Detected <!subteam^S0DEVOPS> <@U0ALICE> <#C0SEC>"
    );
    t.app.shutdown().await;
}
crate::both_dbs!(display_names_never_resolve_and_a_group_handle_wins);

/// SLACK.md §9: `users.lookupByEmail` (scope `users:read.email`) finds active users; deactivated ones are
/// `users_not_found`, and are not mentionable by name either.
async fn an_email_address_resolves_through_lookup_by_email(db: Db) {
    let t = TestApp::spawn(db).await;
    t.slack
        .add_user_with_email("U0ALICE", "alice", Some("alice@example.com"));
    t.slack
        .add_user_with_email("U0BOB", "bob", Some("bob@example.com"));
    t.slack.deactivate_user("U0BOB");

    let (s, e) = create(&t, bot_channel(&t, "gone", json!(["bob@example.com"]))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "mentions.critical[0]");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not the e-mail address of an active user"),
        "{e}"
    );
    // users.list still lists deactivated members, with `deleted: true` (SLACK.md §9): not mentionable by name either.
    let (s, e) = create(&t, bot_channel(&t, "gone", json!(["@bob"]))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(t
        .slack
        .api_calls("users.list")
        .iter()
        .any(|c| c.answer["members"]
            .as_array()
            .is_some_and(|m| m.iter().any(|u| u["id"] == "U0BOB" && u["deleted"] == true))));

    let (s, c) = create(&t, bot_channel(&t, "mail", json!(["alice@example.com"]))).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["resolved_mentions"]["alice@example.com"], "<@U0ALICE>");
    assert_eq!(
        c["resolved_labels"]["alice@example.com"],
        "user @alice (U0ALICE)"
    );
    let lookups = t.slack.api_calls("users.lookupByEmail");
    assert!(
        lookups
            .iter()
            .any(|l| l.ok() && l.body["email"] == "alice@example.com"),
        "{lookups:?}"
    );
    t.app.shutdown().await;
}
crate::both_dbs!(an_email_address_resolves_through_lookup_by_email);

/// Two entries a name matches case-insensitively: Fence does not pick one, it lists both.
async fn an_ambiguous_name_is_a_422_listing_the_candidates(db: Db) {
    let t = TestApp::spawn(db).await;
    t.slack.add_group("S0ONCALLA", "Oncall");
    t.slack.add_group("S0ONCALLB", "oncall");
    let (s, e) = create(&t, bot_channel(&t, "amb", json!(["@oncall"]))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "mentions.critical[0]");
    let message = e["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("ambiguous")
            && message.contains("Oncall (S0ONCALLA)")
            && message.contains("oncall (S0ONCALLB)"),
        "{e}"
    );
    t.app.shutdown().await;
}
crate::both_dbs!(an_ambiguous_name_is_a_422_listing_the_candidates);

/// SLACK.md Addendum: `usergroups.list` without `usergroups:read` answers `missing_scope` with `needed`. Only the
/// names that need the group list fail, with that hint; users and channels still resolve.
async fn a_missing_group_scope_fails_only_group_names_with_the_hint(db: Db) {
    let t = TestApp::spawn(db).await;
    t.slack.add_channel("C0SEC", "security-alerts");
    t.slack.add_user("U0ALICE", "alice");
    t.slack.add_group("S0SECTEAM", "security-team");
    let token = "xoxb-no-usergroups";
    t.slack.set_scopes(
        token,
        &[
            "chat:write",
            "chat:write.public",
            "users:read",
            "channels:read",
            "groups:read",
        ],
    );
    let mut body = bot_channel(
        &t,
        "x",
        json!(["@alice", "@security-team", "#security-alerts"]),
    );
    body["bot_token"] = json!(token);
    let (s, e) = create(&t, body.clone()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "mentions.critical[1]");
    let message = e["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("usergroups.list: missing_scope (needs usergroups:read)")
            && !message.contains(" more: "),
        "only the group name fails: {e}"
    );
    body["mentions"] = json!({"critical": ["@alice", "#security-alerts"]});
    let (s, c) = create(&t, body).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["resolved_mentions"]["@alice"], "<@U0ALICE>");
    t.app.shutdown().await;
}
crate::both_dbs!(a_missing_group_scope_fails_only_group_names_with_the_hint);

/// Another Fence process on the same database (or this one restarted), sharing the stored directory.
async fn second_process(t: &TestApp, db: &Db) -> fence_server::RunningApp {
    let toml = format!(
        "{}\n[slack]\napi_url = \"{}\"\nsigning_secret = \"{SIGNING_SECRET}\"\n",
        crate::support::config_toml(t.dir.path(), db, ""),
        t.slack.api_url()
    );
    let config = fence_server::Config::from_sources(Some(&toml), None, &[]).expect("config");
    let (app, _) = fence_server::App::build(config, std::sync::Arc::new(fence_server::SystemClock))
        .await
        .expect("build");
    app.start().await.expect("start")
}

/// SLACK.md §2 and §9: `users.list` is Tier 2 and paginated. The directory is read once, in the background and
/// every page, and stored: saves — in this process or another sharing the database — read it and call no list
/// method, and the other process's directory worker does not read the workspace again.
async fn a_save_never_lists_users(db: Db) {
    let t = TestApp::spawn(db.clone()).await;
    for i in 0..5 {
        t.slack.add_user(&format!("U0USER{i}"), &format!("user{i}"));
    }
    t.slack.add_group("S0SECTEAM", "security-team");
    let (s, c) = create(&t, bot_channel(&t, "first", json!(["@user4"]))).await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "found on the last page of users.list: {c}"
    );
    let listed = t.slack.api_calls("users.list");
    assert_eq!(listed.len(), 3, "five users in pages of two: {listed:?}");
    assert!(listed.iter().all(|c| c.ok() && c.status == 200));
    let lists = |t: &TestApp| {
        ["users.list", "usergroups.list", "conversations.list"].map(|m| t.slack.api_calls(m).len())
    };
    let before = lists(&t);

    let other = second_process(&t, &db).await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/v1/channels", other.url()))
        .bearer_auth(crate::support::ADMIN_TOKEN)
        .json(&bot_channel(
            &t,
            "second",
            json!(["@security-team", "@user0"]),
        ))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::CREATED);
    let c: Value = r.json().await.expect("json");
    assert_eq!(c["resolved_mentions"]["@user0"], "<@U0USER0>");
    let id = c["id"].as_str().expect("id").to_string();
    let (s, c) = t
        .patch(
            &format!("/api/v1/channels/{id}"),
            json!({"mentions": {"high": ["@user1"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["resolved_mentions"]["@user1"], "<@U0USER1>");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        lists(&t),
        before,
        "saves read the stored directory, not Slack's lists"
    );
    other.shutdown().await;
    t.app.shutdown().await;
}
crate::both_dbs!(a_save_never_lists_users);

/// The directory is read again in the background (`slack.directory_refresh_every`): a user who joins the
/// workspace can be mentioned without any save crawling Slack.
async fn the_background_refresh_picks_up_a_new_user(db: Db) {
    let keys = format!("signing_secret = \"{SIGNING_SECRET}\"\ndirectory_refresh_every = \"1s\"");
    let t = TestApp::spawn_slack(db, "", "", &keys).await;
    t.slack.add_user("U0ALICE", "alice");
    let (s, _) = create(&t, bot_channel(&t, "a", json!(["@alice"]))).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, e) = create(&t, bot_channel(&t, "b", json!(["@newcomer"]))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");

    t.slack.add_user("U0NEWCOMER", "newcomer");
    let deadline = Instant::now() + WAIT;
    let c = loop {
        let (s, c) = create(&t, bot_channel(&t, "b", json!(["@newcomer"]))).await;
        if s == StatusCode::CREATED {
            break c;
        }
        assert!(
            Instant::now() < deadline,
            "the refresh never found the new user: {c}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(c["resolved_mentions"]["@newcomer"], "<@U0NEWCOMER>");
    let limited = t
        .slack
        .api_calls("users.list")
        .iter()
        .filter(|c| c.status == 429)
        .count();
    assert_eq!(limited, 0, "refreshes stay within Tier 2 (SLACK.md §2)");
    t.app.shutdown().await;
}
crate::both_dbs!(the_background_refresh_picks_up_a_new_user);

/// The seed's setup is a plain webhook channel saying `@security-team`. Webhooks cannot look anything up, so Fence
/// resolves the name through the organization's Slack install (Add to Slack, SLACK.md §8), whose bot token is kept
/// encrypted and never shown.
async fn a_webhook_channel_resolves_names_through_the_org_install(db: Db) {
    let t = TestApp::spawn(db).await;
    t.slack.add_channel("C0SEC", "security-alerts");
    t.slack.add_group("S0SECTEAM", "security-team");
    let webhook = json!({"mentions": {"critical": ["@security-team"]}});
    let (s, e) = create(
        &t,
        json!({"name": "hook", "webhook_url": t.slack.webhook_url("hook"), "mentions": {"critical": ["@security-team"]}}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Add to Slack"),
        "{e}"
    );

    let token = crate::slack_strict::add_to_slack(&t).await;
    // A webhook of another workspace: the install's ids would name other people there.
    let (s, e) = create(
        &t,
        json!({"name": "elsewhere", "webhook_url": t.slack.webhook_url_in("T0OTHER", "hook"), "mentions": {"critical": ["@security-team"]}}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("T0OTHER"),
        "{e}"
    );
    let (s, c) = create(
        &t,
        json!({"name": "hook", "webhook_url": t.slack.webhook_url_in("T0ACME", "hook"), "mentions": webhook["mentions"]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let id = c["id"].as_str().expect("id").to_string();
    let (_, c) = t.get(&format!("/api/v1/channels/{id}")).await;
    assert_eq!(
        c["resolved_mentions"]["@security-team"],
        "<!subteam^S0SECTEAM>"
    );
    assert_eq!(
        c["resolved_labels"]["@security-team"],
        "user group @security-team (S0SECTEAM)"
    );
    assert!(!c.to_string().contains(&token));
    let reads = t.slack.api_calls("usergroups.list");
    assert!(
        reads
            .iter()
            .all(|r| r.token.as_deref() == Some(token.as_str())),
        "{reads:?}"
    );

    t.post("/api/v1/findings", seed_finding()).await;
    let got = t.slack.wait_accepted("hook", 1, WAIT).await;
    assert!(
        got[0].body["text"]
            .as_str()
            .unwrap_or_default()
            .contains("<!subteam^S0SECTEAM>"),
        "{:?}",
        got[0].body
    );
    t.app.shutdown().await;
}
crate::both_dbs!(a_webhook_channel_resolves_names_through_the_org_install);

/// A bot token's workspace is kept (token included, encrypted) only while a channel uses that token: once the
/// channel is deleted, the directory worker forgets it at its next refresh, and keeps the one still in use.
async fn a_workspace_no_channel_uses_is_forgotten_with_its_token(db: Db) {
    let slack = fence_testkit::FakeSlack::start().await.expect("fake slack");
    slack.add_user("U0ALICE", "alice");
    slack.add_channel("C0SEC", "security-alerts");
    let scopes = fence_testkit::manifest::bot_scopes();
    slack.set_scopes(
        "xoxb-second",
        &scopes.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = format!(
        "{}\n[slack]\napi_url = \"{}\"\n",
        crate::support::config_toml(dir.path(), &db, ""),
        slack.api_url()
    );
    let config = fence_server::Config::from_sources(Some(&toml), None, &[]).expect("config");
    let clock = fence_server::ManualClock::new(crate::pacing::T0);
    let (app, _) = fence_server::App::build(config, std::sync::Arc::new(clock.clone()))
        .await
        .expect("build");
    let app = app.start_with(false).await.expect("start");
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for token in [BOT_TOKEN, "xoxb-second"] {
        let r = http
            .post(format!("{}/api/v1/channels", app.url()))
            .bearer_auth(crate::support::ADMIN_TOKEN)
            .json(&json!({"name": token, "webhook_url": slack.webhook_url("unused"), "bot_token": token,
                          "channel_id": "C0SEC", "mentions": {"critical": ["@alice"]}}))
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), StatusCode::CREATED);
        let c: Value = r.json().await.expect("json");
        ids.push(c["id"].as_str().expect("id").to_string());
    }
    let store = &app.state.store;
    assert_eq!(store.workspaces().await.expect("workspaces").len(), 2);
    let r = http
        .delete(format!("{}/api/v1/channels/{}", app.url(), ids[0]))
        .bearer_auth(crate::support::ADMIN_TOKEN)
        .send()
        .await
        .expect("delete");
    assert!(r.status().is_success());

    clock.advance_ms(2 * 3_600_000);
    app.state.directory_wake.notify_one();
    let deadline = Instant::now() + WAIT;
    while store.workspaces().await.expect("workspaces").len() != 1 {
        assert!(Instant::now() < deadline, "the unused workspace was kept");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let left = store.workspaces().await.expect("workspaces");
    let token = app
        .state
        .secrets
        .decrypt(&left[0].token_enc)
        .expect("token");
    assert_eq!(
        token.expose(),
        "xoxb-second",
        "the workspace still in use stays"
    );
    app.shutdown().await;
}
crate::both_dbs!(a_workspace_no_channel_uses_is_forgotten_with_its_token);
