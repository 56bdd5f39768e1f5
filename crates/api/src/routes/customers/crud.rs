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
/// A customer that probably duplicates an existing one (same e-mail or national code,
/// or same phone and name; see `GET /customers/{id}/duplicates`) is refused with 409
/// `likely_duplicate` listing the candidates, unless the request carries
/// `Peyvand-Confirm-Duplicate: true`.
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
        .db(move |conn| Ok(application::customers::visible(conn, &acting, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        record.row.version,
        &Customer::from_record(&record)?,
    ))
}

/// Change a customer (JSON Merge Patch over the fields of `CustomerInput`; lists such
/// as `phones` are replaced whole). Lifecycle and owner changes are recorded.
#[utoipa::path(
    tag = "customers",
    operation_id = "update_customer",
    params(
        ("id" = Uuid, Path, description = "Customer id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    request_body(content = CustomerInput, content_type = "application/merge-patch+json"),
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

/// Delete a customer and everything attached to it. For people who asked to be
/// forgotten use erasure instead, which keeps aggregates.
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
