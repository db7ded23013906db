//! The Slack app: slash commands (`/fence scan|status|vulnerabilities|help`), button clicks (triage, fix
//! instructions, run scan), "Add to Slack" (OAuth v2) and the app manifest. Every Slack request is checked against
//! the v0 signature first; an unsigned or stale one gets 401 and changes nothing.

use crate::app::AppState;
use crate::error::ApiError;
use crate::triage::{change_status, Actor};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Json;
use fence_core::{Alert, DomainName, FindingStatus, Severity};
use fence_slack::escape::bounded;
use fence_store::orgs::Org;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

const SCOPES: &str = "incoming-webhook,commands,chat:write,users:read,usergroups:read";
const STATE_TTL_MS: i64 = 10 * 60_000;

fn verify(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let Some(secret) = &state.config.slack.signing_secret else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "slack.signing_secret is not configured",
        ));
    };
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    fence_slack::signature::verify(
        secret.expose(),
        h("x-slack-request-timestamp"),
        h("x-slack-signature"),
        body,
        state.clock.now_ms() / 1000,
    )
    .map_err(|_| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the request is not signed by Slack, or is too old",
        )
    })
}

fn ephemeral(text: impl Into<String>) -> Response {
    Json(json!({"response_type": "ephemeral", "text": text.into()})).into_response()
}

const HELP: &str = "*Fence commands*\n• `/fence scan <domain>` — queue a security scan; its summary follows here\n• `/fence status` — the scan queue\n• `/fence vulnerabilities` — recent open critical and high findings\n• `/fence help` — this list";

async fn org_of_team(state: &AppState, team: &str) -> Result<Option<Org>, ApiError> {
    Ok(state.store.org_by_slack_team(team).await?)
}

/// `POST /api/slack/commands`.
pub async fn commands(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    verify(&state, &headers, &body)?;
    let form: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&body).map_err(|_| ApiError::malformed("not a form body"))?;
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    if get("ssl_check") == "1" {
        return Ok(StatusCode::OK.into_response());
    }
    let Some(org) = org_of_team(&state, get("team_id")).await? else {
        return Ok(ephemeral("This Slack workspace is not connected to Fence yet. Ask a Fence admin to use *Add to Slack*, or to set `slack_team_id` on the organization (PATCH /api/v1/org)."));
    };
    let plan = org.plan();
    if !plan.has_enterprise_features() {
        return Ok(ephemeral(format!("Slash commands need the enterprise or custom plan; this organization is on the {plan} plan.")));
    }
    let user = get("user_id");
    let text = get("text").trim();
    let (cmd, rest) = text
        .split_once(char::is_whitespace)
        .map(|(c, r)| (c, r.trim()))
        .unwrap_or((text, ""));
    match cmd.to_ascii_lowercase().as_str() {
        "scan" => {
            let domain = match DomainName::parse(
                rest.trim_start_matches("https://").trim_end_matches('/'),
            ) {
                Ok(d) if !rest.is_empty() => d,
                _ => return Ok(ephemeral("Usage: `/fence scan example.com`")),
            };
            let scan = crate::api::scans::queue_scan(
                &state,
                &org.id,
                &domain,
                "full",
                &format!("slack:{user}"),
            )
            .await?;
            let response_url = get("response_url");
            if !response_url.is_empty() {
                state.store.set_scan_notify(&scan.id, response_url).await?;
            }
            state
                .store
                .audit(
                    &org.id,
                    &format!("slack:{user}"),
                    "scan.queue",
                    Some(&scan.id),
                    Some(domain.as_str()),
                    state.clock.now_ms(),
                )
                .await?;
            let position = state.store.queue_position(&scan.id).await?;
            Ok(Json(json!({"response_type": "in_channel", "text": format!("🔍 Queued a full scan of {} for <@{user}> (position {position} in the queue). The summary will follow here.", bounded(domain.as_str(), 253))})).into_response())
        }
        "status" => {
            let scans = state.store.list_scans(&org.id, 50).await?;
            let active: Vec<String> = scans
                .iter()
                .filter(|s| s.status == "queued" || s.status == "running")
                .rev()
                .enumerate()
                .map(|(i, s)| {
                    format!(
                        "{}. {} — {} ({})",
                        i + 1,
                        bounded(&s.domain, 253),
                        s.scan_type,
                        s.status
                    )
                })
                .collect();
            Ok(ephemeral(if active.is_empty() {
                "The scan queue is empty.".to_string()
            } else {
                format!("*Scan queue*\n{}", active.join("\n"))
            }))
        }
        "vulnerabilities" | "vulns" => {
            let mut lines = Vec::new();
            for sev in [Severity::Critical, Severity::High] {
                let q = fence_store::findings::FindingQuery {
                    severity: Some(sev),
                    status: Some(FindingStatus::Open),
                    limit: 10,
                    ..Default::default()
                };
                for f in state.store.list_findings(&org.id, &q).await? {
                    let cvss = f
                        .cvss
                        .map(|c| format!(" (CVSS {c:.1})"))
                        .unwrap_or_default();
                    lines.push(format!(
                        "{} {} — {}{cvss} <{}/findings/{}|details>",
                        sev.dot(),
                        bounded(&f.title, 150),
                        bounded(&f.domain, 253),
                        state.config.base_url,
                        f.id
                    ));
                }
            }
            lines.truncate(10);
            Ok(ephemeral(if lines.is_empty() {
                "No open critical or high vulnerabilities. 🎉".to_string()
            } else {
                format!(
                    "*Recent open critical and high vulnerabilities*\n{}",
                    lines.join("\n")
                )
            }))
        }
        "help" | "" => Ok(ephemeral(HELP)),
        other => Ok(ephemeral(format!(
            "Unknown command `{}`.\n{HELP}",
            bounded(other, 40)
        ))),
    }
}

