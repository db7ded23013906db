//! The `fence` command: serve, migrate, organizations, tokens, configuration checks and webhook checks.

#![cfg_attr(test, allow(clippy::too_many_lines))] // test scenarios and tables read top to bottom

mod admin;
mod allocator;
mod import;
mod intel;
mod scan;
mod webhook;

use clap::{Args, Parser, Subcommand};
use fence_server::config::Config;
use fence_server::{App, Clock, SystemClock};
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
        /// A partial scan: leave open the findings the file does not report (no "no longer detected").
        #[arg(long)]
        no_close: bool,
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
    /// Load an exploitability feed: CISA's KEV catalog (JSON) or FIRST's EPSS scores (CSV).
    #[command(subcommand)]
    Intel(IntelCommand),
    /// Print the version.
    Version,
}

#[derive(Subcommand, Debug)]
enum IntelCommand {
    /// Replace the stored feed with FILE: `fence intel import kev known_exploited_vulnerabilities.json`.
    Import {
        /// kev or epss.
        feed: String,
        file: PathBuf,
        /// Send to a running Fence instead of writing the local database.
        #[arg(long)]
        server: Option<String>,
        /// API token for --server (an admin token; or FENCE_TOKEN).
        #[arg(long, env = "FENCE_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
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
    /// List an organization's tokens: id, label, scopes, creation time (never their values).
    List {
        #[arg(long, default_value = "default")]
        org: String,
    },
    /// Revoke a token by its id (from `fence token list`); it stops working at once.
    Revoke {
        #[arg(long, default_value = "default")]
        org: String,
        id: String,
    },
}

#[derive(Args, Debug)]
pub struct TokenCreate {
    #[arg(long, default_value = "default")]
    pub org: String,
    /// Comma-separated: ingest, read, admin.
    #[arg(long, default_value = "ingest")]
    pub scopes: String,
    #[arg(long)]
    pub label: Option<String>,
    /// Stop authenticating after this long (`90d`, `12h`); never, when not given.
    #[arg(long)]
    pub expires: Option<String>,
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

fn main() {
    // Before the runtime starts its threads: glibc creates arenas as threads first contend.
    allocator::configure();
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(cli)) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// Commands that need no configuration: the version, local scans, imports into a running Fence. `None` when the
/// command is not one of them.
async fn run_without_config(cli: &Cli) -> Option<anyhow::Result<()>> {
    match &cli.command {
        Command::Version => {
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({"version": env!("CARGO_PKG_VERSION")})
                );
            } else {
                println!("fence {}", env!("CARGO_PKG_VERSION"));
            }
            Some(Ok(()))
        }
        Command::Scan {
            domain,
            scan_type,
            port,
            http_port,
            allow_private,
        } => Some(
            scan::scan(
                domain,
                scan_type,
                *port,
                *http_port,
                *allow_private,
                cli.json,
            )
            .await,
        ),
        Command::Import {
            file,
            format,
            domain,
            server: Some(server),
            token,
            no_close,
            ..
        } => {
            let target = import::Target::new(format, domain, *no_close);
            Some(import::import_remote(file, &target, server, token.as_deref(), cli.json).await)
        }
        Command::Intel(IntelCommand::Import {
            feed,
            file,
            server: Some(server),
            token,
        }) => Some(intel::import_remote(feed, file, server, token.as_deref(), cli.json).await),
        _ => None,
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(done) = run_without_config(&cli).await {
        return done;
    }
    let config = Config::load(cli.config.as_deref())?;
    let now = SystemClock.now_ms();
    let json = cli.json;
    match cli.command {
        Command::Serve => serve(config, json).await,
        Command::Migrate => admin::migrate(&config, json).await,
        Command::Org(OrgCommand::Create { name, plan }) => {
            admin::create_org(&config, &name, &plan, now, json).await
        }
        Command::Org(OrgCommand::SetPlan { name, plan }) => {
            admin::set_plan(&config, &name, &plan, json).await
        }
        Command::User(UserCommand::Create { org, email, role }) => {
            admin::create_user(&config, &org, &email, &role, now, json).await
        }
        Command::Token(TokenCommand::Create(t)) => {
            admin::create_token(&config, &t, now, json).await
        }
        Command::Token(TokenCommand::List { org }) => admin::list_tokens(&config, &org, json).await,
        Command::Token(TokenCommand::Revoke { org, id }) => {
            admin::revoke_token(&config, &org, &id, now, json).await
        }
        Command::Config(ConfigCommand::Check) => admin::check_config(&config, json),
        Command::CheckWebhook { url, r#type } => {
            webhook::check_webhook(&config, &url, &r#type, cli.json).await
        }
        Command::Import {
            file,
            format,
            domain,
            org,
            no_close,
            ..
        } => {
            let target = import::Target::new(&format, &domain, no_close);
            import::import_local(config, &file, &target, &org, cli.json).await
        }
        Command::Intel(IntelCommand::Import { feed, file, .. }) => {
            intel::import_local(config, &feed, &file, cli.json).await
        }
        Command::Version | Command::Scan { .. } => Ok(()),
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
