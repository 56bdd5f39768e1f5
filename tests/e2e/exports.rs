//! `POST /api/v1/exports` and `GET /api/v1/exports/{job_id}/file` (D-3): CSV, XLSX and
//! JSON files, right-to-left sheets for Persian, Jalali dates, visibility, and the round
//! trip back through an import.

use std::io::Read;

use e2e::support::{create_customer, finished_job, for_each_backend, insert_tag, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

use crate::imports::{by_code, customer_count, import, national_code, search_all, CSV, XLSX};

/// Runs an export to its end; returns the job's result and the file's response.
fn export(
    app: &TestApp,
    token: &str,
    language: &str,
    body: Value,
) -> (Value, reqwest::blocking::Response) {
    let response = app
        .authed(Method::POST, "/api/v1/exports", token)
        .header("Accept-Language", language)
        .json(&body)
        .send()
        .expect("export request");
    let job = finished_job(app, token, response);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "customers.export");
    assert_eq!(job["progress"], 1.0);
    let result = job["result"].clone();
    let download = result["download"].as_str().expect("download").to_string();
    assert_eq!(
        download,
        format!("/api/v1/exports/{}/file", job["id"].as_str().expect("id"))
    );
    let file = app
        .authed(Method::GET, &download, token)
        .send()
        .expect("download");
    assert_eq!(file.status(), 200);
    (result, file)
}

/// A person with something in every kind of column.
fn rich_person(code: &str, seed: u32) -> Value {
    json!({
        "kind": "person",
        "code": code,
        "title": "دکتر",
        "gender": "female",
        "first_name": "سارا",
        "last_name": format!("احمدی{seed}"),
        "phones": [
            {"number": format!("0912{seed:07}"), "primary": true},
            {"number": format!("0218{seed:07}")},
            {"number": format!("0935{seed:07}")}
        ],
        "emails": [{"address": format!("sara{seed}@example.ir")}, {"address": format!("s{seed}@work.ir")}],
        "addresses": [{"province": "تهران", "city": "تهران", "line": "خیابان ولیعصر، پلاک ۱۲", "postal_code": "1966936541", "po_box": "19395-1234"}],
        "national_code": national_code(seed),
        "birth_date": "1990-03-21",
        "marriage_date": "2015-06-01",
        "field_of_study": "مدیریت",
        "degree": "master",
        "lifecycle_stage": "retention",
        "acquisition_source": "exhibition",
        "acquisition_channel": "booth",
        "acquisition_campaign": "spring-1403"
    })
}

fn organization(code: &str) -> Value {
    json!({
        "kind": "organization",
        "code": code,
        "organization_name": "شرکت پیوند",
        "industry": "نرم‌افزار",
        "national_id": national_id(),
        "founding_date": "2001-01-01",
        "website": "peyvand.example.ir",
        "phones": [{"number": "02188001122", "type": "fax"}],
        "emails": [{"address": "info@peyvand.example.ir"}]
    })
}

/// A valid legal-entity national id.
fn national_id() -> String {
    let first_ten = [1, 0, 1, 0, 1, 2, 3, 4, 5, 6];
    let check = domain::iran::legal_entity_check_digit(first_ten);
    first_ten
        .iter()
        .chain([check].iter())
        .map(|d| char::from(b'0' + d))
        .collect()
}

/// What must survive an export and an import: the writable fields. Phones are compared
/// as a set (their columns fix the order an import rebuilds, primary first).
fn profile(customer: &Value) -> Value {
    let mut fields = customer.clone();
    let object = fields.as_object_mut().expect("object");
    if let Some(Value::Array(phones)) = object.get_mut("phones") {
        phones.sort_by_key(|phone| phone["number"].as_str().unwrap_or("").to_string());
    }
    for server_kept in [
        "id",
        "created_at",
        "updated_at",
        "created_by",
        "lifecycle_changed_at",
        "merged_into_id",
        "erased_at",
    ] {
        object.remove(server_kept);
    }
    fields
}

