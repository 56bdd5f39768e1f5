//! One piece of feedback: where it came from, the metric it scores (if any), its text,
//! and what it concerns; the business's policy on negative feedback.
//!
//! The metrics and their scales: NPS 0–10 ("how likely are you to recommend us"; 9–10
//! promoters, 7–8 passives, 0–6 detractors, Reichheld 2003), CSAT 1–5 (4 and 5
//! satisfied), CES 1–7 ("the company made it easy to handle my request", 7 strongly
//! agree: higher is better, as in CES 2.0), and a product or custom rating 1–5.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::customers::snake_names;
use crate::sentiment::SentimentLabel;
use crate::validation::{FieldViolation, Violations};

/// Where a piece of feedback came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackSource {
    /// An answer to a survey invitation.
    Survey,
    /// The satisfaction survey of a resolved ticket.
    TicketSurvey,
    /// A review of a product, with a rating.
    Review,
    /// A customer's message in a conversation, marked as feedback.
    Message,
    /// A customer's message on a ticket, marked as feedback.
    TicketMessage,
    /// A note on the customer, marked as feedback.
    Note,
    /// What a customer said elsewhere (a call, a visit), written down by an agent.
    Other,
}

snake_names!(FeedbackSource {
    Survey => "survey",
    TicketSurvey => "ticket_survey",
    Review => "review",
    Message => "message",
    TicketMessage => "ticket_message",
    Note => "note",
    Other => "other",
});

/// What a score measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Net Promoter Score answer, 0–10.
    Nps,
    /// Satisfaction, 1–5.
    Csat,
    /// Customer effort, 1–7 (7: very easy).
    Ces,
    /// A product or custom rating, 1–5.
    Rating,
}

snake_names!(Metric {
    Nps => "nps",
    Csat => "csat",
    Ces => "ces",
    Rating => "rating",
});

impl Metric {
    /// The scores the metric's scale allows.
    pub fn scale(self) -> RangeInclusive<i32> {
        match self {
            Metric::Nps => 0..=10,
            Metric::Csat | Metric::Rating => 1..=5,
            Metric::Ces => 1..=7,
        }
    }

    /// Pushes `out_of_range` on `field` when `score` is off the scale.
    pub fn check(self, v: &mut Violations, field: &str, score: i32) {
        let scale = self.scale();
        if !scale.contains(&score) {
            v.push(
                field,
                "out_of_range",
                format!(
                    "a {} score must be between {} and {}",
                    self.as_str(),
                    scale.start(),
                    scale.end()
                ),
            );
        }
    }
}

/// Promoters answer 9 or 10, passives 7 or 8.
pub const NPS_PROMOTER: i32 = 9;
pub const NPS_PASSIVE: i32 = 7;
/// CSAT answers from 4 up count as satisfied.
pub const CSAT_SATISFIED: i32 = 4;

/// Most characters of a feedback text.
pub const MAX_TEXT_CHARS: usize = 5_000;

/// What negative feedback does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NegativeFeedbackAction {
    /// A follow-up task for the customer's owner (or the agent it concerns). On a
    /// ticket that is resolved or closed, the ticket is reopened instead.
    #[default]
    Task,
    /// Only the `feedback.negative` event and the mark on the feedback.
    None,
}

snake_names!(NegativeFeedbackAction {
    Task => "task",
    None => "none",
});

/// The business's rules for feedback (a business setting): what counts as negative,
/// what it does, and how often a customer may be asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FeedbackPolicy {
    /// NPS answers at or below it are negative (default 6: detractors).
    pub nps_negative_at_most: i32,
    /// CSAT answers at or below it are negative (default 2).
    pub csat_negative_at_most: i32,
    /// CES answers at or below it are negative (default 3).
    pub ces_negative_at_most: i32,
    /// Ratings at or below it are negative (default 2).
    pub rating_negative_at_most: i32,
    /// A text without a score is negative when its sentiment is negative with at
    /// least this confidence (0–1, default 0.5).
    pub sentiment_confidence: f64,
    pub action: NegativeFeedbackAction,
    /// Hours from the feedback to the follow-up task's due time (default 24).
    pub task_due_hours: i64,
    /// Days a customer is not sent another survey after one (default 30; 0: no limit).
    pub survey_throttle_days: i64,
}

