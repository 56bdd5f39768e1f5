//! Time spent on tickets (V-1): what an agent logs against a ticket, and what that
//! time costs the business (the service cost per customer in the profitability report).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{FieldViolation, Violations};

/// One entry covers at most a day.
pub const MAX_MINUTES: i32 = 24 * 60;
/// Characters of an entry's note.
pub const MAX_NOTE_CHARS: usize = 1_000;

/// Time the caller spent on a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "minutes": 45,
    "note": "بررسی لاگ دستگاه و تماس با مشتری",
    "spent_on": "2026-11-28"
}))]
pub struct TimeEntryInput {
    /// 1 … 1440.
    pub minutes: i32,
    pub note: Option<String>,
    /// The business-local day the time was spent; today when left out.
    pub spent_on: Option<NaiveDate>,
}

impl TimeEntryInput {
    pub fn validated(mut self) -> Result<TimeEntryInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        if !(1..=MAX_MINUTES).contains(&self.minutes) {
            v.push(
                "minutes",
                "out_of_range",
                format!("between 1 and {MAX_MINUTES} minutes"),
            );
        }
        v.tidy_text("note", &mut self.note, MAX_NOTE_CHARS);
        v.into_result().map(|()| self)
    }
}

/// What `minutes` of agent time cost at `per_hour` minor units an hour, rounded to the
/// nearest minor unit (halves up). Computed in 128 bits, so no total of minutes and no
/// rate the settings accept can overflow.
pub fn service_cost(minutes: i64, per_hour: i64) -> i64 {
    let exact = i128::from(minutes) * i128::from(per_hour);
    let cost = (exact + 30).div_euclid(60);
    i64::try_from(cost).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_is_exact_and_rounds_halves_up() {
        assert_eq!(service_cost(90, 600_000), 900_000);
        assert_eq!(service_cost(1, 90), 2); // 1.5 → 2
        assert_eq!(service_cost(1, 89), 1); // 1.48… → 1
        assert_eq!(service_cost(0, 600_000), 0);
    }

    #[test]
    fn minutes_stay_within_a_day() {
        let entry = |minutes| TimeEntryInput {
            minutes,
            note: None,
            spent_on: None,
        };
        assert!(entry(0).validated().is_err());
        assert!(entry(1441).validated().is_err());
        assert!(entry(1440).validated().is_ok());
    }
}
