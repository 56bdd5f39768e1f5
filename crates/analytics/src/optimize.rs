//! A small dense BFGS minimiser with an Armijo backtracking line search.
//!
//! Why hand-written rather than `argmin`: every model here has between 3 and a few dozen
//! parameters, and its objective is one pass over (deduplicated) data that yields the
//! value and the analytic gradient together. `argmin`'s `CostFunction` and `Gradient`
//! traits ask for them separately, which doubles the passes over the data on every
//! line-search step; the whole algorithm below is about sixty lines (Nocedal & Wright,
//! "Numerical Optimization", 2nd ed., algorithm 6.1 with the scaling of eq. 6.20).

use serde::Serialize;

/// Settings of a maximum-likelihood fit, shared by the BG/NBD and Gamma-Gamma models.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FitOptions {
    /// L2 penalty on the parameters, as `lifetimes`' `penalizer_coef` (each model documents
    /// which parameters it penalises).
    pub penalizer: f64,
    pub max_iterations: usize,
    /// Convergence when every component of the gradient of the mean negative
    /// log-likelihood with respect to the log-parameters is below this.
    pub gradient_tolerance: f64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            penalizer: 0.0,
            max_iterations: 1000,
            gradient_tolerance: 1e-7,
        }
    }
}

/// How a numerical optimisation ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptimizerReport {
    /// BFGS iterations (accepted steps).
    pub iterations: usize,
    /// Objective-and-gradient evaluations, line-search trials included.
    pub evaluations: usize,
    /// Whether the largest absolute gradient component fell below the tolerance.
    pub converged: bool,
    /// The largest absolute gradient component at the returned point.
    pub gradient_norm: f64,
}

pub(crate) struct Settings {
    pub max_iterations: usize,
    pub gradient_tolerance: f64,
}

pub(crate) struct Minimum {
    pub x: Vec<f64>,
    pub report: OptimizerReport,
}

/// Largest change of one coordinate in a single trial step.
const MAX_STEP: f64 = 2.0;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Minimises `objective`, which returns the value at `x` and writes the gradient into its
/// second argument. A non-finite value is treated as "outside the domain" and the line
/// search backs off from it.
pub(crate) fn minimize<F>(mut objective: F, x0: Vec<f64>, settings: &Settings) -> Minimum
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let n = x0.len();
    let mut x = x0;
    let mut g = vec![0.0; n];
    let mut value = objective(&x, &mut g);
    let mut evaluations = 1;
    let mut h = identity(n);
    let mut first_update = true;
    let mut iterations = 0;
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];

    while iterations < settings.max_iterations
        && value.is_finite()
        && max_abs(&g) > settings.gradient_tolerance
    {
        let mut direction: Vec<f64> = (0..n).map(|i| -dot(&h[i], &g)).collect();
        let mut slope = dot(&g, &direction);
        if slope >= 0.0 {
            // The curvature model went bad (rounding): restart from steepest descent.
            h = identity(n);
            first_update = true;
            direction = g.iter().map(|v| -v).collect();
            slope = -dot(&g, &g);
        }
        // Cap the trial step at a change of MAX_STEP in any coordinate: with log-parameters
        // an unbounded first step (steepest descent on a large gradient) lands where the
        // objective overflows, and halving back from there can stall the search.
        let longest = max_abs(&direction);
        let mut step = if longest > MAX_STEP {
            MAX_STEP / longest
        } else {
            1.0
        };
        let mut accepted = None;
        for _ in 0..60 {
            for i in 0..n {
                x_new[i] = x[i] + step * direction[i];
            }
            let trial = objective(&x_new, &mut g_new);
            evaluations += 1;
            if trial.is_finite() && trial <= value + 1e-4 * step * slope {
                accepted = Some(trial);
                break;
            }
            step *= 0.5;
        }
        let Some(new_value) = accepted else { break };
        iterations += 1;
        let s: Vec<f64> = (0..n).map(|i| x_new[i] - x[i]).collect();
        let y: Vec<f64> = (0..n).map(|i| g_new[i] - g[i]).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt() {
            if first_update {
                let scale = sy / dot(&y, &y);
                h.iter_mut().enumerate().for_each(|(i, row)| {
                    row.iter_mut()
                        .enumerate()
                        .for_each(|(j, v)| *v = if i == j { scale } else { 0.0 })
                });
                first_update = false;
            }
            bfgs_update(&mut h, &s, &y, sy);
        }
        x.copy_from_slice(&x_new);
        g.copy_from_slice(&g_new);
        value = new_value;
    }
    let gradient_norm = max_abs(&g);
    Minimum {
        x,
        report: OptimizerReport {
            iterations,
            evaluations,
            converged: value.is_finite() && gradient_norm <= settings.gradient_tolerance,
            gradient_norm,
        },
    }
}

