//! L2-regularised logistic regression for propensity (conversion, churn) models.
//!
//! Features are standardised with the training means and standard deviations, and the
//! model minimises the mean log-loss plus (λ/2)‖β‖² over the standardised coefficients β
//! (the intercept is not penalised) by Newton's method: gradient
//! (1/n) Σ (p_i − y_i) z_i + λβ, Hessian (1/n) Σ p_i (1 − p_i) z_i z_iᵀ + λI. The objective
//! is convex and the Hessian cheap for a few dozen features, so Newton converges in a
//! handful of steps where a quasi-Newton method needs many. Because the features are standardised, a prediction's
//! contribution β_j z_ij says how much feature j moved its log-odds from those of an
//! average customer.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;

use crate::optimize::{invert, OptimizerReport};
use crate::{AnalyticsError, Result};

/// Fit settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogisticOptions {
    /// λ, the L2 penalty on the standardised coefficients.
    pub l2: f64,
    pub max_iterations: usize,
    pub gradient_tolerance: f64,
}

impl Default for LogisticOptions {
    fn default() -> Self {
        LogisticOptions {
            l2: 1e-4,
            max_iterations: 100,
            gradient_tolerance: 1e-8,
        }
    }
}

/// How the fit went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogisticReport {
    pub rows: usize,
    pub positives: usize,
    /// Mean log-loss on the training rows.
    pub training_log_loss: f64,
    pub optimizer: OptimizerReport,
}

/// A fitted model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogisticModel {
    pub feature_names: Vec<String>,
    pub means: Vec<f64>,
    /// Standard deviations used to standardise (1 for constant features).
    pub scales: Vec<f64>,
    pub intercept: f64,
    /// Coefficients on the standardised features.
    pub coefficients: Vec<f64>,
    pub report: LogisticReport,
}

fn sigmoid(t: f64) -> f64 {
    1.0 / (1.0 + (-t).exp())
}

/// ln(1 + e^t) without overflow.
fn softplus(t: f64) -> f64 {
    if t > 0.0 {
        t + (-t).exp().ln_1p()
    } else {
        t.exp().ln_1p()
    }
}

fn check_rows(features: &[Vec<f64>], labels: &[bool], width: usize) -> Result<()> {
    if features.len() != labels.len() {
        return Err(AnalyticsError::InvalidParameter {
            name: "labels",
            reason: format!("{} labels for {} rows", labels.len(), features.len()),
        });
    }
    for (index, row) in features.iter().enumerate() {
        if row.len() != width || !row.iter().all(|v| v.is_finite()) {
            return Err(AnalyticsError::InvalidInput {
                index,
                reason: format!("need {width} finite feature values"),
            });
        }
    }
    Ok(())
}

