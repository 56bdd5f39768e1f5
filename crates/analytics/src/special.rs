//! Special functions that `statrs` does not provide.

/// Gauss hypergeometric function 2F1(a, b; c; z) for 0 <= z < 1 by its power series
/// sum_n (a)_n (b)_n / ((c)_n n!) z^n (Abramowitz & Stegun 15.1.1).
///
/// Terms shrink by a factor that tends to z, so the series needs about
/// log(1e-17) / log(z) terms; callers keep z away from 1 by the Euler transformation
/// (see `bgnbd`). Returns NaN when c is a non-positive integer or the series does not
/// settle within the term budget, so that a bad parameter never loops or panics.
pub(crate) fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    const MAX_TERMS: usize = 200_000;
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 0..MAX_TERMS {
        let n = n as f64;
        let denominator = (c + n) * (n + 1.0);
        if denominator == 0.0 {
            return f64::NAN;
        }
        term *= (a + n) * (b + n) / denominator * z;
        sum += term;
        if term == 0.0 || (term.abs() <= 1e-17 * sum.abs() && n > 1.0) {
            return sum;
        }
        if !sum.is_finite() {
            return f64::NAN;
        }
    }
    f64::NAN
}

#[cfg(test)]
mod tests {
    use super::hyp2f1;

    #[test]
    fn matches_closed_forms() {
        // 2F1(1, 1; 2; z) = -ln(1 - z) / z
        for z in [0.1, 0.5, 0.9, 0.99] {
            let expected = -(1.0f64 - z).ln() / z;
            assert!((hyp2f1(1.0, 1.0, 2.0, z) - expected).abs() < 1e-12 * expected);
        }
        // 2F1(a, b; b; z) = (1 - z)^-a
        let expected = (1.0f64 - 0.7).powf(-2.5);
        assert!((hyp2f1(2.5, 3.0, 3.0, 0.7) - expected).abs() < 1e-12 * expected);
        assert!(hyp2f1(1.0, 1.0, 0.0, 0.5).is_nan());
    }
}
