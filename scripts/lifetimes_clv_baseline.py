"""The `peyvand analyze clv` pipeline done with the `lifetimes` package, as a timing baseline.

Reads a transactions CSV (customer_id,date,amount), summarises it in weeks with same-day
purchases counted once, fits BetaGeoFitter and GammaGammaFitter, and writes P(alive),
expected purchases and 12-month CLV per customer.

Usage: python scripts/lifetimes_clv_baseline.py TRANSACTIONS.csv CALIBRATION_END OUT.csv
(install with: pip install -r scripts/requirements-lifetimes.txt)
"""

import sys

import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data

HORIZON_MONTHS = 12
DISCOUNT = 0.01


def main(transactions: str, calibration_end: str, out: str) -> None:
    data = pd.read_csv(transactions, dtype={"customer_id": str})
    summary = summary_data_from_transaction_data(
        data,
        "customer_id",
        "date",
        monetary_value_col="amount",
        observation_period_end=calibration_end,
        freq="D",
        freq_multiplier=7,
    )
    f, r, t, m = summary["frequency"], summary["recency"], summary["T"], summary["monetary_value"]
    bgf = BetaGeoFitter().fit(f, r, t)
    repeat = summary[f > 0]
    ggf = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    print("\n".join(f"{name} = {value}" for name, value in pd.concat([bgf.params_, ggf.params_]).items()))
    summary["p_alive"] = bgf.conditional_probability_alive(f, r, t)
    summary["expected_purchases"] = bgf.conditional_expected_number_of_purchases_up_to_time(
        HORIZON_MONTHS * 4.345, f, r, t
    )
    summary["expected_spend"] = ggf.conditional_expected_average_profit(f, m)
    summary["clv"] = ggf.customer_lifetime_value(
        bgf, f, r, t, m, time=HORIZON_MONTHS, discount_rate=DISCOUNT, freq="W"
    )
    summary.to_csv(out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
