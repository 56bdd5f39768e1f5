//! Hand-computed cases (Tehran is UTC+03:30 since 2022, so 08:00 local is 04:30Z) and
//! properties of the business-minute arithmetic.

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use proptest::prelude::*;

use super::*;
use crate::calendar::{CalendarSystem, LocalCalendar, Period};

fn at(instant: &str) -> DateTime<Utc> {
    instant.parse().expect("valid test instant")
}

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("valid test date")
}

fn tehran() -> BusinessCalendar {
    BusinessCalendar::default()
}

fn around_the_clock(time_zone: chrono_tz::Tz) -> BusinessCalendar {
    let mut hours = WeeklyHours::closed();
    for day in [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ] {
        let whole_day = WorkingSpan::new(0, MINUTES_PER_DAY).expect("valid span");
        hours.set(day, vec![whole_day]).expect("one span");
    }
    BusinessCalendar::new(
        LocalCalendar {
            time_zone,
            ..LocalCalendar::default()
        },
        hours,
        [],
        [],
    )
}

#[test]
fn thursday_half_day_then_friday_weekend() {
    let calendar = tehran();
    // Thursday 2026-11-26, 11:00 in Tehran: one working hour left that day.
    let thursday_11 = at("2026-11-26T07:30:00Z");
    assert!(calendar.is_business_time(thursday_11));
    assert_eq!(
        calendar.add_business_minutes(thursday_11, 120),
        Some(at("2026-11-28T05:30:00Z")), // Saturday 09:00
    );
    assert_eq!(
        calendar.business_minutes_between(thursday_11, at("2026-11-28T05:30:00Z")),
        120
    );
    assert!(!calendar.is_business_day(date(2026, 11, 27)), "Friday");
}

#[test]
fn after_hours_on_a_thursday_half_day() {
    let calendar = tehran();
    let thursday_13 = at("2026-11-26T09:30:00Z");
    assert!(!calendar.is_business_time(thursday_13));
    assert!(
        calendar.is_business_time(at("2026-11-26T08:29:00Z")),
        "11:59"
    );
    assert!(
        !calendar.is_business_time(at("2026-11-26T08:30:00Z")),
        "12:00"
    );
    assert_eq!(
        calendar.add_business_minutes(thursday_13, 30),
        Some(at("2026-11-28T05:00:00Z")), // Saturday 08:30
    );
    // Nothing is worked between Thursday noon and Saturday 08:00.
    assert_eq!(
        calendar.business_minutes_between(thursday_13, at("2026-11-28T04:30:00Z")),
        0
    );
    // Zero minutes is the instant itself, even after hours.
    assert_eq!(
        calendar.add_business_minutes(thursday_13, 0),
        Some(thursday_13)
    );
}

#[test]
fn across_nowruz() {
    let calendar = tehran();
    // 29 Esfand 1404 is Friday 2026-03-20; Nowruz 1405 (1–4 Farvardin) runs Saturday
    // 2026-03-21 to Tuesday 2026-03-24.
    for day in 20..=24 {
        assert!(calendar.is_holiday(date(2026, 3, day)), "March {day}");
        assert!(!calendar.is_business_day(date(2026, 3, day)), "March {day}");
    }
    assert!(calendar.is_business_day(date(2026, 3, 25)));
    // Wednesday 2026-03-18, 15:00: 60 minutes on Wednesday, 240 on Thursday.
    let wednesday_15 = at("2026-03-18T11:30:00Z");
    assert_eq!(
        calendar.add_business_minutes(wednesday_15, 300),
        Some(at("2026-03-19T08:30:00Z")), // Thursday 12:00, the window's close
    );
    assert_eq!(
        calendar.add_business_minutes(wednesday_15, 301),
        Some(at("2026-03-25T04:31:00Z")), // Wednesday after Nowruz, 08:01
    );
    assert_eq!(
        calendar.business_minutes_between(wednesday_15, at("2026-03-25T05:30:00Z")),
        60 + 240 + 60
    );
    // 12 and 13 Farvardin (Wednesday 1 and Thursday 2 April 2026).
    assert!(calendar.is_holiday(date(2026, 4, 1)));
    assert!(calendar.is_holiday(date(2026, 4, 2)));
}

#[test]
fn esfand_29_is_kept_in_a_leap_year_and_30_is_not_a_holiday() {
    let calendar = tehran();
    // 1403 is a leap year: 29 Esfand is 2025-03-19, 30 Esfand 2025-03-20.
    assert!(calendar.is_holiday(date(2025, 3, 19)));
    assert!(!calendar.is_holiday(date(2025, 3, 20)));
}

#[test]
fn explicit_holidays_close_the_day() {
    // A lunar holiday entered for one year: Tasua 1405 on Tuesday 2026-06-23 (example).
    let calendar = BusinessCalendar::new(
        LocalCalendar::default(),
        WeeklyHours::iranian_default(),
        [date(2026, 6, 23)],
        [],
    );
    assert!(!calendar.is_business_day(date(2026, 6, 23)));
    let monday_15 = at("2026-06-22T11:30:00Z");
    assert_eq!(
        calendar.add_business_minutes(monday_15, 90),
        Some(at("2026-06-24T05:00:00Z")), // Wednesday 08:30
    );
}

