//! Money: an integer count of the currency's smallest unit and the currency, never a
//! float. ISO 4217 decides which codes exist and how many decimals a unit has, except
//! that the Iranian rial is counted in whole rials: ISO lists two decimals, but no
//! sub-rial coin circulates and every Iranian price, invoice and bank statement is in
//! whole rials.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::settings::CurrencyDisplay;

/// An ISO 4217 currency, written as its three-letter code (`IRR`, `USD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// The Iranian rial, the default currency of a new installation.
    pub const IRR: Currency = Currency(iso_currency::Currency::IRR);

    /// The currency of a code, ignoring case and surrounding spaces.
    pub fn parse(code: &str) -> Option<Currency> {
        iso_currency::Currency::from_code(&code.trim().to_ascii_uppercase()).map(Currency)
    }

    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Decimals of one unit: how many minor units make a major one is 10^this.
    pub fn minor_unit_digits(self) -> u32 {
        if self == Currency::IRR {
            return 0;
        }
        // Funds and metals (XAU, XDR) have no minor unit.
        self.0.exponent().map_or(0, u32::from)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::parse(&code).ok_or_else(|| {
            serde::de::Error::custom(format!("`{code}` is not an ISO 4217 currency code"))
        })
    }
}

impl PartialSchema for Currency {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[A-Za-z]{3}$"))
            .description(Some("ISO 4217 currency code"))
            .examples([serde_json::json!("IRR")])
            .into()
    }
}

impl ToSchema for Currency {}

/// An amount as a report shows it: IRR in Toman (a tenth of the amount, with one
/// decimal when it is not whole) when the business asked for it, every other amount in
/// its major unit with the currency's decimals. Exact: made from the integer by
/// placing the decimal point, never through a float.
pub fn display_amount(
    minor: i64,
    currency: Currency,
    display: CurrencyDisplay,
) -> (String, &'static str) {
    if currency == Currency::IRR && display == CurrencyDisplay::Toman {
        return (with_decimals(minor, 1), "toman");
    }
    (
        with_decimals(minor, currency.minor_unit_digits()),
        currency.code(),
    )
}

/// An amount in its major unit with the currency's decimals and `separator` between
/// groups of three whole digits (`-1,234,567.50`), as printed documents show money.
pub fn grouped_amount(minor: i64, currency: Currency, separator: char) -> String {
    let plain = with_decimals(minor, currency.minor_unit_digits());
    let (sign, unsigned) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain.as_str()),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let mut grouped = String::with_capacity(plain.len() + whole.len() / 3);
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index).is_multiple_of(3) {
            grouped.push(separator);
        }
        grouped.push(digit);
    }
    match fraction {
        Some(fraction) => format!("{sign}{grouped}.{fraction}"),
        None => format!("{sign}{grouped}"),
    }
}

/// `minor` with the decimal point `digits` places from the right; trailing zero
/// decimals kept so that a column of amounts lines up, except for Toman whose tenth is
/// shown only when present.
fn with_decimals(minor: i64, digits: u32) -> String {
    if digits == 0 {
        return minor.to_string();
    }
    let scale = 10_i128.pow(digits);
    let value = i128::from(minor);
    let (whole, fraction) = (value / scale, (value % scale).abs());
    let sign = if value < 0 && whole == 0 { "-" } else { "" };
    if digits == 1 && fraction == 0 {
        return format!("{sign}{whole}");
    }
    format!("{sign}{whole}.{fraction:0width$}", width = digits as usize)
}

/// Why a written amount cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountError {
    /// Not a number (see [`crate::persian::decimal_text`]).
    NotANumber,
    /// More decimals than the unit has (a fraction of a rial, a tenth of a cent).
    TooPrecise { digits: u32 },
    /// Beyond what an amount in minor units can hold.
    OutOfRange,
}

impl AmountError {
    /// The rule's code in a field violation.
    pub fn code(self) -> &'static str {
        match self {
            AmountError::NotANumber => "invalid_number",
            AmountError::TooPrecise { .. } => "too_precise",
            AmountError::OutOfRange => "out_of_range",
        }
    }

    pub fn message(self) -> String {
        match self {
            AmountError::NotANumber => "is not an amount".into(),
            AmountError::TooPrecise { digits: 0 } => "must be a whole amount".into(),
            AmountError::TooPrecise { digits } => format!("must have at most {digits} decimals"),
            AmountError::OutOfRange => "is too large".into(),
        }
    }
}

/// An amount written in `currency`'s major unit (`12,500` rials, `19.99` dollars, with
/// Persian digits and thousands separators as people write them) in minor units.
/// Exact: the decimal point is moved on the digits, never through a float.
pub fn parse_major_amount(text: &str, currency: Currency) -> Result<i64, AmountError> {
    scaled(text, currency.minor_unit_digits())
}

/// An amount written in toman (one decimal at most) in rials.
pub fn parse_toman(text: &str) -> Result<i64, AmountError> {
    scaled(text, 1)
}

