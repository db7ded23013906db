//! The dashboard's daily trends (`finding_days`): ingest counts new findings, a status change counts closed,
//! triaged and resolved findings with their durations in the same transaction, a reopen starts a new resolve period
//! without a second triage, and summing the change rows changes nothing a reader sees. The dashboard draws them.

use crate::support::{Db, TestApp};
use fence_store::days::{Day, DAY_MS};
use serde_json::json;

async fn today(t: &TestApp) -> Day {
    let store = &t.app.state.store;
    let org = t.org_id().await;
    let now = t.app.state.clock.now_ms().div_euclid(DAY_MS);
    let days = store.finding_days(&org, now - 1, now).await.expect("days");
    assert_eq!(days.len(), 2, "one row per day asked for");
    days[1]
}

async fn trends_follow_ingest_triage_resolve_and_reopen(db: Db) {
    let t = TestApp::spawn(db).await;
    let findings: Vec<_> = (0..3)
        .map(
            |i| json!({"domain": "example.com", "title": format!("trend {i}"), "severity": "high"}),
        )
        .collect();
    let (s, v) = t
        .post("/api/v1/findings", json!({ "findings": findings }))
        .await;
    assert_eq!(s, 202, "{v}");
    let ids: Vec<String> = v["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|i| i.as_str().map(str::to_string))
        .collect();
    // The same findings again are not new.
    t.post("/api/v1/findings", json!({ "findings": findings }))
        .await;
    let d = today(&t).await;
    assert_eq!((d.opened, d.closed, d.triaged, d.resolved), (3, 0, 0, 0));

    t.post(
        &format!("/api/v1/findings/{}/false-positive", ids[0]),
        json!({}),
    )
    .await;
    t.post(&format!("/api/v1/findings/{}/resolve", ids[1]), json!({}))
        .await;
    let d = today(&t).await;
    assert_eq!((d.opened, d.closed, d.triaged, d.resolved), (3, 2, 2, 1));
    assert!(d.triage_ms >= 0 && d.resolve_ms >= 0);

    // Reopened and resolved again: closed and resolved count again, triage does not (it was triaged already).
    t.post(&format!("/api/v1/findings/{}/reopen", ids[1]), json!({}))
        .await;
    t.post(&format!("/api/v1/findings/{}/resolve", ids[1]), json!({}))
        .await;
    let d = today(&t).await;
    assert_eq!((d.opened, d.closed, d.triaged, d.resolved), (3, 3, 2, 2));
    let store = &t.app.state.store;
    let row =
        sqlx::query("SELECT triaged_at, resolved_at, resolve_from FROM findings WHERE id = $1")
            .bind(&ids[1])
            .fetch_one(store.pool())
            .await
            .expect("row");
    use sqlx::Row;
    let (triaged, resolved, from): (Option<i64>, Option<i64>, Option<i64>) = (
        row.try_get("triaged_at").expect("triaged_at"),
        row.try_get("resolved_at").expect("resolved_at"),
        row.try_get("resolve_from").expect("resolve_from"),
    );
    assert!(
        triaged.is_some() && resolved.is_some(),
        "{triaged:?} {resolved:?}"
    );
    assert!(
        from.is_some_and(|f| f >= triaged.unwrap_or(0)),
        "the reopen began a new period"
    );

    // Summing the change rows keeps every day's totals and leaves one row per day (the scheduler's minute job may
    // have summed them first: either way the rows end up one per day).
    let before = today(&t).await;
    store.compact_finding_days().await.expect("compact");
    assert_eq!(today(&t).await, before);
    let rows = sqlx::query("SELECT COUNT(*) AS n, COUNT(DISTINCT day) AS d FROM finding_days")
        .fetch_one(store.pool())
        .await
        .expect("rows");
    let (n, d): (i64, i64) = (rows.try_get("n").expect("n"), rows.try_get("d").expect("d"));
    assert_eq!(n, d, "one row per day after summing");

    // The dashboard shows the period's totals.
    let page = crate::web_text::page_as(&t, "trend@example.com", "/dashboard").await;
    assert!(
        page.contains("3 new, <span class=\"key closed\"></span> 3 closed in the last 30 days"),
        "{page}"
    );
    assert!(page.contains("Time to resolve: <b>"), "{page}");
    let page = crate::web_text::page_as(&t, "trend90@example.com", "/dashboard?days=90").await;
    assert!(page.contains("in the last 90 days"), "{page}");
    assert!(
        page.contains("0 messages sent in the last 24 hours"),
        "{page}"
    );
    assert!(page.contains("Channels: 0 healthy"), "{page}");
    t.app.shutdown().await;
}
crate::both_dbs!(trends_follow_ingest_triage_resolve_and_reopen);

/// Delivery health counts this organization's messages of the last day, the 429s and failed attempts on the way,
/// and the channels' states; the minute job's compaction keeps the sums.
async fn delivery_health_counts_what_was_sent(db: Db) {
    let t = TestApp::spawn(db).await;
    t.slack.script(
        "health",
        [
            fence_testkit::Answer::RateLimited(1),
            fence_testkit::Answer::Status(503, "service_unavailable".into()),
        ],
    );
    let (s, v) = t
        .post(
            "/api/v1/channels",
            json!({"name": "health", "webhook_url": t.slack.webhook_url("health")}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    t.post(
        "/api/v1/findings",
        json!({"domain": "example.com", "title": "health", "severity": "critical"}),
    )
    .await;
    let got = t
        .slack
        .wait_accepted("health", 1, std::time::Duration::from_secs(20))
        .await;
    assert_eq!(got.len(), 1);
    let org = t.org_id().await;
    // The outcome is recorded just after Slack answers.
    let mut health = Default::default();
    for _ in 0..100 {
        health = t
            .app
            .state
            .store
            .delivery_health(&org, t.app.state.clock.now_ms())
            .await
            .expect("health");
        if health.sent_per_hour.iter().sum::<i64>() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let store = &t.app.state.store;
    store
        .compact_delivery_hours(t.app.state.clock.now_ms())
        .await
        .expect("compact");
    let compacted = store
        .delivery_health(&org, t.app.state.clock.now_ms())
        .await
        .expect("health");
    assert_eq!(compacted, health, "compaction keeps the sums");
    let fence_store::deliveries::DeliveryHealth {
        sent_per_hour,
        rate_limited,
        failed,
        waiting,
        dead,
        ..
    } = health;
    assert_eq!(
        (
            sent_per_hour.len(),
            sent_per_hour[23],
            rate_limited,
            failed,
            waiting,
            dead
        ),
        (24, 1, 1, 1, 0, 0)
    );
    let page = crate::web_text::page_as(&t, "health@example.com", "/dashboard").await;
    assert!(
        page.contains("1 message sent in the last 24 hours (one bar per hour); Slack asked Fence to slow down 1 time (429, each message sent later) and 1 attempt failed (retried)."),
        "{page}"
    );
    assert!(page.contains("Channels: 1 healthy"), "{page}");
    t.app.shutdown().await;
}
crate::both_dbs!(delivery_health_counts_what_was_sent);

/// The most affected domains: open findings per domain, most first, as the minute job counted them; triage
/// changes them at the next count.
async fn the_most_affected_domains_are_counted_from_open_findings(db: Db) {
    let t = TestApp::spawn(db).await;
    let mut findings = Vec::new();
    for (domain, n) in [
        ("a.example.com", 3),
        ("b.example.com", 5),
        ("c.example.com", 1),
    ] {
        for i in 0..n {
            findings.push(
                json!({"domain": domain, "title": format!("{domain} {i}"), "severity": "medium"}),
            );
        }
    }
    let (s, v) = t
        .post("/api/v1/findings", json!({ "findings": findings }))
        .await;
    assert_eq!(s, 202, "{v}");
    let store = &t.app.state.store;
    let org = t.org_id().await;
    let now = t.app.state.clock.now_ms();
    store.refresh_top_domains(now).await.expect("refresh");
    let top = |v: Vec<fence_store::top_domains::TopDomain>| -> Vec<(String, i64)> {
        v.into_iter().map(|d| (d.domain, d.open)).collect()
    };
    assert_eq!(
        top(store.top_domains(&org).await.expect("top")),
        [
            ("b.example.com".to_string(), 5),
            ("a.example.com".to_string(), 3),
            ("c.example.com".to_string(), 1)
        ]
    );
    // Four of b's five resolved: a leads at the next count.
    let ids: Vec<String> = v["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|i| i.as_str().map(str::to_string))
        .collect();
    for id in &ids[3..7] {
        t.post(&format!("/api/v1/findings/{id}/resolve"), json!({}))
            .await;
    }
    store
        .refresh_top_domains(now + 60_000)
        .await
        .expect("refresh");
    assert_eq!(
        top(store.top_domains(&org).await.expect("top")),
        [
            ("a.example.com".to_string(), 3),
            ("b.example.com".to_string(), 1),
            ("c.example.com".to_string(), 1)
        ]
    );
    let page = crate::web_text::page_as(&t, "domains@example.com", "/dashboard").await;
    assert!(page.contains("a.example.com</a> — 3 open"), "{page}");
    t.app.shutdown().await;
}
crate::both_dbs!(the_most_affected_domains_are_counted_from_open_findings);
