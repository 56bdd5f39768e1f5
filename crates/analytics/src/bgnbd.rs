//! The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005a).
//!
//! While active, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after
//! each repeat purchase the customer drops out with probability p ~ Beta(a, b). For a
//! customer with x repeat purchases, the last at t_x, observed for T, the likelihood is
//! (FHL 2005a, eq. 6)
//!
//! ```text
//! L = B(a, b + x) / B(a, b) · Γ(r + x) α^r / (Γ(r) (α + T)^(r+x))
//!   + δ(x > 0) · B(a + 1, b + x - 1) / B(a, b) · Γ(r + x) α^r / (Γ(r) (α + t_x)^(r+x))
//! ```
//!
//! written, as in `lifetimes`, as ln L = A1 + A2 + ln(e^A3 + δ(x>0) e^A4) with
//! A1 = lnΓ(r+x) − lnΓ(r) + r ln α, A2 = lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x),
//! A3 = −(r+x) ln(α+T), A4 = ln a − ln(b+x−1) − (r+x) ln(α+t_x).
//!
//! Fitting maximises the mean log-likelihood over log-parameters with the analytic
//! gradient. Customers with the same (x, t_x, T) are evaluated once with a weight, the
//! Gamma-function terms once per distinct x and the logarithms once per distinct t_x and
//! per distinct T, so one evaluation over a million customers costs one `exp` and one
//! `ln_1p` per distinct history.

use rustc_hash::FxHashMap;

use serde::Serialize;
use statrs::function::gamma::{digamma, ln_gamma};

use crate::optimize::{inverse_hessian, minimize, OptimizerReport, Settings};
use crate::special::hyp2f1;
use crate::summary::PurchaseHistory;
use crate::{AnalyticsError, Result};

/// BG/NBD parameters, time in the unit of the data they were fit on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BgNbdParams {
    /// Shape of the Gamma purchase-rate distribution.
    pub r: f64,
    /// Scale (in time units) of the Gamma purchase-rate distribution.
    pub alpha: f64,
    /// Beta dropout-probability shape a.
    pub a: f64,
    /// Beta dropout-probability shape b.
    pub b: f64,
}

impl BgNbdParams {
    /// P(alive | x, t_x, T) = 1 / (1 + δ(x>0) a/(b+x−1) ((α+T)/(α+t_x))^(r+x))
    /// (FHL 2005a, eq. 13).
    pub fn probability_alive(&self, h: &PurchaseHistory) -> f64 {
        if h.frequency == 0 {
            return 1.0;
        }
        1.0 / (1.0 + self.odds_dead(h))
    }

    /// a/(b+x−1) ((α+T)/(α+t_x))^(r+x) for x > 0: the odds that the customer dropped out.
    pub(crate) fn odds_dead(&self, h: &PurchaseHistory) -> f64 {
        let x = f64::from(h.frequency);
        let log_odds = (self.r + x) * ((self.alpha + h.t) / (self.alpha + h.recency)).ln()
            + (self.a / (self.b + x - 1.0)).ln();
        log_odds.exp()
    }

    /// E[X(t) | x, t_x, T]: expected purchases in the next `t` time units (FHL 2005a,
    /// eq. 10):
    ///
    /// ```text
    /// (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x−1; t/(α+T+t))]
    ///   / (1 + δ(x>0) a/(b+x−1) ((α+T)/(α+t_x))^(r+x))
    /// ```
    ///
    /// The hypergeometric term is evaluated after Euler's transformation
    /// 2F1(A, B; C; z) = (1−z)^(C−A−B) 2F1(C−A, C−B; C; z), which turns the bracket into
    /// 1 − (1−z)^(a−1) 2F1(a+b−1−r, a−1; a+b+x−1; z): its series converges quickly for
    /// large x, where the untransformed one first grows like (1−z)^−x (`lifetimes` falls
    /// back to the same identity when the direct form overflows).
    pub fn conditional_expected_purchases(&self, t: f64, h: &PurchaseHistory) -> f64 {
        let numerator = self.purchases_if_alive(t, h.frequency, h.t);
        if h.frequency == 0 {
            numerator
        } else {
            numerator / (1.0 + self.odds_dead(h))
        }
    }

    /// The numerator of [`Self::conditional_expected_purchases`]: expected purchases in
    /// the next `t` units of a customer known to be alive. It depends on x and T but not
    /// on t_x, so CLV scoring evaluates its hypergeometric series once per (x, T) instead
    /// of once per customer.
    pub(crate) fn purchases_if_alive(&self, t: f64, frequency: u32, age: f64) -> f64 {
        let x = f64::from(frequency);
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let c = a + b + x - 1.0;
        let z = t / (alpha + age + t);
        let hyp = hyp2f1(a + b - 1.0 - r, a - 1.0, c, z);
        let bracket = 1.0 - (1.0 - z).powf(a - 1.0) * hyp;
        c / (a - 1.0) * bracket
    }

