//! `fence intel import kev|epss FILE`: an exploitability feed loaded into the local database, or sent to a running
//! Fence (`--server`, `--token`) as `POST /api/v1/intel/{kev,epss}`; either way the stored feed is replaced at once.

use anyhow::Context;
use fence_server::config::Config;
use fence_server::services::intel::{import_file, Feed};
use fence_server::{App, SystemClock};
use std::sync::Arc;

fn print(entries: usize, matched: i64, newly: usize, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({"entries": entries, "matched_open_findings": matched, "newly_flagged": newly})
        );
    } else {
        println!("{entries} entries loaded; {matched} open findings match; {newly} newly known exploited");
    }
}

pub async fn import_remote(
    feed: &str,
    file: &std::path::Path,
    server: &str,
    token: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let feed = Feed::parse(feed).map_err(anyhow::Error::msg)?;
    let token = token.context("--token (or FENCE_TOKEN) is required with --server")?;
    let body = tokio::fs::read(file)
        .await
        .with_context(|| format!("cannot read {}", file.display()))?;
    let url = format!(
        "{}/api/v1/intel/{}",
        server.trim_end_matches('/'),
        feed.as_str()
    );
    let resp = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .context("cannot reach the server")?;
    let status = resp.status();
    let v: serde_json::Value = resp.json().await.unwrap_or_default();
    anyhow::ensure!(
        status.is_success(),
        "the server refused the feed ({status}): {} {}",
        v["error"]["field"].as_str().unwrap_or_default(),
        v["error"]["message"].as_str().unwrap_or_default()
    );
    print(
        v["entries"].as_u64().unwrap_or(0) as usize,
        v["matched_open_findings"].as_i64().unwrap_or(0),
        v["newly_flagged"].as_u64().unwrap_or(0) as usize,
        json,
    );
    Ok(())
}

pub async fn import_local(
    config: Config,
    feed: &str,
    file: &std::path::Path,
    json: bool,
) -> anyhow::Result<()> {
    let feed = Feed::parse(feed).map_err(anyhow::Error::msg)?;
    let (app, _) = App::build(config, Arc::new(SystemClock)).await?;
    let load = import_file(&app.state, feed, file, None)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
    print(
        load.entries,
        load.matched_open_findings,
        load.newly_flagged,
        json,
    );
    Ok(())
}
