//! The evaluation of a price experiment (M-7) from what each arm gathered: per arm the
//! conversion rate and the revenue per exposed customer with their 95 % intervals;
//! per treatment the comparison with the control (two-proportion z-test, Welch's
//! t-test, the Bayesian probability to beat it, all in [`crate::pricing`]); and the
//! decision, which waits for the minimum sample and corrects for several treatments
//! (Bonferroni: each comparison at `alpha / treatments`).
//!
//! The inputs are sums a database returns (counts, the sum and the sum of squares of
//! revenue per exposed customer), so nothing here needs the customers themselves.

use domain::price_experiments::ExperimentGoal;
use serde::Serialize;

use crate::intervals::{self, Interval};
use crate::pricing::{
    probability_to_beat_control, two_proportion_z_test, welch_t_test, ConversionCounts,
    SampleSummary, TestResult,
};

/// What one arm gathered. Revenue is per exposed customer, those who bought nothing
/// counting as 0, in the currency's minor units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ArmTotals {
    pub exposed: u64,
    /// Exposed customers who bought the product after their exposure.
    pub converted: u64,
    pub revenue: f64,
    pub revenue_squares: f64,
}

impl ArmTotals {
    fn counts(&self) -> Option<ConversionCounts> {
        (self.exposed > 0).then_some(ConversionCounts {
            conversions: self.converted,
            visitors: self.exposed,
        })
    }

    /// Mean and unbiased variance from the sums; a variance rounded below 0 is 0.
    fn revenue_sample(&self) -> SampleSummary {
        let n = self.exposed as f64;
        let mean = if self.exposed > 0 {
            self.revenue / n
        } else {
            0.0
        };
        let variance = if self.exposed > 1 {
            ((self.revenue_squares - self.revenue * mean) / (n - 1.0)).max(0.0)
        } else {
            0.0
        };
        SampleSummary {
            mean,
            variance,
            n: self.exposed,
        }
    }
}

/// One arm's own figures; `None` where it has too few customers to say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmFigures {
    pub conversion_rate: Option<f64>,
    /// Wilson score interval.
    pub conversion_interval: Option<Interval>,
    pub revenue_per_exposed: Option<f64>,
    /// Student-t interval.
    pub revenue_interval: Option<Interval>,
}

/// A treatment against the control.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Two-proportion z-test of the conversion rates.
    pub conversion: Option<TestResult>,
    /// Welch's t-test of the revenue per exposed customer.
    pub revenue_per_exposed: Option<TestResult>,
    /// P(treatment's conversion rate > control's), Beta(1, 1) priors.
    pub probability_to_beat_control: Option<f64>,
    /// Whether the goal's test has a p-value below the corrected threshold.
    pub significant: bool,
}

impl Comparison {
    fn of_goal(&self, goal: ExperimentGoal) -> Option<&TestResult> {
        match goal {
            ExperimentGoal::ConversionRate => self.conversion.as_ref(),
            ExperimentGoal::RevenuePerExposed => self.revenue_per_exposed.as_ref(),
        }
    }
}

/// What the experiment shows so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Decision {
    /// Some arm has fewer exposed customers than the minimum: no verdict yet,
    /// whatever the p-values say. (The minimum limits, but does not remove, the
    /// inflation of false positives from looking again and again; a verdict is final
    /// only once the experiment is stopped.)
    InsufficientSample,
    /// No treatment differs from the control beyond chance on the goal.
    NoSignificantDifference,
    /// The arm (by index) that is best on the goal: the treatment significantly
    /// better than the control with the best figure, else the control when every
    /// treatment is significantly worse.
    Winner(usize),
}

/// The whole evaluation: arms in the order given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub arms: Vec<ArmFigures>,
    /// `None` for the control.
    pub comparisons: Vec<Option<Comparison>>,
    /// The p-value each comparison must be below: alpha / treatments.
    pub threshold: f64,
    pub decision: Decision,
}

/// Evaluates `arms` (`control` is the index of the control) on `goal` at level `alpha`,
/// declaring a winner only once every arm has `minimum_sample` exposed customers.
pub fn evaluate(
    arms: &[ArmTotals],
    control: usize,
    goal: ExperimentGoal,
    alpha: f64,
    minimum_sample: u64,
) -> Evaluation {
    let treatments = arms.len().saturating_sub(1).max(1);
    let threshold = alpha / treatments as f64;
    let figures = arms
        .iter()
        .map(|arm| {
            let sample = arm.revenue_sample();
            ArmFigures {
                conversion_rate: arm
                    .counts()
                    .map(|c| c.conversions as f64 / c.visitors as f64),
                conversion_interval: intervals::proportion(arm.converted, arm.exposed),
                revenue_per_exposed: (arm.exposed > 0).then_some(sample.mean),
                revenue_interval: intervals::mean(arm.revenue, arm.revenue_squares, arm.exposed),
            }
        })
        .collect();
    let base = arms.get(control).copied();
    let comparisons: Vec<Option<Comparison>> = arms
        .iter()
        .enumerate()
        .map(|(i, arm)| {
            let base = base.filter(|_| i != control)?;
            Some(compare(&base, arm, goal, threshold))
        })
        .collect();
    let decision = decide(arms, control, goal, &comparisons, minimum_sample);
    Evaluation {
        arms: figures,
        comparisons,
        threshold,
        decision,
    }
}

