//! Custom fields of customers, products, leads and deals: admins (`crm:configure`)
//! define a key, a label, a type and the entity the field belongs to; each entity's
//! writes are validated against its definitions and searches can filter on
//! `custom.<key>`. Key and type are fixed after creation, since stored values depend on
//! them.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::administration::custom_fields::{self, CustomFieldChanges, NewCustomField};
use chrono::{DateTime, Utc};
use domain::customers::{CustomFieldEntity, CustomFieldKind};
use persistence::custom_fields::CustomFieldRow;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::pagination::creation_cursor;
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_custom_field,
        list_custom_fields,
        get_custom_field,
        update_custom_field,
        delete_custom_field
    ),
    components(schemas(
        CustomField,
        CreateCustomFieldRequest,
        CustomFieldPatch,
        CustomFieldKind,
        CustomFieldEntity
    ))
)]
pub struct CustomFieldsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_custom_field)
        .service(list_custom_fields)
        .service(get_custom_field)
        .service(update_custom_field)
        .service(delete_custom_field);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomField {
    pub id: Uuid,
    /// Name in `custom_fields` and in filters as `custom.<key>`.
    pub key: String,
    pub label: String,
    pub kind: CustomFieldKind,
    /// Allowed values of a `select` field.
    pub options: Vec<String>,
    pub required: bool,
    /// What the field belongs to.
    pub entity: CustomFieldEntity,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CustomField {
    fn from_row(row: &CustomFieldRow) -> ApiResult<CustomField> {
        let definition = row.definition()?;
        Ok(CustomField {
            id: row.id.0,
            key: definition.key,
            label: row.label.clone(),
            kind: definition.kind,
            options: definition.options,
            required: definition.required,
            entity: CustomFieldEntity::parse(&row.entity).ok_or_else(|| {
                crate::error::ApiError::Internal(format!("custom field entity `{}`", row.entity))
            })?,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"key": "preferred_contact_time", "label": "زمان مناسب تماس", "kind": "select", "options": ["صبح", "عصر"], "required": false}))]
pub struct CreateCustomFieldRequest {
    /// `[a-z][a-z0-9_]*`, at most 40 characters; fixed after creation.
    pub key: String,
    pub label: String,
    /// Fixed after creation.
    pub kind: CustomFieldKind,
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub required: bool,
    /// `customer` (the default, as before other records had custom fields), `product`,
    /// `lead` or `deal`; fixed after creation.
    #[serde(default)]
    pub entity: CustomFieldEntity,
}

/// The fields `PATCH` can change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldPatch {
    pub label: String,
    pub options: Vec<String>,
    pub required: bool,
}

impl From<&CustomFieldChanges> for CustomFieldPatch {
    fn from(changes: &CustomFieldChanges) -> CustomFieldPatch {
        CustomFieldPatch {
            label: changes.label.clone(),
            options: changes.options.clone(),
            required: changes.required,
        }
    }
}

impl From<CustomFieldPatch> for CustomFieldChanges {
    fn from(patch: CustomFieldPatch) -> CustomFieldChanges {
        CustomFieldChanges {
            label: patch.label,
            options: patch.options,
            required: patch.required,
        }
    }
}

