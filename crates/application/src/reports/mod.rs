//! Reports over the order history and the customers (A-5, A-11, A-12, A-13, C-3): sales,
//! key figures, cohorts, acquisition and the lifecycle funnel per period of the Jalali
//! or Gregorian calendar in the business time zone, optionally grouped; profitability
//! over a window; who stopped buying a product.
//!
//! Reports need `records:read`, and sum over the customers the caller can see: a sales
//! user with `own` visibility gets the figures of their own customers, a manager those
//! of the whole base. A sale is an order that was paid ([`domain::reports::is_sale`]);
//! refunds are subtracted in the period of the order they refund.

use chrono::{DateTime, NaiveDate, Utc};
use domain::authz::Permission;
use domain::calendar::{CalendarSystem, LocalCalendar};
use domain::feedback::reports::{metric_value, ReportMetric};
use domain::reports::{
    age_thresholds, periods, AcquisitionDimension, Bucket, ProfitDimension, ReportPeriod,
    SalesDimension, FUNNEL_STAGES, REFERRER_CUSTOMER, REFERRER_USER,
};
use persistence::db::DbConnection;
use persistence::feedback_reports::{FeedbackScope, Measure};
use persistence::reports::{PeriodBounds, SalesCell};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::paging::Cursor;

pub mod acquisition_cost;
pub mod attribution;
pub mod channels;
pub mod export;
pub mod forecast;
pub mod service;

/// The period a report covers and how it is cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReportRange {
    /// First local day covered.
    pub from: NaiveDate,
    /// Last local day covered (inclusive).
    pub to: NaiveDate,
    pub bucket: Bucket,
    pub calendar: CalendarSystem,
}

impl ReportRange {
    /// `from`..=`to` in periods of `bucket` (default a month) of `calendar` (default the
    /// Jalali calendar).
    pub fn new(
        from: NaiveDate,
        to: NaiveDate,
        bucket: Option<Bucket>,
        calendar: Option<CalendarSystem>,
    ) -> ReportRange {
        ReportRange {
            from,
            to,
            bucket: bucket.unwrap_or_default(),
            calendar: calendar.unwrap_or(CalendarSystem::Jalali),
        }
    }
}

/// The customers a report shows by id or name. A file that holds the report lists
/// them (`persistence::files::record_customers`), so that erasing one deletes the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamedCustomers {
    pub ids: Vec<Uuid>,
    /// Those whose name the report read while they were not erased: one erased before
    /// the file lists it must not stay in the file.
    pub read_unerased: Vec<Uuid>,
}

impl NamedCustomers {
    /// `ids`, of which those in `labels` were read by name.
    fn read(
        ids: Vec<Uuid>,
        labels: &HashMap<Uuid, persistence::customers::CustomerLabel>,
    ) -> NamedCustomers {
        let read_unerased = labels
            .iter()
            .filter(|(_, label)| !label.erased)
            .map(|(id, _)| *id)
            .collect();
        NamedCustomers { ids, read_unerased }
    }
}

/// Sums over one period, or one group of it. Money in minor units of the business
/// currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct SalesFigures {
    pub orders: i64,
    /// Distinct customers.
    pub buyers: i64,
    /// Units net of returns; only when grouped by product or category.
    pub units: Option<i64>,
    /// Paid after discounts.
    pub gross: i64,
    pub refunds: i64,
    /// `gross − refunds`.
    pub net: i64,
    /// `net / orders`, rounded to the minor unit; 0 without orders.
    pub average_order_value: i64,
}

impl SalesFigures {
    fn of(cell: &SalesCell) -> SalesFigures {
        let net = cell.gross - cell.refunds;
        SalesFigures {
            orders: cell.orders,
            buyers: cell.buyers,
            units: cell.units,
            gross: cell.gross,
            refunds: cell.refunds,
            net,
            average_order_value: average(net, cell.orders),
        }
    }
}

/// `amount / count` rounded half away from zero; 0 when `count` is 0.
fn average(amount: i64, count: i64) -> i64 {
    if count == 0 {
        return 0;
    }
    let (amount, count) = (i128::from(amount), i128::from(count));
    let rounded = (2 * amount + count * amount.signum()) / (2 * count);
    rounded as i64
}

/// One group of a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SalesGroup {
    /// The group's value: a province, city, gender, age band or channel, or the id of
    /// a product or category; `None` for orders where it is not given.
    pub key: Option<String>,
    /// The product's or category's name.
    pub name: Option<String>,
    pub figures: SalesFigures,
}

/// One period of a sales report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SalesPeriod {
    pub label: String,
    /// First local day.
    pub start: NaiveDate,
    /// Last local day (inclusive).
    pub end: NaiveDate,
    pub totals: SalesFigures,
    /// The period's groups, largest net first; empty when not grouped.
    pub groups: Vec<SalesGroup>,
}

/// A sales report: every period of the range, in order, with zeros where nothing sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SalesReport {
    pub range: ReportRange,
    pub group_by: Option<SalesDimension>,
    pub currency: String,
    pub periods: Vec<SalesPeriod>,
}

/// The business's clock and currency code, from one read of its settings.
fn business(conn: &mut DbConnection) -> AppResult<(LocalCalendar, String)> {
    let (settings, _) = crate::settings::current(conn)?;
    let currency =
        domain::commerce::Currency::parse(&settings.default_currency).ok_or_else(|| {
            AppError::Internal(format!(
                "stored business currency {:?}",
                settings.default_currency
            ))
        })?;
    Ok((settings.calendar().local(), currency.code().to_string()))
}

