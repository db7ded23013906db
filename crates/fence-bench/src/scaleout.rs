//! The scale-out scenario on PostgreSQL: how soon another process takes over a destination whose sender was killed
//! in the middle of a send (heartbeats and 5 s leases), and the idle latency when two processes share the database
//! and findings arrive at either (whichever process is free sends, woken by `LISTEN/NOTIFY`).

use crate::fence::Fence;
use crate::load::{one_latency, percentile};
use crate::scratch::{fresh_postgres, Scratch};
use fence_testkit::{Answer, FakeSlack};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

pub async fn run(
    bin: &Path,
    postgres: &str,
    rounds: usize,
    samples: usize,
) -> anyhow::Result<Value> {
    let url = fresh_postgres(postgres).await?;
    let slack = FakeSlack::start().await?;
    // One data directory for every process: they share its secret key, as processes sharing a database must.
    let dir = Scratch::new("scaleout")?;
    let mut takeovers = Vec::new();
    for round in 0..rounds {
        takeovers.push(takeover(bin, &url, &dir, &slack, round).await?);
    }
    takeovers.sort_by(f64::total_cmp);
    let fa = Fence::start(bin, &dir.0, &url).await?;
    let fb = Fence::start(bin, &dir.0, &url).await?;
    fa.channel(&slack, "shared", json!({})).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut lat = Vec::new();
    for s in 0..samples {
        let via = if s % 2 == 0 { &fa } else { &fb };
        let finding = json!({"domain": "example.com", "title": format!("latency {s}"), "severity": "critical"});
        lat.push(one_latency(via, &slack, "shared", &finding).await?);
        // Past the destination's one-second pace, so each sample finds it idle.
        tokio::time::sleep(Duration::from_millis(1050)).await;
    }
    lat.sort_by(f64::total_cmp);
    let (p50, p90, p99) = (
        percentile(&lat, 0.5),
        percentile(&lat, 0.9),
        percentile(&lat, 0.99),
    );
    let max = lat.last().copied().unwrap_or(f64::NAN);
    let (t50, tmax) = (
        percentile(&takeovers, 0.5),
        takeovers.last().copied().unwrap_or(f64::NAN),
    );
    println!(
        "scale-out on PostgreSQL: a killed sender's destination taken over after {t50:.2} s (median of {rounds}, max {tmax:.2} s); two processes, findings posted to either: idle latency p50 {p50:.1} ms, p90 {p90:.1} ms, p99 {p99:.1} ms, max {max:.1} ms ({samples} samples)"
    );
    Ok(
        json!({"takeover_seconds": takeovers, "latency_p50_ms": p50, "latency_p90_ms": p90, "latency_p99_ms": p99, "latency_max_ms": max, "samples": samples}),
    )
}

/// One process starts sending a message that never gets an answer; a second process starts; the first is killed.
/// Returns the seconds from the kill until the second one's message is accepted.
async fn takeover(
    bin: &Path,
    url: &str,
    dir: &Scratch,
    slack: &FakeSlack,
    round: usize,
) -> anyhow::Result<f64> {
    let hook = format!("takeover{round}");
    slack.script(&hook, [Answer::Drop]);
    let first = Fence::start(bin, &dir.0, url).await?;
    first.channel(slack, &hook, json!({})).await?;
    first
        .post("/api/v1/findings", &json!({"domain": "example.com", "title": format!("takeover {round}"), "severity": "high"}))
        .await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while slack.requests(&hook).is_empty() {
        anyhow::ensure!(Instant::now() < deadline, "the first process never sent");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let second = Fence::start(bin, &dir.0, url).await?;
    first.kill9();
    let killed = Instant::now();
    let got = slack.wait_accepted(&hook, 1, Duration::from_secs(60)).await;
    anyhow::ensure!(!got.is_empty(), "nobody took the destination over");
    let secs = got[0].at.duration_since(killed).as_secs_f64();
    second.kill9();
    Ok(secs)
}
