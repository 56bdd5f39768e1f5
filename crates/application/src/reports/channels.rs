//! The cross-channel report (O-5): per period of the Jalali or Gregorian calendar in
//! the business time zone and per channel (Telegram, WhatsApp, Instagram, SMS, e-mail, web chat), the
//! messages in and out, the conversations that started, the time to their first agent
//! reply, how many led to a lead, a deal or an order within
//! [`ATTRIBUTION_DAYS`] of their start and the revenue of those orders; the same over
//! the whole range; and the touchpoint paths of the customers whose first order fell
//! in the range.
//!
//! Every figure is the database's (`persistence::channel_reports`), one row per period
//! and channel; here they are laid out with zeros where nothing happened. Over the
//! conversations the caller may see (through their customer, else their lead).

use chrono::NaiveDate;
use domain::authz::Permission;
use domain::omnichannel::accounts::ChannelKind;
use domain::omnichannel::analytics::{
    top_paths, PathCount, ResponseTimes, ATTRIBUTION_DAYS, MAX_TOP_PATHS, PATH_TOUCHES,
};
use persistence::channel_reports::{self as queries, ConversationCell, RevenueCell, VolumeCell};
use persistence::db::DbConnection;
use persistence::reports::PeriodBounds;
use serde::Serialize;
use utoipa::ToSchema;

use super::{business, cut, last_day, period_index, ReportRange};
use crate::acting::Acting;
use crate::error::{AppError, AppResult};

/// The orders attributed to a channel's conversations, in one currency (minor units).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ChannelRevenue {
    pub currency: String,
    /// Distinct orders (sales).
    pub orders: i64,
    /// Paid, after discounts.
    pub gross: i64,
    /// Refunded on their returns.
    pub refunds: i64,
    /// `gross − refunds`.
    pub net: i64,
}

/// One channel's figures over a period (or the whole range).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ChannelFigures {
    pub channel: ChannelKind,
    /// Messages customers sent.
    pub messages_in: i64,
    /// Messages sent to customers, refused and failed ones left out.
    pub messages_out: i64,
    /// Of `messages_out`, those sent automatically (off-hours replies, survey links).
    pub automatic_out: i64,
    /// Conversations that started (a conversation is one sender on one account, so it
    /// starts once: with its first message, the customer's or, for e-mail, an agent's).
    pub conversations: i64,
    /// From a conversation's first message the customer wrote to the first reply an
    /// agent wrote after it (automatic messages either way do not count), over the
    /// conversations started that have one.
    pub first_response: ResponseTimes,
    /// Conversations with a lead: the sender was made one, or was recognised as one.
    pub leads: i64,
    /// Conversations whose customer got a deal within the attribution window.
    pub deals: i64,
    /// Conversations whose customer placed an order (a sale) within the attribution
    /// window.
    pub orders: i64,
    /// The revenue of those orders per currency, net of refunds; an order following
    /// several of the channel's conversations counts once.
    pub revenue: Vec<ChannelRevenue>,
}

impl ChannelFigures {
    fn empty(channel: ChannelKind) -> ChannelFigures {
        ChannelFigures {
            channel,
            messages_in: 0,
            messages_out: 0,
            automatic_out: 0,
            conversations: 0,
            first_response: ResponseTimes::default(),
            leads: 0,
            deals: 0,
            orders: 0,
            revenue: Vec::new(),
        }
    }
}

/// One period of the report, every channel in it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ChannelPeriod {
    pub label: String,
    pub start: NaiveDate,
    /// Last local day (inclusive).
    pub end: NaiveDate,
    /// Every channel, in the order of `ChannelKind`, zeros where nothing happened.
    pub channels: Vec<ChannelFigures>,
}

/// The touchpoint paths of the customers whose first order was placed in the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TouchpointPaths {
    /// Customers whose first order was placed in the range.
    pub first_buyers: i64,
    /// Of them, those who wrote on a channel before it: they have a path.
    pub with_touches: i64,
    /// The most frequent paths, most customers first.
    pub top: Vec<PathCount>,
}

/// The cross-channel report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ChannelReport {
    pub range: ReportRange,
    /// The business currency (revenue lists each currency its orders were taken in).
    pub currency: String,
    /// Days after a conversation's start within which a deal or order counts for it.
    pub attribution_days: i64,
    /// The most touches a path keeps (the last ones before the first order).
    pub path_touches: i64,
    /// Every period of the range, in order.
    pub periods: Vec<ChannelPeriod>,
    /// Every channel over the whole range (percentiles over all its conversations, not
    /// combined from the periods').
    pub totals: Vec<ChannelFigures>,
    pub paths: TouchpointPaths,
}

