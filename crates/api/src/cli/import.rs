//! `peyvand import customers|orders|products|leads FILE`: the imports of `POST /imports`,
//! `POST /orders/imports`, `POST /products/imports` and `POST /leads/imports` from the
//! command line, for the first day's history and for scripts. The same engine checks every row with the same rules and writes all or
//! nothing in one transaction, acting as the system; the report printed on stdout is
//! the one the API answers. On a terminal a progress bar shows the rows checked.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use application::commerce::order_import::{self, OrderColumnPlan, OrderImportContext};
use application::commerce::product_import::{self, ProductColumnPlan, ProductImportOptions};
use application::customers::import::{
    self, ColumnPlan, ImportContext, ImportOptions, ImportOutcome, Importer, BATCH_ROWS,
};
use application::i18n::Lang;
use application::sales::lead_import::{self, LeadColumnPlan, LeadImportOptions};
use application::{Acting, AppError};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use persistence::db::DbConnection;
use persistence::transaction::write_transaction;
use serde::de::DeserializeOwned;
use tabular::{Format, InputSheet};

use crate::config::DatabaseArgs;

#[derive(Debug, Args)]
pub struct ImportCommand {
    #[command(subcommand)]
    pub what: ImportWhat,
}

#[derive(Debug, Subcommand)]
pub enum ImportWhat {
    /// Customers, as `POST /api/v1/imports` imports them.
    Customers(ImportFileArgs),
    /// Orders and their lines (a purchase history), as `POST /api/v1/orders/imports`.
    Orders(ImportFileArgs),
    /// Products, as `POST /api/v1/products/imports`.
    Products(ImportFileArgs),
    /// Leads, as `POST /api/v1/leads/imports`: assigned by the assignment rules when the
    /// file names no owner, and scored.
    Leads(ImportFileArgs),
}

#[derive(Debug, Args)]
pub struct ImportFileArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// The CSV or XLSX file; its extension says which.
    pub file: PathBuf,

    /// A JSON file mapping column headers to fields (`{"نام": "first_name"}`); without
    /// one, headers that are field names are imported.
    #[arg(long)]
    pub mapping: Option<PathBuf>,

    /// A JSON file of the import's other options, as the API's `options` part takes them
    /// (e.g. `{"mode": "upsert", "match_on": "code"}` or `{"amounts_in": "toman"}`).
    #[arg(long)]
    pub options: Option<PathBuf>,

    /// Check every row and print the report without writing anything.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(command: ImportCommand) -> anyhow::Result<()> {
    let (args, import): (&ImportFileArgs, Import) = match &command.what {
        ImportWhat::Customers(args) => (args, import_customers),
        ImportWhat::Orders(args) => (args, import_orders),
        ImportWhat::Products(args) => (args, import_products),
        ImportWhat::Leads(args) => (args, import_leads),
    };
    let sheet = read_sheet(&args.file)?;
    let pool = persistence::db::build_pool(&persistence::PoolConfig::new(args.database.url()))?;
    let mut conn = pool.get()?;
    persistence::migrations::run_pending(&mut conn)?;
    let (outcome, report) = import(&mut conn, args, &sheet)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    if outcome == ImportOutcome::Rejected {
        anyhow::bail!("rows were rejected, so nothing was imported (see the report)");
    }
    Ok(())
}

/// One kind of import: its outcome and its report.
type Import = fn(
    &mut DbConnection,
    &ImportFileArgs,
    &InputSheet,
) -> anyhow::Result<(ImportOutcome, serde_json::Value)>;

