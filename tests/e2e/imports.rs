//! `POST /api/v1/imports` (D-1): dry runs that report every bad row and write nothing,
//! all-or-nothing real runs as jobs, upserts, Persian digits and Jalali dates, large
//! files, upload limits and permissions.

use diesel::{QueryDsl, RunQueryDsl};
use e2e::support::{backends, finished_job, for_each_backend, insert_tag, TestApp};
use reqwest::blocking::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

pub(crate) const CSV: &str = "text/csv";
pub(crate) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A valid national code whose first nine digits are `seed` (zero-padded).
pub(crate) fn national_code(seed: u32) -> String {
    let digits: Vec<u8> = format!("{seed:09}").bytes().map(|b| b - b'0').collect();
    let first_nine: [u8; 9] = digits.try_into().expect("nine digits");
    let check = domain::iran::national_code_check_digit(first_nine);
    first_nine
        .iter()
        .chain([check].iter())
        .map(|d| char::from(b'0' + d))
        .collect()
}

/// `POST /imports` with `bytes` as the `file` part and `options` as the JSON part.
pub(crate) fn upload(
    app: &TestApp,
    token: &str,
    file_name: &str,
    content_type: &str,
    bytes: Vec<u8>,
    options: Value,
) -> reqwest::blocking::Response {
    upload_to(
        app,
        "/api/v1/imports",
        token,
        (file_name, content_type, bytes),
        options,
    )
}

/// A multipart import to `path`: `file` is the file's name, content type and bytes.
pub(crate) fn upload_to(
    app: &TestApp,
    path: &str,
    token: &str,
    file: (&str, &str, Vec<u8>),
    options: Value,
) -> reqwest::blocking::Response {
    let (file_name, content_type, bytes) = file;
    let form = Form::new()
        .part(
            "file",
            Part::bytes(bytes)
                .file_name(file_name.to_string())
                .mime_str(content_type)
                .expect("mime"),
        )
        .part(
            "options",
            Part::text(options.to_string())
                .mime_str("application/json")
                .expect("mime"),
        );
    app.authed(Method::POST, path, token)
        .multipart(form)
        .send()
        .expect("import request")
}

/// Runs an import to its end and returns the job's report.
pub(crate) fn import(
    app: &TestApp,
    token: &str,
    file_name: &str,
    content_type: &str,
    bytes: Vec<u8>,
    options: Value,
) -> Value {
    let job = finished_job(
        app,
        token,
        upload(app, token, file_name, content_type, bytes, options),
    );
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "customers.import");
    assert_eq!(job["progress"], 1.0);
    job["result"].clone()
}

/// Customers stored, merged or not.
pub(crate) fn customer_count(app: &TestApp) -> i64 {
    let mut conn = app.state.pool.get().expect("connection");
    persistence::schema::customers::table
        .count()
        .get_result(&mut conn)
        .expect("count")
}

/// Every customer the search finds, across pages.
pub(crate) fn search_all(app: &TestApp, token: &str, body: Value) -> Vec<Value> {
    let mut found = Vec::new();
    let mut body = body;
    body["limit"] = json!(200);
    loop {
        let page: Value = app
            .authed(Method::POST, "/api/v1/customers/search", token)
            .json(&body)
            .send()
            .expect("search")
            .json()
            .expect("page");
        found.extend(page["data"].as_array().expect("data").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) if page["has_more"] == true => body["cursor"] = json!(cursor),
            _ => return found,
        }
    }
}

/// The customer with business code `code`.
pub(crate) fn by_code(app: &TestApp, token: &str, code: &str) -> Value {
    let found = search_all(
        app,
        token,
        json!({"filter": {"field": "code", "op": "eq", "value": code}}),
    );
    assert_eq!(found.len(), 1, "one customer with code {code}: {found:?}");
    found[0].clone()
}

