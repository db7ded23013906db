//! The fake Slack Web API: `chat.postMessage`, `chat.update`, `users.list`, `users.lookupByEmail`,
//! `users.info`, `usergroups.list`, `usergroups.users.list`, `conversations.list`, `conversations.info`, `oauth.v2.access`
//! and Sign in with Slack (`oidc`: discovery, keys, `openid.connect.token`, `openid.connect.userInfo`),
//! as strict as Slack (SLACK.md §6, §9 and the Addendum): every token has the scopes of its grant and a method outside
//! them answers `missing_scope`; a bot posts only where it is a member unless it has `chat:write.public`; identity
//! overrides need `chat:write.customize`; Block Kit and message metadata (`metadata`) are checked; methods are rate limited by tier (SLACK.md §2).

mod metadata;
mod methods;
pub(crate) mod oauth;
pub(crate) mod oidc;
mod users_info;

pub use oauth::Install;
pub use oidc::OidcUser;
pub use users_info::TEAM_ID;

use crate::ratelimit::{RateLimits, Windows};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// The bot token the fake knows from the start; it has exactly the bot scopes of `slack-app-manifest.yaml`.
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
    /// What the fake answered (`{"ok": false, "error": …}` on refusals).
    pub answer: Value,
    /// HTTP status of the answer (429 when rate limited).
    pub status: u16,
    /// For a posted message, the identity Slack shows: `username` (the bot's name unless overridden with
    /// `chat:write.customize`) and `icon_url`/`icon_emoji` when overridden.
    pub shown_as: Value,
}

impl ApiCall {
    /// Slack accepted the call.
    pub fn ok(&self) -> bool {
        self.answer["ok"] == true
    }

    /// The error Slack answered, if any.
    pub fn error(&self) -> Option<&str> {
        self.answer["error"].as_str()
    }
}

/// A conversation in the fake workspace.
#[derive(Debug, Clone)]
pub(crate) struct Channel {
    pub id: String,
    pub name: String,
    pub private: bool,
    pub archived: bool,
    /// Tokens whose bot user is a member.
    pub members: HashSet<String>,
}

/// A workspace user.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: String,
    /// The unique username.
    pub name: String,
    /// What the member chose to be called (`profile.display_name`, `profile.real_name`): anything, even another
    /// member's or a group's name.
    pub display_name: String,
    pub real_name: String,
    pub email: Option<String>,
    /// Deactivated: still listed by `users.list` (SLACK.md §9), not found by `users.lookupByEmail`.
    pub deleted: bool,
}

/// A token and what its grant gave it.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub scopes: Vec<String>,
    pub revoked: bool,
}

#[derive(Debug)]
pub(crate) struct ApiState {
    pub calls: Vec<ApiCall>,
    pub users: Vec<User>,
    pub groups: Vec<(String, String)>,
    pub channels: Vec<Channel>,
    pub tokens: HashMap<String, Token>,
    pub next_ts: u64,
    /// Scripted `ok: false` errors per channel id for chat.postMessage.
    pub post_errors: HashMap<String, VecDeque<String>>,
    /// OAuth codes the fake will exchange, with its answer.
    pub oauth_codes: HashMap<String, Value>,
    /// Members of user groups (`usergroups.users.list`).
    pub members: HashMap<String, Vec<String>>,
    /// Messages posted to response URLs (`/response/{id}`), by id.
    pub responses: Vec<(String, Value)>,
    /// Messages posted: (channel, ts) → the token that posted it.
    pub messages: HashMap<(String, String), String>,
    pub limits: RateLimits,
    pub windows: Windows,
    /// Installs through the fake's consent screen, for unique codes and tokens.
    pub installs: u64,
    /// The workspace's team id and what `users.info` tells of its users.
    pub accounts: users_info::Accounts,
    /// Sign in with Slack: clients, codes, user tokens, scripted forgeries.
    pub oidc: oidc::Provider,
}

