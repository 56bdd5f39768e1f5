//! Satisfaction surveys of resolved tickets (V-6): the rows, found by the hash of their
//! token; the answer written once by a guarded `UPDATE`; and the CSAT sums the reports
//! read, computed by the database per group.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};
use uuid::Uuid;

use crate::customers::search::Scope;
use crate::db::{placeholders, DbConnection};
use crate::reports::{bind_visibility, visibility_sql};
use crate::schema::ticket_surveys;
use crate::service_reports::{FilterColumns, ServiceFilter};
use crate::sql_types::{DbTime, DbUuid, UtcTimestamp, Uuid as SqlUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ticket_surveys)]
pub struct SurveyRow {
    pub id: DbUuid,
    pub ticket_id: DbUuid,
    /// Lower-case hex SHA-256 of the token; the token itself is never stored.
    pub token_hash: String,
    /// The ticket's owner, team, category and channel when it was resolved.
    pub agent_id: Option<DbUuid>,
    pub team_id: Option<DbUuid>,
    pub category_id: Option<DbUuid>,
    pub channel: String,
    pub created_at: DbTime,
    pub expires_at: DbTime,
    pub answered_at: Option<DbTime>,
    pub rating: Option<i32>,
    pub comment: Option<String>,
    /// `domain::service::surveys::SurveyFollowUp`.
    pub follow_up: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &SurveyRow) -> Result<(), PersistenceError> {
    diesel::insert_into(ticket_surveys::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The survey whose token hashes to `token_hash`.
pub fn find_by_token(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<SurveyRow, PersistenceError> {
    ticket_surveys::table
        .filter(ticket_surveys::token_hash.eq(token_hash))
        .select(SurveyRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Writes the answer unless the survey was answered or expired by `now`; answers
/// whether it was written. The condition is in the `UPDATE`, so of two answers sent
/// at once exactly one is kept.
pub fn answer(
    conn: &mut DbConnection,
    id: Uuid,
    now: DateTime<Utc>,
    rating: i32,
    comment: Option<&str>,
) -> Result<bool, PersistenceError> {
    let written = diesel::update(
        ticket_surveys::table
            .filter(ticket_surveys::id.eq(DbUuid(id)))
            .filter(ticket_surveys::answered_at.is_null())
            .filter(ticket_surveys::expires_at.gt(DbTime(now))),
    )
    .set((
        ticket_surveys::answered_at.eq(DbTime(now)),
        ticket_surveys::rating.eq(rating),
        ticket_surveys::comment.eq(comment),
    ))
    .execute(conn)?;
    Ok(written > 0)
}

pub fn set_follow_up(
    conn: &mut DbConnection,
    id: Uuid,
    follow_up: &str,
) -> Result<(), PersistenceError> {
    diesel::update(ticket_surveys::table.find(DbUuid(id)))
        .set(ticket_surveys::follow_up.eq(follow_up))
        .execute(conn)?;
    Ok(())
}

/// Ends, at `now`, every survey of the ticket still open for an answer: a ticket
/// resolved again asks about the new resolution only.
pub fn expire_open(
    conn: &mut DbConnection,
    ticket: Uuid,
    now: DateTime<Utc>,
) -> Result<usize, PersistenceError> {
    Ok(diesel::update(
        ticket_surveys::table
            .filter(ticket_surveys::ticket_id.eq(DbUuid(ticket)))
            .filter(ticket_surveys::answered_at.is_null())
            .filter(ticket_surveys::expires_at.gt(DbTime(now))),
    )
    .set(ticket_surveys::expires_at.eq(DbTime(now)))
    .execute(conn)?)
}

/// The ticket's surveys, oldest first (one per resolution, so few).
pub fn of_ticket(
    conn: &mut DbConnection,
    ticket: Uuid,
) -> Result<Vec<SurveyRow>, PersistenceError> {
    Ok(ticket_surveys::table
        .filter(ticket_surveys::ticket_id.eq(DbUuid(ticket)))
        .order((ticket_surveys::created_at, ticket_surveys::id))
        .select(SurveyRow::as_select())
        .load(conn)?)
}

/// Empties the comments of the surveys of `tickets` (erasure); answers how many
/// surveys held one.
pub fn erase_comments(
    conn: &mut DbConnection,
    tickets: &[Uuid],
) -> Result<usize, PersistenceError> {
    let mut erased = 0;
    for chunk in tickets.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        erased += diesel::update(
            ticket_surveys::table
                .filter(ticket_surveys::ticket_id.eq_any(&chunk))
                .filter(ticket_surveys::comment.is_not_null()),
        )
        .set(ticket_surveys::comment.eq(None::<String>))
        .execute(conn)?;
    }
    Ok(erased)
}

/// What the CSAT figures of surveys are grouped by: a column copied at resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsatGroup {
    Agent,
    Team,
    Category,
}

impl CsatGroup {
    fn column(self) -> &'static str {
        match self {
            CsatGroup::Agent => "s.agent_id",
            CsatGroup::Team => "s.team_id",
            CsatGroup::Category => "s.category_id",
        }
    }
}

/// The counts of one group's surveys.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct CsatCell {
    /// The agent, team or category; `None` for surveys without one.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub group_id: Option<DbUuid>,
    #[diesel(sql_type = BigInt)]
    pub sent: i64,
    #[diesel(sql_type = BigInt)]
    pub answered: i64,
    #[diesel(sql_type = BigInt)]
    pub rating_sum: i64,
    /// Answers rated `satisfied` or more.
    #[diesel(sql_type = BigInt)]
    pub satisfied: i64,
}

/// The survey columns a service filter applies to: what the ticket was at resolution.
const SURVEY_COLUMNS: FilterColumns = FilterColumns {
    agent: "s.agent_id",
    team: "s.team_id",
    channel: "s.channel",
    category: "s.category_id",
};

/// Per group: the surveys sent in `[start, end)` that meet `filter` on tickets `scope`
/// may see, how many of them were answered, the sum of their ratings and how many were
/// rated at least `satisfied`. Groups without surveys are absent.
pub fn csat(
    conn: &mut DbConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    group: CsatGroup,
    satisfied: i32,
    filter: &ServiceFilter,
    scope: &Scope,
) -> Result<Vec<CsatCell>, PersistenceError> {
    let column = group.column();
    let sql = format!(
        "SELECT {column} AS group_id, COUNT(*) AS sent, COUNT(s.answered_at) AS answered, \
         CAST(COALESCE(SUM(s.rating), 0) AS BIGINT) AS rating_sum, \
         CAST(COALESCE(SUM(CASE WHEN s.rating >= ? THEN 1 ELSE 0 END), 0) AS BIGINT) AS satisfied \
         FROM ticket_surveys s JOIN tickets t ON t.id = s.ticket_id \
         WHERE s.created_at >= ? AND s.created_at < ?{filter}{visibility} \
         GROUP BY {column}",
        filter = filter.sql(&SURVEY_COLUMNS),
        visibility = visibility_sql(scope, "t", domain::partners::SharedKind::Ticket),
    );
    let query = diesel::sql_query(placeholders(conn, &sql))
        .into_boxed()
        .bind::<diesel::sql_types::Integer, _>(satisfied)
        .bind::<UtcTimestamp, _>(DbTime(start))
        .bind::<UtcTimestamp, _>(DbTime(end));
    Ok(bind_visibility(filter.bind(query), scope).load(conn)?)
}
