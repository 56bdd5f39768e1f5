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

/// List a customer's notes, newest first. Notes stay with the customer when its owner
/// changes.
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

/// Change a note (JSON Merge Patch; author or `all` visibility only).
#[utoipa::path(
    tag = "customers",
    operation_id = "update_note",
    params(
        ("id" = Uuid, Path, description = "Customer id"),
        ("note_id" = Uuid, Path, description = "Note id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on")
    ),
    request_body(content = NoteInput, content_type = "application/merge-patch+json"),
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

/// Delete a note (author or `all` visibility only).
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
