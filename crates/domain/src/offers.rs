//! Next best offer (M-6): the products worth offering one customer now, best first,
//! each with the reasons behind it.
//!
//! The candidates are the products the latest `cross_sell` run recommends to the
//! customer (association rules over everyone's baskets: "who bought X also bought Y").
//! A candidate is dropped when the product is inactive or the customer has bought it
//! (since the run looked at their purchases, or paid late for an older order). The rest are ranked by their expected
//! value to the business, P(alive) × P(buys | rule) × margin, where P(alive) comes
//! from the latest CLV run (1 when there is none: no evidence the customer is gone)
//! and the margin is the unit price less the unit cost, or the price when the cost is
//! unknown. The customer's CLV and churn risk travel with the offers as reasons; the
//! channels they may be sent on are those with marketing consent given.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Offers a request may ask for, and the number it gets by default.
pub const LIMITS: std::ops::RangeInclusive<i64> = 1..=20;
pub const DEFAULT_LIMIT: i64 = 5;

/// A churn risk from which offers are presented as keeping the customer.
pub const AT_RISK: f64 = 0.5;

/// A product a rule recommends, with what the catalogue says of it now.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub product_id: Uuid,
    /// P(buys the product | bought `because_of`), the rule's confidence.
    pub confidence: f64,
    pub lift: f64,
    /// The product the customer bought that the rule starts from.
    pub because_of: Uuid,
    pub unit_price: i64,
    pub unit_cost: Option<i64>,
    pub active: bool,
}

/// What is known of the customer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Customer {
    /// From the latest CLV run.
    pub p_alive: Option<f64>,
    pub clv: Option<i64>,
    /// From the latest churn run.
    pub churn_risk: Option<f64>,
    /// Products the customer bought, with the last time.
    pub bought: BTreeMap<Uuid, DateTime<Utc>>,
}

/// Why a product is offered.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OfferReason {
    /// Customers who bought `because_of` bought this product too.
    BoughtTogether {
        because_of: Uuid,
        confidence: f64,
        lift: f64,
    },
    /// The margin one sale brings, in minor units (the price when the cost is unknown).
    Margin { margin: i64, cost_known: bool },
    /// The customer's predicted lifetime value and probability of still being a
    /// customer (latest CLV run).
    CustomerValue { clv: i64, p_alive: f64 },
    /// The customer is likely to leave (latest churn run): the offer can keep them.
    Retention { churn_risk: f64 },
}

/// A ranked offer.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub product_id: Uuid,
    /// P(alive) × confidence × margin, in minor units: what offering it is worth on
    /// average.
    pub expected_value: f64,
    pub confidence: f64,
    pub reasons: Vec<OfferReason>,
}

/// Why a recommended product is not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Exclusion {
    /// Bought already (last at `at`): since the recommendations were computed, or an
    /// older order paid since.
    AlreadyBought { at: DateTime<Utc> },
    /// No longer sold.
    Inactive,
}

