//! The OpenID Connect relying party for Sign in with Slack and other providers: discovery (the issuer's
//! `/.well-known/openid-configuration`, kept an hour), the authorization request (code flow with PKCE S256, `state`,
//! `nonce`), the code exchange at the token endpoint (client secret by HTTP Basic, or by form where that is all
//! the provider takes), the ID token's signature and claims (`jwt`) against the provider's JWKS (fetched again when
//! a token names a key it lacks, at most once a minute) and, when the ID token holds no email, the userinfo
//! endpoint. Every answer is read up to 64 KiB, every call times out after 10 s.

pub mod jwt;

use crate::config::OidcConfig;
use base64::Engine as _;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const MAX_ANSWER_BYTES: usize = 64 * 1024;
const DISCOVERY_TTL: Duration = Duration::from_secs(3_600);
const JWKS_REFETCH_AFTER: Duration = Duration::from_secs(60);
/// Slack's claim naming the user's workspace.
pub const SLACK_TEAM_CLAIM: &str = "https://slack.com/team_id";

/// Why a sign-in could not be finished (shown to the user; no token or secret in it).
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the identity provider could not be reached or answered badly: {0}")]
    Provider(String),
    #[error("the identity provider refused the sign-in: {0}")]
    Refused(String),
    #[error(transparent)]
    Token(#[from] jwt::TokenError),
}

/// The endpoints discovery found.
#[derive(Debug, Clone)]
struct Endpoints {
    authorization: String,
    token: String,
    jwks: String,
    userinfo: Option<String>,
    /// Whether the token endpoint takes the client secret only as form fields.
    secret_in_form: bool,
}

#[derive(Debug, Default)]
struct Cache {
    endpoints: Option<(Instant, Endpoints)>,
    keys: Option<(Instant, Vec<jwt::RsaKey>)>,
}

/// Who signed in, as the provider vouched for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// The Slack workspace (`https://slack.com/team_id`), when the provider is Slack.
    pub team: Option<String>,
}

/// The relying party of one configured provider.
#[derive(Debug)]
pub struct OidcClient {
    pub config: OidcConfig,
    http: reqwest::Client,
    cache: Mutex<Cache>,
}

/// A URL an endpoint may have: https, or http on a loopback address (local providers).
pub fn endpoint_allowed(u: &str) -> bool {
    url::Url::parse(u).is_ok_and(|u| match u.scheme() {
        "https" => true,
        "http" => match u.host() {
            Some(url::Host::Ipv4(a)) => a.is_loopback(),
            Some(url::Host::Ipv6(a)) => a.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        },
        _ => false,
    })
}