/// The index of report period `index` among `len`; another is a broken query.
pub(crate) fn period_index(index: i64, len: usize) -> AppResult<usize> {
    usize::try_from(index)
        .ok()
        .filter(|index| *index < len)
        .ok_or_else(|| AppError::Internal(format!("report period {index} out of range")))
}

/// The periods of `range` and their bounds in the business time zone.
pub(crate) fn cut(
    local: &LocalCalendar,
    range: &ReportRange,
) -> AppResult<(Vec<ReportPeriod>, Vec<PeriodBounds>)> {
    let cut = periods(
        range.from,
        range.to,
        range.bucket,
        range.calendar,
        local.first_weekday,
    )
    .map_err(AppError::Invalid)?;
    let out_of_range = || invalid("to", "out_of_range", "is too far from today");
    let bounds = cut
        .iter()
        .map(|period| {
            let (start, end) = local.utc_range(period.range).ok_or_else(out_of_range)?;
            let age_thresholds = age_thresholds(period.range.start).ok_or_else(out_of_range)?;
            Ok(PeriodBounds {
                start,
                end,
                age_thresholds,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok((cut, bounds))
}

pub(crate) fn last_day(period: &ReportPeriod) -> NaiveDate {
    period.range.end.pred_opt().unwrap_or(period.range.end)
}

/// Sales per period of `range`, grouped by `group_by` when given.
pub fn sales(
    conn: &mut DbConnection,
    acting: &Acting,
    range: ReportRange,
    group_by: Option<SalesDimension>,
) -> AppResult<SalesReport> {
    acting.require(Permission::RecordsRead)?;
    let (local, currency) = business(conn)?;
    let (cut, bounds) = cut(&local, &range)?;
    let scope = acting.scope();
    let totals = persistence::reports::sales(conn, &bounds, None, &scope)?;
    let grouped = match group_by {
        Some(dimension) => persistence::reports::sales(conn, &bounds, Some(dimension), &scope)?,
        None => Vec::new(),
    };
    let names: HashMap<Uuid, String> = match group_by {
        Some(dimension) if dimension.by_line() => {
            let mut ids: Vec<Uuid> = grouped
                .iter()
                .filter_map(|cell| cell.group_id.map(|id| id.0))
                .collect();
            ids.sort_unstable();
            ids.dedup();
            persistence::reports::names_of(conn, dimension, &ids)?
                .into_iter()
                .collect()
        }
        _ => HashMap::new(),
    };
    let mut periods: Vec<SalesPeriod> = cut
        .iter()
        .map(|period| SalesPeriod {
            label: period.label.clone(),
            start: period.range.start,
            end: last_day(period),
            totals: SalesFigures {
                units: group_by.filter(|d| d.by_line()).map(|_| 0),
                ..SalesFigures::default()
            },
            groups: Vec::new(),
        })
        .collect();
    for cell in &totals {
        let period = period_of(&mut periods, cell.period)?;
        let units = period.totals.units;
        period.totals = SalesFigures::of(cell);
        period.totals.units = units;
    }
    for cell in &grouped {
        let id = cell.group_id.map(|id| id.0);
        let period = period_of(&mut periods, cell.period)?;
        if let Some(units) = period.totals.units.as_mut() {
            *units += cell.units.unwrap_or(0);
        }
        period.groups.push(SalesGroup {
            key: id
                .map(|id| id.to_string())
                .or_else(|| cell.group_key.clone()),
            name: id.and_then(|id| names.get(&id).cloned()),
            figures: SalesFigures::of(cell),
        });
    }
    for period in &mut periods {
        period
            .groups
            .sort_by(|a, b| b.figures.net.cmp(&a.figures.net).then(a.key.cmp(&b.key)));
    }
    Ok(SalesReport {
        range,
        group_by,
        currency,
        periods,
    })
}

fn period_of(periods: &mut [SalesPeriod], index: i64) -> AppResult<&mut SalesPeriod> {
    let index = period_index(index, periods.len())?;
    Ok(&mut periods[index])
}

/// Key figures of one period over the customers the caller can see.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct KpiPeriod {
    pub label: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Net of refunds, minor units.
    pub revenue: i64,
    pub orders: i64,
    pub average_order_value: i64,
    /// Customers with a sale in the period.
    pub active_customers: i64,
    /// Customers whose first purchase fell in the period.
    pub new_customers: i64,
    /// Share of the period's buyers who bought again: had bought before the period, or
    /// placed two or more orders in it. `None` without buyers.
    pub repeat_purchase_rate: Option<f64>,
    /// Customers who entered the `churned` stage in the period.
    pub churned: i64,
    /// `churned` over the customers who had bought before the period and were not
    /// churned at its start. `None` when there were none.
    pub churn_rate: Option<f64>,
    /// Net Promoter Score of the period's NPS answers (% promoters − % detractors);
    /// `None` without answers. `GET /reports/feedback` has its confidence interval.
    pub nps: Option<f64>,
    pub nps_answers: i64,
    /// % of the period's CSAT answers (surveys and ticket surveys) rated 4 or 5.
    pub csat_percent: Option<f64>,
    pub csat_answers: i64,
    /// Mean CES answer (1–7, 7 very easy).
    pub ces_average: Option<f64>,
    pub ces_answers: i64,
}

/// The KPI summary: figures per period, and the current average CLV.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct KpiReport {
    pub range: ReportRange,
    pub currency: String,
    pub periods: Vec<KpiPeriod>,
    /// Mean CLV of the customers scored by the current `clv` run (minor units);
    /// `None` before the first run.
    pub average_clv: Option<i64>,
    /// Customers with a CLV score.
    pub clv_customers: i64,
}

/// The KPI summary over `range`.
pub fn kpis(conn: &mut DbConnection, acting: &Acting, range: ReportRange) -> AppResult<KpiReport> {
    acting.require(Permission::RecordsRead)?;
    let (local, currency) = business(conn)?;
    let (cut, bounds) = cut(&local, &range)?;
    let scope = acting.scope();
    let sales = persistence::reports::sales(conn, &bounds, None, &scope)?;
    let buyers = persistence::reports::buyers(conn, &bounds, &scope)?;
    let flows = persistence::reports::flows(conn, &bounds, &scope)?;
    let clv = persistence::reports::clv_totals(conn, &scope)?;
    let feedback = |conn: &mut DbConnection, metric: ReportMetric| {
        let (top_from, bottom_to) = metric.bands();
        persistence::feedback_reports::cells(
            conn,
            &bounds,
            Measure::Score {
                metric: metric.as_str(),
                top_from,
                bottom_to,
            },
            None,
            &FeedbackScope::default(),
            &scope,
        )
    };
    let nps = feedback(conn, ReportMetric::Nps)?;
    let csat = feedback(conn, ReportMetric::Csat)?;
    let ces = feedback(conn, ReportMetric::Ces)?;
    let mut periods: Vec<KpiPeriod> = cut
        .iter()
        .map(|period| KpiPeriod {
            label: period.label.clone(),
            start: period.range.start,
            end: last_day(period),
            ..KpiPeriod::default()
        })
        .collect();
    for cell in &sales {
        let index = period_index(cell.period, periods.len())?;
        let figures = SalesFigures::of(cell);
        let period = &mut periods[index];
        period.revenue = figures.net;
        period.orders = figures.orders;
        period.average_order_value = figures.average_order_value;
        period.active_customers = figures.buyers;
    }
    for cell in &buyers {
        let index = period_index(cell.period, periods.len())?;
        let period = &mut periods[index];
        period.repeat_purchase_rate = ratio(cell.repeat_buyers, period.active_customers);
    }
    for cell in &nps {
        let index = period_index(cell.period, periods.len())?;
        let period = &mut periods[index];
        period.nps_answers = cell.answers;
        period.nps = metric_value(
            ReportMetric::Nps,
            cell.answers,
            cell.top,
            cell.bottom,
            cell.sum,
        );
    }
    for cell in &csat {
        let index = period_index(cell.period, periods.len())?;
        let period = &mut periods[index];
        period.csat_answers = cell.answers;
        period.csat_percent = metric_value(
            ReportMetric::Csat,
            cell.answers,
            cell.top,
            cell.bottom,
            cell.sum,
        );
    }
    for cell in &ces {
        let index = period_index(cell.period, periods.len())?;
        let period = &mut periods[index];
        period.ces_answers = cell.answers;
        period.ces_average = metric_value(
            ReportMetric::Ces,
            cell.answers,
            cell.top,
            cell.bottom,
            cell.sum,
        );
    }
    // Running totals from before the first period: customers who had bought, and of
    // them those churned, at the start of each period.
    let (mut bought, mut churned) = (0_i64, 0_i64);
    for cell in &flows {
        if cell.period >= 0 {
            let index = period_index(cell.period, periods.len())?;
            let period = &mut periods[index];
            period.new_customers = cell.first_purchases;
            period.churned = cell.churned;
            period.churn_rate = ratio(cell.churned, bought - churned);
        }
        bought += cell.first_purchases;
        churned += cell.churned - cell.reactivated;
    }
    Ok(KpiReport {
        range,
        currency,
        periods,
        average_clv: clv.total.map(|total| average(total, clv.scored)),
        clv_customers: clv.scored,
    })
}

/// How many of a cohort bought in one period from its first.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CohortPeriod {
    pub label: String,
    /// Periods since the cohort's first (0 is its own).
    pub offset: usize,
    /// Customers of the cohort with a sale in the period.
    pub buyers: i64,
    /// `buyers` over the cohort's size; `None` for an empty cohort.
    pub rate: Option<f64>,
}

/// The customers whose first purchase fell in one period, and how many of them bought in
/// each period since, to the end of the range.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Cohort {
    pub label: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub customers: i64,
    pub retention: Vec<CohortPeriod>,
}

