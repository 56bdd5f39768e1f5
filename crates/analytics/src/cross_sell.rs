//! Cross-sell: pairwise association rules A → B mined from baskets (Agrawal,
//! Imieliński & Swami 1993), and top-N recommendations from them.
//!
//! Over N baskets, with n(·) the number of baskets containing the items:
//! support(A → B) = n(A, B) / N, confidence = n(A, B) / n(A), lift = confidence /
//! (n(B) / N). A lift above 1 means B is bought with A more often than alone.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;

use serde::Serialize;

use crate::{AnalyticsError, Result};

/// Minimum thresholds a rule must meet.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RuleThresholds {
    pub min_support: f64,
    pub min_confidence: f64,
    pub min_lift: f64,
}

/// An association rule "customers who buy `antecedent` also buy `consequent`".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule<I> {
    pub antecedent: I,
    pub consequent: I,
    /// Baskets holding both.
    pub count: usize,
    pub support: f64,
    pub confidence: f64,
    pub lift: f64,
}

/// Rules over the baskets and how many baskets were used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleSet<I> {
    pub baskets: usize,
    /// Ordered by confidence, then lift, then items.
    pub rules: Vec<Rule<I>>,
}

/// Mines pairwise rules; an item repeated within a basket counts once.
pub fn association_rules<I, B>(baskets: &[B], thresholds: &RuleThresholds) -> Result<RuleSet<I>>
where
    I: Clone + Ord + Hash,
    B: AsRef<[I]>,
{
    for (name, v) in [
        ("min_support", thresholds.min_support),
        ("min_confidence", thresholds.min_confidence),
        ("min_lift", thresholds.min_lift),
    ] {
        if !(v >= 0.0 && v.is_finite()) {
            return Err(AnalyticsError::InvalidParameter {
                name,
                reason: "must be a non-negative number".into(),
            });
        }
    }
    let n = baskets.len();
    if n == 0 {
        return Err(AnalyticsError::NoData("no baskets"));
    }
    let mut item_counts: HashMap<&I, usize> = HashMap::new();
    let mut pair_counts: HashMap<(&I, &I), usize> = HashMap::new();
    for basket in baskets {
        let items: Vec<&I> = basket
            .as_ref()
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for (i, &a) in items.iter().enumerate() {
            *item_counts.entry(a).or_default() += 1;
            for &b in &items[i + 1..] {
                *pair_counts.entry((a, b)).or_default() += 1;
            }
        }
    }
    let total = n as f64;
    let mut rules = Vec::new();
    for ((a, b), count) in pair_counts {
        let support = count as f64 / total;
        if support < thresholds.min_support {
            continue;
        }
        for (antecedent, consequent) in [(a, b), (b, a)] {
            let confidence = count as f64 / item_counts[antecedent] as f64;
            let lift = confidence / (item_counts[consequent] as f64 / total);
            if confidence >= thresholds.min_confidence && lift >= thresholds.min_lift {
                rules.push(Rule {
                    antecedent: antecedent.clone(),
                    consequent: consequent.clone(),
                    count,
                    support,
                    confidence,
                    lift,
                });
            }
        }
    }
    rules.sort_by(|x, y| {
        y.confidence
            .total_cmp(&x.confidence)
            .then(y.lift.total_cmp(&x.lift))
            .then_with(|| x.antecedent.cmp(&y.antecedent))
            .then_with(|| x.consequent.cmp(&y.consequent))
    });
    Ok(RuleSet { baskets: n, rules })
}

/// A recommended item and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation<I> {
    pub item: I,
    /// The highest confidence among the rules from the customer's items to this one.
    pub score: f64,
    /// The item of the customer's that rule starts from.
    pub because_of: I,
}

/// Up to `top` items the customer has not bought, best first (ties by item order).
pub fn recommend<I: Clone + Ord>(
    rules: &RuleSet<I>,
    bought: &[I],
    top: usize,
) -> Vec<Recommendation<I>> {
    let owned: BTreeSet<&I> = bought.iter().collect();
    let mut best: BTreeMap<&I, (f64, &I)> = BTreeMap::new();
    for rule in &rules.rules {
        if owned.contains(&rule.antecedent) && !owned.contains(&rule.consequent) {
            let entry = best
                .entry(&rule.consequent)
                .or_insert((rule.confidence, &rule.antecedent));
            if rule.confidence > entry.0 {
                *entry = (rule.confidence, &rule.antecedent);
            }
        }
    }
    let mut ranked: Vec<Recommendation<I>> = best
        .into_iter()
        .map(|(item, (score, because_of))| Recommendation {
            item: item.clone(),
            score,
            because_of: because_of.clone(),
        })
        .collect();
    // Stable sort keeps the item order among equal scores.
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
    ranked.truncate(top);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_and_recommendations() {
        let baskets = vec![
            vec!["tea", "sugar"],
            vec!["tea", "sugar", "milk"],
            vec!["tea", "cake"],
            vec!["coffee", "milk"],
            vec!["tea", "sugar", "sugar"],
        ];
        let thresholds = RuleThresholds {
            min_support: 0.2,
            min_confidence: 0.5,
            min_lift: 1.0,
        };
        let set = association_rules(&baskets, &thresholds).expect("rules");
        let sugar_tea = set
            .rules
            .iter()
            .find(|r| r.antecedent == "sugar" && r.consequent == "tea")
            .expect("sugar -> tea");
        assert_eq!(sugar_tea.count, 3);
        assert!((sugar_tea.support - 0.6).abs() < 1e-12);
        assert!((sugar_tea.confidence - 1.0).abs() < 1e-12);
        assert!((sugar_tea.lift - 1.25).abs() < 1e-12);
        let recs = recommend(&set, &["sugar"], 3);
        assert_eq!(recs[0].item, "tea");
        assert!(recommend(&set, &["sugar", "tea"], 3)
            .iter()
            .all(|r| r.item != "tea" && r.item != "sugar"));
    }
}
