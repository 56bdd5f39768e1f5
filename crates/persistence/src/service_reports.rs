//! What the service report reads (V-5): counts and sums over tickets per period,
//! computed by the database with the periods joined as a `VALUES` list (as the sales
//! reports do), and the ticket instants the application measures in business time,
//! read a page at a time by keyset so the tickets are never all in memory.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
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

/// Tickets created in each period (periods without any are absent).
pub fn created(
    conn: &mut DbConnection,
    periods: &[PeriodBounds],
    filter: &ServiceFilter,
    scope: &Scope,
) -> Result<Vec<PeriodCount>, PersistenceError> {
    let sql = format!(
        "{cte} SELECT periods.idx AS period, COUNT(*) AS count FROM periods \
         JOIN tickets t ON t.created_at >= periods.starts AND t.created_at < periods.ends\
         {filter}{visibility} GROUP BY periods.idx",
        cte = periods_cte(periods.len(), false),
        filter = filter.sql(&TICKET_COLUMNS),
        visibility = visibility_sql(scope, "t", domain::partners::SharedKind::Ticket),
    );
    let query = bind_periods(
        diesel::sql_query(placeholders(conn, &sql)).into_boxed(),
        periods,
        false,
    );
    Ok(bind_visibility(filter.bind(query), scope).load(conn)?)
}

/// The statuses of a ticket still being worked, as an `IN` list of fixed names.
fn open_statuses_sql() -> String {
    TicketStatus::OPEN
        .iter()
        .map(|status| format!("'{}'", status.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Per period: the tickets open at its end — created before it, and whose last status
/// move before it (`ticket_status_changes`, which records the status each ticket was
/// created with) left it in an open status. A ticket resolved and later reopened
/// counts as open only after the reopening.
pub fn backlog(
    conn: &mut DbConnection,
    periods: &[PeriodBounds],
    filter: &ServiceFilter,
    scope: &Scope,
) -> Result<Vec<PeriodCount>, PersistenceError> {
    let sql = format!(
        "{cte} SELECT periods.idx AS period, COUNT(*) AS count FROM periods \
         JOIN tickets t ON t.created_at < periods.ends\
         {filter}{visibility} \
         WHERE (SELECT sc.to_status FROM ticket_status_changes sc \
                WHERE sc.ticket_id = t.id AND sc.changed_at < periods.ends \
                ORDER BY sc.changed_at DESC, sc.id DESC LIMIT 1) IN ({open}) \
         GROUP BY periods.idx",
        cte = periods_cte(periods.len(), false),
        filter = filter.sql(&TICKET_COLUMNS),
        visibility = visibility_sql(scope, "t", domain::partners::SharedKind::Ticket),
        open = open_statuses_sql(),
    );
    let query = bind_periods(
        diesel::sql_query(placeholders(conn, &sql)).into_boxed(),
        periods,
        false,
    );
    Ok(bind_visibility(filter.bind(query), scope).load(conn)?)
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

/// Sums over the tickets created in `[start, end)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, QueryableByName)]
pub struct CreatedSums {
    #[diesel(sql_type = BigInt)]
    pub tickets: i64,
    /// Customer messages and agent replies.
    #[diesel(sql_type = BigInt)]
    pub messages: i64,
    /// Tickets that had an SLA policy, and of them those that breached a target.
    #[diesel(sql_type = BigInt)]
    pub with_policy: i64,
    #[diesel(sql_type = BigInt)]
    pub breached: i64,
    /// Re-assignments after a lapsed pick-up time.
    #[diesel(sql_type = BigInt)]
    pub reassignments: i64,
}

pub fn created_sums(
    conn: &mut DbConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    filter: &ServiceFilter,
    scope: &Scope,
) -> Result<CreatedSums, PersistenceError> {
    let sql = format!(
        "SELECT COUNT(*) AS tickets, \
         CAST(COALESCE(SUM(t.message_count), 0) AS BIGINT) AS messages, \
         COUNT(t.sla_policy_id) AS with_policy, \
         CAST(COALESCE(SUM(CASE WHEN t.sla_policy_id IS NOT NULL AND t.sla_breached THEN 1 ELSE 0 END), 0) AS BIGINT) AS breached, \
         CAST(COALESCE(SUM(t.reassignments), 0) AS BIGINT) AS reassignments \
         FROM tickets t WHERE t.created_at >= ? AND t.created_at < ?{filter}{visibility}",
        filter = filter.sql(&TICKET_COLUMNS),
        visibility = visibility_sql(scope, "t", domain::partners::SharedKind::Ticket),
    );
    let query = diesel::sql_query(placeholders(conn, &sql))
        .into_boxed()
        .bind::<UtcTimestamp, _>(DbTime(start))
        .bind::<UtcTimestamp, _>(DbTime(end));
    Ok(bind_visibility(filter.bind(query), scope).get_result(conn)?)
}

/// The instants of one ticket the application measures.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct TicketInstants {
    #[diesel(sql_type = SqlUuid)]
    pub id: DbUuid,
    #[diesel(sql_type = UtcTimestamp)]
    pub created_at: DbTime,
    #[diesel(sql_type = Nullable<UtcTimestamp>)]
    pub first_responded_at: Option<DbTime>,
    #[diesel(sql_type = Nullable<UtcTimestamp>)]
    pub resolved_at: Option<DbTime>,
}

/// The next `limit` tickets created in `[start, end)` after ticket `after` (keyset on
/// the id) that were answered or resolved.
pub fn instants(
    conn: &mut DbConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    after: Option<Uuid>,
    limit: i64,
    filter: &ServiceFilter,
    scope: &Scope,
) -> Result<Vec<TicketInstants>, PersistenceError> {
    let sql = format!(
        "SELECT t.id, t.created_at, t.first_responded_at, t.resolved_at FROM tickets t \
         WHERE t.created_at >= ? AND t.created_at < ? \
         AND (t.first_responded_at IS NOT NULL OR t.resolved_at IS NOT NULL){after}\
         {filter}{visibility} ORDER BY t.id LIMIT {limit}",
        after = if after.is_some() { " AND t.id > ?" } else { "" },
        filter = filter.sql(&TICKET_COLUMNS),
        visibility = visibility_sql(scope, "t", domain::partners::SharedKind::Ticket),
    );
    let mut query = diesel::sql_query(placeholders(conn, &sql))
        .into_boxed()
        .bind::<UtcTimestamp, _>(DbTime(start))
        .bind::<UtcTimestamp, _>(DbTime(end));
    if let Some(after) = after {
        query = query.bind::<SqlUuid, _>(DbUuid(after));
    }
    Ok(bind_visibility(filter.bind(query), scope).load(conn)?)
}
