//! Organization personnel (C-2): people (customers of kind `person`) listed at an
//! organization with role and unit. A person may be listed at several organizations.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
pub use application::customers::personnel::PersonnelPatch;
use application::customers::personnel::{self, NewPersonnel};
use domain::authz::Permission;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::Personnel;
use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::{JsonBody, MergePatch};
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"person_id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb", "role": "مدیر خرید", "unit": "بازرگانی", "is_primary_contact": true}))]
pub struct AddPersonnelRequest {
    pub person_id: Uuid,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub is_primary_contact: bool,
}

/// List a person at an organization.
///
/// Links a customer of kind `person` to an organization customer, with their role and unit
/// there (e.g. «مدیر خرید», «واحد بازرگانی») and whether they are the primary contact.
///
/// Needs `records:write`; both customers must be within the caller's record visibility (404
/// for the organization, 422 `not_found` on `person_id` otherwise). Audited as
/// `customer.personnel.add`; safe to retry with an `Idempotency-Key`.
///
/// Problems: 409 `conflict` when the person is already listed there; 422
/// `validation_failed` when the path names a person (`not_an_organization`), `person_id` is
/// not a person (`not_a_person`), or `role` or `unit` is longer than 200 characters.
#[utoipa::path(
    tag = "customers",
    operation_id = "add_personnel",
    params(("id" = Uuid, Path, description = "Organization (customer) id")),
    request_body = AddPersonnelRequest,
    responses(
        (status = 201, description = "Created", body = Personnel, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "The person is already listed here", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/customers/{id}/personnel")]
pub async fn add_personnel(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<AddPersonnelRequest>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsWrite)?;
    let organization = id.into_inner();
    let request = body.0;
    let acting = principal.0.clone();
    let new = NewPersonnel {
        person_id: request.person_id,
        role: request.role,
        unit: request.unit,
        is_primary_contact: request.is_primary_contact,
    };
    let row = state
        .db(move |conn| Ok(personnel::add(conn, &acting, organization, new)?))
        .await?;
    let location = format!("/api/v1/customers/{organization}/personnel/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &Personnel::from(&row),
    ))
}

/// List personnel links.
///
/// For an organization the people listed there; for a person the organizations they are
/// listed at.
///
/// Needs `records:read`; the customer must be within the caller's record visibility (404
/// `not_found` otherwise, exactly as for a missing one).
#[utoipa::path(
    tag = "customers",
    operation_id = "list_personnel",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, description = "Personnel links", body = Vec<Personnel>))
)]
#[get("/api/v1/customers/{id}/personnel")]
pub async fn list_personnel(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsRead)?;
    let customer = id.into_inner();
    let acting = principal.0.clone();
    let rows = state
        .db(move |conn| Ok(personnel::list(conn, &acting, customer)?))
        .await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(Personnel::from).collect::<Vec<_>>()))
}

/// Change a personnel link (JSON Merge Patch).
///
/// Changes the role, unit or primary-contact flag of a person at an organization.
///
/// Needs `records:write`; the customer must be within the caller's record visibility (404
/// `not_found` otherwise, exactly as for a missing one). Honours `If-Match` (412
/// `precondition_failed` when stale). Audited as `customer.personnel.update`. Problems: 404
/// `not_found` when the link does not belong to this customer; 422 `validation_failed` for
/// a `role` or `unit` longer than 200 characters.
#[utoipa::path(
    tag = "customers",
    operation_id = "update_personnel",
    params(
        ("id" = Uuid, Path, description = "Organization id"),
        ("personnel_id" = Uuid, Path, description = "Personnel link id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on")
    ),
    request_body(
        content = PersonnelPatch,
        content_type = "application/merge-patch+json",
        example = json!({"role": "مدیر فروش", "is_primary_contact": false})
    ),
    responses((status = 200, description = "The changed link", body = Personnel, headers(("ETag" = String))))
)]
#[patch("/api/v1/customers/{id}/personnel/{personnel_id}")]
pub async fn update_personnel(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsWrite)?;
    let (organization, link) = path.into_inner();
    let acting = principal.0.clone();
    let precondition = if_match.precondition();
    let row = state
        .db(move |conn| {
            Ok(personnel::update(
                conn,
                &acting,
                organization,
                link,
                &precondition,
                |before| patch.apply(before),
            )?)
        })
        .await?;
    Ok(etag::single(
        &req,
        row.id.0,
        row.version,
        &Personnel::from(&row),
    ))
}

/// Remove a person from an organization.
///
/// Deletes the link; both customers stay.
///
/// Needs `records:write`; the customer must be within the caller's record visibility (404
/// `not_found` otherwise, exactly as for a missing one). Honours `If-Match` (412
/// `precondition_failed` when stale). Audited as `customer.personnel.remove`. Problems: 404
/// `not_found` when the link does not belong to this customer.
#[utoipa::path(
    tag = "customers",
    operation_id = "remove_personnel",
    params(
        ("id" = Uuid, Path, description = "Organization id"),
        ("personnel_id" = Uuid, Path, description = "Personnel link id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on")
    ),
    responses((status = 204, description = "Removed"))
)]
#[delete("/api/v1/customers/{id}/personnel/{personnel_id}")]
pub async fn remove_personnel(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsWrite)?;
    let (organization, link) = path.into_inner();
    let acting = principal.0.clone();
    let precondition = if_match.precondition();
    state
        .db(move |conn| {
            Ok(personnel::remove(
                conn,
                &acting,
                organization,
                link,
                &precondition,
            )?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
