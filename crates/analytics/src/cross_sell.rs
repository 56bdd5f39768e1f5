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

/// Item and pair counts over baskets, added one basket at a time: a run reading
/// baskets from the database block by block holds the counts, never the baskets.
#[derive(Debug, Clone)]
pub struct BasketCounts<I> {
    baskets: usize,
    items: HashMap<I, usize>,
    pairs: HashMap<(I, I), usize>,
}

impl<I: Clone + Ord + Hash> Default for BasketCounts<I> {
    fn default() -> Self {
        BasketCounts {
            baskets: 0,
            items: HashMap::new(),
            pairs: HashMap::new(),
        }
    }
}

impl<I: Clone + Ord + Hash> BasketCounts<I> {
    /// Counts one basket; an item repeated within it counts once.
    pub fn add(&mut self, basket: &[I]) {
        let items: Vec<&I> = basket.iter().collect::<BTreeSet<_>>().into_iter().collect();
        self.baskets += 1;
        for (i, &a) in items.iter().enumerate() {
            *self.items.entry(a.clone()).or_default() += 1;
            for &b in &items[i + 1..] {
                *self.pairs.entry((a.clone(), b.clone())).or_default() += 1;
            }
        }
    }

    /// Baskets counted.
    pub fn baskets(&self) -> usize {
        self.baskets
    }

    /// Distinct items seen.
    pub fn items(&self) -> usize {
        self.items.len()
    }

    /// The pairwise rules that meet `thresholds`.
    pub fn rules(&self, thresholds: &RuleThresholds) -> Result<RuleSet<I>> {
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
        if self.baskets == 0 {
            return Err(AnalyticsError::NoData("no baskets"));
        }
        let total = self.baskets as f64;
        let mut rules = Vec::new();
        for ((a, b), &count) in &self.pairs {
            let support = count as f64 / total;
            if support < thresholds.min_support {
                continue;
            }
            for (antecedent, consequent) in [(a, b), (b, a)] {
                let confidence = count as f64 / self.items[antecedent] as f64;
                let lift = confidence / (self.items[consequent] as f64 / total);
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
        Ok(RuleSet {
            baskets: self.baskets,
            rules,
        })
    }
}

/// Mines pairwise rules; an item repeated within a basket counts once.
pub fn association_rules<I, B>(baskets: &[B], thresholds: &RuleThresholds) -> Result<RuleSet<I>>
where
    I: Clone + Ord + Hash,
    B: AsRef<[I]>,
{
    let mut counts = BasketCounts::default();
    for basket in baskets {
        counts.add(basket.as_ref());
    }
    counts.rules(thresholds)
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

/// The rules of a set indexed by antecedent, to recommend to many customers: each
/// recommendation reads only the rules from the items the customer bought. Built once
/// per rule set.
#[derive(Debug, Clone)]
pub struct Recommender<I> {
    rules: RuleSet<I>,
    /// Positions in `rules.rules` of the rules from each antecedent.
    by_antecedent: HashMap<I, Vec<usize>>,
}

impl<I: Clone + Ord + Hash> Recommender<I> {
    pub fn new(rules: RuleSet<I>) -> Self {
        let mut by_antecedent: HashMap<I, Vec<usize>> = HashMap::new();
        for (position, rule) in rules.rules.iter().enumerate() {
            by_antecedent
                .entry(rule.antecedent.clone())
                .or_default()
                .push(position);
        }
        Recommender {
            rules,
            by_antecedent,
        }
    }

    /// The rule set recommended from.
    pub fn rules(&self) -> &RuleSet<I> {
        &self.rules
    }

    /// Up to `top` items the customer has not bought, best first (ties by item
    /// order), each with the rule it comes from.
    pub fn recommend(&self, bought: &[I], top: usize) -> Vec<(Recommendation<I>, &Rule<I>)> {
        let owned: BTreeSet<&I> = bought.iter().collect();
        // Rules are in the set's order, so the first rule met for an item is its best.
        let mut best: BTreeMap<&I, usize> = BTreeMap::new();
        for item in &owned {
            for &position in self.by_antecedent.get(*item).into_iter().flatten() {
                let consequent = &self.rules.rules[position].consequent;
                if owned.contains(consequent) {
                    continue;
                }
                let entry = best.entry(consequent).or_insert(position);
                *entry = (*entry).min(position);
            }
        }
        let mut ranked: Vec<(Recommendation<I>, &Rule<I>)> = best
            .into_iter()
            .map(|(item, position)| {
                let rule = &self.rules.rules[position];
                (
                    Recommendation {
                        item: item.clone(),
                        score: rule.confidence,
                        because_of: rule.antecedent.clone(),
                    },
                    rule,
                )
            })
            .collect();
        // Stable sort keeps the item order among equal scores.
        ranked.sort_by(|a, b| b.0.score.total_cmp(&a.0.score));
        ranked.truncate(top);
        ranked
    }
}

/// Up to `top` items the customer has not bought, best first (ties by item order).
pub fn recommend<I: Clone + Ord + Hash>(
    rules: &RuleSet<I>,
    bought: &[I],
    top: usize,
) -> Vec<Recommendation<I>> {
    Recommender::new(rules.clone())
        .recommend(bought, top)
        .into_iter()
        .map(|(recommendation, _)| recommendation)
        .collect()
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

    #[test]
    fn counting_basket_by_basket_gives_the_same_rules() {
        let baskets = [
            vec![1, 2],
            vec![1, 2, 3],
            vec![1, 4],
            vec![5, 3],
            vec![1, 2, 2],
        ];
        let thresholds = RuleThresholds {
            min_support: 0.0,
            min_confidence: 0.0,
            min_lift: 0.0,
        };
        let mut counts = BasketCounts::default();
        for basket in &baskets {
            counts.add(basket);
        }
        assert_eq!((counts.baskets(), counts.items()), (5, 5));
        assert_eq!(
            counts.rules(&thresholds).expect("rules"),
            association_rules(&baskets, &thresholds).expect("rules")
        );
        assert!(BasketCounts::<u32>::default().rules(&thresholds).is_err());
    }
}
