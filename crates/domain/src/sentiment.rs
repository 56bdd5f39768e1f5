//! The sentiment of customer text (F-2) as it is stored and served: the label
//! `analytics::sentiment` gives a text, and the window of a customer's sentiment.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customers::snake_names;

/// The class of a text's sentiment.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SentimentLabel {
    /// A complaint or dissatisfaction.
    Negative,
    /// A question, request or statement without a stance.
    Neutral,
    /// Praise, thanks or satisfaction.
    Positive,
}

snake_names!(SentimentLabel {
    Negative => "negative",
    Neutral => "neutral",
    Positive => "positive",
});

/// A customer's sentiment is the mean score of the texts they wrote in this many days —
/// inbound messages and feedback: recent enough to be how they feel now, long enough to
/// hold a few texts.
pub const CUSTOMER_WINDOW_DAYS: i64 = 90;

/// Scores (and means of scores) at or beyond ±this are positive or negative.
pub const LABEL_THRESHOLD: f64 = 0.1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for label in SentimentLabel::ALL {
            assert_eq!(SentimentLabel::parse(label.as_str()), Some(*label));
        }
        assert_eq!(SentimentLabel::parse("happy"), None);
    }
}
