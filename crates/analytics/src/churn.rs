//! Churn risk.
//!
//! In a non-contractual business nobody announces leaving, so the risk is the BG/NBD
//! probability that the customer has already dropped out, 1 − P(alive). Where churn is
//! labelled (contracts, subscriptions) a [`LogisticModel`] predicts it, and the drivers
//! of one customer's risk are the features that raise its log-odds the most.

use serde::Serialize;

use crate::bgnbd::BgNbdParams;
use crate::logistic::LogisticModel;
use crate::summary::PurchaseHistory;

/// 1 − P(alive | x, t_x, T).
pub fn churn_risk(params: &BgNbdParams, history: &PurchaseHistory) -> f64 {
    1.0 - params.probability_alive(history)
}

/// One feature's push on a customer's churn log-odds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Driver {
    pub feature: String,
    /// Contribution to the log-odds relative to an average customer.
    pub contribution: f64,
}

/// The `top` features raising this customer's predicted churn the most (positive
/// contributions only, largest first; ties keep feature order).
pub fn top_drivers(model: &LogisticModel, row: &[f64], top: usize) -> Vec<Driver> {
    let mut drivers: Vec<Driver> = model
        .contributions(row)
        .into_iter()
        .zip(&model.feature_names)
        .filter(|(c, _)| *c > 0.0)
        .map(|(contribution, feature)| Driver {
            feature: feature.clone(),
            contribution,
        })
        .collect();
    drivers.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
    drivers.truncate(top);
    drivers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logistic::LogisticOptions;

    #[test]
    fn drivers_name_what_raises_the_risk() {
        // Churn rises with days since last order and falls with orders.
        let features: Vec<Vec<f64>> = (0..400)
            .map(|i| vec![f64::from(i % 40), f64::from((i / 40) % 10)])
            .collect();
        let labels: Vec<bool> = features.iter().map(|r| r[0] - 3.0 * r[1] > 5.0).collect();
        let model = LogisticModel::fit(
            &["days_idle", "orders"],
            &features,
            &labels,
            &LogisticOptions::default(),
        )
        .expect("fit");
        let drivers = top_drivers(&model, &[39.0, 0.0], 2);
        assert_eq!(drivers[0].feature, "days_idle");
        assert_eq!(drivers.len(), 2);
        assert!(top_drivers(&model, &[0.0, 9.0], 2).is_empty());

        let params = BgNbdParams {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        };
        let quiet = PurchaseHistory {
            frequency: 5,
            recency: 2.0,
            t: 38.0,
        };
        assert!(churn_risk(&params, &quiet) > 0.9);
    }
}
