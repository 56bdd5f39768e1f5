//! The key that signs the audit chain's checkpoints, and the anchor file the newest
//! checkpoint is kept in: both in the data directory, outside the database, generated on
//! first start with owner-only permissions like the token signing key. Whoever can
//! change the database but not this directory can neither remove the newest audit
//! events unnoticed nor sign a checkpoint that hides it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use application::jobs::audit_checkpoint::AuditAnchor;

/// File name of the checkpoint key inside the data directory.
pub const KEY_FILE: &str = "audit-checkpoint.key";
/// File name of the newest checkpoint inside the data directory.
pub const ANCHOR_FILE: &str = "audit-anchor.json";

/// The anchor of `data_dir`, its key created on first use.
pub fn load(data_dir: &Path) -> anyhow::Result<AuditAnchor> {
    let path = data_dir.join(KEY_FILE);
    if !path.exists() {
        crate::key_file::write_once(
            &path,
            &channels::secrets::generate_hex_key(),
            "audit checkpoint key",
        )?;
    }
    Ok(AuditAnchor::new(read_key(&path)?, anchor_file(data_dir)))
}

/// The anchor of `data_dir` if its key exists (the `audit verify` command creates
/// nothing).
pub fn existing(data_dir: &Path) -> anyhow::Result<Option<AuditAnchor>> {
    let path = data_dir.join(KEY_FILE);
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(AuditAnchor::new(
        read_key(&path)?,
        anchor_file(data_dir),
    )))
}

fn anchor_file(data_dir: &Path) -> PathBuf {
    data_dir.join(ANCHOR_FILE)
}

fn read_key(path: &Path) -> anyhow::Result<Vec<u8>> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    hex::decode(text.trim()).with_context(|| format!("{} is not a hex-encoded key", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_kept_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(existing(dir.path()).unwrap().is_none());
        let first = load(dir.path()).unwrap();
        let again = existing(dir.path()).unwrap().expect("kept");
        assert_eq!(first.key(), again.key());
        assert_eq!(first.key().len(), 32);
    }
}
