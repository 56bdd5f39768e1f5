//! The shapes of the feedback reports: what they measure, what they group by, and the
//! figures of one group, each with its count and, where the count allows, a 95 %
//! confidence interval, so that a figure from few answers is seen as such.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entries::{net_promoter_score, Metric, CSAT_SATISFIED, NPS_PASSIVE, NPS_PROMOTER};
use crate::customers::snake_names;
use crate::reports::round2;

/// What a feedback report measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportMetric {
    /// % promoters − % detractors of the NPS answers.
    Nps,
    /// % of CSAT answers rated 4 or 5.
    Csat,
    /// Mean CES answer (1–7).
    Ces,
    /// Mean rating (1–5).
    Rating,
    /// Mean sentiment score of feedback texts (−1 to 1).
    Sentiment,
}

snake_names!(ReportMetric {
    Nps => "nps",
    Csat => "csat",
    Ces => "ces",
    Rating => "rating",
    Sentiment => "sentiment",
});

impl ReportMetric {
    /// The scored metric it reads; `None` for sentiment.
    pub fn metric(self) -> Option<Metric> {
        match self {
            ReportMetric::Nps => Some(Metric::Nps),
            ReportMetric::Csat => Some(Metric::Csat),
            ReportMetric::Ces => Some(Metric::Ces),
            ReportMetric::Rating => Some(Metric::Rating),
            ReportMetric::Sentiment => None,
        }
    }

    /// The scores counted as the top group (promoters, satisfied) and up to which as
    /// the bottom group (detractors).
    pub fn bands(self) -> (i32, i32) {
        match self {
            ReportMetric::Nps => (NPS_PROMOTER, NPS_PASSIVE - 1),
            ReportMetric::Csat => (CSAT_SATISFIED, 2),
            ReportMetric::Ces => (5, 3),
            ReportMetric::Rating => (4, 2),
            ReportMetric::Sentiment => (0, 0),
        }
    }
}

/// What a feedback report groups by besides the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackGrouping {
    /// The agent the feedback concerns.
    Agent,
    Team,
    Product,
    Channel,
    Source,
    /// The customers' current segments (a customer in two segments counts in both).
    Segment,
}

/// A 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// The figures of one period or group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct FeedbackFigures {
    /// Answers (texts, for sentiment) counted.
    pub answers: i64,
    /// NPS (−100 to 100), CSAT % (0–100), the mean CES or rating, or the mean
    /// sentiment; `None` without answers.
    pub value: Option<f64>,
    /// The 95 % confidence interval of `value`; `None` when the answers are too few
    /// to say (fewer than two for a mean).
    pub interval: Option<Interval>,
    /// NPS: answers of 9–10; CSAT: of 4–5; CES: of 5–7; rating: of 4–5; sentiment:
    /// positive texts.
    pub top: i64,
    /// NPS: answers of 0–6; CSAT: of 1–2; CES: of 1–3; rating: of 1–2; sentiment:
    /// negative texts.
    pub bottom: i64,
}

/// The figure a report shows for `metric` from the sums of its answers, to two
/// decimals: the NPS, the CSAT %, or the mean; `None` without answers.
pub fn metric_value(
    metric: ReportMetric,
    answers: i64,
    top: i64,
    bottom: i64,
    sum: f64,
) -> Option<f64> {
    if answers <= 0 {
        return None;
    }
    let value = match metric {
        ReportMetric::Nps => net_promoter_score(top, answers - top - bottom, bottom)?,
        ReportMetric::Csat => 100.0 * top as f64 / answers as f64,
        ReportMetric::Ces | ReportMetric::Rating | ReportMetric::Sentiment => sum / answers as f64,
    };
    Some(round2(value))
}