/// `text` times 10^`digits`, refusing more than `digits` decimals.
fn scaled(text: &str, digits: u32) -> Result<i64, AmountError> {
    let canonical = crate::persian::decimal_text(text).ok_or(AmountError::NotANumber)?;
    let (negative, unsigned) = match canonical.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, canonical.as_str()),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > digits as usize {
        return Err(AmountError::TooPrecise { digits });
    }
    let padded = format!("{whole}{fraction:0<width$}", width = digits as usize);
    let significant = padded.trim_start_matches('0');
    let magnitude: i64 = if significant.is_empty() {
        0
    } else {
        significant.parse().map_err(|_| AmountError::OutOfRange)?
    };
    Ok(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_amounts_group_whole_digits_in_threes() {
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(grouped_amount(123_456_750, usd, ','), "1,234,567.50");
        assert_eq!(grouped_amount(-5, usd, ','), "-0.05");
        assert_eq!(grouped_amount(12_500_000, Currency::IRR, '٬'), "12٬500٬000");
        assert_eq!(grouped_amount(999, Currency::IRR, ','), "999");
        assert_eq!(grouped_amount(-1_000, Currency::IRR, ','), "-1,000");
        assert_eq!(
            grouped_amount(i64::MIN, Currency::IRR, ','),
            "-9,223,372,036,854,775,808"
        );
    }

    #[test]
    fn codes_are_iso_4217_and_the_rial_has_no_minor_unit() {
        assert_eq!(Currency::parse(" irr "), Some(Currency::IRR));
        assert_eq!(Currency::IRR.minor_unit_digits(), 0);
        assert_eq!(Currency::parse("USD").unwrap().minor_unit_digits(), 2);
        assert_eq!(Currency::parse("KWD").unwrap().minor_unit_digits(), 3);
        assert_eq!(Currency::parse("JPY").unwrap().minor_unit_digits(), 0);
        assert_eq!(Currency::parse("TMN"), None);
        assert_eq!(Currency::parse(""), None);
        let parsed: Currency = serde_json::from_str("\"eur\"").unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), "\"EUR\"");
        assert!(serde_json::from_str::<Currency>("\"XYZ\"").is_err());
    }

    #[test]
    fn written_amounts_are_read_exactly_in_minor_units() {
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(parse_major_amount("۱۲٬۵۰۰", Currency::IRR), Ok(12_500));
        assert_eq!(
            parse_major_amount("1,250,000", Currency::IRR),
            Ok(1_250_000)
        );
        assert_eq!(parse_major_amount("12500.0", Currency::IRR), Ok(12_500));
        assert_eq!(
            parse_major_amount("12500.5", Currency::IRR),
            Err(AmountError::TooPrecise { digits: 0 })
        );
        assert_eq!(parse_major_amount("19.99", usd), Ok(1999));
        assert_eq!(parse_major_amount("19.9", usd), Ok(1990));
        assert_eq!(parse_major_amount("-0.05", usd), Ok(-5));
        assert_eq!(parse_major_amount(".5", usd), Ok(50));
        assert_eq!(parse_major_amount("0", usd), Ok(0));
        assert_eq!(parse_major_amount("000", usd), Ok(0));
        assert_eq!(
            parse_major_amount("19.999", usd),
            Err(AmountError::TooPrecise { digits: 2 })
        );
        assert_eq!(parse_major_amount("ده", usd), Err(AmountError::NotANumber));
        assert_eq!(
            parse_major_amount("92233720368547758.08", usd),
            Err(AmountError::OutOfRange)
        );
        assert_eq!(
            parse_major_amount("92233720368547758.07", usd),
            Ok(i64::MAX)
        );
        assert_eq!(parse_toman("۱۲۵٬۰۰۰"), Ok(1_250_000));
        assert_eq!(parse_toman("12.5"), Ok(125));
        assert_eq!(
            parse_toman("12.55"),
            Err(AmountError::TooPrecise { digits: 1 })
        );
        // Every displayed amount reads back as itself.
        for minor in [0, 7, -105, 1_250_005, i64::MAX] {
            let (shown, _) = display_amount(minor, usd, CurrencyDisplay::Rial);
            assert_eq!(parse_major_amount(&shown, usd), Ok(minor));
            let (shown, _) = display_amount(minor, Currency::IRR, CurrencyDisplay::Toman);
            assert_eq!(parse_toman(&shown), Ok(minor));
        }
    }

    #[test]
    fn amounts_display_exactly_in_toman_or_the_major_unit() {
        let toman = CurrencyDisplay::Toman;
        let rial = CurrencyDisplay::Rial;
        assert_eq!(
            display_amount(1_250_000, Currency::IRR, toman),
            ("125000".into(), "toman")
        );
        assert_eq!(
            display_amount(1_250_005, Currency::IRR, toman),
            ("125000.5".into(), "toman")
        );
        assert_eq!(
            display_amount(1_250_005, Currency::IRR, rial),
            ("1250005".into(), "IRR")
        );
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(display_amount(1999, usd, toman), ("19.99".into(), "USD"));
        assert_eq!(display_amount(-5, usd, toman), ("-0.05".into(), "USD"));
        assert_eq!(display_amount(-105, usd, toman), ("-1.05".into(), "USD"));
        assert_eq!(
            display_amount(i64::MAX, usd, toman).0,
            "92233720368547758.07"
        );
    }
}
