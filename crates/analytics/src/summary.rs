//! Per-customer transaction summaries: the (frequency, recency, T, monetary value) inputs of
//! the BG/NBD and Gamma-Gamma models, and the totals RFM and historical CLV need.
//!
//! Definitions (Fader, Hardie & Lee 2005a; identical to `lifetimes`'
//! `summary_data_from_transaction_data` with `freq="D"` and `freq_multiplier` = the unit in
//! days):
//! - purchases on the same calendar day count once, their amounts summed;
//! - `frequency` x = number of purchase days after the first one (repeat purchases);
//! - `recency` t_x = time from the first to the last purchase day;
//! - `t` (T) = time from the first purchase day to the calibration end;
//! - `monetary` = mean amount of the repeat purchase days (0 when x = 0);
//! - transactions after the calibration end are not used.

mod table;

use std::str::FromStr;

use chrono::NaiveDate;
use serde::Serialize;

pub use table::{day_number, day_number_of, CompactSummary, CustomerTable, Summaries};

use crate::{AnalyticsError, Result};

/// The time unit recency and T are expressed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TimeUnit {
    Day,
    Week,
    /// A mean Gregorian month, 365.2425 / 12 = 30.436875 days (as numpy's `timedelta64(1, "M")`).
    Month,
}

impl TimeUnit {
    /// Length of one unit in days.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Day => 1.0,
            TimeUnit::Week => 7.0,
            TimeUnit::Month => 365.2425 / 12.0,
        }
    }

    /// Units per month as `lifetimes`' `customer_lifetime_value` counts them
    /// (`{"D": 30, "W": 4.345, "M": 1}`), kept so that CLV figures agree with it.
    pub fn per_month(self) -> f64 {
        match self {
            TimeUnit::Day => 30.0,
            TimeUnit::Week => 4.345,
            TimeUnit::Month => 1.0,
        }
    }

    /// Lower-case name, as accepted by [`FromStr`].
    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Day => "day",
            TimeUnit::Week => "week",
            TimeUnit::Month => "month",
        }
    }
}

impl FromStr for TimeUnit {
    type Err = AnalyticsError;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "day" | "days" | "d" => Ok(TimeUnit::Day),
            "week" | "weeks" | "w" => Ok(TimeUnit::Week),
            "month" | "months" | "m" => Ok(TimeUnit::Month),
            other => Err(AnalyticsError::InvalidParameter {
                name: "unit",
                reason: format!("`{other}` is not one of day, week, month"),
            }),
        }
    }
}

/// The three numbers the purchase-count models need about one customer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PurchaseHistory {
    /// x: repeat purchases.
    pub frequency: u32,
    /// t_x: time of the last purchase, from the first.
    pub recency: f64,
    /// T: time from the first purchase to the end of observation.
    pub t: f64,
}

impl PurchaseHistory {
    /// Checks 0 <= t_x <= T and finiteness; `index` is used in the error.
    pub fn validate(&self, index: usize) -> Result<()> {
        let invalid = |reason: String| Err(AnalyticsError::InvalidInput { index, reason });
        if !(self.recency.is_finite() && self.t.is_finite()) {
            return invalid("recency and T must be finite".into());
        }
        if self.recency < 0.0 || self.t < 0.0 {
            return invalid(format!(
                "recency {} and T {} must not be negative",
                self.recency, self.t
            ));
        }
        if self.recency > self.t {
            return invalid(format!("recency {} exceeds T {}", self.recency, self.t));
        }
        if self.frequency == 0 && self.recency != 0.0 {
            return invalid("recency must be 0 when frequency is 0".into());
        }
        Ok(())
    }
}

/// One customer's summary at the calibration end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerSummary {
    pub customer_id: String,
    /// Repeat purchase days (x).
    pub frequency: u32,
    /// First to last purchase day, in the summary's unit (t_x).
    pub recency: f64,
    /// First purchase day to the calibration end, in the summary's unit (T).
    pub t: f64,
    /// Mean amount per repeat purchase day; 0 without repeat purchases.
    pub monetary: f64,
    pub first_purchase: NaiveDate,
    pub last_purchase: NaiveDate,
    /// Total amount over all purchase days, the first included.
    pub total_amount: f64,
}

impl CustomerSummary {
    /// The model inputs of this customer.
    pub fn history(&self) -> PurchaseHistory {
        PurchaseHistory {
            frequency: self.frequency,
            recency: self.recency,
            t: self.t,
        }
    }

