//! Tasks (S-7): creating, reading, searching, changing and deleting them. A task is
//! visible to its assignee, to the assignee's team under `team` visibility and to
//! whoever may see its subject record.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::sales::tasks::{self, TaskSearch};
use chrono::{DateTime, Utc};
use domain::calendar::LocalCalendar;
use domain::sales::tasks::{
    local_rfc3339, SubjectType, TaskInput, TaskKind, TaskPriority, TaskStatus,
};
use persistence::tasks::TaskRow;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::search::{SearchPage, SearchRequest};
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_task,
        list_tasks,
        search_tasks,
        get_task,
        update_task,
        delete_task
    ),
    components(schemas(Task, TaskInput, TaskKind, TaskStatus, TaskPriority, SubjectType))
)]
pub struct TasksApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_task)
        .service(list_tasks)
        .service(search_tasks)
        .service(get_task)
        .service(update_task)
        .service(delete_task);
}

/// A task as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct Task {
    pub id: Uuid,
    pub kind: TaskKind,
    pub title: String,
    pub description: Option<String>,
    /// The kind of record the task is about; absent for a personal to-do.
    pub subject_type: Option<SubjectType>,
    pub subject_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    /// The due instant in UTC.
    pub due_at: Option<DateTime<Utc>>,
    /// The same instant in the business time zone, with its offset
    /// (`2026-12-12T10:30:00+03:30`).
    pub due_at_local: Option<String>,
    pub priority: TaskPriority,
    /// Minutes before the due time at which the assignee is reminded.
    pub reminders: Vec<i64>,
    pub status: TaskStatus,
    pub outcome: Option<String>,
    /// When it was done or cancelled.
    pub completed_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl Task {
    pub fn from_row(row: &TaskRow, calendar: &LocalCalendar) -> ApiResult<Task> {
        let input = tasks::input_of(row, calendar)?;
        Ok(Task {
            id: row.id.0,
            kind: input.kind,
            title: input.title,
            description: input.description,
            subject_type: input.subject_type,
            subject_id: input.subject_id,
            assignee_id: input.assignee_id,
            team_id: input.team_id,
            due_at: row.due_at.map(|at| at.0),
            due_at_local: row.due_at.map(|at| local_rfc3339(at.0, calendar)),
            priority: input.priority,
            reminders: input.reminders,
            status: input.status,
            outcome: input.outcome,
            completed_at: row.completed_at.map(|at| at.0),
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
        })
    }
}

/// Create a task.
///
/// A `call`, `meeting`, `email`, `follow_up` or `todo` with a title, on a customer, a
/// lead or a deal the caller may see (`subject_type` and `subject_id`), or on nothing for
/// a personal to-do. `due_at` is RFC 3339, or a local date-time without an offset read
/// in the business time zone; `reminders` are minutes before it (at most 5), each fired
/// once as a notification to the assignee. The assignee defaults to the caller and the
/// team to the assignee's; a caller without `all` visibility may assign tasks only to
/// themselves (or, with `team`, their team). An assignee other than the caller is
/// notified.
///
/// Needs `records:write`. Audited as `task.create`; safe to retry with an
/// `Idempotency-Key`. Problems: 422 `validation_failed` naming every broken rule
/// (`subject_id` `not_found` for a record the caller may not see).
#[utoipa::path(
    tag = "tasks",
    operation_id = "create_task",
    request_body = TaskInput,
    responses(
        (status = 201, description = "Created", body = Task, headers(("Location" = String), ("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/tasks")]
pub async fn create_task(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<TaskInput>,
) -> ApiResult<HttpResponse> {
    let calendar = state.calendar().await?.local();
    let acting = principal.0;
    let input = body.0;
    let row = state
        .db(move |conn| Ok(tasks::create(conn, &acting, input)?))
        .await?;
    let location = format!("/api/v1/tasks/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &Task::from_row(&row, &calendar)?,
    ))
}

async fn run_task_search(
    state: &AppState,
    principal: Principal,
    request: SearchRequest,
) -> ApiResult<Page<Task>> {
    let context = state.resolve_context().await?;
    let calendar = state.calendar().await?.local();
    let search = application::search::Search::<TaskSearch>::resolve(request, &context)?;
    let acting = principal.0;
    let (search, rows) = state
        .db(move |conn| {
            let rows = tasks::search(conn, &acting, &search)?;
            Ok((search, rows))
        })
        .await?;
    search
        .page(rows, |row| Task::from_row(&row, &calendar))
        .collect_results()
}

/// List tasks.
///
/// The tasks the caller may see, newest first, one page at a time. For "my open
/// tasks", overdue tasks, tasks due today or a record's tasks use `POST /tasks/search`.
/// Needs `records:read`.
#[utoipa::path(
    tag = "tasks",
    operation_id = "list_tasks",
    params(PageParams),
    responses((status = 200, description = "One page of tasks", body = Page<Task>))
)]
#[get("/api/v1/tasks")]
pub async fn list_tasks(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let request = SearchRequest {
        sort: Some(serde_json::json!([{"field": "created_at", "direction": "desc"}])),
        limit: Some(page.limit as i64),
        cursor: page.cursor.as_ref().map(|cursor| cursor.encode()),
        ..SearchRequest::default()
    };
    Ok(HttpResponse::Ok().json(run_task_search(&state, principal, request).await?))
}