impl Default for FeedbackPolicy {
    fn default() -> Self {
        FeedbackPolicy {
            nps_negative_at_most: 6,
            csat_negative_at_most: 2,
            ces_negative_at_most: 3,
            rating_negative_at_most: 2,
            sentiment_confidence: 0.5,
            action: NegativeFeedbackAction::Task,
            task_due_hours: 24,
            survey_throttle_days: 30,
        }
    }
}

/// Longest throttle and task delay a policy may set: a year.
const MAX_POLICY_DAYS: i64 = 366;

impl FeedbackPolicy {
    /// Violations of the policy, named under `field` (`feedback.csat_negative_at_most`).
    pub fn check(&self, v: &mut Violations, field: &str) {
        for (name, metric, value) in [
            (
                "nps_negative_at_most",
                Metric::Nps,
                self.nps_negative_at_most,
            ),
            (
                "csat_negative_at_most",
                Metric::Csat,
                self.csat_negative_at_most,
            ),
            (
                "ces_negative_at_most",
                Metric::Ces,
                self.ces_negative_at_most,
            ),
            (
                "rating_negative_at_most",
                Metric::Rating,
                self.rating_negative_at_most,
            ),
        ] {
            metric.check(v, &format!("{field}.{name}"), value);
        }
        if !(0.0..=1.0).contains(&self.sentiment_confidence) {
            v.push(
                format!("{field}.sentiment_confidence"),
                "out_of_range",
                "must be between 0 and 1",
            );
        }
        if !(0..=MAX_POLICY_DAYS * 24).contains(&self.task_due_hours) {
            v.push(
                format!("{field}.task_due_hours"),
                "out_of_range",
                format!("must be between 0 and {}", MAX_POLICY_DAYS * 24),
            );
        }
        if !(0..=MAX_POLICY_DAYS).contains(&self.survey_throttle_days) {
            v.push(
                format!("{field}.survey_throttle_days"),
                "out_of_range",
                format!("must be between 0 and {MAX_POLICY_DAYS}"),
            );
        }
    }

    /// The highest score of `metric` that is negative.
    pub fn negative_at_most(&self, metric: Metric) -> i32 {
        match metric {
            Metric::Nps => self.nps_negative_at_most,
            Metric::Csat => self.csat_negative_at_most,
            Metric::Ces => self.ces_negative_at_most,
            Metric::Rating => self.rating_negative_at_most,
        }
    }

    /// Whether feedback is negative: a score at or below the metric's bound; without a
    /// score, a text whose sentiment is negative with enough confidence.
    pub fn is_negative(
        &self,
        score: Option<(Metric, i32)>,
        sentiment: Option<(SentimentLabel, f64)>,
    ) -> bool {
        match score {
            Some((metric, score)) => score <= self.negative_at_most(metric),
            None => sentiment.is_some_and(|(label, confidence)| {
                label == SentimentLabel::Negative && confidence >= self.sentiment_confidence
            }),
        }
    }
}

/// A piece of feedback as a caller records it (`POST /feedback`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "source": "review",
    "customer_id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb",
    "product_id": "0193a4e2-7c1d-7b3e-9f10-ffffffffffff",
    "metric": "rating",
    "score": 2,
    "text": "بسته‌بندی خراب رسید و کیفیتش خوب نبود"
}))]
pub struct NewFeedbackInput {
    /// `review`, `message`, `ticket_message`, `note` or `other`; survey answers are
    /// recorded by the survey itself.
    pub source: FeedbackSource,
    /// Required for `review` and `other`; the source's customer otherwise.
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    /// The conversation message marked as feedback (`message`).
    #[serde(default)]
    pub message_id: Option<Uuid>,
    /// The ticket message marked as feedback (`ticket_message`).
    #[serde(default)]
    pub ticket_message_id: Option<Uuid>,
    /// The note marked as feedback (`note`).
    #[serde(default)]
    pub note_id: Option<Uuid>,
    /// With `score`: what it measures. A review's is `rating`.
    #[serde(default)]
    pub metric: Option<Metric>,
    #[serde(default)]
    pub score: Option<i32>,
    /// The words; a marked message, ticket message or note brings its own.
    #[serde(default)]
    pub text: Option<String>,
    /// The product it is about (required for a review).
    #[serde(default)]
    pub product_id: Option<Uuid>,
    /// The agent it is about.
    #[serde(default)]
    pub agent_id: Option<Uuid>,
    /// The ticket it is about; a ticket message's own ticket otherwise.
    #[serde(default)]
    pub ticket_id: Option<Uuid>,
    /// The channel it came by (`phone`, `visit`, `email`, …); a message's own otherwise.
    #[serde(default)]
    pub channel: Option<String>,
}

