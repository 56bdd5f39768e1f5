//! `peyvand import customers|orders FILE`: the built binary on a fresh SQLite database
//! — mapping and options files, dry runs that write nothing, all-or-nothing imports
//! with the API's report, and a non-zero exit when rows are rejected.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

fn peyvand(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_peyvand"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("DATABASE_URL")
        .output()
        .expect("the binary runs")
}

fn report(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "no report ({err}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn customers_then_their_purchase_history_import_all_or_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let customers = write(
        dir,
        "customers.csv",
        "کد,نام,نام خانوادگی\nC-1,مریم,احمدی\nC-2,رضا,کریمی\n",
    );
    let mapping = write(
        dir,
        "mapping.json",
        r#"{"کد": "code", "نام": "first_name", "نام خانوادگی": "last_name"}"#,
    );
    let customers = customers.to_str().unwrap();
    let mapping = mapping.to_str().unwrap();
    let output = peyvand(
        dir,
        &[
            "import",
            "customers",
            customers,
            "--mapping",
            mapping,
            "--dry-run",
        ],
    );
    assert!(output.status.success());
    assert_eq!(report(&output)["outcome"], "valid");
    let output = peyvand(
        dir,
        &["import", "customers", customers, "--mapping", mapping],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let imported = report(&output);
    assert_eq!(
        (&imported["outcome"], &imported["created"]),
        (&"imported".into(), &2.into())
    );

    let orders = write(
        dir,
        "orders.csv",
        "order_reference,customer,placed_at,sku,product_name,quantity,unit_price\n\
         F-1,C-1,۱۴۰۳/۰۱/۱۵,TEA,چای,۲,\"۱۸۵٬۰۰۰\"\n\
         F-1,C-1,۱۴۰۳/۰۱/۱۵,COF,قهوه,1,90000\n\
         F-2,C-2,2025-01-05 18:45,TEA,,1,185000\n",
    );
    let options = write(
        dir,
        "options.json",
        r#"{"amounts_in": "toman", "create_missing_products": true, "source": "shop"}"#,
    );
    let orders = orders.to_str().unwrap();
    let options = options.to_str().unwrap();
    let args = ["import", "orders", orders, "--options", options];
    let output = peyvand(dir, &[&args[..], &["--dry-run"]].concat());
    assert!(output.status.success());
    let dry = report(&output);
    assert_eq!(dry["outcome"], "valid", "{dry}");
    assert_eq!((&dry["orders"], &dry["lines"]), (&2.into(), &3.into()));
    assert_eq!(dry["products_created"], 2);
    // The dry run wrote nothing, so the real run finds no reference taken.
    let output = peyvand(dir, &args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(report(&output)["outcome"], "imported");

    // The same file again: every order's reference is taken; nothing is written, the
    // report names each row, and the command fails.
    let output = peyvand(dir, &args);
    assert!(!output.status.success());
    let again = report(&output);
    assert_eq!(again["outcome"], "rejected");
    let codes: Vec<(u64, &str)> = again["rejected_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["row"].as_u64().unwrap(),
                row["errors"][0]["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(codes, vec![(2, "already_exists"), (4, "already_exists")]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("rows were rejected"));
}

#[test]
fn bad_options_and_files_are_refused_before_any_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let file = write(dir, "orders.txt", "customer,sku\n");
    let output = peyvand(dir, &["import", "orders", file.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains(".csv or .xlsx"));
    let file = write(dir, "orders.csv", "customer,sku\nC-1,TEA\n");
    let output = peyvand(dir, &["import", "orders", file.to_str().unwrap()]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no column is imported into placed_at"),
        "{stderr}"
    );
}

#[test]
fn products_import_from_the_command_line_and_upsert_by_sku() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let file = write(
        dir,
        "products.csv",
        "sku,name_fa,unit_price\nTEA-500,چای,\"۱٬۸۵۰٬۰۰۰\"\nCUP-12,فنجان,950000\n",
    );
    let file = file.to_str().unwrap();
    let output = peyvand(dir, &["import", "products", file]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(report(&output)["created"], 2);
    // Created already: a second create is refused, an upsert updates.
    let output = peyvand(dir, &["import", "products", file]);
    assert!(!output.status.success());
    assert_eq!(report(&output)["outcome"], "rejected");
    let options = write(dir, "upsert.json", r#"{"mode": "upsert"}"#);
    let output = peyvand(
        dir,
        &[
            "import",
            "products",
            file,
            "--options",
            options.to_str().unwrap(),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(report(&output)["updated"], 2);
}

#[test]
fn leads_import_from_the_command_line_all_or_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    // Persian headers mapped to lead fields, Persian digits in the phone.
    let mapping = write(
        dir,
        "mapping.json",
        r#"{"نام": "first_name", "نام خانوادگی": "last_name", "تلفن": "phone", "منبع": "source"}"#,
    );
    let good = write(
        dir,
        "leads.csv",
        "نام,نام خانوادگی,تلفن,منبع\nسارا,کریمی,۰۹۱۲۳۴۵۶۷۸۹,website\nعلی,رضایی,09351112233,referral\n",
    );
    let args = |file: &Path, extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "import".to_owned(),
            "leads".to_owned(),
            file.to_str().unwrap().to_owned(),
            "--mapping".to_owned(),
            mapping.to_str().unwrap().to_owned(),
        ];
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        args
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        peyvand(dir, &args)
    };

    let dry = run(args(&good, &["--dry-run"]));
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert_eq!(report(&dry)["dry_run"], true);
    // The same phone twice in one file rejects the later row, and so the whole file.
    let twice = write(
        dir,
        "twice.csv",
        "نام,نام خانوادگی,تلفن,منبع\nمینا,احمدی,09121234567,website\nمینا,احمدی,+98 912 123 4567,website\n",
    );
    let output = run(args(&twice, &[]));
    assert!(!output.status.success());
    let rejected = report(&output);
    assert_eq!(rejected["outcome"], "rejected");
    assert_eq!(rejected["rejected"], 1, "{rejected}");

    let output = run(args(&good, &[]));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(report(&output)["created"], 2);
}
