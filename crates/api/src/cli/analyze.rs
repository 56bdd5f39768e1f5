//! `peyvand analyze`: customer-base analytics on files, without a database.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{IsTerminal, Read, Seek, SeekFrom, Write};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::panic;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;

use analytics::bgnbd::{self, BgNbdFit};
use analytics::clv::{ClvOptions, ClvScorer};
use analytics::export::{write_score_row, ScoreRow, SCORE_HEADER};
use analytics::gamma_gamma::{self, GammaGammaFit};
use analytics::rfm::{self, RfmInput, RfmScore};
use analytics::summary::{
    day_number, day_number_of, CustomerTable, PurchaseHistory, Summaries, SummaryReport, TimeUnit,
};
use anyhow::{anyhow, bail, Context};
use chrono::{NaiveDate, NaiveDateTime};
use domain::customers::sheet::{parse_date, FIRST_GREGORIAN_YEAR};
use domain::persian::{decimal_text, normalize_digits};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(clap::Args, Debug)]
pub struct AnalyzeCommand {
    #[command(subcommand)]
    pub command: AnalyzeSubcommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum AnalyzeSubcommand {
    /// Fit BG/NBD and Gamma-Gamma on a transactions CSV and score every customer:
    /// P(alive), expected purchases and spend, CLV over the horizon, RFM.
    Clv(ClvArgs),
}

#[derive(clap::Args, Debug)]
pub struct ClvArgs {
    /// CSV with a header row: one transaction per row.
    #[arg(long)]
    pub transactions: PathBuf,
    /// Last day of the calibration period (ISO `YYYY-MM-DD` or Jalali `YYYY/MM/DD`); later
    /// transactions are ignored.
    #[arg(long, value_parser = parse_calibration_end)]
    pub calibration_end: NaiveDate,
    /// Time unit of recency and T: day, week or month.
    #[arg(long, default_value = "week")]
    pub unit: TimeUnit,
    /// CLV horizon in months; expected purchases are over the same horizon.
    #[arg(long, default_value_t = 12)]
    pub horizon_months: u32,
    /// Monthly discount rate.
    #[arg(long, default_value_t = 0.01)]
    pub discount: f64,
    /// Share of revenue that is margin.
    #[arg(long, default_value_t = 1.0)]
    pub margin: f64,
    /// L2 penalty of both fits (as `penalizer_coef` in `lifetimes`).
    #[arg(long, default_value_t = 0.0)]
    pub penalizer: f64,
    #[arg(long, default_value = "customer_id")]
    pub customer_column: String,
    /// Date or date-time as the customer import reads it: ISO 8601 or Jalali
    /// (`1403/01/15`, `1403-01-15`), Persian digits too; the date as written is the
    /// purchase day.
    #[arg(long, default_value = "date")]
    pub date_column: String,
    /// Non-negative amount of the transaction; Persian digits and thousands separators
    /// (`۱۲٬۵۰۰`, `12,500`) are read as people write them.
    #[arg(long, default_value = "amount")]
    pub amount_column: String,
    /// Where to write one row of scores per customer.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(command: AnalyzeCommand) -> anyhow::Result<()> {
    match command.command {
        AnalyzeSubcommand::Clv(args) => clv(&args),
    }
}

fn clv(args: &ClvArgs) -> anyhow::Result<()> {
    let options = ClvOptions {
        horizon_months: args.horizon_months,
        monthly_discount_rate: args.discount,
        margin: args.margin,
        unit: args.unit,
    };
    options.validate()?;
    let (table, report) = summarize(args)?;
    if table.is_empty() {
        bail!("no transactions on or before {}", args.calibration_end);
    }
    let summaries = table.finish(day_number_of(args.calibration_end), args.unit);
    let (bg, gg, scores) = fit_and_rank(args, &summaries)?;
    print_fit(&report, &bg, &gg, args.unit);
    let scorer = ClvScorer::new(&bg.params, &gg.params, &options)?;
    write_scores(&args.out, &summaries, &scores, &scorer)
}

/// Both fits and the RFM scores. The BG/NBD fit is the longest step of the command; the
/// Gamma-Gamma fit and RFM run beside it on a second thread.
fn fit_and_rank(
    args: &ClvArgs,
    summaries: &Summaries,
) -> anyhow::Result<(BgNbdFit, GammaGammaFit, Vec<RfmScore>)> {
    let all = || (0..summaries.len()).map(|c| summaries.get(c));
    let histories: Vec<PurchaseHistory> = all().map(|s| s.history()).collect();
    let spend: Vec<(u32, f64)> = all().map(|s| (s.frequency, s.monetary)).collect();
    let rfm_inputs: Vec<RfmInput> = all()
        .map(|s| RfmInput {
            recency_days: f64::from(s.days_since_last_purchase),
            frequency: f64::from(s.frequency + 1),
            monetary: s.total_amount,
        })
        .collect();
    let penalizer = args.penalizer;
    thread::scope(|scope| {
        let spend_side = scope.spawn(|| -> anyhow::Result<_> {
            let gg = gamma_gamma::fit(
                &spend,
                &gamma_gamma::FitOptions {
                    penalizer,
                    ..Default::default()
                },
            )
            .context("fitting Gamma-Gamma")?;
            Ok((gg, rfm::score(&rfm_inputs)?))
        });
        let bg = bgnbd::fit(
            &histories,
            &bgnbd::FitOptions {
                penalizer,
                ..Default::default()
            },
        )
        .context("fitting BG/NBD");
        let spend_side = spend_side
            .join()
            .unwrap_or_else(|e| panic::resume_unwind(e));
        // A BG/NBD error first, as when the fits ran one after the other.
        let bg = bg?;
        let (gg, scores) = spend_side?;
        Ok((bg, gg, scores))
    })
}

fn print_fit(report: &SummaryReport, bg: &BgNbdFit, gg: &GammaGammaFit, unit: TimeUnit) {
    let lines: [(&str, String); 17] = [
        ("transactions_used", report.rows_used.to_string()),
        (
            "transactions_after_calibration_end",
            report.rows_after_calibration_end.to_string(),
        ),
        ("customers", report.customers.to_string()),
        ("unit", unit.name().to_string()),
        ("bgnbd.r", bg.params.r.to_string()),
        ("bgnbd.alpha", bg.params.alpha.to_string()),
        ("bgnbd.a", bg.params.a.to_string()),
        ("bgnbd.b", bg.params.b.to_string()),
        ("bgnbd.log_likelihood", bg.report.log_likelihood.to_string()),
        (
            "bgnbd.iterations",
            bg.report.optimizer.iterations.to_string(),
        ),
        (
            "bgnbd.distinct_histories",
            bg.report.distinct_histories.to_string(),
        ),
        ("gamma_gamma.p", gg.params.p.to_string()),
        ("gamma_gamma.q", gg.params.q.to_string()),
        ("gamma_gamma.v", gg.params.v.to_string()),
        (
            "gamma_gamma.log_likelihood",
            gg.report.log_likelihood.to_string(),
        ),
        ("gamma_gamma.customers", gg.report.customers.to_string()),
        (
            "gamma_gamma.frequency_monetary_correlation",
            gg.report.frequency_monetary_correlation.to_string(),
        ),
    ];
    for (name, value) in lines {
        println!("{name} = {value}");
    }
}

/// Customers per block of output: large enough that a block is a few hundred kilobytes,
/// small enough that the blocks in flight stay a few megabytes.
const OUTPUT_BLOCK: usize = 16_384;

/// Scores and formats blocks of customers on every core; this thread writes the blocks
/// in order.
fn write_scores(
    path: &Path,
    summaries: &Summaries,
    scores: &[RfmScore],
    scorer: &ClvScorer,
) -> anyhow::Result<()> {
    let mut file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let failed = |e| anyhow!("writing {}: {e}", path.display());
    file.write_all(SCORE_HEADER.as_bytes()).map_err(failed)?;
    let n = summaries.len();
    let blocks = n.div_ceil(OUTPUT_BLOCK);
    let workers = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let next = AtomicUsize::new(0);
    thread::scope(|scope| {
        let (sender, receiver) = mpsc::sync_channel::<(usize, Vec<u8>)>(workers);
        for _ in 0..workers {
            let (sender, next, mut scorer) = (sender.clone(), &next, scorer.clone());
            scope.spawn(move || loop {
                let block = next.fetch_add(1, Ordering::Relaxed);
                if block >= blocks {
                    break;
                }
                let customers = block * OUTPUT_BLOCK..((block + 1) * OUTPUT_BLOCK).min(n);
                let mut out = Vec::with_capacity(customers.len() * 160);
                for c in customers {
                    let s = summaries.get(c);
                    let history = s.history();
                    let row = ScoreRow {
                        customer_id: summaries.customer_id(c),
                        history,
                        monetary: s.monetary,
                        value: scorer.score(&history, s.monetary, s.total_amount),
                        rfm: scores[c],
                    };
                    write_score_row(&mut out, &row);
                }
                // The receiver is gone only when writing failed; that error is reported.
                if sender.send((block, out)).is_err() {
                    break;
                }
            });
        }
        drop(sender);
        let mut pending = BTreeMap::new();
        let mut written = 0;
        for (block, out) in receiver {
            pending.insert(block, out);
            while let Some(out) = pending.remove(&written) {
                file.write_all(&out).map_err(failed)?;
                written += 1;
            }
        }
        Ok(())
    })
}

/// Where the columns are and where the data starts.
struct Layout {
    customer: usize,
    date: usize,
    amount: usize,
    fields: usize,
    /// Byte offset and line number of the first data row.
    data_start: u64,
    first_line: u64,
    size: u64,
}

/// Why reading stopped early.
enum Stop {
    /// A bad row: its line counted from the start of the part read (0 when unknown), and
    /// the reason.
    Row(u64, String),
    /// Some customer's transactions are not in date order.
    OutOfOrder,
}

/// What reading a part of the file counted.
struct PartEnd {
    rows_used: u64,
    rows_after_calibration_end: u64,
    /// Line after the part's last row, counted from the start of the part.
    end_line: u64,
}

/// Summaries in one pass over the file: its two halves on two threads, each into its own
/// table, the second then appended to the first. If some customer's rows are not in date
/// order, the transactions are read again into memory and sorted by date (the tables keep
/// only the last purchase day of each customer).
fn summarize(args: &ClvArgs) -> anyhow::Result<(CustomerTable, SummaryReport)> {
    let path = &args.transactions;
    let layout = read_layout(args)?;
    let end = day_number_of(args.calibration_end);
    let progress = progress_bar(path, layout.size);
    let quoted = AtomicBool::new(false);
    let whole = layout.data_start..layout.size;
    let split =
        split_point(path, &layout).with_context(|| format!("reading {}", path.display()))?;
    let read = |range: Range<u64>, table: &mut CustomerTable| {
        read_part(
            path,
            &layout,
            range,
            end,
            &quoted,
            progress.as_ref(),
            |c, d, a| table.add(c, d, a).map_err(|_| Stop::OutOfOrder),
        )
    };
    // No row is shorter than this many bytes ("a,2024-01-01,1\n"), so a part of the file
    // has at most its length over it in customers. An index, if ids come out of order and
    // one is needed, is sized for that: its untouched slots cost address space, not
    // memory, while growing it rehashes every id.
    let customers_at_most = |bytes: u64| (bytes / 15) as usize;
    let mut table = CustomerTable::with_capacity(customers_at_most(
        split.unwrap_or(layout.size) - layout.data_start,
    ));
    let mut streamed = match split {
        Some(at) => {
            let mut second_table =
                CustomerTable::with_capacity(customers_at_most(layout.size - at));
            let (first, second) = thread::scope(|scope| {
                let second = scope.spawn(|| read(at..layout.size, &mut second_table));
                let first = read(layout.data_start..at, &mut table);
                (
                    first,
                    second.join().unwrap_or_else(|e| panic::resume_unwind(e)),
                )
            });
            join_parts(first, second, &mut table, second_table)
        }
        None => read(whole.clone(), &mut table),
    };
    // A split inside a quoted field would have misread both parts: with quotes in the
    // file, one sequential read is the safe one.
    if split.is_some() && quoted.load(Ordering::Relaxed) {
        table = CustomerTable::new();
        streamed = read(whole.clone(), &mut table);
    }
    let stopped = |stop| match stop {
        Stop::Row(line, reason) => anyhow!("line {}: {reason}", global_line(&layout, line)),
        Stop::OutOfOrder => anyhow!("transactions of some customer are not in date order"),
    };
    let counts = match streamed {
        Ok(counts) => counts,
        Err(Stop::OutOfOrder) => {
            let mut rows: Vec<(i32, Box<str>, f64)> = Vec::new();
            let counts = read_part(path, &layout, whole, end, &quoted, None, |c, d, a| {
                rows.push((d, c.into(), a));
                Ok(())
            })
            .map_err(stopped)?;
            rows.sort_by_key(|row| row.0);
            table = CustomerTable::new();
            for (day, customer, amount) in rows {
                table.add(&customer, day, amount)?;
            }
            counts
        }
        Err(stop) => return Err(stopped(stop)),
    };
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let report = SummaryReport {
        rows_read: counts.rows_used + counts.rows_after_calibration_end,
        rows_used: counts.rows_used,
        rows_after_calibration_end: counts.rows_after_calibration_end,
        customers: table.len(),
    };
    Ok((table, report))
}

/// The first part's outcome, then the second's (its lines renumbered), as one read would
/// have stopped.
fn join_parts(
    first: Result<PartEnd, Stop>,
    second: Result<PartEnd, Stop>,
    table: &mut CustomerTable,
    second_table: CustomerTable,
) -> Result<PartEnd, Stop> {
    let first = first?;
    let second = second.map_err(|stop| match stop {
        Stop::Row(0, reason) => Stop::Row(0, reason),
        Stop::Row(line, reason) => Stop::Row(first.end_line - 1 + line, reason),
        Stop::OutOfOrder => Stop::OutOfOrder,
    })?;
    table.append(second_table).map_err(|_| Stop::OutOfOrder)?;
    Ok(PartEnd {
        rows_used: first.rows_used + second.rows_used,
        rows_after_calibration_end: first.rows_after_calibration_end
            + second.rows_after_calibration_end,
        end_line: first.end_line - 1 + second.end_line,
    })
}

fn global_line(layout: &Layout, line: u64) -> u64 {
    if line == 0 {
        0
    } else {
        layout.first_line - 1 + line
    }
}

fn read_layout(args: &ClvArgs) -> anyhow::Result<Layout> {
    let path = &args.transactions;
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let size = file
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    let mut reader = csv::ReaderBuilder::new().from_reader(file);
    let headers = reader
        .byte_headers()
        .with_context(|| format!("reading the header of {}", path.display()))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name.as_bytes())
            .ok_or_else(|| {
                anyhow!(
                    "line 1: missing column `{name}` in {} (columns: {})",
                    path.display(),
                    headers
                        .iter()
                        .map(String::from_utf8_lossy)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    };
    Ok(Layout {
        customer: column(&args.customer_column)?,
        date: column(&args.date_column)?,
        amount: column(&args.amount_column)?,
        fields: headers.len(),
        data_start: reader.position().byte(),
        first_line: reader.position().line(),
        size,
    })
}

/// Where the second half of the file starts, or `None` if the file is too small to be
/// worth two threads. The split is at a line start after the middle, moved past the rows
/// of that line's customer: a file grouped by customer then has each customer summed by
/// one thread, in file order, with the same rounding as one sequential read.
fn split_point(path: &Path, layout: &Layout) -> std::io::Result<Option<u64>> {
    const WINDOW: u64 = 1 << 20;
    if layout.size - layout.data_start < 4 * WINDOW {
        return Ok(None);
    }
    let middle = layout.data_start + (layout.size - layout.data_start) / 2;
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(middle))?;
    let mut window = Vec::new();
    file.take(WINDOW).read_to_end(&mut window)?;
    let Some(newline) = window.iter().position(|&b| b == b'\n') else {
        return Ok(None);
    };
    let customer = |line| -> Option<&[u8]> { line_field(line, layout.customer) };
    let mut start = newline + 1;
    let mut first_customer = None;
    while let Some(length) = window[start..].iter().position(|&b| b == b'\n') {
        let line_customer = customer(&window[start..start + length]);
        match first_customer {
            None => first_customer = Some(line_customer),
            Some(first) if first != line_customer => return Ok(Some(middle + start as u64)),
            Some(_) => {}
        }
        start += length + 1;
    }
    Ok(Some(middle + newline as u64 + 1))
}

/// Field `at` of a line without quotes.
fn line_field(line: &[u8], at: usize) -> Option<&[u8]> {
    line.split(|&b| b == b',').nth(at)
}

/// Counts `"` bytes on their way to the CSV reader: a file without any can be split at
/// any line break.
struct QuoteWatch<'a, R> {
    inner: R,
    quoted: &'a AtomicBool,
}