/// Search tasks.
///
/// The search convention over the tasks the caller may see: filter on `kind`, `title`,
/// `customer_id`, `lead_id`, `deal_id` (a record's tasks), `assignee_id`, `team_id`,
/// `due_at` (relative periods such as `today` are days of the business time zone),
/// `overdue` (open and due before now), `priority`, `status`, `completed_at`,
/// `created_by`, `created_at`, `updated_at`; sort by `id`, `due_at` (tasks without a due
/// time first in ascending order) or `created_at`. `q` finds the title.
///
/// Needs `records:read`. Problems: 400 `invalid_cursor`; 422 `validation_failed`
/// naming every unknown field, wrong operator or bad value with its path.
#[utoipa::path(
    tag = "tasks",
    operation_id = "search_tasks",
    request_body(
        content = SearchRequest,
        example = json!({"filter": {"and": [
            {"field": "status", "op": "eq", "value": "open"},
            {"field": "due_at", "op": "eq", "value": {"relative": "today"}}
        ]}, "sort": [{"field": "due_at", "direction": "asc"}], "limit": 50})
    ),
    responses((status = 200, description = "One page of matching tasks", body = Page<Task>))
)]
#[post("/api/v1/tasks/search")]
pub async fn search_tasks(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<SearchRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(run_task_search(&state, principal, body.0).await?))
}

/// Get a task.
///
/// Needs `records:read`; the task must be visible to the caller (404 `not_found`
/// otherwise, exactly as for a missing one). Answers with an `ETag` for a later
/// `If-Match`.
#[utoipa::path(
    tag = "tasks",
    operation_id = "get_task",
    params(("id" = Uuid, Path, description = "Task id")),
    responses((status = 200, description = "Found", body = Task, headers(("ETag" = String))))
)]
#[get("/api/v1/tasks/{id}")]
pub async fn get_task(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let calendar = state.calendar().await?.local();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(tasks::get(conn, &acting, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &Task::from_row(&row, &calendar)?,
    ))
}

/// Change a task (JSON Merge Patch).
///
/// Any field, checked as on creation: e.g. complete it with `{"status": "done",
/// "outcome": "…"}` (recording `completed_at`), reopen it with `{"status": "open"}`,
/// or move it with a new `due_at`. Its pending reminders move with the due time and
/// are cancelled when it closes; a new assignee other than the caller is notified.
///
/// Needs `records:write` and the task visible to the caller. Honours `If-Match` (412
/// when stale). Audited as `task.update`.
#[utoipa::path(
    tag = "tasks",
    operation_id = "update_task",
    params(("id" = Uuid, Path, description = "Task id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = TaskInput, content_type = "application/merge-patch+json", example = json!({"status": "done", "outcome": "پیش‌فاکتور را پذیرفت"})),
    responses((status = 200, description = "Changed", body = Task, headers(("ETag" = String))))
)]
#[patch("/api/v1/tasks/{id}")]
pub async fn update_task(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let calendar = state.calendar().await?.local();
    let acting = principal.0;
    let precondition = if_match.precondition();
    let row = state
        .db(move |conn| {
            Ok(tasks::update(
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
        &Task::from_row(&row, &calendar)?,
    ))
}

/// Delete a task.
///
/// With its pending reminders. Needs `records:delete` and the task visible to the
/// caller. Honours `If-Match`. Audited as `task.delete`.
#[utoipa::path(
    tag = "tasks",
    operation_id = "delete_task",
    params(
        ("id" = Uuid, Path, description = "Task id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/tasks/{id}")]
pub async fn delete_task(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(tasks::delete(conn, &acting, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
