//! Predictions against the `lifetimes` package on every CDNOW customer.
//!
//! The fixture comes from `scripts/lifetimes_reference.py`. The predictions are compared
//! at lifetimes' own fitted parameters, so that the check is about the formulas and not
//! about where two optimisers stop; the fits are compared separately, at optimiser
//! tolerance.

use std::collections::HashMap;

use analytics::bgnbd::{self, BgNbdParams};
use analytics::clv::{predictive_clv, ClvOptions};
use analytics::gamma_gamma::{self, GammaGammaParams};
use analytics::summary::{PurchaseHistory, TimeUnit};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");

struct Row {
    history: PurchaseHistory,
    monetary: f64,
    p_alive: f64,
    expected_purchases_39: f64,
    expected_spend: f64,
    clv: f64,
}

fn params() -> HashMap<String, f64> {
    let mut reader =
        csv::Reader::from_path(format!("{FIXTURES}lifetimes_cdnow_params.csv")).expect("fixture");
    reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            (r[0].to_string(), r[1].parse().expect("number"))
        })
        .collect()
}

fn rows() -> Vec<Row> {
    let mut reader =
        csv::Reader::from_path(format!("{FIXTURES}lifetimes_cdnow.csv")).expect("fixture");
    reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            let f = |i: usize| r[i].parse::<f64>().expect("number");
            Row {
                history: PurchaseHistory {
                    frequency: f(1) as u32,
                    recency: f(2),
                    t: f(3),
                },
                monetary: f(4),
                p_alive: f(5),
                expected_purchases_39: f(6),
                expected_spend: f(7),
                clv: f(8),
            }
        })
        .collect()
}

fn assert_relative(what: &str, index: usize, ours: f64, theirs: f64, tolerance: f64) {
    let scale = theirs.abs().max(1e-300);
    assert!(
        (ours - theirs).abs() <= tolerance * scale,
        "{what} of customer {index}: {ours} vs lifetimes {theirs}"
    );
}

#[test]
fn predictions_match_lifetimes_for_every_customer() {
    let p = params();
    let bg = BgNbdParams {
        r: p["r"],
        alpha: p["alpha"],
        a: p["a"],
        b: p["b"],
    };
    let gg = GammaGammaParams {
        p: p["p"],
        q: p["q"],
        v: p["v"],
    };
    let options = ClvOptions {
        horizon_months: 12,
        monthly_discount_rate: 0.01,
        margin: 1.0,
        unit: TimeUnit::Week,
    };
    let rows = rows();
    assert_eq!(rows.len(), 2357);
    for (i, row) in rows.iter().enumerate() {
        let h = &row.history;
        assert_relative("P(alive)", i, bg.probability_alive(h), row.p_alive, 1e-6);
        assert_relative(
            "E[X(39)]",
            i,
            bg.conditional_expected_purchases(39.0, h),
            row.expected_purchases_39,
            1e-6,
        );
        assert_relative(
            "expected spend",
            i,
            gg.conditional_expected_spend(h.frequency, row.monetary),
            row.expected_spend,
            1e-6,
        );
        assert_relative(
            "CLV",
            i,
            predictive_clv(&bg, &gg, h, row.monetary, &options),
            row.clv,
            1e-6,
        );
    }
}

#[test]
fn fits_agree_with_lifetimes() {
    let p = params();
    let rows = rows();
    let histories: Vec<PurchaseHistory> = rows.iter().map(|r| r.history).collect();
    let bg = bgnbd::fit(&histories, &bgnbd::FitOptions::default()).expect("BG/NBD fit");
    for (name, ours) in [
        ("r", bg.params.r),
        ("alpha", bg.params.alpha),
        ("a", bg.params.a),
        ("b", bg.params.b),
    ] {
        assert_relative(name, 0, ours, p[name], 1e-4);
    }
    assert_relative(
        "log-likelihood",
        0,
        bg.report.log_likelihood,
        p["bgnbd_log_likelihood"],
        1e-8,
    );
    let spend: Vec<(u32, f64)> = rows
        .iter()
        .map(|r| (r.history.frequency, r.monetary))
        .collect();
    let gg = gamma_gamma::fit(&spend, &gamma_gamma::FitOptions::default()).expect("GG fit");
    for (name, ours) in [("p", gg.params.p), ("q", gg.params.q), ("v", gg.params.v)] {
        assert_relative(name, 0, ours, p[name], 1e-3);
    }
}
