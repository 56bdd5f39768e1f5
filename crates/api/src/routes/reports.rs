//! Reports (A-5, A-6, A-11, A-12, A-13, C-3): sales, key figures, cohorts, acquisition and
//! the funnel per period of the Jalali or Gregorian calendar, profitability, attribution
//! and lapsed buyers, summed over the customers the caller can see; and the period reports,
//! profitability and lapsed buyers as files.

use actix_web::{get, post, web, HttpResponse};
use application::jobs::queue;
use application::reports::attribution::{AttributionCredit, AttributionReport, AttributionTotals};
use application::reports::channels::{
    ChannelFigures, ChannelPeriod, ChannelReport, ChannelRevenue, TouchpointPaths,
};
use application::reports::export::{ReportExportRequest, ReportGrouping, ReportKind};
use application::reports::forecast::{
    DealSums, ForecastFigures, ForecastGroup, ForecastPeriod, ForecastReport, WinRate,
};
use application::reports::service::{
    AgentService, DayCount, ServicePeriod, ServiceReport, WeekdayCount,
};
use application::reports::{
    self, AcquisitionFigures, AcquisitionGroup, AcquisitionPeriod, AcquisitionReport, Cohort,
    CohortPeriod, CohortReport, DayWindow, FunnelFigures, FunnelGroup, FunnelPeriod, FunnelReport,
    FunnelStage, KpiPeriod, KpiReport, LapseQuery, LapseWindows, ProfitFigures, ProfitGroup,
    ProfitabilityReport, ReportRange, SalesFigures, SalesGroup, SalesPeriod, SalesReport,
};
use chrono::NaiveDate;
use chrono::{DateTime, Utc};
use domain::attribution::AttributionModel;
use domain::calendar::CalendarSystem;
use domain::omnichannel::accounts::ChannelKind;
use domain::omnichannel::analytics::{PathCount, ResponseTimes, DEFAULT_TOP_PATHS};
use domain::reports::{
    AcquisitionDimension, Bucket, ForecastDimension, ProfitDimension, SalesDimension,
};
use domain::service::kpis::{DurationFigures, DurationSummary};
use domain::service::tickets::TicketChannel;
use persistence::service_reports::ServiceFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use super::jobs::{accepted, JobResource};
use crate::auth::Principal;
use crate::conventions::JsonBody;
use crate::conventions::{Page, PageParams};
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        sales_report,
        kpi_report,
        cohort_report,
        acquisition_report,
        funnel_report,
        profitability_report,
        lapsed_buyers_report,
        forecast_report,
        service_report,
        channel_report,
        attribution_report,
        create_report_export
    ),
    components(schemas(
        AttributionReport,
        AttributionTotals,
        AttributionCredit,
        AttributionModel,
        ChannelReport,
        ChannelPeriod,
        ChannelFigures,
        ChannelRevenue,
        ChannelKind,
        ResponseTimes,
        TouchpointPaths,
        PathCount,
        ServiceReport,
        ServicePeriod,
        DayCount,
        WeekdayCount,
        AgentService,
        DurationFigures,
        DurationSummary,
        ForecastReport,
        ForecastPeriod,
        ForecastGroup,
        ForecastFigures,
        DealSums,
        WinRate,
        ForecastDimension,
        FunnelReport,
        FunnelPeriod,
        FunnelGroup,
        FunnelFigures,
        FunnelStage,
        ProfitabilityReport,
        ProfitGroup,
        ProfitFigures,
        ProfitDimension,
        AcquisitionReport,
        AcquisitionPeriod,
        AcquisitionGroup,
        AcquisitionFigures,
        AcquisitionDimension,
        LapsedBuyersPage,
        LapsedBuyer,
        LapseWindows,
        DayWindow,
        CohortReport,
        Cohort,
        CohortPeriod,
        ReportExportRequest,
        ReportKind,
        ReportGrouping,
        SalesReport,
        SalesPeriod,
        SalesGroup,
        SalesFigures,
        KpiReport,
        KpiPeriod,
        ReportRange,
        Bucket,
        CalendarSystem,
        SalesDimension
    ))
)]
pub struct ReportsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(sales_report)
        .service(kpi_report)
        .service(cohort_report)
        .service(acquisition_report)
        .service(funnel_report)
        .service(profitability_report)
        .service(lapsed_buyers_report)
        .service(forecast_report)
        .service(service_report)
        .service(channel_report)
        .service(attribution_report)
        .service(create_report_export);
}

