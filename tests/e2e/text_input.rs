//! Characters text input may not hold: NUL and other control characters anywhere (JSON
//! bodies, query and path parameters, import cells), line breaks and bidirectional
//! overrides in single-line fields; the cap on a problem's error list; and malformed JSON.

use e2e::support::{assert_problem, create_customer, finished_job, for_each_backend};
use reqwest::blocking::{RequestBuilder, Response};
use reqwest::Method;
use serde_json::{json, Value};
use tabular::{Cell, Format, WriteOptions};

use crate::imports::{customer_count, upload, CSV, XLSX};

/// Sends `request` and expects a problem with `status` and `code`; returns its body.
fn problem(request: RequestBuilder, status: u16, code: &str) -> Value {
    assert_problem(request.send().expect("request"), status, code)
}

/// Expects a 422 whose errors include `field` with rule `rule`.
fn refused(request: RequestBuilder, field: &str, rule: &str) -> Value {
    let body = problem(request, 422, "validation_failed");
    let named = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .any(|error| error["field"] == field && error["code"] == rule);
    assert!(named, "{field}/{rule} not in {body}");
    body
}

/// A malformed query or path parameter: 400 naming the parameter and the rule.
fn refused_parameter(request: RequestBuilder, parameter: &str, rule: &str) {
    let body = problem(request, 400, "malformed_request");
    assert_eq!(body["errors"][0]["field"], parameter, "{body}");
    assert_eq!(body["errors"][0]["code"], rule, "{body}");
}

#[test]
fn nul_in_the_login_email_is_refused_before_any_lookup() {
    for_each_backend(|app| {
        refused(
            app.client()
                .post(app.url("/api/v1/auth/login"))
                .json(&json!({"email": "admin\u{0}@example.ir", "password": "x"})),
            "email",
            "nul_character",
        );
    });
}

#[test]
fn nul_in_customer_note_and_label_fields_is_refused_and_nothing_is_written() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let body = refused(
            app.authed(Method::POST, "/api/v1/customers", &admin).json(
                &json!({"kind": "person", "first_name": "Ali\u{0}", "last_name": "Karimi",
                        "phones": [{"number": "09121234567", "label": "w\u{0}rk"}]}),
            ),
            "first_name",
            "nul_character",
        );
        assert!(
            body["errors"]
                .as_array()
                .expect("errors")
                .iter()
                .any(|e| e["field"] == "phones[0].label" && e["code"] == "nul_character"),
            "{body}"
        );
        // A C0 control other than tab/LF/CR, and a C1 control, are refused likewise.
        refused(
            app.authed(Method::POST, "/api/v1/customers", &admin)
                .json(&json!({"kind": "person", "last_name": "Kar\u{7}imi"})),
            "last_name",
            "control_character",
        );
        refused(
            app.authed(Method::POST, "/api/v1/customers", &admin)
                .json(&json!({"kind": "person", "last_name": "Kar\u{9b}imi"})),
            "last_name",
            "control_character",
        );
        assert_eq!(customer_count(app), 0);

        let customer = create_customer(
            app,
            &admin,
            json!({"kind": "person", "last_name": "Karimi"}),
        );
        let id = customer["id"].as_str().expect("id");
        let notes = format!("/api/v1/customers/{id}/notes");
        refused(
            app.authed(Method::POST, &notes, &admin)
                .json(&json!({"body": "called\u{0}"})),
            "body",
            "nul_character",
        );
        refused(
            app.authed(Method::POST, "/api/v1/tags", &admin)
                .json(&json!({"name": "VIP\u{0}"})),
            "name",
            "nul_character",
        );
        let notes_page: Value = app
            .authed(Method::GET, &notes, &admin)
            .send()
            .expect("notes")
            .json()
            .expect("page");
        assert_eq!(notes_page["data"], json!([]));
        let tags: Value = app
            .authed(Method::GET, "/api/v1/tags", &admin)
            .send()
            .expect("tags")
            .json()
            .expect("page");
        assert_eq!(tags["data"], json!([]));
        assert_eq!(customer_count(app), 1);
    });
}

