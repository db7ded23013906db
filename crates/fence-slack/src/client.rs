//! The HTTP client that posts messages to webhooks: no redirects, bounded time, errors without URLs.

use crate::answer::{classify, SendOutcome};
use crate::webhook::WebhookUrl;
use serde_json::Value;
use std::time::Duration;

/// Posts rendered messages to incoming webhooks.
#[derive(Debug, Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
}

impl WebhookClient {
    pub fn new(timeout: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("Fence/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {}", e.without_url()))?;
        Ok(WebhookClient { http })
    }

    /// Posts one message and classifies the answer. Network failures are retryable and never mention the URL.
    pub async fn post(&self, url: &WebhookUrl, message: &Value) -> SendOutcome {
        let resp = match self.http.post(url.expose()).json(message).send().await {
            Ok(r) => r,
            Err(e) => {
                return SendOutcome::Retryable {
                    error: network_error(&e).into(),
                }
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = match resp.text().await {
            Ok(b) => b,
            Err(_) if (200..300).contains(&status) => String::from("ok"),
            Err(_) => {
                return SendOutcome::Retryable {
                    error: "body_read_error".into(),
                }
            }
        };
        classify(status, retry_after.as_deref(), &body)
    }

    /// Asks a webhook in an outage whether it answers again, without posting anything: a message with no text, which
    /// Slack refuses before posting (`400 no_text`, SLACK.md §1) and so does Mattermost (400, text required, §10).
    /// Any answer but a server error says the destination is back; a 5xx, a timeout (`timeout` here, not the
    /// client's, so a blackhole is noticed soon) or a connection error is returned as the error that says it is not.
    pub async fn probe(&self, url: &WebhookUrl, timeout: Duration) -> Result<(), String> {
        let sent = self
            .http
            .post(url.expose())
            .timeout(timeout)
            .json(&serde_json::json!({"text": ""}))
            .send()
            .await;
        let resp = sent.map_err(|e| network_error(&e).to_string())?;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        match classify(status, None, &body) {
            SendOutcome::Retryable { error } => Err(error),
            _ => Ok(()),
        }
    }
}

/// The retryable error a request that got no answer is recorded with; never the URL.
fn network_error(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection_error"
    } else {
        "request_error"
    }
}
