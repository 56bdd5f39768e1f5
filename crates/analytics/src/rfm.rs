//! RFM (recency, frequency, monetary) quintile scores and named segments.
//!
//! Each dimension is scored 1..=5 by rank: a customer's score is
//! `1 + floor(5 · below / n)`, where `below` counts customers with a strictly worse
//! value, so equal values always share a score (the tie rule is deterministic and does
//! not depend on input order) and distinct values split into fifths. Recency is better
//! when smaller (days since the last purchase), frequency and monetary when larger.
//!
//! Segments follow the widely used recency × frequency grid (monetary breaks no ties in
//! it; it is kept in the combined score):
//!
//! | R \ F | 1 | 2 | 3 | 4 | 5 |
//! | --- | --- | --- | --- | --- | --- |
//! | 5 | new | potential loyalist | potential loyalist | champions | champions |
//! | 4 | promising | potential loyalist | potential loyalist | loyal | loyal |
//! | 3 | about to sleep | about to sleep | need attention | loyal | loyal |
//! | 2 | hibernating | hibernating | at risk | at risk | cannot lose |
//! | 1 | lost | hibernating | at risk | at risk | cannot lose |

use serde::Serialize;

use crate::{AnalyticsError, Result};

/// What RFM needs about one customer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RfmInput {
    /// Days since the last purchase (smaller is better).
    pub recency_days: f64,
    /// Number of purchases (or purchase days).
    pub frequency: f64,
    /// Total spend.
    pub monetary: f64,
}

/// Named RFM segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    Champions,
    Loyal,
    PotentialLoyalist,
    New,
    Promising,
    NeedAttention,
    AboutToSleep,
    AtRisk,
    CannotLose,
    Hibernating,
    Lost,
}

impl Segment {
    /// Snake-case name, as serialised.
    pub fn name(self) -> &'static str {
        match self {
            Segment::Champions => "champions",
            Segment::Loyal => "loyal",
            Segment::PotentialLoyalist => "potential_loyalist",
            Segment::New => "new",
            Segment::Promising => "promising",
            Segment::NeedAttention => "need_attention",
            Segment::AboutToSleep => "about_to_sleep",
            Segment::AtRisk => "at_risk",
            Segment::CannotLose => "cannot_lose",
            Segment::Hibernating => "hibernating",
            Segment::Lost => "lost",
        }
    }

    /// The segment of a recency and frequency score (see the module table).
    pub fn of(r: u8, f: u8) -> Segment {
        match (r, f) {
            (5, 1) => Segment::New,
            (5, 2 | 3) => Segment::PotentialLoyalist,
            (5, _) => Segment::Champions,
            (4, 1) => Segment::Promising,
            (4, 2 | 3) => Segment::PotentialLoyalist,
            (4, _) => Segment::Loyal,
            (3, 1 | 2) => Segment::AboutToSleep,
            (3, 3) => Segment::NeedAttention,
            (3, _) => Segment::Loyal,
            (1, 1) => Segment::Lost,
            (_, 1 | 2) => Segment::Hibernating,
            (_, 3 | 4) => Segment::AtRisk,
            _ => Segment::CannotLose,
        }
    }
}

/// One customer's scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RfmScore {
    pub r: u8,
    pub f: u8,
    pub m: u8,
    pub segment: Segment,
}

impl RfmScore {
    /// The combined cell, e.g. 545 for R = 5, F = 4, M = 5.
    pub fn cell(&self) -> u16 {
        u16::from(self.r) * 100 + u16::from(self.f) * 10 + u16::from(self.m)
    }

    /// R + F + M, 3..=15.
    pub fn total(&self) -> u8 {
        self.r + self.f + self.m
    }
}

/// Quintile scores of `values`, higher values scoring higher.
pub fn quintile_scores(values: &[f64]) -> Vec<u8> {
    let n = values.len();
    // (key, index) pairs sort several times faster than indices compared through the
    // values, which at a million customers are cache misses.
    let mut order: Vec<(u64, usize)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (total_order_key(*v), i))
        .collect();
    order.sort_unstable();
    let mut scores = vec![0; n];
    let mut below = 0;
    while below < n {
        let key = order[below].0;
        let score = 1 + (5 * below / n) as u8;
        let mut end = below;
        while end < n && order[end].0 == key {
            scores[order[end].1] = score;
            end += 1;
        }
        below = end;
    }
    scores
}

