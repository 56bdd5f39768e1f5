//! Phone numbers: Iranian mobiles and landlines, and foreign numbers, in E.164.
//!
//! The rules are written here rather than taken from the `phonenumber` crate (a port of
//! libphonenumber): that crate brings regex and the metadata of every country into the
//! domain crate for what is, for Iran, a fixed numbering plan of ten national digits
//! (Communications Regulatory Authority): mobiles start with 9 (9xx operator prefix and
//! seven subscriber digits), landlines with a two-digit area code 1x–8x and an
//! eight-digit subscriber number. Foreign numbers are only checked for E.164 shape,
//! which is all the CRM needs to store and dial them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{is_separator, IranError};
use crate::persian::normalize_digits;

/// What kind of line a number is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhoneKind {
    /// An Iranian mobile number (+989…).
    Mobile,
    /// An Iranian fixed line (+98 and an area code 1x–8x).
    Landline,
    /// A number outside Iran; its line type is not checked.
    Foreign,
}

/// A phone number in E.164 form (`+` and up to fifteen digits, no spaces).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct Phone {
    /// The number as `+<country code><national number>`, e.g. `+989121234567`.
    #[schema(example = "+989121234567")]
    pub e164: String,
    pub kind: PhoneKind,
}

const IRAN_COUNTRY_CODE: &str = "98";
const IRAN_NATIONAL_DIGITS: usize = 10;

/// Normalises a phone number to E.164. Numbers without an international prefix are
/// read as Iranian (the business's default region).
///
/// Accepted forms, with any spaces, dashes, dots, parentheses and Persian or
/// Arabic-Indic digits:
/// - Iranian mobile: `09121234567`, `9121234567`, `+989121234567`, `00989121234567`,
///   `989121234567` → `+989121234567`;
/// - Iranian landline: `021-12345678`, `02112345678`, `+982112345678`,
///   `00982112345678`, `982112345678` → `+982112345678`. Without the leading 0 a
///   landline is rejected: ten digits not starting with 9 are too often a foreign
///   number typed without its prefix;
/// - the common `+98 (0) 912…` slip is accepted: one 0 after 98 is dropped;
/// - foreign: `+` or `00`, a country code other than 98 (never starting with 0), and 8
///   to 15 digits in all → `+<digits>`.
///
/// Normalising the `e164` of a result gives the same result again.
pub fn normalize_phone(raw: &str) -> Result<Phone, IranError> {
    let (has_plus, digits) = split_plus_and_digits(raw)?;
    let international = if has_plus {
        Some(digits.as_str())
    } else {
        digits.strip_prefix("00")
    };
    match international {
        Some(number) => match number.strip_prefix(IRAN_COUNTRY_CODE) {
            Some(national) if national.len() == IRAN_NATIONAL_DIGITS + 1 => {
                iranian(national.strip_prefix('0').unwrap_or(national))
            }
            Some(national) => iranian(national),
            None => foreign(number),
        },
        None => iranian(national_number(&digits)?),
    }
}

/// Whether the number began with `+`, and its ASCII digits. Separators may appear
/// anywhere; `+` only before the first digit.
fn split_plus_and_digits(raw: &str) -> Result<(bool, String), IranError> {
    let mut has_plus = false;
    let mut digits = String::with_capacity(raw.len());
    for c in normalize_digits(raw).chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if !has_plus && digits.is_empty() => has_plus = true,
            '(' | ')' | '.' | '/' => {}
            c if is_separator(c) => {}
            _ => {
                return Err(IranError::InvalidFormat(
                    "only digits, a leading +, spaces, dashes, dots and parentheses are allowed",
                ))
            }
        }
    }
    Ok((has_plus, digits))
}

/// The ten national digits of a number written without an international prefix.
fn national_number(digits: &str) -> Result<&str, IranError> {
    if let Some(national) = digits.strip_prefix('0') {
        return match national.len() {
            IRAN_NATIONAL_DIGITS => Ok(national),
            found => Err(IranError::InvalidLength {
                expected: "11",
                found: found + 1,
            }),
        };
    }
    if let Some(national) = digits.strip_prefix(IRAN_COUNTRY_CODE) {
        if national.len() == IRAN_NATIONAL_DIGITS {
            return Ok(national);
        }
    }
    match (digits.starts_with('9'), digits.len()) {
        (true, IRAN_NATIONAL_DIGITS) => Ok(digits),
        (true, found) => Err(IranError::InvalidLength {
            expected: "11",
            found,
        }),
        (false, 0) => Err(IranError::InvalidLength {
            expected: "11",
            found: 0,
        }),
        (false, IRAN_NATIONAL_DIGITS) => Err(IranError::InvalidFormat(
            "an Iranian landline needs its leading 0 and area code, as in 021 1234 5678",
        )),
        (false, _) => Err(IranError::NotIranian),
    }
}

fn iranian(national: &str) -> Result<Phone, IranError> {
    if national.len() != IRAN_NATIONAL_DIGITS {
        return Err(IranError::InvalidLength {
            expected: "10 after the country code 98",
            found: national.len(),
        });
    }
    let kind = match national.as_bytes()[0] {
        b'9' => PhoneKind::Mobile,
        b'1'..=b'8' => PhoneKind::Landline,
        _ => {
            return Err(IranError::InvalidFormat(
                "an Iranian number starts with 9 (mobile) or an area code 11 to 87",
            ))
        }
    };
    Ok(Phone {
        e164: format!("+{IRAN_COUNTRY_CODE}{national}"),
        kind,
    })
}

