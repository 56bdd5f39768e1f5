//! Workflow automation (M-3): definitions with their versions, runs with their step
//! logs, cancelling a run and trying a definition on a customer without changing
//! anything. All of it needs `crm:configure`.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::error::AppError;
use application::workflows::engine::{self, PlannedStep};
use application::workflows::{self, definition_of, RunSubject};
use chrono::{DateTime, Utc};
use domain::workflows::{
    AnniversaryCalendar, DateField, RunStatus, Step, Trigger, WorkflowInput, WorkflowSubject,
};
use persistence::workflows::{RunFilter, RunRow, StepRow, VersionRow, WorkflowRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_workflow,
        list_workflows,
        get_workflow,
        update_workflow,
        delete_workflow,
        list_workflow_versions,
        dry_run_workflow,
        list_workflow_runs,
        get_workflow_run,
        cancel_workflow_run
    ),
    components(schemas(
        Workflow,
        WorkflowInput,
        WorkflowSubject,
        Trigger,
        DateField,
        AnniversaryCalendar,
        Step,
        WorkflowVersion,
        WorkflowRun,
        WorkflowRunStep,
        WorkflowRunDetail,
        RunStatus,
        DryRunRequest,
        DryRun,
        PlannedStep
    ))
)]
pub struct WorkflowsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_workflow)
        .service(list_workflows)
        .service(get_workflow)
        .service(update_workflow)
        .service(delete_workflow)
        .service(list_workflow_versions)
        .service(dry_run_workflow)
        .service(list_workflow_runs)
        .service(get_workflow_run)
        .service(cancel_workflow_run);
}

/// A workflow: its current version's definition.
#[derive(Debug, Serialize, ToSchema)]
pub struct Workflow {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// What the runs are about: customers or leads.
    pub subject: WorkflowSubject,
    pub trigger: Trigger,
    /// The filter tree a customer (or lead) must meet when a run starts; null:
    /// everyone.
    #[schema(value_type = Option<Object>)]
    pub condition: Option<serde_json::Value>,
    pub steps: Vec<Step>,
    pub active: bool,
    /// The current version; every change makes a new one, and runs keep theirs.
    pub version: i64,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<&WorkflowRow> for Workflow {
    type Error = ApiError;

    fn try_from(row: &WorkflowRow) -> ApiResult<Workflow> {
        let definition = definition_of(&row.definition)?;
        Ok(Workflow {
            id: row.id.0,
            name: row.name.clone(),
            description: row.description.clone(),
            subject: definition.subject,
            trigger: definition.trigger,
            condition: definition.condition,
            steps: definition.steps,
            active: row.active,
            version: row.version,
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        })
    }
}

/// One version of a workflow's definition.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowVersion {
    pub version: i64,
    pub trigger: Trigger,
    #[schema(value_type = Option<Object>)]
    pub condition: Option<serde_json::Value>,
    pub steps: Vec<Step>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<&VersionRow> for WorkflowVersion {
    type Error = ApiError;

    fn try_from(row: &VersionRow) -> ApiResult<WorkflowVersion> {
        let definition = definition_of(&row.definition)?;
        Ok(WorkflowVersion {
            version: row.version,
            trigger: definition.trigger,
            condition: definition.condition,
            steps: definition.steps,
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
        })
    }
}

/// A run of a workflow for one customer or lead.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowRun {
    pub id: Uuid,
    pub workflow_id: Uuid,
    /// The version of the definition the run keeps.
    pub version: i64,
    /// The customer the run is about (a workflow on customers).
    pub customer_id: Option<Uuid>,
    /// The lead the run is about (a workflow on leads).
    pub lead_id: Option<Uuid>,
    /// What started it: the outbox event (`event_type`, `event_id`, `payload`), the
    /// behavioural event (`event_name`, `event_id`) or the date.
    #[schema(value_type = Object)]
    pub cause: serde_json::Value,
    pub status: RunStatus,
    /// The next instruction of the compiled steps.
    pub position: i32,
    /// When a waiting run goes on.
    pub resume_at: Option<DateTime<Utc>>,
    /// Runs before it in a chain, each started by a step of the one before (0: started
    /// by a person's change, an app's event or a date).
    pub depth: i32,
    /// Why it was skipped, failed or cancelled.
    pub reason: Option<String>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl TryFrom<&RunRow> for WorkflowRun {
    type Error = ApiError;

    fn try_from(row: &RunRow) -> ApiResult<WorkflowRun> {
        Ok(WorkflowRun {
            id: row.id.0,
            workflow_id: row.workflow_id.0,
            version: row.version,
            customer_id: row.customer_id.map(|id| id.0),
            lead_id: row.lead_id.map(|id| id.0),
            cause: row.cause.0.clone(),
            status: engine::status_of(row)?,
            position: row.position,
            resume_at: row.resume_at.map(|at| at.0),
            depth: row.depth,
            reason: row.reason.clone(),
            started_at: row.started_at.0,
            updated_at: row.updated_at.0,
            finished_at: row.finished_at.map(|at| at.0),
        })
    }
}

/// A line of a run's step log.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowRunStep {
    /// The instruction's number in the compiled steps.
    pub position: i32,
    /// Where the step is in the definition, e.g. `steps[1].then[0]`, or `condition`.
    pub path: String,
    pub kind: String,
    /// `done`, `failed`, `waiting`, `then`, `else`, `met`, `not_met`.
    pub outcome: String,
    /// What it did (a task's id, the points' ledger entry), until when it waits, or
    /// why it failed (`code`, `violations`).
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
    pub at: DateTime<Utc>,
}

