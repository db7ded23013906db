//! The kept finding counts behind the dashboard: new findings, triage and a reopen change them in the same
//! transaction; summing their change rows changes nothing a reader sees; batches ingested at once on PostgreSQL
//! neither wait on each other's counters nor miss a finding; the dashboard shows counts past 10,000.

use crate::support::{Db, TestApp};
use fence_store::counts::FindingCount;
use serde_json::{json, Value};

fn batch(tag: &str, n: usize, severity: &str) -> Value {
    let findings: Vec<Value> = (0..n)
        .map(|i| json!({"domain": "example.com", "title": format!("{tag} {i}"), "severity": severity}))
        .collect();
    json!({ "findings": findings })
}

async fn counts(t: &TestApp) -> Vec<(String, String, i64)> {
    let org = t.org_id().await;
    let mut v: Vec<(String, String, i64)> = t
        .app
        .state
        .store
        .finding_counts(&org)
        .await
        .expect("counts")
        .into_iter()
        .map(
            |FindingCount {
                 severity,
                 status,
                 n,
             }| (severity, status, n),
        )
        .collect();
    v.sort();
    v
}

fn key(severity: &str, status: &str, n: i64) -> (String, String, i64) {
    (severity.into(), status.into(), n)
}

async fn counts_follow_ingest_triage_and_reopen(db: Db) {
    let t = TestApp::spawn(db).await;
    let (_, crit) = t
        .post("/api/v1/findings", batch("crit", 10, "critical"))
        .await;
    let (s, _) = t.post("/api/v1/findings", batch("high", 20, "high")).await;
    assert_eq!(s, 202);
    let fp = crit["ids"][0].as_str().expect("id").to_string();
    let resolved = crit["ids"][1].as_str().expect("id").to_string();
    t.post(&format!("/api/v1/findings/{fp}/false-positive"), json!({}))
        .await;
    t.post(&format!("/api/v1/findings/{resolved}/resolve"), json!({}))
        .await;
    assert_eq!(
        counts(&t).await,
        vec![
            key("critical", "false_positive", 1),
            key("critical", "open", 8),
            key("critical", "resolved", 1),
            key("high", "open", 20)
        ]
    );
    // Seen again: the resolved finding reopens.
    let (_, again) = t
        .post("/api/v1/findings", batch("crit", 2, "critical"))
        .await;
    assert_eq!(again["new"], 1, "{again}");
    let expected = vec![
        key("critical", "false_positive", 1),
        key("critical", "open", 9),
        key("high", "open", 20),
    ];
    assert_eq!(counts(&t).await, expected);
    // The server's own job may have summed some already; what is left is summed now.
    t.app
        .state
        .store
        .compact_finding_counts()
        .await
        .expect("compact");
    assert_eq!(counts(&t).await, expected, "summing changes nothing read");
    let rows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM finding_counts")
        .fetch_one(t.app.state.store.pool())
        .await
        .expect("rows");
    assert!(rows.0 <= 5, "one row per key after summing: {}", rows.0);
    t.app.shutdown().await;
}
crate::both_dbs!(counts_follow_ingest_triage_and_reopen);

async fn batches_ingested_at_once_are_all_counted(db: Db) {
    let t = TestApp::spawn(db).await;
    let mut running = tokio::task::JoinSet::new();
    for b in 0..8 {
        let (http, url, token) = (t.http.clone(), t.url.clone(), crate::support::ADMIN_TOKEN);
        running.spawn(async move {
            let findings: Vec<Value> = (0..250)
                .map(|i| {
                    let severity = ["critical", "high", "medium", "low", "info"][(i + b) % 5];
                    json!({"domain": format!("d{}.example.com", i % 7), "title": format!("b{b} {i}"), "severity": severity})
                })
                .collect();
            http.post(format!("{url}/api/v1/findings"))
                .bearer_auth(token)
                .json(&json!({ "findings": findings }))
                .send()
                .await
                .expect("post")
                .status()
                .as_u16()
        });
    }
    while let Some(status) = running.join_next().await {
        assert_eq!(status.expect("task"), 202, "no batch failed");
    }
    let total: i64 = counts(&t).await.iter().map(|c| c.2).sum();
    assert_eq!(total, 2_000);
    t.app.shutdown().await;
}
crate::both_dbs!(batches_ingested_at_once_are_all_counted);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_counts_past_ten_thousand() {
    let t = TestApp::spawn(Db::Sqlite).await;
    for b in 0..11 {
        let (s, _) = t
            .post("/api/v1/findings", batch(&format!("b{b}"), 1000, "high"))
            .await;
        assert_eq!(s, 202);
    }
    let page = dashboard(&t).await;
    assert!(
        page.contains(">11000</h2>"),
        "all 11,000 open high findings counted: {page}"
    );
    t.app.shutdown().await;
}

