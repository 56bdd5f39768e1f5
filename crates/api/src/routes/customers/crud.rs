//! Create, read, change and delete single customers.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::customers::records;
use domain::authz::Permission;
use domain::customers::CustomerInput;
use uuid::Uuid;

use super::model::Customer;
use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::{JsonBody, MergePatch};
use crate::error::ApiResult;
use crate::state::AppState;

/// Header with which a client confirms it knows the new customer resembles existing
/// ones and wants it created anyway.
pub const CONFIRM_DUPLICATE_HEADER: &str = "Peyvand-Confirm-Duplicate";

/// Create a customer.
///
/// Creates a person or an organization. Fields that do not fit the `kind` are refused.
/// Values are normalised as they are stored: phone numbers in any usual Iranian form
/// (`0912 123 4567`, `+98 912…`, Persian or Arabic-Indic digits) become E.164
/// (`+989121234567`), digits in codes become ASCII, and the national code (کد ملی) and
/// national id (شناسه ملی) are checksum-verified. `owner_id` defaults to the caller and
/// `team_id` to the owner's team; the answer also carries the birth, marriage and founding
/// dates on the Jalali calendar.
///
/// Needs `records:write`. Unless the caller's visibility is `all`, the owner must be the
/// caller (or, with `team` visibility, a team mate) and the team the caller's own (422
/// `not_allowed`). Audited as `customer.create`; safe to retry with an `Idempotency-Key`.
///
/// A customer that probably duplicates an existing one (same e-mail or national code, or
/// same phone and name; see `GET /customers/{id}/duplicates`) is refused with 409
/// `likely_duplicate` listing the candidates (ids only of those the caller may see), unless
/// the request carries `Peyvand-Confirm-Duplicate: true`.
///
/// Problems: 409 `conflict` when another customer has the same `code`; 422
/// `validation_failed` with every broken field rule at once, including references
/// (`owner_id`, `team_id`, `tier_id`, `tag_ids[i]`, `group_ids[i]`, `referred_by_…`) to
/// records that do not exist or the caller may not see (`not_found`) and `custom_fields`
/// that break their definitions.
#[utoipa::path(
    tag = "customers",
    operation_id = "create_customer",
    params(("Peyvand-Confirm-Duplicate" = Option<String>, Header, description = "`true` creates the customer even if it resembles existing ones")),
    request_body = CustomerInput,
    responses(
        (status = 201, description = "Created", body = Customer, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "Likely duplicate of existing customers, or the code is taken", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/customers")]
pub async fn create_customer(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<CustomerInput>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsWrite)?;
    let confirmed = duplicate_confirmed(&req);
    let acting = principal.0.clone();
    let today = state.today().await?;
    let input = body.0;
    let record = state
        .db(move |conn| Ok(records::create(conn, &acting, today, input, confirmed)?))
        .await?;
    let location = format!("/api/v1/customers/{}", record.row.id.0);
    Ok(etag::created(
        &location,
        record.row.id.0,
        record.row.version,
        &Customer::from_record(&record)?,
    ))
}

/// Whether the request carries `Peyvand-Confirm-Duplicate: true`.
pub(super) fn duplicate_confirmed(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONFIRM_DUPLICATE_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Get a customer.
///
/// The customer with its phones, e-mails, addresses, labels, custom fields and the Jalali
/// form of its dates, and an `ETag` for a later `If-Match` (`If-None-Match` answers 304
/// when unchanged). A customer merged into another keeps answering, with `merged_into_id`
/// set.
///
/// Needs `records:read`; the customer must be within the caller's record visibility (404
/// `not_found` otherwise, exactly as for a missing one).
#[utoipa::path(
    tag = "customers",
    operation_id = "get_customer",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, description = "The customer", body = Customer, headers(("ETag" = String))))
)]
#[get("/api/v1/customers/{id}")]
pub async fn get_customer(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsRead)?;
    let id = id.into_inner();
    let acting = principal.0.clone();
    let record = state
        .db(move |conn| Ok(application::customers::readable(conn, &acting, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        record.row.version,
        &Customer::from_record(&record)?,
    ))
}

/// Change a customer (JSON Merge Patch).
///
/// The patch applies to the fields of `CustomerInput`: members present are set, `null`
/// clears, and lists (`phones`, `emails`, `addresses`, `tag_ids`, `group_ids`) are replaced
/// whole. The result is checked and normalised exactly like a new customer; references the
/// customer already holds only need to exist. Changes of the lifecycle stage and of the
/// owner are recorded in the customer's history.
///
/// Needs `records:write`; the customer must be within the caller's record visibility (404
/// `not_found` otherwise, exactly as for a missing one). A change of owner or team follows
/// the assignment rule of creation (422 `not_allowed`). Send the `ETag` as `If-Match` to
/// make the change conditional (412 `precondition_failed` when stale). Audited as
/// `customer.update` with the changed fields.
///
/// Problems: 409 `conflict` when the customer was erased or merged into another, or the new
/// `code` is taken; 422 `validation_failed` for the field rules.
#[utoipa::path(
    tag = "customers",
    operation_id = "update_customer",
    params(
        ("id" = Uuid, Path, description = "Customer id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    request_body(
        content = CustomerInput,
        content_type = "application/merge-patch+json",
        example = json!({
            "lifecycle_stage": "purchase",
            "phones": [{"number": "۰۹۱۲ ۱۲۳ ۴۵۶۷", "primary": true}, {"number": "021-88001122", "label": "office"}],
            "title": null
        })
    ),
    responses(
        (status = 200, description = "The changed customer", body = Customer, headers(("ETag" = String))),
        (status = 409, description = "The code is taken", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[patch("/api/v1/customers/{id}")]
pub async fn update_customer(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsWrite)?;
    let id = id.into_inner();
    let acting = principal.0.clone();
    let today = state.today().await?;
    let precondition = if_match.precondition();
    let record = state
        .db(move |conn| {
            Ok(records::update(
                conn,
                &acting,
                id,
                &precondition,
                today,
                |before| patch.apply(before),
            )?)
        })
        .await?;
    Ok(etag::single(
        &req,
        id,
        record.row.version,
        &Customer::from_record(&record)?,
    ))
}

/// Delete a customer.
///
/// Removes the customer and everything attached to it (notes, personnel links, consents,
/// history) for good. For a person who asked to be forgotten use
/// `POST /customers/{id}/erasure` instead, which removes the personal data but keeps the
/// aggregates.
///
/// Needs `records:delete` (admins and managers); the customer must be within the caller's
/// record visibility (404 `not_found` otherwise, exactly as for a missing one). Honours
/// `If-Match` (412 `precondition_failed` when stale). Audited as `customer.delete`.
#[utoipa::path(
    tag = "customers",
    operation_id = "delete_customer",
    params(
        ("id" = Uuid, Path, description = "Customer id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/customers/{id}")]
pub async fn delete_customer(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsDelete)?;
    let id = id.into_inner();
    let acting = principal.0.clone();
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(records::delete(conn, &acting, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
