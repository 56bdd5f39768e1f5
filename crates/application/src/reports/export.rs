//! Reports as files: the request of `POST /reports/exports`, checked against the report
//! it names, and the rows each report becomes (one per period, or per period and group;
//! per group of a profitability report; per customer of the lapsed buyers), for the
//! `reports.export` job to write as CSV, XLSX or JSON a page at a time.

use chrono::{NaiveDate, SecondsFormat};
use domain::calendar::CalendarSystem;
use domain::reports::{AcquisitionDimension, Bucket, ProfitDimension, SalesDimension};
use domain::service::tickets::TicketChannel;
use domain::validation::{FieldViolation, Violations};
use persistence::db::DbConnection;
use persistence::service_reports::ServiceFilter;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tabular::Cell;
use utoipa::ToSchema;
use uuid::Uuid;

use super::service::ServiceReport;
use super::{
    AcquisitionFigures, AcquisitionReport, CohortReport, DayWindow, FunnelFigures, FunnelReport,
    KpiReport, LapseQuery, NamedCustomers, ProfitFigures, ProfitabilityReport, ReportRange,
    SalesFigures, SalesReport,
};
use crate::acting::Acting;
use crate::analytics::product_models::{self, ElasticityView, ProductLabel, RuleView};
use crate::customers::export::ExportFormat;
use crate::error::{AppError, AppResult};
use crate::paging::Cursor;

/// Which report a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// `GET /reports/sales`.
    Sales,
    /// `GET /reports/kpis`.
    Kpis,
    /// `GET /reports/cohorts`.
    Cohorts,
    /// `GET /reports/acquisition`.
    Acquisition,
    /// `GET /reports/funnel`.
    Funnel,
    /// `GET /reports/profitability`.
    Profitability,
    /// `GET /reports/lapsed-buyers`, every page.
    LapsedBuyers,
    /// `GET /reports/cross-sell`, every page.
    CrossSell,
    /// `GET /reports/price-elasticity`, every page.
    PriceElasticity,
    /// `GET /reports/service`.
    Service,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Sales => "sales",
            ReportKind::Kpis => "kpis",
            ReportKind::Cohorts => "cohorts",
            ReportKind::Acquisition => "acquisition",
            ReportKind::Funnel => "funnel",
            ReportKind::Profitability => "profitability",
            ReportKind::LapsedBuyers => "lapsed_buyers",
            ReportKind::CrossSell => "cross_sell",
            ReportKind::PriceElasticity => "price_elasticity",
            ReportKind::Service => "service",
        }
    }
}

/// A report's `group_by`, as its `GET` takes it: `province`, `city`, `gender`,
/// `age_range`, `product`, `category` and `channel` (the order's) group sales; `source`,
/// `channel` (the customer's acquisition channel), `campaign` and `referrer` group
/// acquisition and the funnel; `rfm_segment`, `tier` and `customer` group profitability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportGrouping {
    Province,
    City,
    Gender,
    AgeRange,
    Product,
    Category,
    Channel,
    Source,
    Campaign,
    Referrer,
    RfmSegment,
    Tier,
    Customer,
}

impl ReportGrouping {
    pub const ALL: [ReportGrouping; 13] = [
        ReportGrouping::Province,
        ReportGrouping::City,
        ReportGrouping::Gender,
        ReportGrouping::AgeRange,
        ReportGrouping::Product,
        ReportGrouping::Category,
        ReportGrouping::Channel,
        ReportGrouping::Source,
        ReportGrouping::Campaign,
        ReportGrouping::Referrer,
        ReportGrouping::RfmSegment,
        ReportGrouping::Tier,
        ReportGrouping::Customer,
    ];

    /// The name a request gives this grouping.
    fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// This grouping as a report's dimension `D`, which names its groupings alike; `None`
    /// when that report has no such grouping.
    fn dimension<D: DeserializeOwned>(self) -> Option<D> {
        serde_json::to_value(self)
            .ok()
            .and_then(|value| serde_json::from_value(value).ok())
    }
}

/// The body of `POST /reports/exports`: a report's parameters, as for its `GET`, and
/// the file's format. A parameter the report does not take is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"report": "sales", "from": "2026-03-21", "to": "2027-03-20",
                          "bucket": "month", "calendar": "jalali", "group_by": "province",
                          "format": "xlsx"}))]
