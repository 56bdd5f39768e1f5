//! Price statistics (A-8, M-7): price elasticity from order history and the evaluation
//! and sizing of A/B price experiments.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
use statrs::function::beta::ln_beta;

use crate::{AnalyticsError, Result};

fn standard_normal() -> Normal {
    // Mean 0 and standard deviation 1 are valid parameters.
    Normal::standard()
}

/// Constant-elasticity demand ln q = α + ε ln p fitted by ordinary least squares.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Elasticity {
    /// ε: the % change of quantity per 1 % change of price.
    pub elasticity: f64,
    pub standard_error: f64,
    pub intercept: f64,
    pub intercept_standard_error: f64,
    /// Two-sided p-value of ε = 0 (Student t, n − 2 degrees of freedom).
    pub p_value: f64,
    /// 95 % confidence interval of ε.
    pub confidence_interval: (f64, f64),
    pub r_squared: f64,
    pub observations: usize,
}

/// Fits the log-log regression on (price, quantity) observations, both positive.
///
/// With x = ln p, y = ln q: ε = Sxy / Sxx, α = ȳ − ε x̄, s² = SSR / (n − 2),
/// se(ε) = √(s² / Sxx), se(α) = √(s² (1/n + x̄² / Sxx)).
pub fn price_elasticity(observations: &[(f64, f64)]) -> Result<Elasticity> {
    let mut points = Vec::with_capacity(observations.len());
    for (index, &(price, quantity)) in observations.iter().enumerate() {
        if !(price > 0.0 && quantity > 0.0 && price.is_finite() && quantity.is_finite()) {
            return Err(AnalyticsError::InvalidInput {
                index,
                reason: format!("price {price} and quantity {quantity} must be positive"),
            });
        }
        points.push((price.ln(), quantity.ln()));
    }
    let n = points.len();
    if n < 3 {
        return Err(AnalyticsError::NoData(
            "elasticity needs at least three observations",
        ));
    }
    let nf = n as f64;
    let x_mean = points.iter().map(|p| p.0).sum::<f64>() / nf;
    let y_mean = points.iter().map(|p| p.1).sum::<f64>() / nf;
    let sxx: f64 = points.iter().map(|p| (p.0 - x_mean).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - x_mean) * (p.1 - y_mean)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - y_mean).powi(2)).sum();
    // Equal prices can leave a rounding residue in Sxx: compare the prices themselves.
    let one_price = observations.iter().all(|o| o.0 == observations[0].0);
    if one_price || sxx <= 0.0 || sxx.is_nan() {
        return Err(AnalyticsError::NoData(
            "elasticity needs at least two different prices",
        ));
    }
    let slope = sxy / sxx;
    let intercept = y_mean - slope * x_mean;
    let ssr: f64 = points
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    let s2 = ssr / (nf - 2.0);
    let standard_error = (s2 / sxx).sqrt();
    let t = StudentsT::new(0.0, 1.0, nf - 2.0).map_err(|e| AnalyticsError::InvalidParameter {
        name: "degrees of freedom",
        reason: e.to_string(),
    })?;
    let t_statistic = slope / standard_error;
    let p_value = if t_statistic.is_finite() {
        2.0 * t.sf(t_statistic.abs())
    } else {
        0.0
    };
    let half_width = t.inverse_cdf(0.975) * standard_error;
    Ok(Elasticity {
        elasticity: slope,
        standard_error,
        intercept,
        intercept_standard_error: (s2 * (1.0 / nf + x_mean * x_mean / sxx)).sqrt(),
        p_value,
        confidence_interval: (slope - half_width, slope + half_width),
        r_squared: if syy > 0.0 { 1.0 - ssr / syy } else { 1.0 },
        observations: n,
    })
}

/// Conversions out of visitors in one arm of an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ConversionCounts {
    pub conversions: u64,
    pub visitors: u64,
}

impl ConversionCounts {
    fn rate(&self) -> f64 {
        self.conversions as f64 / self.visitors as f64
    }

    fn check(&self, name: &'static str) -> Result<()> {
        if self.visitors == 0 || self.conversions > self.visitors {
            return Err(AnalyticsError::InvalidParameter {
                name,
                reason: "need 0 <= conversions <= visitors and visitors > 0".into(),
            });
        }
        Ok(())
    }
}

/// Result of a two-sample test of treatment against control.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestResult {
    pub control: f64,
    pub treatment: f64,
    /// treatment − control.
    pub difference: f64,
    /// difference / control.
    pub relative_lift: f64,
    pub statistic: f64,
    /// Two-sided.
    pub p_value: f64,
    /// 95 % confidence interval of the difference.
    pub confidence_interval: (f64, f64),
    /// Degrees of freedom (Welch) or infinity (z-test).
    pub degrees_of_freedom: f64,
}

