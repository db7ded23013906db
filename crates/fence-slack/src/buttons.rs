//! Button values signed by Fence, so a click can be trusted to name a finding of the organization it came from.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Signs and verifies `action:org:finding` button values with a key derived from Fence's secret key.
#[derive(Clone)]
pub struct ButtonSigner {
    key: [u8; 32],
}

impl std::fmt::Debug for ButtonSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ButtonSigner([redacted])")
    }
}

/// What a verified button value names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ButtonValue {
    pub action: String,
    pub org_id: String,
    pub target_id: String,
}

impl ButtonSigner {
    pub fn new(key: [u8; 32]) -> Self {
        ButtonSigner { key }
    }

    fn mac(&self, payload: &str) -> String {
        // HMAC accepts keys of any length; a 32-byte key cannot fail.
        let mut mac = match HmacSha256::new_from_slice(&self.key) {
            Ok(m) => m,
            Err(_) => return String::new(),
        };
        mac.update(b"fence-button-v1:");
        mac.update(payload.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    pub fn sign(&self, action: &str, org_id: &str, target_id: &str) -> String {
        let payload = format!("{action}:{org_id}:{target_id}");
        let sig = self.mac(&payload);
        format!("{payload}:{sig}")
    }

    /// Returns what the value names when its signature is Fence's own; `None` for anything forged or altered.
    pub fn verify(&self, value: &str) -> Option<ButtonValue> {
        let (payload, sig) = value.rsplit_once(':')?;
        let want = self.mac(payload);
        let ok: bool = subtle::ConstantTimeEq::ct_eq(want.as_bytes(), sig.as_bytes()).into();
        if !ok {
            return None;
        }
        let mut parts = payload.splitn(3, ':');
        Some(ButtonValue {
            action: parts.next()?.to_string(),
            org_id: parts.next()?.to_string(),
            target_id: parts.next()?.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_values_verify_and_altered_ones_do_not() {
        let s = ButtonSigner::new([7; 32]);
        let v = s.sign("false_positive", "org1", "f1");
        assert_eq!(s.verify(&v).map(|b| b.target_id), Some("f1".to_string()));
        assert!(s.verify(&v.replace("org1", "org2")).is_none());
        assert!(ButtonSigner::new([8; 32]).verify(&v).is_none());
    }
}
