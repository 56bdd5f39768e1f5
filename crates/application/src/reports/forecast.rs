//! The sales forecast (S-5): per period of the Jalali or Gregorian calendar in the
//! business time zone, the open deals expected to close in it weighted by their stage's
//! probability, and beside them the deals actually won in it; over the whole range, the
//! win rate and mean sales cycle per pipeline. Optionally split by the deals' owner or
//! team. Money per currency, in minor units; over the deals the caller may see.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use domain::authz::Permission;
use domain::reports::ForecastDimension;
use domain::sales::deals::{total, weighted, win_rate};
use domain::validation::FieldViolation;
use persistence::db::DbConnection;
use persistence::forecast::{ClosedDeals, ForecastCell, ForecastScope};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{business, cut, last_day, period_index, ReportRange};
use crate::acting::Acting;
use crate::error::{AppError, AppResult};

/// Deals of one currency in a period or group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct DealSums {
    pub currency: String,
    pub deals: i64,
    /// Σ amount, minor units.
    pub amount: i64,
    /// Σ amount × the stage's probability, rounded half up once on the sum (the amount
    /// itself for won deals).
    pub weighted_amount: i64,
}

/// The deals of a period (or of one owner or team in it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ForecastFigures {
    /// Open deals expected to close in the period, per currency in code order.
    pub pipeline: Vec<DealSums>,
    /// Deals won in the period (by `closed_at`), per currency in code order.
    pub won: Vec<DealSums>,
}

/// One owner's or team's deals in a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ForecastGroup {
    /// The owner's or team's id; `None` for deals without one.
    pub key: Option<Uuid>,
    pub figures: ForecastFigures,
}

/// One period of a forecast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ForecastPeriod {
    pub label: String,
    pub start: NaiveDate,
    /// Last local day (inclusive).
    pub end: NaiveDate,
    pub totals: ForecastFigures,
    /// Per owner or team, by key; empty when not grouped.
    pub groups: Vec<ForecastGroup>,
}

/// The deals of one pipeline (and owner or team) closed in the range.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WinRate {
    pub pipeline_id: Uuid,
    pub pipeline_name: String,
    /// The owner or team when grouped.
    pub key: Option<Uuid>,
    pub won: i64,
    pub lost: i64,
    /// won / (won + lost); `None` when none closed.
    pub win_rate: Option<f64>,
    /// Mean days from creation to winning of the won deals; `None` without any.
    pub average_sales_cycle_days: Option<f64>,
}

/// A sales forecast.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ForecastReport {
    pub range: ReportRange,
    pub group_by: Option<ForecastDimension>,
    pub pipeline_id: Option<Uuid>,
    /// Every period of the range, in order, empty ones included.
    pub periods: Vec<ForecastPeriod>,
    /// Per pipeline (and owner or team when grouped), deals closed in the whole range.
    pub win_rates: Vec<WinRate>,
}

/// Per currency sums of `cells`, in currency order; exact, and a sum past the largest
/// amount is the rule it breaks.
fn sums<'a>(
    cells: impl Iterator<Item = &'a ForecastCell>,
) -> Result<Vec<DealSums>, FieldViolation> {
    let mut by_currency: BTreeMap<&str, (i64, i128, i128)> = BTreeMap::new();
    for cell in cells {
        let entry = by_currency.entry(&cell.currency).or_default();
        entry.0 += cell.deals;
        entry.1 += cell.amount;
        entry.2 += cell.weighted_percent;
    }
    by_currency
        .into_iter()
        .map(|(currency, (deals, amount, weighted_percent))| {
            Ok(DealSums {
                currency: currency.to_string(),
                deals,
                amount: total("amount", amount)?,
                weighted_amount: total("weighted_amount", weighted(weighted_percent))?,
            })
        })
        .collect()
}

