//! Deals (S-4): creating, reading, searching, changing and deleting them, and their
//! stage history. A deal is visible by its owner and team under the caller's record
//! visibility, exactly as a customer is by its own.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::error::AppError;
use application::sales::deals::{self, DealDetails, DealSearch, HistoryEntry};
use chrono::{DateTime, NaiveDate, Utc};
use domain::sales::deals::{total, weighted, DealInput, DealLineInput, StageEvent};
use domain::sales::pipelines::StageKind;
use persistence::deals::DealLineRow;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::products::business_currency;
use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::search::{SearchPage, SearchRequest};
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_deal,
        list_deals,
        search_deals,
        get_deal,
        update_deal,
        delete_deal,
        get_deal_history
    ),
    components(schemas(
        Deal,
        DealLine,
        DealInput,
        DealLineInput,
        StageTime,
        StageKind,
        StageEvent,
        DealStageChange
    ))
)]
pub struct DealsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_deal)
        .service(list_deals)
        .service(search_deals)
        .service(get_deal)
        .service(update_deal)
        .service(delete_deal)
        .service(get_deal_history);
}

/// A product line of a deal.
#[derive(Debug, Serialize, ToSchema)]
pub struct DealLine {
    pub product_id: Uuid,
    pub quantity: i64,
    pub unit_price: i64,
    pub discount: i64,
    /// quantity × unit_price − discount.
    pub total: i64,
}

impl From<&DealLineRow> for DealLine {
    fn from(row: &DealLineRow) -> Self {
        DealLine {
            product_id: row.product_id.0,
            quantity: row.quantity,
            unit_price: row.unit_price,
            discount: row.discount,
            total: row.total,
        }
    }
}

/// How long a deal spent at a stage.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageTime {
    pub stage_id: Uuid,
    /// Whole seconds over every stay; the current stay up to now.
    pub seconds: i64,
}

/// A deal. Amounts are integer minor units of `currency` (whole rials for IRR).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a4e2-7c1d-7b3e-9f10-cccccccccccc", "title": "تجهیز شعبهٔ ونک",
    "customer_id": "0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaaa", "contact_ids": [],
    "owner_id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb", "team_id": null,
    "pipeline_id": "0193e0a0-0000-7000-8000-000000000001", "stage_id": "0193e0a0-0000-7000-8000-000000000012",
    "status": "open", "probability": 40, "amount": 450000000, "weighted_amount": 180000000, "currency": "IRR",
    "lines": [], "expected_close_date": "2027-02-15", "source": "exhibition", "campaign": "yalda-1405",
    "lead_id": null, "lost_reason_id": null, "description": null, "closed_at": null,
    "last_activity_at": "2026-12-08T09:31:00Z", "stuck": false,
    "time_in_stages": [{"stage_id": "0193e0a0-0000-7000-8000-000000000012", "seconds": 3600}],
    "created_at": "2026-12-08T09:31:00Z", "updated_at": "2026-12-08T09:31:00Z"
}))]
pub struct Deal {
    pub id: Uuid,
    pub title: String,
    pub customer_id: Uuid,
    /// Persons of the customer the deal is worked with, in order.
    pub contact_ids: Vec<Uuid>,
    pub owner_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub pipeline_id: Uuid,
    pub stage_id: Uuid,
    /// The kind of the stage: `open`, `won` or `lost`.
    pub status: StageKind,
    /// The stage's win probability, in percent.
    pub probability: i32,
    pub amount: i64,
    /// amount × probability, rounded half up to the minor unit.
    pub weighted_amount: i64,
    pub currency: String,
    pub lines: Vec<DealLine>,
    pub expected_close_date: Option<NaiveDate>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub lead_id: Option<Uuid>,
    pub lost_reason_id: Option<Uuid>,
    pub description: Option<String>,
    /// When the deal was won or lost; null while open.
    pub closed_at: Option<DateTime<Utc>>,
    /// The last change of the deal.
    pub last_activity_at: DateTime<Utc>,
    /// Open and unchanged for the pipeline's `stuck_after_days`.
    pub stuck: bool,
    /// Per stage the deal entered, in the order first entered.
    pub time_in_stages: Vec<StageTime>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Values of the deal custom fields by key.
    #[schema(value_type = Object)]
    pub custom_fields: serde_json::Value,
}