/// PKCE's S256 challenge of a verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    use sha2::Digest as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl OidcClient {
    pub fn new(config: OidcConfig) -> anyhow::Result<OidcClient> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(OidcClient {
            config,
            http,
            cache: Mutex::new(Cache::default()),
        })
    }

    /// Reads an answer as JSON, at most 64 KiB of it.
    async fn json(&self, resp: reqwest::Response) -> Result<Value, OidcError> {
        let status = resp.status();
        let mut resp = resp;
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| OidcError::Provider(e.without_url().to_string()))?
        {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(OidcError::Provider("an answer over 64 KiB".into()));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|_| {
            OidcError::Provider(format!("HTTP {} without a JSON answer", status.as_u16()))
        })
    }

    async fn get(&self, url: &str) -> Result<Value, OidcError> {
        let resp = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| OidcError::Provider(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(OidcError::Provider(format!(
                "HTTP {} from {url}",
                resp.status().as_u16()
            )));
        }
        self.json(resp).await
    }

    /// The provider's endpoints, from discovery (kept an hour). The document's `issuer` must be the configured one.
    async fn endpoints(&self) -> Result<Endpoints, OidcError> {
        if let Some((at, e)) = &self.cache.lock().await.endpoints {
            if at.elapsed() < DISCOVERY_TTL {
                return Ok(e.clone());
            }
        }
        let issuer = &self.config.issuer;
        let doc = self
            .get(&format!("{issuer}/.well-known/openid-configuration"))
            .await?;
        if doc["issuer"].as_str().map(|s| s.trim_end_matches('/')) != Some(issuer.as_str()) {
            return Err(OidcError::Provider(
                "its discovery document names another issuer".into(),
            ));
        }
        let url = |k: &str| -> Result<String, OidcError> {
            doc[k]
                .as_str()
                .filter(|u| endpoint_allowed(u))
                .map(str::to_string)
                .ok_or_else(|| {
                    OidcError::Provider(format!("its discovery document has no usable {k}"))
                })
        };
        let methods: Vec<&str> = doc["token_endpoint_auth_methods_supported"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let e = Endpoints {
            authorization: url("authorization_endpoint")?,
            token: url("token_endpoint")?,
            jwks: url("jwks_uri")?,
            userinfo: url("userinfo_endpoint").ok(),
            secret_in_form: !methods.is_empty()
                && !methods.contains(&"client_secret_basic")
                && methods.contains(&"client_secret_post"),
        };
        self.cache.lock().await.endpoints = Some((Instant::now(), e.clone()));
        Ok(e)
    }

    /// The signing keys, fetched again when `refresh` and the ones held are over a minute old.
    async fn keys(&self, jwks_uri: &str, refresh: bool) -> Result<Vec<jwt::RsaKey>, OidcError> {
        if let Some((at, keys)) = &self.cache.lock().await.keys {
            if !refresh || at.elapsed() < JWKS_REFETCH_AFTER {
                return Ok(keys.clone());
            }
        }
        let keys = jwt::rsa_keys(&self.get(jwks_uri).await?);
        self.cache.lock().await.keys = Some((Instant::now(), keys.clone()));
        Ok(keys)
    }

    /// Where to send the browser to sign in (Slack is asked for the allowed workspace, if one is set).
    pub async fn authorize_url(
        &self,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
        verifier: &str,
    ) -> Result<String, OidcError> {
        let e = self.endpoints().await?;
        let sep = if e.authorization.contains('?') {
            '&'
        } else {
            '?'
        };
        let mut url = format!(
            "{}{sep}response_type=code&client_id={}&scope={}&redirect_uri={}&state={}&nonce={}&code_challenge={}&code_challenge_method=S256",
            e.authorization,
            enc(&self.config.client_id),
            enc("openid email profile"),
            enc(redirect_uri),
            enc(state),
            enc(nonce),
            pkce_challenge(verifier),
        );
        if let (true, Some(team)) = (self.config.is_slack(), &self.config.allowed_team) {
            url.push_str(&format!("&team={}", enc(team)));
        }
        Ok(url)
    }

    /// Exchanges the callback's code and checks the ID token; who signed in.
    pub async fn finish(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
        nonce: &str,
        now_secs: i64,
    ) -> Result<Identity, OidcError> {
        let e = self.endpoints().await?;
        let secret = self.config.client_secret.expose().as_str();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        let mut req = self.http.post(&e.token);
        if e.secret_in_form {
            form.push(("client_id", &self.config.client_id));
            form.push(("client_secret", secret));
        } else {
            req = req.basic_auth(enc(&self.config.client_id), Some(enc(secret)));
        }
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let resp = req
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| OidcError::Provider(e.without_url().to_string()))?;
        let answer = self.json(resp).await?;
        // Slack answers `{"ok": false, "error": …}`, other providers `{"error": …}` with a 400.
        if let Some(err) = answer["error"].as_str() {
            return Err(OidcError::Refused(err.chars().take(100).collect()));
        }
        let id_token = answer["id_token"].as_str().ok_or_else(|| {
            OidcError::Provider("no id_token in the token endpoint's answer".into())
        })?;
        let expect = jwt::Expect {
            issuer: &self.config.issuer,
            client_id: &self.config.client_id,
            nonce,
            now: now_secs,
        };
        let keys = self.keys(&e.jwks, false).await?;
        let claims = match jwt::verify(id_token, &keys, &expect) {
            Err(jwt::TokenError::UnknownKey) => {
                let keys = self.keys(&e.jwks, true).await?;
                jwt::verify(id_token, &keys, &expect)?
            }
            other => other?,
        };
        let text = |k: &str| {
            claims
                .get(k)
                .and_then(Value::as_str)
                .map(|s| s.chars().take(320).collect::<String>())
        };
        let mut id = Identity {
            subject: text("sub").unwrap_or_default(),
            email: text("email"),
            email_verified: claims.get("email_verified") == Some(&Value::Bool(true)),
            name: text("name"),
            team: text(SLACK_TEAM_CLAIM),
        };
        if id.email.is_none() {
            if let (Some(userinfo), Some(access)) = (&e.userinfo, answer["access_token"].as_str()) {
                self.userinfo(userinfo, access, &mut id).await?;
            }
        }
        Ok(id)
    }

    /// Fills the email from the userinfo endpoint, whose `sub` must be the ID token's.
    async fn userinfo(&self, url: &str, access: &str, id: &mut Identity) -> Result<(), OidcError> {
        let resp = self
            .http
            .get(url)
            .bearer_auth(access)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| OidcError::Provider(e.without_url().to_string()))?;
        let info = self.json(resp).await?;
        if info["sub"].as_str() != Some(id.subject.as_str()) {
            return Err(OidcError::Provider(
                "userinfo describes another subject".into(),
            ));
        }
        id.email = info["email"]
            .as_str()
            .map(|s| s.chars().take(320).collect());
        id.email_verified = info["email_verified"] == Value::Bool(true);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn endpoints_are_https_or_loopback_http() {
        assert!(endpoint_allowed(
            "https://slack.com/api/openid.connect.token"
        ));
        assert!(endpoint_allowed("http://127.0.0.1:9/x"));
        assert!(endpoint_allowed("http://localhost:9/x"));
        assert!(!endpoint_allowed("http://slack.com/x"));
        assert!(!endpoint_allowed("http://10.0.0.1/x"));
        assert!(!endpoint_allowed("file:///etc/passwd"));
        assert!(!endpoint_allowed("javascript:alert(1)"));
    }
}
