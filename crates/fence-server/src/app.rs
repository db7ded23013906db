//! Wiring: builds the state from the configuration, composes the edges' routers, and runs the HTTP server with the
//! workers (dispatcher, scan workers, scheduler, directory worker) until told to stop.

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::SecretBox;
use crate::services::bootstrap::{bootstrap, Bootstrap};
use crate::state::AppState;
use crate::workers::dispatcher::Dispatcher;
use anyhow::Context;
use axum::http::HeaderValue;
use fence_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// A configured, migrated Fence, ready to serve.
#[derive(Debug)]
pub struct App {
    pub state: AppState,
}

/// Opens the configured database with the configured sizes (creating `data_dir` for SQLite) and migrates it: for
/// `fence serve` and for every command that works on the database directly.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    if config.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create data_dir {}", config.data_dir.display()))?;
    }
    let store = Store::connect_with(&config.database_url, config.sizes.store())
        .await
        .context("cannot open the database (database_url)")?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    Ok(store)
}

impl App {
    /// Connects to the database, migrates it, loads the secret key and bootstraps the default organization.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<(App, Bootstrap)> {
        let store = open_store(&config).await?;
        let secrets = SecretBox::load_or_create(config.secret_key.as_ref(), &config.data_dir)?;
        if store.claim_key_check(&secrets.check_value()).await? != secrets.check_value() {
            anyhow::bail!("configuration key `secret_key`: this is not the key the database was first used with (every process sharing a database needs the same secret_key; on SQLite, the one in data_dir/secret.key); refusing to start rather than break stored secrets, buttons and links");
        }
        let boot = bootstrap(&store, &config, clock.now_ms()).await?;
        let state = AppState::new(config, store, secrets, clock)?;
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
        let router = router(self.state.clone());
        let server = tokio::spawn(serve(listener, router, stop_rx.clone()));
        let mut tasks = vec![server];
        // Saves wait for a workspace's first read, so the directory worker runs with or without the dispatcher.
        tasks.push(tokio::spawn(
            crate::workers::directory::DirectoryWorker::new(self.state.clone())
                .run(stop_rx.clone()),
        ));
        if dispatcher {
            tasks.push(tokio::spawn(
                Dispatcher::new(self.state.clone()).run(stop_rx.clone()),
            ));
            tasks.push(tokio::spawn(crate::workers::listen::run(
                self.state.clone(),
                stop_rx.clone(),
            )));
            for _ in 0..self.state.config.scan.workers {
                tasks.push(tokio::spawn(crate::workers::scan_worker::worker(
                    self.state.clone(),
                    stop_rx.clone(),
                )));
            }
            tasks.push(tokio::spawn(
                crate::workers::scheduler::Scheduler::new(self.state.clone()).run(stop_rx),
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

/// Longest a client may take to send a request's headers (the connection is closed after it): a slowloris client
/// trickling header bytes cannot hold connections open.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves HTTP/1.1 until `stop`, then lets in-flight requests finish. Like `axum::serve`, with hyper's header read
/// timeout ([`HEADER_READ_TIMEOUT`]), which `axum::serve` does not set.
async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut stopped = std::pin::pin!(async move {
        let _ = stop.wait_for(|s| *s).await;
    });
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stopped => break,
        };
        // Each request knows its connection's peer, for the client address (`http::client_ip`).
        let service = hyper_util::service::TowerToHyperService::new(
            router
                .clone()
                .layer(axum::Extension(crate::http::client_ip::Peer(peer))),
        );
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
    graceful.shutdown().await;
}

/// Longest a request may take before it is answered `408 Request Timeout` (a channel test waits for its send slot
/// and up to two Slack calls of 10 s; a 100 MB SARIF import is uploaded, read three times and stored in seconds).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Every edge's routes on one router — the JSON API, the Slack app and the web UI — with the API's fallback, the
/// body limit, a request timeout, and a tracing span per request that names its method and path (never its query,
/// which can carry an OAuth code or a report signature).
pub fn router(state: AppState) -> axum::Router {
    let trace = TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
        tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
    });
    crate::api::router()
        .merge(crate::slack_app::router())
        .merge(crate::web::router())
        .fallback(|| async { crate::http::error::ApiError::not_found("endpoint") })
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::http::body::MAX_BODY,
        ))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(trace)
        // Security headers on every response (pages, API, errors, the fallback): CSP, no framing, no MIME
        // sniffing, no referrer (report links and OAuth URLs carry secrets in their query).
        .layer(header(
            axum::http::header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(header(axum::http::header::X_FRAME_OPTIONS, "DENY"))
        .layer(header(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            "nosniff",
        ))
        .layer(header(axum::http::header::REFERRER_POLICY, "no-referrer"))
        .with_state(state)
}

/// The Content-Security-Policy of every response: nothing runs or loads but Fence's own stylesheet; no inline
/// script (the pages have none); inline `style` attributes only (layout tweaks, never script); forms post only to
/// Fence; no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn header(
    name: axum::http::HeaderName,
    value: &'static str,
) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}