/// The period a report covers and how it is cut into periods. Reports with more
/// parameters repeat these four fields rather than flatten this struct: serde cannot
/// combine `flatten` with `deny_unknown_fields`, and a misspelt parameter must be a 400,
/// not silently ignored.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RangeParams {
    /// First local day (business time zone), `YYYY-MM-DD`.
    pub from: NaiveDate,
    /// Last local day, inclusive.
    pub to: NaiveDate,
    /// Length of each period (default `month`). Weeks start on the business's first
    /// weekday.
    pub bucket: Option<Bucket>,
    /// Calendar of months, quarters and years (default `jalali`: a month runs from the
    /// 1st of Farvardin, Ordibehesht, …).
    pub calendar: Option<CalendarSystem>,
}

impl RangeParams {
    fn range(&self) -> ReportRange {
        ReportRange::new(self.from, self.to, self.bucket, self.calendar)
    }
}

/// [`RangeParams`] and a grouping.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SalesParams {
    /// First local day (business time zone), `YYYY-MM-DD`.
    pub from: NaiveDate,
    /// Last local day, inclusive.
    pub to: NaiveDate,
    /// Length of each period (default `month`).
    pub bucket: Option<Bucket>,
    /// Calendar of months, quarters and years (default `jalali`).
    pub calendar: Option<CalendarSystem>,
    /// Split each period by this (the period's `totals` stay over all its orders).
    pub group_by: Option<SalesDimension>,
}

/// Sales by period.
///
/// Every period from `from` to `to` in order (zeros where nothing sold; the first and
/// last are partial when the range does not start or end on a period boundary), each
/// with its orders, buyers, gross, refunds, net and average order value, and, with
/// `group_by`, the same per province, city, gender, age range (at the start of the
/// period), product, category or channel, largest net first. A sale is an order that
/// was paid (later fulfilled or returned, wholly or partly); refunds are subtracted in
/// the period of the order they refund, so a late return changes that period. Money in
/// minor units of the business currency.
///
/// Needs `records:read`; sums over the customers the caller can see (a sales user with
/// `own` visibility gets the figures of their own customers). Problems: 422
/// `validation_failed` for `to` before `from` (`before_from`), a day before 1900 or after
/// 2199 (`out_of_range`) or a range of more than 1,200 periods (`too_many_periods`); 400
/// for a malformed parameter.
#[utoipa::path(
    tag = "reports",
    operation_id = "sales_report",
    params(SalesParams),
    responses((status = 200, description = "The report", body = SalesReport))
)]
#[get("/api/v1/reports/sales")]
pub async fn sales_report(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<SalesParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let range = ReportRange::new(params.from, params.to, params.bucket, params.calendar);
    let group_by = params.group_by;
    let report = state
        .db_read(move |conn| Ok(reports::sales(conn, &principal, range, group_by)?))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Key figures by period.
///
/// Per period: revenue (net of refunds), orders, average order value, active customers
/// (with a sale), new customers (first purchase), repeat-purchase rate (share of the
/// period's buyers who had bought before it or ordered twice in it), customers churned
/// (entered the `churned` stage) and churn rate (over the customers who had bought before
/// the period and were not churned at its start); and the mean CLV of the current `clv`
/// run's scores.
///
/// Needs `records:read`; over the customers the caller can see. Problems as for
/// `GET /reports/sales`.
#[utoipa::path(
    tag = "reports",
    operation_id = "kpi_report",
    params(RangeParams),
    responses((status = 200, description = "The report", body = KpiReport))
)]
#[get("/api/v1/reports/kpis")]
pub async fn kpi_report(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<RangeParams>,
) -> ApiResult<HttpResponse> {
    let range = params.into_inner().range();
    let report = state
        .db_read(move |conn| Ok(reports::kpis(conn, &principal, range)?))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Cohort retention.
///
/// A cohort per period of the range: the customers whose first purchase fell in it, and
/// for it and every later period of the range how many of them bought (`buyers`) and
/// what share of the cohort that is (`rate`; the cohort's own period is 1). Cohorts are
/// listed in order, empty ones included (`customers` 0, rates `null`).
///
/// Needs `records:read`; over the customers the caller can see. Problems as for
/// `GET /reports/sales`.
#[utoipa::path(
    tag = "reports",
    operation_id = "cohort_report",
    params(RangeParams),
    responses((status = 200, description = "The report", body = CohortReport))
)]
#[get("/api/v1/reports/cohorts")]
pub async fn cohort_report(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<RangeParams>,
) -> ApiResult<HttpResponse> {
    let range = params.into_inner().range();
    let report = state
        .db_read(move |conn| Ok(reports::cohorts(conn, &principal, range)?))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// [`RangeParams`] and a grouping of acquisition.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AcquisitionParams {
    /// First local day (business time zone), `YYYY-MM-DD`.
    pub from: NaiveDate,
    /// Last local day, inclusive.
    pub to: NaiveDate,
    /// Length of each period (default `month`).
    pub bucket: Option<Bucket>,
    /// Calendar of months, quarters and years (default `jalali`).
    pub calendar: Option<CalendarSystem>,
    /// Split each period by the customers' acquisition source, channel, campaign or
    /// referrer.
    pub group_by: Option<AcquisitionDimension>,
}

