//! Fits on customer bases simulated from known parameters recover those parameters.
//!
//! Times stay continuous here: rounding purchases to whole days merges same-day purchases
//! of the heaviest buyers, which is a departure from the model, not sampling error (the
//! day-level summary is checked on CDNOW in `cdnow.rs`).

use analytics::bgnbd::{self, BgNbdParams};
use analytics::gamma_gamma::{self, GammaGammaParams};
use analytics::simulate::Simulator;
use analytics::summary::PurchaseHistory;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CUSTOMERS: usize = 100_000;

/// (history, mean repeat-transaction value) of customers acquired 26 to 52 weeks ago.
fn simulate(bg: &BgNbdParams, gg: &GammaGammaParams, seed: u64) -> Vec<(PurchaseHistory, f64)> {
    let simulator = Simulator::new(bg, gg).expect("valid parameters");
    let mut rng = StdRng::seed_from_u64(seed);
    (0..CUSTOMERS)
        .map(|_| {
            let age = rng.gen_range(26.0..52.0);
            let purchases = simulator.purchases(&mut rng, age);
            let repeat = &purchases[1..];
            let monetary = if repeat.is_empty() {
                0.0
            } else {
                repeat.iter().map(|(_, amount)| amount).sum::<f64>() / repeat.len() as f64
            };
            let history = PurchaseHistory {
                frequency: repeat.len() as u32,
                recency: repeat.last().map_or(0.0, |(time, _)| *time),
                t: age,
            };
            (history, monetary)
        })
        .collect()
}

fn assert_within(name: &str, estimate: f64, standard_error: f64, truth: f64) {
    // Four standard errors: with 21 checks a false alarm has odds of about 1 in 800.
    assert!(
        (estimate - truth).abs() <= 4.0 * standard_error,
        "{name}: estimate {estimate} ± {standard_error}, truth {truth}"
    );
}

#[test]
fn fits_recover_simulation_parameters() {
    let cases = [
        (
            BgNbdParams {
                r: 0.243,
                alpha: 4.414,
                a: 0.793,
                b: 2.426,
            },
            GammaGammaParams {
                p: 6.25,
                q: 3.74,
                v: 15.44,
            },
        ),
        (
            BgNbdParams {
                r: 0.8,
                alpha: 12.0,
                a: 0.4,
                b: 4.0,
            },
            GammaGammaParams {
                p: 2.0,
                q: 5.0,
                v: 40.0,
            },
        ),
        (
            BgNbdParams {
                r: 2.0,
                alpha: 30.0,
                a: 1.5,
                b: 8.0,
            },
            GammaGammaParams {
                p: 10.0,
                q: 8.0,
                v: 5.0,
            },
        ),
    ];
    for (seed, (bg, gg)) in cases.iter().enumerate() {
        let customers = simulate(bg, gg, seed as u64);
        let histories: Vec<PurchaseHistory> = customers.iter().map(|(h, _)| *h).collect();
        let fit = bgnbd::fit(&histories, &bgnbd::FitOptions::default()).expect("BG/NBD fit");
        let (est, se) = (fit.params, fit.report.standard_errors);
        assert_within("r", est.r, se.r, bg.r);
        assert_within("alpha", est.alpha, se.alpha, bg.alpha);
        assert_within("a", est.a, se.a, bg.a);
        assert_within("b", est.b, se.b, bg.b);

        let spend: Vec<(u32, f64)> = customers.iter().map(|(h, m)| (h.frequency, *m)).collect();
        let fit = gamma_gamma::fit(&spend, &gamma_gamma::FitOptions::default()).expect("GG fit");
        let (est, se) = (fit.params, fit.report.standard_errors);
        assert_within("p", est.p, se.p, gg.p);
        assert_within("q", est.q, se.q, gg.q);
        assert_within("v", est.v, se.v, gg.v);
    }
}
