//! The `intel` scenario: full-size synthetic feeds — a KEV catalog of 1,500 entries and 300,000 EPSS rows — loaded
//! into a fresh server, then loaded again unchanged; time and peak RSS above idle of each load, the resident memory
//! after them, and the ingest rate of findings whose CVEs are in both feeds.

use crate::fence::{Fence, TOKEN};
use crate::load::post_batches;
use crate::scratch::Scratch;
use fence_testkit::FakeSlack;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Instant;

/// The `i`th synthetic CVE id: unique for every `i` below 900,000.
fn cve(i: usize) -> String {
    format!("CVE-{}-{:05}", 2000 + i / 90_000, 10_000 + i % 90_000)
}

fn kev(n: usize) -> Vec<u8> {
    let list: Vec<Value> = (0..n)
        .map(|i| {
            json!({"cveID": cve(i * 200), "vendorProject": "Vendor", "product": "Product",
                   "vulnerabilityName": "A synthetic vulnerability", "dateAdded": "2024-05-01",
                   "shortDescription": "Synthetic.", "requiredAction": "Apply updates.", "dueDate": "2024-05-22",
                   "knownRansomwareCampaignUse": if i % 10 == 0 { "Known" } else { "Unknown" }, "notes": "", "cwes": ["CWE-78"]})
        })
        .collect();
    json!({"catalogVersion": "2024.05.01", "dateReleased": "2024-05-01T00:00:00.000Z", "count": n, "vulnerabilities": list})
        .to_string()
        .into_bytes()
}

fn epss(n: usize) -> Vec<u8> {
    let mut s = String::from(
        "#model_version:v2023.03.01,score_date:2024-05-01T00:00:00+0000\ncve,epss,percentile\n",
    );
    for i in 0..n {
        let score = (i % 1000) as f64 / 1000.0;
        s.push_str(&format!("{},{score:.5},{score:.5}\n", cve(i)));
    }
    s.into_bytes()
}

async fn load(fence: &Fence, feed: &str, body: Vec<u8>) -> anyhow::Result<(f64, f64, Value)> {
    fence.reset_peak();
    let before = fence.rss_mib().0;
    let start = Instant::now();
    let r = fence
        .http
        .post(format!("{}/api/v1/intel/{feed}", fence.base))
        .bearer_auth(TOKEN)
        .body(body)
        .send()
        .await?;
    let secs = start.elapsed().as_secs_f64();
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "{feed} answered {status}: {v}");
    Ok((secs, fence.rss_mib().1 - before, v))
}

pub async fn run(bin: &Path, kev_entries: usize, epss_rows: usize) -> anyhow::Result<Value> {
    let s = Scratch::new("intel")?;
    let slack = FakeSlack::start().await?;
    let fence = Fence::start(bin, &s.0, &s.sqlite_url()).await?;
    fence.channel(&slack, "intel", json!({})).await?;
    let idle = fence.rss_mib().0;
    let (kev_s, kev_peak, _) = load(&fence, "kev", kev(kev_entries)).await?;
    let (epss_s, epss_peak, v) = load(&fence, "epss", epss(epss_rows)).await?;
    let (again_s, _, _) = load(&fence, "epss", epss(epss_rows)).await?;
    let after = fence.rss_mib().0;
    println!("intel: KEV {kev_entries} entries in {kev_s:.2} s (peak +{kev_peak:.1} MiB); EPSS {epss_rows} rows in {epss_s:.2} s (peak +{epss_peak:.1} MiB), unchanged again in {again_s:.2} s; RSS idle {idle:.1} MiB, after {after:.1} MiB ({v})");
    // Ingest with both feeds loaded: every finding's CVE is in the EPSS feed, one in 200 in the KEV catalog.
    let total = 20_000;
    let bodies: Vec<Vec<u8>> = (0..total / 1000)
        .map(|b| {
            let findings: Vec<Value> = (0..1000)
                .map(|i| {
                    let n = b * 1000 + i;
                    json!({"domain": format!("d{}.example.com", n % 500), "title": format!("Synthetic finding {n}"),
                           "severity": "high", "cve": cve(n)})
                })
                .collect();
            json!({"findings": findings}).to_string().into_bytes()
        })
        .collect();
    let secs = post_batches(&fence, bodies, 4).await?;
    let rate = total as f64 / secs;
    println!("intel: ingest with both feeds loaded: {total} findings with CVEs in {secs:.2} s = {rate:.0} findings/s");
    Ok(json!({
        "kev": {"entries": kev_entries, "seconds": kev_s, "peak_above_idle_mib": kev_peak},
        "epss": {"rows": epss_rows, "seconds": epss_s, "peak_above_idle_mib": epss_peak, "reload_unchanged_seconds": again_s},
        "rss_idle_mib": idle, "rss_after_mib": after,
        "ingest_findings_per_second": rate,
    }))
}