/// The errors of report row `row` as `(field, column, code)`.
fn errors_of(report: &Value, row: u64) -> Vec<(String, Option<String>, String)> {
    report["rejected_rows"]
        .as_array()
        .expect("rejected_rows")
        .iter()
        .find(|rejected| rejected["row"] == row)
        .unwrap_or_else(|| panic!("row {row} is not in the report: {report}"))["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|error| {
            (
                error["field"].as_str().expect("field").to_string(),
                error["column"].as_str().map(str::to_string),
                error["code"].as_str().expect("code").to_string(),
            )
        })
        .collect()
}

fn has_error(report: &Value, row: u64, field: &str, column: &str, code: &str) {
    let errors = errors_of(report, row);
    assert!(
        errors.contains(&(
            field.to_string(),
            Some(column.to_string()),
            code.to_string()
        )),
        "row {row} lacks {field}/{column}/{code}: {errors:?}"
    );
}

/// Persian headers mapped to fields, as a user's own spreadsheet would have them.
fn persian_mapping() -> Value {
    json!({
        "کد": "code",
        "نام": "first_name",
        "نام خانوادگی": "last_name",
        "موبایل": "mobile",
        "کد ملی": "national_code",
        "کد پستی": "postal_code",
        "تاریخ تولد": "birth_date"
    })
}

const PERSIAN_HEADER: &str = "کد,نام,نام خانوادگی,موبایل,کد ملی,کد پستی,تاریخ تولد,یادداشت\n";

#[test]
fn a_dry_run_reports_every_bad_row_by_field_and_column_and_writes_nothing() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let good = national_code(7_622_964);
        let csv = format!(
            "{PERSIAN_HEADER}\
             C-1,علی,کریمی,۰۹۱۲۱۲۳۴۵۶۷,{good},1966936541,۱۳۶۹/۰۱/۰۱,خوش‌قول\n\
             C-2,سارا,احمدی,09121234568,0076229640,1966936541,1990-03-21,\n\
             C-3,رضا,رضایی,09121234569,,0123456789,,\n\
             C-4,مریم,حسینی,0912345,,,1369/13/01,\n\
             C-1,نیما,نوری,09121234570,,,,\n"
        );
        let response = upload(
            app,
            &admin,
            "customers.csv",
            CSV,
            csv.into_bytes(),
            json!({"mapping": persian_mapping(), "dry_run": true}),
        );
        assert_eq!(response.status(), 200);
        let report: Value = response.json().expect("report");
        assert_eq!(report["outcome"], "rejected", "{report}");
        assert_eq!(report["dry_run"], true);
        assert_eq!(report["rows"], 5);
        assert_eq!(report["rejected"], 4);
        assert_eq!(report["created"], 0);
        assert_eq!(report["ignored_columns"], json!(["یادداشت"]));
        has_error(&report, 3, "national_code", "کد ملی", "invalid_checksum");
        has_error(
            &report,
            4,
            "addresses[0].postal_code",
            "کد پستی",
            "invalid_format",
        );
        has_error(&report, 5, "phones[0].number", "موبایل", "invalid_length");
        has_error(&report, 5, "birth_date", "تاریخ تولد", "invalid_date");
        let duplicate = errors_of(&report, 6);
        assert_eq!(duplicate.len(), 1, "{duplicate:?}");
        assert_eq!(duplicate[0].0, "code");
        assert_eq!(duplicate[0].2, "duplicate_in_file");
        assert!(
            report["rejected_rows"]
                .as_array()
                .expect("rows")
                .iter()
                .all(|row| row["row"] != 2),
            "the good row passes: {report}"
        );
        assert_eq!(customer_count(app), 0, "a dry run writes nothing");

        // Only the good row: valid, and still nothing written.
        let csv =
            format!("{PERSIAN_HEADER}C-1,علی,کریمی,۰۹۱۲۱۲۳۴۵۶۷,{good},1966936541,۱۳۶۹/۰۱/۰۱,\n");
        let response = upload(
            app,
            &admin,
            "customers.csv",
            CSV,
            csv.into_bytes(),
            json!({"mapping": persian_mapping(), "dry_run": true}),
        );
        let report: Value = response.json().expect("report");
        assert_eq!(report["outcome"], "valid", "{report}");
        assert_eq!(report["created"], 1);
        assert_eq!(report["rejected_rows"], json!([]));
        assert_eq!(customer_count(app), 0, "a dry run writes nothing");
    });
}