impl Deal {
    pub fn from_details(details: &DealDetails) -> ApiResult<Deal> {
        let row = &details.record.row;
        Ok(Deal {
            id: row.id.0,
            title: row.title.clone(),
            customer_id: row.customer_id.0,
            contact_ids: details.record.contact_ids.clone(),
            owner_id: row.owner_id.map(|id| id.0),
            team_id: row.team_id.map(|id| id.0),
            pipeline_id: row.pipeline_id.0,
            stage_id: row.stage_id.0,
            status: row
                .status()
                .map_err(|err| ApiError::Internal(err.to_string()))?,
            probability: details.stage.probability,
            amount: row.amount,
            // At most the amount itself: a probability is at most 100 %.
            weighted_amount: total(
                "weighted_amount",
                weighted(i128::from(row.amount) * i128::from(details.stage.probability)),
            )
            .map_err(|violation| ApiError::from(AppError::Invalid(vec![violation])))?,
            currency: row.currency.clone(),
            lines: details.record.lines.iter().map(DealLine::from).collect(),
            expected_close_date: row.expected_close_date,
            source: row.source.clone(),
            campaign: row.campaign.clone(),
            lead_id: row.lead_id.map(|id| id.0),
            lost_reason_id: row.lost_reason_id.map(|id| id.0),
            description: row.description.clone(),
            closed_at: row.closed_at.map(|at| at.0),
            last_activity_at: row.last_activity_at.0,
            stuck: details.stuck,
            time_in_stages: details
                .time_in_stages
                .iter()
                .map(|(stage_id, seconds)| StageTime {
                    stage_id: *stage_id,
                    seconds: *seconds,
                })
                .collect(),
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            custom_fields: row.custom_fields.0.clone(),
        })
    }
}

/// Create a deal.
///
/// A deal with a customer the caller may see, optionally its contacts (persons listed
/// as personnel of that customer), an owner (default: the caller) and team (default:
/// the owner's), a pipeline (default: the default pipeline, or the stage's) and stage
/// (default: the pipeline's first open stage). Its worth is either an `amount` in
/// integer minor units of `currency` (default: the business currency), or product
/// `lines` priced by the server as orders are (a line's `unit_price` defaults to the
/// product's; the products must be priced in the deal's currency), whose total is the
/// amount: a client-sent `amount` that differs is refused. A deal created at a `won` or
/// `lost` stage is closed at once; a lost one needs `lost_reason_id`. The stage is the
/// first entry of the deal's stage history. `custom_fields` holds values of the deal
/// custom fields (`/custom-fields` with `entity: deal`), checked against their
/// definitions as customers' are.
///
/// Needs `records:write`. Audited as `deal.create`; safe to retry with an
/// `Idempotency-Key`. Problems: 422 `validation_failed` naming every broken rule:
/// `customer_id` not a customer the caller may see (`not_found`), erased or merged;
/// `contact_ids[i]` not personnel of the customer (`not_personnel`) or repeated;
/// `owner_id`/`team_id` unknown (`not_found`) or outside what the caller may assign
/// (`not_allowed`); `pipeline_id`/`stage_id` unknown or not matching
/// (`not_in_pipeline`); `lost_reason_id` missing at a lost stage (`required`), given at
/// another (`only_when_lost`), unknown or inactive; `amount` out of 0..10^15 or not what
/// the lines add up to (`mismatch`); line rules as for orders; text rules; a custom
/// value that breaks its definition, named `custom_fields.<key>` (`unknown_field`,
/// `invalid_type`, `not_an_option`, `required`…).
#[utoipa::path(
    tag = "deals",
    operation_id = "create_deal",
    request_body = DealInput,
    responses(
        (status = 201, description = "Created", body = Deal, headers(("Location" = String), ("ETag" = String))),
        (status = 422, description = "A broken rule", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/deals")]
pub async fn create_deal(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<DealInput>,
) -> ApiResult<HttpResponse> {
    let currency = business_currency(&state).await?;
    let acting = principal.0;
    let input = body.0;
    let details = state
        .db(move |conn| Ok(deals::create(conn, &acting, input, currency)?))
        .await?;
    let row = &details.record.row;
    let location = format!("/api/v1/deals/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &Deal::from_details(&details)?,
    ))
}

pub(crate) async fn run_deal_search(
    state: &AppState,
    principal: Principal,
    request: SearchRequest,
) -> ApiResult<Page<Deal>> {
    let definitions = state.db(|conn| Ok(deals::definitions(conn)?)).await?;
    let context = state.resolve_context().await?;
    let search = deals::resolve_search(request, &definitions, &context)?;
    let acting = principal.0;
    let (search, found) = state
        .db(move |conn| {
            let found = deals::search(conn, &acting, &search)?;
            Ok((search, found))
        })
        .await?;
    page_of(&search, found)
}

/// The page of a deal search's fetched deals.
pub(crate) fn page_of(
    search: &application::search::Search<DealSearch>,
    found: Vec<DealDetails>,
) -> ApiResult<Page<Deal>> {
    search
        .page(found, |details| Deal::from_details(&details))
        .collect_results()
}

/// List deals.
///
/// The deals the caller may see, newest first, one page at a time. For filters use
/// `POST /deals/search`. Needs `records:read`.
#[utoipa::path(
    tag = "deals",
    operation_id = "list_deals",
    params(PageParams),
    responses((status = 200, description = "One page of deals", body = Page<Deal>))
)]
#[get("/api/v1/deals")]
pub async fn list_deals(
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
    Ok(HttpResponse::Ok().json(run_deal_search(&state, principal, request).await?))
}

