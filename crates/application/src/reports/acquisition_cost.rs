//! The acquisition cost report: per campaign or marketing channel, what was spent
//! in a window of local days and the customers acquired in it — the customer
//! acquisition cost (CAC), their mean CLV against it, and the months their gross margin
//! takes to pay it back.
//!
//! Costs are the campaigns' cost entries by the day they were spent; a customer is
//! acquired by the campaign (`acquisition_campaign`, a campaign's code) or channel
//! (`acquisition_channel`) their record names, on the day it was created.

use domain::campaigns::{payback_months, per};
use persistence::campaigns::AcquisitionCostGroup;
use persistence::db::DbConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{business, check_report_days, invalid, window_bounds, DayWindow};
use crate::acting::Acting;
use crate::analytics::access::require_reader;
use crate::error::AppResult;

/// Mean length of a month in days (365.2425 / 12), for the payback period.
const DAYS_PER_MONTH: f64 = 30.436_875;

/// How the report groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AcquisitionCostDimension {
    Campaign,
    Channel,
}

/// Acquisition cost of one campaign or channel.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AcquisitionCostGroupFigures {
    /// The campaign's code or the channel.
    pub key: String,
    /// Spent in the window (minor units of the business currency).
    pub cost: i64,
    /// Customers created in the window that name it.
    pub acquired: i64,
    /// `cost / acquired`; `None` when nobody was acquired.
    pub cac: Option<i64>,
    /// Mean CLV of the acquired customers the current `clv` run scored.
    pub average_clv: Option<i64>,
    /// `average_clv / cac`: above 3 is usually called healthy; `None` without either.
    pub clv_to_cac: Option<f64>,
    /// Their gross margin to date (net revenue less product cost).
    pub gross_margin: i64,
    /// Mean gross margin per acquired customer per month since their acquisition.
    pub monthly_margin_per_customer: Option<f64>,
    /// Months until that margin pays the CAC back; `None` when it earns none.
    pub payback_months: Option<f64>,
}

/// What acquiring customers cost, per campaign or channel.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AcquisitionCostReport {
    pub window: DayWindow,
    pub group_by: AcquisitionCostDimension,
    pub currency: String,
    /// Costs of campaigns and acquisitions of customers in the window, by key.
    pub groups: Vec<AcquisitionCostGroupFigures>,
}

/// The report over the local days of `window` (`records:read` and visibility `all`:
/// costs are the whole business's, so acquisitions must be too).
pub fn acquisition_cost(
    conn: &mut DbConnection,
    acting: &Acting,
    window: DayWindow,
    group_by: AcquisitionCostDimension,
) -> AppResult<AcquisitionCostReport> {
    require_reader(acting)?;
    check_report_days(&[("from", window.from), ("to", window.to)])?;
    if window.to < window.from {
        return Err(invalid("to", "before_from", "must not be before `from`"));
    }
    let (local, currency) = business(conn)?;
    let bounds = window_bounds(&local, window)?;
    let now = persistence::now();
    let cells = persistence::campaigns::acquisition_costs(
        conn,
        match group_by {
            AcquisitionCostDimension::Campaign => AcquisitionCostGroup::Campaign,
            AcquisitionCostDimension::Channel => AcquisitionCostGroup::Channel,
        },
        (window.from, window.to),
        bounds,
        now,
        &acting.scope(),
    )?;
    let groups = cells
        .into_iter()
        .map(|cell| {
            let cac = per(cell.cost, cell.acquired);
            let average_clv = cell
                .clv_total
                .filter(|_| cell.clv_customers > 0)
                .and_then(|total| per(total, cell.clv_customers));
            let customer_months = cell.customer_days / DAYS_PER_MONTH;
            let monthly_margin =
                (customer_months > 0.0).then(|| cell.gross_margin as f64 / customer_months);
            AcquisitionCostGroupFigures {
                clv_to_cac: match (average_clv, cac) {
                    (Some(clv), Some(cac)) if cac > 0 => Some(clv as f64 / cac as f64),
                    _ => None,
                },
                payback_months: cac
                    .zip(monthly_margin)
                    .and_then(|(cac, margin)| payback_months(cac, margin)),
                key: cell.group_key,
                cost: cell.cost,
                acquired: cell.acquired,
                cac,
                average_clv,
                gross_margin: cell.gross_margin,
                monthly_margin_per_customer: monthly_margin,
            }
        })
        .collect();
    Ok(AcquisitionCostReport {
        window,
        group_by,
        currency,
        groups,
    })
}
