//! Calendar arithmetic for the business calendar (L-3, L-4): the Gregorian
//! calendar and the Jalali (Persian solar hijri) calendar used in Iran, the business
//! time zone (Asia/Tehran by default) and the first day of the week (Saturday in Iran).
//!
//! Jalali conversion is delegated to `icu_calendar`'s Persian calendar rather than
//! hand-written: it uses the 33-year rule with a correction table that matches the
//! astronomical (vernal equinox at 52.5°E) calendar from 1178 to 3000 AP, which is
//! where hand-rolled arithmetic algorithms usually go wrong.
//!
//! Periods are computed on local calendar dates (`NaiveDate`); [`LocalCalendar`]
//! turns them into UTC instants in the business time zone. Working hours and holidays
//! live one level up, in [`crate::business_calendar`]. Every function that moves
//! across dates returns `Option` because chrono's date range is finite; `None` only
//! happens some 262,000 years away from today.

use std::fmt;

use chrono::{
    DateTime, Datelike, Days, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use icu_calendar::cal::Persian;
use icu_calendar::types::RataDie;
use icu_calendar::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Business time zone used when none is configured (L-4).
pub const DEFAULT_TIME_ZONE: Tz = chrono_tz::Asia::Tehran;

/// First day of the week used when none is configured: the Iranian week starts on
/// Saturday and ends with the Friday weekend (L-4).
pub const DEFAULT_FIRST_WEEKDAY: Weekday = Weekday::Sat;

/// The calendar in which months, quarters and years are counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CalendarSystem {
    /// The proleptic Gregorian calendar.
    #[default]
    Gregorian,
    /// The Jalali (Persian solar hijri) calendar; quarters are months 1-3, 4-6, 7-9
    /// and 10-12.
    Jalali,
}

/// A span of time used to bucket or filter by calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Period {
    Day,
    /// Seven days starting on the configured first weekday; the same in both calendars.
    Week,
    Month,
    Quarter,
    Year,
}

/// Errors from building calendar values out of caller-supplied numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("{year}/{month}/{day} is not a date of the Jalali calendar")]
    InvalidJalaliDate { year: i32, month: u8, day: u8 },
}

/// A date of the Jalali calendar.
///
/// The Gregorian equivalent is kept alongside the Jalali fields so that converting back
/// is exact and infallible for every value, including those made from Gregorian dates
/// far outside the range `icu_calendar` accepts for Jalali constructors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JalaliDate {
    // Field order matters for the derived `Ord`: year, month, day.
    year: i32,
    month: u8,
    day: u8,
    gregorian: NaiveDate,
}

impl JalaliDate {
    /// Builds a Jalali date, checking month and day (Esfand has 30 days only in leap
    /// years). Years are accepted in `-9999..=9999`, the range of `icu_calendar`.
    pub fn new(year: i32, month: u8, day: u8) -> Result<Self, CalendarError> {
        let invalid = CalendarError::InvalidJalaliDate { year, month, day };
        let persian = Date::try_new_persian(year, month, day).map_err(|_| invalid)?;
        let gregorian = i32::try_from(persian.to_rata_die().to_i64_date())
            .ok()
            .and_then(NaiveDate::from_num_days_from_ce_opt)
            .ok_or(invalid)?;
        Ok(Self {
            year,
            month,
            day,
            gregorian,
        })
    }

    /// The Jalali date of a Gregorian date.
    pub fn from_gregorian(date: NaiveDate) -> Self {
        let persian = persian_date(date);
        Self {
            year: persian.era_year().extended_year,
            month: persian.month().ordinal,
            day: persian.day_of_month().0,
            gregorian: date,
        }
    }

    /// The Gregorian date of this Jalali date.
    pub fn to_gregorian(self) -> NaiveDate {
        self.gregorian
    }

    pub fn year(self) -> i32 {
        self.year
    }

    /// Month of the year, 1 (Farvardin) to 12 (Esfand).
    pub fn month(self) -> u8 {
        self.month
    }

    /// Day of the month, starting at 1.
    pub fn day(self) -> u8 {
        self.day
    }

    /// Whether this date's year has a 30th of Esfand.
    pub fn is_in_leap_year(self) -> bool {
        persian_date(self.gregorian).is_in_leap_year()
    }

    /// Number of days in this date's month (29 to 31).
    pub fn days_in_month(self) -> u8 {
        persian_date(self.gregorian).days_in_month()
    }

