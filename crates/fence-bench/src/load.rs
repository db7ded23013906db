//! Load generation and measurement helpers shared by the scenarios: batches of findings, concurrent posting,
//! waiting until Slack has counted every finding, percentiles.

use crate::fence::{Fence, TOKEN};
use fence_testkit::FakeSlack;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A `POST /api/v1/findings` body with `n` findings numbered from `from`, spread over 100 domains.
pub fn batch_bytes(tag: &str, from: usize, n: usize) -> Vec<u8> {
    let findings: Vec<Value> = (from..from + n)
        .map(|i| {
            json!({
                "domain": format!("host{}.example.com", i % 100),
                "title": format!("{tag} finding {i}"),
                "severity": if i % 20 == 0 { "critical" } else { "high" },
                "cvss": if i % 20 == 0 { 9.8 } else { 7.5 },
                "cve": "CVE-2024-12345",
                "category": "sql_injection",
                "affected_url": format!("https://host{}.example.com/login?id={i}", i % 100),
            })
        })
        .collect();
    serde_json::to_vec(&json!({"findings": findings})).unwrap_or_default()
}

/// Posts `total` findings in batches of 1,000 with `concurrency` clients; returns the seconds it took.
pub async fn post_burst(
    fence: &Fence,
    tag: &str,
    total: usize,
    concurrency: usize,
) -> anyhow::Result<f64> {
    let bodies: Vec<Vec<u8>> = (0..total.div_ceil(1000))
        .map(|b| batch_bytes(tag, b * 1000, 1000.min(total - b * 1000)))
        .collect();
    post_batches(fence, bodies, concurrency).await
}

/// Posts prepared `POST /api/v1/findings` bodies with `concurrency` clients; returns the seconds it took.
pub async fn post_batches(
    fence: &Fence,
    bodies: Vec<Vec<u8>>,
    concurrency: usize,
) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut queue = bodies.into_iter();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < concurrency {
            let Some(body) = queue.next() else { break };
            let (http, base) = (fence.http.clone(), fence.base.clone());
            running.spawn(async move {
                let r = http
                    .post(format!("{base}/api/v1/findings"))
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 202 => Ok(()),
                    Ok(r) => Err(anyhow::anyhow!("ingest answered {}", r.status())),
                    Err(e) => Err(anyhow::anyhow!("ingest failed: {e}")),
                }
            });
        }
        match running.join_next().await {
            Some(r) => r??,
            None => break,
        }
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Waits until the accepted messages of every hook account for `n` findings; returns the seconds it took.
pub async fn wait_counted(
    slack: &FakeSlack,
    hooks: &[String],
    n: usize,
    timeout: Duration,
) -> Option<f64> {
    let start = Instant::now();
    // Counts only grow: a hook that counted `n` is not looked at again, so the wait does not take the cores it
    // shares with Fence re-reading a thousand channels' messages every few milliseconds.
    let mut waiting: Vec<&String> = hooks.iter().collect();
    while start.elapsed() < timeout {
        while let Some(h) = waiting.last() {
            if slack.findings_counted(h) < n {
                break;
            }
            waiting.pop();
        }
        if waiting.is_empty() {
            return Some(start.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}

/// Posts `finding` through `fence` and returns the ms until the fake Slack accepted the next message for `hook`.
pub async fn one_latency(
    fence: &Fence,
    slack: &FakeSlack,
    hook: &str,
    finding: &Value,
) -> anyhow::Result<f64> {
    let before = slack.accepted(hook).len();
    let t0 = Instant::now();
    fence.post("/api/v1/findings", finding).await?;
    let got = slack
        .wait_accepted(hook, before + 1, Duration::from_secs(10))
        .await;
    let at = got
        .get(before)
        .map(|r| r.at)
        .ok_or_else(|| anyhow::anyhow!("message did not arrive"))?;
    Ok(at.duration_since(t0).as_secs_f64() * 1000.0)
}

/// The `p` quantile (0–1) of sorted samples, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}