/// Define a custom field.
///
/// Adds a field every customer can then carry in `custom_fields` under its `key`, and that
/// searches and exports name `custom.<key>`: `text`, `integer`, `boolean`, `date`
/// (`YYYY-MM-DD`) or `select` (one of `options`). A `required` field must be given on every
/// customer written afterwards. The `key` and `kind` are fixed once created.
///
/// `entity` says what the field belongs to: `customer` (the default), `product`, `lead` or
/// `deal`; products, leads and deals carry their entity's fields in their own
/// `custom_fields`, and each entity's writes, imports, searches and exports use only its
/// own fields. A key is unique within its entity; a lead field whose key is also a
/// customer field of the same kind is carried over to the customer when the lead is
/// converted.
///
/// Needs `crm:configure` (admins and managers). Audited as `custom_field.create`; safe to
/// retry with an `Idempotency-Key`.
///
/// Problems: 409 `conflict` when the entity has a field with the key; 422 `validation_failed` for a `key` not
/// matching `[a-z][a-z0-9_]*` or longer than 40 characters (`invalid_format`), a `label`
/// not 1 to 100 characters, or `options` that are missing on a `select` field (1 to 100,
/// distinct, not empty) or given on another kind (`not_allowed_for_kind`).
#[utoipa::path(
    tag = "custom_fields",
    operation_id = "create_custom_field",
    request_body = CreateCustomFieldRequest,
    responses(
        (status = 201, description = "Created", body = CustomField, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "The key is taken", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/custom-fields")]
pub async fn create_custom_field(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<CreateCustomFieldRequest>,
) -> ApiResult<HttpResponse> {
    let request = body.0;
    let new = NewCustomField {
        key: request.key,
        label: request.label,
        kind: request.kind,
        options: request.options,
        required: request.required,
        entity: request.entity,
    };
    let row = state
        .db(move |conn| Ok(custom_fields::create(conn, &principal, new)?))
        .await?;
    let location = format!("/api/v1/custom-fields/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &CustomField::from_row(&row)?,
    ))
}

/// List custom fields.
///
/// Every custom field definition in creation order, one page at a time, for a client to
/// render and validate the customer form. Needs `records:read`.
#[utoipa::path(
    tag = "custom_fields",
    operation_id = "list_custom_fields",
    params(PageParams),
    responses((status = 200, description = "One page", body = Page<CustomField>))
)]
#[get("/api/v1/custom-fields")]
pub async fn list_custom_fields(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let rows = state
        .db(move |conn| {
            Ok(custom_fields::list(
                conn,
                &principal,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let page = Page::from_rows(
        rows,
        page.limit,
        |row| creation_cursor(row.created_at.0, row.id.0),
        |row| CustomField::from_row(&row),
    );
    Ok(HttpResponse::Ok().json(page.collect_results()?))
}

/// Get a custom field.
///
/// Needs `records:read`. Answers with an `ETag` for a later `If-Match`; 404 `not_found`
/// when no custom field has this id.
#[utoipa::path(
    tag = "custom_fields",
    operation_id = "get_custom_field",
    params(("id" = Uuid, Path, description = "Custom field id")),
    responses((status = 200, description = "Found", body = CustomField, headers(("ETag" = String))))
)]
#[get("/api/v1/custom-fields/{id}")]
pub async fn get_custom_field(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let row = state
        .db(move |conn| Ok(custom_fields::get(conn, &principal, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &CustomField::from_row(&row)?,
    ))
}

/// Change a custom field (JSON Merge Patch).
///
/// Changes the `label`, the `options` of a `select` field or the `required` flag; `key` and
/// `kind` cannot change. Values customers already hold are kept as they are.
///
/// Needs `crm:configure` (admins and managers). Honours `If-Match` (412
/// `precondition_failed` when stale). Audited as `custom_field.update`. Problems: 422
/// `validation_failed` for the label and option rules of creation, or a member other than
/// `label`, `options` and `required` (`unknown_field`).
#[utoipa::path(
    tag = "custom_fields",
    operation_id = "update_custom_field",
    params(("id" = Uuid, Path, description = "Custom field id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(
        content = CustomFieldPatch,
        content_type = "application/merge-patch+json",
        example = json!({"label": "زمان ترجیحی تماس", "options": ["صبح", "ظهر", "عصر"]})
    ),
    responses((status = 200, description = "Changed", body = CustomField, headers(("ETag" = String))))
)]
#[patch("/api/v1/custom-fields/{id}")]
pub async fn update_custom_field(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let precondition = if_match.precondition();
    let row = state
        .db(move |conn| {
            Ok(custom_fields::update(
                conn,
                &principal,
                id,
                &precondition,
                |before| {
                    let after: CustomFieldPatch = patch.apply(&CustomFieldPatch::from(before))?;
                    Ok(after.into())
                },
            )?)
        })
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &CustomField::from_row(&row)?,
    ))
}

/// Delete a custom field.
///
/// Only a field no record of its entity (customer, product, lead or deal) has a value for
/// can go: clear the values first.
///
/// Needs `crm:configure` (admins and managers). Honours `If-Match` (412
/// `precondition_failed` when stale). Audited as `custom_field.delete`. Problems: 409
/// `conflict` while records of its entity have values for it.
#[utoipa::path(
    tag = "custom_fields",
    operation_id = "delete_custom_field",
    params(("id" = Uuid, Path, description = "Custom field id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "Customers have values for it", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[delete("/api/v1/custom-fields/{id}")]
pub async fn delete_custom_field(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(custom_fields::delete(conn, &principal, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
