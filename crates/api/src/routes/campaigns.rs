//! Marketing campaigns (M-2): definitions, launch and cancel, cost entries, results;
//! the public tracked links and open pixel of their messages; and the acquisition cost
//! report.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::campaigns::{self, CampaignResults, GoalProgress};
use application::reports::acquisition_cost::{
    self, AcquisitionCostDimension, AcquisitionCostGroupFigures, AcquisitionCostReport,
};
use application::reports::DayWindow;
use chrono::{DateTime, NaiveDate, Utc};
use domain::campaigns::{
    CampaignGoal, CampaignInput, CampaignMessage, CampaignStatus, CostInput, GoalMetric,
};
use persistence::campaigns::{CampaignRow, CostRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_campaign,
        list_campaigns,
        get_campaign,
        update_campaign,
        delete_campaign,
        launch_campaign,
        cancel_campaign,
        add_campaign_cost,
        list_campaign_costs,
        delete_campaign_cost,
        campaign_results,
        campaign_link,
        campaign_open,
        acquisition_cost_report
    ),
    components(schemas(
        Campaign,
        CampaignInput,
        CampaignMessage,
        CampaignGoal,
        GoalMetric,
        CampaignStatus,
        CostInput,
        CampaignCost,
        CampaignResults,
        GoalProgress,
        AcquisitionCostReport,
        AcquisitionCostGroupFigures,
        AcquisitionCostDimension
    ))
)]
pub struct CampaignsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_campaign)
        .service(list_campaigns)
        .service(get_campaign)
        .service(update_campaign)
        .service(delete_campaign)
        .service(launch_campaign)
        .service(cancel_campaign)
        .service(add_campaign_cost)
        .service(list_campaign_costs)
        .service(delete_campaign_cost)
        .service(campaign_results)
        .service(campaign_link)
        .service(campaign_open)
        .service(acquisition_cost_report);
}

/// A marketing campaign.
#[derive(Debug, Serialize, ToSchema)]
pub struct Campaign {
    pub id: Uuid,
    pub name: String,
    pub code: String,
    pub description: Option<String>,
    pub channel: String,
    pub segment_id: Option<Uuid>,
    pub message: Option<CampaignMessage>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub budget: Option<i64>,
    pub goal: Option<CampaignGoal>,
    pub attribution_window_days: i32,
    pub status: CampaignStatus,
    /// When it was launched.
    pub launched_at: Option<DateTime<Utc>>,
    /// When it was sent to the last member, or cancelled.
    pub completed_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl TryFrom<&CampaignRow> for Campaign {
    type Error = crate::error::ApiError;

    fn try_from(row: &CampaignRow) -> ApiResult<Campaign> {
        let input = campaigns::campaign_input(row)?;
        Ok(Campaign {
            id: row.id.0,
            name: input.name,
            code: input.code,
            description: input.description,
            channel: input.channel,
            segment_id: input.segment_id,
            message: input.message,
            scheduled_at: input.scheduled_at,
            budget: input.budget,
            goal: input.goal,
            attribution_window_days: input.attribution_window_days,
            status: CampaignStatus::parse(&row.status).ok_or_else(|| {
                application::AppError::Internal(format!("campaign status {:?}", row.status))
            })?,
            launched_at: row.launched_at.map(|at| at.0),
            completed_at: row.completed_at.map(|at| at.0),
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
        })
    }
}

fn campaign_response(req: &HttpRequest, row: &CampaignRow) -> ApiResult<HttpResponse> {
    Ok(etag::single(
        req,
        row.id.0,
        row.version,
        &Campaign::try_from(row)?,
    ))
}

/// One amount spent on a campaign.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignCost {
    pub id: Uuid,
    pub campaign_id: Uuid,
    /// Minor units of the business currency.
    pub amount: i64,
    pub incurred_on: NaiveDate,
    pub note: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<CostRow> for CampaignCost {
    fn from(row: CostRow) -> CampaignCost {
        CampaignCost {
            id: row.id.0,
            campaign_id: row.campaign_id.0,
            amount: row.amount,
            incurred_on: row.incurred_on,
            note: row.note,
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
        }
    }
}

/// Which campaigns to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CampaignFilters {
    /// Only campaigns in this status.
    pub status: Option<CampaignStatus>,
    /// Only campaigns of this marketing channel.
    pub channel: Option<String>,
}

