//! The `fence` command: serve, migrate, organizations, tokens, configuration checks and webhook checks.

mod bench;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use fence_core::{ChannelKind, Plan};
use fence_server::config::Config;
use fence_server::{App, Clock, SystemClock};
use fence_store::Store;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "fence",
    about = "Fence: security findings to Slack alerts, paced, durable and actionable.",
    version
)]
struct Cli {
    /// Configuration file (default: ./fence.toml when present).
    #[arg(long, global = true, env = "FENCE_CONFIG")]
    config: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the HTTP API and the delivery workers.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage users of the web UI.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Send a test message to a webhook URL and print Slack's answer with the troubleshooting hint.
    CheckWebhook {
        url: String,
        /// `slack` or `mattermost`.
        #[arg(long, default_value = "slack")]
        r#type: String,
    },
    /// Import a scanner's output file (SARIF, nuclei JSON lines, Dependabot alerts, Fence JSON) as one completed scan.
    Import {
        file: PathBuf,
        #[arg(long)]
        format: String,
        #[arg(long)]
        domain: String,
        /// Send to a running Fence instead of writing the local database.
        #[arg(long)]
        server: Option<String>,
        /// API token for --server (or FENCE_TOKEN).
        #[arg(long, env = "FENCE_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Organization, when writing the local database.
        #[arg(long, default_value = "default")]
        org: String,
    },
    /// Run the built-in checks (TLS certificate, security headers) against a domain and print the findings.
    Scan {
        domain: String,
        /// full, tls or headers.
        #[arg(long = "type", default_value = "full")]
        scan_type: String,
        #[arg(long, default_value_t = 443)]
        port: u16,
        #[arg(long, default_value_t = 80)]
        http_port: u16,
        /// Allow hosts that resolve to loopback, private or link-local addresses.
        #[arg(long)]
        allow_private: bool,
    },
    /// Print the version.
    Version,
    /// Measure ingest, latency and bursts of a real `fence serve` against a fake Slack (see BENCHMARKS.md).
    Bench(bench::BenchArgs),
}

#[derive(Subcommand, Debug)]
enum OrgCommand {
    /// Create an organization.
    Create {
        name: String,
        #[arg(long, default_value = "startup")]
        plan: String,
    },
    /// Change an organization's plan.
    SetPlan { name: String, plan: String },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        #[arg(long, default_value = "default")]
        org: String,
        #[arg(long)]
        email: String,
        /// admin, member or viewer.
        #[arg(long, default_value = "member")]
        role: String,
    },
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Create an API token; prints the token alone on stdout (it is shown only once).
    Create(TokenCreate),
}

