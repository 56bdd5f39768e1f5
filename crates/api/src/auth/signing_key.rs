//! The HMAC key that signs access tokens. It comes from configuration
//! (`PEYVAND_JWT_SECRET`), or is generated on first start and kept in the data
//! directory with owner-only permissions, so tokens survive restarts without any set-up.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// HS256 needs a key at least as long as its output.
pub const MIN_KEY_BYTES: usize = 32;
/// Size of a generated key.
const GENERATED_KEY_BYTES: usize = 64;
/// File name of the generated key inside the data directory.
pub const KEY_FILE: &str = "jwt-signing.key";

/// Key material and its id (`kid`): the first 16 hex digits of the SHA-256 of the key,
/// which names the key without revealing it.
#[derive(Clone)]
pub struct SigningKey {
    secret: Vec<u8>,
    kid: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn from_bytes(secret: Vec<u8>) -> anyhow::Result<SigningKey> {
        anyhow::ensure!(
            secret.len() >= MIN_KEY_BYTES,
            "the JWT signing key must be at least {MIN_KEY_BYTES} bytes long"
        );
        let kid = hex::encode(Sha256::digest(&secret))[..16].to_string();
        Ok(SigningKey { secret, kid })
    }

    /// The configured secret if there is one, otherwise the key file in `data_dir`
    /// (created on first use).
    pub fn load(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<SigningKey> {
        match configured {
            Some(secret) if !secret.is_empty() => {
                SigningKey::from_bytes(secret.as_bytes().to_vec())
                    .context("PEYVAND_JWT_SECRET is too short")
            }
            _ => load_or_create_file(&data_dir.join(KEY_FILE)),
        }
    }

    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }
}

fn load_or_create_file(path: &PathBuf) -> anyhow::Result<SigningKey> {
    if !path.exists() {
        create_key_file(path)?;
    }
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let secret = hex::decode(text.trim())
        .with_context(|| format!("{} is not a hex-encoded key", path.display()))?;
    SigningKey::from_bytes(secret).with_context(|| format!("key in {}", path.display()))
}

fn create_key_file(path: &Path) -> anyhow::Result<()> {
    let mut secret = vec![0_u8; GENERATED_KEY_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    crate::key_file::write_once(path, &hex::encode(&secret), "JWT signing key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_secret_must_be_long_enough() {
        let dir = tempfile::tempdir().unwrap();
        assert!(SigningKey::load(Some("too short"), dir.path()).is_err());
        let key = SigningKey::load(Some("0123456789abcdef0123456789abcdef"), dir.path()).unwrap();
        assert_eq!(key.kid().len(), 16);
        assert!(
            !dir.path().join(KEY_FILE).exists(),
            "no file when the key is configured"
        );
    }

    #[test]
    fn generated_key_is_kept_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let first = SigningKey::load(None, dir.path()).unwrap();
        let second = SigningKey::load(None, dir.path()).unwrap();
        assert_eq!(first.secret(), second.secret());
        assert_eq!(first.kid(), second.kid());
        assert_eq!(first.secret().len(), GENERATED_KEY_BYTES);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
