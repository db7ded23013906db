//! Mention names resolved in the cached directory of a Slack workspace: which workspace (and token) a channel
//! resolves in, waiting boundedly for a workspace's first read, and the resolution rules — `@name` is a user group
//! handle first, then a user's unique `name` (never a display or real name), `#name` a channel, an e-mail address
//! `users.lookupByEmail`. The directory itself is read in the background (`refresh`, driven by the directory worker).

pub mod refresh;

use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use fence_core::Secret;
use fence_slack::{DirectoryList, ListError};
use fence_store::slack_directory::{Entry, EntryKind, Workspace};
use std::time::Duration;

/// How long a save waits for a workspace's first read before it answers "retry shortly" (ARCHITECTURE.md).
const FIRST_READ_WAIT: Duration = Duration::from_secs(10);

/// The job (store `jobs`) under which a workspace is refreshed, once across processes.
pub fn job_name(key: &str) -> String {
    format!("slack-directory:{key}")
}

/// The key of the workspace a channel's own bot token reads: a keyed hash of the token, never the token.
pub fn token_key(state: &AppState, token: &Secret<String>) -> String {
    let hash = state
        .secrets
        .destination_key(&format!("token:{}", token.expose()));
    format!("token:{}", hash.trim_start_matches("wh:"))
}

/// A workspace to resolve names in, with the token that reads it.
#[derive(Debug)]
pub struct Target {
    pub key: String,
    pub token: Secret<String>,
}

/// The workspace (`T…`) of a Slack webhook URL, `…/services/T…/B…/…` (SLACK.md §1).
fn webhook_team(url: &str) -> Option<&str> {
    let (_, path) = url.split_once("/services/")?;
    path.split('/').next().filter(|t| t.starts_with('T'))
}

/// Where a Slack channel resolves names: with its own bot token (the workspace keyed by a keyed hash of the token,
/// never the token), else through the organization's Slack install (keyed by team id) when the webhook posts into
/// that workspace. Otherwise, why names cannot be resolved.
pub async fn target_for(
    state: &AppState,
    org_id: &str,
    bot_token: Option<&Secret<String>>,
    webhook_url: &str,
) -> ServiceResult<Result<Target, String>> {
    if let Some(token) = bot_token {
        return Ok(Ok(Target {
            key: token_key(state, token),
            token: token.clone(),
        }));
    }
    let Some(install) = state.store.org_install(org_id).await? else {
        return Ok(Err("Fence resolves names only with a bot token or once the organization has installed Fence's Slack app (Add to Slack); add one".into()));
    };
    if let Some(team) = webhook_team(webhook_url).filter(|t| *t != install.team_id) {
        return Ok(Err(format!("the webhook posts to Slack workspace {team}, and the organization's Slack install is in {}, so names would resolve to the wrong people; add a bot token of the webhook's workspace", install.team_id)));
    }
    Ok(Ok(Target {
        key: format!("team:{}", install.team_id),
        token: state.secrets.decrypt(&install.bot_token_enc)?,
    }))
}

/// The workspace's directory once it was read at least once. A workspace never read is handed to the directory
/// worker and waited for up to [`FIRST_READ_WAIT`]; after that the save is refused with "retry shortly" — a save
/// never reads Slack's lists itself.
pub async fn ready(state: &AppState, target: &Target) -> ServiceResult<Workspace> {
    let now = state.clock.now_ms();
    let before = state.store.workspace(&target.key).await?;
    let token_changed = match &before {
        Some(w) => state.secrets.decrypt(&w.token_enc)?.expose() != target.token.expose(),
        None => true,
    };
    let ws = state
        .store
        .request_workspace(
            &target.key,
            &state.secrets.encrypt(target.token.expose()),
            now,
        )
        .await?;
    if token_changed {
        // A new install (another grant, other scopes): read again now rather than at the next refresh.
        state.store.run_job_now(&job_name(&target.key)).await?;
        state.directory_wake.notify_one();
    }
    if ws.refreshed_at.is_some() {
        return Ok(ws);
    }
    let deadline = tokio::time::Instant::now() + FIRST_READ_WAIT;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some(ws) = state.store.workspace(&target.key).await? {
            if ws.refreshed_at.is_some() {
                return Ok(ws);
            }
        }
    }
    Err(ServiceError::Unavailable(
        "Fence is reading this Slack workspace's users, user groups and channels for the first time (at Slack's pace for these lists); retry in a minute".into(),
    ))
}

/// A name resolved: the mention Slack needs and what it is, shown beside it ("user alice (U0ALICE)").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub mention: String,
    pub label: String,
}

