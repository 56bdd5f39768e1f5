//! Activities (S-7): calls, meetings, e-mails and visits that happened, logged against
//! a customer, a lead or a deal; listing them per record with the search; correcting
//! them.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::sales::activities::{self, ActivitySearch};
use chrono::{DateTime, Utc};
use domain::sales::activities::{ActivityInput, ActivityKind, Direction};
use domain::sales::tasks::SubjectType;
use persistence::activities::ActivityRow;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::search::{SearchPage, SearchRequest};
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_activity,
        list_activities,
        search_activities,
        get_activity,
        update_activity,
        delete_activity
    ),
    components(schemas(Activity, ActivityInput, ActivityKind, Direction))
)]
pub struct ActivitiesApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_activity)
        .service(list_activities)
        .service(search_activities)
        .service(get_activity)
        .service(update_activity)
        .service(delete_activity);
}

/// An activity as logged.
#[derive(Debug, Serialize, ToSchema)]
pub struct Activity {
    pub id: Uuid,
    pub kind: ActivityKind,
    pub subject_type: SubjectType,
    pub subject_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub duration_minutes: Option<i32>,
    pub direction: Option<Direction>,
    pub outcome: Option<String>,
    pub notes: Option<String>,
    /// Who logged it.
    pub performed_by: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

impl Activity {
    pub fn from_row(row: &ActivityRow) -> ApiResult<Activity> {
        let subject = activities::subject_of(row)?;
        let corrupt = |what: &str| {
            ApiError::from(application::error::AppError::Internal(format!(
                "stored activity {}: {what}",
                row.id.0
            )))
        };
        Ok(Activity {
            id: row.id.0,
            kind: ActivityKind::parse(&row.kind).ok_or_else(|| corrupt("kind"))?,
            subject_type: subject.kind,
            subject_id: subject.id,
            occurred_at: row.occurred_at.0,
            duration_minutes: row.duration_minutes,
            direction: match &row.direction {
                Some(direction) => {
                    Some(Direction::parse(direction).ok_or_else(|| corrupt("direction"))?)
                }
                None => None,
            },
            outcome: row.outcome.clone(),
            notes: row.notes.clone(),
            performed_by: row.performed_by.map(|id| id.0),
            team_id: row.team_id.map(|id| id.0),
            created_at: row.created_at.0,
            version: row.version,
        })
    }
}

/// Log an activity.
///
/// A `call`, `meeting`, `email` or `visit` that happened (`occurred_at`: RFC 3339, or a
/// local date-time read in the business time zone; not in the future), on a customer, a
/// lead or a deal the caller may see, with its duration, direction (calls and e-mails),
/// outcome and notes; performed by the caller. On a deal it moves `last_activity_at`
/// forward, so the deal is no longer stuck; a lead still `new` becomes `contacted`.
///
/// Needs `records:write`. Audited as `activity.create` (and `lead.update` for a lead it
/// contacts); safe to retry with an `Idempotency-Key`. Problems: 422
/// `validation_failed` naming every broken rule (`subject_id` `not_found` for a record
/// the caller may not see).
#[utoipa::path(
    tag = "activities",
    operation_id = "create_activity",
    request_body = ActivityInput,
    responses(
        (status = 201, description = "Logged", body = Activity, headers(("Location" = String), ("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/activities")]
pub async fn create_activity(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<ActivityInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let input = body.0;
    let row = state
        .db(move |conn| Ok(activities::create(conn, &acting, input)?))
        .await?;
    let location = format!("/api/v1/activities/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &Activity::from_row(&row)?,
    ))
}

async fn run_activity_search(
    state: &AppState,
    principal: Principal,
    request: SearchRequest,
) -> ApiResult<Page<Activity>> {
    let context = state.resolve_context().await?;
    let search = application::search::Search::<ActivitySearch>::resolve(request, &context)?;
    let acting = principal.0;
    let (search, rows) = state
        .db(move |conn| {
            let rows = activities::search(conn, &acting, &search)?;
            Ok((search, rows))
        })
        .await?;
    search
        .page(rows, |row| Activity::from_row(&row))
        .collect_results()
}

/// List activities.
///
/// The activities the caller may see, latest first, one page at a time. For a record's
/// activities search on `customer_id`, `lead_id` or `deal_id`. Needs `records:read`.
#[utoipa::path(
    tag = "activities",
    operation_id = "list_activities",
    params(PageParams),
    responses((status = 200, description = "One page of activities", body = Page<Activity>))
)]
#[get("/api/v1/activities")]
pub async fn list_activities(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let request = SearchRequest {
        sort: Some(serde_json::json!([{"field": "occurred_at", "direction": "desc"}])),
        limit: Some(page.limit as i64),
        cursor: page.cursor.as_ref().map(|cursor| cursor.encode()),
        ..SearchRequest::default()
    };
    Ok(HttpResponse::Ok().json(run_activity_search(&state, principal, request).await?))
}

