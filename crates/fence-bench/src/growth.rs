//! The growth scenario: Fence's cost as its history grows. Findings go in by steps (batches of 1,000 from two
//! clients, spread over 500 domains and the five severities, one routed channel); after each step the scenario
//! reads the server's memory (`VmRSS`, `VmHWM`, `RssAnon`, `RssFile`), the step's ingest rate, and the p50/p99 of
//! each read the growth issue names, from `samples` sequential requests each.

use crate::fence::{Fence, TOKEN};
use crate::load::{percentile, post_batches};
use crate::scratch::{fresh_postgres, Scratch};
use fence_testkit::FakeSlack;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Instant;

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

/// The web session the page timings use (set once per run).
static WEB_COOKIE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// A batch of `n` findings numbered from `from`: domain `i % 500`, severity `i % 5`.
fn batch(from: usize, n: usize) -> Vec<u8> {
    let findings: Vec<Value> = (from..from + n)
        .map(|i| {
            json!({
                "domain": format!("host{}.example.com", i % 500),
                "title": format!("growth finding {i}"),
                "severity": SEVERITIES[i % 5],
                "cvss": 4.0 + (i % 60) as f64 / 10.0,
                "category": "misconfiguration",
                "affected_url": format!("https://host{}.example.com/path/{i}", i % 500),
            })
        })
        .collect();
    serde_json::to_vec(&json!({"findings": findings})).unwrap_or_default()
}

async fn ingest(fence: &Fence, from: usize, n: usize) -> anyhow::Result<f64> {
    let bodies = (from..from + n)
        .step_by(1000)
        .map(|b| batch(b, 1000.min(from + n - b)))
        .collect();
    let secs = post_batches(fence, bodies, 2).await?;
    Ok(n as f64 / secs)
}

/// A web session for the pages: a viewer made with `fence user create` on the server's database, logged in through
/// the log-in form. Returns the `Cookie` header value.
async fn web_session(
    bin: &Path,
    data_dir: &Path,
    url: &str,
    fence: &Fence,
) -> anyhow::Result<String> {
    use std::io::Write;
    let mut cmd = std::process::Command::new(bin);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("FENCE_")) {
        cmd.env_remove(k);
    }
    let mut child = cmd
        .args([
            "user",
            "create",
            "--org",
            "default",
            "--email",
            "bench@example.com",
            "--role",
            "viewer",
        ])
        .current_dir(data_dir)
        .env("FENCE_DATA_DIR", data_dir)
        .env("FENCE_DATABASE_URL", url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdin"))?
        .write_all(b"bench password 1234\n")?;
    anyhow::ensure!(child.wait()?.success(), "fence user create failed");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let page = http.get(format!("{}/login", fence.base)).send().await?;
    let pre = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_string();
    let token = pre.split_once('=').map(|(_, v)| v).unwrap_or_default();
    let body = format!("_csrf={token}&email=bench%40example.com&password=bench+password+1234");
    let r = http
        .post(format!("{}/login", fence.base))
        .header("cookie", &pre)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await?;
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next())
        .find(|c| c.starts_with("fence_session="))
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("the bench user could not log in ({})", r.status()))
}

/// p50 and p99 in ms of `samples` GETs of `path`: API paths with the token, pages with the web session's cookie.
async fn time_get(fence: &Fence, path: &str, samples: usize) -> anyhow::Result<(f64, f64)> {
    let mut ms = Vec::with_capacity(samples);
    let cookie = WEB_COOKIE.get().cloned().unwrap_or_default();
    for _ in 0..samples {
        let t0 = Instant::now();
        let req = fence.http.get(format!("{}{path}", fence.base));
        let req = if path.starts_with("/api/") || path == "/metrics" {
            req.bearer_auth(TOKEN)
        } else {
            req.header("cookie", &cookie)
        };
        let r = req.send().await?;
        anyhow::ensure!(r.status().is_success(), "{path} answered {}", r.status());
        r.bytes().await?;
        ms.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    Ok((percentile(&ms, 0.5), percentile(&ms, 0.99)))
}

/// The cursor of page `page` (50 findings a page, newest first).
async fn deep_cursor(fence: &Fence, page: usize) -> anyhow::Result<Option<String>> {
    let mut cursor: Option<String> = None;
    for _ in 1..page {
        let path = match &cursor {
            None => "/api/v1/findings?limit=50".to_string(),
            Some(c) => format!("/api/v1/findings?limit=50&cursor={c}"),
        };
        let v = fence.get(&path).await?;
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return Ok(None),
        }
    }
    Ok(cursor)
}

