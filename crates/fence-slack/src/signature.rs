//! Slack's v0 request signatures: HMAC-SHA256 over `v0:<timestamp>:<raw body>` with the signing secret, compared
//! in constant time, and refused when the timestamp is more than five minutes from now.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    Stale,
    Mismatch,
}

/// Checks `X-Slack-Signature` and `X-Slack-Request-Timestamp` of a request whose raw body is `body`.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), SignatureError> {
    let (Some(ts), Some(sig)) = (timestamp, signature) else {
        return Err(SignatureError::Missing);
    };
    let ts_num: i64 = ts.trim().parse().map_err(|_| SignatureError::Missing)?;
    if (now_secs - ts_num).abs() > 300 {
        return Err(SignatureError::Stale);
    }
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .map_err(|_| SignatureError::Mismatch)?;
    mac.update(b"v0:");
    mac.update(ts.trim().as_bytes());
    mac.update(b":");
    mac.update(body);
    let want = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
    let ok: bool = subtle::ConstantTimeEq::ct_eq(want.as_bytes(), sig.trim().as_bytes()).into();
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Signs a body as Slack does (tests and the fake use it).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: i64 = 1531420618;
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slacks_published_test_vector_verifies() {
        assert_eq!(sign(SECRET, TS, BODY.as_bytes()), SIG);
        assert_eq!(
            verify(SECRET, Some("1531420618"), Some(SIG), BODY.as_bytes(), TS),
            Ok(())
        );
    }

    #[test]
    fn the_window_is_five_minutes_inclusive() {
        assert_eq!(
            verify(
                SECRET,
                Some("1531420618"),
                Some(SIG),
                BODY.as_bytes(),
                TS + 300
            ),
            Ok(())
        );
        assert_eq!(
            verify(
                SECRET,
                Some("1531420618"),
                Some(SIG),
                BODY.as_bytes(),
                TS + 301
            ),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(
                SECRET,
                Some("1531420618"),
                Some(SIG),
                BODY.as_bytes(),
                TS - 301
            ),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn a_changed_byte_or_a_missing_header_is_refused() {
        let mut body = BODY.as_bytes().to_vec();
        body[10] ^= 1;
        assert_eq!(
            verify(SECRET, Some("1531420618"), Some(SIG), &body, TS),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(
                "other-secret",
                Some("1531420618"),
                Some(SIG),
                BODY.as_bytes(),
                TS
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, None, Some(SIG), BODY.as_bytes(), TS),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(SECRET, Some("1531420618"), None, BODY.as_bytes(), TS),
            Err(SignatureError::Missing)
        );
    }
}