/// Search deals.
///
/// The search convention over the deals the caller may see: filter on `title`,
/// `customer_id`, `owner_id`, `team_id`, `pipeline_id`, `stage_id`, `status` (`open`,
/// `won`, `lost`), `stuck` (open and unchanged for the pipeline's `stuck_after_days`),
/// `amount`, `currency`, `expected_close_date`, `source`, `campaign`, `lead_id`,
/// `lost_reason_id`, `closed_at`, `last_activity_at`, `created_by`, `created_at`,
/// `updated_at` (dates with relative periods on the Jalali or Gregorian calendar); sort
/// by `id`, `amount`, `expected_close_date`, `closed_at` or `created_at`. Every deal
/// custom field filters as `custom.<key>` by its type. `q` finds the title with Persian
/// letters and digits normalised.
///
/// Needs `records:read`. Problems: 400 `invalid_cursor`; 422 `validation_failed` naming
/// every unknown field, wrong operator or bad value with its path.
#[utoipa::path(
    tag = "deals",
    operation_id = "search_deals",
    request_body(
        content = SearchRequest,
        example = json!({"filter": {"and": [
            {"field": "status", "op": "eq", "value": "open"},
            {"field": "stuck", "op": "eq", "value": true},
            {"field": "expected_close_date", "op": "eq", "value": {"relative": "this_quarter", "calendar": "jalali"}}
        ]}, "sort": [{"field": "amount", "direction": "desc"}], "limit": 50})
    ),
    responses((status = 200, description = "One page of matching deals", body = Page<Deal>))
)]
#[post("/api/v1/deals/search")]
pub async fn search_deals(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<SearchRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(run_deal_search(&state, principal, body.0).await?))
}

