//! `POST /api/v1/orders/imports` (S-8, D-1): purchase histories from CSV with Jalali
//! dates, Persian digits and toman amounts, customers matched by each key, missing
//! customers and products created on request, all or nothing, a file imported once,
//! purchase facts and lifecycle stages replayed from the history, permissions and
//! record visibility.

use reqwest::Method;
use serde_json::{json, Value};

use crate::imports::{national_code, upload_to, CSV};
use e2e::support::{
    assert_problem, create_customer, finished_job, for_each_backend, id_of, send, TestApp,
};

const PATH: &str = "/api/v1/orders/imports";

pub(crate) fn product(app: &TestApp, token: &str, sku: &str, price: i64) -> String {
    let (status, body) = send(
        app,
        Method::POST,
        "/api/v1/products",
        token,
        Some(json!({"sku": sku, "name": format!("کالا {sku}"), "unit_price": price})),
    );
    assert_eq!(status, 201, "{body}");
    id_of(&body)
}

fn dry_run(app: &TestApp, token: &str, csv: &str, mut options: Value) -> Value {
    options["dry_run"] = true.into();
    let response = upload_to(app, PATH, token, ("orders.csv", CSV, csv.into()), options);
    assert_eq!(response.status(), 200);
    response.json().unwrap()
}

fn import(app: &TestApp, token: &str, csv: &str, options: Value) -> Value {
    let response = upload_to(app, PATH, token, ("orders.csv", CSV, csv.into()), options);
    let job = finished_job(app, token, response);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "orders.import");
    job["result"].clone()
}

fn orders_of(app: &TestApp, token: &str, customer: &str) -> Vec<Value> {
    let (status, page) = send(
        app,
        Method::POST,
        "/api/v1/orders/search",
        token,
        Some(
            json!({"filter": {"field": "customer_id", "op": "eq", "value": customer},
                    "sort": [{"field": "placed_at", "direction": "asc"}]}),
        ),
    );
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().unwrap().clone()
}

fn order_count(app: &TestApp, token: &str) -> usize {
    let (status, page) = send(
        app,
        Method::POST,
        "/api/v1/orders/search",
        token,
        Some(json!({"limit": 100})),
    );
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().unwrap().len()
}

fn overview(app: &TestApp, token: &str, customer: &str) -> Value {
    let (status, body) = send(
        app,
        Method::GET,
        &format!("/api/v1/customers/{customer}/overview"),
        token,
        None,
    );
    assert_eq!(status, 200, "{body}");
    body
}

fn by_code(app: &TestApp, token: &str, code: &str) -> Option<String> {
    let (status, page) = send(
        app,
        Method::POST,
        "/api/v1/customers/search",
        token,
        Some(json!({"filter": {"field": "code", "op": "eq", "value": code}})),
    );
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().unwrap().first().map(id_of)
}

/// `(row, field, column, code)` of every error of a report.
fn errors(report: &Value) -> Vec<(u64, String, Option<String>, String)> {
    let mut all = Vec::new();
    for row in report["rejected_rows"].as_array().unwrap() {
        for error in row["errors"].as_array().unwrap() {
            all.push((
                row["row"].as_u64().unwrap(),
                error["field"].as_str().unwrap().to_string(),
                error["column"].as_str().map(str::to_string),
                error["code"].as_str().unwrap().to_string(),
            ));
        }
    }
    all
}

