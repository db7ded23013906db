//! The comparison with Prometheus Alertmanager: the same burst of distinct critical alerts through Alertmanager and
//! through Fence, each to its own webhook of a fake Slack enforcing one message per second, printed side by side.

use crate::fence::{Fence, TOKEN};
use crate::load::wait_counted;
use crate::scratch::Scratch;
use anyhow::Context;
use fence_testkit::FakeSlack;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// What one side of the comparison got through to its webhook.
struct Side {
    shown: usize,
    messages: usize,
    rejected_429: usize,
    largest: usize,
}

impl Side {
    fn measure(slack: &FakeSlack, hook: &str, shown: usize) -> Side {
        let accepted = slack.accepted(hook);
        Side {
            shown,
            messages: accepted.len(),
            rejected_429: slack
                .requests(hook)
                .iter()
                .filter(|r| r.status == 429)
                .count(),
            largest: accepted
                .iter()
                .map(|m| m.body.to_string().len())
                .max()
                .unwrap_or(0),
        }
    }
}

/// A child process killed when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn run(bin: &Path, am_bin: &str, alerts: usize, seconds: u64) -> anyhow::Result<Value> {
    let scratch = Scratch::new("alertmanager")?;
    let slack = FakeSlack::start().await?;
    slack.enforce_rate(1.0);
    let am = through_alertmanager(am_bin, &scratch, &slack, alerts, seconds).await?;
    let (fence, all) = through_fence(bin, &scratch, &slack, alerts, seconds).await?;
    print_table(alerts, seconds, &am, &fence, all);
    Ok(json!({
        "alerts": alerts, "seconds": seconds,
        "alertmanager": {"alerts_in_slack": am.shown, "messages": am.messages, "rejected_429": am.rejected_429},
        "fence": {"alerts_in_slack": fence.shown, "messages": fence.messages, "rejected_429": fence.rejected_429, "all_counted_after_seconds": all},
    }))
}

/// Starts Alertmanager routing to the fake Slack's webhook `am` and waits until it is ready; returns it and its URL.
async fn start_alertmanager(
    am_bin: &str,
    scratch: &Scratch,
    slack: &FakeSlack,
    http: &reqwest::Client,
) -> anyhow::Result<(Child, String)> {
    let am_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let config = format!(
        "route:\n  receiver: slack\n  group_by: ['alertname', 'instance']\n  group_wait: 1s\n  group_interval: 5s\n  repeat_interval: 4h\nreceivers:\n- name: slack\n  slack_configs:\n  - api_url: '{}'\n    channel: '#security-alerts'\n    send_resolved: false\n",
        slack.webhook_url("am")
    );
    let cfg = scratch.0.join("alertmanager.yml");
    std::fs::write(&cfg, config)?;
    let am = std::process::Command::new(am_bin)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.path={}", scratch.0.join("am").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| {
            format!("cannot start {am_bin} (install Debian's prometheus-alertmanager)")
        })?;
    let am = Child(am);
    let am_url = format!("http://127.0.0.1:{am_port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http
        .get(format!("{am_url}/-/ready"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        anyhow::ensure!(
            Instant::now() < deadline,
            "alertmanager did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok((am, am_url))
}

/// All alerts in one API call to Alertmanager, then what Slack shows after the budget.
async fn through_alertmanager(
    am_bin: &str,
    scratch: &Scratch,
    slack: &FakeSlack,
    alerts: usize,
    seconds: u64,
) -> anyhow::Result<Side> {
    let http = reqwest::Client::new();
    let (am, am_url) = start_alertmanager(am_bin, scratch, slack, &http).await?;
    let payload: Vec<Value> = (0..alerts)
        .map(|i| json!({"labels": {"alertname": "CriticalVulnerability", "instance": format!("host{i}.example.com"), "severity": "critical"}, "annotations": {"summary": format!("SQL Injection in login form #{i}")}}))
        .collect();
    let start = Instant::now();
    let r = http
        .post(format!("{am_url}/api/v2/alerts"))
        .json(&payload)
        .send()
        .await?;
    anyhow::ensure!(
        r.status().is_success(),
        "alertmanager refused the alerts: {}",
        r.status()
    );
    tokio::time::sleep(Duration::from_secs(seconds).saturating_sub(start.elapsed())).await;
    let shown: usize = slack
        .accepted("am")
        .iter()
        .map(|m| firing_count(&m.body))
        .sum();
    let side = Side::measure(slack, "am", shown);
    drop(am);
    Ok(side)
}

/// One API call per alert to Fence, four at a time, as a scanner reporting findings one by one would; what Slack
/// shows within the budget and when every alert was shown.
async fn through_fence(
    bin: &Path,
    scratch: &Scratch,
    slack: &FakeSlack,
    alerts: usize,
    seconds: u64,
) -> anyhow::Result<(Side, Option<f64>)> {
    let fence = Fence::start(bin, &scratch.0, &scratch.sqlite_url()).await?;
    fence.channel(slack, "fence", json!({})).await?;
    let start = Instant::now();
    let mut running = tokio::task::JoinSet::new();
    for i in 0..alerts {
        while running.len() >= 4 {
            running.join_next().await;
        }
        let body = json!({"domain": format!("host{i}.example.com"), "title": format!("SQL Injection in login form #{i}"), "severity": "critical"});
        let (http, base) = (fence.http.clone(), fence.base.clone());
        running.spawn(async move {
            http.post(format!("{base}/api/v1/findings"))
                .bearer_auth(TOKEN)
                .json(&body)
                .send()
                .await
                .map(|r| r.status())
        });
    }
    while running.join_next().await.is_some() {}
    let remaining = Duration::from_secs(seconds).saturating_sub(start.elapsed());
    let all = wait_counted(slack, &["fence".to_string()], alerts, remaining)
        .await
        .map(|_| start.elapsed().as_secs_f64());
    let shown = slack.findings_counted("fence");
    Ok((Side::measure(slack, "fence", shown), all))
}

fn print_table(alerts: usize, seconds: u64, am: &Side, fence: &Side, all: Option<f64>) {
    println!("{alerts} distinct critical alerts to one webhook (fake Slack enforcing 1 message/s), {seconds} s budget:");
    let row = |label: &str, am: &dyn std::fmt::Display, fence: &dyn std::fmt::Display| {
        println!("{label:<28} {am:>14} {fence:>14}");
    };
    row("", &"Alertmanager", &"Fence");
    row("alerts shown in Slack", &am.shown, &fence.shown);
    row("messages accepted", &am.messages, &fence.messages);
    row(
        "requests rejected (429)",
        &am.rejected_429,
        &fence.rejected_429,
    );
    row("largest message (bytes)", &am.largest, &fence.largest);
    let am_all = if am.shown >= alerts {
        "yes".to_string()
    } else {
        "not within budget".to_string()
    };
    let fence_all = all
        .map(|s| format!("{s:.2}"))
        .unwrap_or_else(|| "not within budget".into());
    row("all shown after (s)", &am_all, &fence_all);
}

/// Alertmanager's Slack title says `[FIRING:N]`.
fn firing_count(body: &Value) -> usize {
    let s = body.to_string();
    s.split("[FIRING:")
        .skip(1)
        .filter_map(|rest| rest.split(']').next()?.parse::<usize>().ok())
        .max()
        .unwrap_or(0)
}