#[derive(Args, Debug)]
struct TokenCreate {
    #[arg(long, default_value = "default")]
    org: String,
    /// Comma-separated: ingest, read, admin.
    #[arg(long, default_value = "ingest")]
    scopes: String,
    #[arg(long)]
    label: Option<String>,
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Validate the configuration and print it without secrets.
    Check,
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FENCE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    init_tracing();
    if let Err(e) = run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn open_store(config: &Config) -> anyhow::Result<Store> {
    if config.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create data_dir {}", config.data_dir.display()))?;
    }
    let store = Store::connect(&config.database_url)
        .await
        .context("cannot open the database (database_url)")?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    Ok(store)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Version = cli.command {
        if cli.json {
            println!(
                "{}",
                serde_json::json!({"version": env!("CARGO_PKG_VERSION")})
            );
        } else {
            println!("fence {}", env!("CARGO_PKG_VERSION"));
        }
        return Ok(());
    }
    if let Command::Bench(args) = cli.command {
        return bench::run(args, cli.json).await;
    }
    if let Command::Scan {
        domain,
        scan_type,
        port,
        http_port,
        allow_private,
    } = &cli.command
    {
        return scan(
            domain,
            scan_type,
            *port,
            *http_port,
            *allow_private,
            cli.json,
        )
        .await;
    }
    if let Command::Import {
        file,
        format,
        domain,
        server: Some(server),
        token,
        ..
    } = &cli.command
    {
        return import_remote(file, format, domain, server, token.as_deref(), cli.json).await;
    }
    let config = Config::load(cli.config.as_deref())?;
    let now = SystemClock.now_ms();
    match cli.command {
        Command::Serve => serve(config, cli.json).await,
        Command::Migrate => {
            open_store(&config).await?;
            println!(
                "{}",
                if cli.json {
                    serde_json::json!({"migrated": true}).to_string()
                } else {
                    "database is up to date".into()
                }
            );
            Ok(())
        }
        Command::Org(OrgCommand::Create { name, plan }) => {
            let plan = Plan::parse(&plan).map_err(anyhow::Error::msg)?;
            let store = open_store(&config).await?;
            let org = store.create_org(&name, plan.as_str(), now).await?;
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({"id": org.id, "name": org.name, "plan": org.plan})
                );
            } else {
                println!("created organization {} (plan {})", org.name, org.plan);
            }
            Ok(())
        }
        Command::Org(OrgCommand::SetPlan { name, plan }) => {
            let plan = Plan::parse(&plan).map_err(anyhow::Error::msg)?;
            let store = open_store(&config).await?;
            store
                .set_org_plan(&name, plan.as_str())
                .await
                .map_err(|e| match e {
                    fence_store::StoreError::NotFound => {
                        anyhow::anyhow!("no organization named {name:?}")
                    }
                    other => other.into(),
                })?;
            let count = store
                .count_channels(&store.org_by_name(&name).await?.id)
                .await?;
            if let Some(limit) = plan.channel_limit() {
                if count > i64::from(limit) {
                    eprintln!("note: {name} has {count} channels, above the {plan} plan's {limit}; they keep working, but no new channel can be added");
                }
            }
            println!(
                "{}",
                if cli.json {
                    serde_json::json!({"name": name, "plan": plan.as_str()}).to_string()
                } else {
                    format!("{name} is now on the {plan} plan")
                }
            );
            Ok(())
        }
        Command::User(UserCommand::Create { org, email, role }) => {
            let role = fence_core::Role::parse(&role)
                .map_err(|_| anyhow::anyhow!("--role must be admin, member or viewer"))?;
            let email = email.trim().to_ascii_lowercase();
            if !email.contains('@') || email.len() > 254 {
                anyhow::bail!("--email must be an email address");
            }
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("cannot read the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.chars().count() < 10 {
                anyhow::bail!("the password must have at least 10 characters");
            }
            let store = open_store(&config).await?;
            let org = store
                .org_by_name(&org)
                .await
                .map_err(|_| anyhow::anyhow!("no organization named {org:?}"))?;
            let hash = fence_server::crypto::hash_password(password).map_err(anyhow::Error::msg)?;
            store.create_user(&org.id, &email, &hash, role, now).await?;
            println!(
                "{}",
                if cli.json {
                    serde_json::json!({"email": email, "role": role, "org": org.name}).to_string()
                } else {
                    format!("created {role} {email} in {}", org.name)
                }
            );
            Ok(())
        }
        Command::Token(TokenCommand::Create(t)) => {
            let scopes = fence_core::Scope::parse_list(&t.scopes)
                .map_err(|e| anyhow::anyhow!("--scopes: {e}"))?;
            let store = open_store(&config).await?;
            let org = store.org_by_name(&t.org).await.map_err(|_| {
                anyhow::anyhow!("no organization named {:?} (fence org create NAME)", t.org)
            })?;
            let token = fence_server::crypto::new_token();
            store
                .create_token(&org.id, &token, &scopes, t.label.as_deref(), now)
                .await?;
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({"token": token, "org": org.name, "scopes": scopes})
                );
            } else {
                println!("{token}");
            }
            Ok(())
        }
        Command::Config(ConfigCommand::Check) => {
            let summary = serde_json::json!({
                "listen": config.listen,
                "base_url": config.base_url,
                "data_dir": config.data_dir.display().to_string(),
                "database": if config.database_url.starts_with("sqlite:") { "sqlite" } else { "postgres" },
                "secret_key": if config.secret_key.is_some() { "configured" } else { "generated in data_dir" },
                "bootstrap_token": config.bootstrap_token.is_some(),
                "default_plan": config.default_plan.as_str(),
                "slack": {"signing_secret": config.slack.signing_secret.is_some(), "oauth": config.slack.client_id.is_some(), "api_url": config.slack.api_url},
                "delivery": {"webhook_hosts": config.delivery.webhook_hosts, "rate_per_second": config.delivery.rate_per_second, "max_retry_age_seconds": config.delivery.max_retry_age.as_secs()},
                "scan": {"allow_private_targets": config.scan.allow_private_targets, "workers": config.scan.workers},
            });
            if cli.json {
                println!("{summary}");
            } else {
                println!(
                    "configuration is valid\n{}",
                    serde_json::to_string_pretty(&summary)?
                );
            }
            Ok(())
        }
        Command::CheckWebhook { url, r#type } => {
            check_webhook(&config, &url, &r#type, cli.json).await
        }
        Command::Import {
            file,
            format,
            domain,
            org,
            ..
        } => import_local(config, &file, &format, &domain, &org, cli.json).await,
        Command::Version | Command::Bench(_) | Command::Scan { .. } => Ok(()),
    }
}