pub struct ReportExportRequest {
    pub report: ReportKind,
    /// First local day; of the window without purchases for `lapsed_buyers`. Required
    /// but for `cross_sell` and `price_elasticity`, which take none.
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Last local day (inclusive); required with `from`.
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// Reports by period (not `profitability`, `lapsed_buyers`); default `month`.
    #[serde(default)]
    pub bucket: Option<Bucket>,
    /// Reports by period (not `profitability`, `lapsed_buyers`); default `jalali`.
    #[serde(default)]
    pub calendar: Option<CalendarSystem>,
    /// `sales`, `acquisition`, `funnel` and `profitability`, each with its own groupings
    /// (see the values).
    #[serde(default)]
    pub group_by: Option<ReportGrouping>,
    /// `profitability` only: how many groups, the most profitable customers first
    /// (1–1000, default 100).
    #[serde(default)]
    pub limit: Option<i64>,
    /// `lapsed_buyers` (required there): the product they stopped buying;
    /// `cross_sell`: only the rules from this product; `price_elasticity`: only this
    /// product.
    #[serde(default)]
    pub product_id: Option<Uuid>,
    /// `cross_sell` and `price_elasticity` only: a succeeded run of the kind (by default
    /// the current one).
    #[serde(default)]
    pub run_id: Option<Uuid>,
    /// `price_elasticity` only: `all` or an RFM segment.
    #[serde(default)]
    pub segment: Option<String>,
    /// `lapsed_buyers` only: first local day of the window in which they bought (by
    /// default as many days before `from` as `from`..`to`).
    #[serde(default)]
    pub earlier_from: Option<NaiveDate>,
    /// `service` only: the tickets of this team.
    #[serde(default)]
    pub team_id: Option<Uuid>,
    /// `service` only: the tickets this user owns.
    #[serde(default)]
    pub agent_id: Option<Uuid>,
    /// `service` only: the tickets of this channel.
    #[serde(default)]
    pub channel: Option<TicketChannel>,
    /// `service` only: the tickets of this category.
    #[serde(default)]
    pub category_id: Option<Uuid>,
    #[serde(default)]
    pub format: ExportFormat,
    /// Lay an XLSX sheet out right to left; by default when the caller reads Persian.
    #[serde(default)]
    pub right_to_left: Option<bool>,
}

/// A report with its parameters, as its `GET` is asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportQuery {
    Sales(ReportRange, Option<SalesDimension>),
    Kpis(ReportRange),
    Cohorts(ReportRange),
    Acquisition(ReportRange, Option<AcquisitionDimension>),
    Funnel(ReportRange, Option<AcquisitionDimension>),
    Profitability(DayWindow, Option<ProfitDimension>, i64),
    LapsedBuyers(LapseQuery),
    CrossSell(RuleQuery),
    PriceElasticity(ElasticityQuery),
    Service(ReportRange, ServiceFilter),
}

/// Which rules of which `cross_sell` run a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleQuery {
    pub run_id: Option<Uuid>,
    pub antecedent: Option<Uuid>,
}

/// Which elasticities of which `elasticity` run a file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElasticityQuery {
    pub run_id: Option<Uuid>,
    pub product: Option<Uuid>,
    pub segment: Option<String>,
}

impl ReportExportRequest {
    /// The report asked for. A parameter the report does not take, or a grouping it does
    /// not have, is a violation (`not_for_report`) naming the parameter.
    pub fn query(&self) -> Result<ReportQuery, Vec<FieldViolation>> {
        use ReportKind as Kind;
        let report = self.report.as_str();
        let mut v = Violations::default();
        let model = matches!(self.report, Kind::CrossSell | Kind::PriceElasticity);
        let by_period = !model && !matches!(self.report, Kind::Profitability | Kind::LapsedBuyers);
        for (field, given, taken) in [
            ("from", self.from.is_some(), !model),
            ("to", self.to.is_some(), !model),
            ("run_id", self.run_id.is_some(), model),
            (
                "segment",
                self.segment.is_some(),
                self.report == Kind::PriceElasticity,
            ),
            ("bucket", self.bucket.is_some(), by_period),
            ("calendar", self.calendar.is_some(), by_period),
            (
                "limit",
                self.limit.is_some(),
                self.report == Kind::Profitability,
            ),
            (
                "product_id",
                self.product_id.is_some(),
                self.report == Kind::LapsedBuyers || model,
            ),
            (
                "earlier_from",
                self.earlier_from.is_some(),
                self.report == Kind::LapsedBuyers,
            ),
            (
                "team_id",
                self.team_id.is_some(),
                self.report == Kind::Service,
            ),
            (
                "agent_id",
                self.agent_id.is_some(),
                self.report == Kind::Service,
            ),
            (
                "channel",
                self.channel.is_some(),
                self.report == Kind::Service,
            ),
            (
                "category_id",
                self.category_id.is_some(),
                self.report == Kind::Service,
            ),
        ] {
            if given && !taken {
                v.push(
                    field,
                    "not_for_report",
                    format!("the {report} report does not take `{field}`"),
                );
            }
        }
        if !model {
            for (field, day) in [("from", self.from), ("to", self.to)] {
                if day.is_none() {
                    v.push(
                        field,
                        "required",
                        format!("the {report} report covers days"),
                    );
                }
            }
        }
        let (from, to) = (self.from.unwrap_or_default(), self.to.unwrap_or_default());
        let range = ReportRange::new(from, to, self.bucket, self.calendar);
        let window = DayWindow { from, to };
        let query = match self.report {
            Kind::Sales => ReportQuery::Sales(range, self.grouping(&mut v)),
            Kind::Kpis => ReportQuery::Kpis(range),
            Kind::Cohorts => ReportQuery::Cohorts(range),
            Kind::Acquisition => ReportQuery::Acquisition(range, self.grouping(&mut v)),
            Kind::Funnel => ReportQuery::Funnel(range, self.grouping(&mut v)),
            Kind::Profitability => ReportQuery::Profitability(
                window,
                self.grouping(&mut v),
                self.limit.unwrap_or(super::DEFAULT_PROFIT_LIMIT),
            ),
            Kind::LapsedBuyers => {
                if self.product_id.is_none() {
                    v.push(
                        "product_id",
                        "required",
                        "the lapsed_buyers report is about one product",
                    );
                }
                ReportQuery::LapsedBuyers(LapseQuery {
                    product_id: self.product_id.unwrap_or_default(),
                    later: window,
                    earlier_from: self.earlier_from,
                })
            }
            Kind::CrossSell => ReportQuery::CrossSell(RuleQuery {
                run_id: self.run_id,
                antecedent: self.product_id,
            }),
            Kind::PriceElasticity => ReportQuery::PriceElasticity(ElasticityQuery {
                run_id: self.run_id,
                product: self.product_id,
                segment: self.segment.clone(),
            }),
            Kind::Service => ReportQuery::Service(
                range,
                ServiceFilter {
                    team_id: self.team_id,
                    agent_id: self.agent_id,
                    channel: self.channel.map(|channel| channel.as_str().to_string()),
                    category_id: self.category_id,
                },
            ),
        };
        if (!matches!(
            self.report,
            Kind::Sales | Kind::Acquisition | Kind::Funnel | Kind::Profitability
        )) && self.group_by.is_some()
        {
            v.push(
                "group_by",
                "not_for_report",
                format!("the {report} report is not grouped"),
            );
        }
        v.into_result().map(|()| query)
    }