fn import_customers(
    conn: &mut DbConnection,
    args: &ImportFileArgs,
    sheet: &InputSheet,
) -> anyhow::Result<(ImportOutcome, serde_json::Value)> {
    let options: ImportOptions = options(args)?;
    let acting = Acting::system(Lang::En);
    let definitions = application::customers::definitions(conn)?;
    let plan = ColumnPlan::new(&sheet.headers, &options, &definitions).map_err(problem)?;
    let today = application::settings::calendar(conn)?.today(persistence::now());
    let dry_run = options.dry_run;
    let context = ImportContext {
        acting: acting.clone(),
        options,
        today,
    };
    let mut importer = Importer::new(context, plan, definitions);
    let bar = progress_bar(sheet.rows.len());
    for batch in sheet.rows.chunks(BATCH_ROWS) {
        importer.add_rows(conn, batch).map_err(problem)?;
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    let (report, writes) = importer.finish();
    if let (Some(writes), false) = (writes, dry_run) {
        write_transaction(conn, |conn| import::write(conn, &acting, &writes)).map_err(problem)?;
    }
    Ok((report.outcome, serde_json::to_value(&report)?))
}

fn import_orders(
    conn: &mut DbConnection,
    args: &ImportFileArgs,
    sheet: &InputSheet,
) -> anyhow::Result<(ImportOutcome, serde_json::Value)> {
    let options = options(args)?;
    let mut context = OrderImportContext::load(conn, Acting::system(Lang::En), options)?;
    let plan = OrderColumnPlan::new(&sheet.headers, &mut context).map_err(problem)?;
    let bar = progress_bar(sheet.rows.len());
    let rows = sheet.rows.len() as f64;
    let (report, writes) =
        order_import::check::<AppError>(conn, &context, &plan, &sheet.rows, &mut |share| {
            bar.set_position((share * rows) as u64);
            Ok(())
        })
        .map_err(problem)?;
    bar.finish_and_clear();
    if let (Some(writes), false) = (writes, context.options.dry_run) {
        write_transaction(conn, |conn| order_import::write(conn, &context, writes))
            .map_err(problem)?;
    }
    Ok((report.outcome, serde_json::to_value(&report)?))
}

fn import_products(
    conn: &mut DbConnection,
    args: &ImportFileArgs,
    sheet: &InputSheet,
) -> anyhow::Result<(ImportOutcome, serde_json::Value)> {
    let options: ProductImportOptions = options(args)?;
    let acting = Acting::system(Lang::En);
    let plan = ProductColumnPlan::new(&sheet.headers, &options).map_err(problem)?;
    let currency = application::settings::currency(conn)?;
    let (report, writes) =
        product_import::check(conn, &acting, &options, &plan, sheet, currency).map_err(problem)?;
    if let (Some(writes), false) = (writes, options.dry_run) {
        write_transaction(conn, |conn| {
            product_import::write(conn, &acting, &writes, currency)
        })
        .map_err(problem)?;
    }
    Ok((report.outcome, serde_json::to_value(&report)?))
}

fn import_leads(
    conn: &mut DbConnection,
    args: &ImportFileArgs,
    sheet: &InputSheet,
) -> anyhow::Result<(ImportOutcome, serde_json::Value)> {
    let options: LeadImportOptions = options(args)?;
    let acting = Acting::system(Lang::En);
    let definitions = application::sales::leads::definitions(conn)?;
    let plan = LeadColumnPlan::new(&sheet.headers, &options, &definitions).map_err(problem)?;
    let (report, writes) =
        lead_import::check(conn, &acting, &options, &plan, sheet).map_err(problem)?;
    if let (Some(writes), false) = (writes, options.dry_run) {
        write_transaction(conn, |conn| lead_import::write(conn, &acting, &writes))
            .map_err(problem)?;
    }
    Ok((report.outcome, serde_json::to_value(&report)?))
}

/// The options file with `--mapping` and `--dry-run` applied.
fn options<O: DeserializeOwned>(args: &ImportFileArgs) -> anyhow::Result<O> {
    let mut options = match &args.options {
        Some(path) => read_json(path)?,
        None => serde_json::json!({}),
    };
    let object = options
        .as_object_mut()
        .ok_or_else(|| anyhow::anyhow!("the options file must hold a JSON object"))?;
    if let Some(path) = &args.mapping {
        let mapping: BTreeMap<String, String> =
            serde_json::from_value(read_json(path)?).map_err(|err| {
                anyhow::anyhow!(
                    "{}: a mapping is an object of strings: {err}",
                    path.display()
                )
            })?;
        object.insert("mapping".into(), serde_json::to_value(mapping)?);
    }
    if args.dry_run {
        object.insert("dry_run".into(), true.into());
    }
    serde_json::from_value(options).map_err(|err| anyhow::anyhow!("bad options: {err}"))
}

fn read_json(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| anyhow::anyhow!("reading {}: {err}", path.display()))?;
    serde_json::from_str(&text).map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))
}

fn read_sheet(path: &Path) -> anyhow::Result<InputSheet> {
    let format = path
        .extension()
        .and_then(|extension| extension.to_str())
        .and_then(Format::from_name)
        .filter(|format| *format != Format::Json)
        .ok_or_else(|| anyhow::anyhow!("{}: the file must be .csv or .xlsx", path.display()))?;
    let bytes =
        std::fs::read(path).map_err(|err| anyhow::anyhow!("reading {}: {err}", path.display()))?;
    tabular::read(&bytes, format, &import::READ_LIMITS)
        .map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))
}

/// A use case's refusal as the command's error: each broken rule on a line.
fn problem(err: AppError) -> anyhow::Error {
    match err {
        AppError::Invalid(violations) => anyhow::anyhow!(
            "{}",
            violations
                .iter()
                .map(|v| format!("{}: {} ({})", v.field, v.message, v.code))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        other => other.into(),
    }
}

/// A bar over the rows on a terminal; hidden otherwise, so logs and pipes stay clean.
fn progress_bar(rows: usize) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(rows as u64).with_message("checking rows");
    if let Ok(style) = ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} {eta}") {
        bar.set_style(style);
    }
    bar
}
