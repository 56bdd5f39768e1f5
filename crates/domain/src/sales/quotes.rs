//! Quotes (S-6): a priced proposal for a deal, with product lines, a validity date and
//! a human number. The rules here need no lookup: what a quote must look like, how its
//! lines and tax are priced (on top of the order pricing of
//! [`crate::commerce::orders::price_lines`]), which status changes are allowed, when a
//! quote has expired and how its number is written.
//!
//! Tax is a rate per line in basis points (1/100 of a percent: 900 is 9 %, Iran's VAT
//! of 1402 on is 1000), applied to the line's amount after its discount and rounded
//! half up to the minor unit, line by line; the quote's tax is the sum of the lines'.
//! Per line, because that is what an invoice printed from the quote shows and sums.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::calendar::JalaliDate;
use crate::commerce::orders::{check_line, price_lines, LineAmounts};
use crate::customers::snake_names;
use crate::reports::check_report_day;
use crate::validation::{FieldViolation, Violations};

/// Most lines one quote may hold.
pub const MAX_LINES: usize = 200;
/// Largest tax rate, in basis points: 100 %.
pub const MAX_TAX_RATE: i32 = 10_000;
const BASIS_POINTS: i128 = 10_000;
const MAX_NOTES_CHARS: usize = 5000;

/// Where a quote stands. `expired` is never stored: a draft or sent quote whose
/// `valid_until` has passed reads as expired ([`QuoteStatus::effective`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuoteStatus {
    /// Being written: the only status in which lines, validity and notes change.
    Draft,
    /// Given to the customer.
    Sent,
    Accepted,
    Rejected,
    /// Past its validity without a decision.
    Expired,
}

snake_names!(QuoteStatus {
    Draft => "draft",
    Sent => "sent",
    Accepted => "accepted",
    Rejected => "rejected",
    Expired => "expired",
});

impl QuoteStatus {
    /// The status a quote stored as `self`, valid until `valid_until`, has on `today`
    /// (the business's local date): undecided quotes expire the day after their last
    /// valid day.
    pub fn effective(self, valid_until: NaiveDate, today: NaiveDate) -> QuoteStatus {
        match self {
            QuoteStatus::Draft | QuoteStatus::Sent if today > valid_until => QuoteStatus::Expired,
            other => other,
        }
    }

    /// Whether a quote whose status reads `self` may be moved to `to`: a draft is sent;
    /// a sent quote is accepted or rejected. Nothing leaves a decided or expired quote.
    pub fn may_become(self, to: QuoteStatus) -> bool {
        matches!(
            (self, to),
            (QuoteStatus::Draft, QuoteStatus::Sent)
                | (
                    QuoteStatus::Sent,
                    QuoteStatus::Accepted | QuoteStatus::Rejected
                )
        )
    }
}

/// A line of a quote, as a client writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteLineInput {
    pub product_id: Uuid,
    /// Units, 1 to 1,000,000.
    pub quantity: i64,
    /// Price of one unit in minor units; defaults to the product's price.
    #[serde(default)]
    pub unit_price: Option<i64>,
    /// Off the whole line, in minor units; at most quantity × unit price.
    #[serde(default)]
    pub discount: i64,
    /// Tax on the line after its discount, in basis points (1000 = 10 %), 0 to 10000.
    #[serde(default)]
    pub tax_rate: i32,
}

/// Everything a client writes on a quote; also the document a merge patch of a draft
/// applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "deal_id": "0193a4e2-7c1d-7b3e-9f10-cccccccccccc",
    "valid_until": "2027-06-30",
    "lines": [
        {"product_id": "0193a4e2-7c1d-7b3e-9f10-ffffffffffff", "quantity": 2, "discount": 100000, "tax_rate": 1000}
    ],
    "notes": "پرداخت در دو قسط"
}))]
pub struct QuoteInput {
    /// A deal the caller may see; fixed once the quote exists.
    pub deal_id: Uuid,
    /// The last local day the offer holds; from the next day an undecided quote is
    /// `expired`.
    pub valid_until: NaiveDate,
    /// 1 to 200 lines.
    pub lines: Vec<QuoteLineInput>,
    /// Printed on the quote.
    #[serde(default)]
    pub notes: Option<String>,
    /// The grand total the client computed, in minor units; answered with a 422 when it
    /// differs from the server's.
    #[serde(default)]
    pub total: Option<i64>,
}

