//! The web UI in a real browser (headless Chromium through chromedriver's WebDriver API): log in, add a Slack
//! channel, Test Integration, save, see an alert arrive, mark it a false positive on its page; and the CSRF, role and
//! lock-out rules over plain HTTP. Screenshots of each main page go to `test-output/screenshots/`.

use crate::support::{seed_finding, Db, TestApp};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub(crate) async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "chromedriver (apt-get install chromium chromium-driver; scripts/test installs it)",
            );
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("profile");
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,1000",
                     format!("--user-data-dir={}", profile.path().display())]}}}});
        let v = webdriver(
            &http,
            reqwest::Method::POST,
            &format!("{base}/session"),
            "/session",
            Some(caps),
        )
        .await;
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_string();
        Browser {
            http,
            base,
            session,
            driver,
            _profile: profile,
        }
    }

    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        webdriver(&self.http, method, &url, path, body).await
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub(crate) async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v["value"][ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    pub(crate) async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{el}/click"),
            Some(json!({})),
        )
        .await;
    }

    pub(crate) async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None).await["value"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub(crate) async fn wait_for_text(&self, needle: &str) -> String {
        for _ in 0..100 {
            let s = self.source().await;
            if s.contains(needle) {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{needle:?} never appeared in:\n{}", self.source().await);
    }

    pub(crate) async fn screenshot(&self, name: &str) {
        use base64::Engine;
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v["value"].as_str().unwrap_or(""))
            .expect("png");
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-output/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }
}

/// One WebDriver command. Panics naming the command (`POST /element {"using": …}`) when chromedriver cannot be reached,
/// answers with an HTTP error or something other than JSON, or reports a W3C error (`value.error`, `value.message`),
/// so a failing browser step says what failed; otherwise returns the answer.
async fn webdriver(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    command: &str,
    body: Option<Value>,
) -> Value {
    let shown = match &body {
        Some(b) => format!("{method} {command} {b}"),
        None => format!("{method} {command}"),
    };
    let mut request = http.request(method, url);
    if let Some(b) = &body {
        request = request.json(b);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("WebDriver {shown}: chromedriver did not answer: {e}"));
    let status = response.status();
    let text = response
        .text()
        .await
        .unwrap_or_else(|e| panic!("WebDriver {shown}: HTTP {status}, unreadable answer: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("WebDriver {shown}: HTTP {status}, answer is not JSON ({e}): {text}")
    });
    let error = v["value"]["error"].as_str();
    if !status.is_success() || error.is_some() {
        panic!(
            "WebDriver {shown} failed: HTTP {status}, error {:?}: {}",
            error.unwrap_or("(none)"),
            v["value"]["message"].as_str().unwrap_or("(no message)")
        );
    }
    v
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

pub(crate) async fn add_user(t: &TestApp, email: &str, password: &str, role: &str) {
    let store = &t.app.state.store;
    let org = store.org_by_name("default").await.expect("org");
    let hash = fence_server::crypto::hash_password(password).expect("hash");
    store
        .create_user(
            &org.id,
            email,
            &hash,
            fence_core::Role::parse(role).expect("role"),
            0,
        )
        .await
        .expect("user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_sets_up_slack_in_the_browser_and_triages_a_finding() {
    let t = TestApp::spawn(Db::Sqlite).await;
    add_user(&t, "alice@example.com", "correct horse battery", "admin").await;
    let b = Browser::start().await;
    b.goto(&format!("{}/login", t.url)).await;
    b.screenshot("login").await;
    b.type_into("#email", "alice@example.com").await;
    b.type_into("#password", "correct horse battery").await;
    b.click("#login").await;
    b.wait_for_text("Dashboard").await;
    b.screenshot("dashboard").await;

    b.goto(&format!("{}/settings/notifications", t.url)).await;
    b.click("#add-slack").await;
    b.wait_for_text("channel-form").await;
    b.type_into("#name", "Security Alerts Channel").await;
    b.type_into("#webhook_url", &t.slack.webhook_url("browser"))
        .await;
    b.type_into("#channel", "#security-alerts").await;
    b.click("#test-integration").await;
    b.wait_for_text("Slack accepted the test message").await;
    b.screenshot("add-channel-tested").await;
    assert!(t.slack.accepted("browser")[0].body["text"]
        .as_str()
        .unwrap_or_default()
        .starts_with("✅ Test from Fence"));
    b.click("#save").await;
    // The list page (not the form still showing the name) has the Health column.
    let list = b.wait_for_text("<th>Health</th>").await;
    assert!(list.contains("Security Alerts Channel"));
    assert!(
        list.contains("127.0.0.1/…/••••"),
        "the webhook is shown by its hint only"
    );
    b.screenshot("notifications").await;
    // "Add to Slack" from the browser session starts OAuth at Slack's consent screen.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let (_, cookie) = login(&t, "alice@example.com", "correct horse battery").await;
    let r = no_redirects
        .get(format!("{}/settings/notifications/add-to-slack", t.url))
        .header("cookie", cookie.expect("session"))
        .send()
        .await
        .expect("add to slack");
    assert!(r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or("")
        .starts_with("https://slack.test/oauth/v2/authorize?"));

    let (_, f) = t.post("/api/v1/findings", seed_finding()).await;
    let id = f["ids"][0].as_str().expect("id").to_string();
    let got = t
        .slack
        .wait_until("browser", Duration::from_secs(10), |m| {
            m.iter()
                .any(|r| r.body["text"] == "🚨 Critical Vulnerability Detected")
        })
        .await;
    assert!(got
        .iter()
        .any(|r| r.body["text"] == "🚨 Critical Vulnerability Detected"));

    b.goto(&format!("{}/findings", t.url)).await;
    b.wait_for_text("SQL Injection in login form").await;
    b.screenshot("findings").await;
    b.goto(&format!("{}/findings/{id}", t.url)).await;
    b.wait_for_text("Use parameterised queries.").await;
    b.click("#triage-false_positive").await;
    let after = b.wait_for_text("<td>False positive</td>").await;
    assert!(
        after.contains("triage-reopen") && !after.contains("triage-false_positive"),
        "a false positive offers only Reopen"
    );
    b.screenshot("finding").await;
    let (_, after) = t.get(&format!("/api/v1/findings/{id}")).await;
    assert_eq!(after["status"], "false_positive");
    b.goto(&format!("{}/scans", t.url)).await;
    b.wait_for_text("Scans").await;
    b.screenshot("scans").await;
    t.app.shutdown().await;
}

/// Logs in over plain HTTP; returns the session cookie.
pub(crate) async fn login(
    t: &TestApp,
    email: &str,
    password: &str,
) -> (reqwest::StatusCode, Option<String>) {
    let l = login_from(t, email, password, None).await;
    (l.status, l.session)
}

/// What a log-in over plain HTTP did.
pub(crate) struct LoggedIn {
    pub status: reqwest::StatusCode,
    pub session: Option<String>,
    /// Where it redirected to.
    pub location: Option<String>,
}

/// Opens the log-in page (with `?next=` when given), posts its form back as a browser would — the page to come back
/// to only if the form carried it — and returns the answer.
pub(crate) async fn login_from(
    t: &TestApp,
    email: &str,
    password: &str,
    next: Option<&str>,
) -> LoggedIn {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut page = http.get(format!("{}/login", t.url));
    if let Some(n) = next {
        page = page.query(&[("next", n)]);
    }
    let page = page.send().await.expect("login page");
    let pre = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .unwrap_or("")
        .to_string();
    let token = pre
        .split_once('=')
        .map(|(_, v)| v.to_string())
        .unwrap_or_default();
    let html = page.text().await.unwrap_or_default();
    let carried = html
        .split("name=next value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .map(|v| v.replace("&#x2f;", "/").replace("&amp;", "&"));
    let mut form = vec![
        ("_csrf", token.as_str()),
        ("email", email),
        ("password", password),
    ];
    if let Some(c) = carried.as_deref() {
        form.push(("next", c));
    }
    let body = serde_urlencoded::to_string(&form).expect("form");
    let r = http
        .post(format!("{}/login", t.url))
        .header("cookie", &pre)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("login");
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let session = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .filter(|c| c.starts_with("fence_session="))
        .map(str::to_string);
    LoggedIn {
        status,
        session,
        location,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_need_their_csrf_token_viewers_cannot_change_settings_and_guessing_is_stopped() {
    let t = TestApp::spawn(Db::Sqlite).await;
    add_user(&t, "alice@example.com", "correct horse battery", "admin").await;
    add_user(&t, "victor@example.com", "viewer password 1", "viewer").await;
    let (_, f) = t.post("/api/v1/findings", seed_finding()).await;
    let id = f["ids"][0].as_str().expect("id").to_string();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    let (status, cookie) = login(&t, "alice@example.com", "correct horse battery").await;
    assert_eq!(status, reqwest::StatusCode::SEE_OTHER);
    let cookie = cookie.expect("session cookie");
    let r = http
        .post(format!("{}/findings/{id}/triage", t.url))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=false_positive")
        .send()
        .await
        .expect("post");
    assert_eq!(
        r.status(),
        reqwest::StatusCode::FORBIDDEN,
        "no CSRF token, no change"
    );
    let r = http
        .post(format!("{}/findings/{id}/triage", t.url))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=false_positive&_csrf=guessed")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    let (_, still) = t.get(&format!("/api/v1/findings/{id}")).await;
    assert_eq!(still["status"], "open");

    // A viewer reads but cannot change.
    let (_, viewer) = login(&t, "victor@example.com", "viewer password 1").await;
    let viewer = viewer.expect("viewer session");
    let page = http
        .get(format!("{}/findings/{id}", t.url))
        .header("cookie", &viewer)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("SQL Injection in login form") && !page.contains("triage-false_positive")
    );
    let csrf = page
        .split("name=_csrf value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("csrf in the page")
        .to_string();
    let r = http
        .post(format!("{}/findings/{id}/triage", t.url))
        .header("cookie", &viewer)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("action=false_positive&_csrf={csrf}"))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);

    // Guessing: after five failures even the right password is refused for a while.
    for _ in 0..5 {
        let (s, c) = login(&t, "alice@example.com", "wrong").await;
        assert_eq!((s, c), (reqwest::StatusCode::UNAUTHORIZED, None));
    }
    let (s, c) = login(&t, "alice@example.com", "correct horse battery").await;
    assert_eq!((s, c), (reqwest::StatusCode::TOO_MANY_REQUESTS, None));
    // Cookies are HttpOnly and SameSite.
    let page = http
        .get(format!("{}/login", t.url))
        .send()
        .await
        .expect("page");
    let set = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite"),
        "{set}"
    );
    t.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_test_in_the_ui_fixes_a_broken_channel_and_releases_its_alerts() {
    let t = TestApp::spawn(Db::Sqlite).await;
    add_user(&t, "alice@example.com", "correct horse battery", "admin").await;
    let id = t.channel("flaky", json!({"name": "Flaky"})).await;
    t.slack.set_default(
        "flaky",
        fence_testkit::Answer::Status(404, "no_service".into()),
    );
    t.post("/api/v1/findings", seed_finding()).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while t.get(&format!("/api/v1/channels/{id}")).await.1["status"]["state"] != "broken" {
        assert!(std::time::Instant::now() < deadline, "broken");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Slack is fixed; the user presses Test Integration on the saved channel.
    t.slack.set_default("flaky", fence_testkit::Answer::Ok);
    let (_, cookie) = login(&t, "alice@example.com", "correct horse battery").await;
    let cookie = cookie.expect("session");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = http
        .get(format!("{}/settings/notifications/{id}", t.url))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("form")
        .text()
        .await
        .expect("html");
    let csrf = page
        .split("name=_csrf value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("csrf")
        .to_string();
    let form = serde_urlencoded::to_string([
        ("_csrf", csrf.as_str()),
        ("id", id.as_str()),
        ("type", "slack"),
        ("name", "Flaky"),
        ("action", "test"),
    ])
    .expect("form");
    let r = http
        .post(format!("{}/settings/notifications/save", t.url))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("test");
    assert!(r
        .text()
        .await
        .expect("html")
        .contains("Slack accepted the test message"));
    let (_, c) = t.get(&format!("/api/v1/channels/{id}")).await;
    assert_eq!(c["status"]["state"], "healthy");
    let got = t
        .slack
        .wait_until("flaky", Duration::from_secs(10), |m| {
            m.iter()
                .any(|r| r.body["text"] == "🚨 Critical Vulnerability Detected")
        })
        .await;
    assert!(
        got.iter()
            .any(|r| r.body["text"] == "🚨 Critical Vulnerability Detected"),
        "the held alert went out"
    );
    t.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_channel_form_in_the_ui_saves_every_field_it_shows_including_the_icon_emoji() {
    let t = TestApp::spawn(Db::Sqlite).await;
    t.app
        .state
        .store
        .set_org_plan("default", "custom")
        .await
        .expect("custom plan: white-label identity");
    add_user(&t, "alice@example.com", "correct horse battery", "admin").await;
    let b = Browser::start().await;
    b.goto(&format!("{}/login", t.url)).await;
    b.type_into("#email", "alice@example.com").await;
    b.type_into("#password", "correct horse battery").await;
    b.click("#login").await;
    b.wait_for_text("Dashboard").await;

    // A new channel with an icon emoji typed into the form.
    b.goto(&format!("{}/settings/notifications/new?type=slack", t.url))
        .await;
    b.wait_for_text("channel-form").await;
    b.type_into("#name", "Branded").await;
    b.type_into("#webhook_url", &t.slack.webhook_url("branded"))
        .await;
    b.type_into("input[name=identity_username]", "Acme Security")
        .await;
    b.type_into("input[name=identity_icon_emoji]", ":shield:")
        .await;
    b.click("#save").await;
    b.wait_for_text("<th>Health</th>").await;
    let (_, list) = t.get("/api/v1/channels").await;
    let id = list["channels"][0]["id"].as_str().expect("id").to_string();
    let (_, c) = t.get(&format!("/api/v1/channels/{id}")).await;
    assert_eq!(
        c["identity"],
        json!({"username": "Acme Security", "icon_emoji": ":shield:"}),
        "{c}"
    );

    // A channel set up through the API, saved unchanged in the form, keeps every field.
    let api = t
        .channel(
            "api",
            json!({"name": "From the API", "identity": {"username": "Acme", "icon_url": "https://example.com/i.png", "icon_emoji": ":lock:"},
                   "mentions": {"vulnerability": ["<!here>"], "critical": ["<!channel>"]}}),
        )
        .await;
    let (_, before) = t.get(&format!("/api/v1/channels/{api}")).await;
    b.goto(&format!("{}/settings/notifications/{api}", t.url))
        .await;
    b.wait_for_text("channel-form").await;
    b.click("#save").await;
    b.wait_for_text("<th>Health</th>").await;
    let (_, after) = t.get(&format!("/api/v1/channels/{api}")).await;
    for k in [
        "name",
        "identity",
        "mentions",
        "alert_types",
        "digest",
        "reminders",
        "format",
        "template",
    ] {
        assert_eq!(after[k], before[k], "{k} after saving the form unchanged");
    }
    // No filters stored, and none after the form sends them empty.
    let set = |f: &Value| -> Vec<String> {
        f.as_object()
            .into_iter()
            .flatten()
            .filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
            .map(|(k, _)| k.clone())
            .collect()
    };
    assert_eq!(set(&after["filters"]), set(&before["filters"]));
    assert_eq!(after["identity"]["icon_emoji"], ":lock:");
    t.app.shutdown().await;
}
