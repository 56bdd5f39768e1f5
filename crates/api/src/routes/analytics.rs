//! Model runs: RFM and CLV analyses of the purchase history, run as
//! background jobs, whose scores land on every customer they cover.

use actix_web::{get, post, web, HttpResponse};
use application::analytics::runs;
use chrono::{DateTime, Utc};
use domain::model_runs::{
    ChurnParameters, ClusterParameters, ClvParameters, RfmParameters, RunKind, RunRequest, TimeUnit,
};
use persistence::jobs::JobStatus;
use persistence::model_runs::ModelRun;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use super::jobs::{job_location, JobErrorEntry, JobState};
use crate::auth::Principal;
use crate::conventions::{JsonBody, Page, PageParams};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_model_run,
        list_model_runs,
        get_model_run,
        cancel_model_run,
        rerun_model_run
    ),
    components(schemas(
        ModelRunResource,
        RunRequest,
        RunKind,
        RfmParameters,
        ClvParameters,
        ClusterParameters,
        ChurnParameters,
        TimeUnit
    ))
)]
pub struct AnalyticsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_model_run)
        .service(list_model_runs)
        .service(get_model_run)
        .service(cancel_model_run)
        .service(rerun_model_run);
}

/// A model run: what was asked, the figures used, where it is, and its metadata.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaaa",
    "kind": "clv",
    "status": "succeeded",
    "progress": 1.0,
    "current": true,
    "request": {"kind": "clv", "parameters": {"calibration_end": "2026-09-30", "holdout_end": "2026-11-30"}},
    "parameters": {"calibration_end": "2026-09-30", "holdout_end": "2026-11-30", "time_unit": "week",
                   "horizon_months": 12, "monthly_discount_rate": 0.01, "margin": 1.0, "penalizer": 0.0},
    "job_id": "0193a4e2-7c1d-7b3e-9f10-cccccccccccc",
    "result": {"input": {"orders": 6919, "customers": 2357, "first_purchase": "2026-01-01", "last_purchase": "2026-09-30"},
               "scored": 2357, "cleared": 0},
    "errors": [],
    "created_by": "0193a4e2-7c1d-7b3e-9f10-2a4b6c8d0e1f",
    "schedule_id": null,
    "created_at": "2026-12-01T08:15:00Z",
    "succeeded_at": "2026-12-01T08:15:09Z",
    "finished_at": "2026-12-01T08:15:09Z"
}))]
pub struct ModelRunResource {
    pub id: Uuid,
    pub kind: RunKind,
    /// `queued`, `running`, `succeeded` (its scores are stored), `failed` or `cancelled`.
    pub status: JobState,
    /// Share of the work done, 0 to 1: reading the history up to 0.45, fitting, storing
    /// the scores from 0.5.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub progress: f64,
    /// Whether this is the latest succeeded run of its kind, whose scores customers
    /// carry.
    pub current: bool,
    /// The request as it was sent; `POST …/rerun` sends it again.
    pub request: RunRequest,
    /// The parameters used, every default filled in (dates resolved in the business time
    /// zone when the run was requested).
    pub parameters: Value,
    /// The job that carries the run out (`GET /api/v1/jobs/{id}` for its creator).
    pub job_id: Uuid,
    /// Metadata of a succeeded run: `input` (purchases read, customers, first and last
    /// purchase day), `scored` customers, `cleared` scores of earlier runs on customers
    /// this run no longer covers; for `rfm` the customers per `segments`; for `clv` the
    /// fitted `bgnbd` and `gamma_gamma` parameters with their `report` (log-likelihood,
    /// standard errors, convergence, iterations) and, with a holdout period, the
    /// `holdout` check: mean actual and predicted purchases per calibration frequency;
    /// for `clusters` the `k` used and how (`k_chosen_by`), the `silhouettes` of the k
    /// tried, the `features`, `inertia`, `iterations`, `converged` and the `profiles`
    /// (customers and mean features per cluster); for `churn` the `features`, the
    /// `training` buyers (and how many churned), the `holdout` check (buyers, AUC) and the
    /// fitted `model` (intercept, coefficients on standardised features, means, scales,
    /// report).
    pub result: Option<Value>,
    /// Why the latest attempt failed, if it did; `validation_failed` for a history the
    /// models cannot use (no purchases in the window, a fit that fails).
    pub errors: Vec<JobErrorEntry>,
    pub created_by: Option<Uuid>,
    /// The schedule whose occurrence queued the run (`GET /analytics/schedules/{id}`);
    /// `null` for a run started by hand.
    pub schedule_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub succeeded_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl ModelRunResource {
    fn of(run: ModelRun, current: bool) -> ApiResult<ModelRunResource> {
        let status = if run.row.succeeded_at.is_some() {
            JobState::Succeeded
        } else {
            JobStatus::parse(&run.job_status)
                .ok_or_else(|| {
                    ApiError::Internal(format!("stored job status `{}`", run.job_status))
                })?
                .into()
        };
        let errors = JobErrorEntry::from_stored(
            run.error_code.as_deref(),
            run.last_error.clone(),
            crate::i18n::current(),
        )
        .into_iter()
        .collect();
        Ok(ModelRunResource {
            id: run.row.id.0,
            kind: RunKind::parse(&run.row.kind)
                .ok_or_else(|| ApiError::Internal(format!("stored run kind `{}`", run.row.kind)))?,
            status,
            progress: if status == JobState::Succeeded {
                1.0
            } else {
                run.progress
            },
            current,
            request: serde_json::from_value(run.row.request.0)
                .map_err(|err| ApiError::Internal(format!("stored run request: {err}")))?,
            parameters: run.row.parameters.0,
            job_id: run.row.job_id.0,
            result: run.row.result.map(|result| result.0),
            errors,
            created_by: run.row.created_by.map(|id| id.0),
            schedule_id: run.row.schedule_id.map(|id| id.0),
            created_at: run.row.created_at.0,
            succeeded_at: run.row.succeeded_at.map(|at| at.0),
            finished_at: run.finished_at.map(|at| at.0),
        })
    }
}

/// `GET` location of a run.
fn run_location(id: Uuid) -> String {
    format!("/api/v1/analytics/runs/{id}")
}

fn accepted(run: ModelRun) -> ApiResult<HttpResponse> {
    let job = run.row.job_id.0;
    let run = ModelRunResource::of(run, false)?;
    Ok(HttpResponse::Accepted()
        .insert_header((actix_web::http::header::LOCATION, run_location(run.id)))
        .insert_header(("Link", format!("<{}>; rel=\"job\"", job_location(job))))
        .json(run))
}

/// Start a model run.
///
/// `{"kind": "rfm"}` scores every buyer 1–5 on recency (days since the last purchase),
/// frequency (purchase days) and monetary value (net spend), by quintile, and names a
/// segment (`champions`, `loyal`, `potential_loyalist`, `new`, `promising`,
/// `need_attention`, `about_to_sleep`, `at_risk`, `cannot_lose`, `hibernating`,
/// `lost`), as of `as_of` (default today).
///
/// `{"kind": "clv"}` fits BG/NBD and Gamma-Gamma on purchases up to `calibration_end`
/// (default today) and gives every buyer P(alive), expected purchases over
/// `horizon_months`, expected spend per purchase and the discounted CLV — the figures
/// `peyvand analyze clv` gives on the same transactions. With `holdout_end`, purchases
/// after the calibration are compared with the prediction per frequency (the run's
/// quality check in `result.holdout`).
///
/// `{"kind": "clusters"}` groups buyers by k-means on four standardised behavioural
/// features as of `as_of` (default today): days since the last purchase, purchase days,
/// the logarithm of net spend and days since the first purchase. With `k` (2–10) that
/// many clusters; without, 2 to 8 are tried and the best silhouette wins
/// (`result.silhouettes`). `result.profiles` describes each cluster in the features'
/// own units; every buyer carries its cluster (`scores.cluster`, searchable as
/// `score.cluster`). Seeded, so a run over the same history gives the same clusters.
///
/// `{"kind": "churn"}` learns churn from the history itself: the buyers as they were
/// `window_days` (default 90) before `as_of` (default today), described by the same four
/// features, labelled by whether they bought since, train a logistic regression (a
/// seeded quarter is held out and the model's AUC on it reported in `result.holdout`).
/// Every buyer as of `as_of` then gets the probability of buying nothing in the next
/// `window_days` (`scores.churn.risk`, searchable as `score.churn_risk`) and up to three
/// `drivers`: the features raising its risk most above an average buyer's.
///
/// Purchases are orders paid, fulfilled or partly returned, net of refunds, grouped by
/// the day they were placed in the business time zone; amounts are in minor units of
/// the business currency. The run is a job: poll the run (or its job) until it is
/// final. When it succeeds its scores become the customers' current ones; customers
/// created since have none.
///
/// Needs `analytics:run` (admins, managers, analysts). Audited as `model_run.create`.
/// Problems: 409 `conflict` while a run of the same kind is queued or running; 422
/// `validation_failed` naming each bad parameter (dates in the future, a holdout end
/// not after the calibration end, out-of-range numbers, unknown fields).
#[utoipa::path(
    tag = "analytics",
    operation_id = "create_model_run",
    request_body(
        content = RunRequest,
        example = json!({"kind": "clv", "parameters": {"calibration_end": "2026-09-30", "holdout_end": "2026-11-30", "time_unit": "week"}})
    ),
    responses(
        (status = 202, description = "Queued", body = ModelRunResource, headers(("Location" = String))),
        (status = 409, description = "A run of this kind is queued or running", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/analytics/runs")]
pub async fn create_model_run(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<RunRequest>,
) -> ApiResult<HttpResponse> {
    let request = body.0;
    let run = state
        .db(move |conn| Ok(runs::start(conn, &principal, request)?))
        .await?;
    accepted(run)
}

/// Which runs to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunFilters {
    /// Only runs of this kind.
    pub kind: Option<RunKind>,
}

/// List model runs.
///
/// Newest first, one page at a time, optionally of one `kind`. Needs `records:read`
/// and visibility over every customer (`all`): a run describes the whole base, so a
/// caller who sees only some customers gets 403 `forbidden`. Problems: 400
/// `invalid_cursor`.
#[utoipa::path(
    tag = "analytics",
    operation_id = "list_model_runs",
    params(PageParams, RunFilters),
    responses((status = 200, description = "One page of runs", body = Page<ModelRunResource>))
)]
#[get("/api/v1/analytics/runs")]
pub async fn list_model_runs(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
    filters: web::Query<RunFilters>,
) -> ApiResult<HttpResponse> {
    let kind = filters.into_inner().kind;
    let (cursor, fetch) = (page.cursor.clone(), page.fetch_limit());
    let rows = state
        .db(move |conn| Ok(runs::list(conn, &principal, kind, cursor.as_ref(), fetch)?))
        .await?;
    let page = Page::from_rows(rows, page.limit, runs::cursor_after, |view| {
        ModelRunResource::of(view.run, view.current)
    });
    let data = page.data.into_iter().collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(Page {
        data,
        next_cursor: page.next_cursor,
        has_more: page.has_more,
    }))
}

