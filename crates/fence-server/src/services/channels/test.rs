//! "✅ Test from Fence": a test message sent through the destination's lane (so it never breaks Slack's pace), the
//! answer with its hint, and what a test of a saved channel tells about its health.

use crate::state::AppState;
use fence_core::{ChannelConfig, ChannelKind, ChannelState, Secret};
use fence_slack::{hint_for, SendOutcome, WebhookUrl};

/// A one-paragraph summary of what a channel will receive, for the test message.
pub fn summary(config: &ChannelConfig) -> String {
    let types: Vec<&str> = config.alert_types.iter().map(|t| t.as_str()).collect();
    let mut parts = vec![format!(
        "This channel will receive: {}.",
        types.join(", ").replace('_', " ")
    )];
    let f = &config.filters;
    if !f.severities.is_empty() {
        parts.push(format!(
            "Severities: {}.",
            f.severities
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !f.domains.is_empty() {
        parts.push(format!(
            "Domains: {}.",
            f.domains
                .iter()
                .map(|d| d.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !f.categories.is_empty() {
        parts.push(format!(
            "Types: {}.",
            f.categories
                .iter()
                .map(|c| c.display_name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    match &f.schedule {
        None => parts.push("Alerts are sent immediately (24/7).".into()),
        Some(s) => parts.push(format!(
            "Alerts are sent {}–{} ({}){}; others wait for the window.",
            s.start.strftime("%H:%M"),
            s.end.strftime("%H:%M"),
            s.timezone,
            if s.days.is_empty() {
                String::new()
            } else {
                format!(
                    " on {}",
                    s.days
                        .iter()
                        .map(|d| format!("{d:?}")[..3].to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )),
    }
    fence_slack::escape::escape(&parts.join(" "))
}

/// Records what a test of a saved channel showed: a success makes it healthy (releasing what it held), a bot
/// refusal (`not_in_channel`, `missing_scope`) degraded, a revoked-webhook answer broken.
pub async fn record_test(
    state: &AppState,
    channel_id: &str,
    result: &TestResult,
) -> fence_store::Result<()> {
    let now = state.clock.now_ms();
    if result.ok {
        state
            .store
            .set_channel_health(channel_id, ChannelState::Healthy, None, None, now)
            .await?;
        state.wake.notify_one();
    } else if let Some(e) = result
        .error
        .as_deref()
        .filter(|e| fence_slack::is_bot_refusal(e))
    {
        // The bot may not post there, but the channel's webhook (every channel has one) still carries its alerts.
        let channel = state.store.channel_by_id(channel_id).await?;
        // chat.postMessage needs chat:write (what a missing_scope test names by default).
        let hint = fence_slack::degraded_hint(e, channel.channel.as_deref(), None);
        state
            .store
            .set_channel_health(
                channel_id,
                ChannelState::Degraded,
                Some(e),
                Some(&hint),
                now,
            )
            .await?;
    } else if let Some(e) = &result.error {
        if matches!(
            fence_slack::classify(400, None, e),
            SendOutcome::ChannelBroken { .. }
        ) || e == "unexpected_redirect"
        {
            state
                .store
                .set_channel_health(
                    channel_id,
                    ChannelState::Broken,
                    Some(e),
                    result.hint.as_deref(),
                    now,
                )
                .await?;
        }
    }
    Ok(())
}

/// The answer of `…/test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    pub ok: bool,
    pub error: Option<String>,
    pub hint: Option<String>,
}

/// Sends the test message through the destination's lane (waiting briefly for its send slot) and reports Slack's answer.
/// With `bot` (token, Slack channel id) the test goes through `chat.postMessage`, as the channel's alerts will.
pub async fn send_test(
    state: &AppState,
    kind: ChannelKind,
    url: &WebhookUrl,
    config: &ChannelConfig,
    bot: Option<(&Secret<String>, &str)>,
) -> TestResult {
    let destination = match bot {
        Some((_, c)) => state.secrets.destination_key(&format!("slack-channel:{c}")),
        None => state.secrets.destination_key(url.expose()),
    };
    let owner = format!("test:{}", fence_store::new_id());
    let mut claimed = false;
    for _ in 0..30 {
        let now = state.clock.now_ms();
        if let Ok(true) = state
            .store
            .claim_lane(&destination, &owner, now, 15_000)
            .await
        {
            claimed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    if !claimed {
        return TestResult {
            ok: false,
            error: Some("busy".into()),
            hint: Some("This channel is sending alerts right now (or waiting out Slack's Retry-After); Fence never sends faster than Slack allows. Try the test again in a few seconds.".into()),
        };
    }
    let started = state.clock.now_ms();
    let message = fence_slack::render::test_message(kind, &summary(config));
    let outcome = match bot {
        Some((token, channel)) => {
            state
                .webapi
                .post_message(token, channel, &message, None, false)
                .await
                .outcome
        }
        None => state.client.post(url, &message).await,
    };
    let next_slot = match &outcome {
        SendOutcome::RateLimited { retry_after } => started + retry_after.as_millis() as i64,
        _ => started + state.send_interval_ms(bot.is_some()),
    };
    if claimed {
        let _ = state
            .store
            .release_lane(&destination, &owner, next_slot)
            .await;
    }
    match outcome {
        SendOutcome::Delivered => TestResult {
            ok: true,
            error: None,
            hint: None,
        },
        SendOutcome::RateLimited { .. } => TestResult {
            ok: false,
            error: Some("rate_limited".into()),
            hint: Some(hint_for("rate_limited").into()),
        },
        SendOutcome::Retryable { error }
        | SendOutcome::ChannelBroken { error }
        | SendOutcome::PayloadRejected { error }
        | SendOutcome::Failed { error } => {
            let hint = hint_for(&error).to_string();
            TestResult {
                ok: false,
                error: Some(error),
                hint: Some(hint),
            }
        }
    }
}
