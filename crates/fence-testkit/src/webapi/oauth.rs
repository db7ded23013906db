//! OAuth v2 (SLACK.md §8): the consent screen grants what the authorize URL asks for, if the app (the manifest)
//! declares it, and `oauth.v2.access` hands out a token with exactly those scopes.

use super::{decode, ApiState, Token};
use serde_json::{json, Value};

/// What the installing user picks on the consent screen.
#[derive(Debug, Clone)]
pub struct Install {
    pub team_id: String,
    /// The channel picked for the incoming webhook (`C…`, without `#`).
    pub channel_id: String,
    pub channel_name: String,
    /// The webhook's last path segment.
    pub hook: String,
}

/// `oauth.v2.access`: exchanges a code once; the token it names gets the grant's scopes (its `scope` field).
pub(super) fn access(g: &mut ApiState, body: &Value) -> Value {
    let code = body["code"].as_str().unwrap_or_default();
    let Some(answer) = g.oauth_codes.remove(code) else {
        return json!({"ok": false, "error": "invalid_code"});
    };
    register_grant(g, &answer);
    answer
}

/// Gives the answer's `access_token` the scopes its `scope` names (an answer without `scope` leaves the token as
/// it is).
pub(crate) fn register_grant(g: &mut ApiState, answer: &Value) {
    if let (Some(token), Some(scope)) = (answer["access_token"].as_str(), answer["scope"].as_str())
    {
        g.tokens.insert(
            token.to_string(),
            Token {
                scopes: scope
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                revoked: false,
            },
        );
    }
}

/// The consent screen: for an authorize URL (`…/oauth/v2/authorize?client_id=…&scope=…&state=…&redirect_uri=…`)
/// returns where Slack sends the browser back (`redirect_uri?code=…&state=…`), or Slack's refusal
/// (`invalid_scope` when the app does not declare a scope asked for).
pub(crate) fn consent(
    g: &mut ApiState,
    authorize_url: &str,
    install: &Install,
    webhook_url: String,
) -> Result<String, String> {
    let query = authorize_url.split_once('?').map_or("", |(_, q)| q);
    let arg = |name: &str| {
        query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| decode(v))
            .unwrap_or_default()
    };
    if arg("client_id").is_empty() {
        return Err("invalid_client_id".into());
    }
    let declared = crate::manifest::bot_scopes();
    let asked: Vec<String> = arg("scope")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(s) = asked.iter().find(|s| !declared.contains(s)) {
        return Err(format!("invalid_scope: the app does not declare {s}"));
    }
    g.installs += 1;
    let code = format!("fake-code-{}", g.installs);
    let token = format!("xoxb-fake-install-{}", g.installs);
    let mut answer = json!({"ok": true, "access_token": token, "token_type": "bot", "scope": asked.join(","),
        "bot_user_id": "U0FENCEBOT", "app_id": "A0FENCE", "team": {"id": install.team_id, "name": "Fake workspace"},
        "enterprise": null, "is_enterprise_install": false});
    if asked.iter().any(|s| s == "incoming-webhook") {
        answer["incoming_webhook"] = json!({"channel": format!("#{}", install.channel_name),
            "channel_id": install.channel_id, "configuration_url": "https://fake.slack.test/services/B0FENCE",
            "url": webhook_url});
    }
    g.oauth_codes.insert(code.clone(), answer);
    let state: String = arg("state")
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    Ok(format!("{}?code={code}&state={state}", arg("redirect_uri")))
}
