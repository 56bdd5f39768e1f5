//! The attribution report: each purchase placed in a window of local days, by a
//! customer the caller sees, is a conversion worth its revenue net of refunds; its path
//! is the customer's touches (campaign sends, messages, behavioural events, logged
//! activities — see `persistence::attribution` — and the order's own campaign) in the
//! `window_days` before it; `analytics::attribution` shares each conversion among its
//! path's channels and campaigns by the model asked for.
//!
//! Conversions are read a page at a time in customer order, the touches of a page's
//! paths in one statement bounded by their windows, and each page's credit added to the
//! report's, so memory holds one page of paths whatever the window.

use chrono::TimeDelta;
use domain::attribution::{AttributionModel, AttributionParams, UNKNOWN_CHANNEL};
use domain::authz::Permission;
use persistence::attribution::{self as queries, Conversion, PathSpan};
use persistence::db::DbConnection;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use analytics::attribution::{
    attribute, AttributionModel as Weighting, AttributionReport as Credits, ConversionPath, Credit,
    Touchpoint,
};

use super::{business, check_report_days, invalid, window_bounds, DayWindow};
use crate::acting::Acting;
use crate::error::{AppError, AppResult};

/// Conversions read (and paths attributed) at a time.
pub const PAGE: i64 = 500;

/// What one channel or campaign earned.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AttributionCredit {
    /// The channel (`sms`, `call`, `web`, ...) or the campaign's code.
    pub key: String,
    /// Fractional conversions credited, to six decimals.
    pub conversions: f64,
    /// Revenue credited in minor units: the credit's exact share rounded to the nearest
    /// unit, halves away from zero.
    pub revenue: i64,
}

/// Counts over every conversion of the window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct AttributionTotals {
    /// Purchases placed in the window.
    pub conversions: i64,
    /// Their revenue net of refunds, minor units.
    pub revenue: i64,
    /// Of them, those with at least one touch: what the credit is shared from.
    pub attributed_conversions: i64,
    pub attributed_revenue: i64,
    /// Conversions without any touch in their window: nothing to credit.
    pub paths_without_touchpoints: i64,
    /// Touches over all paths (a touch in the window of two purchases counts in both).
    pub touchpoints: i64,
}

/// Credit per channel and campaign for the purchases placed in a window.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AttributionReport {
    pub window: DayWindow,
    pub model: AttributionModel,
    /// How many days before a purchase a touch counts.
    pub window_days: i64,
    /// The time-decay half-life in days; `null` for the other models.
    pub half_life_days: Option<i64>,
    /// The business currency, in whose minor units revenue is.
    pub currency: String,
    pub totals: AttributionTotals,
    /// Per channel touched on any path (with nothing when the model credited none of
    /// its touches), most revenue first, then most conversions, then by key.
    pub channels: Vec<AttributionCredit>,
    /// Per campaign touched (touches of a campaign only), in the same order.
    pub campaigns: Vec<AttributionCredit>,
}

/// The longest window a report reads in one request: a year, leap or not. A longer one
/// is a report of several.
const MAX_WINDOW_DAYS: i64 = 366;

/// Refuses a window or parameters `GET /reports/attribution` refuses.
pub fn check(
    window: DayWindow,
    model: AttributionModel,
    window_days: Option<i64>,
    half_life_days: Option<i64>,
) -> AppResult<AttributionParams> {
    check_report_days(&[("from", window.from), ("to", window.to)])?;
    if window.to < window.from {
        return Err(invalid("to", "before_from", "must not be before `from`"));
    }
    if (window.to - window.from).num_days() >= MAX_WINDOW_DAYS {
        return Err(invalid(
            "to",
            "too_long",
            format!("the window spans at most {MAX_WINDOW_DAYS} days"),
        ));
    }
    AttributionParams::new(model, window_days, half_life_days).map_err(AppError::Invalid)
}

