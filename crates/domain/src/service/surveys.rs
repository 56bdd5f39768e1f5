//! Satisfaction surveys (V-6): after a ticket is resolved the customer gets a link
//! that asks one question; it can be answered once, with a rating from 1 to 5 and an
//! optional comment, until it expires. A rating at or below the threshold of the
//! ticket's SLA policy reopens the ticket or tells the team's managers.
//!
//! CSAT is the share of answers rated 4 or 5; the response rate is the share of
//! surveys sent that were answered.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customers::snake_names;
use crate::reports::round2;
use crate::validation::{FieldViolation, Violations};

/// Days a survey link stays valid after the ticket is resolved: long enough for a
/// customer who reads the message late in the week, short enough that an answer still
/// speaks of the same resolution.
pub const SURVEY_VALID_DAYS: i64 = 7;
pub const MIN_RATING: i32 = 1;
pub const MAX_RATING: i32 = 5;
/// Ratings from this one up count as satisfied.
pub const SATISFIED_RATING: i32 = 4;
const MAX_COMMENT_CHARS: usize = 2_000;

/// The question, as the customer reads it.
pub const QUESTION_FA: &str = "از رسیدگی به درخواست خود چقدر راضی هستید؟ (۱ تا ۵)";
pub const QUESTION_EN: &str = "How satisfied are you with how your request was handled? (1 to 5)";

/// The public path of a survey's link.
pub fn survey_path(token: &str) -> String {
    format!("/api/v1/surveys/{token}")
}

/// The automatic message a resolved ticket's conversation gets, with the link.
pub fn invitation(token: &str) -> String {
    let path = survey_path(token);
    format!(
        "نظرسنجی رضایت: {path}\nSatisfaction survey: {path} (valid for {SURVEY_VALID_DAYS} days)"
    )
}

/// What a low rating does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CsatAction {
    /// The ticket comes back as `reopened`.
    #[default]
    Reopen,
    /// The team's managers are told.
    Escalate,
}

snake_names!(CsatAction {
    Reopen => "reopen",
    Escalate => "escalate",
});

/// What a low rating did, kept on the survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SurveyFollowUp {
    Reopened,
    Escalated,
}

snake_names!(SurveyFollowUp {
    Reopened => "reopened",
    Escalated => "escalated",
});

impl CsatAction {
    pub fn follow_up(self) -> SurveyFollowUp {
        match self {
            CsatAction::Reopen => SurveyFollowUp::Reopened,
            CsatAction::Escalate => SurveyFollowUp::Escalated,
        }
    }
}

/// Checks an SLA policy's CSAT threshold: a rating from 1 to 5, or none.
pub fn check_threshold(v: &mut Violations, field: &str, threshold: Option<i32>) {
    if threshold.is_some_and(|t| !(MIN_RATING..=MAX_RATING).contains(&t)) {
        v.push(
            field,
            "out_of_range",
            format!("must be between {MIN_RATING} and {MAX_RATING}"),
        );
    }
}

/// Whether `rating` calls for the policy's action: at or below its threshold.
pub fn is_low(rating: i32, threshold: Option<i32>) -> bool {
    threshold.is_some_and(|threshold| rating <= threshold)
}

/// A customer's answer.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rating": 5, "comment": "خیلی سریع پاسخ دادید، ممنون"}))]
pub struct SurveyAnswer {
    /// From 1 (very unhappy) to 5 (very happy).
    pub rating: i32,
    /// At most 2,000 characters.
    #[serde(default)]
    pub comment: Option<String>,
}

impl SurveyAnswer {
    /// The answer in its stored form: the rating in range, the comment trimmed (blank
    /// made absent), not too long and free of control characters.
    pub fn validated(mut self) -> Result<SurveyAnswer, Vec<FieldViolation>> {
        let mut v = Violations::default();
        if !(MIN_RATING..=MAX_RATING).contains(&self.rating) {
            v.push(
                "rating",
                "out_of_range",
                format!("must be between {MIN_RATING} and {MAX_RATING}"),
            );
        }
        v.tidy_text("comment", &mut self.comment, MAX_COMMENT_CHARS);
        v.into_result().map(|()| self)
    }
}

/// The CSAT figures of a group of surveys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct CsatFigures {
    /// Surveys sent (tickets resolved with a survey).
    pub sent: i64,
    pub answered: i64,
    /// Mean rating of the answers; `None` without any.
    pub average_rating: Option<f64>,
    /// Share of the answers rated 4 or 5, in percent; `None` without answers.
    pub csat_percent: Option<f64>,
    /// Share of the surveys sent that were answered, in percent; `None` when none was
    /// sent.
    pub response_percent: Option<f64>,
}

impl CsatFigures {
    /// The figures from the database's counts: surveys `sent`, `answered`, the sum of
    /// their ratings and how many were rated 4 or 5.
    pub fn of(sent: i64, answered: i64, rating_sum: i64, satisfied: i64) -> CsatFigures {
        let share =
            |part: i64, whole: i64| (whole > 0).then(|| round2(100.0 * part as f64 / whole as f64));
        CsatFigures {
            sent,
            answered,
            average_rating: (answered > 0).then(|| round2(rating_sum as f64 / answered as f64)),
            csat_percent: share(satisfied, answered),
            response_percent: share(answered, sent),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_needs_a_rating_in_range_and_clean_text() {
        let answer = SurveyAnswer {
            rating: 6,
            comment: Some("bad\u{0}".into()),
        };
        let fields: Vec<String> = answer
            .validated()
            .expect_err("violations")
            .into_iter()
            .map(|v| format!("{}:{}", v.field, v.code))
            .collect();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0], "rating:out_of_range");
        assert!(fields[1].starts_with("comment:"));
        let ok = SurveyAnswer {
            rating: 1,
            comment: Some("   ".into()),
        }
        .validated()
        .expect("valid");
        assert_eq!(ok.comment, None);
        let long = SurveyAnswer {
            rating: 3,
            comment: Some("a".repeat(2_001)),
        };
        assert_eq!(long.validated().expect_err("too long")[0].code, "too_long");
    }

    #[test]
    fn low_ratings_and_figures() {
        assert!(is_low(2, Some(2)));
        assert!(!is_low(3, Some(2)));
        assert!(!is_low(1, None));
        // 4 sent, 3 answered (5, 4, 1): mean 3.33, two of three satisfied.
        let figures = CsatFigures::of(4, 3, 10, 2);
        assert_eq!(figures.average_rating, Some(3.33));
        assert_eq!(figures.csat_percent, Some(66.67));
        assert_eq!(figures.response_percent, Some(75.0));
        assert_eq!(CsatFigures::of(0, 0, 0, 0).response_percent, None);
    }
}
