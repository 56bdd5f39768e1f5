//! Canned answers (V-4): question-and-answer templates agents answer tickets with, and
//! the similarity that suggests them for a customer's text.
//!
//! **Templates.** An answer may hold variables written `{{customer.name}}` (spaces inside
//! the braces are allowed, `{{ customer.name }}`); the names are [`VARIABLES`]. `{{`
//! always opens a variable and `}}` always closes one, so an answer cannot hold them as
//! literal text; single braces are plain text. A written answer is parsed when it is
//! saved: an unknown name is `unknown_variable`, anything else that is not a variable
//! between the braces (an unclosed `{{`, a stray `}}`, `{{}}`, `{{نام}}`) is
//! `invalid_template`. Rendering fills each variable from a map of values; **a variable
//! without a value renders as empty text**, so an agent who lacks a customer's name gets
//! "سلام ، …" rather than a refusal, and sees the gap before sending.
//!
//! The parser is written here rather than taken from a template engine: an engine such
//! as minijinja brings loops, conditions, filters and escaping an agent's text must not
//! have, and its syntax errors would have to be mapped back onto these two rules anyway.
//!
//! **Similarity.** [`rank`] is Okapi BM25 (k1 = 1.2, b = 0.75) over [`tokens`]: text
//! normalised by [`crate::persian::normalize_text`] (Arabic and Persian letters, digits
//! and half-spaces unified, lower case), split at every character that is not a letter
//! or a digit, without [`STOPWORDS`]. A word written with a half-space ("می‌خواهم") is one
//! token, the same as the word written without one. An answer's document is its titles
//! and question, each token counting 1, and its answer texts without their variables,
//! each token counting [`ANSWER_WEIGHT`]: the question is what a customer's text is
//! compared with, the answer only adds its words at half weight. The inverse document
//! frequency is Lucene's `ln(1 + (N − n + 0.5) / (n + 0.5))`, which, unlike the original
//! `ln((N − n + 0.5) / (n + 0.5))`, is never negative: a word in more than half of the
//! answers, common in a small library, still counts a little for an answer that has it
//! instead of counting against it. A query word counts once however often it is
//! repeated.
//!
//! BM25 is written out here (a few lines) rather than taken from the `bm25` crate,
//! though that one takes a custom tokeniser: it embeds each document's text as whole
//! counts, so a word of the answer cannot count half; it hashes words into 32-bit ids
//! (two words can collide) and scores in `f32`; and it has a fork (`bm-25`) by another
//! maintainer, so which of the two is kept up is not settled.
//!
//! The library is bounded ([`MAX_ACTIVE`]), so scoring every active answer per request
//! costs at most that many documents.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::persian::{normalize_text, search_key};
use crate::text::TextKind;
use crate::validation::{FieldViolation, Violations};

/// Most active answers a business may keep: suggestions score every active answer, so
/// this bounds their cost.
pub const MAX_ACTIVE: i64 = 5_000;

const MAX_TITLE_CHARS: usize = 200;
const MAX_QUESTION_CHARS: usize = 2_000;
const MAX_ANSWER_CHARS: usize = 5_000;
const MAX_CATEGORY_CHARS: usize = 50;
/// Longest text a suggestion is asked for (a ticket's messages together).
const MAX_SUGGEST_CHARS: usize = 20_000;
const MAX_VALUE_CHARS: usize = 200;

/// Most suggestions one request may ask for, and how many it gets unless it says.
pub const MAX_SUGGESTIONS: usize = 20;
pub const DEFAULT_SUGGESTIONS: usize = 5;

/// The variables an answer may hold.
pub const VARIABLES: [&str; 6] = [
    "customer.name",
    "customer.first_name",
    "customer.last_name",
    "order.number",
    "ticket.number",
    "agent.name",
];

