//! The `[slack]` keys: the signing secret (at least 32 characters when set), OAuth client, Web API and OAuth URLs,
//! the hosts a `response_url` may point at, and how often workspace directories are read again.

use super::{ConfigError, Reader};
use fence_core::Secret;
use fence_slack::WebhookHosts;

/// The shortest signing secret accepted (Slack's are 32 hexadecimal characters).
pub const MIN_SIGNING_SECRET_CHARS: usize = 32;

#[derive(Debug, Clone)]
pub struct SlackConfig {
    /// Unset: the Slack endpoints answer 404.
    pub signing_secret: Option<Secret<String>>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret<String>>,
    pub api_url: String,
    pub oauth_authorize_url: String,
    /// `slack.response_url_hosts` as configured.
    pub response_url_hosts: Vec<String>,
    response_hosts: WebhookHosts,
    /// How often each workspace's directory (users, user groups, channels) is read again.
    pub directory_refresh_every: std::time::Duration,
}

impl SlackConfig {
    pub(super) fn read(r: &Reader) -> Result<SlackConfig, ConfigError> {
        let signing_secret = r.string("slack.signing_secret")?;
        if let Some(s) = &signing_secret {
            if s.chars().count() < MIN_SIGNING_SECRET_CHARS {
                return Err(r.err(
                    "slack.signing_secret",
                    "must be at least 32 characters (copy the Signing Secret from the app's Basic Information page), or be left unset to turn the Slack endpoints off",
                ));
            }
        }
        let client_id = r.string("slack.client_id")?.filter(|s| !s.is_empty());
        let client_secret = r.string("slack.client_secret")?;
        if client_id.is_some() && matches!(client_secret.as_deref(), None | Some("")) {
            return Err(r.err(
                "slack.client_secret",
                "must be set (non-empty) when slack.client_id is set",
            ));
        }
        let response_url_hosts = r
            .list("slack.response_url_hosts")?
            .unwrap_or_else(|| vec!["hooks.slack.com".into()]);
        let response_hosts = WebhookHosts::parse(&response_url_hosts)
            .map_err(|e| r.err("slack.response_url_hosts", &e))?;
        Ok(SlackConfig {
            signing_secret: signing_secret.map(Secret::new),
            client_id,
            client_secret: client_secret.map(Secret::new),
            api_url: r
                .string("slack.api_url")?
                .unwrap_or_else(|| "https://slack.com/api".into())
                .trim_end_matches('/')
                .to_string(),
            oauth_authorize_url: r
                .string("slack.oauth_authorize_url")?
                .unwrap_or_else(|| "https://slack.com/oauth/v2/authorize".into()),
            response_url_hosts,
            response_hosts,
            directory_refresh_every: r
                .duration("slack.directory_refresh_every")?
                .unwrap_or(std::time::Duration::from_secs(600))
                .max(std::time::Duration::from_secs(1)),
        })
    }

    /// Whether Fence may answer a slash command or click through this `response_url`: https on a host of
    /// `slack.response_url_hosts` (http only for hosts listed with a port).
    pub fn response_url_allowed(&self, url: &str) -> bool {
        self.response_hosts.allows_url(url)
    }
}
