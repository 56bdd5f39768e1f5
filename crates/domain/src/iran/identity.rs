//! National code, legal-entity national id and postal code.

use super::{all_same, ascii_digits, digit_values, IranError};

/// Check digit of a national code from its first nine digits: with
/// s = Σ dᵢ·(10 − i) for i = 0..8 and r = s mod 11, the check digit is r when r < 2
/// and 11 − r otherwise. This is the algorithm of the National Organization for Civil
/// Registration as documented by every public implementation (e.g. the persian-tools
/// libraries). Useful to generate valid codes for demo data and tests.
pub fn national_code_check_digit(first_nine: [u8; 9]) -> u8 {
    let sum: u32 = first_nine
        .iter()
        .zip((2..=10).rev())
        .map(|(&digit, weight)| u32::from(digit) * weight)
        .sum();
    let remainder = (sum % 11) as u8;
    if remainder < 2 {
        remainder
    } else {
        11 - remainder
    }
}

/// Validates an Iranian national code (کد ملی) and returns its ten ASCII digits.
///
/// Rules: Persian/Arabic-Indic digits, spaces and dashes are accepted (the card prints
/// `123-456789-0`); 8 or 9 digits are left-padded with zeros, because spreadsheets and
/// older systems drop the leading zeros of codes issued in Tehran (prefixes 001–008)
/// and the padding is what every common validator does; the result must have ten
/// digits, not all the same (1111111111 passes the checksum but is never issued), and
/// a check digit matching [`national_code_check_digit`].
pub fn validate_national_code(raw: &str) -> Result<String, IranError> {
    let digits = ascii_digits(raw)?;
    let code = match digits.len() {
        10 => digits,
        8 | 9 => format!("{digits:0>10}"),
        found => {
            return Err(IranError::InvalidLength {
                expected: "10",
                found,
            })
        }
    };
    if all_same(&code) {
        return Err(IranError::RepeatedDigits);
    }
    let values = digit_values(&code);
    let mut first_nine = [0; 9];
    first_nine.copy_from_slice(&values[..9]);
    if national_code_check_digit(first_nine) != values[9] {
        return Err(IranError::InvalidChecksum);
    }
    Ok(code)
}

/// Check digit of a legal-entity national id from its first ten digits: with
/// d = digit₉ + 2 and weights 29, 27, 23, 19, 17 repeated twice,
/// s = Σ (digitᵢ + d)·wᵢ for i = 0..9 and r = s mod 11, the check digit is r, except
/// that r = 10 gives 0. This is the algorithm published with the national id for
/// legal persons (Iran's Registration of Deeds and Properties) and implemented by the
/// persian-tools libraries, whose published valid example 10380284790 is in the tests.
pub fn legal_entity_check_digit(first_ten: [u8; 10]) -> u8 {
    const WEIGHTS: [u32; 10] = [29, 27, 23, 19, 17, 29, 27, 23, 19, 17];
    let decade = u32::from(first_ten[9]) + 2;
    let sum: u32 = first_ten
        .iter()
        .zip(WEIGHTS)
        .map(|(&digit, weight)| (u32::from(digit) + decade) * weight)
        .sum();
    match (sum % 11) as u8 {
        10 => 0,
        remainder => remainder,
    }
}

/// Validates an Iranian legal-entity national id (شناسه ملی اشخاص حقوقی) and returns
/// its eleven ASCII digits: exactly eleven digits (no padding: these ids never start
/// with 0), not all the same, and a check digit matching
/// [`legal_entity_check_digit`].
pub fn validate_legal_entity_id(raw: &str) -> Result<String, IranError> {
    let id = ascii_digits(raw)?;
    if id.len() != 11 {
        return Err(IranError::InvalidLength {
            expected: "11",
            found: id.len(),
        });
    }
    if all_same(&id) {
        return Err(IranError::RepeatedDigits);
    }
    let values = digit_values(&id);
    let mut first_ten = [0; 10];
    first_ten.copy_from_slice(&values[..10]);
    if legal_entity_check_digit(first_ten) != values[10] {
        return Err(IranError::InvalidChecksum);
    }
    Ok(id)
}

