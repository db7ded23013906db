//! What the dispatcher sends: the channel's custom template for a single alert or a burst (enterprise and custom
//! plans) or Fence's rendering, plain text after a payload refusal, the white-label identity where it is honoured,
//! and follow-ups posted in the thread of the finding's message.

use super::Dispatcher;
use fence_core::{Alert, ChannelConfig, Plan};
use fence_slack::render::{plain_in, render_gathered, RenderContext, Unlisted};
use fence_slack::SendOutcome;

impl Dispatcher {
    /// The message for these alerts: plain text after a payload refusal, the channel's custom template for a single
    /// alert or, when it renders bursts, for a burst (enterprise and custom plans), else Fence's rendering. A template that fails falls back to the default
    /// rendering and leaves a warning on the channel.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn compose(
        &self,
        ctx: &RenderContext<'_>,
        channel_id: &str,
        config: &ChannelConfig,
        plan: Plan,
        (alerts, unlisted): (&[Alert], Unlisted),
        mentions: &[String],
        fallback: bool,
    ) -> serde_json::Value {
        let alerts: Vec<&Alert> = alerts.iter().collect();
        let alerts = alerts.as_slice();
        if fallback {
            return plain_in(ctx, alerts, unlisted);
        }
        let template = config
            .template
            .as_deref()
            .filter(|_| plan.has_enterprise_features());
        if let Some(source) = template {
            if let Some(vars) = self
                .template_vars(ctx, source, (alerts, unlisted), mentions)
                .await
            {
                // A minimal channel's template sees only what its messages may show.
                let vars = match ctx.detail {
                    fence_core::Detail::Minimal => fence_slack::template::minimal_variables(&vars),
                    fence_core::Detail::Full => vars,
                };
                match fence_slack::template::render(source, &vars) {
                    Ok(msg) => return msg,
                    Err(e) => {
                        let warning = format!("the template failed at send time ({e}); Fence's default message was sent instead");
                        tracing::warn!(channel = %channel_id, "custom template failed at send time; default rendering sent");
                        let _ = self
                            .state
                            .store
                            .set_template_warning(channel_id, Some(&warning))
                            .await;
                    }
                }
            }
        }
        render_gathered(ctx, alerts, unlisted, mentions)
    }

    /// What the template sees for these alerts: a single alert's variables (with its finding's description and
    /// remediation), a burst's when the template renders bursts, or `None` when Fence renders them itself.
    async fn template_vars(
        &self,
        ctx: &RenderContext<'_>,
        source: &str,
        (alerts, unlisted): (&[&Alert], Unlisted),
        mentions: &[String],
    ) -> Option<serde_json::Value> {
        let mention_text = fence_slack::render::render_mentions(ctx.kind, mentions);
        if unlisted.total() > 0 {
            return burst_vars(ctx, source, (alerts, unlisted), &mention_text);
        }
        let finding_id = match alerts {
            [Alert::ChannelBroken(_) | Alert::FollowUp(_) | Alert::Escalation(_)] => return None,
            [Alert::Vulnerability(v)] => Some(v.finding_id.as_str()),
            [Alert::Reminder(r)] => Some(r.finding.finding_id.as_str()),
            [_] => None,
            _ => return burst_vars(ctx, source, (alerts, unlisted), &mention_text),
        };
        let finding = match finding_id {
            Some(id) => self.state.store.finding(ctx.org_id, id).await.ok(),
            None => None,
        };
        Some(fence_slack::template::variables(
            alerts[0],
            ctx.base_url,
            &mention_text,
            finding.as_ref().and_then(|f| f.description.as_deref()),
            finding.as_ref().and_then(|f| f.remediation.as_deref()),
        ))
    }

    /// Posts a follow-up in the thread of the finding's message, and updates that message when asked to.
    pub(super) async fn send_followup(
        &self,
        ctx: &RenderContext<'_>,
        channel_id: &str,
        token: &fence_core::Secret<String>,
        slack_channel: &str,
        f: &fence_core::alert::FollowUpAlert,
    ) -> anyhow::Result<fence_slack::Posted> {
        let st = &self.state;
        let Some(pm) = st
            .store
            .posted_message(channel_id, &f.finding.finding_id)
            .await?
        else {
            // No message to reply to: a follow-up that must be told is a message of its own.
            if f.announce {
                return Ok(st
                    .webapi
                    .post_message(
                        token,
                        slack_channel,
                        &fence_slack::render::announced(ctx, f),
                        None,
                        false,
                    )
                    .await);
            }
            return Ok(fence_slack::Posted {
                outcome: SendOutcome::Delivered,
                ts: None,
                needed: None,
            });
        };
        // In the thread of a message listing several findings, the follow-up names its finding.
        let mut shown = f.clone();
        if !pm.single && ctx.detail == fence_core::Detail::Full {
            shown.note = fence_slack::render::listed_note(&f.finding, &f.note);
        }
        let posted = st
            .webapi
            .post_message(
                token,
                &pm.slack_channel,
                &fence_slack::render::followup_in(ctx, &shown),
                Some(&pm.ts),
                false,
            )
            .await;
        if posted.outcome == SendOutcome::Delivered && f.update_original && pm.single {
            let outcome = st
                .webapi
                .update_message(
                    token,
                    &pm.slack_channel,
                    &pm.ts,
                    &fence_slack::render::updated(ctx, f),
                )
                .await;
            // Whatever chat.update answers, the follow-up was posted: an update that fails never changes the
            // channel's health.
            if outcome != SendOutcome::Delivered {
                tracing::warn!(channel = %channel_id, outcome = ?outcome, "could not update the original message");
            }
        }
        Ok(posted)
    }
}

/// A burst's variables, when the template renders bursts and the alerts are all new findings or all reminders.
fn burst_vars(
    ctx: &RenderContext<'_>,
    source: &str,
    (alerts, unlisted): (&[&Alert], Unlisted),
    mentions: &str,
) -> Option<serde_json::Value> {
    if !fence_slack::template::handles_coalesced(source) {
        return None;
    }
    let (list, reminder) = fence_slack::render::burst_of(alerts)?;
    Some(fence_slack::template::gathered_variables(
        &list,
        unlisted,
        ctx.base_url,
        mentions,
        reminder,
    ))
}

/// Sets the white-label identity (custom plan) on a message sent where it is honoured (bot tokens with
/// `chat:write.customize`, Mattermost with overrides enabled).
pub(super) fn apply_identity(message: &mut serde_json::Value, config: &ChannelConfig, plan: Plan) {
    let Some(serde_json::Value::Object(id)) =
        config.identity.as_ref().filter(|_| plan.has_identity())
    else {
        return;
    };
    for key in ["username", "icon_url", "icon_emoji"] {
        if let Some(v) = id.get(key).and_then(|v| v.as_str()) {
            message[key] = serde_json::json!(v);
        }
    }
}
