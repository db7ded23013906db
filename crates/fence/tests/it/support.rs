//! Test support: a fresh Fence (fresh database, fake Slack) per test, and HTTP helpers.

use fence_server::{App, Config, RunningApp, SystemClock};
use fence_testkit::FakeSlack;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
pub const SIGNING_SECRET: &str = "test-signing-secret-8f742231b10e";

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite,
    /// A fresh PostgreSQL database created for this test.
    Postgres(String),
}

impl Db {
    /// A new empty PostgreSQL database, when `FENCE_TEST_DATABASE_URL` points at a server.
    pub async fn postgres() -> Option<Db> {
        let base = std::env::var("FENCE_TEST_DATABASE_URL")
            .ok()
            .filter(|s| !s.is_empty())?;
        Some(Db::Postgres(fresh_pg_database(&base).await))
    }
}

pub async fn fresh_pg_database(base: &str) -> String {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let name = format!("fence_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::AnyConnection::connect(base)
        .await
        .expect("connect to FENCE_TEST_DATABASE_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let (prefix, rest) = base.rsplit_once('/').expect("database URL has a path");
    let query = rest
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{prefix}/{name}{query}")
}

/// Declares a test that runs once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! both_dbs {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                match $crate::support::Db::postgres().await {
                    Some(db) => super::$name(db).await,
                    None => {
                        eprintln!("FENCE_TEST_DATABASE_URL is not set: PostgreSQL variant not run")
                    }
                }
            }
        }
    };
}

/// A running Fence with its fake Slack.
pub struct TestApp {
    pub url: String,
    pub http: reqwest::Client,
    pub slack: FakeSlack,
    pub app: RunningApp,
    pub dir: tempfile::TempDir,
}

pub fn config_toml(dir: &std::path::Path, db: &Db, extra: &str) -> String {
    config_toml_full(dir, db, extra, "")
}

/// `extra` goes at the top level, `delivery` inside `[delivery]`.
pub fn config_toml_full(dir: &std::path::Path, db: &Db, extra: &str, delivery: &str) -> String {
    let database_url = match db {
        Db::Sqlite => format!("sqlite://{}", dir.join("fence.db").display()),
        Db::Postgres(u) => u.clone(),
    };
    format!(
        "listen = \"127.0.0.1:0\"\nbase_url = \"https://fence.test\"\ndata_dir = \"{}\"\ndatabase_url = \"{database_url}\"\nbootstrap_token = \"{ADMIN_TOKEN}\"\n{extra}\n[delivery]\nwebhook_hosts = [\"hooks.slack.com\", \"127.0.0.1:*\"]\n{delivery}\n",
        dir.display()
    )
}

impl TestApp {
    /// The id of the organization the bootstrap token belongs to (`default`).
    pub async fn org_id(&self) -> String {
        self.app
            .state
            .store
            .org_by_name("default")
            .await
            .expect("org")
            .id
    }

    pub async fn spawn(db: Db) -> TestApp {
        Self::spawn_with(db, "").await
    }

    /// `extra` is TOML for top-level keys (before any table).
    pub async fn spawn_with(db: Db, extra: &str) -> TestApp {
        Self::spawn_full(db, extra, "").await
    }

    pub async fn spawn_full(db: Db, extra: &str, delivery: &str) -> TestApp {
        let slack = format!("signing_secret = \"{SIGNING_SECRET}\"\nclient_id = \"123.456\"\nclient_secret = \"test-client-secret\"\nresponse_url_hosts = [\"hooks.slack.com\", \"127.0.0.1:*\"]");
        Self::spawn_slack(db, extra, delivery, &slack).await
    }

    /// Like [`TestApp::spawn_full`], with the `[slack]` table's keys other than `api_url` and
    /// `oauth_authorize_url` chosen by the test.
    pub async fn spawn_slack(db: Db, extra: &str, delivery: &str, slack_keys: &str) -> TestApp {
        let slack = FakeSlack::start().await.expect("fake slack");
        Self::spawn_on(slack, db, extra, delivery, slack_keys, "").await
    }

    /// Sign in with Slack on: `[oidc]` names the fake's provider and Fence's client (`123.456`); `oidc_keys` adds
    /// keys of that table.
    pub async fn spawn_oidc(db: Db, oidc_keys: &str) -> TestApp {
        let slack = FakeSlack::start().await.expect("fake slack");
        let tail = format!(
            "[oidc]\nissuer = \"{}\"\nclient_id = \"123.456\"\nclient_secret = \"test-client-secret\"\n{oidc_keys}\n",
            slack.oidc_issuer()
        );
        let keys = format!("signing_secret = \"{SIGNING_SECRET}\"\nclient_id = \"123.456\"\nclient_secret = \"test-client-secret\"\nresponse_url_hosts = [\"hooks.slack.com\", \"127.0.0.1:*\"]");
        Self::spawn_on(slack, db, "", "", &keys, &tail).await
    }