#[test]
fn nul_in_search_filters_query_and_path_parameters_is_refused() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        create_customer(
            app,
            &admin,
            json!({"kind": "person", "last_name": "Karimi"}),
        );
        refused(
            app.authed(Method::POST, "/api/v1/customers/search", &admin)
                .json(
                    &json!({"filter": {"field": "last_name", "op": "contains", "value": "\u{0}"}}),
                ),
            "filter.value",
            "nul_character",
        );
        refused(
            app.authed(Method::POST, "/api/v1/customers/search", &admin)
                .json(&json!({"filter": {"and": [{"field": "last_name", "op": "in", "value": ["a", "b\u{0}"]}]}})),
            "filter.and[0].value[1]",
            "nul_character",
        );
        refused(
            app.authed(Method::POST, "/api/v1/customers/search", &admin)
                .json(&json!({"q": "Kar\u{0}"})),
            "q",
            "nul_character",
        );
        refused_parameter(
            app.authed(
                Method::GET,
                "/api/v1/audit-events?action=customer%00",
                &admin,
            ),
            "action",
            "nul_character",
        );
        refused_parameter(
            app.authed(
                Method::GET,
                "/api/v1/audit-events?resource_type=a%07b",
                &admin,
            ),
            "resource_type",
            "control_character",
        );
        refused_parameter(
            app.authed(Method::GET, "/api/v1/customers/ab%00cd", &admin),
            "id",
            "nul_character",
        );
        // Layout characters in a query value are not control characters to refuse.
        let response = app
            .authed(Method::GET, "/api/v1/audit-events?action=a%0Ab", &admin)
            .send()
            .expect("list");
        assert_eq!(response.status(), 200);
    });
}

fn report_errors(report: &Value) -> Vec<(u64, String, Option<String>, String)> {
    report["rejected_rows"]
        .as_array()
        .expect("rejected rows")
        .iter()
        .flat_map(|row| {
            let number = row["row"].as_u64().expect("row");
            row["errors"]
                .as_array()
                .expect("errors")
                .iter()
                .map(move |e| {
                    (
                        number,
                        e["field"].as_str().expect("field").to_string(),
                        e["column"].as_str().map(str::to_string),
                        e["code"].as_str().expect("code").to_string(),
                    )
                })
        })
        .collect()
}

fn xlsx(rows: &[[&str; 2]]) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let headers = ["last_name".to_string(), "mobile".to_string()];
        let mut sink =
            tabular::writer(Format::Xlsx, &mut bytes, &headers, &WriteOptions::default())
                .expect("writer");
        for row in rows {
            let cells: Vec<Cell> = row.iter().map(|t| Cell::Text(t.to_string())).collect();
            sink.write_row(&cells).expect("row");
        }
        sink.finish().expect("finish");
    }
    bytes
}

