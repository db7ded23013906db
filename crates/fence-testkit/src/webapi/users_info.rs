//! `users.info` as Slack answers it (SLACK.md §9, scope `users:read`, Tier 4): a workspace user with its home
//! `team_id`, `is_restricted` (multi-channel guest), `is_ultra_restricted` (single-channel guest), `deleted` (set by
//! `FakeSlack::deactivate_user`) and `is_bot`; a Slack Connect user of another company (visible because a channel is shared, never listed by
//! `users.list`) with that company's `team_id`; `user_not_found` for anyone else.

use super::{ApiState, User};
use crate::FakeSlack;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The fake workspace's team id, unless a test sets another ([`FakeSlack::set_team_id`]).
pub const TEAM_ID: &str = "T0ACME";

/// What `users.info` tells beyond a user's id and name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Account {
    /// Another workspace's team id (Slack Connect); `None` for the fake's own workspace.
    pub team_id: Option<String>,
    pub name: String,
    pub restricted: bool,
    pub ultra_restricted: bool,
    pub bot: bool,
}

/// The workspace's identity and its users' accounts.
#[derive(Debug)]
pub(crate) struct Accounts {
    pub team_id: String,
    pub by_id: HashMap<String, Account>,
}

impl Default for Accounts {
    fn default() -> Self {
        Accounts {
            team_id: TEAM_ID.into(),
            by_id: HashMap::new(),
        }
    }
}

/// The scopes `users.info` needs.
pub(super) fn needed_scopes(method: &str) -> Option<Vec<&'static str>> {
    (method == "users.info").then(|| vec!["users:read"])
}

/// `users.info` (`user` form field).
pub(super) fn answer(g: &ApiState, body: &Value) -> Value {
    let id = body["user"].as_str().unwrap_or_default();
    let listed = g.users.iter().find(|u| u.id == id);
    let account = g.accounts.by_id.get(id);
    if listed.is_none() && account.is_none() {
        return json!({"ok": false, "error": "user_not_found"});
    }
    let a = account.cloned().unwrap_or_default();
    let name = listed.map_or(a.name.clone(), |u| u.name.clone());
    // Deactivated users are still answered, with `deleted: true` ([`FakeSlack::deactivate_user`]).
    let deleted = listed.is_some_and(|u| u.deleted);
    let team = a
        .team_id
        .clone()
        .unwrap_or_else(|| g.accounts.team_id.clone());
    json!({"ok": true, "user": {
        "id": id, "team_id": team, "name": name, "deleted": deleted,
        "is_bot": a.bot, "is_app_user": false, "is_admin": false, "is_owner": false,
        "is_restricted": a.restricted || a.ultra_restricted, "is_ultra_restricted": a.ultra_restricted,
        "profile": {"display_name": name, "real_name": name, "team": team},
    }})
}

impl FakeSlack {
    /// Sets the fake workspace's team id ([`TEAM_ID`] by default): its users' `team_id` in `users.info`.
    pub fn set_team_id(&self, team: &str) {
        super::lock(&self.api).accounts.team_id = team.into();
    }

    /// Adds a guest of the workspace: multi-channel (`is_restricted`) or single-channel (`ultra`, which Slack marks
    /// `is_restricted` too). Listed by `users.list` like any member.
    pub fn add_guest(&self, id: &str, name: &str, ultra: bool) {
        self.add_user(id, name);
        self.set_account(id, |a| {
            a.restricted = true;
            a.ultra_restricted = ultra;
        });
    }

    /// Adds a Slack Connect user of another company's workspace `team`: `users.info` finds them (they share a
    /// channel), `users.list` does not list them.
    pub fn add_external_user(&self, id: &str, name: &str, team: &str) {
        let mut g = super::lock(&self.api);
        g.accounts.by_id.insert(
            id.into(),
            Account {
                team_id: Some(team.into()),
                name: name.into(),
                ..Account::default()
            },
        );
    }

    /// Adds a bot user (`is_bot`).
    pub fn add_bot_user(&self, id: &str, name: &str) {
        self.add_user(id, name);
        self.set_account(id, |a| a.bot = true);
    }

    fn set_account(&self, id: &str, change: impl FnOnce(&mut Account)) {
        let mut g = super::lock(&self.api);
        let name = g
            .users
            .iter()
            .find(|u: &&User| u.id == id)
            .map(|u| u.name.clone());
        let a = g.accounts.by_id.entry(id.into()).or_default();
        if let Some(n) = name {
            a.name = n;
        }
        change(a);
    }
}