/// A cohort retention table: a cohort per period of the range.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CohortReport {
    pub range: ReportRange,
    pub cohorts: Vec<Cohort>,
}

/// Cohorts by the period of their first purchase, with their buyers in every later
/// period of `range`.
pub fn cohorts(
    conn: &mut DbConnection,
    acting: &Acting,
    range: ReportRange,
) -> AppResult<CohortReport> {
    acting.require(Permission::RecordsRead)?;
    let local = crate::settings::calendar(conn)?.local();
    let (cut, bounds) = cut(&local, &range)?;
    let cells = persistence::reports::cohorts(conn, &bounds, &acting.scope())?;
    let mut buyers: HashMap<(i64, i64), i64> = HashMap::new();
    for cell in cells {
        buyers.insert((cell.cohort, cell.period), cell.buyers);
    }
    let cohorts = cut
        .iter()
        .enumerate()
        .map(|(index, period)| {
            let cohort = index as i64;
            let customers = buyers.get(&(cohort, cohort)).copied().unwrap_or(0);
            Cohort {
                label: period.label.clone(),
                start: period.range.start,
                end: last_day(period),
                customers,
                retention: cut[index..]
                    .iter()
                    .enumerate()
                    .map(|(offset, later)| {
                        let bought = buyers
                            .get(&(cohort, cohort + offset as i64))
                            .copied()
                            .unwrap_or(0);
                        CohortPeriod {
                            label: later.label.clone(),
                            offset,
                            buyers: bought,
                            rate: ratio(bought, customers),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(CohortReport { range, cohorts })
}

/// What became of the customers acquired in one period (or one group of it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct AcquisitionFigures {
    /// Customers created in the period.
    pub acquired: i64,
    /// Of them, those who have bought since.
    pub converted: i64,
    /// `converted / acquired`; `None` without customers.
    pub conversion_rate: Option<f64>,
    /// Their revenue to date, net of refunds (minor units).
    pub revenue: i64,
    /// Mean CLV of those the current `clv` run scored (minor units).
    pub average_clv: Option<i64>,
    /// Mean days from creation to first purchase, of those who bought after they were
    /// created (customers imported with an earlier history are left out).
    pub average_days_to_first_purchase: Option<f64>,
}

impl AcquisitionFigures {
    fn of(cell: &persistence::reports::AcquisitionCell) -> AcquisitionFigures {
        AcquisitionFigures {
            acquired: cell.acquired,
            converted: cell.converted,
            conversion_rate: ratio(cell.converted, cell.acquired),
            revenue: cell.revenue,
            average_clv: cell
                .clv_total
                .filter(|_| cell.clv_customers > 0)
                .map(|total| average(total, cell.clv_customers)),
            average_days_to_first_purchase: cell.days_to_first_purchase,
        }
    }
}

/// One group of a period of an acquisition report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AcquisitionGroup {
    /// The source, channel or campaign, or the referrer as `customer:<id>` or
    /// `user:<id>`; `None` for customers without one.
    pub key: Option<String>,
    /// The referrer's name, when the caller may know it: a referring customer they can
    /// see, a user when they may read users.
    pub name: Option<String>,
    pub figures: AcquisitionFigures,
}

/// One period of an acquisition report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AcquisitionPeriod {
    pub label: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub totals: AcquisitionFigures,
    /// Largest acquisition first; empty when not grouped.
    pub groups: Vec<AcquisitionGroup>,
}

/// Acquisition effectiveness (C-3): per period of creation, the customers acquired and
/// their conversion, revenue and CLV, by source, channel, campaign or referrer.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AcquisitionReport {
    pub range: ReportRange,
    pub group_by: Option<AcquisitionDimension>,
    pub currency: String,
    pub periods: Vec<AcquisitionPeriod>,
}

/// The key of an acquisition group: the source, channel or campaign, or the referrer.
fn acquisition_key(group_key: Option<&str>, group_id: Option<Uuid>) -> Option<String> {
    match (group_key, group_id) {
        (Some(kind), Some(id)) => Some(referrer_key(kind, id)),
        (key, _) => key.map(str::to_string),
    }
}

/// A referrer as its kind and id (`customer:<id>`, `user:<id>`): an id alone does not
/// say which record to look up.
fn referrer_key(kind: &str, id: Uuid) -> String {
    format!("{kind}:{id}")
}

/// The names of the referrers among `groups` (as the database gave their key and id)
/// that the caller may know, by group key: a referring customer they can see (a name
/// is personal data of a record outside their view otherwise), a user when they may
/// read users. The others are known by their id alone. Also every referring customer
/// among them, for a file that holds the report to list.
fn referrer_names<'a>(
    conn: &mut DbConnection,
    acting: &Acting,
    groups: impl Iterator<Item = (Option<&'a str>, Option<Uuid>)>,
) -> AppResult<(HashMap<String, String>, NamedCustomers)> {
    let (mut customers, mut users) = (BTreeSet::new(), BTreeSet::new());
    for group in groups {
        match group {
            (Some(REFERRER_CUSTOMER), Some(id)) => customers.insert(id),
            (Some(REFERRER_USER), Some(id)) => users.insert(id),
            _ => false,
        };
    }
    let customers = Vec::from_iter(customers);
    let visible = persistence::customers::search::visible_ids(conn, &customers, &acting.scope())?;
    let labels = persistence::customers::labels_of(conn, &visible)?;
    let named = NamedCustomers::read(customers, &labels);
    let mut names: HashMap<String, String> = labels
        .into_iter()
        .map(|(id, label)| (referrer_key(REFERRER_CUSTOMER, id), label.display_name))
        .collect();
    if acting.reads_users() {
        for (id, name) in persistence::users::display_names(conn, &Vec::from_iter(users))? {
            names.insert(referrer_key(REFERRER_USER, id), name);
        }
    }
    Ok((names, named))
}

/// Customers acquired per period of `range`, grouped by `group_by` when given.
pub fn acquisition(
    conn: &mut DbConnection,
    acting: &Acting,
    range: ReportRange,
    group_by: Option<AcquisitionDimension>,
) -> AppResult<AcquisitionReport> {
    Ok(acquisition_naming(conn, acting, range, group_by)?.0)
}

/// [`acquisition`], and the referring customers it shows.
pub fn acquisition_naming(
    conn: &mut DbConnection,
    acting: &Acting,
    range: ReportRange,
    group_by: Option<AcquisitionDimension>,
) -> AppResult<(AcquisitionReport, NamedCustomers)> {
    acting.require(Permission::RecordsRead)?;
    let (local, currency) = business(conn)?;
    let (cut, bounds) = cut(&local, &range)?;
    let scope = acting.scope();
    let totals = persistence::reports::acquisition(conn, &bounds, None, &scope)?;
    let grouped = match group_by {
        Some(dimension) => {
            persistence::reports::acquisition(conn, &bounds, Some(dimension), &scope)?
        }
        None => Vec::new(),
    };
    let mut periods: Vec<AcquisitionPeriod> = cut
        .iter()
        .map(|period| AcquisitionPeriod {
            label: period.label.clone(),
            start: period.range.start,
            end: last_day(period),
            totals: AcquisitionFigures::default(),
            groups: Vec::new(),
        })
        .collect();
    for cell in &totals {
        let index = period_index(cell.period, periods.len())?;
        periods[index].totals = AcquisitionFigures::of(cell);
    }
    let (names, named) = referrer_names(
        conn,
        acting,
        grouped
            .iter()
            .map(|cell| (cell.group_key.as_deref(), cell.group_id.map(|id| id.0))),
    )?;
    for cell in &grouped {
        let index = period_index(cell.period, periods.len())?;
        let key = acquisition_key(cell.group_key.as_deref(), cell.group_id.map(|id| id.0));
        periods[index].groups.push(AcquisitionGroup {
            name: key.as_ref().and_then(|key| names.get(key).cloned()),
            key,
            figures: AcquisitionFigures::of(cell),
        });
    }
    for period in &mut periods {
        period.groups.sort_by(|a, b| {
            b.figures
                .acquired
                .cmp(&a.figures.acquired)
                .then(a.key.cmp(&b.key))
        });
    }
    Ok((
        AcquisitionReport {
            range,
            group_by,
            currency,
            periods,
        },
        named,
    ))
}

/// Revenue, product cost and margin of a group of customers. The service cost is
/// the time agents logged on the group's tickets in the window priced at the business
/// setting `service_cost_per_hour` (`None` while that is 0); the acquisition cost is
/// what the group's customers acquired in the window cost, each their acquisition
/// campaign's costs shared among the customers it acquired. The margin is the gross
/// margin on products either way.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct ProfitFigures {
    pub customers: i64,
    pub orders: i64,
    /// Paid net of refunds (minor units).
    pub revenue: i64,
    /// Unit cost of the units kept, as recorded on each order line.
    pub product_cost: i64,
    /// `revenue − product_cost`.
    pub gross_margin: i64,
    /// `gross_margin / revenue`; `None` without revenue.
    pub margin_rate: Option<f64>,
    /// Cost of serving these customers: minutes logged on their tickets on the days of
    /// the window × `service_cost_per_hour` ÷ 60, rounded to the nearest minor unit
    /// (halves up); `None` while the hourly cost is not set.
    pub service_cost: Option<i64>,
    /// Cost of acquiring the customers of the group (of all customers, in the totals)
    /// who were created in the window: each bears their acquisition campaign's costs
    /// (`POST /campaigns/{id}/costs`) divided by the customers naming that campaign,
    /// rounded per group; `None` when none of them came through a campaign with costs.
    pub acquisition_cost: Option<i64>,
    /// Lines whose product had no cost recorded: `product_cost` lacks their cost, so
    /// the margin is overstated when this is not 0.
    pub lines_without_cost: i64,
}

impl ProfitFigures {
    fn of(cell: &persistence::reports::ProfitCell) -> ProfitFigures {
        let gross_margin = cell.revenue - cell.product_cost;
        ProfitFigures {
            customers: cell.customers,
            orders: cell.orders,
            revenue: cell.revenue,
            product_cost: cell.product_cost,
            gross_margin,
            margin_rate: (cell.revenue != 0).then(|| gross_margin as f64 / cell.revenue as f64),
            service_cost: None,
            acquisition_cost: None,
            lines_without_cost: cell.lines_without_cost,
        }
    }
}

/// One group of a profitability report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProfitGroup {
    /// The RFM segment, the tier's id or the customer's id; `None` for customers without
    /// a segment or tier.
    pub key: Option<String>,
    /// The tier's or the customer's name.
    pub name: Option<String>,
    pub figures: ProfitFigures,
}

