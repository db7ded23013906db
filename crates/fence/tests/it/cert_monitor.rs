//! The certificate monitor: due domains are checked concurrently, so a domain that never answers holds up no other;
//! passes running at once (as in several processes) share the domains, each checked once; a checked domain waits
//! for its next period; an unreachable one is counted and the pass goes on.

use crate::pacing::{Rig, T0};
use fence_server::services::certificates::monitor_certificates;
use fence_testkit::tls::{blackhole_on, leaf, tls_server};
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_share_the_domains_and_a_blackhole_holds_up_no_other() {
    // No workers of its own: only the passes below check anything.
    let t = Rig::with_config(T0, "[scan]\nallow_private_targets = true", "").await;
    let (cert, key) = leaf(None, &["localhost"], -400, 400);
    let https = tls_server(cert, key, "").await;
    let silent = blackhole_on("127.0.0.1").await;
    let (s, v) = t
        .post(
            "/api/v1/domains",
            json!({"name": "localhost", "port": https, "monitor_certificates": true}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{v}");
    let (s, v) = t
        .post(
            "/api/v1/domains",
            json!({"name": "127.0.0.1", "port": silent, "monitor_certificates": true}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{v}");
    let state = t.app.state.clone();
    let started = Instant::now();
    // Two passes at once, as two processes would run them.
    let (a, b) = tokio::join!(monitor_certificates(&state), monitor_certificates(&state));
    let checked = a.expect("pass") + b.expect("pass");
    let failed = state
        .metrics
        .certificate_check_failures
        .load(Ordering::Relaxed);
    assert_eq!(
        checked,
        1,
        "localhost's certificate recorded, once ({failed} failed, {:?})",
        started.elapsed()
    );
    assert_eq!(state.metrics.certificate_checks.load(Ordering::Relaxed), 1);
    assert_eq!(
        state
            .metrics
            .certificate_check_failures
            .load(Ordering::Relaxed),
        1,
        "the blackhole was tried once, counted, and did not fail the pass"
    );
    assert!(
        started.elapsed() < Duration::from_secs(18),
        "one timeout, not one per pass: {:?}",
        started.elapsed()
    );
    let org = state.store.org_by_name("default").await.expect("org").id;
    assert!(state.store.certificate(&org, "localhost").await.is_ok());
    assert!(
        state.store.certificate(&org, "127.0.0.1").await.is_err(),
        "nothing recorded for the blackhole"
    );
    // Both were just checked: the next pass has nothing due.
    assert_eq!(monitor_certificates(&state).await.expect("pass"), 0);
    assert_eq!(
        state
            .metrics
            .certificate_check_failures
            .load(Ordering::Relaxed),
        1
    );
    t.app.shutdown().await;
}