    /// `group_by` as the report's dimension `D`; one it does not have is a violation.
    fn grouping<D: DeserializeOwned>(&self, v: &mut Violations) -> Option<D> {
        let grouping = self.group_by?;
        let dimension = grouping.dimension::<D>();
        if dimension.is_none() {
            let offered: Vec<String> = ReportGrouping::ALL
                .into_iter()
                .filter(|other| other.dimension::<D>().is_some())
                .map(ReportGrouping::name)
                .collect();
            v.push(
                "group_by",
                "not_for_report",
                format!(
                    "the {} report is grouped by {}",
                    self.report.as_str(),
                    offered.join(", ")
                ),
            );
        }
        dimension
    }
}

impl ReportQuery {
    /// Refuses what the report's `GET` refuses, so that a bad request fails before a job
    /// is queued for it.
    pub fn check(&self, conn: &mut DbConnection, acting: &Acting) -> AppResult<()> {
        match self {
            ReportQuery::Sales(range, _)
            | ReportQuery::Kpis(range)
            | ReportQuery::Cohorts(range)
            | ReportQuery::Acquisition(range, _)
            | ReportQuery::Funnel(range, _)
            | ReportQuery::Service(range, _) => {
                let first_weekday = crate::settings::calendar(conn)?.local().first_weekday;
                domain::reports::periods(
                    range.from,
                    range.to,
                    range.bucket,
                    range.calendar,
                    first_weekday,
                )
                .map_err(AppError::Invalid)?;
            }
            ReportQuery::Profitability(window, _, limit) => {
                super::check_profitability(*window, *limit)?
            }
            ReportQuery::LapsedBuyers(query) => {
                super::check_lapse(conn, *query)?;
            }
            // The first row tells whether the run and the filters are ones the GET takes.
            ReportQuery::CrossSell(query) => {
                product_models::cross_sell_rules(
                    conn,
                    acting,
                    query.run_id,
                    query.antecedent,
                    None,
                    1,
                )?;
            }
            ReportQuery::PriceElasticity(query) => {
                product_models::price_elasticities(
                    conn,
                    acting,
                    query.run_id,
                    query.product,
                    query.segment.as_deref(),
                    None,
                    1,
                )?;
            }
        }
        Ok(())
    }
}

/// Rows of a report's file, and the customers they show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportPage {
    pub rows: Vec<Vec<Cell>>,
    pub customers: NamedCustomers,
}

/// A report as a file's column headers and its rows, read a page at a time: every
/// report is one page but the lapsed buyers, which are read as their `GET` pages them.
pub struct ReportFile {
    pub headers: Vec<String>,
    /// The report computed when opened, until it is taken.
    computed: Option<ReportPage>,
    paged: Option<Pages>,
}

/// A report read as its `GET` pages it.
enum Paged {
    LapsedBuyers(LapseQuery),
    CrossSell(RuleQuery),
    PriceElasticity(ElasticityQuery),
}

/// Where a paged report stands.
struct Pages {
    report: Paged,
    page_rows: i64,
    after: Option<Cursor>,
    done: bool,
}

