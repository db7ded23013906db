//! A bot-token channel whose bot Slack refuses — `not_in_channel` (not a member, no `chat:write.public`) or
//! `missing_scope` (SLACK.md Addendum) — still has its incoming webhook, which neither error touches: the message
//! goes there, unthreaded (webhooks cannot thread, SLACK.md §1), and the channel turns `degraded` with the fix. When
//! the webhook refuses too, the channel is `broken` and holds its alerts, naming both.

use super::send::Sending;
use super::Dispatcher;
use fence_core::ChannelState;
use fence_slack::{bot_fix, degraded_hint, hint_for, SendOutcome};

impl Dispatcher {
    /// Sends what the bot could not through the channel's webhook; returns the webhook's answer. A thread reply
    /// (follow-up) has nowhere to go without the bot and is dropped, as on webhook-only channels.
    pub(super) async fn fall_back(
        &self,
        s: &mut Sending,
        error: String,
        needed: Option<String>,
        mut message: serde_json::Value,
    ) -> SendOutcome {
        tracing::warn!(channel = %s.channel.id, error = %error, "Slack refused the bot; sending through the channel's webhook");
        s.via_webhook = true;
        s.refusal = Some((error, needed));
        if matches!(s.single(), Some(fence_core::Alert::FollowUp(_))) {
            return SendOutcome::Delivered;
        }
        // App webhooks ignore the identity overrides (SLACK.md §1); they are not sent where they do nothing.
        if let Some(m) = message.as_object_mut() {
            for key in ["username", "icon_url", "icon_emoji"] {
                m.remove(key);
            }
        }
        self.state.client.post(&s.url, &message).await
    }

    /// After a bot refusal that the webhook did not share: the channel is `degraded`, its hint the fix.
    pub(super) async fn degrade_if_refused(&self, s: &Sending, now: i64) -> anyhow::Result<()> {
        let Some((error, needed)) = &s.refusal else {
            return Ok(());
        };
        let hint = degraded_hint(error, s.channel.channel.as_deref(), needed.as_deref());
        let newly = self
            .state
            .store
            .set_channel_health(
                &s.channel.id,
                ChannelState::Degraded,
                Some(error),
                Some(&hint),
                now,
            )
            .await?;
        if newly {
            tracing::warn!(channel = %s.channel.id, error = %error, "channel degraded: its alerts go through its webhook");
        }
        Ok(())
    }

    /// Why a channel is broken: the webhook's error, or — when the bot was refused first — the bot's error with
    /// its fix and the webhook's error.
    pub(super) fn broken_reason(&self, s: &Sending, webhook_error: &str) -> (String, String) {
        match &s.refusal {
            None => (webhook_error.to_string(), hint_for(webhook_error).to_string()),
            Some((error, needed)) => (
                error.clone(),
                format!(
                    "{} The channel's webhook refused as well ({webhook_error}): {} Alerts are held until one of \
                     them works.",
                    bot_fix(error, s.channel.channel.as_deref(), needed.as_deref()),
                    hint_for(webhook_error)
                ),
            ),
        }
    }
}
