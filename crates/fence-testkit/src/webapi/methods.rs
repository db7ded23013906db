//! What each method needs (scopes, SLACK.md §9 and the Addendum), how fast it may be called (SLACK.md §2), and what
//! it answers.

use super::{ApiCall, ApiState, Channel};
use crate::blockkit::check_message;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::time::Instant;

/// The scopes a method needs for these arguments.
pub(super) fn needed_scopes(g: &ApiState, method: &str, body: &Value) -> Vec<&'static str> {
    match method {
        "chat.postMessage" | "chat.update" => vec!["chat:write"],
        "users.list" => vec!["users:read"],
        "users.lookupByEmail" => vec!["users:read.email"],
        "usergroups.list" | "usergroups.users.list" => vec!["usergroups:read"],
        "openid.connect.userInfo" => vec!["openid"],
        "conversations.list" => {
            let types = body["types"].as_str().unwrap_or("public_channel");
            types
                .split(',')
                .filter_map(|t| match t.trim() {
                    "public_channel" => Some("channels:read"),
                    "private_channel" => Some("groups:read"),
                    "im" => Some("im:read"),
                    "mpim" => Some("mpim:read"),
                    _ => None,
                })
                .collect()
        }
        "conversations.info" => {
            let private = g
                .channel(body["channel"].as_str().unwrap_or_default())
                .is_some_and(|c| c.private);
            vec![if private {
                "groups:read"
            } else {
                "channels:read"
            }]
        }
        _ => Vec::new(),
    }
}

/// Seconds to wait when this call is over its method's limit (SLACK.md §2): "per API method per workspace per
/// app", and for `chat.postMessage` also per channel.
pub(super) fn rate_limited(
    g: &mut ApiState,
    token: Option<&str>,
    method: &str,
    body: &Value,
) -> Option<u64> {
    let workspace = token.unwrap_or_default();
    let limits = g.limits;
    let keys = if method == "chat.postMessage" {
        let channel = body["channel"].as_str().unwrap_or_default();
        vec![
            (
                format!("{method} {workspace} {channel}"),
                limits.post_per_channel,
            ),
            (format!("{method} {workspace}"), limits.post_per_workspace),
        ]
    } else {
        match limits.tier(method) {
            Some(l) => vec![(format!("{method} {workspace}"), l)],
            None => Vec::new(),
        }
    };
    g.windows.admit(&keys, Instant::now())
}

pub(super) fn answer(g: &mut ApiState, call: &mut ApiCall, token: &str) -> Value {
    let body = call.body.clone();
    match call.method.as_str() {
        "chat.postMessage" => post_message(g, call, token),
        "chat.update" => update_message(g, &body, token),
        "users.list" => users_list(g, &body, token),
        "users.lookupByEmail" => {
            let email = body["email"].as_str().unwrap_or_default();
            // Deactivated users are `users_not_found` (SLACK.md §9); addresses compare case-insensitively.
            match g.users.iter().find(|u| {
                !u.deleted
                    && u.email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(email))
            }) {
                Some(u) => {
                    json!({"ok": true, "user": {"id": u.id, "name": u.name, "deleted": false,
                        "profile": {"email": u.email, "display_name": u.display_name, "real_name": u.real_name}}})
                }
                None => json!({"ok": false, "error": "users_not_found"}),
            }
        }
        "usergroups.users.list" => {
            let group = body["usergroup"].as_str().unwrap_or_default();
            let members = g.members.get(group).cloned().unwrap_or_default();
            json!({"ok": true, "users": members})
        }
        // Slack's usergroups.list answers every group at once (no cursor, SLACK.md §9).
        "usergroups.list" => {
            let groups: Vec<Value> = g
                .groups
                .iter()
                .map(|(id, handle)| json!({"id": id, "handle": handle, "name": handle}))
                .collect();
            json!({"ok": true, "usergroups": groups})
        }
        "conversations.list" => conversations_list(g, &body, token),
        "conversations.info" => {
            let id = body["channel"].as_str().unwrap_or_default();
            match g.channel(id).filter(|c| visible(c, token)) {
                Some(c) => json!({"ok": true, "channel": channel_json(c, token)}),
                None => json!({"ok": false, "error": "channel_not_found"}),
            }
        }
        _ => json!({"ok": false, "error": "unknown_method"}),
    }
}

fn has(g: &ApiState, token: &str, scope: &str) -> bool {
    g.tokens
        .get(token)
        .is_some_and(|t| t.scopes.iter().any(|s| s == scope))
}

/// A private channel exists, for a bot, only when it is a member (SLACK.md Addendum: `channel_not_found`).
fn visible(c: &Channel, token: &str) -> bool {
    !c.private || c.members.contains(token)
}

fn channel_json(c: &Channel, token: &str) -> Value {
    json!({"id": c.id, "name": c.name, "is_private": c.private, "is_archived": c.archived,
           "is_member": c.members.contains(token)})
}

fn invalid(error: &str, details: Vec<String>) -> Value {
    if error == "invalid_blocks" {
        json!({"ok": false, "error": error, "errors": details})
    } else {
        json!({"ok": false, "error": error})
    }
}

