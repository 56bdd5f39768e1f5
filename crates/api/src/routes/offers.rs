//! Next best offer (M-6): the products worth offering a customer now, with the reasons.

use actix_web::{get, web, HttpResponse};
use application::offers::{self, NextBestOffers};
use domain::customers::ConsentChannel;
use domain::offers::{Exclusion, OfferReason, DEFAULT_LIMIT};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(next_best_offers),
    components(schemas(
        NextBestOffersResponse,
        OfferResponse,
        ExcludedProduct,
        OfferReason,
        Exclusion
    ))
)]
pub struct OffersApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(next_best_offers);
}

/// How many offers to answer.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OfferParams {
    /// 1 to 20 (default 5).
    #[param(minimum = 1, maximum = 20)]
    pub limit: Option<i64>,
}

/// A product worth offering.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferResponse {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub name_en: Option<String>,
    /// Minor units of `currency`.
    pub unit_price: i64,
    pub currency: String,
    /// P(alive) × P(buys | rule) × margin, in minor units: what offering it is worth
    /// on average; the offers are in its order, highest first.
    pub expected_value: f64,
    /// P(buys | bought the first reason's `because_of`), the rule's confidence.
    pub confidence: f64,
    pub reasons: Vec<OfferReason>,
}

/// A recommended product that is not offered, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExcludedProduct {
    pub product_id: Uuid,
    pub reason: Exclusion,
}

/// A customer's offers.
#[derive(Debug, Serialize, ToSchema)]
pub struct NextBestOffersResponse {
    pub customer_id: Uuid,
    /// The `cross_sell` run the offers come from; null before one recommended the
    /// customer anything (the offers are empty then).
    pub cross_sell_run_id: Option<Uuid>,
    /// Channels the customer gave marketing consent on: where an offer may be sent.
    /// Empty: offer it in person or in an answer, not in a campaign.
    pub marketing_channels: Vec<ConsentChannel>,
    pub offers: Vec<OfferResponse>,
    pub excluded: Vec<ExcludedProduct>,
}

impl From<NextBestOffers> for NextBestOffersResponse {
    fn from(found: NextBestOffers) -> Self {
        NextBestOffersResponse {
            customer_id: found.customer_id,
            cross_sell_run_id: found.cross_sell_run_id,
            marketing_channels: found.channels,
            offers: found
                .offers
                .into_iter()
                .map(|(offer, product)| OfferResponse {
                    product_id: offer.product_id,
                    sku: product.sku,
                    name: product.name,
                    name_en: product.name_en,
                    unit_price: product.unit_price,
                    currency: product.currency,
                    expected_value: offer.expected_value,
                    confidence: offer.confidence,
                    reasons: offer.reasons,
                })
                .collect(),
            excluded: found
                .excluded
                .into_iter()
                .map(|(product_id, reason)| ExcludedProduct { product_id, reason })
                .collect(),
        }
    }
}

/// A customer's next best offers.
///
/// The products the latest `cross_sell` run recommends to the customer ("who bought
/// X also bought Y"), less those the customer has bought (since that run, or in an
/// older order paid since) and those no longer sold
/// (listed in `excluded` with the reason), ranked by expected value: P(alive) from the
/// latest CLV run (1 without one) × the rule's confidence × the margin (unit price less
/// unit cost, or the price when the cost is unknown). Each offer carries its reasons:
/// the rule, the margin, the customer's CLV and, when the latest churn run puts the
/// risk at 0.5 or more, retention. `marketing_channels` are those the customer gave
/// marketing consent on. A merged-away customer's id answers for the customer it was
/// merged into. Needs `records:read` and a customer the caller may see.
#[utoipa::path(
    tag = "offers",
    operation_id = "next_best_offers",
    params(("id" = Uuid, Path, description = "Customer id"), OfferParams),
    responses((status = 200, description = "The offers, best first", body = NextBestOffersResponse))
)]
#[get("/api/v1/customers/{id}/next-best-offers")]
pub async fn next_best_offers(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    params: web::Query<OfferParams>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    let found = state
        .db(move |conn| Ok(offers::next_best_offers(conn, &principal, id, limit)?))
        .await?;
    Ok(HttpResponse::Ok().json(NextBestOffersResponse::from(found)))
}