fn xlsx_entry(bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("xlsx is a zip");
    let mut entry = archive.by_name(name).expect("entry");
    let mut text = String::new();
    entry.read_to_string(&mut text).expect("utf-8");
    text
}

#[test]
fn customers_export_to_csv_xlsx_and_json() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        create_customer(app, &admin, rich_person("E-1", 1_000_001));
        create_customer(app, &admin, organization("E-2"));

        let (result, file) = export(
            app,
            &admin,
            "en",
            json!({"format": "csv", "sort": [{"field": "display_name", "direction": "asc"}]}),
        );
        assert_eq!(result["rows"], 2);
        assert_eq!(file.headers()["content-type"], "text/csv; charset=utf-8");
        let disposition = file.headers()["content-disposition"]
            .to_str()
            .expect("ascii");
        assert!(disposition.starts_with("attachment"), "{disposition}");
        assert!(disposition.contains(".csv"), "{disposition}");
        let bytes = file.bytes().expect("body").to_vec();
        let sheet = tabular::read(&bytes, tabular::Format::Csv, &Default::default()).expect("csv");
        assert_eq!(sheet.headers[0], "id");
        assert!(sheet.headers.contains(&"national_code".to_string()));
        assert!(sheet.headers.contains(&"mobile".to_string()));
        assert_eq!(sheet.rows.len(), 2);
        let cell = |row: usize, header: &str| {
            let column = sheet
                .headers
                .iter()
                .position(|h| h == header)
                .expect(header);
            sheet.rows[row].cells[column].clone()
        };
        assert_eq!(cell(0, "organization_name"), "", "sorted by display name");
        assert_eq!(cell(0, "code"), "E-1");
        assert_eq!(cell(0, "birth_date"), "1990-03-21");
        assert_eq!(cell(0, "phone"), "+989121000001");
        assert_eq!(cell(0, "mobile"), "+989351000001");
        assert_eq!(cell(1, "fax"), "+982188001122");

        let (result, file) = export(
            app,
            &admin,
            "en",
            json!({"format": "json", "columns": ["code", "display_name", "birth_date"]}),
        );
        assert_eq!(result["content_type"], "application/json");
        assert_eq!(file.headers()["content-type"], "application/json");
        let rows: Value = file.json().expect("json array");
        let rows = rows.as_array().expect("array");
        assert_eq!(rows.len(), 2);
        assert!(rows
            .contains(&json!({"code": "E-2", "display_name": "شرکت پیوند", "birth_date": null})));

        let (_, file) = export(app, &admin, "en", json!({"format": "xlsx"}));
        assert_eq!(file.headers()["content-type"], XLSX);
        let bytes = file.bytes().expect("body").to_vec();
        let sheet =
            tabular::read(&bytes, tabular::Format::Xlsx, &Default::default()).expect("xlsx");
        assert_eq!(sheet.rows.len(), 2);
        assert!(!xlsx_entry(&bytes, "xl/worksheets/sheet1.xml").contains("rightToLeft=\"1\""));

        let bad = app
            .authed(Method::POST, "/api/v1/exports", &admin)
            .json(&json!({"columns": ["code", "favourite_colour"], "format": "pdf"}))
            .send()
            .expect("bad export");
        assert_eq!(bad.status(), 422);
        let bad = app
            .authed(Method::POST, "/api/v1/exports", &admin)
            .json(&json!({"columns": ["code", "favourite_colour"]}))
            .send()
            .expect("bad export");
        assert_eq!(bad.status(), 422);
        let problem: Value = bad.json().expect("problem");
        assert_eq!(problem["errors"][0]["field"], "columns[1]");
        let bad = app
            .authed(Method::POST, "/api/v1/exports", &admin)
            .json(&json!({"filter": {"field": "shoe_size", "op": "eq", "value": 1}}))
            .send()
            .expect("bad export");
        assert_eq!(bad.status(), 422);
        let anonymous = app
            .client()
            .post(app.url("/api/v1/exports"))
            .json(&json!({}))
            .send()
            .expect("anonymous export");
        assert_eq!(anonymous.status(), 401);
    });
}