/// Get a deal.
///
/// With its lines, whether it is stuck and the time it spent at each stage. Needs
/// `records:read`; the deal must be within the caller's record visibility (404
/// `not_found` otherwise, exactly as for a missing one). Answers with an `ETag` for a
/// later `If-Match`.
#[utoipa::path(
    tag = "deals",
    operation_id = "get_deal",
    params(("id" = Uuid, Path, description = "Deal id")),
    responses((status = 200, description = "Found", body = Deal, headers(("ETag" = String))))
)]
#[get("/api/v1/deals/{id}")]
pub async fn get_deal(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let details = state
        .db(move |conn| Ok(deals::get(conn, &acting, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        details.record.row.version,
        &Deal::from_details(&details)?,
    ))
}

/// Change a deal (JSON Merge Patch).
///
/// Any field may change. A new `stage_id` moves the deal and is recorded in its stage
/// history (a stage of another pipeline goes with its `pipeline_id`); entering `won`
/// or `lost` closes the deal (`closed_at`), returning to an open stage reopens it and
/// drops the lost reason. Sending `lines` prices them anew (the amount follows); to
/// state an amount instead send `"lines": []` with it. Every change is activity: the
/// deal is no longer stuck. `custom_fields` merges member by member (`null` removes a
/// value) and the result is checked against the deal custom fields.
///
/// Needs `records:write` and the deal within the caller's visibility. Honours
/// `If-Match` (412 when stale; of two changes based on one version, one wins). Audited
/// as `deal.update`. Problems as for creation.
#[utoipa::path(
    tag = "deals",
    operation_id = "update_deal",
    params(("id" = Uuid, Path, description = "Deal id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = DealInput, content_type = "application/merge-patch+json", example = json!({"expected_close_date": "2027-03-01", "source": "referral"})),
    responses((status = 200, description = "Changed", body = Deal, headers(("ETag" = String))))
)]
#[patch("/api/v1/deals/{id}")]
pub async fn update_deal(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    let currency = business_currency(&state).await?;
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    let details = state
        .db(move |conn| {
            Ok(deals::update(
                conn,
                &acting,
                id,
                &precondition,
                currency,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    Ok(etag::single(
        &req,
        id,
        details.record.row.version,
        &Deal::from_details(&details)?,
    ))
}

/// Delete a deal.
///
/// The deal goes with its lines, contacts and stage history; the audit log keeps what
/// it was. A deal with quotes stays (409 `conflict`): they are the record of what was
/// offered. Needs `records:delete` and the deal within the caller's visibility; honours
/// `If-Match`. Audited as `deal.delete`.
#[utoipa::path(
    tag = "deals",
    operation_id = "delete_deal",
    params(("id" = Uuid, Path, description = "Deal id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/deals/{id}")]
pub async fn delete_deal(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(deals::delete(conn, &acting, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// One stage a deal entered.
#[derive(Debug, Serialize, ToSchema)]
pub struct DealStageChange {
    pub id: Uuid,
    /// Null for the stage the deal was created at.
    pub from_stage_id: Option<Uuid>,
    pub to_stage_id: Uuid,
    pub event: StageEvent,
    pub changed_at: DateTime<Utc>,
    /// The user who moved the deal; null for the system or a removed user.
    pub changed_by: Option<Uuid>,
}

impl From<&HistoryEntry> for DealStageChange {
    fn from(entry: &HistoryEntry) -> Self {
        let change = &entry.change;
        DealStageChange {
            id: change.id.0,
            from_stage_id: change.from_stage_id.map(|id| id.0),
            to_stage_id: change.to_stage_id.0,
            event: entry.event,
            changed_at: change.changed_at.0,
            changed_by: change.changed_by.map(|id| id.0),
        }
    }
}

/// A deal's stage history.
///
/// Every stage the deal entered, oldest first: its creation, moves between open stages,
/// wins, losses and reopenings, with when and by whom. Needs `records:read` and the deal
/// within the caller's visibility.
#[utoipa::path(
    tag = "deals",
    operation_id = "get_deal_history",
    params(("id" = Uuid, Path, description = "Deal id")),
    responses((status = 200, description = "The history", body = Vec<DealStageChange>))
)]
#[get("/api/v1/deals/{id}/history")]
pub async fn get_deal_history(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let entries = state
        .db(move |conn| Ok(deals::history(conn, &acting, id)?))
        .await?;
    let body: Vec<DealStageChange> = entries.iter().map(DealStageChange::from).collect();
    Ok(HttpResponse::Ok().json(body))
}