impl QuoteInput {
    /// The quote in stored form (notes tidied), or every broken rule that needs no
    /// lookup. Prices are checked by [`price_quote`] once products are known.
    pub fn validated(mut self) -> Result<QuoteInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        v.tidy_text("notes", &mut self.notes, MAX_NOTES_CHARS);
        if let Err(violation) = check_report_day("valid_until", self.valid_until) {
            v.0.push(violation);
        }
        if self.lines.is_empty() || self.lines.len() > MAX_LINES {
            v.push(
                "lines",
                "invalid_length",
                format!("must hold 1 to {MAX_LINES} lines"),
            );
        }
        for (index, line) in self.lines.iter().enumerate() {
            check_line(&mut v, index, line.quantity, line.unit_price, line.discount);
            if !(0..=MAX_TAX_RATE).contains(&line.tax_rate) {
                v.push(
                    format!("lines[{index}].tax_rate"),
                    "out_of_range",
                    format!("must be 0 to {MAX_TAX_RATE} basis points"),
                );
            }
        }
        v.into_result().map(|()| self)
    }
}

/// A line's figures once its unit price is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuoteLineAmounts {
    pub amounts: LineAmounts,
    /// Basis points.
    pub tax_rate: i32,
}

/// A priced line, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PricedLine {
    /// quantity × unit price − discount.
    pub net: i64,
    /// net × tax rate, rounded half up.
    pub tax: i64,
    /// net + tax.
    pub total: i64,
}

/// A quote's totals, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuoteTotals {
    /// Σ quantity × unit price.
    pub subtotal: i64,
    /// Σ line discounts.
    pub discount_total: i64,
    /// Σ line taxes.
    pub tax_total: i64,
    /// subtotal − discount_total + tax_total.
    pub total: i64,
}

/// The tax on `net` at `rate` basis points, rounded half up to the minor unit (net is
/// never negative, so half up is half away from zero): 0.5 of a rial or a cent is one.
pub fn line_tax(net: i64, rate: i32) -> Option<i64> {
    let scaled = i128::from(net) * i128::from(rate);
    i64::try_from((scaled + BASIS_POINTS / 2).div_euclid(BASIS_POINTS)).ok()
}

/// Each line priced and the quote's totals, checked against the claimed grand total;
/// or the lines whose figures break a rule (as orders'), an amount beyond 64 bits, or
/// a `total` that differs.
pub fn price_quote(
    lines: &[QuoteLineAmounts],
    claimed: Option<i64>,
) -> Result<(Vec<PricedLine>, QuoteTotals), Vec<FieldViolation>> {
    let amounts: Vec<LineAmounts> = lines.iter().map(|line| line.amounts).collect();
    let (nets, order_totals) = price_lines(&amounts)?;
    let mut priced = Vec::with_capacity(lines.len());
    let mut tax_total: i64 = 0;
    for (line, net) in lines.iter().zip(nets) {
        let tax = line_tax(net, line.tax_rate);
        let total = tax.and_then(|tax| net.checked_add(tax));
        let (Some(tax), Some(total)) = (tax, total) else {
            return Err(too_large());
        };
        tax_total = tax_total.checked_add(tax).ok_or_else(too_large)?;
        priced.push(PricedLine { net, tax, total });
    }
    let total = order_totals
        .total
        .checked_add(tax_total)
        .ok_or_else(too_large)?;
    if let Some(claimed) = claimed.filter(|claimed| *claimed != total) {
        return Err(vec![FieldViolation::new(
            "total",
            "mismatch",
            format!("is {claimed} but the lines add up to {total}"),
        )]);
    }
    Ok((
        priced,
        QuoteTotals {
            subtotal: order_totals.subtotal,
            discount_total: order_totals.discount_total,
            tax_total,
            total,
        },
    ))
}

fn too_large() -> Vec<FieldViolation> {
    vec![FieldViolation::new(
        "lines",
        "too_large",
        "the quote's total is beyond the largest amount",
    )]
}

/// The year a quote created on local day `today` is numbered in: the Jalali year, as
/// Iranian invoices are.
pub fn numbering_year(today: NaiveDate) -> i32 {
    JalaliDate::from_gregorian(today).year()
}

