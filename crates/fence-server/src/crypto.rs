//! Secrets at rest and credentials: the 32-byte secret key (from config or generated into `data_dir/secret.key`, mode 0600),
//! XChaCha20-Poly1305 encryption of webhook URLs and tokens, keys derived from it for signing, API tokens, and argon2id
//! password hashes.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use fence_core::Secret;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::path::Path;

/// Encrypts and decrypts secrets with Fence's key. Never printed.
#[derive(Clone)]
pub struct SecretBox {
    key: [u8; 32],
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox([redacted])")
    }
}

impl SecretBox {
    pub fn new(key: [u8; 32]) -> Self {
        SecretBox { key }
    }

    /// The configured key, or the one in `data_dir/secret.key`, generated there on first start.
    pub fn load_or_create(
        configured: Option<&Secret<String>>,
        data_dir: &Path,
    ) -> anyhow::Result<SecretBox> {
        if let Some(k) = configured {
            return Ok(SecretBox::new(decode_key(k.expose()).map_err(|e| {
                anyhow::anyhow!("configuration key `secret_key`: {e}")
            })?));
        }
        let path = data_dir.join("secret.key");
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            return Ok(SecretBox::new(
                decode_key(text.trim()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
            ));
        }
        std::fs::create_dir_all(data_dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", data_dir.display()))?;
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        write_private(&path, &B64.encode(key))?;
        Ok(SecretBox::new(key))
    }

    pub fn encrypt(&self, plaintext: &str) -> String {
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Encryption with a valid key and nonce only fails for plaintexts beyond 256 GiB.
        let ct = cipher
            .encrypt(XNonce::from_slice(&nonce), plaintext.as_bytes())
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend(ct);
        format!("v1:{}", B64.encode(out))
    }

    pub fn decrypt(&self, stored: &str) -> anyhow::Result<Secret<String>> {
        let raw = stored
            .strip_prefix("v1:")
            .ok_or_else(|| anyhow::anyhow!("unknown secret format"))?;
        let bytes = B64
            .decode(raw)
            .map_err(|_| anyhow::anyhow!("secret is not base64"))?;
        if bytes.len() < 24 {
            anyhow::bail!("secret is too short");
        }
        let (nonce, ct) = bytes.split_at(24);
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let pt = cipher.decrypt(XNonce::from_slice(nonce), ct).map_err(|_| {
            anyhow::anyhow!("cannot decrypt a stored secret: was secret_key changed?")
        })?;
        Ok(Secret::new(
            String::from_utf8(pt).map_err(|_| anyhow::anyhow!("secret is not UTF-8"))?,
        ))
    }

    /// A key for one purpose (button values, OAuth state), derived so the master key is never used twice.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = hmac_with(&self.key);
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A value that identifies the key without revealing it (an HMAC of a constant), stored in the database at first
    /// start so a process with another key refuses to start.
    pub fn check_value(&self) -> String {
        let mut mac = hmac_with(&self.derive("key-check"));
        mac.update(b"fence secret_key check");
        format!("v1:{}", hex::encode(mac.finalize().into_bytes()))
    }

    /// A stable, non-reversible key for a destination (pacing lanes), so the URL never appears in the database.
    pub fn destination_key(&self, webhook_url: &str) -> String {
        let mut mac = hmac_with(&self.derive("destination"));
        mac.update(webhook_url.as_bytes());
        format!("wh:{}", hex::encode(&mac.finalize().into_bytes()[..16]))
    }
}

fn hmac_with(key: &[u8; 32]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC-SHA256 accepts keys of any length")
}

fn decode_key(s: &str) -> Result<[u8; 32], String> {
    let bytes = B64
        .decode(s.trim())
        .map_err(|_| "must be 32 bytes in base64".to_string())?;
    bytes
        .try_into()
        .map_err(|_| "must be exactly 32 bytes (base64)".to_string())
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// The shortest API token accepted (a configured `bootstrap_token`, a bearer value).
pub const MIN_TOKEN_CHARS: usize = 24;

/// A new random API token: `fence_` and 43 URL-safe characters (256 bits).
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    format!(
        "fence_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    )
}

/// An argon2id hash of a web UI password, in PHC string form.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// At most this many argon2 computations at once, on the blocking pool: a flood of log-ins queues here instead of
/// starving the async workers (the dispatcher, every other request).
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// [`verify_password`] on the blocking pool, behind [`HASHING`].
pub async fn verify_password_blocking(password: String, hash: String) -> bool {
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false)
}

/// Whether `password` matches a stored argon2id hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_and_ciphertexts_differ() {
        let b = SecretBox::new([3; 32]);
        let a = b.encrypt("https://hooks.slack.com/services/T1/B1/x");
        let c = b.encrypt("https://hooks.slack.com/services/T1/B1/x");
        assert_ne!(a, c);
        assert!(!a.contains("hooks"));
        assert_eq!(
            b.decrypt(&a).expect("decrypts").expose(),
            "https://hooks.slack.com/services/T1/B1/x"
        );
        assert!(SecretBox::new([4; 32]).decrypt(&a).is_err());
    }

    #[test]
    fn a_generated_key_file_is_private_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let one = SecretBox::load_or_create(None, dir.path()).expect("created");
        let two = SecretBox::load_or_create(None, dir.path()).expect("loaded");
        assert_eq!(one.key, two.key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret.key"))
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