impl ReportFile {
    /// Computes `query` for `acting` (but the lapsed buyers, read by
    /// [`ReportFile::next_page`] `page_rows` at a time).
    pub fn open(
        conn: &mut DbConnection,
        acting: &Acting,
        query: ReportQuery,
        page_rows: i64,
    ) -> AppResult<ReportFile> {
        let (headers, page) = match query {
            ReportQuery::Sales(range, group_by) => {
                table(sales_table(&super::sales(conn, acting, range, group_by)?))
            }
            ReportQuery::Kpis(range) => table(kpi_table(&super::kpis(conn, acting, range)?)),
            ReportQuery::Service(range, filter) => table(service_table(&super::service::service(
                conn, acting, range, filter,
            )?)),
            ReportQuery::Cohorts(range) => {
                table(cohort_table(&super::cohorts(conn, acting, range)?))
            }
            ReportQuery::Acquisition(range, group_by) => {
                let (report, customers) = super::acquisition_naming(conn, acting, range, group_by)?;
                named_table(acquisition_table(&report), customers)
            }
            ReportQuery::Funnel(range, group_by) => {
                let (report, customers) = super::funnel_naming(conn, acting, range, group_by)?;
                named_table(funnel_table(&report), customers)
            }
            ReportQuery::Profitability(window, group_by, limit) => {
                let (report, customers) =
                    super::profitability_naming(conn, acting, window, group_by, limit)?;
                named_table(profitability_table(&report), customers)
            }
            ReportQuery::LapsedBuyers(query) => {
                let (_, currency) = super::business(conn)?;
                return Ok(ReportFile::paged(
                    lapsed_headers(&currency),
                    Paged::LapsedBuyers(query),
                    page_rows,
                ));
            }
            ReportQuery::CrossSell(query) => {
                return Ok(ReportFile::paged(
                    rule_headers(),
                    Paged::CrossSell(query),
                    page_rows,
                ))
            }
            ReportQuery::PriceElasticity(query) => {
                let (_, currency) = super::business(conn)?;
                return Ok(ReportFile::paged(
                    elasticity_headers(&currency),
                    Paged::PriceElasticity(query),
                    page_rows,
                ));
            }
        };
        Ok(ReportFile {
            headers,
            computed: Some(page),
            paged: None,
        })
    }

    fn paged(headers: Vec<String>, report: Paged, page_rows: i64) -> ReportFile {
        ReportFile {
            headers,
            computed: None,
            paged: Some(Pages {
                report,
                page_rows,
                after: None,
                done: false,
            }),
        }
    }

    /// The next rows of the file; `None` after the last.
    pub fn next_page(
        &mut self,
        conn: &mut DbConnection,
        acting: &Acting,
    ) -> AppResult<Option<ReportPage>> {
        if let Some(page) = self.computed.take() {
            return Ok(Some(page));
        }
        let Some(pages) = self.paged.as_mut().filter(|pages| !pages.done) else {
            return Ok(None);
        };
        let (after, fetch) = (pages.after.as_ref(), pages.page_rows + 1);
        let rows = pages.page_rows as usize;
        let (page, last) = match &pages.report {
            Paged::LapsedBuyers(query) => {
                let (_, mut buyers) = super::lapsed_buyers(conn, acting, *query, after, fetch)?;
                pages.done = buyers.len() <= rows;
                buyers.truncate(rows);
                let last = buyers.last().map(super::lapse_cursor_after);
                (lapsed_page(&buyers), last)
            }
            Paged::CrossSell(query) => {
                let (_, mut rules) = product_models::cross_sell_rules(
                    conn,
                    acting,
                    query.run_id,
                    query.antecedent,
                    after,
                    fetch,
                )?;
                pages.done = rules.len() <= rows;
                rules.truncate(rows);
                let last = rules.last().map(product_models::rule_cursor_after);
                (rule_page(&rules), last)
            }
            Paged::PriceElasticity(query) => {
                let (_, mut fits) = product_models::price_elasticities(
                    conn,
                    acting,
                    query.run_id,
                    query.product,
                    query.segment.as_deref(),
                    after,
                    fetch,
                )?;
                pages.done = fits.len() <= rows;
                fits.truncate(rows);
                let last = fits.last().map(product_models::elasticity_cursor_after);
                (elasticity_page(&fits), last)
            }
        };
        pages.after = last;
        Ok(Some(page))
    }
}

/// A report laid out as a table.
struct ReportTable {
    headers: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

fn table(table: ReportTable) -> (Vec<String>, ReportPage) {
    named_table(table, NamedCustomers::default())
}

fn named_table(table: ReportTable, customers: NamedCustomers) -> (Vec<String>, ReportPage) {
    let ReportTable { headers, rows } = table;
    (headers, ReportPage { rows, customers })
}

fn money_header(name: &str, currency: &str) -> String {
    format!("{name} ({currency})")
}

fn headers(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| name.to_string()).collect()
}

fn text(value: &Option<String>) -> Cell {
    value.clone().map_or(Cell::Null, Cell::Text)
}

/// A rate or a number of days as text with six decimals: exact to what it says in
/// every format.
fn decimal(value: Option<f64>) -> Cell {
    value.map_or(Cell::Null, |value| Cell::Text(format!("{value:.6}")))
}

