//! Returns: units of order lines coming back, and the refund each is worth. A line is
//! refunded in proportion to the units returned, rounding down, with each return taking
//! the difference of the cumulative shares: returning every unit, in one go or in
//! several, refunds exactly the line's total and never a rial more.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::orders::MAX_LINES;
use crate::validation::{FieldViolation, Violations};

const MAX_REASON_CHARS: usize = 1000;

/// Units of one order line coming back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnLineInput {
    pub order_line_id: Uuid,
    /// Units returned, at least 1 and at most what is left of the line.
    pub quantity: i64,
}

/// A return of units of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "lines": [{"order_line_id": "0193a4e2-7c1d-7b3e-9f10-eeeeeeeeeeee", "quantity": 1}],
    "reason": "بسته‌بندی آسیب دیده بود"
}))]
pub struct ReturnInput {
    /// 1 to 500 lines of the order, each named once.
    pub lines: Vec<ReturnLineInput>,
    /// Why the units came back.
    pub reason: String,
    /// When they came back; defaults to now.
    #[serde(default)]
    pub returned_at: Option<DateTime<Utc>>,
}

impl ReturnInput {
    pub fn validated(mut self, now: DateTime<Utc>) -> Result<ReturnInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        let mut reason = Some(self.reason.clone());
        v.tidy_text("reason", &mut reason, MAX_REASON_CHARS);
        match reason {
            Some(reason) => self.reason = reason,
            None => v.push("reason", "required", "must say why the units came back"),
        }
        if self.lines.is_empty() || self.lines.len() > MAX_LINES {
            v.push(
                "lines",
                "invalid_length",
                format!("must hold 1 to {MAX_LINES} lines"),
            );
        }
        let mut seen = std::collections::HashSet::new();
        for (index, line) in self.lines.iter().enumerate() {
            if line.quantity < 1 {
                v.push(
                    format!("lines[{index}].quantity"),
                    "out_of_range",
                    "must be at least 1",
                );
            }
            if !seen.insert(line.order_line_id) {
                v.push(
                    format!("lines[{index}].order_line_id"),
                    "duplicate",
                    "names a line already in this return",
                );
            }
        }
        if self.returned_at.is_some_and(|at| at > now) {
            v.push("returned_at", "in_future", "must not be in the future");
        }
        self.returned_at.get_or_insert(now);
        v.into_result().map(|()| self)
    }
}

/// The refund for returning `returning` more units of a line of `quantity` units worth
/// `line_total`, of which `returned_before` came back already; `None` when that would
/// be more units than were bought.
pub fn refund_for(
    line_total: i64,
    quantity: i64,
    returned_before: i64,
    returning: i64,
) -> Option<i64> {
    let after = returned_before.checked_add(returning)?;
    if returning < 1 || returned_before < 0 || after > quantity || quantity < 1 {
        return None;
    }
    let share = |units: i64| i128::from(line_total) * i128::from(units) / i128::from(quantity);
    i64::try_from(share(after) - share(returned_before)).ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn refunds_are_proportional_and_add_up_to_the_line() {
        // 3 units for 1,000,000 rials after discount: 333,333 + 333,333 + 333,334.
        assert_eq!(refund_for(1_000_000, 3, 0, 1), Some(333_333));
        assert_eq!(refund_for(1_000_000, 3, 1, 1), Some(333_333));
        assert_eq!(refund_for(1_000_000, 3, 2, 1), Some(333_334));
        assert_eq!(refund_for(1_000_000, 3, 0, 3), Some(1_000_000));
        assert_eq!(refund_for(1_000_000, 3, 2, 2), None);
        assert_eq!(refund_for(1_000_000, 3, 0, 0), None);
    }

    #[test]
    fn returns_are_checked() {
        let now = Utc::now();
        let id = Uuid::now_v7();
        let input = ReturnInput {
            lines: vec![
                ReturnLineInput {
                    order_line_id: id,
                    quantity: 0,
                },
                ReturnLineInput {
                    order_line_id: id,
                    quantity: 1,
                },
            ],
            reason: " \u{7} ".into(),
            returned_at: Some(now + chrono::Duration::days(1)),
        };
        let fields: Vec<String> = input
            .validated(now)
            .unwrap_err()
            .into_iter()
            .map(|v| format!("{}:{}", v.field, v.code))
            .collect();
        assert_eq!(
            fields,
            vec![
                "reason:control_character",
                "lines[0].quantity:out_of_range",
                "lines[1].order_line_id:duplicate",
                "returned_at:in_future"
            ]
        );
    }

    proptest! {
        #[test]
        fn returning_every_unit_in_any_steps_refunds_the_line_exactly(
            line_total in 0_i64..1_000_000_000_000,
            steps in prop::collection::vec(1_i64..5, 1..10),
        ) {
            let quantity: i64 = steps.iter().sum();
            let mut returned = 0;
            let mut refunded = 0;
            for step in steps {
                let refund = refund_for(line_total, quantity, returned, step).unwrap();
                prop_assert!(refund >= 0);
                refunded += refund;
                returned += step;
            }
            prop_assert_eq!(refunded, line_total);
            prop_assert_eq!(refund_for(line_total, quantity, returned, 1), None);
        }
    }
}
