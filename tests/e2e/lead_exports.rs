//! `POST /api/v1/leads/exports` and the download of its file: CSV, XLSX and JSON with
//! the lead custom fields as columns, the leads filter tree, the caller's visibility, an
//! export that imports back, and erasure of a converted lead's customer deleting the file.

use e2e::support::{
    assert_problem, field_codes, finished_job, for_each_backend, id_of, send, TestApp,
};
use reqwest::Method;
use serde_json::{json, Value};
use tabular::{Format, InputSheet};

use crate::imports::upload_to;

/// Runs a lead export to its end; returns the job's result and the file's bytes.
fn export(app: &TestApp, token: &str, body: Value) -> (Value, Vec<u8>) {
    let response = app
        .authed(Method::POST, "/api/v1/leads/exports", token)
        .json(&body)
        .send()
        .expect("export request");
    let job = finished_job(app, token, response);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "leads.export");
    assert_eq!(job["progress"], 1.0);
    let result = job["result"].clone();
    let file = app
        .authed(
            Method::GET,
            result["download"].as_str().expect("download"),
            token,
        )
        .send()
        .expect("download");
    assert_eq!(file.status(), 200);
    (result, file.bytes().expect("body").to_vec())
}

fn read(bytes: &[u8], format: Format) -> InputSheet {
    tabular::read(bytes, format, &Default::default()).expect("readable export")
}

/// The cells under `header`, row by row.
fn column(sheet: &InputSheet, header: &str) -> Vec<String> {
    let index = sheet
        .headers
        .iter()
        .position(|h| h == header)
        .unwrap_or_else(|| panic!("no column {header} in {:?}", sheet.headers));
    sheet
        .rows
        .iter()
        .map(|row| row.cells[index].clone())
        .collect()
}

fn lead(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, lead) = send(app, Method::POST, "/api/v1/leads", token, Some(body));
    assert_eq!(status, 201, "{lead}");
    lead
}

#[test]
fn lead_exports_write_the_visible_leads_with_their_custom_fields() {
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
        let (_, seller_email, password) = app.create_user("sales", None);
        let seller = app.login(&seller_email, &password).access_token;
        lead(
            app,
            &seller,
            json!({"first_name": "سارا", "last_name": "احمدی", "phones": [{"number": "۰۹۱۲۱۲۳۴۵۶۷"}],
                   "emails": [{"address": "Sara@Example.IR"}], "custom_fields": {"budget": 500}}),
        );
        lead(
            app,
            &seller,
            json!({"company": "صنایع نور", "status": "contacted", "custom_fields": {"budget": 50}}),
        );
        let office = lead(
            app,
            &admin,
            json!({"first_name": "علی", "last_name": "کریمی", "custom_fields": {"budget": 900}}),
        );
        let sort = json!([{"field": "created_at", "direction": "asc"}]);

        // A seller exports only the leads they see; the custom field is a column.
        let (result, bytes) = export(app, &seller, json!({"sort": sort, "format": "csv"}));
        assert_eq!(result["rows"], 2, "{result}");
        let sheet = read(&bytes, Format::Csv);
        assert_eq!(column(&sheet, "display_name"), ["سارا احمدی", "صنایع نور"]);
        assert_eq!(column(&sheet, "phone"), ["+989121234567", ""]);
        assert_eq!(column(&sheet, "email"), ["sara@example.ir", ""]);
        assert_eq!(column(&sheet, "custom.budget"), ["500", "50"]);
        assert_eq!(
            sheet.headers.last().map(String::as_str),
            Some("custom.budget")
        );

        // The admin sees all three; the filter tree narrows, custom fields included.
        let (result, bytes) = export(
            app,
            &admin,
            json!({"filter": {"field": "custom.budget", "op": "gte", "value": 100},
                   "sort": sort, "format": "xlsx", "columns": ["display_name", "custom.budget"]}),
        );
        assert_eq!(result["rows"], 2, "{result}");
        let sheet = read(&bytes, Format::Xlsx);
        assert_eq!(sheet.headers, ["display_name", "custom.budget"]);
        assert_eq!(column(&sheet, "display_name"), ["سارا احمدی", "علی کریمی"]);
        let (_, bytes) = export(
            app,
            &admin,
            json!({"filter": {"field": "status", "op": "eq", "value": "contacted"},
                   "format": "json", "columns": ["id", "status", "custom.budget"]}),
        );
        let rows: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
        assert_eq!(rows[0]["custom.budget"], 50);
        assert_eq!(rows[0]["status"], "contacted");

        // The seller cannot download the admin's file.
        let (result, _) = export(app, &admin, json!({"format": "csv"}));
        let response = app
            .authed(Method::GET, result["download"].as_str().unwrap(), &seller)
            .send()
            .unwrap();
        assert_eq!(response.status(), 404);

        // Bad columns and filters are problems before any job.
        let response = app
            .authed(Method::POST, "/api/v1/leads/exports", &admin)
            .json(&json!({"columns": ["custom.colour", "status", "status"]}))
            .send()
            .unwrap();
        let problem = assert_problem(response, 422, "validation_failed");
        assert_eq!(
            field_codes(&problem),
            [
                ("columns[0]".to_string(), "unknown_field".to_string()),
                ("columns[2]".to_string(), "duplicate".to_string())
            ]
        );
        let response = app
            .authed(Method::POST, "/api/v1/leads/exports", &admin)
            .json(&json!({"filter": {"field": "custom.colour", "op": "eq", "value": 1}}))
            .send()
            .unwrap();
        assert_problem(response, 422, "validation_failed");

        // The default columns import back as new leads.
        let (_, bytes) = export(
            app,
            &admin,
            json!({"filter": {"field": "id", "op": "eq", "value": id_of(&office)}}),
        );
        let response = upload_to(
            app,
            "/api/v1/leads/imports",
            &admin,
            ("leads.csv", "text/csv", bytes),
            json!({"dry_run": true}),
        );
        assert_eq!(response.status(), 200);
        let report: Value = response.json().unwrap();
        assert_eq!(report["outcome"], "valid", "{report}");
        assert_eq!(report["created"], 1);
    });
}

#[test]
fn erasing_a_converted_leads_customer_deletes_lead_exports_holding_it() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let converted = lead(
            app,
            &admin,
            json!({"first_name": "نرگس", "last_name": "رضایی"}),
        );
        lead(app, &admin, json!({"company": "پخش سپهر"}));
        let (status, conversion) = send(
            app,
            Method::POST,
            &format!("/api/v1/leads/{}/convert", id_of(&converted)),
            &admin,
            Some(json!({})),
        );
        assert_eq!(status, 200, "{conversion}");
        let person = conversion["conversion"]["person_id"].as_str().unwrap();
        let (holding, _) = export(app, &admin, json!({"format": "csv"}));
        let (other, _) = export(
            app,
            &admin,
            json!({"filter": {"field": "status", "op": "eq", "value": "new"}}),
        );
        let (status, _) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{person}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200);
        let download = |result: &Value| {
            app.authed(Method::GET, result["download"].as_str().unwrap(), &admin)
                .send()
                .unwrap()
        };
        assert_problem(download(&holding), 410, "gone");
        assert_eq!(download(&other).status(), 200);
    });
}