fn day(day: NaiveDate) -> Cell {
    Cell::Text(day.to_string())
}

/// A period (or the window) of a report as rows: the cells that name it, its totals and
/// its groups (key, name, figures).
struct Section<'a, F> {
    when: Vec<Cell>,
    totals: &'a F,
    groups: Vec<(&'a Option<String>, &'a Option<String>, &'a F)>,
}

/// A report of sections as a table. Columns: the sections' (`section`), then `group`
/// and `group_name` when grouped, then `figures`. Rows: each section's totals, or when
/// grouped each of its groups, as the rows `cells` makes of them.
fn sectioned_table<'a, F: 'a>(
    section: &[&str],
    grouped: bool,
    figures: Vec<String>,
    sections: impl IntoIterator<Item = Section<'a, F>>,
    cells: impl Fn(&F) -> Vec<Vec<Cell>>,
) -> ReportTable {
    let mut columns = headers(section);
    if grouped {
        columns.extend(headers(&["group", "group_name"]));
    }
    columns.extend(figures);
    ReportTable {
        headers: columns,
        rows: rows(sections, grouped, cells),
    }
}

fn rows<'a, F: 'a>(
    sections: impl IntoIterator<Item = Section<'a, F>>,
    grouped: bool,
    figures: impl Fn(&F) -> Vec<Vec<Cell>>,
) -> Vec<Vec<Cell>> {
    let mut rows = Vec::new();
    for section in sections {
        let mut push = |named: Vec<Cell>, of: &F| {
            for cells in figures(of) {
                rows.push(
                    section
                        .when
                        .iter()
                        .cloned()
                        .chain(named.iter().cloned())
                        .chain(cells)
                        .collect(),
                );
            }
        };
        if grouped {
            for (key, name, of) in &section.groups {
                push(vec![text(key), text(name)], of);
            }
        } else {
            push(Vec::new(), section.totals);
        }
    }
    rows
}

/// The cells naming a report period.
fn period(label: &str, start: NaiveDate, end: NaiveDate) -> Vec<Cell> {
    vec![Cell::Text(label.to_string()), day(start), day(end)]
}

const PERIOD: [&str; 3] = ["period", "start", "end"];

/// A report by period as a table of [`PERIOD`], its group (when grouped) and
/// `figures`, with the rows `cells` makes of each period's totals or groups. Every such
/// report has a `group_by` and periods with a label, days, totals and groups of a key,
/// a name and figures, each of its own types.
macro_rules! period_table {
    ($report:expr, $figures:expr, $cells:expr) => {
        sectioned_table(
            &PERIOD,
            $report.group_by.is_some(),
            $figures,
            $report.periods.iter().map(|p| Section {
                when: period(&p.label, p.start, p.end),
                totals: &p.totals,
                groups: p
                    .groups
                    .iter()
                    .map(|g| (&g.key, &g.name, &g.figures))
                    .collect(),
            }),
            $cells,
        )
    };
}

/// One row per period, or, when grouped, one per period and group.
fn sales_table(report: &SalesReport) -> ReportTable {
    let currency = report.currency.as_str();
    let mut figures = headers(&["orders", "buyers", "units"]);
    figures.extend(
        ["gross", "refunds", "net", "average_order_value"].map(|name| money_header(name, currency)),
    );
    let cells = |f: &SalesFigures| {
        vec![vec![
            Cell::Integer(f.orders),
            Cell::Integer(f.buyers),
            f.units.map_or(Cell::Null, Cell::Integer),
            Cell::Integer(f.gross),
            Cell::Integer(f.refunds),
            Cell::Integer(f.net),
            Cell::Integer(f.average_order_value),
        ]]
    };
    period_table!(report, figures, cells)
}

/// One row per period.
fn kpi_table(report: &KpiReport) -> ReportTable {
    let currency = report.currency.as_str();
    let headers = vec![
        "period".to_string(),
        "start".to_string(),
        "end".to_string(),
        money_header("revenue", currency),
        "orders".to_string(),
        money_header("average_order_value", currency),
        "active_customers".to_string(),
        "new_customers".to_string(),
        "repeat_purchase_rate".to_string(),
        "churned".to_string(),
        "churn_rate".to_string(),
    ];
    let rows = report
        .periods
        .iter()
        .map(|p| {
            let mut row = period(&p.label, p.start, p.end);
            row.extend([
                Cell::Integer(p.revenue),
                Cell::Integer(p.orders),
                Cell::Integer(p.average_order_value),
                Cell::Integer(p.active_customers),
                Cell::Integer(p.new_customers),
                decimal(p.repeat_purchase_rate),
                Cell::Integer(p.churned),
                decimal(p.churn_rate),
            ]);
            row
        })
        .collect();
    ReportTable { headers, rows }
}

