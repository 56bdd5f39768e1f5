//! Ticket attachments (V-1): files added to a ticket's conversation, seen by whoever
//! may see the ticket. The bytes are a stored file in the database (so every server
//! process serves the same files, and a ticket's deletion or a customer's erasure
//! removes them in its own transaction); the attachment row says whose ticket and
//! which message they belong to.
//!
//! The size limit is the server's (the request is refused while it streams in, before
//! anything is stored); the content type and the ticket's count are checked here.

use domain::authz::Permission;
use domain::service::attachments;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::files::{NewFile, StoredFile};
use persistence::sql_types::{DbTime, DbUuid};
use persistence::ticket_attachments::{AttachmentRow, PURPOSE};
use uuid::Uuid;

use super::tickets::visible;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::transaction;

/// A file received for a ticket.
pub struct Upload {
    pub file_name: String,
    /// As declared by the client; compared with the bytes.
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// The message of the ticket's conversation the file came with.
    pub message_id: Option<Uuid>,
}

/// Attaches `upload` to a ticket the caller sees (`records:write`). Problems: 422 on
/// `file` for an empty file, a type not allowed, bytes that are not the declared type,
/// or a ticket holding [`attachments::MAX_PER_TICKET`] files already; on `message_id`
/// for a message of another ticket; 409 for a ticket merged into another.
pub fn attach(
    conn: &mut DbConnection,
    acting: &Acting,
    ticket: Uuid,
    upload: Upload,
) -> AppResult<AttachmentRow> {
    acting.require(Permission::RecordsWrite)?;
    let content_type = attachments::normalized(&upload.content_type);
    attachments::check(&content_type, &upload.bytes)
        .map_err(|violation| AppError::Invalid(vec![violation]))?;
    transaction(conn, |conn| {
        visible(conn, acting, ticket)?;
        // Held until the end, so that two uploads at once cannot pass the count together.
        let row = persistence::tickets::find_for_update(conn, ticket)?;
        if let Some(into) = row.merged_into_id {
            return Err(AppError::Conflict(format!(
                "the ticket was merged into ticket {}; attach the file there",
                into.0
            )));
        }
        if persistence::ticket_attachments::count(conn, ticket)? >= attachments::MAX_PER_TICKET {
            return Err(AppError::field(
                "file",
                "too_many",
                format!(
                    "a ticket holds at most {} attachments",
                    attachments::MAX_PER_TICKET
                ),
            ));
        }
        if let Some(message) = upload.message_id {
            if !persistence::tickets::has_message(conn, ticket, message)? {
                return Err(AppError::field(
                    "message_id",
                    "not_found",
                    "no message of this ticket has this id",
                ));
            }
        }
        let file = persistence::files::store(
            conn,
            NewFile {
                purpose: PURPOSE,
                file_name: &upload.file_name,
                content_type: &content_type,
                created_by: acting.user_id,
            },
            &upload.bytes,
        )?;
        let attachment = AttachmentRow {
            id: DbUuid(Uuid::now_v7()),
            ticket_id: DbUuid(ticket),
            message_id: upload.message_id.map(DbUuid),
            file_id: file.id,
            file_name: file.file_name,
            content_type,
            size_bytes: file.size_bytes,
            uploaded_by: acting.user_id.map(DbUuid),
            created_at: DbTime(persistence::now()),
        };
        persistence::ticket_attachments::insert(conn, &attachment)?;
        // The file name may name the customer: the trail keeps what kind of file, not
        // its name.
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "ticket.attachment.add",
            "ticket",
            ticket,
            &serde_json::json!({}),
            &serde_json::json!({
                "attachment_id": attachment.id.0,
                "content_type": attachment.content_type,
                "size_bytes": attachment.size_bytes,
            }),
        )?;
        Ok(attachment)
    })
}

/// The attachments of a ticket the caller sees (`records:read`), oldest first.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    ticket: Uuid,
) -> AppResult<Vec<AttachmentRow>> {
    acting.require(Permission::RecordsRead)?;
    visible(conn, acting, ticket)?;
    Ok(persistence::ticket_attachments::of_tickets(
        conn,
        &[ticket],
    )?)
}

/// An attachment of a ticket the caller sees (`records:read`) with its stored file.
pub fn get(
    conn: &mut DbConnection,
    acting: &Acting,
    ticket: Uuid,
    id: Uuid,
) -> AppResult<(AttachmentRow, StoredFile)> {
    acting.require(Permission::RecordsRead)?;
    visible(conn, acting, ticket)?;
    let attachment = persistence::ticket_attachments::find(conn, ticket, id)?;
    let file = persistence::files::find(conn, attachment.file_id.0)?;
    Ok((attachment, file))
}

/// Deletes an attachment of a ticket the caller sees, with its bytes: `records:delete`,
/// or `records:write` for the user who uploaded it.
pub fn delete(conn: &mut DbConnection, acting: &Acting, ticket: Uuid, id: Uuid) -> AppResult<()> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        visible(conn, acting, ticket)?;
        let attachment = persistence::ticket_attachments::find(conn, ticket, id)?;
        let uploader = attachment.uploaded_by.map(|user| user.0);
        if !acting.can(Permission::RecordsDelete)
            && (uploader.is_none() || uploader != acting.user_id)
        {
            return Err(AppError::Forbidden);
        }
        // The attachment row goes with its file (the foreign key cascades).
        persistence::files::delete(conn, attachment.file_id.0)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "ticket.attachment.delete",
            "ticket",
            ticket,
            &serde_json::json!({
                "attachment_id": attachment.id.0,
                "content_type": attachment.content_type,
                "size_bytes": attachment.size_bytes,
            }),
            &serde_json::json!({}),
        )?;
        Ok(())
    })
}