#[test]
fn persian_xlsx_is_right_to_left_and_jalali_dates_are_asked_for() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        create_customer(app, &admin, rich_person("J-1", 1_000_002));

        let (_, file) = export(
            app,
            &admin,
            "fa-IR,fa;q=0.9",
            json!({"format": "xlsx", "calendar": "jalali"}),
        );
        let bytes = file.bytes().expect("body").to_vec();
        assert!(xlsx_entry(&bytes, "xl/worksheets/sheet1.xml").contains("rightToLeft=\"1\""));
        let sheet =
            tabular::read(&bytes, tabular::Format::Xlsx, &Default::default()).expect("xlsx");
        let column = |name: &str| sheet.headers.iter().position(|h| h == name).expect(name);
        assert_eq!(sheet.rows[0].cells[column("birth_date")], "1369/01/01");
        assert_eq!(sheet.rows[0].cells[column("marriage_date")], "1394/03/11");

        let (_, file) = export(
            app,
            &admin,
            "en",
            json!({"format": "xlsx", "right_to_left": true}),
        );
        let bytes = file.bytes().expect("body").to_vec();
        assert!(xlsx_entry(&bytes, "xl/worksheets/sheet1.xml").contains("rightToLeft=\"1\""));

        let (_, file) = export(
            app,
            &admin,
            "fa",
            json!({"format": "csv", "columns": ["code", "birth_date"], "calendar": "jalali"}),
        );
        let text = file.text().expect("csv");
        assert!(text.contains("J-1,1369/01/01"), "{text}");
    });
}

#[test]
fn an_export_imports_back_into_the_same_customers() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        insert_tag(app, "vip");
        insert_tag(app, "طلایی");
        let tags: Vec<Value> = {
            let mut conn = app.state.pool.get().expect("connection");
            persistence::labels::list(&mut conn, persistence::labels::TAG, None, 10)
                .expect("tags")
                .into_iter()
                .map(|label| json!(label.id.0))
                .collect()
        };
        let mut person = rich_person("R-1", 1_000_003);
        person["tag_ids"] = json!(tags);
        let originals = [
            create_customer(app, &admin, person),
            create_customer(app, &admin, rich_person("R-2", 1_000_004)),
            create_customer(app, &admin, organization("R-3")),
        ];
        let mut current = originals.to_vec();
        for (format, file_name, content_type) in
            [("csv", "back.csv", CSV), ("xlsx", "back.xlsx", XLSX)]
        {
            let (result, file) = export(
                app,
                &admin,
                "fa",
                json!({"format": format, "calendar": "jalali"}),
            );
            assert_eq!(result["rows"], 3);
            let bytes = file.bytes().expect("body").to_vec();
            for customer in &current {
                let id = customer["id"].as_str().expect("id");
                let deleted = app
                    .authed(Method::DELETE, &format!("/api/v1/customers/{id}"), &admin)
                    .send()
                    .expect("delete");
                assert_eq!(deleted.status(), 204);
            }
            assert_eq!(customer_count(app), 0);

            let report = import(app, &admin, file_name, content_type, bytes, json!({}));
            assert_eq!(report["outcome"], "imported", "{format}: {report}");
            assert_eq!(report["created"], 3);
            assert_eq!(report["ignored_columns"], json!(["id"]));
            current = originals
                .iter()
                .map(|original| {
                    let code = original["code"].as_str().expect("code");
                    let again = by_code(app, &admin, code);
                    assert_eq!(profile(&again), profile(original), "{format}: {code}");
                    again
                })
                .collect();
        }
        assert_eq!(search_all(app, &admin, json!({})).len(), 3);
    });
}

