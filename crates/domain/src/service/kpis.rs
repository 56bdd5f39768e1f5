//! Service KPIs (V-5): the arithmetic of the service report. Durations (to the first
//! response, to resolution) are summarised by their mean and nearest-rank percentiles;
//! the application measures each ticket in business and calendar minutes.

use serde::Serialize;
use utoipa::ToSchema;

use crate::reports::round2;

/// The most durations one summary holds: each is kept and sorted exactly, so memory
/// stays bounded (8 MB a summary) and a range holding more tickets is refused.
pub const MAX_DURATIONS: usize = 1_000_000;

/// The `q`-th (0 < q ≤ 1) nearest-rank percentile of `sorted` (ascending): the
/// smallest value with at least `q` of the values at or below it. `None` when empty.
pub fn percentile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Mean, median and 90th percentile of durations in minutes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct DurationSummary {
    /// Mean, two decimals; `None` without durations.
    pub average: Option<f64>,
    pub p50: Option<i64>,
    pub p90: Option<i64>,
}

impl DurationSummary {
    /// The summary of `values` (sorted in place).
    pub fn of(values: &mut [i64]) -> DurationSummary {
        values.sort_unstable();
        let sum: i128 = values.iter().map(|v| i128::from(*v)).sum();
        DurationSummary {
            average: (!values.is_empty()).then(|| round2(sum as f64 / values.len() as f64)),
            p50: percentile(values, 0.5),
            p90: percentile(values, 0.9),
        }
    }
}

/// A duration measured both ways, over the tickets that have it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct DurationFigures {
    /// Tickets measured.
    pub tickets: i64,
    /// Working minutes of the business calendar (hours, weekends, holidays).
    pub business_minutes: DurationSummary,
    /// Wall-clock minutes.
    pub calendar_minutes: DurationSummary,
}

/// `part / whole` in percent, two decimals; `None` when `whole` is not positive.
pub fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| round2(100.0 * part as f64 / whole as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut values = vec![90, 10, 40, 20, 30, 50, 60, 70, 80, 100];
        let summary = DurationSummary::of(&mut values);
        assert_eq!(summary.p50, Some(50));
        assert_eq!(summary.p90, Some(90));
        assert_eq!(summary.average, Some(55.0));
        assert_eq!(percentile(&[7], 0.9), Some(7));
        assert_eq!(percentile(&[1, 2, 3], 0.5), Some(2));
        assert_eq!(DurationSummary::of(&mut []), DurationSummary::default());
        assert_eq!(percent(1, 3), Some(33.33));
        assert_eq!(percent(1, 0), None);
    }
}
