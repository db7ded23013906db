//! `fence-bench`: load measurements of a real `fence serve` child process against the test kit's fake Slack, which
//! enforces Slack's one message per second per webhook with 429s. Also runs the same burst through Prometheus
//! Alertmanager for comparison. Numbers and commands are recorded in BENCHMARKS.md.

#![cfg_attr(test, allow(clippy::too_many_lines))] // test scenarios and tables read top to bottom

mod alertmanager;
mod burst;
mod certificates;
mod fence;
mod fleet;
mod growth;
mod import;
mod ingest;
mod intel;
mod latency;
mod load;
mod recovery;
mod scaleout;
mod scratch;

use clap::{Parser, Subcommand};
use serde_json::Value;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "fence-bench",
    about = "Measure ingest, latency and bursts of a real `fence serve` against a fake Slack (see BENCHMARKS.md).",
    version
)]
struct Cli {
    #[command(subcommand)]
    what: Option<What>,
    /// Also measure ingest on PostgreSQL (a fresh database is created on this server).
    #[arg(long, global = true)]
    postgres: Option<String>,
    /// Findings in a burst.
    #[arg(long, global = true, default_value_t = 10_000)]
    burst: usize,
    /// The `fence` binary to start (default: `fence` next to this executable).
    #[arg(long, global = true, env = "FENCE_BIN")]
    fence_bin: Option<PathBuf>,
    /// Configuration for every server started, as `FENCE_…=value` (repeatable), e.g. `FENCE_CACHE__ALERTS=0`.
    #[arg(long = "server-env", global = true, value_parser = parse_env)]
    server_env: Vec<(String, String)>,
    /// Machine-readable output: the whole report as one JSON object at the end.
    #[arg(long, global = true)]
    json: bool,
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
    /// The burst to `channels` channels that each have a custom template (which renders bursts too).
    Templated {
        #[arg(long, default_value_t = 100)]
        channels: usize,
        /// The same channels without the template, for comparison.
        #[arg(long)]
        no_template: bool,
    },
    /// Cost as history grows: findings in steps up to `findings`; after each step memory, the step's ingest rate and
    /// p50/p99 of the main reads (SQLite; PostgreSQL with `--postgres`).
    Growth {
        #[arg(long, default_value_t = 1_000_000)]
        findings: usize,
        #[arg(long, default_value_t = 100_000)]
        step: usize,
        /// Requests per read and step.
        #[arg(long, default_value_t = 1000)]
        samples: usize,
        /// Also time the reads while another client ingests 5,000 findings/s.
        #[arg(long)]
        under_ingest: bool,
    },
    /// A destination down for `outage` seconds (`--mode unavailable|blackhole`) while `--burst` findings
    /// arrive: attempts meanwhile, dead deliveries, and how soon after it recovers every finding is counted.
    Recovery {
        #[arg(long, value_enum, default_value = "unavailable")]
        mode: recovery::Outage,
        #[arg(long, default_value_t = 60)]
        outage: u64,
    },
    /// PostgreSQL restarted under a running server (`--postgres` required, and the rights to run `pg_ctlcluster`):
    /// how soon a finding is accepted and counted in Slack again.
    PostgresRestart {
        /// The local cluster, VERSION/NAME.
        #[arg(long, default_value = "15/main")]
        cluster: String,
    },
    /// Two or more processes on PostgreSQL (`--postgres` required): takeover of a killed sender's destination,
    /// idle latency with findings posted to either of two processes.
    Scaleout {
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        #[arg(long, default_value_t = 200)]
        samples: usize,
    },
    /// Many processes on one PostgreSQL (`--postgres` required): `--burst` findings posted to each in turn, one killed
    /// half-way, a digest due every minute: findings lost, pacing, digests per minute.
    Fleet {
        #[arg(long, default_value_t = 10)]
        processes: usize,
        #[arg(long, default_value_t = 20)]
        channels: usize,
        /// `database_max_connections` of each process.
        #[arg(long, default_value_t = 8)]
        pool: u32,
        #[arg(long, default_value_t = 2)]
        digest_minutes: u64,
    },
    /// `--burst` findings to `channels` channels spread over `workspaces` workspaces, Slack answering in 100–300 ms.
    Channels {
        #[arg(long, default_value_t = 1000)]
        channels: usize,
        #[arg(long, default_value_t = 10)]
        workspaces: usize,
    },
    /// Full-size synthetic exploitability feeds (KEV JSON, EPSS CSV) loaded and reloaded: time, peak memory, and the
    /// ingest rate with both loaded.
    Intel {
        #[arg(long, default_value_t = 1_500)]
        kev: usize,
        #[arg(long, default_value_t = 300_000)]
        epss: usize,
    },
    /// The certificate monitor over `domains` monitored domains, `blackholed`% of them never answering.
    Certificates {
        #[arg(long, default_value_t = 10_000)]
        domains: usize,
        #[arg(long, default_value_t = 10)]
        blackholed: usize,
    },
    /// Scanner files through `POST /api/v1/import`, each into a fresh server: time and peak RSS above idle.
    Import {
        /// Files to import (the format is taken from the name: `.sarif`, `…dependabot…`, else nuclei).
        files: Vec<PathBuf>,
        /// Also write and import a synthetic SARIF log of this many MB (0: none).
        #[arg(long, default_value_t = 100)]
        synthetic_mb: u64,
    },
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

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

impl Cli {
    /// `--postgres`, which the scenario `what` needs.
    fn postgres_url(&self, what: &str) -> anyhow::Result<&str> {
        self.postgres
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("{what} needs --postgres URL"))
    }
}

