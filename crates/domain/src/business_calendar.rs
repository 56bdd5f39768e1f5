//! The business calendar: when the business works. Built from the business settings
//! (time zone, working hours per weekday, holidays) and used wherever "today", periods
//! and deadlines are computed: service-level deadlines, reminders, reports and
//! date-based automation.
//!
//! Working hours are wall-clock spans of a local day, e.g. Saturday to Wednesday
//! 08:00–16:00 and Thursday 08:00–12:00, Friday closed (common in Iran). A day is not
//! worked when it has no spans, when it is an explicit holiday (a Gregorian date; the
//! lunar-calendar holidays move every year and are entered per year) or when its Jalali
//! month and day are a recurring holiday (Nowruz, 1–4 Farvardin, and the other fixed
//! dates of the solar calendar).
//!
//! Arithmetic runs on UTC instants and asks the time zone for each local day's working
//! windows, so daylight-saving changes (Iran observed them until 2022) are counted as
//! the clocks really moved: a window across a skipped hour is an hour shorter.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};

use crate::calendar::{CalendarSystem, DateRange, JalaliDate, LocalCalendar, Period};

/// Minutes in a day: the end of a span that runs to midnight.
pub const MINUTES_PER_DAY: u16 = 24 * 60;

/// How far [`BusinessCalendar::add_business_minutes`] looks for working time before
/// giving up: ten years, far beyond any deadline, bounded so that a calendar with
/// almost no working days cannot make it run away.
const SEARCH_HORIZON_DAYS: u64 = 3660;

/// A working span of a local day, in minutes after midnight: `start` is included,
/// `end` is not, and `end` may be 1440 (the span runs to midnight).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkingSpan {
    start: u16,
    end: u16,
}

/// Why a working span or day's hours are not acceptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("a working span must start before it ends, within one day")]
    EmptyOrReversed,
    #[error("the working spans of a day overlap")]
    Overlapping,
}

impl WorkingSpan {
    /// A span from `start` to `end` minutes after midnight; `start < end <= 1440`.
    pub fn new(start: u16, end: u16) -> Result<Self, HoursError> {
        if start < end && end <= MINUTES_PER_DAY {
            Ok(Self { start, end })
        } else {
            Err(HoursError::EmptyOrReversed)
        }
    }

    /// A span between two wall-clock times given as hours and minutes; `(24, 0)` is
    /// midnight at the end of the day.
    pub fn hm(start: (u16, u16), end: (u16, u16)) -> Result<Self, HoursError> {
        Self::new(start.0 * 60 + start.1, end.0 * 60 + end.1)
    }

    pub fn start_minute(self) -> u16 {
        self.start
    }

    pub fn end_minute(self) -> u16 {
        self.end
    }

    pub fn minutes(self) -> u16 {
        self.end - self.start
    }
}

/// Working spans for each day of the week.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WeeklyHours {
    /// Indexed by `Weekday::num_days_from_monday`; each day's spans sorted and disjoint.
    days: [Vec<WorkingSpan>; 7],
}

impl WeeklyHours {
    /// No working time on any day.
    pub fn closed() -> Self {
        Self::default()
    }

    /// The usual Iranian week: Saturday to Wednesday 08:00–16:00, Thursday 08:00–12:00,
    /// Friday closed.
    pub fn iranian_default() -> Self {
        let full = WorkingSpan {
            start: 480,
            end: 960,
        };
        let half = WorkingSpan {
            start: 480,
            end: 720,
        };
        let mut hours = Self::closed();
        for day in [
            Weekday::Sat,
            Weekday::Sun,
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
        ] {
            hours.days[day.num_days_from_monday() as usize] = vec![full];
        }
        hours.days[Weekday::Thu.num_days_from_monday() as usize] = vec![half];
        hours
    }

    /// Sets the spans of `day` (see [`day_spans`]).
    pub fn set(&mut self, day: Weekday, spans: Vec<WorkingSpan>) -> Result<(), HoursError> {
        self.days[day.num_days_from_monday() as usize] = day_spans(spans)?;
        Ok(())
    }

    /// Closes `day` (a weekend day).
    pub fn close(&mut self, day: Weekday) {
        self.days[day.num_days_from_monday() as usize].clear();
    }

    pub fn spans(&self, day: Weekday) -> &[WorkingSpan] {
        &self.days[day.num_days_from_monday() as usize]
    }

    /// Whether any day has working time.
    pub fn is_open_some_day(&self) -> bool {
        self.days.iter().any(|spans| !spans.is_empty())
    }
}

/// One day's spans, sorted; overlapping spans are refused (spans that merely touch,
/// 08:00–12:00 and 12:00–16:00, are accepted).
pub fn day_spans(mut spans: Vec<WorkingSpan>) -> Result<Vec<WorkingSpan>, HoursError> {
    spans.sort();
    if spans.windows(2).any(|pair| pair[0].end > pair[1].start) {
        return Err(HoursError::Overlapping);
    }
    Ok(spans)
}

/// A holiday that recurs every year on the same Jalali month and day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JalaliDay {
    pub month: u8,
    pub day: u8,
}