#[test]
fn import_cells_with_nul_are_row_errors_naming_row_and_column() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let csv = "last_name,mobile\nKarimi,09121234567\nAh\u{0}madi,09121234568\nRezaei,0912123\u{0}4569\nNik\nNam,09121234570\n";
        // Row 5 holds a quoted line break in a name: single-line, so refused as such.
        let csv = csv.replace("Nik\nNam", "\"Nik\nNam\"");
        for dry_run in [true, false] {
            let response = upload(
                app,
                &admin,
                "customers.csv",
                CSV,
                csv.clone().into_bytes(),
                json!({"dry_run": dry_run}),
            );
            let report: Value = if dry_run {
                assert_eq!(response.status(), 200);
                response.json().expect("report")
            } else {
                let job = finished_job(app, &admin, response);
                assert_eq!(job["status"], "succeeded", "{job}");
                job["result"].clone()
            };
            assert_eq!(report["outcome"], "rejected", "{report}");
            let errors = report_errors(&report);
            for expected in [
                (3, "last_name", "last_name", "nul_character"),
                (4, "mobile", "mobile", "nul_character"),
                (5, "last_name", "last_name", "line_break"),
            ] {
                let expected = (
                    expected.0,
                    expected.1.to_string(),
                    Some(expected.2.to_string()),
                    expected.3.to_string(),
                );
                assert!(errors.contains(&expected), "{expected:?} not in {errors:?}");
            }
            assert_eq!(customer_count(app), 0, "nothing is written");
        }

        let bytes = xlsx(&[["Karimi", "09121234567"], ["Ah\u{0}madi", "09121234568"]]);
        let response = upload(
            app,
            &admin,
            "customers.xlsx",
            XLSX,
            bytes,
            json!({"dry_run": true}),
        );
        assert_eq!(response.status(), 200);
        let report: Value = response.json().expect("report");
        let expected = (
            3,
            "last_name".to_string(),
            Some("last_name".to_string()),
            "nul_character".to_string(),
        );
        assert!(report_errors(&report).contains(&expected), "{report}");
        assert_eq!(report["rejected"], 1, "{report}");

        // A header with NUL refuses the file, naming the column.
        let response = upload(
            app,
            &admin,
            "customers.csv",
            CSV,
            b"last_name,no\x00te\nKarimi,x\n".to_vec(),
            json!({}),
        );
        let body = problem_of(response);
        assert_eq!(body["errors"][0]["field"], "file", "{body}");
        assert_eq!(body["errors"][0]["code"], "nul_character", "{body}");
        assert_eq!(customer_count(app), 0);
    });
}

fn problem_of(response: Response) -> Value {
    assert_eq!(response.status(), 422);
    response.json().expect("problem")
}

#[test]
fn single_line_fields_refuse_line_breaks_and_bidi_overrides_multi_line_keep_them() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        refused(
            app.authed(Method::POST, "/api/v1/customers", &admin)
                .json(&json!({"kind": "person", "last_name": "\u{202E}gpj.exe"})),
            "last_name",
            "bidi_control",
        );
        refused(
            app.authed(Method::POST, "/api/v1/customers", &admin)
                .json(&json!({"kind": "person", "last_name": "Kar\nimi"})),
            "last_name",
            "line_break",
        );
        refused(
            app.authed(Method::POST, "/api/v1/tags", &admin)
                .json(&json!({"name": "VIP\u{2066}x\u{2069}"})),
            "name",
            "bidi_control",
        );
        assert_eq!(customer_count(app), 0);

        // ZWNJ (the Persian half-space) and RLM are ordinary Persian text.
        let customer = create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "مهر\u{200C}انگیز", "last_name": "نیک\u{200C}نام\u{200F}"}),
        );
        assert_eq!(customer["first_name"], "مهر\u{200C}انگیز");
        assert_eq!(customer["last_name"], "نیک\u{200C}نام\u{200F}");

        // A note keeps its line breaks and tabs.
        let id = customer["id"].as_str().expect("id");
        let notes = format!("/api/v1/customers/{id}/notes");
        let text = "تماس گرفت\n\tقرار بعدی: \u{2067}Room B\u{2069}\r\nپیگیری";
        let response = app
            .authed(Method::POST, &notes, &admin)
            .json(&json!({"body": text}))
            .send()
            .expect("note");
        assert_eq!(response.status(), 201);
        let page: Value = app
            .authed(Method::GET, &notes, &admin)
            .send()
            .expect("notes")
            .json()
            .expect("page");
        assert_eq!(page["data"][0]["body"], text);
    });
}