/// `KEY=VALUE` with a `FENCE_` key.
fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if k.starts_with("FENCE_") => Ok((k.to_string(), v.to_string())),
        _ => Err("expected FENCE_KEY=value".into()),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let _ = fence::SERVER_ENV.set(cli.server_env.clone());
    let bin = fence::locate(cli.fence_bin.as_deref())?;
    let what = cli.what.clone().unwrap_or(What::All);
    let mut report = serde_json::Map::new();
    let all = matches!(what, What::All);
    if all || matches!(what, What::Ingest) {
        report.insert(
            "ingest".into(),
            ingest::run(&bin, cli.postgres.as_deref()).await?,
        );
    }
    if all || matches!(what, What::Latency) {
        report.insert("latency".into(), latency::run(&bin).await?);
    }
    if all || matches!(what, What::Burst) {
        report.insert("burst_1".into(), burst::burst(&bin, 1, cli.burst).await?);
        report.insert(
            "burst_100".into(),
            burst::burst(&bin, 100, cli.burst).await?,
        );
    }
    if let What::Templated {
        channels,
        no_template,
    } = &what
    {
        let result = if *no_template {
            burst::burst(&bin, *channels, cli.burst).await?
        } else {
            burst::templated(&bin, *channels, cli.burst).await?
        };
        report.insert("burst_templated".into(), result);
    }
    if all || matches!(what, What::Kill) {
        report.insert("kill".into(), burst::kill(&bin, cli.burst).await?);
    }
    one_off(&what, &bin, &cli, &mut report).await?;
    if cli.json {
        println!("{}", Value::Object(report));
    }
    Ok(())
}

/// The scenarios `all` leaves out, each run only when named.
async fn one_off(
    what: &What,
    bin: &std::path::Path,
    cli: &Cli,
    report: &mut serde_json::Map<String, Value>,
) -> anyhow::Result<()> {
    let bin = bin.to_path_buf();
    if let What::Growth {
        findings,
        step,
        samples,
        under_ingest,
    } = what
    {
        report.insert(
            "growth".into(),
            growth::run(
                &bin,
                *findings,
                (*step).max(1000),
                (*samples).max(1),
                cli.postgres.as_deref(),
                *under_ingest,
            )
            .await?,
        );
    }
    scale(what, &bin, cli, report).await?;
    if let What::Recovery { mode, outage } = what {
        report.insert(
            "recovery".into(),
            recovery::run(&bin, *mode, *outage, cli.burst).await?,
        );
    }
    if let What::Import {
        files,
        synthetic_mb,
    } = what
    {
        report.insert(
            "import".into(),
            import::run(&bin, files, *synthetic_mb).await?,
        );
    }
    if let What::Alertmanager {
        bin: am_bin,
        alerts,
        seconds,
    } = what
    {
        let am = alertmanager::run(&bin, am_bin, *alerts, *seconds).await?;
        report.insert("alertmanager".into(), am);
    }
    Ok(())
}

/// The scale scenarios: processes, PostgreSQL restarts, many channels, many certificates.
async fn scale(
    what: &What,
    bin: &std::path::Path,
    cli: &Cli,
    report: &mut serde_json::Map<String, Value>,
) -> anyhow::Result<()> {
    let bin = bin.to_path_buf();
    if let What::Scaleout { rounds, samples } = what {
        let pg = cli.postgres_url("scaleout")?;
        report.insert(
            "scaleout".into(),
            scaleout::run(&bin, pg, (*rounds).max(1), (*samples).max(1)).await?,
        );
    }
    if let What::Fleet {
        processes,
        channels,
        pool,
        digest_minutes,
    } = what
    {
        let pg = cli.postgres_url("fleet")?;
        let f = fleet::Fleet {
            processes: *processes,
            channels: *channels,
            findings: cli.burst,
            pool: *pool,
            digest_minutes: *digest_minutes,
        };
        report.insert("fleet".into(), fleet::run(&bin, pg, &f).await?);
    }
    if let What::Channels {
        channels,
        workspaces,
    } = what
    {
        report.insert(
            "channels".into(),
            burst::channels(&bin, *channels, *workspaces, cli.burst).await?,
        );
    }
    if let What::Intel { kev, epss } = what {
        report.insert("intel".into(), intel::run(&bin, *kev, *epss).await?);
    }
    if let What::Certificates {
        domains,
        blackholed,
    } = what
    {
        report.insert(
            "certificates".into(),
            certificates::run(&bin, *domains, (*blackholed).min(100)).await?,
        );
    }
    if let What::PostgresRestart { cluster } = what {
        let pg = cli.postgres_url("postgres-restart")?;
        report.insert(
            "postgres_restart".into(),
            recovery::postgres_restart(&bin, pg, cluster).await?,
        );
    }
    Ok(())
}
