//! Real `fence serve` processes: graceful shutdown finishes in-flight sends, and several processes sharing one
//! PostgreSQL database keep one shared pace and lose nothing when one is killed.

use crate::cli::{counted, start_server_on, wait_ready};
use crate::support::{Db, ADMIN_TOKEN};
use fence_testkit::{Answer, FakeSlack};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port()
}

async fn post(base: &str, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .expect("post");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn get(base: &str, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_send_in_flight() {
    let slack = FakeSlack::start().await.expect("fake slack");
    slack.script("slow", [Answer::Slow(Duration::from_millis(1500))]);
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut server = start_server_on(dir.path(), "a", port, &Db::Sqlite);
    wait_ready(&server.base).await;
    let (s, _) = post(
        &server.base,
        "/api/v1/channels",
        json!({"name": "slow", "webhook_url": slack.webhook_url("slow")}),
    )
    .await;
    assert_eq!(s, 201);
    post(
        &server.base,
        "/api/v1/findings",
        crate::support::seed_finding(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status();
    let status = server.child.wait().expect("exit");
    assert!(status.success(), "graceful exit: {status:?}");
    assert_eq!(
        slack.accepted("slow").len(),
        1,
        "the in-flight send completed before exit"
    );

    // Restarted, Fence knows it was sent: no duplicate.
    let mut server = start_server_on(dir.path(), "a", port, &Db::Sqlite);
    wait_ready(&server.base).await;
    let sent = get(&server.base, "/api/v1/deliveries?state=sent").await;
    assert_eq!(
        sent["deliveries"].as_array().map(Vec::len),
        Some(1),
        "{sent}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(slack.requests("slow").len(), 1, "not sent twice");
    server.child.kill().expect("stop");
    let _ = server.child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_postgres_share_the_pace_and_survive_a_kill() {
    let Some(Db::Postgres(url)) = Db::postgres().await else {
        eprintln!("FENCE_TEST_DATABASE_URL is not set: two-process test not run");
        return;
    };
    let db = Db::Postgres(url);
    let slack = FakeSlack::start().await.expect("fake slack");
    slack.enforce_rate(1.0);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = start_server_on(dir.path(), "a", free_port(), &db);
    let mut b = start_server_on(dir.path(), "b", free_port(), &db);
    wait_ready(&a.base).await;
    wait_ready(&b.base).await;
    let (s, v) = post(
        &a.base,
        "/api/v1/channels",
        json!({"name": "shared", "webhook_url": slack.webhook_url("shared")}),
    )
    .await;
    assert_eq!(s, 201, "{v}");

    // Findings arrive at both processes, one at a time, over about three seconds.
    let mut accepted = 0;
    for i in 0..30 {
        // Alternate between the processes until A is killed, then B takes everything.
        let base = if i % 2 == 0 && i <= 15 {
            &a.base
        } else {
            &b.base
        };
        let (s, _) = post(
            base,
            "/api/v1/findings",
            json!({"domain": "example.com", "title": format!("finding {i}"), "severity": "high"}),
        )
        .await;
        assert_eq!(s, 202);
        accepted += 1;
        if i == 15 {
            a.child.kill().expect("kill -9 one process");
            let _ = a.child.wait();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let start = Instant::now();
    let got = slack
        .wait_until("shared", Duration::from_secs(60), |m| {
            counted(m) >= accepted
        })
        .await;
    assert!(
        counted(&got) >= accepted,
        "all {accepted} counted after a kill: {}",
        counted(&got)
    );
    assert_eq!(
        slack.rejected_429(),
        0,
        "one shared pace across processes: no 429"
    );
    for w in got.windows(2) {
        assert!(
            w[1].at.duration_since(w[0].at) >= Duration::from_millis(990),
            "paced at one per second across processes"
        );
    }
    eprintln!("all counted {:?} after the last finding", start.elapsed());
    b.child.kill().expect("stop");
    let _ = b.child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_senders_destination_is_taken_over_once_its_heartbeat_stops() {
    let Some(Db::Postgres(url)) = Db::postgres().await else {
        eprintln!("FENCE_TEST_DATABASE_URL is not set: two-process test not run");
        return;
    };
    let db = Db::Postgres(url);
    let slack = FakeSlack::start().await.expect("fake slack");
    // The first message hangs: its sender is killed in the middle of it.
    slack.script("hung", [Answer::Drop]);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = start_server_on(dir.path(), "a", free_port(), &db);
    wait_ready(&a.base).await;
    let (s, v) = post(
        &a.base,
        "/api/v1/channels",
        json!({"name": "hung", "webhook_url": slack.webhook_url("hung")}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    post(&a.base, "/api/v1/findings", crate::support::seed_finding()).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while slack.requests("hung").is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(slack.requests("hung").len(), 1, "A is sending");
    let mut b = start_server_on(dir.path(), "b", free_port(), &db);
    wait_ready(&b.base).await;
    a.child.kill().expect("kill -9 the sender");
    let _ = a.child.wait();
    let killed = Instant::now();
    while slack.requests("hung").len() < 2 {
        // The lease outlives its last renewal by 4 s (it was 45 s before heartbeats).
        assert!(
            killed.elapsed() < Duration::from_secs(15),
            "B took the destination over"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let second = &slack.requests("hung")[1];
    assert_eq!(second.status, 200, "B sent the message A never finished");
    eprintln!("taken over {:?} after the kill", killed.elapsed());
    b.child.kill().expect("stop");
    let _ = b.child.wait();
}
