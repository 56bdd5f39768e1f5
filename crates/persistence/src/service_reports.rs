//! What the service report reads (V-5): the tickets created in the report's range, a
//! few days at a time so they are never all in memory (the application counts them per
//! local day and measures their durations in business time); the backlog per period
//! and the tickets closed per agent, counted by the database.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use domain::service::tickets::TicketStatus;
use uuid::Uuid;

use crate::customers::search::Scope;
use crate::db::{placeholders, DbConnection};
use crate::reports::{
    bind_periods, bind_visibility, periods_cte, visibility_sql, PeriodBounds, Query,
};
use crate::sql_types::{DbTime, DbUuid, UtcTimestamp, Uuid as SqlUuid};
use crate::PersistenceError;

/// Which tickets a service report covers besides the period and the caller's
/// visibility.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceFilter {
    pub team_id: Option<Uuid>,
    /// The ticket's owner.
    pub agent_id: Option<Uuid>,
    pub channel: Option<String>,
    pub category_id: Option<Uuid>,
}

/// The columns of a table the filter is applied to.
pub(crate) struct FilterColumns {
    pub agent: &'static str,
    pub team: &'static str,
    pub channel: &'static str,
    pub category: &'static str,
}

pub(crate) const TICKET_COLUMNS: FilterColumns = FilterColumns {
    agent: "t.owner_id",
    team: "t.team_id",
    channel: "t.channel",
    category: "t.category_id",
};

impl ServiceFilter {
    /// `AND` conditions for what is given, bound by [`ServiceFilter::bind`] in order.
    pub(crate) fn sql(&self, columns: &FilterColumns) -> String {
        let mut sql = String::new();
        for (given, column) in [
            (self.team_id.is_some(), columns.team),
            (self.agent_id.is_some(), columns.agent),
            (self.channel.is_some(), columns.channel),
            (self.category_id.is_some(), columns.category),
        ] {
            if given {
                sql.push_str(&format!(" AND {column} = ?"));
            }
        }
        sql
    }

    pub(crate) fn bind<'a>(&self, mut query: Query<'a>) -> Query<'a> {
        if let Some(team) = self.team_id {
            query = query.bind::<SqlUuid, _>(DbUuid(team));
        }
        if let Some(agent) = self.agent_id {
            query = query.bind::<SqlUuid, _>(DbUuid(agent));
        }
        if let Some(channel) = &self.channel {
            query = query.bind::<Text, _>(channel.clone());
        }
        if let Some(category) = self.category_id {
            query = query.bind::<SqlUuid, _>(DbUuid(category));
        }
        query
    }
}

/// One count of a period.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct PeriodCount {
    #[diesel(sql_type = BigInt)]
    pub period: i64,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

