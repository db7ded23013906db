//! "Add to Slack" attacked (SLACK.md §8: Slack sends the browser back to `redirect_uri` with `code` and `state`):
//! a `state` is bound to the admin's Fence session and to a nonce in an HttpOnly cookie, works once, and an
//! organization's workspace is never replaced by an install; one workspace belongs to one organization even when two
//! claim it at once.

use crate::support::{Db, TestApp, ADMIN_TOKEN};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A logged-in user of `org` with `role`; returns the `Cookie` header of their session.
pub(crate) async fn session_of(t: &TestApp, org: &str, role: &str) -> String {
    let store = &t.app.state.store;
    let org = store.org_by_name(org).await.expect("org");
    let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
    let role = fence_core::Role::parse(role).expect("role");
    let user = store
        .create_user(&org.id, &email, "unused", role, 0)
        .await
        .expect("user");
    let id = format!("session-{}", uuid::Uuid::new_v4().simple());
    store
        .create_session(&id, &user.id, "csrf", i64::MAX / 2, 0)
        .await
        .expect("session");
    format!("fence_session={id}")
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// What `GET /api/slack/install` answered: status, the consent URL's `state`, and the nonce cookie it set.
pub(crate) async fn start(
    t: &TestApp,
    cookie: Option<&str>,
) -> (StatusCode, String, String, String) {
    let mut req = no_redirects().get(format!("{}/api/slack/install", t.url));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let r = req.send().await.expect("install");
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let set = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("fence_slack_install="))
        .unwrap_or_default()
        .to_string();
    let state = url::Url::parse(&location)
        .ok()
        .and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.to_string())
        })
        .unwrap_or_default();
    (status, location, state, set)
}

/// The `name=value` part of a `Set-Cookie`.
fn pair(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap_or_default()
}

/// Slack's redirect back to Fence, from a browser holding `cookies`; status and page text.
async fn back(t: &TestApp, code: &str, state: &str, cookies: &str) -> (StatusCode, String) {
    let r = no_redirects()
        .get(format!("{}/api/slack/oauth/callback", t.url))
        .query(&[("code", code), ("state", state)])
        .header("cookie", cookies)
        .send()
        .await
        .expect("callback");
    (r.status(), r.text().await.unwrap_or_default())
}

fn grant(t: &TestApp, code: &str, team: &str) {
    t.slack.add_oauth_code(
        code,
        json!({"ok": true, "access_token": format!("xoxb-{code}"), "token_type": "bot", "scope": "incoming-webhook,commands,chat:write",
               "team": {"id": team, "name": "Acme"},
               "incoming_webhook": {"channel": "#security-alerts", "channel_id": "C0SEC", "url": t.slack.webhook_url(&code.replace('-', "")), "configuration_url": "https://acme.slack.com/services/B1"}}),
    );
}

async fn channel_count(t: &TestApp) -> usize {
    let (_, c) = t.get("/api/v1/channels").await;
    c["channels"].as_array().map_or(0, Vec::len)
}