/// The number of paths to list, or the 422 `GET /reports/channels` answers.
fn check_top(top: i64) -> AppResult<usize> {
    usize::try_from(top)
        .ok()
        .filter(|top| (1..=MAX_TOP_PATHS).contains(top))
        .ok_or_else(|| {
            AppError::field(
                "paths",
                "out_of_range",
                format!("must be from 1 to {MAX_TOP_PATHS}"),
            )
        })
}

fn amount(field: &str, sum: i128) -> AppResult<i64> {
    i64::try_from(sum).map_err(|_| {
        AppError::field(
            field,
            "too_large",
            format!(
                "the orders add up to more than the largest amount, {} minor units",
                i64::MAX
            ),
        )
    })
}

fn channel_index(channel: &str) -> AppResult<usize> {
    ChannelKind::ALL
        .iter()
        .position(|kind| kind.as_str() == channel)
        .ok_or_else(|| AppError::Internal(format!("stored message channel {channel:?}")))
}

/// Per period index, every channel's figures from the database's cells.
fn lay_out(
    periods: usize,
    volume: &[VolumeCell],
    conversations: &[ConversationCell],
    revenue: &[RevenueCell],
) -> AppResult<Vec<Vec<ChannelFigures>>> {
    let mut laid: Vec<Vec<ChannelFigures>> = (0..periods)
        .map(|_| {
            ChannelKind::ALL
                .iter()
                .copied()
                .map(ChannelFigures::empty)
                .collect()
        })
        .collect();
    for cell in volume {
        let figures = &mut laid[period_index(cell.period, periods)?][channel_index(&cell.channel)?];
        figures.messages_in = cell.inbound;
        figures.messages_out = cell.outbound;
        figures.automatic_out = cell.automatic;
    }
    for cell in conversations {
        let figures = &mut laid[period_index(cell.period, periods)?][channel_index(&cell.channel)?];
        figures.conversations = cell.conversations;
        figures.leads = cell.leads;
        figures.deals = cell.deals;
        figures.orders = cell.orders;
        figures.first_response = ResponseTimes::of(
            cell.answered,
            cell.total_seconds(),
            cell.p50_seconds,
            cell.p90_seconds,
        );
    }
    for cell in revenue {
        let figures = &mut laid[period_index(cell.period, periods)?][channel_index(&cell.channel)?];
        let gross = amount("gross", cell.gross())?;
        let refunds = amount("refunds", cell.refunds())?;
        figures.revenue.push(ChannelRevenue {
            currency: cell.currency.clone(),
            orders: cell.orders,
            gross,
            refunds,
            net: amount("net", cell.gross() - cell.refunds())?,
        });
    }
    Ok(laid)
}

/// The figures of `bounds`, laid out per period and channel.
fn figures(
    conn: &mut DbConnection,
    bounds: &[PeriodBounds],
    acting: &Acting,
) -> AppResult<Vec<Vec<ChannelFigures>>> {
    let scope = acting.scope();
    let volume = queries::volume(conn, bounds, &scope)?;
    let conversations = queries::conversations(conn, bounds, &scope)?;
    let revenue = queries::revenue(conn, bounds, &scope)?;
    lay_out(bounds.len(), &volume, &conversations, &revenue)
}

/// The cross-channel report over `range` with the `top` most frequent paths
/// (`records:read`; 1 to [`MAX_TOP_PATHS`], else 422 `out_of_range` on `paths`).
pub fn channels(
    conn: &mut DbConnection,
    acting: &Acting,
    range: ReportRange,
    top: i64,
) -> AppResult<ChannelReport> {
    acting.require(Permission::RecordsRead)?;
    let top = check_top(top)?;
    let (local, currency) = business(conn)?;
    let (cut_periods, bounds) = cut(&local, &range)?;
    let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else {
        return Err(AppError::Internal("a report range without periods".into()));
    };
    let whole = PeriodBounds {
        start: first.start,
        end: last.end,
        age_thresholds: first.age_thresholds,
    };
    let periods = cut_periods
        .iter()
        .zip(figures(conn, &bounds, acting)?)
        .map(|(period, channels)| ChannelPeriod {
            label: period.label.clone(),
            start: period.range.start,
            end: last_day(period),
            channels,
        })
        .collect();
    let totals = figures(conn, std::slice::from_ref(&whole), acting)?
        .into_iter()
        .next()
        .unwrap_or_default();
    let scope = acting.scope();
    let cells = queries::paths(conn, whole.start, whole.end, &scope)?;
    let with_touches = cells.iter().map(|cell| cell.customers).sum();
    let paths = TouchpointPaths {
        first_buyers: queries::first_buyers(conn, whole.start, whole.end, &scope)?,
        with_touches,
        top: top_paths(cells.iter().map(|cell| (cell.path(), cell.customers)), top),
    };
    Ok(ChannelReport {
        range,
        currency,
        attribution_days: ATTRIBUTION_DAYS,
        path_touches: PATH_TOUCHES as i64,
        periods,
        totals,
        paths,
    })
}
