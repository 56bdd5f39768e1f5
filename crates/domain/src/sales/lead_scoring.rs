//! Lead scoring (S-2): rules that give a lead points when it meets a condition, and the
//! facts a conversion-propensity model describes a lead by.
//!
//! A rule's condition is a filter tree over the lead search catalogue; it is checked
//! against the catalogue by the application (which knows the catalogue and the business
//! calendar) and stored as written, so relative dates ("created this week") resolve
//! whenever the rule is evaluated.
//!
//! The propensity features are built from what every lead has, whatever its outcome:
//! where it came from (one-hot of the most frequent sources, provinces and campaigns,
//! the rest in an "other" bucket; a lead without one has none of them set), which
//! details are known (company, job title, e-mail, phone) and on how many channels it
//! can be reached. Nothing that is only known after the outcome (status, conversion,
//! the reason of a disqualification) is a feature.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{FieldViolation, Violations};

/// Most rules a business may keep: each is one statement per recount and one query per
/// lead write.
pub const MAX_RULES: i64 = 200;

/// Points a rule may give (or take, when negative).
pub const POINTS: std::ops::RangeInclusive<i64> = -1_000..=1_000;

const MAX_NAME_CHARS: usize = 100;

/// A scoring rule as a client writes it; also the document a merge patch applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "معرفی‌شده از تهران",
    "condition": {"and": [
        {"field": "source", "op": "eq", "value": "referral"},
        {"field": "province", "op": "eq", "value": "تهران"}
    ]},
    "points": 25,
    "active": true
}))]
pub struct LeadScoringRuleInput {
    pub name: String,
    /// A filter tree over the lead search fields (as in `POST /leads/search`), e.g.
    /// `{"field": "source", "op": "eq", "value": "referral"}`. Relative dates resolve
    /// whenever the rule is evaluated.
    #[schema(value_type = Object)]
    pub condition: serde_json::Value,
    /// Added to the score of every lead meeting the condition (−1000 to 1000).
    pub points: i64,
    /// Inactive rules give no points.
    #[serde(default = "active_default")]
    pub active: bool,
}

fn active_default() -> bool {
    true
}

impl LeadScoringRuleInput {
    /// Checks the name and points; the condition is checked against the catalogue by
    /// the caller.
    pub fn validated(mut self) -> Result<LeadScoringRuleInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        v.required_line("name", &mut self.name, MAX_NAME_CHARS);
        if !POINTS.contains(&self.points) {
            v.push(
                "points",
                "out_of_range",
                format!("must be {} to {}", POINTS.start(), POINTS.end()),
            );
        }
        v.into_result().map(|()| self)
    }
}

/// What a propensity model knows of a lead.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadFacts {
    pub source: Option<String>,
    pub province: Option<String>,
    pub campaign: Option<String>,
    pub has_company: bool,
    pub has_job_title: bool,
    pub phones: usize,
    pub emails: usize,
}

/// The categorical facts one-hot encoded, in feature order.
pub const CATEGORIES: [&str; 3] = ["source", "province", "campaign"];

/// The feature of a category value outside the most frequent ones.
pub const OTHER: &str = "(other)";

/// The one-hot values of one categorical fact: its most frequent values, the rest
/// "other".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vocabulary {
    pub values: Vec<String>,
}

impl Vocabulary {
    /// The `top` most frequent values of `counts` (ties by value, so it is
    /// reproducible).
    pub fn most_frequent(counts: &HashMap<String, i64>, top: usize) -> Vocabulary {
        let mut values: Vec<(&String, i64)> = counts.iter().map(|(v, n)| (v, *n)).collect();
        values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        Vocabulary {
            values: values
                .into_iter()
                .take(top)
                .map(|(value, _)| value.clone())
                .collect(),
        }
    }
}

/// The features of a propensity model: the vocabulary of each categorical fact (in
/// [`CATEGORIES`] order) and the flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpace {
    pub source: Vocabulary,
    pub province: Vocabulary,
    pub campaign: Vocabulary,
}

/// The flag and count features after the one-hot ones.
pub const FLAGS: [&str; 5] = [
    "has_company",
    "has_job_title",
    "has_email",
    "has_phone",
    "contact_channels",
];

