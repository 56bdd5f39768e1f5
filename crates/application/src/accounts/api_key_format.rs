//! The API-key format: `pvk_<prefix>_<secret>`. The prefix (8 hex digits) is public and
//! names the key in listings; the secret (32 random bytes, base64url) is shown once and
//! stored only as its SHA-256.

use rand::RngCore;

pub const KEY_MARKER: &str = "pvk_";

/// A freshly generated key.
pub struct GeneratedKey {
    pub prefix: String,
    pub secret_hash: String,
    /// The whole key, to be shown once to its creator.
    pub full: String,
}

pub fn generate() -> GeneratedKey {
    let mut prefix_bytes = [0_u8; 4];
    rand::rngs::OsRng.fill_bytes(&mut prefix_bytes);
    let prefix = hex::encode(prefix_bytes);
    let secret = super::random_token(32);
    GeneratedKey {
        full: format!("{KEY_MARKER}{prefix}_{secret}"),
        secret_hash: super::sha256_hex(&secret),
        prefix,
    }
}

/// `(prefix, secret hash)` of a presented key, or `None` if it is not shaped like one.
/// The secret may itself contain `_` (base64url), so only the first one separates.
pub fn parse(presented: &str) -> Option<(String, String)> {
    let (prefix, secret) = presented.strip_prefix(KEY_MARKER)?.split_once('_')?;
    let well_formed =
        prefix.len() == 8 && prefix.bytes().all(|b| b.is_ascii_hexdigit()) && secret.len() >= 32;
    well_formed.then(|| (prefix.to_string(), super::sha256_hex(secret)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_back() {
        for _ in 0..50 {
            let key = generate();
            assert!(key.full.starts_with("pvk_"));
            assert_eq!(
                parse(&key.full),
                Some((key.prefix.clone(), key.secret_hash.clone()))
            );
        }
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        for bad in [
            "",
            "pvk_",
            "pvk_abc",
            "pvk_zzzzzzzz_0123456789012345678901234567890123",
            "xyz_12345678_secret",
            "pvk_12345678_short",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