    /// E[X(t)]: expected purchases in a period of length `t` by a customer just acquired
    /// (FHL 2005a, eq. 9).
    pub fn expected_purchases(&self, t: f64) -> f64 {
        let newcomer = PurchaseHistory {
            frequency: 0,
            recency: 0.0,
            t: 0.0,
        };
        self.conditional_expected_purchases(t, &newcomer)
    }

    /// Log-likelihood of one customer's history.
    pub fn log_likelihood(&self, h: &PurchaseHistory) -> f64 {
        let x = f64::from(h.frequency);
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let a12 =
            ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + ln_gamma(a + b) + ln_gamma(b + x)
                - ln_gamma(b)
                - ln_gamma(a + b + x);
        let a3 = -(r + x) * (alpha + h.t).ln();
        if h.frequency == 0 {
            return a12 + a3;
        }
        let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + h.recency).ln();
        a12 + log_add_exp(a3, a4)
    }
}

/// ln(e^u + e^v) without overflow.
fn log_add_exp(u: f64, v: f64) -> f64 {
    let (hi, lo) = if u > v { (u, v) } else { (v, u) };
    hi + (lo - hi).exp().ln_1p()
}

/// Fit settings. The L2 penalty is penalizer · (r² + α'² + a² + b²) added to the mean
/// negative log-likelihood, where α' is α in time rescaled so that the largest T is 1 (as
/// `lifetimes` rescales before fitting).
pub use crate::optimize::FitOptions;

/// How a BG/NBD fit went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitReport {
    /// Customers used.
    pub customers: usize,
    /// Distinct (x, t_x, T) histories, each evaluated once.
    pub distinct_histories: usize,
    /// Total (unpenalised) log-likelihood in the data's time unit.
    pub log_likelihood: f64,
    /// Standard error of each parameter from the inverse observed information (delta
    /// method from the log-parameters); NaN when the information matrix is singular.
    pub standard_errors: BgNbdParams,
    pub penalizer: f64,
    pub optimizer: OptimizerReport,
}

/// Fitted parameters and how they were fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BgNbdFit {
    pub params: BgNbdParams,
    pub report: FitReport,
}

/// Maximum-likelihood (optionally penalised) fit.
pub fn fit(histories: &[PurchaseHistory], options: &FitOptions) -> Result<BgNbdFit> {
    if !(options.penalizer >= 0.0 && options.penalizer.is_finite()) {
        return Err(AnalyticsError::InvalidParameter {
            name: "penalizer",
            reason: "must be a non-negative number".into(),
        });
    }
    let data = DistinctHistories::new(histories)?;
    if data.total_weight == 0.0 {
        return Err(AnalyticsError::NoData("BG/NBD needs at least one customer"));
    }
    if data.repeat_weight == 0.0 {
        return Err(AnalyticsError::NoData(
            "BG/NBD needs at least one customer with a repeat purchase",
        ));
    }
    // Work in time rescaled so that the largest T is 1, as lifetimes does: it keeps the
    // parameters of order one whatever the unit, and the penalty means the same thing.
    let scale = 1.0 / data.max_t;
    let settings = Settings {
        max_iterations: options.max_iterations,
        gradient_tolerance: options.gradient_tolerance,
    };
    let objective = |log_params: &[f64], gradient: &mut [f64]| {
        data.negative_mean_log_likelihood(log_params, scale, options.penalizer, gradient)
    };
    let minimum = minimize(objective, vec![0.1; 4], &settings);
    let standard_errors = standard_errors(
        inverse_hessian(objective, &minimum.x),
        &minimum.x,
        data.total_weight,
    );
    if !minimum.report.converged {
        return Err(AnalyticsError::NotConverged {
            model: "BG/NBD",
            iterations: minimum.report.iterations,
        });
    }
    let p: Vec<f64> = minimum.x.iter().map(|v| v.exp()).collect();
    let params = BgNbdParams {
        r: p[0],
        alpha: p[1] / scale,
        a: p[2],
        b: p[3],
    };
    let standard_errors = BgNbdParams {
        r: standard_errors[0],
        alpha: standard_errors[1] / scale,
        a: standard_errors[2],
        b: standard_errors[3],
    };
    let mut unused = [0.0; 4];
    let log_params = [
        params.r.ln(),
        params.alpha.ln(),
        params.a.ln(),
        params.b.ln(),
    ];
    let log_likelihood =
        -data.negative_mean_log_likelihood(&log_params, 1.0, 0.0, &mut unused) * data.total_weight;
    Ok(BgNbdFit {
        params,
        report: FitReport {
            customers: histories.len(),
            distinct_histories: data.distinct,
            log_likelihood,
            standard_errors,
            penalizer: options.penalizer,
            optimizer: minimum.report,
        },
    })
}

