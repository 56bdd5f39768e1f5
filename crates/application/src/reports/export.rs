//! Reports as files: the request of `POST /reports/exports` and the rows each report
//! becomes (one per period, or per period and group), for the `reports.export` job to
//! write as CSV, XLSX or JSON.

use chrono::NaiveDate;
use domain::calendar::CalendarSystem;
use domain::reports::{Bucket, SalesDimension};
use serde::{Deserialize, Serialize};
use tabular::Cell;
use utoipa::ToSchema;

use super::{CohortReport, KpiReport, ReportRange, SalesFigures, SalesReport};
use crate::customers::export::ExportFormat;

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
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Sales => "sales",
            ReportKind::Kpis => "kpis",
            ReportKind::Cohorts => "cohorts",
        }
    }
}

/// The body of `POST /reports/exports`: a report's parameters, as for its `GET`, and
/// the file's format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"report": "sales", "from": "2026-03-21", "to": "2027-03-20",
                          "bucket": "month", "calendar": "jalali", "group_by": "province",
                          "format": "xlsx"}))]
pub struct ReportExportRequest {
    pub report: ReportKind,
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[serde(default)]
    pub bucket: Bucket,
    /// Default `jalali`.
    #[serde(default = "jalali")]
    pub calendar: CalendarSystem,
    /// Sales only.
    #[serde(default)]
    pub group_by: Option<SalesDimension>,
    #[serde(default)]
    pub format: ExportFormat,
    /// Lay an XLSX sheet out right to left; by default when the caller reads Persian.
    #[serde(default)]
    pub right_to_left: Option<bool>,
}

fn jalali() -> CalendarSystem {
    CalendarSystem::Jalali
}

impl ReportExportRequest {
    pub fn range(&self) -> ReportRange {
        ReportRange {
            from: self.from,
            to: self.to,
            bucket: self.bucket,
            calendar: self.calendar,
        }
    }
}

/// A report laid out as a table.
pub struct ReportTable {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

fn money_header(name: &str, currency: &str) -> String {
    format!("{name} ({currency})")
}

fn figures(figures: &SalesFigures) -> [Cell; 7] {
    [
        Cell::Integer(figures.orders),
        Cell::Integer(figures.buyers),
        figures.units.map_or(Cell::Null, Cell::Integer),
        Cell::Integer(figures.gross),
        Cell::Integer(figures.refunds),
        Cell::Integer(figures.net),
        Cell::Integer(figures.average_order_value),
    ]
}

/// One row per period, or, when grouped, one per period and group.
pub fn sales_table(report: &SalesReport) -> ReportTable {
    let currency = report.currency.as_str();
    let mut headers: Vec<String> = ["period", "start", "end"].map(String::from).to_vec();
    if report.group_by.is_some() {
        headers.extend(["group", "group_name"].map(String::from));
    }
    headers.extend(["orders", "buyers", "units"].map(String::from));
    headers.extend(
        ["gross", "refunds", "net", "average_order_value"].map(|name| money_header(name, currency)),
    );
    let mut rows = Vec::new();
    for period in &report.periods {
        let when = [
            Cell::Text(period.label.clone()),
            Cell::Text(period.start.to_string()),
            Cell::Text(period.end.to_string()),
        ];
        if report.group_by.is_none() {
            rows.push(when.into_iter().chain(figures(&period.totals)).collect());
            continue;
        }
        for group in &period.groups {
            let named = [
                group.key.clone().map_or(Cell::Null, Cell::Text),
                group.name.clone().map_or(Cell::Null, Cell::Text),
            ];
            rows.push(
                when.iter()
                    .cloned()
                    .chain(named)
                    .chain(figures(&group.figures))
                    .collect(),
            );
        }
    }
    ReportTable { headers, rows }
}

/// A rate as text with six decimals: exact to what it says in every format.
fn rate(value: Option<f64>) -> Cell {
    value.map_or(Cell::Null, |value| Cell::Text(format!("{value:.6}")))
}

/// One row per period.
pub fn kpi_table(report: &KpiReport) -> ReportTable {
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
        .map(|period| {
            vec![
                Cell::Text(period.label.clone()),
                Cell::Text(period.start.to_string()),
                Cell::Text(period.end.to_string()),
                Cell::Integer(period.revenue),
                Cell::Integer(period.orders),
                Cell::Integer(period.average_order_value),
                Cell::Integer(period.active_customers),
                Cell::Integer(period.new_customers),
                rate(period.repeat_purchase_rate),
                Cell::Integer(period.churned),
                rate(period.churn_rate),
            ]
        })
        .collect();
    ReportTable { headers, rows }
}

/// One row per cohort and period since its first.
pub fn cohort_table(report: &CohortReport) -> ReportTable {
    let headers = [
        "cohort",
        "start",
        "end",
        "customers",
        "period",
        "offset",
        "buyers",
        "rate",
    ]
    .map(String::from)
    .to_vec();
    let rows = report
        .cohorts
        .iter()
        .flat_map(|cohort| {
            cohort.retention.iter().map(move |later| {
                vec![
                    Cell::Text(cohort.label.clone()),
                    Cell::Text(cohort.start.to_string()),
                    Cell::Text(cohort.end.to_string()),
                    Cell::Integer(cohort.customers),
                    Cell::Text(later.label.clone()),
                    Cell::Integer(later.offset as i64),
                    Cell::Integer(later.buyers),
                    rate(later.rate),
                ]
            })
        })
        .collect();
    ReportTable { headers, rows }
}
