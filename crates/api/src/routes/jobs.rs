//! Jobs (P-7): the status of long-running work started through the API. A job is
//! visible to the user who started it and to administrators (`users:manage`); anyone
//! else gets 404, as if it did not exist.

use actix_web::{get, post, web, HttpResponse};
use application::jobs::queue;
use chrono::{DateTime, Utc};
use persistence::jobs::{Job, JobStatus};
use serde::Serialize;
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::{Page, PageParams};
use crate::error::{ApiError, ApiResult};
use crate::i18n::{self, Lang};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(get_job, list_jobs, cancel_job),
    components(schemas(JobResource, JobState, JobErrorEntry))
)]
pub struct JobsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_jobs).service(get_job).service(cancel_job);
}

/// Where a job is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a worker (also between retries).
    Queued,
    Running,
    Succeeded,
    /// Every attempt failed; see `errors`.
    Failed,
    Cancelled,
}

impl From<JobStatus> for JobState {
    fn from(status: JobStatus) -> Self {
        match status {
            JobStatus::Queued => JobState::Queued,
            JobStatus::Running => JobState::Running,
            JobStatus::Succeeded => JobState::Succeeded,
            JobStatus::Failed => JobState::Failed,
            JobStatus::Cancelled => JobState::Cancelled,
        }
    }
}

/// Why a job attempt failed.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "code": "validation_failed",
    "message": "Some values break the rules; see detail",
    "detail": "custom_fields.branch: no such custom field"
}))]
pub struct JobErrorEntry {
    /// Stable code, e.g. `storage_error`, `validation_failed`, `unreadable_file`,
    /// `file_missing`, `worker_lost`, `internal_error`.
    pub code: String,
    /// What the code means, localised by `Accept-Language`.
    pub message: String,
    /// For a failure the caller can fix (bad rows, an unreadable file): what to change.
    /// Internal failures have none; their details are in the server log under the
    /// job id.
    pub detail: Option<String>,
}

impl JobErrorEntry {
    /// The stored failure of `job`. A failure recorded without a code (before codes
    /// were kept) may hold internal text, so it is shown as an internal error.
    fn of(job: &Job, lang: Lang) -> Option<JobErrorEntry> {
        Self::from_stored(job.error_code.as_deref(), job.last_error.clone(), lang)
    }

    /// The failure stored as a job's `error_code` and `last_error`.
    pub fn from_stored(
        error_code: Option<&str>,
        last_error: Option<String>,
        lang: Lang,
    ) -> Option<JobErrorEntry> {
        let (code, detail) = match (error_code, last_error) {
            (Some(code), detail) => (code, detail),
            (None, Some(_)) => (application::jobs::INTERNAL_ERROR, None),
            (None, None) => return None,
        };
        Some(JobErrorEntry {
            code: code.to_string(),
            message: i18n::job_error_message(code, lang).to_string(),
            detail,
        })
    }
}