    /// Day of the year, 1 on 1 Farvardin.
    pub fn day_of_year(self) -> u16 {
        persian_date(self.gregorian).day_of_year().0
    }
}

/// Formats as `1403/01/01`, the usual written form of Jalali dates.
impl fmt::Display for JalaliDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}/{:02}/{:02}", self.year, self.month, self.day)
    }
}

fn persian_date(date: NaiveDate) -> Date<Persian> {
    // Rata Die day 1 and chrono's day 1 are both 0001-01-01 of the proleptic Gregorian
    // calendar, and chrono's whole range lies inside icu's, so nothing is clamped.
    Date::from_rata_die(RataDie::new(i64::from(date.num_days_from_ce())), Persian)
}

/// A half-open range of local dates: `start` is included, `end` is not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DateRange {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl DateRange {
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date < self.end
    }
}

/// First day of the month containing `date`.
pub fn month_start(date: NaiveDate, system: CalendarSystem) -> Option<NaiveDate> {
    match system {
        CalendarSystem::Gregorian => date.with_day(1),
        CalendarSystem::Jalali => {
            let jalali = JalaliDate::from_gregorian(date);
            date.checked_sub_days(Days::new(u64::from(jalali.day) - 1))
        }
    }
}

/// First day of the quarter containing `date`.
pub fn quarter_start(date: NaiveDate, system: CalendarSystem) -> Option<NaiveDate> {
    let mut start = month_start(date, system)?;
    // Step back month by month (at most twice) until the month opens a quarter.
    while !matches!(month_number(start, system), 1 | 4 | 7 | 10) {
        start = month_start(start.pred_opt()?, system)?;
    }
    Some(start)
}

/// First day of the year containing `date` (1 January or 1 Farvardin).
pub fn year_start(date: NaiveDate, system: CalendarSystem) -> Option<NaiveDate> {
    match system {
        CalendarSystem::Gregorian => date.with_ordinal(1),
        CalendarSystem::Jalali => {
            let day_of_year = JalaliDate::from_gregorian(date).day_of_year();
            date.checked_sub_days(Days::new(u64::from(day_of_year) - 1))
        }
    }
}

/// The latest day on or before `date` that falls on `first_weekday`.
pub fn week_start(date: NaiveDate, first_weekday: Weekday) -> Option<NaiveDate> {
    let back = date.weekday().days_since(first_weekday);
    date.checked_sub_days(Days::new(u64::from(back)))
}

/// The period of the given kind that contains `date`, as a half-open date range.
pub fn period_containing(
    date: NaiveDate,
    period: Period,
    system: CalendarSystem,
    first_weekday: Weekday,
) -> Option<DateRange> {
    let start = match period {
        Period::Day => date,
        Period::Week => week_start(date, first_weekday)?,
        Period::Month => month_start(date, system)?,
        Period::Quarter => quarter_start(date, system)?,
        Period::Year => year_start(date, system)?,
    };
    let end = match period {
        Period::Day => start.succ_opt()?,
        Period::Week => start.checked_add_days(Days::new(7))?,
        Period::Month => next_month_start(start, system)?,
        Period::Quarter => {
            let second = next_month_start(start, system)?;
            next_month_start(next_month_start(second, system)?, system)?
        }
        Period::Year => match system {
            CalendarSystem::Gregorian => {
                NaiveDate::from_ymd_opt(start.year().checked_add(1)?, 1, 1)?
            }
            CalendarSystem::Jalali => {
                let days = persian_date(start).days_in_year();
                start.checked_add_days(Days::new(u64::from(days)))?
            }
        },
    };
    Some(DateRange { start, end })
}

/// The period of the given kind just before the one that contains `date`.
pub fn previous_period(
    date: NaiveDate,
    period: Period,
    system: CalendarSystem,
    first_weekday: Weekday,
) -> Option<DateRange> {
    let current = period_containing(date, period, system, first_weekday)?;
    period_containing(current.start.pred_opt()?, period, system, first_weekday)
}

/// Month number (1-12) of `date` in the given calendar.
fn month_number(date: NaiveDate, system: CalendarSystem) -> u32 {
    match system {
        CalendarSystem::Gregorian => date.month(),
        CalendarSystem::Jalali => u32::from(JalaliDate::from_gregorian(date).month),
    }
}

