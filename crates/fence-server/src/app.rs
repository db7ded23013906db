//! Wiring: the shared state, the router, first-start bootstrap, and a running server with its dispatcher.

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::{new_token, SecretBox};
use crate::dispatcher::Dispatcher;
use crate::metrics::Metrics;
use anyhow::Context;
use fence_slack::{ButtonSigner, Directory, WebApi, WebhookClient, WebhookHosts};
use fence_store::Store;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// Everything a request handler or worker needs.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub secrets: SecretBox,
    pub signer: ButtonSigner,
    pub webhook_hosts: WebhookHosts,
    pub client: WebhookClient,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    /// Wakes the dispatcher when new deliveries are stored.
    pub wake: Arc<Notify>,
    /// Wakes the scan workers when a scan is queued.
    pub scan_wake: Arc<Notify>,
    pub interval_ms: i64,
    /// Slack's Web API (`slack.api_url`), for bot-token channels and name lookups.
    pub webapi: WebApi,
    /// Workspace directories by a keyed hash of the bot token, with when they were read.
    directories: DirectoryCache,
}

/// Workspace directories by token key, with the time each was read.
type DirectoryCache = Arc<Mutex<HashMap<String, (i64, Arc<Directory>)>>>;

/// How long a workspace directory (users, groups, channels) is reused.
const DIRECTORY_TTL_MS: i64 = 10 * 60_000;

impl AppState {
    /// An organization's plan.
    pub async fn plan_of(&self, org_id: &str) -> fence_store::Result<fence_core::Plan> {
        Ok(self.store.org(org_id).await?.plan())
    }

    /// How messages of an organization render in a channel of this kind and format.
    pub fn render_context<'a>(
        &'a self,
        org_id: &'a str,
        kind: fence_core::ChannelKind,
        format: fence_core::MessageFormat,
        plan: fence_core::Plan,
    ) -> fence_slack::RenderContext<'a> {
        fence_slack::RenderContext {
            base_url: &self.config.base_url,
            org_id,
            kind,
            format,
            run_scan: plan.has_enterprise_features(),
            signer: &self.signer,
        }
    }

    /// The workspace directory for a bot token, read through the Web API at most every ten minutes.
    pub async fn directory(
        &self,
        token: &fence_core::Secret<String>,
    ) -> Result<Arc<Directory>, String> {
        let key = self
            .secrets
            .destination_key(&format!("token:{}", token.expose()));
        let now = self.clock.now_ms();
        if let Some((at, d)) = self
            .directories
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            if now - at < DIRECTORY_TTL_MS {
                return Ok(d.clone());
            }
        }
        let d = Arc::new(self.webapi.directory(token).await?);
        self.directories
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (now, d.clone()));
        Ok(d)
    }
}

/// What first start prints.
#[derive(Debug, Clone, Default)]
pub struct Bootstrap {
    pub created_org: bool,
    /// A token generated on first start, shown once.
    pub generated_token: Option<String>,
    /// The first admin's email and generated password, shown once.
    pub generated_admin: Option<(String, String)>,
}