/// Profitability of the sales placed in a window, in all and per group.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProfitabilityReport {
    pub window: DayWindow,
    pub group_by: Option<ProfitDimension>,
    pub currency: String,
    pub totals: ProfitFigures,
    /// Per segment or tier in key order; per customer the `limit` most profitable.
    pub groups: Vec<ProfitGroup>,
}

/// Most customers a profitability report by customer lists.
pub const MAX_PROFIT_CUSTOMERS: i64 = 1_000;
/// Customers a profitability report by customer lists unless asked for another number.
pub const DEFAULT_PROFIT_LIMIT: i64 = 100;

/// A report's parameter broken: `field` breaks rule `code`.
fn invalid(field: &str, code: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid(vec![domain::validation::FieldViolation::new(
        field, code, message,
    )])
}

/// Refuses a profitability window or `limit` that `GET /reports/profitability` refuses.
pub fn check_profitability(window: DayWindow, limit: i64) -> AppResult<()> {
    check_report_days(&[("from", window.from), ("to", window.to)])?;
    if window.to < window.from {
        return Err(invalid("to", "before_from", "must not be before `from`"));
    }
    if !(1..=MAX_PROFIT_CUSTOMERS).contains(&limit) {
        return Err(invalid(
            "limit",
            "out_of_range",
            format!("must be from 1 to {MAX_PROFIT_CUSTOMERS}"),
        ));
    }
    Ok(())
}

