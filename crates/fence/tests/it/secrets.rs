//! Secrets: webhook URLs are write-only, encrypted at rest, and absent from responses, errors, metrics and logs.

use crate::support::{config_toml, seed_finding, Db, TestApp, ADMIN_TOKEN};
use fence_testkit::{Answer, FakeSlack};
use serde_json::json;
use std::process::Stdio;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_urls_never_come_back_and_are_encrypted_at_rest() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let secret = "SECRETHOOKVALUE42";
    let id = t.channel(secret, json!({"name": "Security"})).await;
    for path in [
        "/api/v1/channels".to_string(),
        format!("/api/v1/channels/{id}"),
    ] {
        let (_, v) = t.get(&path).await;
        let s = v.to_string();
        assert!(!s.contains(secret) && !s.contains("/services/"), "{s}");
        assert!(s.contains("webhook_url_hint"));
    }
    t.app.shutdown().await;
    let db = std::fs::read(t.dir.path().join("fence.db")).expect("database file");
    let wal = std::fs::read(t.dir.path().join("fence.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the webhook URL is stored encrypted"
        );
    }
}

/// Runs the real binary with debug logging through failures, and reads everything it printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_log_output() {
    let slack = FakeSlack::start().await.expect("fake slack");
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let toml = config_toml(dir.path(), &Db::Sqlite, "").replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    );
    let cfg = dir.path().join("fence.toml");
    std::fs::write(&cfg, toml).expect("config");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_fence"))
        .args(["--config", cfg.to_str().expect("path"), "serve"])
        .env("FENCE_LOG", "debug")
        // Files, not pipes: a pipe nobody reads fills up and blocks the server's logging.
        .stdout(Stdio::from(
            std::fs::File::create(dir.path().join("stdout.log")).expect("stdout file"),
        ))
        .stderr(Stdio::from(
            std::fs::File::create(dir.path().join("stderr.log")).expect("stderr file"),
        ))
        .kill_on_drop(true)
        .spawn()
        .expect("spawn fence");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let secret_hooks = ["LEAKCHECKBROKEN1", "LEAKCHECKFLAKY22", "LEAKCHECKOK3333"];
    slack.set_default(secret_hooks[0], Answer::Status(403, "invalid_token".into()));
    slack.script(
        secret_hooks[1],
        [Answer::Status(500, "rollup_error".into())],
    );
    for h in secret_hooks {
        let r = http
            .post(format!("{base}/api/v1/channels"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"name": h.to_lowercase(), "webhook_url": slack.webhook_url(h)}))
            .send()
            .await
            .expect("create channel");
        assert_eq!(r.status(), 201);
    }
    // A bad URL in a request, too.
    http.post(format!("{base}/api/v1/channels")).bearer_auth(ADMIN_TOKEN).json(&json!({"name": "bad", "webhook_url": "https://evil.example/services/T1/B1/LEAKCHECKBAD44"})).send().await.expect("bad channel");
    http.post(format!("{base}/api/v1/findings"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&seed_finding())
        .send()
        .await
        .expect("finding");
    slack
        .wait_accepted(secret_hooks[2], 1, Duration::from_secs(10))
        .await;
    slack
        .wait_accepted(secret_hooks[1], 1, Duration::from_secs(10))
        .await;
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");

    let pid = child.id().expect("pid");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("exits")
        .expect("output");
    let log = format!(
        "{}{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        metrics
    );
    assert!(
        log.contains("stopped accepting messages"),
        "the broken channel is logged:\n{log}"
    );
    for s in secret_hooks
        .iter()
        .chain(["LEAKCHECKBAD44", "T000TEST", ADMIN_TOKEN].iter())
    {
        assert!(!log.contains(s), "{s} leaked into the output:\n{log}");
    }
}
