//! Fence's test kit: a fake Slack (and Mattermost) on `127.0.0.1:0` that records every message and answers as
//! scripted — 200 `ok`, 429 with `Retry-After`, 5xx, revoked-webhook errors, or slowly — and can enforce Slack's
//! one-message-per-second pace on webhooks with 429s, like the real one.
//!
//! It is as strict as Slack where Slack refuses: Block Kit is checked on Slack webhooks and the Web API
//! ([`blockkit`]), the Web API's tokens have the scopes of their grant (the default [`BOT_TOKEN`] exactly those of
//! `slack-app-manifest.yaml`), a bot posts only where it may, and Web API methods are rate limited by tier
//! ([`RateLimits`], Slack's documented minimums by default).

#![cfg_attr(test, allow(clippy::too_many_lines))] // test scenarios and tables read top to bottom

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub mod blockkit;
mod fake_api;
pub mod manifest;
mod ratelimit;
#[cfg(feature = "tls")]
pub mod tls;
mod webapi;
pub use ratelimit::{Limit, RateLimits};
pub use webapi::{ApiCall, Install, OidcUser, BOT_TOKEN, TEAM_ID};

/// One scripted answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `200 ok`.
    Ok,
    /// `429` with `Retry-After: secs`.
    RateLimited(u64),
    /// Any status with a plain-text body, e.g. `(403, "invalid_token")` or `(500, "rollup_error")`.
    Status(u16, String),
    /// A JSON body with a status (Mattermost's AppError).
    Json(u16, Value),
    /// Wait, then answer `200 ok`.
    Slow(Duration),
    /// Never answer (a blackhole): the request is recorded on arrival with status 0, and the connection stays open
    /// until the client gives up.
    Drop,
}

/// A message the fake received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The hook's last path segment (e.g. `XXXX` in `/services/T/B/XXXX`).
    pub hook: String,
    pub body: Value,
    pub at: Instant,
    /// The status the fake answered.
    pub status: u16,
}

impl Received {
    /// All text of the message (top-level text, attachments, blocks), for content assertions.
    pub fn all_text(&self) -> String {
        self.body.to_string()
    }
}

#[derive(Debug, Default)]
struct Inner {
    received: Vec<Received>,
    scripts: HashMap<String, VecDeque<Answer>>,
    /// Answer used when a hook's script is empty.
    defaults: HashMap<String, Answer>,
    min_interval: Option<Duration>,
    last_accepted: HashMap<String, Instant>,
    rejected_429: u64,
    /// Every webhook answer waits between these (spread evenly over the requests), as Slack's do.
    latency: Option<(Duration, Duration)>,
    answered: u64,
}