async fn check_webhook(config: &Config, url: &str, kind: &str, json: bool) -> anyhow::Result<()> {
    let kind = ChannelKind::parse(kind).map_err(anyhow::Error::msg)?;
    let hosts = fence_slack::WebhookHosts::parse(&config.delivery.webhook_hosts)
        .map_err(anyhow::Error::msg)?;
    let url = fence_slack::WebhookUrl::parse(url, kind, &hosts)
        .map_err(|e| anyhow::anyhow!("webhook URL {e}"))?;
    let client = fence_slack::WebhookClient::new(std::time::Duration::from_secs(10))
        .map_err(anyhow::Error::msg)?;
    let outcome = client
        .post(
            &url,
            &fence_slack::render::test_message(kind, "Sent by `fence check-webhook`."),
        )
        .await;
    let (ok, error) = match &outcome {
        fence_slack::SendOutcome::Delivered => (true, None),
        fence_slack::SendOutcome::RateLimited { .. } => (false, Some("rate_limited".to_string())),
        fence_slack::SendOutcome::Retryable { error }
        | fence_slack::SendOutcome::ChannelBroken { error }
        | fence_slack::SendOutcome::PayloadRejected { error }
        | fence_slack::SendOutcome::Failed { error } => (false, Some(error.clone())),
    };
    let hint = error.as_deref().map(fence_slack::hint_for);
    if json {
        println!(
            "{}",
            serde_json::json!({"ok": ok, "webhook": url.hint(), "error": error, "hint": hint})
        );
    } else if ok {
        println!("ok: {} accepted the test message", url.hint());
    } else {
        println!(
            "failed: {} answered {}\nhint: {}",
            url.hint(),
            error.as_deref().unwrap_or("?"),
            hint.unwrap_or("")
        );
    }
    if ok {
        Ok(())
    } else {
        std::process::exit(2)
    }
}

async fn serve(config: Config, json: bool) -> anyhow::Result<()> {
    let base_url = config.base_url.clone();
    let (app, boot) = App::build(config, Arc::new(SystemClock)).await?;
    let running = app.start().await?;
    let url = running.url();
    if json {
        println!(
            "{}",
            serde_json::json!({"listening": url, "base_url": base_url, "created_org": boot.created_org, "token": boot.generated_token})
        );
    } else {
        println!("Fence is listening on {url} (public URL {base_url})");
        if boot.created_org {
            println!("Created the default organization.");
        }
        if let Some((email, password)) = &boot.generated_admin {
            println!("Log in at {url}/login as {email} with the password {password} (shown once).");
        }
        if let Some(t) = &boot.generated_token {
            println!("Admin API token (shown once, keep it safe):\n  {t}\nTry: curl -H 'Authorization: Bearer {t}' {url}/api/v1/org");
        }
    }
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight sends");
    running.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

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

async fn import_remote(
    file: &std::path::Path,
    format: &str,
    domain: &str,
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
        .query(&[("format", format), ("domain", domain)])
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

async fn import_local(
    config: Config,
    file: &std::path::Path,
    format: &str,
    domain: &str,
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
    let (scan, _) = scans(&app.state, &org.id, "cli", format, domain, &body)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let v = serde_json::to_value(fence_server::services::scans::view(&app.state, &scan).await)?;
    print_import(&v, json);
    eprintln!("alerts are sent by `fence serve`");
    Ok(())
}

fn print_import(v: &serde_json::Value, json: bool) {
    if json {
        println!("{v}");
    } else {
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
    }
}

async fn scan(
    domain: &str,
    scan_type: &str,
    port: u16,
    http_port: u16,
    allow_private: bool,
    json: bool,
) -> anyhow::Result<()> {
    let domain =
        fence_core::DomainName::parse(domain).map_err(|e| anyhow::anyhow!("domain: {e}"))?;
    let kind = fence_scan::checks::Kind::parse(scan_type)
        .context("--type must be full, tls or headers")?;
    let mut target = fence_scan::target::Target::new(domain.as_str());
    target.https_port = port;
    target.http_port = http_port;
    target.allow_private = allow_private;
    eprintln!("scanning {domain} ({scan_type})…");
    let r = fence_scan::checks::run(kind, &target, &[], SystemClock.now_ms()).await;
    if json {
        let findings: Vec<serde_json::Value> = r
            .findings
            .iter()
            .map(|f| serde_json::json!({"title": f.title, "severity": f.severity, "cvss": f.cvss.map(|c| c.value()), "category": f.category.map(|c| c.as_str()), "remediation": f.remediation}))
            .collect();
        let cert = r.tls.as_ref().map(|t| serde_json::json!({"issuer": t.cert.issuer, "not_after": fence_core::time::fmt_ts(t.cert.not_after), "sans": t.cert.sans, "fingerprint": t.cert.fingerprint}));
        println!(
            "{}",
            serde_json::json!({"domain": domain.as_str(), "findings": findings, "certificate": cert, "errors": r.errors})
        );
    } else {
        if let Some(t) = &r.tls {
            println!(
                "certificate: issued by {}, expires {}, names {}",
                t.cert.issuer,
                fence_core::time::fmt_ts(t.cert.not_after),
                t.cert.sans.join(", ")
            );
        }
        for f in &r.findings {
            println!(
                "{:<8} {:<5} {}",
                f.severity.label(),
                f.cvss.map(|c| c.to_string()).unwrap_or_default(),
                f.title
            );
        }
        for e in &r.errors {
            println!("error: {e}");
        }
        if r.findings.is_empty() && r.errors.is_empty() {
            println!("no findings");
        }
    }
    if r.findings.is_empty() && !r.errors.is_empty() {
        std::process::exit(2);
    }
    Ok(())
}
