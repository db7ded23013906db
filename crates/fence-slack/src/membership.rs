//! Whether a bot may post in a channel again: `conversations.info` (SLACK.md §9: `channel{…, is_member}`) read with
//! the token's granted scopes, which Slack names on every Web API answer (`x-oauth-scopes`).

use crate::answer::{classify, SendOutcome};
use crate::webapi::WebApi;
use fence_core::Secret;
use serde_json::Value;

/// What `conversations.info` says about the bot and one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub is_member: bool,
    pub is_private: bool,
    pub is_archived: bool,
    /// The token's scopes, when Slack named them.
    pub scopes: Option<Vec<String>>,
}

impl Access {
    /// `chat.postMessage` would be accepted (SLACK.md §6 and Addendum): the token has `chat:write`, and the bot is a
    /// member, or the channel is public and the token has `chat:write.public`. Without the scope list only
    /// membership counts.
    pub fn can_post(&self) -> bool {
        if self.is_archived {
            return false;
        }
        match &self.scopes {
            None => self.is_member,
            Some(scopes) => {
                let has = |s: &str| scopes.iter().any(|g| g == s);
                has("chat:write")
                    && (self.is_member || (!self.is_private && has("chat:write.public")))
            }
        }
    }
}

impl WebApi {
    /// Reads the bot's access to `channel`. A failed look-up is an error for the caller to log: it says nothing
    /// about the channel's health.
    pub async fn channel_access(
        &self,
        token: &Secret<String>,
        channel: &str,
    ) -> Result<Access, String> {
        let resp = self
            .http
            .post(format!("{}/conversations.info", self.base))
            .bearer_auth(token.expose())
            // Read methods take form fields only (SLACK.md §9).
            .form(&[("channel", channel)])
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "conversations.info: timeout".to_string()
                } else {
                    "conversations.info: connection_error".to_string()
                }
            })?;
        let status = resp.status().as_u16();
        let scopes = resp
            .headers()
            .get("x-oauth-scopes")
            .and_then(|v| v.to_str().ok())
            .map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
            });
        let text = resp.text().await.unwrap_or_default();
        match classify(status, None, &text) {
            SendOutcome::Delivered => {}
            SendOutcome::RateLimited { .. } => return Err("conversations.info: ratelimited".into()),
            SendOutcome::Retryable { error }
            | SendOutcome::ChannelBroken { error }
            | SendOutcome::PayloadRejected { error }
            | SendOutcome::Failed { error } => return Err(format!("conversations.info: {error}")),
        }
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let c = &v["channel"];
        Ok(Access {
            is_member: c["is_member"] == true,
            is_private: c["is_private"] == true,
            is_archived: c["is_archived"] == true,
            scopes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Access;

    fn access(member: bool, private: bool, scopes: Option<&[&str]>) -> Access {
        Access {
            is_member: member,
            is_private: private,
            is_archived: false,
            scopes: scopes.map(|s| s.iter().map(|x| x.to_string()).collect()),
        }
    }

    #[test]
    fn the_bot_may_post_as_slack_allows_it() {
        assert!(access(true, false, Some(&["chat:write"])).can_post());
        assert!(!access(false, false, Some(&["chat:write"])).can_post());
        assert!(access(false, false, Some(&["chat:write", "chat:write.public"])).can_post());
        assert!(!access(false, true, Some(&["chat:write", "chat:write.public"])).can_post());
        assert!(!access(true, false, Some(&["channels:read"])).can_post());
        assert!(access(true, false, None).can_post());
        assert!(!access(false, false, None).can_post());
        let mut archived = access(true, false, Some(&["chat:write"]));
        archived.is_archived = true;
        assert!(!archived.can_post());
    }
}
