//! The evaluation of a price experiment against SciPy on a hand-made three-arm
//! experiment. The fixture comes from `scripts/price_experiment_reference.py`.

use analytics::experiments::{evaluate, ArmTotals, Decision};
use domain::price_experiments::ExperimentGoal;
use serde_json::Value;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/price_experiment_scipy.json"
);

fn close(actual: f64, expected: &Value, what: &str) {
    let expected = expected
        .as_f64()
        .unwrap_or_else(|| panic!("{what} in fixture"));
    let tolerance = 1e-9 * expected.abs().max(1.0);
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: {actual} against SciPy's {expected}"
    );
}

fn arms(fixture: &Value) -> Vec<ArmTotals> {
    fixture["arms"]
        .as_array()
        .expect("arms")
        .iter()
        .map(|arm| {
            let price = arm["unit_price"].as_f64().expect("price");
            let revenues: Vec<f64> = arm["quantities"]
                .as_array()
                .expect("quantities")
                .iter()
                .map(|q| q.as_f64().expect("quantity") * price)
                .collect();
            ArmTotals {
                exposed: arm["exposed"].as_u64().expect("exposed"),
                converted: revenues.len() as u64,
                revenue: revenues.iter().sum(),
                revenue_squares: revenues.iter().map(|r| r * r).sum(),
            }
        })
        .collect()
}

#[test]
fn figures_tests_and_decision_agree_with_scipy() {
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(FIXTURE).expect("fixture")).expect("json");
    let evaluation = evaluate(
        &arms(&fixture),
        0,
        ExperimentGoal::RevenuePerExposed,
        fixture["alpha"].as_f64().expect("alpha"),
        40,
    );
    for (i, expected) in fixture["expected"]
        .as_array()
        .expect("expected")
        .iter()
        .enumerate()
    {
        let figures = &evaluation.arms[i];
        close(
            figures.conversion_rate.expect("rate"),
            &expected["conversion_rate"],
            "rate",
        );
        let interval = figures.conversion_interval.expect("interval");
        close(
            interval.low,
            &expected["conversion_interval"][0],
            "wilson low",
        );
        close(
            interval.high,
            &expected["conversion_interval"][1],
            "wilson high",
        );
        close(
            figures.revenue_per_exposed.expect("revenue"),
            &expected["revenue_per_exposed"],
            "revenue per exposed",
        );
        let interval = figures.revenue_interval.expect("interval");
        close(interval.low, &expected["revenue_interval"][0], "mean low");
        close(interval.high, &expected["revenue_interval"][1], "mean high");
        let Some(comparison) = &evaluation.comparisons[i] else {
            assert!(expected.get("conversion_test").is_none());
            continue;
        };
        let z = comparison.conversion.as_ref().expect("z-test");
        let reference = &expected["conversion_test"];
        close(z.statistic, &reference["statistic"], "z");
        close(z.p_value, &reference["p_value"], "z p-value");
        close(z.difference, &reference["difference"], "rate difference");
        close(
            z.confidence_interval.0,
            &reference["interval"][0],
            "z interval low",
        );
        close(
            z.confidence_interval.1,
            &reference["interval"][1],
            "z interval high",
        );
        let t = comparison.revenue_per_exposed.as_ref().expect("welch");
        let reference = &expected["revenue_test"];
        close(t.statistic, &reference["statistic"], "t");
        close(t.p_value, &reference["p_value"], "t p-value");
        close(t.degrees_of_freedom, &reference["degrees_of_freedom"], "df");
        close(t.difference, &reference["difference"], "revenue difference");
        close(
            t.confidence_interval.0,
            &reference["interval"][0],
            "t interval low",
        );
        close(
            t.confidence_interval.1,
            &reference["interval"][1],
            "t interval high",
        );
        let p = comparison.probability_to_beat_control.expect("bayes");
        // SciPy integrates numerically to about 1e-12.
        assert!(
            (p - expected["probability_to_beat_control"].as_f64().expect("p")).abs() < 1e-8,
            "probability to beat the control {p}"
        );
    }
    // plus10's Welch p-value (0.0135) is below 0.05 / 2; plus20's (0.47) is not.
    assert_eq!(evaluation.decision, Decision::Winner(1));
    assert!(evaluation.comparisons[1].as_ref().unwrap().significant);
    assert!(!evaluation.comparisons[2].as_ref().unwrap().significant);
    // One customer short of the minimum in every arm: no verdict yet.
    let early = evaluate(
        &arms(&fixture),
        0,
        ExperimentGoal::RevenuePerExposed,
        0.05,
        41,
    );
    assert_eq!(early.decision, Decision::InsufficientSample);
}
