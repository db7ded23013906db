//! `fence bench`: load measurements of a real `fence serve` child process against the test kit's fake Slack, which
//! enforces Slack's one message per second per webhook with 429s. Also runs the same burst through Prometheus
//! Alertmanager for comparison. Numbers and commands are recorded in BENCHMARKS.md.

use anyhow::Context;
use clap::{Args, Subcommand};
use fence_testkit::FakeSlack;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-token-0123456789";

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: Option<What>,
    /// Also measure ingest on PostgreSQL (a fresh database is created on this server).
    #[arg(long, global = true)]
    postgres: Option<String>,
    /// Findings in a burst.
    #[arg(long, global = true, default_value_t = 10_000)]
    burst: usize,
}

#[derive(Subcommand, Debug, Clone)]
enum What {
    /// Everything below except `alertmanager`.
    All,
    /// Ingest throughput, batches of 1,000.
    Ingest,
    /// Idle latency from the API call to the message at Slack.
    Latency,
    /// A burst to 1 channel and to 100 channels.
    Burst,
    /// A burst with `kill -9` in the middle.
    Kill,
    /// The same burst through Prometheus Alertmanager and through Fence, side by side.
    Alertmanager {
        #[arg(long, default_value = "prometheus-alertmanager")]
        bin: String,
        #[arg(long, default_value_t = 1000)]
        alerts: usize,
        #[arg(long, default_value_t = 50)]
        seconds: u64,
    },
}

/// A `fence serve` child process.
struct Fence {
    child: std::process::Child,
    base: String,
    http: reqwest::Client,
}