/// The statuses of a ticket still being worked, as an `IN` list of fixed names.
fn open_statuses_sql() -> String {
    TicketStatus::OPEN
        .iter()
        .map(|status| format!("'{}'", status.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Per period: the tickets open at its end — those whose status history
/// (`ticket_status_changes`, which records the status each ticket was created with)
/// leaves them in an open status then. A ticket resolved and later reopened counts as
/// open only after the reopening.
///
/// Counted backwards from now rather than by replaying each ticket's history: every
/// move changes the open count by +1 (into an open status from another or at
/// creation), −1 (out of one) or 0, so the count at an instant is the tickets open now
/// less the balance of the moves made since. That reads the open tickets (by status)
/// and the moves since the first period's end (by time, from the index alone), so a
/// recent range costs what happened since it, not the whole history.
pub fn backlog(
    conn: &mut DbConnection,
    periods: &[PeriodBounds],
    filter: &ServiceFilter,
    scope: &Scope,
) -> Result<Vec<PeriodCount>, PersistenceError> {
    // after[k]: the moves from the end of period k to the end of the next (the last
    // one's to any time later).
    let far_future = DateTime::<Utc>::from_naive_utc_and_offset(
        chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .unwrap_or_default(),
        Utc,
    );
    let after: Vec<PeriodBounds> = periods
        .iter()
        .enumerate()
        .map(|(index, period)| PeriodBounds {
            start: period.end,
            end: periods.get(index + 1).map_or(far_future, |next| next.end),
            age_thresholds: Default::default(),
        })
        .collect();
    let open = open_statuses_sql();
    let tickets = format!(
        "{filter}{visibility}",
        filter = filter.sql(&TICKET_COLUMNS),
        visibility = visibility_sql(scope, "t", domain::partners::SharedKind::Ticket),
    );
    // Without a condition on the ticket the moves are not joined to it.
    let join = if tickets.is_empty() {
        String::new()
    } else {
        format!(" JOIN tickets t ON t.id = sc.ticket_id{tickets}")
    };
    let sql = format!(
        "{cte} SELECT periods.idx AS period, \
         CAST(SUM(CASE WHEN sc.to_status IN ({open}) THEN 1 ELSE 0 END \
                - CASE WHEN sc.from_status IN ({open}) THEN 1 ELSE 0 END) AS BIGINT) AS count \
         FROM periods JOIN ticket_status_changes sc \
         ON sc.changed_at >= periods.starts AND sc.changed_at < periods.ends{join} \
         GROUP BY periods.idx",
        cte = periods_cte(after.len(), false),
    );
    let query = bind_periods(
        diesel::sql_query(placeholders(conn, &sql)).into_boxed(),
        &after,
        false,
    );
    let moves: Vec<PeriodCount> = bind_visibility(filter.bind(query), scope).load(conn)?;
    let sql =
        format!("SELECT COUNT(*) AS count FROM tickets t WHERE t.status IN ({open}){tickets}");
    let query = diesel::sql_query(placeholders(conn, &sql)).into_boxed();
    let open_now: OpenCount = bind_visibility(filter.bind(query), scope).get_result(conn)?;

    let mut balance = vec![0; after.len()];
    for cell in moves {
        if let Some(slot) = usize::try_from(cell.period)
            .ok()
            .and_then(|index| balance.get_mut(index))
        {
            *slot = cell.count;
        }
    }
    let mut since = 0;
    let mut counts: Vec<PeriodCount> = (0..after.len())
        .rev()
        .map(|index| {
            since += balance[index];
            PeriodCount {
                period: index as i64,
                count: open_now.count - since,
            }
        })
        .collect();
    counts.reverse();
    Ok(counts)
}

#[derive(QueryableByName)]
struct OpenCount {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Tickets resolved or closed in `[start, end)`, per owner.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct AgentCount {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub agent_id: Option<DbUuid>,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

pub fn closed_per_agent(
    conn: &mut DbConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    filter: &ServiceFilter,
    scope: &Scope,
) -> Result<Vec<AgentCount>, PersistenceError> {
    let sql = format!(
        "SELECT t.owner_id AS agent_id, COUNT(*) AS count FROM tickets t \
         WHERE ((t.resolved_at >= ? AND t.resolved_at < ?) OR (t.closed_at >= ? AND t.closed_at < ?))\
         {filter}{visibility} GROUP BY t.owner_id",
        filter = filter.sql(&TICKET_COLUMNS),
        visibility = visibility_sql(scope, "t", domain::partners::SharedKind::Ticket),
    );
    let query = diesel::sql_query(placeholders(conn, &sql))
        .into_boxed()
        .bind::<UtcTimestamp, _>(DbTime(start))
        .bind::<UtcTimestamp, _>(DbTime(end))
        .bind::<UtcTimestamp, _>(DbTime(start))
        .bind::<UtcTimestamp, _>(DbTime(end));
    Ok(bind_visibility(filter.bind(query), scope).load(conn)?)
}

/// What the report reads of one ticket created in its range.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct CreatedTicket {
    #[diesel(sql_type = UtcTimestamp)]
    pub created_at: DbTime,
    #[diesel(sql_type = Nullable<UtcTimestamp>)]
    pub first_responded_at: Option<DbTime>,
    #[diesel(sql_type = Nullable<UtcTimestamp>)]
    pub resolved_at: Option<DbTime>,
    /// Customer messages and agent replies.
    #[diesel(sql_type = BigInt)]
    pub message_count: i64,
    /// Whether it had an SLA policy, and whether it breached a target.
    #[diesel(sql_type = Bool)]
    pub with_policy: bool,
    #[diesel(sql_type = Bool)]
    pub sla_breached: bool,
    /// Re-assignments after a lapsed pick-up time.
    #[diesel(sql_type = BigInt)]
    pub reassignments: i64,
}

/// The tickets created in `[start, end)`, in no particular order: the caller reads a
/// long range a few days at a time, each an index range of `tickets_created_idx`.
pub fn created_tickets(
    conn: &mut DbConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    filter: &ServiceFilter,
    scope: &Scope,
) -> Result<Vec<CreatedTicket>, PersistenceError> {
    let sql = format!(
        "SELECT t.created_at, t.first_responded_at, t.resolved_at, t.message_count, \
         t.sla_policy_id IS NOT NULL AS with_policy, t.sla_breached, t.reassignments \
         FROM tickets t WHERE t.created_at >= ? AND t.created_at < ?{filter}{visibility}",
        filter = filter.sql(&TICKET_COLUMNS),
        visibility = visibility_sql(scope, "t", domain::partners::SharedKind::Ticket),
    );
    let query = diesel::sql_query(placeholders(conn, &sql))
        .into_boxed()
        .bind::<UtcTimestamp, _>(DbTime(start))
        .bind::<UtcTimestamp, _>(DbTime(end));
    Ok(bind_visibility(filter.bind(query), scope).load(conn)?)
}
