//! The keys that seal channel-account credentials at rest. They come from
//! configuration (`PEYVAND_CHANNEL_KEYS`: 64-hex-digit keys separated by commas, the
//! newest first; older ones only open what they sealed), or one is generated on first
//! start and kept in the data directory with owner-only permissions, like the token
//! signing key.

use std::fs;
use std::path::Path;

use anyhow::Context;
use channels::secrets::{generate_hex_key, CredentialCipher};

/// File name of the generated key inside the data directory.
pub const KEY_FILE: &str = "channel-credentials.key";

/// The configured keys if there are any, otherwise the key file in `data_dir`
/// (created on first use).
pub fn load(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<CredentialCipher> {
    match configured {
        Some(list) if !list.trim().is_empty() => CredentialCipher::from_hex_list(list)
            .context("PEYVAND_CHANNEL_KEYS must be 64-hex-digit keys separated by commas"),
        _ => {
            let path = data_dir.join(KEY_FILE);
            if !path.exists() {
                crate::key_file::write_once(&path, &generate_hex_key(), "channel credential key")?;
            }
            let text = fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            CredentialCipher::from_hex_list(text.trim())
                .with_context(|| format!("{} is not a hex-encoded key", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_kept_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load(None, dir.path()).unwrap();
        let again = load(None, dir.path()).unwrap();
        assert_eq!(first.current_key_id(), again.current_key_id());
        let sealed = first.seal(b"owner", b"secret");
        assert_eq!(again.open(b"owner", &sealed).unwrap(), b"secret");
        assert!(load(Some("not hex"), dir.path()).is_err());
    }
}
