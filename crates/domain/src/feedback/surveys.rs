//! Survey definitions (F-1, F-3) and the answers a customer gives through a survey's
//! link: questions of the NPS, CSAT, CES and rating scales, free text, a SERVQUAL
//! battery (desired, adequate and perceived levels per item) and the expectation
//! factors, each with Persian and optional English wording.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entries::{Metric, MAX_TEXT_CHARS};
use super::servqual::{
    check_factor, Dimension, ExpectationFactor, ItemAnswer, StandardItem, STANDARD_ITEMS,
};
use crate::customers::snake_names;
use crate::validation::{FieldViolation, Violations};

/// What a question asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// 0–10, how likely the customer is to recommend the business.
    Nps,
    /// 1–5 satisfaction.
    Csat,
    /// 1–7, how easy the business made it.
    Ces,
    /// 1–5, a custom rating.
    Rating,
    /// Free text.
    Text,
    /// SERVQUAL items, each answered on the desired, adequate and perceived scales.
    Servqual,
    /// How much each expectation factor shaped the customer's expectations, 1–7.
    ExpectationFactors,
}

snake_names!(QuestionKind {
    Nps => "nps",
    Csat => "csat",
    Ces => "ces",
    Rating => "rating",
    Text => "text",
    Servqual => "servqual",
    ExpectationFactors => "expectation_factors",
});

impl QuestionKind {
    /// The metric a scored question's answers count for.
    pub fn metric(self) -> Option<Metric> {
        match self {
            QuestionKind::Nps => Some(Metric::Nps),
            QuestionKind::Csat => Some(Metric::Csat),
            QuestionKind::Ces => Some(Metric::Ces),
            QuestionKind::Rating => Some(Metric::Rating),
            _ => None,
        }
    }
}

/// One SERVQUAL item of a survey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServqualItem {
    /// Unique within the question: `[a-z0-9_]`, at most 40 characters.
    pub key: String,
    pub dimension: Dimension,
    pub text_fa: String,
    #[serde(default)]
    pub text_en: Option<String>,
}

impl From<&StandardItem> for ServqualItem {
    fn from(item: &StandardItem) -> Self {
        ServqualItem {
            key: item.key.to_string(),
            dimension: item.dimension,
            text_fa: item.fa.to_string(),
            text_en: Some(item.en.to_string()),
        }
    }
}

/// The 22 items of the standard SERVQUAL instrument, the template a survey's
/// `servqual` question starts from.
pub fn standard_items() -> Vec<ServqualItem> {
    STANDARD_ITEMS.iter().map(ServqualItem::from).collect()
}

/// One question of a survey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyQuestion {
    /// Unique within the survey: `[a-z0-9_]`, at most 40 characters; answers name it.
    pub key: String,
    pub kind: QuestionKind,
    pub text_fa: String,
    #[serde(default)]
    pub text_en: Option<String>,
    /// Whether an answer must give it (default false).
    #[serde(default)]
    pub required: bool,
    /// A `servqual` question's items; the standard 22 when absent.
    #[serde(default)]
    pub items: Option<Vec<ServqualItem>>,
}

/// A survey as written by the business.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "NPS پس از خرید",
    "questions": [
        {"key": "recommend", "kind": "nps", "required": true,
         "text_fa": "چقدر احتمال دارد ما را به دوستانتان پیشنهاد کنید؟",
         "text_en": "How likely are you to recommend us to a friend?"},
        {"key": "why", "kind": "text", "text_fa": "چرا؟", "text_en": "Why?"}
    ],
    "valid_days": 14
}))]
pub struct SurveyInput {
    /// Unique among surveys.
    pub name: String,
    /// 1 to 30 questions.
    pub questions: Vec<SurveyQuestion>,
    #[serde(default = "active_by_default")]
    pub active: bool,
    /// Days an invitation's link can be answered (1–90, default 14).
    #[serde(default = "default_valid_days")]
    pub valid_days: i32,
}

fn active_by_default() -> bool {
    true
}

fn default_valid_days() -> i32 {
    DEFAULT_VALID_DAYS
}

pub const DEFAULT_VALID_DAYS: i32 = 14;
const MAX_VALID_DAYS: i32 = 90;
const MAX_QUESTIONS: usize = 30;
const MAX_ITEMS: usize = 60;
const MAX_NAME_CHARS: usize = 200;
const MAX_QUESTION_CHARS: usize = 1_000;
const MAX_KEY_CHARS: usize = 40;