#[test]
fn the_error_list_is_capped_with_a_count_of_the_rest() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let values: Vec<String> = (0..10_000).map(|i| format!("{i}\u{0}")).collect();
        let response = app
            .authed(Method::POST, "/api/v1/customers/search", &admin)
            .json(&json!({"filter": {"field": "code", "op": "in", "value": values}}))
            .send()
            .expect("search");
        assert_eq!(response.status(), 422);
        let text = response.text().expect("body");
        assert!(text.len() < 20_000, "{} bytes", text.len());
        let body: Value = serde_json::from_str(&text).expect("problem");
        let errors = body["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 100);
        assert_eq!(errors[0]["field"], "filter.value[0]");
        assert_eq!(errors[99]["field"], "filter.value[99]");
        assert_eq!(body["errors_omitted"], 9_900);
        assert_eq!(body["detail"], "10000 fields are invalid");

        // Under the cap nothing is omitted, and the member is absent.
        let body = refused(
            app.authed(Method::POST, "/api/v1/customers/search", &admin)
                .json(&json!({"q": "\u{0}"})),
            "q",
            "nul_character",
        );
        assert!(body.get("errors_omitted").is_none(), "{body}");
    });
}

#[test]
fn a_body_that_is_not_json_is_malformed_whatever_it_starts_with() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        for body in [r#"{"x":"#, r#"{"name": "#, r#"{"x": 1"#, "{", "nope"] {
            problem(
                app.authed(Method::POST, "/api/v1/teams", &admin)
                    .header("content-type", "application/json")
                    .body(body),
                400,
                "malformed_request",
            );
        }
        // Well-formed with an unknown member stays a field error.
        refused(
            app.authed(Method::POST, "/api/v1/teams", &admin)
                .json(&json!({"name": "Sales", "x": 1})),
            "x",
            "unknown_field",
        );
    });
}

#[test]
fn control_characters_and_deep_json_in_feedback_and_survey_answers_are_refused() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let customer = create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "نظر", "last_name": "دهنده"}),
        )["id"]
            .as_str()
            .expect("id")
            .to_string();
        for (text, rule) in [
            ("bad\u{0}", "nul_character"),
            ("ba\u{7}d", "control_character"),
        ] {
            refused(
                app.authed(Method::POST, "/api/v1/feedback", &admin)
                    .json(&json!({"source": "other", "customer_id": customer, "text": text})),
                "text",
                rule,
            );
        }
        let listed: Value = app
            .authed(
                Method::GET,
                &format!("/api/v1/feedback?customer_id={customer}"),
                &admin,
            )
            .send()
            .expect("list")
            .json()
            .expect("json");
        assert_eq!(listed["data"], json!([]), "nothing was written");

        // A survey's link refuses the same in an answer, and JSON nested past reason,
        // and stays unanswered.
        let survey: Value = app
            .authed(Method::POST, "/api/v1/feedback-surveys", &admin)
            .json(
                &json!({"name": format!("متن {}", uuid::Uuid::now_v7().simple()), "questions": [
                {"key": "why", "kind": "text", "text_fa": "چرا؟"}]}),
            )
            .send()
            .expect("survey")
            .json()
            .expect("json");
        let sent: Value = app
            .authed(
                Method::POST,
                &format!(
                    "/api/v1/feedback-surveys/{}/invitations",
                    survey["id"].as_str().expect("id")
                ),
                &admin,
            )
            .json(&json!({"customer_ids": [customer]}))
            .send()
            .expect("invite")
            .json()
            .expect("json");
        let link = app.url(sent["data"][0]["link"].as_str().expect("link"));
        refused(
            app.client()
                .post(&link)
                .json(&json!({"answers": {"why": "خوب\u{0}"}})),
            "answers.why",
            "nul_character",
        );
        let mut nested = json!("خوب");
        for _ in 0..40 {
            nested = json!([nested]);
        }
        refused(
            app.client()
                .post(&link)
                .json(&json!({"answers": {"why": nested}})),
            "answers.why",
            "invalid_type",
        );
        let mut deep = json!("خوب");
        for _ in 0..300 {
            deep = json!({"x": deep});
        }
        let response = app
            .client()
            .post(&link)
            .json(&json!({"answers": {"why": deep}}))
            .send()
            .expect("deep");
        assert_eq!(response.status(), 400, "nested past serde's limit");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let page = app.client().get(&link).send().expect("page");
        assert_eq!(page.status(), 200, "still open");
    });
}
