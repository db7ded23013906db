//! The Slack app's manifest (`slack-app-manifest.yaml`), compiled in: the fake's default bot token has exactly its
//! bot scopes, and its consent screen refuses scopes the app does not declare, so a scope Fence needs but the
//! manifest lacks fails the suite.

/// The manifest Fence's users paste at api.slack.com.
pub const MANIFEST: &str = include_str!("../../../slack-app-manifest.yaml");

/// The bot scopes the manifest declares (`oauth_config.scopes.bot`), in order.
pub fn bot_scopes() -> Vec<String> {
    list_at(&["oauth_config", "scopes", "bot"])
}

/// The user scopes the manifest declares (`oauth_config.scopes.user`: Sign in with Slack's `openid`, `email`,
/// `profile`), in order.
pub fn user_scopes() -> Vec<String> {
    list_at(&["oauth_config", "scopes", "user"])
}

/// The redirect URLs the manifest declares (`oauth_config.redirect_urls`): Slack sends a browser back only to
/// one of them.
pub fn redirect_urls() -> Vec<String> {
    list_at(&["oauth_config", "redirect_urls"])
}

/// The items of the list at `at` (keys from the top), in order.
fn list_at(at: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut path: Vec<(usize, String)> = Vec::new();
    for line in MANIFEST.lines() {
        let body = line.split(" #").next().unwrap_or_default().trim_end();
        let trimmed = body.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = body.len() - trimmed.len();
        if let Some(item) = trimmed.strip_prefix("- ") {
            let here: Vec<&str> = path.iter().map(|(_, k)| k.as_str()).collect();
            if here == at {
                out.push(item.trim().trim_matches('"').to_string());
            }
            continue;
        }
        if let Some((key, _)) = trimmed.split_once(':') {
            path.retain(|(i, _)| *i < indent);
            path.push((indent, key.trim().to_string()));
        }
    }
    out
}

/// The bot user's display name (`features.bot_user.display_name`): what Slack shows without overrides.
pub fn bot_display_name() -> String {
    MANIFEST
        .lines()
        .find_map(|l| l.trim().strip_prefix("display_name:"))
        .map(|n| n.trim().trim_matches('"').to_string())
        .unwrap_or_else(|| "Fence".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_manifest_bot_scopes_are_read() {
        let scopes = super::bot_scopes();
        assert!(scopes.contains(&"chat:write".to_string()), "{scopes:?}");
        assert!(scopes.contains(&"commands".to_string()), "{scopes:?}");
        assert!(!scopes.iter().any(|s| s.contains(' ') || s.is_empty()));
        assert_eq!(super::bot_display_name(), "Fence");
        assert_eq!(super::user_scopes(), ["openid", "email", "profile"]);
        assert!(super::redirect_urls()
            .iter()
            .any(|u| u.ends_with("/login/oidc/callback")));
    }
}
