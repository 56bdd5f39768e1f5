//! 95 % confidence intervals for the figures of feedback reports (CSAT share, NPS,
//! mean CES, correlations between scores), so that a figure from eight answers does
//! not look as solid as one from eight hundred. Every function takes the counts or
//! sums a database query returns and gives `None` when there are too few observations
//! to say anything.
//!
//! | function | method |
//! | --- | --- |
//! | [`proportion`] | Wilson score interval (Wilson 1927) |
//! | [`net_promoter`] | adjusted Wald for a difference of multinomial shares (Rocks 2016) |
//! | [`mean`] | Student t |
//! | [`correlation`] | Pearson r, Fisher z interval, t-test p-value |
//!
//! References: E. B. Wilson, "Probable inference, the law of succession, and
//! statistical inference", JASA 22(158), 1927; B. Rocks, "Interval estimation for the
//! 'net promoter score'", The American Statistician 70(4), 2016; A. Agresti,
//! B. Caffo, "Simple and effective confidence intervals for proportions and
//! differences of proportions result from adding two successes and two failures",
//! The American Statistician 54(4), 2000; R. A. Fisher, "On the 'probable error' of a
//! coefficient of correlation deduced from a small sample", Metron 1, 1921.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// The confidence level of every interval here.
pub const CONFIDENCE: f64 = 0.95;

/// A two-sided confidence interval at [`CONFIDENCE`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// z₁₋α/₂ of the standard normal distribution, about 1.96.
fn z() -> f64 {
    Normal::standard().inverse_cdf(1.0 - (1.0 - CONFIDENCE) / 2.0)
}

/// t₁₋α/₂ with `df` degrees of freedom; `None` unless `df` is positive.
fn t_quantile(df: f64) -> Option<f64> {
    let t = StudentsT::new(0.0, 1.0, df).ok()?;
    Some(t.inverse_cdf(1.0 - (1.0 - CONFIDENCE) / 2.0))
}

/// Wilson score interval of the share `successes / n`, within [0, 1]; `None` when
/// `n` is 0 or `successes > n`.
///
/// Unlike the textbook Wald interval p̂ ± z √(p̂(1 − p̂)/n) it neither collapses to a
/// point at 0 % or 100 % nor leaves [0, 1], and keeps close to its nominal coverage on
/// the small samples a CSAT report is often made of:
/// (p̂ + z²/2n ± z √(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n).
pub fn proportion(successes: u64, n: u64) -> Option<Interval> {
    if n == 0 || successes > n {
        return None;
    }
    let n = n as f64;
    let p = successes as f64 / n;
    let z = z();
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    Some(Interval {
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    })
}

/// Interval of the net promoter score 100 (p₊ − p₋), within [−100, 100]; `None`
/// without answers.
///
/// The adjusted Wald interval that Rocks (2016) found to keep its coverage best
/// among the simple methods, in the form Lewis & Sauro state it: add 3 to n, ¾ to
/// the promoters and ¾ to the detractors (hence 3/2 to the passives), then take the
/// normal interval around the adjusted estimate with the multinomial variance of a
/// difference of two shares, Var(p₊ − p₋) = (p₊ + p₋ − (p₊ − p₋)²)/n. Like the
/// Agresti–Caffo interval it follows, the pseudo-answers pull the interval towards
/// 0 and keep it from collapsing when every answer falls in one category; the
/// interval is therefore centred on the adjusted estimate, not on the reported NPS.
pub fn net_promoter(promoters: u64, passives: u64, detractors: u64) -> Option<Interval> {
    let answers = promoters + passives + detractors;
    if answers == 0 {
        return None;
    }
    let n = answers as f64 + 3.0;
    let p_plus = (promoters as f64 + 0.75) / n;
    let p_minus = (detractors as f64 + 0.75) / n;
    let estimate = p_plus - p_minus;
    let variance = ((p_plus + p_minus - estimate * estimate) / n).max(0.0);
    let half = z() * variance.sqrt();
    Some(Interval {
        low: (100.0 * (estimate - half)).max(-100.0),
        high: (100.0 * (estimate + half)).min(100.0),
    })
}

