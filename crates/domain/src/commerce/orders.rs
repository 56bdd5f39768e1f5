//! Orders: a customer's purchase with its lines. The server computes every total from
//! the lines; a total the client sends is only checked against it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::money::Currency;
use crate::customers::snake_names;
use crate::validation::{FieldViolation, Violations};

/// Most lines one order may hold.
pub const MAX_LINES: usize = 500;
/// Most units of a product one line may hold.
pub const MAX_QUANTITY: i64 = 1_000_000;
const MAX_LABEL_CHARS: usize = 100;
const MAX_REFERENCE_CHARS: usize = 200;
const MAX_NOTES_CHARS: usize = 5000;
/// How far ahead of the server's clock `placed_at` may be (clients' clocks drift).
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// Where an order stands. Clients set the first four; the return states follow from
/// returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed, not paid yet: not a purchase.
    #[default]
    Pending,
    Paid,
    Fulfilled,
    Cancelled,
    /// Some units were returned.
    PartiallyReturned,
    /// Every unit was returned.
    Returned,
}

snake_names!(OrderStatus {
    Pending => "pending",
    Paid => "paid",
    Fulfilled => "fulfilled",
    Cancelled => "cancelled",
    PartiallyReturned => "partially_returned",
    Returned => "returned",
});

impl OrderStatus {
    /// Whether the order is a purchase in the customer's purchase facts and the
    /// lifecycle rules: paid for and not wholly returned.
    pub fn is_purchase(self) -> bool {
        matches!(
            self,
            OrderStatus::Paid | OrderStatus::Fulfilled | OrderStatus::PartiallyReturned
        )
    }

    /// Whether units of the order may be returned.
    pub fn accepts_returns(self) -> bool {
        self.is_purchase()
    }

    /// Why a client may not move an order from `self` to `to`, if it may not.
    /// Cancelling is possible until fulfilment; the return states only follow from
    /// returns.
    pub fn change_to(self, to: OrderStatus) -> Result<(), FieldViolation> {
        use OrderStatus::*;
        let allowed = self == to
            || matches!(
                (self, to),
                (Pending, Paid | Fulfilled | Cancelled) | (Paid, Fulfilled | Cancelled)
            );
        if allowed {
            return Ok(());
        }
        let message = match to {
            PartiallyReturned | Returned => "is set by recording a return".to_string(),
            _ => format!("cannot change from {} to {}", self.as_str(), to.as_str()),
        };
        Err(FieldViolation::new("status", "invalid_transition", message))
    }
}

/// One line of a new order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLineInput {
    pub product_id: Uuid,
    /// Units, 1 to 1,000,000.
    pub quantity: i64,
    /// Price of one unit in minor units; defaults to the product's price.
    #[serde(default)]
    pub unit_price: Option<i64>,
    /// Off the whole line, in minor units; at most quantity × unit price.
    #[serde(default)]
    pub discount: i64,
}