/// Validates an Iranian postal code (کد پستی) and returns its ten ASCII digits.
///
/// Rules: ten digits (written `NNNNN-NNNNN` or with a space, which is accepted); the
/// first five digits (the sorting area) never contain 0 or 2, which Iran Post leaves
/// out there because handwritten they are confused with 5 and 3; not all digits the
/// same. Stricter rules seen in some regular expressions (no 5 in the fifth digit, no 2
/// in the last five) are not published by Iran Post and are not applied.
pub fn validate_postal_code(raw: &str) -> Result<String, IranError> {
    let code = ascii_digits(raw)?;
    if code.len() != 10 {
        return Err(IranError::InvalidLength {
            expected: "10",
            found: code.len(),
        });
    }
    if code[..5].contains(['0', '2']) {
        return Err(IranError::InvalidFormat(
            "the first five digits of an Iranian postal code never contain 0 or 2",
        ));
    }
    if all_same(&code) {
        return Err(IranError::RepeatedDigits);
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code_of(first_nine: [u8; 9]) -> String {
        let check = national_code_check_digit(first_nine);
        first_nine
            .iter()
            .chain([check].iter())
            .map(|d| char::from(b'0' + d))
            .collect()
    }

    fn error_code<T>(result: Result<T, IranError>) -> &'static str {
        result.err().map_or("ok", |error| error.code())
    }

    #[test]
    fn published_national_codes_are_valid() {
        // Valid examples from the persian-tools documentation and tests.
        for code in ["0076229645", "1583250689", "0011537027"] {
            assert_eq!(validate_national_code(code).as_deref(), Ok(code));
        }
        assert_eq!(
            validate_national_code("11537027").as_deref(),
            Ok("0011537027")
        );
        assert_eq!(
            validate_national_code("011537027").as_deref(),
            Ok("0011537027")
        );
        assert_eq!(
            validate_national_code("۰۰۷۶۲۲۹۶۴۵").as_deref(),
            Ok("0076229645")
        );
        assert_eq!(
            validate_national_code(" 007-622964-5 ").as_deref(),
            Ok("0076229645")
        );
    }

    #[test]
    fn computed_national_codes_are_valid() {
        assert_eq!(code_of([1, 2, 3, 4, 5, 6, 7, 8, 9]), "1234567891");
        assert_eq!(code_of([0, 0, 7, 6, 2, 2, 9, 6, 4]), "0076229645");
        for first_nine in [[4, 9, 9, 3, 7, 0, 8, 9, 9], [0, 0, 0, 0, 0, 0, 0, 0, 1]] {
            let code = code_of(first_nine);
            assert_eq!(validate_national_code(&code), Ok(code));
        }
    }

    #[test]
    fn bad_national_codes_are_rejected_with_their_rule() {
        assert_eq!(
            error_code(validate_national_code("0076229646")),
            "invalid_checksum"
        );
        assert_eq!(
            error_code(validate_national_code("1234567890")),
            "invalid_checksum"
        );
        assert_eq!(
            error_code(validate_national_code("1111111111")),
            "repeated_digits"
        );
        assert_eq!(
            error_code(validate_national_code("00000000")),
            "repeated_digits"
        );
        assert_eq!(error_code(validate_national_code("")), "invalid_length");
        assert_eq!(
            error_code(validate_national_code("1234567")),
            "invalid_length"
        );
        assert_eq!(
            error_code(validate_national_code("00762296451")),
            "invalid_length"
        );
        assert_eq!(
            error_code(validate_national_code("007622964x")),
            "invalid_format"
        );
        assert_eq!(
            error_code(validate_national_code("+0076229645")),
            "invalid_format"
        );
    }

    #[test]
    fn legal_entity_ids_are_validated() {
        // Published valid example from the persian-tools libraries.
        assert_eq!(
            validate_legal_entity_id("10380284790").as_deref(),
            Ok("10380284790")
        );
        assert_eq!(
            validate_legal_entity_id("۱۰۳۸۰۲۸۴۷۹۰").as_deref(),
            Ok("10380284790")
        );
        assert_eq!(legal_entity_check_digit([1, 0, 3, 8, 0, 2, 8, 4, 7, 9]), 0);
        assert_eq!(
            error_code(validate_legal_entity_id("10380284792")),
            "invalid_checksum"
        );
        assert_eq!(
            error_code(validate_legal_entity_id("10380285692")),
            "invalid_checksum"
        );
        assert_eq!(
            error_code(validate_legal_entity_id("11111111111")),
            "repeated_digits"
        );
        assert_eq!(
            error_code(validate_legal_entity_id("1038028479")),
            "invalid_length"
        );
        assert_eq!(
            error_code(validate_legal_entity_id("1038028479a")),
            "invalid_format"
        );
    }

    #[test]
    fn postal_codes_are_validated() {
        assert_eq!(
            validate_postal_code("1193653471").as_deref(),
            Ok("1193653471")
        );
        assert_eq!(
            validate_postal_code("۱۳۱۴۵-۶۷۸۹۰").as_deref(),
            Ok("1314567890")
        );
        assert_eq!(
            validate_postal_code("13145 67890").as_deref(),
            Ok("1314567890")
        );
        assert_eq!(
            error_code(validate_postal_code("1023456789")),
            "invalid_format"
        );
        assert_eq!(
            error_code(validate_postal_code("1192356789")),
            "invalid_format"
        );
        assert_eq!(
            error_code(validate_postal_code("1111111111")),
            "repeated_digits"
        );
        assert_eq!(
            error_code(validate_postal_code("131456789")),
            "invalid_length"
        );
        assert_eq!(
            error_code(validate_postal_code("13145#67890")),
            "invalid_format"
        );
    }

    proptest! {
        #[test]
        fn generated_national_codes_validate(first_nine in any::<[u8; 9]>()) {
            let first_nine = first_nine.map(|d| d % 10);
            let code = code_of(first_nine);
            prop_assume!(!all_same(&code));
            prop_assert_eq!(validate_national_code(&code), Ok(code));
        }

        /// Weights 10..2 and any change of one digit are non-zero mod 11, so a single
        /// changed digit always changes r. Only r = 1 and r = 10 share a check digit
        /// (1), so a changed code stays valid only when its check digit is 1 and a body
        /// digit moved r between 1 and 10; changing the check digit itself never does.
        #[test]
        fn one_changed_digit_invalidates_a_national_code(
            first_nine in any::<[u8; 9]>(),
            position in 0..10usize,
            shift in 1..10u8,
        ) {
            let code = code_of(first_nine.map(|d| d % 10));
            prop_assume!(!all_same(&code));
            let mut changed = code.clone().into_bytes();
            changed[position] = b'0' + (changed[position] - b'0' + shift) % 10;
            let changed = String::from_utf8(changed).unwrap_or_default();
            if validate_national_code(&changed).is_ok() {
                prop_assert!(position < 9);
                prop_assert!(code.ends_with('1'));
            }
        }

        #[test]
        fn generated_legal_entity_ids_validate(first_ten in any::<[u8; 10]>(), shift in 1..10u8) {
            let first_ten = first_ten.map(|d| d % 10);
            let check = legal_entity_check_digit(first_ten);
            let id: String = first_ten
                .iter()
                .chain([check].iter())
                .map(|d| char::from(b'0' + d))
                .collect();
            prop_assume!(!all_same(&id));
            prop_assert_eq!(validate_legal_entity_id(&id), Ok(id.clone()));
            let wrong_check = char::from(b'0' + (check + shift) % 10);
            let wrong = format!("{}{wrong_check}", &id[..10]);
            prop_assert!(validate_legal_entity_id(&wrong).is_err());
        }

        #[test]
        fn validators_never_panic(raw in any::<String>()) {
            let _ = validate_national_code(&raw);
            let _ = validate_legal_entity_id(&raw);
            let _ = validate_postal_code(&raw);
        }
    }
}