/// Creates the default organization on first start, and the bootstrap token when configured and absent.
/// Several processes may start at once on one PostgreSQL database: whoever loses a creation race uses the winner's.
pub async fn bootstrap(store: &Store, config: &Config, now: i64) -> anyhow::Result<Bootstrap> {
    use fence_store::StoreError;
    let mut out = Bootstrap::default();
    let org = match store.org_by_name("default").await {
        Ok(o) => o,
        Err(StoreError::NotFound) => {
            let first = store.count_orgs().await? == 0;
            match store
                .create_org("default", config.default_plan.as_str(), now)
                .await
            {
                Ok(o) => {
                    out.created_org = first;
                    o
                }
                Err(StoreError::Conflict(_)) => store.org_by_name("default").await?,
                Err(e) => return Err(e.into()),
            }
        }
        Err(e) => return Err(e.into()),
    };
    let scopes: Vec<String> = ["admin", "read", "ingest"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    match &config.bootstrap_token {
        Some(t) if !store.token_exists(t.expose()).await? => {
            match store
                .create_token(&org.id, t.expose(), &scopes, Some("bootstrap"), now)
                .await
            {
                Ok(_) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Some(_) => {}
        None if out.created_org => {
            let password = crate::crypto::new_token()
                .trim_start_matches("fence_")
                .chars()
                .take(20)
                .collect::<String>();
            let hash = crate::web::hash_password(&password).map_err(anyhow::Error::msg)?;
            store
                .create_user(&org.id, "admin@fence.local", &hash, "admin", now)
                .await?;
            out.generated_admin = Some(("admin@fence.local".to_string(), password));
            let t = new_token();
            store
                .create_token(&org.id, &t, &scopes, Some("first start"), now)
                .await?;
            out.generated_token = Some(t);
        }
        None => {}
    }
    Ok(out)
}

/// A configured, migrated Fence, ready to serve.
#[derive(Debug)]
pub struct App {
    pub state: AppState,
}

impl App {
    /// Connects to the database, migrates it, loads the secret key and bootstraps the default organization.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<(App, Bootstrap)> {
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
        let secrets = SecretBox::load_or_create(config.secret_key.as_ref(), &config.data_dir)?;
        let boot = bootstrap(&store, &config, clock.now_ms()).await?;
        let webhook_hosts = WebhookHosts::parse(&config.delivery.webhook_hosts)
            .map_err(|e| anyhow::anyhow!("delivery.webhook_hosts: {e}"))?;
        let client = WebhookClient::new(Duration::from_secs(10)).map_err(|e| anyhow::anyhow!(e))?;
        let interval_ms = (config.send_interval().as_millis() as i64).max(1);
        let webapi = WebApi::new(&config.slack.api_url, Duration::from_secs(10))
            .map_err(|e| anyhow::anyhow!(e))?;
        let state = AppState {
            store,
            signer: ButtonSigner::new(secrets.derive("buttons")),
            secrets,
            webhook_hosts,
            client,
            clock,
            metrics: Arc::new(Metrics::default()),
            wake: Arc::new(Notify::new()),
            scan_wake: Arc::new(Notify::new()),
            interval_ms,
            webapi,
            directories: Arc::default(),
            config: Arc::new(config),
        };
        Ok((App { state }, boot))
    }

    /// Binds the listen address and starts the HTTP server and the dispatcher.
    pub async fn start(self) -> anyhow::Result<RunningApp> {
        self.start_with(true).await
    }

    /// Like [`App::start`]; without the dispatcher and scheduler when `dispatcher` is false (tests drive them).
    pub async fn start_with(self, dispatcher: bool) -> anyhow::Result<RunningApp> {
        if dispatcher && self.state.store.dialect() == fence_store::Dialect::Sqlite {
            // One server per SQLite database: claims left by a crash can be retried now, not after their lease.
            // (Only the server does this; `fence import` and other commands leave a running server's claims alone.)
            let n = self.state.store.release_all_claims().await?;
            if n > 0 {
                tracing::info!(
                    deliveries = n,
                    "re-queued deliveries that were in flight when Fence stopped"
                );
            }
        }
        let listener = tokio::net::TcpListener::bind(&self.state.config.listen)
            .await
            .with_context(|| format!("cannot listen on {} (listen)", self.state.config.listen))?;
        let addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let router = crate::api::router(self.state.clone());
        let mut http_stop = stop_rx.clone();
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = http_stop.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(error = %e, "HTTP server stopped");
            }
        });
        let mut tasks = vec![server];
        if dispatcher {
            tasks.push(tokio::spawn(
                Dispatcher::new(self.state.clone()).run(stop_rx.clone()),
            ));
            for _ in 0..self.state.config.scan.workers {
                tasks.push(tokio::spawn(crate::scan_worker::worker(
                    self.state.clone(),
                    stop_rx.clone(),
                )));
            }
            tasks.push(tokio::spawn(
                crate::scheduler::Scheduler::new(self.state.clone()).run(stop_rx),
            ));
        }
        Ok(RunningApp {
            addr,
            state: self.state,
            stop: stop_tx,
            tasks,
        })
    }
}

/// A started Fence: its address and the means to stop it gracefully.
#[derive(Debug)]
pub struct RunningApp {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningApp {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting requests, lets in-flight sends finish, and waits for both.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.state.store.close().await;
    }
}