impl<R: Read> Read for QuoteWatch<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if buf[..n].contains(&b'"') {
            self.quoted.store(true, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Reads the data rows in `range` of the file, checks them, counts those after the
/// calibration end and calls `visit(customer, day, amount)` on the others.
fn read_part(
    path: &Path,
    layout: &Layout,
    range: Range<u64>,
    calibration_end: i32,
    quoted: &AtomicBool,
    progress: Option<&ProgressBar>,
    mut visit: impl FnMut(&str, i32, f64) -> Result<(), Stop>,
) -> Result<PartEnd, Stop> {
    let io_error = |e: std::io::Error| Stop::Row(0, format!("reading {}: {e}", path.display()));
    let mut file = File::open(path).map_err(io_error)?;
    file.seek(SeekFrom::Start(range.start)).map_err(io_error)?;
    let source = QuoteWatch {
        inner: file.take(range.end - range.start),
        quoted,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(source);
    let mut record = csv::ByteRecord::new();
    let mut counts = PartEnd {
        rows_used: 0,
        rows_after_calibration_end: 0,
        end_line: 1,
    };
    // Rows and bytes since the progress bar last moved; updating it on every row would
    // cost more than parsing the row.
    let (mut since_update, mut reported) = (0u32, 0);
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            Stop::Row(line, e.to_string())
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        let bad = |reason: String| Stop::Row(line, reason);
        if record.len() != layout.fields {
            return Err(bad(format!(
                "found a record with {} fields, but the header has {}",
                record.len(),
                layout.fields
            )));
        }
        let customer = std::str::from_utf8(&record[layout.customer])
            .map_err(|_| bad("customer is not valid UTF-8".into()))?;
        if customer.is_empty() {
            return Err(bad("empty customer id".into()));
        }
        let raw_date = &record[layout.date];
        let day = parse_day(raw_date).ok_or_else(|| {
            bad(format!(
                "`{}` is not a date or date-time (ISO 8601 or Jalali YYYY/MM/DD)",
                String::from_utf8_lossy(raw_date)
            ))
        })?;
        let raw_amount = std::str::from_utf8(&record[layout.amount])
            .map_err(|_| bad("amount is not valid UTF-8".into()))?;
        let amount = parse_amount(raw_amount)
            .ok_or_else(|| bad(format!("amount `{raw_amount}` is not a number")))?;
        if amount < 0.0 {
            return Err(bad(format!("amount {raw_amount} is negative")));
        }
        if day > calibration_end {
            counts.rows_after_calibration_end += 1;
        } else {
            counts.rows_used += 1;
            visit(customer, day, amount)?;
        }
        since_update += 1;
        if since_update == 65_536 {
            since_update = 0;
            if let Some(bar) = progress {
                let at = reader.position().byte();
                bar.inc(at - reported);
                reported = at;
            }
        }
    }
    if let Some(bar) = progress {
        bar.inc(reader.position().byte() - reported);
    }
    counts.end_line = reader.position().line();
    Ok(counts)
}

fn progress_bar(path: &Path, size: u64) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(size).with_message(path.display().to_string());
    if let Ok(style) = ProgressStyle::with_template("{msg} {wide_bar} {bytes}/{total_bytes} {eta}")
    {
        bar.set_style(style);
    }
    Some(bar)
}

/// `--calibration-end`: a date as the transactions file may write it.
fn parse_calibration_end(text: &str) -> Result<NaiveDate, String> {
    parse_date(text).ok_or_else(|| format!("`{text}` is not a date (YYYY-MM-DD or YYYY/MM/DD)"))
}

/// An amount as a number, read as the customer import reads numbers
/// ([`decimal_text`]: Persian digits, thousands separators). Plain ASCII numbers, the
/// common case, skip the copy that reading the other forms takes.
fn parse_amount(raw: &str) -> Option<f64> {
    let plain = raw.trim().parse::<f64>().ok();
    plain
        .or_else(|| decimal_text(raw)?.parse().ok())
        .filter(|a| a.is_finite())
}

/// The purchase day (see [`day_number`]) of a date written as the customer import reads
/// it: ISO 8601 (`2024-03-01`), or Jalali `1403/01/15` (also with `-`), in ASCII,
/// Persian or Arabic-Indic digits ([`parse_date`]); optionally followed by a time
/// (`T10:00:00` or ` 10:00:00`, with an optional fraction and `Z` or offset). The day is
/// the one written, not converted to another time zone.
fn parse_day(raw: &[u8]) -> Option<i32> {
    parse_iso_day(raw).or_else(|| {
        // The other forms: the date through the import's reader, then the time part
        // checked as after an ISO date.
        let text = std::str::from_utf8(raw).ok()?.trim();
        let text = normalize_digits(text);
        let (date, time) = text.split_at(text.find(['T', ' ']).unwrap_or(text.len()));
        let iso = format!("{}{time}", parse_date(date)?);
        parse_iso_day(iso.as_bytes())
    })
}

/// [`parse_day`] for an ISO 8601 date or date-time in ASCII digits, without allocating:
/// the form of nearly every row.
fn parse_iso_day(raw: &[u8]) -> Option<i32> {
    let raw = raw.trim_ascii();
    let (date, time) = raw.split_at_checked(10)?;
    let day = parse_ymd(date)?;
    if time.is_empty() || is_plain_time(time) {
        return Some(day);
    }
    // Anything else after the date (fractions, offsets) is rare enough for chrono.
    let text = std::str::from_utf8(raw).ok()?.replacen(' ', "T", 1);
    let valid_time = (time.starts_with(b"T") || time.starts_with(b" "))
        && (chrono::DateTime::parse_from_rfc3339(&text).is_ok()
            || text.parse::<NaiveDateTime>().is_ok());
    valid_time.then_some(day)
}

/// `THH:MM:SS` or ` HH:MM:SS`, the common case, checked without a general parser.
fn is_plain_time(t: &[u8]) -> bool {
    let two = |at: usize, below: u32| {
        let (a, b) = (t[at], t[at + 1]);
        a.is_ascii_digit()
            && b.is_ascii_digit()
            && u32::from(a - b'0') * 10 + u32::from(b - b'0') < below
    };
    t.len() == 9
        && (t[0] == b'T' || t[0] == b' ')
        && t[3] == b':'
        && t[6] == b':'
        && two(1, 24)
        && two(4, 60)
        && two(7, 60)
}

/// `YYYY-MM-DD` without the cost of a general format parser (this runs once per row).
/// A year before [`FIRST_GREGORIAN_YEAR`] is Jalali, as in the import, and left to
/// [`parse_date`].
fn parse_ymd(b: &[u8]) -> Option<i32> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |range: Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let year = number(0..4)? as i32;
    if year < FIRST_GREGORIAN_YEAR {
        return None;
    }
    day_number(year, number(5..7)?, number(8..10)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iso_dates_and_date_times() {
        let day = NaiveDate::from_ymd_opt(2024, 3, 1).map(day_number_of);
        assert_eq!(parse_day(b"2024-03-01"), day);
        assert_eq!(parse_day(b" 2024-03-01 "), day);
        assert_eq!(parse_day(b"2024-03-01T23:59:59"), day);
        assert_eq!(parse_day(b"2024-03-01 10:00:00.250"), day);
        assert_eq!(parse_day(b"2024-03-01T10:00:00+03:30"), day);
        assert_eq!(parse_day(b"2024-03-01T10:00:00Z"), day);
        for bad in [
            "2024-02-30",
            "01/03/2024",
            "2024-03-01Tnoon",
            "2024-03-01T24:00:00",
            "2024-03-01T10:60:00",
            "2024-03-01x10:00:00",
            "",
        ] {
            assert_eq!(parse_day(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn parses_jalali_dates_and_persian_digits_as_the_import_does() {
        let day = NaiveDate::from_ymd_opt(2024, 4, 3).map(day_number_of);
        for written in [
            "1403/01/15",
            "1403-01-15",
            "۱۴۰۳/۰۱/۱۵",
            "١٤٠٣-٠١-١٥",
            "1403/1/15",
            "2024/04/03",
            "2024-4-3",
            "۲۰۲۴-۰۴-۰۳",
            "1403/01/15 10:30:00",
            "۱۴۰۳/۰۱/۱۵T۱۰:۳۰:۰۰",
            "1403/01/15T10:30:00+03:30",
        ] {
            assert_eq!(parse_day(written.as_bytes()), day, "{written}");
        }
        for bad in [
            "1403/12/31",
            "1403/01/15 noon",
            "1403/01/15T25:00:00",
            "15/01/1403",
            "۱۴۰۳/۰۱",
        ] {
            assert_eq!(parse_day(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(
            parse_calibration_end("1403/01/15"),
            Ok(NaiveDate::from_ymd_opt(2024, 4, 3).unwrap())
        );
        assert!(parse_calibration_end("1403/13/01").is_err());
    }

    #[test]
    fn parses_amounts_as_people_write_them() {
        assert_eq!(parse_amount("12500.75"), Some(12_500.75));
        assert_eq!(parse_amount(" 12,500 "), Some(12_500.0));
        assert_eq!(parse_amount("۱۲٬۵۰۰"), Some(12_500.0));
        assert_eq!(parse_amount("٣٫٥"), Some(3.5));
        assert_eq!(parse_amount("−۳"), Some(-3.0));
        for junk in ["", "five", "12 ریال", "1.2.3", "inf", "NaN"] {
            assert_eq!(parse_amount(junk), None, "{junk}");
        }
    }
}
