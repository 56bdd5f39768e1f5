//! Customer lifetime value.
//!
//! Predictive CLV follows `lifetimes`' `GammaGammaFitter.customer_lifetime_value`, so that
//! its numbers can be checked against it: with f time units per month (30 for days, 4.345
//! for weeks, 1 for months, see [`TimeUnit::per_month`]), a horizon of H months and a
//! monthly discount rate d,
//!
//! ```text
//! CLV = margin · E[Z | z̄, x] · Σ_{k=1..H} (E[X(k f) | x, t_x, T] − E[X((k−1) f) | x, t_x, T]) / (1 + d)^k
//! ```
//!
//! (`lifetimes` has no margin; a margin of 1 gives its figures.) Historical CLV is the
//! margin on what the customer has spent so far.

use rustc_hash::FxHashMap;

use serde::Serialize;

use crate::bgnbd::BgNbdParams;
use crate::gamma_gamma::GammaGammaParams;
use crate::summary::{CustomerSummary, PurchaseHistory, TimeUnit};
use crate::{AnalyticsError, Result};

/// CLV settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClvOptions {
    pub horizon_months: u32,
    /// Monthly discount rate (0.01 = 1 % a month).
    pub monthly_discount_rate: f64,
    /// Share of revenue that is margin (1 = revenue).
    pub margin: f64,
    /// Time unit of the summaries the models were fit on.
    pub unit: TimeUnit,
}

impl Default for ClvOptions {
    fn default() -> Self {
        ClvOptions {
            horizon_months: 12,
            monthly_discount_rate: 0.01,
            margin: 1.0,
            unit: TimeUnit::Day,
        }
    }
}

impl ClvOptions {
    pub fn validate(&self) -> Result<()> {
        let bad = |name, reason: &str| {
            Err(AnalyticsError::InvalidParameter {
                name,
                reason: reason.into(),
            })
        };
        if self.horizon_months == 0 {
            return bad("horizon_months", "must be at least 1");
        }
        if !(self.monthly_discount_rate > -1.0 && self.monthly_discount_rate.is_finite()) {
            return bad("monthly_discount_rate", "must be a number above -1");
        }
        if !self.margin.is_finite() {
            return bad("margin", "must be a number");
        }
        Ok(())
    }

    /// The horizon in the summaries' time unit.
    pub fn horizon(&self) -> f64 {
        f64::from(self.horizon_months) * self.unit.per_month()
    }
}

/// Σ_k ΔE[X]_k / (1 + d)^k for one customer: the discounted expected purchases over the
/// horizon, and the undiscounted total E[X(H f)].
fn discounted_purchases(bg: &BgNbdParams, h: &PurchaseHistory, options: &ClvOptions) -> (f64, f64) {
    let per_month = options.unit.per_month();
    let mut previous = 0.0;
    let mut discounted = 0.0;
    for k in 1..=options.horizon_months {
        let cumulative = bg.conditional_expected_purchases(f64::from(k) * per_month, h);
        discounted +=
            (cumulative - previous) / (1.0 + options.monthly_discount_rate).powi(k as i32);
        previous = cumulative;
    }
    (discounted, previous)
}

/// Predictive CLV of one customer (see the module documentation).
pub fn predictive_clv(
    bg: &BgNbdParams,
    gg: &GammaGammaParams,
    h: &PurchaseHistory,
    monetary: f64,
    options: &ClvOptions,
) -> f64 {
    let (discounted, _) = discounted_purchases(bg, h, options);
    options.margin * gg.conditional_expected_spend(h.frequency, monetary) * discounted
}

/// Margin on the revenue a customer has brought so far.
pub fn historical_clv(total_amount: f64, margin: f64) -> f64 {
    total_amount * margin
}

/// Model outputs for one customer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CustomerValue {
    pub probability_alive: f64,
    /// Expected purchases over the CLV horizon.
    pub expected_purchases: f64,
    /// Expected spend per future transaction (Gamma-Gamma).
    pub expected_spend: f64,
    pub clv: f64,
    pub historical_clv: f64,
}

/// Scores customers one at a time, with the same figures as [`predictive_clv`] and
/// [`BgNbdParams::probability_alive`].
///
/// E[X(t) | x, t_x, T] is (expected purchases if alive, which depends on x and T only)
/// divided by (1 + odds of having dropped out, which depends on t_x too). The first needs
/// a hypergeometric series per month of the horizon and is kept per (x, T); the second is
/// one `ln` and one `exp`, cheaper than looking a customer's full history up. Clones are
/// independent, one per thread.
#[derive(Debug, Clone)]
pub struct ClvScorer {
    bg: BgNbdParams,
    gg: GammaGammaParams,
    options: ClvOptions,
    /// (1 + d)^k for k = 1..=H.
    discount_factors: Vec<f64>,
    /// Expected purchases if alive by the end of month k = 1..=H, per (x, bits of T).
    if_alive: FxHashMap<(u32, u64), Box<[f64]>>,
}

