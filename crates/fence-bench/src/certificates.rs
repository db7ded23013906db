//! The certificate monitor at size: `domains` monitored domains, `blackholed`% of them on a port that accepts
//! connections and never answers (each such check waits out Fence's 10 s timeout), the rest on a local TLS server.
//! Measures how long the monitor's pass takes from its first check to its last, and the server's memory.

use crate::fence::{Fence, TOKEN};
use crate::scratch::Scratch;
use fence_testkit::tls::{blackhole_on, leaf, tls_server_on};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// The monitor's two counters from `/metrics`: checked, could not check.
async fn counters(fence: &Fence) -> anyhow::Result<(u64, u64)> {
    Ok((
        fence.counter("fence_certificate_checks_total").await?,
        fence
            .counter("fence_certificate_check_failures_total")
            .await?,
    ))
}

pub async fn run(bin: &Path, domains: usize, blackholed_percent: usize) -> anyhow::Result<Value> {
    let scratch = Scratch::new("certificates")?;
    let (cert, key) = leaf(None, &["localhost"], -30, 60);
    let tls = tls_server_on("0.0.0.0", cert, key, "").await;
    // On every loopback address, like the TLS server: the names are 127.1.x.y.
    let silent = blackhole_on("0.0.0.0").await;
    let fence = Fence::start_with(
        bin,
        &scratch.0,
        &scratch.sqlite_url(),
        &[("FENCE_SCAN__ALLOW_PRIVATE_TARGETS", "true")],
    )
    .await?;
    let blackholed = domains * blackholed_percent / 100;
    // Names are loopback addresses (127.0.0.0/8 all reach this machine), one per domain.
    let bodies: Vec<Value> = (0..domains)
        .map(|i| {
            let port = if i % 100 < blackholed_percent {
                silent
            } else {
                tls
            };
            let name = format!("127.{}.{}.{}", 1 + i / 65_536, (i / 256) % 256, i % 256);
            json!({"name": name, "port": port, "monitor_certificates": true})
        })
        .collect();
    let created = Instant::now();
    let mut running = tokio::task::JoinSet::new();
    for chunk in bodies.chunks(domains.div_ceil(8).max(1)) {
        let (http, base, chunk) = (fence.http.clone(), fence.base.clone(), chunk.to_vec());
        running.spawn(async move {
            for body in chunk {
                let r = http
                    .post(format!("{base}/api/v1/domains"))
                    .bearer_auth(TOKEN)
                    .json(&body)
                    .send()
                    .await?;
                anyhow::ensure!(r.status() == 201, "domain answered {}", r.status());
            }
            Ok(())
        });
    }
    while let Some(r) = running.join_next().await {
        r??;
    }
    println!(
        "{domains} domains created in {:.1} s; waiting for the monitor's next pass (once a minute)",
        created.elapsed().as_secs_f64()
    );
    let deadline = Instant::now() + Duration::from_secs(30 * 60);
    let mut first = None;
    let (checked, failed) = loop {
        let (ok, bad) = counters(&fence).await?;
        if first.is_none() && ok + bad > 0 {
            first = Some(Instant::now());
        }
        if ok + bad >= domains as u64 || Instant::now() > deadline {
            break (ok, bad);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let secs = first.map_or(f64::NAN, |f| f.elapsed().as_secs_f64());
    let (_, peak) = fence.rss_mib();
    println!(
        "certificate monitor: {domains} domains ({blackholed} blackholed): {checked} checked, {failed} could not be checked, in {secs:.1} s from the first check to the last; peak RSS {peak:.1} MiB"
    );
    Ok(
        json!({"domains": domains, "blackholed": blackholed, "checked": checked, "failed": failed, "seconds": secs, "peak_rss_mib": peak}),
    )
}