/// Before: any browser holding a `state` (sent to a victim, or replayed) finished the install into the state's
/// organization, and bearer tokens could start one nobody's session was bound to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_finishes_once_in_the_admin_session_that_started_it() {
    let t = TestApp::spawn(Db::Sqlite).await;
    // Who may start: an admin's session only.
    assert_eq!(start(&t, None).await.0, StatusCode::UNAUTHORIZED);
    let r = no_redirects()
        .get(format!("{}/api/slack/install", t.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("install");
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a bearer token is no browser session"
    );
    let member = session_of(&t, "default", "member").await;
    assert_eq!(start(&t, Some(&member)).await.0, StatusCode::FORBIDDEN);

    // The web UI's button is the same start, for admins only.
    let web = |cookie: String| {
        no_redirects()
            .get(format!("{}/settings/notifications/add-to-slack", t.url))
            .header("cookie", cookie)
            .send()
    };
    assert_eq!(
        web(member.clone()).await.expect("web").status(),
        StatusCode::FORBIDDEN
    );
    let admin = session_of(&t, "default", "admin").await;
    let r = web(admin.clone()).await.expect("web");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .is_ok_and(|c| c.starts_with("fence_slack_install=") && c.contains("HttpOnly")),
        "{:?}",
        r.headers()
    );
    let (status, location, state, set) = start(&t, Some(&admin)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        location.starts_with("https://slack.test/oauth/v2/authorize?"),
        "{location}"
    );
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let nonce = pair(&set);
    grant(&t, "code-1", "T0ACME");

    // The link sent to another admin (another session, no nonce), or opened without the cookie, does nothing.
    let victim = session_of(&t, "default", "admin").await;
    for cookies in [format!("{victim}; {nonce}"), victim.clone(), admin.clone()] {
        let (s, page) = back(&t, "code-1", &state, &cookies).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{cookies}: {page}");
        assert!(page.contains("another Fence session"), "{page}");
    }
    // A member, or nobody logged in, may not finish one.
    assert_eq!(
        back(&t, "code-1", &state, &format!("{member}; {nonce}"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        back(&t, "code-1", &state, nonce).await.0,
        StatusCode::UNAUTHORIZED
    );
    // An altered state.
    let forged = state.replacen('0', "1", 1);
    assert_eq!(
        back(&t, "code-1", &forged, &format!("{admin}; {nonce}"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(channel_count(&t).await, 0, "nothing was installed");
    assert!(
        t.slack.api_calls("oauth.v2.access").is_empty(),
        "no code was exchanged"
    );

    // The admin's own browser finishes it, once; the cookie is cleared.
    let r = no_redirects()
        .get(format!("{}/api/slack/oauth/callback", t.url))
        .query(&[("code", "code-1"), ("state", state.as_str())])
        .header("cookie", format!("{admin}; {nonce}"))
        .send()
        .await
        .expect("callback");
    assert_eq!(r.status(), StatusCode::OK);
    let cleared = r.headers().get_all("set-cookie").iter().any(|v| {
        v.to_str()
            .is_ok_and(|c| c.starts_with("fence_slack_install=;") && c.contains("Max-Age=0"))
    });
    assert!(cleared, "{:?}", r.headers());
    assert!(r
        .text()
        .await
        .unwrap_or_default()
        .contains("connected to #security-alerts"));
    grant(&t, "code-2", "T0ACME");
    let (s, page) = back(&t, "code-2", &state, &format!("{admin}; {nonce}")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(page.contains("already used"), "{page}");
    assert_eq!(
        channel_count(&t).await,
        1,
        "a replayed state installs nothing more"
    );
    let (_, org) = t.get("/api/v1/org").await;
    assert_eq!(org["slack_team_id"], "T0ACME");
    t.app.shutdown().await;
}

/// Before: installing another workspace silently re-pointed the organization (its Slack users lost Fence, the new
/// workspace's users gained its findings), and two organizations could claim one workspace at the same moment.
async fn a_workspace_is_never_replaced_by_an_install_and_claims_race(db: Db) {
    let t = TestApp::spawn(db).await;
    let (s, _) = t
        .patch("/api/v1/org", json!({"slack_team_id": "T0ACME"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let admin = session_of(&t, "default", "admin").await;
    let (_, _, state, set) = start(&t, Some(&admin)).await;
    grant(&t, "code-other", "T0OTHER");
    let (s, page) = back(
        &t,
        "code-other",
        &state,
        &format!("{admin}; {}", pair(&set)),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{page}");
    assert!(
        page.contains("already connected to another Slack workspace"),
        "{page}"
    );
    let (_, org) = t.get("/api/v1/org").await;
    assert_eq!(org["slack_team_id"], "T0ACME", "kept");
    assert_eq!(
        channel_count(&t).await,
        0,
        "no channel of the other workspace"
    );

    // Many organizations claim one workspace at once: exactly one wins, through the API and through installs.
    let mut tokens = Vec::new();
    for i in 0..6 {
        tokens.push(
            t.other_org(&format!("rival{i}"), "custom", &["admin"])
                .await,
        );
    }
    let claims = tokens.iter().map(|tok| {
        t.request(
            reqwest::Method::PATCH,
            "/api/v1/org",
            tok,
            Some(json!({"slack_team_id": "T0RACE"})),
        )
    });
    let answers: Vec<(StatusCode, Value)> = futures_util::future::join_all(claims).await;
    let won = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let lost = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CONFLICT)
        .count();
    assert_eq!((won, lost), (1, 5), "{answers:?}");
    let store = &t.app.state.store;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(
            store
                .create_org(&format!("fresh{i}"), "custom", 0)
                .await
                .expect("org")
                .id,
        );
    }
    let claims = ids.iter().map(|id| store.claim_slack_team(id, "T0RACE2"));
    let results = futures_util::future::join_all(claims).await;
    let winners: Vec<_> = results.iter().filter(|r| matches!(r, Ok(true))).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results.iter().filter(|r| r.is_err()).count() == 5,
        "{results:?}"
    );
    t.app.shutdown().await;
}
crate::both_dbs!(a_workspace_is_never_replaced_by_an_install_and_claims_race);