    /// Purchase days, the first included.
    pub fn purchase_days(&self) -> u32 {
        self.frequency + 1
    }
}

/// What a summary run used.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SummaryReport {
    /// Rows pushed.
    pub rows_read: u64,
    /// Rows on or before the calibration end.
    pub rows_used: u64,
    /// Rows after the calibration end (left out).
    pub rows_after_calibration_end: u64,
    pub customers: usize,
}

/// Streaming summariser: one pass over transactions, memory per customer (not per
/// transaction), kept in a [`CustomerTable`].
///
/// Keeping only the last purchase day per customer is what makes one pass enough, so each
/// customer's transactions must arrive in date order (any interleaving of customers is
/// fine, as an export ordered by date or by customer and date gives);
/// [`AnalyticsError::OutOfOrder`] reports the first violation.
#[derive(Debug, Clone)]
pub struct SummaryBuilder {
    calibration_end: NaiveDate,
    unit: TimeUnit,
    customers: CustomerTable,
    report: SummaryReport,
}

impl SummaryBuilder {
    pub fn new(calibration_end: NaiveDate, unit: TimeUnit) -> Self {
        SummaryBuilder {
            calibration_end,
            unit,
            customers: CustomerTable::new(),
            report: SummaryReport::default(),
        }
    }

    /// Adds one transaction. `amount` must be finite and non-negative (a return is not a
    /// purchase).
    pub fn push(&mut self, customer: &str, date: NaiveDate, amount: f64) -> Result<()> {
        let index = self.report.rows_read as usize;
        self.report.rows_read += 1;
        if !amount.is_finite() || amount < 0.0 {
            return Err(AnalyticsError::InvalidInput {
                index,
                reason: format!("amount {amount} must be a non-negative number"),
            });
        }
        if date > self.calibration_end {
            self.report.rows_after_calibration_end += 1;
            return Ok(());
        }
        self.report.rows_used += 1;
        self.customers.add(customer, day_number_of(date), amount)
    }

    /// The summaries, ordered by customer id, and what was used.
    pub fn finish(self) -> (Vec<CustomerSummary>, SummaryReport) {
        let summaries = self
            .customers
            .finish(day_number_of(self.calibration_end), self.unit)
            .to_vec();
        let mut report = self.report;
        report.customers = summaries.len();
        (summaries, report)
    }
}

/// (frequency, recency, T, monetary) from a customer's aggregates, days as day numbers.
fn model_inputs(
    first: i32,
    last: i32,
    calibration_end: i32,
    purchase_days: u32,
    total_amount: f64,
    first_day_amount: f64,
    unit: TimeUnit,
) -> (u32, f64, f64, f64) {
    let span = |from: i32, to: i32| f64::from(to - from) / unit.days();
    let frequency = purchase_days.saturating_sub(1);
    let monetary = if frequency > 0 {
        (total_amount - first_day_amount) / f64::from(frequency)
    } else {
        0.0
    };
    (
        frequency,
        span(first, last),
        span(first, calibration_end),
        monetary,
    )
}

/// One customer's transactions aggregated by the database, as this query returns them
/// (PostgreSQL; `:end` is the calibration end):
///
/// ```sql
/// WITH days AS (
///   SELECT customer_id, CAST(placed_at AS date) AS day, SUM(amount) AS amount
///   FROM orders WHERE CAST(placed_at AS date) <= :end GROUP BY customer_id, day)
/// SELECT customer_id, MIN(day) AS first_purchase, MAX(day) AS last_purchase,
///        COUNT(*) AS purchase_days, SUM(amount) AS total_amount,
///        (ARRAY_AGG(amount ORDER BY day))[1] AS first_day_amount
/// FROM days GROUP BY customer_id;
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerAggregate {
    pub customer_id: String,
    pub first_purchase: NaiveDate,
    pub last_purchase: NaiveDate,
    /// Distinct purchase days, the first included.
    pub purchase_days: u32,
    pub total_amount: f64,
    /// Amount spent on the first purchase day (left out of the monetary value).
    pub first_day_amount: f64,
}

impl CustomerAggregate {
    fn summarize(self, calibration_end: NaiveDate, unit: TimeUnit) -> CustomerSummary {
        let (frequency, recency, t, monetary) = model_inputs(
            day_number_of(self.first_purchase),
            day_number_of(self.last_purchase),
            day_number_of(calibration_end),
            self.purchase_days,
            self.total_amount,
            self.first_day_amount,
            unit,
        );
        CustomerSummary {
            frequency,
            recency,
            t,
            monetary,
            first_purchase: self.first_purchase,
            last_purchase: self.last_purchase,
            total_amount: self.total_amount,
            customer_id: self.customer_id,
        }
    }
}

