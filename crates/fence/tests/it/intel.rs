//! Exploitability feeds end to end, from small files in the published formats: KEV and EPSS loads answer what they
//! matched, open findings newly listed as exploited are announced once ("🔥 Now Known Exploited"), findings show
//! `known_exploited` and `epss`, lists filter and sort by them, channels filter and mention on them, and a malformed
//! feed is refused naming where it broke while the stored one stays.

use crate::support::{Db, TestApp, ADMIN_TOKEN};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

const EPSS: &str = "#model_version:v2023.03.01,score_date:2024-05-01T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,0.97565,0.99996\nCVE-2024-3400,0.04,0.61\n";

fn kev(cves: &[(&str, &str, &str)]) -> String {
    let list: Vec<Value> = cves
        .iter()
        .map(|(cve, added, due)| {
            json!({"cveID": cve, "vendorProject": "Vendor", "product": "Product", "vulnerabilityName": "Name",
                   "dateAdded": added, "shortDescription": "…", "requiredAction": "Patch", "dueDate": due,
                   "knownRansomwareCampaignUse": "Known", "notes": "", "cwes": []})
        })
        .collect();
    json!({"catalogVersion": "2024.05.01", "dateReleased": "2024-05-01T00:00:00.000Z", "count": list.len(), "vulnerabilities": list})
        .to_string()
}