/// Inverse of the Hessian of `objective` at `x`, from central differences of its analytic
/// gradient (symmetrised). `None` when the Hessian is singular or not finite.
pub(crate) fn inverse_hessian<F>(mut objective: F, x: &[f64]) -> Option<Vec<Vec<f64>>>
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let n = x.len();
    let mut hessian = vec![vec![0.0; n]; n];
    let (mut up, mut down) = (vec![0.0; n], vec![0.0; n]);
    for j in 0..n {
        let step = 1e-5 * x[j].abs().max(1.0);
        let mut point = x.to_vec();
        point[j] = x[j] + step;
        objective(&point, &mut up);
        point[j] = x[j] - step;
        objective(&point, &mut down);
        for i in 0..n {
            hessian[i][j] = (up[i] - down[i]) / (2.0 * step);
        }
    }
    let symmetric = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| 0.5 * (hessian[i][j] + hessian[j][i]))
                .collect()
        })
        .collect();
    invert(symmetric)
}

/// Gauss-Jordan inversion with partial pivoting.
pub(crate) fn invert(mut m: Vec<Vec<f64>>) -> Option<Vec<Vec<f64>>> {
    let n = m.len();
    let mut inverse = identity(n);
    for col in 0..n {
        let pivot = (col..n).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[pivot][col].abs() <= 1e-300 || m[pivot][col].is_nan() {
            return None;
        }
        m.swap(col, pivot);
        inverse.swap(col, pivot);
        let d = m[col][col];
        for k in 0..n {
            m[col][k] /= d;
            inverse[col][k] /= d;
        }
        for row in 0..n {
            if row != col {
                let f = m[row][col];
                for k in 0..n {
                    m[row][k] -= f * m[col][k];
                    inverse[row][k] -= f * inverse[col][k];
                }
            }
        }
    }
    inverse
        .iter()
        .flatten()
        .all(|v| v.is_finite())
        .then_some(inverse)
}

fn identity(n: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect()
}

/// H <- (I - rho s y') H (I - rho y s') + rho s s', rho = 1 / (y's), expanded so that it
/// costs O(n^2): H + (1 + rho y'Hy) rho s s' - rho (Hy s' + s y'H).
fn bfgs_update(h: &mut [Vec<f64>], s: &[f64], y: &[f64], sy: f64) {
    let n = s.len();
    let rho = 1.0 / sy;
    let hy: Vec<f64> = (0..n).map(|i| dot(&h[i], y)).collect();
    let yhy = dot(y, &hy);
    for i in 0..n {
        for j in 0..n {
            h[i][j] += (1.0 + rho * yhy) * rho * s[i] * s[j] - rho * (hy[i] * s[j] + s[i] * hy[j]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_the_rosenbrock_function() {
        let rosenbrock = |x: &[f64], g: &mut [f64]| {
            g[0] = -2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] * x[0]);
            g[1] = 200.0 * (x[1] - x[0] * x[0]);
            (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2)
        };
        let settings = Settings {
            max_iterations: 500,
            gradient_tolerance: 1e-9,
        };
        let minimum = minimize(rosenbrock, vec![-1.2, 1.0], &settings);
        assert!(minimum.report.converged, "{:?}", minimum.report);
        assert!((minimum.x[0] - 1.0).abs() < 1e-6 && (minimum.x[1] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn inverse_hessian_of_a_quadratic() {
        // f = x0^2 + x0 x1 + 2 x1^2: Hessian [[2, 1], [1, 4]], inverse [[4, -1], [-1, 2]] / 7
        let quadratic = |x: &[f64], g: &mut [f64]| {
            g[0] = 2.0 * x[0] + x[1];
            g[1] = x[0] + 4.0 * x[1];
            x[0] * x[0] + x[0] * x[1] + 2.0 * x[1] * x[1]
        };
        let inverse = inverse_hessian(quadratic, &[0.3, -0.2]).expect("regular");
        let expected = [[4.0 / 7.0, -1.0 / 7.0], [-1.0 / 7.0, 2.0 / 7.0]];
        for i in 0..2 {
            for j in 0..2 {
                assert!((inverse[i][j] - expected[i][j]).abs() < 1e-8);
            }
        }
    }
}