/// Attribution of the purchases placed from `window.from` to `window.to` (local days)
/// by the customers the caller can see.
pub fn report(
    conn: &mut DbConnection,
    acting: &Acting,
    window: DayWindow,
    model: AttributionModel,
    window_days: Option<i64>,
    half_life_days: Option<i64>,
) -> AppResult<AttributionReport> {
    let params = (model, window_days, half_life_days);
    report_in_pages(conn, acting, window, params, PAGE)
}

/// [`report`] reading `page` conversions at a time (any page size gives the same
/// report, up to the rounding of floating-point sums).
pub fn report_in_pages(
    conn: &mut DbConnection,
    acting: &Acting,
    window: DayWindow,
    (model, window_days, half_life_days): (AttributionModel, Option<i64>, Option<i64>),
    page_size: i64,
) -> AppResult<AttributionReport> {
    acting.require(Permission::RecordsRead)?;
    let params = check(window, model, window_days, half_life_days)?;
    let (local, currency) = business(conn)?;
    let bounds = window_bounds(&local, window)?;
    let scope = acting.scope();
    let weighting = weighting(params);
    let reach = TimeDelta::days(params.window_days);

    let mut credits = Credits::default();
    let mut totals = AttributionTotals::default();
    let mut revenue: i128 = 0;
    let mut after = None;
    loop {
        let page = queries::conversions(conn, bounds, &currency, &scope, after, page_size)?;
        let Some(last) = page.last() else { break };
        after = Some(last.key());
        let spans: Vec<PathSpan> = page
            .iter()
            .map(|conversion| PathSpan {
                customer_id: conversion.customer_id.0,
                since: conversion.placed_at.0 - reach,
                until: conversion.placed_at.0,
            })
            .collect();
        let mut paths: Vec<ConversionPath> = page.iter().map(empty_path).collect();
        for touch in queries::touches(conn, &spans)? {
            let path = usize::try_from(touch.path)
                .ok()
                .and_then(|index| paths.get_mut(index))
                .ok_or_else(|| AppError::Internal(format!("touch of path {}", touch.path)))?;
            path.touchpoints.push(Touchpoint {
                channel: touch.channel,
                campaign: touch.campaign,
                at: touch.at.0,
            });
        }
        for (conversion, path) in page.iter().zip(&mut paths) {
            if let Some(touch) = order_touch(conversion) {
                path.touchpoints.push(touch);
            }
            totals.touchpoints += path.touchpoints.len() as i64;
            revenue += i128::from(conversion.revenue.max(0));
            if !path.touchpoints.is_empty() {
                totals.attributed_revenue = checked_add(totals.attributed_revenue, conversion)?;
            }
        }
        totals.conversions += page.len() as i64;
        credits.absorb(
            attribute(&paths, weighting)
                .map_err(|err| AppError::Internal(format!("attribution: {err}")))?,
        );
        if (page.len() as i64) < page_size {
            break;
        }
    }
    totals.revenue = i64::try_from(revenue).map_err(|_| too_large())?;
    totals.attributed_conversions = credits.conversions as i64;
    totals.paths_without_touchpoints = credits.paths_without_touchpoints as i64;
    Ok(AttributionReport {
        window,
        model,
        window_days: params.window_days,
        half_life_days: params.half_life_days,
        currency,
        totals,
        channels: ranked(credits.by_channel),
        campaigns: ranked(credits.by_campaign),
    })
}

/// The analytics crate's model for `params`.
fn weighting(params: AttributionParams) -> Weighting {
    match params.model {
        AttributionModel::FirstTouch => Weighting::FirstTouch,
        AttributionModel::LastTouch => Weighting::LastTouch,
        AttributionModel::Linear => Weighting::Linear,
        AttributionModel::TimeDecay => Weighting::TimeDecay {
            half_life: TimeDelta::days(
                params
                    .half_life_days
                    .unwrap_or(domain::attribution::DEFAULT_HALF_LIFE_DAYS),
            ),
        },
        AttributionModel::PositionBased => Weighting::PositionBased,
    }
}

fn empty_path(conversion: &Conversion) -> ConversionPath {
    ConversionPath {
        touchpoints: Vec::new(),
        converted_at: conversion.placed_at.0,
        // Exact up to 2^53 minor units.
        revenue: conversion.revenue.max(0) as f64,
    }
}