/// `(VmRSS, VmHWM, RssAnon, RssFile)` in MiB.
fn memory(fence: &Fence) -> (f64, f64, f64, f64) {
    let m = fence.status_mib(&["VmRSS:", "VmHWM:", "RssAnon:", "RssFile:"]);
    (m[0], m[1], m[2], m[3])
}

async fn reads(fence: &Fence, samples: usize) -> anyhow::Result<Vec<(String, f64, f64)>> {
    let newest = fence.get("/api/v1/findings?limit=1").await?;
    let id = newest["findings"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut paths: Vec<(&str, String)> = vec![
        ("newest first", "/api/v1/findings?limit=50".into()),
        (
            "by severity",
            "/api/v1/findings?severity=critical&limit=50".into(),
        ),
        ("by status", "/api/v1/findings?status=open&limit=50".into()),
        (
            "by domain",
            "/api/v1/findings?domain=host7.example.com&limit=50".into(),
        ),
        (
            "severity + status",
            "/api/v1/findings?severity=critical&status=open&limit=50".into(),
        ),
        (
            "severity + domain + status",
            "/api/v1/findings?severity=critical&domain=host7.example.com&status=open&limit=50"
                .into(),
        ),
        ("GET /findings/{id}", format!("/api/v1/findings/{id}")),
        ("GET /org", "/api/v1/org".into()),
        ("GET /metrics", "/metrics".into()),
        ("dashboard page", "/dashboard".into()),
        ("findings page", "/findings".into()),
        (
            "findings page, severity + status",
            "/findings?severity=critical&status=open".into(),
        ),
    ];
    if let Some(c) = deep_cursor(fence, 100).await? {
        paths.push(("page 100", format!("/api/v1/findings?limit=50&cursor={c}")));
    }
    let mut out = Vec::new();
    for (name, path) in paths {
        let (p50, p99) = time_get(fence, &path, samples).await?;
        out.push((name.to_string(), p50, p99));
    }
    Ok(out)
}

/// The reads again while another client posts a 1,000-finding batch every 200 ms (5,000 findings/s when the server
/// keeps up), numbered after `stored`: the timings, how many findings went in, and the rate they went in at.
async fn reads_under_ingest(
    fence: &Fence,
    samples: usize,
    stored: usize,
) -> anyhow::Result<(Vec<(String, f64, f64)>, usize, f64)> {
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let (http, base) = (fence.http.clone(), fence.base.clone());
    let start = Instant::now();
    let load = tokio::spawn(async move {
        let mut added = 0;
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(200));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop_rx.changed() => return added,
            }
            let r = http
                .post(format!("{base}/api/v1/findings"))
                .bearer_auth(TOKEN)
                .header("content-type", "application/json")
                .body(batch(stored + added, 1000))
                .send()
                .await;
            if r.is_ok_and(|r| r.status() == 202) {
                added += 1000;
            }
        }
    });
    let timings = reads(fence, samples).await;
    let _ = stop_tx.send(true);
    let added = load.await?;
    let rate = added as f64 / start.elapsed().as_secs_f64();
    Ok((timings?, added, rate))
}

