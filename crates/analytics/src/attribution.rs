//! Multi-touch marketing attribution: how much of each conversion's revenue each
//! channel and campaign earned.
//!
//! For a path of n touchpoints ending in a conversion, the models give touchpoint i the
//! share w_i (Σ w_i = 1):
//! - first touch: w_1 = 1; last touch: w_n = 1; linear: w_i = 1/n;
//! - time decay: w_i ∝ 2^(−Δt_i / h), Δt_i the time from the touch to the conversion and
//!   h the half-life;
//! - position based: 40 % to the first and 40 % to the last touch, 20 % shared by the
//!   middle ones (n = 1: all to it; n = 2: half each).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::{AnalyticsError, Result};

/// One marketing touch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Touchpoint {
    pub channel: String,
    pub campaign: Option<String>,
    pub at: DateTime<Utc>,
}

/// Touchpoints in time order ending in a conversion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversionPath {
    pub touchpoints: Vec<Touchpoint>,
    pub converted_at: DateTime<Utc>,
    pub revenue: f64,
}

/// The attribution rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum AttributionModel {
    FirstTouch,
    LastTouch,
    Linear,
    TimeDecay { half_life: TimeDelta },
    PositionBased,
}

/// Credit earned by one channel or campaign.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Credit {
    /// Fractional conversions.
    pub conversions: f64,
    pub revenue: f64,
}

/// Credit per channel and per campaign (touches without a campaign count only for
/// their channel).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AttributionReport {
    pub by_channel: BTreeMap<String, Credit>,
    pub by_campaign: BTreeMap<String, Credit>,
    pub conversions: usize,
    pub revenue: f64,
    /// Paths without touchpoints (nothing to credit).
    pub paths_without_touchpoints: usize,
}

impl AttributionModel {
    /// Share of each touchpoint of a non-empty path.
    pub fn weights(&self, path: &ConversionPath) -> Vec<f64> {
        let n = path.touchpoints.len();
        let mut w = vec![0.0; n];
        match self {
            AttributionModel::FirstTouch => w[0] = 1.0,
            AttributionModel::LastTouch => w[n - 1] = 1.0,
            AttributionModel::Linear => w.iter_mut().for_each(|v| *v = 1.0 / n as f64),
            AttributionModel::TimeDecay { half_life } => {
                let h = half_life.num_milliseconds() as f64;
                let age =
                    |t: &Touchpoint| (path.converted_at - t.at).num_milliseconds().max(0) as f64;
                // Measured from the most recent touch, the largest weight is 1, so old
                // paths with a short half-life cannot underflow to 0 / 0.
                let newest = path
                    .touchpoints
                    .iter()
                    .map(age)
                    .fold(f64::INFINITY, f64::min);
                for (v, t) in w.iter_mut().zip(&path.touchpoints) {
                    *v = (-(age(t) - newest) / h).exp2();
                }
                let total: f64 = w.iter().sum();
                w.iter_mut().for_each(|v| *v /= total);
            }
            AttributionModel::PositionBased => match n {
                1 => w[0] = 1.0,
                2 => w.iter_mut().for_each(|v| *v = 0.5),
                _ => {
                    w.iter_mut().for_each(|v| *v = 0.2 / (n - 2) as f64);
                    w[0] = 0.4;
                    w[n - 1] = 0.4;
                }
            },
        }
        w
    }
}

impl AttributionReport {
    /// Adds `other`'s counts and credits to these, so that paths attributed a batch at a
    /// time sum to the report of them all (up to the rounding of floating-point sums).
    pub fn absorb(&mut self, other: AttributionReport) {
        let add = |into: &mut BTreeMap<String, Credit>, from: BTreeMap<String, Credit>| {
            for (key, credit) in from {
                let entry = into.entry(key).or_default();
                entry.conversions += credit.conversions;
                entry.revenue += credit.revenue;
            }
        };
        add(&mut self.by_channel, other.by_channel);
        add(&mut self.by_campaign, other.by_campaign);
        self.conversions += other.conversions;
        self.revenue += other.revenue;
        self.paths_without_touchpoints += other.paths_without_touchpoints;
    }
}

