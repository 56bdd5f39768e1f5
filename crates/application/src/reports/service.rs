//! The service report (V-5): per period of the Jalali or Gregorian calendar in the
//! business time zone, the tickets created and the backlog open at its end; the tickets
//! created per local day and per weekday; over the whole range, the tickets each agent
//! resolved or closed beside their CSAT, the time to the first response and to
//! resolution (mean, median and 90th percentile, in business and in calendar minutes),
//! the exchanges per ticket, the SLA breach rate and the re-assignments. Over the
//! tickets the caller may see (by owner and team), optionally of one team, agent,
//! channel or category.
//!
//! The tickets created in the range are read once, a week at a time
//! (`persistence::service_reports`), and counted per local day, summed and measured
//! here: business minutes need the business calendar, which SQL cannot apply portably.
//! The durations are kept and sorted exactly, at most [`MAX_DURATIONS`] of each (8 MB),
//! and a range holding more measured tickets is refused. The backlog and the tickets
//! closed per agent are the database's counts.

use std::collections::BTreeMap;

use chrono::{NaiveDate, Weekday};
use domain::authz::Permission;
use domain::business_calendar::BusinessCalendar;
use domain::reports::round2;
use domain::reports::Bucket;
use domain::service::kpis::{percent, DurationFigures, DurationSummary, MAX_DURATIONS};
use domain::service::surveys::{CsatFigures, SATISFIED_RATING};
use persistence::db::DbConnection;
use persistence::reports::PeriodBounds;
use persistence::service_reports::{self as queries, ServiceFilter};
use persistence::ticket_surveys::CsatGroup;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{cut, last_day, period_index, ReportRange};
use crate::acting::Acting;
use crate::error::{AppError, AppResult};

/// Local days of tickets read at a time: a week's tickets in memory at most, and a
/// quarter in a dozen reads.
const DAYS_A_READ: usize = 7;

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

/// What one read of the tickets created in the range gives.
#[derive(Default)]
struct Tally {
    /// Tickets created on each local day of the range.
    per_day: Vec<i64>,
    tickets: i64,
    messages: i64,
    with_policy: i64,
    breached: i64,
    reassignments: i64,
    durations: Durations,
}

/// Reads the tickets created on the local `days` of the range a few days at a time:
/// counted per day, summed, and measured.
fn tally(
    conn: &mut DbConnection,
    calendar: &BusinessCalendar,
    days: &[PeriodBounds],
    filter: &ServiceFilter,
    acting: &Acting,
) -> AppResult<Tally> {
    let scope = acting.scope();
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Ok(Tally::default());
    };
    let first_day = calendar.today(first.start);
    // Tickets created in the range may be answered or resolved up to today.
    let business = calendar.days(
        first_day,
        calendar
            .today(persistence::now())
            .max(calendar.today(last.start)),
    );
    let mut tally = Tally {
        per_day: vec![0; days.len()],
        ..Tally::default()
    };
    let durations = &mut tally.durations;
    for read in days.chunks(DAYS_A_READ) {
        let (Some(from), Some(to)) = (read.first(), read.last()) else {
            continue;
        };
        for ticket in queries::created_tickets(conn, from.start, to.end, filter, &scope)? {
            let created = ticket.created_at.0;
            let day = (calendar.today(created) - first_day).num_days();
            if let Some(count) = usize::try_from(day)
                .ok()
                .and_then(|day| tally.per_day.get_mut(day))
            {
                *count += 1;
            }
            tally.tickets += 1;
            tally.messages += ticket.message_count;
            tally.reassignments += ticket.reassignments;
            if ticket.with_policy {
                tally.with_policy += 1;
                tally.breached += i64::from(ticket.sla_breached);
            }
            if let Some(at) = ticket.first_responded_at {
                durations
                    .first_business
                    .push(business.minutes_between(created, at.0));
                durations
                    .first_calendar
                    .push((at.0 - created).num_minutes());
            }
            if let Some(at) = ticket.resolved_at {
                durations
                    .resolution_business
                    .push(business.minutes_between(created, at.0));
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
    }
    Ok(tally)
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

    let mut tally = tally(conn, &calendar, &day_bounds, &filter, acting)?;
    let days: Vec<DayCount> = cut_days
        .iter()
        .zip(&tally.per_day)
        .map(|(day, created)| DayCount {
            date: day.range.start,
            label: day.label.clone(),
            created: *created,
        })
        .collect();
    let mut periods: Vec<ServicePeriod> = cut_periods
        .iter()
        .map(|period| ServicePeriod {
            label: period.label.clone(),
            start: period.range.start,
            end: last_day(period),
            // A period is whole local days.
            created: days
                .iter()
                .filter(|day| period.range.start <= day.date && day.date < period.range.end)
                .map(|day| day.created)
                .sum(),
            backlog: 0,
        })
        .collect();
    for cell in queries::backlog(conn, &bounds, &filter, &scope)? {
        let index = period_index(cell.period, periods.len())?;
        periods[index].backlog = cell.count;
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

    let durations = &mut tally.durations;
    Ok(ServiceReport {
        range,
        periods,
        days,
        weekdays,
        agents,
        tickets: tally.tickets,
        first_response: Durations::figures(
            &mut durations.first_business,
            &mut durations.first_calendar,
        ),
        resolution: Durations::figures(
            &mut durations.resolution_business,
            &mut durations.resolution_calendar,
        ),
        average_messages: (tally.tickets > 0)
            .then(|| round2(tally.messages as f64 / tally.tickets as f64)),
        sla_tickets: tally.with_policy,
        sla_breached: tally.breached,
        sla_breach_percent: percent(tally.breached, tally.with_policy),
        reassignments: tally.reassignments,
    })
}
