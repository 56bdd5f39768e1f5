//! The customer import engine on a real (SQLite) database: column plans, per-row
//! reports, all-or-nothing, matching existing customers, and what a dry run leaves.

use application::customers::import::{
    self, ColumnPlan, ImportContext, ImportMode, ImportOptions, ImportOutcome, ImportReport,
    Importer, MatchOn, BATCH_ROWS,
};
use application::i18n::Lang;
use application::{Acting, AppError};
use chrono::NaiveDate;
use diesel::prelude::*;
use persistence::db::{DbConnection, DbPool};
use tabular::Format;
use test_databases::{Backend, TestDatabase};

/// A fresh migrated SQLite database, removed when the returned database drops.
fn database() -> (DbPool, TestDatabase) {
    let database = TestDatabase::new(Backend::Sqlite);
    (database.pool(), database)
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 2).expect("date")
}

/// Checks `csv` with `options` as the engine does in a job and, unless `options.dry_run`
/// (where the caller only reports), writes what passed.
fn run(
    conn: &mut DbConnection,
    csv: &str,
    options: ImportOptions,
) -> Result<ImportReport, AppError> {
    let sheet = tabular::read(csv.as_bytes(), Format::Csv, &import::READ_LIMITS).expect("csv");
    let definitions = application::customers::definitions(conn)?;
    let plan = ColumnPlan::new(&sheet.headers, &options, &definitions)?;
    let acting = Acting::system(Lang::En);
    let dry_run = options.dry_run;
    let mut importer = Importer::new(
        ImportContext {
            acting: acting.clone(),
            options,
            today: today(),
        },
        plan,
        definitions,
    );
    for batch in sheet.rows.chunks(BATCH_ROWS) {
        importer.add_rows(conn, batch)?;
    }
    let (report, writes) = importer.finish();
    if let Some(writes) = writes.filter(|_| !dry_run) {
        application::transaction(conn, |conn| import::write(conn, &acting, &writes))?;
    }
    Ok(report)
}

fn customers(conn: &mut DbConnection) -> i64 {
    persistence::schema::customers::table
        .count()
        .get_result(conn)
        .expect("count")
}

const PEOPLE: &str = "نام,نام خانوادگی,موبایل,کد ملی,تاریخ تولد\n\
علی,رضایی,۰۹۱۲۳۴۵۶۷۸۹,0012345679,1370/05/12\n\
مریم,احمدی,+989351234567,1234567891,1990-02-03\n";

fn persian_mapping() -> ImportOptions {
    ImportOptions {
        mapping: Some(
            [
                ("نام", "first_name"),
                ("نام خانوادگی", "last_name"),
                ("موبایل", "mobile"),
                ("کد ملی", "national_code"),
                ("تاریخ تولد", "birth_date"),
            ]
            .into_iter()
            .map(|(column, field)| (column.to_string(), field.to_string()))
            .collect(),
        ),
        ..ImportOptions::default()
    }
}

#[test]
fn a_dry_run_reports_every_row_and_writes_nothing() {
    let (pool, _database) = database();
    let mut conn = pool.get().expect("connection");
    let report = run(
        &mut conn,
        PEOPLE,
        ImportOptions {
            dry_run: true,
            ..persian_mapping()
        },
    )
    .expect("checked");
    assert_eq!(report.outcome, ImportOutcome::Valid);
    assert!(report.dry_run);
    assert_eq!((report.rows, report.created, report.rejected), (2, 2, 0));
    assert_eq!(report.columns.len(), 5, "{report:?}");
    assert_eq!(customers(&mut conn), 0, "checking rows writes nothing");
}

#[test]
fn a_passing_file_is_written_whole_with_persian_digits_and_jalali_dates_read() {
    let (pool, _database) = database();
    let mut conn = pool.get().expect("connection");
    let report = run(&mut conn, PEOPLE, persian_mapping()).expect("imported");
    assert_eq!(report.outcome, ImportOutcome::Imported);
    assert_eq!(report.created, 2);
    assert_eq!(customers(&mut conn), 2);
    let ali: persistence::customers::CustomerRow = persistence::schema::customers::table
        .filter(persistence::schema::customers::national_code.eq("0012345679"))
        .select(persistence::customers::CustomerRow::as_select())
        .first(&mut conn)
        .expect("imported person");
    // 1370/05/12 in the Jalali calendar is 3 August 1991.
    assert_eq!(ali.birth_date, NaiveDate::from_ymd_opt(1991, 8, 3));
}

