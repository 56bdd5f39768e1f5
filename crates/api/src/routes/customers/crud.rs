//! Create, read, change and delete single customers.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use domain::authz::Permission;
use domain::customers::{CustomFieldDefinition, CustomerInput, DUPLICATE_THRESHOLD};
use persistence::audit::{self, NewAuditEvent};
use persistence::customers::CustomerRecord;
use persistence::db::DbConnection;
use uuid::Uuid;

use super::model::Customer;
use crate::auth::plumbing::transaction;
use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::{JsonBody, MergePatch};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use application::customers::{self as service, duplicates, Author, HeldReferences};
use application::{Acting, AppError, AppResult};

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
    let today = state.today();
    let input = body.0;
    let record = state
        .db(move |conn| {
            Ok(application::transaction(conn, |conn| {
                let definitions = service::definitions(conn)?;
                create_one(conn, &acting, today, &definitions, input, confirmed)
            })?)
        })
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

/// Checks and stores one new customer inside the caller's transaction: defaults, the
/// assignment rule, every field rule and, unless `confirmed`, the duplicate check.
pub(super) fn create_one(
    conn: &mut DbConnection,
    acting: &Acting,
    today: NaiveDate,
    definitions: &[CustomFieldDefinition],
    mut input: CustomerInput,
    confirmed: bool,
) -> AppResult<CustomerRecord> {
    service::apply_defaults(conn, &mut input, acting)?;
    service::check_assignment(conn, acting, &input)?;
    let checked = service::check(
        conn,
        input,
        HeldReferences::default(),
        Author::Caller(acting),
        today,
        definitions,
    )?;
    if !confirmed {
        let evidence = duplicates::evidence_of_input(&checked.input);
        let likely: Vec<_> = duplicates::candidates(conn, &evidence, None, acting)?
            .into_iter()
            .filter(|c| c.score >= DUPLICATE_THRESHOLD)
            .collect();
        if !likely.is_empty() {
            let candidates =
                serde_json::to_value(likely).map_err(|err| AppError::Internal(err.to_string()))?;
            return Err(AppError::LikelyDuplicate(candidates));
        }
    }
    service::create(conn, acting, &checked, "created")
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
    let today = state.today();
    let record = state
        .db(move |conn| {
            transaction(conn, |conn| {
                let current = application::customers::visible(conn, &acting, id)?;
                if_match.check(id, current.row.version)?;
                if current.row.erased_at.is_some() || current.row.merged_into_id.is_some() {
                    return Err(ApiError::Conflict(
                        "the customer was erased or merged and can no longer change".into(),
                    ));
                }
                let before = current.to_input()?;
                let after: CustomerInput = patch.apply(&before)?;
                if after.owner_id != before.owner_id || after.team_id != before.team_id {
                    service::check_assignment(conn, &acting, &after)?;
                }
                let definitions = service::definitions(conn)?;
                let checked = service::check(
                    conn,
                    after,
                    HeldReferences::of(&current.row),
                    Author::Caller(&acting),
                    today,
                    &definitions,
                )?;
                Ok(service::update(
                    conn,
                    &acting,
                    &current,
                    &checked,
                    "customer.update",
                )?)
            })
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
    let actor = principal.audit_actor();
    state
        .db(move |conn| {
            transaction(conn, |conn| {
                let current = application::customers::visible(conn, &acting, id)?;
                if_match.check(id, current.row.version)?;
                persistence::customers::delete(conn, id)?;
                audit::record(
                    conn,
                    &actor,
                    NewAuditEvent {
                        action: "customer.delete",
                        resource_type: "customer",
                        resource_id: Some(id.to_string()),
                        changes: None,
                    },
                )?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
