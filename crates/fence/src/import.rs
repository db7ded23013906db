//! `fence import`: a scanner's output file streamed to a running Fence (`--server`, with a progress bar) or imported
//! into the local database as one completed scan (read in passes, within `import.max_bytes`).

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

/// The file's size, or an error naming it.
fn size_of(file: &std::path::Path) -> anyhow::Result<u64> {
    let meta =
        std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?;
    anyhow::ensure!(meta.is_file(), "{} is not a file", file.display());
    Ok(meta.len())
}

/// The file as a stream of 256 KiB chunks, advancing `bar` as they are read (never the whole file in memory).
fn chunks_of(
    file: &std::path::Path,
    mut bar: Progress,
) -> anyhow::Result<impl futures_util::Stream<Item = std::io::Result<Vec<u8>>>> {
    use std::io::Read;
    let f = std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    Ok(futures_util::stream::unfold(Some(f), move |f| {
        let out = f.and_then(|mut f| {
            let mut buf = vec![0u8; 256 * 1024];
            match f.read(&mut buf) {
                Ok(0) => {
                    bar.advance(0);
                    None
                }
                Ok(n) => {
                    buf.truncate(n);
                    bar.advance(n as u64);
                    Some((Ok(buf), Some(f)))
                }
                Err(e) => Some((Err(e), None)),
            }
        });
        std::future::ready(out)
    }))
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
    let total = size_of(file)?;
    let bar = Progress::new(format!("uploading to {server}"), total);
    let stream = chunks_of(file, bar)?;
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
    let size = size_of(file)?;
    let max = config.import_max_bytes;
    anyhow::ensure!(
        size <= max,
        "{} is {size} bytes, larger than import.max_bytes ({max} bytes); raise import.max_bytes or split the file",
        file.display()
    );
    eprintln!(
        "reading {} ({:.1} MiB)",
        file.display(),
        size as f64 / 1_048_576.0
    );
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
        fence_server::services::scans::ImportBody::File(file.to_path_buf()),
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
