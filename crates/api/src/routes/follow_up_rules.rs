//! Follow-up rules (S-7): the business's automatic next steps after a deal enters a
//! stage or a lead is assigned; configuration, `crm:configure`.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::sales::follow_ups;
use chrono::{DateTime, Utc};
use domain::sales::follow_ups::{DelayUnit, FollowUpRuleInput, FollowUpTrigger};
use domain::sales::tasks::TaskKind;
use persistence::follow_up_rules::FollowUpRuleRow;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::pagination::{created_after, creation_cursor};
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_follow_up_rule,
        list_follow_up_rules,
        get_follow_up_rule,
        update_follow_up_rule,
        delete_follow_up_rule
    ),
    components(schemas(FollowUpRule, FollowUpRuleInput, FollowUpTrigger, DelayUnit))
)]
pub struct FollowUpRulesApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_follow_up_rule)
        .service(list_follow_up_rules)
        .service(get_follow_up_rule)
        .service(update_follow_up_rule)
        .service(delete_follow_up_rule);
}

/// A follow-up rule as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUpRule {
    pub id: Uuid,
    pub name: String,
    pub trigger: FollowUpTrigger,
    pub active: bool,
    pub stage_id: Option<Uuid>,
    pub task_kind: Option<TaskKind>,
    pub task_title: Option<String>,
    pub delay: u32,
    pub delay_unit: DelayUnit,
    pub escalate_after: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl FollowUpRule {
    fn from_row(row: &FollowUpRuleRow) -> ApiResult<FollowUpRule> {
        let input = follow_ups::input_of(row)?;
        Ok(FollowUpRule {
            id: row.id.0,
            name: input.name,
            trigger: input.trigger,
            active: input.active,
            stage_id: input.stage_id,
            task_kind: input.task_kind,
            task_title: input.task_title,
            delay: input.delay,
            delay_unit: input.delay_unit,
            escalate_after: input.escalate_after,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
        })
    }
}

/// Create a follow-up rule.
///
/// `deal_stage_entered`: when a deal enters `stage_id` (created there or moved there), a
/// task (`task_kind`, `follow_up` by default, `task_title`) is made for the deal's owner,
/// due `delay` business hours or days later, and the owner is notified.
/// `lead_assigned`: when a lead's owner is set or changed and the lead is still `new`
/// `delay` business hours or days later, the owner is reminded, and with
/// `escalate_after` the managers of the owner's team are told that much later again.
/// Business time counts only working hours of days that are neither weekend nor
/// holiday (`/settings/business`); business days keep the local time of day.
///
/// Needs `crm:configure`. Audited as `follow_up_rule.create`. Problems: 422
/// `validation_failed` naming every broken rule (`stage_id` `not_found`; fields of the
/// other trigger `not_for_trigger`).
#[utoipa::path(
    tag = "follow_up_rules",
    operation_id = "create_follow_up_rule",
    request_body = FollowUpRuleInput,
    responses(
        (status = 201, description = "Created", body = FollowUpRule, headers(("Location" = String), ("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/follow-up-rules")]
pub async fn create_follow_up_rule(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<FollowUpRuleInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let input = body.0;
    let row = state
        .db(move |conn| Ok(follow_ups::create(conn, &acting, input)?))
        .await?;
    let location = format!("/api/v1/follow-up-rules/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &FollowUpRule::from_row(&row)?,
    ))
}

/// List follow-up rules.
///
/// In creation order. Needs `crm:configure`.
#[utoipa::path(
    tag = "follow_up_rules",
    operation_id = "list_follow_up_rules",
    params(PageParams),
    responses((status = 200, description = "One page of rules", body = Page<FollowUpRule>))
)]
#[get("/api/v1/follow-up-rules")]
pub async fn list_follow_up_rules(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let after = created_after(page.cursor.as_ref())?;
    let limit = page.limit;
    let acting = principal.0;
    let rows = state
        .db(move |conn| Ok(follow_ups::list(conn, &acting, after, limit as i64)?))
        .await?;
    let rules = rows
        .iter()
        .map(FollowUpRule::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rules,
        limit,
        |rule| creation_cursor(rule.created_at, rule.id),
        |rule| rule,
    )))
}

/// Get a follow-up rule.
///
/// Needs `crm:configure`.
#[utoipa::path(
    tag = "follow_up_rules",
    operation_id = "get_follow_up_rule",
    params(("id" = Uuid, Path, description = "Rule id")),
    responses((status = 200, description = "Found", body = FollowUpRule, headers(("ETag" = String))))
)]
#[get("/api/v1/follow-up-rules/{id}")]
pub async fn get_follow_up_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(follow_ups::get(conn, &acting, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &FollowUpRule::from_row(&row)?,
    ))
}

/// Change a follow-up rule (JSON Merge Patch).
///
/// Any field, checked as on creation, e.g. `{"active": false}`. What the rule queued
/// before keeps its course. Needs `crm:configure`. Honours `If-Match`. Audited as
/// `follow_up_rule.update`.
#[utoipa::path(
    tag = "follow_up_rules",
    operation_id = "update_follow_up_rule",
    params(("id" = Uuid, Path, description = "Rule id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = FollowUpRuleInput, content_type = "application/merge-patch+json", example = json!({"active": false})),
    responses((status = 200, description = "Changed", body = FollowUpRule, headers(("ETag" = String))))
)]
#[patch("/api/v1/follow-up-rules/{id}")]
pub async fn update_follow_up_rule(
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
            Ok(follow_ups::update(
                conn,
                &acting,
                id,
                &precondition,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &FollowUpRule::from_row(&row)?,
    ))
}

/// Delete a follow-up rule.
///
/// Its queued checks find it gone and do nothing. Needs `crm:configure`. Honours
/// `If-Match`. Audited as `follow_up_rule.delete`.
#[utoipa::path(
    tag = "follow_up_rules",
    operation_id = "delete_follow_up_rule",
    params(
        ("id" = Uuid, Path, description = "Rule id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/follow-up-rules/{id}")]
pub async fn delete_follow_up_rule(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(follow_ups::delete(conn, &acting, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
