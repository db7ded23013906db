//! Sign in with Slack (OpenID Connect) as Slack serves it: the discovery document, the signing keys (JWKS), the
//! consent screen (`/openid/connect/authorize`), `openid.connect.token` (client secret by form or HTTP Basic, the
//! code once, the same `redirect_uri`, PKCE S256 when the request carried a challenge) and
//! `openid.connect.userInfo`; ID tokens are RS256 JWTs with Slack's claims (`https://slack.com/team_id`, …).

use super::{decode, ApiState, Token};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The `kid` of the key the JWKS publishes.
pub const KEY_ID: &str = "fence-test-key-1";
const SIGNING_KEY: &[u8] = include_bytes!("keys/oidc_signing.pk8");
const FOREIGN_KEY: &[u8] = include_bytes!("keys/oidc_foreign.pk8");
/// The published key's modulus (base64url), read off `oidc_signing.pk8` with openssl; exponent 65537.
const SIGNING_N: &str = "p4d5hSCNCsRjxGuIX5t8HxWE7yo62i7LzJGFprnP5DmzeDr9O7QwX_RALeqLHexuZ86iaF4bCbKzkJtqEBkyYPwD9VEf1y2g7ZhIEEY0nFct0UzZSTdci9l7D0EZbnopcl6QJQh7Byb68GWVbJIWHD5EAKoxQL8KcW77c_MB2_FY6NAROJRwgprj93zLeDu_mxkApYdsm4M1b5zqSyHrAT-pvMiCZkbl56L6ctr7S49cf8f9DDR-soieVh-nFpzMsv_z4FyUosF-_F_FtLEad8f4odNfFY2wvo51isTu4st5pw0iTrGL7e2pNG779GBARWT6Be7CJD41lTB9cNO4Aw";

/// Who signs in on the consent screen.
#[derive(Debug, Clone)]
pub struct OidcUser {
    /// `U…`, the ID token's `sub` and `https://slack.com/user_id`.
    pub user_id: String,
    /// The workspace (`https://slack.com/team_id`).
    pub team_id: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
}

/// A granted code, before `openid.connect.token` exchanges it.
#[derive(Debug, Clone)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    challenge: Option<String>,
    scopes: Vec<String>,
    user: OidcUser,
}

/// The provider's state: registered clients, granted codes and what the tests script.
#[derive(Debug, Default)]
pub(crate) struct Provider {
    /// client id → secret.
    clients: HashMap<String, String>,
    codes: HashMap<String, Grant>,
    /// User tokens handed out, with whom they name.
    users: HashMap<String, OidcUser>,
    issued: u64,
    /// Claims merged into the next ID tokens (to forge an audience, an expiry, an issuer…).
    pub overrides: Value,
    /// Sign ID tokens with a key the JWKS does not publish.
    pub forge: bool,
    /// What `iss` and the discovery document say (the fake's own URL once served).
    pub issuer: String,
}

impl Provider {
    pub fn register_client(&mut self, id: &str, secret: &str) {
        self.clients.insert(id.into(), secret.into());
    }
}

/// `GET /.well-known/openid-configuration`, shaped as Slack's.
pub(crate) fn discovery(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/openid/connect/authorize"),
        "token_endpoint": format!("{issuer}/api/openid.connect.token"),
        "userinfo_endpoint": format!("{issuer}/api/openid.connect.userInfo"),
        "jwks_uri": format!("{issuer}/openid/connect/keys"),
        "scopes_supported": ["openid", "profile", "email"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "auth_time", "iss"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"]
    })
}

/// `GET /openid/connect/keys`.
pub(crate) fn keys() -> Value {
    json!({"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": KEY_ID, "n": SIGNING_N, "e": "AQAB"}]})
}

fn query_arg(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| decode(v))
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The consent screen for an authorize URL: Slack's refusals (`invalid_client_id`, `invalid_scope`,
/// `bad_redirect_uri`, `invalid_response_type`) or where it sends the browser back (`redirect_uri?code=…&state=…`).
/// A redirect URL is accepted when its path is one of the manifest's `redirect_urls` (whose host is the
/// installation's).
pub(crate) fn consent(
    g: &mut ApiState,
    authorize_url: &str,
    user: &OidcUser,
) -> Result<String, String> {
    let arg = |name: &str| query_arg(authorize_url, name);
    if !authorize_url
        .split('?')
        .next()
        .unwrap_or_default()
        .ends_with("/openid/connect/authorize")
    {
        return Err("not the OpenID Connect authorize endpoint".into());
    }
    let client_id = arg("client_id").unwrap_or_default();
    if !g.oidc.clients.contains_key(&client_id) {
        return Err("invalid_client_id".into());
    }
    if arg("response_type").as_deref() != Some("code") {
        return Err("invalid_response_type".into());
    }
    let scopes: Vec<String> = arg("scope")
        .unwrap_or_default()
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let declared = crate::manifest::user_scopes();
    if !scopes.iter().any(|s| s == "openid") {
        return Err("invalid_scope: openid is required".into());
    }
    if let Some(s) = scopes.iter().find(|s| !declared.contains(s)) {
        return Err(format!("invalid_scope: the app does not declare {s}"));
    }
    let redirect_uri = arg("redirect_uri").unwrap_or_default();
    let path_of = |u: &str| {
        u.split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
    };
    let allowed = crate::manifest::redirect_urls();
    if path_of(&redirect_uri).is_none_or(|p| !allowed.iter().any(|a| path_of(a) == Some(p.clone())))
    {
        return Err("bad_redirect_uri".into());
    }
    let challenge = arg("code_challenge");
    if challenge.is_some() && arg("code_challenge_method").as_deref() != Some("S256") {
        return Err("invalid_request: code_challenge_method must be S256".into());
    }
    g.oidc.issued += 1;
    let code = format!("fake-oidc-code-{}", g.oidc.issued);
    g.oidc.codes.insert(
        code.clone(),
        Grant {
            client_id,
            redirect_uri: redirect_uri.clone(),
            nonce: arg("nonce"),
            challenge,
            scopes,
            user: user.clone(),
        },
    );
    let state = arg("state").unwrap_or_default();
    Ok(format!(
        "{redirect_uri}?code={}&state={}",
        encode(&code),
        encode(&state)
    ))
}