fn compare(
    control: &ArmTotals,
    treatment: &ArmTotals,
    goal: ExperimentGoal,
    threshold: f64,
) -> Comparison {
    let counts = control.counts().zip(treatment.counts());
    let mut comparison = Comparison {
        conversion: counts.and_then(|(a, b)| two_proportion_z_test(a, b).ok()),
        revenue_per_exposed: welch_t_test(control.revenue_sample(), treatment.revenue_sample())
            .ok(),
        probability_to_beat_control: counts
            .and_then(|(a, b)| probability_to_beat_control(a, b).ok()),
        significant: false,
    };
    comparison.significant = comparison
        .of_goal(goal)
        .is_some_and(|test| test.p_value < threshold);
    comparison
}

fn decide(
    arms: &[ArmTotals],
    control: usize,
    goal: ExperimentGoal,
    comparisons: &[Option<Comparison>],
    minimum_sample: u64,
) -> Decision {
    if arms.iter().any(|arm| arm.exposed < minimum_sample) {
        return Decision::InsufficientSample;
    }
    let goal_figure = |arm: &ArmTotals| match goal {
        ExperimentGoal::ConversionRate => arm.converted as f64 / arm.exposed as f64,
        ExperimentGoal::RevenuePerExposed => arm.revenue / arm.exposed as f64,
    };
    let tested: Vec<(usize, &TestResult, bool)> = comparisons
        .iter()
        .enumerate()
        .filter_map(|(i, comparison)| {
            let comparison = comparison.as_ref()?;
            Some((i, comparison.of_goal(goal)?, comparison.significant))
        })
        .collect();
    let better = tested
        .iter()
        .filter(|(_, test, significant)| *significant && test.difference > 0.0)
        .map(|(i, _, _)| *i)
        .max_by(|a, b| goal_figure(&arms[*a]).total_cmp(&goal_figure(&arms[*b])));
    if let Some(winner) = better {
        return Decision::Winner(winner);
    }
    let treatments = arms.len() - 1;
    if tested.len() == treatments
        && tested
            .iter()
            .all(|(_, test, significant)| *significant && test.difference < 0.0)
    {
        return Decision::Winner(control);
    }
    Decision::NoSignificantDifference
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(exposed: u64, revenues: &[f64]) -> ArmTotals {
        ArmTotals {
            exposed,
            converted: revenues.len() as u64,
            revenue: revenues.iter().sum(),
            revenue_squares: revenues.iter().map(|r| r * r).sum(),
        }
    }

    #[test]
    fn no_verdict_before_the_minimum_sample() {
        let arms = [arm(30, &[100.0; 3]), arm(30, &[100.0; 25])];
        let evaluation = evaluate(&arms, 0, ExperimentGoal::ConversionRate, 0.05, 31);
        assert_eq!(evaluation.decision, Decision::InsufficientSample);
        assert!(evaluation.comparisons[1].as_ref().unwrap().significant);
        let evaluation = evaluate(&arms, 0, ExperimentGoal::ConversionRate, 0.05, 30);
        assert_eq!(evaluation.decision, Decision::Winner(1));
    }

    #[test]
    fn the_control_wins_when_every_treatment_is_worse() {
        let arms = [
            arm(100, &[50.0; 40]),
            arm(100, &[50.0; 5]),
            arm(100, &[50.0; 8]),
        ];
        let evaluation = evaluate(&arms, 0, ExperimentGoal::RevenuePerExposed, 0.05, 10);
        assert_eq!(evaluation.decision, Decision::Winner(0));
        assert!((evaluation.threshold - 0.025).abs() < 1e-15);
    }

    #[test]
    fn a_lower_price_that_converts_more_but_earns_less_does_not_win_on_revenue() {
        // Treatment: twice the buyers at a third of the price.
        let arms = [arm(200, &[300.0; 30]), arm(200, &[100.0; 60])];
        let revenue = evaluate(&arms, 0, ExperimentGoal::RevenuePerExposed, 0.05, 10);
        assert_ne!(revenue.decision, Decision::Winner(1));
        let conversion = evaluate(&arms, 0, ExperimentGoal::ConversionRate, 0.05, 10);
        assert_eq!(conversion.decision, Decision::Winner(1));
    }

    #[test]
    fn arms_without_customers_have_no_figures() {
        let arms = [arm(0, &[]), arm(10, &[5.0])];
        let evaluation = evaluate(&arms, 0, ExperimentGoal::RevenuePerExposed, 0.05, 2);
        assert_eq!(evaluation.arms[0].conversion_rate, None);
        let comparison = evaluation.comparisons[1].as_ref().unwrap();
        assert!(comparison.conversion.is_none() && !comparison.significant);
        assert_eq!(evaluation.decision, Decision::InsufficientSample);
    }
}
