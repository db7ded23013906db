//! Group commit of sent claims: the claims whose messages Slack accepted while another sender's commit was running
//! are recorded together in the next commit, so a burst to a thousand channels costs a few dozen commits instead of
//! one per message. Idle, a claim commits at once (nothing waits for a timer).

use super::claims::finish_in;
use super::health::{count_claims_in, Hourly};
use super::lanes::{release_in, LaneRelease, Streak};
use crate::{Result, Store, StoreError};
use std::sync::Mutex;
use tokio::sync::{oneshot, Mutex as AsyncMutex};

/// A sent claim waiting for its commit: the claim, when Slack accepted it, and the lane it gives back.
struct Sent {
    claim: String,
    at: i64,
    lane: Option<OwnedRelease>,
}

struct OwnedRelease {
    destination: String,
    owner: String,
    next_slot_at: i64,
    streak: Streak,
}

impl OwnedRelease {
    fn as_release(&self) -> LaneRelease<'_> {
        LaneRelease {
            destination: &self.destination,
            owner: &self.owner,
            next_slot_at: self.next_slot_at,
            streak: self.streak,
        }
    }
}

type Waiter = oneshot::Sender<std::result::Result<(), String>>;

/// The claims waiting for a commit, and the turn to commit them (one commit at a time per process).
#[derive(Default)]
pub(crate) struct SentGroup {
    waiting: Mutex<Vec<(Sent, Waiter)>>,
    turn: AsyncMutex<()>,
}

impl std::fmt::Debug for SentGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SentGroup")
    }
}

impl SentGroup {
    fn push(&self, sent: Sent, waiter: Waiter) {
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((sent, waiter));
    }

    fn take(&self) -> Vec<(Sent, Waiter)> {
        std::mem::take(&mut *self.waiting.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Store {
    /// Delivered: the claim's deliveries are sent at `now`, and with `lane` the lane is given back in the same
    /// commit. Returns once that commit is durable; it may carry other senders' claims too (see the module).
    pub async fn mark_sent(
        &self,
        claim_token: &str,
        now: i64,
        lane: Option<&LaneRelease<'_>>,
    ) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.sent_group.push(
            Sent {
                claim: claim_token.to_string(),
                at: now,
                lane: lane.map(|l| OwnedRelease {
                    destination: l.destination.to_string(),
                    owner: l.owner.to_string(),
                    next_slot_at: l.next_slot_at,
                    streak: l.streak,
                }),
            },
            tx,
        );
        // The commit runs in a task of its own, so a sender that gives up waiting does not abandon the others'.
        let store = self.clone();
        tokio::spawn(async move { store.commit_sent().await });
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Corrupt(format!("recording a sent claim: {e}"))),
            Err(_) => Err(StoreError::Corrupt(
                "recording a sent claim: the commit was abandoned".into(),
            )),
        }
    }

    /// Takes the turn, then commits every claim waiting by then. When the shared commit fails (on PostgreSQL a
    /// deadlock with another process, say), each claim is tried in a commit of its own, so one cannot fail the rest.
    async fn commit_sent(&self) {
        let _turn = self.sent_group.turn.lock().await;
        let mut batch = self.sent_group.take();
        if batch.is_empty() {
            return;
        }
        // One lock order for every commit of this kind: by destination.
        batch.sort_by(|a, b| {
            let key = |s: &Sent| s.lane.as_ref().map(|l| l.destination.clone());
            key(&a.0).cmp(&key(&b.0))
        });
        let sents: Vec<&Sent> = batch.iter().map(|(s, _)| s).collect();
        let shared = self.commit_sents(&sents).await;
        if shared.is_ok() || batch.len() == 1 {
            let outcome = shared.map_err(|e| e.to_string());
            for (_, waiter) in batch {
                let _ = waiter.send(outcome.clone());
            }
            return;
        }
        for (sent, waiter) in batch {
            let outcome = self.commit_sents(&[&sent]).await.map_err(|e| e.to_string());
            let _ = waiter.send(outcome);
        }
    }

    async fn commit_sents(&self, sents: &[&Sent]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        // The messages per hour, counted before the claims are let go (one statement per hour the group covers).
        let mut hours: Vec<(i64, Vec<&str>)> = Vec::new();
        for s in sents {
            let hour = s.at.div_euclid(3_600_000);
            match hours.iter_mut().find(|(h, _)| *h == hour) {
                Some((_, claims)) => claims.push(&s.claim),
                None => hours.push((hour, vec![&s.claim])),
            }
        }
        for (hour, claims) in &hours {
            count_claims_in(&mut tx, claims, hour * 3_600_000, Hourly::Sent).await?;
        }
        for s in sents {
            finish_in(
                &mut tx,
                &s.claim,
                "state = 'sent', sent_at = $1, last_error = NULL",
                vec![super::claims::BindVal::I(s.at)],
            )
            .await?;
            if let Some(lane) = &s.lane {
                release_in(&mut tx, &lane.as_release()).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
