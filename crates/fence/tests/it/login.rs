//! Log-in back-off per (account, client address): a guesser slows only itself down and cannot lock the owner out
//! from elsewhere, concurrent guesses cannot slip past the count, and `X-Forwarded-For` names the client only behind
//! a configured trusted proxy.

use crate::support::{Db, TestApp};
use reqwest::StatusCode;

/// Posts the log-in form (with its double-submit token), claiming `xff` as `X-Forwarded-For` when given; returns the
/// status and the `Retry-After` header.
pub(crate) async fn log_in_from(
    t: &TestApp,
    email: &str,
    password: &str,
    xff: Option<&str>,
) -> (StatusCode, Option<String>) {
    let page = t
        .http
        .get(format!("{}/login", t.url))
        .send()
        .await
        .expect("login page");
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    let pair = cookie.split(';').next().expect("pair").to_string();
    let token = pair.split_once('=').expect("token").1.to_string();
    let body = serde_urlencoded::to_string([
        ("_csrf", token.as_str()),
        ("email", email),
        ("password", password),
    ])
    .expect("form");
    let mut req = t
        .http
        .post(format!("{}/login", t.url))
        .header("cookie", pair)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(x) = xff {
        req = req.header("x-forwarded-for", x);
    }
    let r = req.send().await.expect("post");
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (r.status(), retry)
}

async fn owner(t: &TestApp) {
    let store = &t.app.state.store;
    let org = store.org_by_name("default").await.expect("org");
    let hash = fence_server::crypto::hash_password("correct horse battery").expect("hash");
    store
        .create_user(
            &org.id,
            "owner@example.com",
            &hash,
            fence_core::Role::Admin,
            0,
        )
        .await
        .expect("user");
}

/// The review: five wrong passwords from anywhere locked the admin out for 15 minutes. Now the guesser's address
/// waits, with `Retry-After`, and the owner logs in from theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guesser_cannot_lock_the_owner_out_from_elsewhere() {
    let t = TestApp::spawn_with(Db::Sqlite, "trusted_proxies = [\"127.0.0.1\"]").await;
    owner(&t).await;
    let attacker = Some("198.51.100.66");
    for _ in 0..5 {
        let (s, _) = log_in_from(&t, "owner@example.com", "guess", attacker).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, retry) = log_in_from(&t, "owner@example.com", "guess", attacker).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry.as_deref(), Some("1"), "the first wait is a second");
    let (s, _) = log_in_from(
        &t,
        "owner@example.com",
        "correct horse battery",
        Some("203.0.113.5"),
    )
    .await;
    // Logged in: redirected to the dashboard (which the client follows).
    assert!(
        s == StatusCode::SEE_OTHER || s == StatusCode::OK,
        "the owner logs in from elsewhere: {s}"
    );
    t.app.shutdown().await;
}

/// Without trusted proxies a client's `X-Forwarded-For` is ignored: changing it on every guess does not reset the
/// back-off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_forwarded_address_does_not_reset_the_back_off() {
    let t = TestApp::spawn(Db::Sqlite).await;
    owner(&t).await;
    for i in 0..5 {
        let xff = format!("198.51.100.{i}");
        let (s, _) = log_in_from(&t, "owner@example.com", "guess", Some(&xff)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, _) = log_in_from(&t, "owner@example.com", "guess", Some("198.51.100.99")).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    t.app.shutdown().await;
}

/// The review: the count was checked, then the password, then the failure stored — twenty guesses sent at once all
/// got their password checked. Each attempt is now counted before its password is, so at most five are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_guesses_cannot_slip_past_the_count() {
    let t = TestApp::spawn(Db::Sqlite).await;
    owner(&t).await;
    let guesses = (0..20).map(|i| {
        let t = &t;
        async move {
            log_in_from(t, "owner@example.com", &format!("guess {i}"), None)
                .await
                .0
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert!(checked <= 5, "{checked} passwords checked: {statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    t.app.shutdown().await;
}