impl LogisticModel {
    /// Fits the model on rows of `features` (one value per name) and their labels.
    pub fn fit(
        feature_names: &[&str],
        features: &[Vec<f64>],
        labels: &[bool],
        options: &LogisticOptions,
    ) -> Result<Self> {
        let width = feature_names.len();
        check_rows(features, labels, width)?;
        let positives = labels.iter().filter(|&&y| y).count();
        if positives == 0 || positives == labels.len() {
            return Err(AnalyticsError::NoData(
                "logistic regression needs both outcomes among the rows",
            ));
        }
        let n = features.len() as f64;
        let means: Vec<f64> = (0..width)
            .map(|j| features.iter().map(|r| r[j]).sum::<f64>() / n)
            .collect();
        let scales: Vec<f64> = (0..width)
            .map(|j| {
                let var = features
                    .iter()
                    .map(|r| (r[j] - means[j]).powi(2))
                    .sum::<f64>()
                    / n;
                if var > 0.0 {
                    var.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        let standardised: Vec<Vec<f64>> = features
            .iter()
            .map(|r| (0..width).map(|j| (r[j] - means[j]) / scales[j]).collect())
            .collect();
        let (w, optimizer) = newton(&standardised, labels, options);
        if !optimizer.converged {
            return Err(AnalyticsError::NotConverged {
                model: "logistic regression",
                iterations: optimizer.iterations,
            });
        }
        let mut model = LogisticModel {
            feature_names: feature_names.iter().map(|s| s.to_string()).collect(),
            means,
            scales,
            intercept: w[0],
            coefficients: w[1..].to_vec(),
            report: LogisticReport {
                rows: features.len(),
                positives,
                training_log_loss: 0.0,
                optimizer,
            },
        };
        let scores: Vec<f64> = features.iter().map(|r| model.predict(r)).collect();
        model.report.training_log_loss = log_loss(&scores, labels);
        Ok(model)
    }

    /// Per-feature contributions β_j z_j to the log-odds of `row`.
    pub fn contributions(&self, row: &[f64]) -> Vec<f64> {
        row.iter()
            .zip(&self.coefficients)
            .enumerate()
            .map(|(j, (x, b))| b * (x - self.means[j]) / self.scales[j])
            .collect()
    }

    /// Predicted probability of the positive outcome.
    pub fn predict(&self, row: &[f64]) -> f64 {
        sigmoid(self.intercept + self.contributions(row).iter().sum::<f64>())
    }

    /// Intercept and coefficients in the features' own units:
    /// b_j = β_j / s_j, b_0 = β_0 − Σ β_j m_j / s_j.
    pub fn unstandardised(&self) -> (f64, Vec<f64>) {
        let coefficients: Vec<f64> = (0..self.coefficients.len())
            .map(|j| self.coefficients[j] / self.scales[j])
            .collect();
        let shift: f64 = coefficients
            .iter()
            .zip(&self.means)
            .map(|(b, m)| b * m)
            .sum();
        (self.intercept - shift, coefficients)
    }

    /// Quality on (held-out) rows.
    pub fn evaluate(&self, features: &[Vec<f64>], labels: &[bool]) -> Result<Evaluation> {
        check_rows(features, labels, self.coefficients.len())?;
        if features.is_empty() {
            return Err(AnalyticsError::NoData("no rows to evaluate on"));
        }
        let scores: Vec<f64> = features.iter().map(|r| self.predict(r)).collect();
        Ok(Evaluation {
            rows: features.len(),
            auc: auc(&scores, labels),
            log_loss: log_loss(&scores, labels),
            calibration: calibration(&scores, labels, 10),
        })
    }
}

/// Mean penalised log-loss of weights `w` = (intercept, β) with its gradient and Hessian.
fn loss_gradient_hessian(
    z: &[Vec<f64>],
    labels: &[bool],
    l2: f64,
    w: &[f64],
) -> (f64, Vec<f64>, Vec<Vec<f64>>) {
    let d = w.len();
    let n = z.len() as f64;
    let (mut loss, mut gradient, mut hessian) = (0.0, vec![0.0; d], vec![vec![0.0; d]; d]);
    let mut row = vec![1.0; d];
    for (zi, &y) in z.iter().zip(labels) {
        row[1..].copy_from_slice(zi);
        let t: f64 = row.iter().zip(w).map(|(a, b)| a * b).sum();
        // −[y ln p + (1−y) ln(1−p)] = softplus(t) − y t
        loss += softplus(t) - if y { t } else { 0.0 };
        let p = sigmoid(t);
        let residual = p - f64::from(u8::from(y));
        let curvature = p * (1.0 - p);
        for j in 0..d {
            gradient[j] += residual * row[j];
            for k in 0..=j {
                hessian[j][k] += curvature * row[j] * row[k];
            }
        }
    }
    loss /= n;
    // Scale the accumulated lower triangle and mirror it.
    let hessian: Vec<Vec<f64>> = (0..d)
        .map(|j| (0..d).map(|k| hessian[j.max(k)][j.min(k)] / n).collect())
        .collect();
    let mut hessian = hessian;
    for j in 0..d {
        gradient[j] /= n;
        if j > 0 {
            loss += l2 / 2.0 * w[j] * w[j];
            gradient[j] += l2 * w[j];
            hessian[j][j] += l2;
        }
    }
    (loss, gradient, hessian)
}

/// Newton's method with step halving (which a convex objective rarely needs).
fn newton(
    z: &[Vec<f64>],
    labels: &[bool],
    options: &LogisticOptions,
) -> (Vec<f64>, OptimizerReport) {
    let d = z.first().map_or(0, Vec::len) + 1;
    let mut w = vec![0.0; d];
    let (mut loss, mut gradient, mut hessian) = loss_gradient_hessian(z, labels, options.l2, &w);
    let (mut iterations, mut evaluations) = (0, 1);
    let norm = |g: &[f64]| g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let mut at_minimum = false;
    while iterations < options.max_iterations && norm(&gradient) > options.gradient_tolerance {
        // A separable data set without penalty has a singular Hessian at infinity.
        let Some(inverse) = invert(hessian.clone()) else {
            break;
        };
        let step: Vec<f64> = inverse
            .iter()
            .map(|row| row.iter().zip(&gradient).map(|(a, b)| a * b).sum())
            .collect();
        // Half the Newton decrement gᵀH⁻¹g is what the step can still take off the
        // (convex) loss. Below the rounding of a sum over thousands of rows no step can
        // be seen to descend, though the gradient's last digits stay above the
        // tolerance: that is the minimum.
        let decrement: f64 = step.iter().zip(&gradient).map(|(s, g)| s * g).sum();
        if decrement / 2.0 <= 1e-12 * loss.abs().max(1.0) {
            at_minimum = true;
            break;
        }
        let mut scale = 1.0;
        let mut accepted = false;
        for _ in 0..30 {
            let trial: Vec<f64> = w.iter().zip(&step).map(|(a, s)| a - scale * s).collect();
            let next = loss_gradient_hessian(z, labels, options.l2, &trial);
            evaluations += 1;
            if next.0 <= loss {
                (w, (loss, gradient, hessian)) = (trial, next);
                accepted = true;
                break;
            }
            scale /= 2.0;
        }
        if !accepted {
            break;
        }
        iterations += 1;
    }
    let gradient_norm = norm(&gradient);
    let report = OptimizerReport {
        iterations,
        evaluations,
        converged: at_minimum || gradient_norm <= options.gradient_tolerance,
        gradient_norm,
    };
    (w, report)
}

/// Model quality on a set of rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub rows: usize,
    /// Area under the ROC curve (NaN when one outcome is missing).
    pub auc: f64,
    pub log_loss: f64,
    pub calibration: Vec<CalibrationBin>,
}

/// One bin of equal-count groups of predictions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationBin {
    pub rows: usize,
    pub mean_predicted: f64,
    pub observed_rate: f64,
}

/// AUC as the Mann-Whitney statistic: the probability that a random positive scores
/// above a random negative, ties counting one half (average ranks).
pub fn auc(scores: &[f64], labels: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_positive = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            j += 1;
        }
        let average_rank = (i + j + 1) as f64 / 2.0;
        rank_sum_positive +=
            order[i..j].iter().filter(|&&k| labels[k]).count() as f64 * average_rank;
        i = j;
    }
    let positives = labels.iter().filter(|&&y| y).count() as f64;
    let negatives = labels.len() as f64 - positives;
    (rank_sum_positive - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

/// Mean log-loss, probabilities clipped to [1e-15, 1 − 1e-15].
pub fn log_loss(scores: &[f64], labels: &[bool]) -> f64 {
    let total: f64 = scores
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = p.clamp(1e-15, 1.0 - 1e-15);
            -if y { p.ln() } else { (1.0 - p).ln() }
        })
        .sum();
    total / scores.len() as f64
}

