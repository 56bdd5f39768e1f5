//! Files attached to tickets (V-1): one row per attachment naming its ticket, the
//! message it came with, and the stored file holding its bytes (`crate::files`, purpose
//! [`PURPOSE`]). Deleting the stored file deletes the row (the foreign key cascades);
//! deleting the ticket must delete the stored files, which [`file_ids_of`] lists.

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::ticket_attachments;
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

/// `purpose` of the stored file of an attachment.
pub const PURPOSE: &str = "ticket_attachment";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ticket_attachments)]
pub struct AttachmentRow {
    pub id: DbUuid,
    pub ticket_id: DbUuid,
    pub message_id: Option<DbUuid>,
    pub file_id: DbUuid,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub uploaded_by: Option<DbUuid>,
    pub created_at: DbTime,
}

pub fn insert(conn: &mut DbConnection, row: &AttachmentRow) -> Result<(), PersistenceError> {
    diesel::insert_into(ticket_attachments::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Attachment `id` of ticket `ticket`.
pub fn find(
    conn: &mut DbConnection,
    ticket: Uuid,
    id: Uuid,
) -> Result<AttachmentRow, PersistenceError> {
    ticket_attachments::table
        .find(DbUuid(id))
        .filter(ticket_attachments::ticket_id.eq(DbUuid(ticket)))
        .select(AttachmentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// The attachments of `tickets`, oldest first (bounded by what a ticket may hold).
pub fn of_tickets(
    conn: &mut DbConnection,
    tickets: &[Uuid],
) -> Result<Vec<AttachmentRow>, PersistenceError> {
    let mut rows = Vec::new();
    for chunk in tickets.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        rows.extend(
            ticket_attachments::table
                .filter(ticket_attachments::ticket_id.eq_any(chunk))
                .order((ticket_attachments::created_at, ticket_attachments::id))
                .select(AttachmentRow::as_select())
                .load(conn)?,
        );
    }
    Ok(rows)
}

pub fn count(conn: &mut DbConnection, ticket: Uuid) -> Result<i64, PersistenceError> {
    Ok(ticket_attachments::table
        .filter(ticket_attachments::ticket_id.eq(DbUuid(ticket)))
        .count()
        .get_result(conn)?)
}

/// The stored files of the attachments of `tickets`.
pub fn file_ids_of(
    conn: &mut DbConnection,
    tickets: &[Uuid],
) -> Result<Vec<Uuid>, PersistenceError> {
    Ok(of_tickets(conn, tickets)?
        .into_iter()
        .map(|row| row.file_id.0)
        .collect())
}

/// Moves every attachment of `from` to `into` (a ticket merge); answers how many.
pub fn move_all(
    conn: &mut DbConnection,
    from: Uuid,
    into: Uuid,
) -> Result<usize, PersistenceError> {
    Ok(diesel::update(
        ticket_attachments::table.filter(ticket_attachments::ticket_id.eq(DbUuid(from))),
    )
    .set(ticket_attachments::ticket_id.eq(DbUuid(into)))
    .execute(conn)?)
}
