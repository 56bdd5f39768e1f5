//! Writes a CSV of simulated transactions (`customer_id,date,amount`) for benchmarks.
//!
//! Usage: `cargo run --release -p analytics --example simulate_transactions -- CUSTOMERS OUT.csv [SEED]`
//!
//! Customers are acquired uniformly over 2023 and observed to 2024-06-30, with CDNOW-like
//! BG/NBD and Gamma-Gamma parameters in days; about three transactions per customer.

use std::io::{BufWriter, Write};

use analytics::bgnbd::BgNbdParams;
use analytics::gamma_gamma::GammaGammaParams;
use analytics::simulate::Simulator;
use chrono::{Days, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: simulate_transactions CUSTOMERS OUT.csv [SEED]";
    let customers: u64 = args.next().ok_or(usage)?.parse()?;
    let out = args.next().ok_or(usage)?;
    let seed: u64 = args.next().map_or(Ok(1), |s| s.parse())?;

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
    let simulator = Simulator::new(&bg, &gg)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let start = NaiveDate::from_ymd_opt(2023, 1, 1).ok_or("date")?;
    let end = NaiveDate::from_ymd_opt(2024, 6, 30).ok_or("date")?;
    let mut file = BufWriter::with_capacity(1 << 20, std::fs::File::create(&out)?);
    writeln!(file, "customer_id,date,amount")?;
    let mut transactions = 0u64;
    for customer in 0..customers {
        let first = start + Days::new(rng.gen_range(0..365));
        let observed_days = (end - first).num_days() as f64;
        for (time, amount) in simulator.purchases(&mut rng, observed_days) {
            let date = first + Days::new(time as u64);
            writeln!(file, "C{customer:08},{date},{amount:.2}")?;
            transactions += 1;
        }
    }
    file.flush()?;
    eprintln!("{customers} customers, {transactions} transactions -> {out}");
    Ok(())
}