fn check_key(v: &mut Violations, field: &str, key: &str) {
    let well_formed = !key.is_empty()
        && key.len() <= MAX_KEY_CHARS
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !well_formed {
        v.push(
            field,
            "invalid_format",
            format!("must be 1 to {MAX_KEY_CHARS} of a-z, 0-9 and _"),
        );
    }
}

fn check_wording(v: &mut Violations, field: &str, fa: &mut String, en: &mut Option<String>) {
    let mut text = Some(std::mem::take(fa));
    v.tidy_text(&format!("{field}.text_fa"), &mut text, MAX_QUESTION_CHARS);
    match text {
        Some(text) => *fa = text,
        None => v.push(format!("{field}.text_fa"), "required", "must not be blank"),
    }
    v.tidy_text(&format!("{field}.text_en"), en, MAX_QUESTION_CHARS);
}

impl SurveyInput {
    /// The survey in its stored form: a name, 1–30 questions with unique well-formed
    /// keys and non-blank Persian wording, a `servqual` question's items filled in from
    /// the standard 22 when absent, at most one question of each SERVQUAL kind.
    pub fn validated(mut self) -> Result<SurveyInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        let mut name = Some(std::mem::take(&mut self.name));
        v.tidy_text("name", &mut name, MAX_NAME_CHARS);
        match name {
            Some(name) => self.name = name,
            None => v.push("name", "required", "must not be blank"),
        }
        if self.questions.is_empty() || self.questions.len() > MAX_QUESTIONS {
            v.push(
                "questions",
                "out_of_range",
                format!("a survey has 1 to {MAX_QUESTIONS} questions"),
            );
        }
        if !(1..=MAX_VALID_DAYS).contains(&self.valid_days) {
            v.push(
                "valid_days",
                "out_of_range",
                format!("must be between 1 and {MAX_VALID_DAYS}"),
            );
        }
        let mut keys = HashSet::new();
        let mut batteries = HashSet::new();
        for (index, question) in self.questions.iter_mut().enumerate() {
            let field = format!("questions[{index}]");
            check_key(&mut v, &format!("{field}.key"), &question.key);
            if !keys.insert(question.key.clone()) {
                v.push(
                    format!("{field}.key"),
                    "duplicate",
                    "another question has this key",
                );
            }
            check_wording(&mut v, &field, &mut question.text_fa, &mut question.text_en);
            let battery = matches!(
                question.kind,
                QuestionKind::Servqual | QuestionKind::ExpectationFactors
            );
            if battery && !batteries.insert(question.kind) {
                v.push(
                    format!("{field}.kind"),
                    "duplicate",
                    format!("a survey has one `{}` question", question.kind.as_str()),
                );
            }
            match (question.kind, question.items.as_mut()) {
                (QuestionKind::Servqual, None) => question.items = Some(standard_items()),
                (QuestionKind::Servqual, Some(items)) => {
                    if items.is_empty() || items.len() > MAX_ITEMS {
                        v.push(
                            format!("{field}.items"),
                            "out_of_range",
                            format!("a SERVQUAL question has 1 to {MAX_ITEMS} items"),
                        );
                    }
                    let mut item_keys = HashSet::new();
                    for (i, item) in items.iter_mut().enumerate() {
                        let item_field = format!("{field}.items[{i}]");
                        check_key(&mut v, &format!("{item_field}.key"), &item.key);
                        if !item_keys.insert(item.key.clone()) {
                            v.push(
                                format!("{item_field}.key"),
                                "duplicate",
                                "another item has this key",
                            );
                        }
                        check_wording(&mut v, &item_field, &mut item.text_fa, &mut item.text_en);
                    }
                }
                (_, Some(_)) => v.push(
                    format!("{field}.items"),
                    "not_allowed",
                    "only a `servqual` question has items",
                ),
                (_, None) => {}
            }
        }
        v.into_result().map(|()| self)
    }
}

/// A customer's answers, by question key (`POST /survey-links/{token}`).
///
/// The value of an answer: a whole number on the question's scale (`nps`, `csat`,
/// `ces`, `rating`), a string (`text`), for `servqual` an object of items each with
/// `desired`, `adequate` and `perceived` (1–9), for `expectation_factors` an object of
/// factors each rated 1–7.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"answers": {"recommend": 9, "why": "پشتیبانی سریع و محترمانه"}}))]
pub struct SurveyResponseInput {
    #[schema(value_type = Object)]
    pub answers: BTreeMap<String, serde_json::Value>,
}

/// One answered SERVQUAL item.
#[derive(Debug, Clone, PartialEq)]
pub struct AnsweredItem {
    pub key: String,
    pub dimension: Dimension,
    pub answer: ItemAnswer,
}