/// Over the whole history: a digest preview of the growth channel (its default window, the last 24 hours, holds every
/// finding), three times, then the CSV report its Download Report link points at, streamed and counted; the memory
/// peak after both.
async fn digest_and_report(fence: &Fence) -> anyhow::Result<Value> {
    let channels = fence.get("/api/v1/channels").await?;
    let id = channels["channels"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut digest_ms = Vec::new();
    let mut message = Value::Null;
    for _ in 0..3 {
        let t0 = Instant::now();
        message = fence
            .post(&format!("/api/v1/channels/{id}/digest/preview"), &json!({}))
            .await?;
        digest_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let text = message.to_string();
    let link = text
        .find("/reports/findings.csv?")
        .map(|at| {
            let end = text[at..]
                .find(['"', '>', '|'])
                .map_or(text.len(), |e| at + e);
            text[at..end].replace("\\u0026", "&").replace("&amp;", "&")
        })
        .ok_or_else(|| anyhow::anyhow!("the digest has no report link"))?;
    let t0 = Instant::now();
    let mut r = fence
        .http
        .get(format!("{}{link}", fence.base))
        .send()
        .await?;
    anyhow::ensure!(r.status() == 200, "the report answered {}", r.status());
    let (mut bytes, mut lines) = (0usize, 0usize);
    while let Some(chunk) = r.chunk().await? {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let csv_secs = t0.elapsed().as_secs_f64();
    let (rss, hwm, anon, file) = memory(fence);
    println!(
        "  monthly-size digest preview over the whole history: {:.0} / {:.0} / {:.0} ms; CSV report: {} rows, {:.0} MiB in {csv_secs:.1} s; then RSS {rss:.1} MiB (peak {hwm:.1}, anon {anon:.1}, file {file:.1})",
        digest_ms[0],
        digest_ms[1],
        digest_ms[2],
        lines.saturating_sub(1),
        bytes as f64 / 1048576.0
    );
    Ok(
        json!({"digest_preview_ms": digest_ms, "csv_rows": lines.saturating_sub(1), "csv_bytes": bytes, "csv_seconds": csv_secs,
              "rss_mib": rss, "peak_rss_mib": hwm, "anon_mib": anon, "file_mib": file}),
    )
}

/// Up to `total` findings in steps of `step`, measuring after each (and, with `under_ingest`, again while another
/// client ingests).
pub async fn run(
    bin: &Path,
    total: usize,
    step: usize,
    samples: usize,
    postgres: Option<&str>,
    under_ingest: bool,
) -> anyhow::Result<Value> {
    let scratch = Scratch::new("growth")?;
    let url = match postgres {
        Some(pg) => fresh_postgres(pg).await?,
        None => scratch.sqlite_url(),
    };
    let label = if postgres.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let slack = FakeSlack::start().await?;
    let fence = Fence::start(bin, &scratch.0, &url).await?;
    fence.channel(&slack, "growth", json!({})).await?;
    let _ = WEB_COOKIE.set(web_session(bin, &scratch.0, &url, &fence).await?);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (idle, sign_in_peak, idle_anon, idle_file) = memory(&fence);
    // The peak so far is the sign-in's password hash (argon2, 19 MiB while it runs), the same at any history: the
    // steps' peaks are counted from here.
    fence.reset_peak();
    println!(
        "growth [{label}]: idle RSS {idle:.1} MiB (anon {idle_anon:.1}, file {idle_file:.1}; peak {sign_in_peak:.1} with the sign-in); {samples} samples per read"
    );
    let mut steps = Vec::new();
    let mut stored = 0;
    while stored < total {
        let n = step.min(total - stored);
        let rate = ingest(&fence, stored, n).await?;
        stored += n;
        let timings = reads(&fence, samples).await?;
        let (rss, hwm, anon, file) = memory(&fence);
        let shown: Vec<String> = timings
            .iter()
            .map(|(name, p50, p99)| format!("{name} {p50:.1}/{p99:.1}"))
            .collect();
        println!(
            "  {stored} stored: ingest {rate:.0}/s; RSS {rss:.1} MiB (peak {hwm:.1}, anon {anon:.1}, file {file:.1}); p50/p99 ms: {}",
            shown.join(", ")
        );
        let mut busy = Vec::new();
        if under_ingest {
            let (timings, added, rate) = reads_under_ingest(&fence, samples, stored).await?;
            stored += added;
            let shown: Vec<String> = timings
                .iter()
                .map(|(name, p50, p99)| format!("{name} {p50:.1}/{p99:.1}"))
                .collect();
            println!(
                "  … under a concurrent ingest of {rate:.0}/s ({added} findings): p50/p99 ms: {}",
                shown.join(", ")
            );
            busy = timings;
        }
        let as_json = |t: &[(String, f64, f64)]| {
            t.iter()
                .map(|(n, a, b)| json!({"read": n, "p50_ms": a, "p99_ms": b}))
                .collect::<Vec<_>>()
        };
        steps.push(json!({
            "stored": stored, "ingest_per_second": rate,
            "rss_mib": rss, "peak_rss_mib": hwm, "anon_mib": anon, "file_mib": file,
            "reads": as_json(&timings), "reads_under_ingest": as_json(&busy),
        }));
    }
    let history = digest_and_report(&fence).await?;
    let size = |name: &str| {
        std::fs::metadata(scratch.0.join(name))
            .map(|m| m.len())
            .ok()
    };
    let (db_bytes, wal_bytes) = (size("fence.db"), size("fence.db-wal"));
    if postgres.is_none() {
        println!(
            "  database file {:.0} MiB (WAL {:.0} MiB) with {stored} findings and their deliveries",
            db_bytes.unwrap_or(0) as f64 / 1048576.0,
            wal_bytes.unwrap_or(0) as f64 / 1048576.0
        );
    }
    Ok(
        json!({"database": label, "idle_rss_mib": idle, "idle_anon_mib": idle_anon, "idle_file_mib": idle_file, "sign_in_peak_rss_mib": sign_in_peak, "steps": steps, "sqlite_file_bytes": db_bytes, "sqlite_wal_bytes": wal_bytes, "history": history}),
    )
}
