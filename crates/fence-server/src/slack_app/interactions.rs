//! `POST /api/slack/interactions`: button clicks — Mark as False Positive, Snooze (24h), Acknowledge, Fix Instructions,
//! Run Scan, Mute this rule for 30 days — and the same actions chosen in overflow menus. Answered at once; the work continues in the
//! background and answers through the click's `response_url`. Only values Fence signed, clicked in the workspace of
//! the organization they name, do anything; triage and Run Scan also need a full member of that workspace
//! (`services::slack_access`).

use super::{form, org_of_team, response_url, verify};
use crate::http::error::ApiError;
use crate::services::findings;
use crate::services::scans::queue_from_slack;
use crate::services::slack_access::{authorize, SlackAction};
use crate::services::triage::{change_status, note, Actor};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use fence_core::{Alert, DomainName, FindingStatus};
use fence_slack::escape::{bounded, host};
use fence_slack::render::minimal::{is_minimal, MARKER};
use fence_slack::ButtonValue as SignedButton;
use fence_store::orgs::Org;
use serde_json::{json, Value};

pub async fn interactions(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    verify(&state, &headers, &body)?;
    let form = form(&body)?;
    let payload = form
        .iter()
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let payload: Value =
        serde_json::from_str(payload).map_err(|_| ApiError::malformed("payload is not JSON"))?;
    tokio::spawn(async move {
        if let Err(e) = handle_click(&state, &payload).await {
            tracing::warn!(error = %e, "button click not handled");
        }
    });
    Ok(StatusCode::OK.into_response())
}

/// What is read of a click's payload before anything is looked up: its signed value and the user's workspace.
pub(super) fn read_click(p: &Value) -> (String, String) {
    let c = Click::parse(p);
    (c.value, c.team)
}

/// What Fence reads of a click.
struct Click {
    /// The button's `value`, or the chosen overflow option's (`selected_option.value`, SLACK.md §5).
    value: String,
    response_url: String,
    user: String,
    /// The clicking user's own workspace (`user.team_id`, SLACK.md §5), when the payload gives it.
    user_team: Option<String>,
    team: String,
    message_ts: String,
    /// The click was on a single-finding alert (not a coalesced one).
    single: bool,
    /// Legacy attachments (`interactive_message`) rather than Block Kit.
    attachments: bool,
    /// The clicked line of a coalesced message (its `block_id`), with the message as Slack shows it.
    line: Option<(String, Value)>,
    /// The message is a `detail: minimal` channel's: answers name nothing of the finding.
    minimal: bool,
}

impl Click {
    fn parse(p: &Value) -> Click {
        let s = |v: &Value| v.as_str().unwrap_or("").to_string();
        let action = &p["actions"][0];
        let value = if action["type"] == "overflow" {
            &action["selected_option"]["value"]
        } else {
            &action["value"]
        };
        let line = action["block_id"]
            .as_str()
            .filter(|b| b.starts_with(fence_slack::render::LINE_BLOCK))
            .map(|b| (b.to_string(), p["message"].clone()));
        let minimal = is_minimal(&p["message"]) || is_minimal(&p["original_message"]);
        Click {
            value: s(value),
            response_url: s(&p["response_url"]),
            user: s(&p["user"]["id"]),
            user_team: p["user"]["team_id"].as_str().map(str::to_string),
            team: p["team"]["id"]
                .as_str()
                .or_else(|| p["user"]["team_id"].as_str())
                .unwrap_or("")
                .to_string(),
            message_ts: p["container"]["message_ts"]
                .as_str()
                .or_else(|| p["message"]["ts"].as_str())
                .or_else(|| p["message_ts"].as_str())
                .unwrap_or("")
                .to_string(),
            single: p["actions"][0]["block_id"].as_str() == Some("fence_finding")
                || p["callback_id"].as_str() == Some("fence_finding")
                || (minimal && p["callback_id"].as_str() == Some(MARKER)),
            attachments: p["type"] == "interactive_message",
            line,
            minimal,
        }
    }

    /// Whether the clicking user may do `action` (`services::slack_access`); the refusal's message otherwise.
    async fn authorize(
        &self,
        state: &AppState,
        org: &Org,
        action: SlackAction,
    ) -> Result<(), String> {
        authorize(state, org, &self.user, self.user_team.as_deref(), action).await
    }

    /// Answers through the click's response URL (nothing when it has none).
    async fn respond(&self, state: &AppState, msg: Value) {
        if state.config.slack.response_url_allowed(&self.response_url) {
            state.webapi.respond(&self.response_url, &msg).await;
        }
    }

