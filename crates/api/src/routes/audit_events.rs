//! The audit log (D-4), for administrators (`audit:read`): listing with filters, single
//! events, and verification of the hash chain as a background job.

use actix_web::{get, post, web, HttpResponse};
use application::administration::audit_log::{self, AuditFilter};
use application::jobs::{queue, ChainVerification};
use chrono::{DateTime, Utc};
use persistence::audit::AuditEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use super::jobs::{accepted, JobResource};
use crate::auth::Principal;
use crate::conventions::{Page, PageParams};
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(list_audit_events, get_audit_event, verify_audit_chain),
    components(schemas(AuditEventResource, ChainVerification))
)]
pub struct AuditEventsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_audit_events)
        .service(verify_audit_chain)
        .service(get_audit_event);
}

/// One recorded change.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a4e2-7c1d-7b3e-9f10-dddddddddddd",
    "seq": 1203,
    "occurred_at": "2026-11-20T08:15:00Z",
    "actor_type": "user",
    "actor_id": "0193a4e2-7c1d-7b3e-9f10-2a4b6c8d0e1f",
    "action": "user.update",
    "resource_type": "user",
    "resource_id": "0193a4e2-7c1d-7b3e-9f10-eeeeeeeeeeee",
    "changes": {"role": {"before": "sales", "after": "manager"}},
    "request_id": "0193a4e2-7c1d-7b3e-9f10-ffffffffffff",
    "prev_hash": "9b2c4f0e5d6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e",
    "hash": "4e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f"
}))]
pub struct AuditEventResource {
    pub id: Uuid,
    /// Position in the log; consecutive without gaps.
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    /// `user`, `api_key` (acting for `actor_id`), `system`, or `workflow` (a step of the
    /// workflow `actor_id`).
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    /// What was done, e.g. `user.update`.
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    /// Changed fields as `{field: {before, after}}`; secrets are never recorded.
    pub changes: Option<Value>,
    /// `X-Request-Id` of the request that made the change.
    pub request_id: Option<String>,
    /// Hash of the previous event (the chain link).
    pub prev_hash: String,
    /// SHA-256 over this event's content and `prev_hash`.
    pub hash: String,
}

impl From<AuditEvent> for AuditEventResource {
    fn from(event: AuditEvent) -> Self {
        AuditEventResource {
            id: event.id.0,
            seq: event.seq,
            occurred_at: event.occurred_at.0,
            actor_type: event.actor_type,
            actor_id: event.actor_id.map(|id| id.0),
            action: event.action,
            resource_type: event.resource_type,
            resource_id: event.resource_id,
            changes: event.changes.map(|changes| changes.0),
            request_id: event.request_id,
            prev_hash: event.prev_hash,
            hash: event.hash,
        }
    }
}

/// Filters of the audit-log listing; all optional, combined with AND.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditEventFilters {
    /// Events by this user (directly or through one of their API keys).
    pub actor_id: Option<Uuid>,
    /// e.g. `user`, `team`, `api_key`, `job`.
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// e.g. `user.update`.
    pub action: Option<String>,
    /// Events at or after this instant (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Events before this instant (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

impl From<AuditEventFilters> for AuditFilter {
    fn from(filters: AuditEventFilters) -> AuditFilter {
        AuditFilter {
            actor_id: filters.actor_id,
            resource_type: filters.resource_type,
            resource_id: filters.resource_id,
            action: filters.action,
            since: filters.since,
            until: filters.until,
        }
    }
}

/// List audit events.
///
/// Every recorded change, newest first: who (`actor_type`, `actor_id`) did what (`action`,
/// e.g. `customer.update`) to which record, when, from which request (`request_id`), with
/// the changed fields as `{field: {before, after}}` (secrets never appear). Filter by
/// actor, resource type and id, action and time range, combined with AND.
///
/// Needs `audit:read` (admins only). Problems: 400 `invalid_cursor` for a cursor that was
/// altered or came from another listing; 422 `validation_failed` for an over-long filter or
/// `until` not after `since`.
#[utoipa::path(
    tag = "audit",
    operation_id = "list_audit_events",
    params(PageParams, AuditEventFilters),
    responses((status = 200, description = "One page of events", body = Page<AuditEventResource>))
)]
#[get("/api/v1/audit-events")]
pub async fn list_audit_events(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
    filters: web::Query<AuditEventFilters>,
) -> ApiResult<HttpResponse> {
    let filter = AuditFilter::from(filters.into_inner());
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let rows = state
        .db(move |conn| {
            Ok(audit_log::list(
                conn,
                &principal,
                filter,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let page = Page::from_rows(
        rows,
        page.limit,
        audit_log::cursor_after,
        AuditEventResource::from,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Get an audit event.
///
/// One event with its chain link (`prev_hash`, `hash`). Needs `audit:read` (admins only);
/// 404 `not_found` for an unknown id.
#[utoipa::path(
    tag = "audit",
    operation_id = "get_audit_event",
    params(("id" = Uuid, Path, description = "Event id")),
    responses((status = 200, description = "The event", body = AuditEventResource))
)]
#[get("/api/v1/audit-events/{id}")]
pub async fn get_audit_event(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let event = state
        .db(move |conn| Ok(audit_log::get(conn, &principal, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(AuditEventResource::from(event)))
}

/// Verify the audit chain.
///
/// Starts a background `audit.verify` job that walks the whole log and checks every link of
/// the hash chain; its result (a `ChainVerification`) reports the number of events checked
/// and the first broken link, if any. Answers 202 with the job and its `Location`.
///
/// Needs `audit:read` (admins only). The job's creation is audited (`job.create`).
#[utoipa::path(
    tag = "audit",
    operation_id = "verify_audit_chain",
    responses((
        status = 202,
        description = "Verification queued; follow `Location` for its progress and result",
        body = JobResource,
        headers(("Location" = String, description = "The job: `/api/v1/jobs/{id}`"))
    ))
)]
#[post("/api/v1/audit-events/verifications")]
pub async fn verify_audit_chain(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    let job = state
        .db(move |conn| Ok(queue::audit_verification(conn, &principal)?))
        .await?;
    accepted(job)
}