#[test]
fn a_purchase_history_imports_once_and_replays_facts_and_lifecycle() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let tea = product(app, &admin, "TEA-500", 1_850_000);
        let maryam = id_of(&create_customer(
            app,
            &admin,
            json!({"kind": "person", "code": "C-1001", "first_name": "مریم", "last_name": "احمدی"}),
        ));
        let recent = (chrono::Utc::now() - chrono::Duration::days(10))
            .format("%Y-%m-%d")
            .to_string();
        // Persian headers, Jalali dates with a time, Persian digits, toman amounts with
        // thousands separators; INV-1 has two lines, the last row is an order alone.
        let csv = format!(
            "فاکتور,مشتری,نام,نام خانوادگی,تاریخ,کد کالا,نام کالا,تعداد,فی,جمع سطر\n\
             INV-1,C-1001,,,۱۴۰۳/۰۱/۱۵ ۱۰:۰۰,TEA-500,,۲,\"۱۸۵٬۰۰۰\",\"۳۷۰٬۰۰۰\"\n\
             INV-1,C-1001,,,,COF-250,قهوه ۲۵۰ گرمی,۱,\"۹۰٬۰۰۰\",\n\
             INV-2,C-2002,رضا,کریمی,1403/10/11,TEA-500,,1,,\n\
             ,C-1001,,,{recent},TEA-500,,3,\"150,000\",\n"
        );
        let options = json!({
            "mapping": {"فاکتور": "order_reference", "مشتری": "customer", "نام": "customer_first_name",
                        "نام خانوادگی": "customer_last_name", "تاریخ": "placed_at", "کد کالا": "sku",
                        "نام کالا": "product_name", "تعداد": "quantity", "فی": "unit_price", "جمع سطر": "line_total"},
            "match_customer_on": "code",
            "source": "pos-vanak",
            "amounts_in": "toman",
            "create_missing_customers": true,
            "create_missing_products": true
        });
        let report = dry_run(app, &admin, &csv, options.clone());
        assert_eq!(report["outcome"], "valid", "{report}");
        assert_eq!(
            (&report["rows"], &report["orders"], &report["lines"]),
            (&json!(4), &json!(3), &json!(4))
        );
        assert_eq!(report["customers_created"], 1);
        assert_eq!(report["products_created"], 1);
        // The dry run wrote nothing.
        assert_eq!(order_count(app, &admin), 0);
        assert_eq!(by_code(app, &admin, "C-2002"), None);

        let report = import(app, &admin, &csv, options.clone());
        assert_eq!(report["outcome"], "imported", "{report}");
        let orders = orders_of(app, &admin, &maryam);
        assert_eq!(orders.len(), 2);
        // 2 × 1,850,000 + 900,000 rials; 1403/01/15 10:00 Tehran is 06:30 UTC.
        assert_eq!(orders[0]["total"], 4_600_000);
        assert_eq!(orders[0]["placed_at"], "2024-04-03T06:30:00Z");
        assert_eq!(orders[0]["status"], "fulfilled");
        assert_eq!(orders[0]["source"], "pos-vanak");
        assert_eq!(orders[0]["external_reference"], "INV-1");
        assert_eq!(orders[0]["lines"].as_array().unwrap().len(), 2);
        assert_eq!(orders[0]["lines"][0]["product_id"], tea.as_str());
        // An order without a reference priced at the file's price, not the catalogue's.
        assert_eq!(orders[1]["total"], 4_500_000);
        assert_eq!(orders[1]["external_reference"], Value::Null);
        let coffee = &orders[0]["lines"][1]["product_id"];
        let (status, coffee) = send(
            app,
            Method::GET,
            &format!("/api/v1/products/{}", coffee.as_str().unwrap()),
            &admin,
            None,
        );
        assert_eq!(status, 200);
        assert_eq!(
            (&coffee["sku"], &coffee["name"], &coffee["unit_price"]),
            (&json!("COF-250"), &json!("قهوه ۲۵۰ گرمی"), &json!(900_000))
        );

        // Facts and stages follow the replayed history: Maryam bought in 2024, lapsed
        // past the churn window and came back (win-back); Reza bought once long ago.
        let view = overview(app, &admin, &maryam);
        assert_eq!(view["purchases"]["order_count"], 2);
        assert_eq!(view["purchases"]["revenue"], 9_100_000);
        assert_eq!(view["customer"]["lifecycle_stage"], "retention");
        let last = view["lifecycle_history"]
            .as_array()
            .unwrap()
            .last()
            .cloned();
        assert_eq!(last.unwrap()["reason"], "rule:win_back");
        let reza = by_code(app, &admin, "C-2002").expect("created customer");
        let view = overview(app, &admin, &reza);
        assert_eq!(view["customer"]["first_name"], "رضا");
        assert_eq!(view["purchases"]["order_count"], 1);
        assert_eq!(view["purchases"]["revenue"], 1_850_000);
        assert_eq!(view["customer"]["lifecycle_stage"], "churned");

        // The same file again is refused: its references are taken.
        let mut again = options.clone();
        again["create_missing_customers"] = false.into();
        let report = dry_run(app, &admin, &csv, again);
        assert_eq!(report["outcome"], "rejected");
        let found = errors(&report);
        assert!(found.contains(&(
            2,
            "order_reference".into(),
            Some("فاکتور".into()),
            "already_exists".into()
        )));
        assert!(found.contains(&(
            4,
            "order_reference".into(),
            Some("فاکتور".into()),
            "already_exists".into()
        )));
    });
}