#[test]
fn one_bad_row_rejects_the_whole_file_and_names_the_cell() {
    let (pool, _database) = database();
    let mut conn = pool.get().expect("connection");
    let csv = format!("{PEOPLE}رضا,کریمی,09121111111,0012345678,1365/01/01\n");
    let report = run(&mut conn, &csv, persian_mapping()).expect("checked");
    assert_eq!(report.outcome, ImportOutcome::Rejected);
    assert_eq!((report.rows, report.rejected), (3, 1));
    let rejected = &report.rejected_rows[0];
    assert_eq!(rejected.row, 4, "the header is row 1");
    let error = &rejected.errors[0];
    assert_eq!(error.field, "national_code");
    assert_eq!(error.column.as_deref(), Some("کد ملی"));
    assert_eq!(
        customers(&mut conn),
        0,
        "nothing of a rejected file is written"
    );
}

#[test]
fn the_same_person_twice_in_a_file_is_a_rejected_row() {
    let (pool, _database) = database();
    let mut conn = pool.get().expect("connection");
    let csv = format!("{PEOPLE}علی,رضایی,09120000000,0012345679,1370/05/12\n");
    let report = run(&mut conn, &csv, persian_mapping()).expect("checked");
    assert_eq!(report.outcome, ImportOutcome::Rejected);
    let codes: Vec<&str> = report
        .rejected_rows
        .iter()
        .flat_map(|row| row.errors.iter().map(|e| e.code.as_str()))
        .collect();
    assert!(codes.contains(&"duplicate_in_file"), "{report:?}");
}

#[test]
fn upsert_updates_the_customer_its_key_matches() {
    let (pool, _database) = database();
    let mut conn = pool.get().expect("connection");
    run(&mut conn, PEOPLE, persian_mapping()).expect("first import");
    // The national code written with Persian digits still matches the stored one.
    let csv = "کد ملی,نام,نام خانوادگی\n۰۰۱۲۳۴۵۶۷۹,علی‌اکبر,رضایی\n2468135792,سارا,نوری\n";
    let mut options = persian_mapping();
    options
        .mapping
        .as_mut()
        .expect("mapping")
        .retain(|column, _| ["کد ملی", "نام", "نام خانوادگی"].contains(&column.as_str()));
    options.mode = ImportMode::Upsert;
    options.match_on = Some(MatchOn::NationalCode);
    let report = run(&mut conn, csv, options).expect("upsert");
    assert_eq!(report.outcome, ImportOutcome::Imported, "{report:?}");
    assert_eq!((report.updated, report.created), (1, 1));
    assert_eq!(customers(&mut conn), 3);
    let first_name: Option<String> = persistence::schema::customers::table
        .filter(persistence::schema::customers::national_code.eq("0012345679"))
        .select(persistence::schema::customers::first_name)
        .first(&mut conn)
        .expect("updated person");
    assert_eq!(first_name.as_deref(), Some("علی‌اکبر"));
}

#[test]
fn a_mapping_that_names_a_missing_column_or_field_is_refused_before_any_row() {
    let (pool, _database) = database();
    let mut conn = pool.get().expect("connection");
    let mut options = persian_mapping();
    let mapping = options.mapping.as_mut().expect("mapping");
    mapping.insert("ایمیل".into(), "email".into());
    mapping.insert("نام".into(), "nickname".into());
    let Err(AppError::Invalid(violations)) = run(&mut conn, PEOPLE, options) else {
        panic!("the plan is refused");
    };
    let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
    assert!(
        fields
            .iter()
            .all(|field| field.starts_with("options.mapping")),
        "{violations:?}"
    );
    assert_eq!(violations.len(), 2, "{violations:?}");
}
