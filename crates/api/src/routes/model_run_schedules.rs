//! Model-run schedules: a run request repeated at the times of a cron pattern
//! on the business's wall clock.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::analytics::schedules::{self, ScheduleInput};
use chrono::{DateTime, Utc};
use domain::model_runs::{RunKind, RunRequest};
use persistence::model_run_schedules::ScheduleRow;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_model_run_schedule,
        list_model_run_schedules,
        get_model_run_schedule,
        update_model_run_schedule,
        delete_model_run_schedule
    ),
    components(schemas(ModelRunSchedule, ScheduleInput))
)]
pub struct ModelRunSchedulesApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_model_run_schedule)
        .service(list_model_run_schedules)
        .service(get_model_run_schedule)
        .service(update_model_run_schedule)
        .service(delete_model_run_schedule);
}

/// A schedule of model runs.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a4e2-7c1d-7b3e-9f10-eeeeeeeeeeee",
    "kind": "clv",
    "request": {"kind": "clv", "parameters": {"horizon_months": 12}},
    "cron": "0 2 * * 6",
    "enabled": true,
    "next_run_at": "2026-12-04T22:30:00Z",
    "last_run_id": null,
    "created_by": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb",
    "created_at": "2026-12-03T09:00:00Z",
    "updated_at": "2026-12-03T09:00:00Z",
    "version": 1
}))]
pub struct ModelRunSchedule {
    pub id: Uuid,
    pub kind: RunKind,
    /// The run request each occurrence queues; defaults (such as today) resolve then.
    pub request: RunRequest,
    /// Minute, hour, day of month, month, day of week, on the business's wall clock.
    pub cron: String,
    pub enabled: bool,
    /// The next occurrence (`null` when disabled).
    pub next_run_at: Option<DateTime<Utc>>,
    /// The run the latest occurrence queued (`GET /analytics/runs/{id}`).
    pub last_run_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl ModelRunSchedule {
    fn of(row: &ScheduleRow) -> ApiResult<ModelRunSchedule> {
        let request = schedules::request_of(row)?;
        Ok(ModelRunSchedule {
            id: row.id.0,
            kind: request.kind(),
            request,
            cron: row.cron.clone(),
            enabled: row.enabled,
            next_run_at: row.next_run_at.map(|at| at.0),
            last_run_id: row.last_run_id.map(|id| id.0),
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
        })
    }
}

fn location(id: Uuid) -> String {
    format!("/api/v1/analytics/schedules/{id}")
}

/// Schedule model runs.
///
/// Each time `cron` names on the business's wall clock (its time zone), a run of
/// `request` is queued as `POST /analytics/runs` would, its defaults resolved then
/// (`as_of` and `calibration_end` default to that day). The run records the schedule
/// (`schedule_id`). An occurrence that finds a run of the kind still queued or running is
/// skipped. Every server process keeps the next occurrence queued, and exactly one runs
/// it.
///
/// Needs `analytics:run`. Audited as `model_run_schedule.create`. Problems: 422
/// `validation_failed` for a pattern that does not parse (`invalid_cron`), never occurs
/// (`never_occurs`) or occurs more than once an hour (`too_frequent`), and for the
/// request's parameters as for `POST /analytics/runs` (under `request.parameters`).
#[utoipa::path(
    tag = "analytics",
    operation_id = "create_model_run_schedule",
    request_body = ScheduleInput,
    responses(
        (status = 201, description = "Scheduled", body = ModelRunSchedule, headers(("Location" = String), ("ETag" = String)))
    )
)]
#[post("/api/v1/analytics/schedules")]
pub async fn create_model_run_schedule(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<ScheduleInput>,
) -> ApiResult<HttpResponse> {
    let input = body.0;
    let row = state
        .db(move |conn| Ok(schedules::create(conn, &principal, input)?))
        .await?;
    Ok(etag::created(
        &location(row.id.0),
        row.id.0,
        row.version,
        &ModelRunSchedule::of(&row)?,
    ))
}

/// List model-run schedules.
///
/// In creation order, one page at a time. Needs `records:read` with visibility `all`
/// (as reading runs). Problems: 400 `invalid_cursor`.
#[utoipa::path(
    tag = "analytics",
    operation_id = "list_model_run_schedules",
    params(PageParams),
    responses((status = 200, description = "One page of schedules", body = Page<ModelRunSchedule>))
)]
#[get("/api/v1/analytics/schedules")]
pub async fn list_model_run_schedules(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let (cursor, fetch) = (page.cursor.clone(), page.fetch_limit());
    let rows = state
        .db(move |conn| Ok(schedules::list(conn, &principal, cursor.as_ref(), fetch)?))
        .await?;
    let page = Page::from_rows(rows, page.limit, schedules::cursor_after, |row| {
        ModelRunSchedule::of(&row)
    });
    let data = page.data.into_iter().collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(Page {
        data,
        next_cursor: page.next_cursor,
        has_more: page.has_more,
    }))
}

/// Get a model-run schedule.
///
/// Needs `records:read` with visibility `all`.
#[utoipa::path(
    tag = "analytics",
    operation_id = "get_model_run_schedule",
    params(("id" = Uuid, Path, description = "Schedule id")),
    responses((status = 200, description = "The schedule", body = ModelRunSchedule, headers(("ETag" = String))))
)]
#[get("/api/v1/analytics/schedules/{id}")]
pub async fn get_model_run_schedule(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let row = state
        .db(move |conn| Ok(schedules::get(conn, &principal, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &ModelRunSchedule::of(&row)?,
    ))
}

/// Change a model-run schedule (JSON Merge Patch).
///
/// `request`, `cron` and `enabled` may change; the next occurrence is computed again from
/// now, and one queued before does nothing. Needs `analytics:run`; honours `If-Match`
/// (412 `precondition_failed` when stale). Audited as `model_run_schedule.update`.
/// Problems as for creation.
#[utoipa::path(
    tag = "analytics",
    operation_id = "update_model_run_schedule",
    params(("id" = Uuid, Path, description = "Schedule id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = ScheduleInput, content_type = "application/merge-patch+json", example = json!({"enabled": false})),
    responses(
        (status = 200, description = "Changed", body = ModelRunSchedule, headers(("ETag" = String))),
        (status = 412, description = "Changed since the ETag given", body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/api/v1/analytics/schedules/{id}")]
pub async fn update_model_run_schedule(
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
            Ok(schedules::update(
                conn,
                &principal,
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
        &ModelRunSchedule::of(&row)?,
    ))
}

/// Delete a model-run schedule.
///
/// Its queued occurrence does nothing; runs it queued stay. Needs `analytics:run`;
/// honours `If-Match`. Audited as `model_run_schedule.delete`.
#[utoipa::path(
    tag = "analytics",
    operation_id = "delete_model_run_schedule",
    params(("id" = Uuid, Path, description = "Schedule id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/analytics/schedules/{id}")]
pub async fn delete_model_run_schedule(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(schedules::delete(conn, &principal, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
