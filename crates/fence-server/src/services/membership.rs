//! The membership re-check: every 5 minutes (a scheduler job, run once across processes) Fence asks Slack
//! (`conversations.info`, SLACK.md §9) whether the bot of each channel it refused (`not_in_channel`,
//! `missing_scope`) may post again, and returns such a channel to `healthy` by itself — posting with the bot token
//! again, and releasing what a broken one held. A failed look-up changes nothing.

use crate::state::AppState;
use fence_core::ChannelState;
use fence_store::channels::ChannelRow;

/// How often degraded channels are re-checked.
pub const EVERY_MS: i64 = 5 * 60_000;

/// The channel waits for its bot: degraded, or broken by a bot refusal (its webhook refused too).
fn waits_for_bot(c: &ChannelRow) -> bool {
    c.bot_token_enc.is_some()
        && c.slack_channel_id.is_some()
        && match c.state {
            ChannelState::Degraded => true,
            ChannelState::Broken => c
                .status_error
                .as_deref()
                .is_some_and(fence_slack::is_bot_refusal),
            _ => false,
        }
}

/// Re-checks every channel waiting for its bot; returns how many are healthy again.
pub async fn recheck(state: &AppState) -> anyhow::Result<usize> {
    let mut restored = 0;
    for c in state.store.all_channels().await? {
        let (Some(token), Some(slack_channel)) = (&c.bot_token_enc, &c.slack_channel_id) else {
            continue;
        };
        if !waits_for_bot(&c) {
            continue;
        }
        let token = match state.secrets.decrypt(token) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(channel = %c.id, error = %e, "cannot open the bot token for the membership re-check");
                continue;
            }
        };
        match state.webapi.channel_access(&token, slack_channel).await {
            Ok(access) if access.can_post() => {
                let now = state.clock.now_ms();
                state
                    .store
                    .set_channel_health(&c.id, ChannelState::Healthy, None, None, now)
                    .await?;
                if c.state == ChannelState::Broken {
                    state.store.release_held(&c.id, now).await?;
                }
                tracing::info!(channel = %c.id, "the bot may post again: the channel is healthy");
                restored += 1;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(channel = %c.id, error = %e, "membership re-check failed; the channel keeps its state")
            }
        }
    }
    if restored > 0 {
        state.wake.notify_one();
    }
    Ok(restored)
}
