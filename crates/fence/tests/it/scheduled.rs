//! Digests, certificate expiry alerts and scans, driven with a controlled clock.

use crate::pacing::{Rig, T0};
use reqwest::StatusCode;
use serde_json::{json, Value};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// T0 is Monday 2026-03-02 12:00 UTC; the next 09:00 UTC is T0 + 21 h.
const NEXT_NINE: i64 = T0 + 21 * HOUR;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_digest_is_sent_once_per_day_with_the_seed_content() {
    let r = Rig::new(T0).await;
    r.channel("summary", json!({"alert_types": ["digest"], "digest": {"frequency": "daily", "time": "09:00", "timezone": "UTC"}})).await;
    assert_eq!(
        r.scheduler.tick().await.expect("tick"),
        0,
        "a new digest waits for its next time"
    );
    r.post("/api/v1/findings", json!({"findings": [
        {"domain": "example.com", "title": "SQL Injection", "severity": "critical", "cvss": 9.8},
        {"domain": "api.example.com", "title": "Weak TLS Ciphers", "severity": "high", "cvss": 7.5},
        {"domain": "www.example.com", "title": "Missing HSTS Header", "severity": "medium", "cvss": 6.5}
    ]}))
    .await;
    r.post("/api/v1/certificates", json!({"domain": "example.com", "not_after": "2026-03-17T12:00:00Z", "issuer": "Let's Encrypt", "fingerprint": "aa11"})).await;

    r.clock.set_ms(NEXT_NINE - 1);
    assert_eq!(
        r.scheduler.tick().await.expect("tick"),
        0,
        "not a millisecond early"
    );
    // The digest job looks every 30 s: the digest goes out within 30 s of 09:00.
    r.clock.set_ms(NEXT_NINE + 30_000);
    assert_eq!(r.scheduler.tick().await.expect("tick"), 1);
    r.clock.set_ms(NEXT_NINE + 60_000);
    assert_eq!(r.scheduler.tick().await.expect("tick"), 0, "exactly once");
    r.dispatcher.run_once().await;
    let got = r.slack.accepted("summary");
    let digest = got
        .iter()
        .find(|m| {
            m.body["text"]
                .as_str()
                .unwrap_or_default()
                .starts_with("📊")
        })
        .expect("digest sent");
    assert_eq!(
        digest.body["text"],
        "📊 Fence Security Daily Digest - March 3, 2026"
    );
    let body = digest.body.to_string().replace('\u{200B}', "");
    for needle in [
        "*New Vulnerabilities:*\\n3",
        "1. 🔴 SQL Injection in example.com (CVSS 9.8)",
        "2. 🟠 Weak TLS Ciphers in api.example.com (CVSS 7.5)",
        "⚠️ example.com - Expires in 14 days",
        "View Dashboard",
        "Download Report",
    ] {
        assert!(body.contains(needle), "{needle} in {body}");
    }

    // The Download Report link serves the period's findings as CSV, and only with its signature.
    let url = digest.body["attachments"][0]["blocks"][2]["elements"][1]["url"]
        .as_str()
        .expect("report url")
        .replace("https://fence.test", &r.app.url());
    let csv = r.http.get(&url).send().await.expect("csv");
    assert_eq!(csv.status(), StatusCode::OK);
    let text = csv.text().await.expect("text");
    assert_eq!(text.lines().count(), 4, "header and three findings: {text}");
    let forged = r
        .http
        .get(url.replace("sig=", "sig=0"))
        .send()
        .await
        .expect("forged");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // Fence was down for three days: the missed digest is sent once on start, not three times.
    r.clock.set_ms(NEXT_NINE + 3 * DAY + HOUR);
    assert_eq!(r.scheduler.tick().await.expect("tick"), 1);
    r.clock.set_ms(NEXT_NINE + 3 * DAY + 2 * HOUR);
    assert_eq!(r.scheduler.tick().await.expect("tick"), 0);

    // Attack: keep a leaked link working forever. Its expiry is inside the signature, and it ends 30 days after
    // the digest was built.
    let get = |u: String| {
        let http = r.http.clone();
        async move { http.get(u).send().await.expect("get").status() }
    };
    assert_eq!(get(url.clone()).await, StatusCode::OK, "valid for 30 days");
    assert_eq!(
        get(url.replace("exp=", "exp=9")).await,
        StatusCode::FORBIDDEN,
        "a later expiry breaks the signature"
    );
    let unexpiring = url
        .split('&')
        .filter(|p| !p.starts_with("exp="))
        .collect::<Vec<_>>()
        .join("&");
    assert_eq!(get(unexpiring).await, StatusCode::FORBIDDEN, "no expiry");
    r.clock.set_ms(NEXT_NINE + 30_000 + 30 * DAY + 1);
    assert_eq!(get(url).await, StatusCode::FORBIDDEN, "expired");
    r.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_digest_passes_queue_each_digest_once() {
    let r = Rig::new(T0).await;
    r.channel(
        "summary",
        json!({"digest": {"frequency": "daily", "time": "09:00", "timezone": "UTC"}}),
    )
    .await;
    r.scheduler.tick().await.expect("init");
    r.clock.set_ms(NEXT_NINE + 1000);
    let state = r.app.state.clone();
    let (a, b) = tokio::join!(
        fence_server::services::digests::send_due(&state),
        fence_server::services::digests::send_due(&state)
    );
    assert_eq!(a.expect("a") + b.expect("b"), 1);
    r.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digests_can_be_previewed_and_sent_on_demand() {
    let r = Rig::new(T0).await;
    r.channel("summary", json!({"digest": {"frequency": "weekly", "weekday": "mon", "time": "09:00", "timezone": "Europe/Berlin"}})).await;
    let channels = r.get("/api/v1/channels").await;
    let id = channels["channels"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let (s, preview) = r
        .post(&format!("/api/v1/channels/{id}/digest/preview"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        preview["message"]["text"]
            .as_str()
            .unwrap_or_default()
            .starts_with("📊 Fence Security Weekly Digest - March 2, 2026"),
        "{preview}"
    );
    assert!(preview.to_string().contains("No new vulnerabilities"));
    let (s, _) = r
        .post(&format!("/api/v1/channels/{id}/digest/send"), json!({}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    r.dispatcher.run_once().await;
    assert_eq!(r.slack.accepted("summary").len(), 1);
    r.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_thresholds_alert_once_each_and_reset_on_renewal() {
    let r = Rig::new(T0).await;
    r.channel("certs", json!({"alert_types": ["certificate_expiring"], "mentions": {"certificate_expiring": ["<@U0ALICE>", "<@U0BOB>"]}})).await;
    let observe = |not_after: i64, fp: &str| json!({"domain": "example.com", "not_after": jiff::Timestamp::from_millisecond(not_after).expect("ts").to_string(), "issuer": "Let's Encrypt", "sans": ["example.com", "www.example.com"], "fingerprint": fp});
    let (_, a) = r
        .post("/api/v1/certificates", observe(T0 + 40 * DAY, "aa"))
        .await;
    assert_eq!(
        (a["days_left"].clone(), a["alerted"].clone()),
        (json!(40), json!(false))
    );
    r.clock.set_ms(T0 + 11 * DAY);
    let (_, b) = r
        .post("/api/v1/certificates", observe(T0 + 40 * DAY, "aa"))
        .await;
    assert_eq!(
        (b["days_left"].clone(), b["alerted"].clone()),
        (json!(29), json!(true))
    );
    r.dispatcher.run_once().await;
    let (_, again) = r
        .post("/api/v1/certificates", observe(T0 + 40 * DAY, "aa"))
        .await;
    assert_eq!(again["alerted"], false, "each threshold once");
    r.clock.set_ms(T0 + 34 * DAY);
    let (_, c) = r
        .post("/api/v1/certificates", observe(T0 + 40 * DAY, "aa"))
        .await;
    assert_eq!(
        (c["days_left"].clone(), c["alerted"].clone()),
        (json!(6), json!(true)),
        "14 and 7 crossed together: one alert"
    );
    r.dispatcher.run_once().await;
    let got = r.slack.accepted("certs");
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].body["text"],
        "⚠️ SSL Certificate Expiring Soon <@U0ALICE> <@U0BOB>"
    );
    assert_eq!(got[0].body["attachments"][0]["color"], "#FFA500");
    assert!(
        got[0].body.to_string().contains("April 11, 2026 (29 days)"),
        "{}",
        got[0].body
    );
    assert_eq!(
        got[1].body["attachments"][0]["color"], "#FF0000",
        "red below 7 days"
    );
    // Renewed: a new fingerprint starts over.
    let (_, d) = r
        .post("/api/v1/certificates", observe(T0 + 130 * DAY, "bb"))
        .await;
    assert_eq!(d["alerted"], false);
    r.clock.set_ms(T0 + 101 * DAY);
    let (_, e) = r
        .post("/api/v1/certificates", observe(T0 + 130 * DAY, "bb"))
        .await;
    assert_eq!(e["alerted"], true);
    let (s, err) = r
        .post(
            "/api/v1/certificates",
            json!({"domain": "example.com", "fingerprint": "x"}),
        )
        .await;
    assert_eq!(
        (s, err["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("not_after"))
    );
    r.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_scan_posts_results_and_its_summary_reaches_slack() {
    let r = Rig::new(T0).await;
    r.channel("reports", json!({"alert_types": ["scan_completed"]}))
        .await;
    let (s, scan) = r
        .post(
            "/api/v1/scans",
            json!({"domain": "example.com", "type": "full", "external": true}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{scan}");
    let id = scan["id"].as_str().expect("id").to_string();
    assert_eq!(scan["status"], "running");
    let findings: Vec<Value> = [("high", 2), ("medium", 7), ("low", 4), ("info", 1)]
        .iter()
        .flat_map(|(sev, n)| {
            (0..*n).map(move |i| json!({"title": format!("{sev} {i}"), "severity": sev}))
        })
        .collect();
    let (s, done) = r
        .post(
            &format!("/api/v1/scans/{id}/results"),
            json!({"findings": findings, "status": "completed", "duration_seconds": 272}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(
        done["counts"],
        json!({"critical": 0, "high": 2, "medium": 7, "low": 4, "info": 1})
    );
    assert_eq!(done["status"], "completed");
    let (s, _) = r
        .post(
            &format!("/api/v1/scans/{id}/results"),
            json!({"status": "completed"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "results are posted once");
    r.dispatcher.run_once().await;
    let got = r.slack.accepted("reports");
    assert_eq!(
        got.len(),
        1,
        "only the scan summary goes to #security-reports"
    );
    let body = got[0].body.to_string();
    assert_eq!(got[0].body["text"], "✅ Security Scan Completed");
    for needle in [
        "Full Scan",
        "4m 32s",
        "🔴 Critical: 0",
        "🟠 High: 2",
        "🟡 Medium: 7",
        "🔵 Low: 4",
        "⚪ Info: 1",
    ] {
        assert!(body.contains(needle), "{needle} in {body}");
    }
    assert_eq!(got[0].body["attachments"][0]["color"], "#FFD700");
    let list = r.get("/api/v1/findings?domain=example.com&limit=100").await;
    assert_eq!(list["findings"].as_array().map(Vec::len), Some(14));
    assert_eq!(list["findings"][0]["scan_id"], id.as_str());
    r.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_scans_report_their_position() {
    let r = Rig::new(T0).await;
    let mut ids = Vec::new();
    for d in ["a.example.com", "b.example.com", "c.example.com"] {
        let (s, v) = r
            .post("/api/v1/scans", json!({"domain": d, "type": "headers"}))
            .await;
        assert_eq!(s, StatusCode::ACCEPTED);
        ids.push((
            v["id"].as_str().unwrap_or_default().to_string(),
            v["position"].clone(),
        ));
    }
    assert_eq!(
        ids.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>(),
        [json!(1), json!(2), json!(3)]
    );
    let (s, e) = r
        .post(
            "/api/v1/scans",
            json!({"domain": "a.example.com", "type": "deep"}),
        )
        .await;
    assert_eq!(
        (s, e["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("type"))
    );
    let list = r.get("/api/v1/scans").await;
    assert_eq!(list["scans"].as_array().map(Vec::len), Some(3));
    r.app.shutdown().await;
}

/// A built-in scan through the API against local servers: the workers run the checks, store the findings and the
/// certificate, and the summary (and the certificate's expiry alert) reach Slack.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_scan_runs_the_built_in_checks() {
    use crate::support::{Db, TestApp};
    use fence_testkit::tls::{ca, http_server, leaf, tls_server};
    let t = TestApp::spawn_with(Db::Sqlite, "[scan]\nallow_private_targets = true").await;
    let authority = ca();
    let (cert, key) = leaf(Some(&authority), &["localhost"], -80, 6);
    let https = tls_server(cert, key, "X-Content-Type-Options: nosniff\r\n").await;
    let http =
        http_server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
    t.channel(
        "reports",
        json!({"alert_types": ["scan_completed", "certificate_expiring"]}),
    )
    .await;
    let (s, d) = t.post("/api/v1/domains", json!({"name": "localhost", "port": https, "http_port": http, "monitor_certificates": true})).await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let (s, scan) = t
        .post(
            "/api/v1/scans",
            json!({"domain": "localhost", "type": "full"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{scan}");
    assert_eq!(scan["position"], 1);
    let id = scan["id"].as_str().expect("id").to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let done = loop {
        let (_, v) = t.get(&format!("/api/v1/scans/{id}")).await;
        if v["status"] == "completed" || v["status"] == "failed" {
            break v;
        }
        assert!(std::time::Instant::now() < deadline, "scan finished: {v}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(done["status"], "completed", "{done}");
    // Untrusted test CA, and missing HSTS, CSP, X-Frame-Options, Referrer-Policy and the HTTP redirect.
    assert_eq!(done["counts"]["medium"], 5, "{done}");
    assert_eq!(done["counts"]["low"], 1, "{done}");
    let got = t
        .slack
        .wait_until("reports", std::time::Duration::from_secs(10), |m| {
            m.iter().any(|r| {
                r.body["text"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("✅")
            }) && m.iter().any(|r| {
                r.body["text"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("⚠️")
            })
        })
        .await;
    let texts: Vec<String> = got
        .iter()
        .map(|m| m.body["text"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        texts.iter().any(|t| t == "✅ Security Scan Completed"),
        "{texts:?}"
    );
    let cert = got
        .iter()
        .find(|m| m.body["text"] == "⚠️ SSL Certificate Expiring Soon")
        .expect("certificate alert");
    assert_eq!(cert.body["attachments"][0]["color"], "#FF0000");
    assert!(cert.body.to_string().contains("Fence Test CA"));
    let (_, findings) = t.get("/api/v1/findings?domain=localhost&limit=50").await;
    let titles: Vec<&str> = findings["findings"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|f| f["title"].as_str())
        .collect();
    assert!(
        titles.contains(&"TLS certificate is not trusted")
            && titles.contains(&"Missing HSTS Header"),
        "{titles:?}"
    );
    t.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_of_private_hosts_fail_unless_allowed() {
    use crate::support::{Db, TestApp};
    let t = TestApp::spawn(Db::Sqlite).await;
    let (_, scan) = t
        .post(
            "/api/v1/scans",
            json!({"domain": "localhost", "type": "tls"}),
        )
        .await;
    let id = scan["id"].as_str().expect("id").to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, v) = t.get(&format!("/api/v1/scans/{id}")).await;
        if v["status"] == "failed" {
            assert!(
                v["error"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("scan.allow_private_targets"),
                "{v}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "failed: {v}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    t.app.shutdown().await;
}

const NUCLEI: &str = include_str!("../../../fence-scan/tests/fixtures/nuclei.jsonl");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scanner_file_is_imported_as_a_completed_scan() {
    use crate::support::{Db, TestApp, ADMIN_TOKEN};
    let t = TestApp::spawn(Db::Sqlite).await;
    t.channel("reports", json!({"alert_types": ["scan_completed"]}))
        .await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!(
            "{}/api/v1/import?format=nuclei&domain=example.com",
            t.url
        ))
        .bearer_auth(ADMIN_TOKEN)
        .body(NUCLEI)
        .send()
        .await
        .expect("import");
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["imported"], 3, "{v}");
    assert_eq!(v["status"], "completed");
    assert_eq!(v["type"], "nuclei");
    let got = t
        .slack
        .wait_accepted("reports", 1, std::time::Duration::from_secs(10))
        .await;
    assert_eq!(got[0].body["text"], "✅ Security Scan Completed");

    // A broken line stores nothing and says where it broke.
    let broken = NUCLEI.lines().take(2).collect::<Vec<_>>().join("\n") + "\n{\"template-id\": \n";
    let r = http
        .post(format!(
            "{}/api/v1/import?format=nuclei&domain=other.example.com",
            t.url
        ))
        .bearer_auth(ADMIN_TOKEN)
        .body(broken)
        .send()
        .await
        .expect("import");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.expect("json");
    assert!(
        e["error"]["field"]
            .as_str()
            .unwrap_or_default()
            .starts_with("line 3"),
        "{e}"
    );
    let (_, list) = t.get("/api/v1/findings?domain=other.example.com").await;
    assert_eq!(list["findings"], json!([]));
    let r = http
        .post(format!(
            "{}/api/v1/import?format=pdf&domain=example.com",
            t.url
        ))
        .bearer_auth(ADMIN_TOKEN)
        .body("x")
        .send()
        .await
        .expect("import");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    t.app.shutdown().await;
}

/// Several passes at once (as several processes on one PostgreSQL database would run them) queue a due digest once.
async fn a_due_digest_is_queued_once_whatever_runs_at_the_same_time(db: crate::support::Db) {
    use crate::support::TestApp;
    let t = TestApp::spawn(db).await;
    let id = t
        .channel(
            "summary",
            json!({"digest": {"frequency": "daily", "time": "00:00", "timezone": "UTC"}}),
        )
        .await;
    let store = &t.app.state.store;
    store.init_digest_mark(&id, 0).await.expect("mark");
    sqlx::query("UPDATE digest_marks SET last_fire_at = 0 WHERE channel_id = $1")
        .bind(&id)
        .execute(store.pool())
        .await
        .expect("reset mark");
    let state = t.app.state.clone();
    let (a, b, c) = tokio::join!(
        fence_server::services::digests::send_due(&state),
        fence_server::services::digests::send_due(&state),
        fence_server::services::digests::send_due(&state)
    );
    assert!(a.expect("a") + b.expect("b") + c.expect("c") <= 1);
    let got = t
        .slack
        .wait_accepted("summary", 1, std::time::Duration::from_secs(10))
        .await;
    assert_eq!(got.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(t.slack.accepted("summary").len(), 1, "exactly once");
    t.app.shutdown().await;
}
crate::both_dbs!(a_due_digest_is_queued_once_whatever_runs_at_the_same_time);