/// One question's answer, checked against the question.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Score(Metric, i32),
    Text(String),
    Servqual(Vec<AnsweredItem>),
    Factors(Vec<(ExpectationFactor, i32)>),
}

/// The answers of `input` checked against `questions`: each key a question, each
/// value of the question's kind and on its scale, every required question answered,
/// a SERVQUAL item answered on all three scales. Violations name `answers.<key>` and
/// below.
pub fn check_answers(
    questions: &[SurveyQuestion],
    input: SurveyResponseInput,
) -> Result<Vec<(String, Answer)>, Vec<FieldViolation>> {
    let mut v = Violations::default();
    let mut answers = Vec::new();
    for key in input.answers.keys() {
        if !questions.iter().any(|question| &question.key == key) {
            v.push(
                format!("answers.{key}"),
                "unknown_question",
                "the survey has no such question",
            );
        }
    }
    let mut given = input.answers;
    for question in questions {
        let field = format!("answers.{}", question.key);
        let Some(value) = given.remove(&question.key).filter(|value| !value.is_null()) else {
            if question.required {
                v.push(field, "required", "this question must be answered");
            }
            continue;
        };
        if let Some(metric) = question.kind.metric() {
            match value.as_i64().and_then(|n| i32::try_from(n).ok()) {
                Some(score) => {
                    let before = v.0.len();
                    metric.check(&mut v, &field, score);
                    if v.0.len() == before {
                        answers.push((question.key.clone(), Answer::Score(metric, score)));
                    }
                }
                None => v.push(field, "invalid_type", "must be a whole number"),
            }
            continue;
        }
        match question.kind {
            QuestionKind::Text => match value {
                serde_json::Value::String(text) => {
                    let mut text = Some(text);
                    v.tidy_text(&field, &mut text, MAX_TEXT_CHARS);
                    if let Some(text) = text {
                        answers.push((question.key.clone(), Answer::Text(text)));
                    } else if question.required {
                        v.push(field, "required", "this question must be answered");
                    }
                }
                _ => v.push(field, "invalid_type", "must be a string"),
            },
            QuestionKind::Servqual => {
                let items = question.items.as_deref().unwrap_or_default();
                match serde_json::from_value::<BTreeMap<String, ItemAnswer>>(value) {
                    Ok(given_items) => {
                        let mut answered = Vec::new();
                        for (key, answer) in given_items {
                            let item_field = format!("{field}.{key}");
                            match items.iter().find(|item| item.key == key) {
                                Some(item) => {
                                    let before = v.0.len();
                                    answer.check(&mut v, &item_field);
                                    if v.0.len() == before {
                                        answered.push(AnsweredItem {
                                            key,
                                            dimension: item.dimension,
                                            answer,
                                        });
                                    }
                                }
                                None => v.push(
                                    item_field,
                                    "unknown_item",
                                    "the question has no such item",
                                ),
                            }
                        }
                        if question.required && answered.len() < items.len() {
                            v.push(field, "incomplete", "every item must be answered");
                        }
                        if !answered.is_empty() {
                            answers.push((question.key.clone(), Answer::Servqual(answered)));
                        }
                    }
                    Err(_) => v.push(
                        field,
                        "invalid_type",
                        "must map item keys to {desired, adequate, perceived} whole numbers",
                    ),
                }
            }
            QuestionKind::ExpectationFactors => {
                match serde_json::from_value::<BTreeMap<String, i64>>(value) {
                    Ok(ratings) => {
                        let mut rated = Vec::new();
                        for (name, rating) in ratings {
                            let factor_field = format!("{field}.{name}");
                            let Some(factor) = ExpectationFactor::parse(&name) else {
                                v.push(
                                    factor_field,
                                    "unknown_factor",
                                    format!(
                                        "must be one of {}",
                                        ExpectationFactor::NAMES.join(", ")
                                    ),
                                );
                                continue;
                            };
                            let rating = i32::try_from(rating).unwrap_or(i32::MAX);
                            let before = v.0.len();
                            check_factor(&mut v, &factor_field, rating);
                            if v.0.len() == before {
                                rated.push((factor, rating));
                            }
                        }
                        if !rated.is_empty() {
                            answers.push((question.key.clone(), Answer::Factors(rated)));
                        } else if question.required {
                            v.push(field, "required", "this question must be answered");
                        }
                    }
                    Err(_) => v.push(field, "invalid_type", "must map factors to whole numbers"),
                }
            }
            _ => {}
        }
    }
    if answers.is_empty() && v.is_empty() {
        v.push("answers", "required", "answer at least one question");
    }
    v.into_result().map(|()| answers)
}

