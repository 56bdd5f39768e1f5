//! The business settings document: time zone, week, working hours, holidays and
//! currency. It is what clients read and merge-patch, what is stored, and what the
//! [`BusinessCalendar`] is built from.
//!
//! Until first changed the defaults apply: Asia/Tehran, weeks from Saturday, Friday
//! weekend, Saturday to Wednesday 08:00–16:00 and Thursday 08:00–12:00, the fixed
//! holidays of the Iranian solar calendar, IRR shown in toman.

use chrono::{DateTime, NaiveDate, Timelike, Utc, Weekday};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::business_calendar::{
    day_spans, BusinessCalendar, HoursError, JalaliDay, WeeklyHours, WorkingSpan,
    IRANIAN_SOLAR_HOLIDAYS, MINUTES_PER_DAY,
};
use crate::calendar::LocalCalendar;
use crate::feedback::entries::FeedbackPolicy;
use crate::validation::{FieldViolation, Violations};

/// Most explicit holidays kept (several years of lunar holidays).
pub const MAX_HOLIDAYS: usize = 400;
/// Most recurring holidays: a tenth of the year.
pub const MAX_RECURRING_HOLIDAYS: usize = 40;
/// Most working spans on one day.
pub const MAX_SPANS_PER_DAY: usize = 6;
const MAX_HOLIDAY_NAME: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WeekDay {
    Saturday,
    Sunday,
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
}

impl WeekDay {
    /// The name as clients send it and as it is stored, e.g. `saturday`.
    pub fn as_str(self) -> &'static str {
        match self {
            WeekDay::Saturday => "saturday",
            WeekDay::Sunday => "sunday",
            WeekDay::Monday => "monday",
            WeekDay::Tuesday => "tuesday",
            WeekDay::Wednesday => "wednesday",
            WeekDay::Thursday => "thursday",
            WeekDay::Friday => "friday",
        }
    }
}

impl From<WeekDay> for Weekday {
    fn from(day: WeekDay) -> Weekday {
        match day {
            WeekDay::Saturday => Weekday::Sat,
            WeekDay::Sunday => Weekday::Sun,
            WeekDay::Monday => Weekday::Mon,
            WeekDay::Tuesday => Weekday::Tue,
            WeekDay::Wednesday => Weekday::Wed,
            WeekDay::Thursday => Weekday::Thu,
            WeekDay::Friday => Weekday::Fri,
        }
    }
}

/// How IRR amounts are displayed: in toman (1 toman = 10 rial) or rial. Amounts are
/// always stored and exchanged in rial minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CurrencyDisplay {
    Toman,
    Rial,
}

impl CurrencyDisplay {
    pub fn as_str(self) -> &'static str {
        match self {
            CurrencyDisplay::Toman => "toman",
            CurrencyDisplay::Rial => "rial",
        }
    }
}

/// A holiday on one date, e.g. a lunar-calendar holiday entered for its year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Holiday {
    /// Gregorian date of the holiday.
    pub date: NaiveDate,
    pub name: String,
}

/// A holiday every year on the same Jalali month and day (e.g. 1 Farvardin, Nowruz).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecurringHoliday {
    /// Jalali month, 1 (Farvardin) to 12 (Esfand).
    #[schema(minimum = 1, maximum = 12)]
    pub month: u8,
    /// Day of the Jalali month, 1 to 31 (30 Esfand only counts in leap years).
    #[schema(minimum = 1, maximum = 31)]
    pub day: u8,
    pub name: String,
}

/// A working span of a day in local wall-clock time, `start` included, `end` not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    /// `HH:MM`, 00:00 to 23:59.
    #[schema(example = "08:00")]
    pub start: String,
    /// `HH:MM`, after `start`; `24:00` runs to midnight.
    #[schema(example = "16:00")]
    pub end: String,
}

/// When messages the business starts wait (O-3): a daily span of local time, which may
/// run past midnight (`21:00`–`08:00`), and with `on_days_off` whole weekend days and
/// holidays. Answers to a customer who wrote in are not held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// `HH:MM`: from when messages wait.
    #[schema(example = "21:00")]
    pub start: String,
    /// `HH:MM`: when they go out; before `start` for a span past midnight.
    #[schema(example = "08:00")]
    pub end: String,
    /// Whether days without working hours (weekends, holidays) are quiet all day.
    #[serde(default)]
    pub on_days_off: bool,
}

