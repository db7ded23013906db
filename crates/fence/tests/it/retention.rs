//! Retention: a month on, sent deliveries (and the alert sets only they used) are gone while held and dead work —
//! and the alerts it still needs — stays; the audit log is kept for `retention.audit`.

use crate::pacing::{Rig, T0};
use fence_testkit::Answer;
use serde_json::{json, Value};

const DAY: i64 = 86_400_000;

fn count(v: &Value) -> usize {
    v["deliveries"].as_array().map(Vec::len).unwrap_or(0)
}

/// How many deliveries are in `state` (the API's list).
pub(crate) async fn deliveries(r: &Rig, state: &str) -> usize {
    count(&r.get(&format!("/api/v1/deliveries?state={state}")).await)
}

async fn alert_sets(r: &Rig) -> i64 {
    let row: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM alert_sets")
        .fetch_one(r.app.state.store.pool())
        .await
        .expect("count");
    row.0
}

async fn orphaned(r: &Rig) -> i64 {
    let row: (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM deliveries d WHERE NOT EXISTS (SELECT 1 FROM alert_sets a WHERE a.id = d.alert_set_id)",
    )
    .fetch_one(r.app.state.store.pool())
    .await
    .expect("count");
    row.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_sent_work_goes_and_held_or_dead_work_stays() {
    let r = Rig::new(T0).await;
    r.channel("kept", json!({})).await;
    r.finding("Announced long ago", "high").await;
    assert_eq!(r.at(0).await, 1);
    r.slack
        .set_default("revoked", Answer::Status(404, "no_service".into()));
    r.slack
        .set_default("refused", Answer::Status(400, "invalid_payload".into()));
    r.channel("revoked", json!({})).await;
    r.channel("refused", json!({})).await;
    r.finding("Still owed", "critical").await;
    for t in [2_000, 4_000, 6_000, 8_000] {
        r.at(t).await;
    }
    // Both findings reached #kept, with the notice that #revoked stopped accepting messages.
    let sent = deliveries(&r, "sent").await;
    let (held, dead) = (deliveries(&r, "held").await, deliveries(&r, "dead").await);
    assert!(sent >= 2, "{sent}");
    assert!(held >= 1, "the revoked channel holds its alerts");
    assert!(dead >= 1, "refused twice, then dead");
    let sets = alert_sets(&r).await;
    let audit_before = r.get("/api/v1/audit").await;
    assert!(
        !audit_before["audit"].as_array().expect("audit").is_empty(),
        "{audit_before}"
    );

    // Short of the retention: nothing goes.
    r.clock.set_ms(T0 + 29 * DAY);
    r.scheduler.tick().await.expect("tick");
    assert_eq!(deliveries(&r, "sent").await, sent);

    r.clock.set_ms(T0 + 31 * DAY);
    r.scheduler.tick().await.expect("tick");
    assert_eq!(deliveries(&r, "sent").await, 0, "sent deliveries aged out");
    assert_eq!(
        deliveries(&r, "held").await,
        held,
        "held work is never pruned"
    );
    assert_eq!(
        deliveries(&r, "dead").await,
        dead,
        "dead work is never pruned"
    );
    let left = alert_sets(&r).await;
    assert!(
        left >= 1 && left < sets,
        "the first burst's set went, the sets of held and dead work stayed: {left} of {sets}"
    );
    assert_eq!(
        orphaned(&r).await,
        0,
        "every delivery left can still load its alerts"
    );
    assert_eq!(
        r.get("/api/v1/audit").await["audit"],
        audit_before["audit"],
        "the audit log is kept for 400 days"
    );

    r.clock.set_ms(T0 + 401 * DAY);
    r.scheduler.tick().await.expect("tick");
    let audit_after = r.get("/api/v1/audit").await;
    assert_eq!(audit_after["audit"], json!([]), "{audit_after}");
    assert_eq!(deliveries(&r, "held").await, held);
    r.app.shutdown().await;
}

/// The same statements on both databases: everything aged out goes, in batches, and a second pass finds nothing.
async fn pruning_runs_in_batches_on_both_databases(db: crate::support::Db) {
    let t = crate::support::TestApp::spawn(db).await;
    for i in 0..3 {
        let hook = t.slack.webhook_url(&format!("batch{i}"));
        let (s, v) = t
            .post(
                "/api/v1/channels",
                json!({"name": format!("batch{i}"), "webhook_url": hook}),
            )
            .await;
        assert!(s.is_success(), "{v}");
    }
    let (_, audit) = t.get("/api/v1/audit").await;
    let entries = audit["audit"].as_array().map(Vec::len).unwrap_or(0);
    assert!(entries >= 3, "{audit}");
    let future = i64::MAX / 2;
    let cutoffs = fence_store::retention::Cutoffs {
        deliveries_before: future,
        audit_before: future,
        logins_before: future,
        now: future,
    };
    let store = &t.app.state.store;
    let first = store.prune_batch(&cutoffs, 2).await.expect("prune");
    assert_eq!(first.audit, 2, "one batch takes at most its size");
    let mut rest = fence_store::retention::Pruned::default();
    loop {
        let p = store.prune_batch(&cutoffs, 2).await.expect("prune");
        if p.total() == 0 {
            break;
        }
        rest.add(p);
    }
    assert_eq!(first.audit + rest.audit, entries as u64);
    let (_, audit) = t.get("/api/v1/audit").await;
    assert_eq!(audit["audit"], json!([]), "{audit}");
    t.app.shutdown().await;
}
crate::both_dbs!(pruning_runs_in_batches_on_both_databases);
