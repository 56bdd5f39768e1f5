//! Price experiments (M-7): A/B tests of price points of one product, optionally for
//! the members of one segment. Each customer who is shown the product while the
//! experiment runs is *exposed* to one variant — chosen deterministically from the
//! experiment and customer ids, so the same customer always sees the same price — and
//! converts when they buy the product after that exposure.
//!
//! The evaluation (rates, intervals, tests, the decision) is in `analytics::experiments`;
//! this module holds the definition's rules and the assignment.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::customers::snake_names;
use crate::validation::{FieldViolation, Violations};

const MAX_NAME_CHARS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 1_000;
const MAX_KEY_CHARS: usize = 32;

/// Variants an experiment has: a control and one to nine price points to try.
pub const VARIANTS: std::ops::RangeInclusive<usize> = 2..=10;

/// A variant's share of the traffic, relative to the others' weights.
pub const WEIGHTS: std::ops::RangeInclusive<i32> = 1..=1_000;

/// Exposed customers each variant needs before a winner may be declared. Two is the
/// least a variance needs; the planned figure comes from a power calculation.
pub const MINIMUM_SAMPLE: std::ops::RangeInclusive<i64> = 2..=10_000_000;

/// The significance levels an experiment may be judged at.
pub const ALPHA: std::ops::RangeInclusive<f64> = 0.001..=0.2;

/// The significance level unless the experiment says otherwise.
pub const DEFAULT_ALPHA: f64 = 0.05;

/// Where an experiment stands. A draft can be changed freely; a running experiment
/// exposes customers; a stopped one is over for good (purchases placed after the stop
/// no longer count), and its product can run another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentStatus {
    Draft,
    Running,
    Stopped,
}

snake_names!(ExperimentStatus {
    Draft => "draft",
    Running => "running",
    Stopped => "stopped",
});

/// What a variant must improve to win.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentGoal {
    /// Revenue of the product per exposed customer: what a price test is usually for,
    /// since a lower price converts more and may still earn less.
    #[default]
    RevenuePerExposed,
    /// The share of exposed customers who buy the product.
    ConversionRate,
}

snake_names!(ExperimentGoal {
    RevenuePerExposed => "revenue_per_exposed",
    ConversionRate => "conversion_rate",
});

/// One price point of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantInput {
    /// Unique within the experiment: 1 to 32 of `a-z`, `0-9`, `_` and `-`, starting
    /// with a letter or digit.
    pub key: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The price shown to the variant's customers, in minor units of the product's
    /// currency (whole rials for IRR).
    #[schema(minimum = 1)]
    pub unit_price: i64,
    /// The variant's share of the traffic relative to the others (1 to 1,000; 1 by
    /// default, so equal shares).
    #[serde(default = "weight_default")]
    #[schema(minimum = 1, maximum = 1000)]
    pub weight: i32,
    /// The variant the others are compared with; exactly one has it.
    #[serde(default)]
    pub control: bool,
}

fn weight_default() -> i32 {
    1
}

/// A price experiment as a client writes it; also the document a merge patch applies
/// to (`variants` is replaced whole).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "قیمت چای سبز ۱۴۰۵",
    "description": "آیا ۱۰٪ گران‌تر درآمد بیشتری دارد؟",
    "product_id": "0193a4e2-7c1d-7b3e-9f10-ffffffffffff",
    "segment_id": null,
    "goal": "revenue_per_exposed",
    "alpha": 0.05,
    "minimum_sample_per_variant": 400,
    "variants": [
        {"key": "control", "name": "قیمت فعلی", "unit_price": 1_850_000, "control": true},
        {"key": "plus10", "name": "۱۰٪ بیشتر", "unit_price": 2_035_000}
    ]
}))]
pub struct ExperimentInput {
    /// Unique among price experiments.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The product whose price is tested. One running experiment per product.
    pub product_id: Uuid,
    /// Only current members of this segment take part; others see the list price.
    /// Null: every customer. A deleted segment has no members, so nobody takes part.
    #[serde(default)]
    pub segment_id: Option<Uuid>,
    #[serde(default)]
    pub goal: ExperimentGoal,
    /// The significance level (0.001 to 0.2; 0.05 by default), shared by the
    /// comparisons with the control (Bonferroni): each is judged at
    /// `alpha / (variants − 1)`.
    #[serde(default = "alpha_default")]
    #[schema(minimum = 0.001, maximum = 0.2)]
    pub alpha: f64,
    /// Exposed customers each variant needs before a winner is declared (2 to
    /// 10,000,000), e.g. from a power calculation for the smallest effect worth
    /// knowing.
    #[schema(minimum = 2, maximum = 10000000)]
    pub minimum_sample_per_variant: i64,
    /// 2 to 10 variants, exactly one of them the control.
    pub variants: Vec<VariantInput>,
}

