//! The shared state every edge and service receives: store, configuration, secrets, clients, clock, metrics and
//! the wake-ups of the workers.

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::SecretBox;
use crate::metrics::Metrics;
use fence_slack::{ButtonSigner, WebApi, WebhookClient, WebhookHosts};
use fence_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

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
    /// Wakes the directory worker when a save waits for a workspace's first read.
    pub directory_wake: Arc<Notify>,
    /// Slack users' `users.info` answers, kept briefly (`services::slack_access`).
    pub slack_users: Arc<fence_slack::UserCache>,
    /// Sign in with Slack / OpenID Connect (`[oidc]`), with its discovery and keys kept.
    pub oidc: Option<Arc<crate::oidc::OidcClient>>,
}

/// How long a `users.info` answer is reused, and how many are kept: a burst of clicks stays far under Slack's
/// Tier 4 limit (100+ per minute, SLACK.md §2).
const SLACK_USER_TTL_MS: i64 = 10 * 60_000;
const SLACK_USER_CACHE: usize = 10_000;

/// Slack's limit for `chat.postMessage`: about one message per second per channel (SLACK.md §2), whatever
/// `delivery.rate_per_second` allows webhooks.
pub const BOT_INTERVAL_MS: i64 = 1_000;

impl AppState {
    /// The spacing between two messages to one destination: `delivery.rate_per_second`, and never under Slack's
    /// per-channel limit for messages posted with a bot token.
    pub fn send_interval_ms(&self, bot: bool) -> i64 {
        if bot {
            self.interval_ms.max(BOT_INTERVAL_MS)
        } else {
            self.interval_ms
        }
    }

    /// The state over a migrated store: clients, signer and pacing derived from the configuration.
    pub fn new(
        config: Config,
        store: Store,
        secrets: SecretBox,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<AppState> {
        let webhook_hosts = WebhookHosts::parse(&config.delivery.webhook_hosts)
            .map_err(|e| anyhow::anyhow!("delivery.webhook_hosts: {e}"))?;
        let client = WebhookClient::new(Duration::from_secs(10)).map_err(|e| anyhow::anyhow!(e))?;
        let interval_ms = (config.send_interval().as_millis() as i64).max(1);
        let webapi = WebApi::new(&config.slack.api_url, Duration::from_secs(10))
            .map_err(|e| anyhow::anyhow!(e))?;
        let oidc = match &config.oidc {
            Some(c) => Some(Arc::new(crate::oidc::OidcClient::new(c.clone())?)),
            None => None,
        };
        Ok(AppState {
            oidc,
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
            directory_wake: Arc::new(Notify::new()),
            slack_users: Arc::new(fence_slack::UserCache::new(
                SLACK_USER_TTL_MS,
                SLACK_USER_CACHE,
            )),
            config: Arc::new(config),
        })
    }

    /// An organization's plan.
    pub async fn plan_of(&self, org_id: &str) -> fence_store::Result<fence_core::Plan> {
        Ok(self.store.org(org_id).await?.plan())
    }

    /// How messages of an organization render in a channel of this kind and format (with full detail; a minimal
    /// channel's caller sets `detail`).
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
            detail: fence_core::Detail::Full,
            acknowledge: false,
        }
    }
}
