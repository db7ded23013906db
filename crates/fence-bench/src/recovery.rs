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
    /// The request is never answered (Fence's 10 s timeout ends a message; a probe gives up sooner).
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
    let requests: Vec<_> = slack.requests(HOOK)[before..]
        .iter()
        .filter(|r| r.at < up_at)
        .cloned()
        .collect();
    let during: Vec<Instant> = requests.iter().map(|r| r.at).collect();
    // Probes post nothing (a message without text, which the webhook refuses); the rest carried the message.
    let probes = requests
        .iter()
        .filter(|r| r.body == json!({"text": ""}))
        .count();
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
        "{mode:?} outage of {outage_secs} s, {findings} findings waiting, max_retry_age {max_age}: {} attempts during the outage ({probes} of them probes that post nothing; closest {closest:.2} s apart; after the back-off {closest_probe:.2} s); {dead} dead; every finding counted {secs:.2} s after recovery",
        during.len()
    );
    Ok(json!({
        "mode": format!("{mode:?}"), "outage_seconds": outage_secs, "findings": findings, "max_retry_age": max_age,
        "attempts_during_outage": during.len(), "probes_during_outage": probes, "closest_attempts_seconds": closest,
        "closest_probes_seconds": closest_probe, "dead": dead, "seconds_until_counted_after_recovery": counted,
    }))
}

/// PostgreSQL restarts under a running `fence serve` (`pg_ctlcluster … restart`, so this needs the local cluster and
/// the rights to restart it): seconds from the restart command's return until a finding posted then, retried while
/// the API answers errors, is counted in Slack.
pub async fn postgres_restart(bin: &Path, postgres: &str, cluster: &str) -> anyhow::Result<Value> {
    let url = crate::scratch::fresh_postgres(postgres).await?;
    let scratch = Scratch::new("pg-restart")?;
    let slack = FakeSlack::start().await?;
    let fence = Fence::start(bin, &scratch.0, &url).await?;
    fence.channel(&slack, HOOK, json!({})).await?;
    let hooks = [HOOK.to_string()];
    post_burst(&fence, "warm", 1, 1).await?;
    anyhow::ensure!(
        wait_counted(&slack, &hooks, 1, Duration::from_secs(10))
            .await
            .is_some(),
        "the warm-up finding never reached the fake Slack"
    );
    let (version, name) = cluster
        .split_once('/')
        .ok_or_else(|| anyhow::anyhow!("--cluster is VERSION/NAME, e.g. 15/main"))?;
    let status = std::process::Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", version, name, "restart"])
        .status()?;
    anyhow::ensure!(status.success(), "pg_ctlcluster restart failed");
    let restarted = Instant::now();
    let mut accepted_after = None;
    while restarted.elapsed() < Duration::from_secs(60) {
        if fence
            .post(
                "/api/v1/findings",
                &json!({"domain": "example.com", "title": "after the restart", "severity": "high"}),
            )
            .await
            .is_ok()
        {
            accepted_after = Some(restarted.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let counted = wait_counted(&slack, &hooks, 2, Duration::from_secs(60)).await;
    let total = counted.map(|_| restarted.elapsed().as_secs_f64());
    println!(
        "PostgreSQL restart: the API accepted a finding {} s after the restart returned; it was counted in Slack {} s after it",
        accepted_after.map_or("never".into(), |s| format!("{s:.2}")),
        total.map_or("never".into(), |s| format!("{s:.2}"))
    );
    Ok(json!({"accepted_after_seconds": accepted_after, "counted_after_seconds": total}))
}