/// A unit of background work and its outcome.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a4e2-7c1d-7b3e-9f10-cccccccccccc",
    "kind": "audit.verify",
    "status": "succeeded",
    "progress": 1.0,
    "attempts": 1,
    "max_attempts": 3,
    "result": {"events_checked": 1842, "intact": true},
    "errors": [],
    "created_by": "0193a4e2-7c1d-7b3e-9f10-2a4b6c8d0e1f",
    "created_at": "2026-11-20T08:15:00Z",
    "updated_at": "2026-11-20T08:15:02Z",
    "run_at": "2026-11-20T08:15:00Z",
    "finished_at": "2026-11-20T08:15:02Z"
}))]
pub struct JobResource {
    pub id: Uuid,
    /// What the job does, e.g. `audit.verify`.
    pub kind: String,
    pub status: JobState,
    /// Share of the work done, 0 to 1.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub progress: f64,
    /// Attempts started so far.
    pub attempts: i32,
    /// Attempts allowed before the job is `failed`.
    pub max_attempts: i32,
    /// The outcome of a `succeeded` job; its shape depends on `kind`.
    pub result: Option<Value>,
    /// Why the latest attempt failed, if it did (at most one entry).
    pub errors: Vec<JobErrorEntry>,
    /// The user who started the job; none for jobs the system started.
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the job runs (next): later than `created_at` while waiting to retry.
    pub run_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl TryFrom<Job> for JobResource {
    type Error = ApiError;

    fn try_from(job: Job) -> ApiResult<JobResource> {
        let status = job.status()?.into();
        let errors = JobErrorEntry::of(&job, crate::i18n::current())
            .into_iter()
            .collect();
        Ok(JobResource {
            id: job.id.0,
            kind: job.kind,
            status,
            progress: job.progress,
            attempts: job.attempts,
            max_attempts: job.max_attempts,
            result: job.result.map(|result| result.0),
            errors,
            created_by: job.created_by.map(|id| id.0),
            created_at: job.created_at.0,
            updated_at: job.updated_at.0,
            run_at: job.run_at.0,
            finished_at: job.finished_at.map(|at| at.0),
        })
    }
}

/// `GET` location of a job.
pub fn job_location(id: Uuid) -> String {
    format!("/api/v1/jobs/{id}")
}

/// The answer to a request that started `job`: 202 with the job and its `Location`.
pub fn accepted(job: Job) -> ApiResult<HttpResponse> {
    let job = JobResource::try_from(job)?;
    Ok(HttpResponse::Accepted()
        .insert_header((actix_web::http::header::LOCATION, job_location(job.id)))
        .json(job))
}

/// Get a job.
///
/// Status (`queued`, `running`, `succeeded`, `failed`, `cancelled`), progress from 0 to 1,
/// attempts, the result of a succeeded job (its shape depends on `kind`) and the error of a
/// failed attempt, with a stable `code`. Poll it after a 202 until the status is final; see
/// *Long-running work: jobs* in the API conventions.
///
/// Needs `jobs:read`; a job is visible to the user who started it and to admins
/// (`users:manage`); anyone else gets 404 `not_found`, so job ids cannot be probed.
#[utoipa::path(
    tag = "jobs",
    operation_id = "get_job",
    params(("id" = Uuid, Path, description = "Job id")),
    responses((status = 200, description = "The job", body = JobResource))
)]
#[get("/api/v1/jobs/{id}")]
pub async fn get_job(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let job = state
        .db(move |conn| Ok(queue::get(conn, &principal, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(JobResource::try_from(job)?))
}

/// List my jobs.
///
/// Jobs started by the caller, newest first, one page at a time. Needs `jobs:read`.
/// Problems: 400 `invalid_cursor` for a cursor that was altered or came from another
/// listing.
#[utoipa::path(
    tag = "jobs",
    operation_id = "list_jobs",
    params(PageParams),
    responses((status = 200, description = "One page of jobs", body = Page<JobResource>))
)]
#[get("/api/v1/jobs")]
pub async fn list_jobs(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let (cursor, fetch) = (page.cursor.clone(), page.fetch_limit());
    let rows = state
        .db(move |conn| Ok(queue::list(conn, &principal, cursor.as_ref(), fetch)?))
        .await?;
    let page = Page::from_rows(rows, page.limit, queue::cursor_after, JobResource::try_from);
    let data = page.data.into_iter().collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(Page {
        data,
        next_cursor: page.next_cursor,
        has_more: page.has_more,
    }))
}

/// Cancel a job.
///
/// A queued job will not run; a running job is told to stop and its result, if it still
/// produces one, is discarded.
///
/// Needs `jobs:read`; the caller's own jobs, or any for admins (`users:manage`); others get
/// 404 `not_found`. Audited as `job.cancel`. Problems: 409 `conflict` when the job has
/// already finished (succeeded, failed or cancelled).
#[utoipa::path(
    tag = "jobs",
    operation_id = "cancel_job",
    params(("id" = Uuid, Path, description = "Job id")),
    responses((status = 200, description = "The cancelled job", body = JobResource))
)]
#[post("/api/v1/jobs/{id}/cancel")]
pub async fn cancel_job(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let job = state
        .db(move |conn| Ok(queue::cancel(conn, &principal, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(JobResource::try_from(job)?))
}
