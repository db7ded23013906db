//! Who a Slack user is: `users.info` (scope `users:read`, Tier 4) read into the facts Fence decides on — the user's
//! home workspace (`team_id`), guest (`is_restricted`, `is_ultra_restricted`), `deleted` and `is_bot` — and a small
//! bounded cache of those answers, so a burst of clicks does not run into Slack's rate limit.

use crate::answer::{classify, SendOutcome};
use crate::webapi::WebApi;
use fence_core::Secret;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

/// What `users.info` says about one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackUser {
    pub id: String,
    /// The user's home workspace; a Slack Connect user from another company has that company's.
    pub team_id: String,
    /// A multi-channel guest.
    pub is_restricted: bool,
    /// A single-channel guest.
    pub is_ultra_restricted: bool,
    pub deleted: bool,
    pub is_bot: bool,
}

impl SlackUser {
    /// Reads `users.info`'s `user` object; `None` when it has no id.
    pub fn from_json(user: &Value) -> Option<SlackUser> {
        let flag = |k: &str| user[k].as_bool().unwrap_or(false);
        Some(SlackUser {
            id: user["id"].as_str()?.to_string(),
            team_id: user["team_id"].as_str().unwrap_or_default().to_string(),
            is_restricted: flag("is_restricted"),
            is_ultra_restricted: flag("is_ultra_restricted"),
            deleted: flag("deleted"),
            is_bot: flag("is_bot") || user["id"] == "USLACKBOT",
        })
    }
}

impl WebApi {
    /// `users.info` for `user` (form fields only, SLACK.md §9). An error names Slack's answer (`user_not_found`,
    /// `missing_scope`, `ratelimited`, …) and never the token.
    pub async fn user_info(&self, token: &Secret<String>, user: &str) -> Result<SlackUser, String> {
        let resp = self
            .http
            .post(format!("{}/users.info", self.base))
            .bearer_auth(token.expose())
            .form(&[("user", user)])
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "users.info: timeout".to_string()
                } else {
                    "users.info: connection_error".to_string()
                }
            })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        match classify(status, None, &text) {
            SendOutcome::Delivered => {}
            SendOutcome::RateLimited { .. } => return Err("users.info: ratelimited".into()),
            SendOutcome::Retryable { error }
            | SendOutcome::ChannelBroken { error }
            | SendOutcome::PayloadRejected { error }
            | SendOutcome::Failed { error } => return Err(format!("users.info: {error}")),
        }
        let v: Value =
            serde_json::from_str(&text).map_err(|_| "users.info: not JSON".to_string())?;
        if v["ok"] != true {
            let error = v["error"].as_str().unwrap_or("unknown_error");
            return Err(format!("users.info: {}", crate::escape::bounded(error, 60)));
        }
        SlackUser::from_json(&v["user"]).ok_or_else(|| "users.info: no user".to_string())
    }
}

/// `users.info` answers by (workspace, user), each kept for `ttl_ms`, at most `capacity` of them: when full, expired
/// answers go first, then the oldest.
#[derive(Debug)]
pub struct UserCache {
    ttl_ms: i64,
    capacity: usize,
    entries: Mutex<HashMap<(String, String), (i64, SlackUser)>>,
}

impl UserCache {
    pub fn new(ttl_ms: i64, capacity: usize) -> UserCache {
        UserCache {
            ttl_ms,
            capacity: capacity.max(1),
            entries: Mutex::default(),
        }
    }

    /// A fresh answer for `user` of `team`, if one is cached.
    pub fn get(&self, team: &str, user: &str, now_ms: i64) -> Option<SlackUser> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&(team.to_string(), user.to_string()))
            .filter(|(at, _)| now_ms - at < self.ttl_ms)
            .map(|(_, u)| u.clone())
    }

    pub fn put(&self, team: &str, user: SlackUser, now_ms: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.capacity {
            entries.retain(|_, (at, _)| now_ms - *at < self.ttl_ms);
        }
        while entries.len() >= self.capacity {
            let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            entries.remove(&oldest);
        }
        entries.insert((team.to_string(), user.id.clone()), (now_ms, user));
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(id: &str) -> SlackUser {
        SlackUser::from_json(&json!({"id": id, "team_id": "T1"})).expect("user")
    }

    #[test]
    fn users_info_flags_are_read() {
        let u = SlackUser::from_json(&json!({"id": "U1", "team_id": "T9", "is_restricted": true,
            "is_ultra_restricted": false, "deleted": true, "is_bot": false}))
        .expect("user");
        assert_eq!(
            (
                u.team_id.as_str(),
                u.is_restricted,
                u.is_ultra_restricted,
                u.deleted,
                u.is_bot
            ),
            ("T9", true, false, true, false)
        );
        assert!(SlackUser::from_json(&json!({"team_id": "T9"})).is_none());
        assert!(
            SlackUser::from_json(&json!({"id": "USLACKBOT"}))
                .expect("bot")
                .is_bot
        );
    }

    #[test]
    fn the_cache_expires_answers_and_stays_bounded() {
        let c = UserCache::new(1_000, 2);
        c.put("T1", user("U1"), 0);
        assert_eq!(c.get("T1", "U1", 999).map(|u| u.id), Some("U1".into()));
        assert!(c.get("T1", "U1", 1_000).is_none(), "expired");
        assert!(c.get("T2", "U1", 10).is_none(), "another workspace");
        c.put("T1", user("U2"), 10);
        c.put("T1", user("U3"), 20);
        assert_eq!(c.len(), 2);
        assert!(c.get("T1", "U1", 30).is_none(), "the oldest went first");
        assert!(c.get("T1", "U3", 30).is_some());
    }
}