/// The UTC bounds `[start, end)` of the local days of `window`.
fn window_bounds(
    local: &LocalCalendar,
    window: DayWindow,
) -> AppResult<(DateTime<Utc>, DateTime<Utc>)> {
    window
        .to
        .succ_opt()
        .and_then(|end| {
            local.utc_range(domain::calendar::DateRange {
                start: window.from,
                end,
            })
        })
        .ok_or_else(|| invalid("to", "out_of_range", "is too far from today"))
}

/// A profitability group as the database names it: its text key and its id.
type ProfitGroupKey = (Option<String>, Option<Uuid>);

/// Profitability of the sales placed from `window.from` to `window.to` (local days) to
/// the customers the caller can see.
pub fn profitability(
    conn: &mut DbConnection,
    acting: &Acting,
    window: DayWindow,
    group_by: Option<ProfitDimension>,
    limit: i64,
) -> AppResult<ProfitabilityReport> {
    Ok(profitability_naming(conn, acting, window, group_by, limit)?.0)
}

/// [`profitability`], and the customers it shows (grouped by customer).
pub fn profitability_naming(
    conn: &mut DbConnection,
    acting: &Acting,
    window: DayWindow,
    group_by: Option<ProfitDimension>,
    limit: i64,
) -> AppResult<(ProfitabilityReport, NamedCustomers)> {
    acting.require(Permission::RecordsRead)?;
    check_profitability(window, limit)?;
    let (local, currency) = business(conn)?;
    let bounds = window_bounds(&local, window)?;
    let scope = acting.scope();
    let totals = persistence::reports::profitability(conn, bounds, None, &scope, 1)?
        .first()
        .map(ProfitFigures::of)
        .unwrap_or_default();
    let cells = match group_by {
        Some(dimension) => {
            persistence::reports::profitability(conn, bounds, Some(dimension), &scope, limit)?
        }
        None => Vec::new(),
    };
    let per_hour = crate::settings::current(conn)?.0.service_cost_per_hour;
    let days = (window.from, window.to);
    // Minutes in all, and per group keyed as the cells are; read only when priced.
    let (all_minutes, minutes): (i64, HashMap<ProfitGroupKey, i64>) = if per_hour > 0 {
        let all = persistence::reports::service_minutes(conn, days, None, &scope)?
            .first()
            .map_or(0, |row| row.minutes);
        let grouped = match group_by {
            Some(dimension) => {
                persistence::reports::service_minutes(conn, days, Some(dimension), &scope)?
            }
            None => Vec::new(),
        };
        (
            all,
            grouped
                .into_iter()
                .map(|row| ((row.group_key, row.group_id.map(|id| id.0)), row.minutes))
                .collect(),
        )
    } else {
        (0, HashMap::new())
    };
    let priced = |minutes: i64| {
        (per_hour > 0).then(|| domain::service::time_entries::service_cost(minutes, per_hour))
    };
    let mut acquisition = |dimension| -> AppResult<HashMap<ProfitGroupKey, i64>> {
        Ok(
            persistence::reports::acquisition_costs(conn, bounds, dimension, &scope)?
                .into_iter()
                .map(|row| ((row.group_key, row.group_id.map(|id| id.0)), row.cost))
                .collect(),
        )
    };
    let acquisition_total = acquisition(None)?.into_values().next();
    let acquisition_costs = match group_by {
        Some(dimension) => acquisition(Some(dimension))?,
        None => HashMap::new(),
    };
    let totals = ProfitFigures {
        service_cost: priced(all_minutes),
        acquisition_cost: acquisition_total,
        ..totals
    };
    let ids: Vec<Uuid> = cells
        .iter()
        .filter_map(|cell| cell.group_id.map(|id| id.0))
        .collect();
    let (names, named): (HashMap<Uuid, String>, NamedCustomers) = match group_by {
        Some(ProfitDimension::Tier) => (
            persistence::labels::find_many(conn, &ids)?
                .into_iter()
                .map(|label| (label.id.0, label.name))
                .collect(),
            NamedCustomers::default(),
        ),
        Some(ProfitDimension::Customer) => {
            let labels = persistence::customers::labels_of(conn, &ids)?;
            let named = NamedCustomers::read(ids, &labels);
            (
                labels
                    .into_iter()
                    .map(|(id, label)| (id, label.display_name))
                    .collect(),
                named,
            )
        }
        _ => (HashMap::new(), NamedCustomers::default()),
    };
    let groups = cells
        .iter()
        .map(|cell| {
            let id = cell.group_id.map(|id| id.0);
            ProfitGroup {
                key: id
                    .map(|id| id.to_string())
                    .or_else(|| cell.group_key.clone()),
                name: id.and_then(|id| names.get(&id).cloned()),
                figures: ProfitFigures {
                    service_cost: priced(
                        minutes
                            .get(&(cell.group_key.clone(), id))
                            .copied()
                            .unwrap_or(0),
                    ),
                    acquisition_cost: acquisition_costs
                        .get(&(cell.group_key.clone(), id))
                        .copied(),
                    ..ProfitFigures::of(cell)
                },
            }
        })
        .collect();
    Ok((
        ProfitabilityReport {
            window,
            group_by,
            currency,
            totals,
            groups,
        },
        named,
    ))
}