fn list_error(ws: &Workspace, list: DirectoryList) -> Option<&str> {
    ws.errors.get(list.method()).map(String::as_str)
}

fn refused(name: &str, error: &str, id_form: &str) -> String {
    let fix = if error.contains("missing_scope") {
        "grant the scope to Fence's Slack app (and reinstall it)"
    } else if error.contains("ratelimited") {
        "Fence reads the list again within a few minutes; retry then"
    } else {
        "check the bot token (or the organization's Slack install)"
    };
    format!(
        "{name:?} cannot be resolved: Slack refused {error}; {fix}, or use the id form ({id_form})"
    )
}

fn ambiguous(name: &str, what: &str, found: &[Entry], id_form: &str) -> String {
    let list: Vec<String> = found
        .iter()
        .map(|e| format!("{} ({})", e.label, e.id))
        .collect();
    format!(
        "{name:?} is ambiguous in this Slack workspace: {what} {}; use the id form of the one you mean ({id_form})",
        list.join(", ")
    )
}

/// Resolves one name (`@security-team`, `@alice`, `#security-alerts`, `alice@example.com`) in a read workspace; the
/// error is the field's message.
pub async fn resolve(
    state: &AppState,
    ws: &Workspace,
    token: &Secret<String>,
    name: &str,
) -> ServiceResult<Result<Resolved, String>> {
    let store = &state.store;
    if let Some(channel) = name.strip_prefix('#') {
        let found = store
            .directory_lookup(&ws.key, EntryKind::Channel, channel)
            .await?;
        return Ok(match found.as_slice() {
            [c] => Ok(Resolved {
                mention: format!("<#{}>", c.id),
                label: format!("channel #{} ({})", c.label, c.id),
            }),
            [] => Err(match list_error(ws, DirectoryList::Channels) {
                Some(e) => refused(name, e, "<#C…>"),
                None => format!("{name:?} is not a channel in this Slack workspace (archived channels and private channels Fence's bot is not in are not listed)"),
            }),
            many => Err(ambiguous(name, "channels", many, "<#C…>")),
        });
    }
    if !name.starts_with('@') && name.contains('@') {
        return Ok(resolve_email(state, token, name).await);
    }
    let n = name.trim_start_matches('@');
    let groups = store.directory_lookup(&ws.key, EntryKind::Group, n).await?;
    match groups.as_slice() {
        [g] => {
            return Ok(Ok(Resolved {
                mention: format!("<!subteam^{}>", g.id),
                label: format!("user group @{} ({})", g.label, g.id),
            }))
        }
        [] => {}
        many => return Ok(Err(ambiguous(name, "user groups", many, "<!subteam^S…>"))),
    }
    let users = store.directory_lookup(&ws.key, EntryKind::User, n).await?;
    Ok(match users.as_slice() {
        [u] => Ok(Resolved {
            mention: format!("<@{}>", u.id),
            label: format!("user @{} ({})", u.label, u.id),
        }),
        [] => Err(match (list_error(ws, DirectoryList::Groups), list_error(ws, DirectoryList::Users)) {
            (Some(e), _) => refused(name, e, "<!subteam^S…> for a user group"),
            (None, Some(e)) => refused(name, e, "<@U…> for a user"),
            (None, None) => format!("{name:?} is neither a user group handle nor a username in this Slack workspace (display and real names are not used: any member can change theirs)"),
        }),
        many => Err(ambiguous(name, "users", many, "<@U…>")),
    })
}

/// An e-mail address through `users.lookupByEmail` (Tier 3, one call per address, SLACK.md §9).
async fn resolve_email(
    state: &AppState,
    token: &Secret<String>,
    email: &str,
) -> Result<Resolved, String> {
    match state.webapi.lookup_by_email(token, email).await {
        Ok(Some((id, name))) => Ok(Resolved {
            mention: format!("<@{id}>"),
            label: format!("user @{name} ({id})"),
        }),
        Ok(None) => Err(format!(
            "{email:?} is not the e-mail address of an active user in this Slack workspace"
        )),
        Err(ListError::RateLimited(_)) => Err(format!(
            "{email:?} cannot be looked up now: Slack is rate limiting users.lookupByEmail; retry in a minute"
        )),
        Err(ListError::Failed(e)) => Err(refused(email, &e, "<@U…>")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_webhook_names_its_workspace() {
        assert_eq!(
            super::webhook_team("https://hooks.slack.com/services/T0ACME/B01/XXXX"),
            Some("T0ACME")
        );
        assert_eq!(super::webhook_team("https://mm.example/hooks/abc"), None);
    }
}
