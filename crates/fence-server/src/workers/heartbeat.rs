//! The dispatcher's heartbeat: once a second it renews the lane leases and delivery claims this process holds, so
//! they outlive it by at most `LEASE_MS`. Another process takes over a dead sender's destinations within that, and
//! a sender that stopped beating finds its lease gone at the fencing check before its next send.

use crate::state::AppState;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;

/// How often leases are renewed: a quarter of their length (`LEASE_MS`, 4 s), so three renewals in a row may fail
/// before one lapses.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// The lane owners (each also its claim's token) this process is sending for.
#[derive(Debug, Default)]
pub struct Held {
    owners: Mutex<HashSet<String>>,
}

impl Held {
    pub fn hold(&self, owner: &str) {
        self.owners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(owner.to_string());
    }

    pub fn release(&self, owner: &str) {
        self.owners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(owner);
    }

    fn owners(&self) -> Vec<String> {
        self.owners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }
}

/// Renews what `held` holds for `lease_ms` past each beat, until `stop` turns true.
pub async fn run(state: AppState, held: Arc<Held>, lease_ms: i64, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        let owners = held.owners();
        if !owners.is_empty() {
            let until = state.clock.now_ms() + lease_ms;
            if let Err(e) = state.store.renew_leases(&owners, until).await {
                tracing::warn!(error = %e, "cannot renew delivery leases; other processes take them over if this lasts");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(HEARTBEAT) => {}
            _ = stop.changed() => {}
        }
    }
}