/// Get a model run.
///
/// Its status and progress while it runs, its metadata once it has succeeded. Needs
/// `records:read` with visibility `all` (403 `forbidden` otherwise).
#[utoipa::path(
    tag = "analytics",
    operation_id = "get_model_run",
    params(("id" = Uuid, Path, description = "Run id")),
    responses((status = 200, description = "The run", body = ModelRunResource))
)]
#[get("/api/v1/analytics/runs/{id}")]
pub async fn get_model_run(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let view = state
        .db(move |conn| Ok(runs::get(conn, &principal, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(ModelRunResource::of(view.run, view.current)?))
}

/// Cancel a model run.
///
/// A queued run will not start; a running one stops at its next step, unless it is
/// already storing its scores, which it then finishes (a half-stored run would leave
/// customers with scores of a run that never became current). Needs `analytics:run`.
/// Audited as `model_run.cancel`. Problems: 409 `conflict` when the run has finished.
#[utoipa::path(
    tag = "analytics",
    operation_id = "cancel_model_run",
    params(("id" = Uuid, Path, description = "Run id")),
    responses((status = 200, description = "The run", body = ModelRunResource))
)]
#[post("/api/v1/analytics/runs/{id}/cancel")]
pub async fn cancel_model_run(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let view = state
        .db(move |conn| Ok(runs::cancel(conn, &principal, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(ModelRunResource::of(view.run, view.current)?))
}

/// Run a model again.
///
/// Queues a new run with the request of this one; defaults (such as a calibration end
/// of "today") resolve again now. Needs `analytics:run`. Problems as for
/// `POST /analytics/runs`.
#[utoipa::path(
    tag = "analytics",
    operation_id = "rerun_model_run",
    params(("id" = Uuid, Path, description = "Run id")),
    responses(
        (status = 202, description = "Queued", body = ModelRunResource, headers(("Location" = String))),
        (status = 409, description = "A run of this kind is queued or running", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/analytics/runs/{id}/rerun")]
pub async fn rerun_model_run(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let run = state
        .db(move |conn| Ok(runs::rerun(conn, &principal, id)?))
        .await?;
    accepted(run)
}