fn foreign(number: &str) -> Result<Phone, IranError> {
    if !(8..=15).contains(&number.len()) {
        return Err(IranError::InvalidLength {
            expected: "8 to 15",
            found: number.len(),
        });
    }
    if number.starts_with('0') {
        return Err(IranError::InvalidFormat(
            "a country code never starts with 0",
        ));
    }
    Ok(Phone {
        e164: format!("+{number}"),
        kind: PhoneKind::Foreign,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn e164(raw: &str) -> Result<(String, PhoneKind), &'static str> {
        normalize_phone(raw)
            .map(|phone| (phone.e164, phone.kind))
            .map_err(|error| error.code())
    }

    #[test]
    fn iranian_mobiles_in_every_common_form() {
        let expected = Ok(("+989121234567".to_string(), PhoneKind::Mobile));
        for raw in [
            "09121234567",
            "9121234567",
            "+989121234567",
            "00989121234567",
            "989121234567",
            "0912 123 4567",
            "0912-123-4567",
            "(0912) 123-4567",
            "+98 912 123 4567",
            "+98 (0) 912 123 4567",
            "۰۹۱۲۱۲۳۴۵۶۷",
            "٠٩١٢١٢٣٤٥٦٧",
            "\u{200E}+۹۸ ۹۱۲ ۱۲۳ ۴۵۶۷\u{200F}",
        ] {
            assert_eq!(e164(raw), expected, "{raw}");
        }
    }

    #[test]
    fn iranian_landlines_in_every_common_form() {
        let expected = Ok(("+982112345678".to_string(), PhoneKind::Landline));
        for raw in [
            "021-12345678",
            "02112345678",
            "+982112345678",
            "00982112345678",
            "982112345678",
            "(021) 1234 5678",
            "۰۲۱-۱۲۳۴۵۶۷۸",
        ] {
            assert_eq!(e164(raw), expected, "{raw}");
        }
        assert_eq!(
            e164("031-32123456"),
            Ok(("+983132123456".to_string(), PhoneKind::Landline))
        );
    }

    #[test]
    fn foreign_numbers_need_an_international_prefix() {
        let uk = Ok(("+447911123456".to_string(), PhoneKind::Foreign));
        assert_eq!(e164("+44 7911 123456"), uk);
        assert_eq!(e164("0044 7911 123456"), uk);
        assert_eq!(
            e164("+1 (212) 555-1234"),
            Ok(("+12125551234".to_string(), PhoneKind::Foreign))
        );
        assert_eq!(e164("447911123456"), Err("not_iranian"));
        assert_eq!(e164("12125551234"), Err("not_iranian"));
    }

    #[test]
    fn bad_numbers_are_rejected_with_their_rule() {
        assert_eq!(e164(""), Err("invalid_length"));
        assert_eq!(e164("0912123456"), Err("invalid_length"));
        assert_eq!(e164("091212345678"), Err("invalid_length"));
        assert_eq!(e164("912123456"), Err("invalid_length"));
        assert_eq!(e164("+98912123456"), Err("invalid_length"));
        assert_eq!(e164("+9891212345678"), Err("invalid_length"));
        assert_eq!(e164("2112345678"), Err("invalid_format"));
        assert_eq!(e164("00123"), Err("invalid_length"));
        assert_eq!(e164("+1234567890123456"), Err("invalid_length"));
        assert_eq!(e164("+0441234567"), Err("invalid_format"));
        assert_eq!(e164("+980012345678"), Err("invalid_format"));
        assert_eq!(e164("0912 123 4567 ext 2"), Err("invalid_format"));
        assert_eq!(e164("0912+1234567"), Err("invalid_format"));
        assert_eq!(e164("++989121234567"), Err("invalid_format"));
    }

    #[test]
    fn phones_serialise_with_snake_case_kinds() {
        let phone = normalize_phone("09121234567").map_err(|e| e.to_string());
        let json = phone.and_then(|p| serde_json::to_string(&p).map_err(|e| e.to_string()));
        assert_eq!(
            json.as_deref(),
            Ok(r#"{"e164":"+989121234567","kind":"mobile"}"#)
        );
    }

    fn digits(len: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(0..10u8, len)
            .prop_map(|ds| ds.iter().map(|d| char::from(b'0' + d)).collect())
    }

    proptest! {
        #[test]
        fn iranian_numbers_round_trip_through_e164(
            first in 1..10u8,
            rest in digits(9),
            written_as in 0..4usize,
        ) {
            let national = format!("{first}{rest}");
            let raw = match written_as {
                0 => format!("0{national}"),
                1 => format!("+98 {national}"),
                2 => format!("0098-{national}"),
                _ => format!("98{national}"),
            };
            let phone = normalize_phone(&raw);
            let expected_kind = if first == 9 { PhoneKind::Mobile } else { PhoneKind::Landline };
            prop_assert_eq!(phone.as_ref().map(|p| p.kind), Ok(expected_kind));
            if let Ok(phone) = phone {
                prop_assert_eq!(&phone.e164, &format!("+98{national}"));
                prop_assert_eq!(normalize_phone(&phone.e164), Ok(phone));
            }
        }

        #[test]
        fn foreign_numbers_round_trip_through_e164(
            first in 1..10u8,
            rest in (7..15usize).prop_flat_map(digits),
        ) {
            let number = format!("{first}{rest}");
            prop_assume!(!number.starts_with("98"));
            let phone = normalize_phone(&format!("00{number}"));
            prop_assert_eq!(phone.as_ref().map(|p| p.kind), Ok(PhoneKind::Foreign));
            if let Ok(phone) = phone {
                prop_assert_eq!(normalize_phone(&phone.e164), Ok(phone));
            }
        }

        #[test]
        fn normalisation_never_panics_and_is_idempotent(raw in any::<String>()) {
            if let Ok(phone) = normalize_phone(&raw) {
                prop_assert_eq!(normalize_phone(&phone.e164), Ok(phone));
            }
        }
    }
}
