//! Criterion benchmarks of the customer-base pipeline on simulated customers:
//! `cargo bench -p analytics --bench customer_base`.

use analytics::bgnbd::{self, BgNbdParams};
use analytics::clv::{score_customers, ClvOptions};
use analytics::gamma_gamma::{self, GammaGammaParams};
use analytics::simulate::Simulator;
use analytics::summary::{CustomerSummary, PurchaseHistory, SummaryBuilder, TimeUnit};
use chrono::{Days, NaiveDate};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SIZES: [usize; 2] = [100_000, 1_000_000];

fn end() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 6, 30).expect("valid date")
}

/// Transactions of `customers` simulated customers, in customer then date order.
fn transactions(customers: usize) -> Vec<(String, NaiveDate, f64)> {
    let bg = BgNbdParams {
        r: 0.35,
        alpha: 30.0,
        a: 0.8,
        b: 2.4,
    };
    let gg = GammaGammaParams {
        p: 6.25,
        q: 3.74,
        v: 15.44,
    };
    let simulator = Simulator::new(&bg, &gg).expect("valid parameters");
    let mut rng = StdRng::seed_from_u64(1);
    let start = end() - Days::new(545);
    let mut rows = Vec::new();
    for customer in 0..customers {
        let first = start + Days::new(rng.gen_range(0..365));
        let id = format!("C{customer:08}");
        for (time, amount) in simulator.purchases(&mut rng, (end() - first).num_days() as f64) {
            rows.push((id.clone(), first + Days::new(time as u64), amount));
        }
    }
    rows
}

fn summarize(rows: &[(String, NaiveDate, f64)]) -> Vec<CustomerSummary> {
    let mut builder = SummaryBuilder::new(end(), TimeUnit::Week);
    for (customer, date, amount) in rows {
        builder.push(customer, *date, *amount).expect("valid rows");
    }
    builder.finish().0
}

fn bench(c: &mut Criterion) {
    for customers in SIZES {
        let rows = transactions(customers);
        let summaries = summarize(&rows);
        let histories: Vec<PurchaseHistory> =
            summaries.iter().map(CustomerSummary::history).collect();
        let spend: Vec<(u32, f64)> = summaries
            .iter()
            .map(|s| (s.frequency, s.monetary))
            .collect();
        let bg = bgnbd::fit(&histories, &bgnbd::FitOptions::default()).expect("fit");
        let gg = gamma_gamma::fit(&spend, &gamma_gamma::FitOptions::default()).expect("fit");
        let options = ClvOptions {
            unit: TimeUnit::Week,
            ..ClvOptions::default()
        };

        let mut group = c.benchmark_group("customer_base");
        group.sample_size(10);
        group.bench_with_input(BenchmarkId::new("summary", customers), &rows, |b, rows| {
            b.iter(|| summarize(rows))
        });
        group.bench_with_input(
            BenchmarkId::new("bgnbd_fit", customers),
            &histories,
            |b, h| b.iter(|| bgnbd::fit(h, &bgnbd::FitOptions::default())),
        );
        group.bench_with_input(
            BenchmarkId::new("gamma_gamma_fit", customers),
            &spend,
            |b, s| b.iter(|| gamma_gamma::fit(s, &gamma_gamma::FitOptions::default())),
        );
        group.bench_with_input(BenchmarkId::new("clv", customers), &summaries, |b, s| {
            b.iter(|| score_customers(&bg.params, &gg.params, s, &options))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