/// Working spans per weekday; an empty list is a day off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    pub saturday: Vec<OpeningHours>,
    pub sunday: Vec<OpeningHours>,
    pub monday: Vec<OpeningHours>,
    pub tuesday: Vec<OpeningHours>,
    pub wednesday: Vec<OpeningHours>,
    pub thursday: Vec<OpeningHours>,
    pub friday: Vec<OpeningHours>,
}

impl WorkingHours {
    fn days(&self) -> [(WeekDay, &Vec<OpeningHours>); 7] {
        [
            (WeekDay::Saturday, &self.saturday),
            (WeekDay::Sunday, &self.sunday),
            (WeekDay::Monday, &self.monday),
            (WeekDay::Tuesday, &self.tuesday),
            (WeekDay::Wednesday, &self.wednesday),
            (WeekDay::Thursday, &self.thursday),
            (WeekDay::Friday, &self.friday),
        ]
    }

    fn days_mut(&mut self) -> [(WeekDay, &mut Vec<OpeningHours>); 7] {
        [
            (WeekDay::Saturday, &mut self.saturday),
            (WeekDay::Sunday, &mut self.sunday),
            (WeekDay::Monday, &mut self.monday),
            (WeekDay::Tuesday, &mut self.tuesday),
            (WeekDay::Wednesday, &mut self.wednesday),
            (WeekDay::Thursday, &mut self.thursday),
            (WeekDay::Friday, &mut self.friday),
        ]
    }
}

impl Default for WorkingHours {
    fn default() -> Self {
        let hours = |start: &str, end: &str| {
            vec![OpeningHours {
                start: start.into(),
                end: end.into(),
            }]
        };
        WorkingHours {
            saturday: hours("08:00", "16:00"),
            sunday: hours("08:00", "16:00"),
            monday: hours("08:00", "16:00"),
            tuesday: hours("08:00", "16:00"),
            wednesday: hours("08:00", "16:00"),
            thursday: hours("08:00", "12:00"),
            friday: Vec::new(),
        }
    }
}

