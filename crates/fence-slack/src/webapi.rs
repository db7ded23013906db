//! The Slack Web API client for bot-token channels: `chat.postMessage` (keeping the message's `ts`),
//! `chat.update`, and the directory (`users.list`, `usergroups.list`, `conversations.list`, paginated) used to turn
//! `@alice`, `@security-team` and `#security-alerts` into ids.

use crate::answer::{classify, SendOutcome};
use fence_core::Secret;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// An error of a directory method, with the scope Slack says it needs (`missing_scope` answers carry `needed`,
/// SLACK.md Addendum): "conversations.list: missing_scope (needs channels:read)".
fn with_needed(method: &str, error: String, answer: &Value) -> String {
    let needed: String = answer["needed"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || ":.,_".contains(*c))
        .take(120)
        .collect();
    if needed.is_empty() {
        format!("{method}: {error}")
    } else {
        format!("{method}: {error} (needs {needed})")
    }
}

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

/// Names in a workspace, lower-cased, to ids.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    users: HashMap<String, String>,
    groups: HashMap<String, String>,
    channels: HashMap<String, String>,
}

impl Directory {
    /// `@alice` → `<@U…>`, `@security-team` → `<!subteam^S…>`, `#security-alerts` → `<#C…>`.
    pub fn resolve(&self, name: &str) -> Option<String> {
        if let Some(n) = name.strip_prefix('#') {
            return self
                .channels
                .get(&n.to_lowercase())
                .map(|id| format!("<#{id}>"));
        }
        let n = name.strip_prefix('@').unwrap_or(name).to_lowercase();
        self.users
            .get(&n)
            .map(|id| format!("<@{id}>"))
            .or_else(|| self.groups.get(&n).map(|id| format!("<!subteam^{id}>")))
    }
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

    async fn paged(
        &self,
        method: &str,
        token: &Secret<String>,
        key: &str,
    ) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        for _ in 0..200 {
            let mut body = json!({"limit": 200});
            if !cursor.is_empty() {
                body["cursor"] = json!(cursor);
            }
            if method == "conversations.list" {
                body["types"] = json!("public_channel,private_channel");
                body["exclude_archived"] = json!(true);
            }
            let (outcome, v) = self.call(method, token, &body).await;
            match outcome {
                SendOutcome::Delivered => {}
                SendOutcome::RateLimited { .. } => return Err("ratelimited".into()),
                SendOutcome::Retryable { error }
                | SendOutcome::ChannelBroken { error }
                | SendOutcome::PayloadRejected { error }
                | SendOutcome::Failed { error } => return Err(with_needed(method, error, &v)),
            }
            out.extend(v[key].as_array().cloned().unwrap_or_default());
            cursor = v["response_metadata"]["next_cursor"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if cursor.is_empty() {
                break;
            }
        }
        Ok(out)
    }

    /// Reads the workspace's users, user groups and channels.
    pub async fn directory(&self, token: &Secret<String>) -> Result<Directory, String> {
        let mut d = Directory::default();
        for m in self.paged("users.list", token, "members").await? {
            if m["deleted"].as_bool() == Some(true) {
                continue;
            }
            let Some(id) = m["id"].as_str() else { continue };
            for name in [
                &m["name"],
                &m["profile"]["display_name"],
                &m["profile"]["real_name"],
            ] {
                if let Some(n) = name.as_str().filter(|n| !n.is_empty()) {
                    d.users
                        .entry(n.to_lowercase())
                        .or_insert_with(|| id.to_string());
                }
            }
        }
        for g in self.paged("usergroups.list", token, "usergroups").await? {
            if let (Some(id), Some(handle)) = (g["id"].as_str(), g["handle"].as_str()) {
                d.groups.insert(handle.to_lowercase(), id.to_string());
            }
        }
        for c in self.paged("conversations.list", token, "channels").await? {
            if let (Some(id), Some(name)) = (c["id"].as_str(), c["name"].as_str()) {
                d.channels.insert(name.to_lowercase(), id.to_string());
            }
        }
        Ok(d)
    }
}
