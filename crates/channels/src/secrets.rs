//! Provider credentials at rest: sealed with AES-256-GCM under a key from the
//! configuration, with the owning record's id as associated data so that a sealed value
//! copied to another record does not open. Each sealed value names its key by id, so
//! keys rotate: configure the new key first and the old ones after it, re-seal, then
//! drop the old ones.
//!
//! The same keys sign the links the business puts in its messages (one-click
//! unsubscribe), with a key derived from each for that use alone: a link signed under
//! an old key keeps working until that key is dropped.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Key length of AES-256.
pub const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("a credential key must be {KEY_BYTES} bytes written as 64 hex digits")]
    BadKey,
    #[error("no credential key is configured")]
    NoKey,
    #[error("the credentials were sealed with key {0}, which is not configured")]
    UnknownKey(String),
    #[error("the sealed credentials do not open with their key")]
    Corrupt,
}

struct CredentialKey {
    id: String,
    cipher: Aes256Gcm,
    /// HMAC-SHA256 key for links, derived so that a signature never reveals anything
    /// about the sealing key.
    link_key: [u8; KEY_BYTES],
}

/// Bytes of a link signature: 128 bits cannot be guessed.
const LINK_TAG_BYTES: usize = 16;

fn link_tag(link_key: &[u8; KEY_BYTES], message: &str) -> [u8; LINK_TAG_BYTES] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(link_key).expect("HMAC takes any key length");
    mac.update(message.as_bytes());
    let full = mac.finalize().into_bytes();
    let mut tag = [0_u8; LINK_TAG_BYTES];
    tag.copy_from_slice(&full[..LINK_TAG_BYTES]);
    tag
}

/// The configured keys, newest (the one that seals) first.
pub struct CredentialCipher {
    keys: Vec<CredentialKey>,
}

impl std::fmt::Debug for CredentialCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|key| key.id.as_str()).collect();
        f.debug_struct("CredentialCipher")
            .field("key_ids", &ids)
            .finish_non_exhaustive()
    }
}

/// A sealed value and the id of the key that sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    /// Base64 of the nonce followed by the ciphertext and tag.
    pub data: String,
}

impl CredentialCipher {
    /// Keys from raw 32-byte values, newest first.
    pub fn new(keys: &[[u8; KEY_BYTES]]) -> Result<CredentialCipher, SecretError> {
        if keys.is_empty() {
            return Err(SecretError::NoKey);
        }
        Ok(CredentialCipher {
            keys: keys
                .iter()
                .map(|key| CredentialKey {
                    // Names the key without revealing it.
                    id: hex::encode(Sha256::digest(key))[..16].to_string(),
                    cipher: Aes256Gcm::new(key.into()),
                    link_key: {
                        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
                            .expect("HMAC takes any key length");
                        mac.update(b"peyvand link signature v1");
                        mac.finalize().into_bytes().into()
                    },
                })
                .collect(),
        })
    }

    /// Keys written as hex, separated by commas, newest first.
    pub fn from_hex_list(list: &str) -> Result<CredentialCipher, SecretError> {
        let keys = list
            .split(',')
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .map(parse_hex_key)
            .collect::<Result<Vec<_>, _>>()?;
        CredentialCipher::new(&keys)
    }

    /// The id of the key new values are sealed with.
    pub fn current_key_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Seals `plaintext` for the record `owner` with the newest key.
    pub fn seal(&self, owner: &[u8], plaintext: &[u8]) -> Sealed {
        let key = &self.keys[0];
        let mut nonce = [0_u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = key
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: owner,
                },
            )
            .expect("AES-GCM encrypts any message shorter than 64 GiB");
        let mut data = nonce.to_vec();
        data.extend(ciphertext);
        Sealed {
            key_id: key.id.clone(),
            data: STANDARD.encode(data),
        }
    }

    /// A signature of `message` for a link, URL-safe, under the newest key.
    pub fn sign_link(&self, message: &str) -> String {
        URL_SAFE_NO_PAD.encode(link_tag(&self.keys[0].link_key, message))
    }

    /// Whether `signature` is one of [`CredentialCipher::sign_link`]'s for `message`
    /// under any configured key, compared in constant time.
    pub fn verify_link(&self, message: &str, signature: &str) -> bool {
        let Ok(given) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        self.keys
            .iter()
            .any(|key| bool::from(link_tag(&key.link_key, message).as_slice().ct_eq(&given)))
    }

    /// Opens a value sealed for `owner`.
    pub fn open(&self, owner: &[u8], sealed: &Sealed) -> Result<Vec<u8>, SecretError> {
        let key = self
            .keys
            .iter()
            .find(|key| key.id == sealed.key_id)
            .ok_or_else(|| SecretError::UnknownKey(sealed.key_id.clone()))?;
        let data = STANDARD
            .decode(&sealed.data)
            .map_err(|_| SecretError::Corrupt)?;
        if data.len() < NONCE_BYTES {
            return Err(SecretError::Corrupt);
        }
        let (nonce, ciphertext) = data.split_at(NONCE_BYTES);
        key.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: owner,
                },
            )
            .map_err(|_| SecretError::Corrupt)
    }
}