/// Student-t interval of the mean of `n` values from their sum and sum of squares;
/// `None` for fewer than two values or non-finite sums.
///
/// s² = (Σx² − (Σx)²/n)/(n − 1); mean ± t₀.₉₇₅,ₙ₋₁ s/√n. The subtraction loses
/// precision when the mean is large against the spread, which ratings on a 1-to-7
/// scale are not; a variance rounded below 0 is taken as 0.
pub fn mean(sum: f64, sum_of_squares: f64, n: u64) -> Option<Interval> {
    if n < 2 || !sum.is_finite() || !sum_of_squares.is_finite() {
        return None;
    }
    let nf = n as f64;
    let mean = sum / nf;
    let variance = ((sum_of_squares - sum * sum / nf) / (nf - 1.0)).max(0.0);
    let half = t_quantile(nf - 1.0)? * (variance / nf).sqrt();
    Some(Interval {
        low: mean - half,
        high: mean + half,
    })
}

/// A Pearson correlation with its uncertainty.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Correlation {
    /// Pearson's r, within [−1, 1].
    pub r: f64,
    /// Number of pairs.
    pub n: u64,
    /// Fisher z interval of r; `None` for 3 pairs, where its standard error
    /// 1/√(n − 3) is undefined.
    pub interval: Option<Interval>,
    /// Two-sided p-value of r = 0 from t = r √((n − 2)/(1 − r²)) with n − 2 degrees of
    /// freedom.
    pub p_value: Option<f64>,
}