async fn upload(t: &TestApp, feed: &str, body: String, token: &str) -> (StatusCode, Value) {
    let r = t
        .http
        .post(format!("{}/api/v1/intel/{feed}", t.url))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .expect("upload");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn feeds_mark_findings_announce_once_and_sort_first(db: Db) {
    let t = TestApp::spawn(db).await;
    t.channel("all", json!({})).await;
    t.channel(
        "exploited",
        json!({"filters": {"known_exploited": true}, "mentions": {"known_exploited": ["<!here>"]}}),
    )
    .await;
    let (_, out) = t
        .post(
            "/api/v1/findings",
            json!({"findings": [
                {"domain": "shop.example.com", "title": "Log4Shell in the search service", "severity": "critical", "cve": "CVE-2021-44228"},
                {"domain": "shop.example.com", "title": "PAN-OS command injection", "severity": "high", "cve": "CVE-2024-3400"},
                {"domain": "shop.example.com", "title": "Old listed bug", "severity": "medium", "cve": "CVE-2023-0001"},
                {"domain": "shop.example.com", "title": "Missing CSP header", "severity": "low"}
            ]}),
        )
        .await;
    let ids: Vec<String> = out["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|i| i.as_str().unwrap_or_default().to_string())
        .collect();
    t.slack.wait_accepted("all", 1, WAIT).await;
    let (s, _) = t
        .post(&format!("/api/v1/findings/{}/resolve", ids[2]), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);

    // Only admins load feeds.
    let reader = t.token_with(&["read", "ingest"]).await;
    let (s, _) = upload(&t, "epss", EPSS.into(), &reader).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (s, v) = upload(&t, "epss", EPSS.into(), ADMIN_TOKEN).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["entries"], 2, "{v}");
    assert_eq!(v["matched_open_findings"], 2, "{v}");
    let catalog = kev(&[
        ("CVE-2021-44228", "2021-12-10", "2021-12-24"),
        ("CVE-2023-0001", "2023-01-05", ""),
    ]);
    let (s, v) = upload(&t, "kev", catalog.clone(), ADMIN_TOKEN).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"entries": 2, "matched_open_findings": 1, "newly_flagged": 1}),
        "the resolved one is not told"
    );

    let all = t.slack.wait_accepted("all", 2, WAIT).await;
    let told = all[1].body.to_string();
    assert!(told.contains("🔥 Now Known Exploited"), "{told}");
    assert!(told.contains("Log4Shell in the search service"), "{told}");
    assert!(
        told.contains("🔥 Known exploited (CISA KEV, added 2021-12-10, due 2021-12-24)"),
        "{told}"
    );
    assert!(told.contains("EPSS 0.98 (99th percentile)"), "{told}");
    let exploited = t.slack.wait_accepted("exploited", 1, WAIT).await;
    let only = exploited[0].body.to_string();
    assert!(
        only.contains("Log4Shell") && only.contains("<!here>"),
        "filtered and mentioned: {only}"
    );

    // The same catalog again changes nothing and tells nobody again.
    let (_, v) = upload(&t, "kev", catalog, ADMIN_TOKEN).await;
    assert_eq!(v["newly_flagged"], 0, "{v}");

    let (_, a) = t.get(&format!("/api/v1/findings/{}", ids[0])).await;
    assert_eq!(
        a["known_exploited"],
        json!({"date_added": "2021-12-10", "due_date": "2021-12-24", "ransomware": true}),
        "{a}"
    );
    assert_eq!(a["epss"]["percentile"], 0.99996, "{a}");
    let (_, b) = t.get(&format!("/api/v1/findings/{}", ids[1])).await;
    assert_eq!(b["known_exploited"], Value::Null, "{b}");
    assert_eq!(b["epss"]["score"], 0.04, "{b}");

    let titles = |v: &Value| -> Vec<String> {
        v["findings"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|f| f["title"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let (_, listed) = t.get("/api/v1/findings?known_exploited=true").await;
    let mut got = titles(&listed);
    got.sort();
    assert_eq!(
        got,
        ["Log4Shell in the search service", "Old listed bug"],
        "{listed}"
    );
    let (_, listed) = t.get("/api/v1/findings?min_epss=0.5").await;
    assert_eq!(
        titles(&listed),
        ["Log4Shell in the search service"],
        "{listed}"
    );
    let (_, sorted) = t.get("/api/v1/findings?sort=exploitability&limit=2").await;
    assert_eq!(
        titles(&sorted),
        ["Log4Shell in the search service", "Old listed bug"],
        "{sorted}"
    );
    let cursor = sorted["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let (_, rest) = t
        .get(&format!(
            "/api/v1/findings?sort=exploitability&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(
        titles(&rest),
        ["PAN-OS command injection", "Missing CSP header"],
        "{rest}"
    );
    let (_, newest) = t.get("/api/v1/findings").await;
    assert_eq!(
        titles(&newest)[0],
        "Missing CSP header",
        "the default stays newest first"
    );
    for (q, field) in [
        ("sort=worst", "sort"),
        ("min_epss=2", "min_epss"),
        ("known_exploited=yes", "known_exploited"),
    ] {
        let (s, v) = t.get(&format!("/api/v1/findings?{q}")).await;
        assert!(s.is_client_error(), "{q}: {s}");
        assert_eq!(v["error"]["field"], field, "{q}: {v}");
    }

    // Malformed feeds name where they broke; the stored ones stay.
    let (s, v) = upload(&t, "kev", kev(&[("CVE-21", "2021-12-10", "")]), ADMIN_TOKEN).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "vulnerabilities[0].cveID", "{v}");
    let (s, v) = upload(
        &t,
        "epss",
        "cve,epss,percentile\nCVE-2021-44228,0.9,0.9\nCVE-2021-1234,high,0.1\n".into(),
        ADMIN_TOKEN,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "line 3", "{v}");
    let (_, a) = t.get(&format!("/api/v1/findings/{}", ids[0])).await;
    assert!(
        a["known_exploited"].is_object() && a["epss"]["score"] == 0.97565,
        "{a}"
    );

    // A finding stored after the load carries the feeds in its first alert.
    t.post(
        "/api/v1/findings",
        json!({"domain": "api.example.com", "title": "Log4Shell in the API", "severity": "critical", "cve": "CVE-2021-44228"}),
    )
    .await;
    let all = t.slack.wait_accepted("all", 3, WAIT).await;
    let first = all[2].body.to_string();
    assert!(
        first.contains("Known exploited (CISA KEV") && !first.contains("Now Known Exploited"),
        "{first}"
    );

    // A digest's Top Issues: the known exploited first (the medium one before the high one), then by EPSS score,
    // then the findings without a CVE.
    let digest_id = t
        .channel(
            "digest",
            json!({"digest": {"frequency": "daily", "time": "09:00", "timezone": "UTC"}}),
        )
        .await;
    let (s, preview) = t
        .post(
            &format!("/api/v1/channels/{digest_id}/digest/preview"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{preview}");
    let text = preview["message"].to_string();
    let at = |title: &str| {
        text.find(title)
            .unwrap_or_else(|| panic!("{title} is not in the digest: {text}"))
    };
    assert!(at("Log4Shell in the") < at("Old listed bug"), "{text}");
    assert!(
        at("Old listed bug") < at("PAN-OS command injection"),
        "{text}"
    );
    assert!(
        at("PAN-OS command injection") < at("Missing CSP header"),
        "{text}"
    );
    t.app.shutdown().await;
}
crate::both_dbs!(feeds_mark_findings_announce_once_and_sort_first);

/// `fence intel import` into the local database and through a running Fence, and a malformed file refused with
/// its line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fence_intel_import_loads_locally_and_through_a_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let epss = dir.path().join("epss.csv");
    std::fs::write(&epss, EPSS).expect("write");
    let run = |args: Vec<String>| {
        std::process::Command::new(env!("CARGO_BIN_EXE_fence"))
            .current_dir(dir.path())
            .args(args)
            .env_remove("FENCE_CONFIG")
            .output()
            .expect("run fence")
    };
    let path = epss.display().to_string();
    let out = run(vec![
        "intel".into(),
        "import".into(),
        "epss".into(),
        path.clone(),
        "--json".into(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["entries"], 2, "{v}");
    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, "cve,epss,percentile\nCVE-2021-44228,9,0.1\n").expect("write");
    let out = run(vec![
        "intel".into(),
        "import".into(),
        "epss".into(),
        broken.display().to_string(),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let t = TestApp::spawn(Db::Sqlite).await;
    let kev_file = dir.path().join("kev.json");
    std::fs::write(
        &kev_file,
        kev(&[("CVE-2021-44228", "2021-12-10", "2021-12-24")]),
    )
    .expect("write");
    let out = run(vec![
        "intel".into(),
        "import".into(),
        "kev".into(),
        kev_file.display().to_string(),
        "--server".into(),
        t.url.clone(),
        "--token".into(),
        ADMIN_TOKEN.into(),
        "--json".into(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["entries"], 1, "{v}");
    let (_, f) = t
        .post(
            "/api/v1/findings",
            json!({"domain": "example.com", "title": "Log4Shell", "severity": "critical", "cve": "CVE-2021-44228"}),
        )
        .await;
    let id = f["ids"][0].as_str().expect("id");
    let (_, f) = t.get(&format!("/api/v1/findings/{id}")).await;
    assert_eq!(f["known_exploited"]["date_added"], "2021-12-10", "{f}");
    t.app.shutdown().await;
}

/// `intel.kev_file` is loaded when the server starts (the scheduler's first pass).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_feed_file_is_loaded_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kev_file = dir.path().join("kev.json");
    std::fs::write(
        &kev_file,
        kev(&[("CVE-2024-3400", "2024-04-12", "2024-04-19")]),
    )
    .expect("write");
    let t = TestApp::spawn_with(
        Db::Sqlite,
        &format!(
            "[intel]\nkev_file = \"{}\"\nreload_every = \"1h\"",
            kev_file.display()
        ),
    )
    .await;
    let (_, f) = t
        .post(
            "/api/v1/findings",
            json!({"domain": "example.com", "title": "PAN-OS", "severity": "critical", "cve": "CVE-2024-3400"}),
        )
        .await;
    let id = f["ids"][0].as_str().expect("id").to_string();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (_, f) = t.get(&format!("/api/v1/findings/{id}")).await;
        if f["known_exploited"].is_object() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the configured catalog was not loaded: {f}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    t.app.shutdown().await;
}
