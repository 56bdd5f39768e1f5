"""Regenerate the `lifetimes` reference predictions on the CDNOW sample.

Writes crates/analytics/tests/fixtures/lifetimes_cdnow.csv (one row per customer) and
lifetimes_cdnow_params.csv (the fitted parameters). The Rust tests feed these parameters
to their own prediction functions, so the comparison checks the prediction formulas
independently of the optimiser.

Usage (from the repository root):
    pip install -r scripts/requirements-lifetimes.txt
    python scripts/lifetimes_reference.py
"""

from pathlib import Path

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "testdata" / "cdnow" / "cdnow_customers_summary_with_transactions.csv"
OUT = ROOT / "crates" / "analytics" / "tests" / "fixtures"

HORIZON_WEEKS = 39
CLV_MONTHS = 12
DISCOUNT = 0.01


def main() -> None:
    data = pd.read_csv(DATA)
    # One row has t_x a hair above T from rounding; lifetimes rejects it, so clip.
    data["t_x"] = data[["t_x", "T"]].min(axis=1)
    x, t_x, T, zbar = data["x"], data["t_x"], data["T"], data["zbar"]

    bgf = BetaGeoFitter().fit(x, t_x, T)
    repeat = data[data["x"] > 0]
    ggf = GammaGammaFitter().fit(repeat["x"], repeat["zbar"])

    out = pd.DataFrame(
        {
            "id": data["ID"],
            "frequency": x,
            "recency": t_x,
            "T": T,
            "monetary": zbar,
            "p_alive": bgf.conditional_probability_alive(x, t_x, T),
            "expected_purchases_39": bgf.conditional_expected_number_of_purchases_up_to_time(
                HORIZON_WEEKS, x, t_x, T
            ),
            "expected_spend": ggf.conditional_expected_average_profit(x, zbar),
            "clv": ggf.customer_lifetime_value(
                bgf, x, t_x, T, zbar, time=CLV_MONTHS, discount_rate=DISCOUNT, freq="W"
            ),
        }
    )
    OUT.mkdir(parents=True, exist_ok=True)
    out.to_csv(OUT / "lifetimes_cdnow.csv", index=False, float_format="%.17g")

    params = pd.concat([bgf.params_, ggf.params_])
    # lifetimes reports the mean negative log-likelihood of the data rescaled to max(T) = 1;
    # rescaling time by c shifts each customer's log-likelihood by -x ln c, so undo it to
    # get the log-likelihood in weeks.
    scaled = -bgf._negative_log_likelihood_ * len(data)
    params["bgnbd_log_likelihood"] = scaled + x.sum() * np.log(bgf._scale)
    params.rename_axis("name").rename("value").to_frame().to_csv(
        OUT / "lifetimes_cdnow_params.csv", float_format="%.17g"
    )


if __name__ == "__main__":
    main()
