//! What the product models found: the cross-sell rules of a `cross_sell` run
//! and the price elasticities of an `elasticity` run, read as reports.

use actix_web::{get, web, HttpResponse};
use application::analytics::product_models::{self, ElasticityView, ProductLabel, RuleView};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::{Page, PageParams};
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(cross_sell_report, price_elasticity_report),
    components(schemas(CrossSellRule, PriceElasticity, ProductRef))
)]
pub struct ModelResultsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(cross_sell_report)
        .service(price_elasticity_report);
}

/// A product a result names.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductRef {
    pub id: Uuid,
    /// Absent once the product was removed.
    pub sku: Option<String>,
    pub name: Option<String>,
}

impl From<ProductLabel> for ProductRef {
    fn from(label: ProductLabel) -> Self {
        ProductRef {
            id: label.id,
            sku: label.sku,
            name: label.name,
        }
    }
}

/// "Customers who buy `antecedent` also buy `consequent`", over the run's baskets.
#[derive(Debug, Serialize, ToSchema)]
pub struct CrossSellRule {
    /// 1 for the most confident rule of the run.
    pub rank: i64,
    pub antecedent: ProductRef,
    pub consequent: ProductRef,
    /// Baskets holding both.
    pub baskets: i64,
    /// Share of all baskets holding both.
    pub support: f64,
    /// Share of the baskets holding the antecedent that hold the consequent too.
    pub confidence: f64,
    /// Confidence over the consequent's share of all baskets: above 1, the two go
    /// together more often than chance.
    pub lift: f64,
}

/// One page of a run's results, with the run they come from.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunResultsPage<T> {
    pub run_id: Uuid,
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

impl<T: Serialize> RunResultsPage<T> {
    fn respond(run_id: Uuid, page: Page<T>) -> HttpResponse {
        HttpResponse::Ok().json(RunResultsPage {
            run_id,
            data: page.data,
            next_cursor: page.next_cursor,
            has_more: page.has_more,
        })
    }
}

/// Which run's rules to read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CrossSellParams {
    /// A succeeded `cross_sell` run; by default the current one.
    pub run_id: Option<Uuid>,
    /// Only the rules from this product: what to offer its buyers.
    pub product_id: Option<Uuid>,
}

/// Cross-sell rules.
///
/// The association rules of a `cross_sell` run (`POST /analytics/runs`), the most
/// confident first, one page at a time. Each customer's own recommendations are in
/// its `scores.recommendations`. Needs `records:read` with visibility `all` (the rules
/// describe the whole base; 403 `forbidden` otherwise). Problems: 422 `run_id`
/// `no_succeeded_run` when no such run has succeeded; 400 `invalid_cursor`.
#[utoipa::path(
    tag = "reports",
    operation_id = "cross_sell_report",
    params(CrossSellParams, PageParams),
    responses((status = 200, description = "One page of rules", body = RunResultsPage<CrossSellRule>))
)]
#[get("/api/v1/reports/cross-sell")]
pub async fn cross_sell_report(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
    params: web::Query<CrossSellParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let (cursor, fetch) = (page.cursor.clone(), page.fetch_limit());
    let (run_id, rows) = state
        .db_read(move |conn| {
            Ok(product_models::cross_sell_rules(
                conn,
                &principal,
                params.run_id,
                params.product_id,
                cursor.as_ref(),
                fetch,
            )?)
        })
        .await?;
    let page = Page::from_rows(
        rows,
        page.limit,
        product_models::rule_cursor_after,
        |view: RuleView| CrossSellRule {
            rank: view.rule.rank,
            antecedent: view.antecedent.into(),
            consequent: view.consequent.into(),
            baskets: view.rule.baskets,
            support: view.rule.support,
            confidence: view.rule.confidence,
            lift: view.rule.lift,
        },
    );
    Ok(RunResultsPage::respond(run_id, page))
}

/// How a product's demand answers its price: ln q = α + ε ln p over the run's periods.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceElasticity {
    pub product: ProductRef,
    /// `all` buyers, or an RFM segment of the current `rfm` run.
    pub segment: String,
    /// Periods with sales the fit used.
    pub periods: i64,
    /// Units bought over the run's history.
    pub units: i64,
    /// Average price paid, after discounts, in integer minor units of the business
    /// currency.
    pub mean_unit_price: i64,
    /// ε: the % change of units per 1 % change of price (below −1: elastic).
    pub elasticity: f64,
    pub standard_error: f64,
    /// 95 % confidence interval of ε.
    pub ci_low: f64,
    pub ci_high: f64,
    /// Two-sided p-value of ε = 0.
    pub p_value: f64,
    pub r_squared: f64,
}

/// Which run's elasticities to read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ElasticityParams {
    /// A succeeded `elasticity` run; by default the current one.
    pub run_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    /// `all`, or an RFM segment name.
    pub segment: Option<String>,
}

/// Price elasticity.
///
/// The elasticities of an `elasticity` run (`POST /analytics/runs`) by product, then
/// segment, one page at a time, each with its 95 % confidence interval. Needs
/// `records:read` with visibility `all` (403 `forbidden` otherwise). Problems: 422
/// `run_id` `no_succeeded_run` when no such run has succeeded; 400 `invalid_cursor`.
#[utoipa::path(
    tag = "reports",
    operation_id = "price_elasticity_report",
    params(ElasticityParams, PageParams),
    responses((status = 200, description = "One page of elasticities", body = RunResultsPage<PriceElasticity>))
)]
#[get("/api/v1/reports/price-elasticity")]
pub async fn price_elasticity_report(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
    params: web::Query<ElasticityParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let (cursor, fetch) = (page.cursor.clone(), page.fetch_limit());
    let (run_id, rows) = state
        .db_read(move |conn| {
            Ok(product_models::price_elasticities(
                conn,
                &principal,
                params.run_id,
                params.product_id,
                params.segment.as_deref(),
                cursor.as_ref(),
                fetch,
            )?)
        })
        .await?;
    let page = Page::from_rows(
        rows,
        page.limit,
        product_models::elasticity_cursor_after,
        |view: ElasticityView| {
            let row = view.elasticity;
            PriceElasticity {
                product: view.product.into(),
                segment: row.segment,
                periods: row.periods,
                units: row.units,
                mean_unit_price: row.mean_unit_price,
                elasticity: row.elasticity,
                standard_error: row.standard_error,
                ci_low: row.ci_low,
                ci_high: row.ci_high,
                p_value: row.p_value,
                r_squared: row.r_squared,
            }
        },
    );
    Ok(RunResultsPage::respond(run_id, page))
}