const MAX_CHANNEL_CHARS: usize = 40;

impl NewFeedbackInput {
    /// The input in its stored form, checked field by field: a source a caller may
    /// give, the references the source needs (and no others), a score on its metric's
    /// scale, a clean text.
    pub fn validated(mut self) -> Result<NewFeedbackInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        let needs = |v: &mut Violations, field: &str, present: bool, why: &str| {
            if !present {
                v.push(field, "required", why.to_string());
            }
        };
        let forbid = |v: &mut Violations, field: &str, present: bool, source: FeedbackSource| {
            if present {
                v.push(
                    field,
                    "not_allowed",
                    format!("is not taken with source `{}`", source.as_str()),
                );
            }
        };
        let source = self.source;
        match source {
            FeedbackSource::Survey | FeedbackSource::TicketSurvey => v.push(
                "source",
                "not_allowed",
                "survey answers are recorded by answering the survey",
            ),
            FeedbackSource::Review => {
                needs(
                    &mut v,
                    "customer_id",
                    self.customer_id.is_some(),
                    "a review needs its customer",
                );
                needs(
                    &mut v,
                    "product_id",
                    self.product_id.is_some(),
                    "a review needs its product",
                );
                needs(
                    &mut v,
                    "score",
                    self.score.is_some(),
                    "a review needs a rating",
                );
                if self.metric.is_some_and(|metric| metric != Metric::Rating) {
                    v.push("metric", "not_allowed", "a review's score is a `rating`");
                }
                self.metric = Some(Metric::Rating);
            }
            FeedbackSource::Other => {
                needs(
                    &mut v,
                    "customer_id",
                    self.customer_id.is_some(),
                    "feedback needs its customer",
                );
            }
            FeedbackSource::Message | FeedbackSource::TicketMessage | FeedbackSource::Note => {
                forbid(&mut v, "text", self.text.is_some(), source);
                forbid(&mut v, "customer_id", self.customer_id.is_some(), source);
            }
        }
        needs(
            &mut v,
            "message_id",
            self.message_id.is_some() || source != FeedbackSource::Message,
            "a marked message needs its id",
        );
        forbid(
            &mut v,
            "message_id",
            self.message_id.is_some() && source != FeedbackSource::Message,
            source,
        );
        needs(
            &mut v,
            "ticket_message_id",
            self.ticket_message_id.is_some() || source != FeedbackSource::TicketMessage,
            "a marked ticket message needs its id",
        );
        forbid(
            &mut v,
            "ticket_message_id",
            self.ticket_message_id.is_some() && source != FeedbackSource::TicketMessage,
            source,
        );
        needs(
            &mut v,
            "note_id",
            self.note_id.is_some() || source != FeedbackSource::Note,
            "a marked note needs its id",
        );
        forbid(
            &mut v,
            "note_id",
            self.note_id.is_some() && source != FeedbackSource::Note,
            source,
        );
        match (self.metric, self.score) {
            (Some(metric), Some(score)) => metric.check(&mut v, "score", score),
            (None, Some(_)) => v.push("metric", "required", "a score needs its metric"),
            // A review's missing rating is reported above.
            (Some(_), None) if source != FeedbackSource::Review => {
                v.push("score", "required", "a metric needs its score")
            }
            (Some(_), None) => {}
            (None, None) => {}
        }
        v.tidy_text("text", &mut self.text, MAX_TEXT_CHARS);
        if source == FeedbackSource::Other && self.text.is_none() && self.score.is_none() {
            v.push("text", "required", "feedback needs a text or a score");
        }
        v.tidy_text("channel", &mut self.channel, MAX_CHANNEL_CHARS);
        v.into_result().map(|()| self)
    }
}

/// Which NPS group an answer falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpsGroup {
    Promoter,
    Passive,
    Detractor,
}

pub fn nps_group(score: i32) -> NpsGroup {
    if score >= NPS_PROMOTER {
        NpsGroup::Promoter
    } else if score >= NPS_PASSIVE {
        NpsGroup::Passive
    } else {
        NpsGroup::Detractor
    }
}