#[test]
fn a_failing_import_writes_nothing_and_lists_the_rejected_rows() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let csv = "code,first_name,last_name,mobile,national_code\n\
                   A-1,Ali,Karimi,09121110001,\n\
                   A-2,Sara,Ahmadi,09121110002,\n\
                   A-3,,,09121110003,\n\
                   A-4,Reza,Rezaei,09121110004,\n";
        let report = import(app, &admin, "people.csv", CSV, csv.into(), json!({}));
        assert_eq!(report["outcome"], "rejected", "{report}");
        assert_eq!(report["dry_run"], false);
        assert_eq!(report["created"], 0);
        assert_eq!(report["rejected"], 1);
        assert_eq!(
            errors_of(&report, 4),
            vec![("last_name".to_string(), None, "required".to_string())]
        );
        assert_eq!(
            customer_count(app),
            0,
            "no row of a rejected import is written"
        );

        // The same file without the bad row goes in whole.
        let csv = csv.replace("A-3,,,09121110003,\n", "");
        let report = import(app, &admin, "people.csv", CSV, csv.into(), json!({}));
        assert_eq!(report["outcome"], "imported", "{report}");
        assert_eq!(report["created"], 3);
        assert_eq!(customer_count(app), 3);
        let ali = by_code(app, &admin, "A-1");
        assert_eq!(ali["phones"][0]["number"], "+989121110001");
        assert_eq!(ali["phones"][0]["type"], "mobile");
    });
}

#[test]
fn persian_digits_jalali_dates_and_tags_are_read_into_stored_form() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        insert_tag(app, "مشتری ویژه");
        let csv = "code,kind,first_name,last_name,mobile,phone,birth_date,national_code,postal_code,city,tag_names,gender\n\
                   ک-۱۲,شخص,علي,كريمي,۰۹۱۲ ۱۲۳ ۴۵۶۷,۰۲۱-۸۸۰۰۱۱۲۲,۱۳۶۹/۰۱/۰۱,۰۰۷۶۲۲۹۶۴۵,۱۹۶۶۹۳۶۵۴۱,تهران,مشتری ویژه,مرد\n";
        let report = import(app, &admin, "fa.csv", CSV, csv.into(), json!({}));
        assert_eq!(report["outcome"], "imported", "{report}");
        let customer = by_code(app, &admin, "ک-12");
        assert_eq!(customer["kind"], "person");
        assert_eq!(customer["gender"], "male");
        assert_eq!(customer["birth_date"], "1990-03-21");
        assert_eq!(customer["national_code"], "0076229645");
        assert_eq!(customer["addresses"][0]["postal_code"], "1966936541");
        assert_eq!(customer["addresses"][0]["city"], "تهران");
        let numbers: Vec<&str> = customer["phones"]
            .as_array()
            .expect("phones")
            .iter()
            .map(|phone| phone["number"].as_str().expect("number"))
            .collect();
        assert_eq!(
            numbers,
            vec!["+982188001122", "+989121234567"],
            "`phone` leads"
        );
        assert_eq!(customer["phones"][0]["primary"], true);
        assert_eq!(customer["tag_ids"].as_array().map(Vec::len), Some(1));

        // Unknown tag names are rejected with their column.
        let csv = "first_name,tag_names\nNima,ناشناخته\n";
        let report = import(app, &admin, "tags.csv", CSV, csv.into(), json!({}));
        has_error(&report, 2, "tag_ids", "tag_names", "not_found");
    });
}

