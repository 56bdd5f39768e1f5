//! Password hashing with argon2id. Hashing is deliberately slow, so the async
//! wrappers run it on the blocking thread pool instead of the request executor.

use std::sync::OnceLock;

use actix_web::web;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::{ApiError, ApiResult};

/// Shortest accepted password (characters).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest accepted password (characters): bounds the hashing work one request can ask for.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// The argon2id hash (PHC string) of `password`, with a fresh random salt.
pub fn hash(password: &str) -> ApiResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| ApiError::Internal(format!("password hashing failed: {err}")))
}

/// Whether `password` matches the stored PHC string. An unparsable stored hash never
/// matches.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash of a random password that no one knows. Logins for unknown e-mail addresses
/// are verified against it, so they take as long as logins with a wrong password and
/// the response time does not reveal which addresses have accounts.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = crate::auth::random_token(32);
        hash(&random).unwrap_or_default()
    })
}

/// [`hash`] on the blocking pool.
pub async fn hash_blocking(password: String) -> ApiResult<String> {
    web::block(move || hash(&password)).await?
}

/// [`verify`] on the blocking pool; `None` verifies against [`dummy_hash`] and fails.
pub async fn verify_blocking(password: String, stored: Option<String>) -> ApiResult<bool> {
    Ok(web::block(move || match stored {
        Some(stored) => verify(&password, &stored),
        None => {
            verify(&password, dummy_hash());
            false
        }
    })
    .await?)
}

/// Length rules for a new password, as `(code, message)` when broken.
pub fn check_new_password(password: &str) -> Option<(&'static str, String)> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Some((
            "too_short",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ))
    } else if chars > MAX_PASSWORD_CHARS {
        Some((
            "too_long",
            format!("must be at most {MAX_PASSWORD_CHARS} characters"),
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_with_argon2id_and_verifies() {
        let stored = hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("correct horse batterz", &stored));
    }

    #[test]
    fn salts_differ_between_hashes() {
        assert_ne!(
            hash("same password!").unwrap(),
            hash("same password!").unwrap()
        );
    }

    #[test]
    fn garbage_hash_never_matches() {
        assert!(!verify("anything at all", "not a phc string"));
        assert!(!verify("", ""));
    }

    #[test]
    fn dummy_hash_is_a_valid_hash_that_rejects_guesses() {
        assert!(dummy_hash().starts_with("$argon2id$"));
        assert!(!verify("", dummy_hash()));
        assert!(!verify("password1234", dummy_hash()));
    }

    #[test]
    fn new_password_length_rules() {
        assert_eq!(
            check_new_password("short").map(|(code, _)| code),
            Some("too_short")
        );
        assert_eq!(
            check_new_password("twelve chars").map(|(code, _)| code),
            None
        );
        assert_eq!(
            check_new_password("۱۲۳۴۵۶۷۸۹۰۱۲").map(|(code, _)| code),
            None,
            "counted in characters"
        );
        assert_eq!(
            check_new_password(&"x".repeat(1025)).map(|(code, _)| code),
            Some("too_long")
        );
    }
}
