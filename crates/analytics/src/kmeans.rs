//! k-means clustering on standardised behavioural features.
//!
//! Seeding is k-means++ (Arthur & Vassilvitskii 2007: each next centre drawn with
//! probability proportional to the squared distance to the nearest chosen one) from a
//! seeded RNG, so a run is reproducible. Lloyd iterations alternate assignment and
//! centroid update; an empty cluster keeps its centre, so the inertia (sum of squared
//! distances to the assigned centre) never increases. The silhouette (Rousseeuw 1987)
//! scores a clustering, and [`suggest_k`] picks the k with the best one.

use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::{AnalyticsError, Result};

/// Clustering settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KMeansOptions {
    pub k: usize,
    pub max_iterations: usize,
    pub seed: u64,
}

/// A fitted clustering (centres in standardised units).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KMeans {
    pub means: Vec<f64>,
    pub scales: Vec<f64>,
    pub centroids: Vec<Vec<f64>>,
    /// Cluster of each input row.
    pub assignments: Vec<usize>,
    /// Inertia after each assignment step, non-increasing.
    pub inertia_history: Vec<f64>,
    pub iterations: usize,
    /// Whether an assignment step changed nothing before `max_iterations`.
    pub converged: bool,
}

impl KMeans {
    /// Final inertia.
    pub fn inertia(&self) -> f64 {
        self.inertia_history.last().copied().unwrap_or(0.0)
    }

    /// Cluster of a new row (in original units).
    pub fn predict(&self, row: &[f64]) -> usize {
        nearest(&self.standardise(row), &self.centroids).0
    }

    fn standardise(&self, row: &[f64]) -> Vec<f64> {
        row.iter()
            .enumerate()
            .map(|(j, v)| (v - self.means[j]) / self.scales[j])
            .collect()
    }
}

fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn nearest(point: &[f64], centroids: &[Vec<f64>]) -> (usize, f64) {
    centroids
        .iter()
        .enumerate()
        .map(|(c, centre)| (c, squared_distance(point, centre)))
        .fold((0, f64::INFINITY), |best, cand| {
            if cand.1 < best.1 {
                cand
            } else {
                best
            }
        })
}

/// (standardised rows, column means, column scales).
pub type Standardised = (Vec<Vec<f64>>, Vec<f64>, Vec<f64>);

/// Standardises columns to mean 0 and standard deviation 1 (constant columns to 0).
pub fn standardise(rows: &[Vec<f64>]) -> Result<Standardised> {
    let width = rows.first().map_or(0, Vec::len);
    if let Some(index) = rows
        .iter()
        .position(|r| r.len() != width || !r.iter().all(|v| v.is_finite()))
    {
        return Err(AnalyticsError::InvalidInput {
            index,
            reason: format!("need {width} finite values"),
        });
    }
    let n = rows.len() as f64;
    let means: Vec<f64> = (0..width)
        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect();
    let scales: Vec<f64> = (0..width)
        .map(|j| {
            let sd = (rows.iter().map(|r| (r[j] - means[j]).powi(2)).sum::<f64>() / n).sqrt();
            if sd > 0.0 {
                sd
            } else {
                1.0
            }
        })
        .collect();
    let z = rows
        .iter()
        .map(|r| (0..width).map(|j| (r[j] - means[j]) / scales[j]).collect())
        .collect();
    Ok((z, means, scales))
}

/// Clusters `rows` (original units; standardised internally).
pub fn fit(rows: &[Vec<f64>], options: &KMeansOptions) -> Result<KMeans> {
    if options.k == 0 || options.k > rows.len() {
        return Err(AnalyticsError::InvalidParameter {
            name: "k",
            reason: format!("must be between 1 and the number of rows ({})", rows.len()),
        });
    }
    let (points, means, scales) = standardise(rows)?;
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut centroids = plus_plus_seeds(&points, options.k, &mut rng);
    let mut assignments = vec![usize::MAX; points.len()];
    let mut inertia_history = Vec::new();
    let mut converged = false;
    let mut iterations = 0;
    while iterations < options.max_iterations {
        iterations += 1;
        let mut changed = false;
        let mut inertia = 0.0;
        for (point, assigned) in points.iter().zip(assignments.iter_mut()) {
            let (cluster, distance) = nearest(point, &centroids);
            changed |= *assigned != cluster;
            *assigned = cluster;
            inertia += distance;
        }
        inertia_history.push(inertia);
        if !changed {
            converged = true;
            break;
        }
        let width = centroids[0].len();
        let mut sums = vec![vec![0.0; width]; options.k];
        let mut counts = vec![0usize; options.k];
        for (point, &cluster) in points.iter().zip(&assignments) {
            counts[cluster] += 1;
            sums[cluster]
                .iter_mut()
                .zip(point)
                .for_each(|(s, v)| *s += v);
        }
        for ((centre, sum), count) in centroids.iter_mut().zip(sums).zip(counts) {
            if count > 0 {
                *centre = sum.into_iter().map(|s| s / count as f64).collect();
            }
        }
    }
    Ok(KMeans {
        means,
        scales,
        centroids,
        assignments,
        inertia_history,
        iterations,
        converged,
    })
}

