//! ID tokens: a compact JWS signed RS256 by a key of the provider's JWKS, and the claims OpenID Connect Core §3.1.3.7
//! requires a relying party to check (issuer, audience, authorized party, expiry, issue time, nonce, subject).
//! Nothing else is accepted: no `none`, no HMAC, no key carried in the token itself.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde_json::{Map, Value};

/// The longest ID token read; a provider's are a few kilobytes.
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Clock difference allowed between Fence and the provider.
const SKEW_SECS: i64 = 120;

/// One RSA signing key of the provider's JWKS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaKey {
    pub kid: Option<String>,
    /// Big-endian modulus and exponent.
    pub n: Vec<u8>,
    pub e: Vec<u8>,
}

/// The RSA signing keys of a JWKS document (`{"keys": [...]}`); other keys (EC, encryption) are skipped.
pub fn rsa_keys(jwks: &Value) -> Vec<RsaKey> {
    let Some(keys) = jwks["keys"].as_array() else {
        return Vec::new();
    };
    keys.iter()
        .filter(|k| k["kty"] == "RSA")
        .filter(|k| k["use"].is_null() || k["use"] == "sig")
        .filter(|k| k["alg"].is_null() || k["alg"] == "RS256")
        .filter_map(|k| {
            Some(RsaKey {
                kid: k["kid"].as_str().map(str::to_string),
                n: B64.decode(k["n"].as_str()?).ok()?,
                e: B64.decode(k["e"].as_str()?).ok()?,
            })
        })
        .collect()
}

/// What an ID token must say.
#[derive(Debug, Clone)]
pub struct Expect<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// Seconds since the epoch.
    pub now: i64,
}

/// Why an ID token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the ID token is not a signed JWT")]
    Malformed,
    #[error("the ID token is signed with {0}, not RS256")]
    Algorithm(String),
    /// No key of the JWKS has the token's `kid` (the keys may have rotated: fetch them again once).
    #[error("no signing key of the provider matches the ID token's key id")]
    UnknownKey,
    #[error("the ID token's signature does not verify")]
    Signature,
    #[error("the ID token's {0} is wrong")]
    Claim(&'static str),
    #[error("the ID token expired")]
    Expired,
}

fn part(s: &str) -> Result<Vec<u8>, TokenError> {
    B64.decode(s).map_err(|_| TokenError::Malformed)
}

/// Verifies `token` against `keys` and `expect`; its claims when every check passes.
pub fn verify(
    token: &str,
    keys: &[RsaKey],
    expect: &Expect<'_>,
) -> Result<Map<String, Value>, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header: Value = serde_json::from_slice(&part(h)?).map_err(|_| TokenError::Malformed)?;
    let alg = header["alg"].as_str().unwrap_or_default();
    if alg != "RS256" {
        return Err(TokenError::Algorithm(alg.chars().take(16).collect()));
    }
    if header.get("crit").is_some() {
        return Err(TokenError::Malformed);
    }
    let kid = header["kid"].as_str();
    let key = match kid {
        Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
        None if keys.len() == 1 => keys.first(),
        None => None,
    }
    .ok_or(TokenError::UnknownKey)?;
    let signature = part(s)?;
    let signed = &token.as_bytes()[..h.len() + 1 + c.len()];
    ring::signature::RsaPublicKeyComponents {
        n: &key.n,
        e: &key.e,
    }
    .verify(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        signed,
        &signature,
    )
    .map_err(|_| TokenError::Signature)?;
    let claims: Value = serde_json::from_slice(&part(c)?).map_err(|_| TokenError::Malformed)?;
    let Value::Object(claims) = claims else {
        return Err(TokenError::Malformed);
    };
    check_claims(&claims, expect)?;
    Ok(claims)
}

