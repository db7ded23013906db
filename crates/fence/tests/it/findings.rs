//! Ingest: the seed's alert end to end, validation, all-or-nothing batches, limits, dedupe and status changes.

use crate::both_dbs;
use crate::support::{plain_text, seed_finding, Db, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

async fn a_critical_finding_reaches_slack_as_the_seeds_alert(db: Db) {
    let t = TestApp::spawn(db).await;
    t.channel(
        "sec",
        json!({"mentions": {"critical": ["<!subteam^S0123456789>"]}}),
    )
    .await;
    let (status, body) = t.post("/api/v1/findings", seed_finding()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["accepted"], 1);
    assert_eq!(body["new"], 1);
    let id = body["ids"][0].as_str().expect("id").to_string();

    let got = t.slack.wait_accepted("sec", 1, WAIT).await;
    assert_eq!(got.len(), 1, "one message");
    let msg = &got[0].body;
    let text = plain_text(msg);
    assert_eq!(
        msg["text"],
        "🚨 Critical Vulnerability Detected <!subteam^S0123456789>"
    );
    assert_eq!(msg["attachments"][0]["color"], "#FF0000");
    for needle in [
        "*Domain:*\\nexample.com",
        "CRITICAL (CVSS 9.8)",
        "SQL Injection in login form",
        "CVE-2024-12345",
        "A03:2021 - Injection",
        "https://example.com/login",
    ] {
        assert!(text.contains(needle), "missing {needle} in {text}");
    }
    let elements = msg["attachments"][0]["blocks"][2]["elements"]
        .as_array()
        .cloned()
        .expect("buttons");
    let buttons: Vec<String> = elements
        .iter()
        .filter(|e| e["type"] == "button")
        .map(|b| b["text"]["text"].as_str().unwrap_or_default().to_string())
        .collect();
    // The seed's buttons, then a menu with what the seed does not have: muting the rule.
    assert_eq!(
        elements
            .last()
            .map(|e| e["options"][0]["text"]["text"].clone()),
        Some(serde_json::json!("Mute this rule for 30 days")),
        "{elements:?}"
    );
    assert_eq!(
        buttons,
        [
            "View Details",
            "Mark as False Positive",
            "Snooze (24h)",
            "Fix Instructions",
            "Run Scan"
        ]
    );
    assert_eq!(
        msg["attachments"][0]["blocks"][2]["elements"][0]["url"],
        format!("https://fence.test/findings/{id}")
    );

    // The delivery is recorded as sent.
    let d = t.wait_deliveries("sent", 1).await;
    assert_eq!(d["deliveries"].as_array().map(Vec::len), Some(1), "{d}");
    t.app.shutdown().await;
}
both_dbs!(a_critical_finding_reaches_slack_as_the_seeds_alert);

async fn the_attachments_format_carries_the_seed_fields(db: Db) {
    let t = TestApp::spawn(db).await;
    t.channel("legacy", json!({"format": "attachments"})).await;
    let mut f = seed_finding();
    f["severity"] = json!("high");
    f["cvss"] = json!(7.5);
    t.post("/api/v1/findings", f).await;
    let got = t.slack.wait_accepted("legacy", 1, WAIT).await;
    let att = &got[0].body["attachments"][0];
    assert_eq!(att["color"], "#FFA500");
    assert_eq!(
        got[0].body["text"],
        "🟠 High Severity Vulnerability Detected"
    );
    let fields: Vec<(String, String)> = att["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| {
            (
                f["title"].as_str().unwrap_or_default().to_string(),
                plain_text(&f["value"]).trim_matches('"').to_string(),
            )
        })
        .collect();
    assert!(
        fields.contains(&("Domain".into(), "example.com".into())),
        "{fields:?}"
    );
    assert!(
        fields.contains(&("Severity".into(), "HIGH (CVSS 7.5)".into())),
        "{fields:?}"
    );
    assert!(att["actions"]
        .as_array()
        .is_some_and(|a| a.iter().any(|b| b["text"] == "Mark as False Positive")));
    t.app.shutdown().await;
}
both_dbs!(the_attachments_format_carries_the_seed_fields);