/// Standard errors of exp(θ) from the inverse Hessian of a mean negative log-likelihood
/// over `n` observations in the log-parameters θ: se = exp(θ) sqrt(H⁻¹_ii / n).
pub(crate) fn standard_errors(
    inverse: Option<Vec<Vec<f64>>>,
    log_params: &[f64],
    n: f64,
) -> Vec<f64> {
    log_params
        .iter()
        .enumerate()
        .map(|(i, lp)| match &inverse {
            Some(h) if h[i][i] > 0.0 => lp.exp() * (h[i][i] / n).sqrt(),
            _ => f64::NAN,
        })
        .collect()
}

/// Customers with the same repeat-purchase count share the Gamma-function terms.
struct FrequencyGroup {
    x: f64,
    weight: f64,
    /// (index into `ages`, index into `recencies`, weight)
    cells: Vec<(u32, u32, f64)>,
}

/// The data in the form the likelihood is cheapest to evaluate on.
struct DistinctHistories {
    ages: Vec<f64>,
    recencies: Vec<f64>,
    groups: Vec<FrequencyGroup>,
    distinct: usize,
    total_weight: f64,
    repeat_weight: f64,
    max_t: f64,
}

fn intern(values: &mut Vec<f64>, index: &mut FxHashMap<u64, u32>, v: f64) -> u32 {
    *index.entry(v.to_bits()).or_insert_with(|| {
        values.push(v);
        (values.len() - 1) as u32
    })
}

impl DistinctHistories {
    fn new(histories: &[PurchaseHistory]) -> Result<Self> {
        let (mut ages, mut recencies) = (Vec::new(), Vec::new());
        let (mut age_index, mut recency_index) = (FxHashMap::default(), FxHashMap::default());
        let mut cells: FxHashMap<(u32, u32, u32), f64> = FxHashMap::default();
        let mut max_t: f64 = 0.0;
        for (index, h) in histories.iter().enumerate() {
            h.validate(index)?;
            max_t = max_t.max(h.t);
            let age = intern(&mut ages, &mut age_index, h.t);
            let recency = intern(&mut recencies, &mut recency_index, h.recency);
            *cells.entry((h.frequency, age, recency)).or_insert(0.0) += 1.0;
        }
        let distinct = cells.len();
        let mut by_frequency: FxHashMap<u32, FrequencyGroup> = FxHashMap::default();
        for ((x, age, recency), weight) in cells {
            let group = by_frequency.entry(x).or_insert_with(|| FrequencyGroup {
                x: f64::from(x),
                weight: 0.0,
                cells: Vec::new(),
            });
            group.weight += weight;
            group.cells.push((age, recency, weight));
        }
        let mut groups: Vec<FrequencyGroup> = by_frequency.into_values().collect();
        // A fixed order makes the floating-point sums, hence the fit, reproducible.
        groups.sort_unstable_by(|g, h| g.x.total_cmp(&h.x));
        for g in &mut groups {
            g.cells
                .sort_unstable_by_key(|&(age, recency, _)| (age, recency));
        }
        let total_weight = histories.len() as f64;
        let repeat_weight = groups.iter().filter(|g| g.x > 0.0).map(|g| g.weight).sum();
        Ok(DistinctHistories {
            ages,
            recencies,
            groups,
            distinct,
            total_weight,
            repeat_weight,
            max_t: if max_t > 0.0 { max_t } else { 1.0 },
        })
    }

