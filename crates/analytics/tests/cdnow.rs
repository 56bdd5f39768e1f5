//! Reference values on the CDNOW sample (see `testdata/cdnow/README.md`).

use analytics::bgnbd::{self, BgNbdParams};
use analytics::gamma_gamma;
use analytics::summary::{CustomerSummary, PurchaseHistory, SummaryBuilder, TimeUnit};
use chrono::NaiveDate;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/cdnow/");

/// Relative difference of `value` from `expected`, for "three significant figures" checks.
fn assert_3sf(name: &str, value: f64, expected: f64) {
    let tolerance = 0.5 * 10f64.powf(expected.abs().log10().floor() - 2.0);
    assert!(
        (value - expected).abs() <= tolerance,
        "{name} = {value}, published {expected}"
    );
}

/// (x, t_x, T, z̄) from `cdnow_customers_summary_with_transactions.csv`. One row has t_x a
/// hair above T from rounding (README); it is clipped to T.
fn calibration_summary() -> Vec<(PurchaseHistory, f64)> {
    let path = format!("{DATA}cdnow_customers_summary_with_transactions.csv");
    let mut reader = csv::Reader::from_path(&path).expect("CDNOW summary present");
    reader
        .records()
        .map(|record| {
            let record = record.expect("CSV row");
            let field = |i: usize| record[i].parse::<f64>().expect("number");
            let t = field(3);
            let history = PurchaseHistory {
                frequency: field(1) as u32,
                recency: field(2).min(t),
                t,
            };
            (history, field(4))
        })
        .collect()
}

fn check_bgnbd(histories: &[PurchaseHistory]) -> BgNbdParams {
    let fit = bgnbd::fit(histories, &bgnbd::FitOptions::default()).expect("BG/NBD fit");
    assert_3sf("r", fit.params.r, 0.243);
    assert_3sf("alpha", fit.params.alpha, 4.414);
    assert_3sf("a", fit.params.a, 0.793);
    assert_3sf("b", fit.params.b, 2.426);
    assert_3sf("log-likelihood", fit.report.log_likelihood, -9582.4);
    assert_eq!(fit.report.customers, 2357);
    assert!(fit.report.optimizer.converged);
    fit.params
}

fn check_gamma_gamma(rows: &[(u32, f64)]) {
    let fit = gamma_gamma::fit(rows, &gamma_gamma::FitOptions::default()).expect("GG fit");
    assert_3sf("p", fit.params.p, 6.25);
    assert_3sf("q", fit.params.q, 3.74);
    assert_3sf("v", fit.params.v, 15.44);
    assert_eq!(fit.report.customers, 946);
    // CDNOW spend is only weakly related to frequency (lifetimes' docs report ~0.11).
    assert!(fit.report.frequency_monetary_correlation.abs() < 0.2);
}

#[test]
fn fits_the_published_parameters_on_the_calibration_summary() {
    let path = format!("{DATA}cdnow_customers_summary.csv");
    let mut reader = csv::Reader::from_path(&path).expect("CDNOW summary present");
    let histories: Vec<PurchaseHistory> = reader
        .records()
        .map(|record| {
            let record = record.expect("CSV row");
            let field = |i: usize| record[i].parse::<f64>().expect("number");
            PurchaseHistory {
                frequency: field(1) as u32,
                recency: field(2).min(field(3)),
                t: field(3),
            }
        })
        .collect();
    check_bgnbd(&histories);

    let rows: Vec<(u32, f64)> = calibration_summary()
        .iter()
        .map(|(h, m)| (h.frequency, *m))
        .collect();
    check_gamma_gamma(&rows);
}

#[test]
fn fits_the_published_parameters_from_raw_transactions() {
    let text = std::fs::read_to_string(format!("{DATA}CDNOW_sample.txt")).expect("CDNOW sample");
    let end = NaiveDate::from_ymd_opt(1997, 9, 30).expect("date");
    let mut builder = SummaryBuilder::new(end, TimeUnit::Week);
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let date = NaiveDate::parse_from_str(fields[2], "%Y%m%d").expect("date");
        let amount: f64 = fields[4].parse().expect("amount");
        // The second column numbers the sampled customers 1..2357 in the order of the
        // published summary's `ID`; zero-padded, it also sorts that way.
        builder
            .push(fields[1], date, amount)
            .expect("sorted sample");
    }
    let (summaries, report) = builder.finish();
    assert_eq!(report.customers, 2357);

    // The summary agrees with the published calibration summary to its two decimals.
    let published = calibration_summary();
    for (ours, (theirs, zbar)) in summaries.iter().zip(&published) {
        assert_eq!(ours.frequency, theirs.frequency, "{}", ours.customer_id);
        assert!((ours.recency - theirs.recency).abs() < 0.0051 + 1e-9);
        assert!((ours.t - theirs.t).abs() < 0.0051);
        assert!((ours.monetary - zbar).abs() < 0.0051);
    }

    let histories: Vec<PurchaseHistory> = summaries.iter().map(CustomerSummary::history).collect();
    check_bgnbd(&histories);
    let rows: Vec<(u32, f64)> = summaries
        .iter()
        .map(|s| (s.frequency, s.monetary))
        .collect();
    check_gamma_gamma(&rows);
}

/// Relative difference of `value` from `expected`.
fn relative(value: f64, expected: f64) -> f64 {
    ((value - expected) / expected).abs()
}

#[test]
fn gamma_gamma_is_fitted_in_any_currency_unit() {
    let rows: Vec<(u32, f64)> = calibration_summary()
        .iter()
        .map(|(h, m)| (h.frequency, *m))
        .collect();
    let dollars = gamma_gamma::fit(&rows, &gamma_gamma::FitOptions::default()).expect("GG fit");
    // The same amounts in rials at an invented rate, and in thousandths: the fit must
    // converge to the same p and q, with γ and its standard error in the new unit (to
    // the optimiser's tolerance: the scaled amounts differ in their last bits).
    for factor in [1_000_000.0, 0.001] {
        let converted: Vec<(u32, f64)> = rows.iter().map(|&(x, m)| (x, m * factor)).collect();
        let fit = gamma_gamma::fit(&converted, &gamma_gamma::FitOptions::default())
            .unwrap_or_else(|err| panic!("GG fit at {factor}: {err}"));
        assert!(relative(fit.params.p, dollars.params.p) < 1e-6, "{factor}");
        assert!(relative(fit.params.q, dollars.params.q) < 1e-6, "{factor}");
        assert!(
            relative(fit.params.v, dollars.params.v * factor) < 1e-6,
            "{factor}"
        );
        assert!(
            relative(
                fit.report.standard_errors.v,
                dollars.report.standard_errors.v * factor
            ) < 1e-4,
            "{factor}"
        );
        let shift = rows.iter().filter(|(x, _)| *x > 0).count() as f64 * factor.ln();
        assert!(
            (fit.report.log_likelihood - (dollars.report.log_likelihood - shift)).abs() < 1e-6,
            "{factor}"
        );
    }
}
