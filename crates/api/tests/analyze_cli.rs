//! `peyvand analyze clv` end to end: the built binary on CSV files.

use std::path::PathBuf;
use std::process::{Command, Output};

const CDNOW_SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/cdnow/CDNOW_sample.txt"
);

fn scratch(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("analyze_cli_{name}"))
}

fn analyze(transactions: &PathBuf, out: &PathBuf, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_peyvand"))
        .args(["analyze", "clv", "--transactions"])
        .arg(transactions)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("the binary runs")
}

fn parameter(stdout: &str, name: &str) -> f64 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} = ")))
        .unwrap_or_else(|| panic!("no `{name}` in {stdout}"))
        .parse()
        .expect("a number")
}

#[test]
fn scores_the_cdnow_sample() {
    // The sample as CSV: its second column numbers the customers, the third is YYYYMMDD.
    let text = std::fs::read_to_string(CDNOW_SAMPLE).expect("CDNOW sample");
    let mut csv = String::from("id,day,value\n");
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let d = f[2];
        csv += &format!(
            "{},{}-{}-{}T12:00:00,{}\n",
            f[1],
            &d[..4],
            &d[4..6],
            &d[6..],
            f[4]
        );
    }
    let input = scratch("cdnow.csv");
    std::fs::write(&input, csv).expect("write input");
    let out = scratch("cdnow_scores.csv");
    let output = analyze(
        &input,
        &out,
        &[
            "--calibration-end",
            "1997-09-30",
            "--unit",
            "week",
            "--horizon-months",
            "12",
            "--discount",
            "0.01",
            "--customer-column",
            "id",
            "--date-column",
            "day",
            "--amount-column",
            "value",
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Published values (Fader, Hardie & Lee 2005).
    for (name, expected, tolerance) in [
        ("bgnbd.r", 0.243, 0.0005),
        ("bgnbd.alpha", 4.414, 0.005),
        ("bgnbd.a", 0.793, 0.0005),
        ("bgnbd.b", 2.426, 0.005),
        ("gamma_gamma.p", 6.25, 0.005),
        ("gamma_gamma.q", 3.74, 0.005),
        ("gamma_gamma.v", 15.44, 0.05),
    ] {
        let value = parameter(&stdout, name);
        assert!((value - expected).abs() < tolerance, "{name} = {value}");
    }
    let scores = std::fs::read_to_string(&out).expect("scores written");
    let mut lines = scores.lines();
    assert_eq!(
        lines.next(),
        Some("customer_id,frequency,recency,T,monetary,p_alive,expected_purchases,expected_spend,clv,r_score,f_score,m_score,rfm_segment")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2357);
    // Customer 1: x = 2, P(alive) = 0.7266 at these parameters (lifetimes agrees).
    assert_eq!(rows[0][0], "0001");
    assert_eq!(rows[0][1], "2");
    let p_alive: f64 = rows[0][5].parse().expect("number");
    assert!((p_alive - 0.7266).abs() < 1e-3, "{p_alive}");
    for row in &rows {
        let p: f64 = row[5].parse().expect("number");
        assert!((0.0..=1.0).contains(&p));
        assert!(row[8].parse::<f64>().expect("number") >= 0.0);
    }
}

#[test]
fn bad_input_stops_with_the_line_and_the_reason() {
    let cases = [
        (
            "missing_column",
            "customer_id,day,amount\na,2024-01-01,5\n",
            "missing column `date`",
        ),
        (
            "bad_date",
            "customer_id,date,amount\na,2024-01-01,5\nb,2024-13-01,3\n",
            "line 3",
        ),
        (
            "bad_amount",
            "customer_id,date,amount\na,2024-01-01,five\n",
            "line 2: amount `five` is not a number",
        ),
        (
            "negative_amount",
            "customer_id,date,amount\na,2024-01-01,5\na,2024-02-01,-3\n",
            "line 3: amount -3 is negative",
        ),
        (
            "short_row",
            "customer_id,date,amount\na,2024-01-01\n",
            "line 2",
        ),
    ];
    for (name, content, message) in cases {
        let input = scratch(&format!("{name}.csv"));
        std::fs::write(&input, content).expect("write input");
        let output = analyze(
            &input,
            &scratch(&format!("{name}_out.csv")),
            &["--calibration-end", "2024-06-30"],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{name} succeeded");
        assert!(stderr.contains(message), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
    let missing = analyze(
        &scratch("does_not_exist.csv"),
        &scratch("x.csv"),
        &["--calibration-end", "2024-06-30"],
    );
    assert!(!missing.status.success());
}

/// The CDNOW sample repeated `copies` times with distinct customer ids, as
/// `(id, date, amount)` rows grouped by customer and in date order.
fn cdnow_copies(copies: u32) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(CDNOW_SAMPLE).expect("CDNOW sample");
    let mut rows = Vec::new();
    for copy in 0..copies {
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let d = f[2];
            rows.push((
                format!("R{copy:03}-{}", f[1]),
                format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..]),
                f[4].to_string(),
            ));
        }
    }
    rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    rows
}