#[test]
fn several_spans_a_day_skip_the_lunch_break() {
    let mut hours = WeeklyHours::closed();
    let morning = WorkingSpan::hm((8, 0), (12, 0)).expect("span");
    let afternoon = WorkingSpan::hm((13, 0), (17, 0)).expect("span");
    hours
        .set(Weekday::Sat, vec![afternoon, morning])
        .expect("disjoint spans");
    let calendar = BusinessCalendar::new(LocalCalendar::default(), hours, [], []);
    let saturday_11 = at("2026-11-28T07:30:00Z");
    assert_eq!(
        calendar.add_business_minutes(saturday_11, 90),
        Some(at("2026-11-28T10:00:00Z")), // 13:30
    );
    assert_eq!(
        calendar.business_minutes_between(at("2026-11-28T04:30:00Z"), at("2026-11-28T13:30:00Z")),
        480
    );
    let overlapping = WorkingSpan::hm((11, 0), (14, 0)).expect("span");
    assert_eq!(
        WeeklyHours::closed().set(Weekday::Sun, vec![morning, overlapping]),
        Err(HoursError::Overlapping)
    );
    assert_eq!(
        WorkingSpan::hm((9, 0), (9, 0)),
        Err(HoursError::EmptyOrReversed)
    );
    assert_eq!(
        WorkingSpan::hm((9, 0), (24, 1)),
        Err(HoursError::EmptyOrReversed)
    );
}

#[test]
fn a_change_of_time_zone_moves_the_working_day() {
    // Saturday 2026-11-28, 04:00Z to 05:00Z: 07:30–08:30 in Tehran, 08:00–09:00 in Dubai.
    let dubai = BusinessCalendar::new(
        LocalCalendar {
            time_zone: chrono_tz::Asia::Dubai,
            ..LocalCalendar::default()
        },
        WeeklyHours::iranian_default(),
        [],
        [],
    );
    let (from, to) = (at("2026-11-28T04:00:00Z"), at("2026-11-28T05:00:00Z"));
    assert_eq!(tehran().business_minutes_between(from, to), 30);
    assert_eq!(dubai.business_minutes_between(from, to), 60);
    assert!(!tehran().is_business_time(at("2026-11-28T04:15:00Z")));
    assert!(dubai.is_business_time(at("2026-11-28T04:15:00Z")));
    // "Today" moves with the zone: 21:00Z on Friday is already Saturday in Tehran.
    let friday_late = at("2026-11-27T21:00:00Z");
    assert_eq!(tehran().today(friday_late), date(2026, 11, 28));
    assert_eq!(
        around_the_clock(chrono_tz::America::New_York).today(friday_late),
        date(2026, 11, 27)
    );
}

#[test]
fn daylight_saving_days_count_the_hours_the_clocks_showed() {
    // Tehran until 2022: clocks went 00:00 → 01:00 on 2021-03-22 and 24:00 → 23:00 on
    // 2021-09-21.
    let calendar = around_the_clock(chrono_tz::Asia::Tehran);
    let short_day: Vec<_> = calendar.windows(date(2021, 3, 22)).collect();
    assert_eq!(
        short_day,
        vec![UtcRange {
            start: at("2021-03-21T20:30:00Z"),
            end: at("2021-03-22T19:30:00Z"),
        }]
    );
    assert_eq!(
        calendar.business_minutes_between(at("2021-03-21T20:30:00Z"), at("2021-03-22T19:30:00Z")),
        23 * 60
    );
    let long_day = calendar
        .windows(date(2021, 9, 21))
        .map(|window| window.end - window.start)
        .sum::<TimeDelta>();
    assert_eq!(long_day, TimeDelta::hours(25));
}

#[test]
fn periods_of_an_instant_in_both_calendars() {
    let calendar = tehran();
    // 2026-11-22T21:00Z is Monday 2026-11-23 00:30 in Tehran, 1405/09/02.
    let instant = at("2026-11-22T21:00:00Z");
    let (days, instants) = calendar
        .period_at(instant, Period::Month, CalendarSystem::Jalali)
        .expect("in range");
    assert_eq!(
        (days.start, days.end),
        (date(2026, 11, 22), date(2026, 12, 22))
    );
    assert_eq!(instants.start, at("2026-11-21T20:30:00Z"));
    assert_eq!(instants.end, at("2026-12-21T20:30:00Z"));
    let (week, _) = calendar
        .period_at(instant, Period::Week, CalendarSystem::Gregorian)
        .expect("in range");
    assert_eq!(week.start, date(2026, 11, 21), "weeks start on Saturday");
    let (quarter, _) = calendar
        .period_at(instant, Period::Quarter, CalendarSystem::Gregorian)
        .expect("in range");
    assert_eq!(
        (quarter.start, quarter.end),
        (date(2026, 10, 1), date(2027, 1, 1))
    );
    let (year, _) = calendar
        .period_at(instant, Period::Year, CalendarSystem::Jalali)
        .expect("in range");
    assert_eq!(
        (year.start, year.end),
        (date(2026, 3, 21), date(2027, 3, 21))
    );
}