    async fn ephemeral(&self, state: &AppState, text: String) {
        self.respond(
            state,
            json!({"response_type": "ephemeral", "replace_original": false, "text": text}),
        )
        .await;
    }

    async fn in_thread(&self, state: &AppState, text: String) {
        self.respond(state, json!({"response_type": "in_channel", "replace_original": false, "thread_ts": self.message_ts, "text": text})).await;
    }
}

async fn handle_click(state: &AppState, p: &Value) -> ServiceResult<()> {
    let mut click = Click::parse(p);
    click.response_url = response_url(state, &click.response_url).to_string();
    // Link buttons (View Details, …) carry no value: nothing to do but the acknowledgement already sent.
    if click.value.is_empty() {
        return Ok(());
    }
    let Some(button) = state.signer.verify(&click.value) else {
        tracing::warn!(user = %click.user, "a button value not signed by Fence was refused");
        return Ok(());
    };
    let org = match org_of_team(state, &click.team).await {
        Ok(Some(o)) if o.id == button.org_id => o,
        _ => {
            tracing::warn!(user = %click.user, "a button click from a workspace of another organization was refused");
            return Ok(());
        }
    };
    let actor = Actor {
        audit: format!("slack:{}", click.user),
        shown: format!("<@{}>", click.user),
    };
    match button.action.as_str() {
        "false_positive" | "snooze" | "acknowledge" => {
            triage(state, &org, &click, &button, &actor).await
        }
        "fix_instructions" => fix_instructions(state, &org, &click, &button, &actor).await,
        "run_scan" => run_scan(state, &org, &click, &button, &actor).await,
        "mute_rule" => mute_rule(state, &org, &click, &button, &actor).await,
        _ => Ok(()),
    }
}

