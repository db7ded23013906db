//! The `fence` binary: version, configuration checks, organizations and tokens, and a `kill -9` that loses nothing.

use crate::support::{config_toml, Db, ADMIN_TOKEN};
use fence_testkit::{Answer, FakeSlack, Received};
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn fence(dir: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fence"));
    cmd.current_dir(dir).args(args).env_remove("FENCE_CONFIG");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run fence")
}

#[test]
fn version_prints_the_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = fence(dir.path(), &["version"], &[]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("fence {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn config_check_names_unknown_keys_and_accepts_valid_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("fence.toml"),
        "listen = \"127.0.0.1:9999\"\n[delivery]\nrate_per_secnd = 2\n",
    )
    .expect("write");
    let out = fence(dir.path(), &["config", "check"], &[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`delivery.rate_per_secnd`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    std::fs::write(
        dir.path().join("fence.toml"),
        "listen = \"127.0.0.1:9999\"\n",
    )
    .expect("write");
    let out = fence(
        dir.path(),
        &["config", "check", "--json"],
        &[
            ("FENCE_DELIVERY__RATE_PER_SECOND", "2"),
            (
                "FENCE_SLACK__SIGNING_SECRET",
                "s3cr3t-signing-0123456789abcdef0123",
            ),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["listen"], "127.0.0.1:9999");
    assert_eq!(v["delivery"]["rate_per_second"], 2.0);
    assert_eq!(v["slack"]["signing_secret"], true);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("s3cr3t-signing-0123456789abcdef0123"));

    let out = fence(dir.path(), &["config", "check"], &[("FENCE_LISTN", "x")]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`listn`")
            && String::from_utf8_lossy(&out.stderr).contains("FENCE_LISTN")
    );
}

#[test]
fn org_and_token_commands_work_against_the_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = fence(dir.path(), &["migrate"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dir.path().join("fence-data/fence.db").exists(),
        "SQLite in ./fence-data by default"
    );
    let out = fence(
        dir.path(),
        &["org", "create", "acme", "--plan", "enterprise"],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = fence(
        dir.path(),
        &["org", "create", "acme", "--plan", "enterprise"],
        &[],
    );
    assert!(!out.status.success(), "duplicate names are refused");
    let out = fence(
        dir.path(),
        &["org", "create", "gold", "--plan", "platinum"],
        &[],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown plan"));
    let out = fence(
        dir.path(),
        &[
            "token",
            "create",
            "--org",
            "acme",
            "--scopes",
            "ingest,read",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        token.starts_with("fence_") && !token.contains(char::is_whitespace),
        "the token alone: {token:?}"
    );
    let out = fence(dir.path(), &["org", "set-plan", "acme", "startup"], &[]);
    assert!(out.status.success());
    let out = fence(
        dir.path(),
        &["token", "create", "--org", "acme", "--scopes", "root"],
        &[],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scope"));

    // An expiring token says when it expires, at creation and in the list; a bad duration names the flag.
    let out = fence(
        dir.path(),
        &[
            "token",
            "create",
            "--org",
            "acme",
            "--expires",
            "90d",
            "--json",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).expect("json");
    let expires = created["expires_at"].as_str().expect("expiry").to_string();
    let out = fence(
        dir.path(),
        &["token", "list", "--org", "acme", "--json"],
        &[],
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains(&expires), "{listed}");
    assert!(
        listed.contains("\"expires_at\":null"),
        "the others never expire: {listed}"
    );
    let out = fence(
        dir.path(),
        &["token", "create", "--org", "acme", "--expires", "soon"],
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--expires"));
}

/// A running `fence serve` process.
pub struct Server {
    pub child: std::process::Child,
    pub base: String,
}

fn start_server(dir: &std::path::Path, port: u16, db: &Db) -> Server {
    start_server_on(dir, "fence", port, db)
}

/// Starts `fence serve` with its own config file `<name>.toml` in `dir` (several may share one database).
pub fn start_server_on(dir: &std::path::Path, name: &str, port: u16, db: &Db) -> Server {
    let toml = config_toml(dir, db, "").replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    );
    let cfg = dir.join(format!("{name}.toml"));
    std::fs::write(&cfg, toml).expect("config");
    let child = Command::new(env!("CARGO_BIN_EXE_fence"))
        .args(["--config", cfg.to_str().expect("path"), "serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

pub async fn wait_ready(base: &str) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fence did not become ready at {base}");
}

/// How many findings the messages account for (a single alert counts one; a coalesced one says how many).
pub fn counted(msgs: &[Received]) -> usize {
    msgs.iter()
        .map(|m| {
            let text = m.body["text"].as_str().unwrap_or_default();
            text.split(" new vulnerabilities")
                .next()
                .and_then(|n| n.split_whitespace().last())
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(1)
        })
        .sum()
}

async fn kill_nine_during_an_outage_loses_nothing(db: Db) {
    let slack = FakeSlack::start().await.expect("fake slack");
    slack.set_default("outage", Answer::Status(503, "".into()));
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let mut server = start_server(dir.path(), port, &db);
    wait_ready(&server.base).await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/v1/channels", server.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "sec", "webhook_url": slack.webhook_url("outage")}))
        .send()
        .await
        .expect("channel");
    assert_eq!(r.status(), 201);
    let mut accepted = 0;
    for batch in 0..5 {
        let findings: Vec<Value> = (0..10).map(|i| json!({"domain": "example.com", "title": format!("finding {batch}-{i}"), "severity": "high"})).collect();
        let r = http
            .post(format!("{}/api/v1/findings", server.base))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"findings": findings}))
            .send()
            .await
            .expect("ingest");
        assert_eq!(r.status(), 202);
        accepted += 10;
    }
    // Let the dispatcher fail against the outage at least once, then kill it without warning.
    let deadline = Instant::now() + Duration::from_secs(10);
    while slack.requests("outage").is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.child.kill().expect("kill -9");
    let _ = server.child.wait();

    slack.set_default("outage", Answer::Ok);
    let mut server = start_server(dir.path(), port, &db);
    wait_ready(&server.base).await;
    let got = slack
        .wait_until("outage", Duration::from_secs(90), |m| {
            counted(m) >= accepted
        })
        .await;
    let text: String = got.iter().map(|m| m.body.to_string()).collect();
    assert!(
        counted(&got) >= accepted,
        "all {accepted} findings reached Slack after kill -9 and restart: {}",
        counted(&got)
    );
    assert!(
        text.contains("50 new vulnerabilities") || counted(&got) >= accepted,
        "{text}"
    );
    server.child.kill().expect("stop");
    let _ = server.child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_loses_nothing_on_sqlite() {
    kill_nine_during_an_outage_loses_nothing(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_loses_nothing_on_postgres() {
    match Db::postgres().await {
        Some(db) => kill_nine_during_an_outage_loses_nothing(db).await,
        None => eprintln!("FENCE_TEST_DATABASE_URL is not set: PostgreSQL variant not run"),
    }
}

#[test]
fn fence_import_writes_the_local_database_and_fence_scan_refuses_private_hosts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fence-scan/tests/fixtures/dependabot.json"
    );
    let out = fence(
        dir.path(),
        &[
            "import",
            fixture,
            "--format",
            "dependabot",
            "--domain",
            "example.com",
            "--json",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["status"], "completed");
    assert_eq!(v["type"], "dependabot");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("reading"),
        "progress is shown"
    );

    let out = fence(dir.path(), &["scan", "localhost", "--type", "tls"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("scan.allow_private_targets"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn fence_import_refuses_a_file_over_import_max_bytes_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fence-scan/tests/fixtures/dependabot.json"
    );
    let args = [
        "import",
        fixture,
        "--format",
        "dependabot",
        "--domain",
        "example.com",
    ];
    let out = fence(dir.path(), &args, &[("FENCE_IMPORT__MAX_BYTES", "2048")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("larger than import.max_bytes (2048 bytes)"),
        "{stderr}"
    );
    // The file was refused before the database was opened.
    assert!(!dir.path().join("fence-data/fence.db").exists());
    let out = fence(dir.path(), &args, &[("FENCE_IMPORT__MAX_BYTES", "8KB")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fence_import_uploads_to_a_running_fence_with_a_progress_bar() {
    let t = crate::support::TestApp::spawn(Db::Sqlite).await;
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fence-scan/tests/fixtures/trivy.sarif"
    );
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_fence"))
        .args([
            "import",
            fixture,
            "--format",
            "sarif",
            "--domain",
            "api.example.com",
            "--server",
            &t.url,
            "--token",
            ADMIN_TOKEN,
            "--json",
        ])
        .env_remove("FENCE_CONFIG")
        .output()
        .await
        .expect("run fence import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("uploading to") && stderr.contains("100%"),
        "{stderr}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        (v["status"].clone(), v["type"].clone(), v["domain"].clone()),
        (json!("completed"), json!("sarif"), json!("api.example.com"))
    );
    assert!(v["imported"].as_u64().unwrap_or(0) > 0, "{v}");
    let (_, scans) = t.get("/api/v1/scans").await;
    assert_eq!(scans["scans"][0]["id"], v["id"]);
    t.app.shutdown().await;
}
