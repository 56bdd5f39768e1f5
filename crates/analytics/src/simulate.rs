//! Data generators with known parameters, for tests and benchmarks.
//!
//! A customer is drawn as the BG/NBD and Gamma-Gamma models describe one: purchase rate
//! λ ~ Gamma(r, rate α), dropout probability p ~ Beta(a, b), transaction-value rate
//! ν ~ Gamma(q, rate γ); while alive the customer buys at exponential intervals of rate λ,
//! each purchase worth Gamma(p_spend, rate ν), and after every repeat purchase drops out
//! with probability p.

use rand::Rng;
use statrs::distribution::{Beta, Gamma};

use crate::bgnbd::BgNbdParams;
use crate::gamma_gamma::GammaGammaParams;
use crate::{AnalyticsError, Result};

/// Draws customers from fixed BG/NBD and Gamma-Gamma parameters.
#[derive(Debug, Clone)]
pub struct Simulator {
    purchase_rate: Gamma,
    dropout: Beta,
    spend_rate: Gamma,
    spend_shape: f64,
}

impl Simulator {
    pub fn new(bg: &BgNbdParams, gg: &GammaGammaParams) -> Result<Self> {
        let invalid = |name| {
            move |e: statrs::distribution::GammaError| AnalyticsError::InvalidParameter {
                name,
                reason: e.to_string(),
            }
        };
        Ok(Simulator {
            purchase_rate: Gamma::new(bg.r, bg.alpha).map_err(invalid("bgnbd r/alpha"))?,
            dropout: Beta::new(bg.a, bg.b).map_err(|e| AnalyticsError::InvalidParameter {
                name: "bgnbd a/b",
                reason: e.to_string(),
            })?,
            spend_rate: Gamma::new(gg.q, gg.v).map_err(invalid("gamma-gamma q/v"))?,
            spend_shape: gg.p,
        })
    }

    /// One new customer's purchases over `observed_for` time units after the first, as
    /// (time since the first purchase, amount); the first purchase is at time 0.
    pub fn purchases<R: Rng + ?Sized>(&self, rng: &mut R, observed_for: f64) -> Vec<(f64, f64)> {
        let lambda: f64 = rng.sample(self.purchase_rate);
        let p: f64 = rng.sample(self.dropout);
        let nu: f64 = rng.sample(self.spend_rate);
        // Gamma::new fails only for non-positive or NaN rates; a rate that underflowed to 0
        // (tiny ν) means an unboundedly large spend, so fall back to no spend variation.
        let spend = Gamma::new(self.spend_shape, nu).ok();
        let amount = |rng: &mut R| spend.as_ref().map_or(0.0, |d| rng.sample(d));
        let mut purchases = vec![(0.0, amount(rng))];
        let mut time = 0.0;
        loop {
            // Inverse-CDF exponential draw; 1 - U lies in (0, 1] so the log is finite.
            time += -(1.0 - rng.gen::<f64>()).ln() / lambda;
            // With λ underflowed to 0 `time` is infinite (or NaN for a zero draw): no purchase.
            if time > observed_for || time.is_nan() {
                break;
            }
            purchases.push((time, amount(rng)));
            if rng.gen::<f64>() < p {
                break;
            }
        }
        purchases
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn mean_purchases_match_the_model_expectation() {
        let bg = BgNbdParams {
            r: 0.5,
            alpha: 10.0,
            a: 0.8,
            b: 2.5,
        };
        let gg = GammaGammaParams {
            p: 6.0,
            q: 4.0,
            v: 15.0,
        };
        let simulator = Simulator::new(&bg, &gg).expect("valid parameters");
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let n = 20_000;
        let repeat: usize = (0..n)
            .map(|_| simulator.purchases(&mut rng, 52.0).len() - 1)
            .sum();
        let mean = repeat as f64 / n as f64;
        let expected = bg.expected_purchases(52.0);
        assert!(
            (mean - expected).abs() < 0.05 * expected,
            "{mean} vs {expected}"
        );
    }
}