/// `openid.connect.token`: exchanges a code once for a user token and an ID token.
pub(crate) fn token(g: &mut ApiState, body: &Value, basic: Option<(String, String)>) -> Value {
    let refuse = |e: &str| json!({"ok": false, "error": e});
    let (client_id, secret) = basic.unwrap_or_else(|| {
        (
            body["client_id"].as_str().unwrap_or_default().to_string(),
            body["client_secret"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    });
    let Some(known) = g.oidc.clients.get(&client_id) else {
        return refuse("invalid_client_id");
    };
    if *known != secret {
        return refuse("bad_client_secret");
    }
    if body["grant_type"]
        .as_str()
        .is_some_and(|t| t != "authorization_code")
    {
        return refuse("invalid_grant_type");
    }
    let code = body["code"].as_str().unwrap_or_default();
    let Some(grant) = g.oidc.codes.remove(code) else {
        return refuse("invalid_code");
    };
    if grant.client_id != client_id {
        return refuse("invalid_code");
    }
    if body["redirect_uri"].as_str() != Some(grant.redirect_uri.as_str()) {
        return refuse("bad_redirect_uri");
    }
    if let Some(challenge) = &grant.challenge {
        let verifier = body["code_verifier"].as_str().unwrap_or_default();
        let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
        if B64.encode(digest.as_ref()) != *challenge {
            return refuse("invalid_code_verifier");
        }
    }
    let access = format!("xoxp-fake-oidc-{}", g.oidc.issued);
    g.tokens.insert(
        access.clone(),
        Token {
            scopes: grant.scopes.clone(),
            revoked: false,
        },
    );
    g.oidc.users.insert(access.clone(), grant.user.clone());
    let id_token = match id_token(&g.oidc, &grant, &client_id) {
        Ok(t) => t,
        Err(e) => return refuse(&e),
    };
    json!({"ok": true, "access_token": access, "token_type": "Bearer", "id_token": id_token})
}

/// The user's claims as Slack puts them in an ID token and `openid.connect.userInfo`, for the scopes granted.
fn claims_of(user: &OidcUser, scopes: &[String]) -> serde_json::Map<String, Value> {
    let mut c = serde_json::Map::new();
    c.insert("sub".into(), json!(user.user_id));
    c.insert("https://slack.com/user_id".into(), json!(user.user_id));
    c.insert("https://slack.com/team_id".into(), json!(user.team_id));
    if scopes.iter().any(|s| s == "email") {
        c.insert("email".into(), json!(user.email));
        c.insert("email_verified".into(), json!(user.email_verified));
    }
    if scopes.iter().any(|s| s == "profile") {
        c.insert("name".into(), json!(user.name));
        c.insert(
            "https://slack.com/team_name".into(),
            json!("Fake workspace"),
        );
    }
    c
}

fn id_token(p: &Provider, grant: &Grant, client_id: &str) -> Result<String, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut claims = claims_of(&grant.user, &grant.scopes);
    claims.insert("iss".into(), json!(p.issuer));
    claims.insert("aud".into(), json!(client_id));
    claims.insert("iat".into(), json!(now));
    claims.insert("auth_time".into(), json!(now));
    claims.insert("exp".into(), json!(now + 3_600));
    if let Some(n) = &grant.nonce {
        claims.insert("nonce".into(), json!(n));
    }
    if let Some(o) = p.overrides.as_object() {
        for (k, v) in o {
            if v.is_null() {
                claims.remove(k);
            } else {
                claims.insert(k.clone(), v.clone());
            }
        }
    }
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": KEY_ID});
    let signing_input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(Value::Object(claims).to_string())
    );
    let der = if p.forge { FOREIGN_KEY } else { SIGNING_KEY };
    let key = ring::signature::RsaKeyPair::from_pkcs8(der).map_err(|e| e.to_string())?;
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut sig,
    )
    .map_err(|e| e.to_string())?;
    Ok(format!("{signing_input}.{}", B64.encode(sig)))
}

/// `openid.connect.userInfo` for a user token (its scopes were checked: `openid`).
pub(crate) fn user_info(g: &ApiState, token: &str) -> Value {
    let Some(user) = g.oidc.users.get(token) else {
        return json!({"ok": false, "error": "invalid_auth"});
    };
    let scopes = g
        .tokens
        .get(token)
        .map(|t| t.scopes.clone())
        .unwrap_or_default();
    let mut c = claims_of(user, &scopes);
    c.insert("ok".into(), json!(true));
    Value::Object(c)
}

/// The client id and secret of an `Authorization: Basic` header.
pub(crate) fn basic_auth(headers: &axum::http::HeaderMap) -> Option<(String, String)> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v.strip_prefix("Basic ")?)
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (id, secret) = s.split_once(':')?;
    Some((decode(id), decode(secret)))
}
