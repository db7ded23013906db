//! The fake's Web API as tests script it: the workspace (users, groups, channels and who is in them), tokens and
//! their scopes, scripted errors, OAuth installs, Sign in with Slack, rate limits, and what was called.

use crate::webapi::{self, ApiCall, Channel, Install, OidcUser, Token, User};
use crate::{FakeSlack, RateLimits};
use serde_json::Value;
use std::time::{Duration, Instant};

impl FakeSlack {
    /// Adds a workspace user (`U…`, name) the Web API lists.
    pub fn add_user(&self, id: &str, name: &str) {
        self.add_user_with_email(id, name, None);
    }

    /// Adds a user with an e-mail address (`users.lookupByEmail`; listed by `users.list` only with
    /// `users:read.email`).
    pub fn add_user_with_email(&self, id: &str, name: &str, email: Option<&str>) {
        webapi::lock(&self.api).users.push(User {
            id: id.into(),
            name: name.into(),
            display_name: name.into(),
            real_name: name.into(),
            email: email.map(str::to_string),
            deleted: false,
        });
    }

    /// Adds a user whose display and real names are their own choice (`profile.display_name`,
    /// `profile.real_name`), unlike the unique username `name`.
    pub fn add_user_named(&self, id: &str, name: &str, display_name: &str, real_name: &str) {
        webapi::lock(&self.api).users.push(User {
            id: id.into(),
            name: name.into(),
            display_name: display_name.into(),
            real_name: real_name.into(),
            email: None,
            deleted: false,
        });
    }

    /// Deactivates a user: `users.list` still lists it with `deleted: true`; `users.lookupByEmail` no longer finds
    /// it.
    pub fn deactivate_user(&self, id: &str) {
        for u in webapi::lock(&self.api)
            .users
            .iter_mut()
            .filter(|u| u.id == id)
        {
            u.deleted = true;
        }
    }

    /// Adds a user group (`S…`, handle).
    pub fn add_group(&self, id: &str, handle: &str) {
        webapi::lock(&self.api)
            .groups
            .push((id.into(), handle.into()));
    }

    /// Makes `user` a member of the user group `group`.
    pub fn add_group_member(&self, group: &str, user: &str) {
        webapi::lock(&self.api)
            .members
            .entry(group.into())
            .or_default()
            .push(user.into());
    }

    /// Adds a public channel (`C…`, name). No bot is a member: posting needs `chat:write.public` or [`join`].
    ///
    /// [`join`]: FakeSlack::join
    pub fn add_channel(&self, id: &str, name: &str) {
        self.push_channel(id, name, false);
    }

    /// Adds a private channel: invisible to a bot that is not a member (`channel_not_found`).
    pub fn add_private_channel(&self, id: &str, name: &str) {
        self.push_channel(id, name, true);
    }

    fn push_channel(&self, id: &str, name: &str, private: bool) {
        webapi::lock(&self.api).channels.push(Channel {
            id: id.into(),
            name: name.into(),
            private,
            archived: false,
            members: Default::default(),
        });
    }

    /// Makes the bot of `token` a member of `channel` (`/invite @Fence`).
    pub fn join(&self, channel: &str, token: &str) {
        if let Some(c) = webapi::lock(&self.api).channel_mut(channel) {
            c.members.insert(token.into());
        }
    }

    /// Removes the bot of `token` from `channel`.
    pub fn leave(&self, channel: &str, token: &str) {
        if let Some(c) = webapi::lock(&self.api).channel_mut(channel) {
            c.members.remove(token);
        }
    }

    /// Archives a channel (`is_archived`).
    pub fn archive_channel(&self, channel: &str) {
        if let Some(c) = webapi::lock(&self.api).channel_mut(channel) {
            c.archived = true;
        }
    }

    /// Adds a token, or replaces its scopes: what its grant gave.
    pub fn set_scopes(&self, token: &str, scopes: &[&str]) {
        webapi::lock(&self.api).tokens.insert(
            token.into(),
            Token {
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                revoked: false,
            },
        );
    }

    /// The scopes a token has (empty for an unknown token).
    pub fn scopes(&self, token: &str) -> Vec<String> {
        webapi::lock(&self.api)
            .tokens
            .get(token)
            .map(|t| t.scopes.clone())
            .unwrap_or_default()
    }

