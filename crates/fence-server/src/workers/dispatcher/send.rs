//! One send to one destination: the claimed deliveries of its first channel in line (see `claims`), drop alerts of findings
//! triaged since they were queued, compose one message with the channel's mentions, post it (webhook, or
//! `chat.postMessage` in the finding's thread where there is one; a degraded bot channel through its webhook, see
//! `fallback`), remember where findings were announced, and apply Slack's answer.

use super::compose::apply_identity;
use super::Dispatcher;
use fence_core::{Alert, ChannelConfig, ChannelKind, ChannelState, Plan, Secret};
use fence_slack::render::{Gathered, Unlisted};
use fence_slack::{SendOutcome, WebhookUrl};
use fence_store::channels::ChannelRow;
use fence_store::deliveries::{DeliveryRow, LaneRelease, Streak};

/// A claimed batch with what sending it needs.
pub(super) struct Sending {
    /// The lane's destination; its owner is `claim`.
    pub destination: String,
    pub claim: String,
    pub batch: Vec<DeliveryRow>,
    /// The destination's retryable failures in a row before this send.
    pub failures: u32,
    /// When that streak began.
    pub streak_since: Option<i64>,
    pub channel: ChannelRow,
    pub org_id: String,
    pub plan: Plan,
    pub config: ChannelConfig,
    pub url: WebhookUrl,
    /// The bot token and Slack channel, for channels that post with `chat.postMessage`.
    pub bot: Option<(Secret<String>, String)>,
    /// The claim was refused as a payload once: send plain text.
    pub fallback: bool,
    /// What the message carries: every alert, or of a burst its worst findings (see `Gathered`), the others
    /// counted in `unlisted`.
    pub alerts: Vec<Alert>,
    pub unlisted: Unlisted,
    pub mentions: Vec<String>,
    /// A bot-token channel that sent through its webhook: degraded before this send, or refused in it. A success
    /// then leaves the channel's state to the refusal (or the membership re-check), not `healthy`.
    pub via_webhook: bool,
    /// Slack's refusal of the bot in this send (`not_in_channel`, `missing_scope`) and the scope it named.
    pub refusal: Option<(String, Option<String>)>,
}

impl Sending {
    /// The alert when the message carries exactly one.
    pub fn single(&self) -> Option<&Alert> {
        match self.alerts.as_slice() {
            [a] if self.unlisted.total() == 0 => Some(a),
            _ => None,
        }
    }

    /// The streak after Slack answered at `at`: ended, or nothing to end when the destination had no failing streak
    /// (the lane is ours, so what it said at the claim still holds), which spares a healthy send two statements.
    pub fn answered(&self, at: i64) -> Streak {
        if self.failures > 0 || self.streak_since.is_some() {
            Streak::Answered(at)
        } else {
            Streak::Unchanged
        }
    }

    /// How long the destination's failing streak has lasted at `now` (zero without one).
    pub fn streak_for(&self, now: i64) -> std::time::Duration {
        let ms = self.streak_since.map_or(0, |since| (now - since).max(0));
        std::time::Duration::from_millis(ms as u64)
    }

    /// The lane given back, sendable again from `next_slot_at`, with what the send did to its failing streak.
    pub fn lane(&self, next_slot_at: i64, streak: Streak) -> LaneRelease<'_> {
        LaneRelease {
            destination: &self.destination,
            owner: &self.claim,
            next_slot_at,
            streak,
        }
    }
}