/// A key written as 64 hex digits.
pub fn parse_hex_key(text: &str) -> Result<[u8; KEY_BYTES], SecretError> {
    let bytes = hex::decode(text.trim()).map_err(|_| SecretError::BadKey)?;
    bytes.try_into().map_err(|_| SecretError::BadKey)
}

/// A new random key, as hex.
pub fn generate_hex_key() -> String {
    let mut key = [0_u8; KEY_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut key);
    hex::encode(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_for_their_owner_and_key() {
        let old = CredentialCipher::from_hex_list(&generate_hex_key()).unwrap();
        let sealed = old.seal(b"account-1", b"{\"bot_token\":\"123:abc\"}");
        assert!(!sealed.data.contains("abc"));
        assert_eq!(
            old.open(b"account-1", &sealed).unwrap(),
            b"{\"bot_token\":\"123:abc\"}"
        );
        assert_eq!(old.open(b"account-2", &sealed), Err(SecretError::Corrupt));

        // Rotation: the new key seals, the old one still opens what it sealed.
        let rotated = CredentialCipher {
            keys: vec![
                CredentialCipher::from_hex_list(&generate_hex_key())
                    .unwrap()
                    .keys
                    .remove(0),
                old.keys.into_iter().next().unwrap(),
            ],
        };
        assert_eq!(rotated.open(b"account-1", &sealed).unwrap().len(), 23);
        let resealed = rotated.seal(b"account-1", b"x");
        assert_ne!(resealed.key_id, sealed.key_id);
        let only_new = CredentialCipher {
            keys: rotated.keys.into_iter().take(1).collect(),
        };
        assert_eq!(
            only_new.open(b"account-1", &sealed),
            Err(SecretError::UnknownKey(sealed.key_id.clone()))
        );
        assert_eq!(only_new.open(b"account-1", &resealed).unwrap(), b"x");
    }

    #[test]
    fn link_signatures_verify_under_any_configured_key() {
        let old = CredentialCipher::from_hex_list(&generate_hex_key()).unwrap();
        let signature = old.sign_link("unsubscribe:c1:email");
        assert!(old.verify_link("unsubscribe:c1:email", &signature));
        assert!(!old.verify_link("unsubscribe:c2:email", &signature));
        assert!(!old.verify_link("unsubscribe:c1:email", "not base64!"));
        assert!(!old.verify_link("unsubscribe:c1:email", ""));
        let rotated = CredentialCipher {
            keys: vec![
                CredentialCipher::from_hex_list(&generate_hex_key())
                    .unwrap()
                    .keys
                    .remove(0),
                old.keys.into_iter().next().unwrap(),
            ],
        };
        assert!(rotated.verify_link("unsubscribe:c1:email", &signature));
        assert_ne!(rotated.sign_link("unsubscribe:c1:email"), signature);
    }

    #[test]
    fn keys_must_be_32_bytes_of_hex() {
        assert_eq!(
            CredentialCipher::from_hex_list("abcd").unwrap_err(),
            SecretError::BadKey
        );
        assert_eq!(
            CredentialCipher::from_hex_list(" , ").unwrap_err(),
            SecretError::NoKey
        );
        let two = format!("{},{}", generate_hex_key(), generate_hex_key());
        assert_eq!(CredentialCipher::from_hex_list(&two).unwrap().keys.len(), 2);
    }
}