/// The business settings document (also the merge-patch target).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "time_zone": "Asia/Tehran",
    "first_day_of_week": "saturday",
    "weekend_days": ["friday"],
    "working_hours": {
        "saturday": [{"start": "08:00", "end": "16:00"}],
        "sunday": [{"start": "08:00", "end": "16:00"}],
        "monday": [{"start": "08:00", "end": "16:00"}],
        "tuesday": [{"start": "08:00", "end": "16:00"}],
        "wednesday": [{"start": "08:00", "end": "16:00"}],
        "thursday": [{"start": "08:00", "end": "12:00"}],
        "friday": []
    },
    "holidays": [{"date": "2027-03-21", "name": "نوروز"}],
    "recurring_holidays": [{"month": 1, "day": 1, "name": "نوروز"}],
    "default_currency": "IRR",
    "currency_display": "toman",
    "service_cost_per_hour": 0
}))]
pub struct BusinessSettings {
    /// IANA time zone of the business day (reports, "today", deadlines, birthdays).
    pub time_zone: String,
    /// The day weeks start on in reports and relative dates ("this week").
    pub first_day_of_week: WeekDay,
    /// Days off whatever `working_hours` says for them.
    pub weekend_days: Vec<WeekDay>,
    /// Working hours per weekday; service deadlines count only this time.
    pub working_hours: WorkingHours,
    /// Holidays on given dates (lunar-calendar holidays are entered per year).
    pub holidays: Vec<Holiday>,
    /// Holidays on the same Jalali day every year.
    pub recurring_holidays: Vec<RecurringHoliday>,
    /// ISO 4217 code; orders are taken in it. It cannot change once an order exists.
    pub default_currency: String,
    pub currency_display: CurrencyDisplay,
    /// What an hour of an agent's time on tickets costs, in minor units of the default
    /// currency: the service cost of the profitability report. 0 (the default) leaves
    /// the service cost out.
    #[serde(default)]
    pub service_cost_per_hour: i64,
    /// When messages the business starts are held back; none when absent (the
    /// default), so that every message goes out at once.
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    /// What counts as negative feedback, what it does, and how often a customer may be
    /// sent a survey.
    #[serde(default)]
    pub feedback: FeedbackPolicy,
    /// How customers earn loyalty points by themselves: for paid orders and for
    /// behavioural events.
    #[serde(default)]
    pub loyalty: crate::loyalty::LoyaltyRules,
    /// When the settings were last changed (absent while the defaults apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// Largest hourly service cost: a trillion minor units, far above any wage, so that a
/// year of minutes times it still fits in 64 bits.
pub const MAX_SERVICE_COST_PER_HOUR: i64 = 1_000_000_000_000;

impl Default for BusinessSettings {
    fn default() -> Self {
        BusinessSettings {
            time_zone: LocalCalendar::default().time_zone.name().into(),
            first_day_of_week: WeekDay::Saturday,
            weekend_days: vec![WeekDay::Friday],
            working_hours: WorkingHours::default(),
            holidays: Vec::new(),
            recurring_holidays: IRANIAN_SOLAR_HOLIDAYS
                .iter()
                .map(|(day, name)| RecurringHoliday {
                    month: day.month,
                    day: day.day,
                    name: (*name).into(),
                })
                .collect(),
            default_currency: "IRR".into(),
            currency_display: CurrencyDisplay::Toman,
            service_cost_per_hour: 0,
            quiet_hours: None,
            feedback: FeedbackPolicy::default(),
            loyalty: crate::loyalty::LoyaltyRules::default(),
            updated_at: None,
        }
    }
}

impl BusinessSettings {
    /// Checks the document and puts it in its stored form: weekend days and holidays
    /// sorted without repeats, names trimmed, times as `HH:MM`, currency upper case.
    pub fn normalize(&mut self) -> Result<(), Vec<FieldViolation>> {
        let mut v = Violations::default();
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            v.push(
                "time_zone",
                "unknown_time_zone",
                "must be an IANA time zone such as Asia/Tehran",
            );
        }
        self.weekend_days
            .sort_by_key(|day| Weekday::from(*day).days_since(Weekday::Sat));
        self.weekend_days.dedup();
        if self.weekend_days.len() > 3 {
            v.push("weekend_days", "too_many", "at most three weekend days");
        }
        for (day, spans) in self.working_hours.days_mut() {
            check_day_hours(&mut v, day.as_str(), spans);
        }
        if self
            .weekly_hours()
            .is_some_and(|hours| !hours.is_open_some_day())
        {
            v.push(
                "working_hours",
                "no_working_time",
                "at least one day that is not a weekend day must have working hours",
            );
        }
        if !(0..=MAX_SERVICE_COST_PER_HOUR).contains(&self.service_cost_per_hour) {
            v.push(
                "service_cost_per_hour",
                "out_of_range",
                format!("from 0 to {MAX_SERVICE_COST_PER_HOUR}"),
            );
        }
        if self.holidays.len() > MAX_HOLIDAYS {
            v.push(
                "holidays",
                "too_many",
                format!("at most {MAX_HOLIDAYS} holidays"),
            );
        }
        for (i, holiday) in self.holidays.iter_mut().enumerate() {
            check_name(&mut v, &format!("holidays[{i}].name"), &mut holiday.name);
        }
        self.holidays.sort_by_key(|holiday| holiday.date);
        self.holidays.dedup_by_key(|holiday| holiday.date);
        if self.recurring_holidays.len() > MAX_RECURRING_HOLIDAYS {
            v.push(
                "recurring_holidays",
                "too_many",
                format!("at most {MAX_RECURRING_HOLIDAYS} recurring holidays"),
            );
        }
        for (i, holiday) in self.recurring_holidays.iter_mut().enumerate() {
            let day = JalaliDay {
                month: holiday.month,
                day: holiday.day,
            };
            if !day.exists() {
                v.push(
                    format!("recurring_holidays[{i}]"),
                    "invalid_date",
                    "month must be 1 to 12 and day within the month (31 days in months 1-6, 30 after)",
                );
            }
            let field = format!("recurring_holidays[{i}].name");
            check_name(&mut v, &field, &mut holiday.name);
        }
        self.recurring_holidays
            .sort_by_key(|holiday| (holiday.month, holiday.day));
        self.recurring_holidays
            .dedup_by_key(|holiday| (holiday.month, holiday.day));
        self.feedback.check(&mut v, "feedback");
        self.loyalty.check(&mut v, "loyalty");
        if let Some(quiet) = &mut self.quiet_hours {
            let start = clock_minute(&quiet.start).filter(|minute| *minute < MINUTES_PER_DAY);
            let end = clock_minute(&quiet.end).filter(|minute| *minute < MINUTES_PER_DAY);
            match start {
                Some(minute) => quiet.start = clock_text(minute),
                None => v.push(
                    "quiet_hours.start",
                    "invalid_time",
                    "must be HH:MM from 00:00 to 23:59",
                ),
            }
            match end {
                Some(minute) => quiet.end = clock_text(minute),
                None => v.push(
                    "quiet_hours.end",
                    "invalid_time",
                    "must be HH:MM from 00:00 to 23:59",
                ),
            }
            if start.is_some() && start == end {
                v.push("quiet_hours.end", "invalid_range", "must differ from start");
            }
        }
        let currency = self.default_currency.trim().to_uppercase();
        if iso_currency::Currency::from_code(&currency).is_none() {
            v.push(
                "default_currency",
                "invalid_format",
                "must be an ISO 4217 code such as IRR",
            );
        }
        self.default_currency = currency;
        v.into_result()
    }