impl JalaliDay {
    /// Whether some year has this month and day (30 Esfand only in leap years).
    pub fn exists(self) -> bool {
        let longest = match self.month {
            1..=6 => 31,
            7..=12 => 30,
            _ => return false,
        };
        (1..=longest).contains(&self.day)
    }
}

/// The fixed-date official holidays of the Iranian solar calendar: Nowruz (1–4
/// Farvardin), Islamic Republic Day (12 Farvardin), Sizdah Be-dar (13 Farvardin), the
/// passing of Khomeini and the 15 Khordad uprising (14–15 Khordad), the Revolution's
/// victory (22 Bahman) and oil nationalisation (29 Esfand). Lunar holidays move every
/// year and are entered as dates.
pub const IRANIAN_SOLAR_HOLIDAYS: [(JalaliDay, &str); 10] = [
    (JalaliDay { month: 1, day: 1 }, "نوروز"),
    (JalaliDay { month: 1, day: 2 }, "نوروز"),
    (JalaliDay { month: 1, day: 3 }, "نوروز"),
    (JalaliDay { month: 1, day: 4 }, "نوروز"),
    (JalaliDay { month: 1, day: 12 }, "روز جمهوری اسلامی"),
    (JalaliDay { month: 1, day: 13 }, "روز طبیعت"),
    (JalaliDay { month: 3, day: 14 }, "رحلت امام خمینی"),
    (JalaliDay { month: 3, day: 15 }, "قیام ۱۵ خرداد"),
    (JalaliDay { month: 11, day: 22 }, "پیروزی انقلاب اسلامی"),
    (JalaliDay { month: 12, day: 29 }, "ملی شدن صنعت نفت"),
];

/// A half-open span of instants: `start` is included, `end` is not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UtcRange {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// When the business works: its local calendar, weekly hours and holidays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusinessCalendar {
    local: LocalCalendar,
    hours: WeeklyHours,
    holidays: BTreeSet<NaiveDate>,
    recurring: HashSet<JalaliDay>,
}

impl Default for BusinessCalendar {
    /// Asia/Tehran, weeks from Saturday, the usual Iranian week and the fixed solar
    /// holidays.
    fn default() -> Self {
        Self::new(
            LocalCalendar::default(),
            WeeklyHours::iranian_default(),
            [],
            IRANIAN_SOLAR_HOLIDAYS.map(|(day, _)| day),
        )
    }
}

impl BusinessCalendar {
    pub fn new(
        local: LocalCalendar,
        hours: WeeklyHours,
        holidays: impl IntoIterator<Item = NaiveDate>,
        recurring_holidays: impl IntoIterator<Item = JalaliDay>,
    ) -> Self {
        Self {
            local,
            hours,
            holidays: holidays.into_iter().collect(),
            recurring: recurring_holidays.into_iter().collect(),
        }
    }

    /// The time zone and week of the business.
    pub fn local(&self) -> LocalCalendar {
        self.local
    }