/// The service report in long form, one figure a row: `section` (`period`, `day`,
/// `weekday`, `agent`, `first_response`, `resolution`, `tickets`), `key` (the period's
/// label, the day, the weekday, the agent's id, `business_minutes` or
/// `calendar_minutes`), `measure` and `value`; its parts have different figures, so
/// one row per figure keeps every part in one sheet.
fn service_table(report: &ServiceReport) -> ReportTable {
    let mut rows = Vec::new();
    let mut push = |section: &str, key: String, measure: &str, value: Cell| {
        rows.push(vec![
            Cell::Text(section.to_string()),
            Cell::Text(key),
            Cell::Text(measure.to_string()),
            value,
        ]);
    };
    for p in &report.periods {
        push(
            "period",
            p.label.clone(),
            "created",
            Cell::Integer(p.created),
        );
        push(
            "period",
            p.label.clone(),
            "backlog",
            Cell::Integer(p.backlog),
        );
    }
    for d in &report.days {
        push(
            "day",
            d.date.to_string(),
            "created",
            Cell::Integer(d.created),
        );
    }
    for w in &report.weekdays {
        push(
            "weekday",
            w.weekday.clone(),
            "created",
            Cell::Integer(w.created),
        );
    }
    for a in &report.agents {
        let key = a.agent_id.map(|id| id.to_string()).unwrap_or_default();
        push("agent", key.clone(), "closed", Cell::Integer(a.closed));
        push(
            "agent",
            key.clone(),
            "csat_sent",
            Cell::Integer(a.csat.sent),
        );
        push(
            "agent",
            key.clone(),
            "csat_answered",
            Cell::Integer(a.csat.answered),
        );
        push(
            "agent",
            key.clone(),
            "average_rating",
            decimal(a.csat.average_rating),
        );
        push(
            "agent",
            key.clone(),
            "csat_percent",
            decimal(a.csat.csat_percent),
        );
        push(
            "agent",
            key,
            "response_percent",
            decimal(a.csat.response_percent),
        );
    }
    for (section, figures) in [
        ("first_response", &report.first_response),
        ("resolution", &report.resolution),
    ] {
        push(
            section,
            String::new(),
            "tickets",
            Cell::Integer(figures.tickets),
        );
        for (key, summary) in [
            ("business_minutes", &figures.business_minutes),
            ("calendar_minutes", &figures.calendar_minutes),
        ] {
            push(
                section,
                key.to_string(),
                "average",
                decimal(summary.average),
            );
            push(
                section,
                key.to_string(),
                "p50",
                summary.p50.map_or(Cell::Null, Cell::Integer),
            );
            push(
                section,
                key.to_string(),
                "p90",
                summary.p90.map_or(Cell::Null, Cell::Integer),
            );
        }
    }
    push(
        "tickets",
        String::new(),
        "created",
        Cell::Integer(report.tickets),
    );
    push(
        "tickets",
        String::new(),
        "average_messages",
        decimal(report.average_messages),
    );
    push(
        "tickets",
        String::new(),
        "sla_tickets",
        Cell::Integer(report.sla_tickets),
    );
    push(
        "tickets",
        String::new(),
        "sla_breached",
        Cell::Integer(report.sla_breached),
    );
    push(
        "tickets",
        String::new(),
        "sla_breach_percent",
        decimal(report.sla_breach_percent),
    );
    push(
        "tickets",
        String::new(),
        "reassignments",
        Cell::Integer(report.reassignments),
    );
    ReportTable {
        headers: headers(&["section", "key", "measure", "value"]),
        rows,
    }
}

/// One row per cohort and period since its first.
fn cohort_table(report: &CohortReport) -> ReportTable {
    let headers = headers(&[
        "cohort",
        "start",
        "end",
        "customers",
        "period",
        "offset",
        "buyers",
        "rate",
    ]);
    let rows = report
        .cohorts
        .iter()
        .flat_map(|cohort| {
            cohort.retention.iter().map(move |later| {
                let mut row = period(&cohort.label, cohort.start, cohort.end);
                row.extend([
                    Cell::Integer(cohort.customers),
                    Cell::Text(later.label.clone()),
                    Cell::Integer(later.offset as i64),
                    Cell::Integer(later.buyers),
                    decimal(later.rate),
                ]);
                row
            })
        })
        .collect();
    ReportTable { headers, rows }
}

/// One row per period, or, when grouped, one per period and group.
fn acquisition_table(report: &AcquisitionReport) -> ReportTable {
    let currency = report.currency.as_str();
    let figures = vec![
        "acquired".to_string(),
        "converted".to_string(),
        "conversion_rate".to_string(),
        money_header("revenue", currency),
        money_header("average_clv", currency),
        "average_days_to_first_purchase".to_string(),
    ];
    let cells = |f: &AcquisitionFigures| {
        vec![vec![
            Cell::Integer(f.acquired),
            Cell::Integer(f.converted),
            decimal(f.conversion_rate),
            Cell::Integer(f.revenue),
            f.average_clv.map_or(Cell::Null, Cell::Integer),
            decimal(f.average_days_to_first_purchase),
        ]]
    };
    period_table!(report, figures, cells)
}

