//! Invariants that must hold for any input.

use analytics::attribution::{attribute, AttributionModel, ConversionPath, Touchpoint};
use analytics::bgnbd::BgNbdParams;
use analytics::kmeans::{self, KMeansOptions};
use analytics::logistic::{LogisticModel, LogisticOptions};
use analytics::rfm::quintile_scores;
use analytics::summary::PurchaseHistory;
use chrono::{DateTime, TimeDelta};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn params() -> impl Strategy<Value = BgNbdParams> {
    (0.01f64..10.0, 0.1f64..100.0, 0.05f64..5.0, 0.05f64..20.0)
        .prop_map(|(r, alpha, a, b)| BgNbdParams { r, alpha, a, b })
}

fn history() -> impl Strategy<Value = PurchaseHistory> {
    (0u32..60, 0.0f64..1.0, 0.1f64..200.0).prop_map(|(frequency, share, t)| PurchaseHistory {
        frequency,
        recency: if frequency == 0 { 0.0 } else { share * t },
        t,
    })
}

fn model() -> impl Strategy<Value = AttributionModel> {
    prop_oneof![
        Just(AttributionModel::FirstTouch),
        Just(AttributionModel::LastTouch),
        Just(AttributionModel::Linear),
        Just(AttributionModel::PositionBased),
        (1i64..1000).prop_map(|h| AttributionModel::TimeDecay {
            half_life: TimeDelta::hours(h)
        }),
    ]
}

fn paths() -> impl Strategy<Value = Vec<ConversionPath>> {
    let path = (
        prop::collection::vec((0usize..4, 0i64..10_000), 0..8),
        0.0f64..10_000.0,
    )
        .prop_map(|(touches, revenue)| {
            let start = DateTime::from_timestamp(1_700_000_000, 0).expect("valid time");
            let mut hours: Vec<i64> = touches.iter().map(|t| t.1).collect();
            hours.sort_unstable();
            ConversionPath {
                touchpoints: touches
                    .iter()
                    .zip(&hours)
                    .map(|(&(channel, _), &h)| Touchpoint {
                        channel: ["search", "email", "social", "direct"][channel].into(),
                        campaign: (channel % 2 == 0).then(|| format!("c{channel}")),
                        at: start + TimeDelta::hours(h),
                    })
                    .collect(),
                converted_at: start + TimeDelta::hours(10_000),
                revenue,
            }
        });
    prop::collection::vec(path, 0..20)
}

proptest! {
    #[test]
    fn probabilities_lie_in_the_unit_interval(p in params(), h in history()) {
        let alive = p.probability_alive(&h);
        prop_assert!((0.0..=1.0).contains(&alive), "P(alive) = {alive}");
        let churn = analytics::churn::churn_risk(&p, &h);
        prop_assert!((0.0..=1.0).contains(&churn));
    }

    #[test]
    fn attribution_credits_sum_to_revenue(paths in paths(), model in model()) {
        let report = attribute(&paths, model).expect("valid paths");
        let credited: f64 = report.by_channel.values().map(|c| c.revenue).sum();
        let revenue: f64 = paths.iter().filter(|p| !p.touchpoints.is_empty()).map(|p| p.revenue).sum();
        prop_assert!((credited - revenue).abs() <= 1e-9 * revenue.max(1.0));
        let conversions: f64 = report.by_channel.values().map(|c| c.conversions).sum();
        prop_assert!((conversions - report.conversions as f64).abs() < 1e-9);
    }

    #[test]
    fn rfm_scores_cover_one_to_five_evenly_on_uniform_data(groups in 1usize..200, seed in any::<u64>()) {
        let n = groups * 5;
        let mut rng = StdRng::seed_from_u64(seed);
        let values: Vec<f64> = (0..n).map(|_| rng.gen::<f64>()).collect();
        let scores = quintile_scores(&values);
        for score in 1..=5u8 {
            prop_assert_eq!(scores.iter().filter(|&&s| s == score).count(), groups);
        }
    }

    #[test]
    fn kmeans_inertia_never_increases(seed in any::<u64>(), k in 1usize..6, n in 10usize..120) {
        let mut rng = StdRng::seed_from_u64(seed);
        let rows: Vec<Vec<f64>> = (0..n).map(|_| vec![rng.gen_range(-5.0..5.0), rng.gen_range(0.0..100.0), rng.gen::<f64>()]).collect();
        let model = kmeans::fit(&rows, &KMeansOptions { k, max_iterations: 50, seed }).expect("fit");
        for pair in model.inertia_history.windows(2) {
            prop_assert!(pair[1] <= pair[0] * (1.0 + 1e-12), "{:?}", model.inertia_history);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn logistic_regression_recovers_coefficients(seed in any::<u64>(), b1 in -2.0f64..2.0, b2 in -2.0f64..2.0) {
        let (b0, n) = (-0.5, 5_000);
        let mut rng = StdRng::seed_from_u64(seed);
        let features: Vec<Vec<f64>> = (0..n).map(|_| vec![rng.gen_range(-2.0..2.0), rng.gen_range(0.0..3.0)]).collect();
        let labels: Vec<bool> = features
            .iter()
            .map(|x| rng.gen::<f64>() < 1.0 / (1.0 + (-(b0 + b1 * x[0] + b2 * x[1])).exp()))
            .collect();
        let options = LogisticOptions { l2: 0.0, ..LogisticOptions::default() };
        let model = LogisticModel::fit(&["x1", "x2"], &features, &labels, &options).expect("fit");
        let (intercept, coefficients) = model.unstandardised();
        // Standard errors are about 0.03 to 0.05 at this size; allow about five of them.
        prop_assert!((coefficients[0] - b1).abs() < 0.25, "{coefficients:?} vs {b1}");
        prop_assert!((coefficients[1] - b2).abs() < 0.25, "{coefficients:?} vs {b2}");
        prop_assert!((intercept - b0).abs() < 0.4, "{intercept} vs {b0}");
    }
}
