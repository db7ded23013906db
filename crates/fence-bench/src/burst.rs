//! The burst scenarios against a fake Slack enforcing one message per second: a burst to 1 or 100 channels, and a
//! burst with `kill -9` of Fence in the middle.

use crate::fence::Fence;
use crate::load::{post_burst, wait_counted};
use crate::scratch::Scratch;
use fence_testkit::FakeSlack;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// A custom template that renders single alerts and bursts in the words the fake counts ("N new
/// vulnerabilities", "Vulnerability Detected"), so a templated burst is measured like a default one.
const TEMPLATE: &str = r#"{% if alert_type == "coalesced" %}{"text": "{{ counts.total }} new vulnerabilities: {{ counts.critical }} critical", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "{{ counts.total }} new vulnerabilities"}}, {"type": "section", "text": {"type": "mrkdwn", "text": "{% for a in alerts %}{{ a.icon }} <{{ a.finding_url }}|{{ a.title }}> {{ a.domain }}\n{% endfor %}"}}]}{% else %}{"text": "Vulnerability Detected: {{ title }} on {{ domain }}"}{% endif %}"#;

/// What one burst to already configured channels measured.
struct Measured {
    counted_after: Option<f64>,
    ingest_secs: f64,
    messages: usize,
    idle_rss: f64,
    peak_rss: f64,
}

/// Posts `findings` findings once the channels of `hooks` are idle and waits until each has counted every one.
async fn measure(
    fence: &Fence,
    slack: &FakeSlack,
    hooks: &[String],
    findings: usize,
) -> anyhow::Result<Measured> {
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (idle_rss, _) = fence.rss_mib();
    let start = Instant::now();
    let waiter = {
        let (slack, hooks) = (slack.clone(), hooks.to_vec());
        tokio::spawn(async move {
            wait_counted(&slack, &hooks, findings, Duration::from_secs(300)).await
        })
    };
    let ingest_secs = post_burst(fence, "burst", findings, 2).await?;
    let counted_after = waiter.await?.map(|_| start.elapsed().as_secs_f64());
    let messages = hooks.iter().map(|h| slack.accepted(h).len()).sum();
    if std::env::var_os("FENCE_BENCH_TIMELINE").is_some() {
        let mut firsts: Vec<f64> = Vec::new();
        let mut lasts: Vec<f64> = Vec::new();
        for h in hooks {
            let got = slack.accepted(h);
            if let (Some(f), Some(l)) = (got.first(), got.last()) {
                firsts.push(f.at.duration_since(start).as_secs_f64());
                lasts.push(l.at.duration_since(start).as_secs_f64());
            }
        }
        firsts.sort_by(f64::total_cmp);
        lasts.sort_by(f64::total_cmp);
        for q in [0.0, 0.25, 0.5, 0.75, 0.9, 1.0] {
            let i = ((firsts.len() as f64 - 1.0) * q) as usize;
            println!("q{q}: first {:.2} last {:.2}", firsts[i], lasts[i]);
        }
    }
    let (_, peak_rss) = fence.rss_mib();
    Ok(Measured {
        counted_after,
        ingest_secs,
        messages,
        idle_rss,
        peak_rss,
    })
}

/// `findings` findings to `channels` channels: how long until Slack counted every one, messages, 429s, memory.
pub async fn burst(bin: &Path, channels: usize, findings: usize) -> anyhow::Result<Value> {
    run_burst(bin, channels, findings, json!({})).await
}

/// The same burst to channels that each have [`TEMPLATE`]: the cost of rendering (and bounding) templates.
pub async fn templated(bin: &Path, channels: usize, findings: usize) -> anyhow::Result<Value> {
    run_burst(bin, channels, findings, json!({"template": TEMPLATE})).await
}

async fn run_burst(
    bin: &Path,
    channels: usize,
    findings: usize,
    extra: Value,
) -> anyhow::Result<Value> {
    let scratch = Scratch::new("burst")?;
    let slack = FakeSlack::start().await?;
    slack.enforce_rate(1.0);
    let fence = Fence::start(bin, &scratch.0, &scratch.sqlite_url()).await?;
    let hooks: Vec<String> = (0..channels).map(|i| format!("burst{i}")).collect();
    for h in &hooks {
        fence.channel(&slack, h, extra.clone()).await?;
    }
    let Measured {
        counted_after,
        ingest_secs,
        messages,
        idle_rss,
        peak_rss: peak,
    } = measure(&fence, &slack, &hooks, findings).await?;
    let secs = counted_after.unwrap_or(f64::NAN);
    println!(
        "burst of {findings} to {channels} channel(s): every finding counted in Slack {secs:.2} s after the first POST (ingest took {ingest_secs:.2} s); {messages} messages; {} × 429; RSS idle {idle_rss:.1} MiB, peak {peak:.1} MiB",
        slack.rejected_429()
    );
    Ok(
        json!({"channels": channels, "findings": findings, "seconds_until_all_counted": counted_after, "ingest_seconds": ingest_secs, "messages": messages, "rejected_429": slack.rejected_429(), "idle_rss_mib": idle_rss, "peak_rss_mib": peak}),
    )
}