/// `chat.postMessage` (SLACK.md §6 and the Addendum): a scripted error first, then the channel (`channel_not_found`,
/// `is_archived`), membership (`not_in_channel` without `chat:write.public`), Block Kit, then the identity shown.
fn post_message(g: &mut ApiState, call: &mut ApiCall, token: &str) -> Value {
    let body = &call.body;
    let channel = body["channel"].as_str().unwrap_or_default().to_string();
    if let Some(err) = g
        .post_errors
        .get_mut(&channel)
        .and_then(VecDeque::pop_front)
    {
        return json!({"ok": false, "error": err});
    }
    let Some(c) = g.channel(&channel).filter(|c| visible(c, token)) else {
        return json!({"ok": false, "error": "channel_not_found"});
    };
    if c.archived {
        return json!({"ok": false, "error": "is_archived"});
    }
    if !c.members.contains(token) && !has(g, token, "chat:write.public") {
        return json!({"ok": false, "error": "not_in_channel"});
    }
    if let Err(r) = check_message(body) {
        return invalid(r.error, r.details);
    }
    let metadata = match super::metadata::read(body) {
        Ok(m) => m,
        Err(e) => return json!({"ok": false, "error": e}),
    };
    let customize = has(g, token, "chat:write.customize");
    let mut shown = json!({"username": crate::manifest::bot_display_name()});
    for key in ["username", "icon_url", "icon_emoji"] {
        if let (true, Some(v)) = (customize, body.get(key)) {
            shown[key] = v.clone();
        }
    }
    call.shown_as = shown;
    g.next_ts += 1;
    let ts = format!("1700000000.{:06}", g.next_ts);
    call.ts = Some(ts.clone());
    g.messages
        .insert((channel.clone(), ts.clone()), token.to_string());
    let mut answer =
        json!({"ok": true, "channel": channel, "ts": ts, "message": {"text": body["text"]}});
    match metadata {
        super::metadata::Read::Kept(m) => answer["message"]["metadata"] = m,
        super::metadata::Read::Dropped(w) => answer["warning"] = json!(w),
        super::metadata::Read::None => {}
    }
    answer
}

/// `chat.update`: only a message this bot posted, with valid blocks.
fn update_message(g: &mut ApiState, body: &Value, token: &str) -> Value {
    let channel = body["channel"].as_str().unwrap_or_default().to_string();
    let ts = body["ts"].as_str().unwrap_or_default().to_string();
    match g.messages.get(&(channel.clone(), ts.clone())) {
        None => return json!({"ok": false, "error": "message_not_found"}),
        Some(by) if by != token => return json!({"ok": false, "error": "cant_update_message"}),
        Some(_) => {}
    }
    if let Err(r) = check_message(body) {
        return invalid(r.error, r.details);
    }
    json!({"ok": true, "channel": channel, "ts": ts, "text": body["text"]})
}

/// Pages of two, so clients must follow `next_cursor`.
fn page<T: Clone>(items: &[T], cursor: Option<&str>) -> (Vec<T>, String) {
    let start: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
    let end = (start + 2).min(items.len());
    let next = if end < items.len() {
        end.to_string()
    } else {
        String::new()
    };
    (
        items.get(start..end).map(<[T]>::to_vec).unwrap_or_default(),
        next,
    )
}

/// `users.list`: every member, deactivated ones too (`deleted`), a page at a time; e-mail addresses only with
/// `users:read.email` (SLACK.md §9).
fn users_list(g: &ApiState, body: &Value, token: &str) -> Value {
    let emails = has(g, token, "users:read.email");
    let (items, next) = page(&g.users, body["cursor"].as_str());
    let members: Vec<Value> = items
        .iter()
        .map(|u| {
            let mut profile = json!({"display_name": u.display_name, "real_name": u.real_name});
            if let (true, Some(e)) = (emails, &u.email) {
                profile["email"] = json!(e);
            }
            json!({"id": u.id, "name": u.name, "deleted": u.deleted, "real_name": u.real_name, "profile": profile})
        })
        .collect();
    json!({"ok": true, "members": members, "response_metadata": {"next_cursor": next}})
}

/// `conversations.list` of the asked `types` (public by default); private channels only where the bot is a member.
fn conversations_list(g: &ApiState, body: &Value, token: &str) -> Value {
    let types = body["types"].as_str().unwrap_or("public_channel");
    let public = types.contains("public_channel");
    let private = types.contains("private_channel");
    let skip_archived = matches!(body["exclude_archived"].as_str(), Some("true" | "1"))
        || body["exclude_archived"] == true;
    let listed: Vec<Channel> = g
        .channels
        .iter()
        .filter(|c| {
            if c.private {
                private && visible(c, token)
            } else {
                public
            }
        })
        .filter(|c| !(skip_archived && c.archived))
        .cloned()
        .collect();
    let (items, next) = page(&listed, body["cursor"].as_str());
    let channels: Vec<Value> = items.iter().map(|c| channel_json(c, token)).collect();
    json!({"ok": true, "channels": channels, "response_metadata": {"next_cursor": next}})
}
