//! `POST /api/v1/products/imports`: dry runs that write nothing, all-or-nothing jobs
//! whose report names every bad row's field, column and rule, upserts by SKU, amounts with
//! Persian digits and thousands separators, categories by name or path, permissions.

use e2e::support::{
    assert_problem, field_codes, finished_job, for_each_backend, id_of, send, TestApp,
};
use reqwest::blocking::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

fn upload(app: &TestApp, token: &str, csv: &str, options: Value) -> reqwest::blocking::Response {
    let form = Form::new()
        .part(
            "file",
            Part::bytes(csv.as_bytes().to_vec())
                .file_name("products.csv")
                .mime_str("text/csv")
                .expect("mime"),
        )
        .part(
            "options",
            Part::text(options.to_string())
                .mime_str("application/json")
                .expect("mime"),
        );
    app.authed(Method::POST, "/api/v1/products/imports", token)
        .multipart(form)
        .send()
        .expect("import request")
}

fn dry_run(app: &TestApp, token: &str, csv: &str, mut options: Value) -> Value {
    options["dry_run"] = json!(true);
    let response = upload(app, token, csv, options);
    assert_eq!(response.status(), 200);
    response.json().expect("report")
}

/// Runs an import job to its end and returns its report.
fn import(app: &TestApp, token: &str, csv: &str, options: Value) -> Value {
    let job = finished_job(app, token, upload(app, token, csv, options));
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "products.import");
    assert_eq!(job["progress"], 1.0);
    job["result"].clone()
}

/// Every product, oldest first.
fn products(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, page) = send(
        app,
        Method::POST,
        "/api/v1/products/search",
        token,
        Some(json!({"sort": [{"field": "created_at", "direction": "asc"}], "limit": 200})),
    );
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().expect("data").clone()
}

fn by_sku(app: &TestApp, token: &str, sku: &str) -> Value {
    products(app, token)
        .into_iter()
        .find(|product| product["sku"] == sku)
        .unwrap_or_else(|| panic!("no product {sku}"))
}