fn alpha_default() -> f64 {
    DEFAULT_ALPHA
}

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && key.chars().count() <= MAX_KEY_CHARS
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

impl ExperimentInput {
    /// Checks every rule that needs no database, reporting all problems at once.
    pub fn validated(mut self) -> Result<ExperimentInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        v.required_line("name", &mut self.name, MAX_NAME_CHARS);
        v.tidy_text("description", &mut self.description, MAX_DESCRIPTION_CHARS);
        if !(self.alpha.is_finite() && ALPHA.contains(&self.alpha)) {
            v.push(
                "alpha",
                "out_of_range",
                format!("must be {} to {}", ALPHA.start(), ALPHA.end()),
            );
        }
        if !MINIMUM_SAMPLE.contains(&self.minimum_sample_per_variant) {
            v.push(
                "minimum_sample_per_variant",
                "out_of_range",
                format!(
                    "must be {} to {}",
                    MINIMUM_SAMPLE.start(),
                    MINIMUM_SAMPLE.end()
                ),
            );
        }
        if !VARIANTS.contains(&self.variants.len()) {
            v.push(
                "variants",
                "out_of_range",
                format!(
                    "an experiment has {} to {} variants",
                    VARIANTS.start(),
                    VARIANTS.end()
                ),
            );
        }
        let mut keys = std::collections::HashSet::new();
        for (i, variant) in self.variants.iter_mut().enumerate() {
            let at = |field: &str| format!("variants[{i}].{field}");
            if !valid_key(&variant.key) {
                v.push(
                    at("key"),
                    "invalid",
                    "1 to 32 of a-z, 0-9, _ and -, starting with a letter or digit",
                );
            } else if !keys.insert(variant.key.clone()) {
                v.push(at("key"), "duplicate", "another variant has this key");
            }
            v.tidy_line(&at("name"), &mut variant.name, MAX_NAME_CHARS);
            if variant.unit_price <= 0 {
                v.push(at("unit_price"), "out_of_range", "must be more than zero");
            }
            if !WEIGHTS.contains(&variant.weight) {
                v.push(
                    at("weight"),
                    "out_of_range",
                    format!("must be {} to {}", WEIGHTS.start(), WEIGHTS.end()),
                );
            }
        }
        if self
            .variants
            .iter()
            .filter(|variant| variant.control)
            .count()
            != 1
        {
            v.push(
                "variants",
                "one_control",
                "exactly one variant must be the control",
            );
        }
        v.into_result().map(|()| self)
    }
}