    /// The calendar these settings describe. Parts that do not pass [`Self::normalize`]
    /// (only possible for a document never checked) fall back to the defaults.
    pub fn calendar(&self) -> BusinessCalendar {
        let defaults = LocalCalendar::default();
        let local = LocalCalendar {
            time_zone: self.time_zone.parse().unwrap_or(defaults.time_zone),
            first_weekday: self.first_day_of_week.into(),
        };
        let hours = self
            .weekly_hours()
            .unwrap_or_else(WeeklyHours::iranian_default);
        BusinessCalendar::new(
            local,
            hours,
            self.holidays.iter().map(|holiday| holiday.date),
            self.recurring_holidays.iter().map(|holiday| JalaliDay {
                month: holiday.month,
                day: holiday.day,
            }),
        )
    }

    /// The first instant at or after `at` outside the quiet hours: when a message the
    /// business starts at `at` may go out. `at` itself without quiet hours.
    pub fn send_instant(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let Some(quiet) = &self.quiet_hours else {
            return at;
        };
        let (Some(start), Some(end)) = (clock_minute(&quiet.start), clock_minute(&quiet.end))
        else {
            return at;
        };
        let calendar = self.calendar();
        let local = calendar.local();
        let mut candidate = at;
        // Each step moves to a later local day or to the end of a quiet span, so a year
        // of steps settles any calendar with a working day.
        for _ in 0..800 {
            let wall = local.local_time(candidate);
            let date = wall.date();
            let minute = (wall.hour() * 60 + wall.minute()) as u16;
            let next = if quiet.on_days_off && !calendar.is_business_day(date) {
                date.succ_opt().and_then(|day| local.start_of_day(day))
            } else if start < end && (start..end).contains(&minute) {
                local.instant_at(date.and_time(clock_time(end)))
            } else if start > end && minute >= start {
                date.succ_opt()
                    .and_then(|day| local.instant_at(day.and_time(clock_time(end))))
            } else if start > end && minute < end {
                local.instant_at(date.and_time(clock_time(end)))
            } else {
                return candidate;
            };
            match next {
                Some(next) if next > candidate => candidate = next,
                // A wall-clock time the clocks skipped: an hour on.
                _ => candidate += chrono::TimeDelta::hours(1),
            }
        }
        candidate
    }

    /// The weekly hours with weekend days closed; `None` when some span is not valid.
    fn weekly_hours(&self) -> Option<WeeklyHours> {
        let mut hours = WeeklyHours::closed();
        for (day, spans) in self.working_hours.days() {
            let spans = spans
                .iter()
                .map(|span| {
                    let (start, end) = (clock_minute(&span.start)?, clock_minute(&span.end)?);
                    WorkingSpan::new(start, end).ok()
                })
                .collect::<Option<Vec<_>>>()?;
            hours.set(day.into(), spans).ok()?;
        }
        for day in &self.weekend_days {
            hours.close((*day).into());
        }
        Some(hours)
    }
}