/// Pearson correlation of `n` pairs from their sums; `None` for fewer than 3 pairs,
/// non-finite sums, or when either variable does not vary.
///
/// The sums are centred first (Sxx = Σx² − (Σx)²/n, Syy likewise,
/// Sxy = Σxy − ΣxΣy/n) and r = Sxy/√(Sxx Syy), rather than the one-pass
/// n Σxy − Σx Σy formula whose products of large sums overflow the precision sooner.
/// A variable counts as constant when its centred sum is within rounding error of 0
/// relative to Σx², so that ten answers of 0.1 do not yield a correlation from noise.
pub fn correlation(
    n: u64,
    sum_x: f64,
    sum_y: f64,
    sum_xx: f64,
    sum_yy: f64,
    sum_xy: f64,
) -> Option<Correlation> {
    let finite = [sum_x, sum_y, sum_xx, sum_yy, sum_xy]
        .iter()
        .all(|s| s.is_finite());
    if n < 3 || !finite {
        return None;
    }
    let nf = n as f64;
    let sxx = sum_xx - sum_x * sum_x / nf;
    let syy = sum_yy - sum_y * sum_y / nf;
    let sxy = sum_xy - sum_x * sum_y / nf;
    // Relative rounding tolerance of a difference of two sums of n terms.
    let tolerance = |total: f64| 1e-12 * total.abs().max(f64::MIN_POSITIVE);
    if sxx <= tolerance(sum_xx) || syy <= tolerance(sum_yy) {
        return None;
    }
    let r = (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0);
    let interval = (n > 3).then(|| {
        // atanh(±1) is infinite and tanh brings it back to ±1: a perfect correlation
        // gets the degenerate interval [r, r].
        let centre = r.atanh();
        let half = z() / (nf - 3.0).sqrt();
        Interval {
            low: (centre - half).tanh(),
            high: (centre + half).tanh(),
        }
    });
    let df = nf - 2.0;
    let p_value = if r.abs() == 1.0 {
        Some(0.0)
    } else {
        let t = r * (df / (1.0 - r * r)).sqrt();
        StudentsT::new(0.0, 1.0, df)
            .ok()
            .map(|dist| (2.0 * (1.0 - dist.cdf(t.abs()))).clamp(0.0, 1.0))
    };
    Some(Correlation {
        r,
        n,
        interval,
        p_value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64) {
        assert!((got - want).abs() < 1e-9, "got {got}, want {want}");
    }

    fn interval_close(got: Option<Interval>, low: f64, high: f64) {
        let got = got.expect("an interval");
        close(got.low, low);
        close(got.high, high);
    }

    #[test]
    fn wilson_intervals_match_statsmodels() {
        // statsmodels 0.15.0:
        // proportion_confint(s, n, alpha=0.05, method="wilson").
        interval_close(proportion(8, 10), 0.49016247153664183, 0.9433178485456247);
        interval_close(proportion(0, 5), 0.0, 0.43448246478317487);
        interval_close(proportion(10, 10), 0.7224672001371106, 1.0);
        interval_close(proportion(45, 60), 0.6276792992295218, 0.8422347746994333);
        assert_eq!(proportion(0, 0), None);
        assert_eq!(proportion(6, 5), None);
    }

    #[test]
    fn net_promoter_adjusted_wald() {
        // (50, 30, 20) by hand: n = 103, p₊ = 50.75/103 = 0.4927184,
        // p₋ = 20.75/103 = 0.2014563, estimate 0.2912621,
        // Var = (0.6941748 − 0.0848336)/103 = 0.00591593, sd = 0.0769151,
        // z·sd = 1.959964 × 0.0769151 = 0.1507508 → [14.0511, 44.2013].
        // The digits below are from the same recipe computed in numpy with
        // z = scipy.stats.norm.ppf(0.975) = 1.959963984540054.
        interval_close(
            net_promoter(50, 30, 20),
            14.051130178761607,
            44.20129700570441,
        );
        // One promoter: n = 4, p₊ = 1.75/4, p₋ = 0.75/4, estimate 0.25,
        // Var = (0.625 − 0.0625)/4 = 0.140625, sd = 0.375 → 25 ± 73.4986.
        interval_close(net_promoter(1, 0, 0), -48.49864942025203, 98.49864942025202);
        // Clamped at the ends of the scale.
        interval_close(net_promoter(0, 0, 7), -100.0, -32.81229806172632);
        interval_close(net_promoter(10, 0, 0), 47.5035515447902, 100.0);
        assert_eq!(net_promoter(0, 0, 0), None);
    }

    #[test]
    fn t_interval_matches_scipy() {
        // Ratings 3, 5, 4, 4, 2: Σx = 18, Σx² = 70. scipy 1.17.1:
        // stats.t.interval(0.95, 4, loc=3.6, scale=stats.sem(x)).
        interval_close(mean(18.0, 70.0, 5), 2.184285223017728, 5.015714776982272);
        // Two equal values: no spread, a point.
        interval_close(mean(8.0, 32.0, 2), 4.0, 4.0);
        assert_eq!(mean(4.0, 16.0, 1), None);
        assert_eq!(mean(f64::NAN, 16.0, 3), None);
    }

    #[test]
    fn pearson_matches_scipy() {
        // x = 1..7, y = 2, 1, 4, 3, 7, 8, 5: Σx = 28, Σy = 30, Σx² = 140, Σy² = 168,
        // Σxy = 146. scipy 1.17.1 stats.pearsonr(x, y): statistic, pvalue and
        // confidence_interval(0.95) (Fisher z).
        let c = correlation(7, 28.0, 30.0, 140.0, 168.0, 146.0).expect("correlation");
        close(c.r, 0.7825080450574998);
        close(c.p_value.expect("p"), 0.03753960252243361);
        interval_close(c.interval, 0.07170215123667797, 0.9662060327092991);
        assert_eq!(c.n, 7);
        // x = 1..4, y = 1, 3, 2, 5.
        let c = correlation(4, 10.0, 11.0, 30.0, 39.0, 33.0).expect("correlation");
        close(c.r, 0.8315218406203);
        close(c.p_value.expect("p"), 0.1684781593797);
        interval_close(c.interval, -0.6451324587565247, 0.9963561001514174);
        // Three pairs (1, 2), (2, 1), (3, 3): r = 0.5, p = 2/3, no interval.
        let c = correlation(3, 6.0, 6.0, 14.0, 14.0, 13.0).expect("correlation");
        close(c.r, 0.5);
        close(c.p_value.expect("p"), 0.6666666666666666);
        assert_eq!(c.interval, None);
    }

    #[test]
    fn correlation_needs_variation_and_three_pairs() {
        assert_eq!(correlation(2, 3.0, 3.0, 5.0, 5.0, 5.0), None);
        // y constant.
        assert_eq!(correlation(3, 6.0, 6.0, 14.0, 12.0, 12.0), None);
        // x = 0.1 ten times: Σx² − (Σx)²/n is rounding noise, not variance.
        let sum_x: f64 = (0..10).map(|_| 0.1).sum();
        let sum_xx: f64 = (0..10).map(|_| 0.1 * 0.1).sum();
        assert_eq!(correlation(10, sum_x, 55.0, sum_xx, 385.0, 5.5), None);
        // A perfect line: r = 1, p = 0, the interval a point.
        let c = correlation(4, 10.0, 20.0, 30.0, 120.0, 60.0).expect("correlation");
        assert_eq!(c.r, 1.0);
        assert_eq!(c.p_value, Some(0.0));
        interval_close(c.interval, 1.0, 1.0);
    }
}
