//! Password hashing with argon2id and the rules for new passwords. Hashing is
//! deliberately slow; use cases run on the blocking thread pool, never on the request
//! executor.
//!
//! A new password must be long enough and hard to guess. Strength is estimated by
//! `zxcvbn`, which models how password crackers work: its dictionaries (about 30,000
//! common passwords, names and surnames, English words from Wikipedia and TV and film
//! subtitles) cover the usual lists of common passwords, and it recognises repeats,
//! sequences, keyboard patterns, dates and l33t substitutions, and the user's own
//! e-mail address and name. There are no composition rules (which push people towards
//! `Password1!`); a long passphrase passes.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use zxcvbn::{zxcvbn, Score};

use crate::error::{AppError, AppResult};

/// Shortest accepted password (characters).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest accepted password (characters): bounds the hashing work one request can ask for.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Lowest accepted zxcvbn score (0 to 4). 3 means about 10^8 guesses or more: safe
/// against online guessing and a moderate obstacle offline with a slow hash like argon2.
const MIN_STRENGTH: Score = Score::Three;

/// Characters of a password that are scored. The estimate's cost grows quickly with
/// length, and a password this long is rated strong unless its start is already weak.
const SCORED_CHARS: usize = 100;

/// The argon2id hash (PHC string) of `password`, with a fresh random salt.
pub fn hash(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| AppError::Internal(format!("password hashing failed: {err}")))
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
        let random = super::random_token(32);
        hash(&random).unwrap_or_default()
    })
}

/// Whether `password` matches `stored`; without a stored hash (no such account) it is
/// verified against [`dummy_hash`] and fails, taking as long as a wrong password.
pub fn verify_or_dummy(password: &str, stored: Option<&str>) -> bool {
    match stored {
        Some(stored) => verify(password, stored),
        None => {
            verify(password, dummy_hash());
            false
        }
    }
}

/// The rules for a new password, as `(code, message)` when broken: its length, then its
/// strength. `user_inputs` are what the password must not be built from: the user's
/// e-mail address and display name.
pub fn check_new_password(password: &str, user_inputs: &[&str]) -> Option<(&'static str, String)> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Some((
            "too_short",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Some((
            "too_long",
            format!("must be at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    let scored: String = password.chars().take(SCORED_CHARS).collect();
    let words = personal_words(user_inputs);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let estimate = zxcvbn(&scored, &words);
    if estimate.score() >= MIN_STRENGTH {
        return None;
    }
    let mut advice = Vec::new();
    if let Some(feedback) = estimate.feedback() {
        advice.extend(feedback.warning().map(|warning| warning.to_string()));
        advice.extend(feedback.suggestions().iter().map(ToString::to_string));
    }
    Some((
        "too_weak",
        if advice.is_empty() {
            "is too easy to guess".to_string()
        } else {
            format!("is too easy to guess. {}", advice.join(" "))
        },
    ))
}

/// The user inputs zxcvbn matches against, lower-cased: each value whole, its parts
/// around `@` and white space (an e-mail's local part and domain) and its words.
fn personal_words(user_inputs: &[&str]) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for input in user_inputs {
        let input = input.trim().to_lowercase();
        let parts = input.split(|c: char| c == '@' || c.is_whitespace());
        let word_parts = input.split(|c: char| !c.is_alphanumeric());
        words.extend(
            std::iter::once(input.as_str())
                .chain(parts)
                .chain(word_parts)
                .filter(|word| word.chars().count() >= 3)
                .map(String::from),
        );
    }
    words.sort_unstable();
    words.dedup();
    words
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

    fn rule(password: &str) -> Option<&'static str> {
        check_new_password(password, &["sara.ahmadi@example.ir", "Sara Ahmadi"])
            .map(|(code, _)| code)
    }

    #[test]
    fn new_password_length_rules() {
        assert_eq!(rule("short"), Some("too_short"));
        assert_eq!(rule("twelve horses gallop"), None);
        assert_eq!(
            rule("۱۲۳۴۵۶۷۸۹۰۱۲۳۴۵۶۷"),
            Some("too_weak"),
            "long enough when counted in characters, but a sequence"
        );
        assert_eq!(rule("باغ انار سرخ کنار رود"), None, "counted in characters");
        assert_eq!(rule(&"x".repeat(1025)), Some("too_long"));
    }

    #[test]
    fn guessable_passwords_are_too_weak() {
        for weak in [
            "aaaaaaaaaaaa",
            "password1234",
            "            ",
            "qwertyuiopasdf",
            "123456789012",
            "Password123!",
            "iloveyou2024",
            "sara.ahmadi1234",
            &"ab".repeat(512),
        ] {
            assert_eq!(rule(weak), Some("too_weak"), "{weak:?}");
        }
    }

    #[test]
    fn strong_passwords_pass() {
        for strong in [
            "correct horse battery",
            "twelve horses gallop",
            "kX3v9bq0Vt7Qe1m2P5sZ",
            "Tehran rain on Tuesday noon",
        ] {
            assert_eq!(rule(strong), None, "{strong:?}");
        }
    }

    #[test]
    fn weakness_is_explained() {
        let (_, message) = check_new_password("password1234", &[]).unwrap();
        assert!(message.starts_with("is too easy to guess. "), "{message}");
    }
}
