//! The latency scenario: idle latency from `POST /api/v1/findings` to the message at Slack over 50 channels, and the
//! idle memory.

use crate::fence::Fence;
use crate::load::{one_latency, percentile};
use crate::scratch::Scratch;
use fence_testkit::FakeSlack;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

pub async fn run(bin: &Path) -> anyhow::Result<Value> {
    let scratch = Scratch::new("latency")?;
    let slack = FakeSlack::start().await?;
    let fence = Fence::start(bin, &scratch.0, &scratch.sqlite_url()).await?;
    let channels = 50;
    for i in 0..channels {
        fence
            .channel(
                &slack,
                &format!("lat{i}"),
                json!({"filters": {"domains": [format!("lat{i}.example.com")]}}),
            )
            .await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (idle_rss, _) = fence.rss_mib();
    let samples = 200;
    let mut lat = Vec::new();
    for s in 0..samples {
        let i = s % channels;
        let hook = format!("lat{i}");
        let finding = json!({"domain": format!("lat{i}.example.com"), "title": format!("latency {s}"), "severity": "critical"});
        lat.push(one_latency(&fence, &slack, &hook, &finding).await?);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    let (p50, p99, max) = (
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(0.0),
    );
    println!("idle latency (POST → message at Slack, {samples} samples): p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms; idle RSS {idle_rss:.1} MiB");
    Ok(
        json!({"samples": samples, "p50_ms": p50, "p99_ms": p99, "max_ms": max, "idle_rss_mib": idle_rss}),
    )
}