impl ClvScorer {
    pub fn new(bg: &BgNbdParams, gg: &GammaGammaParams, options: &ClvOptions) -> Result<Self> {
        options.validate()?;
        Ok(ClvScorer {
            bg: *bg,
            gg: *gg,
            options: *options,
            discount_factors: (1..=options.horizon_months)
                .map(|k| (1.0 + options.monthly_discount_rate).powi(k as i32))
                .collect(),
            if_alive: FxHashMap::default(),
        })
    }

    /// The model outputs of one customer.
    pub fn score(
        &mut self,
        h: &PurchaseHistory,
        monetary: f64,
        total_amount: f64,
    ) -> CustomerValue {
        let (bg, per_month) = (&self.bg, self.options.unit.per_month());
        let if_alive = self
            .if_alive
            .entry((h.frequency, h.t.to_bits()))
            .or_insert_with(|| {
                (1..=self.options.horizon_months)
                    .map(|k| bg.purchases_if_alive(f64::from(k) * per_month, h.frequency, h.t))
                    .collect()
            });
        // The same operations, in the same order, as `conditional_expected_purchases` and
        // `probability_alive`, so that the figures are identical to theirs.
        let alive_odds = (h.frequency > 0).then(|| 1.0 + bg.odds_dead(h));
        let probability_alive = alive_odds.map_or(1.0, |d| 1.0 / d);
        let (mut previous, mut discounted) = (0.0, 0.0);
        for (numerator, factor) in if_alive.iter().zip(&self.discount_factors) {
            let cumulative = alive_odds.map_or(*numerator, |d| numerator / d);
            discounted += (cumulative - previous) / factor;
            previous = cumulative;
        }
        let expected_spend = self.gg.conditional_expected_spend(h.frequency, monetary);
        CustomerValue {
            probability_alive,
            expected_purchases: previous,
            expected_spend,
            clv: self.options.margin * expected_spend * discounted,
            historical_clv: historical_clv(total_amount, self.options.margin),
        }
    }
}

/// Scores every customer (see [`ClvScorer`]).
pub fn score_customers(
    bg: &BgNbdParams,
    gg: &GammaGammaParams,
    customers: &[CustomerSummary],
    options: &ClvOptions,
) -> Result<Vec<CustomerValue>> {
    let mut scorer = ClvScorer::new(bg, gg, options)?;
    Ok(customers
        .iter()
        .map(|c| scorer.score(&c.history(), c.monetary, c.total_amount))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_month_without_discount_is_spend_times_purchases() {
        let bg = BgNbdParams {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        };
        let gg = GammaGammaParams {
            p: 6.25,
            q: 3.74,
            v: 15.44,
        };
        let h = PurchaseHistory {
            frequency: 2,
            recency: 30.43,
            t: 38.86,
        };
        let options = ClvOptions {
            horizon_months: 1,
            monthly_discount_rate: 0.0,
            margin: 0.5,
            unit: TimeUnit::Week,
        };
        let clv = predictive_clv(&bg, &gg, &h, 22.35, &options);
        let expected = 0.5
            * gg.conditional_expected_spend(2, 22.35)
            * bg.conditional_expected_purchases(4.345, &h);
        assert!((clv - expected).abs() < 1e-12);
        assert!(ClvOptions {
            horizon_months: 0,
            ..options
        }
        .validate()
        .is_err());
    }

    #[test]
    fn the_scorer_gives_the_figures_of_the_single_customer_functions() {
        let bg = BgNbdParams {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        };
        let gg = GammaGammaParams {
            p: 6.25,
            q: 3.74,
            v: 15.44,
        };
        let options = ClvOptions {
            unit: TimeUnit::Week,
            ..ClvOptions::default()
        };
        let mut scorer = ClvScorer::new(&bg, &gg, &options).expect("valid options");
        for (frequency, recency, t, monetary) in [
            (0, 0.0, 38.0, 0.0),
            (2, 30.43, 38.86, 22.35),
            (2, 10.0, 38.86, 22.35),
            (7, 37.0, 38.0, 5.0),
        ] {
            let h = PurchaseHistory {
                frequency,
                recency,
                t,
            };
            let v = scorer.score(&h, monetary, 100.0);
            assert_eq!(v.probability_alive, bg.probability_alive(&h));
            assert_eq!(
                v.expected_purchases,
                bg.conditional_expected_purchases(options.horizon(), &h)
            );
            assert_eq!(v.clv, predictive_clv(&bg, &gg, &h, monetary, &options));
            assert_eq!(v.historical_clv, 100.0);
        }
    }
}
