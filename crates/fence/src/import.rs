//! `fence import`: a scanner's output file read with a progress bar, then uploaded to a running Fence (`--server`)
//! or imported into the local database as one completed scan.

use anyhow::Context;
use fence_server::config::Config;
use fence_server::{App, SystemClock};
use std::sync::Arc;

/// A one-line progress bar on standard error: `reading nuclei.jsonl [##########··········]  50%  5.0/10.0 MiB`.
struct Progress {
    label: String,
    total: u64,
    done: u64,
    shown: Option<u64>,
}

impl Progress {
    fn new(label: String, total: u64) -> Self {
        Progress {
            label,
            total: total.max(1),
            done: 0,
            shown: None,
        }
    }

    fn advance(&mut self, n: u64) {
        self.done = (self.done + n).min(self.total);
        let pct = self.done * 100 / self.total;
        if self.shown == Some(pct) {
            return;
        }
        self.shown = Some(pct);
        let filled = (pct / 5) as usize;
        let mib = |b: u64| b as f64 / 1_048_576.0;
        eprint!(
            "\r{} [{}{}] {pct:>3}%  {:.1}/{:.1} MiB",
            self.label,
            "#".repeat(filled),
            "·".repeat(20 - filled),
            mib(self.done),
            mib(self.total)
        );
        if self.done >= self.total {
            eprintln!();
        }
    }
}

fn read_with_progress(file: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let mut f =
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut bar = Progress::new(format!("reading {}", file.display()), size);
    let mut out = Vec::with_capacity(size as usize);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", file.display()))?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        bar.advance(n as u64);
    }
    bar.advance(0);
    if size == 0 {
        eprintln!();
    }
    Ok(out)
}

/// What a file is imported as: its format, the domain it is about, and whether findings it no longer reports close.
pub struct Target<'a> {
    pub format: &'a str,
    pub domain: &'a str,
    pub close_missing: bool,
}

impl<'a> Target<'a> {
    /// From the command line: `--no-close` keeps open what the file does not report.
    pub fn new(format: &'a str, domain: &'a str, no_close: bool) -> Self {
        Target {
            format,
            domain,
            close_missing: !no_close,
        }
    }
}

pub async fn import_remote(
    file: &std::path::Path,
    target: &Target<'_>,
    server: &str,
    token: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let token = token.context("--token (or FENCE_TOKEN) is required with --server")?;
    let body = read_with_progress(file)?;
    let total = body.len() as u64;
    let mut bar = Progress::new(format!("uploading to {server}"), total);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let stream = futures_util::stream::iter(chunks.into_iter().inspect(move |c| {
        if let Ok(chunk) = c {
            bar.advance(chunk.len() as u64);
        }
    }));
    let url = format!("{}/api/v1/import", server.trim_end_matches('/'));
    let resp = reqwest::Client::new()
        .post(url)
        .query(&[
            ("format", target.format),
            ("domain", target.domain),
            (
                "close_missing",
                if target.close_missing {
                    "true"
                } else {
                    "false"
                },
            ),
        ])
        .bearer_auth(token)
        .header("content-length", total)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach {server}: {}", e.without_url()))?;
    let status = resp.status();
    let v: serde_json::Value = resp.json().await.unwrap_or_default();
    if !status.is_success() {
        anyhow::bail!(
            "{}",
            v["error"]["message"]
                .as_str()
                .unwrap_or("the import was refused")
        );
    }
    print_import(&v, json);
    Ok(())
}

pub async fn import_local(
    config: Config,
    file: &std::path::Path,
    target: &Target<'_>,
    org: &str,
    json: bool,
) -> anyhow::Result<()> {
    let body = read_with_progress(file)?;
    let (app, _) = App::build(config, Arc::new(SystemClock)).await?;
    let org = app
        .state
        .store
        .org_by_name(org)
        .await
        .map_err(|_| anyhow::anyhow!("no organization named {org:?}"))?;
    eprintln!("importing…");
    let scans = fence_server::services::scans::import_file;
    let (format, domain) = (target.format, target.domain);
    let scan = scans(
        &app.state,
        &org.id,
        "cli",
        format,
        domain,
        &body,
        target.close_missing,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
    let v = serde_json::to_value(fence_server::services::scans::view(&app.state, &scan).await)?;
    print_import(&v, json);
    eprintln!("alerts are sent by `fence serve`");
    Ok(())
}

fn print_import(v: &serde_json::Value, json: bool) {
    if json {
        println!("{v}");
        return;
    }
    let c = &v["counts"];
    println!(
        "imported scan {} of {}: {} critical, {} high, {} medium, {} low, {} info",
        v["id"].as_str().unwrap_or("?"),
        v["domain"].as_str().unwrap_or("?"),
        c["critical"],
        c["high"],
        c["medium"],
        c["low"],
        c["info"]
    );
    let r = &v["results"];
    if r.is_object() {
        println!(
            "{} results in the file: {} new, {} duplicate, {} merged, {} suppressed in the file, {} not a result; {} closed",
            r["results"], r["new"], r["duplicate"], r["merged"], r["suppressed"], r["not_results"], r["closed"]
        );
        for why in r["merged_why"].as_array().into_iter().flatten() {
            println!("  merged: {}", why.as_str().unwrap_or("?"));
        }
    }
}