/// An unsigned key ordered as [`f64::total_cmp`] orders the values.
fn total_order_key(v: f64) -> u64 {
    let bits = v.to_bits();
    // Negative values: flip every bit (larger magnitude sorts first); others: set the
    // sign bit so that they sort after every negative value.
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// Scores every customer relative to the others.
pub fn score(inputs: &[RfmInput]) -> Result<Vec<RfmScore>> {
    if let Some(index) = inputs.iter().position(|i| {
        !(i.recency_days.is_finite() && i.frequency.is_finite() && i.monetary.is_finite())
    }) {
        return Err(AnalyticsError::InvalidInput {
            index,
            reason: "RFM values must be finite".into(),
        });
    }
    let recency: Vec<f64> = inputs.iter().map(|i| -i.recency_days).collect();
    let frequency: Vec<f64> = inputs.iter().map(|i| i.frequency).collect();
    let monetary: Vec<f64> = inputs.iter().map(|i| i.monetary).collect();
    let (r, f, m) = (
        quintile_scores(&recency),
        quintile_scores(&frequency),
        quintile_scores(&monetary),
    );
    Ok((0..inputs.len())
        .map(|i| RfmScore {
            r: r[i],
            f: f[i],
            m: m[i],
            segment: Segment::of(r[i], f[i]),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_a_score_and_distinct_values_split_in_fifths() {
        assert_eq!(
            quintile_scores(&[5.0, 1.0, 3.0, 2.0, 4.0]),
            vec![5, 1, 3, 2, 4]
        );
        assert_eq!(
            quintile_scores(&[1.0, 1.0, 1.0, 2.0, 3.0]),
            vec![1, 1, 1, 4, 5]
        );
        assert!(quintile_scores(&[]).is_empty());
        let mut values = [
            -0.0,
            0.0,
            -1.5,
            2.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e-300,
        ];
        let keys: Vec<u64> = values.iter().map(|v| total_order_key(*v)).collect();
        values.sort_by(f64::total_cmp);
        let mut sorted_keys = keys.clone();
        sorted_keys.sort_unstable();
        let expected: Vec<u64> = values.iter().map(|v| total_order_key(*v)).collect();
        assert_eq!(sorted_keys, expected);
    }

    #[test]
    fn the_grid_matches_the_documented_table() {
        let table = [
            [
                "new",
                "potential_loyalist",
                "potential_loyalist",
                "champions",
                "champions",
            ],
            [
                "promising",
                "potential_loyalist",
                "potential_loyalist",
                "loyal",
                "loyal",
            ],
            [
                "about_to_sleep",
                "about_to_sleep",
                "need_attention",
                "loyal",
                "loyal",
            ],
            [
                "hibernating",
                "hibernating",
                "at_risk",
                "at_risk",
                "cannot_lose",
            ],
            ["lost", "hibernating", "at_risk", "at_risk", "cannot_lose"],
        ];
        for (row, names) in table.iter().enumerate() {
            for (col, name) in names.iter().enumerate() {
                assert_eq!(Segment::of(5 - row as u8, col as u8 + 1).name(), *name);
            }
        }
    }

    #[test]
    fn recent_frequent_big_spenders_are_champions() {
        let inputs: Vec<RfmInput> = (0..10)
            .map(|i| RfmInput {
                recency_days: 100.0 - 10.0 * f64::from(i),
                frequency: f64::from(i),
                monetary: 10.0 * f64::from(i),
            })
            .collect();
        let scores = score(&inputs).expect("finite");
        assert_eq!(scores[9].cell(), 555);
        assert_eq!(scores[9].segment, Segment::Champions);
        assert_eq!(scores[0].segment, Segment::Lost);
        assert_eq!(scores[0].total(), 3);
    }
}