async fn each_invalid_field_is_named_and_nothing_is_stored(db: Db) {
    let t = TestApp::spawn(db).await;
    t.channel("sec", json!({})).await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"title": "t", "severity": "high"}),
            "findings[1].domain",
        ),
        (
            json!({"domain": "example.com", "severity": "high"}),
            "findings[1].title",
        ),
        (
            json!({"domain": "example.com", "title": "t"}),
            "findings[1].severity",
        ),
        (
            json!({"domain": "example.com", "title": "t", "severity": "urgent"}),
            "findings[1].severity",
        ),
        (
            json!({"domain": "example.com", "title": "t", "cvss": 12}),
            "findings[1].cvss",
        ),
        (
            json!({"domain": "example.com", "title": "t", "cvss_vector": "CVSS:3.1/AV:X"}),
            "findings[1].cvss_vector",
        ),
        (
            json!({"domain": "example.com", "title": "t", "severity": "low", "cve": "CVE-1"}),
            "findings[1].cve",
        ),
        (
            json!({"domain": "example.com", "title": "t", "severity": "low", "category": "alien"}),
            "findings[1].category",
        ),
        (
            json!({"domain": "example.com", "title": "t", "severity": "low", "affected_url": "ftp:/x"}),
            "findings[1].affected_url",
        ),
        (
            json!({"domain": "example.com", "title": "x".repeat(501), "severity": "low"}),
            "findings[1].title",
        ),
        (
            json!({"domain": "example.com", "title": "t", "severity": "low", "detected_at": "tuesday"}),
            "findings[1].detected_at",
        ),
        (
            json!({"domain": "example.com", "title": "t", "severity": "low", "colour": "red"}),
            "findings[1].colour",
        ),
    ];
    for (bad, field) in cases {
        let (status, body) = t
            .post(
                "/api/v1/findings",
                json!({"findings": [seed_finding(), bad]}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "validation_failed");
        assert_eq!(body["error"]["field"], field, "{body}");
    }
    let (_, list) = t.get("/api/v1/findings").await;
    assert_eq!(
        list["findings"].as_array().map(Vec::len),
        Some(0),
        "a rejected batch stores nothing"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        t.slack.requests("sec").is_empty(),
        "a rejected batch alerts nobody"
    );
    t.app.shutdown().await;
}
both_dbs!(each_invalid_field_is_named_and_nothing_is_stored);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_requests_get_413_and_store_nothing() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let many: Vec<Value> = (0..10_001)
        .map(|i| json!({"domain": "example.com", "title": format!("t{i}"), "severity": "low"}))
        .collect();
    let (status, body) = t.post("/api/v1/findings", json!({"findings": many})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let huge = json!({"domain": "example.com", "title": "t", "severity": "low", "description": "x".repeat(11 * 1024 * 1024)});
    let (status, _) = t.post("/api/v1/findings", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, body) = t
        .request(
            reqwest::Method::POST,
            "/api/v1/findings",
            crate::support::ADMIN_TOKEN,
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "empty body: {body}"
    );
    // Nine MiB of `{"a":0},` would take about 800 MiB parsed: refused once its values cost 64 MiB.
    let bomb: Vec<Value> = (0..1_000_000).map(|_| json!({"a": 0})).collect();
    let (status, body) = t.post("/api/v1/findings", json!({"findings": bomb})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("too many JSON values")),
        "{body}"
    );
    let (_, list) = t.get("/api/v1/findings").await;
    assert_eq!(list["findings"].as_array().map(Vec::len), Some(0));
    t.app.shutdown().await;
}

