//! The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005b; Fader &
//! Hardie 2013, <http://www.brucehardie.com/notes/025/>).
//!
//! Each transaction's value is Gamma(p, ν) with ν ~ Gamma(q, γ) across customers (γ is
//! called `v` as in `lifetimes`). The mean z̄ of a customer's x repeat transactions has
//! the marginal density (Fader & Hardie 2013, eq. 1a)
//!
//! ```text
//! f(z̄ | p, q, γ, x) = Γ(px + q) / (Γ(px) Γ(q)) · γ^q z̄^(px−1) x^(px) / (γ + x z̄)^(px+q)
//! ```
//!
//! The model assumes spend is independent of purchase frequency; the fit reports the
//! Pearson correlation of x and z̄ so that a caller can see when that fails.

use rustc_hash::FxHashMap;
use serde::Serialize;
use statrs::function::gamma::{digamma, ln_gamma};

use crate::bgnbd::standard_errors;
use crate::optimize::{inverse_hessian, minimize, Minimum, OptimizerReport, Settings};
use crate::{AnalyticsError, Result};

/// Gamma-Gamma parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GammaGammaParams {
    pub p: f64,
    pub q: f64,
    /// γ, the scale of the Gamma distribution of ν.
    pub v: f64,
}

impl GammaGammaParams {
    /// E[Z | z̄, x] = (q − 1)/(px + q − 1) · pγ/(q − 1) + px/(px + q − 1) · z̄
    /// (Fader, Hardie & Lee 2005b, eq. 5): a weighted mean of the population mean
    /// pγ/(q − 1) and the customer's own mean; x = 0 gives the population mean.
    pub fn conditional_expected_spend(&self, frequency: u32, monetary: f64) -> f64 {
        let px = self.p * f64::from(frequency);
        let individual_weight = px / (px + self.q - 1.0);
        let population_mean = self.v * self.p / (self.q - 1.0);
        (1.0 - individual_weight) * population_mean + individual_weight * monetary
    }
}

/// Fit settings; the penalty is penalizer · (p² + q² + (γ/s)²) added to the mean negative
/// log-likelihood, with s the mean amount ([`fit`]): `lifetimes`' `penalizer_coef` on
/// amounts expressed in units of their mean.
pub use crate::optimize::FitOptions;

/// How a Gamma-Gamma fit went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitReport {
    /// Customers with x > 0 used in the fit.
    pub customers: usize,
    /// Customers left out because x = 0 (they have no repeat transaction value).
    pub skipped_without_repeat: usize,
    /// Distinct (x, z̄) pairs, each evaluated once.
    pub distinct_rows: usize,
    pub log_likelihood: f64,
    /// Standard errors of p, q, v (inverse observed information, delta method).
    pub standard_errors: GammaGammaParams,
    /// Pearson correlation of frequency and monetary value over the customers used; the
    /// model assumes it is near 0.
    pub frequency_monetary_correlation: f64,
    pub penalizer: f64,
    pub optimizer: OptimizerReport,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GammaGammaFit {
    pub params: GammaGammaParams,
    pub report: FitReport,
}

/// Starting points of the search, as (ln p, ln q, ln γ) on amounts divided by their mean:
/// the usual one (p, q, γ ≈ 1.1), then two that put the mean spend pγ/(q − 1) at 1, one
/// of spread-out and one of even spending.
const STARTS: [[f64; 3]; 3] = [
    [0.1, 0.1, 0.1],
    [0.0, std::f64::consts::LN_2, 0.0],
    [std::f64::consts::LN_10, 2.397_895_272_798_371, 0.0],
];

/// (x, ln x, [(z̄, ln z̄, weight)]) per distinct frequency.
type Groups = Vec<(f64, f64, Vec<(f64, f64, f64)>)>;

