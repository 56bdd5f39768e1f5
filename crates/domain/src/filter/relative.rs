//! Relative-date values (`{"relative": "this_month", "calendar": "jalali"}`) and the
//! periods of local days they stand for.

use chrono::{DateTime, Days, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::calendar::{CalendarSystem, DateRange, LocalCalendar, Period};

/// A period named relative to the current day in the business time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RelativePeriod {
    Today,
    Yesterday,
    /// The last `n` days, today included.
    LastNDays,
    /// The week containing today, starting on the configured first weekday.
    ThisWeek,
    LastWeek,
    ThisMonth,
    LastMonth,
    /// Quarters are months 1-3, 4-6, 7-9 and 10-12 of the chosen calendar.
    ThisQuarter,
    LastQuarter,
    ThisYear,
    LastYear,
}

/// A relative date: a period of whole local days counted back from today.
///
/// Months, quarters and years follow `calendar` (Gregorian unless stated); days and
/// weeks are the same in both calendars. See the module documentation of
/// [`crate::filter`] for how each operator reads the period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[schema(example = json!({"relative": "this_quarter", "calendar": "jalali"}))]
pub struct RelativeDate {
    pub relative: RelativePeriod,
    /// Number of days, required by `last_n_days` and used by nothing else.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 3660)] // = MAX_RELATIVE_DAYS; utoipa takes literals only
    pub n: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calendar: Option<CalendarSystem>,
}

impl RelativeDate {
    /// The local days `[start, end)` this value stands for at the instant `now`.
    ///
    /// `None` when `last_n_days` lacks a positive `n`, or when the period falls outside
    /// the dates chrono can represent.
    pub fn local_range(&self, now: DateTime<Utc>, business: &LocalCalendar) -> Option<DateRange> {
        let today = business.today(now);
        let system = self.calendar.unwrap_or_default();
        let current = |period| business.period_containing(today, period, system);
        let previous = |period| business.previous_period(today, period, system);
        match self.relative {
            RelativePeriod::Today => current(Period::Day),
            RelativePeriod::Yesterday => previous(Period::Day),
            RelativePeriod::LastNDays => {
                let back = self.n.filter(|&n| n > 0)? - 1;
                Some(DateRange {
                    start: today.checked_sub_days(Days::new(u64::from(back)))?,
                    end: today.succ_opt()?,
                })
            }
            RelativePeriod::ThisWeek => current(Period::Week),
            RelativePeriod::LastWeek => previous(Period::Week),
            RelativePeriod::ThisMonth => current(Period::Month),
            RelativePeriod::LastMonth => previous(Period::Month),
            RelativePeriod::ThisQuarter => current(Period::Quarter),
            RelativePeriod::LastQuarter => previous(Period::Quarter),
            RelativePeriod::ThisYear => current(Period::Year),
            RelativePeriod::LastYear => previous(Period::Year),
        }
    }
}
