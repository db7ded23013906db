//! The dispatcher: finds destinations with due deliveries, takes each one's lane (a lease in the database, so
//! only one process sends to a destination at a time), coalesces what waits into one message, sends it, and acts
//! on Slack's answer. The lane's `next_slot_at` enforces `delivery.rate_per_second` on every attempt, retries
//! included, across processes.

use crate::state::AppState;
use fence_core::alert::ChannelBrokenAlert;
use fence_core::retry::RetryPolicy;
use fence_core::{Alert, ChannelConfig, ChannelKind, ChannelState, Plan};
use fence_slack::render::{plain, render, RenderContext};
use fence_slack::{hint_for, SendOutcome, WebhookUrl};
use fence_store::deliveries::{DeliveryRow, RoutableChannel};
use rand::Rng;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Semaphore};

/// How long a lane or a claimed delivery stays ours without renewal; a crashed sender's work returns after it.
const LEASE_MS: i64 = 45_000;
/// The most one send (claim, render, up to two Slack calls of 10 s each, record) may take; below `LEASE_MS`.
const SEND_BUDGET: Duration = Duration::from_secs(30);
/// Longest sleep between polls (other processes may have queued work).
const POLL_MS: i64 = 250;
const MAX_CONCURRENT_LANES: usize = 64;

pub struct Dispatcher {
    state: AppState,
    retry: RetryPolicy,
    lanes: Arc<Semaphore>,
}

impl Dispatcher {
    pub fn new(state: AppState) -> Self {
        let retry = RetryPolicy {
            max_age: state.config.delivery.max_retry_age,
            ..RetryPolicy::default()
        };
        Dispatcher {
            state,
            retry,
            lanes: Arc::new(Semaphore::new(MAX_CONCURRENT_LANES)),
        }
    }