/// Maximum-likelihood fit on `(frequency, monetary)` pairs; pairs with frequency 0 are
/// skipped (and counted), the others need a positive monetary value.
///
/// The model is scale-free: multiplying every amount by c leaves p and q and multiplies
/// γ by c. So the fit runs on amounts divided by their mean, where γ is of the order of
/// (q − 1)/p whatever the currency, and scales γ back: from a fixed starting point the
/// optimiser would otherwise have to travel from 0.1 to millions for amounts in rials.
/// The penalty, when asked for, applies to the scaled parameters, so a penalizer means
/// the same for rials as for dollars.
pub fn fit(rows: &[(u32, f64)], options: &FitOptions) -> Result<GammaGammaFit> {
    // Fx rather than SipHash: the keys are our own numbers, and at a million customers
    // the hashing was most of the set-up time. The groups are sorted below, so the fit
    // does not depend on the map's order.
    let mut pairs: FxHashMap<(u32, u64), f64> = FxHashMap::default();
    let mut skipped = 0;
    for (index, &(x, m)) in rows.iter().enumerate() {
        if x == 0 {
            skipped += 1;
            continue;
        }
        if !(m > 0.0 && m.is_finite()) {
            return Err(AnalyticsError::InvalidInput {
                index,
                reason: format!("monetary value {m} must be positive when frequency > 0"),
            });
        }
        *pairs.entry((x, m.to_bits())).or_insert(0.0) += 1.0;
    }
    let used: Vec<(f64, f64)> = rows
        .iter()
        .filter(|(x, _)| *x > 0)
        .map(|&(x, m)| (f64::from(x), m))
        .collect();
    if used.len() < 2 {
        return Err(AnalyticsError::NoData(
            "Gamma-Gamma needs at least two customers with repeat purchases",
        ));
    }
    let n = used.len() as f64;
    let scale = used.iter().map(|(_, m)| m).sum::<f64>() / n;
    let distinct_rows = pairs.len();
    let mut by_x: FxHashMap<u32, Vec<(f64, f64, f64)>> = FxHashMap::default();
    for ((x, bits), w) in pairs {
        let m = f64::from_bits(bits) / scale;
        by_x.entry(x).or_default().push((m, m.ln(), w));
    }
    let mut groups: Groups = by_x
        .into_iter()
        .map(|(x, mut cells)| {
            cells.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
            let x = f64::from(x);
            (x, x.ln(), cells)
        })
        .collect();
    groups.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));

    let settings = Settings {
        max_iterations: options.max_iterations,
        gradient_tolerance: options.gradient_tolerance,
    };
    let objective = |log_params: &[f64], gradient: &mut [f64]| {
        let ll = log_likelihood(&groups, log_params, gradient);
        let params: Vec<f64> = log_params.iter().map(|v| v.exp()).collect();
        for i in 0..3 {
            gradient[i] = -gradient[i] / n + 2.0 * options.penalizer * params[i] * params[i];
        }
        -ll / n + options.penalizer * params.iter().map(|p| p * p).sum::<f64>()
    };
    // The first start that converges wins, so a fit that converged from the first keeps
    // its figures; the others are tried when the search stalls on the long ridge of
    // (p, q, γ) with the same mean spend pγ/(q − 1).
    let mut minimum = minimize(objective, STARTS[0].to_vec(), &settings);
    for start in &STARTS[1..] {
        if minimum.report.converged {
            break;
        }
        let retry = minimize(objective, start.to_vec(), &settings);
        minimum = Minimum {
            report: OptimizerReport {
                iterations: minimum.report.iterations + retry.report.iterations,
                evaluations: minimum.report.evaluations + retry.report.evaluations,
                ..retry.report
            },
            x: retry.x,
        };
    }
    let se = standard_errors(inverse_hessian(objective, &minimum.x), &minimum.x, n);
    if !minimum.report.converged {
        return Err(AnalyticsError::NotConverged {
            model: "Gamma-Gamma",
            iterations: minimum.report.iterations,
        });
    }
    let mut unused = [0.0; 3];
    // The density of an amount in the caller's unit is the scaled one divided by the
    // scale, once per customer.
    let log_likelihood = log_likelihood(&groups, &minimum.x, &mut unused) - n * scale.ln();
    Ok(GammaGammaFit {
        params: GammaGammaParams {
            p: minimum.x[0].exp(),
            q: minimum.x[1].exp(),
            v: minimum.x[2].exp() * scale,
        },
        report: FitReport {
            customers: used.len(),
            skipped_without_repeat: skipped,
            distinct_rows,
            log_likelihood,
            standard_errors: GammaGammaParams {
                p: se[0],
                q: se[1],
                v: se[2] * scale,
            },
            frequency_monetary_correlation: pearson(&used),
            penalizer: options.penalizer,
            optimizer: minimum.report,
        },
    })
}