/// The order's own campaign as its path's last touch, at the moment it was placed: on
/// the channel of the campaign of that code, else the order's channel, else
/// [`UNKNOWN_CHANNEL`]. An order without a campaign adds nothing (its channel is where
/// it was sold, not what brought the customer).
fn order_touch(conversion: &Conversion) -> Option<Touchpoint> {
    let campaign = conversion
        .campaign
        .as_deref()
        .map(str::trim)
        .filter(|code| !code.is_empty())?;
    let channel = [&conversion.campaign_channel, &conversion.order_channel]
        .into_iter()
        .flatten()
        .map(|channel| channel.trim())
        .find(|channel| !channel.is_empty())
        .unwrap_or(UNKNOWN_CHANNEL);
    Some(Touchpoint {
        channel: channel.to_string(),
        campaign: Some(campaign.to_string()),
        at: conversion.placed_at.0,
    })
}

fn checked_add(sum: i64, conversion: &Conversion) -> AppResult<i64> {
    sum.checked_add(conversion.revenue.max(0))
        .ok_or_else(too_large)
}

fn too_large() -> AppError {
    invalid(
        "to",
        "too_large",
        "the window's revenue is too large to report",
    )
}

/// Credits rounded and sorted: most revenue first, then most conversions, then by key.
fn ranked(credits: BTreeMap<String, Credit>) -> Vec<AttributionCredit> {
    let mut rows: Vec<AttributionCredit> = credits
        .into_iter()
        .map(|(key, credit)| AttributionCredit {
            key,
            conversions: (credit.conversions * 1e6).round() / 1e6,
            revenue: credit.revenue.round() as i64,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.revenue
            .cmp(&a.revenue)
            .then(b.conversions.total_cmp(&a.conversions))
            .then_with(|| a.key.cmp(&b.key))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use persistence::sql_types::{DbTime, DbUuid};
    use uuid::Uuid;

    fn conversion(campaign: Option<&str>, known: Option<&str>, sold: Option<&str>) -> Conversion {
        Conversion {
            order_id: DbUuid(Uuid::nil()),
            customer_id: DbUuid(Uuid::nil()),
            placed_at: DbTime(DateTime::from_timestamp(1_700_000_000, 0).unwrap()),
            revenue: 100,
            campaign: campaign.map(str::to_string),
            campaign_channel: known.map(str::to_string),
            order_channel: sold.map(str::to_string),
        }
    }

    #[test]
    fn an_order_touches_only_through_its_campaign() {
        let channel = |c: &Conversion| order_touch(c).map(|touch| touch.channel);
        assert_eq!(channel(&conversion(None, None, Some("store"))), None);
        assert_eq!(channel(&conversion(Some("  "), None, Some("store"))), None);
        assert_eq!(
            channel(&conversion(Some("yalda"), Some("sms"), Some("store"))),
            Some("sms".to_string())
        );
        assert_eq!(
            channel(&conversion(Some("yalda"), None, Some("store"))),
            Some("store".to_string())
        );
        assert_eq!(
            channel(&conversion(Some("yalda"), None, None)),
            Some("unknown".to_string())
        );
    }

    #[test]
    fn credits_are_rounded_and_ranked_by_revenue() {
        let credit = |conversions: f64, revenue: f64| Credit {
            conversions,
            revenue,
        };
        let rows = ranked(BTreeMap::from([
            ("a".to_string(), credit(0.5, 10.5)),
            ("b".to_string(), credit(1.0 / 3.0, 33_333.333)),
            ("c".to_string(), credit(0.25, 10.5)),
        ]));
        let keys: Vec<(&str, f64, i64)> = rows
            .iter()
            .map(|row| (row.key.as_str(), row.conversions, row.revenue))
            .collect();
        assert_eq!(
            keys,
            [("b", 0.333333, 33_333), ("a", 0.5, 11), ("c", 0.25, 11)]
        );
    }
}
