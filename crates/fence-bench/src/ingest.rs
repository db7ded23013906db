//! The ingest scenario: 20,000 findings in batches of 1,000 from 4 clients, on SQLite and optionally PostgreSQL.

use crate::fence::Fence;
use crate::load::post_burst;
use crate::scratch::{fresh_postgres, Scratch};
use fence_testkit::FakeSlack;
use serde_json::{json, Value};
use std::path::Path;

/// Measures ingest on SQLite, and on a fresh database of the `postgres` server when given.
pub async fn run(bin: &Path, postgres: Option<&str>) -> anyhow::Result<Value> {
    let s = Scratch::new("ingest")?;
    let mut runs = vec![ingest(bin, &s.sqlite_url(), "sqlite", &s).await?];
    if let Some(pg) = postgres {
        let s = Scratch::new("ingest-pg")?;
        runs.push(ingest(bin, &fresh_postgres(pg).await?, "postgres", &s).await?);
    }
    Ok(Value::Array(runs))
}

async fn ingest(
    bin: &Path,
    database_url: &str,
    label: &str,
    scratch: &Scratch,
) -> anyhow::Result<Value> {
    let slack = FakeSlack::start().await?;
    let fence = Fence::start(bin, &scratch.0, database_url).await?;
    fence.channel(&slack, "ingest", json!({})).await?;
    let total = 20_000;
    let secs = post_burst(&fence, "ingest", total, 4).await?;
    let rate = total as f64 / secs;
    println!("ingest [{label}]: {total} findings in batches of 1,000 (4 clients): {secs:.2} s = {rate:.0} findings/s");
    Ok(json!({"database": label, "findings": total, "seconds": secs, "findings_per_second": rate}))
}