/// The figures of the cells of one period (and group, when `group` is given).
fn figures(
    open: &[ForecastCell],
    won: &[ForecastCell],
    period: i64,
    group: Option<Option<Uuid>>,
) -> AppResult<ForecastFigures> {
    let mine = |cell: &&ForecastCell| {
        cell.period == period && group.is_none_or(|group| cell.group_id.map(|id| id.0) == group)
    };
    let figures = || {
        Ok(ForecastFigures {
            pipeline: sums(open.iter().filter(mine))?,
            won: sums(won.iter().filter(mine))?,
        })
    };
    figures().map_err(|violation| AppError::Invalid(vec![violation]))
}

/// The forecast over `range` (`records:read`), of one pipeline or all, split by
/// `group_by` when given. Its sums are exact; one past the largest amount is a 422
/// `too_large` naming `amount` or `weighted_amount`.
pub fn forecast(
    conn: &mut DbConnection,
    acting: &Acting,
    range: ReportRange,
    group_by: Option<ForecastDimension>,
    pipeline: Option<Uuid>,
) -> AppResult<ForecastReport> {
    acting.require(Permission::RecordsRead)?;
    let (local, _) = business(conn)?;
    let (cut, bounds) = cut(&local, &range)?;
    let visibility = acting.scope();
    let scope = ForecastScope {
        visibility: &visibility,
        pipeline,
        group_by,
    };
    let pipelines: HashMap<Uuid, String> = persistence::pipelines::all(conn)?
        .into_iter()
        .map(|record| (record.row.id.0, record.row.name))
        .collect();
    if pipeline.is_some_and(|id| !pipelines.contains_key(&id)) {
        return Err(AppError::field(
            "pipeline_id",
            "not_found",
            "is not a pipeline",
        ));
    }
    let days: Vec<(NaiveDate, NaiveDate)> = cut
        .iter()
        .map(|period| (period.range.start, period.range.end))
        .collect();
    let open = persistence::forecast::open_by_expected_close(conn, &days, &scope)?;
    let won = persistence::forecast::won_by_close(conn, &bounds, &scope)?;
    for cell in open.iter().chain(&won) {
        period_index(cell.period, cut.len())?;
    }
    let periods = cut
        .iter()
        .enumerate()
        .map(|(index, period)| {
            let index = index as i64;
            let mut keys: Vec<Option<Uuid>> = open
                .iter()
                .chain(&won)
                .filter(|cell| group_by.is_some() && cell.period == index)
                .map(|cell| cell.group_id.map(|id| id.0))
                .collect();
            keys.sort_unstable();
            keys.dedup();
            Ok(ForecastPeriod {
                label: period.label.clone(),
                start: period.range.start,
                end: last_day(period),
                totals: figures(&open, &won, index, None)?,
                groups: keys
                    .into_iter()
                    .map(|key| {
                        Ok(ForecastGroup {
                            key,
                            figures: figures(&open, &won, index, Some(key))?,
                        })
                    })
                    .collect::<AppResult<_>>()?,
            })
        })
        .collect::<AppResult<_>>()?;
    let (start, end) = match (bounds.first(), bounds.last()) {
        (Some(first), Some(last)) => (first.start, last.end),
        _ => return Err(AppError::Internal("a report range without periods".into())),
    };
    let win_rates = persistence::forecast::closed_between(conn, start, end, &scope)?
        .into_iter()
        .map(|closed: ClosedDeals| WinRate {
            pipeline_name: pipelines
                .get(&closed.pipeline_id.0)
                .cloned()
                .unwrap_or_default(),
            pipeline_id: closed.pipeline_id.0,
            key: closed.group_id.map(|id| id.0),
            win_rate: win_rate(closed.won, closed.lost),
            won: closed.won,
            lost: closed.lost,
            average_sales_cycle_days: closed.mean_days_to_win,
        })
        .collect();
    Ok(ForecastReport {
        range,
        group_by,
        pipeline_id: pipeline,
        periods,
        win_rates,
    })
}