/// Whether a Slack user may triage for `org`: everyone when the allow-list is empty, else listed users and members
/// of listed user groups.
async fn may_triage(state: &AppState, org: &Org, user: &str) -> bool {
    if org.triage_allow.is_empty() || org.triage_allow.iter().any(|a| a == user) {
        return true;
    }
    let groups: Vec<&String> = org
        .triage_allow
        .iter()
        .filter(|a| a.starts_with('S'))
        .collect();
    if groups.is_empty() {
        return false;
    }
    let Ok(channels) = state.store.list_channels(&org.id).await else {
        return false;
    };
    let Some(token) = channels
        .iter()
        .filter_map(|c| c.bot_token_enc.as_deref())
        .find_map(|t| state.secrets.decrypt(t).ok())
    else {
        return false;
    };
    for g in groups {
        if state
            .webapi
            .group_members(&token, g)
            .await
            .is_ok_and(|m| m.iter().any(|u| u == user))
        {
            return true;
        }
    }
    false
}

/// `POST /api/slack/interactions`: answered at once; the work continues in the background.
pub async fn interactions(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    verify(&state, &headers, &body)?;
    let form: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&body).map_err(|_| ApiError::malformed("not a form body"))?;
    let payload = form
        .iter()
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let payload: Value =
        serde_json::from_str(payload).map_err(|_| ApiError::malformed("payload is not JSON"))?;
    tokio::spawn(async move {
        if let Err(e) = handle_click(&state, &payload).await {
            tracing::warn!(error = %e.message, "button click not handled");
        }
    });
    Ok(StatusCode::OK.into_response())
}