/// One stage of a funnel.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FunnelStage {
    /// `awareness`, `consideration`, `purchase`, `retention` or `advocacy`.
    pub stage: String,
    /// Customers who reached this stage or a later one.
    pub reached: i64,
    /// `reached` over the previous stage's; `None` for the first stage or after a stage
    /// nobody reached.
    pub conversion_from_previous: Option<f64>,
    /// Mean days from first entering the previous stage to first entering this one, of
    /// the customers who went through both in that order.
    pub mean_days_from_previous: Option<f64>,
    /// Median of the same days (the mean of the two middle ones for an even count): a
    /// few slow customers move the mean, not the median.
    pub median_days_from_previous: Option<f64>,
}

/// How far a cohort of customers got through the funnel.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FunnelFigures {
    /// Customers created in the period (of the group).
    pub customers: i64,
    pub stages: Vec<FunnelStage>,
}

/// One group of a funnel period.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FunnelGroup {
    /// The acquisition source, channel or campaign, or the referrer as in
    /// [`AcquisitionGroup`]; `None` for customers without one.
    pub key: Option<String>,
    /// The referrer's name, when the caller may know it (as in [`AcquisitionGroup`]).
    pub name: Option<String>,
    pub figures: FunnelFigures,
}

/// One period of a funnel report: the customers created in it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FunnelPeriod {
    pub label: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub totals: FunnelFigures,
    pub groups: Vec<FunnelGroup>,
}

