//! Duplicate detection (D-2): the likely duplicates of one customer, and a scan of the
//! whole workspace that runs as a job (`customers.duplicate_scan`).

use actix_web::{get, post, web, HttpResponse};
use domain::authz::Permission;
use domain::customers::DUPLICATE_THRESHOLD;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::routes::jobs::{accepted, JobResource};
use crate::state::AppState;
use application::customers::duplicates::{self, DuplicateCandidate};
use application::jobs::queue;

/// Customers that may be the same as the one asked about.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "threshold": 80,
    "data": [
        {"id": "0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaaa", "score": 85, "reasons": ["same_phone", "same_name"], "display_name": "علی کریمی", "visible": true},
        {"id": null, "score": 50, "reasons": ["same_name"], "display_name": null, "visible": false}
    ]
}))]
pub struct DuplicateList {
    /// Scores at or above this make a likely duplicate (creating one answers 409).
    pub threshold: u8,
    /// Candidates sharing at least one key, best first. Customers the caller may not
    /// open are listed without their id and name: only that they exist, their score and
    /// reasons.
    pub data: Vec<DuplicateCandidate>,
}

/// List likely duplicates of a customer.
///
/// Live customers sharing a national code or id, an e-mail address, a phone number or a
/// Persian-normalised name with this one, scored 0–100 with the reasons, best first. A
/// shared e-mail or national code alone reaches the threshold of a likely duplicate; a
/// phone or a name alone does not, both together do. Candidates the caller may not open are
/// listed without id and name.
///
/// Needs `records:read`; the customer must be within the caller's record visibility (404
/// `not_found` otherwise, exactly as for a missing one). Reading changes nothing.
#[utoipa::path(
    tag = "customers",
    operation_id = "list_customer_duplicates",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, description = "Scored candidates", body = DuplicateList))
)]
#[get("/api/v1/customers/{id}/duplicates")]
pub async fn list_customer_duplicates(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsRead)?;
    let id = id.into_inner();
    let acting = principal.0.clone();
    let data = state
        .db(move |conn| Ok(duplicates::of_customer(conn, &acting, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(DuplicateList {
        threshold: DUPLICATE_THRESHOLD,
        data,
    }))
}

/// Scan all customers for duplicates.
///
/// Starts a background `customers.duplicate_scan` job that groups the customers by the keys
/// that can make a likely duplicate, scores every pair sharing one and reports the groups
/// of likely duplicates (a `DuplicateScanReport`), limited to the customers the caller may
/// see. Answers 202 with the job and its `Location`; follow it with `GET /jobs/{id}`.
///
/// Needs `records:delete` (admins and managers), the permission to merge what the scan
/// finds. The job's creation is audited (`job.create`); a retry with the same
/// `Idempotency-Key` answers the same job instead of starting another.
#[utoipa::path(
    tag = "customers",
    operation_id = "start_duplicate_scan",
    responses((
        status = 202,
        description = "Scan queued; follow `Location` for its progress and result",
        body = JobResource,
        headers(("Location" = String, description = "The job: `/api/v1/jobs/{id}`"))
    ))
)]
#[post("/api/v1/customers/duplicate-scans")]
pub async fn start_duplicate_scan(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    let job = state
        .db(move |conn| Ok(queue::duplicate_scan(conn, &principal)?))
        .await?;
    accepted(job)
}
