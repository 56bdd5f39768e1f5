//! `POST /api/v1/leads/imports`: a Persian file read into stored form (Persian digits
//! in phones, Arabic yeh and kaf found by Persian searches, custom fields), dry runs that
//! write nothing, all-or-nothing jobs whose report names every bad row (duplicates within
//! the file included), XLSX files, leads treated as `POST /leads` treats them (assignment
//! rules, scoring, audit), and the permission.

use e2e::support::{assert_problem, field_codes, finished_job, for_each_backend, send, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

use crate::imports::upload_to;

const PATH: &str = "/api/v1/leads/imports";
const CSV: &str = "text/csv";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn upload(app: &TestApp, token: &str, csv: &str, options: Value) -> reqwest::blocking::Response {
    upload_to(
        app,
        PATH,
        token,
        ("leads.csv", CSV, csv.as_bytes().to_vec()),
        options,
    )
}

/// Runs an import job to its end and returns its report.
fn finished(app: &TestApp, token: &str, response: reqwest::blocking::Response) -> Value {
    let job = finished_job(app, token, response);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "leads.import");
    assert_eq!(job["progress"], 1.0);
    job["result"].clone()
}

/// Every lead the caller sees, oldest first.
fn leads(app: &TestApp, token: &str, q: Option<&str>) -> Vec<Value> {
    let (status, page) = send(
        app,
        Method::POST,
        "/api/v1/leads/search",
        token,
        Some(json!({"q": q, "sort": [{"field": "created_at", "direction": "asc"}], "limit": 200})),
    );
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().expect("data").clone()
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

fn error(field: &str, column: Option<&str>, code: &str) -> (String, Option<String>, String) {
    (field.into(), column.map(str::to_string), code.into())
}

fn mapping() -> Value {
    json!({"mapping": {"نام": "first_name", "نام خانوادگی": "last_name", "شرکت": "company",
                       "موبایل": "phone", "تلفن": "phone2", "ایمیل": "email", "استان": "province",
                       "منبع": "source", "بودجه": "custom.budget", "وضعیت": "status"}})
}

const PERSIAN: &str = "نام,نام خانوادگی,شرکت,موبایل,تلفن,ایمیل,استان,منبع,بودجه,وضعیت\n\
    علي,كريمي,بازرگانی نور,۰۹۱۲ ۱۲۳ ۴۵۶۷,۰۲۱-۸۸۰۰۱۱۲۲,Ali@Noor.Example.IR,تهران,exhibition,۵۰۰,\n\
    سارا,احمدی,,09351112233,,,اصفهان,website,,contacted\n";

#[test]
fn a_persian_lead_file_is_read_like_leads_made_through_the_api() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (status, field) = send(
            app,
            Method::POST,
            "/api/v1/custom-fields",
            &admin,
            Some(json!({"key": "budget", "label": "بودجه", "kind": "integer", "entity": "lead"})),
        );
        assert_eq!(status, 201, "{field}");
        // New leads without an owner go where the assignment rules say, and are scored.
        let (seller, seller_email, password) = app.create_user("sales", None);
        let (status, rule) = send(
            app,
            Method::POST,
            "/api/v1/assignment-rules",
            &admin,
            Some(
                json!({"name": "اصفهان", "record_kind": "lead", "position": 10,
                        "condition": {"field": "province", "op": "eq", "value": "اصفهان"},
                        "target": {"kind": "user", "user_id": seller}}),
            ),
        );
        assert_eq!(status, 201, "{rule}");
        let (status, scoring) = send(
            app,
            Method::POST,
            "/api/v1/lead-scoring-rules",
            &admin,
            Some(json!({"name": "نمایشگاه", "points": 30,
                        "condition": {"field": "source", "op": "eq", "value": "exhibition"}})),
        );
        assert_eq!(status, 201, "{scoring}");

        // A dry run reports and writes nothing.
        let mut options = mapping();
        options["dry_run"] = json!(true);
        let response = upload(app, &admin, PERSIAN, options);
        assert_eq!(response.status(), 200);
        let report: Value = response.json().unwrap();
        assert_eq!(report["outcome"], "valid", "{report}");
        assert_eq!(report["created"], 2);
        assert!(leads(app, &admin, None).is_empty());

        let report = finished(app, &admin, upload(app, &admin, PERSIAN, mapping()));
        assert_eq!(report["outcome"], "imported", "{report}");
        assert_eq!(report["created"], 2);
        let all = leads(app, &admin, None);
        assert_eq!(all.len(), 2);
        let ali = &all[0];
        assert_eq!(ali["phones"][0]["number"], "+989121234567");
        assert_eq!(ali["phones"][0]["primary"], true);
        assert_eq!(ali["phones"][1]["number"], "+982188001122");
        assert_eq!(ali["emails"][0]["address"], "ali@noor.example.ir");
        assert_eq!(ali["custom_fields"], json!({"budget": 500}));
        assert_eq!(ali["status"], "new");
        assert_eq!(ali["scores"]["points"], 30);
        assert_eq!(ali["owner_id"], ali["created_by"]);
        let sara = &all[1];
        assert_eq!(sara["status"], "contacted");
        assert_eq!(sara["owner_id"], seller.to_string());
        assert_eq!(sara["scores"]["points"], 0);
        // Arabic yeh and kaf are found by Persian letters, a phone by its national form.
        let found = leads(app, &admin, Some("علی کریمی"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["id"], ali["id"]);
        assert_eq!(leads(app, &admin, Some("09121234567")).len(), 1);
        // The assignment is recorded and each lead audited as `lead.create`.
        let (_, history) = send(
            app,
            Method::GET,
            &format!("/api/v1/leads/{}/assignments", sara["id"].as_str().unwrap()),
            &admin,
            None,
        );
        assert_eq!(history["data"][0]["method"], "user", "{history}");
        let (_, events) = send(
            app,
            Method::GET,
            "/api/v1/audit-events?action=lead.create",
            &admin,
            None,
        );
        assert_eq!(events["data"].as_array().map(Vec::len), Some(2), "{events}");
        // The seller the rule chose sees their lead.
        let seller_token = app.login(&seller_email, &password).access_token;
        assert_eq!(leads(app, &seller_token, None).len(), 1);
    });
}

