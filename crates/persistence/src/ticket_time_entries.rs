//! Time spent on tickets (V-1): one row per entry; the ticket keeps their sum in
//! `tickets.time_spent_minutes`, written in the same transaction as the entry.

use chrono::NaiveDate;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::{ticket_time_entries, tickets};
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ticket_time_entries)]
pub struct TimeEntryRow {
    pub id: DbUuid,
    pub ticket_id: DbUuid,
    pub user_id: Option<DbUuid>,
    pub minutes: i32,
    pub note: Option<String>,
    pub spent_on: NaiveDate,
    pub created_at: DbTime,
}

/// Records the entry and adds its minutes to the ticket's sum.
pub fn insert(conn: &mut DbConnection, row: &TimeEntryRow) -> Result<(), PersistenceError> {
    diesel::insert_into(ticket_time_entries::table)
        .values(row)
        .execute(conn)?;
    diesel::update(tickets::table.find(row.ticket_id))
        .set(tickets::time_spent_minutes.eq(tickets::time_spent_minutes + i64::from(row.minutes)))
        .execute(conn)?;
    Ok(())
}

/// The ticket's entries, oldest first (entries are few: one per sitting).
pub fn of_ticket(
    conn: &mut DbConnection,
    ticket: Uuid,
) -> Result<Vec<TimeEntryRow>, PersistenceError> {
    Ok(ticket_time_entries::table
        .filter(ticket_time_entries::ticket_id.eq(DbUuid(ticket)))
        .order((ticket_time_entries::created_at, ticket_time_entries::id))
        .select(TimeEntryRow::as_select())
        .load(conn)?)
}

/// Moves every entry of `from` to `into` (a ticket merge) with its minutes.
pub fn move_all(conn: &mut DbConnection, from: Uuid, into: Uuid) -> Result<(), PersistenceError> {
    diesel::update(
        ticket_time_entries::table.filter(ticket_time_entries::ticket_id.eq(DbUuid(from))),
    )
    .set(ticket_time_entries::ticket_id.eq(DbUuid(into)))
    .execute(conn)?;
    Ok(())
}

/// Empties the notes of the entries on `tickets` (erasure: a note may name the
/// customer); the minutes stay. Answers how many entries had one.
pub fn erase_notes(conn: &mut DbConnection, tickets: &[Uuid]) -> Result<usize, PersistenceError> {
    let mut erased = 0;
    for chunk in tickets.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        erased += diesel::update(
            ticket_time_entries::table
                .filter(ticket_time_entries::ticket_id.eq_any(chunk))
                .filter(ticket_time_entries::note.is_not_null()),
        )
        .set(ticket_time_entries::note.eq(None::<String>))
        .execute(conn)?;
    }
    Ok(erased)
}