/// Create a campaign.
///
/// A draft: its message goes to the members of `segment_id` through
/// `message.channel_account_id` once it is launched (`POST /campaigns/{id}/launch`). A
/// campaign without a message (an advertisement, say) is never launched and is measured
/// all the same: orders naming its `code` are its conversions, customers naming it as
/// their `acquisition_campaign` its acquisitions. Needs `records:write`. Audited as
/// `campaign.create`. Problems: 409 `conflict` when the code is taken; 422 naming
/// `name`, `code`, `channel`, `segment_id`, `message.*`, `budget`, `goal.target` or
/// `attribution_window_days`.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "create_campaign",
    request_body = CampaignInput,
    responses((status = 201, description = "Created", body = Campaign, headers(("Location" = String), ("ETag" = String))))
)]
#[post("/api/v1/campaigns")]
pub async fn create_campaign(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<CampaignInput>,
) -> ApiResult<HttpResponse> {
    let input = body.0;
    let row = state
        .db(move |conn| Ok(campaigns::create(conn, &principal, input)?))
        .await?;
    let location = format!("/api/v1/campaigns/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &Campaign::try_from(&row)?,
    ))
}

/// List campaigns.
///
/// In creation order, one page at a time, optionally of one `status` and `channel`.
/// Needs `records:read`.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "list_campaigns",
    params(PageParams, CampaignFilters),
    responses((status = 200, description = "One page of campaigns", body = Page<Campaign>))
)]
#[get("/api/v1/campaigns")]
pub async fn list_campaigns(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
    filters: web::Query<CampaignFilters>,
) -> ApiResult<HttpResponse> {
    let filters = filters.into_inner();
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let rows = state
        .db(move |conn| {
            Ok(campaigns::list(
                conn,
                &principal,
                filters.status,
                filters.channel.as_deref(),
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let page = Page::from_rows(rows, page.limit, campaigns::cursor_after, |row| {
        Campaign::try_from(&row)
    });
    Ok(HttpResponse::Ok().json(page.collect_results()?))
}

/// Get a campaign.
///
/// Needs `records:read`. Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "get_campaign",
    params(("id" = Uuid, Path, description = "Campaign id")),
    responses((status = 200, description = "Found", body = Campaign, headers(("ETag" = String))))
)]
#[get("/api/v1/campaigns/{id}")]
pub async fn get_campaign(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let row = state
        .db(move |conn| Ok(campaigns::get(conn, &principal, id)?))
        .await?;
    campaign_response(&req, &row)
}

/// Change a campaign (JSON Merge Patch).
///
/// A draft changes in every field; once launched, `code`, `channel`, `segment_id`,
/// `message` and `scheduled_at` stay (422 `immutable`) while the name, description,
/// budget, goal and attribution window still change. Needs `records:write`. Honours
/// `If-Match` (412 when stale). Audited as `campaign.update`.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "update_campaign",
    params(("id" = Uuid, Path, description = "Campaign id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = CampaignInput, content_type = "application/merge-patch+json", example = json!({"budget": 80_000_000, "goal": {"metric": "revenue", "target": 900_000_000}})),
    responses((status = 200, description = "Changed", body = Campaign, headers(("ETag" = String))))
)]
#[patch("/api/v1/campaigns/{id}")]
pub async fn update_campaign(
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
            Ok(campaigns::update(
                conn,
                &principal,
                id,
                &precondition,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    campaign_response(&req, &row)
}

/// Delete a campaign.
///
/// A draft, or a campaign cancelled before it reached anyone, with its costs; one
/// that went out, even to some members, is kept (409 `conflict`). Needs `crm:configure`. Honours `If-Match`. Audited as
/// `campaign.delete`.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "delete_campaign",
    params(
        ("id" = Uuid, Path, description = "Campaign id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/campaigns/{id}")]
pub async fn delete_campaign(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(campaigns::delete(conn, &principal, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Launch a campaign.
///
/// A draft with a segment and a message is scheduled: the `campaigns.send` job runs at
/// `scheduled_at` (now when null or past) and goes through the segment's members as
/// they are then, a page per transaction. A member gets the message when they have
/// consented to marketing on the account's channel (never asked is no consent) and
/// have an address on it; otherwise they are counted as skipped with the reason. The
/// consent to service messages and the quiet hours apply as to any message, and each
/// recipient's copy has its links tracked (`/api/v1/campaign-links/…`) and, by e-mail,
/// an open pixel. Needs `crm:configure`. Honours `If-Match`. Audited as
/// `campaign.launch`. Problems: 409 `conflict` when it is not a draft or the channel
/// account is inactive; 422 naming `segment_id` or `message` when missing,
/// `message.subject` for an e-mail without one, `message.template_id` for a template
/// that is gone, inactive or of another channel, `message.language` for a template
/// without that language. The links of the message as written are fixed now: a link
/// built from template variables differs per recipient and is left as written. Should
/// the account be deleted or deactivated, or the template become unusable, before the
/// job has gone through the members, the campaign stops as `failed`, audited as
/// `campaign.fail` with the reason; a member whose own copy cannot go out (too long
/// once filled in, say) is skipped as `unsendable`.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "launch_campaign",
    params(("id" = Uuid, Path, description = "Campaign id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    responses((status = 200, description = "Scheduled", body = Campaign, headers(("ETag" = String))))
)]
#[post("/api/v1/campaigns/{id}/launch")]
pub async fn launch_campaign(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let precondition = if_match.precondition();
    let row = state
        .db(move |conn| Ok(campaigns::launch(conn, &principal, id, &precondition)?))
        .await?;
    campaign_response(&req, &row)
}

/// Cancel a campaign.
///
/// A draft, scheduled or sending campaign stops: members not reached yet are not sent
/// to; messages already recorded still go out. Needs `crm:configure`. Honours
/// `If-Match`. Audited as `campaign.cancel`. Problems: 409 `conflict` when it was sent
/// or cancelled already.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "cancel_campaign",
    params(("id" = Uuid, Path, description = "Campaign id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    responses((status = 200, description = "Cancelled", body = Campaign, headers(("ETag" = String))))
)]
#[post("/api/v1/campaigns/{id}/cancel")]
pub async fn cancel_campaign(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let precondition = if_match.precondition();
    let row = state
        .db(move |conn| Ok(campaigns::cancel(conn, &principal, id, &precondition)?))
        .await?;
    campaign_response(&req, &row)
}

/// Enter a campaign cost.
///
/// An amount spent on the campaign (minor units of the business currency) on a day:
/// the costs add up to the campaign's `cost` in its results and, by the day, to the
/// acquisition cost report. Needs `records:write`. Audited as `campaign.cost_add`.
/// Problems: 422 naming `amount` (1 to 10^14, and a campaign's costs add up to at most
/// 10^14: `exceeds_total`), `incurred_on` (1900 to 2199) or `note`.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "add_campaign_cost",
    params(("id" = Uuid, Path, description = "Campaign id")),
    request_body = CostInput,
    responses((status = 201, description = "Entered", body = CampaignCost))
)]
#[post("/api/v1/campaigns/{id}/costs")]
pub async fn add_campaign_cost(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<CostInput>,
) -> ApiResult<HttpResponse> {
    let (id, input) = (id.into_inner(), body.0);
    let row = state
        .db(move |conn| Ok(campaigns::add_cost(conn, &principal, id, input)?))
        .await?;
    Ok(HttpResponse::Created().json(CampaignCost::from(row)))
}

/// A campaign's cost entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignCosts {
    pub data: Vec<CampaignCost>,
}

/// List a campaign's costs.
///
/// By the day they were spent. Needs `records:read`.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "list_campaign_costs",
    params(("id" = Uuid, Path, description = "Campaign id")),
    responses((status = 200, description = "The entries", body = CampaignCosts))
)]
#[get("/api/v1/campaigns/{id}/costs")]
pub async fn list_campaign_costs(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let rows = state
        .db(move |conn| Ok(campaigns::costs(conn, &principal, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(CampaignCosts {
        data: rows.into_iter().map(CampaignCost::from).collect(),
    }))
}

/// Delete a campaign cost.
///
/// Takes back an entry made by mistake. Needs `records:write`. Audited as
/// `campaign.cost_delete`.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "delete_campaign_cost",
    params(
        ("id" = Uuid, Path, description = "Campaign id"),
        ("cost_id" = Uuid, Path, description = "Cost entry id")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/campaigns/{id}/costs/{cost_id}")]
pub async fn delete_campaign_cost(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (id, cost) = path.into_inner();
    state
        .db(move |conn| Ok(campaigns::delete_cost(conn, &principal, id, cost)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A campaign's results.
///
/// Reach and what became of the messages (delivered, opened, clicked, replies), the
/// members skipped with their reasons, conversions and revenue, cost, cost per
/// acquisition, ROI and progress towards the goal. A conversion is a purchase (in the
/// business currency) that names the campaign's `code`, or one a recipient placed
/// within `attribution_window_days` after their message; each order counts once and
/// its revenue is net of refunds. Needs `records:read` and visibility `all` (the figures
/// count every recipient and buyer; 403 otherwise).
#[utoipa::path(
    tag = "campaigns",
    operation_id = "campaign_results",
    params(("id" = Uuid, Path, description = "Campaign id")),
    responses((status = 200, description = "The results", body = CampaignResults))
)]
#[get("/api/v1/campaigns/{id}/results")]
pub async fn campaign_results(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let results = state
        .db(move |conn| Ok(campaigns::results(conn, &principal, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(results))
}

/// Follow a tracked link.
///
/// The address a campaign message linked to, as a `302` redirect; the recipient's
/// click is counted. Public: the token in the path names the recipient. Problems: 404
/// for an unknown token or link.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "campaign_link",
    security(()),
    params(
        ("token" = String, Path, description = "The recipient's tracking token"),
        ("position" = i32, Path, description = "The link's place in the campaign's links")
    ),
    responses(
        (status = 302, description = "To the linked address", headers(("Location" = String))),
        (status = 404, description = "No such link", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/api/v1/campaign-links/{token}/{position}")]
pub async fn campaign_link(
    state: web::Data<AppState>,
    path: web::Path<(String, i32)>,
) -> ApiResult<HttpResponse> {
    let (token, position) = path.into_inner();
    let url = state
        .db(move |conn| Ok(campaigns::track_click(conn, &token, position)?))
        .await?;
    // A Persian path or query goes out percent-encoded: a header is ASCII.
    let location: String = url
        .bytes()
        .map(|byte| match byte {
            0x21..=0x7e => char::from(byte).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// The smallest transparent GIF (1×1).
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// A campaign e-mail's open pixel.
///
/// A 1×1 transparent GIF; fetching it counts the recipient's open (the first is kept).
/// Public: the token in the path names the recipient. Problems: 404 for an unknown
/// token.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "campaign_open",
    security(()),
    params(("token" = String, Path, description = "The recipient's tracking token")),
    responses(
        (status = 200, description = "The pixel", content_type = "image/gif", body = Vec<u8>),
        (status = 404, description = "No such recipient", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/api/v1/campaign-opens/{token}")]
pub async fn campaign_open(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let token = token.into_inner();
    state
        .db(move |conn| Ok(campaigns::track_open(conn, &token)?))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("image/gif")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(PIXEL))
}

/// The window and grouping of `GET /reports/acquisition-cost`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AcquisitionCostParams {
    /// First local day of the costs and acquisitions counted.
    pub from: NaiveDate,
    /// Last local day (inclusive).
    pub to: NaiveDate,
    /// `campaign` (by the campaign's code) or `channel` (the default).
    pub group_by: Option<AcquisitionCostDimension>,
}

/// Customer acquisition cost per campaign or channel.
///
/// Per campaign code or marketing channel: the campaign costs spent from `from` to `to`
/// (local days), the customers created in those days whose `acquisition_campaign` (or
/// `acquisition_channel`) names it, the CAC (cost ÷ acquired, to the nearest minor
/// unit), their mean CLV from the current `clv` run and CLV:CAC, their gross margin to
/// date (net revenue less the recorded unit cost of the units kept), the mean margin per
/// customer per month since acquisition (over a 30.44-day month), and the payback
/// period: CAC ÷ that monthly margin, in months (null when they earn no margin).
/// Needs `records:read` and visibility `all` (costs are the whole business's; 403
/// otherwise). Problems: 422 for `to` before `from` (`before_from`) or a day before
/// 1900 or after 2199.
#[utoipa::path(
    tag = "reports",
    operation_id = "acquisition_cost_report",
    params(AcquisitionCostParams),
    responses((status = 200, description = "The report", body = AcquisitionCostReport))
)]
#[get("/api/v1/reports/acquisition-cost")]
pub async fn acquisition_cost_report(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<AcquisitionCostParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let window = DayWindow {
        from: params.from,
        to: params.to,
    };
    let group_by = params.group_by.unwrap_or(AcquisitionCostDimension::Channel);
    let report = state
        .db_read(move |conn| {
            Ok(acquisition_cost::acquisition_cost(
                conn, &principal, window, group_by,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}