/// The fake Slack server.
#[derive(Debug, Clone)]
pub struct FakeSlack {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    api: Arc<Mutex<webapi::ApiState>>,
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeSlack {
    /// Starts a fake Slack on an ephemeral port of 127.0.0.1.
    pub async fn start() -> std::io::Result<FakeSlack> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Mutex::new(Inner::default()));
        let api = Arc::new(Mutex::new(webapi::ApiState::default()));
        webapi::lock(&api).oidc.issuer = format!("http://{addr}");
        let app = Router::new()
            .route("/services/{t}/{b}/{hook}", post(webhook))
            .route("/hooks/{hook}", post(mattermost_hook))
            .with_state(inner.clone())
            .merge(webapi::router(api.clone()));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeSlack { addr, inner, api })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The Web API base URL to configure as `slack.api_url`.
    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// The `host:port` to allow in `delivery.webhook_hosts`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// A Slack-shaped webhook URL whose last segment is `hook`.
    pub fn webhook_url(&self, hook: &str) -> String {
        self.webhook_url_in("T000TEST", hook)
    }

    /// A Slack-shaped webhook URL of workspace `team` (`…/services/T…/B…/hook`).
    pub fn webhook_url_in(&self, team: &str, hook: &str) -> String {
        format!("http://{}/services/{team}/B000TEST/{hook}", self.addr)
    }

    /// A Mattermost-shaped webhook URL.
    pub fn mattermost_url(&self, hook: &str) -> String {
        format!("http://{}/hooks/{hook}", self.addr)
    }

    /// Queues answers for a hook, used in order before falling back to its default.
    pub fn script(&self, hook: &str, answers: impl IntoIterator<Item = Answer>) {
        lock(&self.inner)
            .scripts
            .entry(hook.to_string())
            .or_default()
            .extend(answers);
    }

    /// Sets the answer a hook gives once its script is used up (e.g. a revoked webhook).
    pub fn set_default(&self, hook: &str, answer: Answer) {
        lock(&self.inner).defaults.insert(hook.to_string(), answer);
    }

    /// Enforces Slack's pace: a message to a hook sooner than `per_second` after the last accepted one gets a 429.
    pub fn enforce_rate(&self, per_second: f64) {
        lock(&self.inner).min_interval = Some(Duration::from_secs_f64(1.0 / per_second));
    }

    /// Makes every webhook answer take between `min` and `max` (spread over the requests), like Slack's 100–300 ms.
    pub fn set_latency(&self, min: Duration, max: Duration) {
        lock(&self.inner).latency = Some((min, max.max(min)));
    }

    /// Messages accepted (answered 200) for a hook.
    pub fn accepted(&self, hook: &str) -> Vec<Received> {
        lock(&self.inner)
            .received
            .iter()
            .filter(|r| r.hook == hook && r.status == 200)
            .cloned()
            .collect()
    }

    /// Every request for a hook, whatever the answer.
    pub fn requests(&self, hook: &str) -> Vec<Received> {
        lock(&self.inner)
            .received
            .iter()
            .filter(|r| r.hook == hook)
            .cloned()
            .collect()
    }

    /// Every request received.
    pub fn all_requests(&self) -> Vec<Received> {
        lock(&self.inner).received.clone()
    }

    /// Webhook requests that have arrived so far, counted as each arrives (before a slow answer is given).
    pub fn arrived(&self) -> u64 {
        lock(&self.inner).answered
    }

    /// How many 429s the fake answered.
    pub fn rejected_429(&self) -> u64 {
        lock(&self.inner).rejected_429
    }

    /// How many findings the accepted messages of `hook` account for: a single alert counts one, a coalesced one
    /// counts what its headline says ("🚨 37 new vulnerabilities: …"). Other messages (tests, notices) count zero.
    pub fn findings_counted(&self, hook: &str) -> usize {
        count_findings(&self.accepted(hook))
    }

    /// Waits until `n` messages were accepted for `hook`, or the timeout passes; returns what arrived.
    pub async fn wait_accepted(&self, hook: &str, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.accepted(hook);
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until `pred` holds over the accepted messages of `hook`.
    pub async fn wait_until(
        &self,
        hook: &str,
        timeout: Duration,
        pred: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.accepted(hook);
            if pred(&got) || Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The answer to a webhook request: its script, else its default; a message the webhook refuses before posting
/// (`refusal`) gets that 400 instead of an `Ok`. Only a message it would post takes the hook's pace slot: Slack's
/// limit is on posting messages (SLACK.md §2), and a refused one posts nothing. Returns the answer and whether the
/// pace turned it away (a 429).
async fn answer_for(
    inner: &Arc<Mutex<Inner>>,
    hook: &str,
    refusal: Option<Answer>,
) -> (Answer, bool) {
    let mut g = lock(inner);
    let scripted = g.scripts.get_mut(hook).and_then(VecDeque::pop_front);
    let answer = scripted.unwrap_or_else(|| g.defaults.get(hook).cloned().unwrap_or(Answer::Ok));
    if !matches!(answer, Answer::Ok | Answer::Slow(_)) {
        return (answer, false);
    }
    if let Some(refused) = refusal {
        return (refused, false);
    }
    let mut paced_out = false;
    if let Some(min) = g.min_interval {
        let now = Instant::now();
        if g.last_accepted
            .get(hook)
            .is_some_and(|last| now.duration_since(*last) < min)
        {
            paced_out = true;
        } else {
            g.last_accepted.insert(hook.to_string(), now);
        }
    }
    (answer, paced_out)
}

fn record(inner: &Arc<Mutex<Inner>>, hook: &str, body: &Bytes, status: u16) {
    let body = serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
    let mut g = lock(inner);
    if status == 429 {
        g.rejected_429 += 1;
    }
    g.received.push(Received {
        hook: hook.to_string(),
        body,
        at: Instant::now(),
        status,
    });
}

/// Which kind of incoming webhook a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hook {
    Slack,
    Mattermost,
}

/// What Slack's webhook refuses before posting (SLACK.md §1): a body that is not JSON (`invalid_payload`), Block Kit
/// it rejects (`invalid_blocks`), nothing to show (`no_text`) — each a 400 with the code as plain text.
fn slack_refusal(body: &Bytes) -> Option<&'static str> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => blockkit::check_message(&v).err().map(|r| r.error),
        _ => Some("invalid_payload"),
    }
}

