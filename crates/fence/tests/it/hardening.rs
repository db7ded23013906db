//! Attacks from the security review (issue 14), each performed against a running Fence: forged Slack requests
//! without a usable signing secret, answers sent to foreign `response_url`s, weak configuration, and more.

use crate::support::{seed_finding, Db, TestApp, ADMIN_TOKEN, SIGNING_SECRET};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Posts a form body to a Slack endpoint signed with `secret`.
async fn signed_post(t: &TestApp, path: &str, body: &str, secret: &str) -> StatusCode {
    let ts = now();
    t.http
        .post(format!("{}{path}", t.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-Slack-Request-Timestamp", ts.to_string())
        .header(
            "X-Slack-Signature",
            fence_slack::signature::sign(secret, ts, body.as_bytes()),
        )
        .body(body.to_string())
        .send()
        .await
        .expect("post")
        .status()
}

fn command(team: &str, text: &str, response_url: &str) -> String {
    serde_urlencoded::to_string([
        ("team_id", team),
        ("user_id", "U0ALICE"),
        ("command", "/fence"),
        ("text", text),
        ("response_url", response_url),
    ])
    .expect("form")
}

fn click(team: &str, action_id: &str, value: &str, response_url: &str) -> String {
    let payload = json!({
        "type": "block_actions",
        "user": {"id": "U0ALICE", "team_id": team},
        "team": {"id": team},
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": "C0SEC"},
        "response_url": response_url,
        "actions": [{"action_id": action_id, "block_id": "fence_finding", "value": value, "type": "button"}],
    });
    serde_urlencoded::to_string([("payload", payload.to_string())]).expect("form")
}

async fn connect(t: &TestApp, team: &str) {
    let (s, v) = t.patch("/api/v1/org", json!({"slack_team_id": team})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// The signed value of an alert's button.
async fn button_value(t: &TestApp, action: &str) -> String {
    t.channel("sec", json!({})).await;
    t.post("/api/v1/findings", seed_finding()).await;
    let got = t
        .slack
        .wait_accepted("sec", 1, Duration::from_secs(10))
        .await;
    got[0].body["attachments"][0]["blocks"][2]["elements"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["action_id"] == action))
        .and_then(|b| b["value"].as_str())
        .expect("button")
        .to_string()
}

/// Attack: with `slack.signing_secret` unset (or empty, which the review forged with an empty HMAC key), a request
/// signed with an empty key must not list the organization's findings. Unset: the endpoints do not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_signing_secret_the_slack_endpoints_do_not_exist() {
    let t = TestApp::spawn_slack(Db::Sqlite, "", "", "").await;
    assert!(t.app.state.config.slack.signing_secret.is_none());
    connect(&t, "T0ACME").await;
    t.post("/api/v1/findings", seed_finding()).await;
    let body = command("T0ACME", "vulnerabilities", "");
    for secret in ["", "x"] {
        let s = signed_post(&t, "/api/slack/commands", &body, secret).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "commands, key {secret:?}");
        let c = click("T0ACME", "fix_instructions", "v", "");
        let s = signed_post(&t, "/api/slack/interactions", &c, secret).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "interactions, key {secret:?}");
    }
    t.app.shutdown().await;
}

/// Attack: a signed click (or command) whose `response_url` points elsewhere than Slack must not make Fence post
/// there (an SSRF towards internal addresses, or a leak of fix instructions to a third party).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_go_only_to_response_urls_on_the_allowed_hosts() {
    let keys = format!("signing_secret = \"{SIGNING_SECRET}\"");
    let t = TestApp::spawn_slack(Db::Sqlite, "", "", &keys).await;
    connect(&t, "T0ACME").await;
    crate::slack_app::checkable(&t).await;
    let value = button_value(&t, "fix_instructions").await;
    let foreign = t.slack.response_url("foreign");
    let c = click("T0ACME", "fix_instructions", &value, &foreign);
    assert_eq!(
        signed_post(&t, "/api/slack/interactions", &c, SIGNING_SECRET).await,
        StatusCode::OK
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, audit) = t.get("/api/v1/audit").await;
        let handled = audit["audit"]
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["action"] == "finding.fix_instructions"));
        if handled || Instant::now() > deadline {
            assert!(handled, "the click was handled: {audit}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let body = command("T0ACME", "scan localhost", &t.slack.response_url("scan"));
    assert_eq!(
        signed_post(&t, "/api/slack/commands", &body, SIGNING_SECRET).await,
        StatusCode::OK
    );
    let (_, scans) = t.get("/api/v1/scans").await;
    let id = scans["scans"][0]["id"]
        .as_str()
        .expect("queued")
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, s) = t.get(&format!("/api/v1/scans/{id}")).await;
        if s["status"] != "queued" && s["status"] != "running" || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(t.slack.responses("foreign"), Vec::<Value>::new());
    assert_eq!(t.slack.responses("scan"), Vec::<Value>::new());
    t.app.shutdown().await;
}