impl Dispatcher {
    /// Sends a claimed batch. Returns when the destination may be sent to next, or `None` when the lane was given
    /// back with the outcome.
    pub(super) async fn send_one(
        &self,
        destination: &str,
        claim: &str,
        batch: Vec<DeliveryRow>,
        streak: (u32, Option<i64>),
        now: i64,
    ) -> anyhow::Result<Option<i64>> {
        let st = &self.state;
        let Some(mut s) = self.prepare(destination, claim, batch, streak, now).await? else {
            return Ok(Some(now));
        };
        if self.settled_before_sending(&s, now).await? {
            return Ok(None);
        }
        let mut ctx = st.render_context(&s.org_id, s.channel.kind, s.config.format, s.plan);
        ctx.detail = s.config.detail;
        ctx.acknowledge = s.config.escalation.is_some();
        // A degraded channel's bot may not post there: its messages go through the webhook until the re-check.
        s.via_webhook = s.bot.is_some() && s.channel.state == ChannelState::Degraded;
        let bot = s.bot.clone().filter(|_| !s.via_webhook);
        let is_followup = matches!(s.single(), Some(Alert::FollowUp(_)));
        let mut message = serde_json::Value::Null;
        if !is_followup {
            let config = self.quarantine_template(&s).await?;
            message = self
                .compose(
                    &ctx,
                    &s.channel.id,
                    config.as_ref().unwrap_or(&s.config),
                    s.plan,
                    (&s.alerts, s.unlisted),
                    &s.mentions,
                    s.fallback,
                )
                .await;
            // Identity overrides go where they are honoured: bot tokens and Mattermost (app webhooks ignore them,
            // SLACK.md §1).
            if bot.is_some() || s.channel.kind == ChannelKind::Mattermost {
                apply_identity(&mut message, &s.config, s.plan);
            }
        }
        // The fencing check: a sender whose lease lapsed (its heartbeat stopped long enough for another process to
        // take the lane) does not send; the claim is someone else's now, or returns to the queue.
        if !st
            .store
            .holds_lane(destination, claim, st.clock.now_ms())
            .await?
        {
            tracing::warn!(channel = %s.channel.id, "lost this destination's lease before sending; not sending");
            return Ok(None);
        }
        let (mut outcome, posted, needed) = match (&bot, s.single()) {
            (Some((token, slack_channel)), Some(Alert::FollowUp(f))) => {
                let p = self
                    .send_followup(&ctx, &s.channel.id, token, slack_channel, f)
                    .await?;
                (p.outcome, None, p.needed)
            }
            // A follow-up that must be told (a snooze that ended) is a message of its own on a webhook.
            (None, Some(Alert::FollowUp(f))) if f.announce => {
                let m = fence_slack::render::announced(&ctx, f);
                (st.client.post(&s.url, &m).await, None, None)
            }
            // Any other follow-up for a channel without a bot token has nowhere to go (webhooks cannot thread).
            (None, Some(Alert::FollowUp(_))) => (SendOutcome::Delivered, None, None),
            (Some((token, slack_channel)), _) => {
                // Message metadata for Slack apps and workflows: on bot-token posts only (webhooks have none).
                let mut posted_message = message.clone();
                let alerts: Vec<&Alert> = s.alerts.iter().collect();
                if let Some(m) = fence_slack::render::metadata(&ctx, &alerts) {
                    posted_message["metadata"] = m;
                }
                drop(alerts);
                self.post_bot(&s, token, slack_channel, &posted_message)
                    .await?
            }
            (None, _) => (st.client.post(&s.url, &message).await, None, None),
        };
        if let (Some(_), SendOutcome::ChannelBroken { error }) = (&bot, &outcome) {
            if fence_slack::is_bot_refusal(error) {
                let error = error.clone();
                outcome = self.fall_back(&mut s, error, needed, message).await;
            }
        }
        let done = st.clock.now_ms();
        if let (SendOutcome::Delivered, Some((slack_channel, ts))) = (&outcome, &posted) {
            self.remember_posted(&s, slack_channel, ts, done).await?;
        }
        // The pace counts from Slack's answer: the request reached Slack at some moment before it, so the next one,
        // sent `1/rate` later, reaches it at least `1/rate` after this one however long this one took to leave.
        // Counted from before the send, a request that waited (for a database connection under a burst, or for the
        // client) let two messages reach the fake Slack less than `1/rate` apart (429s in `fence-bench burst`).
        let next_slot = done + st.send_interval_ms(s.bot.is_some());
        self.apply_outcome(&s, outcome, done, next_slot).await
    }

    /// Whether the send ends before a message is composed: a batch with nothing left to announce (its findings were
    /// triaged meanwhile) is marked sent, and a webhook in an outage that does not answer its probe gets the probe's
    /// outcome.
    async fn settled_before_sending(&self, s: &Sending, now: i64) -> anyhow::Result<bool> {
        if s.alerts.is_empty() {
            let lane = s.lane(now, Streak::Unchanged);
            let st = &self.state;
            st.store
                .mark_sent(&s.claim, st.clock.now_ms(), Some(&lane))
                .await?;
            return Ok(true);
        }
        self.probe_outage(s, now).await
    }

    /// When sends of these deliveries were begun twice and never finished — the process died while rendering or
    /// posting them (each claim counts one; its outcome, or a failure this process survived, takes it back) — the
    /// template is left out (a copy of the rules without it is returned): Fence's default message goes out, and the
    /// channel says why, instead of a crash loop.
    async fn quarantine_template(
        &self,
        s: &Sending,
    ) -> anyhow::Result<Option<fence_core::ChannelConfig>> {
        if s.config.template.is_none() || s.fallback || !s.plan.has_enterprise_features() {
            return Ok(None);
        }
        let unfinished = s
            .batch
            .iter()
            .map(|d| d.template_renders)
            .max()
            .unwrap_or(1)
            - 1;
        if unfinished < 2 {
            return Ok(None);
        }
        tracing::warn!(channel = %s.channel.id, "custom template quarantined: two renders never finished");
        let warning = "the template stopped Fence twice while rendering an alert; that alert was sent as Fence's default message";
        self.state
            .store
            .set_template_warning(&s.channel.id, Some(warning))
            .await?;
        let mut config = s.config.clone();
        config.template = None;
        Ok(Some(config))
    }

