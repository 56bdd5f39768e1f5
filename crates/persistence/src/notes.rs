//! Notes on customers (C-5), kept with the customer whoever owns it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::notes;
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = notes)]
pub struct NoteRow {
    pub id: DbUuid,
    pub customer_id: DbUuid,
    pub kind: String,
    pub body: String,
    pub author_id: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

pub fn insert(conn: &mut DbConnection, row: &NoteRow) -> Result<(), PersistenceError> {
    diesel::insert_into(notes::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn insert_many(conn: &mut DbConnection, rows: &[NoteRow]) -> Result<(), PersistenceError> {
    for chunk in rows.chunks(2_000) {
        crate::insert_batch!(conn, notes::table, chunk)?;
    }
    Ok(())
}

/// The note `id` of customer `customer`.
/// A note by its id alone, whoever's it is (the caller checks the customer).
pub fn find_by_id(conn: &mut DbConnection, id: Uuid) -> Result<NoteRow, PersistenceError> {
    notes::table
        .find(DbUuid(id))
        .select(NoteRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

pub fn find(
    conn: &mut DbConnection,
    customer: Uuid,
    id: Uuid,
) -> Result<NoteRow, PersistenceError> {
    notes::table
        .find(DbUuid(id))
        .filter(notes::customer_id.eq(DbUuid(customer)))
        .select(NoteRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// A customer's notes, newest first, before `before`; `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    customer: Uuid,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<NoteRow>, PersistenceError> {
    let mut select = notes::table
        .filter(notes::customer_id.eq(DbUuid(customer)))
        .select(NoteRow::as_select())
        .into_boxed();
    if let Some((created_at, id)) = before {
        select = select.filter(
            notes::created_at
                .lt(DbTime(created_at))
                .or(notes::created_at
                    .eq(DbTime(created_at))
                    .and(notes::id.lt(DbUuid(id)))),
        );
    }
    Ok(select
        .order((notes::created_at.desc(), notes::id.desc()))
        .limit(limit + 1)
        .load(conn)?)
}

/// Every note of a customer (personal-data export, merge), oldest first.
pub fn all_of(conn: &mut DbConnection, customer: Uuid) -> Result<Vec<NoteRow>, PersistenceError> {
    Ok(notes::table
        .filter(notes::customer_id.eq(DbUuid(customer)))
        .order((notes::created_at, notes::id))
        .select(NoteRow::as_select())
        .load(conn)?)
}

pub fn update(conn: &mut DbConnection, row: &NoteRow) -> Result<NoteRow, PersistenceError> {
    let updated = diesel::update(
        notes::table
            .filter(notes::id.eq(row.id))
            .filter(notes::version.eq(row.version)),
    )
    .set((
        notes::kind.eq(&row.kind),
        notes::body.eq(&row.body),
        notes::updated_at.eq(DbTime(crate::now())),
        notes::version.eq(row.version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        find(conn, row.customer_id.0, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    find(conn, row.customer_id.0, row.id.0)
}

pub fn delete(conn: &mut DbConnection, customer: Uuid, id: Uuid) -> Result<(), PersistenceError> {
    find(conn, customer, id)?;
    diesel::delete(notes::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// Re-parents notes `ids` to customer `to` (merge and its undo).
pub fn move_to(conn: &mut DbConnection, ids: &[Uuid], to: Uuid) -> Result<(), PersistenceError> {
    let ids: Vec<DbUuid> = ids.iter().copied().map(DbUuid).collect();
    diesel::update(notes::table.filter(notes::id.eq_any(ids)))
        .set(notes::customer_id.eq(DbUuid(to)))
        .execute(conn)?;
    Ok(())
}

/// Erasure: note bodies are personal data; the notes stay (counts, authorship) with
/// their text removed.
pub fn redact_all(
    conn: &mut DbConnection,
    customer: Uuid,
    replacement: &str,
) -> Result<usize, PersistenceError> {
    Ok(
        diesel::update(notes::table.filter(notes::customer_id.eq(DbUuid(customer))))
            .set((
                notes::body.eq(replacement),
                notes::updated_at.eq(DbTime(crate::now())),
            ))
            .execute(conn)?,
    )
}