/// First day of the month after the one that starts on `start`.
fn next_month_start(start: NaiveDate, system: CalendarSystem) -> Option<NaiveDate> {
    let days = match system {
        CalendarSystem::Gregorian => {
            let (year, month) = match start.month() {
                12 => (start.year().checked_add(1)?, 1),
                month => (start.year(), month + 1),
            };
            return NaiveDate::from_ymd_opt(year, month, 1);
        }
        CalendarSystem::Jalali => JalaliDate::from_gregorian(start).days_in_month(),
    };
    start.checked_add_days(Days::new(u64::from(days)))
}

/// How the business reads the clock: its time zone and the day its week starts. Enough
/// to turn instants into local dates and periods; whether a moment is working time is
/// the [`crate::business_calendar::BusinessCalendar`]'s question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalCalendar {
    pub time_zone: Tz,
    pub first_weekday: Weekday,
}

impl Default for LocalCalendar {
    fn default() -> Self {
        Self {
            time_zone: DEFAULT_TIME_ZONE,
            first_weekday: DEFAULT_FIRST_WEEKDAY,
        }
    }
}

impl LocalCalendar {
    /// The local date at the instant `now`.
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.time_zone).date_naive()
    }

    /// The period containing `date`, with weeks starting on the configured weekday.
    pub fn period_containing(
        &self,
        date: NaiveDate,
        period: Period,
        system: CalendarSystem,
    ) -> Option<DateRange> {
        period_containing(date, period, system, self.first_weekday)
    }

    /// The period just before the one containing `date`.
    pub fn previous_period(
        &self,
        date: NaiveDate,
        period: Period,
        system: CalendarSystem,
    ) -> Option<DateRange> {
        previous_period(date, period, system, self.first_weekday)
    }

    /// The first instant of the local day `date`.
    ///
    /// Midnight may not exist locally: Iran moved its clocks from 00:00 to 01:00 when
    /// daylight saving began (until 2022), so the day then starts at the first local
    /// time that exists. When midnight happens twice the earlier one is taken.
    pub fn start_of_day(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        self.instant_at(date.and_hms_opt(0, 0, 0)?)
    }

    /// The instant the local wall-clock time `local` shows: the earlier one when the
    /// clocks went back and `local` happened twice, the moment the clocks jumped when
    /// `local` was skipped.
    pub fn instant_at(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        if let Some(instant) = self.earliest_instant(local) {
            return Some(instant);
        }
        // Inside a gap: the first existing local minute is the instant the clocks
        // jumped. Gaps last hours in practice; a whole skipped day (Samoa, 2011)
        // still ends within 48 hours.
        (1..=48 * 60)
            .filter_map(|minutes| local.checked_add_signed(TimeDelta::minutes(minutes)))
            .find_map(|later| self.earliest_instant(later))
    }

    /// The local wall-clock time at the instant `at`.
    pub fn local_time(&self, at: DateTime<Utc>) -> NaiveDateTime {
        at.with_timezone(&self.time_zone).naive_local()
    }

    /// The UTC instants `[start, end)` covering the local dates of `range`.
    pub fn utc_range(&self, range: DateRange) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        Some((
            self.start_of_day(range.start)?,
            self.start_of_day(range.end)?,
        ))
    }

    fn earliest_instant(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        self.time_zone
            .from_local_datetime(&local)
            .earliest()
            .map(|instant| instant.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("valid test date")
    }

    fn jalali(year: i32, month: u8, day: u8) -> JalaliDate {
        JalaliDate::new(year, month, day).expect("valid Jalali test date")
    }

    /// Pairs checked against published Nowruz dates and well-known anniversaries.
    const KNOWN_PAIRS: [(&str, (i32, u8, u8)); 9] = [
        ("1970-01-01", (1348, 10, 11)),
        ("1979-02-11", (1357, 11, 22)),
        ("2021-03-20", (1399, 12, 30)),
        ("2021-03-21", (1400, 1, 1)),
        ("2024-03-20", (1403, 1, 1)),
        ("2025-03-20", (1403, 12, 30)),
        ("2025-03-21", (1404, 1, 1)),
        ("2026-03-21", (1405, 1, 1)),
        ("2026-11-23", (1405, 9, 2)),
    ];

    #[test]
    fn known_dates_convert_both_ways() {
        for (gregorian, (jy, jm, jd)) in KNOWN_PAIRS {
            let gregorian: NaiveDate = gregorian.parse().expect("valid test date");
            let expected = jalali(jy, jm, jd);
            assert_eq!(
                JalaliDate::from_gregorian(gregorian),
                expected,
                "{gregorian}"
            );
            assert_eq!(expected.to_gregorian(), gregorian, "{expected}");
        }
        assert_eq!(jalali(1405, 9, 2).to_string(), "1405/09/02");
    }

    #[test]
    fn esfand_thirtieth_exists_only_in_leap_years() {
        assert!(jalali(1403, 12, 30).is_in_leap_year());
        assert_eq!(jalali(1403, 12, 1).days_in_month(), 30);
        assert_eq!(jalali(1404, 12, 1).days_in_month(), 29);
        let missing = JalaliDate::new(1404, 12, 30);
        assert!(matches!(
            missing,
            Err(CalendarError::InvalidJalaliDate { day: 30, .. })
        ));
        assert!(JalaliDate::new(1404, 13, 1).is_err());
        assert!(JalaliDate::new(1404, 7, 31).is_err());
        assert!(JalaliDate::new(1404, 1, 0).is_err());
    }

    #[test]
    fn jalali_periods_of_a_date() {
        let day = date(2026, 11, 23); // 1405/09/02
        let jalali_system = CalendarSystem::Jalali;
        assert_eq!(month_start(day, jalali_system), Some(date(2026, 11, 22)));
        assert_eq!(quarter_start(day, jalali_system), Some(date(2026, 9, 23)));
        assert_eq!(year_start(day, jalali_system), Some(date(2026, 3, 21)));
        let year = period_containing(day, Period::Year, jalali_system, Weekday::Sat);
        assert_eq!(
            year,
            Some(DateRange {
                start: date(2026, 3, 21),
                end: date(2027, 3, 21)
            })
        );
        let quarter = period_containing(day, Period::Quarter, jalali_system, Weekday::Sat);
        assert_eq!(quarter.map(|q| q.end), Some(date(2026, 12, 22)));
    }

    #[test]
    fn jalali_last_quarter_of_a_leap_year_includes_esfand_thirtieth() {
        let esfand_30 = date(2025, 3, 20); // 1403/12/30
        let quarter = period_containing(
            esfand_30,
            Period::Quarter,
            CalendarSystem::Jalali,
            Weekday::Sat,
        );
        assert_eq!(
            quarter,
            Some(DateRange {
                start: jalali(1403, 10, 1).to_gregorian(),
                end: date(2025, 3, 21)
            })
        );
        let previous = previous_period(
            date(2025, 3, 21),
            Period::Month,
            CalendarSystem::Jalali,
            Weekday::Sat,
        );
        assert_eq!(
            previous.map(|m| (m.start, m.end)),
            Some((jalali(1403, 12, 1).to_gregorian(), date(2025, 3, 21)))
        );
    }

    #[test]
    fn gregorian_periods_of_a_date() {
        let day = date(2024, 2, 29);
        let gregorian = CalendarSystem::Gregorian;
        assert_eq!(month_start(day, gregorian), Some(date(2024, 2, 1)));
        assert_eq!(quarter_start(day, gregorian), Some(date(2024, 1, 1)));
        assert_eq!(year_start(day, gregorian), Some(date(2024, 1, 1)));
        let month = period_containing(day, Period::Month, gregorian, Weekday::Mon);
        assert_eq!(month.map(|m| m.end), Some(date(2024, 3, 1)));
        let quarter = previous_period(day, Period::Quarter, gregorian, Weekday::Mon);
        assert_eq!(
            quarter,
            Some(DateRange {
                start: date(2023, 10, 1),
                end: date(2024, 1, 1)
            })
        );
    }

    #[test]
    fn week_starts_on_the_configured_weekday() {
        let wednesday = date(2024, 3, 20);
        assert_eq!(week_start(wednesday, Weekday::Sat), Some(date(2024, 3, 16)));
        assert_eq!(week_start(wednesday, Weekday::Mon), Some(date(2024, 3, 18)));
        assert_eq!(week_start(wednesday, Weekday::Wed), Some(wednesday));
        let saturday = date(2024, 3, 16);
        assert_eq!(week_start(saturday, Weekday::Sun), Some(date(2024, 3, 10)));
    }

    #[test]
    fn day_starts_in_the_business_time_zone() {
        let tehran = LocalCalendar::default();
        let start = tehran.start_of_day(date(2024, 3, 20));
        assert_eq!(
            start.map(|s| s.to_rfc3339()),
            Some("2024-03-19T20:30:00+00:00".to_owned())
        );
        let now = "2024-03-19T21:00:00Z"
            .parse::<DateTime<Utc>>()
            .expect("valid instant");
        assert_eq!(tehran.today(now), date(2024, 3, 20));
    }

    #[test]
    fn day_without_a_midnight_starts_when_the_clocks_jump() {
        // On 1400/01/02 (2021-03-22) Tehran clocks went from 00:00 to 01:00 (+04:30).
        let tehran = LocalCalendar::default();
        let start = tehran.start_of_day(date(2021, 3, 22));
        assert_eq!(
            start.map(|s| s.to_rfc3339()),
            Some("2021-03-21T20:30:00+00:00".to_owned())
        );
        let day = tehran.utc_range(DateRange {
            start: date(2021, 3, 21),
            end: date(2021, 3, 22),
        });
        assert_eq!(day.map(|(s, e)| (e - s).num_hours()), Some(24));
    }

    fn dates(from: NaiveDate, to: NaiveDate) -> impl Strategy<Value = NaiveDate> {
        (from.num_days_from_ce()..=to.num_days_from_ce())
            .prop_filter_map("in chrono range", NaiveDate::from_num_days_from_ce_opt)
    }

    const PERIODS: [Period; 5] = [
        Period::Day,
        Period::Week,
        Period::Month,
        Period::Quarter,
        Period::Year,
    ];
    const SYSTEMS: [CalendarSystem; 2] = [CalendarSystem::Gregorian, CalendarSystem::Jalali];

    fn any_weekday() -> impl Strategy<Value = Weekday> {
        (0u8..7).prop_filter_map("weekday", |n| Weekday::try_from(n).ok())
    }

    proptest! {
        #[test]
        fn gregorian_to_jalali_round_trips(day in dates(NaiveDate::MIN, NaiveDate::MAX)) {
            let converted = JalaliDate::from_gregorian(day);
            prop_assert_eq!(converted.to_gregorian(), day);
        }

        #[test]
        fn jalali_fields_round_trip_within_constructor_range(
            day in dates(date(-9000, 1, 1), date(9000, 1, 1))
        ) {
            let converted = JalaliDate::from_gregorian(day);
            let rebuilt = JalaliDate::new(converted.year(), converted.month(), converted.day());
            prop_assert_eq!(rebuilt, Ok(converted));
        }

        #[test]
        fn jalali_constructor_round_trips(year in 1..3000i32, month in 1..=12u8, day in 1..=31u8) {
            if let Ok(built) = JalaliDate::new(year, month, day) {
                prop_assert_eq!(JalaliDate::from_gregorian(built.to_gregorian()), built);
                prop_assert!(day <= built.days_in_month());
            } else {
                prop_assert!(month > 6 && day >= 30);
            }
        }

        #[test]
        fn periods_contain_their_date_and_chain(
            day in dates(date(-5000, 1, 1), date(5000, 1, 1)),
            period in prop::sample::select(&PERIODS[..]),
            system in prop::sample::select(&SYSTEMS[..]),
            first_weekday in any_weekday(),
        ) {
            let range = period_containing(day, period, system, first_weekday);
            prop_assert!(range.is_some());
            let Some(range) = range else { return Ok(()) };
            prop_assert!(range.contains(day));
            let next = period_containing(range.end, period, system, first_weekday);
            prop_assert_eq!(next.map(|n| n.start), Some(range.end));
            let previous = previous_period(day, period, system, first_weekday);
            prop_assert_eq!(previous.map(|p| p.end), Some(range.start));
            if system == CalendarSystem::Jalali {
                let start = JalaliDate::from_gregorian(range.start);
                let first_months: &[u8] = match period {
                    Period::Day | Period::Week | Period::Month => &[start.month()],
                    Period::Quarter => &[1, 4, 7, 10],
                    Period::Year => &[1],
                };
                prop_assert!(first_months.contains(&start.month()));
                if !matches!(period, Period::Day | Period::Week) {
                    prop_assert_eq!(start.day(), 1);
                }
            }
        }

        #[test]
        fn local_days_map_to_ordered_utc_ranges(
            day in dates(date(1900, 1, 1), date(2100, 1, 1)),
        ) {
            let tehran = LocalCalendar::default();
            let range = DateRange { start: day, end: day + Days::new(1) };
            let utc = tehran.utc_range(range);
            prop_assert!(utc.is_some_and(|(start, end)| start < end));
            if let Some((start, _)) = utc {
                prop_assert_eq!(tehran.today(start), day);
            }
        }
    }
}