#[test]
fn customers_are_matched_by_each_key_as_they_are_stored() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        product(app, &admin, "TEA-500", 1_000);
        let national = national_code(12_345);
        let person = id_of(&create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "سارا", "last_name": "نادری",
                   "national_code": national,
                   "phones": [{"number": "09121234567", "type": "mobile"}],
                   "emails": [{"address": "sara@example.com"}]}),
        ));
        let persian_national: String = national
            .chars()
            .map(|c| char::from_u32(c as u32 - '0' as u32 + '۰' as u32).unwrap())
            .collect();
        for (key, value) in [
            ("email", " Sara@Example.com "),
            ("phone", "+98 912 123 4567"),
            ("phone", "۰۹۱۲۱۲۳۴۵۶۷"),
            ("national_code", persian_national.as_str()),
        ] {
            let csv = format!("customer,placed_at,sku\n{value},2025-01-01,TEA-500\n");
            let report = import(app, &admin, &csv, json!({"match_customer_on": key}));
            assert_eq!(report["outcome"], "imported", "{key}: {report}");
        }
        assert_eq!(orders_of(app, &admin, &person).len(), 4);
        assert_eq!(
            overview(app, &admin, &person)["purchases"]["order_count"],
            4
        );
    });
}

#[test]
fn one_bad_row_rejects_the_whole_file_naming_row_field_column_and_rule() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        product(app, &admin, "TEA-500", 10_000);
        create_customer(
            app,
            &admin,
            json!({"kind": "person", "code": "C-1", "first_name": "الف", "last_name": "ب"}),
        );
        let csv =
            "order_reference,customer,placed_at,sku,quantity,discount,line_total,order_total\n\
                   A,C-1,1403/01/15,TEA-500,2,,20000,\n\
                   A,C-9,1403/01/15,TEA-500,1,,,\n\
                   B,C-1,1403/13/40,TEA-500,1,,,\n\
                   C,C-1,2025-02-01,NOPE,1,,,\n\
                   D,C-1,2025-02-01,TEA-500,1,,9000,\n\
                   E,C-1,2025-02-01,TEA-500,1,20000,,\n\
                   F,C-2,2025-02-01,TEA-500,1,,,\n\
                   G,C-1,2025-02-01,TEA-500,0,,,\n\
                   H,C-1,2025-02-01,TEA-500,2,,,25000\n\
                   I,C-1,2099-01-01,TEA-500,1,,,\n";
        let report = dry_run(app, &admin, csv, json!({}));
        assert_eq!(report["outcome"], "rejected", "{report}");
        let col = |name: &str| Some(name.to_string());
        let expected = vec![
            (
                3,
                "customer".into(),
                col("customer"),
                "inconsistent_order".into(),
            ),
            (
                4,
                "placed_at".into(),
                col("placed_at"),
                "invalid_date".into(),
            ),
            (5, "sku".into(), col("sku"), "not_found".into()),
            (6, "line_total".into(), col("line_total"), "mismatch".into()),
            (
                7,
                "discount".into(),
                col("discount"),
                "exceeds_line_amount".into(),
            ),
            (8, "customer".into(), col("customer"), "not_found".into()),
            (9, "quantity".into(), col("quantity"), "out_of_range".into()),
            (
                10,
                "order_total".into(),
                col("order_total"),
                "mismatch".into(),
            ),
            (11, "placed_at".into(), col("placed_at"), "in_future".into()),
        ];
        assert_eq!(errors(&report), expected, "{report}");
        assert_eq!(report["rejected"], 9);

        // A real run of the same file writes nothing either.
        let report = import(app, &admin, csv, json!({}));
        assert_eq!(report["outcome"], "rejected");
        assert_eq!(order_count(app, &admin), 0);
    });
}