/// A canned answer as a client writes it; also the document a merge patch applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title_fa": "زمان ارسال سفارش",
    "title_en": "Shipping time",
    "question": "سفارشم کی می‌رسد؟",
    "answer_fa": "{{customer.name}} عزیز، سفارش {{order.number}} ظرف دو روز کاری ارسال می‌شود.",
    "answer_en": "Dear {{customer.name}}, order {{order.number}} ships within two business days.",
    "category": "ارسال",
    "active": true
}))]
pub struct CannedAnswerInput {
    /// Persian title (at most 200 characters).
    pub title_fa: String,
    pub title_en: Option<String>,
    /// The customer question the answer answers (at most 2000 characters); suggestions
    /// compare a customer's text with it.
    pub question: String,
    /// Persian answer (at most 5000 characters), with variables such as
    /// `{{customer.name}}`, `{{customer.first_name}}`, `{{customer.last_name}}`,
    /// `{{order.number}}`, `{{ticket.number}}` and `{{agent.name}}`.
    pub answer_fa: String,
    /// English answer, with the same variables.
    pub answer_en: Option<String>,
    /// A label to group and filter answers by, e.g. "ارسال" or "shipping" (at most 50
    /// characters).
    pub category: Option<String>,
    /// Inactive answers are never suggested.
    #[serde(default = "active_default")]
    pub active: bool,
}

fn active_default() -> bool {
    true
}

impl CannedAnswerInput {
    /// Every field in its stored form, or every rule broken: lengths, forbidden
    /// characters, blank required texts, and the answers' templates.
    pub fn validated(mut self) -> Result<CannedAnswerInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        v.required_line("title_fa", &mut self.title_fa, MAX_TITLE_CHARS);
        v.tidy_line("title_en", &mut self.title_en, MAX_TITLE_CHARS);
        required_text(&mut v, "question", &mut self.question, MAX_QUESTION_CHARS);
        if required_text(&mut v, "answer_fa", &mut self.answer_fa, MAX_ANSWER_CHARS) {
            check_template(&mut v, "answer_fa", &self.answer_fa);
        }
        let before = v.0.len();
        v.tidy_text("answer_en", &mut self.answer_en, MAX_ANSWER_CHARS);
        if let (Some(answer), true) = (&self.answer_en, v.0.len() == before) {
            check_template(&mut v, "answer_en", answer);
        }
        v.tidy_line("category", &mut self.category, MAX_CATEGORY_CHARS);
        v.into_result().map(|()| self)
    }

    /// The texts suggestions and quick search look at.
    pub fn text(&self) -> AnswerText<'_> {
        AnswerText {
            title_fa: &self.title_fa,
            title_en: self.title_en.as_deref(),
            question: &self.question,
            answer_fa: &self.answer_fa,
            answer_en: self.answer_en.as_deref(),
        }
    }
}

/// Multi-line required text, trimmed; answers whether it passed.
fn required_text(v: &mut Violations, field: &str, value: &mut String, max: usize) -> bool {
    let before = v.0.len();
    let mut tidy = Some(std::mem::take(value));
    v.tidy_text(field, &mut tidy, max);
    match tidy {
        Some(text) => *value = text,
        None => v.push(field, "required", "must not be blank"),
    }
    v.0.len() == before
}

fn check_template(v: &mut Violations, field: &str, text: &str) {
    if let Err(error) = Template::parse(text) {
        v.0.push(error.at(field));
    }
}

/// The texts of an answer that matching and quick search read.
#[derive(Debug, Clone, Copy)]
pub struct AnswerText<'a> {
    pub title_fa: &'a str,
    pub title_en: Option<&'a str>,
    pub question: &'a str,
    pub answer_fa: &'a str,
    pub answer_en: Option<&'a str>,
}

impl AnswerText<'_> {
    /// Titles, question and answers, each reduced by [`search_key`], for quick search
    /// (`q`: each term a substring of it).
    pub fn search_text(&self) -> String {
        [
            Some(self.title_fa),
            self.title_en,
            Some(self.question),
            Some(self.answer_fa),
            self.answer_en,
        ]
        .into_iter()
        .flatten()
        .map(search_key)
        .filter(|key| !key.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
    }

    /// The answer as a document for [`rank`]: titles and question at full weight, the
    /// answers' words (variables left out) at [`ANSWER_WEIGHT`].
    pub fn document(&self) -> Document {
        let mut document = Document::default();
        for text in [Some(self.title_fa), self.title_en, Some(self.question)]
            .into_iter()
            .flatten()
        {
            document.add(text, 1.0);
        }
        for answer in [Some(self.answer_fa), self.answer_en].into_iter().flatten() {
            match Template::parse(answer) {
                Ok(template) => document.add(&template.literal_text(), ANSWER_WEIGHT),
                Err(_) => document.add(answer, ANSWER_WEIGHT),
            }
        }
        document
    }
}

