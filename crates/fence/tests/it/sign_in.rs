//! Sign in with Slack (OpenID Connect) against the fake's provider, as strict as Slack's: a channel member clicks
//! View Details in an alert, signs in with Slack once and sees the finding; a foreign workspace, a forged or
//! mis-addressed ID token and a replayed or stolen `state` are refused and store nothing.

use crate::support::{Db, TestApp};
use fence_testkit::OidcUser;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const TEAM: &str = "T0ACME";

/// Fence with `[oidc]` pointing at the fake's provider (`extra` adds `oidc.*` keys), the fake knowing Fence's
/// client, and the organization installed in `TEAM`.
async fn spawn(db: Db, extra: &str) -> TestApp {
    let t = TestApp::spawn_oidc(db, extra).await;
    t.slack
        .register_oidc_client("123.456", "test-client-secret");
    let org = t.org_id().await;
    assert!(t
        .app
        .state
        .store
        .claim_slack_team(&org, TEAM)
        .await
        .expect("claim"));
    t
}

fn member(email: &str) -> OidcUser {
    OidcUser {
        user_id: "U0ALICE".into(),
        team_id: TEAM.into(),
        email: email.into(),
        email_verified: true,
        name: "Alice".into(),
    }
}

/// A browser without redirects and with a cookie jar kept by hand (names and values only).
struct Browser {
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

/// One answer: status, `Location`, body.
struct Page {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Vec::new(),
        }
    }

    fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    async fn get(&mut self, url: &str) -> Page {
        let header = self
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let r = self
            .http
            .get(url)
            .header("cookie", header)
            .send()
            .await
            .expect("get");
        for set in r.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap_or("").split(';').next().unwrap_or("");
            if let Some((n, v)) = pair.split_once('=') {
                self.cookies.retain(|(k, _)| k != n);
                if !v.is_empty() {
                    self.cookies.push((n.to_string(), v.to_string()));
                }
            }
        }
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Page {
            status,
            location,
            body: r.text().await.unwrap_or_default(),
        }
    }
}

