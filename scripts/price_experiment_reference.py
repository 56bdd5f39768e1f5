"""Regenerate the reference figures of a price experiment with SciPy.

Writes crates/analytics/tests/fixtures/price_experiment_scipy.json: three arms of a
hand-made experiment (exposed customers, the quantities the buyers bought, the price)
and what SciPy computes for them: per arm the conversion rate with its Wilson interval
and the revenue per exposed customer with its Student-t interval; per treatment the
two-proportion z-test (pooled statistic, unpooled interval), Welch's t-test of the
revenue per exposed customer (zeros included) and the Bayesian probability to beat the
control with Beta(1, 1) priors, by numerical integration. The analytics crate's unit
test and the end-to-end test of the price-experiment API both check against it.

Usage (from the repository root):
    pip install scipy
    python scripts/price_experiment_reference.py
"""

import json
from pathlib import Path

import numpy as np
from scipy import integrate, stats

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "analytics" / "tests" / "fixtures" / "price_experiment_scipy.json"

ALPHA = 0.05
ARMS = [
    {"key": "control", "unit_price": 1_000_000, "control": True, "exposed": 40,
     "quantities": [1, 1, 2, 1, 1, 3]},
    {"key": "plus10", "unit_price": 1_100_000, "control": False, "exposed": 40,
     "quantities": [1, 2, 1, 1, 2, 1, 1, 3, 1, 1, 2, 1, 1, 1, 2, 2, 1]},
    {"key": "plus20", "unit_price": 1_200_000, "control": False, "exposed": 40,
     "quantities": [1, 1, 2, 1, 1, 1, 2, 1, 1]},
]
Z = stats.norm.ppf(0.975)


def revenues(arm):
    values = [q * arm["unit_price"] for q in arm["quantities"]]
    return np.array(values + [0] * (arm["exposed"] - len(values)), dtype=float)


def wilson(successes, n):
    p = successes / n
    denominator = 1 + Z**2 / n
    centre = (p + Z**2 / (2 * n)) / denominator
    half = Z * np.sqrt(p * (1 - p) / n + Z**2 / (4 * n * n)) / denominator
    return [max(0.0, centre - half), min(1.0, centre + half)]


def mean_interval(values):
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(),
                                 scale=stats.sem(values))
    return [low, high]


def z_test(control, treatment):
    (ca, na), (cb, nb) = control, treatment
    pa, pb = ca / na, cb / nb
    pooled = (ca + cb) / (na + nb)
    z = (pb - pa) / np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    se = np.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)
    return {"statistic": z, "p_value": 2 * stats.norm.sf(abs(z)),
            "difference": pb - pa, "interval": [pb - pa - Z * se, pb - pa + Z * se]}


def welch(control, treatment):
    result = stats.ttest_ind(treatment, control, equal_var=False)
    va, vb = control.var(ddof=1) / len(control), treatment.var(ddof=1) / len(treatment)
    df = (va + vb) ** 2 / (va**2 / (len(control) - 1) + vb**2 / (len(treatment) - 1))
    difference = treatment.mean() - control.mean()
    half = stats.t.ppf(0.975, df) * np.sqrt(va + vb)
    return {"statistic": result.statistic, "p_value": result.pvalue,
            "degrees_of_freedom": df, "difference": difference,
            "interval": [difference - half, difference + half]}


def probability_to_beat(control, treatment):
    (ca, na), (cb, nb) = control, treatment
    a = stats.beta(1 + ca, 1 + na - ca)
    b = stats.beta(1 + cb, 1 + nb - cb)
    value, _ = integrate.quad(lambda x: b.pdf(x) * a.cdf(x), 0, 1, epsabs=1e-13,
                              epsrel=1e-12, limit=200)
    return value


def main():
    control = ARMS[0]
    counts = lambda arm: (len(arm["quantities"]), arm["exposed"])
    expected = []
    for arm in ARMS:
        values = revenues(arm)
        figures = {
            "key": arm["key"],
            "conversion_rate": len(arm["quantities"]) / arm["exposed"],
            "conversion_interval": wilson(*counts(arm)),
            "revenue": float(values.sum()),
            "revenue_per_exposed": float(values.mean()),
            "revenue_interval": mean_interval(values),
        }
        if not arm["control"]:
            figures["conversion_test"] = z_test(counts(control), counts(arm))
            figures["revenue_test"] = welch(revenues(control), values)
            figures["probability_to_beat_control"] = probability_to_beat(
                counts(control), counts(arm))
        expected.append(figures)
    document = {"alpha": ALPHA, "arms": ARMS, "expected": expected,
                "scipy": __import__("scipy").__version__}
    OUT.write_text(json.dumps(document, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
