//! Lifecycle rules (C-8): how purchases, and their absence, move a customer between
//! stages. Pure decisions; the use cases apply them when an order becomes a purchase
//! and in the scheduled churn check, and record each move with the rule's name.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customers::LifecycleStage;
use crate::validation::{FieldViolation, Violations};

/// Longest window a rule may name: ten years.
const MAX_DAYS: u32 = 3650;

/// Which rules run and with what windows; the document clients read and merge-patch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "first_purchase": {"enabled": true},
    "repeat_purchase": {"enabled": true, "within_days": 365},
    "churn": {"enabled": true, "after_days": 180},
    "win_back": {"enabled": true}
}))]
pub struct LifecycleRules {
    /// A first purchase moves an `awareness` or `consideration` customer to `purchase`.
    pub first_purchase: Toggle,
    /// A purchase within `within_days` of the previous one moves a customer at
    /// `purchase` (or earlier) to `retention`.
    pub repeat_purchase: RepeatPurchase,
    /// No purchase for `after_days` moves a `purchase`, `retention` or `advocacy`
    /// customer to `churned`; checked every day at midnight in the business time zone.
    /// With `p_alive_below`, the CLV model decides instead (see [`Churn`]).
    pub churn: Churn,
    /// A purchase by a `churned` customer moves them back to `retention`.
    pub win_back: Toggle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Toggle {
    pub enabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepeatPurchase {
    pub enabled: bool,
    /// 1 to 3650.
    pub within_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Churn {
    pub enabled: bool,
    /// 1 to 3650.
    pub after_days: u32,
    /// Churn by the CLV model (above 0, below 1): once a `clv` model run has succeeded,
    /// the daily check moves a customer whose P(alive) in that run is below this and who
    /// has not bought since the run's calibration end, instead of waiting `after_days`.
    /// Until then, and when imported histories are replayed, `after_days` applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_alive_below: Option<f64>,
}

impl Default for LifecycleRules {
    fn default() -> Self {
        LifecycleRules {
            first_purchase: Toggle { enabled: true },
            repeat_purchase: RepeatPurchase {
                enabled: true,
                within_days: 365,
            },
            churn: Churn {
                enabled: true,
                after_days: 180,
                p_alive_below: None,
            },
            win_back: Toggle { enabled: true },
        }
    }
}

/// The rule behind an automatic move, as recorded in the stage history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleRule {
    FirstPurchase,
    RepeatPurchase,
    Churn,
    WinBack,
}

impl LifecycleRule {
    /// The history's `reason` for a move this rule made.
    pub fn reason(self) -> &'static str {
        match self {
            LifecycleRule::FirstPurchase => "rule:first_purchase",
            LifecycleRule::RepeatPurchase => "rule:repeat_purchase",
            LifecycleRule::Churn => "rule:churn",
            LifecycleRule::WinBack => "rule:win_back",
        }
    }
}

impl LifecycleRules {
    pub fn validated(self) -> Result<LifecycleRules, Vec<FieldViolation>> {
        let mut v = Violations::default();
        if !(1..=MAX_DAYS).contains(&self.repeat_purchase.within_days) {
            v.push(
                "repeat_purchase.within_days",
                "out_of_range",
                format!("must be 1 to {MAX_DAYS}"),
            );
        }
        if !(1..=MAX_DAYS).contains(&self.churn.after_days) {
            v.push(
                "churn.after_days",
                "out_of_range",
                format!("must be 1 to {MAX_DAYS}"),
            );
        }
        if self
            .churn
            .p_alive_below
            .is_some_and(|p| !(p > 0.0 && p < 1.0))
        {
            v.push(
                "churn.p_alive_below",
                "out_of_range",
                "must be above 0 and below 1",
            );
        }
        v.into_result().map(|()| self)
    }