#[test]
fn a_lead_import_with_a_bad_row_writes_nothing_and_names_every_problem() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (status, _) = send(
            app,
            Method::POST,
            "/api/v1/custom-fields",
            &admin,
            Some(json!({"key": "budget", "label": "بودجه", "kind": "integer", "entity": "lead"})),
        );
        assert_eq!(status, 201);
        let csv = "نام,نام خانوادگی,شرکت,موبایل,تلفن,ایمیل,استان,منبع,بودجه,وضعیت\n\
            رضا,کریمی,,09121234567,,reza@example.ir,,,,\n\
            مینا,صدری,,۰۹۱۲۱۲۳۴۵۶۷,,,,,,\n\
            ,,,,,REZA@example.ir,,,,\n\
            نادر,نوری,,12,,not-an-email,,,بسیار,won\n\
            لیلا,,,,,,,,,converted\n";
        let report = finished(app, &admin, upload(app, &admin, csv, mapping()));
        assert_eq!(report["outcome"], "rejected", "{report}");
        assert_eq!(report["created"], 0);
        assert_eq!(report["rejected"], 4, "{report}");
        assert_eq!(
            errors_of(&report, 3),
            [error(
                "phones[0].number",
                Some("موبایل"),
                "duplicate_in_file"
            )]
        );
        assert_eq!(
            errors_of(&report, 4),
            [error(
                "emails[0].address",
                Some("ایمیل"),
                "duplicate_in_file"
            )]
        );
        let mut fifth = errors_of(&report, 5);
        fifth.sort();
        assert_eq!(
            fifth,
            [
                error("custom_fields.budget", Some("بودجه"), "invalid_type"),
                error("emails[0].address", Some("ایمیل"), "invalid_format"),
                error("phones[0].number", Some("موبایل"), "not_iranian"),
                error("status", Some("وضعیت"), "invalid_value"),
            ]
        );
        assert_eq!(
            errors_of(&report, 6),
            [error("status", Some("وضعیت"), "set_by_conversion")]
        );
        // The good row was not written either.
        assert!(leads(app, &admin, None).is_empty());
    });
}

#[test]
fn an_xlsx_lead_file_imports_and_only_importers_may_import() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let mut workbook = Vec::new();
        let headers = ["company", "phone", "owner_email"].map(String::from);
        let mut sink = tabular::writer(
            tabular::Format::Xlsx,
            &mut workbook,
            &headers,
            &Default::default(),
        )
        .expect("xlsx writer");
        let (_, seller_email, password) = app.create_user("sales", None);
        sink.write_row(&[
            tabular::Cell::Text("صنایع پارس".into()),
            tabular::Cell::Text("۰۹۱۹۱۱۱۲۲۳۳".into()),
            tabular::Cell::Text(seller_email.to_uppercase()),
        ])
        .expect("row");
        sink.finish().expect("xlsx");
        let response = upload_to(
            app,
            PATH,
            &admin,
            ("leads.xlsx", XLSX, workbook.clone()),
            json!({}),
        );
        let report = finished(app, &admin, response);
        assert_eq!(report["outcome"], "imported", "{report}");
        let seller = app.login(&seller_email, &password).access_token;
        let theirs = leads(app, &seller, None);
        assert_eq!(theirs.len(), 1);
        assert_eq!(theirs[0]["phones"][0]["number"], "+989191112233");

        // A seller may create leads but not import; a reader neither.
        for role in ["sales", "read_only"] {
            let (_, email, password) = app.create_user(role, None);
            let token = app.login(&email, &password).access_token;
            let response = upload_to(
                app,
                PATH,
                &token,
                ("leads.xlsx", XLSX, workbook.clone()),
                json!({"dry_run": true}),
            );
            assert_problem(response, 403, "forbidden");
        }
        // A mapping that does not fit the file is a problem before any job.
        let response = upload(
            app,
            &admin,
            "نام\nعلی\n",
            json!({"mapping": {"نام": "custom.colour", "x": "first_name"}}),
        );
        let problem = assert_problem(response, 422, "validation_failed");
        let mut codes = field_codes(&problem);
        codes.sort();
        assert_eq!(
            codes,
            [
                ("options.mapping.x", "unknown_column"),
                ("options.mapping.نام", "unknown_field"),
            ]
            .map(|(f, c)| (f.to_string(), c.to_string()))
        );
    });
}