    /// Runs until `stop` turns true, then waits for in-flight sends to finish.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let this = Arc::new(self);
        while !*stop.borrow() {
            let now = this.state.clock.now_ms();
            this.pass(now).await;
            let wait = match this.state.store.next_wakeup(now).await {
                Ok(Some(t)) => (t - this.state.clock.now_ms()).clamp(1, POLL_MS),
                _ => POLL_MS,
            };
            tokio::select! {
                _ = this.state.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
                _ = stop.changed() => {}
            }
        }
        // Graceful stop: wait for sends in flight (they finish and record their outcome).
        let _ = this.lanes.acquire_many(MAX_CONCURRENT_LANES as u32).await;
    }

    /// One pass at `now`: return abandoned claims to the queue, take every free lane whose slot has come, and start
    /// its send. Returns the started sends (tests await them; `run` lets them finish on their own).
    pub async fn pass(self: &Arc<Self>, now: i64) -> Vec<tokio::task::JoinHandle<()>> {
        let mut started = Vec::new();
        if let Err(e) = self.state.store.recover_expired_claims(now).await {
            tracing::warn!(error = %e, "cannot recover expired claims");
        }
        let dests = match self.state.store.due_destinations(now, 256).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read due deliveries");
                return started;
            }
        };
        for dest in dests {
            let Ok(permit) = self.lanes.clone().try_acquire_owned() else {
                break;
            };
            let owner = format!("lane:{}", fence_store::new_id());
            match self
                .state
                .store
                .claim_lane(&dest, &owner, now, LEASE_MS)
                .await
            {
                Ok(true) => {
                    let me = self.clone();
                    started.push(tokio::spawn(async move {
                        me.send_lane(&dest, &owner).await;
                        drop(permit);
                        me.state.wake.notify_one();
                    }));
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "cannot claim a lane"),
            }
        }
        started
    }

    /// Runs one pass and waits for its sends (deterministic tests drive the dispatcher with this).
    pub async fn run_once(self: &Arc<Self>) -> usize {
        let now = self.state.clock.now_ms();
        let sends = self.pass(now).await;
        let n = sends.len();
        for s in sends {
            let _ = s.await;
        }
        n
    }

    /// Sends the next message of one destination and releases its lane with the next send slot.
    async fn send_lane(&self, destination: &str, owner: &str) {
        let started = self.state.clock.now_ms();
        // Bounded well inside the lease, so no other sender can take the lane or the claim while this one runs.
        let next_slot = match tokio::time::timeout(
            SEND_BUDGET,
            self.send_one(destination, owner, started),
        )
        .await
        {
            Ok(Ok(next)) => next,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "delivery attempt failed inside Fence");
                started + self.state.interval_ms
            }
            Err(_) => {
                tracing::warn!("a send took longer than its budget; its deliveries return to the queue when their claim expires");
                started + self.state.interval_ms
            }
        };
        if let Err(e) = self
            .state
            .store
            .release_lane(destination, owner, next_slot)
            .await
        {
            tracing::warn!(error = %e, "cannot release a lane; its lease will expire");
        }
    }

    /// Returns when the destination may be sent to next.
    async fn send_one(&self, destination: &str, claim: &str, now: i64) -> anyhow::Result<i64> {
        let st = &self.state;
        let batch = st
            .store
            .claim_batch(destination, claim, now, LEASE_MS)
            .await?;
        let Some(first) = batch.first() else {
            return Ok(now);
        };
        let channel = st.store.channel_by_id(&first.channel_id).await?;
        let org = st.store.org(&channel.org_id).await?;
        let plan = org.plan();
        let kind = channel.kind;
        let config = channel.rules()?;
        let url = WebhookUrl::from_trusted(
            st.secrets
                .decrypt(&channel.webhook_url_enc)?
                .expose()
                .clone(),
        );

        let alerts: Vec<Alert> = st.store.alerts_of(&batch).await?;
        // Findings triaged since their alert was queued (false positive, snoozed, resolved) are not announced.
        let since = batch.iter().map(|d| d.created_at).min().unwrap_or(now);
        let quiet = st.store.quiet_findings(&channel.org_id, since, now).await?;
        let alerts: Vec<Alert> = alerts
            .into_iter()
            .filter(|a| match a {
                Alert::Vulnerability(v) => !quiet.contains(&v.finding_id),
                Alert::Reminder(r) => !quiet.contains(&r.finding.finding_id),
                _ => true,
            })
            .collect();
        if alerts.is_empty() {
            st.store.mark_sent(claim, st.clock.now_ms()).await?;
            return Ok(now);
        }
        let mut mentions: Vec<String> = Vec::new();
        for a in &alerts {
            for m in config.mentions_for(a) {
                if !mentions.contains(&m) {
                    mentions.push(m);
                }
            }
        }
        let ctx = st.render_context(&org.id, kind, config.format, plan);
        let fallback = first.plain_fallback;
        let bot = match (&channel.bot_token_enc, &channel.slack_channel_id) {
            (Some(t), Some(c)) => Some((st.secrets.decrypt(t)?, c.clone())),
            _ => None,
        };

        let is_followup = matches!(alerts.as_slice(), [Alert::FollowUp(_)]);
        let mut message = serde_json::Value::Null;
        if !is_followup {
            message = self
                .compose(
                    &ctx,
                    &channel.id,
                    &config,
                    plan,
                    &alerts,
                    &mentions,
                    fallback,
                )
                .await;
            // Identity overrides go where they are honoured: bot tokens and Mattermost (app webhooks ignore them,
            // SLACK.md §1).
            if bot.is_some() || kind == ChannelKind::Mattermost {
                apply_identity(&mut message, &config, plan);
            }
        }
        let sent_at = st.clock.now_ms();
        let (outcome, posted) = match (&bot, alerts.as_slice()) {
            (Some((token, _)), [Alert::FollowUp(f)]) => {
                (self.send_followup(&ctx, &channel.id, token, f).await?, None)
            }
            // A follow-up for a channel without a bot token has nowhere to go (webhooks cannot thread).
            (None, [Alert::FollowUp(_)]) => (SendOutcome::Delivered, None),
            (Some((token, slack_channel)), _) => {
                // Reminders and re-detections of a finding go in the thread of the message that announced it.
                let (thread_of, broadcast) = match alerts.as_slice() {
                    [Alert::Reminder(r)] => (Some(r.finding.finding_id.as_str()), false),
                    [Alert::Vulnerability(v)] if v.reopened => (Some(v.finding_id.as_str()), true),
                    _ => (None, false),
                };
                let thread = match thread_of {
                    Some(id) => st.store.posted_message(&channel.id, id).await?,
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
                        &message,
                        thread.as_ref().map(|t| t.ts.as_str()),
                        broadcast,
                    )
                    .await;
                (p.outcome, p.ts.map(|ts| (target.to_string(), ts)))
            }
            (None, _) => (st.client.post(&url, &message).await, None),
        };
        let done = st.clock.now_ms();
        let next_slot = sent_at + st.interval_ms;
        if let (SendOutcome::Delivered, Some((slack_channel, ts))) = (&outcome, &posted) {
            // Remember where each finding was announced (when the message names few enough to thread under).
            let ids: Vec<String> = alerts
                .iter()
                .filter_map(|a| match a {
                    Alert::Vulnerability(v) => Some(v.finding_id.clone()),
                    _ => None,
                })
                .collect();
            if !ids.is_empty() && ids.len() <= fence_slack::render::COALESCE_LISTED {
                st.store
                    .record_posted(&channel.id, &ids, slack_channel, ts, done)
                    .await?;
            }
        }
        match outcome {
            SendOutcome::Delivered => {
                st.store.mark_sent(claim, done).await?;
                st.metrics.messages_sent.fetch_add(1, Ordering::Relaxed);
                for d in &batch {
                    st.metrics.observe_latency_ms(done - d.created_at);
                }
                if channel.state != ChannelState::Healthy {
                    st.store
                        .set_channel_health(&channel.id, ChannelState::Healthy, None, None, done)
                        .await?;
                }
                Ok(next_slot)
            }
            SendOutcome::RateLimited { retry_after } => {
                st.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
                st.store.mark_rate_limited(claim).await?;
                Ok(done + retry_after.as_millis() as i64)
            }
            SendOutcome::Retryable { error } => {
                st.metrics.send_failures.fetch_add(1, Ordering::Relaxed);
                self.retry_or_die(claim, &batch, done, &error).await?;
                Ok(next_slot)
            }
            SendOutcome::ChannelBroken { error } => {
                st.metrics.send_failures.fetch_add(1, Ordering::Relaxed);
                st.store.mark_held(claim, &error).await?;
                let hint = hint_for(&error);
                tracing::warn!(channel = %channel.id, error = %error, "channel stopped accepting messages; its deliveries are held");
                if st
                    .store
                    .set_channel_health(
                        &channel.id,
                        ChannelState::Broken,
                        Some(&error),
                        Some(hint),
                        done,
                    )
                    .await?
                {
                    self.report_broken(
                        &channel.org_id,
                        &channel.id,
                        &channel.name,
                        &error,
                        hint,
                        done,
                    )
                    .await?;
                }
                Ok(next_slot)
            }
            SendOutcome::PayloadRejected { error } => {
                st.metrics.send_failures.fetch_add(1, Ordering::Relaxed);
                if fallback {
                    st.store.mark_dead(claim, &error).await?;
                } else {
                    st.store.mark_plain_fallback(claim, &error).await?;
                }
                Ok(next_slot)
            }
            SendOutcome::Failed { error } => {
                st.metrics.send_failures.fetch_add(1, Ordering::Relaxed);
                st.store.mark_dead(claim, &error).await?;
                Ok(next_slot)
            }
        }
    }

    /// The message for these alerts: plain text after a payload refusal, the channel's custom template for a single
    /// alert (enterprise and custom plans), else Fence's rendering. A template that fails falls back to the default
    /// rendering and leaves a warning on the channel.
    #[allow(clippy::too_many_arguments)]
    async fn compose(
        &self,
        ctx: &RenderContext<'_>,
        channel_id: &str,
        config: &ChannelConfig,
        plan: Plan,
        alerts: &[Alert],
        mentions: &[String],
        fallback: bool,
    ) -> serde_json::Value {
        if fallback {
            return plain(alerts);
        }
        let template = config
            .template
            .as_deref()
            .filter(|_| plan.has_enterprise_features());
        if let (Some(source), [alert]) = (template, alerts) {
            if !matches!(alert, Alert::ChannelBroken(_) | Alert::FollowUp(_)) {
                let finding_id = match alert {
                    Alert::Vulnerability(v) => Some(v.finding_id.as_str()),
                    Alert::Reminder(r) => Some(r.finding.finding_id.as_str()),
                    _ => None,
                };
                let finding = match finding_id {
                    Some(id) => self.state.store.finding(ctx.org_id, id).await.ok(),
                    None => None,
                };
                let mention_text = fence_slack::render::render_mentions(ctx.kind, mentions);
                let vars = fence_slack::template::variables(
                    alert,
                    ctx.base_url,
                    &mention_text,
                    finding.as_ref().and_then(|f| f.description.as_deref()),
                    finding.as_ref().and_then(|f| f.remediation.as_deref()),
                );
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
        render(ctx, alerts, mentions)
    }

    /// Posts a follow-up in the thread of the finding's message, and updates that message when asked to.
    async fn send_followup(
        &self,
        ctx: &RenderContext<'_>,
        channel_id: &str,
        token: &fence_core::Secret<String>,
        f: &fence_core::alert::FollowUpAlert,
    ) -> anyhow::Result<SendOutcome> {
        let st = &self.state;
        let Some(pm) = st
            .store
            .posted_message(channel_id, &f.finding.finding_id)
            .await?
        else {
            return Ok(SendOutcome::Delivered);
        };
        let posted = st
            .webapi
            .post_message(
                token,
                &pm.slack_channel,
                &fence_slack::render::followup(f),
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
            if outcome != SendOutcome::Delivered {
                tracing::warn!(channel = %channel_id, outcome = ?outcome, "could not update the original message");
            }
        }
        Ok(posted.outcome)
    }

    /// Retryable failure: back off with jitter; deliveries first tried more than `max_retry_age` ago are dead.
    async fn retry_or_die(
        &self,
        claim: &str,
        batch: &[DeliveryRow],
        now: i64,
        error: &str,
    ) -> anyhow::Result<()> {
        let attempts = batch.iter().map(|d| d.attempts).max().unwrap_or(1).max(1) as u32;
        let jitter: f64 = rand::thread_rng().gen();
        let delay = self.retry.backoff(attempts, jitter);
        let give_up_before = now - self.retry.max_age.as_millis() as i64;
        self.state
            .store
            .mark_retry(claim, now + delay.as_millis() as i64, give_up_before, error)
            .await?;
        Ok(())
    }

    /// Tells the organization's other healthy channels that one stopped accepting messages.
    async fn report_broken(
        &self,
        org_id: &str,
        channel_id: &str,
        name: &str,
        error: &str,
        hint: &str,
        now: i64,
    ) -> anyhow::Result<()> {
        let others: Vec<RoutableChannel> = self
            .state
            .store
            .list_channels(org_id)
            .await?
            .into_iter()
            .filter(|c| c.id != channel_id && c.state != ChannelState::Broken)
            .filter_map(|c| RoutableChannel::from_row(&c).ok())
            .collect();
        let alert = Alert::ChannelBroken(ChannelBrokenAlert {
            channel_name: name.to_string(),
            error: error.to_string(),
            hint: hint.to_string(),
        });
        if self
            .state
            .store
            .enqueue(org_id, &others, vec![alert], now)
            .await?
            > 0
        {
            self.state.wake.notify_one();
        }
        Ok(())
    }
}

/// Sets the white-label identity (custom plan) on a message sent where it is honoured (bot tokens with
/// `chat:write.customize`, Mattermost with overrides enabled).
fn apply_identity(message: &mut serde_json::Value, config: &ChannelConfig, plan: Plan) {
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