async fn handle_click(state: &AppState, p: &Value) -> Result<(), ApiError> {
    let action = &p["actions"][0];
    let value = action["value"].as_str().unwrap_or("");
    let response_url = p["response_url"].as_str().unwrap_or("").to_string();
    let user = p["user"]["id"].as_str().unwrap_or("").to_string();
    let team = p["team"]["id"]
        .as_str()
        .or_else(|| p["user"]["team_id"].as_str())
        .unwrap_or("")
        .to_string();
    let message_ts = p["container"]["message_ts"]
        .as_str()
        .or_else(|| p["message"]["ts"].as_str())
        .or_else(|| p["message_ts"].as_str())
        .unwrap_or("")
        .to_string();
    let respond = |msg: Value| {
        let (state, url) = (state.clone(), response_url.clone());
        async move {
            if !url.is_empty() && url.starts_with("http") {
                state.webapi.respond(&url, &msg).await;
            }
        }
    };
    // Link buttons (View Details, …) carry no value: nothing to do but the acknowledgement already sent.
    if value.is_empty() {
        return Ok(());
    }
    let Some(button) = state.signer.verify(value) else {
        tracing::warn!(user = %user, "a button value not signed by Fence was refused");
        return Ok(());
    };
    let org = match org_of_team(state, &team).await? {
        Some(o) if o.id == button.org_id => o,
        _ => {
            tracing::warn!(user = %user, "a button click from a workspace of another organization was refused");
            return Ok(());
        }
    };
    let actor = Actor {
        audit: format!("slack:{user}"),
        shown: format!("<@{user}>"),
    };
    match button.action.as_str() {
        "false_positive" | "snooze" => {
            if !may_triage(state, &org, &user).await {
                respond(json!({"response_type": "ephemeral", "replace_original": false, "text": "You are not allowed to triage findings for this organization; ask a Fence admin to add you to `triage_allow`."})).await;
                return Ok(());
            }
            let (status, hours) = if button.action == "snooze" {
                (FindingStatus::Snoozed, Some(24.0))
            } else {
                (FindingStatus::FalsePositive, None)
            };
            let f = change_status(state, &org.id, &button.target_id, status, hours, &actor).await?;
            // Bot-posted alerts are updated through the Web API by the follow-up; webhook-posted ones through the
            // response URL here.
            if !state.store.is_bot_message(&org.id, &message_ts).await? {
                let note = crate::triage::note(status, hours, &actor);
                let single = p["actions"][0]["block_id"].as_str() == Some("fence_finding")
                    || p["callback_id"].as_str() == Some("fence_finding");
                if single {
                    if let Alert::Vulnerability(v) = f.alert(false) {
                        let format = if p["type"] == "interactive_message" {
                            fence_core::MessageFormat::Attachments
                        } else {
                            fence_core::MessageFormat::Blocks
                        };
                        let ctx = state.render_context(
                            &org.id,
                            fence_core::ChannelKind::Slack,
                            format,
                            org.plan(),
                        );
                        let fu = fence_core::alert::FollowUpAlert {
                            finding: v,
                            note: note.clone(),
                            body: None,
                            update_original: true,
                        };
                        let mut updated = fence_slack::render::updated(&ctx, &fu);
                        updated["replace_original"] = json!(true);
                        respond(updated).await;
                    }
                }
                respond(json!({"response_type": "in_channel", "replace_original": false, "thread_ts": message_ts, "text": note})).await;
            }
        }
        "fix_instructions" => {
            let f = state.store.finding(&org.id, &button.target_id).await?;
            let text = match &f.remediation {
                Some(r) => format!(
                    "🛠 *Fix instructions for {}*\n{}",
                    bounded(&f.title, 200),
                    bounded(r, 3500)
                ),
                None => format!(
                    "No fix instructions were recorded for {}. See its page: {}/findings/{}",
                    bounded(&f.title, 200),
                    state.config.base_url,
                    f.id
                ),
            };
            state
                .store
                .audit(
                    &org.id,
                    &actor.audit,
                    "finding.fix_instructions",
                    Some(&f.id),
                    None,
                    state.clock.now_ms(),
                )
                .await?;
            respond(json!({"response_type": "in_channel", "replace_original": false, "thread_ts": message_ts, "text": text})).await;
        }
        "run_scan" => {
            let plan = org.plan();
            if !plan.has_enterprise_features() {
                respond(json!({"response_type": "ephemeral", "replace_original": false, "text": format!("Run Scan needs the enterprise or custom plan; this organization is on the {plan} plan.")})).await;
                return Ok(());
            }
            let domain =
                DomainName::parse(&button.target_id).map_err(|e| ApiError::invalid("domain", e))?;
            let scan = crate::api::scans::queue_scan(state, &org.id, &domain, "full", &actor.audit)
                .await?;
            if !response_url.is_empty() {
                state.store.set_scan_notify(&scan.id, &response_url).await?;
            }
            state
                .store
                .audit(
                    &org.id,
                    &actor.audit,
                    "scan.queue",
                    Some(&scan.id),
                    Some(domain.as_str()),
                    state.clock.now_ms(),
                )
                .await?;
            let position = state.store.queue_position(&scan.id).await?;
            respond(json!({"response_type": "ephemeral", "replace_original": false, "text": format!("🔍 Queued a full scan of {} (position {position}). The summary will follow.", bounded(domain.as_str(), 253))})).await;
        }
        _ => {}
    }
    Ok(())
}