impl Fence {
    async fn start(data_dir: &Path, database_url: &str) -> anyhow::Result<Fence> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let exe = std::env::current_exe().context("cannot find the fence binary")?;
        let mut cmd = std::process::Command::new(exe);
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("FENCE_")) {
            cmd.env_remove(k);
        }
        let child = cmd
            .arg("serve")
            .current_dir(data_dir)
            .env("FENCE_LISTEN", format!("127.0.0.1:{port}"))
            .env("FENCE_DATA_DIR", data_dir)
            .env("FENCE_DATABASE_URL", database_url)
            .env("FENCE_BOOTSTRAP_TOKEN", TOKEN)
            .env("FENCE_DELIVERY__WEBHOOK_HOSTS", "127.0.0.1:*")
            .env("FENCE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start fence serve")?;
        let f = Fence {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if f.http
                .get(format!("{}/readyz", f.base))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return Ok(f);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        anyhow::bail!("fence serve did not become ready")
    }

    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await?;
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            anyhow::bail!("{path} answered {status}: {v}");
        }
        Ok(v)
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await?
            .json()
            .await?)
    }

    async fn channel(&self, slack: &FakeSlack, hook: &str, extra: Value) -> anyhow::Result<()> {
        let mut body = json!({"name": hook, "webhook_url": slack.webhook_url(hook)});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            body[k] = v;
        }
        self.post("/api/v1/channels", &body).await.map(|_| ())
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// (current RSS, peak RSS) in MiB, from /proc.
    fn rss_mib(&self) -> (f64, f64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map(|kb| kb / 1024.0)
                .unwrap_or(0.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Fence {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch directory for one run, removed afterwards.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> anyhow::Result<Scratch> {
        let p = std::env::temp_dir().join(format!(
            "fence-bench-{name}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&p)?;
        Ok(Scratch(p))
    }
    fn sqlite_url(&self) -> String {
        format!("sqlite://{}", self.0.join("fence.db").display())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn fresh_postgres(base: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let name = format!("fence_bench_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::AnyConnection::connect(base)
        .await
        .context("cannot connect to --postgres")?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    let (prefix, rest) = base
        .rsplit_once('/')
        .context("--postgres needs a database path")?;
    let query = rest
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    Ok(format!("{prefix}/{name}{query}"))
}

fn batch_bytes(tag: &str, from: usize, n: usize) -> Vec<u8> {
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
async fn post_burst(
    fence: &Fence,
    tag: &str,
    total: usize,
    concurrency: usize,
) -> anyhow::Result<f64> {
    let bodies: Vec<Vec<u8>> = (0..total.div_ceil(1000))
        .map(|b| batch_bytes(tag, b * 1000, 1000.min(total - b * 1000)))
        .collect();
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

async fn wait_counted(
    slack: &FakeSlack,
    hooks: &[String],
    n: usize,
    timeout: Duration,
) -> Option<f64> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if hooks.iter().all(|h| slack.findings_counted(h) >= n) {
            return Some(start.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn ingest(database_url: &str, label: &str, scratch: &Scratch) -> anyhow::Result<Value> {
    let slack = FakeSlack::start().await?;
    let fence = Fence::start(&scratch.0, database_url).await?;
    fence.channel(&slack, "ingest", json!({})).await?;
    let total = 20_000;
    let secs = post_burst(&fence, "ingest", total, 4).await?;
    let rate = total as f64 / secs;
    println!("ingest [{label}]: {total} findings in batches of 1,000 (4 clients): {secs:.2} s = {rate:.0} findings/s");
    Ok(json!({"database": label, "findings": total, "seconds": secs, "findings_per_second": rate}))
}

async fn latency() -> anyhow::Result<Value> {
    let scratch = Scratch::new("latency")?;
    let slack = FakeSlack::start().await?;
    let fence = Fence::start(&scratch.0, &scratch.sqlite_url()).await?;
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
        let before = slack.accepted(&hook).len();
        let t0 = Instant::now();
        fence.post("/api/v1/findings", &json!({"domain": format!("lat{i}.example.com"), "title": format!("latency {s}"), "severity": "critical"})).await?;
        let got = slack
            .wait_accepted(&hook, before + 1, Duration::from_secs(10))
            .await;
        let at = got
            .get(before)
            .map(|r| r.at)
            .context("message did not arrive")?;
        lat.push(at.duration_since(t0).as_secs_f64() * 1000.0);
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

async fn burst(channels: usize, findings: usize) -> anyhow::Result<Value> {
    let scratch = Scratch::new("burst")?;
    let slack = FakeSlack::start().await?;
    slack.enforce_rate(1.0);
    let fence = Fence::start(&scratch.0, &scratch.sqlite_url()).await?;
    let hooks: Vec<String> = (0..channels).map(|i| format!("burst{i}")).collect();
    for h in &hooks {
        fence.channel(&slack, h, json!({})).await?;
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (idle_rss, _) = fence.rss_mib();
    let start = Instant::now();
    let waiter = {
        let (slack, hooks) = (slack.clone(), hooks.clone());
        tokio::spawn(async move {
            wait_counted(&slack, &hooks, findings, Duration::from_secs(300)).await
        })
    };
    let ingest_secs = post_burst(&fence, "burst", findings, 2).await?;
    let counted_after = waiter.await?.map(|_| start.elapsed().as_secs_f64());
    let messages: usize = hooks.iter().map(|h| slack.accepted(h).len()).sum();
    let (_, peak) = fence.rss_mib();
    let secs = counted_after.unwrap_or(f64::NAN);
    println!(
        "burst of {findings} to {channels} channel(s): every finding counted in Slack {secs:.2} s after the first POST (ingest took {ingest_secs:.2} s); {messages} messages; {} × 429; RSS idle {idle_rss:.1} MiB, peak {peak:.1} MiB",
        slack.rejected_429()
    );
    Ok(
        json!({"channels": channels, "findings": findings, "seconds_until_all_counted": counted_after, "ingest_seconds": ingest_secs, "messages": messages, "rejected_429": slack.rejected_429(), "idle_rss_mib": idle_rss, "peak_rss_mib": peak}),
    )
}

async fn kill(findings: usize) -> anyhow::Result<Value> {
    let scratch = Scratch::new("kill")?;
    let slack = FakeSlack::start().await?;
    slack.enforce_rate(1.0);
    let fence = Fence::start(&scratch.0, &scratch.sqlite_url()).await?;
    fence.channel(&slack, "kill", json!({})).await?;
    let half = findings / 2;
    post_burst(&fence, "before", half, 2).await?;
    fence.kill9();
    let fence = Fence::start(&scratch.0, &scratch.sqlite_url()).await?;
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

async fn alertmanager(bin: &str, alerts: usize, seconds: u64) -> anyhow::Result<Value> {
    let scratch = Scratch::new("alertmanager")?;
    let slack = FakeSlack::start().await?;
    slack.enforce_rate(1.0);
    let am_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let config = format!(
        "route:\n  receiver: slack\n  group_by: ['alertname', 'instance']\n  group_wait: 1s\n  group_interval: 5s\n  repeat_interval: 4h\nreceivers:\n- name: slack\n  slack_configs:\n  - api_url: '{}'\n    channel: '#security-alerts'\n    send_resolved: false\n",
        slack.webhook_url("am")
    );
    let cfg = scratch.0.join("alertmanager.yml");
    std::fs::write(&cfg, config)?;
    let mut am = std::process::Command::new(bin)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.path={}", scratch.0.join("am").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| {
            format!("cannot start {bin} (install Debian's prometheus-alertmanager)")
        })?;
    let http = reqwest::Client::new();
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
    let am_delivered: usize = slack
        .accepted("am")
        .iter()
        .map(|m| firing_count(&m.body))
        .sum();
    let am_messages = slack.accepted("am").len();
    let am_429 = slack
        .requests("am")
        .iter()
        .filter(|r| r.status == 429)
        .count();
    let _ = am.kill();
    let _ = am.wait();

    let fence = Fence::start(&scratch.0, &scratch.sqlite_url()).await?;
    fence.channel(&slack, "fence", json!({})).await?;
    let start = Instant::now();
    // One API call per alert, four at a time, as a scanner reporting findings one by one would.
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
    let all = wait_counted(&slack, &["fence".to_string()], alerts, remaining)
        .await
        .map(|_| start.elapsed().as_secs_f64());
    let fence_counted = slack.findings_counted("fence");
    let fence_messages = slack.accepted("fence").len();
    let fence_429 = slack
        .requests("fence")
        .iter()
        .filter(|r| r.status == 429)
        .count();
    let biggest = |hook: &str| {
        slack
            .accepted(hook)
            .iter()
            .map(|m| m.body.to_string().len())
            .max()
            .unwrap_or(0)
    };
    println!("{alerts} distinct critical alerts to one webhook (fake Slack enforcing 1 message/s), {seconds} s budget:");
    println!("{:<28} {:>14} {:>14}", "", "Alertmanager", "Fence");
    println!(
        "{:<28} {:>14} {:>14}",
        "alerts shown in Slack", am_delivered, fence_counted
    );
    println!(
        "{:<28} {:>14} {:>14}",
        "messages accepted", am_messages, fence_messages
    );
    println!(
        "{:<28} {:>14} {:>14}",
        "requests rejected (429)", am_429, fence_429
    );
    println!(
        "{:<28} {:>14} {:>14}",
        "largest message (bytes)",
        biggest("am"),
        biggest("fence")
    );
    println!(
        "{:<28} {:>14} {:>14}",
        "all shown after (s)",
        if am_delivered >= alerts {
            "yes".to_string()
        } else {
            "not within budget".to_string()
        },
        all.map(|s| format!("{s:.2}"))
            .unwrap_or_else(|| "not within budget".into())
    );
    Ok(json!({
        "alerts": alerts, "seconds": seconds,
        "alertmanager": {"alerts_in_slack": am_delivered, "messages": am_messages, "rejected_429": am_429},
        "fence": {"alerts_in_slack": fence_counted, "messages": fence_messages, "rejected_429": fence_429, "all_counted_after_seconds": all},
    }))
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

pub async fn run(args: BenchArgs, json_out: bool) -> anyhow::Result<()> {
    let what = args.what.clone().unwrap_or(What::All);
    let mut report = serde_json::Map::new();
    let all = matches!(what, What::All);
    if all || matches!(what, What::Ingest) {
        let s = Scratch::new("ingest")?;
        let mut runs = vec![ingest(&s.sqlite_url(), "sqlite", &s).await?];
        if let Some(pg) = &args.postgres {
            let s = Scratch::new("ingest-pg")?;
            runs.push(ingest(&fresh_postgres(pg).await?, "postgres", &s).await?);
        }
        report.insert("ingest".into(), Value::Array(runs));
    }
    if all || matches!(what, What::Latency) {
        report.insert("latency".into(), latency().await?);
    }
    if all || matches!(what, What::Burst) {
        report.insert("burst_1".into(), burst(1, args.burst).await?);
        report.insert("burst_100".into(), burst(100, args.burst).await?);
    }
    if all || matches!(what, What::Kill) {
        report.insert("kill".into(), kill(args.burst).await?);
    }
    if let What::Alertmanager {
        bin,
        alerts,
        seconds,
    } = &what
    {
        report.insert(
            "alertmanager".into(),
            alertmanager(bin, *alerts, *seconds).await?,
        );
    }
    if json_out {
        println!("{}", Value::Object(report));
    }
    Ok(())
}