/// Attributes every path's conversion and revenue.
pub fn attribute(paths: &[ConversionPath], model: AttributionModel) -> Result<AttributionReport> {
    if let AttributionModel::TimeDecay { half_life } = model {
        if half_life <= TimeDelta::zero() {
            return Err(AnalyticsError::InvalidParameter {
                name: "half_life",
                reason: "must be positive".into(),
            });
        }
    }
    let mut report = AttributionReport::default();
    for (index, path) in paths.iter().enumerate() {
        if !(path.revenue.is_finite() && path.revenue >= 0.0) {
            return Err(AnalyticsError::InvalidInput {
                index,
                reason: format!("revenue {} must be a non-negative number", path.revenue),
            });
        }
        if path.touchpoints.is_empty() {
            report.paths_without_touchpoints += 1;
            continue;
        }
        report.conversions += 1;
        report.revenue += path.revenue;
        for (touch, share) in path.touchpoints.iter().zip(model.weights(path)) {
            let credit = |entry: &mut Credit| {
                entry.conversions += share;
                entry.revenue += share * path.revenue;
            };
            credit(report.by_channel.entry(touch.channel.clone()).or_default());
            if let Some(campaign) = &touch.campaign {
                credit(report.by_campaign.entry(campaign.clone()).or_default());
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path() -> ConversionPath {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        let touch = |channel: &str, days: i64| Touchpoint {
            channel: channel.into(),
            campaign: Some(format!("{channel}-spring")),
            at: t0 + TimeDelta::days(days),
        };
        ConversionPath {
            touchpoints: vec![
                touch("search", 0),
                touch("email", 7),
                touch("social", 8),
                touch("email", 14),
            ],
            converted_at: t0 + TimeDelta::days(14),
            revenue: 100.0,
        }
    }

    #[test]
    fn models_split_revenue_as_documented() {
        let paths = [path()];
        let credit = |model, channel: &str| {
            attribute(&paths, model).expect("valid").by_channel[channel].revenue
        };
        assert_eq!(credit(AttributionModel::FirstTouch, "search"), 100.0);
        assert_eq!(credit(AttributionModel::LastTouch, "email"), 100.0);
        assert_eq!(credit(AttributionModel::Linear, "email"), 50.0);
        assert!((credit(AttributionModel::PositionBased, "email") - 50.0).abs() < 1e-12);
        assert!((credit(AttributionModel::PositionBased, "social") - 10.0).abs() < 1e-12);
        // Half-life of 7 days: weights 1/4, 1/2, 2^(-6/7), 1.
        let decay = AttributionModel::TimeDecay {
            half_life: TimeDelta::days(7),
        };
        let total = 0.25 + 0.5 + (-6.0f64 / 7.0).exp2() + 1.0;
        assert!((credit(decay, "search") - 25.0 / total).abs() < 1e-9);
    }

    #[test]
    fn reports_of_batches_add_up_to_the_report_of_all_paths() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        let mut other = path();
        other.touchpoints.truncate(2);
        other.touchpoints[1].campaign = None;
        other.revenue = 40.0;
        let empty = ConversionPath {
            touchpoints: Vec::new(),
            converted_at: t0,
            revenue: 10.0,
        };
        let paths = [path(), other, empty];
        let model = AttributionModel::PositionBased;
        let whole = attribute(&paths, model).expect("valid");
        let mut summed = attribute(&paths[..1], model).expect("valid");
        summed.absorb(attribute(&paths[1..], model).expect("valid"));
        assert_eq!(summed.conversions, 2);
        assert_eq!(summed.paths_without_touchpoints, 1);
        assert_eq!(summed.revenue, 140.0);
        assert_eq!(
            summed.by_channel.keys().collect::<Vec<_>>(),
            whole.by_channel.keys().collect::<Vec<_>>()
        );
        for (key, credit) in &whole.by_channel {
            assert!((summed.by_channel[key].revenue - credit.revenue).abs() < 1e-9);
            assert!((summed.by_channel[key].conversions - credit.conversions).abs() < 1e-12);
        }
        // Search: 40 % of 100 and half of 40.
        assert!((summed.by_channel["search"].revenue - 60.0).abs() < 1e-9);
        assert_eq!(summed.by_campaign, whole.by_campaign);
        let mut none = AttributionReport::default();
        none.absorb(whole.clone());
        assert_eq!(none, whole);
    }
}