#[test]
fn an_export_holds_only_what_its_creator_may_see() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        create_customer(app, &admin, rich_person("V-1", 1_000_005));
        create_customer(app, &admin, rich_person("V-2", 1_000_006));
        let (_, email, password) = app.create_user("sales", Some("own"));
        let sales = app.login(&email, &password).access_token;
        create_customer(app, &sales, rich_person("V-3", 1_000_007));

        let response = app
            .authed(Method::POST, "/api/v1/exports", &sales)
            .json(&json!({"format": "json", "columns": ["code"]}))
            .send()
            .expect("export");
        let job = finished_job(app, &sales, response);
        assert_eq!(job["result"]["rows"], 1, "{job}");
        let download = job["result"]["download"].as_str().expect("download");
        let rows: Value = app
            .authed(Method::GET, download, &sales)
            .send()
            .expect("download")
            .json()
            .expect("json");
        assert_eq!(rows, json!([{"code": "V-3"}]));

        let (_, email, password) = app.create_user("sales", Some("own"));
        let other = app.login(&email, &password).access_token;
        let foreign = app
            .authed(Method::GET, download, &other)
            .send()
            .expect("foreign download");
        assert_eq!(
            foreign.status(),
            404,
            "another user's export does not exist for them"
        );
        let admin_view = app
            .authed(Method::GET, download, &admin)
            .send()
            .expect("admin download");
        assert_eq!(admin_view.status(), 200);
    });
}

/// Defines a custom field straight in the database (the definitions API is not part of
/// this suite).
fn define_custom_field(app: &TestApp, key: &str, kind: &str, options: Value) {
    let mut conn = app.state.pool.get().expect("connection");
    let now = persistence::sql_types::DbTime(persistence::now());
    persistence::custom_fields::insert(
        &mut conn,
        &persistence::custom_fields::CustomFieldRow {
            id: persistence::sql_types::DbUuid(uuid::Uuid::now_v7()),
            field_key: key.to_string(),
            label: key.to_string(),
            kind: kind.to_string(),
            options: persistence::sql_types::DbJson(options),
            required: false,
            created_at: now,
            updated_at: now,
            version: 1,
            entity: "customer".to_string(),
        },
    )
    .expect("insert custom field");
}

#[test]
fn custom_fields_import_and_export_as_custom_columns() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        define_custom_field(app, "branch", "select", json!(["Vanak", "Tajrish"]));
        define_custom_field(app, "since", "date", json!([]));
        define_custom_field(app, "visits", "integer", json!([]));
        let csv = "code,last_name,custom.branch,custom.since,custom.visits\n\
                   CF-1,Karimi,Vanak,۱۴۰۰/۰۱/۰۱,۱۲\n\
                   CF-2,Ahmadi,Niavaran,1400-13-01,many\n";
        let report = import(app, &admin, "custom.csv", CSV, csv.into(), json!({}));
        assert_eq!(report["outcome"], "rejected", "{report}");
        let errors = &report["rejected_rows"][0]["errors"];
        let columns: Vec<&str> = errors
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["column"].as_str().expect("column"))
            .collect();
        assert_eq!(report["rejected_rows"][0]["row"], 3);
        assert!(columns.contains(&"custom.branch"), "{errors}");
        assert!(columns.contains(&"custom.since"), "{errors}");
        assert!(columns.contains(&"custom.visits"), "{errors}");

        let csv = "code,last_name,custom.branch,custom.since,custom.visits\n\
                   CF-1,Karimi,Vanak,۱۴۰۰/۰۱/۰۱,۱۲\n";
        let report = import(app, &admin, "custom.csv", CSV, csv.into(), json!({}));
        assert_eq!(report["outcome"], "imported", "{report}");
        let customer = by_code(app, &admin, "CF-1");
        assert_eq!(
            customer["custom_fields"],
            json!({"branch": "Vanak", "since": "2021-03-21", "visits": 12})
        );

        let (_, file) = export(
            app,
            &admin,
            "en",
            json!({"format": "json", "columns": ["code"], "include_custom_fields": true, "calendar": "jalali"}),
        );
        let rows: Value = file.json().expect("json");
        assert_eq!(
            rows,
            json!([{"code": "CF-1", "custom.branch": "Vanak", "custom.since": "1400/01/01", "custom.visits": 12}])
        );
        let (_, file) = export(
            app,
            &admin,
            "en",
            json!({"format": "csv", "columns": ["code", "custom.visits"]}),
        );
        assert!(file.text().expect("csv").contains("CF-1,12"));
    });
}
