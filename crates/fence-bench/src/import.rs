//! The import scenario: scanner files posted to `POST /api/v1/import` of a fresh `fence serve` each, with the time to
//! the answer and the server's peak RSS above its idle RSS (`VmHWM` after the import, less `VmRSS` before it); and a
//! synthetic SARIF log of a given size written first when asked for.

use crate::fence::Fence;
use crate::scratch::Scratch;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Imports each file (and the synthetic log of `synthetic_mb` MB, unless 0) into its own fresh server.
pub async fn run(bin: &Path, files: &[PathBuf], synthetic_mb: u64) -> anyhow::Result<Value> {
    let scratch = Scratch::new("import")?;
    let mut files = files.to_vec();
    if synthetic_mb > 0 {
        let path = scratch.0.join(format!("synthetic-{synthetic_mb}mb.sarif"));
        let results = synthetic(&path, synthetic_mb * 1_000_000)?;
        println!("import: wrote {} ({results} results)", path.display());
        files.push(path);
    }
    let mut runs = Vec::new();
    for file in &files {
        runs.push(one(bin, file).await?);
    }
    Ok(Value::Array(runs))
}

/// The format a file is imported as: by its name.
fn format_of(file: &Path) -> &'static str {
    let name = file.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".sarif") {
        "sarif"
    } else if name.contains("dependabot") {
        "dependabot"
    } else {
        "nuclei"
    }
}

async fn one(bin: &Path, file: &Path) -> anyhow::Result<Value> {
    let s = Scratch::new("import-run")?;
    let fence = Fence::start(bin, &s.0, &s.sqlite_url()).await?;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    fence.reset_peak();
    let (idle, _) = fence.rss_mib();
    let bytes = std::fs::metadata(file)?.len();
    let format = format_of(file);
    let started = Instant::now();
    let body = reqwest::Body::from(tokio::fs::File::open(file).await?);
    let r = fence
        .http
        .post(format!("{}/api/v1/import", fence.base))
        .query(&[("format", format), ("domain", "bench.example.com")])
        .bearer_auth(crate::fence::TOKEN)
        .body(body)
        .send()
        .await?;
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    let secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        status.is_success(),
        "{} answered {status}: {v}",
        file.display()
    );
    let (_, peak) = fence.rss_mib();
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let results = v["results"]["results"].as_u64().unwrap_or(0);
    let stored = v["imported"].as_u64().unwrap_or(0);
    println!(
        "import [{name}]: {:.1} MB, {results} results, {stored} findings: {secs:.2} s; RSS idle {idle:.1} MiB, peak {peak:.1} MiB (+{:.1} MiB)",
        bytes as f64 / 1e6,
        peak - idle
    );
    Ok(
        json!({"file": name, "format": format, "bytes": bytes, "results": results, "findings": stored,
              "seconds": secs, "idle_rss_mib": idle, "peak_rss_mib": peak, "above_idle_mib": peak - idle}),
    )
}

/// Writes a SARIF log of about `bytes` bytes: 50 rules with Markdown help, and results of about 1 KB each (message,
/// location with a snippet, fingerprints), as CodeQL writes them. Returns how many results it holds.
fn synthetic(path: &Path, bytes: u64) -> anyhow::Result<u64> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let rules: Vec<Value> = (0..50)
        .map(|r| {
            json!({"id": format!("py/rule-{r}"), "name": format!("Rule{r}"),
                "shortDescription": {"text": format!("Problem number {r} in request handling")},
                "fullDescription": {"text": "Building a query or command from user-controlled input lets an attacker change its meaning. ".repeat(3)},
                "help": {"markdown": format!("# Fix {r}\n\n| do | don't |\n|---|---|\n| bind parameters | concatenate |\n\n{}", "Use the driver's parameter binding instead of building strings. ".repeat(8))},
                "properties": {"tags": ["security", format!("external/cwe/cwe-{}", 79 + r)], "security-severity": format!("{}.{}", 4 + r % 6, r % 10)}})
        })
        .collect();
    let head =
        json!({"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json"});
    let head = head.to_string();
    write!(
        out,
        "{},\"runs\":[{{\"tool\":{},\"results\":[",
        &head[..head.len() - 1],
        json!({"driver": {"name": "CodeQL", "rules": rules}})
    )?;
    let mut written = 0u64;
    let mut n = 0u64;
    while written < bytes {
        let r = n % 50;
        let result = json!({
            "ruleId": format!("py/rule-{r}"), "ruleIndex": r, "level": "error",
            "message": {"text": format!("User-provided value flows into a query in handler_{n} without sanitization; the value reaches the sink through 3 steps (see the related locations for the path {n}).")},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": format!("app/module_{}/views_{}.py", n / 1000, n % 1000), "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 10 + n % 400, "startColumn": 5, "endColumn": 60,
                    "snippet": {"text": format!("    cursor.execute(\"SELECT * FROM items WHERE id = \" + request.args[\"id{n}\"])")}}}}],
            "partialFingerprints": {"primaryLocationLineHash": format!("{:016x}:1", n.wrapping_mul(0x9E37_79B9_7F4A_7C15))},
            "properties": {"precision": "high", "tags": ["security"]}
        });
        let text = result.to_string();
        if n > 0 {
            out.write_all(b",")?;
        }
        out.write_all(text.as_bytes())?;
        written += text.len() as u64 + 1;
        n += 1;
    }
    out.write_all(b"]}]}")?;
    out.flush()?;
    Ok(n)
}