    /// Fence on `slack` with these keys; `tail` is TOML after the `[slack]` table (tables of its own).
    async fn spawn_on(
        slack: FakeSlack,
        db: Db,
        extra: &str,
        delivery: &str,
        slack_keys: &str,
        tail: &str,
    ) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let toml = format!(
            "{}\n[slack]\napi_url = \"{}\"\noauth_authorize_url = \"https://slack.test/oauth/v2/authorize\"\n{slack_keys}\n{tail}",
            config_toml_full(dir.path(), &db, extra, delivery),
            slack.api_url(),
        );
        let config = Config::from_sources(Some(&toml), None, &[]).expect("test config");
        let (app, _) = App::build(config, Arc::new(SystemClock))
            .await
            .expect("build app");
        let app = app.start().await.expect("start app");
        TestApp {
            url: app.url(),
            http: reqwest::Client::new(),
            slack,
            app,
            dir,
        }
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.request(reqwest::Method::POST, path, ADMIN_TOKEN, Some(body))
            .await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.request(reqwest::Method::GET, path, ADMIN_TOKEN, None)
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.request(reqwest::Method::PATCH, path, ADMIN_TOKEN, Some(body))
            .await
    }

    /// Opens an external `headers` scan of example.com (its scanner reports with `POST /scans/{id}/results`);
    /// returns its id.
    pub async fn external_scan(&self) -> String {
        let (status, scan) = self
            .post(
                "/api/v1/scans",
                json!({"domain": "example.com", "type": "headers", "external": true}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{scan}");
        scan["id"].as_str().expect("scan id").to_string()
    }

    /// Creates a Slack channel posting to the fake's `hook`; returns its id.
    pub async fn channel(&self, hook: &str, extra: Value) -> String {
        let mut body =
            json!({"name": format!("channel {hook}"), "webhook_url": self.slack.webhook_url(hook)});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        let (status, v) = self.post("/api/v1/channels", body).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        v["id"].as_str().expect("channel id").to_string()
    }

    /// Creates another organization with a token of the given scopes.
    pub async fn other_org(&self, name: &str, plan: &str, scopes: &[&str]) -> String {
        let store = &self.app.state.store;
        let org = store.create_org(name, plan, 0).await.expect("org");
        let token = format!("token-{name}-{}", uuid::Uuid::new_v4().simple());
        let scopes: Vec<fence_core::Scope> = scopes
            .iter()
            .map(|s| fence_core::Scope::parse(s).expect("scope"))
            .collect();
        store
            .create_token(&org.id, &token, &scopes, None, 0)
            .await
            .expect("token");
        token
    }

    /// A token of the default organization with only these scopes.
    pub async fn token_with(&self, scopes: &[&str]) -> String {
        let store = &self.app.state.store;
        let org = store.org_by_name("default").await.expect("default org");
        let token = format!("token-{}", uuid::Uuid::new_v4().simple());
        let scopes: Vec<fence_core::Scope> = scopes
            .iter()
            .map(|s| fence_core::Scope::parse(s).expect("scope"))
            .collect();
        store
            .create_token(&org.id, &token, &scopes, None, 0)
            .await
            .expect("token");
        token
    }
}

/// The seed's critical finding.
pub fn seed_finding() -> Value {
    json!({
        "domain": "example.com",
        "title": "SQL Injection in login form",
        "cvss": 9.8,
        "cve": "CVE-2024-12345",
        "owasp": "A03:2021 - Injection",
        "category": "SQL Injection",
        "affected_url": "https://example.com/login",
        "remediation": "Use parameterised queries."
    })
}

/// The message as text, for content assertions (Fence adds no invisible characters; older messages may have them).
pub fn plain_text(v: &Value) -> String {
    v.to_string().replace('\u{200B}', "")
}

impl TestApp {
    /// Waits until `n` deliveries are in `state` (Slack's answer is recorded just after the fake sees a message).
    pub async fn wait_deliveries(&self, state: &str, n: usize) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (_, v) = self.get(&format!("/api/v1/deliveries?state={state}")).await;
            if v["deliveries"].as_array().map(Vec::len).unwrap_or(0) >= n
                || std::time::Instant::now() > deadline
            {
                return v;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