#[test]
fn ten_thousand_rows_import_in_one_job_and_are_searchable() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let mut csv = String::from("code,first_name,last_name,mobile,email,national_code,city\n");
        for i in 0..10_000_u32 {
            csv.push_str(&format!(
                "BULK-{i},Name{i},Family{i},0912{:07},person{i}@example.ir,{},Tabriz\n",
                i,
                national_code(100_000 + i)
            ));
        }
        let report = import(app, &admin, "bulk.csv", CSV, csv.into(), json!({}));
        assert_eq!(
            report["outcome"], "imported",
            "{}",
            report["rejected_rows"][0]
        );
        assert_eq!(report["rows"], 10_000);
        assert_eq!(report["created"], 10_000);
        assert_eq!(customer_count(app), 10_000);

        let found = search_all(app, &admin, json!({"q": "Family9876"}));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["code"], "BULK-9876");
        assert_eq!(found[0]["emails"][0]["address"], "person9876@example.ir");
        let found = search_all(app, &admin, json!({"q": "09120009876"}));
        assert_eq!(found.len(), 1, "found by the phone as typed");

        // A term every customer holds: SQLite answers it by walking the sort order
        // instead of the trigram index, a term of 1,111 customers from the index; both
        // page through every match once.
        for (q, expected) in [("family", 10_000), ("family1", 1_111)] {
            let found = search_all(app, &admin, json!({"q": q}));
            let codes: std::collections::HashSet<&str> =
                found.iter().filter_map(|c| c["code"].as_str()).collect();
            assert_eq!((found.len(), codes.len()), (expected, expected), "q = {q}");
        }
    });
}

#[test]
fn upsert_by_code_updates_existing_customers_instead_of_duplicating_them() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let csv = "code,first_name,last_name,mobile,city\n\
                   U-1,Ali,Karimi,09121230001,Tehran\n\
                   U-2,Sara,Ahmadi,09121230002,Shiraz\n";
        let report = import(app, &admin, "first.csv", CSV, csv.into(), json!({}));
        assert_eq!(report["created"], 2, "{report}");
        let before = by_code(app, &admin, "U-1");

        // Create mode refuses codes that are taken.
        let report = import(app, &admin, "again.csv", CSV, csv.into(), json!({}));
        assert_eq!(report["outcome"], "rejected");
        has_error(&report, 2, "code", "code", "already_exists");

        let csv = "code,city,email,lifecycle_stage\n\
                   U-1,Isfahan,ali@example.ir,purchase\n\
                   U-2,,sara@example.ir,\n\
                   U-3,Yazd,,\n";
        let options = json!({"mode": "upsert", "match_on": "code", "mapping": {
            "code": "code", "city": "city", "email": "email", "lifecycle_stage": "lifecycle_stage"
        }});
        let report = import(app, &admin, "update.csv", CSV, csv.into(), options.clone());
        // U-3 has no name: rejected, so nothing at all is written.
        assert_eq!(report["outcome"], "rejected", "{report}");
        assert!(
            errors_of(&report, 4).contains(&("last_name".into(), None, "required".into())),
            "{report}"
        );
        assert_eq!(
            by_code(app, &admin, "U-1")["addresses"][0]["city"],
            "Tehran"
        );

        let csv = csv.replace("U-3,Yazd,,\n", "U-3,Yazd,,\nU-1,Qom,,\n");
        let report = import(
            app,
            &admin,
            "update.csv",
            CSV,
            csv.clone().into(),
            options.clone(),
        );
        assert_eq!(report["outcome"], "rejected");
        assert_eq!(errors_of(&report, 5)[0].2, "duplicate_in_file");

        let csv = "code,city,email,lifecycle_stage,first_name\n\
                   U-1,Isfahan,ali@example.ir,purchase,\n\
                   U-2,,sara@example.ir,,\n\
                   U-3,Yazd,,,Nima\n";
        let options = json!({"mode": "upsert", "match_on": "code"});
        let report = import(app, &admin, "update.csv", CSV, csv.into(), options);
        assert_eq!(report["outcome"], "imported", "{report}");
        assert_eq!(report["updated"], 2);
        assert_eq!(report["created"], 1);
        assert_eq!(customer_count(app), 3, "no duplicates");

        let after = by_code(app, &admin, "U-1");
        assert_eq!(after["id"], before["id"]);
        assert_eq!(after["first_name"], "Ali", "empty cells leave fields alone");
        assert_eq!(after["addresses"][0]["city"], "Isfahan");
        assert_eq!(after["emails"][0]["address"], "ali@example.ir");
        assert_eq!(after["phones"], before["phones"]);
        assert_eq!(after["lifecycle_stage"], "purchase");
        let sara = by_code(app, &admin, "U-2");
        assert_eq!(sara["addresses"][0]["city"], "Shiraz");
        assert_eq!(sara["emails"][0]["address"], "sara@example.ir");
    });
}