/// A quote's number: `Q-`, the Jalali year and the quote's place in that year, six
/// digits at least (`Q-1405-000123`).
pub fn quote_number(year: i32, sequence: i64) -> String {
    format!("Q-{year}-{sequence:06}")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn line(quantity: i64, unit_price: i64, discount: i64, tax_rate: i32) -> QuoteLineAmounts {
        QuoteLineAmounts {
            amounts: LineAmounts {
                quantity,
                unit_price,
                discount,
            },
            tax_rate,
        }
    }

    #[test]
    fn totals_add_discounts_and_tax_rounded_half_up_per_line() {
        // 3 × 1,250,000 − 50,000 = 3,700,000 at 10 %: 370,000.
        // 7 × 333 − 0 = 2,331 at 9 %: 209.79 → 210.
        // 1 × 5 = 5 at 10 %: 0.5 → 1 (half up).
        // 1 × 4 = 4 at 10 %: 0.4 → 0.
        let (lines, totals) = price_quote(
            &[
                line(3, 1_250_000, 50_000, 1000),
                line(7, 333, 0, 900),
                line(1, 5, 0, 1000),
                line(1, 4, 0, 1000),
            ],
            Some(4_072_551),
        )
        .unwrap();
        assert_eq!(
            lines,
            vec![
                PricedLine {
                    net: 3_700_000,
                    tax: 370_000,
                    total: 4_070_000
                },
                PricedLine {
                    net: 2_331,
                    tax: 210,
                    total: 2_541
                },
                PricedLine {
                    net: 5,
                    tax: 1,
                    total: 6
                },
                PricedLine {
                    net: 4,
                    tax: 0,
                    total: 4
                },
            ]
        );
        assert_eq!(
            totals,
            QuoteTotals {
                subtotal: 3_752_340,
                discount_total: 50_000,
                tax_total: 370_211,
                total: 4_072_551,
            }
        );
    }

    #[test]
    fn a_claimed_total_that_differs_and_overflow_are_refused() {
        let err = price_quote(&[line(1, 100, 0, 1000)], Some(100)).unwrap_err();
        assert_eq!(
            (err[0].field.as_str(), err[0].code.as_str()),
            ("total", "mismatch")
        );
        let err = price_quote(&[line(1, i64::MAX, 0, 10_000)], None).unwrap_err();
        assert_eq!(
            (err[0].field.as_str(), err[0].code.as_str()),
            ("lines", "too_large")
        );
        let err = price_quote(&[line(1, 100, 101, 0)], None).unwrap_err();
        assert_eq!(err[0].field, "lines[0].discount");
    }

    #[test]
    fn inputs_are_checked_before_any_lookup() {
        let input = QuoteInput {
            deal_id: Uuid::now_v7(),
            valid_until: NaiveDate::from_ymd_opt(1800, 1, 1).unwrap(),
            lines: vec![QuoteLineInput {
                product_id: Uuid::now_v7(),
                quantity: -1,
                unit_price: None,
                discount: 0,
                tax_rate: 10_001,
            }],
            notes: Some("a\u{7}".into()),
            total: None,
        };
        let fields: Vec<String> = input
            .validated()
            .unwrap_err()
            .into_iter()
            .map(|v| format!("{}:{}", v.field, v.code))
            .collect();
        assert_eq!(
            fields,
            vec![
                "notes:control_character",
                "valid_until:out_of_range",
                "lines[0].quantity:out_of_range",
                "lines[0].tax_rate:out_of_range",
            ]
        );
    }

    #[test]
    fn only_drafts_are_sent_and_only_sent_quotes_decided_before_they_expire() {
        use QuoteStatus::*;
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        assert_eq!(Draft.effective(day(10), day(10)), Draft);
        assert_eq!(Sent.effective(day(10), day(11)), Expired);
        assert_eq!(Draft.effective(day(10), day(11)), Expired);
        assert_eq!(Accepted.effective(day(10), day(11)), Accepted);
        assert!(Draft.may_become(Sent));
        assert!(Sent.may_become(Accepted));
        assert!(Sent.may_become(Rejected));
        assert!(!Draft.may_become(Accepted));
        assert!(!Accepted.may_become(Rejected));
        assert!(!Expired.may_become(Accepted));
        assert!(!Sent.may_become(Expired));
    }

    #[test]
    fn numbers_carry_the_jalali_year() {
        // 2027-03-21 is 1 Farvardin 1406.
        let nowruz = NaiveDate::from_ymd_opt(2027, 3, 21).unwrap();
        assert_eq!(numbering_year(nowruz), 1406);
        assert_eq!(numbering_year(nowruz.pred_opt().unwrap()), 1405);
        assert_eq!(quote_number(1405, 123), "Q-1405-000123");
        assert_eq!(quote_number(1405, 1_234_567), "Q-1405-1234567");
    }

    proptest! {
        #[test]
        fn the_total_is_the_sum_of_line_totals(
            lines in prop::collection::vec((1_i64..1000, 0_i64..10_000_000, 0_i64..1000, 0_i32..=10_000), 1..20)
        ) {
            let lines: Vec<QuoteLineAmounts> = lines
                .into_iter()
                .map(|(q, p, d, t)| line(q, p, d.min(q * p), t))
                .collect();
            let (priced, totals) = price_quote(&lines, None).unwrap();
            prop_assert_eq!(priced.iter().map(|l| l.total).sum::<i64>(), totals.total);
            prop_assert_eq!(totals.subtotal - totals.discount_total + totals.tax_total, totals.total);
            for (l, p) in lines.iter().zip(&priced) {
                // Half up: the tax is within half a minor unit of the exact value.
                let exact = i128::from(p.net) * i128::from(l.tax_rate);
                prop_assert!((i128::from(p.tax) * 10_000 - exact).abs() <= 5_000);
            }
        }
    }
}