fn check_day_hours(v: &mut Violations, day: &str, spans: &mut [OpeningHours]) {
    if spans.len() > MAX_SPANS_PER_DAY {
        v.push(
            format!("working_hours.{day}"),
            "too_many",
            format!("at most {MAX_SPANS_PER_DAY} spans a day"),
        );
        return;
    }
    let mut parsed = Vec::with_capacity(spans.len());
    for (i, span) in spans.iter_mut().enumerate() {
        let field = |part: &str| format!("working_hours.{day}[{i}].{part}");
        let start = clock_minute(&span.start).filter(|minute| *minute < MINUTES_PER_DAY);
        let end = clock_minute(&span.end);
        if start.is_none() {
            v.push(
                field("start"),
                "invalid_time",
                "must be HH:MM from 00:00 to 23:59",
            );
        }
        if end.is_none() {
            v.push(
                field("end"),
                "invalid_time",
                "must be HH:MM from 00:01 to 24:00",
            );
        }
        let (Some(start), Some(end)) = (start, end) else {
            continue;
        };
        span.start = clock_text(start);
        span.end = clock_text(end);
        match WorkingSpan::new(start, end) {
            Ok(span) => parsed.push(span),
            Err(_) => v.push(field("end"), "invalid_range", "must be after start"),
        }
    }
    spans.sort_by(|a, b| a.start.cmp(&b.start));
    if let Err(HoursError::Overlapping) = day_spans(parsed) {
        v.push(
            format!("working_hours.{day}"),
            "overlapping",
            "the spans of a day must not overlap",
        );
    }
}

fn check_name(v: &mut Violations, field: &str, name: &mut String) {
    *name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_HOLIDAY_NAME {
        v.push(
            field,
            "invalid_length",
            format!("must be 1 to {MAX_HOLIDAY_NAME} characters"),
        );
    }
}

/// Minutes after midnight of `HH:MM` (one or two hour digits), up to `24:00`.
fn clock_minute(text: &str) -> Option<u16> {
    let (hours, minutes) = text.trim().split_once(':')?;
    let digits = |part: &str, max_len: usize| {
        (!part.is_empty() && part.len() <= max_len && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u16>().ok())
            .flatten()
    };
    let (hours, minutes) = (digits(hours, 2)?, digits(minutes, 2)?);
    if minutes >= 60 || hours > 24 {
        return None;
    }
    let minute = hours * 60 + minutes;
    (minute <= MINUTES_PER_DAY).then_some(minute)
}