#[test]
fn upsert_by_national_code_and_by_phone_find_the_customer() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let code = national_code(4_440_001);
        let csv =
            format!("first_name,last_name,national_code,mobile\nAli,Karimi,{code},09125550001\n");
        import(app, &admin, "one.csv", CSV, csv.into(), json!({}));

        let csv = format!("national_code,city\n{code},Karaj\n");
        let options = json!({"mode": "upsert", "match_on": "national_code"});
        let report = import(app, &admin, "nc.csv", CSV, csv.into(), options);
        assert_eq!(report["updated"], 1, "{report}");

        let csv = "mobile,industry_note\n۰۹۱۲۵۵۵۰۰۰۱,x\n";
        let options =
            json!({"mode": "upsert", "match_on": "phone", "mapping": {"mobile": "mobile"}});
        let report = import(app, &admin, "phone.csv", CSV, csv.into(), options);
        assert_eq!(report["updated"], 1, "{report}");
        assert_eq!(report["created"], 0);
        assert_eq!(customer_count(app), 1);
    });
}

#[test]
fn bad_requests_are_problems_before_any_job() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let csv = || "first_name,last_name\nAli,Karimi\n".as_bytes().to_vec();
        let problem = |response: reqwest::blocking::Response, status: u16| -> Value {
            assert_eq!(response.status(), status);
            response.json().expect("problem")
        };
        let body = problem(
            upload(
                app,
                &admin,
                "a.csv",
                CSV,
                csv(),
                json!({"mapping": {"nope": "first_name", "last_name": "surname"}}),
            ),
            422,
        );
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["field"].as_str().expect("field"))
            .collect();
        assert!(fields.contains(&"options.mapping.nope"), "{body}");
        assert!(fields.contains(&"options.mapping.last_name"), "{body}");

        let body = problem(
            upload(app, &admin, "a.csv", CSV, csv(), json!({"mode": "upsert"})),
            422,
        );
        assert_eq!(body["errors"][0]["field"], "options.match_on");
        let body = problem(
            upload(
                app,
                &admin,
                "a.csv",
                CSV,
                csv(),
                json!({"mode": "sometimes"}),
            ),
            422,
        );
        assert_eq!(body["errors"][0]["field"], "options.mode");

        let body = problem(
            upload(app, &admin, "a.pdf", "application/pdf", csv(), json!({})),
            422,
        );
        assert_eq!(body["errors"][0]["code"], "unsupported_format");
        let ragged = b"a,b\n1,2,3\n".to_vec();
        let body = problem(upload(app, &admin, "a.csv", CSV, ragged, json!({})), 422);
        assert_eq!(body["errors"][0]["field"], "file");
        assert_eq!(body["errors"][0]["code"], "ragged_row");

        let response = app
            .authed(Method::POST, "/api/v1/imports", &admin)
            .json(&json!({}))
            .send()
            .expect("json body");
        assert_eq!(response.status(), 415);
        assert_eq!(customer_count(app), 0);
    });
}

#[test]
fn uploads_over_the_limit_are_refused_with_413() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, &["--max-upload-bytes", "4096"]);
        let admin = app.admin_token();
        let mut csv = String::from("first_name,last_name\n");
        while csv.len() < 8192 {
            csv.push_str("Ali,Karimi\n");
        }
        let response = upload(&app, &admin, "big.csv", CSV, csv.into_bytes(), json!({}));
        assert_eq!(response.status(), 413);
        let problem: Value = response.json().expect("problem");
        assert_eq!(problem["code"], "payload_too_large");

        let small = b"first_name,last_name\nAli,Karimi\n".to_vec();
        let response = upload(
            &app,
            &admin,
            "small.csv",
            CSV,
            small,
            json!({"dry_run": true}),
        );
        assert_eq!(
            response.status(),
            200,
            "the limit is the upload's, not JSON's"
        );
    }
}