impl FeatureSpace {
    fn vocabularies(&self) -> [(&'static str, &Vocabulary); 3] {
        [
            (CATEGORIES[0], &self.source),
            (CATEGORIES[1], &self.province),
            (CATEGORIES[2], &self.campaign),
        ]
    }

    /// Feature names, e.g. `source=referral`, `source=(other)`, `has_email`.
    pub fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for (category, vocabulary) in self.vocabularies() {
            for value in &vocabulary.values {
                names.push(format!("{category}={value}"));
            }
            names.push(format!("{category}={OTHER}"));
        }
        names.extend(FLAGS.iter().map(|flag| flag.to_string()));
        names
    }

    /// The feature values of a lead, in the order of [`FeatureSpace::names`].
    pub fn encode(&self, lead: &LeadFacts) -> Vec<f64> {
        let mut row = Vec::with_capacity(self.width());
        for ((_, vocabulary), value) in
            self.vocabularies()
                .into_iter()
                .zip([&lead.source, &lead.province, &lead.campaign])
        {
            let position = value
                .as_ref()
                .map(|value| vocabulary.values.iter().position(|known| known == value));
            for index in 0..vocabulary.values.len() {
                row.push(f64::from(u8::from(position == Some(Some(index)))));
            }
            // Known but not among the most frequent; a missing value sets nothing.
            row.push(f64::from(u8::from(position == Some(None))));
        }
        row.extend([
            f64::from(u8::from(lead.has_company)),
            f64::from(u8::from(lead.has_job_title)),
            f64::from(u8::from(lead.emails > 0)),
            f64::from(u8::from(lead.phones > 0)),
            (lead.phones + lead.emails) as f64,
        ]);
        row
    }

    pub fn width(&self) -> usize {
        self.vocabularies()
            .iter()
            .map(|(_, vocabulary)| vocabulary.values.len() + 1)
            .sum::<usize>()
            + FLAGS.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, i64)]) -> HashMap<String, i64> {
        pairs.iter().map(|(v, n)| (v.to_string(), *n)).collect()
    }

    #[test]
    fn the_most_frequent_values_are_kept_and_ties_break_by_value() {
        let vocabulary = Vocabulary::most_frequent(
            &counts(&[("web", 5), ("referral", 9), ("expo", 5), ("ads", 1)]),
            3,
        );
        assert_eq!(vocabulary.values, ["referral", "expo", "web"]);
    }

    #[test]
    fn a_lead_is_one_hot_with_an_other_bucket_and_flags() {
        let space = FeatureSpace {
            source: Vocabulary {
                values: vec!["referral".into(), "web".into()],
            },
            province: Vocabulary {
                values: vec!["تهران".into()],
            },
            campaign: Vocabulary { values: vec![] },
        };
        assert_eq!(
            space.names(),
            [
                "source=referral",
                "source=web",
                "source=(other)",
                "province=تهران",
                "province=(other)",
                "campaign=(other)",
                "has_company",
                "has_job_title",
                "has_email",
                "has_phone",
                "contact_channels",
            ]
        );
        let lead = LeadFacts {
            source: Some("web".into()),
            province: Some("اصفهان".into()),
            campaign: None,
            has_company: true,
            has_job_title: false,
            phones: 2,
            emails: 1,
        };
        let row = space.encode(&lead);
        assert_eq!(row.len(), space.width());
        assert_eq!(row, [0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 3.0]);
        let bare = space.encode(&LeadFacts::default());
        assert!(bare.iter().all(|value| *value == 0.0), "{bare:?}");
    }

    #[test]
    fn rule_rules_are_named() {
        let input = LeadScoringRuleInput {
            name: "  ".into(),
            condition: serde_json::json!({}),
            points: 1_001,
            active: true,
        };
        let fields: Vec<String> = input
            .validated()
            .expect_err("violations")
            .into_iter()
            .map(|v| format!("{}:{}", v.field, v.code))
            .collect();
        assert_eq!(fields, ["name:required", "points:out_of_range"]);
    }
}