/// Most customers one invitation request names.
pub const MAX_INVITEES: usize = 500;

/// Most members of a segment one invitation request reaches: every invitation, and
/// its message, is written in the request's one transaction.
pub const MAX_SEGMENT_INVITEES: usize = 5_000;

/// Customers to send a survey to (`POST /feedback-surveys/{id}/invitations`).
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "customer_ids": ["0193a4e2-7c1d-7b3e-9f10-666666666666"],
    "channel_account_id": "0193a4e2-7c1d-7b3e-9f10-888888888888"
}))]
pub struct InviteInput {
    /// 1 to 500 customers, each once; or, instead, `segment_id`.
    #[serde(default)]
    pub customer_ids: Vec<uuid::Uuid>,
    /// Every current member of this segment the caller sees (at most 5,000), in
    /// customer-id order; instead of `customer_ids`.
    #[serde(default)]
    pub segment_id: Option<uuid::Uuid>,
    /// The channel account that sends each customer the link in a message; without
    /// one, the links are only returned, for the caller to hand out.
    #[serde(default)]
    pub channel_account_id: Option<uuid::Uuid>,
    /// What the answers concern, kept with them: a product, an agent, a ticket.
    #[serde(default)]
    pub product_id: Option<uuid::Uuid>,
    #[serde(default)]
    pub agent_id: Option<uuid::Uuid>,
    #[serde(default)]
    pub ticket_id: Option<uuid::Uuid>,
}

impl InviteInput {
    pub fn validated(self) -> Result<InviteInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        if self.segment_id.is_some() {
            if !self.customer_ids.is_empty() {
                v.push(
                    "segment_id",
                    "exclusive",
                    "give customer_ids or segment_id, not both",
                );
            }
            return v.into_result().map(|()| self);
        }
        if self.customer_ids.is_empty() || self.customer_ids.len() > MAX_INVITEES {
            v.push(
                "customer_ids",
                "out_of_range",
                format!("name 1 to {MAX_INVITEES} customers"),
            );
        }
        let unique: HashSet<_> = self.customer_ids.iter().collect();
        if unique.len() != self.customer_ids.len() {
            v.push("customer_ids", "duplicate", "name each customer once");
        }
        v.into_result().map(|()| self)
    }
}

/// Why a one-use survey link — a feedback survey's invitation or a ticket's
/// satisfaction survey — no longer opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedLink {
    Answered,
    Expired,
}

impl ClosedLink {
    /// `None` while the link is open: not yet answered, and `now` before it expires.
    pub fn of(answered: bool, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<Self> {
        if answered {
            Some(ClosedLink::Answered)
        } else if expires_at <= now {
            Some(ClosedLink::Expired)
        } else {
            None
        }
    }

    /// What the customer is told.
    pub fn message(self) -> &'static str {
        match self {
            ClosedLink::Answered => "this survey was already answered",
            ClosedLink::Expired => "this survey has expired",
        }
    }
}

/// The public path of an invitation's link.
pub fn link_path(token: &str) -> String {
    format!("/api/v1/survey-links/{token}")
}