fn to_csv(rows: &[(String, String, String)]) -> String {
    let mut csv = String::from("customer_id,date,amount\n");
    for (id, date, amount) in rows {
        csv += &format!("{id},{date},{amount}\n");
    }
    csv
}

/// The same rows with every id quoted.
fn to_quoted_csv(rows: &[(String, String, String)]) -> String {
    let mut csv = String::from("customer_id,date,amount\n");
    for (id, date, amount) in rows {
        csv += &format!("\"{id}\",{date},{amount}\n");
    }
    csv
}

fn score_lines(path: &PathBuf) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("scores written");
    text.lines().map(String::from).collect()
}

#[test]
fn large_files_give_the_same_scores_in_any_row_order() {
    // Large enough to be read in two parts.
    let rows = cdnow_copies(40);
    let mut by_date = rows.clone();
    by_date.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    let mut descending_ids = rows.clone();
    descending_ids.sort_by(|a, b| (&b.0, &a.1).cmp(&(&a.0, &b.1)));
    // Not in date order within customers: read again and sorted by date.
    let mut shuffled = rows.clone();
    shuffled.reverse();
    let mut outputs = Vec::new();
    for (name, csv) in [
        ("grouped", to_csv(&rows)),
        ("by_date", to_csv(&by_date)),
        ("descending_ids", to_csv(&descending_ids)),
        ("shuffled", to_csv(&shuffled)),
        ("quoted", to_quoted_csv(&rows)),
    ] {
        let input = scratch(&format!("{name}.csv"));
        std::fs::write(&input, csv).expect("write input");
        let out = scratch(&format!("{name}_scores.csv"));
        let output = analyze(&input, &out, &["--calibration-end", "1997-09-30"]);
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        outputs.push((name, score_lines(&out)));
    }
    let (_, expected) = &outputs[0];
    assert_eq!(expected.len(), 40 * 2357 + 1);
    for (name, lines) in &outputs[1..] {
        assert_eq!(lines.len(), expected.len(), "{name}");
        for (line, expected_line) in lines.iter().zip(expected) {
            let (fields, expected_fields): (Vec<&str>, Vec<&str>) = (
                line.split(',').collect(),
                expected_line.split(',').collect(),
            );
            assert_eq!(fields[0], expected_fields[0], "{name}");
            for (value, expected_value) in fields.iter().zip(&expected_fields).skip(1) {
                match (value.parse::<f64>(), expected_value.parse::<f64>()) {
                    (Ok(v), Ok(e)) => assert!(
                        (v - e).abs() <= 1e-9 * e.abs().max(1.0),
                        "{name}: {line} vs {expected_line}"
                    ),
                    _ => assert_eq!(value, expected_value, "{name}"),
                }
            }
        }
    }
}