    /// The local date at the instant `now`.
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        self.local.today(now)
    }

    /// Whether `date` is a holiday, explicit or recurring.
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        if self.holidays.contains(&date) {
            return true;
        }
        let jalali = JalaliDate::from_gregorian(date);
        self.recurring.contains(&JalaliDay {
            month: jalali.month(),
            day: jalali.day(),
        })
    }

    /// Whether `date` has working time: not a holiday, and its weekday has hours.
    pub fn is_business_day(&self, date: NaiveDate) -> bool {
        !self.working_spans(date).is_empty()
    }

    /// Whether the instant `at` falls inside working hours of a business day.
    pub fn is_business_time(&self, at: DateTime<Utc>) -> bool {
        self.windows(self.today(at))
            .any(|window| window.start <= at && at < window.end)
    }

    /// The instant `minutes` business minutes after `from`: time outside working hours,
    /// on weekends and on holidays does not count. Adding zero minutes gives `from`
    /// itself even outside working hours; a deadline that uses up a window exactly ends
    /// at the window's close. `None` when no working time is found within ten years.
    pub fn add_business_minutes(&self, from: DateTime<Utc>, minutes: u32) -> Option<DateTime<Utc>> {
        let mut remaining = TimeDelta::minutes(i64::from(minutes));
        if remaining.is_zero() {
            return Some(from);
        }
        let first = self.today(from);
        for offset in 0..=SEARCH_HORIZON_DAYS {
            let date = first.checked_add_days(Days::new(offset))?;
            for window in self.windows(date) {
                let start = window.start.max(from);
                if start >= window.end {
                    continue;
                }
                let available = window.end - start;
                if remaining <= available {
                    return Some(start + remaining);
                }
                remaining -= available;
            }
        }
        None
    }

    /// `at` itself in working hours, else the start of the next working window: when
    /// something arriving at `at` can first be picked up. `None` when no working time is
    /// found within ten years.
    pub fn next_working_instant(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let first = self.today(at);
        for offset in 0..=SEARCH_HORIZON_DAYS {
            let date = first.checked_add_days(Days::new(offset))?;
            if let Some(window) = self.windows(date).find(|window| window.end > at) {
                return Some(window.start.max(at));
            }
        }
        None
    }

    /// Whole business minutes from `from` to `to` (negative when `to` is earlier).
    pub fn business_minutes_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to < from {
            return -self.business_minutes_between(to, from);
        }
        let mut total = TimeDelta::zero();
        let mut date = self.today(from);
        let last = self.today(to);
        while date <= last {
            for window in self.windows(date) {
                let start = window.start.max(from);
                let end = window.end.min(to);
                if start < end {
                    total += end - start;
                }
            }
            let Some(next) = date.succ_opt() else { break };
            date = next;
        }
        total.num_minutes()
    }

    /// The working windows of the local days `first` to `last`, worked out once, for
    /// measuring many durations among them.
    pub fn days(&self, first: NaiveDate, last: NaiveDate) -> BusinessDays<'_> {
        let windows: Vec<Vec<UtcRange>> = first
            .iter_days()
            .take_while(|date| *date <= last)
            .map(|date| self.windows(date).collect())
            .collect();
        let mut worked_before = Vec::with_capacity(windows.len() + 1);
        let mut worked = TimeDelta::zero();
        worked_before.push(worked);
        for day in &windows {
            worked += day.iter().fold(TimeDelta::zero(), |sum, window| {
                sum + (window.end - window.start)
            });
            worked_before.push(worked);
        }
        BusinessDays {
            calendar: self,
            first,
            windows,
            worked_before,
        }
    }

    /// The day, week, month, quarter or year (Gregorian or Jalali) containing the
    /// instant `at`, as local dates and as instants.
    pub fn period_at(
        &self,
        at: DateTime<Utc>,
        period: Period,
        system: CalendarSystem,
    ) -> Option<(DateRange, UtcRange)> {
        let dates = self
            .local
            .period_containing(self.today(at), period, system)?;
        let (start, end) = self.local.utc_range(dates)?;
        Some((dates, UtcRange { start, end }))
    }

    /// The working windows of the local day `date`, in order, as instants.
    pub fn windows(&self, date: NaiveDate) -> impl Iterator<Item = UtcRange> + '_ {
        self.working_spans(date)
            .iter()
            .filter_map(move |span| self.window(date, *span))
    }

    fn working_spans(&self, date: NaiveDate) -> &[WorkingSpan] {
        if self.is_holiday(date) {
            return &[];
        }
        self.hours.spans(date.weekday())
    }

    fn window(&self, date: NaiveDate, span: WorkingSpan) -> Option<UtcRange> {
        let local = |minute: u16| {
            if minute == MINUTES_PER_DAY {
                date.succ_opt()?.and_hms_opt(0, 0, 0)
            } else {
                let time =
                    NaiveTime::from_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?;
                Some(date.and_time(time))
            }
        };
        let start = self.local.instant_at(local(span.start)?)?;
        // The later of two equal wall-clock times when the clocks went back, so the
        // repeated hour is worked.
        let end_local = local(span.end)?;
        let end = self
            .local
            .time_zone
            .from_local_datetime(&end_local)
            .latest()
            .map(|end| end.with_timezone(&Utc))
            .or_else(|| self.local.instant_at(end_local))?;
        (start < end).then_some(UtcRange { start, end })
    }
}

/// The working windows of a run of local days ([`BusinessCalendar::days`]): a report
/// measuring thousands of durations looks each day up instead of working out its
/// holidays and time-zone conversions again for every duration, and adds the whole days
/// between two instants from running totals. It gives exactly what
/// [`BusinessCalendar::business_minutes_between`] gives, to which it leaves instants
/// outside its days.
pub struct BusinessDays<'a> {
    calendar: &'a BusinessCalendar,
    first: NaiveDate,
    windows: Vec<Vec<UtcRange>>,
    /// The working time of the days before each day (and of all of them, last).
    worked_before: Vec<TimeDelta>,
}

impl BusinessDays<'_> {
    /// Whole business minutes from `from` to `to` (negative when `to` is earlier).
    pub fn minutes_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to < from {
            return -self.minutes_between(to, from);
        }
        let (Some(first), Some(last)) = (self.index(from), self.index(to)) else {
            return self.calendar.business_minutes_between(from, to);
        };
        let within = |day: usize| {
            self.windows[day]
                .iter()
                .fold(TimeDelta::zero(), |sum, window| {
                    let start = window.start.max(from);
                    let end = window.end.min(to);
                    if start < end {
                        sum + (end - start)
                    } else {
                        sum
                    }
                })
        };
        let total = if first == last {
            within(first)
        } else {
            // The days in between are worked whole: their windows lie inside the span.
            within(first)
                + (self.worked_before[last] - self.worked_before[first + 1])
                + within(last)
        };
        total.num_minutes()
    }

    /// The position of the local day of `at` among the days, if it is one of them.
    fn index(&self, at: DateTime<Utc>) -> Option<usize> {
        let day = (self.calendar.today(at) - self.first).num_days();
        usize::try_from(day)
            .ok()
            .filter(|day| *day < self.windows.len())
    }
}

#[cfg(test)]
mod tests;
