//! The recovery scenario: a destination goes down (5xx, or a blackhole that never answers)
//! while findings arrive; how often Fence tries it meanwhile, whether anything ages into `dead`, and how long after
//! it comes back every waiting finding is counted in Slack.

use crate::fence::Fence;
use crate::load::{post_burst, wait_counted};
use crate::scratch::Scratch;
use fence_testkit::{Answer, FakeSlack};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// How the destination fails.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Outage {
    /// `503 Service Unavailable`.
    Unavailable,
    /// The request is never answered (Fence's 10 s timeout ends it).
    Blackhole,
}

const HOOK: &str = "recovery";

/// `findings` findings posted while the destination is down for `outage_secs`, with `max_retry_age` shorter than
/// the outage: attempts during the outage, their closest spacing, deliveries dead, seconds from recovery until
/// every finding is counted.
pub async fn run(
    bin: &Path,
    mode: Outage,
    outage_secs: u64,
    findings: usize,
) -> anyhow::Result<Value> {
    let scratch = Scratch::new("recovery")?;
    let slack = FakeSlack::start().await?;
    slack.enforce_rate(1.0);
    let max_age = format!("{}s", (outage_secs / 2).max(1));
    let fence = Fence::start_with(
        bin,
        &scratch.0,
        &scratch.sqlite_url(),
        &[("FENCE_DELIVERY__MAX_RETRY_AGE", max_age.as_str())],
    )
    .await?;
    fence.channel(&slack, HOOK, json!({})).await?;
    let hooks = [HOOK.to_string()];
    // One finding through a healthy destination first, so the outage starts on a warm server.
    post_burst(&fence, "warm", 1, 1).await?;
    if wait_counted(&slack, &hooks, 1, Duration::from_secs(10))
        .await
        .is_none()
    {
        anyhow::bail!("the warm-up finding never reached the fake Slack");
    }
    let before = slack.requests(HOOK).len();
    slack.set_default(
        HOOK,
        match mode {
            Outage::Unavailable => Answer::Status(503, "service_unavailable".into()),
            Outage::Blackhole => Answer::Drop,
        },
    );
    let down_at = Instant::now();
    post_burst(&fence, "outage", findings, 2).await?;
    tokio::time::sleep(Duration::from_secs(outage_secs).saturating_sub(down_at.elapsed())).await;
    slack.set_default(HOOK, Answer::Ok);
    let up_at = Instant::now();
    let counted = wait_counted(&slack, &hooks, findings + 1, Duration::from_secs(120)).await;
    let during: Vec<Instant> = slack.requests(HOOK)[before..]
        .iter()
        .map(|r| r.at)
        .filter(|at| *at < up_at)
        .collect();
    let closest = during
        .windows(2)
        .map(|w| w[1].duration_since(w[0]).as_secs_f64())
        .fold(f64::INFINITY, f64::min);
    // Spacing once the back-off has reached the probe interval (the first three retries come sooner).
    let closest_probe = during
        .windows(2)
        .skip(3)
        .map(|w| w[1].duration_since(w[0]).as_secs_f64())
        .fold(f64::INFINITY, f64::min);
    let dead = fence.get("/api/v1/deliveries?state=dead").await?["deliveries"]
        .as_array()
        .map_or(0, Vec::len);
    let secs = counted.map_or(f64::NAN, |s| s);
    println!(
        "{mode:?} outage of {outage_secs} s, {findings} findings waiting, max_retry_age {max_age}: {} attempts during the outage (closest {closest:.2} s apart; after the back-off {closest_probe:.2} s); {dead} dead; every finding counted {secs:.2} s after recovery",
        during.len()
    );
    Ok(json!({
        "mode": format!("{mode:?}"), "outage_seconds": outage_secs, "findings": findings, "max_retry_age": max_age,
        "attempts_during_outage": during.len(), "closest_attempts_seconds": closest,
        "closest_probes_seconds": closest_probe, "dead": dead, "seconds_until_counted_after_recovery": counted,
    }))
}
