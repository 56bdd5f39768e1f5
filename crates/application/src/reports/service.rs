//! The service report (V-5): per period of the Jalali or Gregorian calendar in the
//! business time zone, the tickets created and the backlog open at its end; the tickets
//! created per local day and per weekday; over the whole range, the tickets each agent
//! resolved or closed beside their CSAT, the time to the first response and to
//! resolution (mean, median and 90th percentile, in business and in calendar minutes),
//! the exchanges per ticket, the SLA breach rate and the re-assignments. Over the
//! tickets the caller may see (by owner and team), optionally of one team, agent,
//! channel or category.
//!
//! Counts and sums are the database's (`persistence::service_reports`). Business
//! minutes need the business calendar, which SQL cannot apply portably, so the tickets'
//! instants are read a page at a time and measured here; the durations are kept and
//! sorted exactly, at most [`MAX_DURATIONS`] of each (8 MB), and a range holding more
//! measured tickets is refused.

use std::collections::BTreeMap;

use chrono::{NaiveDate, Weekday};
use domain::authz::Permission;
use domain::business_calendar::BusinessCalendar;
use domain::reports::round2;
use domain::reports::Bucket;
use domain::service::kpis::{percent, DurationFigures, DurationSummary, MAX_DURATIONS};
use domain::service::surveys::{CsatFigures, SATISFIED_RATING};
use persistence::db::DbConnection;
use persistence::service_reports::{self as queries, ServiceFilter};
use persistence::ticket_surveys::CsatGroup;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{cut, last_day, period_index, ReportRange};
use crate::acting::Acting;
use crate::error::{AppError, AppResult};

/// Tickets read per page when measuring durations.
const PAGE: i64 = 1_000;

/// One period of the service report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ServicePeriod {
    pub label: String,
    pub start: NaiveDate,
    /// Last local day (inclusive).
    pub end: NaiveDate,
    /// Tickets created in the period.
    pub created: i64,
    /// Tickets open at the period's end: created before it and, by their status
    /// history, in an open status then (a resolved ticket reopened later counts from
    /// its reopening).
    pub backlog: i64,
}

/// Tickets created on one local day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DayCount {
    pub date: NaiveDate,
    /// The day in the report's calendar (`1405-09-07`).
    pub label: String,
    pub created: i64,
}

/// Tickets created on one weekday over the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct WeekdayCount {
    /// `saturday` … `friday`, from the business's first weekday.
    pub weekday: String,
    pub created: i64,
}

/// One agent's work over the range.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AgentService {
    /// `None` for tickets without an owner.
    pub agent_id: Option<Uuid>,
    /// Tickets resolved or closed in the range (by the owner they have now).
    pub closed: i64,
    /// The surveys sent in the range on tickets the agent resolved.
    pub csat: CsatFigures,
}

/// The service KPIs.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ServiceReport {
    pub range: ReportRange,
    pub periods: Vec<ServicePeriod>,
    pub days: Vec<DayCount>,
    pub weekdays: Vec<WeekdayCount>,
    /// Most tickets closed first.
    pub agents: Vec<AgentService>,
    /// Tickets created in the range.
    pub tickets: i64,
    /// From creation to the first agent reply, over the tickets created in the range
    /// that have one.
    pub first_response: DurationFigures,
    /// From creation to resolution, over the tickets created in the range that are
    /// resolved (or closed).
    pub resolution: DurationFigures,
    /// Customer messages and agent replies per ticket created; `None` without tickets.
    pub average_messages: Option<f64>,
    /// Tickets created in the range under an SLA policy, and of them those that
    /// breached a target.
    pub sla_tickets: i64,
    pub sla_breached: i64,
    /// `sla_breached / sla_tickets` in percent; `None` without policy tickets.
    pub sla_breach_percent: Option<f64>,
    /// Hand-overs of the tickets created in the range after a lapsed pick-up time.
    pub reassignments: i64,
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
    }
}

/// Durations from creation to the first response and to resolution, both ways.
#[derive(Default)]
struct Durations {
    first_business: Vec<i64>,
    first_calendar: Vec<i64>,
    resolution_business: Vec<i64>,
    resolution_calendar: Vec<i64>,
}

impl Durations {
    fn figures(business: &mut [i64], calendar: &mut [i64]) -> DurationFigures {
        DurationFigures {
            tickets: business.len() as i64,
            business_minutes: DurationSummary::of(business),
            calendar_minutes: DurationSummary::of(calendar),
        }
    }
}

