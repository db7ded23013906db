//! Reading a workspace's directory from Slack: every page of `users.list`, `usergroups.list` and
//! `conversations.list`, paced within Tier 2 (SLACK.md §2: "20+ per minute" per method per workspace), waiting out
//! a 429's `Retry-After`; each list replaces its part of the stored directory, a failing one keeps the last good
//! read and records its error (which then fails only the names that need that list).

use crate::services::ServiceResult;
use crate::state::AppState;
use fence_slack::{DirectoryList, ListError};
use fence_store::slack_directory::{EntryKind, Workspace};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;
use tokio::time::Instant;

/// Tier 2: calls of one method per workspace in any [`TIER2_WINDOW`] (SLACK.md §2, the Java SDK's tier table).
const TIER2_CALLS: usize = 20;
const TIER2_WINDOW: Duration = Duration::from_secs(60);
/// The most pages read of one list (200 per page: a million users).
const MAX_PAGES: usize = 5_000;
/// How many 429s one list waits out before the read gives up until the next refresh.
const MAX_RATE_LIMITED: usize = 3;
/// The longest `Retry-After` waited for in place.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// Calls made per workspace and method, to stay within Tier 2.
#[derive(Debug, Default)]
pub struct Pacer {
    calls: HashMap<(String, &'static str), VecDeque<Instant>>,
}

impl Pacer {
    /// Waits until another call of `method` in workspace `key` stays within Tier 2.
    async fn wait(&mut self, key: &str, method: &'static str) {
        let q = self.calls.entry((key.to_string(), method)).or_default();
        while q.front().is_some_and(|t| t.elapsed() >= TIER2_WINDOW) {
            q.pop_front();
        }
        if q.len() >= TIER2_CALLS {
            if let Some(oldest) = q.pop_front() {
                tokio::time::sleep_until(oldest + TIER2_WINDOW).await;
            }
        }
    }

    /// Counts a call once Slack answered it (so Slack's own window, which counts on receipt, is never ahead).
    fn record(&mut self, key: &str, method: &'static str) {
        self.calls
            .entry((key.to_string(), method))
            .or_default()
            .push_back(Instant::now());
    }
}

fn kind(list: DirectoryList) -> EntryKind {
    match list {
        DirectoryList::Users => EntryKind::User,
        DirectoryList::Groups => EntryKind::Group,
        DirectoryList::Channels => EntryKind::Channel,
    }
}

/// How long a workspace a save asked for is kept although no channel uses its token yet (the save may still be
/// on its way, or be corrected and retried).
const UNUSED_KEPT_MS: i64 = 60 * 60_000;

/// Whether a workspace is still needed: the organization's install always is; a bot token's workspace while a
/// channel has that token, or a save asked for it lately. One no longer needed is forgotten, with its token.
pub async fn still_needed(state: &AppState, ws: &Workspace) -> ServiceResult<bool> {
    if !ws.key.starts_with("token:") || state.clock.now_ms() - ws.requested_at < UNUSED_KEPT_MS {
        return Ok(true);
    }
    for c in state.store.all_channels().await? {
        let Some(enc) = c.bot_token_enc.as_deref() else {
            continue;
        };
        if super::token_key(state, &state.secrets.decrypt(enc)?) == ws.key {
            return Ok(true);
        }
    }
    state.store.forget_workspace(&ws.key).await?;
    Ok(false)
}

/// Reads every list of a workspace and stores what it read; returns the failures per method.
pub async fn refresh(
    state: &AppState,
    ws: &Workspace,
    pacer: &mut Pacer,
) -> ServiceResult<BTreeMap<String, String>> {
    let token = state.secrets.decrypt(&ws.token_enc)?;
    let mut errors = BTreeMap::new();
    for list in DirectoryList::ALL {
        match read_list(state, &token, &ws.key, list, pacer).await {
            Ok(items) => {
                state
                    .store
                    .replace_directory(&ws.key, kind(list), &items)
                    .await?;
            }
            Err(e) => {
                tracing::warn!(workspace = %ws.key, error = %e, "a Slack directory list failed");
                errors.insert(list.method().to_string(), e);
            }
        }
    }
    state
        .store
        .finish_refresh(&ws.key, state.clock.now_ms(), &errors)
        .await?;
    Ok(errors)
}

/// Every page of one list, at Tier 2 pace.
async fn read_list(
    state: &AppState,
    token: &fence_core::Secret<String>,
    key: &str,
    list: DirectoryList,
    pacer: &mut Pacer,
) -> Result<Vec<(String, String)>, String> {
    let method = list.method();
    let mut items = Vec::new();
    let mut cursor = String::new();
    let mut limited = 0;
    let mut pages = 0;
    while pages < MAX_PAGES {
        pacer.wait(key, method).await;
        let page = state.webapi.directory_page(token, list, &cursor).await;
        pacer.record(key, method);
        match page {
            Ok(p) => {
                pages += 1;
                items.extend(p.items);
                if p.next_cursor.is_empty() {
                    return Ok(items);
                }
                cursor = p.next_cursor;
            }
            Err(ListError::RateLimited(wait)) if limited < MAX_RATE_LIMITED => {
                limited += 1;
                tokio::time::sleep(wait.min(MAX_RETRY_AFTER)).await;
            }
            Err(ListError::RateLimited(_)) => return Err(format!("{method}: ratelimited")),
            Err(ListError::Failed(e)) => return Err(e),
        }
    }
    Err(format!("{method}: more than {MAX_PAGES} pages"))
}
