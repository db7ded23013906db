//! The fleet scenario on PostgreSQL: many `fence serve` processes on one database (each pool sized to fit its
//! `max_connections`), a burst posted to all of them in turn with one of them killed half-way, and a digest due every
//! minute. Checked, not timed: every finding counted in every channel, no two messages to one webhook closer than
//! the pace allows (the fake answers 429 to those), and exactly one digest per channel per minute.

use crate::fence::Fence;
use crate::load::{batch_bytes, post_batches, wait_counted};
use crate::scratch::{fresh_postgres, Scratch};
use fence_testkit::FakeSlack;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// What the fleet is asked to do.
pub struct Fleet {
    pub processes: usize,
    pub channels: usize,
    pub findings: usize,
    /// `database_max_connections` of each process.
    pub pool: u32,
    /// How many minutes of digests to wait for after the burst.
    pub digest_minutes: u64,
}

pub async fn run(bin: &Path, postgres: &str, f: &Fleet) -> anyhow::Result<Value> {
    let url = fresh_postgres(postgres).await?;
    let slack = FakeSlack::start().await?;
    slack.enforce_rate(1.0);
    // One data directory for every process: they share its secret key, as processes sharing a database must.
    let dir = Scratch::new("fleet")?;
    let pool = f.pool.to_string();
    let env = [("FENCE_DATABASE_MAX_CONNECTIONS", pool.as_str())];
    let mut fleet = Vec::new();
    for _ in 0..f.processes.max(2) {
        fleet.push(Some(Fence::start_with(bin, &dir.0, &url, &env).await?));
    }
    let first = fleet[0].as_ref().expect("started above");
    let hooks: Vec<String> = (0..f.channels).map(|i| format!("fleet{i}")).collect();
    for h in &hooks {
        first.channel(&slack, h, json!({})).await?;
    }
    let digest_hook = "fleetdigest";
    first
        .channel(
            &slack,
            digest_hook,
            json!({"alert_types": ["digest"], "digest": {"frequency": "cron", "cron": "* * * * *", "timezone": "UTC"}}),
        )
        .await?;
    let connections = postgres_connections(&url).await?;
    // The burst: batch i goes to process i mod n; half-way, process 1 is killed (its accepted batches must still
    // reach Slack, sent by the others once its leases lapse).
    let batches: Vec<Vec<u8>> = (0..f.findings.div_ceil(1000))
        .map(|b| batch_bytes("fleet", b * 1000, 1000.min(f.findings - b * 1000)))
        .collect();
    let half = batches.len() / 2;
    let start = Instant::now();
    let mut posted = 0;
    for (i, body) in batches.into_iter().enumerate() {
        if i == half {
            if let Some(victim) = fleet[1].take() {
                victim.kill9();
            }
        }
        let alive: Vec<&Fence> = fleet.iter().flatten().collect();
        let via = alive[i % alive.len()];
        post_batches(via, vec![body], 1).await?;
        posted += 1;
    }
    let counted = wait_counted(&slack, &hooks, f.findings, Duration::from_secs(180)).await;
    let counted_after = counted.map(|_| start.elapsed().as_secs_f64());
    let seen: Vec<usize> = hooks.iter().map(|h| slack.findings_counted(h)).collect();
    let lost: usize = seen.iter().map(|s| f.findings.saturating_sub(*s)).sum();
    let repeated: usize = seen.iter().map(|s| s.saturating_sub(f.findings)).sum();
    let min_gap_ms = hooks
        .iter()
        .filter_map(|h| min_gap(&slack, h))
        .fold(f64::INFINITY, f64::min);
    // Digests: wait for `digest_minutes` more minute boundaries, then count messages per minute.
    tokio::time::sleep(Duration::from_secs(60 * f.digest_minutes + 5)).await;
    let mut per_minute: BTreeMap<u64, usize> = BTreeMap::new();
    for r in slack.accepted(digest_hook) {
        let since = r.at.duration_since(start).as_secs_f64();
        let wall = now_unix() - (start.elapsed().as_secs_f64() - since);
        *per_minute.entry((wall / 60.0) as u64).or_default() += 1;
    }
    let digests: usize = per_minute.values().sum();
    let most_in_a_minute = per_minute.values().copied().max().unwrap_or(0);
    println!(
        "fleet of {} processes on PostgreSQL (pool {} each, {connections} connections open), {} channels, {} findings in {posted} batches spread over them, one killed half-way: every finding counted in every channel {} ({lost} lost, {repeated} repeated); closest two messages to one webhook {min_gap_ms:.0} ms apart; {} × 429; digests: {digests} in {} minutes, at most {most_in_a_minute} in one minute",
        fleet.len(),
        f.pool,
        f.channels,
        f.findings,
        counted_after.map(|s| format!("after {s:.2} s")).unwrap_or_else(|| "never".into()),
        slack.rejected_429(),
        per_minute.len(),
    );
    for p in fleet.into_iter().flatten() {
        p.kill9();
    }
    Ok(json!({
        "processes": f.processes, "pool": f.pool, "postgres_connections": connections, "channels": f.channels,
        "findings": f.findings, "seconds_until_all_counted": counted_after, "lost": lost, "repeated": repeated,
        "min_gap_ms": min_gap_ms, "rejected_429": slack.rejected_429(), "digests": digests,
        "digest_minutes": per_minute.len(), "most_digests_in_a_minute": most_in_a_minute,
    }))
}

/// The shortest time between two accepted messages of `hook`, in ms.
fn min_gap(slack: &FakeSlack, hook: &str) -> Option<f64> {
    let got = slack.accepted(hook);
    got.windows(2)
        .map(|w| w[1].at.duration_since(w[0].at).as_secs_f64() * 1000.0)
        .reduce(f64::min)
}

fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Connections open to the fleet's database.
async fn postgres_connections(url: &str) -> anyhow::Result<i64> {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    let db = url
        .rsplit('/')
        .next()
        .and_then(|d| d.split('?').next())
        .unwrap_or_default()
        .to_string();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = $1")
        .bind(db)
        .fetch_one(&mut conn)
        .await?;
    Ok(n)
}
