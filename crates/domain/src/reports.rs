//! Reports over the order history: how a date range is cut into periods of
//! the Jalali or Gregorian calendar, what a sale is, and the groupings a sales report
//! offers. The figures themselves are summed by the database; this module only decides
//! which rows go together.

use chrono::{Datelike, Months, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::calendar::{period_containing, CalendarSystem, DateRange, JalaliDate, Period};
use crate::commerce::orders::OrderStatus;
use crate::validation::{FieldViolation, Violations};

/// The period a report sums over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Day,
    /// Seven days from the business's first weekday (Saturday in Iran).
    Week,
    #[default]
    Month,
    Quarter,
    Year,
}

impl Bucket {
    pub fn period(self) -> Period {
        match self {
            Bucket::Day => Period::Day,
            Bucket::Week => Period::Week,
            Bucket::Month => Period::Month,
            Bucket::Quarter => Period::Quarter,
            Bucket::Year => Period::Year,
        }
    }
}

/// Most periods one report may have: three years of days, or a century of months.
pub const MAX_PERIODS: usize = 1_200;

/// Two decimals: what a report shows, and what a test can compare exactly.
pub fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// The days a report may cover: a business's history and plans, and dates every client
/// can read back (four-digit years).
pub const REPORT_DAYS: (NaiveDate, NaiveDate) = (
    match NaiveDate::from_ymd_opt(1900, 1, 1) {
        Some(day) => day,
        None => NaiveDate::MIN,
    },
    match NaiveDate::from_ymd_opt(2199, 12, 31) {
        Some(day) => day,
        None => NaiveDate::MAX,
    },
);

/// Whether `day` is a day a report may cover; the violation names `field`.
pub fn check_report_day(field: &str, day: NaiveDate) -> Result<(), FieldViolation> {
    let (first, last) = REPORT_DAYS;
    if day < first || day > last {
        return Err(FieldViolation::new(
            field,
            "out_of_range",
            format!("must be from {first} to {last}"),
        ));
    }
    Ok(())
}

/// One period of a report: the local dates it covers and its name in the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPeriod {
    /// The dates covered, clipped to the report's range: the first and last period of a
    /// range that does not start or end on a period boundary are partial.
    pub range: DateRange,
    /// The period's name in its calendar: `1405-01-07` (day, and a week by its first
    /// day), `1405-01` (month), `1405-Q1` (quarter), `1405` (year).
    pub label: String,
}

/// The periods of `bucket` in `calendar` that cover `from`..=`to`, in order.
/// Violations name `from`, `to` and `bucket`.
pub fn periods(
    from: NaiveDate,
    to: NaiveDate,
    bucket: Bucket,
    calendar: CalendarSystem,
    first_weekday: Weekday,
) -> Result<Vec<ReportPeriod>, Vec<FieldViolation>> {
    let mut v = Violations::default();
    for (field, day) in [("from", from), ("to", to)] {
        if let Err(violation) = check_report_day(field, day) {
            v.0.push(violation);
        }
    }
    if !v.is_empty() {
        return Err(v.0);
    }
    if to < from {
        v.push("to", "before_from", "must not be before `from`");
        return Err(v.0);
    }
    let mut periods = Vec::new();
    let mut day = from;
    while day <= to {
        if periods.len() == MAX_PERIODS {
            v.push(
                "bucket",
                "too_many_periods",
                format!(
                    "the range has more than {MAX_PERIODS} periods of this length; \
                     choose a longer period or a shorter range"
                ),
            );
            return Err(v.0);
        }
        let Some(whole) = period_containing(day, bucket.period(), calendar, first_weekday) else {
            v.push("to", "out_of_range", "is too far from today");
            return Err(v.0);
        };
        let Some(after_to) = to.succ_opt() else {
            v.push("to", "out_of_range", "is too far from today");
            return Err(v.0);
        };
        periods.push(ReportPeriod {
            label: label(whole.start, bucket, calendar),
            range: DateRange {
                start: whole.start.max(from),
                end: whole.end.min(after_to),
            },
        });
        day = whole.end;
    }
    Ok(periods)
}