#[test]
fn errors_in_the_second_half_of_a_large_file_name_their_line() {
    let rows = cdnow_copies(40);
    let mut lines: Vec<String> = to_csv(&rows).lines().map(String::from).collect();
    let bad = lines.len() - 10;
    lines[bad] = "R999-0001,1997-01-01,-1".into();
    let input = scratch("late_error.csv");
    std::fs::write(&input, lines.join("\n") + "\n").expect("write input");
    let output = analyze(
        &input,
        &scratch("late_error_scores.csv"),
        &["--calibration-end", "1997-09-30"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("line {}: amount -1 is negative", bad + 1)),
        "{stderr}"
    );
}

/// Latin digits as Persian (`۰`–`۹`) or Arabic-Indic (`٠`–`٩`) ones.
fn eastern_digits(text: &str, arabic: bool) -> String {
    let zero = if arabic { '\u{0660}' } else { '\u{06F0}' };
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(zero as u32 + d).expect("a digit"),
            None => c,
        })
        .collect()
}

/// `n` with a thousands separator between groups of three digits.
fn grouped(n: u64, separator: &str) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out += separator;
        }
        out.push(c);
    }
    out
}

#[test]
fn jalali_dates_and_persian_digits_give_the_same_figures_as_iso() {
    // The CDNOW sample with amounts in cents, so that many have thousands; once as ISO
    // dates and plain numbers, once as Jalali dates (both separators, some with a time)
    // and amounts in Persian or Arabic-Indic digits with thousands separators.
    let text = std::fs::read_to_string(CDNOW_SAMPLE).expect("CDNOW sample");
    let mut iso = String::from("customer_id,date,amount\n");
    let mut jalali = iso.clone();
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let date = chrono::NaiveDate::parse_from_str(f[2], "%Y%m%d").expect("a date");
        let cents = (f[4].parse::<f64>().expect("an amount") * 100.0).round() as u64;
        iso += &format!("{},{date},{cents}\n", f[1]);
        let written = domain::calendar::JalaliDate::from_gregorian(date).to_string();
        let (date, amount) = match i % 4 {
            0 => (eastern_digits(&written, false), grouped(cents, "٬")),
            1 => (
                written.replace('/', "-"),
                format!("\"{}\"", grouped(cents, ",")),
            ),
            2 => (
                eastern_digits(&format!("{written} 12:00:00"), true),
                eastern_digits(&cents.to_string(), true),
            ),
            _ => (
                written,
                format!("\"{}\"", eastern_digits(&grouped(cents, ","), false)),
            ),
        };
        jalali += &format!("{},{date},{amount}\n", f[1]);
    }
    assert!(
        jalali.contains("۱۳۷۶/") && jalali.contains('٬'),
        "{jalali:.200}"
    );
    let mut results = Vec::new();
    for (name, csv, end) in [
        ("iso_dates", iso, "1997-09-30"),
        ("jalali_dates", jalali, "1376/07/08"),
    ] {
        let input = scratch(&format!("{name}.csv"));
        std::fs::write(&input, csv).expect("write input");
        let out = scratch(&format!("{name}_scores.csv"));
        let output = analyze(&input, &out, &["--calibration-end", end]);
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        results.push((
            String::from_utf8_lossy(&output.stdout).into_owned(),
            score_lines(&out),
        ));
    }
    let (iso_fit, iso_scores) = &results[0];
    let (jalali_fit, jalali_scores) = &results[1];
    assert!(
        (parameter(iso_fit, "bgnbd.r") - 0.243).abs() < 0.0005,
        "{iso_fit}"
    );
    assert_eq!(parameter(iso_fit, "transactions_used"), 4960.0, "{iso_fit}");
    assert_eq!(jalali_fit, iso_fit);
    assert_eq!(iso_scores.len(), 2358);
    assert_eq!(jalali_scores, iso_scores);
}