impl From<&StepRow> for WorkflowRunStep {
    fn from(row: &StepRow) -> Self {
        WorkflowRunStep {
            position: row.position,
            path: row.path.clone(),
            kind: row.kind.clone(),
            outcome: row.outcome.clone(),
            detail: row.detail.as_ref().map(|detail| detail.0.clone()),
            at: row.at.0,
        }
    }
}

/// A run with its step log.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowRunDetail {
    #[serde(flatten)]
    pub run: WorkflowRun,
    pub steps: Vec<WorkflowRunStep>,
}

impl WorkflowRunDetail {
    pub fn of(run: &RunRow, steps: &[StepRow]) -> ApiResult<WorkflowRunDetail> {
        Ok(WorkflowRunDetail {
            run: WorkflowRun::try_from(run)?,
            steps: steps.iter().map(WorkflowRunStep::from).collect(),
        })
    }
}

/// Whom to try a workflow on: a customer for a workflow on customers, a lead for one
/// on leads; exactly one of the two.
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"customer_id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb"}))]
pub struct DryRunRequest {
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    #[serde(default)]
    pub lead_id: Option<Uuid>,
}

/// What a run would do to the customer or lead now.
#[derive(Debug, Serialize, ToSchema)]
pub struct DryRun {
    pub steps: Vec<PlannedStep>,
}

/// Which runs to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorkflowRunFilters {
    /// Only runs of this workflow.
    pub workflow_id: Option<Uuid>,
    /// Only runs for this customer.
    pub customer_id: Option<Uuid>,
    /// Only runs for this lead.
    pub lead_id: Option<Uuid>,
    /// Only runs in this status.
    pub status: Option<RunStatus>,
}

fn workflow_response(req: &HttpRequest, row: &WorkflowRow) -> ApiResult<HttpResponse> {
    Ok(etag::single(
        req,
        row.id.0,
        row.version,
        &Workflow::try_from(row)?,
    ))
}