/// Why a template is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// Braces that do not enclose a variable name.
    Invalid(String),
    /// A well-formed name that is not one of [`VARIABLES`].
    UnknownVariable(String),
}

impl TemplateError {
    /// The violation on `field`, with its rule code.
    pub fn at(&self, field: &str) -> FieldViolation {
        match self {
            TemplateError::Invalid(message) => {
                FieldViolation::new(field, "invalid_template", message.clone())
            }
            TemplateError::UnknownVariable(name) => FieldViolation::new(
                field,
                "unknown_variable",
                format!(
                    "`{{{{{name}}}}}` is not a variable; the variables are {}",
                    VARIABLES.join(", ")
                ),
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment<'a> {
    Text(&'a str),
    Variable(&'a str),
}

/// A parsed answer: literal text and variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template<'a> {
    segments: Vec<Segment<'a>>,
}

impl<'a> Template<'a> {
    /// Parses `text`; the first problem found is the error.
    pub fn parse(text: &'a str) -> Result<Template<'a>, TemplateError> {
        let mut segments = Vec::new();
        let mut rest = text;
        loop {
            match (rest.find("{{"), rest.find("}}")) {
                (None, None) => {
                    if !rest.is_empty() {
                        segments.push(Segment::Text(rest));
                    }
                    return Ok(Template { segments });
                }
                (Some(open), close) if close.is_none_or(|close| close > open) => {
                    if open > 0 {
                        segments.push(Segment::Text(&rest[..open]));
                    }
                    let inside = &rest[open + 2..];
                    let Some(close) = inside.find("}}") else {
                        return Err(TemplateError::Invalid(
                            "`{{` without a closing `}}`".to_string(),
                        ));
                    };
                    let name = inside[..close].trim();
                    if !is_name(name) {
                        return Err(TemplateError::Invalid(format!(
                            "`{{{{{name}}}}}` is not a variable name such as `customer.name`"
                        )));
                    }
                    if !VARIABLES.contains(&name) {
                        return Err(TemplateError::UnknownVariable(name.to_string()));
                    }
                    segments.push(Segment::Variable(name));
                    rest = &inside[close + 2..];
                }
                // A `}}` before any `{{`.
                _ => {
                    return Err(TemplateError::Invalid(
                        "`}}` without an opening `{{`".to_string(),
                    ));
                }
            }
        }
    }

    /// The text with every variable replaced by its value in `values`; a variable
    /// without a value becomes empty text.
    pub fn render(&self, values: &BTreeMap<String, String>) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(text) => out.push_str(text),
                Segment::Variable(name) => {
                    out.push_str(values.get(*name).map(String::as_str).unwrap_or(""))
                }
            }
        }
        out
    }

    /// The variables the text uses.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Variable(name) => Some(*name),
            Segment::Text(_) => None,
        })
    }

    /// The literal text alone, variables left out (with a space where they were, so
    /// words on either side stay apart).
    fn literal_text(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(text) => out.push_str(text),
                Segment::Variable(_) => out.push(' '),
            }
        }
        out
    }
}

/// `customer.name`: ASCII letters, digits and `_` in parts separated by dots.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            part.starts_with(|c: char| c.is_ascii_alphabetic())
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// The language of the answer to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AnswerLang {
    Fa,
    En,
}

