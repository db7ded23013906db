//! The scale-out scenario on PostgreSQL: how soon another process takes over a destination whose sender was killed
//! in the middle of a send (heartbeats and 5 s leases), and the idle latency when two processes share the database
//! and findings arrive at either (whichever process is free sends, woken by `LISTEN/NOTIFY`), told apart by which
//! process sent each message.

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
    // Each sample is told apart by the process that sent it (its `fence_messages_sent_total` went up): the issue's
    // figure is for a process that did not ingest the finding, woken by `LISTEN/NOTIFY`.
    let (mut other, mut same) = (Vec::new(), Vec::new());
    for s in 0..samples {
        let (via, peer) = if s % 2 == 0 { (&fa, &fb) } else { (&fb, &fa) };
        let before = (sent(via).await?, sent(peer).await?);
        let finding = json!({"domain": "example.com", "title": format!("latency {s}"), "severity": "critical"});
        let ms = one_latency(via, &slack, "shared", &finding).await?;
        match sender(via, peer, before).await? {
            Sender::Other => other.push(ms),
            Sender::Same => same.push(ms),
        }
        // Past the destination's one-second pace, so each sample finds it idle.
        tokio::time::sleep(Duration::from_millis(1050)).await;
    }
    let mut all: Vec<f64> = other.iter().chain(&same).copied().collect();
    let [all, other, same] = [&mut all, &mut other, &mut same].map(|v| {
        v.sort_by(f64::total_cmp);
        Spread::of(v)
    });
    let (t50, tmax) = (
        percentile(&takeovers, 0.5),
        takeovers.last().copied().unwrap_or(f64::NAN),
    );
    println!(
        "scale-out on PostgreSQL: a killed sender's destination taken over after {t50:.2} s (median of {rounds}, max {tmax:.2} s); two processes, findings posted to either ({samples} samples): idle latency when the other process sent ({} samples) {}; when the one that ingested sent ({} samples) {}; all {}",
        other.n, other.text(), same.n, same.text(), all.text()
    );
    Ok(json!({
        "takeover_seconds": takeovers,
        "samples": samples,
        "other_process": other.json(),
        "same_process": same.json(),
        "latency_p50_ms": all.p50, "latency_p90_ms": all.p90, "latency_p99_ms": all.p99, "latency_max_ms": all.max,
    }))
}

/// p50, p90, p99 and max of sorted latencies in ms.
struct Spread {
    n: usize,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

impl Spread {
    fn of(sorted: &[f64]) -> Spread {
        Spread {
            n: sorted.len(),
            p50: percentile(sorted, 0.5),
            p90: percentile(sorted, 0.9),
            p99: percentile(sorted, 0.99),
            max: sorted.last().copied().unwrap_or(f64::NAN),
        }
    }

    fn text(&self) -> String {
        format!(
            "p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            self.p50, self.p90, self.p99, self.max
        )
    }

    fn json(&self) -> Value {
        json!({"samples": self.n, "p50_ms": self.p50, "p90_ms": self.p90, "p99_ms": self.p99, "max_ms": self.max})
    }
}

enum Sender {
    Other,
    Same,
}

async fn sent(fence: &Fence) -> anyhow::Result<u64> {
    fence.counter("fence_messages_sent_total").await
}

/// Which of the two processes counted the sample's message as sent (each counts after Slack accepted it).
async fn sender(via: &Fence, peer: &Fence, before: (u64, u64)) -> anyhow::Result<Sender> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if sent(peer).await? > before.1 {
            return Ok(Sender::Other);
        }
        if sent(via).await? > before.0 {
            return Ok(Sender::Same);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "neither process counted the message as sent"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
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
