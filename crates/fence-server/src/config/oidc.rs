//! The `[oidc]` keys: Sign in with Slack or any OpenID Connect provider by issuer URL — the issuer (https, or http
//! on a loopback address for local providers), the client, the role a first sign-in gets, and the Slack workspace
//! a user must belong to.

use super::{ConfigError, Reader};
use fence_core::{Role, Secret};

/// Sign-in through an OpenID Connect provider (absent: passwords only).
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// `oidc.issuer` without a trailing `/` (`https://slack.com` for Sign in with Slack); the ID token's `iss` must
    /// be exactly this.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret<String>,
    /// `oidc.default_role`: what a first sign-in makes its user (`member`; never `admin`).
    pub default_role: Role,
    /// `oidc.allowed_team`: the Slack workspace (`T…`) users must belong to; unset, the organization's
    /// `slack_team_id`.
    pub allowed_team: Option<String>,
}

impl OidcConfig {
    /// Whether the provider is Slack (the log-in page says "Sign in with Slack").
    pub fn is_slack(&self) -> bool {
        url::Url::parse(&self.issuer)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .is_some_and(|h| h == "slack.com" || h.ends_with(".slack.com"))
    }

    pub(super) fn read(r: &Reader) -> Result<Option<OidcConfig>, ConfigError> {
        let Some(issuer) = r.string("oidc.issuer")?.filter(|s| !s.is_empty()) else {
            for key in [
                "oidc.client_id",
                "oidc.client_secret",
                "oidc.default_role",
                "oidc.allowed_team",
            ] {
                if r.string(key)?.is_some() {
                    return Err(r.err(
                        key,
                        "needs oidc.issuer (https://slack.com for Sign in with Slack)",
                    ));
                }
            }
            return Ok(None);
        };
        let issuer = issuer.trim_end_matches('/').to_string();
        let url = url::Url::parse(&issuer).map_err(|_| r.err("oidc.issuer", "must be a URL"))?;
        if !crate::oidc::endpoint_allowed(&issuer) {
            return Err(r.err(
                "oidc.issuer",
                "must be an https URL (http only on a loopback address), such as https://slack.com",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err(r.err(
                "oidc.issuer",
                "must be the issuer's URL without credentials, query or fragment",
            ));
        }
        let client_id = r
            .string("oidc.client_id")?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| r.err("oidc.client_id", "must be set when oidc.issuer is set"))?;
        let client_secret = r
            .string("oidc.client_secret")?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| r.err("oidc.client_secret", "must be set when oidc.issuer is set"))?;
        let default_role = match r.string("oidc.default_role")? {
            None => Role::Member,
            Some(s) => Role::parse(&s).map_err(|e| r.err("oidc.default_role", &e))?,
        };
        if default_role == Role::Admin {
            return Err(r.err(
                "oidc.default_role",
                "must be member or viewer: everyone who can sign in would be an admin; make admins in Settings → Users",
            ));
        }
        let allowed_team = r.string("oidc.allowed_team")?.filter(|s| !s.is_empty());
        if let Some(t) = &allowed_team {
            if !(t.starts_with('T') || t.starts_with('E'))
                || !t.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(r.err(
                    "oidc.allowed_team",
                    "must be a Slack team id such as T0123ABCD",
                ));
            }
        }
        Ok(Some(OidcConfig {
            issuer,
            client_id,
            client_secret: Secret::new(client_secret),
            default_role,
            allowed_team,
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;
    use fence_core::Role;

    fn load(toml: &str) -> Result<Config, String> {
        Config::from_sources(Some(toml), None, &[]).map_err(|e| e.to_string())
    }

    #[test]
    fn sign_in_with_slack_reads_its_keys_with_safe_defaults() {
        assert!(load("").expect("defaults").oidc.is_none());
        let c = load("[oidc]\nissuer = \"https://slack.com/\"\nclient_id = \"1.2\"\nclient_secret = \"s3cret\"")
            .expect("slack");
        let o = c.oidc.expect("oidc");
        assert_eq!(o.issuer, "https://slack.com");
        assert_eq!(o.default_role, Role::Member);
        assert!(o.is_slack() && o.allowed_team.is_none());
        assert!(
            !format!("{o:?}").contains("s3cret"),
            "the secret stays out of Debug"
        );
        let o = load("[oidc]\nissuer = \"http://127.0.0.1:9000\"\nclient_id = \"c\"\nclient_secret = \"s\"\ndefault_role = \"viewer\"\nallowed_team = \"T0ACME\"")
            .expect("local")
            .oidc
            .expect("oidc");
        assert_eq!(o.default_role, Role::Viewer);
        assert_eq!(o.allowed_team.as_deref(), Some("T0ACME"));
        assert!(!o.is_slack());
    }

    #[test]
    fn unsafe_or_incomplete_sign_in_settings_are_refused_naming_the_key() {
        let base = "issuer = \"https://id.example\"\nclient_id = \"c\"\nclient_secret = \"s\"";
        for (toml, key) in [
            ("[oidc]\nissuer = \"http://id.example\"\nclient_id = \"c\"\nclient_secret = \"s\"", "oidc.issuer"),
            ("[oidc]\nissuer = \"https://id.example/?x=1\"\nclient_id = \"c\"\nclient_secret = \"s\"", "oidc.issuer"),
            ("[oidc]\nissuer = \"not a url\"\nclient_id = \"c\"\nclient_secret = \"s\"", "oidc.issuer"),
            ("[oidc]\nissuer = \"https://id.example\"\nclient_secret = \"s\"", "oidc.client_id"),
            ("[oidc]\nissuer = \"https://id.example\"\nclient_id = \"c\"", "oidc.client_secret"),
            ("[oidc]\nclient_id = \"c\"", "oidc.client_id"),
            (&format!("[oidc]\n{base}\ndefault_role = \"admin\""), "oidc.default_role"),
            (&format!("[oidc]\n{base}\ndefault_role = \"owner\""), "oidc.default_role"),
            (&format!("[oidc]\n{base}\nallowed_team = \"acme\""), "oidc.allowed_team"),
        ] {
            let e = load(toml).expect_err(toml);
            assert!(e.contains(key), "{toml}: {e}");
        }
    }
}