/// Posts a finished scan's summary to the response URL of the command or button that queued it.
pub async fn notify_scan(state: &AppState, scan: &fence_store::scans::ScanRow) {
    let Some(url) = scan.notify_url.as_deref() else {
        return;
    };
    let org = match state.store.org(&scan.org_id).await {
        Ok(o) => o,
        Err(_) => return,
    };
    let ctx = state.render_context(
        &org.id,
        fence_core::ChannelKind::Slack,
        fence_core::MessageFormat::Blocks,
        org.plan(),
    );
    let alert = Alert::ScanCompleted(fence_core::alert::ScanAlert {
        scan_id: scan.id.clone(),
        domain: scan.domain.clone(),
        scan_type: scan.scan_type.clone(),
        duration_secs: (scan.duration_ms.unwrap_or(0).max(0) / 1000) as u64,
        counts: scan
            .counts
            .map(|c| u32::try_from(c.max(0)).unwrap_or(u32::MAX)),
    });
    let mut msg = fence_slack::render::render(&ctx, &[alert], &[]);
    msg["response_type"] = json!("in_channel");
    state.webapi.respond(url, &msg).await;
}

fn state_mac(state: &AppState, payload: &str) -> String {
    let key = state.secrets.derive("oauth-state");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key)
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(payload.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// `GET /api/slack/install` (admin): redirects to Slack's consent screen with a signed, expiring `state`.
pub async fn install(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
) -> Result<Response, ApiError> {
    caller.require(crate::auth::Scope::Admin)?;
    install_redirect(&state, &caller.org_id).await
}

/// The redirect to Slack's consent screen for an organization (API and web UI).
pub async fn install_redirect(state: &AppState, org_id: &str) -> Result<Response, ApiError> {
    let Some(client_id) = &state.config.slack.client_id else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_configured",
            "slack.client_id and slack.client_secret must be configured for Add to Slack",
        ));
    };
    let org = state.store.org(org_id).await?;
    let plan = org.plan();
    if plan.channel_limit() == Some(0) {
        return Err(ApiError::plan_limit(format!(
            "the {plan} plan does not include Slack channels"
        )));
    }
    let payload = format!("{org_id}.{}", state.clock.now_ms() + STATE_TTL_MS);
    let signed = format!("{payload}.{}", state_mac(state, &payload));
    let redirect = format!("{}/api/slack/oauth/callback", state.config.base_url);
    let url = url::Url::parse_with_params(
        &state.config.slack.oauth_authorize_url,
        &[
            ("client_id", client_id.as_str()),
            ("scope", SCOPES),
            ("state", &signed),
            ("redirect_uri", &redirect),
        ],
    )
    .map_err(|_| ApiError::internal())?;
    Ok(Redirect::to(url.as_str()).into_response())
}

#[derive(Debug, serde::Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn page(status: StatusCode, text: &str) -> Response {
    let body = format!("<!doctype html><meta charset=utf-8><title>Fence</title><body style=\"font-family:sans-serif;margin:3em\"><h1>Fence</h1><p>{}</p></body>", html_escape(text));
    (status, Html(body)).into_response()
}

pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `GET /api/slack/oauth/callback`: exchanges the code and creates the channel with the webhook, its channel name
/// and the bot token, and maps the workspace to the organization.
pub async fn callback(State(state): State<AppState>, Query(q): Query<Callback>) -> Response {
    if let Some(e) = q.error {
        return page(
            StatusCode::BAD_REQUEST,
            &format!(
                "Slack did not install the app: {}",
                e.chars().take(60).collect::<String>()
            ),
        );
    }
    let (Some(code), Some(signed)) = (q.code, q.state) else {
        return page(
            StatusCode::BAD_REQUEST,
            "The link is missing its code or state.",
        );
    };
    let Some((payload, mac)) = signed.rsplit_once('.') else {
        return page(StatusCode::UNAUTHORIZED, "The install link is not valid.");
    };
    let ok: bool =
        subtle::ConstantTimeEq::ct_eq(state_mac(&state, payload).as_bytes(), mac.as_bytes()).into();
    let Some((org_id, expires)) = payload.split_once('.') else {
        return page(StatusCode::UNAUTHORIZED, "The install link is not valid.");
    };
    if !ok
        || expires
            .parse::<i64>()
            .map_or(true, |e| e < state.clock.now_ms())
    {
        return page(
            StatusCode::UNAUTHORIZED,
            "The install link is not valid or has expired; start again from Fence.",
        );
    }
    match finish_install(&state, org_id, &code).await {
        Ok(channel) => page(
            StatusCode::OK,
            &format!("Fence is connected to {channel}. You can close this page."),
        ),
        Err(e) => page(e.status, &e.message),
    }
}

async fn finish_install(state: &AppState, org_id: &str, code: &str) -> Result<String, ApiError> {
    let (Some(client_id), Some(secret)) = (
        &state.config.slack.client_id,
        &state.config.slack.client_secret,
    ) else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_configured",
            "slack.client_id and slack.client_secret must be configured",
        ));
    };
    let redirect = format!("{}/api/slack/oauth/callback", state.config.base_url);
    let v = state
        .webapi
        .oauth_access(client_id, secret, code, &redirect)
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "slack_error",
                format!("Slack refused the installation: {e}"),
            )
        })?;
    let hook = &v["incoming_webhook"];
    let channel_name = hook["channel"]
        .as_str()
        .unwrap_or("#security-alerts")
        .to_string();
    let mut body = json!({
        "name": format!("Slack {channel_name}"),
        "type": "slack",
        "webhook_url": hook["url"],
        "channel": channel_name,
    });
    if let (Some(token), Some(cid)) = (v["access_token"].as_str(), hook["channel_id"].as_str()) {
        body["bot_token"] = json!(token);
        body["channel_id"] = json!(cid);
    }
    if let Some(team) = v["team"]["id"].as_str() {
        if state
            .store
            .org_by_slack_team(team)
            .await?
            .is_some_and(|o| o.id != org_id)
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "This Slack workspace is already connected to another Fence organization.",
            ));
        }
    }
    let input = crate::channels::parse_input(state, &body, None)?;
    let org = state.store.org(org_id).await?;
    let plan = org.plan();
    crate::channels::check_plan(
        plan,
        &input,
        true,
        state.store.count_channels(org_id).await?,
    )?;
    let now = state.clock.now_ms();
    let row = input.into_row(state, fence_store::new_id(), org_id.to_string(), None, now);
    state.store.insert_channel(&row).await?;
    if let Some(team) = v["team"]["id"].as_str() {
        state
            .store
            .update_org_slack(org_id, Some(team), &org.triage_allow)
            .await?;
    }
    state
        .store
        .audit(
            org_id,
            "slack:oauth",
            "channel.create",
            Some(&row.id),
            Some(&row.name),
            now,
        )
        .await?;
    Ok(channel_name)
}

/// `GET /api/slack/manifest`: the app manifest for this Fence's `base_url`, to paste at api.slack.com.
pub async fn manifest(State(state): State<AppState>) -> Response {
    let text = include_str!("../../../slack-app-manifest.yaml")
        .replace("https://fence.example.com", &state.config.base_url);
    ([(header::CONTENT_TYPE, "text/yaml; charset=utf-8")], text).into_response()
}