/// Reads the measured tickets of `[start, end)` a page at a time.
fn measure(
    conn: &mut DbConnection,
    calendar: &BusinessCalendar,
    (start, end): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
    filter: &ServiceFilter,
    acting: &Acting,
) -> AppResult<Durations> {
    let scope = acting.scope();
    let mut durations = Durations::default();
    let mut after = None;
    loop {
        let page = queries::instants(conn, start, end, after, PAGE, filter, &scope)?;
        for ticket in &page {
            let created = ticket.created_at.0;
            if let Some(at) = ticket.first_responded_at {
                durations
                    .first_business
                    .push(calendar.business_minutes_between(created, at.0));
                durations
                    .first_calendar
                    .push((at.0 - created).num_minutes());
            }
            if let Some(at) = ticket.resolved_at {
                durations
                    .resolution_business
                    .push(calendar.business_minutes_between(created, at.0));
                durations
                    .resolution_calendar
                    .push((at.0 - created).num_minutes());
            }
        }
        if durations.first_business.len() > MAX_DURATIONS
            || durations.resolution_business.len() > MAX_DURATIONS
        {
            return Err(AppError::field(
                "to",
                "too_many_tickets",
                format!("the range holds more than {MAX_DURATIONS} tickets; shorten it"),
            ));
        }
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => after = Some(last.id.0),
            _ => return Ok(durations),
        }
    }
}

/// The service KPIs over `range` (`records:read`).
pub fn service(
    conn: &mut DbConnection,
    acting: &Acting,
    range: ReportRange,
    filter: ServiceFilter,
) -> AppResult<ServiceReport> {
    acting.require(Permission::RecordsRead)?;
    let calendar = crate::settings::calendar(conn)?;
    let local = calendar.local();
    let (cut_periods, bounds) = cut(&local, &range)?;
    let day_range = ReportRange {
        bucket: Bucket::Day,
        ..range.clone()
    };
    let (cut_days, day_bounds) = cut(&local, &day_range)?;
    let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else {
        return Err(AppError::Internal("a report range without periods".into()));
    };
    let whole = (first.start, last.end);
    let scope = acting.scope();

    let mut periods: Vec<ServicePeriod> = cut_periods
        .iter()
        .map(|period| ServicePeriod {
            label: period.label.clone(),
            start: period.range.start,
            end: last_day(period),
            created: 0,
            backlog: 0,
        })
        .collect();
    for cell in queries::created(conn, &bounds, &filter, &scope)? {
        let index = period_index(cell.period, periods.len())?;
        periods[index].created = cell.count;
    }
    for cell in queries::backlog(conn, &bounds, &filter, &scope)? {
        let index = period_index(cell.period, periods.len())?;
        periods[index].backlog = cell.count;
    }

    let mut days: Vec<DayCount> = cut_days
        .iter()
        .map(|day| DayCount {
            date: day.range.start,
            label: day.label.clone(),
            created: 0,
        })
        .collect();
    for cell in queries::created(conn, &day_bounds, &filter, &scope)? {
        let index = period_index(cell.period, days.len())?;
        days[index].created = cell.count;
    }
    let mut weekday = local.first_weekday;
    let mut weekdays = Vec::with_capacity(7);
    for _ in 0..7 {
        weekdays.push(WeekdayCount {
            weekday: weekday_name(weekday).to_string(),
            created: days
                .iter()
                .filter(|day| chrono::Datelike::weekday(&day.date) == weekday)
                .map(|day| day.created)
                .sum(),
        });
        weekday = weekday.succ();
    }

    let mut agents: BTreeMap<Option<Uuid>, AgentService> = BTreeMap::new();
    for cell in queries::closed_per_agent(conn, whole.0, whole.1, &filter, &scope)? {
        let id = cell.agent_id.map(|id| id.0);
        agents.insert(
            id,
            AgentService {
                agent_id: id,
                closed: cell.count,
                csat: CsatFigures::default(),
            },
        );
    }
    for cell in persistence::ticket_surveys::csat(
        conn,
        whole.0,
        whole.1,
        CsatGroup::Agent,
        SATISFIED_RATING,
        &filter,
        &scope,
    )? {
        let id = cell.group_id.map(|id| id.0);
        agents
            .entry(id)
            .or_insert(AgentService {
                agent_id: id,
                closed: 0,
                csat: CsatFigures::default(),
            })
            .csat = CsatFigures::of(cell.sent, cell.answered, cell.rating_sum, cell.satisfied);
    }
    let mut agents: Vec<AgentService> = agents.into_values().collect();
    agents.sort_by(|a, b| b.closed.cmp(&a.closed).then(a.agent_id.cmp(&b.agent_id)));

    let sums = queries::created_sums(conn, whole.0, whole.1, &filter, &scope)?;
    let mut durations = measure(conn, &calendar, whole, &filter, acting)?;
    Ok(ServiceReport {
        range,
        periods,
        days,
        weekdays,
        agents,
        tickets: sums.tickets,
        first_response: Durations::figures(
            &mut durations.first_business,
            &mut durations.first_calendar,
        ),
        resolution: Durations::figures(
            &mut durations.resolution_business,
            &mut durations.resolution_calendar,
        ),
        average_messages: (sums.tickets > 0)
            .then(|| round2(sums.messages as f64 / sums.tickets as f64)),
        sla_tickets: sums.with_policy,
        sla_breached: sums.breached,
        sla_breach_percent: percent(sums.breached, sums.with_policy),
        reassignments: sums.reassignments,
    })
}
