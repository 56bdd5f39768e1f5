//! Pipelines and lost reasons (S-4): the business's sales process, read by everyone with
//! `records:read` and changed with `crm:configure`; and the board of a pipeline.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::sales::board::{self, BoardRequest};
use application::sales::pipelines;
use chrono::{DateTime, Utc};
use domain::sales::pipelines::{LostReasonInput, PipelineInput, StageInput, StageKind};
use persistence::pipelines::{LostReasonRow, PipelineRecord, StageRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use super::deals::{page_of, Deal};
use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::pagination::creation_cursor;
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_pipeline,
        list_pipelines,
        get_pipeline,
        update_pipeline,
        delete_pipeline,
        get_pipeline_board,
        create_lost_reason,
        list_lost_reasons,
        get_lost_reason,
        update_lost_reason,
        delete_lost_reason
    ),
    components(schemas(
        Pipeline,
        PipelineStage,
        PipelineInput,
        StageInput,
        Board,
        BoardColumn,
        BoardTotals,
        LostReason,
        LostReasonInput
    ))
)]
pub struct PipelinesApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_pipeline)
        .service(list_pipelines)
        .service(get_pipeline)
        .service(update_pipeline)
        .service(delete_pipeline)
        .service(get_pipeline_board)
        .service(create_lost_reason)
        .service(list_lost_reasons)
        .service(get_lost_reason)
        .service(update_lost_reason)
        .service(delete_lost_reason);
}

/// A stage of a pipeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct PipelineStage {
    pub id: Uuid,
    pub name: String,
    pub name_en: Option<String>,
    /// Chance in percent that a deal here is won: 100 at `won`, 0 at `lost`.
    pub probability: i32,
    pub kind: StageKind,
}

impl PipelineStage {
    fn from_row(row: &StageRow) -> ApiResult<PipelineStage> {
        Ok(PipelineStage {
            id: row.id.0,
            name: row.name.clone(),
            name_en: row.name_en.clone(),
            probability: row.probability,
            kind: row
                .kind()
                .map_err(|err| ApiError::Internal(err.to_string()))?,
        })
    }
}