/// Create a workflow.
///
/// A `trigger` starts a run per customer it names: an outbox `event` (e.g.
/// `customer.created`, `customer.lifecycle_changed`, `order.placed`,
/// `segment.entered`, `ticket.sla_breached`, narrowed by `matching` payload values), a
/// `behaviour`al event by name, or a `date` (the customer's birth or marriage date,
/// every year on the Jalali or Gregorian calendar, `days_before` earlier, at midnight
/// in the business time zone) or a `schedule` (a cron pattern in the business time
/// zone: a run for everyone meeting the condition at each occurrence). The run goes on only for a customer who meets the
/// `condition` (the filter tree of `POST /customers/search`) and takes the `steps`:
/// `tag`, `untag`, `update_field`, `add_loyalty_points`, `create_task`, `wait`
/// (`minutes`, `business_minutes` on the business calendar, or until a `local_time` on
/// the next working day) and `branch` (a condition with `then` and `else` steps).
/// A trigger occurrence runs a workflow once; a workflow's own steps never start it
/// again, and chains of runs stop three deep. Needs `crm:configure`. Audited as
/// `workflow.create`. Problems: 409 `conflict` when the name is taken; 422 naming
/// each part by its path (`steps[1].then[0].tag_id`, `condition.and[0].field`).
#[utoipa::path(
    tag = "workflows",
    operation_id = "create_workflow",
    request_body = WorkflowInput,
    responses((status = 201, description = "Created", body = Workflow, headers(("Location" = String), ("ETag" = String))))
)]
#[post("/api/v1/workflows")]
pub async fn create_workflow(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<WorkflowInput>,
) -> ApiResult<HttpResponse> {
    let input = body.0;
    let row = state
        .db(move |conn| Ok(workflows::create(conn, &principal, input)?))
        .await?;
    let location = format!("/api/v1/workflows/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &Workflow::try_from(&row)?,
    ))
}

/// List workflows.
///
/// In creation order, one page at a time. Needs `crm:configure`.
#[utoipa::path(
    tag = "workflows",
    operation_id = "list_workflows",
    params(PageParams),
    responses((status = 200, description = "One page of workflows", body = Page<Workflow>))
)]
#[get("/api/v1/workflows")]
pub async fn list_workflows(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let rows = state
        .db(move |conn| Ok(workflows::list(conn, &principal, cursor.as_ref(), limit)?))
        .await?;
    let page = Page::from_rows(rows, page.limit, workflows::cursor_after, |row| {
        Workflow::try_from(&row)
    });
    Ok(HttpResponse::Ok().json(page.collect_results()?))
}

/// Get a workflow.
///
/// Needs `crm:configure`. Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "workflows",
    operation_id = "get_workflow",
    params(("id" = Uuid, Path, description = "Workflow id")),
    responses((status = 200, description = "Found", body = Workflow, headers(("ETag" = String))))
)]
#[get("/api/v1/workflows/{id}")]
pub async fn get_workflow(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let row = state
        .db(move |conn| Ok(workflows::get(conn, &principal, id)?))
        .await?;
    workflow_response(&req, &row)
}

