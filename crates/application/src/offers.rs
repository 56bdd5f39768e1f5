//! Next best offer (M-6) for one customer: the latest `cross_sell` run's
//! recommendations for them, less what they bought since and what is no longer sold,
//! ranked by `domain::offers::rank` with their CLV and churn scores, and the channels
//! they gave marketing consent on.

use domain::authz::Permission;
use domain::customers::{ConsentChannel, ConsentPurpose};
use domain::offers::{rank, Candidate, Customer, Exclusion, Offer, LIMITS};
use persistence::db::DbConnection;
use persistence::products::ProductRow;
use serde::Deserialize;
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};

/// A customer's offers.
#[derive(Debug, Clone, PartialEq)]
pub struct NextBestOffers {
    pub customer_id: Uuid,
    /// The run whose recommendations the offers come from; `None` before the first
    /// `cross_sell` run that recommended the customer anything.
    pub cross_sell_run_id: Option<Uuid>,
    /// Channels the customer gave marketing consent on.
    pub channels: Vec<ConsentChannel>,
    pub offers: Vec<(Offer, ProductRow)>,
    pub excluded: Vec<(Uuid, Exclusion)>,
}

/// One stored recommendation, as `analytics::cross_sell` runs write them.
#[derive(Debug, Deserialize)]
struct Recommendation {
    product_id: Uuid,
    confidence: f64,
    lift: f64,
    because_of: Uuid,
}

/// The offers for `customer` (`records:read`, a customer the caller may see), the best
/// `limit` (1 to 20).
pub fn next_best_offers(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
    limit: i64,
) -> AppResult<NextBestOffers> {
    acting.require(Permission::RecordsRead)?;
    if !LIMITS.contains(&limit) {
        return Err(AppError::field(
            "limit",
            "out_of_range",
            format!("must be {} to {}", LIMITS.start(), LIMITS.end()),
        ));
    }
    // A merged-away id stands for the customer it was merged into, which holds the
    // orders and gets the scores.
    let record = crate::customers::merge_chain(conn, acting, customer)?
        .pop()
        .ok_or(AppError::NotFound)?;
    let customer = record.row.id.0;
    let scores = record.scores();
    let channels = persistence::consents::current(conn, customer)?
        .into_iter()
        .filter(|state| state.granted && state.purpose == ConsentPurpose::Marketing.as_str())
        .filter_map(|state| ConsentChannel::parse(&state.channel))
        .collect();
    let Some(recommendations) = scores.recommendations else {
        return Ok(NextBestOffers {
            customer_id: customer,
            cross_sell_run_id: None,
            channels,
            offers: Vec::new(),
            excluded: Vec::new(),
        });
    };
    let recommended: Vec<Recommendation> = serde_json::from_value(recommendations.products.clone())
        .map_err(|err| {
            AppError::Internal(format!(
                "recommendations of run {} unreadable: {err}",
                recommendations.run_id
            ))
        })?;
    let ids: Vec<Uuid> = recommended.iter().map(|r| r.product_id).collect();
    let products = persistence::products::find_many(conn, &ids)?;
    // The run left out what the customer owned then; anything bought since, or an
    // older order paid since, is read here.
    let bought = persistence::orders::products_bought(conn, customer)?
        .into_iter()
        .collect();
    let candidates = recommended
        .into_iter()
        .filter_map(|r| {
            // A product deleted since the run is simply gone.
            let product = products.iter().find(|p| p.id.0 == r.product_id)?;
            Some(Candidate {
                product_id: r.product_id,
                confidence: r.confidence,
                lift: r.lift,
                because_of: r.because_of,
                unit_price: product.unit_price,
                unit_cost: product.unit_cost,
                active: product.active,
            })
        })
        .collect();
    let known = Customer {
        p_alive: scores.clv.map(|clv| clv.p_alive),
        clv: scores.clv.map(|clv| clv.clv),
        churn_risk: scores.churn.as_ref().map(|churn| churn.risk),
        bought,
    };
    let (offers, excluded) = rank(candidates, &known, limit as usize);
    let offers = offers
        .into_iter()
        .filter_map(|offer| {
            let product = products
                .iter()
                .find(|p| p.id.0 == offer.product_id)?
                .clone();
            Some((offer, product))
        })
        .collect();
    Ok(NextBestOffers {
        customer_id: customer,
        cross_sell_run_id: Some(recommendations.run_id),
        channels,
        offers,
        excluded,
    })
}