/// Mute this rule for 30 days: a silence on the finding's rule (or CVE) and domain, by the clicker (who must be
/// allowed to triage). The thread says it happened without naming what; the clicker alone sees what was muted
/// (nothing of it on a minimal channel) and where to end it.
async fn mute_rule(
    state: &AppState,
    org: &Org,
    click: &Click,
    button: &SignedButton,
    actor: &Actor,
) -> ServiceResult<()> {
    if let Err(refusal) = click.authorize(state, org, SlackAction::Triage).await {
        click.ephemeral(state, refusal).await;
        return Ok(());
    }
    let s =
        match crate::services::silences::mute_rule(state, &org.id, &button.target_id, &actor.audit)
            .await
        {
            Ok(s) => s,
            Err(e @ crate::services::ServiceError::Conflict(_)) => {
                click.ephemeral(state, e.public_message()).await;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
    let link = format!("{}/silences", state.config.base_url);
    let what = if click.minimal {
        String::new()
    } else {
        format!(
            " ({})",
            fence_slack::escape::bounded(&s.matchers.summary(), 300)
        )
    };
    click
        .ephemeral(
            state,
            format!(
                "🔇 Muted for 30 days{what}, until {}. Matching findings are stored and counted but not alerted. End it early at {link}",
                fence_core::time::fmt_ts(s.expires_at)
            ),
        )
        .await;
    click
        .in_thread(
            state,
            format!(
                "🔇 This finding's rule was muted for 30 days by {}",
                actor.shown
            ),
        )
        .await;
    Ok(())
}

/// The click's change: Acknowledge, or the status change of False Positive / Snooze; `None` when it was refused and
/// the clicker has been told why.
async fn apply(
    state: &AppState,
    org: &Org,
    click: &Click,
    button: &SignedButton,
    actor: &Actor,
) -> ServiceResult<Option<(fence_store::findings::FindingRow, String)>> {
    let done = match button.action.as_str() {
        "acknowledge" => {
            // Once: a second click tells the clicker who did, and posts nothing again.
            let f = crate::services::findings::get(state, &org.id, &button.target_id).await?;
            if let Some(by) = &f.acknowledged_by {
                let who = by
                    .strip_prefix("slack:")
                    .map_or_else(|| "someone in Fence".to_string(), |u| format!("<@{u}>"));
                click
                    .ephemeral(state, format!("👀 Already acknowledged by {who}."))
                    .await;
                return Ok(None);
            }
            match crate::services::triage::acknowledge(state, &org.id, &button.target_id, actor)
                .await
            {
                Ok(done) => done,
                Err(e @ crate::services::ServiceError::Conflict(_)) => {
                    click.ephemeral(state, e.public_message()).await;
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
        action => {
            let (status, hours) = if action == "snooze" {
                (FindingStatus::Snoozed, Some(24.0))
            } else {
                (FindingStatus::FalsePositive, None)
            };
            let f = change_status(state, &org.id, &button.target_id, status, hours, actor).await?;
            (f, note(status, hours, actor))
        }
    };
    Ok(Some(done))
}

/// Mark as False Positive, Snooze (24h): the finding changes everywhere; a webhook-posted alert is replaced through
/// the response URL (bot-posted ones are updated by the follow-up the change queues) and the note goes in its thread.
/// In a coalesced message only the clicked line changes, on webhook and bot channels alike.
async fn triage(
    state: &AppState,
    org: &Org,
    click: &Click,
    button: &SignedButton,
    actor: &Actor,
) -> ServiceResult<()> {
    if let Err(refusal) = click.authorize(state, org, SlackAction::Triage).await {
        click.ephemeral(state, refusal).await;
        return Ok(());
    }
    let Some((f, note)) = apply(state, org, click, button, actor).await? else {
        return Ok(());
    };
    let Alert::Vulnerability(v) = f.alert(false) else {
        return Ok(());
    };
    if let Some((block_id, message)) = &click.line {
        let ctx = state.render_context(
            &org.id,
            fence_core::ChannelKind::Slack,
            fence_core::MessageFormat::Blocks,
            org.plan(),
        );
        if let Some(mut m) = fence_slack::render::replace_line(&ctx, message, block_id, &v, &note) {
            m["replace_original"] = json!(true);
            click.respond(state, m).await;
        }
    }
    if state
        .store
        .is_bot_message(&org.id, &click.message_ts)
        .await?
    {
        return Ok(());
    }
    if click.line.is_some() {
        click
            .in_thread(state, fence_slack::render::listed_note(&v, &note))
            .await;
        return Ok(());
    }
    if click.single {
        let format = if click.attachments {
            fence_core::MessageFormat::Attachments
        } else {
            fence_core::MessageFormat::Blocks
        };
        let mut ctx =
            state.render_context(&org.id, fence_core::ChannelKind::Slack, format, org.plan());
        if click.minimal {
            ctx.detail = fence_core::Detail::Minimal;
        }
        let fu = fence_core::alert::FollowUpAlert {
            finding: v,
            note: note.clone(),
            body: None,
            update_original: true,
            announce: false,
        };
        let mut updated = fence_slack::render::updated(&ctx, &fu);
        updated["replace_original"] = json!(true);
        click.respond(state, updated).await;
    }
    click.in_thread(state, note).await;
    Ok(())
}

/// Fix Instructions: the finding's remediation in the alert's thread (on a minimal channel's message, a link shown
/// to the clicker alone).
async fn fix_instructions(
    state: &AppState,
    org: &Org,
    click: &Click,
    button: &SignedButton,
    actor: &Actor,
) -> ServiceResult<()> {
    let f = findings::fix_instructions(state, &org.id, &button.target_id, &actor.audit).await?;
    if click.minimal {
        // A data-sensitive channel: only the clicker sees a link, nothing of the finding.
        let ctx = state.render_context(
            &org.id,
            fence_core::ChannelKind::Slack,
            fence_core::MessageFormat::Blocks,
            org.plan(),
        );
        click
            .respond(
                state,
                fence_slack::render::minimal::fix_instructions_link(&ctx, &f.id),
            )
            .await;
        return Ok(());
    }
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
    click.in_thread(state, text).await;
    Ok(())
}

/// Run Scan (enterprise and custom plans): queues a full scan of the alert's domain; its summary follows.
async fn run_scan(
    state: &AppState,
    org: &Org,
    click: &Click,
    button: &SignedButton,
    actor: &Actor,
) -> ServiceResult<()> {
    let plan = org.plan();
    if !plan.has_enterprise_features() {
        click.ephemeral(state, format!("Run Scan needs the enterprise or custom plan; this organization is on the {plan} plan.")).await;
        return Ok(());
    }
    if let Err(refusal) = click.authorize(state, org, SlackAction::Scan).await {
        click.ephemeral(state, refusal).await;
        return Ok(());
    }
    let domain =
        DomainName::parse(&button.target_id).map_err(|e| ServiceError::invalid("domain", e))?;
    let (_, position) =
        queue_from_slack(state, &org.id, &domain, &actor.audit, &click.response_url).await?;
    click
        .ephemeral(
            state,
            format!(
                "🔍 Queued a full scan of {} (position {position}). The summary will follow.",
                host(domain.as_str(), 253)
            ),
        )
        .await;
    Ok(())
}