fn plus_plus_seeds(points: &[Vec<f64>], k: usize, rng: &mut StdRng) -> Vec<Vec<f64>> {
    let mut centroids = vec![points[rng.gen_range(0..points.len())].clone()];
    let mut distances: Vec<f64> = points
        .iter()
        .map(|p| squared_distance(p, &centroids[0]))
        .collect();
    while centroids.len() < k {
        // All remaining points coincide with a centre: any of them is as good.
        let next = match WeightedIndex::new(&distances) {
            Ok(weights) => weights.sample(rng),
            Err(_) => rng.gen_range(0..points.len()),
        };
        centroids.push(points[next].clone());
        for (d, p) in distances.iter_mut().zip(points) {
            *d = d.min(squared_distance(p, &points[next]));
        }
    }
    centroids
}

/// Mean silhouette s(i) = (b − a) / max(a, b) over the rows (standardised units), where a
/// is the mean distance to the own cluster and b to the nearest other one; rows alone in
/// their cluster score 0. Exact when there are at most `max_rows` rows, otherwise on a
/// seeded sample of `max_rows` of them (the computation is quadratic).
pub fn silhouette(model: &KMeans, rows: &[Vec<f64>], max_rows: usize, seed: u64) -> f64 {
    let k = model.centroids.len();
    let chosen: Vec<usize> = if rows.len() > max_rows {
        sample(&mut StdRng::seed_from_u64(seed), rows.len(), max_rows).into_vec()
    } else {
        (0..rows.len()).collect()
    };
    if k < 2 || chosen.is_empty() {
        return 0.0;
    }
    let points: Vec<Vec<f64>> = chosen
        .iter()
        .map(|&i| model.standardise(&rows[i]))
        .collect();
    let labels: Vec<usize> = chosen.iter().map(|&i| model.assignments[i]).collect();
    let mut total = 0.0;
    for (i, p) in points.iter().enumerate() {
        let mut sums = vec![0.0; k];
        let mut counts = vec![0usize; k];
        for (j, q) in points.iter().enumerate() {
            if i != j {
                sums[labels[j]] += squared_distance(p, q).sqrt();
                counts[labels[j]] += 1;
            }
        }
        let own = labels[i];
        if counts[own] == 0 {
            continue;
        }
        let a = sums[own] / counts[own] as f64;
        let b = (0..k)
            .filter(|&c| c != own && counts[c] > 0)
            .map(|c| sums[c] / counts[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() {
            total += (b - a) / a.max(b);
        }
    }
    total / points.len() as f64
}

/// (k, silhouette) for each k in `ks`, and the k with the highest silhouette.
pub fn suggest_k(
    rows: &[Vec<f64>],
    ks: impl IntoIterator<Item = usize>,
    max_iterations: usize,
    seed: u64,
) -> Result<(usize, Vec<(usize, f64)>)> {
    let mut scores = Vec::new();
    for k in ks {
        let model = fit(
            rows,
            &KMeansOptions {
                k,
                max_iterations,
                seed,
            },
        )?;
        scores.push((k, silhouette(&model, rows, 2000, seed)));
    }
    let best = scores
        .iter()
        .copied()
        .fold(None, |best: Option<(usize, f64)>, s| match best {
            Some(b) if b.1 >= s.1 => Some(b),
            _ => Some(s),
        })
        .ok_or(AnalyticsError::NoData("no k to try"))?;
    Ok((best.0, scores))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs() -> Vec<Vec<f64>> {
        let centres = [(0.0, 0.0), (10.0, 10.0), (0.0, 10.0)];
        let mut rng = StdRng::seed_from_u64(3);
        (0..300)
            .map(|i| {
                let (x, y) = centres[i % 3];
                vec![x + rng.gen_range(-1.0..1.0), y + rng.gen_range(-1.0..1.0)]
            })
            .collect()
    }

    #[test]
    fn finds_three_blobs_reproducibly() {
        let rows = blobs();
        let options = KMeansOptions {
            k: 3,
            max_iterations: 100,
            seed: 42,
        };
        let first = fit(&rows, &options).expect("fit");
        assert_eq!(first, fit(&rows, &options).expect("fit"));
        assert!(first.converged);
        for i in 0..3 {
            assert!((0..rows.len())
                .filter(|r| r % 3 == i)
                .all(|r| first.assignments[r] == first.assignments[i]));
        }
        assert_eq!(first.predict(&[10.2, 9.9]), first.assignments[1]);
        let (k, _) = suggest_k(&rows, 2..=5, 100, 42).expect("suggest");
        assert_eq!(k, 3);
    }
}