/// A customer's place in `[0, 2^64)` for an experiment: the first eight bytes of
/// SHA-256 over the two ids. Stable across processes, versions and machines, and
/// independent between experiments, so one test's split says nothing of another's.
pub fn bucket(experiment: Uuid, customer: Uuid) -> u64 {
    let digest = Sha256::new()
        .chain_update(experiment.as_bytes())
        .chain_update(customer.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The index of the variant `customer` sees in `experiment`, the variants given by
/// their weights in their stored order: the bucket modulo the total weight falls in
/// one variant's stretch. (The modulo's bias is below 2⁻⁵⁰ for the weights allowed.)
pub fn assign(experiment: Uuid, customer: Uuid, weights: &[i32]) -> usize {
    let total: u64 = weights.iter().map(|w| u64::from(w.unsigned_abs())).sum();
    if total == 0 {
        return 0;
    }
    let mut point = bucket(experiment, customer) % total;
    for (i, weight) in weights.iter().enumerate() {
        let weight = u64::from(weight.unsigned_abs());
        if point < weight {
            return i;
        }
        point -= weight;
    }
    weights.len() - 1
}

/// Whether `status` lets the definition change beyond its name and description.
pub fn definition_editable(status: ExperimentStatus) -> bool {
    status == ExperimentStatus::Draft
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ExperimentInput {
        serde_json::from_value(serde_json::json!({
            "name": "چای",
            "product_id": Uuid::nil(),
            "minimum_sample_per_variant": 100,
            "variants": [
                {"key": "a", "unit_price": 100, "control": true},
                {"key": "b", "unit_price": 120}
            ]
        }))
        .expect("input")
    }

    fn codes(input: ExperimentInput) -> Vec<(String, String)> {
        input
            .validated()
            .expect_err("invalid")
            .into_iter()
            .map(|violation| (violation.field, violation.code))
            .collect()
    }

    #[test]
    fn defaults_are_revenue_goal_and_five_percent() {
        let input = input().validated().expect("valid");
        assert_eq!(input.goal, ExperimentGoal::RevenuePerExposed);
        assert_eq!(input.alpha, 0.05);
        assert_eq!(input.variants[1].weight, 1);
    }

    #[test]
    fn every_rule_is_reported_with_its_path() {
        let mut bad = input();
        bad.alpha = 0.5;
        bad.minimum_sample_per_variant = 1;
        bad.variants[0].control = false;
        bad.variants[1].key = "B!".into();
        bad.variants[1].unit_price = 0;
        bad.variants[1].weight = 0;
        let codes = codes(bad);
        for expected in [
            ("alpha", "out_of_range"),
            ("minimum_sample_per_variant", "out_of_range"),
            ("variants", "one_control"),
            ("variants[1].key", "invalid"),
            ("variants[1].unit_price", "out_of_range"),
            ("variants[1].weight", "out_of_range"),
        ] {
            assert!(
                codes.contains(&(expected.0.to_string(), expected.1.to_string())),
                "{expected:?} in {codes:?}"
            );
        }
    }

    #[test]
    fn keys_are_unique_and_variants_counted() {
        let mut twins = input();
        twins.variants[1].key = "a".into();
        assert!(codes(twins).contains(&("variants[1].key".into(), "duplicate".into())));
        let mut alone = input();
        alone.variants.truncate(1);
        assert!(codes(alone).contains(&("variants".into(), "out_of_range".into())));
    }

    #[test]
    fn assignment_is_stable_and_follows_the_weights() {
        let experiment = Uuid::from_u128(0x0193_a4e2_7c1d_7b3e_9f10_0000_0000_0001);
        let customer = Uuid::from_u128(42);
        let first = assign(experiment, customer, &[1, 3]);
        assert!((0..100).all(|_| assign(experiment, customer, &[1, 3]) == first));
        let mut counts = [0u32; 2];
        for i in 0..40_000u128 {
            counts[assign(experiment, Uuid::from_u128(i), &[1, 3])] += 1;
        }
        // 10,000 expected in the first: four standard deviations is ±346.
        assert!((9_654..=10_346).contains(&counts[0]), "{counts:?}");
    }

    #[test]
    fn experiments_split_independently() {
        let (one, two) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let same = (0..10_000u128)
            .filter(|&i| {
                let customer = Uuid::from_u128(i);
                assign(one, customer, &[1, 1]) == assign(two, customer, &[1, 1])
            })
            .count();
        // Independent halves agree about half the time (sd 50).
        assert!((4_800..=5_200).contains(&same), "{same}");
    }
}