/// The Net Promoter Score of a group of answers: % promoters − % detractors, in
/// [−100, 100]; `None` without answers.
pub fn net_promoter_score(promoters: i64, passives: i64, detractors: i64) -> Option<f64> {
    let n = promoters + passives + detractors;
    (n > 0).then(|| 100.0 * (promoters - detractors) as f64 / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(result: Result<NewFeedbackInput, Vec<FieldViolation>>) -> Vec<String> {
        result
            .expect_err("violations")
            .into_iter()
            .map(|v| format!("{}:{}", v.field, v.code))
            .collect()
    }

    fn input(source: FeedbackSource) -> NewFeedbackInput {
        NewFeedbackInput {
            source,
            customer_id: None,
            message_id: None,
            ticket_message_id: None,
            note_id: None,
            metric: None,
            score: None,
            text: None,
            product_id: None,
            agent_id: None,
            ticket_id: None,
            channel: None,
        }
    }

    #[test]
    fn nps_arithmetic_on_hand_made_answers() {
        // 10, 9, 9, 8, 7, 6, 3, 0, 10, 5: four promoters, two passives, four detractors.
        let answers = [10, 9, 9, 8, 7, 6, 3, 0, 10, 5];
        let (mut p, mut pa, mut d) = (0, 0, 0);
        for score in answers {
            match nps_group(score) {
                NpsGroup::Promoter => p += 1,
                NpsGroup::Passive => pa += 1,
                NpsGroup::Detractor => d += 1,
            }
        }
        assert_eq!((p, pa, d), (4, 2, 4));
        assert_eq!(net_promoter_score(p, pa, d), Some(0.0));
        assert_eq!(net_promoter_score(3, 1, 0), Some(75.0));
        assert_eq!(net_promoter_score(0, 0, 2), Some(-100.0));
        assert_eq!(net_promoter_score(0, 0, 0), None);
    }

    #[test]
    fn scales_and_negative_feedback() {
        let policy = FeedbackPolicy::default();
        assert!(policy.is_negative(Some((Metric::Nps, 6)), None));
        assert!(!policy.is_negative(Some((Metric::Nps, 7)), None));
        assert!(policy.is_negative(Some((Metric::Csat, 2)), None));
        assert!(!policy.is_negative(Some((Metric::Ces, 4)), None));
        // A score decides even when the words are unhappy.
        assert!(!policy.is_negative(
            Some((Metric::Rating, 5)),
            Some((SentimentLabel::Negative, 0.9))
        ));
        assert!(policy.is_negative(None, Some((SentimentLabel::Negative, 0.5))));
        assert!(!policy.is_negative(None, Some((SentimentLabel::Negative, 0.49))));
        assert!(!policy.is_negative(None, Some((SentimentLabel::Neutral, 1.0))));
        let mut v = Violations::default();
        FeedbackPolicy {
            csat_negative_at_most: 6,
            sentiment_confidence: 1.5,
            survey_throttle_days: -1,
            ..FeedbackPolicy::default()
        }
        .check(&mut v, "feedback");
        let fields: Vec<&str> = v.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "feedback.csat_negative_at_most",
                "feedback.sentiment_confidence",
                "feedback.survey_throttle_days"
            ]
        );
    }

    #[test]
    fn each_source_takes_its_own_references() {
        let customer = Some(Uuid::nil());
        let review = NewFeedbackInput {
            customer_id: customer,
            product_id: customer,
            score: Some(4),
            ..input(FeedbackSource::Review)
        }
        .validated()
        .expect("valid review");
        assert_eq!(review.metric, Some(Metric::Rating));
        assert_eq!(
            codes(input(FeedbackSource::Review).validated()),
            [
                "customer_id:required",
                "product_id:required",
                "score:required"
            ]
        );
        assert_eq!(
            codes(
                NewFeedbackInput {
                    text: Some("x".into()),
                    note_id: customer,
                    ..input(FeedbackSource::Message)
                }
                .validated()
            ),
            [
                "text:not_allowed",
                "message_id:required",
                "note_id:not_allowed"
            ]
        );
        assert_eq!(
            codes(
                NewFeedbackInput {
                    customer_id: customer,
                    metric: Some(Metric::Nps),
                    score: Some(11),
                    text: Some("bad\u{0}".into()),
                    ..input(FeedbackSource::Other)
                }
                .validated()
            )[..2],
            [
                "score:out_of_range".to_string(),
                "text:nul_character".to_string()
            ]
        );
        assert_eq!(
            codes(input(FeedbackSource::Survey).validated())[0],
            "source:not_allowed"
        );
    }
}
