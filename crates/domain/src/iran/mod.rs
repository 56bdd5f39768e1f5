//! Validators for Iranian identifiers and phone numbers (L-2): national code
//! (کد ملی), legal-entity national id (شناسه ملی اشخاص حقوقی), postal code (کد پستی)
//! and phone numbers normalised to E.164.
//!
//! Every validator accepts what people actually type: Persian or Arabic-Indic digits,
//! spaces and dashes between digit groups, and the invisible direction marks that
//! right-to-left editors insert around numbers. Each returns the canonical digits (or a
//! [`Phone`]) on success and an [`IranError`] whose [`IranError::code`] is a stable rule
//! code for field-level problems.

mod identity;
mod phone;

pub use identity::{
    legal_entity_check_digit, national_code_check_digit, validate_legal_entity_id,
    validate_national_code, validate_postal_code,
};
pub use phone::{normalize_phone, Phone, PhoneKind};

use crate::persian::normalize_digits;
use crate::validation::FieldViolation;

/// Why an identifier or phone number was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IranError {
    /// Too few or too many digits.
    #[error("expected {expected} digits, found {found}")]
    InvalidLength {
        expected: &'static str,
        found: usize,
    },
    /// A character that is not a digit or separator, or digits in an impossible place.
    #[error("{0}")]
    InvalidFormat(&'static str),
    /// The check digit does not match the other digits.
    #[error("the check digit does not match the other digits")]
    InvalidChecksum,
    /// Every digit is the same: such codes pass some checksums but are never issued.
    #[error("all digits are the same, which is never a real code")]
    RepeatedDigits,
    /// Neither an Iranian number nor written in international form.
    #[error(
        "not an Iranian number; numbers from other countries need + or 00 and the country code"
    )]
    NotIranian,
}

impl IranError {
    /// Stable, machine-readable rule code, used as the problem+json field error code.
    pub fn code(&self) -> &'static str {
        match self {
            IranError::InvalidLength { .. } => "invalid_length",
            IranError::InvalidFormat(_) => "invalid_format",
            IranError::InvalidChecksum => "invalid_checksum",
            IranError::RepeatedDigits => "repeated_digits",
            IranError::NotIranian => "not_iranian",
        }
    }

    /// This error as a problem on request field `field`.
    pub fn violation(&self, field: impl Into<String>) -> FieldViolation {
        FieldViolation::new(field, self.code(), self.to_string())
    }
}

/// Characters that may appear between digit groups and carry no meaning: whitespace
/// (including half-space), dashes, and bidirectional control marks.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '\u{2010}'..='\u{2015}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// The ASCII digits of `raw` after digit normalisation and with separators removed;
/// any other character is a format error.
fn ascii_digits(raw: &str) -> Result<String, IranError> {
    let mut digits = String::with_capacity(raw.len());
    for c in normalize_digits(raw).chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if !is_separator(c) {
            return Err(IranError::InvalidFormat(
                "only digits, spaces and dashes are allowed",
            ));
        }
    }
    Ok(digits)
}

/// Numeric values of an all-ASCII-digit string.
fn digit_values(digits: &str) -> Vec<u8> {
    digits.bytes().map(|b| b - b'0').collect()
}

fn all_same(digits: &str) -> bool {
    let mut bytes = digits.bytes();
    bytes
        .next()
        .is_some_and(|first| bytes.all(|byte| byte == first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_stable() {
        let cases = [
            (
                IranError::InvalidLength {
                    expected: "10",
                    found: 3,
                },
                "invalid_length",
            ),
            (IranError::InvalidFormat("x"), "invalid_format"),
            (IranError::InvalidChecksum, "invalid_checksum"),
            (IranError::RepeatedDigits, "repeated_digits"),
            (IranError::NotIranian, "not_iranian"),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code);
        }
    }

    #[test]
    fn errors_become_field_violations() {
        let violation = IranError::InvalidLength {
            expected: "10",
            found: 3,
        }
        .violation("national_code");
        assert_eq!(violation.field, "national_code");
        assert_eq!(violation.code, "invalid_length");
        assert_eq!(violation.message, "expected 10 digits, found 3");
    }

    #[test]
    fn separators_and_persian_digits_are_accepted() {
        assert_eq!(ascii_digits("۰۰۷-۶۲۲۹۶۴-۵").as_deref(), Ok("0076229645"));
        assert_eq!(
            ascii_digits("\u{200E}12 34\u{200C}5\u{200F}").as_deref(),
            Ok("12345")
        );
        assert_eq!(ascii_digits("12a45").unwrap_err().code(), "invalid_format");
        assert!(all_same("7777") && !all_same("7778") && !all_same(""));
    }
}