/// Total log-likelihood at ln(p, q, γ); writes its gradient w.r.t. the log-parameters.
fn log_likelihood(groups: &Groups, log_params: &[f64], gradient: &mut [f64]) -> f64 {
    let (p, q, v) = (
        log_params[0].exp(),
        log_params[1].exp(),
        log_params[2].exp(),
    );
    let (ln_v, dg_q, lg_q) = (v.ln(), digamma(q), ln_gamma(q));
    let (mut ll, mut g_p, mut g_q, mut g_v) = (0.0, 0.0, 0.0, 0.0);
    for (x, ln_x, cells) in groups {
        let px = p * x;
        let (lg_pxq, lg_px) = (ln_gamma(px + q), ln_gamma(px));
        let (dg_pxq, dg_px) = (digamma(px + q), digamma(px));
        for &(m, ln_m, w) in cells {
            let denominator = x * m + v;
            let ln_den = denominator.ln();
            ll += w
                * (lg_pxq - lg_px - lg_q + q * ln_v + (px - 1.0) * ln_m + px * ln_x
                    - (px + q) * ln_den);
            g_p += w * x * (dg_pxq - dg_px + ln_m + ln_x - ln_den);
            g_q += w * (dg_pxq - dg_q + ln_v - ln_den);
            g_v += w * (q / v - (px + q) / denominator);
        }
    }
    gradient[0] = p * g_p;
    gradient[1] = q * g_q;
    gradient[2] = v * g_v;
    ll
}

/// Pearson correlation of the pairs (NaN when either side is constant).
pub(crate) fn pearson(pairs: &[(f64, f64)]) -> f64 {
    let n = pairs.len() as f64;
    let (mx, my) = pairs
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    sxy / (sxx * syy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let groups: Groups = vec![
            (
                1.0,
                0.0,
                vec![(10.0, 10f64.ln(), 2.0), (30.0, 30f64.ln(), 1.0)],
            ),
            (4.0, 4f64.ln(), vec![(25.0, 25f64.ln(), 1.0)]),
        ];
        let x = [6f64.ln(), 3.5f64.ln(), 15f64.ln()];
        let mut gradient = [0.0; 3];
        log_likelihood(&groups, &x, &mut gradient);
        for i in 0..3 {
            let (mut up, mut down) = (x, x);
            up[i] += 1e-6;
            down[i] -= 1e-6;
            let mut unused = [0.0; 3];
            let numeric = (log_likelihood(&groups, &up, &mut unused)
                - log_likelihood(&groups, &down, &mut unused))
                / 2e-6;
            assert!((numeric - gradient[i]).abs() < 1e-6 * numeric.abs().max(1.0));
        }
    }

    #[test]
    fn expected_spend_shrinks_towards_the_population_mean() {
        let params = GammaGammaParams {
            p: 6.25,
            q: 3.74,
            v: 15.44,
        };
        let population = params.conditional_expected_spend(0, 0.0);
        assert!((population - 6.25 * 15.44 / 2.74).abs() < 1e-12);
        let spend = params.conditional_expected_spend(3, 100.0);
        assert!(spend > population && spend < 100.0);
    }
}