/// Half of `findings`, `kill -9`, a restart on the same database, the other half: how many were lost.
pub async fn kill(bin: &Path, findings: usize) -> anyhow::Result<Value> {
    let scratch = Scratch::new("kill")?;
    let slack = FakeSlack::start().await?;
    slack.enforce_rate(1.0);
    let fence = Fence::start(bin, &scratch.0, &scratch.sqlite_url()).await?;
    fence.channel(&slack, "kill", json!({})).await?;
    let half = findings / 2;
    post_burst(&fence, "before", half, 2).await?;
    fence.kill9();
    let fence = Fence::start(bin, &scratch.0, &scratch.sqlite_url()).await?;
    post_burst(&fence, "after", findings - half, 2).await?;
    let counted = wait_counted(
        &slack,
        &["kill".to_string()],
        findings,
        Duration::from_secs(120),
    )
    .await;
    let seen = slack.findings_counted("kill");
    // Fence's own account: every accepted finding's delivery is sent.
    let sent = fence
        .get("/api/v1/deliveries?state=sent&limit=1000")
        .await?;
    let sent_alerts: i64 = sent["deliveries"]
        .as_array()
        .map(|a| a.iter().filter_map(|d| d["alert_count"].as_i64()).sum())
        .unwrap_or(0);
    let lost = findings.saturating_sub(seen);
    println!(
        "burst of {findings} with kill -9 after {half}: {lost} lost; Slack counted {seen} (duplicates allowed for messages in flight), Fence recorded {sent_alerts} sent; all counted {} s after restart",
        counted.map(|s| format!("{s:.2}")).unwrap_or_else(|| "never".into())
    );
    Ok(
        json!({"findings": findings, "killed_after": half, "lost": lost, "counted_in_slack": seen, "recorded_sent": sent_alerts}),
    )
}

/// `findings` findings to `channels` channels spread over `workspaces` Slack workspaces, the fake answering each
/// webhook after 100–300 ms and pacing each to one message a second: how long until every channel counted every
/// finding, messages, 429s, memory.
pub async fn channels(
    bin: &Path,
    channels: usize,
    workspaces: usize,
    findings: usize,
) -> anyhow::Result<Value> {
    let scratch = Scratch::new("channels")?;
    let slack = FakeSlack::start().await?;
    slack.enforce_rate(1.0);
    slack.set_latency(Duration::from_millis(100), Duration::from_millis(300));
    let fence = Fence::start(bin, &scratch.0, &scratch.sqlite_url()).await?;
    let hooks: Vec<String> = (0..channels).map(|i| format!("ws{i}")).collect();
    for (i, h) in hooks.iter().enumerate() {
        let team = format!("T{:08}", i % workspaces.max(1));
        fence
            .post(
                "/api/v1/channels",
                &json!({"name": h, "webhook_url": slack.webhook_url_in(&team, h)}),
            )
            .await?;
    }
    let Measured {
        counted_after,
        ingest_secs,
        messages,
        idle_rss,
        peak_rss: peak,
    } = measure(&fence, &slack, &hooks, findings).await?;
    let secs = counted_after.unwrap_or(f64::NAN);
    println!(
        "burst of {findings} to {channels} channels in {workspaces} workspaces, Slack answering in 100-300 ms: every finding counted in every channel {secs:.2} s after the first POST (ingest took {ingest_secs:.2} s); {messages} messages; {} × 429; RSS idle {idle_rss:.1} MiB, peak {peak:.1} MiB",
        slack.rejected_429()
    );
    Ok(
        json!({"channels": channels, "workspaces": workspaces, "findings": findings, "seconds_until_all_counted": counted_after, "ingest_seconds": ingest_secs,
              "messages": messages, "rejected_429": slack.rejected_429(), "idle_rss_mib": idle_rss, "peak_rss_mib": peak}),
    )
}
