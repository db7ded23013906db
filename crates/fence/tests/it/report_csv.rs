//! The digest's CSV report streams the period page by page: every finding of the period once, in order, across
//! page boundaries, and none from outside it.

use crate::support::{Db, TestApp};
use serde_json::{json, Value};
use std::collections::HashSet;

async fn the_report_holds_every_finding_of_the_period_once(db: Db) {
    let t = TestApp::spawn(db).await;
    let from = t.app.state.clock.now_ms() - 1;
    // 2,500 findings: two full pages of 1,000 and a partial one.
    for b in 0..5 {
        let findings: Vec<Value> = (0..500)
            .map(|i| json!({"domain": "example.com", "title": format!("b{b} finding {i}"), "severity": "high"}))
            .collect();
        let (s, _) = t
            .post("/api/v1/findings", json!({ "findings": findings }))
            .await;
        assert_eq!(s, 202);
    }
    let to = t.app.state.clock.now_ms();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    t.post(
        "/api/v1/findings",
        json!({"domain": "example.com", "title": "after the period", "severity": "high"}),
    )
    .await;
    let org = t.org_id().await;
    let url = fence_server::services::digests::report_url(&t.app.state, &org, from, to)
        .replace(&t.app.state.config.base_url, &t.url);
    let r = reqwest::get(&url).await.expect("report");
    assert_eq!(r.status(), 200);
    let body = r.text().await.expect("csv");
    let mut lines = body.lines();
    assert!(lines.next().expect("header").starts_with("id,domain,title"));
    let ids: Vec<&str> = lines
        .map(|l| l.split(',').next().unwrap_or_default())
        .collect();
    assert_eq!(ids.len(), 2_500, "every finding of the period");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 2_500, "each once");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in id order");
    assert!(!body.contains("after the period"));
    t.app.shutdown().await;
}
crate::both_dbs!(the_report_holds_every_finding_of_the_period_once);