/// Change a workflow (JSON Merge Patch).
///
/// Any member of the definition; a merge patch replaces `steps` and `trigger` whole.
/// Every change is a new version: runs under way keep the version they started with.
/// Needs `crm:configure`. Honours `If-Match` (412 when stale). Audited as
/// `workflow.update`.
#[utoipa::path(
    tag = "workflows",
    operation_id = "update_workflow",
    params(("id" = Uuid, Path, description = "Workflow id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = WorkflowInput, content_type = "application/merge-patch+json", example = json!({"active": false})),
    responses((status = 200, description = "Changed", body = Workflow, headers(("ETag" = String))))
)]
#[patch("/api/v1/workflows/{id}")]
pub async fn update_workflow(
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
            Ok(workflows::update(
                conn,
                &principal,
                id,
                &precondition,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    workflow_response(&req, &row)
}

/// Delete a workflow.
///
/// With its versions and runs; runs under way stop. Needs `crm:configure`. Honours
/// `If-Match`. Audited as `workflow.delete`.
#[utoipa::path(
    tag = "workflows",
    operation_id = "delete_workflow",
    params(
        ("id" = Uuid, Path, description = "Workflow id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/workflows/{id}")]
pub async fn delete_workflow(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(workflows::delete(conn, &principal, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List a workflow's versions.
///
/// Every version of its definition, oldest first. Needs `crm:configure`.
#[utoipa::path(
    tag = "workflows",
    operation_id = "list_workflow_versions",
    params(("id" = Uuid, Path, description = "Workflow id")),
    responses((status = 200, description = "The versions", body = Vec<WorkflowVersion>))
)]
#[get("/api/v1/workflows/{id}/versions")]
pub async fn list_workflow_versions(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let rows = state
        .db(move |conn| Ok(workflows::versions(conn, &principal, id)?))
        .await?;
    let versions = rows
        .iter()
        .map(WorkflowVersion::try_from)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(versions))
}

/// Try a workflow on a customer.
///
/// What a run of the current version would do to the customer now, changing nothing:
/// the condition and each branch checked against the customer as it is (a step's own
/// change is not seen by the branches after it), waits measured from now. Needs
/// `crm:configure` and the customer within visibility.
#[utoipa::path(
    tag = "workflows",
    operation_id = "dry_run_workflow",
    params(("id" = Uuid, Path, description = "Workflow id")),
    request_body = DryRunRequest,
    responses((status = 200, description = "What would happen", body = DryRun))
)]
#[post("/api/v1/workflows/{id}/dry-run")]
pub async fn dry_run_workflow(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<DryRunRequest>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let subject = match (body.0.customer_id, body.0.lead_id) {
        (Some(customer), None) => RunSubject::Customer(customer),
        (None, Some(lead)) => RunSubject::Lead(lead),
        _ => {
            return Err(AppError::field(
                "customer_id",
                "one_of",
                "give exactly one of customer_id and lead_id",
            )
            .into())
        }
    };
    let steps = state
        .db(move |conn| Ok(engine::dry_run(conn, &principal, id, subject)?))
        .await?;
    Ok(HttpResponse::Ok().json(DryRun { steps }))
}

/// List workflow runs.
///
/// In start order, one page at a time, optionally of one workflow, one customer or in
/// one status. Needs `crm:configure`.
#[utoipa::path(
    tag = "workflows",
    operation_id = "list_workflow_runs",
    params(PageParams, WorkflowRunFilters),
    responses((status = 200, description = "One page of runs", body = Page<WorkflowRun>))
)]
#[get("/api/v1/workflow-runs")]
pub async fn list_workflow_runs(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
    filters: web::Query<WorkflowRunFilters>,
) -> ApiResult<HttpResponse> {
    let filters = filters.into_inner();
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let rows = state
        .db(move |conn| {
            let filter = RunFilter {
                workflow: filters.workflow_id,
                customer: filters.customer_id,
                lead: filters.lead_id,
                status: filters.status.map(RunStatus::as_str),
            };
            Ok(workflows::runs(
                conn,
                &principal,
                filter,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let page = Page::from_rows(rows, page.limit, workflows::run_cursor, |row| {
        WorkflowRun::try_from(&row)
    });
    Ok(HttpResponse::Ok().json(page.collect_results()?))
}

/// Get a workflow run.
///
/// The run with its step log: each step taken, branch chosen, wait and failure with
/// its reason. Needs `crm:configure`.
#[utoipa::path(
    tag = "workflows",
    operation_id = "get_workflow_run",
    params(("id" = Uuid, Path, description = "Run id")),
    responses((status = 200, description = "The run", body = WorkflowRunDetail))
)]
#[get("/api/v1/workflow-runs/{id}")]
pub async fn get_workflow_run(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (run, steps) = state
        .db(move |conn| Ok(workflows::run(conn, &principal, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(WorkflowRunDetail::of(&run, &steps)?))
}

/// Cancel a workflow run.
///
/// A run with steps left takes no further step (a step under way finishes first).
/// Needs `crm:configure`. Problems: 409 `conflict` for a run already finished.
/// Audited as `workflow.run_cancel`.
#[utoipa::path(
    tag = "workflows",
    operation_id = "cancel_workflow_run",
    params(("id" = Uuid, Path, description = "Run id")),
    responses((status = 200, description = "Cancelled", body = WorkflowRun))
)]
#[post("/api/v1/workflow-runs/{id}/cancel")]
pub async fn cancel_workflow_run(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let row = state
        .db(move |conn| Ok(workflows::cancel_run(conn, &principal, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(WorkflowRun::try_from(&row)?))
}