/// Search activities.
///
/// The search convention over the activities the caller may see: filter on `kind`,
/// `customer_id`, `lead_id`, `deal_id`, `occurred_at`, `direction`, `outcome`,
/// `performed_by`, `team_id`, `created_at`; sort by `id`, `occurred_at` or
/// `created_at`. `q` finds the outcome.
///
/// Needs `records:read`. Problems: 400 `invalid_cursor`; 422 `validation_failed`
/// naming every unknown field, wrong operator or bad value with its path.
#[utoipa::path(
    tag = "activities",
    operation_id = "search_activities",
    request_body(
        content = SearchRequest,
        example = json!({"filter": {"field": "kind", "op": "in", "value": ["call", "meeting"]},
            "sort": [{"field": "occurred_at", "direction": "desc"}], "limit": 50})
    ),
    responses((status = 200, description = "One page of matching activities", body = Page<Activity>))
)]
#[post("/api/v1/activities/search")]
pub async fn search_activities(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<SearchRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(run_activity_search(&state, principal, body.0).await?))
}

/// Get an activity.
///
/// Needs `records:read`; the activity must be visible to the caller (404 `not_found`
/// otherwise, exactly as for a missing one).
#[utoipa::path(
    tag = "activities",
    operation_id = "get_activity",
    params(("id" = Uuid, Path, description = "Activity id")),
    responses((status = 200, description = "Found", body = Activity, headers(("ETag" = String))))
)]
#[get("/api/v1/activities/{id}")]
pub async fn get_activity(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(activities::get(conn, &acting, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &Activity::from_row(&row)?,
    ))
}

/// Change an activity (JSON Merge Patch).
///
/// Corrects what was logged, checked as on logging: `kind`, `occurred_at` (not in the
/// future), `duration_minutes`, `direction`, `outcome`, `notes`. The record it is on
/// stays (`subject_type` and `subject_id` changed are 422 `immutable`), and so does who
/// logged it. A later `occurred_at` moves a deal's `last_activity_at` forward, as
/// logging does.
///
/// Needs `records:write` and the activity visible to the caller (404 `not_found`
/// otherwise). Honours `If-Match` (412 when stale). Audited as `activity.update`.
/// Problems: 422 `validation_failed` naming every broken rule.
#[utoipa::path(
    tag = "activities",
    operation_id = "update_activity",
    params(
        ("id" = Uuid, Path, description = "Activity id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    request_body(content = ActivityInput, content_type = "application/merge-patch+json", example = json!({"duration_minutes": 20, "outcome": "پیش‌فاکتور را پذیرفت"})),
    responses(
        (status = 200, description = "Changed", body = Activity, headers(("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/api/v1/activities/{id}")]
pub async fn update_activity(
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
            Ok(activities::update(
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
        &Activity::from_row(&row)?,
    ))
}

/// Delete an activity.
///
/// What it did to its record (a lead contacted, a deal's last activity) stays. Needs
/// `records:delete` and the activity visible to the caller. Honours `If-Match`.
/// Audited as `activity.delete`.
#[utoipa::path(
    tag = "activities",
    operation_id = "delete_activity",
    params(
        ("id" = Uuid, Path, description = "Activity id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/activities/{id}")]
pub async fn delete_activity(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(activities::delete(conn, &acting, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
