//! `POST /api/slack/commands`: `/fence scan <domain>`, `/fence status`, `/fence vulnerabilities`, `/fence help`,
//! answered in the conversation (scans in the channel, the rest ephemerally). `scan` and `vulnerabilities` are for
//! full members of the organization's workspace (`services::slack_access`). In a data-sensitive conversation
//! (`minimal_here`) the answers are counts and links only.

use super::{ephemeral, form, org_of_team, response_url, verify};
use crate::http::error::ApiError;
use crate::services::scans::queue_from_slack;
use crate::services::slack_access::{authorize, SlackAction};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use fence_core::{DomainName, FindingStatus, Severity};
use fence_slack::escape::{bounded, host};
use fence_store::orgs::Org;
use serde_json::json;

const HELP: &str = "*Fence commands*\n• `/fence scan <domain>` — queue a security scan; its summary follows here\n• `/fence status` — the scan queue\n• `/fence vulnerabilities` — recent open critical and high findings\n• `/fence help` — this list";

/// The fields of a slash command Fence reads.
struct Command<'a> {
    user: &'a str,
    text: &'a str,
    response_url: &'a str,
}

/// Whether answers in the conversation `channel_id` must be minimal: a `detail: minimal` channel posts there, or the
/// organization has a minimal webhook channel (which names no channel id) and no channel of Fence's is known to post
/// there — Fence cannot tell that conversation is not the sensitive one.
async fn minimal_here(state: &AppState, org: &Org, channel_id: &str) -> bool {
    let Ok(channels) = state.store.list_channels(&org.id).await else {
        return true;
    };
    let minimal = |c: &fence_store::channels::ChannelRow| {
        c.rules()
            .map(|r| r.detail == fence_core::Detail::Minimal)
            .unwrap_or(true)
    };
    let here: Vec<_> = channels
        .iter()
        .filter(|c| !channel_id.is_empty() && c.slack_channel_id.as_deref() == Some(channel_id))
        .collect();
    if !here.is_empty() {
        return here.iter().any(|c| minimal(c));
    }
    channels
        .iter()
        .any(|c| c.slack_channel_id.is_none() && minimal(c))
}

pub async fn commands(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    verify(&state, &headers, &body)?;
    let form = form(&body)?;
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
    let command = Command {
        user: get("user_id"),
        text: get("text").trim(),
        response_url: response_url(&state, get("response_url")),
    };
    let (cmd, rest) = split_command(command.text);
    let cmd = cmd.to_ascii_lowercase();
    if matches!(
        cmd.as_str(),
        "scan" | "status" | "vulnerabilities" | "vulns"
    ) && minimal_here(&state, &org, get("channel_id")).await
    {
        return minimal_answer(&state, &org, &command, &cmd).await;
    }
    match cmd.as_str() {
        "scan" => scan(&state, &org, &command, rest).await,
        "status" => status(&state, &org).await,
        "vulnerabilities" | "vulns" => {
            if let Err(refusal) = authorize(
                &state,
                &org,
                command.user,
                None,
                SlackAction::Vulnerabilities,
            )
            .await
            {
                return Ok(ephemeral(refusal));
            }
            vulnerabilities(&state, &org).await
        }
        "help" | "" => Ok(ephemeral(HELP)),
        other => Ok(ephemeral(format!(
            "Unknown command `{}`.\n{HELP}",
            bounded(other, 40)
        ))),
    }
}

/// A command's answer in a data-sensitive conversation: counts and a link to Fence, never a domain or a title; a
/// scan (whose summary would name its domain here) is started from Fence's Scans page instead.
async fn minimal_answer(
    state: &AppState,
    org: &Org,
    command: &Command<'_>,
    cmd: &str,
) -> Result<Response, ApiError> {
    let base = &state.config.base_url;
    if cmd == "scan" {
        return Ok(ephemeral(format!("This conversation is data-sensitive: scans are started from <{base}/scans|Fence's Scans page>, and their summaries stay there.")));
    }
    if cmd == "status" {
        let scans = state.store.list_scans(&org.id, 50).await?;
        let n = scans
            .iter()
            .filter(|s| matches!(s.status.as_str(), "queued" | "running" | "reporting"))
            .count();
        return Ok(ephemeral(format!(
            "{n} {} queued or running. <{base}/scans|View in Fence>",
            if n == 1 { "scan" } else { "scans" }
        )));
    }
    if let Err(refusal) =
        authorize(state, org, command.user, None, SlackAction::Vulnerabilities).await
    {
        return Ok(ephemeral(refusal));
    }
    let counts = state.store.finding_counts(&org.id).await?;
    let open = |sev: Severity| -> i64 {
        counts
            .iter()
            .filter(|c| c.severity == sev.as_str() && c.status == FindingStatus::Open.as_str())
            .map(|c| c.n)
            .sum()
    };
    Ok(ephemeral(format!(
        "Open findings: {} critical, {} high. <{base}/findings?status=open|View in Fence>",
        open(Severity::Critical),
        open(Severity::High)
    )))
}

