//! The listener: on PostgreSQL, wakes this process's dispatcher and scan workers when any process sharing the
//! database stores deliveries or queues a scan (`fence_store::notify`), so the process that sends need not be the
//! one that ingested to send at once. Its connection is re-opened after a failure; the workers' own polls cover
//! what was announced meanwhile.

use crate::state::AppState;
use fence_store::notify::Work;
use std::time::Duration;
use tokio::sync::watch;

pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        let mut wake_ups = match state.store.wake_ups().await {
            Ok(Some(w)) => w,
            Ok(None) => return,
            Err(e) => {
                // The error names what failed, never the database URL.
                tracing::warn!(error = %e, "cannot listen for other processes' work; polling until it can");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
        };
        loop {
            tokio::select! {
                next = wake_ups.next() => match next {
                    Ok(Work::Deliveries) => state.wake.notify_one(),
                    Ok(Work::Scans) => state.scan_wake.notify_one(),
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the notification connection; opening it again");
                        break;
                    }
                },
                _ = stop.changed() => return,
            }
        }
    }
}