/// The candidates ranked for `customer`: the first `limit` offers, and the candidates
/// left out with why. Equal values keep the higher confidence, then the product id,
/// first, so the order is stable.
pub fn rank(
    candidates: Vec<Candidate>,
    customer: &Customer,
    limit: usize,
) -> (Vec<Offer>, Vec<(Uuid, Exclusion)>) {
    let p_alive = customer.p_alive.unwrap_or(1.0).clamp(0.0, 1.0);
    let mut excluded = Vec::new();
    let mut offers = Vec::new();
    for candidate in candidates {
        if !candidate.active {
            excluded.push((candidate.product_id, Exclusion::Inactive));
            continue;
        }
        if let Some(at) = customer.bought.get(&candidate.product_id) {
            excluded.push((candidate.product_id, Exclusion::AlreadyBought { at: *at }));
            continue;
        }
        let margin = candidate.unit_cost.map_or(candidate.unit_price, |cost| {
            candidate.unit_price.saturating_sub(cost)
        });
        let mut reasons = vec![
            OfferReason::BoughtTogether {
                because_of: candidate.because_of,
                confidence: candidate.confidence,
                lift: candidate.lift,
            },
            OfferReason::Margin {
                margin,
                cost_known: candidate.unit_cost.is_some(),
            },
        ];
        if let (Some(clv), Some(p)) = (customer.clv, customer.p_alive) {
            reasons.push(OfferReason::CustomerValue { clv, p_alive: p });
        }
        if let Some(risk) = customer.churn_risk.filter(|risk| *risk >= AT_RISK) {
            reasons.push(OfferReason::Retention { churn_risk: risk });
        }
        offers.push(Offer {
            product_id: candidate.product_id,
            expected_value: p_alive * candidate.confidence * margin.max(0) as f64,
            confidence: candidate.confidence,
            reasons,
        });
    }
    offers.sort_by(|a, b| {
        b.expected_value
            .total_cmp(&a.expected_value)
            .then(b.confidence.total_cmp(&a.confidence))
            .then(a.product_id.cmp(&b.product_id))
    });
    offers.truncate(limit);
    (offers, excluded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: u128, confidence: f64, price: i64, cost: Option<i64>) -> Candidate {
        Candidate {
            product_id: Uuid::from_u128(id),
            confidence,
            lift: 2.0,
            because_of: Uuid::from_u128(99),
            unit_price: price,
            unit_cost: cost,
            active: true,
        }
    }

    #[test]
    fn ranked_by_expected_margin_not_by_confidence_alone() {
        // 0.6 × 100 = 60 against 0.3 × (500 − 100) = 120.
        let (offers, excluded) = rank(
            vec![
                candidate(1, 0.6, 100, None),
                candidate(2, 0.3, 500, Some(100)),
            ],
            &Customer::default(),
            5,
        );
        assert!(excluded.is_empty());
        let order: Vec<u128> = offers.iter().map(|o| o.product_id.as_u128()).collect();
        assert_eq!(order, [2, 1]);
        assert!((offers[0].expected_value - 120.0).abs() < 1e-9);
        assert_eq!(
            offers[0].reasons[1],
            OfferReason::Margin {
                margin: 400,
                cost_known: true
            }
        );
    }

    #[test]
    fn bought_and_inactive_products_are_left_out_with_the_reason() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut inactive = candidate(3, 0.9, 100, None);
        inactive.active = false;
        let customer = Customer {
            bought: BTreeMap::from([(Uuid::from_u128(1), at)]),
            ..Customer::default()
        };
        let (offers, excluded) = rank(
            vec![
                candidate(1, 0.6, 100, None),
                candidate(2, 0.1, 100, None),
                inactive,
            ],
            &customer,
            5,
        );
        assert_eq!(offers.len(), 1);
        assert_eq!(
            excluded,
            [
                (Uuid::from_u128(1), Exclusion::AlreadyBought { at }),
                (Uuid::from_u128(3), Exclusion::Inactive)
            ]
        );
    }

    #[test]
    fn customer_value_and_risk_scale_and_explain() {
        let customer = Customer {
            p_alive: Some(0.5),
            clv: Some(8_000_000),
            churn_risk: Some(0.7),
            ..Customer::default()
        };
        let (offers, _) = rank(vec![candidate(1, 0.4, 1_000, None)], &customer, 5);
        assert!((offers[0].expected_value - 200.0).abs() < 1e-9);
        assert!(offers[0].reasons.contains(&OfferReason::CustomerValue {
            clv: 8_000_000,
            p_alive: 0.5
        }));
        assert!(offers[0]
            .reasons
            .contains(&OfferReason::Retention { churn_risk: 0.7 }));
    }

    #[test]
    fn a_cost_above_the_price_is_worth_nothing_and_ties_are_stable() {
        let (offers, _) = rank(
            vec![
                candidate(2, 0.5, 100, Some(150)),
                candidate(1, 0.5, 100, Some(150)),
            ],
            &Customer::default(),
            1,
        );
        assert_eq!(offers.len(), 1);
        assert_eq!(offers[0].expected_value, 0.0);
        assert_eq!(offers[0].product_id, Uuid::from_u128(1));
    }
}