/// A real customer workbook (`first_name`, `last_name`) with a shared-string table that
/// unpacks to 80 MB from under 1 MB, a zip bomb calamine would load whole.
fn shared_string_bomb() -> Vec<u8> {
    use std::io::{Cursor, Write};

    let mut workbook = Vec::new();
    let headers = ["first_name".to_string(), "last_name".to_string()];
    let mut sink = tabular::writer(
        tabular::Format::Xlsx,
        &mut workbook,
        &headers,
        &Default::default(),
    )
    .expect("xlsx writer");
    sink.write_row(&[
        tabular::Cell::Text("Ali".into()),
        tabular::Cell::Text("Karimi".into()),
    ])
    .expect("row");
    sink.finish().expect("xlsx");

    let mut table = String::from(r#"<sst uniqueCount="4000000">"#);
    table.push_str(&"<si><t>bomb</t></si>".repeat(4_000_000));
    table.push_str("</sst>");
    let mut archive = zip::ZipArchive::new(Cursor::new(workbook)).expect("xlsx is a zip");
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for index in 0..archive.len() {
        out.raw_copy_file(archive.by_index_raw(index).expect("part"))
            .expect("copy");
    }
    out.start_file(
        "xl/sharedStrings.xml",
        zip::write::SimpleFileOptions::default(),
    )
    .expect("bomb part");
    out.write_all(table.as_bytes()).expect("bomb");
    out.finish().expect("zip").into_inner()
}

#[test]
fn a_zip_bomb_is_a_problem_on_the_file_not_a_full_server() {
    let bomb = shared_string_bomb();
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    for_each_backend(|app| {
        let admin = app.admin_token();
        for options in [json!({"dry_run": true}), json!({})] {
            let response = upload(app, &admin, "bomb.xlsx", XLSX, bomb.clone(), options);
            assert_eq!(response.status(), 422);
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json"
            );
            let problem: Value = response.json().expect("problem");
            assert_eq!(problem["code"], "validation_failed", "{problem}");
            assert_eq!(problem["errors"][0]["field"], "file", "{problem}");
            assert_eq!(
                problem["errors"][0]["code"], "compression_ratio_too_high",
                "{problem}"
            );
            assert!(
                problem["errors"][0]["message"]
                    .as_str()
                    .is_some_and(|message| message.contains("xl/sharedStrings.xml")),
                "{problem}"
            );
        }
        assert_eq!(customer_count(app), 0);
    });
}

#[test]
fn only_importers_may_import() {
    for_each_backend(|app| {
        let csv = || b"first_name,last_name\nAli,Karimi\n".to_vec();
        let (_, email, password) = app.create_user("read_only", None);
        let read_only = app.login(&email, &password).access_token;
        let response = upload(app, &read_only, "a.csv", CSV, csv(), json!({}));
        assert_eq!(response.status(), 403);

        let (_, email, password) = app.create_user("sales", None);
        let sales = app.login(&email, &password).access_token;
        let response = upload(app, &sales, "a.csv", CSV, csv(), json!({"dry_run": true}));
        assert_eq!(response.status(), 403);

        let form = Form::new().part("file", Part::bytes(csv()).file_name("a.csv"));
        let response = app
            .client()
            .post(app.url("/api/v1/imports"))
            .multipart(form)
            .send()
            .expect("anonymous import");
        assert_eq!(response.status(), 401);

        let (_, email, password) = app.create_user("marketing", None);
        let marketing = app.login(&email, &password).access_token;
        let report = import(app, &marketing, "a.csv", CSV, csv(), json!({}));
        assert_eq!(report["outcome"], "imported", "{report}");
        assert_eq!(customer_count(app), 1);
    });
}