/// What to render an answer with.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "lang": "fa",
    "variables": {"customer.name": "سارا کریمی", "order.number": "SO-1405-000042"}
}))]
pub struct RenderInput {
    /// The answer's language; the request's `Accept-Language` when left out. An answer
    /// without English text renders in Persian.
    pub lang: Option<AnswerLang>,
    /// A value per variable name, e.g. `{"customer.name": "سارا کریمی"}` (at most 200
    /// characters, one line, each); a variable without a value renders as empty text.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

impl RenderInput {
    /// Checks every value's name and text.
    pub fn validated(self) -> Result<RenderInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        for (name, value) in &self.variables {
            let field = format!("variables.{name}");
            if !VARIABLES.contains(&name.as_str()) {
                v.0.push(TemplateError::UnknownVariable(name.clone()).at(&field));
            } else if v.check_text(field.clone(), value, TextKind::SingleLine)
                && value.chars().count() > MAX_VALUE_CHARS
            {
                v.push(
                    field,
                    "too_long",
                    format!("must be at most {MAX_VALUE_CHARS} characters"),
                );
            }
        }
        v.into_result().map(|()| self)
    }
}

/// A text to find answers for.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "سلام، سفارشم هنوز نرسیده. كي ارسال ميشه؟", "limit": 5}))]
pub struct SuggestInput {
    /// The customer's words, e.g. a ticket's messages together (at most 20000
    /// characters).
    pub text: String,
    /// How many answers at most (1 to 20; 5 when left out).
    pub limit: Option<usize>,
}

impl SuggestInput {
    /// The text trimmed and the limit; or the rules broken.
    pub fn validated(self) -> Result<(String, usize), Vec<FieldViolation>> {
        let mut v = Violations::default();
        let mut text = self.text;
        required_text(&mut v, "text", &mut text, MAX_SUGGEST_CHARS);
        let limit = self.limit.unwrap_or(DEFAULT_SUGGESTIONS);
        if !(1..=MAX_SUGGESTIONS).contains(&limit) {
            v.push(
                "limit",
                "out_of_range",
                format!("must be 1 to {MAX_SUGGESTIONS}"),
            );
        }
        v.into_result().map(|()| (text, limit))
    }
}

/// Words too common to tell answers apart, in their [`normalize_text`] form.
pub const STOPWORDS: &[&str] = &[
    // Persian
    "و", "در", "به", "از", "که", "این", "آن", "را", "با", "است", "برای", "یک", "هم", "تا", "می",
    "ها", "های", "یا", "شد", "شده", "ما", "من", "شما", "او", "ای", "هست", "بود", "چه", "اما",
    "اگر", "هر", "بر", "آیا", "سلام", "لطفا", // English
    "a", "an", "the", "to", "of", "is", "are", "was", "were", "be", "in", "on", "at", "for", "and",
    "or", "it", "i", "my", "me", "you", "your", "we", "our", "this", "that", "with", "by", "from",
    "do", "does", "did", "can", "have", "has", "will", "how", "what", "when", "please", "hi",
    "hello",
];

/// The tokens of `text` for [`rank`]: normalised, split at everything that is not a
/// letter or a digit, stopwords left out. A half-space joins the word it is in.
pub fn tokens(text: &str) -> Vec<String> {
    normalize_text(&text.replace('\u{200C}', ""))
        .split(|c: char| !c.is_alphanumeric())
        .filter(|token| !token.is_empty() && !STOPWORDS.contains(token))
        .map(str::to_string)
        .collect()
}

/// BM25's term-frequency saturation.
pub const K1: f64 = 1.2;
/// BM25's length normalisation.
pub const B: f64 = 0.75;
/// What a word of an answer text counts against one of a title or the question.
pub const ANSWER_WEIGHT: f64 = 0.5;

/// Weighted term counts of one document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    terms: HashMap<String, f64>,
    length: f64,
}

impl Document {
    /// Adds the [`tokens`] of `text`, each counting `weight`.
    pub fn add(&mut self, text: &str, weight: f64) {
        for token in tokens(text) {
            *self.terms.entry(token).or_default() += weight;
            self.length += weight;
        }
    }
}