    /// Mean negative log-likelihood (+ penalty) at `log_params` = ln(r, α, a, b), with the
    /// data's time multiplied by `scale`; writes the gradient w.r.t. the log-parameters.
    fn negative_mean_log_likelihood(
        &self,
        log_params: &[f64],
        scale: f64,
        penalizer: f64,
        gradient: &mut [f64],
    ) -> f64 {
        let (r, alpha, a, b) = (
            log_params[0].exp(),
            log_params[1].exp(),
            log_params[2].exp(),
            log_params[3].exp(),
        );
        let logs_and_inverses = |values: &[f64]| -> Vec<(f64, f64)> {
            values
                .iter()
                .map(|v| {
                    let s = alpha + v * scale;
                    (s.ln(), 1.0 / s)
                })
                .collect()
        };
        let ages = logs_and_inverses(&self.ages);
        let recencies = logs_and_inverses(&self.recencies);
        let (ln_alpha, dg_r, dg_b, dg_ab) = (alpha.ln(), digamma(r), digamma(b), digamma(a + b));
        let common = -ln_gamma(r) + r * ln_alpha + ln_gamma(a + b) - ln_gamma(b);
        let (mut ll, mut g_r, mut g_alpha, mut g_a, mut g_b) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for group in &self.groups {
            let x = group.x;
            let rx = r + x;
            let w = group.weight;
            ll += w * (common + ln_gamma(rx) + ln_gamma(b + x) - ln_gamma(a + b + x));
            g_r += w * (digamma(rx) - dg_r + ln_alpha);
            g_alpha += w * r / alpha;
            g_a += w * (dg_ab - digamma(a + b + x));
            g_b += w * (dg_ab + digamma(b + x) - dg_b - digamma(a + b + x));
            if x == 0.0 {
                for &(age, _, w) in &group.cells {
                    let (ln_age, inv_age) = ages[age as usize];
                    ll -= w * r * ln_age;
                    g_r -= w * ln_age;
                    g_alpha -= w * r * inv_age;
                }
                continue;
            }
            let c = a.ln() - (b + x - 1.0).ln();
            let mut share_a4 = 0.0;
            for &(age, recency, w) in &group.cells {
                let (ln_age, inv_age) = ages[age as usize];
                let (ln_rec, inv_rec) = recencies[recency as usize];
                let a3 = -rx * ln_age;
                let a4 = c - rx * ln_rec;
                // s = e^A4 / (e^A3 + e^A4), the posterior weight of "dropped out after t_x".
                let d = a4 - a3;
                let (term, s) = if d > 0.0 {
                    let e = (-d).exp();
                    (a4 + e.ln_1p(), 1.0 / (1.0 + e))
                } else {
                    let e = d.exp();
                    (a3 + e.ln_1p(), e / (1.0 + e))
                };
                ll += w * term;
                g_r -= w * ((1.0 - s) * ln_age + s * ln_rec);
                g_alpha -= w * rx * ((1.0 - s) * inv_age + s * inv_rec);
                share_a4 += w * s;
            }
            g_a += share_a4 / a;
            g_b -= share_a4 / (b + x - 1.0);
        }
        let n = self.total_weight;
        let params = [r, alpha, a, b];
        let grads = [g_r, g_alpha, g_a, g_b];
        for i in 0..4 {
            // d/d ln θ = θ d/dθ
            gradient[i] = params[i] * (-grads[i] / n + 2.0 * penalizer * params[i]);
        }
        -ll / n + penalizer * params.iter().map(|p| p * p).sum::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: BgNbdParams = BgNbdParams {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };

    fn history(frequency: u32, recency: f64, t: f64) -> PurchaseHistory {
        PurchaseHistory {
            frequency,
            recency,
            t,
        }
    }

    #[test]
    fn analytic_gradient_matches_finite_differences() {
        let histories = [
            history(0, 0.0, 30.0),
            history(2, 10.0, 38.0),
            history(7, 30.0, 32.0),
        ];
        let data = DistinctHistories::new(&histories).expect("valid histories");
        let x = [0.3f64.ln(), 2.0f64.ln(), 0.8f64.ln(), 1.7f64.ln()];
        let mut gradient = [0.0; 4];
        data.negative_mean_log_likelihood(&x, 0.1, 0.05, &mut gradient);
        for i in 0..4 {
            let (mut up, mut down) = (x, x);
            up[i] += 1e-6;
            down[i] -= 1e-6;
            let mut unused = [0.0; 4];
            let numeric = (data.negative_mean_log_likelihood(&up, 0.1, 0.05, &mut unused)
                - data.negative_mean_log_likelihood(&down, 0.1, 0.05, &mut unused))
                / 2e-6;
            assert!((numeric - gradient[i]).abs() < 1e-7, "component {i}");
        }
    }

    #[test]
    fn grouped_likelihood_equals_the_per_customer_sum() {
        let histories = [
            history(0, 0.0, 30.0),
            history(2, 10.0, 38.0),
            history(2, 10.0, 38.0),
        ];
        let data = DistinctHistories::new(&histories).expect("valid histories");
        let log_params = [
            PARAMS.r.ln(),
            PARAMS.alpha.ln(),
            PARAMS.a.ln(),
            PARAMS.b.ln(),
        ];
        let mut unused = [0.0; 4];
        let grouped = -data.negative_mean_log_likelihood(&log_params, 1.0, 0.0, &mut unused) * 3.0;
        let direct: f64 = histories.iter().map(|h| PARAMS.log_likelihood(h)).sum();
        assert!((grouped - direct).abs() < 1e-10);
    }

    #[test]
    fn expectations_behave_at_the_edges() {
        assert_eq!(PARAMS.expected_purchases(0.0), 0.0);
        assert_eq!(PARAMS.probability_alive(&history(0, 0.0, 10.0)), 1.0);
        // A customer who bought often but long ago is probably gone.
        assert!(PARAMS.probability_alive(&history(10, 5.0, 38.0)) < 0.01);
        let h = history(3, 30.0, 38.0);
        assert!(
            PARAMS.conditional_expected_purchases(39.0, &h)
                > PARAMS.conditional_expected_purchases(10.0, &h)
        );
    }
}