    /// Loads what a claimed batch needs; `None` when the claim took nothing.
    async fn prepare(
        &self,
        destination: &str,
        claim: &str,
        batch: Vec<DeliveryRow>,
        (failures, streak_since): (u32, Option<i64>),
        now: i64,
    ) -> anyhow::Result<Option<Sending>> {
        let st = &self.state;
        let Some(first) = batch.first() else {
            return Ok(None);
        };
        let fallback = first.plain_fallback;
        // The three reads at once: on PostgreSQL each is a round trip, and they stand between the wake-up and the send.
        let since = batch.iter().map(|d| d.created_at).min().unwrap_or(now);
        let (channel, org, quiet) = tokio::try_join!(
            st.store.channel_by_id(&first.channel_id),
            st.store.org(&first.org_id),
            st.store.quiet_findings(&first.org_id, since, now),
        )?;
        let config = channel.rules()?;
        let (alerts, unlisted, mentions) = gather(&st.store, &batch, &quiet, &config).await?;
        let url = WebhookUrl::from_trusted(
            st.secrets
                .decrypt(&channel.webhook_url_enc)?
                .expose()
                .clone(),
        );
        let bot = match (&channel.bot_token_enc, &channel.slack_channel_id) {
            (Some(t), Some(c)) => Some((st.secrets.decrypt(t)?, c.clone())),
            _ => None,
        };
        Ok(Some(Sending {
            destination: destination.to_string(),
            claim: claim.to_string(),
            batch,
            failures,
            streak_since,
            plan: org.plan(),
            org_id: org.id,
            channel,
            config,
            url,
            bot,
            fallback,
            alerts,
            unlisted,
            mentions,
            via_webhook: false,
            refusal: None,
        }))
    }

    /// Posts with the bot token. Reminders and re-detections of a finding go in the thread of the message that
    /// announced it. Returns Slack's answer, where it was posted (`channel`, `ts`), and the scope Slack said it needs.
    async fn post_bot(
        &self,
        s: &Sending,
        token: &Secret<String>,
        slack_channel: &str,
        message: &serde_json::Value,
    ) -> anyhow::Result<(SendOutcome, Option<(String, String)>, Option<String>)> {
        let st = &self.state;
        let (thread_of, broadcast) = match s.single() {
            Some(Alert::Reminder(r)) => (Some(r.finding.finding_id.as_str()), false),
            Some(Alert::Vulnerability(v)) if v.reopened || v.now_exploited => {
                (Some(v.finding_id.as_str()), true)
            }
            // One finding's escalation: in its thread, and broadcast to the channel.
            Some(Alert::Escalation(e)) if e.total() == 1 => {
                (e.findings.first().map(|v| v.finding_id.as_str()), true)
            }
            _ => (None, false),
        };
        let thread = match thread_of {
            Some(id) => st.store.posted_message(&s.channel.id, id).await?,
            None => None,
        };
        let target = thread
            .as_ref()
            .map(|t| t.slack_channel.as_str())
            .unwrap_or(slack_channel);
        let p = st
            .webapi
            .post_message(
                token,
                target,
                message,
                thread.as_ref().map(|t| t.ts.as_str()),
                broadcast,
            )
            .await;
        Ok((p.outcome, p.ts.map(|ts| (target.to_string(), ts)), p.needed))
    }

    /// Remembers where each finding the message lists was announced (a coalesced message: the ones it lists line by
    /// line), so their follow-ups and reminders thread under it.
    async fn remember_posted(
        &self,
        s: &Sending,
        slack_channel: &str,
        ts: &str,
        done: i64,
    ) -> anyhow::Result<()> {
        let ids = fence_slack::render::listed_findings(&s.alerts);
        if !ids.is_empty() {
            self.state
                .store
                .record_posted(&s.channel.id, &ids, slack_channel, ts, done)
                .await?;
        }
        Ok(())
    }
}

/// The batch's alerts, without those of findings triaged since they were queued (`quiet`: false positive, snoozed,
/// resolved; those are not announced), gathered one alert set at a time: every alert, or of a burst its worst
/// findings and the others counted; and the channel's mentions for all of them.
async fn gather(
    store: &fence_store::Store,
    batch: &[DeliveryRow],
    quiet: &std::collections::HashSet<String>,
    config: &ChannelConfig,
) -> anyhow::Result<(Vec<Alert>, Unlisted, Vec<String>)> {
    let mut gathered = Gathered::default();
    let mut mentions = config.mentions();
    store
        .for_each_alert(batch, |a| {
            if a.finding().is_some_and(|v| quiet.contains(&v.finding_id)) {
                return;
            }
            mentions.add(a);
            gathered.push(a);
        })
        .await?;
    let (alerts, unlisted) = gathered.finish();
    Ok((alerts, unlisted, mentions.finish()))
}
