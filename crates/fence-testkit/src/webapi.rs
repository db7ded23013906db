//! The fake Slack Web API: `chat.postMessage`, `chat.update`, `users.list`, `usergroups.list`,
//! `conversations.list` and `oauth.v2.access`, with a directory of users, groups and channels, one accepted bot
//! token, and a record of every call.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// The bot token the fake accepts.
pub const BOT_TOKEN: &str = "xoxb-fence-test-token";

/// One Web API call the fake received.
#[derive(Debug, Clone)]
pub struct ApiCall {
    pub method: String,
    pub token: Option<String>,
    /// JSON body, or the form/query fields as a JSON object.
    pub body: Value,
    /// `ts` the fake assigned (chat.postMessage).
    pub ts: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct ApiState {
    pub calls: Vec<ApiCall>,
    pub users: Vec<(String, String)>,
    pub groups: Vec<(String, String)>,
    pub channels: Vec<(String, String)>,
    pub next_ts: u64,
    /// Scripted `ok: false` errors per channel id for chat.postMessage.
    pub post_errors: HashMap<String, VecDeque<String>>,
    /// OAuth codes the fake will exchange, with the webhook URL it hands out.
    pub oauth_codes: HashMap<String, Value>,
    /// Members of user groups (`usergroups.users.list`).
    pub members: HashMap<String, Vec<String>>,
    /// Messages posted to response URLs (`/response/{id}`), by id.
    pub responses: Vec<(String, Value)>,
}

pub(crate) fn lock(m: &Mutex<ApiState>) -> MutexGuard<'_, ApiState> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn router(state: Arc<Mutex<ApiState>>) -> Router {
    Router::new()
        .route("/api/{method}", post(call).get(call))
        .route("/response/{id}", post(response))
        .with_state(state)
}

async fn response(
    State(state): State<Arc<Mutex<ApiState>>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    lock(&state).responses.push((id, v));
    Json(json!({"ok": true})).into_response()
}

fn fields(query: &HashMap<String, String>, headers: &HeaderMap, body: &Bytes) -> Value {
    let mut out = serde_json::Map::new();
    for (k, v) in query {
        out.insert(k.clone(), json!(v));
    }
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("json"));
    if is_json {
        if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(body) {
            out.extend(m);
        }
    } else {
        for pair in String::from_utf8_lossy(body)
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            out.insert(decode(k), json!(decode(v)));
        }
    }
    Value::Object(out)
}

fn decode(s: &str) -> String {
    let bytes = s.replace('+', " ").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&String::from_utf8_lossy(&bytes[i + 1..i + 3]), 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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

async fn call(
    State(state): State<Arc<Mutex<ApiState>>>,
    Path(method): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let body = fields(&query, &headers, &body);
    let mut g = lock(&state);
    let mut call = ApiCall {
        method: method.clone(),
        token: token.clone(),
        body: body.clone(),
        ts: None,
    };
    let authed = token.as_deref() == Some(BOT_TOKEN);
    let answer = if method == "oauth.v2.access" {
        let code = body["code"].as_str().unwrap_or_default();
        match g.oauth_codes.remove(code) {
            Some(v) => v,
            None => json!({"ok": false, "error": "invalid_code"}),
        }
    } else if !authed {
        json!({"ok": false, "error": "invalid_auth"})
    } else {
        match method.as_str() {
            "chat.postMessage" => {
                let channel = body["channel"].as_str().unwrap_or_default().to_string();
                if let Some(err) = g
                    .post_errors
                    .get_mut(&channel)
                    .and_then(VecDeque::pop_front)
                {
                    json!({"ok": false, "error": err})
                } else if !g.channels.iter().any(|(id, _)| *id == channel) {
                    json!({"ok": false, "error": "channel_not_found"})
                } else {
                    g.next_ts += 1;
                    let ts = format!("1700000000.{:06}", g.next_ts);
                    call.ts = Some(ts.clone());
                    json!({"ok": true, "channel": channel, "ts": ts, "message": {"text": body["text"]}})
                }
            }
            "chat.update" => json!({"ok": true, "channel": body["channel"], "ts": body["ts"]}),
            "users.list" => {
                let (items, next) = page(&g.users, body["cursor"].as_str());
                let members: Vec<Value> = items.iter().map(|(id, name)| json!({"id": id, "name": name, "deleted": false, "profile": {"display_name": name, "real_name": name}})).collect();
                json!({"ok": true, "members": members, "response_metadata": {"next_cursor": next}})
            }
            "usergroups.users.list" => {
                let group = body["usergroup"].as_str().unwrap_or_default().to_string();
                let members: Vec<&String> = g
                    .members
                    .get(&group)
                    .map(|m| m.iter().collect())
                    .unwrap_or_default();
                json!({"ok": true, "users": members})
            }
            "usergroups.list" => {
                let groups: Vec<Value> = g
                    .groups
                    .iter()
                    .map(|(id, handle)| json!({"id": id, "handle": handle, "name": handle}))
                    .collect();
                json!({"ok": true, "usergroups": groups})
            }
            "conversations.list" => {
                let (items, next) = page(&g.channels, body["cursor"].as_str());
                let channels: Vec<Value> = items
                    .iter()
                    .map(|(id, name)| json!({"id": id, "name": name, "is_archived": false}))
                    .collect();
                json!({"ok": true, "channels": channels, "response_metadata": {"next_cursor": next}})
            }
            _ => json!({"ok": false, "error": "unknown_method"}),
        }
    };
    g.calls.push(call);
    Json(answer).into_response()
}