/// A command's first word and the rest, trimmed.
pub(super) fn split_command(text: &str) -> (&str, &str) {
    let text = text.trim();
    text.split_once(char::is_whitespace)
        .map(|(c, r)| (c, r.trim()))
        .unwrap_or((text, ""))
}

/// `/fence scan <domain>`: queues a full scan whose summary follows in the conversation.
async fn scan(
    state: &AppState,
    org: &Org,
    command: &Command<'_>,
    rest: &str,
) -> Result<Response, ApiError> {
    let domain = match DomainName::parse(rest.trim_start_matches("https://").trim_end_matches('/'))
    {
        Ok(d) if !rest.is_empty() => d,
        _ => return Ok(ephemeral("Usage: `/fence scan example.com`")),
    };
    let user = command.user;
    if let Err(refusal) = authorize(state, org, user, None, SlackAction::Scan).await {
        return Ok(ephemeral(refusal));
    }
    let (_, position) = queue_from_slack(
        state,
        &org.id,
        &domain,
        &format!("slack:{user}"),
        command.response_url,
    )
    .await?;
    Ok(Json(json!({"response_type": "in_channel", "text": format!("🔍 Queued a full scan of {} for <@{user}> (position {position} in the queue). The summary will follow here.", host(domain.as_str(), 253))})).into_response())
}

/// `/fence status`: the scans queued or running, oldest first.
async fn status(state: &AppState, org: &Org) -> Result<Response, ApiError> {
    let scans = state.store.list_scans(&org.id, 50).await?;
    let active: Vec<String> = scans
        .iter()
        .filter(|s| s.status == "queued" || s.status == "running" || s.status == "reporting")
        .rev()
        .enumerate()
        .map(|(i, s)| {
            format!(
                "{}. {} — {} ({})",
                i + 1,
                host(&s.domain, 253),
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

/// `/fence vulnerabilities`: up to ten recent open critical and high findings with links to their pages, the known
/// exploited first (then by EPSS score), each marked with what the feeds say.
async fn vulnerabilities(state: &AppState, org: &Org) -> Result<Response, ApiError> {
    let mut found = Vec::new();
    for sev in [Severity::Critical, Severity::High] {
        let q = fence_store::findings::FindingQuery {
            severity: Some(sev),
            status: Some(FindingStatus::Open),
            limit: 10,
            ..Default::default()
        };
        found.extend(state.store.list_findings(&org.id, &q).await?);
    }
    let cves: Vec<&str> = found.iter().filter_map(|f| f.cve.as_deref()).collect();
    let intel = state.store.intel_for(&cves).await.unwrap_or_default();
    let of = |f: &fence_store::findings::FindingRow| f.cve.as_deref().and_then(|c| intel.get(c));
    let rank = |f: &fence_store::findings::FindingRow| {
        let i = of(f);
        (
            i.is_some_and(|i| i.known_exploited.is_some()),
            i.and_then(|i| i.epss).map_or(-1.0, |e| e.score),
        )
    };
    // Stable: within the same exploitability, critical before high and newest first, as listed.
    found.sort_by(|a, b| {
        let (ka, ea) = rank(a);
        let (kb, eb) = rank(b);
        kb.cmp(&ka).then(eb.total_cmp(&ea))
    });
    let mut lines = Vec::new();
    for f in &found {
        let cvss = f
            .cvss
            .map(|c| format!(" (CVSS {c:.1})"))
            .unwrap_or_default();
        let marks: Vec<String> = of(f)
            .map(|i| {
                let kev = i
                    .known_exploited
                    .as_ref()
                    .map(|_| "🔥 known exploited".to_string());
                let epss = i.epss.map(|e| format!("EPSS {:.2}", e.score));
                [kev, epss].into_iter().flatten().collect()
            })
            .unwrap_or_default();
        let marks = if marks.is_empty() {
            String::new()
        } else {
            format!(" · {}", marks.join(" · "))
        };
        lines.push(format!(
            "{} {} — {}{cvss}{marks} <{}/findings/{}|details>",
            f.severity.dot(),
            bounded(&f.title, 150),
            host(&f.domain, 253),
            state.config.base_url,
            f.id
        ));
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