/// Acquisition effectiveness.
///
/// Per period in which customers were created (acquired): how many, how many have
/// bought since (`converted`, `conversion_rate`), their revenue to date net of refunds,
/// the mean CLV of those the current `clv` run scored, and the mean days from creation
/// to first purchase (customers imported with an earlier purchase history are left out
/// of that mean); with `group_by`, the same per acquisition source, channel, campaign
/// or referrer, largest first. A referrer's group `key` is `customer:<id>` or
/// `user:<id>`, and its `name` is given when the caller may know it (a referring
/// customer they can see; a user, with `users:read`); a customer referred by both a
/// customer and a user counts in both groups, customers without a referrer in the
/// `null` group. Figures are as of now: a cohort acquired long ago has had longer to
/// convert.
///
/// Needs `records:read`; over the customers the caller can see. Problems as for
/// `GET /reports/sales`.
#[utoipa::path(
    tag = "reports",
    operation_id = "acquisition_report",
    params(AcquisitionParams),
    responses((status = 200, description = "The report", body = AcquisitionReport))
)]
#[get("/api/v1/reports/acquisition")]
pub async fn acquisition_report(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<AcquisitionParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let range = ReportRange::new(params.from, params.to, params.bucket, params.calendar);
    let group_by = params.group_by;
    let report = state
        .db_read(move |conn| Ok(reports::acquisition(conn, &principal, range, group_by)?))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Funnel and journey.
///
/// Per period in which customers were created: how many reached each lifecycle stage
/// (`awareness`, `consideration`, `purchase`, `retention`, `advocacy`) or a later one,
/// the conversion from each stage to the next, and the mean and median days from first
/// entering a stage to first entering the next (of those who went through both in that
/// order; the median of an even count is the mean of the two middle values), from the
/// stage history; with `group_by`, the same per acquisition source, channel, campaign
/// or referrer (grouped as in `GET /reports/acquisition`), largest first. As of now: a
/// recent cohort has had less time.
///
/// Needs `records:read`; over the customers the caller can see. Problems as for
/// `GET /reports/sales`.
#[utoipa::path(
    tag = "reports",
    operation_id = "funnel_report",
    params(AcquisitionParams),
    responses((status = 200, description = "The report", body = FunnelReport))
)]
#[get("/api/v1/reports/funnel")]
pub async fn funnel_report(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<AcquisitionParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let range = ReportRange::new(params.from, params.to, params.bucket, params.calendar);
    let group_by = params.group_by;
    let report = state
        .db_read(move |conn| Ok(reports::funnel(conn, &principal, range, group_by)?))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The window and grouping of `GET /reports/profitability`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProfitParams {
    /// First local day of the sales counted.
    pub from: NaiveDate,
    /// Last local day (inclusive).
    pub to: NaiveDate,
    pub group_by: Option<ProfitDimension>,
    /// With `group_by=customer`: how many customers, the most profitable first (1–1000,
    /// default 100).
    pub limit: Option<i64>,
}

/// Profitability per customer and segment.
///
/// For the sales placed from `from` to `to` (local days): revenue net of refunds, the
/// product cost of the units kept (each line's recorded unit cost), the gross margin
/// and its rate, in all and, with `group_by`, per RFM segment of the current run, per
/// tier, or per customer (the `limit` most profitable). `service_cost` prices the minutes
/// agents logged (`POST /tickets/{id}/time-entries`) on the days of the window on the
/// tickets of the customers in all and of each group's customers at the business setting
/// `service_cost_per_hour` (minutes × rate ÷ 60, rounded to the nearest minor unit,
/// halves up); it is `null` while that setting is 0. The groups are those with sales in
/// the window. `acquisition_cost` is what acquiring the customers created in the window
/// cost: each bears their `acquisition_campaign`'s costs (`POST /campaigns/{id}/costs`)
/// divided by the customers naming that campaign; `null` when none came through a
/// campaign with costs.
/// `lines_without_cost` counts lines whose product had no cost: the margin is overstated
/// by their cost.
///
/// Needs `records:read`; over the customers the caller can see. Problems: 422
/// `validation_failed` for `to` before `from` (`before_from`), a day before 1900 or after
/// 2199, or `limit` out of range (`out_of_range`).
#[utoipa::path(
    tag = "reports",
    operation_id = "profitability_report",
    params(ProfitParams),
    responses((status = 200, description = "The report", body = ProfitabilityReport))
)]
#[get("/api/v1/reports/profitability")]
pub async fn profitability_report(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<ProfitParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let window = DayWindow {
        from: params.from,
        to: params.to,
    };
    let (group_by, limit) = (
        params.group_by,
        params.limit.unwrap_or(reports::DEFAULT_PROFIT_LIMIT),
    );
    let report = state
        .db_read(move |conn| {
            Ok(reports::profitability(
                conn, &principal, window, group_by, limit,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Which product and windows `GET /reports/lapsed-buyers` compares.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LapseParams {
    pub product_id: Uuid,
    /// First local day of the window in which they did not buy.
    pub from: NaiveDate,
    /// Last local day of that window (inclusive).
    pub to: NaiveDate,
    /// First local day of the window in which they bought; it ends the day before
    /// `from`. Defaults to as many days as `from`..`to`.
    pub earlier_from: Option<NaiveDate>,
}

/// A customer who stopped buying the product.
#[derive(Debug, Serialize, ToSchema)]
pub struct LapsedBuyer {
    pub customer_id: Uuid,
    pub display_name: String,
    /// Their latest purchase of the product in the earlier window.
    pub last_bought_at: DateTime<Utc>,
    /// Their orders with the product in the earlier window.
    pub orders: i64,
    /// Units of the product net of returns.
    pub units: i64,
    /// Paid for it net of refunds, minor units.
    pub net: i64,
}

/// One page of lapsed buyers, with the windows compared.
#[derive(Debug, Serialize, ToSchema)]
pub struct LapsedBuyersPage {
    pub product_id: Uuid,
    pub windows: LapseWindows,
    pub data: Vec<LapsedBuyer>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// Who stopped buying a product.
///
/// The customers who bought `product_id` (a sale, as in `GET /reports/sales`) between
/// `earlier_from` and the day before `from`, and did not buy it from `from` to `to`
/// (local days of the business time zone), in customer-id order, one page at a time,
/// with what they bought in the earlier window: the list a win-back campaign starts
/// from.
///
/// Needs `records:read`; lists only customers the caller can see. Problems: 422
/// `validation_failed` for `to` before `from` (`before_from`), `earlier_from` not before
/// `from` (`not_before_from`), a window reaching before 1900 or after 2199
/// (`out_of_range`), an unknown product (`product_id`, `not_found`); 400 for a malformed
/// parameter or `invalid_cursor`.
#[utoipa::path(
    tag = "reports",
    operation_id = "lapsed_buyers_report",
    params(LapseParams, PageParams),
    responses((status = 200, description = "One page of lapsed buyers", body = LapsedBuyersPage))
)]
#[get("/api/v1/reports/lapsed-buyers")]
pub async fn lapsed_buyers_report(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
    params: web::Query<LapseParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let query = LapseQuery {
        product_id: params.product_id,
        later: DayWindow {
            from: params.from,
            to: params.to,
        },
        earlier_from: params.earlier_from,
    };
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let (windows, rows) = state
        .db_read(move |conn| {
            Ok(reports::lapsed_buyers(
                conn,
                &principal,
                query,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let page = Page::from_rows(rows, page.limit, reports::lapse_cursor_after, |row| {
        LapsedBuyer {
            customer_id: row.customer_id.0,
            display_name: row.display_name,
            last_bought_at: row.last_bought_at.0,
            orders: row.orders,
            units: row.units,
            net: row.net,
        }
    });
    Ok(HttpResponse::Ok().json(LapsedBuyersPage {
        product_id: params.product_id,
        windows,
        data: page.data,
        next_cursor: page.next_cursor,
        has_more: page.has_more,
    }))
}

/// Export a report.
///
/// Starts a `reports.export` job that computes the report (`sales`, `kpis`, `cohorts`,
/// `acquisition`, `funnel`, `profitability` or `lapsed_buyers`) with the parameters of
/// its `GET`, for the caller and over what they can see, and writes it as CSV (UTF-8
/// with a byte-order mark), XLSX (right to left when asked, or when `Accept-Language`
/// prefers Persian) or JSON. Rows: one per period, or per period and group (`group`,
/// `group_name`) when grouped; a funnel's per period (and group) and stage; a
/// profitability report's one for the window, or one per group; the lapsed buyers one
/// per customer, every page of them, read a page at a time. Amounts are integers in
/// minor units, named with the currency (`net (IRR)`); rates and days are decimals.
/// Follow `Location`; the finished job's `result.download` is the file
/// (`GET /exports/{job_id}/file`). A file naming customers is deleted when one of them
/// is erased.
///
/// Needs `records:read`. Problems, checked before the job is queued: 422
/// `validation_failed` as for the report's `GET`; for a parameter the report does not
/// take (`bucket` and `calendar` but for reports by period, `group_by` on `kpis`,
/// `cohorts` and `lapsed_buyers` or with a grouping the report does not have, `limit`
/// but for `profitability`, `product_id` and `earlier_from` but for `lapsed_buyers`:
/// `not_for_report`); and for `lapsed_buyers` without `product_id` (`required`).
#[utoipa::path(
    tag = "reports",
    operation_id = "create_report_export",
    request_body = ReportExportRequest,
    responses((
        status = 202,
        description = "Export queued; follow `Location` for its progress and result",
        body = JobResource,
        headers(("Location" = String, description = "The job: `/api/v1/jobs/{id}`"))
    ))
)]
#[post("/api/v1/reports/exports")]
pub async fn create_report_export(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<ReportExportRequest>,
) -> ApiResult<HttpResponse> {
    let request = body.0;
    let job = state
        .db(move |conn| Ok(queue::report_export(conn, &principal, request)?))
        .await?;
    accepted(job)
}

/// [`RangeParams`], a grouping and a pipeline.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ForecastParams {
    /// First local day (business time zone), `YYYY-MM-DD`.
    pub from: NaiveDate,
    /// Last local day, inclusive.
    pub to: NaiveDate,
    /// Length of each period (default `month`; `quarter` for a quarterly forecast).
    pub bucket: Option<Bucket>,
    /// Calendar of months, quarters and years (default `jalali`).
    pub calendar: Option<CalendarSystem>,
    /// Split each period, and the win rates, by the deals' owner or team.
    pub group_by: Option<ForecastDimension>,
    /// Only this pipeline's deals (default: every pipeline).
    pub pipeline_id: Option<Uuid>,
}

/// Sales forecast.
///
/// Every period from `from` to `to` in order (empty ones included), each with the open
/// deals expected to close in it (by their local `expected_close_date`): their number,
/// amount and weighted amount (amount × the stage's win probability, rounded half up on
/// the sum), per currency; and for comparison the deals won in it (by `closed_at` in the
/// business time zone) with their amount. With `group_by`, the same per owner or team.
/// Over the whole range, per pipeline (and owner or team when grouped): deals won and
/// lost, the win rate won / (won + lost) and the mean sales cycle in days from creation
/// to winning. Open deals without an expected close date are in no period.
///
/// Needs `records:read`; over the deals the caller may see (by their owner and team).
/// Problems as for `GET /reports/sales`, 422 `not_found` on `pipeline_id` for an
/// unknown pipeline, and 422 `too_large` on `amount` or `weighted_amount` when a
/// period's deals add up past the largest amount (sums are exact, never wrapped or cut).
#[utoipa::path(
    tag = "reports",
    operation_id = "forecast_report",
    params(ForecastParams),
    responses((status = 200, description = "The forecast", body = ForecastReport))
)]
#[get("/api/v1/reports/forecast")]
pub async fn forecast_report(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<ForecastParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let range = ReportRange::new(params.from, params.to, params.bucket, params.calendar);
    let (group_by, pipeline) = (params.group_by, params.pipeline_id);
    let report = state
        .db_read(move |conn| {
            Ok(reports::forecast::forecast(
                conn, &principal, range, group_by, pipeline,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// [`RangeParams`] and which tickets.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ServiceParams {
    /// First local day (business time zone), `YYYY-MM-DD`.
    pub from: NaiveDate,
    /// Last local day, inclusive.
    pub to: NaiveDate,
    /// Length of each period (default `month`).
    pub bucket: Option<Bucket>,
    /// Calendar of months, quarters and years (default `jalali`).
    pub calendar: Option<CalendarSystem>,
    /// Only tickets of this team.
    pub team_id: Option<Uuid>,
    /// Only tickets this user owns.
    pub agent_id: Option<Uuid>,
    pub channel: Option<TicketChannel>,
    pub category_id: Option<Uuid>,
}

/// Service KPIs.
///
/// Per period (`bucket` of the Jalali or Gregorian calendar): tickets created and the
/// backlog open at its end (tickets created before it whose status history leaves them
/// in an open status then; one resolved and reopened later counts again from its
/// reopening). Per local day and per weekday: tickets created. Over the whole range:
/// per agent (the ticket's owner), tickets resolved or closed beside the CSAT of the
/// surveys sent on tickets they resolved; over the tickets created in the range, the
/// time to the first agent reply and to resolution — mean, median (`p50`) and `p90`
/// (nearest rank) in business minutes of the business calendar and in calendar
/// minutes —, customer messages and agent replies per ticket, the SLA breach rate
/// (tickets that breached a target over those that had a policy) and the
/// re-assignments after a lapsed pick-up time.
///
/// Needs `records:read`; over the tickets the caller can see (by owner and team),
/// narrowed by `team_id`, `agent_id`, `channel` and `category_id`. Problems as for
/// `GET /reports/sales` (the days count as periods too, so a range is at most 1,200
/// days), and 422 `too_many_tickets` on `to` when the range holds more than a million
/// measured tickets.
#[utoipa::path(
    tag = "reports",
    operation_id = "service_report",
    params(ServiceParams),
    responses((status = 200, description = "The report", body = ServiceReport))
)]
#[get("/api/v1/reports/service")]
pub async fn service_report(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<ServiceParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let range = ReportRange::new(params.from, params.to, params.bucket, params.calendar);
    let filter = ServiceFilter {
        team_id: params.team_id,
        agent_id: params.agent_id,
        channel: params.channel.map(|channel| channel.as_str().to_string()),
        category_id: params.category_id,
    };
    let report = state
        .db_read(move |conn| Ok(reports::service::service(conn, &principal, range, filter)?))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// [`RangeParams`] and how many touchpoint paths.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChannelParams {
    /// First local day (business time zone), `YYYY-MM-DD`.
    pub from: NaiveDate,
    /// Last local day, inclusive.
    pub to: NaiveDate,
    /// Length of each period (default `month`).
    pub bucket: Option<Bucket>,
    /// Calendar of months, quarters and years (default `jalali`).
    pub calendar: Option<CalendarSystem>,
    /// How many of the most frequent touchpoint paths to list, 1 to 100 (default 10).
    #[param(minimum = 1, maximum = 100)]
    pub paths: Option<i64>,
}

/// Cross-channel analytics.
///
/// Per period (`bucket` of the Jalali or Gregorian calendar in the business time zone)
/// and per channel (`telegram`, `whatsapp`, `instagram`, `sms`, `email`; every channel listed,
/// zeros where nothing happened), and in `totals` over the whole range:
///
/// - `messages_in` and `messages_out` by when they happened (outbound refused for want
///   of consent or failed at the provider left out), `automatic_out` of them sent
///   automatically;
/// - `conversations` that started in the period (one sender on one channel account is
///   one conversation, which starts with its first message — the customer's, or for
///   e-mail an agent's), and over them: `first_response`, the seconds from the first
///   message the customer wrote (automatic ones such as out-of-office answers do not
///   count) to the first reply an agent wrote after it (automatic replies do not
///   count) — mean, median (`p50_seconds`) and
///   `p90_seconds` (nearest rank) over the conversations that have one; `leads`, those
///   with a lead (the sender was made one or recognised as one); `deals` and `orders`,
///   those whose customer got a deal or placed a sale (an order that was paid) at or
///   after the start and less than `attribution_days` (30) days after it; `revenue`,
///   those orders' gross, refunds and net per currency in minor units, each order once
///   per channel (an order following conversations on two channels counts for both).
///
/// `paths`: the customers whose first order was placed in the range, those of them who
/// wrote on a channel before it, and their most frequent touchpoint paths — the
/// channels of the messages they wrote (not automatic ones) before that order in time
/// order, a channel repeated in a
/// row counted once, the last `path_touches` (4) kept — most customers first.
///
/// Needs `records:read`; over the conversations the caller can see (through their
/// customer, else their lead; one with neither only with visibility `all`) and, for
/// paths, the customers. Problems as for `GET /reports/sales`, and 422 `out_of_range`
/// on `paths` outside 1 to 100.
#[utoipa::path(
    tag = "reports",
    operation_id = "channel_report",
    params(ChannelParams),
    responses((status = 200, description = "The report", body = ChannelReport))
)]
#[get("/api/v1/reports/channels")]
pub async fn channel_report(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<ChannelParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let range = ReportRange::new(params.from, params.to, params.bucket, params.calendar);
    let top = params.paths.unwrap_or(DEFAULT_TOP_PATHS as i64);
    let report = state
        .db_read(move |conn| Ok(reports::channels::channels(conn, &principal, range, top)?))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The window, model and path window of `GET /reports/attribution`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AttributionParams {
    /// First local day (business time zone) of the purchases attributed, `YYYY-MM-DD`.
    pub from: NaiveDate,
    /// Last local day, inclusive.
    pub to: NaiveDate,
    /// How each purchase's credit is shared among the touches before it.
    pub model: AttributionModel,
    /// How many days before a purchase a touch counts, 1 to 365 (default 30).
    #[param(minimum = 1, maximum = 365)]
    pub window_days: Option<i64>,
    /// With `model=time_decay` only: the half-life in days, 1 to 365 (default 7).
    #[param(minimum = 1, maximum = 365)]
    pub half_life_days: Option<i64>,
}

/// Marketing attribution per channel and campaign.
///
/// Every purchase (an order paid, fulfilled or partly returned, in the business
/// currency) placed from `from` to `to` (local days) by a customer the caller can see is
/// a conversion worth its revenue net of refunds. Its path is the customer's touches at
/// or before the purchase and at most `window_days` days before it, in time order:
///
/// - campaign sends (a recipient the campaign's message was sent to, unless that message
///   was refused or failed): on the campaign's channel, for the campaign's code — also
///   those of customers merged into the buyer since;
/// - conversation messages on their channel: inbound ones, and outbound ones the
///   provider took (sent, delivered or read; one held back by the quiet hours at the
///   time it was due) and not sent automatically (an out-of-office or canned answer
///   replies to a touch counted already); a campaign's own message counts once, as its
///   send;
/// - behavioural events that say where the customer came from — a string property
///   `utm_source`, `channel` or `utm_campaign` (values as sent, case and all) — on the
///   channel of `utm_source`, else `channel`, else `web`, for the campaign of
///   `utm_campaign` when given; other events (page views, say) are no marketing touch;
/// - activities logged on the customer or one of their deals (`call`, `meeting`,
///   `email`, `visit`), on the channel named by their kind;
/// - the order itself when it names a `campaign`: the last touch, at the moment it was
///   placed, for that campaign, on the campaign's channel (a campaign of that code),
///   else the order's `channel`, else `unknown`.
///
/// `model` shares each conversion (one per purchase) and its revenue among its path's
/// touches: `first_touch` and `last_touch` give all to one; `linear` equal shares;
/// `time_decay` shares proportional to 2^(−age ÷ `half_life_days`), the age measured
/// back from the purchase; `position_based` 40 % to the first and 40 % to the last
/// touch and 20 % shared equally by those between (one touch: all; two: half each).
/// A touch's share goes to its channel and, when it has one, its campaign. `channels`
/// and `campaigns` list the fractional conversions (six decimals) and the revenue
/// (minor units, each row rounded to the nearest unit, halves away from zero, so rows
/// may differ from `totals.attributed_revenue` by rounding) each earned, most revenue
/// first; every channel and campaign touched on a path is listed, with 0 when the model
/// gave its touches nothing (the first touch's model, say, to the later ones). Conversions
/// without any touch are counted in
/// `totals.paths_without_touchpoints` and credit nobody.
///
/// Needs `records:read` (403 otherwise); over the customers the caller can see (their
/// touches all count, whoever logged or sent them). Problems: 400 `malformed_request`
/// naming `model` for a model not listed, or a parameter missing or unknown; 422
/// `validation_failed` for `to` before `from` (`before_from`), a window longer than
/// 366 days (`too_long`), revenue past 64 bits (`too_large`), a day before 1900 or
/// after 2199, `window_days` or `half_life_days` out of range (`out_of_range`), and
/// `half_life_days` with another model than `time_decay` (`time_decay_only`).
#[utoipa::path(
    tag = "reports",
    operation_id = "attribution_report",
    params(AttributionParams),
    responses((status = 200, description = "The report", body = AttributionReport))
)]
#[get("/api/v1/reports/attribution")]
pub async fn attribution_report(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<AttributionParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let window = DayWindow {
        from: params.from,
        to: params.to,
    };
    let report = state
        .db_read(move |conn| {
            Ok(reports::attribution::report(
                conn,
                &principal,
                window,
                params.model,
                params.window_days,
                params.half_life_days,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}