    /// Revokes a token: every call answers `token_revoked`.
    pub fn revoke_token(&self, token: &str) {
        if let Some(t) = webapi::lock(&self.api).tokens.get_mut(token) {
            t.revoked = true;
        }
    }

    /// Sets the Web API's rate limits (Slack's documented ones by default, SLACK.md §2).
    pub fn set_rate_limits(&self, limits: RateLimits) {
        webapi::lock(&self.api).limits = limits;
    }

    /// Makes the next `chat.postMessage` calls to `channel` fail with these errors.
    pub fn script_post_errors(&self, channel: &str, errors: &[&str]) {
        webapi::lock(&self.api)
            .post_errors
            .entry(channel.into())
            .or_default()
            .extend(errors.iter().map(|e| e.to_string()));
    }

    /// Registers an OAuth code that `oauth.v2.access` exchanges for `answer`; its `access_token` gets the scopes
    /// its `scope` names when exchanged.
    pub fn add_oauth_code(&self, code: &str, answer: Value) {
        webapi::lock(&self.api)
            .oauth_codes
            .insert(code.into(), answer);
    }

    /// Slack's consent screen for Fence's authorize URL: grants the scopes it asks for if the manifest declares them
    /// all (else `Err(invalid_scope…)`), with a webhook to `install.hook` in the install's workspace; returns the `redirect_uri` with `code` and
    /// `state`, where Slack sends the browser.
    pub fn consent(&self, authorize_url: &str, install: &Install) -> Result<String, String> {
        let hook = self.webhook_url_in(&install.team_id, &install.hook);
        webapi::oauth::consent(&mut webapi::lock(&self.api), authorize_url, install, hook)
    }

    /// The OpenID Connect issuer to configure as `oidc.issuer` (`http://127.0.0.1:…`, serving
    /// `/.well-known/openid-configuration`).
    pub fn oidc_issuer(&self) -> String {
        webapi::lock(&self.api).oidc.issuer.clone()
    }

    /// Registers a Sign in with Slack client (the Slack app's client id and secret).
    pub fn register_oidc_client(&self, client_id: &str, secret: &str) {
        webapi::lock(&self.api)
            .oidc
            .register_client(client_id, secret);
    }

    /// Slack's Sign in with Slack consent for an authorize URL, `user` signing in: Slack's refusal, or the
    /// `redirect_uri` with `code` and `state` where it sends the browser.
    pub fn oidc_consent(&self, authorize_url: &str, user: &OidcUser) -> Result<String, String> {
        webapi::oidc::consent(&mut webapi::lock(&self.api), authorize_url, user)
    }

    /// Signs the next ID tokens with a key the published JWKS does not hold (a forged token).
    pub fn forge_id_tokens(&self, forge: bool) {
        webapi::lock(&self.api).oidc.forge = forge;
    }

    /// Claims merged into the next ID tokens (`null` removes one): a foreign audience, an old expiry, another
    /// issuer.
    pub fn override_id_token_claims(&self, claims: Value) {
        webapi::lock(&self.api).oidc.overrides = claims;
    }

    /// Web API calls of a method (`chat.postMessage`, `chat.update`, …), in order, whatever the answer.
    pub fn api_calls(&self, method: &str) -> Vec<ApiCall> {
        webapi::lock(&self.api)
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// Waits until `n` calls of `method` arrived.
    pub async fn wait_api(&self, method: &str, n: usize, timeout: Duration) -> Vec<ApiCall> {
        self.wait_until_api(method, timeout, |c| c.len() >= n).await
    }

    /// Waits until `pred` holds over the calls of `method`.
    pub async fn wait_until_api(
        &self,
        method: &str,
        timeout: Duration,
        pred: impl Fn(&[ApiCall]) -> bool,
    ) -> Vec<ApiCall> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.api_calls(method);
            if pred(&got) || Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A response URL that records what is posted to it (slash commands, button clicks).
    pub fn response_url(&self, id: &str) -> String {
        format!("http://{}/response/{id}", self.addr)
    }

    /// What was posted to the response URL `id`, in order.
    pub fn responses(&self, id: &str) -> Vec<Value> {
        webapi::lock(&self.api)
            .responses
            .iter()
            .filter(|(r, _)| r == id)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Waits until `n` messages were posted to the response URL `id`.
    pub async fn wait_responses(&self, id: &str, n: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.responses(id);
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
