//! Notes on a customer (C-5). Any user who may see and write the customer may add a
//! note; only the author or a user with `all` visibility may change or delete it. Note
//! events are audited against the customer, so that an erasure finds and redacts them.

use chrono::{DateTime, Utc};
use domain::authz::Visibility;
use domain::customers::NoteKind;
use domain::validation::Violations;
use persistence::audit::{self, NewAuditEvent};
use persistence::db::DbConnection;
use persistence::notes::NoteRow;
use persistence::sql_types::{DbTime, DbUuid};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::visible;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::precondition::Precondition;

/// Longest note, in characters.
pub const MAX_BODY_CHARS: usize = 20_000;

/// What a caller writes: the note's kind and text.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "communication_preference", "body": "ترجیح می‌دهد فقط پیامک دریافت کند، نه تماس تلفنی."}))]
pub struct NoteInput {
    #[serde(default = "general")]
    pub kind: NoteKind,
    /// At most 20,000 characters.
    pub body: String,
}

fn general() -> NoteKind {
    NoteKind::General
}

impl NoteInput {
    fn of(row: &NoteRow) -> NoteInput {
        NoteInput {
            kind: NoteKind::parse(&row.kind).unwrap_or(NoteKind::General),
            body: row.body.clone(),
        }
    }

    /// The trimmed text, if it is neither empty nor too long.
    fn checked_body(&self) -> AppResult<String> {
        let body = self.body.trim().to_string();
        let mut v = Violations::default();
        if body.is_empty() {
            v.push("body", "required", "must not be empty");
        } else if body.chars().count() > MAX_BODY_CHARS {
            v.push(
                "body",
                "too_long",
                format!("must be at most {MAX_BODY_CHARS} characters"),
            );
        }
        v.into_result().map_err(AppError::Invalid)?;
        Ok(body)
    }
}

fn audit_note(
    conn: &mut DbConnection,
    acting: &Acting,
    action: &str,
    note: &NoteRow,
) -> AppResult<()> {
    audit::record(
        conn,
        &acting.audit_actor(),
        NewAuditEvent {
            action,
            resource_type: "customer",
            resource_id: Some(note.customer_id.0.to_string()),
            changes: Some(
                serde_json::json!({"note_id": note.id.0, "kind": note.kind, "body": note.body}),
            ),
        },
    )?;
    Ok(())
}

/// Adds a note to a customer the caller may see.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
    input: &NoteInput,
) -> AppResult<NoteRow> {
    let body = input.checked_body()?;
    let now = DbTime(persistence::now());
    let row = NoteRow {
        id: DbUuid(Uuid::now_v7()),
        customer_id: DbUuid(customer),
        kind: input.kind.as_str().to_string(),
        body,
        author_id: acting.user_id.map(DbUuid),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    crate::transaction(conn, |conn| {
        visible(conn, acting, customer)?;
        persistence::notes::insert(conn, &row)?;
        audit_note(conn, acting, "customer.note.create", &row)?;
        Ok(row)
    })
}

/// A page of a customer's notes, newest first, after the note created at `before.0`
/// with id `before.1`.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> AppResult<Vec<NoteRow>> {
    visible(conn, acting, customer)?;
    Ok(persistence::notes::list(conn, customer, before, limit)?)
}

/// The author and callers with `all` visibility may change or delete a note.
fn may_edit(acting: &Acting, note: &NoteRow) -> bool {
    acting.visibility == Visibility::All || note.author_id.map(|id| id.0) == acting.user_id
}

/// The note `note_id` of a visible customer, if the caller may change it.
fn editable(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
    note_id: Uuid,
    precondition: &Precondition,
) -> AppResult<NoteRow> {
    visible(conn, acting, customer)?;
    let current = persistence::notes::find(conn, customer, note_id)?;
    if !may_edit(acting, &current) {
        return Err(AppError::Forbidden);
    }
    precondition.check(note_id, current.version)?;
    Ok(current)
}

/// Changes a note: `edit` turns its current kind and text into the new ones.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
    note_id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&NoteInput) -> AppResult<NoteInput>,
) -> AppResult<NoteRow> {
    crate::transaction(conn, |conn| {
        let current = editable(conn, acting, customer, note_id, precondition)?;
        let after = edit(&NoteInput::of(&current))?;
        let mut row = current.clone();
        row.body = after.checked_body()?;
        row.kind = after.kind.as_str().to_string();
        let row = persistence::notes::update(conn, &row)?;
        audit_note(conn, acting, "customer.note.update", &row)?;
        Ok(row)
    })
}

/// Deletes a note.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
    note_id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    crate::transaction(conn, |conn| {
        let current = editable(conn, acting, customer, note_id, precondition)?;
        persistence::notes::delete(conn, customer, note_id)?;
        audit_note(conn, acting, "customer.note.delete", &current)
    })
}