impl Default for ApiState {
    fn default() -> Self {
        let mut tokens = HashMap::new();
        tokens.insert(
            BOT_TOKEN.to_string(),
            Token {
                scopes: crate::manifest::bot_scopes(),
                revoked: false,
            },
        );
        ApiState {
            calls: Vec::new(),
            users: Vec::new(),
            groups: Vec::new(),
            channels: Vec::new(),
            tokens,
            next_ts: 0,
            post_errors: HashMap::new(),
            oauth_codes: HashMap::new(),
            members: HashMap::new(),
            responses: Vec::new(),
            messages: HashMap::new(),
            limits: RateLimits::default(),
            windows: Windows::default(),
            installs: 0,
            accounts: users_info::Accounts::default(),
            oidc: oidc::Provider::default(),
        }
    }
}

impl ApiState {
    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }

    pub fn channel_mut(&mut self, id: &str) -> Option<&mut Channel> {
        self.channels.iter_mut().find(|c| c.id == id)
    }
}

pub(crate) fn lock(m: &Mutex<ApiState>) -> MutexGuard<'_, ApiState> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn router(state: Arc<Mutex<ApiState>>) -> Router {
    Router::new()
        .route("/api/{method}", post(call).get(call))
        .route("/response/{id}", post(response))
        .route(
            "/.well-known/openid-configuration",
            get(|State(s): State<Arc<Mutex<ApiState>>>| async move {
                Json(oidc::discovery(&lock(&s).oidc.issuer))
            }),
        )
        .route("/openid/connect/keys", get(|| async { Json(oidc::keys()) }))
        .with_state(state)
}

/// A response URL (slash commands, clicks). Its posts are messages sent with the webhook client (SLACK.md §1, §5), so
/// Block Kit Slack refuses is a 400 `invalid_blocks` there too and is not shown (not in `responses`); a bare
/// `{"delete_original": "true"}` needs no text.
async fn response(
    State(state): State<Arc<Mutex<ApiState>>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if v.get("blocks").is_some() || v.get("attachments").is_some() {
        if let Err(r) = crate::blockkit::check_message(&v) {
            return (StatusCode::BAD_REQUEST, r.error).into_response();
        }
    }
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

pub(crate) fn decode(s: &str) -> String {
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

/// Why a call with this token may not go on: `invalid_auth`, `token_revoked` or `missing_scope` (with `needed`
/// and `provided`, SLACK.md Addendum).
fn authorize(g: &ApiState, token: Option<&str>, method: &str, body: &Value) -> Result<(), Value> {
    let Some(t) = token.and_then(|t| g.tokens.get(t)) else {
        return Err(json!({"ok": false, "error": "invalid_auth"}));
    };
    if t.revoked {
        return Err(json!({"ok": false, "error": "token_revoked"}));
    }
    let needed = users_info::needed_scopes(method)
        .unwrap_or_else(|| methods::needed_scopes(g, method, body));
    let missing: Vec<&str> = needed
        .into_iter()
        .filter(|s| !t.scopes.iter().any(|have| have == s))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(
            json!({"ok": false, "error": "missing_scope", "needed": missing.join(","), "provided": t.scopes.join(",")}),
        )
    }
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
        answer: Value::Null,
        status: 200,
        shown_as: Value::Null,
    };
    let scopes = token
        .as_deref()
        .and_then(|t| g.tokens.get(t))
        .map(|t| t.scopes.join(","))
        .unwrap_or_default();
    let answer = if method == "oauth.v2.access" {
        oauth::access(&mut g, &body)
    } else if method == "openid.connect.token" {
        oidc::token(&mut g, &body, oidc::basic_auth(&headers))
    } else if let Err(refusal) = authorize(&g, token.as_deref(), &method, &body) {
        refusal
    } else if let Some(secs) = methods::rate_limited(&mut g, token.as_deref(), &method, &body) {
        call.status = 429;
        call.answer = json!({"ok": false, "error": "ratelimited"});
        g.calls.push(call.clone());
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", secs.to_string())],
            Json(call.answer),
        )
            .into_response();
    } else if method == "users.info" {
        users_info::answer(&g, &body)
    } else if method == "openid.connect.userInfo" {
        oidc::user_info(&g, token.as_deref().unwrap_or_default())
    } else {
        methods::answer(&mut g, &mut call, token.as_deref().unwrap_or_default())
    };
    call.answer = answer.clone();
    g.calls.push(call);
    // Slack names the token's scopes on every answer.
    ([("x-oauth-scopes", scopes)], Json(answer)).into_response()
}