/// Runs `fence serve` with these variables; it must exit (not serve) within 20 s. Returns its stderr.
fn serve_refused(envs: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fence"));
    cmd.current_dir(dir.path())
        .arg("serve")
        .env_remove("FENCE_CONFIG")
        .env("FENCE_LISTEN", "127.0.0.1:0")
        .env("FENCE_DATA_DIR", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn fence");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(!status.success(), "fence serve started with {envs:?}");
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
                .expect("stderr");
            return err;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("fence serve kept running with {envs:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Bad secrets are refused at start, naming the key, never printing the value.
#[test]
fn fence_serve_refuses_weak_secrets_naming_the_key() {
    for (k, v, key) in [
        ("FENCE_SLACK__SIGNING_SECRET", "", "slack.signing_secret"),
        (
            "FENCE_SLACK__SIGNING_SECRET",
            "0123456789abcdef0123456789abcde",
            "slack.signing_secret",
        ),
        (
            "FENCE_SECRET_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd",
            "secret_key",
        ),
        ("FENCE_BOOTSTRAP_TOKEN", "change-me", "bootstrap_token"),
        ("FENCE_SLACK__CLIENT_ID", "123.456", "slack.client_secret"),
    ] {
        let err = serve_refused(&[(k, v)]);
        assert!(err.contains(&format!("`{key}`")), "{k}={v:?}: {err}");
        if !v.is_empty() {
            assert!(!err.contains(v), "{k}: the value was printed: {err}");
        }
    }
}

crate::both_dbs!(tokens_are_listed_without_values_and_revoked);
/// Attack: a leaked token keeps working. Admins list tokens (never their values) and revoke one; it stops at once.
async fn tokens_are_listed_without_values_and_revoked(db: Db) {
    let t = TestApp::spawn(db).await;
    let leaked = t.token_with(&["read"]).await;
    let (s, _) = t
        .request(reqwest::Method::GET, "/api/v1/tokens", &leaked, None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "listing needs admin");
    let (s, v) = t.get("/api/v1/tokens").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let text = v.to_string();
    assert!(
        !text.contains(ADMIN_TOKEN) && !text.contains(&leaked),
        "{text}"
    );
    let tokens = v["tokens"].as_array().expect("tokens");
    assert_eq!(tokens.len(), 2, "{v}");
    assert!(tokens
        .iter()
        .any(|t| t["label"] == "bootstrap" && t["current"] == true));
    let id = tokens
        .iter()
        .find(|t| t["current"] == false)
        .and_then(|t| t["id"].as_str())
        .expect("the leaked token")
        .to_string();
    let path = format!("/api/v1/tokens/{id}");
    let (s, _) = t
        .request(reqwest::Method::DELETE, &path, &leaked, None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "revoking needs admin");
    let (s, _) = t
        .request(reqwest::Method::DELETE, &path, ADMIN_TOKEN, None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = t
        .request(reqwest::Method::GET, "/api/v1/findings", &leaked, None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "revoked at once");
    let (s, _) = t
        .request(reqwest::Method::DELETE, &path, ADMIN_TOKEN, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let other = t.other_org("other", "startup", &["admin"]).await;
    let (_, mine) = t.get("/api/v1/tokens").await;
    let mine = mine["tokens"][0]["id"].as_str().expect("id").to_string();
    let (s, _) = t
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/tokens/{mine}"),
            &other,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another organization's token");
    let (_, audit) = t.get("/api/v1/audit").await;
    assert!(audit.to_string().contains("token.revoke"), "{audit}");

    // A short, guessable token is never accepted, even if one is stored.
    let org = t.app.state.store.org_by_name("default").await.expect("org");
    let short = "guessable-token-12345";
    t.app
        .state
        .store
        .create_token(&org.id, short, &[fence_core::Scope::Admin], None, 0)
        .await
        .expect("stored");
    let (s, _) = t
        .request(reqwest::Method::GET, "/api/v1/org", short, None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // An expired token stops authenticating; one that has not expired yet still works, and says when it will stop.
    let now = t.app.state.clock.now_ms();
    for (value, expires_at, want) in [
        (
            "expired-token-0123456789abcdef",
            now - 1,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "expiring-token-0123456789abcdef",
            now + 3_600_000,
            StatusCode::OK,
        ),
    ] {
        t.app
            .state
            .store
            .create_expiring_token(
                &org.id,
                value,
                &[fence_core::Scope::Admin],
                None,
                0,
                Some(expires_at),
            )
            .await
            .expect("stored");
        let (s, _) = t
            .request(reqwest::Method::GET, "/api/v1/org", value, None)
            .await;
        assert_eq!(s, want, "{value}");
    }
    let (_, list) = t.get("/api/v1/tokens").await;
    let expiring = list["tokens"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["expires_at"].is_string())
        .count();
    assert_eq!(expiring, 2, "{list}");
    t.app.shutdown().await;
}

crate::both_dbs!(changing_bootstrap_token_replaces_the_previous_one);
/// Attack: an operator rotates a leaked `bootstrap_token`; the old value must stop working.
async fn changing_bootstrap_token_replaces_the_previous_one(db: Db) {
    let t = TestApp::spawn(db.clone()).await;
    let dir = t.dir;
    t.app.shutdown().await;
    let rotated = "rotated-bootstrap-token-0123456789";
    let toml = crate::support::config_toml(dir.path(), &db, "").replace(ADMIN_TOKEN, rotated);
    let config = fence_server::Config::from_sources(Some(&toml), None, &[]).expect("config");
    let (app, _) = fence_server::App::build(config, std::sync::Arc::new(fence_server::SystemClock))
        .await
        .expect("build");
    let app = app.start_with(false).await.expect("start");
    let http = reqwest::Client::new();
    for (token, want) in [
        (ADMIN_TOKEN, StatusCode::UNAUTHORIZED),
        (rotated, StatusCode::OK),
    ] {
        let s = http
            .get(format!("{}/api/v1/org", app.url()))
            .bearer_auth(token)
            .send()
            .await
            .expect("get")
            .status();
        assert_eq!(s, want, "{token}");
    }
    let tokens = app
        .state
        .store
        .list_tokens(
            &app.state
                .store
                .org_by_name("default")
                .await
                .expect("org")
                .id,
        )
        .await
        .expect("tokens");
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    app.shutdown().await;
}

fn fence_cli(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fence"))
        .current_dir(dir)
        .args(args)
        .env_remove("FENCE_CONFIG")
        .output()
        .expect("run fence")
}

/// `fence token list` shows ids and labels, never values; `fence token revoke ID` removes one.
#[test]
fn fence_token_list_and_revoke() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("fence.toml"),
        crate::support::config_toml(dir.path(), &Db::Sqlite, ""),
    )
    .expect("write");
    assert!(fence_cli(dir.path(), &["migrate"]).status.success());
    assert!(fence_cli(dir.path(), &["org", "create", "default"])
        .status
        .success());
    let out = fence_cli(
        dir.path(),
        &["token", "create", "--scopes", "read", "--label", "ci"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let out = fence_cli(dir.path(), &["token", "list", "--json"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success() && !text.contains(&token), "{text}");
    let ci: Value = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["label"] == "ci")
        .expect("listed");
    let id = ci["id"].as_str().expect("id");
    let out = fence_cli(dir.path(), &["token", "revoke", id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = fence_cli(dir.path(), &["token", "list"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(id));
    let out = fence_cli(dir.path(), &["token", "revoke", id]);
    assert!(!out.status.success(), "revoking twice fails");
}

/// Attack: lists of a million items in a channel's rules or the organization's settings (stored, and walked for
/// every finding inside the ingest transaction). Every list is capped at 500 with a 422 naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_lists_are_capped_at_500_items() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let domains = |n: usize| {
        (0..n)
            .map(|i| format!("d{i}.example.com"))
            .collect::<Vec<_>>()
    };
    let hook = t.slack.webhook_url("caps");
    let ok = json!({"name": "caps", "webhook_url": hook, "filters": {"domains": domains(500)}});
    let (s, v) = t.post("/api/v1/channels", ok).await;
    assert_eq!(s, StatusCode::CREATED, "500 items are fine: {v}");
    for (field, body) in [
        (
            "filters.domains",
            json!({"filters": {"domains": domains(501)}}),
        ),
        (
            "filters.categories",
            json!({"filters": {"categories": vec!["xss"; 501]}}),
        ),
        (
            "filters.severities",
            json!({"filters": {"severities": vec!["high"; 100_000]}}),
        ),
        (
            "mentions.critical",
            json!({"mentions": {"critical": vec!["@here"; 501]}}),
        ),
        (
            "alert_types",
            json!({"alert_types": vec!["vulnerability"; 501]}),
        ),
        (
            "reminders.severities",
            json!({"reminders": {"every": "24h", "severities": vec!["critical"; 501]}}),
        ),
    ] {
        let mut b = body.clone();
        b["name"] = json!("too many");
        b["webhook_url"] = json!(hook);
        let (s, v) = t.post("/api/v1/channels", b).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {v}");
        assert_eq!(v["error"]["field"], field, "{v}");
        assert!(
            v.to_string().len() < 2000,
            "one error, not one per item: {v}"
        );
    }
    let users = (0..501).map(|i| format!("U{i:08}")).collect::<Vec<_>>();
    let (s, v) = t.patch("/api/v1/org", json!({"triage_allow": users})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "triage_allow", "{v}");
    let (_, org) = t.get("/api/v1/org").await;
    assert_eq!(org["triage_allow"], json!([]), "nothing stored");
    t.app.shutdown().await;
}

/// Attack: frame the log-in page (clickjacking), sniff a CSV as HTML, or inject a script. Every response carries
/// the security headers, and the pages run no inline script, so the CSP needs no `'unsafe-inline'` for scripts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let t = TestApp::spawn(Db::Sqlite).await;
    for path in [
        "/login",
        "/healthz",
        "/api/v1/org",
        "/no-such-page",
        "/static/style.css",
        "/reports/findings.csv?org=x&from=1&to=2&exp=3&sig=x",
    ] {
        let r = t
            .http
            .get(format!("{}{path}", t.url))
            .send()
            .await
            .expect("get");
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().expect("csp");
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(
            !csp.contains("script-src") || !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(
            !csp.split(';')
                .any(|d| d.trim().starts_with("style-src ") && d.contains("unsafe-inline")),
            "{csp}"
        );
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
    }
    let page = t
        .http
        .get(format!("{}/login", t.url))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    let lower = page.to_ascii_lowercase();
    assert!(
        !lower.contains("<script") && !lower.contains("<style"),
        "{page}"
    );
    assert!(lower.contains("href=/static/style.css"), "{page}");
    let css = t
        .http
        .get(format!("{}/static/style.css", t.url))
        .send()
        .await
        .expect("css");
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    t.app.shutdown().await;
}

/// No template has an inline script, event handler or `javascript:` URL, which the CSP would block.
#[test]
fn templates_have_no_inline_script() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fence-server/templates");
    let mut stack = vec![dir];
    let mut seen = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("templates") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let text = std::fs::read_to_string(&p)
                .expect("read")
                .to_ascii_lowercase();
            seen += 1;
            assert!(
                !text.contains("<script") && !text.contains("javascript:"),
                "{}",
                p.display()
            );
            let handler = regex_lite_on_attr(&text);
            assert!(handler.is_none(), "{}: {handler:?}", p.display());
        }
    }
    assert!(seen > 10, "templates found: {seen}");
}

/// The first ` on…=` event-handler attribute in a template, if any.
fn regex_lite_on_attr(text: &str) -> Option<String> {
    text.match_indices(" on").find_map(|(i, _)| {
        let rest = &text[i + 3..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        (!name.is_empty() && rest[name.len()..].starts_with('=')).then(|| format!("on{name}"))
    })
}

/// Attack: slowloris — open connections and trickle header bytes forever, so the server runs out of them. A client
/// that has not sent its headers within the header read timeout is disconnected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trickling_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t = TestApp::spawn(Db::Sqlite).await;
    let mut conn = tokio::net::TcpStream::connect(t.app.addr)
        .await
        .expect("connect");
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: fence\r\n")
        .await
        .expect("write");
    let started = Instant::now();
    let limit = fence_server::app::HEADER_READ_TIMEOUT + Duration::from_secs(5);
    let mut buf = [0u8; 1024];
    let closed = loop {
        // One more header byte a second, never the blank line that ends the headers.
        let _ = conn.write_all(b"X").await;
        match tokio::time::timeout(Duration::from_secs(1), conn.read(&mut buf)).await {
            Ok(Ok(_)) | Ok(Err(_)) => break true,
            Err(_) if started.elapsed() > limit => break false,
            Err(_) => {}
        }
    };
    assert!(
        closed,
        "the connection was still open after {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() >= fence_server::app::HEADER_READ_TIMEOUT - Duration::from_secs(1));
    let (s, _) = t.get("/healthz").await;
    assert_eq!(s, StatusCode::OK, "other clients are served");
    t.app.shutdown().await;
}

/// Posts the log-in form (with its double-submit token) and returns the status.
async fn log_in(t: &TestApp, email: &str, password: &str) -> StatusCode {
    crate::login::log_in_from(t, email, password, None).await.0
}

/// Attack: fill the disk with failed log-ins (a megabyte email each, rows never deleted), and starve the workers
/// with argon2. Long fields are refused unread and unstored; old failures are pruned; hashing is off the workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_floods_neither_fill_the_disk_nor_starve_the_server() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let store = &t.app.state.store;
    let huge = format!("{}@example.com", "a".repeat(1_000_000));
    assert_eq!(log_in(&t, &huge, "x").await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        store.login_attempts(&huge, 0).await.expect("count"),
        0,
        "not stored"
    );
    let long_password = "p".repeat(100_000);
    assert_eq!(
        log_in(&t, "a@example.com", &long_password).await,
        StatusCode::UNAUTHORIZED
    );

    store
        .reserve_login_attempt("old@example.com", "192.0.2.1", 1_000, 0)
        .await
        .expect("old failure");
    assert_eq!(
        log_in(&t, "new@example.com", "wrong").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        store
            .login_attempts("old@example.com", 0)
            .await
            .expect("count"),
        0,
        "pruned"
    );
    assert_eq!(
        store
            .login_attempts("new@example.com", 0)
            .await
            .expect("count"),
        1
    );

    // Expired sessions are deleted when a new one starts.
    let org = store.org_by_name("default").await.expect("org");
    let user = store
        .create_user(&org.id, "s@example.com", "x", fence_core::Role::Viewer, 0)
        .await
        .expect("user");
    store
        .create_session("expired-session-0123456789", &user.id, "c", 1_000, 0)
        .await
        .expect("old session");
    store
        .create_session("live-session-0123456789abc", &user.id, "c", i64::MAX, 2_000)
        .await
        .expect("new session");
    assert!(
        store
            .session("expired-session-0123456789", 0)
            .await
            .expect("read")
            .is_none(),
        "pruned"
    );
    assert!(store
        .session("live-session-0123456789abc", 3_000)
        .await
        .expect("read")
        .is_some());

    // Twelve concurrent log-ins: the server still answers other requests promptly.
    let attempts: Vec<_> = (0..12)
        .map(|i| {
            let url = t.url.clone();
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let body = format!("_csrf=x&email=u{i}%40example.com&password=guess");
                let _ = http
                    .post(format!("{url}/login"))
                    .header("cookie", "fence_login_csrf=x")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await;
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let (s, _) = t.get("/healthz").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    for a in attempts {
        a.await.expect("attempt");
    }
    t.app.shutdown().await;
}

crate::both_dbs!(a_process_with_another_secret_key_refuses_to_start);
/// Attack (or accident): a second process on the same database with a different `secret_key` would silently break
/// every stored secret, button and report link. It refuses to start, naming the key.
async fn a_process_with_another_secret_key_refuses_to_start(db: Db) {
    let t = TestApp::spawn(db.clone()).await;
    let dir = t.dir;
    t.app.shutdown().await;
    let build = |key: String| {
        let toml = crate::support::config_toml(dir.path(), &db, &format!("secret_key = \"{key}\""));
        async move {
            let config =
                fence_server::Config::from_sources(Some(&toml), None, &[]).expect("config");
            fence_server::App::build(config, std::sync::Arc::new(fence_server::SystemClock)).await
        }
    };
    let other = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_string();
    let err = build(other.clone())
        .await
        .expect_err("another key")
        .to_string();
    assert!(
        err.contains("`secret_key`") && !err.contains(&other),
        "{err}"
    );
    let same = std::fs::read_to_string(dir.path().join("secret.key")).expect("generated key");
    let (app, _) = build(same.trim().to_string()).await.expect("the same key");
    app.state.store.close().await;
}
