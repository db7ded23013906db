//! The directory worker: keeps each Slack workspace's cached directory (users, user groups, channels) fresh in the
//! background, every `slack.directory_refresh_every` and at once for a workspace a save is waiting for. Each
//! workspace is a job of the store's job lease, so one process reads it however many share the database; a
//! workspace no channel needs any more is forgotten, token included.

use crate::services::directory::job_name;
use crate::services::directory::refresh::{refresh, still_needed, Pacer};
use crate::state::AppState;
use std::time::Duration;
use tokio::sync::watch;

/// How long one process holds a workspace's read (a read of a large workspace at Tier 2 pace takes minutes).
const LEASE_MS: i64 = 15 * 60_000;
/// How often due workspaces are looked for when nothing wakes the worker.
const POLL: Duration = Duration::from_secs(5);

pub struct DirectoryWorker {
    state: AppState,
    owner: String,
    pacer: Pacer,
}

impl DirectoryWorker {
    pub fn new(state: AppState) -> Self {
        DirectoryWorker {
            state,
            owner: format!("directory:{}", fence_store::new_id()),
            pacer: Pacer::default(),
        }
    }

    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let wake = self.state.directory_wake.clone();
        while !*stop.borrow() {
            if let Err(e) = self.tick().await {
                tracing::warn!(error = %e, "Slack directory pass failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = wake.notified() => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Reads every workspace that is due; returns how many were read.
    pub async fn tick(&mut self) -> anyhow::Result<usize> {
        let st = self.state.clone();
        let every = st.config.slack.directory_refresh_every.as_millis() as i64;
        let mut read = 0;
        for ws in st.store.workspaces().await? {
            let job = job_name(&ws.key);
            if !st
                .store
                .claim_job(&job, &self.owner, st.clock.now_ms(), LEASE_MS)
                .await?
            {
                continue;
            }
            if !still_needed(&st, &ws).await? {
                st.store.finish_job(&job, &self.owner, i64::MAX).await?;
                continue;
            }
            let result = refresh(&st, &ws, &mut self.pacer).await;
            st.store
                .finish_job(&job, &self.owner, st.clock.now_ms() + every.max(1_000))
                .await?;
            result?;
            read += 1;
        }
        Ok(read)
    }
}