async fn severity_is_derived_and_categories_are_mapped(db: Db) {
    let t = TestApp::spawn(db).await;
    let (status, body) = t
        .post(
            "/api/v1/findings",
            json!({"findings": [
                {"domain": "A.example.com", "title": "vector", "cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "category": "Remote Code Execution"},
                {"domain": "b.example.com", "title": "score", "cvss": 5.0, "category": "xss"}
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (_, a) = t
        .get(&format!(
            "/api/v1/findings/{}",
            body["ids"][0].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(
        (
            a["severity"].clone(),
            a["cvss"].clone(),
            a["category"].clone(),
            a["domain"].clone()
        ),
        (
            json!("critical"),
            json!(9.8),
            json!("remote_code_execution"),
            json!("a.example.com")
        )
    );
    let (_, b) = t
        .get(&format!(
            "/api/v1/findings/{}",
            body["ids"][1].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(
        (b["severity"].clone(), b["category"].clone()),
        (json!("medium"), json!("xss"))
    );
    let (_, filtered) = t.get("/api/v1/findings?severity=critical").await;
    assert_eq!(filtered["findings"].as_array().map(Vec::len), Some(1));
    let (_, filtered) = t
        .get("/api/v1/findings?domain=b.example.com&category=XSS")
        .await;
    assert_eq!(filtered["findings"][0]["title"], "score");
    let (status, e) = t.get("/api/v1/findings?severity=huge").await;
    assert_eq!(
        (status, e["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("severity"))
    );
    t.app.shutdown().await;
}
both_dbs!(severity_is_derived_and_categories_are_mapped);

async fn duplicates_do_not_alert_and_resolved_findings_reopen(db: Db) {
    let t = TestApp::spawn(db).await;
    t.channel("sec", json!({})).await;
    let (_, first) = t.post("/api/v1/findings", seed_finding()).await;
    let id = first["ids"][0].as_str().expect("id").to_string();
    t.slack.wait_accepted("sec", 1, WAIT).await;

    let (_, again) = t
        .post(
            "/api/v1/findings",
            json!({"findings": [seed_finding(), seed_finding()]}),
        )
        .await;
    assert_eq!(
        (again["new"].clone(), again["duplicates"].clone()),
        (json!(0), json!(2)),
        "{again}"
    );
    assert_eq!(again["ids"], json!([id, id]));

    let (status, _) = t
        .post(&format!("/api/v1/findings/{id}/resolve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, reopened) = t.post("/api/v1/findings", seed_finding()).await;
    assert_eq!(reopened["new"], 1);
    let got = t.slack.wait_accepted("sec", 2, WAIT).await;
    assert_eq!(
        got.len(),
        2,
        "duplicates sent nothing; the reopened finding alerted"
    );
    assert!(
        got[1].body["text"]
            .as_str()
            .unwrap_or_default()
            .contains("(Reopened)"),
        "{}",
        got[1].body
    );

    let (_, fp) = t
        .post(&format!("/api/v1/findings/{id}/false-positive"), json!({}))
        .await;
    assert_eq!(fp["status"], "false_positive");
    let (_, suppressed) = t.post("/api/v1/findings", seed_finding()).await;
    assert_eq!(suppressed["suppressed"], 1);

    let mut other = seed_finding();
    other["title"] = json!("Reflected XSS");
    let (_, o) = t.post("/api/v1/findings", other.clone()).await;
    let oid = o["ids"][0].as_str().expect("id").to_string();
    let (_, snoozed) = t
        .post(
            &format!("/api/v1/findings/{oid}/snooze"),
            json!({"hours": 24}),
        )
        .await;
    assert_eq!(snoozed["status"], "snoozed");
    assert!(snoozed["snoozed_until"].is_string());
    let (_, s) = t.post("/api/v1/findings", other).await;
    assert_eq!(s["suppressed"], 1);
    let (_, reopen) = t
        .post(&format!("/api/v1/findings/{oid}/reopen"), json!({}))
        .await;
    assert_eq!(reopen["status"], "open");

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let texts: Vec<String> = t
        .slack
        .accepted("sec")
        .iter()
        .map(|r| r.body["text"].to_string())
        .collect();
    assert_eq!(texts.len(), 3, "seed, reopened seed, XSS: {texts:?}");

    let (_, audit) = t.get("/api/v1/audit").await;
    let actions: Vec<&str> = audit["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "finding.resolved",
        "finding.false_positive",
        "finding.snoozed",
        "finding.open",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    t.app.shutdown().await;
}
both_dbs!(duplicates_do_not_alert_and_resolved_findings_reopen);

async fn lists_are_newest_first_with_a_cursor(db: Db) {
    let t = TestApp::spawn(db).await;
    let batch: Vec<Value> = (0..5).map(|i| json!({"domain": "example.com", "title": format!("finding {i}"), "severity": "low"})).collect();
    for f in batch {
        t.post("/api/v1/findings", f).await;
    }
    let (_, page1) = t.get("/api/v1/findings?limit=3").await;
    let titles: Vec<&str> = page1["findings"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|f| f["title"].as_str())
        .collect();
    assert_eq!(titles, ["finding 4", "finding 3", "finding 2"]);
    let cursor = page1["next_cursor"].as_str().expect("cursor");
    let (_, page2) = t
        .get(&format!("/api/v1/findings?limit=3&cursor={cursor}"))
        .await;
    let titles: Vec<&str> = page2["findings"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|f| f["title"].as_str())
        .collect();
    assert_eq!(titles, ["finding 1", "finding 0"]);
    assert!(page2["next_cursor"].is_null());
    t.app.shutdown().await;
}
both_dbs!(lists_are_newest_first_with_a_cursor);

async fn organizations_and_scopes_confine_every_query(db: Db) {
    let t = TestApp::spawn(db).await;
    let (_, a) = t.post("/api/v1/findings", seed_finding()).await;
    let id = a["ids"][0].as_str().expect("id").to_string();
    let other = t.other_org("acme", "startup", &["admin"]).await;
    let (status, _) = t
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/findings/{id}"),
            &other,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = t
        .request(reqwest::Method::GET, "/api/v1/findings", &other, None)
        .await;
    assert_eq!(list["findings"], json!([]));
    let (status, _) = t
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/findings/{id}/false-positive"),
            &other,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let ingest_only = t.token_with(&["ingest"]).await;
    let (status, _) = t
        .request(reqwest::Method::GET, "/api/v1/findings", &ingest_only, None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t
        .request(
            reqwest::Method::POST,
            "/api/v1/channels",
            &ingest_only,
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let read_only = t.token_with(&["read"]).await;
    let (status, _) = t
        .request(
            reqwest::Method::POST,
            "/api/v1/findings",
            &read_only,
            Some(seed_finding()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t
        .request(
            reqwest::Method::GET,
            "/api/v1/findings",
            "wrong-token",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    t.app.shutdown().await;
}
both_dbs!(organizations_and_scopes_confine_every_query);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_title_is_shown_literally_in_slack() {
    let t = TestApp::spawn(Db::Sqlite).await;
    t.channel("sec", json!({})).await;
    let mut f = seed_finding();
    f["title"] = json!("<!channel> please <https://evil.example/x|click here> & <@U0BOSS>");
    t.post("/api/v1/findings", f).await;
    let got = t.slack.wait_accepted("sec", 1, WAIT).await;
    let raw = got[0].body.to_string();
    // Shown as written: the mention escaped, the URL as inline code that Slack neither links nor unfurls.
    assert!(
        raw.contains("&lt;!channel&gt; please &lt;`https://evil.example/x|click` here&gt;"),
        "{raw}"
    );
    assert!(
        !raw.contains("<!channel>") && !raw.contains("<https://evil") && !raw.contains("<@U0BOSS>"),
        "{raw}"
    );
    t.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_answer() {
    let t = TestApp::spawn(Db::Sqlite).await;
    t.channel("sec", json!({})).await;
    t.post("/api/v1/findings", seed_finding()).await;
    t.slack.wait_accepted("sec", 1, WAIT).await;
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{}/healthz", t.url))
            .send()
            .await
            .expect("healthz")
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        http.get(format!("{}/readyz", t.url))
            .send()
            .await
            .expect("readyz")
            .status(),
        StatusCode::OK
    );
    // Let the dispatcher record the send.
    t.wait_deliveries("sent", 1).await;
    let m = http
        .get(format!("{}/metrics", t.url))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for needle in [
        "fence_findings_ingested_total 1",
        "fence_deliveries{state=\"sent\"} 1",
        "fence_queue_depth 0",
        "fence_delivery_latency_seconds_count 1",
        "fence_messages_sent_total 1",
    ] {
        assert!(m.contains(needle), "{needle} in\n{m}");
    }
    assert!(!m.contains("services/"), "metrics never show webhook URLs");
    t.app.shutdown().await;
}

async fn concurrent_ingests_of_one_new_finding_all_succeed(db: Db) {
    let t = TestApp::spawn(db).await;
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (http, url) = (t.http.clone(), t.url.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(format!("{url}/api/v1/findings"))
                .bearer_auth(crate::support::ADMIN_TOKEN)
                .json(&seed_finding())
                .send()
                .await
                .expect("post");
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        }));
    }
    let mut new = 0;
    for task in tasks {
        let (status, body) = task.await.expect("task");
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        new += body["new"].as_i64().unwrap_or(0);
    }
    assert_eq!(new, 1, "one of them created it; the others saw a duplicate");
    let (_, list) = t.get("/api/v1/findings").await;
    assert_eq!(list["findings"].as_array().map(Vec::len), Some(1));
    t.app.shutdown().await;
}
both_dbs!(concurrent_ingests_of_one_new_finding_all_succeed);