fn check_claims(claims: &Map<String, Value>, expect: &Expect<'_>) -> Result<(), TokenError> {
    if claims.get("iss").and_then(Value::as_str) != Some(expect.issuer) {
        return Err(TokenError::Claim("issuer"));
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == expect.client_id,
        Some(Value::Array(list)) => {
            list.iter().any(|a| a == expect.client_id)
                && (list.len() == 1
                    || claims.get("azp").and_then(Value::as_str) == Some(expect.client_id))
        }
        _ => false,
    };
    if !audience_ok {
        return Err(TokenError::Claim("audience"));
    }
    if let Some(azp) = claims.get("azp") {
        if azp != expect.client_id {
            return Err(TokenError::Claim("authorized party"));
        }
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(TokenError::Claim("expiry"))?;
    if exp + SKEW_SECS <= expect.now {
        return Err(TokenError::Expired);
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(TokenError::Claim("issue time"))?;
    if iat > expect.now + SKEW_SECS {
        return Err(TokenError::Claim("issue time"));
    }
    if claims.get("nonce").and_then(Value::as_str) != Some(expect.nonce) {
        return Err(TokenError::Claim("nonce"));
    }
    if claims
        .get("sub")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(TokenError::Claim("subject"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A token with these parts, signed with nothing (enough for the checks before the signature).
    fn unsigned(header: Value, claims: Value) -> String {
        format!(
            "{}.{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string()),
            B64.encode(b"sig")
        )
    }

    fn expect() -> Expect<'static> {
        Expect {
            issuer: "https://slack.com",
            client_id: "1.2",
            nonce: "n1",
            now: 1_000_000,
        }
    }

    fn key() -> RsaKey {
        RsaKey {
            kid: Some("k1".into()),
            n: vec![0xC5; 256],
            e: vec![1, 0, 1],
        }
    }

    #[test]
    fn only_rs256_tokens_with_a_known_key_are_considered() {
        let c = json!({"iss": "https://slack.com"});
        for alg in ["none", "HS256", "RS512", "ES256"] {
            let t = unsigned(json!({"alg": alg, "kid": "k1"}), c.clone());
            assert_eq!(
                verify(&t, &[key()], &expect()),
                Err(TokenError::Algorithm(alg.into())),
                "{alg}"
            );
        }
        let t = unsigned(json!({"alg": "RS256", "kid": "other"}), c.clone());
        assert_eq!(verify(&t, &[key()], &expect()), Err(TokenError::UnknownKey));
        let t = unsigned(json!({"alg": "RS256", "kid": "k1"}), c);
        assert_eq!(verify(&t, &[key()], &expect()), Err(TokenError::Signature));
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.??.**",
            &"a".repeat(MAX_TOKEN_BYTES + 1),
        ] {
            assert_eq!(
                verify(bad, &[key()], &expect()),
                Err(TokenError::Malformed),
                "{bad:.20}"
            );
        }
    }

    #[test]
    fn claims_are_checked_as_openid_connect_requires() {
        let good = json!({"iss": "https://slack.com", "aud": "1.2", "exp": 1_000_600, "iat": 999_990,
            "nonce": "n1", "sub": "U1"});
        let ok = |v: &Value| check_claims(v.as_object().expect("object"), &expect());
        assert_eq!(ok(&good), Ok(()));
        let with = |k: &str, v: Value| {
            let mut c = good.clone();
            c[k] = v;
            c
        };
        assert_eq!(
            ok(&with("iss", json!("https://evil.example"))),
            Err(TokenError::Claim("issuer"))
        );
        assert_eq!(
            ok(&with("aud", json!("9.9"))),
            Err(TokenError::Claim("audience"))
        );
        assert_eq!(
            ok(&with("aud", json!(["1.2", "9.9"]))),
            Err(TokenError::Claim("audience")),
            "several audiences need azp"
        );
        let mut multi = with("aud", json!(["1.2", "9.9"]));
        multi["azp"] = json!("1.2");
        assert_eq!(ok(&multi), Ok(()));
        assert_eq!(
            ok(&with("azp", json!("9.9"))),
            Err(TokenError::Claim("authorized party"))
        );
        assert_eq!(ok(&with("exp", json!(999_000))), Err(TokenError::Expired));
        assert_eq!(
            ok(&with("iat", json!(1_100_000))),
            Err(TokenError::Claim("issue time"))
        );
        assert_eq!(
            ok(&with("nonce", json!("n2"))),
            Err(TokenError::Claim("nonce"))
        );
        assert_eq!(
            ok(&with("sub", json!(""))),
            Err(TokenError::Claim("subject"))
        );
        let mut no_nonce = good.clone();
        no_nonce.as_object_mut().expect("object").remove("nonce");
        assert_eq!(ok(&no_nonce), Err(TokenError::Claim("nonce")));
    }

    #[test]
    fn jwks_keep_only_rsa_signing_keys() {
        let jwks = json!({"keys": [
            {"kty": "RSA", "kid": "a", "n": "AQAB", "e": "AQAB", "use": "sig", "alg": "RS256"},
            {"kty": "RSA", "kid": "b", "n": "AQAB", "e": "AQAB", "use": "enc"},
            {"kty": "EC", "kid": "c", "crv": "P-256"},
            {"kty": "RSA", "kid": "d", "n": "not base64!", "e": "AQAB"}
        ]});
        let keys = rsa_keys(&jwks);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid.as_deref(), Some("a"));
        assert_eq!(keys[0].e, vec![1, 0, 1]);
        assert!(rsa_keys(&json!({"keys": "x"})).is_empty());
    }
}