/// The errors of report row `row` as `(field, column, code)`.
fn errors_of(report: &Value, row: u64) -> Vec<(String, Option<String>, String)> {
    report["rejected_rows"]
        .as_array()
        .expect("rejected_rows")
        .iter()
        .find(|rejected| rejected["row"] == row)
        .unwrap_or_else(|| panic!("row {row} is not rejected: {report}"))["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_string(),
                e["column"].as_str().map(str::to_string),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const MAPPING: &str = r#"{"کد کالا": "sku", "نام": "name_fa", "نام انگلیسی": "name_en",
    "دسته": "category", "قیمت": "unit_price", "بها": "unit_cost", "فعال": "active"}"#;

fn options(mode: &str) -> Value {
    json!({"mapping": serde_json::from_str::<Value>(MAPPING).unwrap(), "mode": mode})
}

const GOOD: &str = "کد کالا,نام,نام انگلیسی,دسته,قیمت,بها,فعال\n\
    TEA-۵۰۰,چای سیاه,Black tea,نوشیدنی/چای,\"۱٬۸۵۰٬۰۰۰\",\"1,200,000\",بله\n\
    CUP-1,فنجان,,ظروف,950000,,خیر\n";

#[test]
fn a_product_import_checks_every_row_and_writes_all_or_nothing() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let create_category = |body: Value| {
            let (status, category) = send(
                app,
                Method::POST,
                "/api/v1/product-categories",
                &admin,
                Some(body),
            );
            assert_eq!(status, 201, "{category}");
            id_of(&category)
        };
        let drinks = create_category(json!({"name": "نوشیدنی"}));
        let tea = create_category(json!({"name": "چای", "parent_id": drinks}));
        let dishes = create_category(json!({"name": "ظروف"}));

        // A dry run reports what would happen and writes nothing.
        let report = dry_run(app, &admin, GOOD, options("create"));
        assert_eq!(report["outcome"], "valid", "{report}");
        assert_eq!(
            (report["created"].as_u64(), report["rows"].as_u64()),
            (Some(2), Some(2))
        );
        assert!(products(app, &admin).is_empty());

        // One bad row rejects the whole file; the report names row, field, column, rule.
        let bad = "کد کالا,نام,نام انگلیسی,دسته,قیمت,بها,فعال\n\
            TEA-500,چای سیاه,,,1850000,,\n\
            GLS-1,لیوان,,,12.5,,\n\
            TEA-۵۰۰,چای دوباره,,,1000,,\n\
            JAR-1,پارچ,,نوشیدنی/ظروف,1000,,شاید\n\
            BOX-1,,,,1000,-5,\n\
            PEN-1,خودکار,,,,,\n";
        let report = import(app, &admin, bad, options("create"));
        assert_eq!(report["outcome"], "rejected", "{report}");
        assert_eq!(report["rejected"], 5);
        assert_eq!(report["created"], 0);
        let column = |name: &str| Some(name.to_string());
        assert_eq!(
            errors_of(&report, 3),
            [("unit_price".into(), column("قیمت"), "too_precise".into())]
        );
        assert_eq!(
            errors_of(&report, 4),
            [("sku".into(), column("کد کالا"), "duplicate_in_file".into())]
        );
        assert_eq!(
            errors_of(&report, 5),
            [
                ("category".into(), column("دسته"), "not_found".into()),
                ("active".into(), column("فعال"), "invalid_type".into())
            ]
        );
        let box_errors = errors_of(&report, 6);
        assert!(
            box_errors.contains(&("name_fa".into(), None, "required".into())),
            "{box_errors:?}"
        );
        assert!(box_errors.contains(&("unit_cost".into(), column("بها"), "negative".into())));
        assert_eq!(
            errors_of(&report, 7),
            [("unit_price".into(), None, "required".into())]
        );
        assert!(products(app, &admin).is_empty(), "nothing was written");

        // The good file is imported: Persian digits, separators, a category path.
        let report = import(app, &admin, GOOD, options("create"));
        assert_eq!(report["outcome"], "imported", "{report}");
        assert_eq!(report["created"], 2);
        let tea_product = by_sku(app, &admin, "TEA-500");
        assert_eq!(tea_product["name"], "چای سیاه");
        assert_eq!(tea_product["name_en"], "Black tea");
        assert_eq!(tea_product["unit_price"], 1_850_000);
        assert_eq!(tea_product["unit_cost"], 1_200_000);
        assert_eq!(tea_product["currency"], "IRR");
        assert_eq!(tea_product["category_id"], json!(tea));
        assert_eq!(tea_product["active"], true);
        let cup = by_sku(app, &admin, "CUP-1");
        assert_eq!(cup["category_id"], json!(dishes));
        assert_eq!(cup["active"], false);
        assert_eq!(cup["unit_cost"], Value::Null);

        // Again in create mode: the SKUs are taken.
        let report = dry_run(app, &admin, GOOD, options("create"));
        assert_eq!(report["outcome"], "rejected");
        assert_eq!(
            errors_of(&report, 2),
            [("sku".into(), column("کد کالا"), "already_exists".into())]
        );

        // Upsert by SKU: the matched product changes only where cells are given.
        let report = import(
            app,
            &admin,
            "sku,name_fa,unit_price,currency\nTEA-500,,۲٬۰۰۰٬۰۰۰,\nUSB-1,فلش,\"1,234.5\",USD\n",
            json!({"mode": "upsert"}),
        );
        assert_eq!(report["outcome"], "imported", "{report}");
        assert_eq!(
            (report["created"].as_u64(), report["updated"].as_u64()),
            (Some(1), Some(1))
        );
        let tea_product = by_sku(app, &admin, "TEA-500");
        assert_eq!(tea_product["unit_price"], 2_000_000);
        assert_eq!(tea_product["name"], "چای سیاه");
        assert_eq!(tea_product["category_id"], json!(tea));
        let usb = by_sku(app, &admin, "USB-1");
        assert_eq!(
            (usb["unit_price"].as_i64(), usb["currency"].as_str()),
            (Some(123_450), Some("USD"))
        );
        assert_eq!(products(app, &admin).len(), 3);
    });
}

#[test]
fn product_imports_need_the_catalogue_permission_and_a_sku_column() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        // Marketing may import customers but not change the catalogue.
        let (_, email, password) = app.create_user("marketing", None);
        let marketing = app.login(&email, &password).access_token;
        let response = upload(app, &marketing, GOOD, options("create"));
        assert_problem(response, 403, "forbidden");

        let response = upload(
            app,
            &admin,
            "name_fa,unit_price\nچای,1000\n",
            json!({"dry_run": true}),
        );
        let problem = assert_problem(response, 422, "validation_failed");
        assert_eq!(
            field_codes(&problem),
            [("options.mapping".to_string(), "required".to_string())]
        );
        let response = upload(app, &admin, GOOD, json!({"mode": "merge"}));
        let problem = assert_problem(response, 422, "validation_failed");
        assert_eq!(field_codes(&problem)[0].0, "options.mode");
    });
}