/// One row per period (or period and group) and stage.
fn funnel_table(report: &FunnelReport) -> ReportTable {
    let figures = headers(&[
        "customers",
        "stage",
        "reached",
        "conversion_from_previous",
        "mean_days_from_previous",
        "median_days_from_previous",
    ]);
    let cells = |f: &FunnelFigures| {
        f.stages
            .iter()
            .map(|stage| {
                vec![
                    Cell::Integer(f.customers),
                    Cell::Text(stage.stage.clone()),
                    Cell::Integer(stage.reached),
                    decimal(stage.conversion_from_previous),
                    decimal(stage.mean_days_from_previous),
                    decimal(stage.median_days_from_previous),
                ]
            })
            .collect()
    };
    period_table!(report, figures, cells)
}

/// One row of totals, or, when grouped, one per group.
fn profitability_table(report: &ProfitabilityReport) -> ReportTable {
    let currency = report.currency.as_str();
    let grouped = report.group_by.is_some();
    let mut figures = headers(&["customers", "orders"]);
    figures.extend(
        ["revenue", "product_cost", "gross_margin"].map(|name| money_header(name, currency)),
    );
    figures.push("margin_rate".to_string());
    figures.extend(["service_cost", "acquisition_cost"].map(|name| money_header(name, currency)));
    figures.push("lines_without_cost".to_string());
    let window = Section {
        when: vec![day(report.window.from), day(report.window.to)],
        totals: &report.totals,
        groups: report
            .groups
            .iter()
            .map(|g| (&g.key, &g.name, &g.figures))
            .collect(),
    };
    let cells = |f: &ProfitFigures| {
        vec![vec![
            Cell::Integer(f.customers),
            Cell::Integer(f.orders),
            Cell::Integer(f.revenue),
            Cell::Integer(f.product_cost),
            Cell::Integer(f.gross_margin),
            decimal(f.margin_rate),
            f.service_cost.map_or(Cell::Null, Cell::Integer),
            f.acquisition_cost.map_or(Cell::Null, Cell::Integer),
            Cell::Integer(f.lines_without_cost),
        ]]
    };
    sectioned_table(&["from", "to"], grouped, figures, [window], cells)
}

fn lapsed_headers(currency: &str) -> Vec<String> {
    let mut all = headers(&[
        "customer_id",
        "display_name",
        "last_bought_at",
        "orders",
        "units",
    ]);
    all.push(money_header("net", currency));
    all
}

fn rule_headers() -> Vec<String> {
    headers(&[
        "rank",
        "antecedent_id",
        "antecedent_sku",
        "antecedent_name",
        "consequent_id",
        "consequent_sku",
        "consequent_name",
        "baskets",
        "support",
        "confidence",
        "lift",
    ])
}

fn product_cells(product: &ProductLabel) -> [Cell; 3] {
    [
        Cell::Text(product.id.to_string()),
        text(&product.sku),
        text(&product.name),
    ]
}

/// One row per rule, as `GET /reports/cross-sell` lists them.
fn rule_page(rules: &[RuleView]) -> ReportPage {
    ReportPage {
        rows: rules
            .iter()
            .map(|view| {
                let mut row = vec![Cell::Integer(view.rule.rank)];
                row.extend(product_cells(&view.antecedent));
                row.extend(product_cells(&view.consequent));
                row.extend([
                    Cell::Integer(view.rule.baskets),
                    decimal(Some(view.rule.support)),
                    decimal(Some(view.rule.confidence)),
                    decimal(Some(view.rule.lift)),
                ]);
                row
            })
            .collect(),
        customers: NamedCustomers::default(),
    }
}

fn elasticity_headers(currency: &str) -> Vec<String> {
    let mut all = headers(&["product_id", "sku", "name", "segment", "periods", "units"]);
    all.push(money_header("mean_unit_price", currency));
    all.extend(headers(&[
        "elasticity",
        "standard_error",
        "ci_low",
        "ci_high",
        "p_value",
        "r_squared",
    ]));
    all
}

/// One row per product and segment, as `GET /reports/price-elasticity` lists them.
fn elasticity_page(fits: &[ElasticityView]) -> ReportPage {
    ReportPage {
        rows: fits
            .iter()
            .map(|view| {
                let fit = &view.elasticity;
                let mut row: Vec<Cell> = product_cells(&view.product).into();
                row.extend([
                    Cell::Text(fit.segment.clone()),
                    Cell::Integer(fit.periods),
                    Cell::Integer(fit.units),
                    Cell::Integer(fit.mean_unit_price),
                ]);
                row.extend(
                    [
                        fit.elasticity,
                        fit.standard_error,
                        fit.ci_low,
                        fit.ci_high,
                        fit.p_value,
                        fit.r_squared,
                    ]
                    .map(|figure| decimal(Some(figure))),
                );
                row
            })
            .collect(),
        customers: NamedCustomers::default(),
    }
}