/// Funnel and journey: per period of creation, how many customers reached each
/// lifecycle stage and how long each step took.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FunnelReport {
    pub range: ReportRange,
    pub group_by: Option<AcquisitionDimension>,
    pub periods: Vec<FunnelPeriod>,
}

/// Per stage of one cohort (or group): customers whose furthest stage it is, and the
/// step from it to the next, as the database summed it.
#[derive(Default)]
struct FunnelTally {
    furthest: [i64; FUNNEL_STAGES.len()],
    steps: [Option<persistence::reports::FunnelStep>; FUNNEL_STAGES.len()],
}

impl FunnelTally {
    fn figures(&self) -> FunnelFigures {
        let customers: i64 = self.furthest.iter().sum();
        let mut stages = Vec::with_capacity(FUNNEL_STAGES.len());
        let mut previous: Option<i64> = None;
        for (rank, stage) in FUNNEL_STAGES.iter().enumerate() {
            let reached: i64 = self.furthest[rank..].iter().sum();
            let step = rank
                .checked_sub(1)
                .and_then(|from| self.steps[from].as_ref())
                .filter(|step| step.customers > 0);
            stages.push(FunnelStage {
                stage: (*stage).to_string(),
                reached,
                conversion_from_previous: previous.and_then(|before| ratio(reached, before)),
                mean_days_from_previous: step.map(|step| step.mean_days),
                median_days_from_previous: step.map(|step| step.median_days),
            });
            previous = Some(reached);
        }
        FunnelFigures { customers, stages }
    }
}

/// The rank of funnel stage `stage` as the database gave it; another is a broken query.
fn funnel_rank(stage: i64) -> AppResult<usize> {
    usize::try_from(stage)
        .ok()
        .filter(|rank| *rank < FUNNEL_STAGES.len())
        .ok_or_else(|| AppError::Internal(format!("funnel stage {stage}")))
}

/// A funnel group as the database gave it: period, group key and group id.
type FunnelCohort = (i64, Option<String>, Option<Uuid>);

/// The funnel tallies per period and group of `dimension` (one group per period when
/// `None`), in period and group order.
fn funnel_tallies(
    conn: &mut DbConnection,
    bounds: &[PeriodBounds],
    dimension: Option<AcquisitionDimension>,
    acting: &Acting,
) -> AppResult<BTreeMap<FunnelCohort, FunnelTally>> {
    let (reach, steps) = persistence::reports::funnel(conn, bounds, dimension, &acting.scope())?;
    let mut tallies: BTreeMap<FunnelCohort, FunnelTally> = BTreeMap::new();
    for cell in reach {
        let rank = funnel_rank(cell.stage)?;
        tallies
            .entry((cell.period, cell.group_key, cell.group_id.map(|id| id.0)))
            .or_default()
            .furthest[rank] += cell.customers;
    }
    for step in steps {
        let rank = funnel_rank(step.stage)?;
        let cohort = (
            step.period,
            step.group_key.clone(),
            step.group_id.map(|id| id.0),
        );
        tallies.entry(cohort).or_default().steps[rank] = Some(step);
    }
    Ok(tallies)
}

/// The funnel of the customers created in each period of `range`, grouped by
/// acquisition `group_by` when given.
pub fn funnel(
    conn: &mut DbConnection,
    acting: &Acting,
    range: ReportRange,
    group_by: Option<AcquisitionDimension>,
) -> AppResult<FunnelReport> {
    Ok(funnel_naming(conn, acting, range, group_by)?.0)
}

