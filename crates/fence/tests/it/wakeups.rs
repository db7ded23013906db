//! Wake-ups across processes: on PostgreSQL, storing deliveries or queuing a scan notifies every listening process
//! at commit (another process's dispatcher sends at once instead of at its next poll); SQLite has no one to tell.

use crate::support::{seed_finding, Db, TestApp};
use fence_store::notify::Work;
use serde_json::json;
use std::time::Duration;

async fn next_of(w: &mut fence_store::notify::WakeUps, want: Work) {
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if w.next().await.expect("notification") == want {
                return;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "no {want:?} notification within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_work_is_announced_to_every_listening_process() {
    let Some(db) = Db::postgres().await else {
        eprintln!("FENCE_TEST_DATABASE_URL is not set: PostgreSQL variant not run");
        return;
    };
    let t = TestApp::spawn(db).await;
    // A listener on its own connection, as another `fence serve` on the same database has.
    let mut other = t
        .app
        .state
        .store
        .wake_ups()
        .await
        .expect("listen")
        .expect("PostgreSQL listens");
    t.channel("woken", json!({})).await;
    t.post("/api/v1/findings", seed_finding()).await;
    next_of(&mut other, Work::Deliveries).await;
    let (s, v) = t
        .post(
            "/api/v1/scans",
            json!({"domain": "example.com", "type": "headers"}),
        )
        .await;
    assert!(s.is_success(), "{v}");
    next_of(&mut other, Work::Scans).await;
    t.app.shutdown().await;

    let sqlite = TestApp::spawn(Db::Sqlite).await;
    assert!(
        sqlite
            .app
            .state
            .store
            .wake_ups()
            .await
            .expect("no error")
            .is_none(),
        "one server per SQLite database: nothing to listen for"
    );
    sqlite.app.shutdown().await;
}
