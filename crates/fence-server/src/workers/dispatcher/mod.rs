//! The dispatcher: finds destinations with due deliveries, takes each one's lane (a lease in the database, so
//! only one process sends to a destination at a time), coalesces what waits into one message, sends it, and acts
//! on Slack's answer. The lane's `next_slot_at` enforces `delivery.rate_per_second` on every attempt, retries
//! included, across processes.

mod compose;
mod fallback;
mod outcome;
mod send;

use super::heartbeat::{self, Held};
use crate::state::AppState;
use fence_core::retry::RetryPolicy;
use fence_store::deliveries::ClaimedLane;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Semaphore};

/// How long a lane or a claimed delivery stays ours past the last heartbeat (`workers::heartbeat`, once a second); a
/// crashed sender's destinations are free again after it.
const LEASE_MS: i64 = 4_000;
/// The most one send (claim, render, up to two Slack calls of 10 s each, record) may take; the heartbeat keeps its
/// lease meanwhile.
const SEND_BUDGET: Duration = Duration::from_secs(30);
/// How often a pass returns abandoned claims to the queue.
const RECOVER_EVERY_MS: i64 = 1_000;
/// Longest sleep between polls (other processes may have queued work).
const POLL_MS: i64 = 250;
/// Destinations sent to at once by one process. Sends mostly wait on Slack (100–300 ms each), so this bounds how long
/// a burst to many channels takes; each holds one claimed batch.
const MAX_CONCURRENT_LANES: usize = 256;

pub struct Dispatcher {
    state: AppState,
    retry: RetryPolicy,
    lanes: Arc<Semaphore>,
    /// The lanes this process is sending for, renewed by the heartbeat.
    held: Arc<Held>,
    /// When this process last returned abandoned claims to the queue (ms; once a second is enough, since a claim
    /// outlives its last heartbeat by `LEASE_MS`).
    recovered_at: AtomicI64,
}

impl Dispatcher {
    pub fn new(state: AppState) -> Self {
        let retry = RetryPolicy {
            max_age: state.config.delivery.max_retry_age,
            probe: state.config.delivery.probe_interval,
            ..RetryPolicy::default()
        };
        Dispatcher {
            state,
            retry,
            lanes: Arc::new(Semaphore::new(MAX_CONCURRENT_LANES)),
            held: Arc::default(),
            recovered_at: AtomicI64::new(i64::MIN),
        }
    }

    /// Runs until `stop` turns true, then waits for in-flight sends to finish.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let this = Arc::new(self);
        let beat = tokio::spawn(heartbeat::run(
            this.state.clone(),
            this.held.clone(),
            LEASE_MS,
            stop.clone(),
        ));
        while !*stop.borrow() {
            let now = this.state.clock.now_ms();
            this.pass(now).await;
            // Every sender busy: the next pass can start nothing before one finishes (each wakes the loop), so the
            // database is not asked again meanwhile (a due burst would otherwise be re-read every millisecond).
            let wait = if this.lanes.available_permits() == 0 {
                POLL_MS
            } else {
                match this.state.store.next_wakeup(now).await {
                    Ok(Some(t)) => (t - this.state.clock.now_ms()).clamp(1, POLL_MS),
                    _ => POLL_MS,
                }
            };
            tokio::select! {
                _ = this.state.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
                _ = stop.changed() => {}
            }
        }
        // Graceful stop: wait for sends in flight (they finish and record their outcome).
        let _ = this.lanes.acquire_many(MAX_CONCURRENT_LANES as u32).await;
        let _ = beat.await;
    }

    /// One pass at `now`: take every free lane whose slot has come together with its next message (one commit for
    /// the whole pass), start each send, then return abandoned claims to the queue. Returns the started sends
    /// (tests await them; `run` lets them finish on their own).
    pub async fn pass(self: &Arc<Self>, now: i64) -> Vec<tokio::task::JoinHandle<()>> {
        let started = self.start_sends(now).await;
        // After the sends are on their way, so that nothing stands between a wake-up and the message; what it returns
        // is sent by the next pass.
        let last = self.recovered_at.load(Ordering::Relaxed);
        if now < last || now.saturating_sub(last) >= RECOVER_EVERY_MS {
            self.recovered_at.store(now, Ordering::Relaxed);
            if let Err(e) = self.state.store.recover_expired_claims(now).await {
                tracing::warn!(error = %e, "cannot recover expired claims");
            }
        }
        started
    }

    /// Claims the lanes of due destinations (as many as there are free senders) and starts a send for each.
    async fn start_sends(self: &Arc<Self>, now: i64) -> Vec<tokio::task::JoinHandle<()>> {
        let mut started = Vec::new();
        let free = self.lanes.available_permits();
        if free == 0 {
            return started;
        }
        let dests = match self.state.store.due_destinations(now, free as i64).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read due deliveries");
                return started;
            }
        };
        if dests.is_empty() {
            return started;
        }
        let claimed = match self.state.store.claim_lanes(&dests, now, LEASE_MS).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim lanes");
                return started;
            }
        };
        for lane in claimed {
            // Only this pass takes permits, and it asked for no more lanes than were free.
            let Ok(permit) = self.lanes.clone().acquire_owned().await else {
                break;
            };
            let me = self.clone();
            self.held.hold(&lane.owner);
            started.push(tokio::spawn(async move {
                let owner = lane.owner.clone();
                me.send_lane(lane, now).await;
                me.held.release(&owner);
                drop(permit);
                me.state.wake.notify_one();
            }));
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

    /// Sends the claimed message of one destination; the lane is given back with its next send slot, in the
    /// commit that records the outcome where there is one.
    async fn send_lane(&self, lane: ClaimedLane, now: i64) {
        let ClaimedLane {
            destination,
            owner,
            batch,
            failures,
            streak_since,
        } = lane;
        let (destination, owner) = (destination.as_str(), owner.as_str());
        // Bounded well inside the lease, so no other sender can take the lane or the claim while this one runs.
        let release_at = match tokio::time::timeout(
            SEND_BUDGET,
            self.send_one(destination, owner, batch, (failures, streak_since), now),
        )
        .await
        {
            Ok(Ok(next)) => next,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "delivery attempt failed inside Fence");
                self.survived(owner).await;
                // Whether a message went out is unknown: wait as long as the strictest destination needs, counted
                // from now (a message may have reached Slack just before the failure), not from the claim.
                Some(self.state.clock.now_ms() + self.state.send_interval_ms(true))
            }
            Err(_) => {
                tracing::warn!("a send took longer than its budget; its deliveries return to the queue when their claim expires");
                self.survived(owner).await;
                Some(self.state.clock.now_ms() + self.state.send_interval_ms(true))
            }
        };
        let Some(next_slot) = release_at else { return };
        if let Err(e) = self
            .state
            .store
            .release_lane(destination, owner, next_slot)
            .await
        {
            tracing::warn!(error = %e, "cannot release a lane; its lease will expire");
        }
    }

    /// A send that failed inside this process did not take it down: its claim's render count is taken back, so a
    /// template is not quarantined for a slow Slack or a database error (see `send::quarantine_template`).
    async fn survived(&self, claim: &str) {
        if let Err(e) = self.state.store.template_rendered(claim).await {
            tracing::warn!(error = %e, "cannot record an unfinished send");
        }
    }
}