fn label(start: NaiveDate, bucket: Bucket, calendar: CalendarSystem) -> String {
    let (year, month, day) = match calendar {
        CalendarSystem::Gregorian => (start.year(), start.month(), start.day()),
        CalendarSystem::Jalali => {
            let jalali = JalaliDate::from_gregorian(start);
            (
                jalali.year(),
                u32::from(jalali.month()),
                u32::from(jalali.day()),
            )
        }
    };
    match bucket {
        Bucket::Day | Bucket::Week => format!("{year:04}-{month:02}-{day:02}"),
        Bucket::Month => format!("{year:04}-{month:02}"),
        Bucket::Quarter => format!("{year:04}-Q{}", (month - 1) / 3 + 1),
        Bucket::Year => format!("{year:04}"),
    }
}

/// Whether an order counts in sales figures: it was paid, whatever happened after
/// (fulfilled, partly or wholly returned). Its refunds are subtracted in the period of
/// the order, so a late return changes that period's net figure.
pub fn is_sale(status: OrderStatus) -> bool {
    status.is_purchase() || status == OrderStatus::Returned
}

/// How a sales report groups each period's orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SalesDimension {
    /// The customer's province.
    Province,
    /// The customer's city.
    City,
    /// The customer's gender.
    Gender,
    /// The customer's age at the start of the period, in [`AGE_BANDS`].
    AgeRange,
    /// The product of each line: figures are the lines' (units net of returns).
    Product,
    /// The product's category (`null` for products without one).
    Category,
    /// The order's sales channel.
    Channel,
}

impl SalesDimension {
    pub fn as_str(self) -> &'static str {
        match self {
            SalesDimension::Province => "province",
            SalesDimension::City => "city",
            SalesDimension::Gender => "gender",
            SalesDimension::AgeRange => "age_range",
            SalesDimension::Product => "product",
            SalesDimension::Category => "category",
            SalesDimension::Channel => "channel",
        }
    }

    /// Whether the report sums order lines rather than orders.
    pub fn by_line(self) -> bool {
        matches!(self, SalesDimension::Product | SalesDimension::Category)
    }
}

/// Age bands of the `age_range` grouping: a customer is in the last band whose lower
/// bound (in whole years) they have reached at the start of the period. Customers
/// without a birth date are in the `unknown` group.
pub const AGE_BANDS: [(u32, &str); 7] = [
    (0, "under_18"),
    (18, "18_24"),
    (25, "25_34"),
    (35, "35_44"),
    (45, "45_54"),
    (55, "55_64"),
    (65, "65_and_over"),
];

/// The group of customers without a birth date in the `age_range` grouping.
pub const AGE_UNKNOWN: &str = "unknown";

/// The latest birth date of each band after the first at the start of a period: born
/// on or before `thresholds[i]`, a customer has reached `AGE_BANDS[i + 1]`'s age.
pub fn age_thresholds(period_start: NaiveDate) -> Option<[NaiveDate; 6]> {
    let mut thresholds = [period_start; 6];
    for (threshold, (years, _)) in thresholds.iter_mut().zip(&AGE_BANDS[1..]) {
        *threshold = period_start.checked_sub_months(Months::new(years * 12))?;
    }
    Some(thresholds)
}

/// How an acquisition report groups the customers acquired in each period (C-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AcquisitionDimension {
    /// The customer's acquisition source.
    Source,
    /// The customer's acquisition channel.
    Channel,
    /// The customer's acquisition campaign.
    Campaign,
    /// Who referred the customer: a customer ([`REFERRER_CUSTOMER`]) or a user
    /// ([`REFERRER_USER`]). A customer referred by both counts under each.
    Referrer,
}

/// The kind of a referrer that is itself a customer (`referred_by_customer_id`).
pub const REFERRER_CUSTOMER: &str = "customer";
/// The kind of a referrer with a user account (`referred_by_user_id`).
pub const REFERRER_USER: &str = "user";

