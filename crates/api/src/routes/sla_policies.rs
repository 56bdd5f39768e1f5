//! SLA policies (V-2, V-3): targets in business minutes for tickets meeting a
//! condition, and the pick-up time after which a ticket nobody answered goes to
//! another agent.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::service::sla_policies as policies;
use chrono::{DateTime, Utc};
use domain::service::sla::SlaPolicyInput;
use domain::service::surveys::CsatAction;
use persistence::sla_policies::SlaPolicyRow;
use serde::Serialize;
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::{JsonBody, MergePatch};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_sla_policy,
        list_sla_policies,
        get_sla_policy,
        update_sla_policy,
        delete_sla_policy
    ),
    components(schemas(SlaPolicy, SlaPolicyInput, SlaPolicyList, CsatAction))
)]
pub struct SlaPoliciesApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_sla_policy)
        .service(list_sla_policies)
        .service(get_sla_policy)
        .service(update_sla_policy)
        .service(delete_sla_policy);
}

/// An SLA policy as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaPolicy {
    pub id: Uuid,
    pub name: String,
    pub position: i32,
    /// The filter tree over the ticket search fields, as written; absent: every ticket.
    #[schema(value_type = Option<Object>)]
    pub condition: Option<Value>,
    pub first_response_minutes: Option<i32>,
    pub next_response_minutes: Option<i32>,
    pub resolution_minutes: Option<i32>,
    pub pickup_minutes: Option<i32>,
    pub max_reassignments: i32,
    pub raise_priority_on_breach: bool,
    pub active: bool,
    /// A satisfaction rating at or below this (1–5) calls for `csat_action`.
    pub csat_threshold: Option<i32>,
    pub csat_action: CsatAction,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<&SlaPolicyRow> for SlaPolicy {
    fn from(row: &SlaPolicyRow) -> Self {
        SlaPolicy {
            id: row.id.0,
            name: row.name.clone(),
            position: row.position,
            condition: row.condition.as_ref().map(|c| c.0.clone()),
            first_response_minutes: row.first_response_minutes,
            next_response_minutes: row.next_response_minutes,
            resolution_minutes: row.resolution_minutes,
            pickup_minutes: row.pickup_minutes,
            max_reassignments: row.max_reassignments,
            raise_priority_on_breach: row.raise_priority_on_breach,
            active: row.active,
            csat_threshold: row.csat_threshold,
            csat_action: CsatAction::parse(&row.csat_action).unwrap_or_default(),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
        }
    }
}

/// Every SLA policy, in the order they are tried.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaPolicyList {
    pub data: Vec<SlaPolicy>,
}

/// Add an SLA policy.
///
/// A ticket's policy is the first active one, by `position`, whose `condition` (the
/// filter tree of `POST /tickets/search`, e.g. on `priority`, `category_id`, `channel`
/// or `customer_tier_id`; absent: every ticket) it meets when it is created, or when
/// its priority, category, channel, customer, tags or custom fields change. Targets are
/// business minutes of the business calendar (working hours, weekends and holidays do
/// not count; time waiting for the customer does not either): `first_response_minutes`,
/// `next_response_minutes` (after a customer message that followed a reply),
/// `resolution_minutes`, and `pickup_minutes`, after which a ticket without an agent
/// reply goes to another available agent — at most `max_reassignments` times, then to
/// the team's managers. A breach is recorded once, tells the owner and the team's
/// managers, and with `raise_priority_on_breach` a resolution breach raises the
/// priority a step. A satisfaction rating at or below `csat_threshold` (1–5) reopens
/// the ticket (`csat_action: reopen`, the default) or tells its team's managers
/// (`escalate`). At most 200 policies. Open tickets keep the due times they were
/// given.
///
/// Needs `crm:configure`. Audited as `sla_policy.create`. Problems: 422
/// `validation_failed` naming every broken rule, the condition's by their path (e.g.
/// `condition.field` `unknown_field`), minutes or `csat_threshold` `out_of_range`,
/// `first_response_minutes` `required` when no target is given; 409 `conflict` when there are 200 policies.
#[utoipa::path(
    tag = "tickets",
    operation_id = "create_sla_policy",
    request_body = SlaPolicyInput,
    responses(
        (status = 201, description = "Created", body = SlaPolicy, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "As many policies as there may be", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/sla-policies")]
pub async fn create_sla_policy(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<SlaPolicyInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let input = body.0;
    let row = state
        .db(move |conn| Ok(policies::create(conn, &acting, input)?))
        .await?;
    let location = format!("/api/v1/sla-policies/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &SlaPolicy::from(&row),
    ))
}

/// List SLA policies.
///
/// Every policy, active or not, in the order tickets are matched against them (at most
/// 200). Needs `records:read`.
#[utoipa::path(
    tag = "tickets",
    operation_id = "list_sla_policies",
    responses((status = 200, description = "The policies", body = SlaPolicyList))
)]
#[get("/api/v1/sla-policies")]
pub async fn list_sla_policies(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let rows = state
        .db(move |conn| Ok(policies::list(conn, &acting)?))
        .await?;
    Ok(HttpResponse::Ok().json(SlaPolicyList {
        data: rows.iter().map(SlaPolicy::from).collect(),
    }))
}

/// Get an SLA policy.
///
/// Needs `records:read`. Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "tickets",
    operation_id = "get_sla_policy",
    params(("id" = Uuid, Path, description = "Policy id")),
    responses((status = 200, description = "Found", body = SlaPolicy, headers(("ETag" = String))))
)]
#[get("/api/v1/sla-policies/{id}")]
pub async fn get_sla_policy(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(policies::get(conn, &acting, id)?))
        .await?;
    Ok(etag::single(&req, id, row.version, &SlaPolicy::from(&row)))
}

/// Change an SLA policy (JSON Merge Patch).
///
/// Any field, checked as on creation. New targets apply to tickets as they are next
/// created or re-matched. Needs `crm:configure`. Honours `If-Match` (412 when stale).
/// Audited as `sla_policy.update`.
#[utoipa::path(
    tag = "tickets",
    operation_id = "update_sla_policy",
    params(("id" = Uuid, Path, description = "Policy id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = SlaPolicyInput, content_type = "application/merge-patch+json", example = json!({"resolution_minutes": 600})),
    responses((status = 200, description = "Changed", body = SlaPolicy, headers(("ETag" = String))))
)]
#[patch("/api/v1/sla-policies/{id}")]
pub async fn update_sla_policy(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    let row = state
        .db(move |conn| {
            Ok(policies::update(
                conn,
                &acting,
                id,
                &precondition,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    Ok(etag::single(&req, id, row.version, &SlaPolicy::from(&row)))
}

/// Delete an SLA policy.
///
/// Its tickets keep their due times and breaches but no longer name it. Needs
/// `crm:configure`. Honours `If-Match`. Audited as `sla_policy.delete`.
#[utoipa::path(
    tag = "tickets",
    operation_id = "delete_sla_policy",
    params(
        ("id" = Uuid, Path, description = "Policy id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/sla-policies/{id}")]
pub async fn delete_sla_policy(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(policies::delete(conn, &acting, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