/// The documents similar to `query`: `(index, score)` of each with a positive BM25
/// score, best first (ties in index order).
pub fn rank(query: &str, documents: &[Document]) -> Vec<(usize, f64)> {
    let mut terms = tokens(query);
    terms.sort_unstable();
    terms.dedup();
    if terms.is_empty() || documents.is_empty() {
        return Vec::new();
    }
    let n = documents.len() as f64;
    let average_length = documents.iter().map(|d| d.length).sum::<f64>() / n;
    let weighted: Vec<(&String, f64)> = terms
        .iter()
        .map(|term| {
            let containing = documents
                .iter()
                .filter(|d| d.terms.contains_key(term))
                .count() as f64;
            (term, ((n - containing + 0.5) / (containing + 0.5)).ln_1p())
        })
        .collect();
    let mut ranked: Vec<(usize, f64)> = documents
        .iter()
        .enumerate()
        .filter_map(|(index, document)| {
            let relative_length = if average_length > 0.0 {
                document.length / average_length
            } else {
                1.0
            };
            let norm = K1 * (1.0 - B + B * relative_length);
            let score: f64 = weighted
                .iter()
                .map(|(term, idf)| {
                    let frequency = document.terms.get(*term).copied().unwrap_or(0.0);
                    idf * frequency * (K1 + 1.0) / (frequency + norm)
                })
                .sum();
            (score > 0.0).then_some((index, score))
        })
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> CannedAnswerInput {
        CannedAnswerInput {
            title_fa: "  زمان   ارسال ".to_string(),
            title_en: Some("Shipping time".to_string()),
            question: " سفارشم کی می‌رسد؟ ".to_string(),
            answer_fa: "{{customer.name}} عزیز، سفارش {{ order.number }} ارسال شد.".to_string(),
            answer_en: None,
            category: Some("ارسال".to_string()),
            active: true,
        }
    }

    fn codes(result: Result<CannedAnswerInput, Vec<FieldViolation>>) -> Vec<(String, String)> {
        result
            .expect_err("violations")
            .into_iter()
            .map(|v| (v.field, v.code))
            .collect()
    }

    fn pair(field: &str, code: &str) -> (String, String) {
        (field.to_string(), code.to_string())
    }

    #[test]
    fn a_valid_answer_is_tidied() {
        let answer = input().validated().expect("valid");
        assert_eq!(answer.title_fa, "زمان ارسال");
        assert_eq!(answer.question, "سفارشم کی می‌رسد؟");
    }

    #[test]
    fn blank_long_and_control_texts_are_refused_by_field() {
        let mut answer = input();
        answer.title_fa = " ".to_string();
        answer.question = "x".repeat(MAX_QUESTION_CHARS + 1);
        answer.answer_fa = "سلام\u{0}".to_string();
        answer.answer_en = Some("line\u{7}".to_string());
        answer.category = Some("a\nb".to_string());
        assert_eq!(
            codes(answer.validated()),
            [
                pair("title_fa", "required"),
                pair("question", "too_long"),
                pair("answer_fa", "nul_character"),
                pair("answer_en", "control_character"),
                pair("category", "line_break"),
            ]
        );
    }

    #[test]
    fn unknown_variables_and_broken_braces_are_refused() {
        let mut answer = input();
        answer.answer_fa = "سلام {{customer.phone}}".to_string();
        answer.answer_en = Some("Hello {{customer.name".to_string());
        assert_eq!(
            codes(answer.validated()),
            [
                pair("answer_fa", "unknown_variable"),
                pair("answer_en", "invalid_template")
            ]
        );
        for broken in [
            "a }} b",
            "{{}}",
            "{{ }}",
            "{{نام}}",
            "{{customer name}}",
            "{{customer..name}}",
            "{{{customer.name}}}",
            "{{customer.name}} }}",
        ] {
            assert!(
                matches!(Template::parse(broken), Err(TemplateError::Invalid(_))),
                "{broken}"
            );
        }
        assert_eq!(
            Template::parse("{{ name }}"),
            Err(TemplateError::UnknownVariable("name".to_string()))
        );
    }

    #[test]
    fn templates_render_with_missing_values_empty() {
        let template =
            Template::parse("{{customer.first_name}} عزیز، سفارش {{ order.number }} {ارسال} شد")
                .expect("template");
        let values = BTreeMap::from([("order.number".to_string(), "SO-42".to_string())]);
        assert_eq!(template.render(&values), " عزیز، سفارش SO-42 {ارسال} شد");
        let values = BTreeMap::from([
            ("customer.first_name".to_string(), "سارا".to_string()),
            ("order.number".to_string(), "SO-42".to_string()),
        ]);
        assert_eq!(
            template.render(&values),
            "سارا عزیز، سفارش SO-42 {ارسال} شد"
        );
        assert_eq!(
            Template::parse("").expect("empty").render(&values),
            String::new()
        );
        assert_eq!(
            Template::parse("{{agent.name}}{{agent.name}}")
                .expect("template")
                .render(&BTreeMap::from([(
                    "agent.name".to_string(),
                    "رضا".to_string()
                )])),
            "رضارضا"
        );
    }

    #[test]
    fn render_values_are_checked() {
        let input = RenderInput {
            lang: None,
            variables: BTreeMap::from([
                ("customer.name".to_string(), "x".repeat(MAX_VALUE_CHARS + 1)),
                ("order.number".to_string(), "SO\n42".to_string()),
                ("customer.phone".to_string(), "0912".to_string()),
            ]),
        };
        let codes: Vec<(String, String)> = input
            .validated()
            .expect_err("violations")
            .into_iter()
            .map(|v| (v.field, v.code))
            .collect();
        assert_eq!(
            codes,
            [
                pair("variables.customer.name", "too_long"),
                pair("variables.customer.phone", "unknown_variable"),
                pair("variables.order.number", "line_break"),
            ]
        );
    }

    #[test]
    fn suggestion_requests_are_checked() {
        let request = |text: &str, limit| SuggestInput {
            text: text.to_string(),
            limit,
        };
        assert_eq!(
            request(" سفارش ", None).validated(),
            Ok(("سفارش".to_string(), DEFAULT_SUGGESTIONS))
        );
        let codes: Vec<(String, String)> = request("  ", Some(0))
            .validated()
            .expect_err("violations")
            .into_iter()
            .map(|v| (v.field, v.code))
            .collect();
        assert_eq!(
            codes,
            [pair("text", "required"), pair("limit", "out_of_range")]
        );
    }

    #[test]
    fn tokens_unify_persian_variants_and_drop_stopwords() {
        // Arabic yeh and kaf, a half-space or none, Persian digits.
        assert_eq!(tokens("مي‌خواهم"), tokens("میخواهم"));
        assert_eq!(tokens("مي‌خواهم"), ["میخواهم"]);
        assert_eq!(tokens("كيف"), tokens("کیف"));
        assert_eq!(tokens("سفارش ۱۲۳"), ["سفارش", "123"]);
        assert_eq!(tokens("سفارشِ"), ["سفارش"]);
        // Punctuation separates words; stopwords and case go.
        assert_eq!(
            tokens("سلام، سفارش من از تهران به شیراز؟The Order!"),
            ["سفارش", "تهران", "شیراز", "order"]
        );
        for stopword in STOPWORDS {
            assert_eq!(normalize_text(stopword), *stopword, "{stopword}");
        }
    }

    fn document(text: &str) -> Document {
        let mut document = Document::default();
        document.add(text, 1.0);
        document
    }

    #[test]
    fn bm25_scores_match_the_formula() {
        // N = 3 documents of lengths 3, 2 and 3 (average 8/3).
        // idf(order) = ln(1 + (3 − 2 + 0.5)/(2 + 0.5)) = ln 1.6 (in two documents),
        // idf(reset) = ln(1 + (3 − 1 + 0.5)/(1 + 0.5)) = ln(8/3) (in one).
        // The length norm of a 3-token document is 1.2·(0.25 + 0.75·3/(8/3)) = 1.3125, of
        // a 2-token one 1.2·(0.25 + 0.75·2/(8/3)) = 0.975; each term adds
        // idf·f·2.2/(f + norm). The same in Python:
        //   from math import log
        //   log(1.6)*2.2/1.975              # 0.523548346501579 (refund order)
        //   log(8/3)*2*2.2/(2+1.3125)       # 1.3028373473967083 (password reset reset)
        //   log(1.6)*2.2/(1+1.3125)         # 0.44713858782297017 (order shipping time)
        let documents = [
            document("order shipping time"),
            document("refund order"),
            document("password reset reset"),
        ];
        let ranked = rank("How do I reset my order? order", &documents);
        let expected = [
            (2, (8.0f64 / 3.0).ln() * 2.0 * 2.2 / 3.3125),
            (1, 1.6f64.ln() * 2.2 / 1.975),
            (0, 1.6f64.ln() * 2.2 / 2.3125),
        ];
        assert_eq!(ranked.len(), 3);
        for ((index, score), (expected_index, expected_score)) in ranked.iter().zip(expected) {
            assert_eq!(*index, expected_index);
            assert!(
                (score - expected_score).abs() < 1e-9,
                "{score} {expected_score}"
            );
        }
        assert!((ranked[0].1 - 1.3028373473967083).abs() < 1e-9);
        assert!((ranked[1].1 - 0.523548346501579).abs() < 1e-9);
        assert!((ranked[2].1 - 0.44713858782297017).abs() < 1e-9);
    }

    #[test]
    fn only_positive_scores_are_ranked() {
        let documents = [document("refund order"), document("password reset")];
        assert_eq!(rank("invoice", &documents), []);
        assert_eq!(rank("the a of", &documents), []);
        assert_eq!(rank("refund", &[]), []);
        assert_eq!(
            rank("reset", &documents)
                .iter()
                .map(|(index, _)| *index)
                .collect::<Vec<_>>(),
            [1]
        );
    }

    #[test]
    fn answer_words_count_half() {
        // One document of the title "x" and the answer "y z": length 1 + 0.5 + 0.5 = 2
        // and f(y) = 0.5; alone in the corpus, idf(y) = ln(1 + 0.5/1.5) = ln(4/3) and the
        // norm is 1.2 (its length is the average), so the score is ln(4/3)·0.5·2.2/1.7.
        let text = AnswerText {
            title_fa: "x",
            title_en: None,
            question: "",
            answer_fa: "{{customer.name}} y z",
            answer_en: None,
        };
        let ranked = rank("y", &[text.document()]);
        let expected = (4.0f64 / 3.0).ln() * 0.5 * 2.2 / 1.7;
        assert_eq!(ranked.len(), 1);
        assert!((ranked[0].1 - expected).abs() < 1e-9);
        // Variables are not words of the answer.
        assert_eq!(rank("customer name", &[text.document()]), []);
    }

    #[test]
    fn a_persian_question_finds_its_answer_however_it_is_typed() {
        let answers = [
            AnswerText {
                title_fa: "زمان ارسال سفارش",
                title_en: Some("Shipping time"),
                question: "سفارشم کی ارسال می‌شود؟ کی به دستم می‌رسد؟",
                answer_fa: "سفارش شما ظرف دو روز کاری ارسال می‌شود.",
                answer_en: Some("Your order ships within two business days."),
            },
            AnswerText {
                title_fa: "بازگرداندن کالا",
                title_en: Some("Returns"),
                question: "چطور کالا را پس بدهم و پولم را بگیرم؟",
                answer_fa: "تا هفت روز پس از تحویل می‌توانید کالا را بازگردانید.",
                answer_en: Some("You can return an item within seven days of delivery."),
            },
            AnswerText {
                title_fa: "فراموشی رمز عبور",
                title_en: Some("Forgotten password"),
                question: "رمز عبورم را فراموش کرده‌ام",
                answer_fa: "از صفحهٔ ورود، «فراموشی رمز» را بزنید.",
                answer_en: None,
            },
        ];
        let documents: Vec<Document> = answers.iter().map(AnswerText::document).collect();
        // Arabic yeh and kaf, no half-spaces.
        let ranked = rank("سلام، سفارشم كي ارسال ميشود؟", &documents);
        assert_eq!(ranked[0].0, 0, "{ranked:?}");
        let ranked = rank("I forgot my password", &documents);
        assert_eq!(ranked[0].0, 2, "{ranked:?}");
        let ranked = rank("how can I return an item", &documents);
        assert_eq!(ranked[0].0, 1, "{ranked:?}");
    }

    #[test]
    fn search_text_holds_every_text_reduced() {
        let answer = input().validated().expect("valid");
        let text = answer.text().search_text();
        assert!(text.contains("زمانارسال"), "{text}");
        assert!(text.contains("shippingtime"), "{text}");
        assert!(text.contains("سفارشمکیمیرسد"), "{text}");
    }
}