#[test]
fn importers_only_and_within_their_visibility() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        product(app, &admin, "TEA-500", 10_000);
        create_customer(
            app,
            &admin,
            json!({"kind": "person", "code": "C-1", "first_name": "الف", "last_name": "ب"}),
        );
        let csv = "customer,placed_at,sku\nC-1,2025-01-01,TEA-500\n";
        // Sales users may not import.
        let (_, email, password) = app.create_user("sales", None);
        let sales = app.login(&email, &password).access_token;
        let response = upload_to(app, PATH, &sales, ("o.csv", CSV, csv.into()), json!({}));
        assert_problem(response, 403, "forbidden");
        // A manager limited to their own customers cannot reach the admin's.
        let (_, email, password) = app.create_user("manager", Some("own"));
        let manager = app.login(&email, &password).access_token;
        let report = dry_run(app, &manager, csv, json!({}));
        assert_eq!(
            errors(&report),
            vec![(
                2,
                "customer".into(),
                Some("customer".into()),
                "not_allowed".into()
            )]
        );
        // Marketing may import but not create products.
        let (_, email, password) = app.create_user("marketing", None);
        let marketing = app.login(&email, &password).access_token;
        let response = upload_to(
            app,
            PATH,
            &marketing,
            ("o.csv", CSV, csv.into()),
            json!({"create_missing_products": true, "dry_run": true}),
        );
        assert_problem(response, 403, "forbidden");
        // Options that do not fit the file are problems before any job.
        let response = upload_to(
            app,
            PATH,
            &admin,
            ("o.csv", CSV, "customer,sku\nC-1,TEA-500\n".into()),
            json!({"mapping": {"nope": "sku"}, "amounts_in": "toman"}),
        );
        let problem = assert_problem(response, 422, "validation_failed");
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&"options.mapping.nope"), "{problem}");
        assert!(fields.contains(&"options.mapping"), "{problem}");
    });
}

#[test]
fn products_an_import_creates_obey_the_required_product_fields() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (status, field) = send(
            app,
            Method::POST,
            "/api/v1/custom-fields",
            &admin,
            Some(json!({"key": "grade", "label": "درجه", "kind": "text",
                        "required": true, "entity": "product"})),
        );
        assert_eq!(status, 201, "{field}");
        create_customer(
            app,
            &admin,
            json!({"kind": "person", "code": "C-1", "first_name": "الف", "last_name": "ب"}),
        );
        let csv = "customer,placed_at,sku,unit_price\nC-1,2025-01-01,NEW-1,1000\n";
        let report = dry_run(app, &admin, csv, json!({"create_missing_products": true}));
        assert_eq!(
            errors(&report),
            vec![(2, "custom_fields.grade".into(), None, "required".into())]
        );
        // The product import holds new products to the same rule.
        let response = upload_to(
            app,
            "/api/v1/products/imports",
            &admin,
            (
                "p.csv",
                CSV,
                "sku,name_fa,unit_price\nNEW-1,کالا,1000\n".into(),
            ),
            json!({"dry_run": true}),
        );
        assert_eq!(response.status(), 200);
        let report: Value = response.json().unwrap();
        assert_eq!(report["outcome"], "rejected", "{report}");
        assert_eq!(
            report["rejected_rows"][0]["errors"][0]["field"],
            "custom_fields.grade"
        );
    });
}