/// The sign-on link of a log-in page, unescaped.
fn sso_link(login_page: &str) -> String {
    login_page
        .split("id=sso")
        .next()
        .and_then(|s| s.rsplit("href=\"").next())
        .and_then(|s| s.split('"').next())
        .expect("a sign-on link on the log-in page")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// Follows a log-in page's sign-on button to the provider and through its consent as `user`: the callback URL the
/// provider sends the browser to (on this test's Fence).
async fn to_callback(t: &TestApp, b: &mut Browser, login_path: &str, user: &OidcUser) -> String {
    let login = b.get(&format!("{}{login_path}", t.url)).await;
    assert_eq!(login.status, StatusCode::OK);
    let start = b.get(&format!("{}{}", t.url, sso_link(&login.body))).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    assert!(
        b.cookie("fence_oidc_state").is_some(),
        "the flow is tied to this browser"
    );
    let authorize = start.location.expect("to the provider");
    assert!(authorize.starts_with(&t.slack.oidc_issuer()), "{authorize}");
    let back = t
        .slack
        .oidc_consent(&authorize, user)
        .expect("Slack accepts Fence's request: client, scopes and redirect URL declared");
    assert!(
        back.starts_with("https://fence.test/login/oidc/callback?"),
        "{back}"
    );
    back.replace("https://fence.test", &t.url)
}

async fn users(t: &TestApp) -> Vec<fence_store::users::UserRow> {
    t.app
        .state
        .store
        .list_users(&t.org_id().await)
        .await
        .expect("users")
}

/// The finding's View Details link as the alert in Slack carries it.
async fn view_details(t: &TestApp) -> (String, String) {
    t.channel("siws", json!({})).await;
    let (s, v) = t
        .post(
            "/api/v1/findings",
            json!({"domain": "shop.example.com", "title": "SQL injection in the search form", "cvss": 9.8}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let id = v["ids"][0].as_str().expect("id").to_string();
    let msgs = t
        .slack
        .wait_accepted("siws", 1, Duration::from_secs(10))
        .await;
    let text = msgs[0].body.to_string();
    let link = format!("https://fence.test/findings/{id}");
    assert!(text.contains(&link), "the alert links the finding: {text}");
    (id, link.replace("https://fence.test", &t.url))
}

async fn view_details_signs_in_with_slack_once_and_opens_the_finding(db: Db) {
    let t = spawn(db, "").await;
    let (id, link) = view_details(&t).await;
    let mut b = Browser::new();
    let first = b.get(&link).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let login_path = first.location.expect("to the log-in page");
    assert_eq!(login_path, format!("/login?next=%2Ffindings%2F{id}"));
    let login = b.get(&format!("{}{login_path}", t.url)).await;
    assert!(
        login.body.contains("Sign in with single sign-on"),
        "{}",
        login.body
    );
    let callback = to_callback(&t, &mut b, &login_path, &member("alice@acme.example")).await;
    let done = b.get(&callback).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some(format!("/findings/{id}").as_str())
    );
    assert!(
        b.cookie("fence_oidc_state").is_none(),
        "the flow's cookie is cleared"
    );
    let page = b.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("SQL injection in the search form"),
        "{}",
        page.body
    );
    let alice: Vec<_> = users(&t)
        .await
        .into_iter()
        .filter(|u| u.email == "alice@acme.example")
        .collect();
    assert_eq!(alice.len(), 1, "the first sign-in made a user");
    assert_eq!(alice[0].role, fence_core::Role::Member, "oidc.default_role");
    // Fence exchanged the code once, with the PKCE verifier the fake checked against the challenge.
    let calls = t.slack.api_calls("openid.connect.token");
    assert_eq!(calls.len(), 1);
    assert!(calls[0].ok(), "{:?}", calls[0].answer);
    assert!(
        calls[0].body["code_verifier"].as_str().is_some(),
        "{}",
        calls[0].body
    );
    let (_, audit) = t.get("/api/v1/audit").await;
    let actions: Vec<&str> = audit["audit"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        actions.contains(&"user.created") && actions.contains(&"user.login"),
        "{audit}"
    );

    // Signing in again finds the same user, without a second account.
    let mut again = Browser::new();
    let callback = to_callback(&t, &mut again, "/login", &member("alice@acme.example")).await;
    let done = again.get(&callback).await;
    assert_eq!(done.location.as_deref(), Some("/dashboard"));
    assert_eq!(users(&t).await.len(), 1, "Alice, once");
}
crate::both_dbs!(view_details_signs_in_with_slack_once_and_opens_the_finding);

/// A refused sign-in: the log-in page with the reason, no session, no user.
async fn assert_refused(t: &TestApp, b: &mut Browser, callback: &str, reason: &str) {
    let before = users(t).await.len();
    let page = b.get(callback).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
    assert!(page.body.contains(reason), "{reason}: {}", page.body);
    assert!(b.cookie("fence_session").is_none(), "no session");
    assert_eq!(users(t).await.len(), before, "no user stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_workspace_is_refused_and_a_member_gets_the_configured_role() {
    let t = spawn(Db::Sqlite, "default_role = \"viewer\"").await;
    let mut b = Browser::new();
    let mut stranger = member("mallory@other.example");
    stranger.team_id = "T0OTHER".into();
    let callback = to_callback(&t, &mut b, "/login", &stranger).await;
    assert_refused(&t, &mut b, &callback, "not the one this Fence belongs to").await;

    let mut unverified = member("bob@acme.example");
    unverified.user_id = "U0BOB".into();
    unverified.email_verified = false;
    let mut b = Browser::new();
    let callback = to_callback(&t, &mut b, "/login", &unverified).await;
    assert_refused(&t, &mut b, &callback, "not verified").await;

    let mut b = Browser::new();
    let callback = to_callback(&t, &mut b, "/login", &member("carol@acme.example")).await;
    assert_eq!(b.get(&callback).await.status, StatusCode::SEE_OTHER);
    let carol = users(&t)
        .await
        .into_iter()
        .find(|u| u.email == "carol@acme.example")
        .expect("carol");
    assert_eq!(carol.role, fence_core::Role::Viewer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_or_misaddressed_id_tokens_are_refused() {
    let t = spawn(Db::Sqlite, "").await;
    let cases: [(&str, Value, bool); 5] = [
        ("a key the provider does not publish", json!({}), true),
        ("another audience", json!({"aud": "999.999"}), false),
        (
            "another issuer",
            json!({"iss": "https://evil.example"}),
            false,
        ),
        ("an expired token", json!({"exp": 1_000_000_000}), false),
        (
            "another sign-in's nonce",
            json!({"nonce": "not-this-one"}),
            false,
        ),
    ];
    for (what, claims, forge) in cases {
        t.slack.forge_id_tokens(forge);
        t.slack.override_id_token_claims(claims);
        let mut b = Browser::new();
        let callback = to_callback(&t, &mut b, "/login", &member("alice@acme.example")).await;
        let page = b.get(&callback).await;
        assert_eq!(
            page.status,
            StatusCode::UNAUTHORIZED,
            "{what}: {}",
            page.body
        );
        assert!(
            page.body.contains("Sign-in failed"),
            "{what}: {}",
            page.body
        );
        assert!(b.cookie("fence_session").is_none(), "{what}");
    }
    assert!(
        !users(&t)
            .await
            .iter()
            .any(|u| u.email == "alice@acme.example"),
        "nobody was created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_or_stolen_state_is_refused() {
    let t = spawn(Db::Sqlite, "").await;
    let mut b = Browser::new();
    let callback = to_callback(&t, &mut b, "/login", &member("alice@acme.example")).await;
    // Another browser (an attacker's link, login CSRF) cannot finish this browser's sign-in.
    let mut other = Browser::new();
    let page = other.get(&callback).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(
        page.body.contains("started in another browser"),
        "{}",
        page.body
    );
    assert!(
        t.slack.api_calls("openid.connect.token").is_empty(),
        "the code was not even tried"
    );
    // Its own browser can, once.
    let state_cookie = b.cookie("fence_oidc_state").expect("cookie").to_string();
    assert_eq!(b.get(&callback).await.status, StatusCode::SEE_OTHER);
    let mut replay = Browser::new();
    replay
        .cookies
        .push(("fence_oidc_state".into(), state_cookie));
    let page = replay.get(&callback).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(
        page.body.contains("already used or has expired"),
        "{}",
        page.body
    );
    assert!(replay.cookie("fence_session").is_none());
    assert_eq!(t.slack.api_calls("openid.connect.token").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_user_is_found_by_verified_email_and_keeps_their_role() {
    let t = spawn(Db::Sqlite, "").await;
    crate::browser::add_user(&t, "lead@acme.example", "a-long-password-1", "admin").await;
    let mut b = Browser::new();
    let callback = to_callback(&t, &mut b, "/login", &member("Lead@acme.example")).await;
    assert_eq!(b.get(&callback).await.status, StatusCode::SEE_OTHER);
    let all = users(&t).await;
    let lead: Vec<_> = all
        .iter()
        .filter(|u| u.email == "lead@acme.example")
        .collect();
    assert_eq!(lead.len(), 1, "linked, not duplicated: {all:?}");
    assert_eq!(lead[0].role, fence_core::Role::Admin);
    // Later, with another email at Slack, the same Slack user is still the same Fence user.
    let mut b = Browser::new();
    let callback = to_callback(&t, &mut b, "/login", &member("renamed@acme.example")).await;
    assert_eq!(b.get(&callback).await.status, StatusCode::SEE_OTHER);
    assert_eq!(users(&t).await.len(), all.len());
    // The password still works for that user.
    let (status, session) =
        crate::browser::login(&t, "lead@acme.example", "a-long-password-1").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(session.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_oidc_the_log_in_page_offers_only_passwords() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let page = t
        .http
        .get(format!("{}/login", t.url))
        .send()
        .await
        .expect("login");
    assert!(!page
        .text()
        .await
        .unwrap_or_default()
        .contains("/login/oidc"));
    let r = t
        .http
        .get(format!("{}/login/oidc", t.url))
        .send()
        .await
        .expect("oidc");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