/// One row per lapsed buyer, as `GET /reports/lapsed-buyers` lists them.
fn lapsed_page(buyers: &[persistence::reports::LapsedBuyer]) -> ReportPage {
    ReportPage {
        rows: buyers
            .iter()
            .map(|buyer| {
                vec![
                    Cell::Text(buyer.customer_id.0.to_string()),
                    Cell::Text(buyer.display_name.clone()),
                    Cell::Text(
                        buyer
                            .last_bought_at
                            .0
                            .to_rfc3339_opts(SecondsFormat::AutoSi, true),
                    ),
                    Cell::Integer(buyer.orders),
                    Cell::Integer(buyer.units),
                    Cell::Integer(buyer.net),
                ]
            })
            .collect(),
        customers: NamedCustomers {
            ids: buyers.iter().map(|buyer| buyer.customer_id.0).collect(),
            read_unerased: buyers
                .iter()
                .filter(|buyer| !buyer.erased)
                .map(|buyer| buyer.customer_id.0)
                .collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grouping_belongs_to_a_report_and_channel_to_two() {
        for grouping in ReportGrouping::ALL {
            let reports = [
                grouping.dimension::<SalesDimension>().is_some(),
                grouping.dimension::<AcquisitionDimension>().is_some(),
                grouping.dimension::<ProfitDimension>().is_some(),
            ];
            let expected = if grouping == ReportGrouping::Channel {
                2
            } else {
                1
            };
            assert_eq!(
                reports.iter().filter(|taken| **taken).count(),
                expected,
                "{grouping:?}"
            );
        }
        assert_eq!(
            ReportGrouping::AgeRange.dimension(),
            Some(SalesDimension::AgeRange)
        );
        assert_eq!(
            ReportGrouping::Channel.dimension(),
            Some(AcquisitionDimension::Channel)
        );
        assert_eq!(
            ReportGrouping::RfmSegment.dimension(),
            Some(ProfitDimension::RfmSegment)
        );
    }

    fn request(report: ReportKind) -> ReportExportRequest {
        ReportExportRequest {
            report,
            from: NaiveDate::from_ymd_opt(2026, 3, 21),
            to: NaiveDate::from_ymd_opt(2026, 4, 20),
            bucket: None,
            calendar: None,
            group_by: None,
            limit: None,
            product_id: None,
            run_id: None,
            segment: None,
            earlier_from: None,
            team_id: None,
            agent_id: None,
            channel: None,
            category_id: None,
            format: ExportFormat::Csv,
            right_to_left: None,
        }
    }

    fn codes(request: &ReportExportRequest) -> Vec<(String, String)> {
        request
            .query()
            .unwrap_err()
            .into_iter()
            .map(|violation| (violation.field, violation.code))
            .collect()
    }

    #[test]
    fn parameters_a_report_does_not_take_are_named() {
        let mut profit = request(ReportKind::Profitability);
        profit.bucket = Some(Bucket::Day);
        profit.product_id = Some(Uuid::nil());
        profit.group_by = Some(ReportGrouping::Source);
        assert_eq!(
            codes(&profit),
            [
                ("bucket".to_string(), "not_for_report".to_string()),
                ("product_id".to_string(), "not_for_report".to_string()),
                ("group_by".to_string(), "not_for_report".to_string()),
            ]
        );
        let mut lapsed = request(ReportKind::LapsedBuyers);
        lapsed.limit = Some(10);
        assert_eq!(
            codes(&lapsed),
            [
                ("limit".to_string(), "not_for_report".to_string()),
                ("product_id".to_string(), "required".to_string()),
            ]
        );
        let mut funnel = request(ReportKind::Funnel);
        funnel.group_by = Some(ReportGrouping::Referrer);
        funnel.calendar = Some(CalendarSystem::Gregorian);
        assert_eq!(
            funnel.query(),
            Ok(ReportQuery::Funnel(
                ReportRange {
                    from: funnel.from.unwrap(),
                    to: funnel.to.unwrap(),
                    bucket: Bucket::Month,
                    calendar: CalendarSystem::Gregorian,
                },
                Some(AcquisitionDimension::Referrer)
            ))
        );
    }

    #[test]
    fn model_reports_take_a_run_and_no_days() {
        let mut rules = request(ReportKind::CrossSell);
        rules.segment = Some("all".into());
        assert_eq!(
            codes(&rules),
            [
                ("from".to_string(), "not_for_report".to_string()),
                ("to".to_string(), "not_for_report".to_string()),
                ("segment".to_string(), "not_for_report".to_string()),
            ]
        );
        let mut fits = request(ReportKind::PriceElasticity);
        (fits.from, fits.to) = (None, None);
        fits.segment = Some("loyal".into());
        fits.run_id = Some(Uuid::nil());
        assert_eq!(
            fits.query(),
            Ok(ReportQuery::PriceElasticity(ElasticityQuery {
                run_id: Some(Uuid::nil()),
                product: None,
                segment: Some("loyal".into()),
            }))
        );
        let mut sales = request(ReportKind::Sales);
        (sales.to, sales.run_id) = (None, Some(Uuid::nil()));
        assert_eq!(
            codes(&sales),
            [
                ("run_id".to_string(), "not_for_report".to_string()),
                ("to".to_string(), "required".to_string()),
            ]
        );
    }
}