/// Two-proportion z-test: z = (p_B − p_A) / √(p̂(1 − p̂)(1/n_A + 1/n_B)) with the pooled
/// p̂; the interval uses the unpooled standard error.
pub fn two_proportion_z_test(
    control: ConversionCounts,
    treatment: ConversionCounts,
) -> Result<TestResult> {
    control.check("control")?;
    treatment.check("treatment")?;
    let (pa, pb) = (control.rate(), treatment.rate());
    let (na, nb) = (control.visitors as f64, treatment.visitors as f64);
    let pooled = (control.conversions + treatment.conversions) as f64 / (na + nb);
    let se_pooled = (pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)).sqrt();
    let se = (pa * (1.0 - pa) / na + pb * (1.0 - pb) / nb).sqrt();
    let difference = pb - pa;
    let z = if se_pooled > 0.0 {
        difference / se_pooled
    } else {
        0.0
    };
    let normal = standard_normal();
    let q = normal.inverse_cdf(0.975);
    Ok(TestResult {
        control: pa,
        treatment: pb,
        difference,
        relative_lift: difference / pa,
        statistic: z,
        p_value: 2.0 * normal.sf(z.abs()),
        confidence_interval: (difference - q * se, difference + q * se),
        degrees_of_freedom: f64::INFINITY,
    })
}

/// Mean, variance and size of a sample (e.g. revenue per visitor).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SampleSummary {
    pub mean: f64,
    /// Unbiased (n − 1) variance.
    pub variance: f64,
    pub n: u64,
}

impl SampleSummary {
    /// Summary of raw values (Welford's update, stable in one pass).
    pub fn of(values: &[f64]) -> SampleSummary {
        let (mut mean, mut m2) = (0.0, 0.0);
        for (i, v) in values.iter().enumerate() {
            let delta = v - mean;
            mean += delta / (i + 1) as f64;
            m2 += delta * (v - mean);
        }
        let n = values.len() as u64;
        SampleSummary {
            mean,
            variance: if n > 1 { m2 / (n - 1) as f64 } else { 0.0 },
            n,
        }
    }
}

/// Welch's t-test: t = (m_B − m_A) / √(s²_A/n_A + s²_B/n_B), degrees of freedom by
/// Welch-Satterthwaite.
pub fn welch_t_test(control: SampleSummary, treatment: SampleSummary) -> Result<TestResult> {
    if control.n < 2 || treatment.n < 2 {
        return Err(AnalyticsError::NoData(
            "Welch's t-test needs two observations per arm",
        ));
    }
    let (va, vb) = (
        control.variance / control.n as f64,
        treatment.variance / treatment.n as f64,
    );
    let se = (va + vb).sqrt();
    if se <= 0.0 || se.is_nan() {
        return Err(AnalyticsError::NoData("both samples are constant"));
    }
    let df =
        (va + vb).powi(2) / (va * va / (control.n - 1) as f64 + vb * vb / (treatment.n - 1) as f64);
    let difference = treatment.mean - control.mean;
    let t = difference / se;
    let dist = StudentsT::new(0.0, 1.0, df).map_err(|e| AnalyticsError::InvalidParameter {
        name: "degrees of freedom",
        reason: e.to_string(),
    })?;
    let q = dist.inverse_cdf(0.975);
    Ok(TestResult {
        control: control.mean,
        treatment: treatment.mean,
        difference,
        relative_lift: difference / control.mean,
        statistic: t,
        p_value: 2.0 * dist.sf(t.abs()),
        confidence_interval: (difference - q * se, difference + q * se),
        degrees_of_freedom: df,
    })
}

/// P(p_B > p_A) with uniform Beta(1, 1) priors, so p ~ Beta(1 + conversions,
/// 1 + non-conversions) a posteriori.
///
/// Exact (Miller 2015, "Formulas for Bayesian A/B testing"):
/// Σ_{i=0}^{α_B−1} B(α_A + i, β_A + β_B) / ((β_B + i) B(1 + i, β_B) B(α_A, β_A)),
/// used while α_B ≤ 100 000 terms; beyond, both posteriors are normal to high accuracy
/// and P = Φ((μ_B − μ_A) / √(σ²_A + σ²_B)).
pub fn probability_to_beat_control(
    control: ConversionCounts,
    treatment: ConversionCounts,
) -> Result<f64> {
    control.check("control")?;
    treatment.check("treatment")?;
    let beta = |c: ConversionCounts| {
        (
            1.0 + c.conversions as f64,
            1.0 + (c.visitors - c.conversions) as f64,
        )
    };
    let (aa, ba) = beta(control);
    let (ab, bb) = beta(treatment);
    if treatment.conversions < 100_000 {
        let constant = ln_beta(aa, ba);
        let total: f64 = (0..=treatment.conversions)
            .map(|i| {
                let i = i as f64;
                (ln_beta(aa + i, ba + bb) - (bb + i).ln() - ln_beta(1.0 + i, bb) - constant).exp()
            })
            .sum();
        return Ok(total.clamp(0.0, 1.0));
    }
    let moments = |a: f64, b: f64| (a / (a + b), a * b / ((a + b).powi(2) * (a + b + 1.0)));
    let (ma, va) = moments(aa, ba);
    let (mb, vb) = moments(ab, bb);
    Ok(standard_normal().cdf((mb - ma) / (va + vb).sqrt()))
}

