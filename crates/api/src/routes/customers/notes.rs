//! Notes on a customer (C-5). Any user who may see and write the customer may add a
//! note; only the author or a user with `all` visibility may change or delete it.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::customers::notes;
pub use application::customers::notes::NoteInput;
use chrono::{DateTime, SecondsFormat, Utc};
use domain::authz::Permission;
use serde_json::Value;
use uuid::Uuid;

use super::model::Note;
use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::pagination::{invalid_cursor, Cursor};
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::ApiResult;
use crate::state::AppState;

const NOTE_ORDER: &str = "created_at:desc";

/// Add a note to a customer.
///
/// A note records what the team learnt: a call summary, a complaint, a communication
/// preference. The caller becomes its author.
///
/// Needs `records:write`; the customer must be within the caller's record visibility (404
/// `not_found` otherwise, exactly as for a missing one). Audited as `customer.note.create`;
/// safe to retry with an `Idempotency-Key`. Problems: 422 `validation_failed` when `body`
/// is empty (`required`) or longer than 20,000 characters (`too_long`).
#[utoipa::path(
    tag = "customers",
    operation_id = "create_note",
    params(("id" = Uuid, Path, description = "Customer id")),
    request_body = NoteInput,
    responses((status = 201, description = "Created", body = Note, headers(("Location" = String), ("ETag" = String))))
)]
#[post("/api/v1/customers/{id}/notes")]
pub async fn create_note(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<NoteInput>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsWrite)?;
    let customer = id.into_inner();
    let acting = principal.0.clone();
    let input = body.0;
    let row = state
        .db(move |conn| Ok(notes::create(conn, &acting, customer, &input)?))
        .await?;
    let location = format!("/api/v1/customers/{customer}/notes/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &Note::from_row(&row)?,
    ))
}

/// List a customer's notes.
///
/// Newest first, one page at a time. Notes stay with the customer when its owner changes.
///
/// Needs `records:read`; the customer must be within the caller's record visibility (404
/// `not_found` otherwise, exactly as for a missing one). Problems: 400 `invalid_cursor` for
/// a cursor that was altered or came from another listing.
#[utoipa::path(
    tag = "customers",
    operation_id = "list_notes",
    params(("id" = Uuid, Path, description = "Customer id"), PageParams),
    responses((status = 200, description = "One page of notes", body = Page<Note>))
)]
#[get("/api/v1/customers/{id}/notes")]
pub async fn list_notes(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsRead)?;
    let customer = id.into_inner();
    let acting = principal.0.clone();
    let before = match page.keyset(NOTE_ORDER)? {
        None => None,
        Some(keyset) => match keyset.values.as_slice() {
            [Value::String(time)] => Some((
                DateTime::parse_from_rfc3339(time)
                    .map_err(|_| invalid_cursor())?
                    .with_timezone(&Utc),
                keyset.id,
            )),
            _ => return Err(invalid_cursor()),
        },
    };
    let limit = page.limit as i64;
    let rows = state
        .db(move |conn| Ok(notes::list(conn, &acting, customer, before, limit)?))
        .await?;
    let page = Page::from_rows(
        rows,
        page.limit,
        |row| {
            Cursor::new(
                NOTE_ORDER,
                vec![Value::from(
                    row.created_at
                        .0
                        .to_rfc3339_opts(SecondsFormat::Micros, true),
                )],
                row.id.0,
            )
        },
        |row| Note::from_row(&row),
    );
    Ok(HttpResponse::Ok().json(page.collect_results()?))
}

/// Change a note (JSON Merge Patch).
///
/// Changes the `kind` or `body` of a note. Only its author, or a caller with `all`
/// visibility, may change it (403 `forbidden` otherwise).
///
/// Needs `records:write`; the customer must be within the caller's record visibility (404
/// `not_found` otherwise, exactly as for a missing one). Honours `If-Match` (412
/// `precondition_failed` when stale). Audited as `customer.note.update`. Problems: 404
/// `not_found` when the note does not belong to this customer; 422 `validation_failed` as
/// for creation.
#[utoipa::path(
    tag = "customers",
    operation_id = "update_note",
    params(
        ("id" = Uuid, Path, description = "Customer id"),
        ("note_id" = Uuid, Path, description = "Note id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on")
    ),
    request_body(
        content = NoteInput,
        content_type = "application/merge-patch+json",
        example = json!({"body": "ترجیح می‌دهد فقط پیامک دریافت کند؛ تماس تلفنی فقط بعد از ساعت ۱۶."})
    ),
    responses((status = 200, description = "The changed note", body = Note, headers(("ETag" = String))))
)]
#[patch("/api/v1/customers/{id}/notes/{note_id}")]
pub async fn update_note(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsWrite)?;
    let (customer, note_id) = path.into_inner();
    let acting = principal.0.clone();
    let precondition = if_match.precondition();
    let row = state
        .db(move |conn| {
            Ok(notes::update(
                conn,
                &acting,
                customer,
                note_id,
                &precondition,
                |before| patch.apply(before),
            )?)
        })
        .await?;
    Ok(etag::single(
        &req,
        row.id.0,
        row.version,
        &Note::from_row(&row)?,
    ))
}

/// Delete a note.
///
/// Only its author, or a caller with `all` visibility, may delete it (403 `forbidden`
/// otherwise).
///
/// Needs `records:write`; the customer must be within the caller's record visibility (404
/// `not_found` otherwise, exactly as for a missing one). Honours `If-Match` (412
/// `precondition_failed` when stale). Audited as `customer.note.delete`. Problems: 404
/// `not_found` when the note does not belong to this customer.
#[utoipa::path(
    tag = "customers",
    operation_id = "delete_note",
    params(
        ("id" = Uuid, Path, description = "Customer id"),
        ("note_id" = Uuid, Path, description = "Note id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/customers/{id}/notes/{note_id}")]
pub async fn delete_note(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsWrite)?;
    let (customer, note_id) = path.into_inner();
    let acting = principal.0.clone();
    let precondition = if_match.precondition();
    state
        .db(move |conn| {
            Ok(notes::delete(
                conn,
                &acting,
                customer,
                note_id,
                &precondition,
            )?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
