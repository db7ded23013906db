//! What the dispatcher does with Slack's answer: a delivered message marks its claim sent (and the channel healthy),
//! a 429 waits out `Retry-After`, a retryable failure backs off with jitter until the destination is probed once per
//! `probe_interval` (an outage, which does not age deliveries toward `max_retry_age`), a revoked
//! destination holds the channel's deliveries and tells the organization's other channels, a refused payload is
//! retried once as plain text. A bot refused in this send (`not_in_channel`, `missing_scope`) makes the channel
//! `degraded` whatever its webhook answered, unless the webhook refused too (then it is `broken`, see `fallback`).

use super::send::Sending;
use super::Dispatcher;
use fence_core::alert::ChannelBrokenAlert;
use fence_core::{Alert, ChannelState};
use fence_slack::SendOutcome;
use fence_store::deliveries::{RoutableChannel, Streak};
use rand::Rng;
use std::sync::atomic::Ordering;

/// The longest a probe of a webhook in an outage waits for an answer (half the probe interval when that is shorter).
const PROBE_TIMEOUT_MAX: std::time::Duration = std::time::Duration::from_secs(3);

impl Dispatcher {
    /// Applies the outcome to the whole claim, giving the lane back in the same commit (`None`), except for a
    /// broken channel, whose lane waits until the channel is marked (returns when it may be sent to next).
    pub(super) async fn apply_outcome(
        &self,
        s: &Sending,
        outcome: SendOutcome,
        done: i64,
        next_slot: i64,
    ) -> anyhow::Result<Option<i64>> {
        let st = &self.state;
        let claim = s.claim.as_str();
        let channel = &s.channel;
        if !matches!(outcome, SendOutcome::ChannelBroken { .. }) {
            self.degrade_if_refused(s, done).await?;
        }
        match outcome {
            SendOutcome::Delivered => {
                st.store
                    .mark_sent(claim, done, Some(&s.lane(next_slot, s.answered(done))))
                    .await?;
                st.metrics.messages_sent.fetch_add(1, Ordering::Relaxed);
                for d in &s.batch {
                    st.metrics.observe_latency_ms(done - d.created_at);
                }
                // Through the webhook, a success says nothing about the bot: the state stays as the refusal set it.
                if channel.state != ChannelState::Healthy && !s.via_webhook {
                    st.store
                        .set_channel_health(&channel.id, ChannelState::Healthy, None, None, done)
                        .await?;
                }
                Ok(None)
            }
            SendOutcome::RateLimited { retry_after } => {
                st.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
                let lane = s.lane(done + retry_after.as_millis() as i64, Streak::Unchanged);
                st.store.mark_rate_limited(claim, done, Some(&lane)).await?;
                Ok(None)
            }
            SendOutcome::Retryable { error } => {
                st.metrics.send_failures.fetch_add(1, Ordering::Relaxed);
                self.retry_or_die(s, done, &error, next_slot).await?;
                Ok(None)
            }
            SendOutcome::ChannelBroken { error } => {
                st.metrics.send_failures.fetch_add(1, Ordering::Relaxed);
                self.hold(s, &error, done).await?;
                Ok(Some(next_slot))
            }
            SendOutcome::PayloadRejected { error } => {
                st.metrics.send_failures.fetch_add(1, Ordering::Relaxed);
                let lane = s.lane(next_slot, s.answered(done));
                if s.fallback {
                    st.store.mark_dead(claim, &error, Some(&lane)).await?;
                } else {
                    st.store
                        .mark_plain_fallback(claim, &error, Some(&lane))
                        .await?;
                }
                Ok(None)
            }
            SendOutcome::Failed { error } => {
                st.metrics.send_failures.fetch_add(1, Ordering::Relaxed);
                st.store
                    .mark_dead(claim, &error, Some(&s.lane(next_slot, s.answered(done))))
                    .await?;
                Ok(None)
            }
        }
    }

    /// The destination refused for good: hold the claim, mark the channel broken, and say so elsewhere once.
    async fn hold(&self, s: &Sending, error: &str, done: i64) -> anyhow::Result<()> {
        let st = &self.state;
        let channel = &s.channel;
        let (error, hint) = self.broken_reason(s, error);
        let (error, hint) = (error.as_str(), hint.as_str());
        st.store.mark_held(&s.claim, error, None).await?;
        tracing::warn!(channel = %channel.id, error = %error, "channel stopped accepting messages; its deliveries are held");
        let newly_broken = st
            .store
            .set_channel_health(
                &channel.id,
                ChannelState::Broken,
                Some(error),
                Some(hint),
                done,
            )
            .await?;
        if newly_broken {
            self.report_broken(
                &channel.org_id,
                &channel.id,
                &channel.name,
                error,
                hint,
                done,
            )
            .await?;
        }
        Ok(())
    }

    /// Retryable failure: back off with jitter while the destination's failing streak is short, then (once the wait
    /// or the streak reaches `probe_interval`) probe it once per interval. The lane waits as long as the deliveries, so new alerts do not probe it sooner. Outside
    /// an outage, deliveries first tried more than `max_retry_age` ago are dead; in one, none are.
    async fn retry_or_die(
        &self,
        s: &Sending,
        now: i64,
        error: &str,
        next_slot: i64,
    ) -> anyhow::Result<()> {
        let failures = s.failures.saturating_add(1);
        let jitter: f64 = rand::thread_rng().gen();
        let wait = self
            .retry
            .after_failure_for(failures, s.streak_for(now), jitter);
        let due = now + wait.delay.as_millis() as i64;
        let give_up_before = (!wait.probing).then(|| now - self.retry.max_age.as_millis() as i64);
        if wait.probing {
            // Every probe; /metrics' fence_destinations_in_outage says how many destinations are down.
            tracing::debug!(channel = %s.channel.id, error = %error, "destination is in an outage; probing it once per interval");
        }
        let streak = Streak::Failed {
            at: now,
            probing: wait.probing,
        };
        self.state
            .store
            .mark_retry(
                &s.claim,
                now,
                due,
                give_up_before,
                error,
                Some(&s.lane(next_slot.max(due), streak)),
            )
            .await?;
        Ok(())
    }

    /// A webhook destination in an outage (its back-off reached the probe interval) is first asked whether it answers
    /// at all, with a request that posts nothing (`WebhookClient::probe`) bounded by the shorter of 3 s and half the
    /// interval, instead of with the waiting message under the client's 10 s timeout. Probes then come once per
    /// interval counted from each probe's start, a blackhole included, and a recovery is seen by the next one; the
    /// message itself still gets the full timeout, so a slow Slack does not post it twice. Bot-token channels post to
    /// the Web API, not the webhook, and are probed with the message. Returns whether a probe failed (then its
    /// outcome is applied: the next probe is one interval after `now`, and the message waits for it).
    pub(super) async fn probe_outage(&self, s: &Sending, now: i64) -> anyhow::Result<bool> {
        if s.bot.is_some() || s.failures == 0 {
            return Ok(false);
        }
        if !self
            .retry
            .after_failure_for(s.failures, s.streak_for(now), 0.0)
            .probing
        {
            return Ok(false);
        }
        let timeout = (self.retry.probe / 2).min(PROBE_TIMEOUT_MAX);
        let Err(error) = self.state.client.probe(&s.url, timeout).await else {
            return Ok(false);
        };
        self.state
            .metrics
            .send_failures
            .fetch_add(1, Ordering::Relaxed);
        self.retry_or_die(s, now, &error, now).await?;
        Ok(true)
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