/// [`funnel`], and the referring customers it shows.
pub fn funnel_naming(
    conn: &mut DbConnection,
    acting: &Acting,
    range: ReportRange,
    group_by: Option<AcquisitionDimension>,
) -> AppResult<(FunnelReport, NamedCustomers)> {
    acting.require(Permission::RecordsRead)?;
    let local = crate::settings::calendar(conn)?.local();
    let (cut, bounds) = cut(&local, &range)?;
    // The totals are a query of their own: a median is not made of the groups' medians.
    let totals = funnel_tallies(conn, &bounds, None, acting)?;
    let grouped = match group_by {
        Some(dimension) => funnel_tallies(conn, &bounds, Some(dimension), acting)?,
        None => BTreeMap::new(),
    };
    let mut periods: Vec<FunnelPeriod> = cut
        .iter()
        .map(|period| FunnelPeriod {
            label: period.label.clone(),
            start: period.range.start,
            end: last_day(period),
            totals: FunnelTally::default().figures(),
            groups: Vec::new(),
        })
        .collect();
    for ((period, _, _), tally) in &totals {
        let index = period_index(*period, periods.len())?;
        periods[index].totals = tally.figures();
    }
    let (names, named) = referrer_names(
        conn,
        acting,
        grouped.keys().map(|(_, key, id)| (key.as_deref(), *id)),
    )?;
    for ((period, key, id), tally) in &grouped {
        let index = period_index(*period, periods.len())?;
        let key = acquisition_key(key.as_deref(), *id);
        periods[index].groups.push(FunnelGroup {
            name: key.as_ref().and_then(|key| names.get(key).cloned()),
            key,
            figures: tally.figures(),
        });
    }
    for period in &mut periods {
        period.groups.sort_by(|a, b| {
            b.figures
                .customers
                .cmp(&a.figures.customers)
                .then(a.key.cmp(&b.key))
        });
    }
    Ok((
        FunnelReport {
            range,
            group_by,
            periods,
        },
        named,
    ))
}

/// Two windows of local days, the later one after the earlier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayWindow {
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
}

/// Who stopped buying a product: those who bought it in `earlier` and not in `later`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LapseQuery {
    pub product_id: Uuid,
    pub later: DayWindow,
    /// Defaults to as many days as `later`, ending the day before it.
    pub earlier_from: Option<NaiveDate>,
}

/// The windows a lapse query compares, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct LapseWindows {
    pub earlier: DayWindow,
    pub later: DayWindow,
}

/// Sort order of the lapsed buyers, as recorded in its cursors.
pub const LAPSE_ORDER: &str = "customer_id:asc";

/// The windows `query` compares, refused as `GET /reports/lapsed-buyers` refuses them,
/// and refused for a product that does not exist.
pub fn check_lapse(conn: &mut DbConnection, query: LapseQuery) -> AppResult<LapseWindows> {
    let later = query.later;
    if later.to < later.from {
        return Err(invalid("to", "before_from", "must not be before `from`"));
    }
    let days = (later.to - later.from).num_days() + 1;
    let earlier_from = match query.earlier_from {
        Some(from) if from >= later.from => {
            return Err(invalid(
                "earlier_from",
                "not_before_from",
                "must be before `from`",
            ))
        }
        Some(from) => Some(from),
        None => later.from.checked_sub_days(chrono::Days::new(days as u64)),
    };
    let earlier = earlier_from
        .zip(later.from.pred_opt())
        .map(|(from, to)| DayWindow { from, to })
        .ok_or_else(|| invalid("from", "out_of_range", "is too far from today"))?;
    check_report_days(&[
        ("earlier_from", earlier.from),
        ("from", later.from),
        ("to", later.to),
    ])?;
    match persistence::products::find(conn, query.product_id) {
        Err(persistence::PersistenceError::NotFound) => {
            return Err(invalid("product_id", "not_found", "no product has this id"))
        }
        other => other?,
    };
    Ok(LapseWindows { earlier, later })
}

/// The customers the caller can see who bought `query.product_id` in the earlier window
/// and not in the later one, in id order: `page` rows after `cursor`, and one
/// more when another page follows.
pub fn lapsed_buyers(
    conn: &mut DbConnection,
    acting: &Acting,
    query: LapseQuery,
    cursor: Option<&Cursor>,
    page: i64,
) -> AppResult<(LapseWindows, Vec<persistence::reports::LapsedBuyer>)> {
    acting.require(Permission::RecordsRead)?;
    let windows = check_lapse(conn, query)?;
    let local = crate::settings::calendar(conn)?.local();
    let after = cursor
        .map(|cursor| cursor.keyset(LAPSE_ORDER))
        .transpose()?
        .map(|keyset| keyset.id);
    let rows = persistence::reports::lapsed_buyers(
        conn,
        query.product_id,
        window_bounds(&local, windows.earlier)?,
        window_bounds(&local, windows.later)?,
        &acting.scope(),
        after,
        page,
    )?;
    Ok((windows, rows))
}

/// The cursor after `row` in [`LAPSE_ORDER`].
pub fn lapse_cursor_after(row: &persistence::reports::LapsedBuyer) -> Cursor {
    Cursor::new(LAPSE_ORDER, Vec::new(), row.customer_id.0)
}

/// Refuses days a report may not cover, naming each.
fn check_report_days(days: &[(&str, NaiveDate)]) -> AppResult<()> {
    let violations: Vec<_> = days
        .iter()
        .filter_map(|(field, day)| domain::reports::check_report_day(field, *day).err())
        .collect();
    if violations.is_empty() {
        Ok(())
    } else {
        Err(AppError::Invalid(violations))
    }
}

/// `part / whole`; `None` when `whole` is not positive.
fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::average;

    #[test]
    fn averages_round_half_away_from_zero() {
        assert_eq!(average(10, 4), 3);
        assert_eq!(average(9, 4), 2);
        assert_eq!(average(-10, 4), -3);
        assert_eq!(average(7, 0), 0);
        assert_eq!(average(i64::MAX, 1), i64::MAX);
    }
}
