//! The Web API reads behind mention names (SLACK.md §9): one page at a time of `users.list` (unique usernames,
//! never display or real names), `usergroups.list` (handles) and `conversations.list` (channel names), for a
//! caller that paces them within Tier 2; and `users.lookupByEmail` for e-mail addresses.

use super::WebApi;
use crate::answer::SendOutcome;
use fence_core::Secret;
use serde_json::{json, Value};
use std::time::Duration;

/// A list the directory is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirectoryList {
    Users,
    Groups,
    Channels,
}

impl DirectoryList {
    pub const ALL: [DirectoryList; 3] = [
        DirectoryList::Users,
        DirectoryList::Groups,
        DirectoryList::Channels,
    ];

    /// The Web API method that lists it.
    pub fn method(self) -> &'static str {
        match self {
            DirectoryList::Users => "users.list",
            DirectoryList::Groups => "usergroups.list",
            DirectoryList::Channels => "conversations.list",
        }
    }

    /// The answer's array.
    fn key(self) -> &'static str {
        match self {
            DirectoryList::Users => "members",
            DirectoryList::Groups => "usergroups",
            DirectoryList::Channels => "channels",
        }
    }
}

/// One page of a list: `(id, name)` pairs and the cursor of the next page (empty on the last).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<(String, String)>,
    pub next_cursor: String,
}

/// Why a page was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListError {
    /// HTTP 429: Slack's `Retry-After` (SLACK.md §2).
    RateLimited(Duration),
    /// Any other failure, as shown to a user: "usergroups.list: missing_scope (needs usergroups:read)".
    Failed(String),
}

/// An error of a directory method, with the scope Slack says it needs (`missing_scope` answers carry `needed`,
/// SLACK.md Addendum): "conversations.list: missing_scope (needs channels:read)".
fn with_needed(method: &str, error: &str, answer: &Value) -> String {
    let needed: String = answer["needed"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || ":.,_".contains(*c))
        .take(120)
        .collect();
    let error: String = error.chars().take(80).collect();
    if needed.is_empty() {
        format!("{method}: {error}")
    } else {
        format!("{method}: {error} (needs {needed})")
    }
}

fn failure(method: &str, outcome: SendOutcome, answer: &Value) -> ListError {
    match outcome {
        SendOutcome::RateLimited { retry_after } => ListError::RateLimited(retry_after),
        SendOutcome::Delivered => ListError::Failed(format!("{method}: unexpected answer")),
        SendOutcome::Retryable { error }
        | SendOutcome::ChannelBroken { error }
        | SendOutcome::PayloadRejected { error }
        | SendOutcome::Failed { error } => ListError::Failed(with_needed(method, &error, answer)),
    }
}

/// The `(id, name)` of one listed item: a user's unique `name` (display and real names are the member's own choice
/// and are never used: anyone could call themselves "security-team"), a group's `handle`, a channel's `name`.
/// Deactivated users (`deleted`, which `users.list` includes, SLACK.md §9) are left out.
fn item(list: DirectoryList, v: &Value) -> Option<(String, String)> {
    let name = match list {
        DirectoryList::Users if v["deleted"] == true || v["is_bot"] == true => return None,
        DirectoryList::Users | DirectoryList::Channels => v["name"].as_str(),
        DirectoryList::Groups => v["handle"].as_str(),
    }
    .filter(|n| !n.is_empty() && n.len() <= 120)?;
    let id = v["id"]
        .as_str()
        .filter(|id| !id.is_empty() && id.len() <= 40)?;
    Some((id.to_string(), name.to_string()))
}

impl WebApi {
    /// Reads one page of a list (`cursor` empty for the first). `users.list` and `conversations.list` page with
    /// `cursor`/`limit` (≤ 200 recommended, SLACK.md §9); `usergroups.list` answers all groups at once, so its
    /// cursor is followed only if Slack ever sends one.
    pub async fn directory_page(
        &self,
        token: &Secret<String>,
        list: DirectoryList,
        cursor: &str,
    ) -> Result<Page, ListError> {
        let mut body = match list {
            DirectoryList::Groups => json!({}),
            _ => json!({"limit": 200}),
        };
        if !cursor.is_empty() {
            body["cursor"] = json!(cursor);
        }
        if list == DirectoryList::Channels {
            body["types"] = json!("public_channel,private_channel");
            body["exclude_archived"] = json!(true);
        }
        let method = list.method();
        let (outcome, v) = self.call(method, token, &body).await;
        if outcome != SendOutcome::Delivered {
            return Err(failure(method, outcome, &v));
        }
        let items = v[list.key()]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| item(list, x))
            .collect();
        let next_cursor = v["response_metadata"]["next_cursor"]
            .as_str()
            .unwrap_or_default()
            .chars()
            .take(500)
            .collect();
        Ok(Page { items, next_cursor })
    }

    /// The user with this e-mail address (`users.lookupByEmail`, scope `users:read.email`, SLACK.md §9): `(id,
    /// name)`, or `None` when Slack answers `users_not_found` (also for deactivated users).
    pub async fn lookup_by_email(
        &self,
        token: &Secret<String>,
        email: &str,
    ) -> Result<Option<(String, String)>, ListError> {
        let method = "users.lookupByEmail";
        let (outcome, v) = self.call(method, token, &json!({"email": email})).await;
        match outcome {
            SendOutcome::Delivered => Ok(item(DirectoryList::Users, &v["user"])),
            SendOutcome::Failed { error } | SendOutcome::ChannelBroken { error }
                if error == "users_not_found" =>
            {
                Ok(None)
            }
            other => Err(failure(method, other, &v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_named_by_their_username_only() {
        let u = json!({"id": "U1", "name": "alice", "profile": {"display_name": "security-team", "real_name": "Security Team"}});
        assert_eq!(
            item(DirectoryList::Users, &u),
            Some(("U1".into(), "alice".into()))
        );
        let gone = json!({"id": "U2", "name": "bob", "deleted": true});
        assert_eq!(item(DirectoryList::Users, &gone), None);
    }

    #[test]
    fn missing_scope_names_the_needed_scope() {
        let a = json!({"ok": false, "error": "missing_scope", "needed": "usergroups:read"});
        assert_eq!(
            with_needed("usergroups.list", "missing_scope", &a),
            "usergroups.list: missing_scope (needs usergroups:read)"
        );
    }
}