/// Summaries from pre-aggregated rows (see [`CustomerAggregate`]), checked for consistency.
pub fn summarize_aggregates(
    rows: impl IntoIterator<Item = CustomerAggregate>,
    calibration_end: NaiveDate,
    unit: TimeUnit,
) -> Result<Vec<CustomerSummary>> {
    rows.into_iter()
        .enumerate()
        .map(|(index, row)| {
            let invalid = |reason: &str| AnalyticsError::InvalidInput {
                index,
                reason: format!("customer `{}`: {reason}", row.customer_id),
            };
            if row.purchase_days == 0 {
                return Err(invalid("purchase_days must be at least 1"));
            }
            if row.first_purchase > row.last_purchase || row.last_purchase > calibration_end {
                return Err(invalid("need first <= last purchase <= calibration end"));
            }
            if (row.purchase_days > 1) == (row.first_purchase == row.last_purchase) {
                return Err(invalid("purchase_days disagrees with the purchase dates"));
            }
            let amounts_ok = row.total_amount.is_finite()
                && row.first_day_amount >= 0.0
                && row.first_day_amount <= row.total_amount * (1.0 + 1e-12);
            if !amounts_ok {
                return Err(invalid("need 0 <= first_day_amount <= total_amount"));
            }
            Ok(row.summarize(calibration_end, unit))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    #[test]
    fn counts_same_day_purchases_once_and_averages_repeat_days() {
        let mut builder = SummaryBuilder::new(date("1997-09-30"), TimeUnit::Week);
        for (customer, day, amount) in [
            ("a", "1997-01-01", 10.0),
            ("b", "1997-03-01", 5.0),
            ("a", "1997-01-01", 2.0),
            ("a", "1997-01-08", 20.0),
            ("a", "1997-01-15", 30.0),
            ("a", "1997-01-15", 10.0),
            ("a", "1997-12-01", 99.0),
        ] {
            builder
                .push(customer, date(day), amount)
                .expect("valid row");
        }
        let (summaries, report) = builder.finish();
        assert_eq!(report.rows_after_calibration_end, 1);
        assert_eq!(report.customers, 2);
        let a = &summaries[0];
        assert_eq!((a.customer_id.as_str(), a.frequency), ("a", 2));
        assert!((a.recency - 2.0).abs() < 1e-12);
        assert!((a.t - 272.0 / 7.0).abs() < 1e-12);
        assert!((a.monetary - 30.0).abs() < 1e-12);
        assert!((a.total_amount - 72.0).abs() < 1e-12);
        let b = &summaries[1];
        assert_eq!((b.frequency, b.recency, b.monetary), (0, 0.0, 0.0));
    }

    #[test]
    fn rejects_negative_amounts_and_out_of_order_days() {
        let mut builder = SummaryBuilder::new(date("2020-12-31"), TimeUnit::Day);
        assert!(builder.push("a", date("2020-01-02"), -1.0).is_err());
        builder
            .push("a", date("2020-01-05"), 1.0)
            .expect("valid row");
        let err = builder.push("a", date("2020-01-04"), 1.0);
        assert!(matches!(err, Err(AnalyticsError::OutOfOrder { .. })));
    }

    #[test]
    fn aggregates_give_the_same_summary_as_the_stream() {
        let end = date("2021-06-30");
        let mut builder = SummaryBuilder::new(end, TimeUnit::Month);
        for (day, amount) in [
            ("2021-01-01", 4.0),
            ("2021-02-01", 6.0),
            ("2021-03-01", 8.0),
        ] {
            builder.push("c", date(day), amount).expect("valid row");
        }
        let (streamed, _) = builder.finish();
        let aggregated = summarize_aggregates(
            [CustomerAggregate {
                customer_id: "c".into(),
                first_purchase: date("2021-01-01"),
                last_purchase: date("2021-03-01"),
                purchase_days: 3,
                total_amount: 18.0,
                first_day_amount: 4.0,
            }],
            end,
            TimeUnit::Month,
        )
        .expect("consistent aggregate");
        assert_eq!(streamed, aggregated);
        assert!((aggregated[0].monetary - 7.0).abs() < 1e-12);
    }
}