/// How a profitability report groups customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProfitDimension {
    /// The RFM segment of the current `rfm` run (`null` for customers it did not score).
    RfmSegment,
    /// The customer's tier (its id; `null` for customers without one).
    Tier,
    /// Each customer: the most profitable first.
    Customer,
}

/// How a sales forecast splits each period's deals (S-5): by the deal's owner or team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForecastDimension {
    Owner,
    Team,
}

/// The lifecycle stages a funnel follows, in order; `churned` is not a step.
pub const FUNNEL_STAGES: [&str; 5] = [
    "awareness",
    "consideration",
    "purchase",
    "retention",
    "advocacy",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn jalali_months_start_on_the_first_of_each_month() {
        // 1404-12-20 .. 1405-02-10: Esfand (partial), Farvardin, Ordibehesht (partial).
        let periods = periods(
            date(2026, 3, 11),
            date(2026, 4, 30),
            Bucket::Month,
            CalendarSystem::Jalali,
            Weekday::Sat,
        )
        .unwrap();
        let labels: Vec<&str> = periods.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["1404-12", "1405-01", "1405-02"]);
        // 1 Farvardin 1405 is 21 March 2026.
        assert_eq!(periods[0].range.start, date(2026, 3, 11));
        assert_eq!(periods[0].range.end, date(2026, 3, 21));
        assert_eq!(periods[1].range.start, date(2026, 3, 21));
        assert_eq!(periods[1].range.end, date(2026, 4, 21));
        assert_eq!(periods[2].range.end, date(2026, 5, 1));
    }

    #[test]
    fn quarters_years_weeks_and_days_are_named_in_their_calendar() {
        let quarter = periods(
            date(2026, 3, 21),
            date(2026, 6, 21),
            Bucket::Quarter,
            CalendarSystem::Jalali,
            Weekday::Sat,
        )
        .unwrap();
        assert_eq!(quarter.len(), 1);
        assert_eq!(quarter[0].label, "1405-Q1");
        let years = periods(
            date(2025, 12, 31),
            date(2026, 1, 1),
            Bucket::Year,
            CalendarSystem::Gregorian,
            Weekday::Mon,
        )
        .unwrap();
        let labels: Vec<&str> = years.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["2025", "2026"]);
        // 2026-03-21 is a Saturday: its week is named after it.
        let weeks = periods(
            date(2026, 3, 20),
            date(2026, 3, 21),
            Bucket::Week,
            CalendarSystem::Jalali,
            Weekday::Sat,
        )
        .unwrap();
        let labels: Vec<&str> = weeks.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["1404-12-23", "1405-01-01"]);
    }

    #[test]
    fn a_range_is_checked() {
        let backwards = periods(
            date(2026, 2, 1),
            date(2026, 1, 1),
            Bucket::Day,
            CalendarSystem::Gregorian,
            Weekday::Sat,
        )
        .unwrap_err();
        assert_eq!(backwards[0].code, "before_from");
        let ancient = periods(
            date(702, 4, 24),
            date(2026, 1, 1),
            Bucket::Year,
            CalendarSystem::Gregorian,
            Weekday::Sat,
        )
        .unwrap_err();
        assert_eq!(
            (ancient[0].field.as_str(), ancient[0].code.as_str()),
            ("from", "out_of_range")
        );
        let too_many = periods(
            date(2020, 1, 1),
            date(2026, 1, 1),
            Bucket::Day,
            CalendarSystem::Gregorian,
            Weekday::Sat,
        )
        .unwrap_err();
        assert_eq!(too_many[0].code, "too_many_periods");
    }

    #[test]
    fn age_bands_are_reached_on_the_birthday() {
        let start = date(2026, 3, 21);
        let thresholds = age_thresholds(start).unwrap();
        assert_eq!(thresholds[0], date(2008, 3, 21));
        assert_eq!(thresholds[5], date(1961, 3, 21));
    }
}