    /// Where a purchase at `at` moves a customer now at `stage` whose latest earlier
    /// purchase was at `previous` (`None`: this is the first), and by which rule.
    pub fn after_purchase(
        &self,
        stage: LifecycleStage,
        previous: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Option<(LifecycleStage, LifecycleRule)> {
        use LifecycleStage::*;
        match (stage, previous) {
            (Churned, _) if self.win_back.enabled => Some((Retention, LifecycleRule::WinBack)),
            (Awareness | Consideration, None) if self.first_purchase.enabled => {
                Some((Purchase, LifecycleRule::FirstPurchase))
            }
            (Awareness | Consideration | Purchase, Some(previous))
                if self.repeat_purchase.enabled
                    && at - previous
                        <= Duration::days(i64::from(self.repeat_purchase.within_days)) =>
            {
                Some((Retention, LifecycleRule::RepeatPurchase))
            }
            _ => None,
        }
    }

    /// The latest last purchase that still leaves a customer churned at `now`: a
    /// customer whose last purchase is before it has churned. `None` when the rule is
    /// off.
    pub fn churned_before(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.churn
            .enabled
            .then(|| now - Duration::days(i64::from(self.churn.after_days)))
    }

    /// Where a customer now at `stage` ends up when `new` purchases (a history being
    /// imported, any order) join the purchases it already had (`earlier`), and by the
    /// last rule that moved it; `None` when it stays. The new purchases are replayed in
    /// time order as if each had been placed then: a gap longer than the churn window
    /// before one churns the customer first (so the purchase wins it back), and a last
    /// purchase older than the window at `now` leaves it churned.
    pub fn after_history(
        &self,
        stage: LifecycleStage,
        earlier: &[DateTime<Utc>],
        new: &[DateTime<Utc>],
        now: DateTime<Utc>,
    ) -> Option<(LifecycleStage, LifecycleRule)> {
        let mut history: Vec<(DateTime<Utc>, bool)> = earlier
            .iter()
            .map(|at| (*at, false))
            .chain(new.iter().map(|at| (*at, true)))
            .collect();
        history.sort();
        let churn_window = Duration::days(i64::from(self.churn.after_days));
        let (mut current, mut rule, mut previous) = (stage, None, None);
        for (at, is_new) in history {
            if is_new {
                let lapsed = previous.is_some_and(|previous| at - previous > churn_window);
                if self.churn.enabled && lapsed && Self::CHURNABLE.contains(&current) {
                    (current, rule) = (LifecycleStage::Churned, Some(LifecycleRule::Churn));
                }
                if let Some((to, by)) = self.after_purchase(current, previous, at) {
                    (current, rule) = (to, Some(by));
                }
            }
            previous = Some(at);
        }
        let lapsed_now = previous
            .zip(self.churned_before(now))
            .is_some_and(|(last, cutoff)| last < cutoff);
        if lapsed_now && Self::CHURNABLE.contains(&current) {
            (current, rule) = (LifecycleStage::Churned, Some(LifecycleRule::Churn));
        }
        rule.filter(|_| current != stage)
            .map(|rule| (current, rule))
    }

    /// The stages the churn rule moves from.
    pub const CHURNABLE: [LifecycleStage; 3] = [
        LifecycleStage::Purchase,
        LifecycleStage::Retention,
        LifecycleStage::Advocacy,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use LifecycleStage::*;

    fn at(day: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + day * 86_400, 0).unwrap()
    }

    #[test]
    fn the_default_rules_move_customers_as_documented() {
        let rules = LifecycleRules::default();
        assert_eq!(
            rules.after_purchase(Awareness, None, at(0)),
            Some((Purchase, LifecycleRule::FirstPurchase))
        );
        assert_eq!(
            rules.after_purchase(Purchase, Some(at(0)), at(365)),
            Some((Retention, LifecycleRule::RepeatPurchase))
        );
        assert_eq!(rules.after_purchase(Purchase, Some(at(0)), at(366)), None);
        assert_eq!(rules.after_purchase(Retention, Some(at(0)), at(10)), None);
        assert_eq!(rules.after_purchase(Advocacy, None, at(0)), None);
        assert_eq!(
            rules.after_purchase(Churned, Some(at(0)), at(900)),
            Some((Retention, LifecycleRule::WinBack))
        );
        assert_eq!(rules.churned_before(at(200)), Some(at(20)));
    }

    #[test]
    fn an_imported_history_is_replayed_in_time_order() {
        let rules = LifecycleRules::default();
        let now = at(1000);
        // Two purchases a month apart, the last recent: retained.
        assert_eq!(
            rules.after_history(Awareness, &[], &[at(990), at(960)], now),
            Some((Retention, LifecycleRule::RepeatPurchase))
        );
        // One purchase long ago: bought, then churned.
        assert_eq!(
            rules.after_history(Consideration, &[], &[at(100)], now),
            Some((Churned, LifecycleRule::Churn))
        );
        // A two-year gap churns the customer before the later purchase wins it back.
        assert_eq!(
            rules.after_history(Awareness, &[], &[at(100), at(900)], now),
            Some((Retention, LifecycleRule::WinBack))
        );
        // Stored purchases count as earlier ones: a new purchase soon after is a repeat.
        assert_eq!(
            rules.after_history(Purchase, &[at(950)], &[at(980)], now),
            Some((Retention, LifecycleRule::RepeatPurchase))
        );
        // Nothing moves a retained customer with a recent purchase, nor an advocate.
        assert_eq!(
            rules.after_history(Retention, &[at(900)], &[at(990)], now),
            None
        );
        assert_eq!(rules.after_history(Advocacy, &[], &[at(999)], now), None);
        // Without the churn rule an old purchase is only a purchase.
        let mut no_churn = rules;
        no_churn.churn.enabled = false;
        assert_eq!(
            no_churn.after_history(Awareness, &[], &[at(100)], now),
            Some((Purchase, LifecycleRule::FirstPurchase))
        );
    }

    #[test]
    fn disabled_rules_do_nothing() {
        let mut rules = LifecycleRules::default();
        rules.first_purchase.enabled = false;
        rules.win_back.enabled = false;
        rules.churn.enabled = false;
        rules.repeat_purchase.enabled = false;
        assert_eq!(rules.after_purchase(Awareness, None, at(0)), None);
        assert_eq!(rules.after_purchase(Churned, Some(at(0)), at(1)), None);
        assert_eq!(rules.after_purchase(Purchase, Some(at(0)), at(1)), None);
        assert_eq!(rules.churned_before(at(0)), None);
    }

    #[test]
    fn windows_are_bounded() {
        let mut rules = LifecycleRules::default();
        rules.churn.after_days = 0;
        rules.repeat_purchase.within_days = 4000;
        let codes: Vec<String> = rules
            .validated()
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(
            codes,
            vec!["repeat_purchase.within_days", "churn.after_days"]
        );
    }
}
