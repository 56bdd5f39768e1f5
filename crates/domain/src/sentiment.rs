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

/// A customer's sentiment is the mean score of their inbound messages of this many days:
/// recent enough to be how they feel now, long enough to hold a few messages.
pub const CUSTOMER_WINDOW_DAYS: i64 = 90;

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
