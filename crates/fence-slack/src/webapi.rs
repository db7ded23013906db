//! The Slack Web API client for bot-token channels: `chat.postMessage` (keeping the message's `ts`),
//! `chat.update`, OAuth, response URLs; the directory reads (module `directory`) turn names into ids.

mod directory;

pub use directory::{DirectoryList, ListError, Page};

use crate::answer::{classify, SendOutcome};
use fence_core::Secret;
use serde_json::{json, Value};
use std::time::Duration;

/// A Web API client bound to a base URL (`slack.api_url`).
#[derive(Debug, Clone)]
pub struct WebApi {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
}

/// What `chat.postMessage` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub outcome: SendOutcome,
    /// The message's timestamp, its id for threads and updates.
    pub ts: Option<String>,
    /// On `missing_scope`, the scope Slack says the method needs (SLACK.md Addendum).
    pub needed: Option<String>,
}

impl WebApi {
    pub fn new(base: &str, timeout: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .user_agent(concat!("Fence/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {}", e.without_url()))?;
        Ok(WebApi {
            http,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    async fn call(
        &self,
        method: &str,
        token: &Secret<String>,
        body: &Value,
    ) -> (SendOutcome, Value) {
        let req = self
            .http
            .post(format!("{}/{method}", self.base))
            .bearer_auth(token.expose());
        // Read methods (users.list, …) take form fields only; chat methods take JSON.
        let req = if method.starts_with("chat.") {
            req.json(body)
        } else {
            let form: Vec<(String, String)> = body
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect();
            req.form(&form)
        };
        let resp = req.send().await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                return (
                    SendOutcome::Retryable {
                        error: if e.is_timeout() {
                            "timeout".into()
                        } else {
                            "connection_error".into()
                        },
                    },
                    Value::Null,
                )
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp.text().await.unwrap_or_default();
        let outcome = classify(status, retry_after.as_deref(), &text);
        (outcome, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Posts a message to a channel, in a thread when `thread_ts` is given (`broadcast` also shows it in the channel).
    pub async fn post_message(
        &self,
        token: &Secret<String>,
        channel: &str,
        message: &Value,
        thread_ts: Option<&str>,
        broadcast: bool,
    ) -> Posted {
        let mut body = message.clone();
        body["channel"] = json!(channel);
        if let Some(ts) = thread_ts {
            body["thread_ts"] = json!(ts);
            if broadcast {
                body["reply_broadcast"] = json!(true);
            }
        }
        let (outcome, v) = self.call("chat.postMessage", token, &body).await;
        let ts = v["ts"].as_str().map(str::to_string);
        let needed = v["needed"].as_str().map(str::to_string);
        Posted {
            outcome,
            ts,
            needed,
        }
    }

    /// Replaces a message Fence posted earlier.
    pub async fn update_message(
        &self,
        token: &Secret<String>,
        channel: &str,
        ts: &str,
        message: &Value,
    ) -> SendOutcome {
        let mut body = message.clone();
        body["channel"] = json!(channel);
        body["ts"] = json!(ts);
        self.call("chat.update", token, &body).await.0
    }

    /// Exchanges an OAuth code (`oauth.v2.access`); the answer holds the bot token, team and incoming webhook.
    pub async fn oauth_access(
        &self,
        client_id: &str,
        client_secret: &Secret<String>,
        code: &str,
        redirect_uri: &str,
    ) -> Result<Value, String> {
        let form = [
            ("client_id", client_id),
            ("client_secret", client_secret.expose().as_str()),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        let resp = self
            .http
            .post(format!("{}/oauth.v2.access", self.base))
            .form(&form)
            .send()
            .await
            .map_err(|e| format!("cannot reach Slack: {}", e.without_url()))?;
        let v: Value = resp
            .json()
            .await
            .map_err(|_| "Slack answered with something other than JSON".to_string())?;
        if v["ok"] != true {
            return Err(v["error"]
                .as_str()
                .unwrap_or("oauth_failed")
                .chars()
                .take(80)
                .collect());
        }
        Ok(v)
    }

    /// Members of a user group (`usergroups.users.list`).
    pub async fn group_members(
        &self,
        token: &Secret<String>,
        group: &str,
    ) -> Result<Vec<String>, String> {
        let (outcome, v) = self
            .call("usergroups.users.list", token, &json!({"usergroup": group}))
            .await;
        if outcome != SendOutcome::Delivered {
            return Err("usergroups.users.list failed".into());
        }
        Ok(v["users"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Posts to a response URL (slash commands, button clicks): the URL is Slack's and carries its own authority.
    pub async fn respond(&self, response_url: &str, message: &Value) -> SendOutcome {
        match self.http.post(response_url).json(message).send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                let text = r.text().await.unwrap_or_default();
                classify(status, None, &text)
            }
            Err(_) => SendOutcome::Retryable {
                error: "connection_error".into(),
            },
        }
    }
}