/// A pipeline: its open stages in order, then `won` and `lost`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193e0a0-0000-7000-8000-000000000001", "name": "فروش", "name_en": "Sales",
    "stuck_after_days": 30, "is_default": true,
    "stages": [
        {"id": "0193e0a0-0000-7000-8000-000000000011", "name": "واجد شرایط", "name_en": "Qualified", "probability": 10, "kind": "open"},
        {"id": "0193e0a0-0000-7000-8000-000000000014", "name": "برنده", "name_en": "Won", "probability": 100, "kind": "won"},
        {"id": "0193e0a0-0000-7000-8000-000000000015", "name": "از دست رفته", "name_en": "Lost", "probability": 0, "kind": "lost"}
    ],
    "created_at": "2026-12-08T00:00:00Z", "updated_at": "2026-12-08T00:00:00Z"
}))]
pub struct Pipeline {
    pub id: Uuid,
    pub name: String,
    pub name_en: Option<String>,
    /// An open deal unchanged for this many days is stuck.
    pub stuck_after_days: i32,
    /// Where deals that name no pipeline go.
    pub is_default: bool,
    pub stages: Vec<PipelineStage>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Pipeline {
    fn from_record(record: &PipelineRecord) -> ApiResult<Pipeline> {
        let row = &record.row;
        Ok(Pipeline {
            id: row.id.0,
            name: row.name.clone(),
            name_en: row.name_en.clone(),
            stuck_after_days: row.stuck_after_days,
            is_default: row.is_default,
            stages: record
                .stages
                .iter()
                .map(PipelineStage::from_row)
                .collect::<ApiResult<_>>()?,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        })
    }
}

/// Add a pipeline.
///
/// A pipeline with a name (unique after Persian normalisation) and an optional English
/// name, the days after which an unchanged open deal is stuck (default 30), and 1 to 30
/// open stages in order, each with a name and a win probability (0–100 %); the stages
/// `won` (100 %) and `lost` (0 %) follow them in every pipeline. `is_default: true`
/// moves the default mark here.
///
/// Needs `crm:configure`. Audited as `pipeline.create`; safe to retry with an
/// `Idempotency-Key`. Problems: 409 `conflict` when the name is taken; 422
/// `validation_failed` for a blank name (`required`), `stuck_after_days` outside
/// 1..3650, no or too many stages (`invalid_length`), a probability outside 0..100, a
/// stage name given twice or one of `won`/`lost` (`duplicate`), a stage `id`
/// (`not_found`: new stages have none), text rules.
#[utoipa::path(
    tag = "pipelines",
    operation_id = "create_pipeline",
    request_body = PipelineInput,
    responses(
        (status = 201, description = "Created", body = Pipeline, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/pipelines")]
pub async fn create_pipeline(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<PipelineInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let input = body.0;
    let record = state
        .db(move |conn| Ok(pipelines::create(conn, &acting, input)?))
        .await?;
    let location = format!("/api/v1/pipelines/{}", record.row.id.0);
    Ok(etag::created(
        &location,
        record.row.id.0,
        record.row.version,
        &Pipeline::from_record(&record)?,
    ))
}

/// List pipelines.
///
/// Every pipeline with its stages, in creation order (the default one, made with the
/// installation, first), one page at a time. Needs `records:read`.
#[utoipa::path(
    tag = "pipelines",
    operation_id = "list_pipelines",
    params(PageParams),
    responses((status = 200, description = "One page of pipelines", body = Page<Pipeline>))
)]
#[get("/api/v1/pipelines")]
pub async fn list_pipelines(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let acting = principal.0;
    let records = state
        .db(move |conn| Ok(pipelines::list(conn, &acting, cursor.as_ref(), limit)?))
        .await?;
    let page = Page::from_rows(
        records,
        page.limit,
        |record| creation_cursor(record.row.created_at.0, record.row.id.0),
        |record| Pipeline::from_record(&record),
    )
    .collect_results()?;
    Ok(HttpResponse::Ok().json(page))
}

/// Get a pipeline.
///
/// With its stages in order. Needs `records:read`. Answers with an `ETag` for a later
/// `If-Match`.
#[utoipa::path(
    tag = "pipelines",
    operation_id = "get_pipeline",
    params(("id" = Uuid, Path, description = "Pipeline id")),
    responses((status = 200, description = "Found", body = Pipeline, headers(("ETag" = String))))
)]
#[get("/api/v1/pipelines/{id}")]
pub async fn get_pipeline(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let record = state
        .db(move |conn| Ok(pipelines::get(conn, &acting, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        record.row.version,
        &Pipeline::from_record(&record)?,
    ))
}

/// Change a pipeline (JSON Merge Patch).
///
/// Names, `stuck_after_days` and `is_default` change as sent (the default mark moves
/// by setting it on another pipeline, never by clearing it). `stages`, when sent,
/// replaces the list of open stages: an entry with the `id` of a stage keeps that stage
/// (renamed, moved, re-weighted: the board and forecast weigh with the new
/// probability), an entry without one adds a stage, and a stage left out is removed —
/// unless deals are at it or passed through it (409 `conflict`; rename it instead).
///
/// Needs `crm:configure`; honours `If-Match` (412 when stale). Audited as
/// `pipeline.update`. Problems as for creation, and 422 `required` on `is_default`
/// when the default pipeline would lose its mark.
#[utoipa::path(
    tag = "pipelines",
    operation_id = "update_pipeline",
    params(("id" = Uuid, Path, description = "Pipeline id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = PipelineInput, content_type = "application/merge-patch+json", example = json!({"stuck_after_days": 21})),
    responses(
        (status = 200, description = "Changed", body = Pipeline, headers(("ETag" = String))),
        (status = 409, description = "A removed stage has deals, or the name is taken", body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/api/v1/pipelines/{id}")]
pub async fn update_pipeline(
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
    let record = state
        .db(move |conn| {
            Ok(pipelines::update(
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
        record.row.version,
        &Pipeline::from_record(&record)?,
    ))
}

/// Delete a pipeline.
///
/// Only a pipeline no deal is in, and not the default one (409 `conflict` otherwise).
/// Needs `crm:configure`; honours `If-Match`. Audited as `pipeline.delete`.
#[utoipa::path(
    tag = "pipelines",
    operation_id = "delete_pipeline",
    params(("id" = Uuid, Path, description = "Pipeline id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "Deals are in the pipeline, or it is the default", body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/api/v1/pipelines/{id}")]
pub async fn delete_pipeline(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(pipelines::delete(conn, &acting, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Which deals a board shows.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BoardParams {
    /// Only this stage's column, e.g. to page it on with `cursor`.
    pub stage: Option<Uuid>,
    /// The column's `next_cursor`, with `stage`.
    pub cursor: Option<String>,
    /// Deals per column, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// The open deals of a column in one currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoardTotals {
    pub currency: String,
    pub deals: i64,
    pub amount: i64,
    /// Σ amount × the stage's probability, rounded half up to the minor unit.
    pub weighted_amount: i64,
}

/// A stage of the board.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoardColumn {
    pub stage: PipelineStage,
    /// Open deals at the stage that the caller may see.
    pub deals: i64,
    /// Their amounts per currency.
    pub totals: Vec<BoardTotals>,
    /// The first page of those deals, oldest first (or the page after `cursor`).
    pub page: Page<Deal>,
}

/// A pipeline's board.
#[derive(Debug, Serialize, ToSchema)]
pub struct Board {
    pub pipeline_id: Uuid,
    /// The open stages in order (only the one asked for with `stage`).
    pub columns: Vec<BoardColumn>,
}

/// A pipeline's board.
///
/// The pipeline's open stages in order, each with the number of its open deals, their
/// amounts and weighted amounts (amount × the stage's probability) per currency, and
/// the first page of those deals, oldest first. A column pages on by itself:
/// `?stage=<id>&cursor=<its next_cursor>` answers that column alone with its next page.
/// The pages come from the stage's index and the figures from the pipeline's open deals
/// only, so a board costs what it shows, whatever the number of closed deals.
///
/// Needs `records:read`; only deals within the caller's record visibility count and show.
/// Problems: 404 for an unknown pipeline; 400 for a `stage` that is not an open stage of
/// the pipeline, a `cursor` without `stage` or a forged cursor; 422 for a `limit`
/// outside 1..200, and 422 `too_large` on `amount` or `weighted_amount` when a column's
/// deals add up past the largest amount (sums are exact, never wrapped or cut).
#[utoipa::path(
    tag = "pipelines",
    operation_id = "get_pipeline_board",
    params(("id" = Uuid, Path, description = "Pipeline id"), BoardParams),
    responses((status = 200, description = "The board", body = Board))
)]
#[get("/api/v1/pipelines/{id}/board")]
pub async fn get_pipeline_board(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    params: web::Query<BoardParams>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let params = params.into_inner();
    let request = BoardRequest {
        stage: params.stage,
        cursor: params.cursor,
        limit: params.limit,
    };
    let context = state.resolve_context().await?;
    let acting = principal.0;
    let found = state
        .db(move |conn| Ok(board::board(conn, &acting, id, request, &context)?))
        .await?;
    let columns = found
        .columns
        .into_iter()
        .map(|column| {
            Ok(BoardColumn {
                stage: PipelineStage::from_row(&column.stage)?,
                deals: column.deals,
                totals: column
                    .totals
                    .into_iter()
                    .map(|cell| BoardTotals {
                        currency: cell.currency,
                        deals: cell.deals,
                        amount: cell.amount,
                        weighted_amount: cell.weighted_amount,
                    })
                    .collect(),
                page: page_of(&column.search, column.page)?,
            })
        })
        .collect::<ApiResult<_>>()?;
    Ok(HttpResponse::Ok().json(Board {
        pipeline_id: found.pipeline.row.id.0,
        columns,
    }))
}

/// A reason deals are lost.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a4e2-7c1d-7b3e-9f10-cccccccccccc", "name": "قیمت بالا", "name_en": "Price too high", "active": true, "created_at": "2026-12-08T10:00:00Z", "updated_at": "2026-12-08T10:00:00Z"}))]
pub struct LostReason {
    pub id: Uuid,
    pub name: String,
    pub name_en: Option<String>,
    /// Inactive reasons stay on past deals but are not accepted for new losses.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&LostReasonRow> for LostReason {
    fn from(row: &LostReasonRow) -> Self {
        LostReason {
            id: row.id.0,
            name: row.name.clone(),
            name_en: row.name_en.clone(),
            active: row.active,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        }
    }
}

/// Add a lost reason.
///
/// A reason a deal can be lost for, named when a deal moves to `lost`. Needs
/// `crm:configure`. Audited as `lost_reason.create`; safe to retry with an
/// `Idempotency-Key`. Problems: 409 `conflict` when the name is taken (after Persian
/// normalisation); 422 for a blank name or text rules.
#[utoipa::path(
    tag = "pipelines",
    operation_id = "create_lost_reason",
    request_body = LostReasonInput,
    responses(
        (status = 201, description = "Created", body = LostReason, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/lost-reasons")]
pub async fn create_lost_reason(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<LostReasonInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let input = body.0;
    let row = state
        .db(move |conn| Ok(pipelines::create_reason(conn, &acting, input)?))
        .await?;
    let location = format!("/api/v1/lost-reasons/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &LostReason::from(&row),
    ))
}

/// List lost reasons.
///
/// Every reason, active or not, in creation order, one page at a time. Needs
/// `records:read`.
#[utoipa::path(
    tag = "pipelines",
    operation_id = "list_lost_reasons",
    params(PageParams),
    responses((status = 200, description = "One page of lost reasons", body = Page<LostReason>))
)]
#[get("/api/v1/lost-reasons")]
pub async fn list_lost_reasons(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let acting = principal.0;
    let rows = state
        .db(move |conn| {
            Ok(pipelines::list_reasons(
                conn,
                &acting,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let page = Page::from_rows(
        rows,
        page.limit,
        |row| creation_cursor(row.created_at.0, row.id.0),
        |row| LostReason::from(&row),
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Get a lost reason.
///
/// Needs `records:read`. Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "pipelines",
    operation_id = "get_lost_reason",
    params(("id" = Uuid, Path, description = "Lost reason id")),
    responses((status = 200, description = "Found", body = LostReason, headers(("ETag" = String))))
)]
#[get("/api/v1/lost-reasons/{id}")]
pub async fn get_lost_reason(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(pipelines::get_reason(conn, &acting, id)?))
        .await?;
    Ok(etag::single(&req, id, row.version, &LostReason::from(&row)))
}

/// Change a lost reason (JSON Merge Patch).
///
/// Rename it or (de)activate it; deals lost for it keep it. Needs `crm:configure`;
/// honours `If-Match` (412 when stale). Audited as `lost_reason.update`. Problems as for
/// creation.
#[utoipa::path(
    tag = "pipelines",
    operation_id = "update_lost_reason",
    params(("id" = Uuid, Path, description = "Lost reason id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = LostReasonInput, content_type = "application/merge-patch+json", example = json!({"active": false})),
    responses((status = 200, description = "Changed", body = LostReason, headers(("ETag" = String))))
)]
#[patch("/api/v1/lost-reasons/{id}")]
pub async fn update_lost_reason(
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
            Ok(pipelines::update_reason(
                conn,
                &acting,
                id,
                &precondition,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    Ok(etag::single(&req, id, row.version, &LostReason::from(&row)))
}

/// Delete a lost reason.
///
/// Only a reason no deal was lost for; one in use answers 409 `conflict` (deactivate it
/// instead). Needs `crm:configure`; honours `If-Match`. Audited as `lost_reason.delete`.
#[utoipa::path(
    tag = "pipelines",
    operation_id = "delete_lost_reason",
    params(("id" = Uuid, Path, description = "Lost reason id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "Deals were lost for it", body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/api/v1/lost-reasons/{id}")]
pub async fn delete_lost_reason(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(pipelines::delete_reason(conn, &acting, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