/// The dashboard as a signed-in admin sees it.
async fn dashboard(t: &TestApp) -> String {
    let password = "counts-test-password-1";
    crate::browser::add_user(t, "lead@example.com", password, "admin").await;
    let (_, cookie) = crate::browser::login(t, "lead@example.com", password).await;
    reqwest::Client::new()
        .get(format!("{}/dashboard", t.url))
        .header("cookie", cookie.expect("a session cookie"))
        .send()
        .await
        .expect("dashboard")
        .text()
        .await
        .expect("text")
}

/// Whether PostgreSQL's statistics of `findings` say `analysed` (an expression over `pg_stat_user_tables`).
async fn findings_analysed(store: &fence_store::Store, analysed: &str) -> bool {
    let row: (bool,) = sqlx::query_as(&format!(
        "SELECT {analysed} FROM pg_stat_user_tables WHERE relname = 'findings'"
    ))
    .fetch_one(store.pool())
    .await
    .expect("stats");
    row.0
}

/// On PostgreSQL, `analyze_if_stale` refreshes stale statistics (without them, looking a batch's fingerprints up scanned
/// the organization's findings instead of the unique index, so ingest slowed down with every batch on a server with
/// autovacuum off), and leaves fresh ones alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_planner_statistics_are_refreshed_on_postgres() {
    let Some(db) = Db::postgres().await else {
        eprintln!("FENCE_TEST_DATABASE_URL is not set: PostgreSQL test not run");
        return;
    };
    let t = TestApp::spawn(db).await;
    for b in 0..3 {
        let (s, _) = t
            .post("/api/v1/findings", batch(&format!("b{b}"), 1000, "high"))
            .await;
        assert_eq!(s, 202);
    }
    // PostgreSQL publishes a connection's table statistics when it has been idle a while (up to 10 s).
    let store = &t.app.state.store;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        store.analyze_if_stale().await.expect("analyze");
        if findings_analysed(
            store,
            "last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL",
        )
        .await
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "3,000 new findings made the statistics stale and they were refreshed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    // Fresh statistics: nothing more to do.
    assert_eq!(
        store.analyze_if_stale().await.expect("analyze"),
        Vec::<&str>::new()
    );
    t.app.shutdown().await;
}

/// On PostgreSQL the scheduler itself refreshes statistics an ingest made stale, within seconds rather than the
/// minute a new database's first ingest used to run without them (at a fifth of the speed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_refreshes_stale_planner_statistics_within_seconds() {
    let Some(db) = Db::postgres().await else {
        eprintln!("FENCE_TEST_DATABASE_URL is not set: PostgreSQL test not run");
        return;
    };
    let t = TestApp::spawn(db).await;
    let store = &t.app.state.store;
    // Only Fence may analyse the table in this test, whatever the server's autovacuum does.
    sqlx::query("ALTER TABLE findings SET (autovacuum_enabled = false)")
        .execute(store.pool())
        .await
        .expect("autovacuum off");
    for b in 0..3 {
        let (s, _) = t
            .post("/api/v1/findings", batch(&format!("s{b}"), 1000, "high"))
            .await;
        assert_eq!(s, 202);
    }
    let started = std::time::Instant::now();
    loop {
        if findings_analysed(store, "last_analyze IS NOT NULL").await {
            break;
        }
        // Statistics reach pg_stat_user_tables up to 10 s after the ingest's commit; the job looks every 5 s.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "3,000 new findings made the statistics stale and the scheduler did not refresh them"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    t.app.shutdown().await;
}
