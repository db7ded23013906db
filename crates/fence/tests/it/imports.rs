//! Imports end to end: the answer counts what became of every result of the file, and a completed import closes
//! the findings of the same domain, tool and scan type that it no longer reports (unless it opts out), with an
//! audit entry naming the scan; Dependabot alerts fixed or dismissed upstream resolve or suppress their finding.

use crate::both_dbs;
use crate::support::{Db, TestApp, ADMIN_TOKEN};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn nuclei_line(path: &str) -> String {
    format!(
        r#"{{"template-id":"exposed-{path}","info":{{"name":"Exposed /{path}","severity":"medium"}},"matched-at":"https://example.com/{path}"}}"#
    )
}

/// A nuclei file with one result per path.
fn lines(paths: &[&str]) -> String {
    paths
        .iter()
        .map(|p| nuclei_line(p))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn import(t: &TestApp, query: &str, body: String) -> Value {
    let r = t
        .http
        .post(format!("{}/api/v1/import?{query}", t.url))
        .bearer_auth(ADMIN_TOKEN)
        .body(body)
        .send()
        .await
        .expect("import");
    let status = r.status();
    let v: Value = r.json().await.expect("json");
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    v
}

/// Each finding of the domain: its title and status.
async fn statuses(t: &TestApp, domain: &str) -> Vec<(String, String)> {
    let (_, v) = t.get(&format!("/api/v1/findings?domain={domain}")).await;
    let mut out: Vec<(String, String)> = v["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["title"].as_str().unwrap_or("").to_string(),
                f["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn pair(title: &str, status: &str) -> (String, String) {
    (title.to_string(), status.to_string())
}

async fn an_import_counts_results_and_closes_what_it_no_longer_sees(db: Db) {
    let t = TestApp::spawn(db).await;
    let q = "format=nuclei&domain=example.com";

    // Four lines, one a repeat: three findings, one merged.
    let v = import(&t, q, lines(&["a", "b", "c", "a"])).await;
    assert_eq!(v["imported"], 3, "{v}");
    let r = &v["results"];
    assert_eq!(
        (
            &r["results"],
            &r["new"],
            &r["duplicate"],
            &r["merged"],
            &r["closed"]
        ),
        (&json!(4), &json!(3), &json!(0), &json!(1), &json!(0)),
        "{v}"
    );
    assert_eq!(
        r["merged_why"],
        json!(["line 4 repeats line 1: the same rule, location, line and message"])
    );

    // The same file again: only duplicates (the repeat is still merged).
    let v = import(&t, q, lines(&["a", "b", "c", "a"])).await;
    assert_eq!(
        (&v["results"]["new"], &v["results"]["duplicate"]),
        (&json!(0), &json!(3)),
        "{v}"
    );

    // A partial scan that opted out closes nothing.
    let v = import(&t, &format!("{q}&close_missing=false"), lines(&["a"])).await;
    assert_eq!(v["results"]["closed"], 0, "{v}");
    assert!(statuses(&t, "example.com")
        .await
        .iter()
        .all(|(_, s)| s == "open"));

    // Another domain's scan closes nothing here.
    import(&t, "format=nuclei&domain=other.example.com", lines(&["z"])).await;
    assert!(statuses(&t, "example.com")
        .await
        .iter()
        .all(|(_, s)| s == "open"));

    // c is no longer reported: resolved, with an audit entry naming the scan.
    let v = import(&t, q, lines(&["a", "b"])).await;
    assert_eq!(v["results"]["closed"], 1, "{v}");
    let scan_id = v["id"].as_str().expect("scan id").to_string();
    assert_eq!(
        statuses(&t, "example.com").await,
        [
            pair("Exposed /a", "open"),
            pair("Exposed /b", "open"),
            pair("Exposed /c", "resolved")
        ]
    );
    let row = sqlx::query(
        "SELECT actor, action, detail FROM audit_log WHERE action = 'finding.resolved'",
    )
    .fetch_one(t.app.state.store.pool())
    .await
    .expect("audit entry");
    use sqlx::Row;
    let detail: String = row.try_get("detail").expect("detail");
    assert_eq!(detail, format!("no longer detected by scan {scan_id}"));

    // The scan keeps its counts.
    let (_, scan) = t.get(&format!("/api/v1/scans/{scan_id}")).await;
    assert_eq!(scan["results"]["closed"], 1, "{scan}");

    // Seen again later: reopened, counted as new, and not closed by the scan that reopened it.
    let v = import(&t, q, lines(&["a", "b", "c"])).await;
    assert_eq!(
        (&v["results"]["new"], &v["results"]["closed"]),
        (&json!(1), &json!(0)),
        "{v}"
    );
    assert!(statuses(&t, "example.com")
        .await
        .iter()
        .all(|(_, s)| s == "open"));
    t.app.shutdown().await;
}
both_dbs!(an_import_counts_results_and_closes_what_it_no_longer_sees);

fn alert(number: u64, state: &str, package: &str) -> Value {
    json!({
        "number": number, "state": state,
        "dependency": {"package": {"ecosystem": "npm", "name": package}, "manifest_path": "package-lock.json"},
        "security_advisory": {"ghsa_id": format!("GHSA-{number}"), "summary": format!("Bug in {package}"), "severity": "high"},
        "security_vulnerability": {"package": {"ecosystem": "npm", "name": package}, "severity": "high"},
        "html_url": format!("https://github.com/o/r/security/dependabot/{number}")
    })
}

async fn dependabot_alerts_closed_upstream_close_their_findings(db: Db) {
    let t = TestApp::spawn(db).await;
    let q = "format=dependabot&domain=example.com";
    let both = json!([alert(1, "open", "lodash"), alert(2, "open", "minimist")]).to_string();
    let v = import(&t, q, both).await;
    assert_eq!(v["results"]["new"], 2, "{v}");

    // Upstream, 1 was fixed and 2 dismissed; a partial listing (opted out of closing) still applies them.
    let closed = json!([
        alert(1, "fixed", "lodash"),
        alert(2, "dismissed", "minimist")
    ])
    .to_string();
    let v = import(&t, &format!("{q}&close_missing=false"), closed).await;
    let r = &v["results"];
    assert_eq!(
        (
            &r["results"],
            &r["new"],
            &r["suppressed"],
            &r["not_results"],
            &r["closed"]
        ),
        (&json!(2), &json!(0), &json!(1), &json!(1), &json!(2)),
        "{v}"
    );
    let got = statuses(&t, "example.com").await;
    assert_eq!(
        got,
        [
            pair("GHSA-1 in lodash (npm)", "resolved"),
            pair("GHSA-2 in minimist (npm)", "false_positive")
        ]
    );
    t.app.shutdown().await;
}
both_dbs!(dependabot_alerts_closed_upstream_close_their_findings);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_close_missing_value_is_refused_and_stores_nothing() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let r = t
        .http
        .post(format!(
            "{}/api/v1/import?format=nuclei&domain=example.com&close_missing=maybe",
            t.url
        ))
        .bearer_auth(ADMIN_TOKEN)
        .body(nuclei_line("a"))
        .send()
        .await
        .expect("import");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.expect("json");
    assert_eq!(e["error"]["field"], "close_missing", "{e}");
    assert!(statuses(&t, "example.com").await.is_empty());
    t.app.shutdown().await;
}

/// Opens an external scan of example.com and posts `titles` as its results (from the scanner "baseline").
async fn external(t: &TestApp, titles: &[&str], extra: Value) -> Value {
    let id = t.external_scan().await;
    let id = id.as_str();
    let findings: Vec<Value> = titles
        .iter()
        .map(|t| json!({"title": t, "severity": "low", "scanner": "baseline"}))
        .collect();
    let mut body = json!({"findings": findings, "status": "completed"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (s, v) = t.post(&format!("/api/v1/scans/{id}/results"), body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn an_external_scan_closes_what_its_scanner_no_longer_reports(db: Db) {
    let t = TestApp::spawn(db).await;
    external(&t, &["Missing HSTS", "Missing CSP"], json!({})).await;
    let v = external(&t, &["Missing HSTS"], json!({"close_missing": false})).await;
    assert_eq!(v["results"]["closed"], 0, "{v}");
    let v = external(&t, &["Missing HSTS"], json!({})).await;
    assert_eq!(
        (
            &v["results"]["results"],
            &v["results"]["duplicate"],
            &v["results"]["closed"]
        ),
        (&json!(1), &json!(1), &json!(1)),
        "{v}"
    );
    assert_eq!(
        statuses(&t, "example.com").await,
        [
            pair("Missing CSP", "resolved"),
            pair("Missing HSTS", "open")
        ]
    );
    t.app.shutdown().await;
}
both_dbs!(an_external_scan_closes_what_its_scanner_no_longer_reports);

async fn a_finding_no_longer_detected_is_announced_in_its_thread(db: Db) {
    use std::time::Duration;
    const WAIT: Duration = Duration::from_secs(10);
    let t = TestApp::spawn(db).await;
    t.slack.add_channel("C0SEC", "security-alerts");
    let bot = json!({"bot_token": fence_testkit::BOT_TOKEN, "channel_id": "C0SEC"});
    t.channel("unused", bot).await;
    let q = "format=nuclei&domain=example.com";
    import(&t, q, nuclei_line("a")).await;
    let posts = t.slack.wait_api("chat.postMessage", 1, WAIT).await;
    let ts = posts[0].ts.clone().expect("ts");

    let v = import(&t, q, nuclei_line("b")).await;
    assert_eq!(v["results"]["closed"], 1, "{v}");
    let posts = t
        .slack
        .wait_until_api("chat.postMessage", WAIT, |p| {
            p.iter().any(|c| c.body["thread_ts"] == ts.as_str())
        })
        .await;
    let reply = posts
        .iter()
        .find(|c| c.body["thread_ts"] == ts.as_str())
        .expect("thread reply");
    assert_eq!(reply.body["text"], "✅ No longer detected");
    let updates = t.slack.wait_api("chat.update", 1, WAIT).await;
    assert_eq!(updates[0].body["ts"], ts.as_str());
    t.app.shutdown().await;
}
both_dbs!(a_finding_no_longer_detected_is_announced_in_its_thread);

/// The scan-completed summary in Slack says what the import changed: new, still open and closed findings.
async fn the_scan_summary_in_slack_counts_new_still_open_and_closed(db: Db) {
    let t = TestApp::spawn(db).await;
    t.channel("reports", json!({"alert_types": ["scan_completed"]}))
        .await;
    let q = "format=nuclei&domain=example.com";
    import(&t, q, lines(&["a", "b", "c"])).await;
    t.slack
        .wait_accepted("reports", 1, std::time::Duration::from_secs(10))
        .await;
    // b is still there, a and c are gone, d is new.
    import(&t, q, lines(&["b", "d"])).await;
    let got = t
        .slack
        .wait_accepted("reports", 2, std::time::Duration::from_secs(10))
        .await;
    assert_eq!(got.len(), 2);
    assert!(
        got[0]
            .all_text()
            .contains("🆕 3 new · 0 still open · ✅ 0 closed"),
        "{}",
        got[0].all_text()
    );
    assert!(
        got[1]
            .all_text()
            .contains("🆕 1 new · 1 still open · ✅ 2 closed"),
        "{}",
        got[1].all_text()
    );
    t.app.shutdown().await;
}
both_dbs!(the_scan_summary_in_slack_counts_new_still_open_and_closed);

/// Runs a built-in scan of localhost and waits for it to end.
async fn builtin_scan(t: &TestApp, scan_type: &str) -> Value {
    let (s, scan) = t
        .post(
            "/api/v1/scans",
            json!({"domain": "localhost", "type": scan_type}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{scan}");
    let id = scan["id"].as_str().expect("id").to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, v) = t.get(&format!("/api/v1/scans/{id}")).await;
        if v["status"] == "completed" || v["status"] == "failed" {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "scan finished: {v}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A header fixed on the server: the next built-in scan resolves its finding as no longer detected, with an audit
/// entry naming the scan; a scan whose check could not run closes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_built_in_scan_closes_the_header_finding_the_server_fixed() {
    use fence_testkit::tls::{ca, leaf, tls_server};
    let t = TestApp::spawn_with(Db::Sqlite, "[scan]\nallow_private_targets = true").await;
    let authority = ca();
    let (cert, key) = leaf(Some(&authority), &["localhost"], -80, 60);
    let before = tls_server(
        cert.clone(),
        key.clone_key(),
        "X-Content-Type-Options: nosniff\r\n",
    )
    .await;
    let after = tls_server(
        cert,
        key,
        "X-Content-Type-Options: nosniff\r\nStrict-Transport-Security: max-age=63072000\r\n",
    )
    .await;
    let (s, d) = t
        .post(
            "/api/v1/domains",
            json!({"name": "localhost", "port": before}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let first = builtin_scan(&t, "headers").await;
    assert_eq!(first["status"], "completed", "{first}");
    let open = statuses(&t, "localhost").await;
    assert!(
        open.contains(&pair("Missing HSTS Header", "open")),
        "{open:?}"
    );

    // The server now sends HSTS.
    let (s, d) = t
        .patch("/api/v1/domains/localhost", json!({"port": after}))
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let second = builtin_scan(&t, "headers").await;
    assert_eq!(second["status"], "completed", "{second}");
    assert_eq!(second["results"]["closed"], 1, "{second}");
    let now = statuses(&t, "localhost").await;
    assert!(
        now.contains(&pair("Missing HSTS Header", "resolved")),
        "{now:?}"
    );
    let still_open = now.iter().filter(|(_, s)| s == "open").count();
    assert_eq!(still_open, open.len() - 1, "{now:?}");
    let scan_id = second["id"].as_str().expect("scan id");
    let row = sqlx::query("SELECT detail FROM audit_log WHERE action = 'finding.resolved'")
        .fetch_one(t.app.state.store.pool())
        .await
        .expect("audit entry");
    use sqlx::Row;
    let detail: String = row.try_get("detail").expect("detail");
    assert_eq!(detail, format!("no longer detected by scan {scan_id}"));

    // Nothing listens: the check cannot run, and the open findings stay open.
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    t.patch("/api/v1/domains/localhost", json!({"port": closed_port}))
        .await;
    let third = builtin_scan(&t, "headers").await;
    assert_eq!(third["status"], "failed", "{third}");
    assert_eq!(statuses(&t, "localhost").await, now);
    t.app.shutdown().await;
}

/// A SARIF log with `n` distinct results.
fn sarif_log(n: usize) -> String {
    let results: Vec<Value> = (0..n)
        .map(|i| {
            json!({"ruleId": "py/sql-injection", "level": "error", "message": {"text": "Query built from user input"},
                   "locations": [{"physicalLocation": {"artifactLocation": {"uri": format!("app/view{i}.py")},
                   "region": {"startLine": 12}}}]})
        })
        .collect();
    json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "CodeQL"}}, "results": results}]})
        .to_string()
}

async fn a_sarif_file_of_many_chunks_is_stored_whole(db: Db) {
    let t = TestApp::spawn(db).await;
    let q = "format=sarif&domain=example.com";
    let n = 3 * fence_scan::import::CHUNK + 7;
    let v = import(&t, q, sarif_log(n)).await;
    assert_eq!(v["imported"], n, "{v}");
    assert_eq!(
        (
            &v["results"]["results"],
            &v["results"]["new"],
            &v["counts"]["high"]
        ),
        (&json!(n), &json!(n), &json!(n)),
        "{v}"
    );
    let v = import(&t, q, sarif_log(n - 1)).await;
    assert_eq!(
        (&v["results"]["duplicate"], &v["results"]["closed"]),
        (&json!(n - 1), &json!(1)),
        "{v}"
    );
    t.app.shutdown().await;
}
both_dbs!(a_sarif_file_of_many_chunks_is_stored_whole);

/// Posts `body` to the import endpoint, streamed without a length when `chunked`.
async fn post_import(t: &TestApp, body: String, chunked: bool) -> (StatusCode, Value) {
    let req = t
        .http
        .post(format!(
            "{}/api/v1/import?format=sarif&domain=example.com",
            t.url
        ))
        .bearer_auth(ADMIN_TOKEN);
    let req = if chunked {
        let parts: Vec<Result<Vec<u8>, std::io::Error>> = body
            .into_bytes()
            .chunks(700)
            .map(|c| Ok(c.to_vec()))
            .collect();
        req.body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            parts,
        )))
    } else {
        req.body(body)
    };
    let r = req.send().await.expect("import");
    let status = r.status();
    (status, r.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_over_import_max_bytes_is_refused_with_413_naming_it_and_stores_nothing() {
    let t = TestApp::spawn_with(Db::Sqlite, "[import]\nmax_bytes = 4096").await;
    let small = sarif_log(2);
    assert!(small.len() < 4096);
    let (s, v) = post_import(&t, small, false).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");

    let big = sarif_log(40);
    assert!(big.len() > 4096);
    for chunked in [false, true] {
        let (s, e) = post_import(&t, big.clone(), chunked).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "chunked {chunked}: {e}");
        assert_eq!(e["error"]["code"], "too_large", "{e}");
        let message = e["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("import.max_bytes"), "{message}");
    }
    // Only the first, small import was stored.
    let (_, scans) = t.get("/api/v1/scans").await;
    assert_eq!(scans["scans"].as_array().map(Vec::len), Some(1), "{scans}");
    assert_eq!(statuses(&t, "example.com").await.len(), 2);
    t.app.shutdown().await;
}
