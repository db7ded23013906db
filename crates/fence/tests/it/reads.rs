//! Reads at size: a filter without an index of its own looks at a bounded window per page and says where to go on,
//! so no request scans every stored finding; the organization's finding count is kept, not counted.

use crate::support::{Db, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn post_batch(t: &TestApp, from: usize, n: usize, category: &str) {
    let findings: Vec<Value> = (from..from + n)
        .map(|i| json!({"domain": format!("host{}.example.com", i % 50), "title": format!("finding {i}"), "severity": "high", "category": category}))
        .collect();
    let (s, v) = t
        .post("/api/v1/findings", json!({"findings": findings}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
}

async fn a_rare_category_is_found_page_by_page_without_a_full_scan(db: Db) {
    let t = TestApp::spawn(db).await;
    // Three old findings of a rare category, then 12,000 newer ones of another.
    post_batch(&t, 0, 3, "xss").await;
    for b in 0..12 {
        post_batch(&t, 3 + b * 1000, 1000, "misconfiguration").await;
    }
    let (_, org) = t.get("/api/v1/org").await;
    assert_eq!(org["usage"]["findings"], 12_003, "{org}");

    let (s, first) = t.get("/api/v1/findings?category=xss&limit=50").await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert_eq!(
        first["findings"],
        json!([]),
        "the newest 10,000 hold none of them"
    );
    let mut cursor = first["next_cursor"]
        .as_str()
        .expect("a bounded scan says where it stopped")
        .to_string();
    let mut found = Vec::new();
    for _ in 0..5 {
        let (_, page) = t
            .get(&format!(
                "/api/v1/findings?category=xss&limit=50&cursor={cursor}"
            ))
            .await;
        for f in page["findings"].as_array().expect("findings") {
            found.push(f["title"].as_str().unwrap_or_default().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(found, ["finding 2", "finding 1", "finding 0"]);

    // An indexed filter pages as before: full pages while there are more.
    let (_, high) = t.get("/api/v1/findings?severity=high&limit=500").await;
    assert_eq!(high["findings"].as_array().map(Vec::len), Some(500));
    assert!(high["next_cursor"].is_string());
    t.app.shutdown().await;
}
crate::both_dbs!(a_rare_category_is_found_page_by_page_without_a_full_scan);