fn calibration(scores: &[f64], labels: &[bool], bins: usize) -> Vec<CalibrationBin> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let n = order.len();
    (0..bins.min(n))
        .map(|b| {
            let slice = &order[b * n / bins.min(n)..(b + 1) * n / bins.min(n)];
            let rows = slice.len();
            CalibrationBin {
                rows,
                mean_predicted: slice.iter().map(|&k| scores[k]).sum::<f64>() / rows as f64,
                observed_rate: slice.iter().filter(|&&k| labels[k]).count() as f64 / rows as f64,
            }
        })
        .collect()
}

/// Shuffled (training, holdout) row indices with `holdout_fraction` of the rows held out,
/// reproducible for a seed.
pub fn train_holdout_split(
    rows: usize,
    holdout_fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut indices: Vec<usize> = (0..rows).collect();
    indices.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    let holdout = ((rows as f64) * holdout_fraction.clamp(0.0, 1.0)).round() as usize;
    let training = indices.split_off(holdout);
    (training, indices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ties_as_half() {
        assert_eq!(
            auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            0.75
        );
        assert_eq!(auc(&[0.5, 0.5], &[false, true]), 0.5);
    }

    #[test]
    fn separates_and_explains() {
        let features: Vec<Vec<f64>> = (0..200).map(|i| vec![f64::from(i % 20), 1.0]).collect();
        let labels: Vec<bool> = (0..200).map(|i| i % 20 >= 10).collect();
        let model = LogisticModel::fit(
            &["visits", "constant"],
            &features,
            &labels,
            &LogisticOptions::default(),
        )
        .expect("fit");
        let evaluation = model.evaluate(&features, &labels).expect("evaluate");
        assert!(evaluation.auc > 0.99);
        assert_eq!(evaluation.calibration.len(), 10);
        let contributions = model.contributions(&[19.0, 1.0]);
        assert!(contributions[0] > 0.0 && contributions[1] == 0.0);
        let (train, holdout) = train_holdout_split(200, 0.25, 1);
        assert_eq!((train.len(), holdout.len()), (150, 50));
    }
}