/// A new order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "customer_id": "0193a4e2-7c1d-7b3e-9f10-dddddddddddd",
    "placed_at": "2026-11-28T09:30:00Z",
    "status": "paid",
    "channel": "store",
    "campaign": "yalda-1405",
    "source": "pos-vanak",
    "external_reference": "INV-20931",
    "lines": [
        {"product_id": "0193a4e2-7c1d-7b3e-9f10-ffffffffffff", "quantity": 2, "discount": 100000}
    ],
    "notes": "کادوپیچ شود"
}))]
pub struct OrderInput {
    pub customer_id: Uuid,
    /// When the customer placed the order; defaults to now, may be in the past
    /// (history), not in the future.
    #[serde(default)]
    pub placed_at: Option<DateTime<Utc>>,
    /// `pending` (default), `paid`, `fulfilled` or `cancelled`.
    #[serde(default)]
    pub status: OrderStatus,
    /// Sales channel, e.g. `store`, `online`, `phone`.
    #[serde(default)]
    pub channel: Option<String>,
    /// The marketing campaign the order is attributed to.
    #[serde(default)]
    pub campaign: Option<String>,
    /// The system the order came from (a shop, a till); with `external_reference`.
    #[serde(default)]
    pub source: Option<String>,
    /// The order's id in `source`, unique per source.
    #[serde(default)]
    pub external_reference: Option<String>,
    /// Defaults to the business currency, which is the only one accepted.
    #[serde(default)]
    pub currency: Option<Currency>,
    /// 1 to 500 lines.
    pub lines: Vec<OrderLineInput>,
    /// The total the client computed, in minor units; answered with a 422 when it
    /// differs from the server's.
    #[serde(default)]
    pub total: Option<i64>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// The fields of an order that change after it is placed; the document a merge patch
/// applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "fulfilled", "notes": "ارسال شد"}))]
pub struct OrderChanges {
    pub status: OrderStatus,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub campaign: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

impl OrderChanges {
    /// The changes in stored form, given the order's current status.
    pub fn validated(mut self, current: OrderStatus) -> Result<OrderChanges, Vec<FieldViolation>> {
        let mut v = Violations::default();
        v.tidy_line("channel", &mut self.channel, MAX_LABEL_CHARS);
        v.tidy_line("campaign", &mut self.campaign, MAX_LABEL_CHARS);
        v.tidy_text("notes", &mut self.notes, MAX_NOTES_CHARS);
        if let Err(violation) = current.change_to(self.status) {
            v.0.push(violation);
        }
        v.into_result().map(|()| self)
    }
}

impl OrderInput {
    /// The order in stored form (texts tidied, `placed_at` set), or every broken rule
    /// that needs no lookup. Prices and totals are checked by [`price_lines`].
    pub fn validated(mut self, now: DateTime<Utc>) -> Result<OrderInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        v.tidy_line("channel", &mut self.channel, MAX_LABEL_CHARS);
        v.tidy_line("campaign", &mut self.campaign, MAX_LABEL_CHARS);
        v.tidy_line("source", &mut self.source, MAX_LABEL_CHARS);
        v.tidy_line(
            "external_reference",
            &mut self.external_reference,
            MAX_REFERENCE_CHARS,
        );
        v.tidy_text("notes", &mut self.notes, MAX_NOTES_CHARS);
        if self.external_reference.is_some() && self.source.is_none() {
            v.push(
                "source",
                "required",
                "must name the system an external reference belongs to",
            );
        }
        if matches!(
            self.status,
            OrderStatus::PartiallyReturned | OrderStatus::Returned
        ) {
            v.push(
                "status",
                "invalid_value",
                "must be pending, paid, fulfilled or cancelled; returns are recorded separately",
            );
        }
        let placed_at = *self.placed_at.get_or_insert(now);
        if placed_at > now + CLOCK_SKEW {
            v.push("placed_at", "in_future", "must not be in the future");
        } else if placed_at < earliest_order() {
            v.push("placed_at", "out_of_range", "must be in 1900 or later");
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
        }
        v.into_result().map(|()| self)
    }
}

/// Reports the figures of line `index` (of an order or a deal) that break a rule
/// needing no lookup: units out of 1..[`MAX_QUANTITY`], a negative price or discount.
pub fn check_line(
    v: &mut Violations,
    index: usize,
    quantity: i64,
    unit_price: Option<i64>,
    discount: i64,
) {
    if !(1..=MAX_QUANTITY).contains(&quantity) {
        v.push(
            format!("lines[{index}].quantity"),
            "out_of_range",
            format!("must be 1 to {MAX_QUANTITY}"),
        );
    }
    if unit_price.is_some_and(|price| price < 0) {
        v.push(
            format!("lines[{index}].unit_price"),
            "negative",
            "must be zero or more",
        );
    }
    if discount < 0 {
        v.push(
            format!("lines[{index}].discount"),
            "negative",
            "must be zero or more",
        );
    }
}

/// The earliest instant an order may be placed at: older history is a typing mistake,
/// and it keeps instants within what both databases store.
fn earliest_order() -> DateTime<Utc> {
    DateTime::from_timestamp(-2_208_988_800, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A line's figures once its unit price is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAmounts {
    pub quantity: i64,
    pub unit_price: i64,
    pub discount: i64,
}

/// An order's totals, each in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderTotals {
    /// Σ quantity × unit price.
    pub subtotal: i64,
    /// Σ line discounts.
    pub discount_total: i64,
    /// subtotal − discount_total.
    pub total: i64,
}

/// Each line's total (quantity × unit price − discount) and the order's totals, or the
/// lines whose figures break a rule: a discount above its line's amount, or an amount
/// beyond what 64 bits hold.
pub fn price_lines(lines: &[LineAmounts]) -> Result<(Vec<i64>, OrderTotals), Vec<FieldViolation>> {
    let mut v = Violations::default();
    let mut line_totals = Vec::with_capacity(lines.len());
    let mut totals = Some(OrderTotals::default());
    for (index, line) in lines.iter().enumerate() {
        let Some(gross) = line.quantity.checked_mul(line.unit_price) else {
            v.push(
                format!("lines[{index}].unit_price"),
                "too_large",
                "quantity × unit price is beyond the largest amount",
            );
            totals = None;
            continue;
        };
        if line.discount > gross {
            v.push(
                format!("lines[{index}].discount"),
                "exceeds_line_amount",
                format!("must be at most the line's amount, {gross}"),
            );
        }
        line_totals.push(gross - line.discount.min(gross));
        totals = totals.and_then(|sum| {
            Some(OrderTotals {
                subtotal: sum.subtotal.checked_add(gross)?,
                discount_total: sum.discount_total.checked_add(line.discount)?,
                total: 0,
            })
        });
    }
    let Some(mut totals) = totals else {
        if v.is_empty() {
            v.push(
                "lines",
                "too_large",
                "the order's total is beyond the largest amount",
            );
        }
        return Err(v.0);
    };
    v.into_result()?;
    totals.total = totals.subtotal - totals.discount_total;
    Ok((line_totals, totals))
}

/// The claimed total against the computed one.
pub fn check_claimed_total(claimed: Option<i64>, computed: i64) -> Result<(), FieldViolation> {
    match claimed {
        Some(claimed) if claimed != computed => Err(FieldViolation::new(
            "total",
            "mismatch",
            format!("is {claimed} but the lines add up to {computed}"),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn line(quantity: i64, unit_price: i64, discount: i64) -> LineAmounts {
        LineAmounts {
            quantity,
            unit_price,
            discount,
        }
    }

    #[test]
    fn totals_are_exact_sums_of_lines() {
        let (lines, totals) =
            price_lines(&[line(2, 1_850_000, 100_000), line(3, 333_333, 0)]).unwrap();
        assert_eq!(lines, vec![3_600_000, 999_999]);
        assert_eq!(
            totals,
            OrderTotals {
                subtotal: 4_699_999,
                discount_total: 100_000,
                total: 4_599_999
            }
        );
        assert!(check_claimed_total(Some(4_599_999), totals.total).is_ok());
        assert_eq!(
            check_claimed_total(Some(4_600_000), totals.total)
                .unwrap_err()
                .code,
            "mismatch"
        );
    }

    #[test]
    fn a_discount_above_its_line_and_overflow_are_reported_per_line() {
        let err = price_lines(&[line(1, 100, 101), line(i64::MAX, 2, 0)]).unwrap_err();
        let codes: Vec<(&str, &str)> = err
            .iter()
            .map(|v| (v.field.as_str(), v.code.as_str()))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("lines[0].discount", "exceeds_line_amount"),
                ("lines[1].unit_price", "too_large")
            ]
        );
        let err = price_lines(&[line(1, i64::MAX, 0), line(1, 1, 0)]).unwrap_err();
        assert_eq!(err[0].code, "too_large");
    }

    #[test]
    fn clients_move_orders_only_forward_and_never_into_return_states() {
        use OrderStatus::*;
        assert!(Pending.change_to(Paid).is_ok());
        assert!(Paid.change_to(Fulfilled).is_ok());
        assert!(Paid.change_to(Cancelled).is_ok());
        assert!(Fulfilled.change_to(Fulfilled).is_ok());
        assert!(Fulfilled.change_to(Cancelled).is_err());
        assert!(Cancelled.change_to(Paid).is_err());
        assert!(Paid.change_to(Pending).is_err());
        assert!(Paid.change_to(Returned).is_err());
        assert!(PartiallyReturned.change_to(Cancelled).is_err());
    }

    #[test]
    fn new_orders_are_checked_before_any_lookup() {
        let now = Utc::now();
        let order = OrderInput {
            customer_id: Uuid::now_v7(),
            placed_at: Some(now + Duration::hours(1)),
            status: OrderStatus::Returned,
            channel: Some("store\n".into()),
            campaign: None,
            source: None,
            external_reference: Some("INV-1".into()),
            currency: None,
            lines: vec![OrderLineInput {
                product_id: Uuid::now_v7(),
                quantity: 0,
                unit_price: Some(-1),
                discount: -1,
            }],
            total: None,
            notes: None,
        };
        let fields: Vec<String> = order
            .validated(now)
            .unwrap_err()
            .into_iter()
            .map(|v| format!("{}:{}", v.field, v.code))
            .collect();
        assert_eq!(
            fields,
            vec![
                "channel:line_break",
                "source:required",
                "status:invalid_value",
                "placed_at:in_future",
                "lines[0].quantity:out_of_range",
                "lines[0].unit_price:negative",
                "lines[0].discount:negative",
            ]
        );
    }

    proptest! {
        #[test]
        fn the_total_is_the_sum_of_line_totals(
            lines in prop::collection::vec((1_i64..1000, 0_i64..10_000_000, 0_i64..1000), 1..20)
        ) {
            let lines: Vec<LineAmounts> = lines
                .into_iter()
                .map(|(q, p, d)| line(q, p, d.min(q * p)))
                .collect();
            let (line_totals, totals) = price_lines(&lines).unwrap();
            prop_assert_eq!(line_totals.iter().sum::<i64>(), totals.total);
            prop_assert_eq!(totals.subtotal - totals.discount_total, totals.total);
            prop_assert!(totals.total >= 0);
        }
    }
}