#[test]
fn a_calendar_without_working_time_finds_no_deadline() {
    let closed = BusinessCalendar::new(LocalCalendar::default(), WeeklyHours::closed(), [], []);
    assert!(!WeeklyHours::closed().is_open_some_day());
    assert_eq!(
        closed.add_business_minutes(at("2026-11-28T05:00:00Z"), 1),
        None
    );
}

#[test]
fn recurring_days_exist_only_where_the_calendar_has_them() {
    assert!(JalaliDay { month: 6, day: 31 }.exists());
    assert!(JalaliDay { month: 12, day: 30 }.exists());
    assert!(!JalaliDay { month: 7, day: 31 }.exists());
    assert!(!JalaliDay { month: 13, day: 1 }.exists());
    assert!(!JalaliDay { month: 1, day: 0 }.exists());
}

fn instants() -> impl Strategy<Value = DateTime<Utc>> {
    // 2019 to 2031, whole minutes: before and after Iran dropped daylight saving.
    (1_546_300_800i64 / 60..1_956_528_000i64 / 60).prop_filter_map("in range", |minute| {
        DateTime::from_timestamp(minute * 60, 0)
    })
}

fn instants_to_the_second() -> impl Strategy<Value = DateTime<Utc>> {
    // 2021 to 2023, with fractions of a second: the clocks changed in 2021 and 2022.
    (1_609_459_200i64..1_704_067_200i64, 0u32..1_000_000_000)
        .prop_filter_map("in range", |(second, nanos)| {
            DateTime::from_timestamp(second, nanos)
        })
}

proptest! {
    #[test]
    fn a_table_of_days_measures_as_the_calendar_does(
        a in instants_to_the_second(),
        b in instants_to_the_second(),
        first in 0u64..400,
        days in 0u64..400,
    ) {
        // Tehran's calendar with a holiday and the 2022 clocks (daylight saving until
        // then), over days that hold both instants, one of them or neither.
        let calendar = BusinessCalendar::new(
            LocalCalendar::default(),
            WeeklyHours::iranian_default(),
            [date(2021, 9, 1), date(2022, 3, 10)],
            IRANIAN_SOLAR_HOLIDAYS.map(|(day, _)| day),
        );
        let start = date(2021, 1, 1) + Days::new(first * 2);
        let table = calendar.days(start, start + Days::new(days * 2));
        prop_assert_eq!(table.minutes_between(a, b), calendar.business_minutes_between(a, b));
        prop_assert_eq!(table.minutes_between(b, a), calendar.business_minutes_between(b, a));
    }

    #[test]
    fn adding_then_measuring_gives_back_the_minutes(from in instants(), minutes in 0u32..20_000) {
        let calendar = tehran();
        let due = calendar.add_business_minutes(from, minutes);
        prop_assert!(due.is_some());
        let Some(due) = due else { return Ok(()) };
        prop_assert!(due >= from);
        prop_assert_eq!(calendar.business_minutes_between(from, due), i64::from(minutes));
        prop_assert_eq!(calendar.business_minutes_between(due, from), -i64::from(minutes));
        if minutes > 0 {
            // The last minute before the deadline is worked.
            prop_assert!(calendar.is_business_time(due - TimeDelta::minutes(1)));
        }
    }

    #[test]
    fn business_minutes_are_additive(
        a in instants(),
        b in instants(),
        c in instants(),
    ) {
        let calendar = tehran();
        let mut points = [a, b, c];
        points.sort();
        let [a, b, c] = points;
        prop_assert_eq!(
            calendar.business_minutes_between(a, b) + calendar.business_minutes_between(b, c),
            calendar.business_minutes_between(a, c)
        );
    }
}

#[test]
fn the_next_working_instant_waits_over_the_weekend() {
    let calendar = tehran();
    // Thursday 2026-12-03 10:00 Tehran is working time: itself.
    assert_eq!(
        calendar.next_working_instant(at("2026-12-03T06:30:00Z")),
        Some(at("2026-12-03T06:30:00Z"))
    );
    // Thursday 13:00, after the half day: Saturday 08:00 (Friday is closed).
    assert_eq!(
        calendar.next_working_instant(at("2026-12-03T09:30:00Z")),
        Some(at("2026-12-05T04:30:00Z"))
    );
    // Exactly at the close: the next window.
    assert_eq!(
        calendar.next_working_instant(at("2026-12-03T08:30:00Z")),
        Some(at("2026-12-05T04:30:00Z"))
    );
}