fn clock_text(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// The wall-clock time of a minute of the day (below 24:00).
fn clock_time(minute: u16) -> chrono::NaiveTime {
    chrono::NaiveTime::from_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)
        .unwrap_or(chrono::NaiveTime::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn at(instant: &str) -> DateTime<Utc> {
        instant.parse().expect("valid test instant")
    }

    fn fields(result: Result<(), Vec<FieldViolation>>) -> Vec<(String, String)> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|v| (v.field, v.code))
            .collect()
    }

    #[test]
    fn quiet_hours_hold_business_messages_until_they_end() {
        let mut settings = BusinessSettings {
            quiet_hours: Some(QuietHours {
                start: "21:00".into(),
                end: "8:00".into(),
                on_days_off: true,
            }),
            ..BusinessSettings::default()
        };
        assert_eq!(settings.normalize(), Ok(()));
        assert_eq!(settings.quiet_hours.as_ref().unwrap().end, "08:00");
        // Tehran is UTC+3:30. Wednesday 2 December 2026, 10:00: not quiet.
        let noon = at("2026-12-02T06:30:00Z");
        assert_eq!(settings.send_instant(noon), noon);
        // Wednesday 22:00 waits for Thursday 08:00.
        assert_eq!(
            settings.send_instant(at("2026-12-02T18:30:00Z")),
            at("2026-12-03T04:30:00Z")
        );
        // Thursday 23:00 and Friday (the weekend) wait for Saturday 08:00.
        for friday in ["2026-12-03T19:30:00Z", "2026-12-04T06:30:00Z"] {
            assert_eq!(
                settings.send_instant(at(friday)),
                at("2026-12-05T04:30:00Z")
            );
        }
        // Without days off, Friday 10:00 is not quiet.
        settings.quiet_hours.as_mut().unwrap().on_days_off = false;
        assert_eq!(
            settings.send_instant(at("2026-12-04T06:30:00Z")),
            at("2026-12-04T06:30:00Z")
        );
        // A span within a day: 13:00 waits for 14:00.
        settings.quiet_hours = Some(QuietHours {
            start: "12:00".into(),
            end: "14:00".into(),
            on_days_off: false,
        });
        assert_eq!(
            settings.send_instant(at("2026-12-02T09:30:00Z")),
            at("2026-12-02T10:30:00Z")
        );
        settings.quiet_hours = None;
        assert_eq!(settings.send_instant(noon), noon);
    }

    #[test]
    fn quiet_hours_are_checked() {
        let mut settings = BusinessSettings {
            quiet_hours: Some(QuietHours {
                start: "25:00".into(),
                end: "24:00".into(),
                on_days_off: false,
            }),
            ..BusinessSettings::default()
        };
        assert_eq!(
            fields(settings.normalize()),
            vec![
                ("quiet_hours.start".to_string(), "invalid_time".to_string()),
                ("quiet_hours.end".to_string(), "invalid_time".to_string())
            ]
        );
        settings.quiet_hours = Some(QuietHours {
            start: "22:00".into(),
            end: "22:00".into(),
            on_days_off: false,
        });
        assert_eq!(
            fields(settings.normalize()),
            vec![("quiet_hours.end".to_string(), "invalid_range".to_string())]
        );
    }

    #[test]
    fn the_defaults_are_valid_and_describe_the_iranian_week() {
        let mut settings = BusinessSettings::default();
        let before = settings.clone();
        assert_eq!(settings.normalize(), Ok(()));
        assert_eq!(settings, before);
        assert_eq!(settings.calendar(), BusinessCalendar::default());
    }

    #[test]
    fn weekend_days_close_days_that_have_hours() {
        let mut settings = BusinessSettings {
            weekend_days: vec![WeekDay::Friday, WeekDay::Thursday, WeekDay::Friday],
            ..BusinessSettings::default()
        };
        assert_eq!(settings.normalize(), Ok(()));
        assert_eq!(
            settings.weekend_days,
            vec![WeekDay::Thursday, WeekDay::Friday]
        );
        // Thursday 2026-11-26 at 09:00 Tehran.
        assert!(!settings
            .calendar()
            .is_business_time(at("2026-11-26T05:30:00Z")));
        assert!(BusinessSettings::default()
            .calendar()
            .is_business_time(at("2026-11-26T05:30:00Z")));
    }

    #[test]
    fn times_are_normalised_and_bad_ones_named() {
        let mut settings = BusinessSettings::default();
        settings.working_hours.saturday = vec![
            OpeningHours {
                start: "13:00".into(),
                end: "24:00".into(),
            },
            OpeningHours {
                start: "8:00".into(),
                end: "12:30".into(),
            },
        ];
        assert_eq!(settings.normalize(), Ok(()));
        assert_eq!(settings.working_hours.saturday[0].start, "08:00");
        assert_eq!(settings.working_hours.saturday[1].end, "24:00");

        let mut bad = BusinessSettings::default();
        bad.working_hours.sunday = vec![
            OpeningHours {
                start: "25:00".into(),
                end: "10:00".into(),
            },
            OpeningHours {
                start: "10:00".into(),
                end: "09:00".into(),
            },
        ];
        bad.working_hours.monday = vec![
            OpeningHours {
                start: "08:00".into(),
                end: "12:00".into(),
            },
            OpeningHours {
                start: "11:00".into(),
                end: "13:00".into(),
            },
        ];
        bad.recurring_holidays.push(RecurringHoliday {
            month: 7,
            day: 31,
            name: "x".into(),
        });
        bad.time_zone = "Mars/Olympus".into();
        let violations = fields(bad.normalize());
        for expected in [
            ("working_hours.sunday[0].start", "invalid_time"),
            ("working_hours.sunday[1].end", "invalid_range"),
            ("working_hours.monday", "overlapping"),
            ("recurring_holidays[10]", "invalid_date"),
            ("time_zone", "unknown_time_zone"),
        ] {
            assert!(
                violations.contains(&(expected.0.to_string(), expected.1.to_string())),
                "{expected:?} in {violations:?}"
            );
        }
    }

    #[test]
    fn a_week_without_working_time_is_refused() {
        let mut settings = BusinessSettings {
            weekend_days: vec![WeekDay::Saturday, WeekDay::Sunday, WeekDay::Monday],
            ..BusinessSettings::default()
        };
        settings.working_hours.tuesday.clear();
        settings.working_hours.wednesday.clear();
        settings.working_hours.thursday.clear();
        assert_eq!(
            fields(settings.normalize()),
            vec![("working_hours".to_string(), "no_working_time".to_string())]
        );
    }

    #[test]
    fn clock_times() {
        assert_eq!(clock_minute("08:00"), Some(480));
        assert_eq!(clock_minute("8:05"), Some(485));
        assert_eq!(clock_minute("24:00"), Some(1440));
        for bad in [
            "24:01", "12:60", "12", "ab:cd", "-1:00", "012:00", "12:5x", "",
        ] {
            assert_eq!(clock_minute(bad), None, "{bad}");
        }
    }
}
