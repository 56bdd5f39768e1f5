//! Notes on a customer (C-5). Any user who may see and write the customer may add a
//! note; only the author or a user with `all` visibility may change or delete it.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use domain::authz::{Permission, Visibility};
use domain::customers::NoteKind;
use domain::validation::Violations;
use persistence::audit::{self, NewAuditEvent};
use persistence::notes::NoteRow;
use persistence::sql_types::{DbTime, DbUuid};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::plumbing::transaction;
use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::pagination::{invalid_cursor, Cursor};
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const MAX_BODY_CHARS: usize = 20_000;
const NOTE_ORDER: &str = "created_at:desc";

#[derive(Debug, Serialize, ToSchema)]
pub struct Note {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub kind: NoteKind,
    pub body: String,
    pub author_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Note {
    pub fn from_row(row: &NoteRow) -> ApiResult<Note> {
        Ok(Note {
            id: row.id.0,
            customer_id: row.customer_id.0,
            kind: NoteKind::parse(&row.kind)
                .ok_or_else(|| ApiError::Internal(format!("stored note kind {:?}", row.kind)))?,
            body: row.body.clone(),
            author_id: row.author_id.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        })
    }
}

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

fn validate(input: &NoteInput) -> ApiResult<String> {
    let body = input.body.trim().to_string();
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
    v.into_result().map_err(ApiError::Validation)?;
    Ok(body)
}

fn audit_note(
    conn: &mut persistence::db::DbConnection,
    actor: &persistence::audit::Actor,
    action: &str,
    note: &NoteRow,
) -> Result<(), ApiError> {
    // Recorded against the customer so that erasure finds and redacts it.
    audit::record(
        conn,
        actor,
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
    let text = validate(&body.0)?;
    let acting = principal.0.clone();
    let actor = principal.audit_actor();
    let now = DbTime(persistence::now());
    let row = NoteRow {
        id: DbUuid(Uuid::now_v7()),
        customer_id: DbUuid(customer),
        kind: body.0.kind.as_str().to_string(),
        body: text,
        author_id: Some(DbUuid(principal.id())),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let row = state
        .db(move |conn| {
            transaction(conn, |conn| {
                application::customers::visible(conn, &acting, customer)?;
                persistence::notes::insert(conn, &row)?;
                audit_note(conn, &actor, "customer.note.create", &row)?;
                Ok(row)
            })
        })
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
        .db(move |conn| {
            application::customers::visible(conn, &acting, customer)?;
            Ok(persistence::notes::list(conn, customer, before, limit)?)
        })
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

fn may_edit(principal: &Principal, note: &NoteRow) -> bool {
    principal.visibility == Visibility::All || note.author_id.map(|id| id.0) == Some(principal.id())
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
    let actor = principal.audit_actor();
    let row = state
        .db(move |conn| {
            transaction(conn, |conn| {
                application::customers::visible(conn, &acting, customer)?;
                let current = persistence::notes::find(conn, customer, note_id)?;
                if !may_edit(&principal, &current) {
                    return Err(ApiError::Forbidden);
                }
                if_match.check(note_id, current.version)?;
                let before = NoteInput {
                    kind: NoteKind::parse(&current.kind).unwrap_or(NoteKind::General),
                    body: current.body.clone(),
                };
                let after: NoteInput = patch.apply(&before)?;
                let text = validate(&after)?;
                let mut row = current.clone();
                row.kind = after.kind.as_str().to_string();
                row.body = text;
                let row = persistence::notes::update(conn, &row)?;
                audit_note(conn, &actor, "customer.note.update", &row)?;
                Ok(row)
            })
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
    let actor = principal.audit_actor();
    state
        .db(move |conn| {
            transaction(conn, |conn| {
                application::customers::visible(conn, &acting, customer)?;
                let current = persistence::notes::find(conn, customer, note_id)?;
                if !may_edit(&principal, &current) {
                    return Err(ApiError::Forbidden);
                }
                if_match.check(note_id, current.version)?;
                persistence::notes::delete(conn, customer, note_id)?;
                audit_note(conn, &actor, "customer.note.delete", &current)?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
