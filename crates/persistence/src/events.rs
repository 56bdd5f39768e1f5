//! The event outbox: what happened to a record (`segment.entered`, `segment.left`, …),
//! appended in the transaction of the change it reports, so an event exists exactly
//! when its change was committed. Readers (outgoing webhooks, workflow triggers, a
//! change feed) follow `seq` from a cursor of their own.
//!
//! A cursor is only safe when no event can commit with a `seq` below one a reader has
//! already seen. SQLite serialises writers, so its `seq` commits in order; on
//! PostgreSQL an identity value is taken at insert time and transactions commit in any
//! order, so every writer first takes one transaction-scoped advisory lock
//! ([`OUTBOX_LOCK`]): appends take turns, each holding the lock until its commit.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::events;
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::PersistenceError;

/// The advisory lock key appends of events take turns under (PostgreSQL).
const OUTBOX_LOCK: &str = "events.outbox";

/// Rows per `INSERT`, well below SQLite's bound-parameter limit.
const CHUNK: usize = 500;
/// Events from which an append is a bulk load.
const BULK: usize = 100;

/// An event as it is appended.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = events, treat_none_as_default_value = false)]
pub struct NewEvent {
    pub id: DbUuid,
    pub event_type: String,
    pub subject_kind: String,
    pub subject_id: DbUuid,
    pub payload: DbJson,
    pub occurred_at: DbTime,
}

impl NewEvent {
    pub fn new(
        event_type: &str,
        subject_kind: &str,
        subject_id: Uuid,
        payload: serde_json::Value,
        occurred_at: DateTime<Utc>,
    ) -> NewEvent {
        NewEvent {
            id: DbUuid(Uuid::now_v7()),
            event_type: event_type.to_string(),
            subject_kind: subject_kind.to_string(),
            subject_id: DbUuid(subject_id),
            payload: DbJson(payload),
            occurred_at: DbTime(occurred_at),
        }
    }
}

/// A stored event with its place in the outbox.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub seq: i64,
    pub id: DbUuid,
    pub event_type: String,
    pub subject_kind: String,
    pub subject_id: DbUuid,
    pub payload: DbJson,
    pub occurred_at: DbTime,
}

/// Appends `events` in order; call it inside the transaction of the change they report.
pub fn append(conn: &mut DbConnection, events: &[NewEvent]) -> Result<(), PersistenceError> {
    if events.is_empty() {
        return Ok(());
    }
    crate::transaction::advisory_lock(conn, OUTBOX_LOCK)?;
    for chunk in events.chunks(CHUNK) {
        // `COPY` pays for its extra round trips on a bulk append (a segment refresh, an
        // import); the usual handful of events is one `INSERT`.
        if chunk.len() >= BULK {
            crate::copy_rows!(conn, events::table, chunk)?;
        } else {
            crate::insert_batch!(conn, events::table, chunk)?;
        }
    }
    Ok(())
}

/// Events after `cursor` (a `seq`), oldest first, at most `limit`.
pub fn after(
    conn: &mut DbConnection,
    cursor: i64,
    limit: i64,
) -> Result<Vec<EventRow>, PersistenceError> {
    Ok(events::table
        .filter(events::seq.gt(cursor))
        .order(events::seq)
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)?)
}

/// Events about one subject, oldest first (the personal-data export).
pub fn of_subject(
    conn: &mut DbConnection,
    subject_kind: &str,
    subject_id: Uuid,
) -> Result<Vec<EventRow>, PersistenceError> {
    Ok(events::table
        .filter(events::subject_kind.eq(subject_kind))
        .filter(events::subject_id.eq(DbUuid(subject_id)))
        .order(events::seq)
        .select(EventRow::as_select())
        .load(conn)?)
}

/// Deletes the events about one subject (erasure); answers how many there were.
pub fn delete_of_subject(
    conn: &mut DbConnection,
    subject_kind: &str,
    subject_id: Uuid,
) -> Result<usize, PersistenceError> {
    Ok(diesel::delete(
        events::table
            .filter(events::subject_kind.eq(subject_kind))
            .filter(events::subject_id.eq(DbUuid(subject_id))),
    )
    .execute(conn)?)
}