/// What Mattermost's webhook refuses before posting (SLACK.md §10): a body that is not a JSON object, or one with
/// neither `text` nor `attachments` — a 400 with its JSON `AppError`.
fn mattermost_refusal(body: &Bytes) -> Option<Value> {
    let error = |id: &str, message: &str| serde_json::json!({"id": id, "message": message, "detailed_error": "", "request_id": "fake", "status_code": 400});
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Some(error(
            "web.incoming_webhook.parse.app_error",
            "Unable to parse incoming data.",
        ));
    };
    let text = v.get("text").and_then(Value::as_str).unwrap_or("");
    let attachments = v
        .get("attachments")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    (text.is_empty() && !attachments)
        .then(|| error("web.incoming_webhook.text.app_error", "No text specified."))
}

/// The 400 a webhook of `kind` gives `body` instead of posting it, if it refuses it.
fn refusal(kind: Hook, body: &Bytes) -> Option<Answer> {
    match kind {
        Hook::Slack => slack_refusal(body).map(|code| Answer::Status(400, code.to_string())),
        Hook::Mattermost => mattermost_refusal(body).map(|e| Answer::Json(400, e)),
    }
}

async fn respond(inner: Arc<Mutex<Inner>>, hook: String, body: Bytes, kind: Hook) -> Response {
    let (answer, paced_out) = answer_for(&inner, &hook, refusal(kind, &body)).await;
    let wait = {
        let mut g = lock(&inner);
        g.answered += 1;
        let n = g.answered;
        g.latency.map(|(min, max)| {
            let span = (max - min).as_millis().max(1) as u64;
            min + Duration::from_millis(n.wrapping_mul(7919) % span)
        })
    };
    if let Some(wait) = wait {
        tokio::time::sleep(wait).await;
    }
    if paced_out {
        record(&inner, &hook, &body, 429);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            "rate_limited",
        )
            .into_response();
    }
    match answer {
        Answer::Ok => {
            record(&inner, &hook, &body, 200);
            (StatusCode::OK, "ok").into_response()
        }
        Answer::Slow(d) => {
            tokio::time::sleep(d).await;
            record(&inner, &hook, &body, 200);
            (StatusCode::OK, "ok").into_response()
        }

        Answer::RateLimited(secs) => {
            record(&inner, &hook, &body, 429);
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", secs.to_string())],
                "rate_limited",
            )
                .into_response()
        }
        Answer::Status(code, text) => {
            record(&inner, &hook, &body, code);
            (
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                [("content-type", "text/html")],
                text,
            )
                .into_response()
        }
        Answer::Json(code, v) => {
            record(&inner, &hook, &body, code);
            (
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                axum::Json(v),
            )
                .into_response()
        }
        Answer::Drop => {
            record(&inner, &hook, &body, 0);
            // Never answer within any sane client timeout.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}

async fn webhook(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((_t, _b, hook)): Path<(String, String, String)>,
    _h: HeaderMap,
    body: Bytes,
) -> Response {
    respond(inner, hook, body, Hook::Slack).await
}

async fn mattermost_hook(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(hook): Path<String>,
    body: Bytes,
) -> Response {
    respond(inner, hook, body, Hook::Mattermost).await
}

/// How many findings these messages account for (see [`FakeSlack::findings_counted`]).
pub fn count_findings(msgs: &[Received]) -> usize {
    msgs.iter()
        .map(|m| {
            let text = m.body["text"].as_str().unwrap_or_default();
            if let Some(head) = text
                .split(" new vulnerabilities")
                .next()
                .filter(|_| text.contains(" new vulnerabilities"))
            {
                head.split_whitespace()
                    .last()
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0)
            } else if text.contains("Vulnerability Detected")
                || text.contains("Informational Finding")
            {
                1
            } else {
                0
            }
        })
        .sum()
}
