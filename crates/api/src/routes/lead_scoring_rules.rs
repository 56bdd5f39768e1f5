//! Lead scoring rules (S-2): conditions over the lead search fields worth points. A
//! lead's `scores.points` is the sum of the points of the active rules it meets, kept
//! by every write of the lead; a change of the rules recounts every lead in a
//! `lead_scoring.rescore` job, which the change answers with.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::sales::lead_scoring_rules as rules;
use chrono::{DateTime, Utc};
use domain::sales::lead_scoring::LeadScoringRuleInput;
use persistence::lead_scoring::LeadScoringRuleRow;
use serde::Serialize;
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::jobs::{accepted, JobResource};
use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::pagination::creation_cursor;
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_lead_scoring_rule,
        list_lead_scoring_rules,
        get_lead_scoring_rule,
        update_lead_scoring_rule,
        delete_lead_scoring_rule,
        rescore_leads
    ),
    components(schemas(LeadScoringRule, LeadScoringRuleInput, LeadScoringRuleChange))
)]
pub struct LeadScoringRulesApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_lead_scoring_rule)
        .service(list_lead_scoring_rules)
        .service(rescore_leads)
        .service(get_lead_scoring_rule)
        .service(update_lead_scoring_rule)
        .service(delete_lead_scoring_rule);
}

/// A scoring rule as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadScoringRule {
    pub id: Uuid,
    pub name: String,
    /// The filter tree over the lead search fields, as written.
    #[schema(value_type = Object)]
    pub condition: Value,
    pub points: i64,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<&LeadScoringRuleRow> for LeadScoringRule {
    fn from(row: &LeadScoringRuleRow) -> Self {
        LeadScoringRule {
            id: row.id.0,
            name: row.name.clone(),
            condition: row.condition.0.clone(),
            points: row.points,
            active: row.active,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
        }
    }
}

/// A rule as changed, with the job recounting every lead's points.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadScoringRuleChange {
    #[serde(flatten)]
    pub rule: LeadScoringRule,
    /// Poll it at `/api/v1/jobs/{id}`; leads carry the new points once it succeeded.
    pub rescore_job: JobResource,
}

fn change(
    row: &LeadScoringRuleRow,
    job: persistence::jobs::Job,
) -> ApiResult<LeadScoringRuleChange> {
    Ok(LeadScoringRuleChange {
        rule: LeadScoringRule::from(row),
        rescore_job: JobResource::try_from(job)?,
    })
}

/// Add a lead scoring rule.
///
/// A `condition` in the filter tree of `POST /leads/search` (any lead search field but
/// `score_points`, `propensity` and `list_id`; relative dates resolve whenever the rule
/// is evaluated) and the `points` (−1000 to 1000) it gives every lead meeting it. At
/// most 200 rules. The answer carries the `lead_scoring.rescore` job that recounts every
/// lead's points.
///
/// Needs `crm:configure`. Audited as `lead_scoring_rule.create`. Problems: 422
/// `validation_failed` naming every broken rule, the condition's by their path (e.g.
/// `condition.and[0].field` `unknown_field`); 409 `conflict` when there are 200 rules.
#[utoipa::path(
    tag = "leads",
    operation_id = "create_lead_scoring_rule",
    request_body = LeadScoringRuleInput,
    responses(
        (status = 201, description = "Created; the recount is queued", body = LeadScoringRuleChange, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "As many rules as there may be", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/lead-scoring-rules")]
pub async fn create_lead_scoring_rule(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<LeadScoringRuleInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let input = body.0;
    let (row, job) = state
        .db(move |conn| Ok(rules::create(conn, &acting, input)?))
        .await?;
    let location = format!("/api/v1/lead-scoring-rules/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &change(&row, job)?,
    ))
}

/// List lead scoring rules.
///
/// Every rule, active or not, in creation order, one page at a time. Needs
/// `records:read`.
#[utoipa::path(
    tag = "leads",
    operation_id = "list_lead_scoring_rules",
    params(PageParams),
    responses((status = 200, description = "One page of rules", body = Page<LeadScoringRule>))
)]
#[get("/api/v1/lead-scoring-rules")]
pub async fn list_lead_scoring_rules(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let acting = principal.0;
    let rows = state
        .db(move |conn| Ok(rules::list(conn, &acting, cursor.as_ref(), limit)?))
        .await?;
    let page = Page::from_rows(
        rows,
        page.limit,
        |row| creation_cursor(row.created_at.0, row.id.0),
        |row| LeadScoringRule::from(&row),
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Get a lead scoring rule.
///
/// Needs `records:read`. Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "leads",
    operation_id = "get_lead_scoring_rule",
    params(("id" = Uuid, Path, description = "Rule id")),
    responses((status = 200, description = "Found", body = LeadScoringRule, headers(("ETag" = String))))
)]
#[get("/api/v1/lead-scoring-rules/{id}")]
pub async fn get_lead_scoring_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(rules::get(conn, &acting, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &LeadScoringRule::from(&row),
    ))
}

/// Change a lead scoring rule (JSON Merge Patch).
///
/// Any field, checked as on creation, e.g. `{"points": 40}` or `{"active": false}`. The
/// answer carries the job recounting every lead's points. Needs `crm:configure`;
/// honours `If-Match` (412 when stale). Audited as `lead_scoring_rule.update`.
#[utoipa::path(
    tag = "leads",
    operation_id = "update_lead_scoring_rule",
    params(("id" = Uuid, Path, description = "Rule id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = LeadScoringRuleInput, content_type = "application/merge-patch+json", example = json!({"points": 40})),
    responses(
        (status = 200, description = "Changed; the recount is queued", body = LeadScoringRuleChange, headers(("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/api/v1/lead-scoring-rules/{id}")]
pub async fn update_lead_scoring_rule(
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
    let (row, job) = state
        .db(move |conn| {
            Ok(rules::update(
                conn,
                &acting,
                id,
                &precondition,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    Ok(etag::single(&req, id, row.version, &change(&row, job)?))
}

/// Delete a lead scoring rule.
///
/// Answers 202 with the job recounting every lead's points without it. Needs
/// `crm:configure`; honours `If-Match`. Audited as `lead_scoring_rule.delete`.
#[utoipa::path(
    tag = "leads",
    operation_id = "delete_lead_scoring_rule",
    params(
        ("id" = Uuid, Path, description = "Rule id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the rule has changed since")
    ),
    responses((status = 202, description = "Deleted; the recount is queued", body = JobResource, headers(("Location" = String))))
)]
#[delete("/api/v1/lead-scoring-rules/{id}")]
pub async fn delete_lead_scoring_rule(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    let job = state
        .db(move |conn| Ok(rules::delete(conn, &acting, id, &precondition)?))
        .await?;
    accepted(job)
}

/// Recount every lead's points.
///
/// Queues a `lead_scoring.rescore` job, as a change of the rules does: for rules on
/// relative dates ("created in the last 7 days"), whose matches change with time alone.
/// Needs `crm:configure`.
#[utoipa::path(
    tag = "leads",
    operation_id = "rescore_leads",
    responses((status = 202, description = "The recount is queued", body = JobResource, headers(("Location" = String))))
)]
#[post("/api/v1/lead-scoring-rules/rescore")]
pub async fn rescore_leads(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let job = state
        .db(move |conn| Ok(rules::rescore(conn, &acting)?))
        .await?;
    accepted(job)
}