/// Visitors per arm to detect a change of the conversion rate from `baseline` to
/// `target` with a two-sided test at level `alpha` and the given `power`:
/// n = (z_{1−α/2} √(2 p̄(1 − p̄)) + z_{power} √(p₁(1 − p₁) + p₂(1 − p₂)))² / (p₂ − p₁)²,
/// p̄ = (p₁ + p₂)/2 (Fleiss, "Statistical Methods for Rates and Proportions").
pub fn sample_size_two_proportions(
    baseline: f64,
    target: f64,
    alpha: f64,
    power: f64,
) -> Result<u64> {
    let in_unit = |v: f64| v > 0.0 && v < 1.0;
    if !(in_unit(baseline) && in_unit(target) && in_unit(alpha) && in_unit(power))
        || baseline == target
    {
        return Err(AnalyticsError::InvalidParameter {
            name: "sample size",
            reason: "rates, alpha and power must lie in (0, 1) and the rates differ".into(),
        });
    }
    let normal = standard_normal();
    let (za, zb) = (
        normal.inverse_cdf(1.0 - alpha / 2.0),
        normal.inverse_cdf(power),
    );
    let mean = (baseline + target) / 2.0;
    let numerator = za * (2.0 * mean * (1.0 - mean)).sqrt()
        + zb * (baseline * (1.0 - baseline) + target * (1.0 - target)).sqrt();
    Ok((numerator * numerator / (target - baseline).powi(2)).ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_constant_elasticity() {
        let observations: Vec<(f64, f64)> = (1..=20)
            .map(|i| {
                let price = 10.0 + f64::from(i);
                let noise = if i % 2 == 0 { 1.01 } else { 0.99 };
                (price, 5000.0 * price.powf(-1.8) * noise)
            })
            .collect();
        let e = price_elasticity(&observations).expect("fit");
        assert!((e.elasticity + 1.8).abs() < 0.05);
        assert!(e.standard_error > 0.0 && e.p_value < 1e-6 && e.r_squared > 0.99);
        assert!(e.confidence_interval.0 < e.elasticity && e.elasticity < e.confidence_interval.1);
    }

    #[test]
    fn one_price_has_no_elasticity() {
        // ln 500 repeated twelve times leaves a rounding residue in Sxx.
        let observations: Vec<(f64, f64)> = (0..12).map(|i| (500.0, 3.0 + f64::from(i))).collect();
        assert!(matches!(
            price_elasticity(&observations),
            Err(AnalyticsError::NoData(_))
        ));
    }

    #[test]
    fn z_test_matches_a_hand_computation() {
        let a = ConversionCounts {
            conversions: 200,
            visitors: 1000,
        };
        let b = ConversionCounts {
            conversions: 250,
            visitors: 1000,
        };
        let r = two_proportion_z_test(a, b).expect("test");
        // pooled 0.225: se = sqrt(0.225 * 0.775 * 0.002) = 0.018675, z = 2.6774
        assert!((r.statistic - 2.6774).abs() < 1e-3);
        assert!((r.p_value - 0.00742).abs() < 1e-4);
    }

    #[test]
    fn welch_matches_a_hand_computation() {
        let a = SampleSummary::of(&[19.0, 22.0, 16.0, 29.0, 24.0]);
        let b = SampleSummary::of(&[20.0, 11.0, 17.0, 12.0]);
        let r = welch_t_test(b, a).expect("test");
        // Means 22 vs 15, variances 24.5 and 18: t = 7 / sqrt(4.9 + 4.5) = 2.2832, df = 6.929
        assert!((r.statistic - 2.2832).abs() < 1e-3);
        assert!((r.degrees_of_freedom - 6.929).abs() < 1e-3);
        assert!(r.p_value > 0.05 && r.p_value < 0.06);
    }

    #[test]
    fn bayesian_probability_is_symmetric_and_agrees_with_the_normal_limit() {
        let a = ConversionCounts {
            conversions: 40,
            visitors: 1000,
        };
        let b = ConversionCounts {
            conversions: 60,
            visitors: 1000,
        };
        let p = probability_to_beat_control(a, b).expect("p");
        let q = probability_to_beat_control(b, a).expect("p");
        assert!((p + q - 1.0).abs() < 1e-9);
        assert!(p > 0.97 && p < 0.99);
        let big_a = ConversionCounts {
            conversions: 100_000,
            visitors: 1_000_000,
        };
        let big_b = ConversionCounts {
            conversions: 100_900,
            visitors: 1_000_000,
        };
        let exact_side = probability_to_beat_control(big_b, big_a).expect("p");
        let normal_side = probability_to_beat_control(big_a, big_b).expect("p");
        assert!((exact_side + normal_side - 1.0).abs() < 1e-3);
    }

    #[test]
    fn sample_size_matches_published_tables() {
        // 10 % -> 12 %, alpha 0.05, power 0.8: 3,841 per arm (Fleiss without continuity correction).
        let n = sample_size_two_proportions(0.10, 0.12, 0.05, 0.8).expect("n");
        assert!((3830..=3850).contains(&n), "{n}");
    }
}