/// The message that carries an invitation's link.
pub fn invitation_text(survey_name: &str, token: &str, valid_days: i32) -> String {
    let path = link_path(token);
    format!(
        "{survey_name}\nلطفاً در نظرسنجی ما شرکت کنید: {path}\nPlease take our survey: {path} (valid for {valid_days} days)"
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn invite(body: serde_json::Value) -> Result<InviteInput, Vec<String>> {
        serde_json::from_value::<InviteInput>(body)
            .expect("shape")
            .validated()
            .map_err(|violations| {
                violations
                    .into_iter()
                    .map(|v| format!("{}:{}", v.field, v.code))
                    .collect()
            })
    }

    #[test]
    fn an_invitation_names_customers_or_a_segment() {
        let one = uuid::Uuid::from_u128(1);
        let segment = uuid::Uuid::from_u128(9);
        assert!(invite(json!({"customer_ids": [one]})).is_ok());
        assert!(invite(json!({"segment_id": segment})).is_ok());
        assert_eq!(
            invite(json!({"customer_ids": [one], "segment_id": segment})),
            Err(vec!["segment_id:exclusive".to_string()])
        );
        assert_eq!(
            invite(json!({})),
            Err(vec!["customer_ids:out_of_range".to_string()])
        );
        assert_eq!(
            invite(json!({"customer_ids": [one, one]})),
            Err(vec!["customer_ids:duplicate".to_string()])
        );
        let many: Vec<uuid::Uuid> = (0..=MAX_INVITEES as u128)
            .map(uuid::Uuid::from_u128)
            .collect();
        assert_eq!(
            invite(json!({"customer_ids": many})),
            Err(vec!["customer_ids:out_of_range".to_string()])
        );
    }

    #[test]
    fn a_link_is_open_until_answered_or_expired() {
        let now = chrono::Utc::now();
        let later = now + chrono::Duration::hours(1);
        assert_eq!(ClosedLink::of(false, later, now), None);
        assert_eq!(ClosedLink::of(false, now, now), Some(ClosedLink::Expired));
        assert_eq!(ClosedLink::of(true, later, now), Some(ClosedLink::Answered));
    }

    fn survey() -> SurveyInput {
        serde_json::from_value(json!({
            "name": "  پس از خرید ",
            "questions": [
                {"key": "recommend", "kind": "nps", "required": true, "text_fa": "پیشنهاد؟"},
                {"key": "effort", "kind": "ces", "text_fa": "آسان بود؟"},
                {"key": "why", "kind": "text", "text_fa": "چرا؟"},
                {"key": "quality", "kind": "servqual", "text_fa": "کیفیت خدمت"},
                {"key": "factors", "kind": "expectation_factors", "text_fa": "عوامل"}
            ]
        }))
        .expect("parses")
    }

    fn answer(value: serde_json::Value) -> SurveyResponseInput {
        serde_json::from_value(json!({ "answers": value })).expect("parses")
    }

    #[test]
    fn a_survey_is_checked_and_gets_the_standard_items() {
        let stored = survey().validated().expect("valid");
        assert_eq!(stored.name, "پس از خرید");
        assert_eq!(stored.valid_days, DEFAULT_VALID_DAYS);
        assert_eq!(stored.questions[3].items.as_ref().map(Vec::len), Some(22));
        let mut bad = survey();
        bad.questions[1].key = "Recommend!".into();
        bad.questions[2].key = "recommend".into();
        bad.questions[2].text_fa = "  ".into();
        bad.questions[0].items = Some(Vec::new());
        bad.valid_days = 0;
        let fields: Vec<String> = bad
            .validated()
            .expect_err("invalid")
            .into_iter()
            .map(|v| format!("{}:{}", v.field, v.code))
            .collect();
        assert_eq!(
            fields,
            [
                "valid_days:out_of_range",
                "questions[0].items:not_allowed",
                "questions[1].key:invalid_format",
                "questions[2].key:duplicate",
                "questions[2].text_fa:required",
            ]
        );
    }

    #[test]
    fn answers_are_checked_against_the_questions() {
        let questions = survey().validated().expect("valid").questions;
        let answers = check_answers(
            &questions,
            answer(json!({
                "recommend": 9,
                "why": " خوب بود ",
                "quality": {"tangibles_1": {"desired": 8, "adequate": 5, "perceived": 6}},
                "factors": {"price": 6, "word_of_mouth": 2}
            })),
        )
        .expect("valid");
        assert_eq!(
            answers[0],
            ("recommend".into(), Answer::Score(Metric::Nps, 9))
        );
        assert_eq!(answers[1], ("why".into(), Answer::Text("خوب بود".into())));
        assert!(
            matches!(&answers[2].1, Answer::Servqual(items) if items.len() == 1
            && items[0].dimension == Dimension::Tangibles)
        );
        assert!(matches!(&answers[3].1, Answer::Factors(f) if f.len() == 2));
        let fields: Vec<String> = check_answers(
            &questions,
            answer(json!({
                "effort": 8,
                "why": 3,
                "extra": 1,
                "quality": {"nope": {"desired": 1, "adequate": 1, "perceived": 1},
                            "tangibles_1": {"desired": 10, "adequate": 5, "perceived": 6}},
                "factors": {"luck": 3, "price": 0}
            })),
        )
        .expect_err("invalid")
        .into_iter()
        .map(|v| format!("{}:{}", v.field, v.code))
        .collect();
        assert_eq!(
            fields,
            [
                "answers.extra:unknown_question",
                "answers.recommend:required",
                "answers.effort:out_of_range",
                "answers.why:invalid_type",
                "answers.quality.nope:unknown_item",
                "answers.quality.tangibles_1.desired:out_of_range",
                "answers.factors.luck:unknown_factor",
                "answers.factors.price:out_of_range",
            ]
        );
        assert_eq!(
            check_answers(&questions[1..], answer(json!({}))).expect_err("empty")[0].field,
            "answers"
        );
    }
}
