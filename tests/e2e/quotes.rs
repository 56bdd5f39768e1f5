//! Quotes (S-6): pricing with discounts and tax, numbering (also under concurrent
//! creates), status changes and expiry, acceptance placing the order, record
//! visibility through the deal, hostile input, and personal data.

use std::sync::Barrier;

use diesel::RunQueryDsl;
use reqwest::Method;
use serde_json::{json, Value};

use e2e::support::{
    create_customer, field_codes, for_each_backend, id_of, merge_patch, send, TestApp,
    TEST_PASSWORD,
};

fn created(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = send(app, Method::POST, path, token, Some(body.clone()));
    assert_eq!(status, 201, "{path} {body}: {answer}");
    answer
}

fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let (status, body) = send(app, Method::GET, path, token, None);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn product(app: &TestApp, token: &str, sku: &str, name: &str, price: i64) -> String {
    id_of(&created(
        app,
        token,
        "/api/v1/products",
        json!({"sku": sku, "name": name, "name_en": format!("Product {sku}"), "unit_price": price}),
    ))
}

/// A deal with a new organization, made by `token`.
fn deal(app: &TestApp, token: &str, name: &str) -> (String, String) {
    let customer = id_of(&create_customer(
        app,
        token,
        json!({"kind": "organization", "organization_name": name}),
    ));
    let deal = created(
        app,
        token,
        "/api/v1/deals",
        json!({"title": format!("پیشنهاد {name}"), "customer_id": customer}),
    );
    (id_of(&deal), customer)
}

fn valid_until() -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string()
}

fn status_change(app: &TestApp, token: &str, quote: &str, body: Value) -> (u16, Value) {
    send(
        app,
        Method::POST,
        &format!("/api/v1/quotes/{quote}/status"),
        token,
        Some(body),
    )
}

fn fields(problem: &Value) -> Vec<(String, String)> {
    field_codes(problem)
}

fn pair(field: &str, code: &str) -> (String, String) {
    (field.to_string(), code.to_string())
}

/// The sequence part of a quote number `Q-<year>-<n>`, checking the year is Jalali.
fn sequence(number: &Value) -> i64 {
    let parts: Vec<&str> = number.as_str().unwrap().split('-').collect();
    assert_eq!(parts[0], "Q", "{number}");
    let year: i32 = parts[1].parse().unwrap();
    assert!((1400..1500).contains(&year), "{number}");
    assert_eq!(parts[2].len(), 6, "{number}");
    parts[2].parse().unwrap()
}

#[test]
fn quotes_are_priced_numbered_and_moved_through_their_statuses() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let cafe = product(app, &admin, "Q-CAFE", "قهوه‌ساز", 1_250_000);
        let cup = product(app, &admin, "Q-CUP", "فنجان", 333);
        let (deal_id, customer) = deal(app, &admin, "شرکت پیشنهاد");
        let until = valid_until();

        // 3 × 1,250,000 − 50,000 = 3,700,000, tax 10 %: 370,000.
        // 7 × 333 = 2,331 at 9 %: 209.79, rounded half up to 210.
        // 1 × 5 at 10 %: 0.5, rounded up to 1.
        let lines = json!([
            {"product_id": cafe, "quantity": 3, "discount": 50_000, "tax_rate": 1000},
            {"product_id": cup, "quantity": 7, "tax_rate": 900},
            {"product_id": cup, "quantity": 1, "unit_price": 5, "tax_rate": 1000}
        ]);
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/quotes",
            &admin,
            Some(
                json!({"deal_id": deal_id, "valid_until": until, "lines": lines, "total": 4_072_540}),
            ),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(fields(&problem), vec![pair("total", "mismatch")]);
        let quote = created(
            app,
            &admin,
            "/api/v1/quotes",
            json!({"deal_id": deal_id, "valid_until": until, "lines": lines,
                   "total": 4_072_547, "notes": "پرداخت در دو قسط"}),
        );
        assert_eq!(quote["status"], "draft");
        assert_eq!(quote["currency"], "IRR");
        assert_eq!(quote["subtotal"], 3_752_336);
        assert_eq!(quote["discount_total"], 50_000);
        assert_eq!(quote["tax_total"], 370_211);
        assert_eq!(quote["total"], 4_072_547);
        let taxes: Vec<i64> = quote["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|line| line["tax"].as_i64().unwrap())
            .collect();
        assert_eq!(taxes, vec![370_000, 210, 1]);
        assert_eq!(quote["lines"][0]["name"], "قهوه‌ساز");
        assert_eq!(quote["lines"][0]["unit_price"], 1_250_000);
        let first = sequence(&quote["number"]);
        assert_eq!(first, 1);
        let id = id_of(&quote);
        let path = format!("/api/v1/quotes/{id}");

        // Numbers follow one another; the deal's quotes are a filter of the listing.
        let second = created(
            app,
            &admin,
            "/api/v1/quotes",
            json!({"deal_id": deal_id, "valid_until": until,
                   "lines": [{"product_id": cup, "quantity": 1}]}),
        );
        assert_eq!(sequence(&second["number"]), 2);
        let (other_deal, _) = deal(app, &admin, "شرکت دیگر");
        let page = get(app, &admin, &format!("/api/v1/quotes?deal_id={deal_id}"));
        let listed: Vec<String> = page["data"].as_array().unwrap().iter().map(id_of).collect();
        assert_eq!(listed, vec![id.clone(), id_of(&second)]);
        let page = get(app, &admin, &format!("/api/v1/quotes?deal_id={other_deal}"));
        assert_eq!(page["data"], json!([]));
        let page = get(app, &admin, "/api/v1/quotes?limit=1");
        assert_eq!(page["has_more"], true);
        let cursor = page["next_cursor"].as_str().unwrap();
        let page = get(
            app,
            &admin,
            &format!("/api/v1/quotes?limit=1&cursor={cursor}"),
        );
        assert_eq!(page["data"][0]["id"], second["id"]);

        // A draft changes; lines are priced anew.
        let (status, changed) = merge_patch(
            app,
            &path,
            &admin,
            &json!({"lines": [{"product_id": cafe, "quantity": 1, "tax_rate": 1000}]}),
        );
        assert_eq!(status, 200, "{changed}");
        assert_eq!(changed["total"], 1_375_000);
        assert_eq!(changed["notes"], "پرداخت در دو قسط");
        let (status, problem) = merge_patch(app, &path, &admin, &json!({"deal_id": other_deal}));
        assert_eq!(status, 422);
        assert_eq!(fields(&problem), vec![pair("deal_id", "immutable")]);

        // Only a sent quote is decided; a sent one no longer changes.
        let (status, _) = status_change(app, &admin, &id, json!({"status": "accepted"}));
        assert_eq!(status, 409);
        let (status, problem) = status_change(
            app,
            &admin,
            &id,
            json!({"status": "sent", "create_order": true}),
        );
        assert_eq!(status, 422);
        assert_eq!(
            fields(&problem),
            vec![pair("create_order", "only_when_accepted")]
        );
        let (status, sent) = status_change(app, &admin, &id, json!({"status": "sent"}));
        assert_eq!(status, 200, "{sent}");
        assert_eq!(sent["status"], "sent");
        assert!(sent["sent_at"].is_string());
        let (status, _) = merge_patch(app, &path, &admin, &json!({"notes": "x"}));
        assert_eq!(status, 409);
        let (status, _) = status_change(app, &admin, &id, json!({"status": "draft"}));
        assert_eq!(status, 409);

        // Accepting places the order with the quote's lines, in one transaction.
        let (status, accepted) = status_change(
            app,
            &admin,
            &id,
            json!({"status": "accepted", "create_order": true}),
        );
        assert_eq!(status, 200, "{accepted}");
        assert_eq!(accepted["status"], "accepted");
        let order = get(
            app,
            &admin,
            &format!("/api/v1/orders/{}", accepted["order_id"].as_str().unwrap()),
        );
        assert_eq!(order["customer_id"], json!(customer));
        assert_eq!(order["status"], "pending");
        assert_eq!(order["external_reference"], accepted["number"]);
        assert_eq!(order["lines"].as_array().unwrap().len(), 1);
        assert_eq!(order["lines"][0]["product_id"], json!(cafe));
        assert_eq!(order["lines"][0]["quantity"], 1);
        assert_eq!(order["lines"][0]["unit_price"], 1_250_000);
        // Orders carry no tax: the order's total is the quote's before tax.
        assert_eq!(order["subtotal"], accepted["subtotal"]);
        assert_eq!(order["total"], 1_250_000);
        for status in ["rejected", "sent"] {
            let (code, _) = status_change(app, &admin, &id, json!({"status": status}));
            assert_eq!(code, 409, "{status}");
        }

        // A sent quote past its validity reads as expired and can no longer be decided.
        let second_id = id_of(&second);
        let (status, _) = status_change(app, &admin, &second_id, json!({"status": "sent"}));
        assert_eq!(status, 200);
        {
            let mut conn = app.state.pool.get().unwrap();
            diesel::sql_query(format!(
                "UPDATE quotes SET valid_until = '2020-01-01' WHERE id = '{second_id}'"
            ))
            .execute(&mut conn)
            .unwrap();
        }
        let expired = get(app, &admin, &format!("/api/v1/quotes/{second_id}"));
        assert_eq!(expired["status"], "expired");
        let (status, _) = status_change(app, &admin, &second_id, json!({"status": "accepted"}));
        assert_eq!(status, 409);

        // A deal with quotes stays: they are the record of what was offered.
        let response = app
            .authed(Method::DELETE, &format!("/api/v1/deals/{deal_id}"), &admin)
            .send()
            .unwrap();
        assert_eq!(response.status(), 409);
    });
}

#[test]
fn concurrent_creates_get_consecutive_numbers() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let cup = product(app, &admin, "N-CUP", "فنجان", 1_000);
        let (deal_id, _) = deal(app, &admin, "شرکت شماره");
        let until = valid_until();
        let start = Barrier::new(8);
        let numbers: Vec<i64> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let (start, admin, cup, deal_id, until) =
                        (&start, &admin, &cup, &deal_id, &until);
                    scope.spawn(move || {
                        start.wait();
                        let quote = created(
                            app,
                            admin,
                            "/api/v1/quotes",
                            json!({"deal_id": deal_id, "valid_until": until,
                                   "lines": [{"product_id": cup, "quantity": 1}]}),
                        );
                        sequence(&quote["number"])
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut sorted = numbers.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (1..=8).collect::<Vec<i64>>(), "{numbers:?}");
    });
}

#[test]
fn a_user_who_cannot_see_the_deal_cannot_reach_its_quotes() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let cup = product(app, &admin, "V-CUP", "فنجان", 1_000);
        let (_, mine_email, _) = app.create_user("sales", Some("own"));
        let (_, other_email, _) = app.create_user("sales", Some("own"));
        let mine = app.login(&mine_email, TEST_PASSWORD).access_token;
        let other = app.login(&other_email, TEST_PASSWORD).access_token;
        let (deal_id, _) = deal(app, &mine, "مشتری محرمانه");
        let quote = created(
            app,
            &mine,
            "/api/v1/quotes",
            json!({"deal_id": deal_id, "valid_until": valid_until(),
                   "lines": [{"product_id": cup, "quantity": 2}]}),
        );
        let id = id_of(&quote);
        let path = format!("/api/v1/quotes/{id}");

        let (status, _) = send(app, Method::GET, &path, &other, None);
        assert_eq!(status, 404);
        let (status, _) = merge_patch(app, &path, &other, &json!({"notes": "ربوده"}));
        assert_eq!(status, 404);
        let (status, _) = status_change(app, &other, &id, json!({"status": "sent"}));
        assert_eq!(status, 404);
        assert_eq!(get(app, &other, "/api/v1/quotes")["data"], json!([]));
        assert_eq!(
            get(app, &other, &format!("/api/v1/quotes?deal_id={deal_id}"))["data"],
            json!([])
        );
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/quotes",
            &other,
            Some(json!({"deal_id": deal_id, "valid_until": valid_until(),
                        "lines": [{"product_id": cup, "quantity": 1}]})),
        );
        assert_eq!(status, 422);
        assert_eq!(fields(&problem), vec![pair("deal_id", "not_found")]);

        // The owner and an admin see it; a read-only user reads but does not write.
        for token in [&mine, &admin] {
            assert_eq!(get(app, token, &path)["id"], quote["id"]);
            let page = get(app, token, "/api/v1/quotes");
            assert_eq!(page["data"][0]["id"], quote["id"]);
        }
        let (_, reader_email, _) = app.create_user("read_only", None);
        let reader = app.login(&reader_email, TEST_PASSWORD).access_token;
        assert_eq!(get(app, &reader, &path)["id"], quote["id"]);
        let (status, _) = merge_patch(app, &path, &reader, &json!({"notes": "x"}));
        assert_eq!(status, 403);
        let (status, _) = status_change(app, &reader, &id, json!({"status": "sent"}));
        assert_eq!(status, 403);
        let (status, _) = send(
            app,
            Method::POST,
            "/api/v1/quotes",
            &reader,
            Some(json!({"deal_id": deal_id, "valid_until": valid_until(),
                        "lines": [{"product_id": cup, "quantity": 1}]})),
        );
        assert_eq!(status, 403);
    });
}

#[test]
fn hostile_quote_input_is_refused_naming_the_field() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let cup = product(app, &admin, "H-CUP", "فنجان", 1_000);
        let (deal_id, _) = deal(app, &admin, "شرکت بد");
        let until = valid_until();
        let refused = |body: Value| {
            let (status, problem) = send(app, Method::POST, "/api/v1/quotes", &admin, Some(body));
            assert_eq!(status, 422, "{problem}");
            fields(&problem)
        };
        assert_eq!(
            refused(json!({"deal_id": deal_id, "valid_until": until,
                           "lines": [{"product_id": cup, "quantity": -1}]})),
            vec![pair("lines[0].quantity", "out_of_range")]
        );
        assert_eq!(
            refused(json!({"deal_id": deal_id, "valid_until": until,
                           "lines": [{"product_id": uuid::Uuid::now_v7(), "quantity": 1}]})),
            vec![pair("lines[0].product_id", "not_found")]
        );
        let many: Vec<Value> = (0..201)
            .map(|_| json!({"product_id": cup, "quantity": 1}))
            .collect();
        assert_eq!(
            refused(json!({"deal_id": deal_id, "valid_until": until, "lines": many})),
            vec![pair("lines", "invalid_length")]
        );
        assert_eq!(
            refused(json!({"deal_id": deal_id, "valid_until": until,
                           "lines": [{"product_id": cup, "quantity": 1, "tax_rate": 10_001}]})),
            vec![pair("lines[0].tax_rate", "out_of_range")]
        );
        assert_eq!(
            refused(json!({"deal_id": deal_id, "valid_until": until,
                           "lines": [{"product_id": cup, "quantity": 1, "tax_rate": -1}]})),
            vec![pair("lines[0].tax_rate", "out_of_range")]
        );
        assert_eq!(
            refused(json!({"deal_id": deal_id, "valid_until": "2020-01-01",
                           "lines": [{"product_id": cup, "quantity": 1}]})),
            vec![pair("valid_until", "in_past")]
        );
        assert_eq!(
            refused(
                json!({"deal_id": uuid::Uuid::now_v7(), "valid_until": until,
                           "lines": [{"product_id": cup, "quantity": 1}]})
            ),
            vec![pair("deal_id", "not_found")]
        );
        for body in [
            json!({"deal_id": deal_id, "valid_until": until, "lines": [{"product_id": cup, "quantity": 1, "colour": "red"}]}),
            json!({"deal_id": deal_id, "valid_until": "tomorrow", "lines": []}),
            json!({"deal_id": deal_id, "valid_until": until, "lines": [{"product_id": cup, "quantity": 1.5}]}),
        ] {
            let (status, answer) = send(app, Method::POST, "/api/v1/quotes", &admin, Some(body));
            assert!((400..500).contains(&status), "{answer}");
        }
        let (status, _) = send(app, Method::GET, "/api/v1/quotes?deal_id=x", &admin, None);
        assert_eq!(status, 400);
        // Nothing was written, and no number was used up.
        assert_eq!(get(app, &admin, "/api/v1/quotes")["data"], json!([]));
        let quote = created(
            app,
            &admin,
            "/api/v1/quotes",
            json!({"deal_id": deal_id, "valid_until": until,
                   "lines": [{"product_id": cup, "quantity": 1}]}),
        );
        assert_eq!(sequence(&quote["number"]), 1);
    });
}

#[test]
fn quotes_are_in_the_personal_data_export_and_erasure_empties_their_notes() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let cup = product(app, &admin, "P-CUP", "فنجان", 1_000);
        let (deal_id, customer) = deal(app, &admin, "شرکت حریم");
        let quote = created(
            app,
            &admin,
            "/api/v1/quotes",
            json!({"deal_id": deal_id, "valid_until": valid_until(),
                   "lines": [{"product_id": cup, "quantity": 1}], "notes": "با خانم رضایی"}),
        );
        let data = get(
            app,
            &admin,
            &format!("/api/v1/customers/{customer}/personal-data"),
        );
        assert_eq!(data["quotes"][0]["id"], quote["id"], "{data}");
        assert_eq!(data["quotes"][0]["notes"], "با خانم رضایی");
        assert_eq!(data["held_in"]["quotes"], 1);
        let (status, erased) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{customer}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erased}");
        assert_eq!(erased["erased"]["quotes"], 1, "{erased}");
        let kept = get(app, &admin, &format!("/api/v1/quotes/{}", id_of(&quote)));
        assert_eq!(kept["notes"], Value::Null);
        assert_eq!(kept["total"], quote["total"]);
    });
}

/// Runs a poppler tool (`pdftotext`, `pdftoppm`) on `pdf` with `args`, then the file,
/// then `after`, and answers its standard output; these tests need poppler-utils,
/// which CI installs.
fn poppler(tool: &str, args: &[&str], pdf: &[u8], after: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quote.pdf");
    std::fs::write(&path, pdf).unwrap();
    // In the temporary directory: some poppler versions also write a page file there.
    let output = std::process::Command::new(tool)
        .current_dir(dir.path())
        .args(args)
        .arg(&path)
        .args(after)
        .output()
        .unwrap_or_else(|error| panic!("{tool} (poppler-utils) must be installed: {error}"));
    assert!(output.status.success(), "{tool}: {output:?}");
    output.stdout
}

/// The text of the PDF in reading order, without the bidirectional marks pdftotext
/// puts around right-to-left lines and without spaces: pdftotext moves the space
/// between a Persian word and a number to the number's other side, which says nothing
/// about the document.
fn pdf_text(pdf: &[u8]) -> String {
    String::from_utf8(poppler("pdftotext", &[], pdf, &["-"]))
        .unwrap()
        .chars()
        .filter(|c| !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | ' '))
        .collect()
}

/// The page count, from the form feeds pdftotext ends pages with.
fn page_count(pdf: &[u8]) -> usize {
    pdf_text(pdf).matches('\u{c}').count()
}

/// The share of dark pixels of the top 8 % of page 1 (the title line) that lie in the
/// right half, from a greyscale rendering (`pdftoppm -gray`, a binary PGM).
fn title_ink_on_the_right(pdf: &[u8]) -> f64 {
    let pgm = poppler(
        "pdftoppm",
        &["-gray", "-r", "40", "-f", "1", "-l", "1"],
        pdf,
        &[],
    );
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8(pgm[start..at].to_vec()).unwrap());
    }
    assert_eq!(fields[0], "P5");
    let width: usize = fields[1].parse().unwrap();
    let height: usize = fields[2].parse().unwrap();
    let pixels = &pgm[at + 1..];
    let (mut left, mut right) = (0_u32, 0_u32);
    for y in 0..height * 8 / 100 {
        for x in 0..width {
            if pixels[y * width + x] < 128 {
                if x < width / 2 {
                    left += 1;
                } else {
                    right += 1;
                }
            }
        }
    }
    assert!(left + right > 0, "the title must be drawn");
    f64::from(right) / f64::from(left + right)
}

fn persian(n: usize) -> String {
    domain::persian::persian_digits(&n.to_string())
}

#[test]
fn a_quote_prints_as_a_persian_or_english_pdf_with_its_text_in_reading_order() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, reader_email, _) = app.create_user("read_only", None);
        let reader = app.login(&reader_email, TEST_PASSWORD).access_token;
        let (_, other_email, _) = app.create_user("sales", Some("own"));
        let other = app.login(&other_email, TEST_PASSWORD).access_token;
        let (deal_id, _) = deal(app, &admin, "شرکت چاپ پیوند");
        // 60 lines of 12,500,000 rials, the first with a discount and 9 % tax.
        let lines: Vec<Value> = (1..=60)
            .map(|n| {
                let id = product(
                    app,
                    &admin,
                    &format!("P-{n}"),
                    &format!("کیف چرمی {} رنگ", persian(n)),
                    12_500_000,
                );
                if n == 1 {
                    json!({"product_id": id, "quantity": 2, "discount": 500_000, "tax_rate": 900})
                } else {
                    json!({"product_id": id, "quantity": 1})
                }
            })
            .collect();
        let quote = created(
            app,
            &admin,
            "/api/v1/quotes",
            json!({"deal_id": deal_id, "valid_until": "2027-03-21", "lines": lines,
                   "notes": "تحویل در ده روز کاری"}),
        );
        let number = quote["number"].as_str().unwrap().to_owned();
        // 2 × 12,500,000 − 500,000 = 24,500,000 + 9 % = 26,705,000; 59 × 12,500,000 more.
        assert_eq!(quote["total"], 26_705_000 + 59 * 12_500_000);
        let path = format!("/api/v1/quotes/{}/pdf", id_of(&quote));

        let response = app
            .authed(Method::GET, &format!("{path}?lang=fa"), &admin)
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/pdf");
        let disposition = response.headers()["content-disposition"].to_str().unwrap();
        assert!(
            disposition.contains(&format!("{number}.pdf")),
            "{disposition}"
        );
        let fa = response.bytes().unwrap().to_vec();
        assert!(fa.starts_with(b"%PDF-"));

        // About 25 lines a page: 60 lines make three pages.
        assert_eq!(page_count(&fa), 3);
        let text = pdf_text(&fa);
        let at = |needle: &str| {
            let needle = needle.replace(' ', "");
            text.find(&needle)
                .unwrap_or_else(|| panic!("{needle:?} missing from:\n{text}"))
        };
        // The header in Persian with the Jalali validity date in Persian digits
        // (2027-03-21 is 1 Farvardin 1406), repeated on every page.
        assert!(at("پیش‌فاکتور") < at("شرکت چاپ پیوند"));
        // The customer and the deal's title («پیشنهاد شرکت چاپ پیوند») on each page.
        assert_eq!(text.matches("شرکتچاپپیوند").count(), 6);
        at("۱۴۰۶/۰۱/۰۱");
        // Lines in order, their amounts grouped with the Arabic thousands separator.
        let positions: Vec<usize> = (1..=60)
            .map(|n| at(&format!("کیف چرمی {} رنگ", persian(n))))
            .collect();
        assert!(positions.windows(2).all(|pair| pair[0] < pair[1]));
        at("۱۲٬۵۰۰٬۰۰۰");
        at("۲۶٬۷۰۵٬۰۰۰");
        // The totals and notes after the last line.
        let total = persian(26_705_000 + 59 * 12_500_000);
        assert!(at("مبلغ قابل پرداخت") > positions[59]);
        at(&format!("{} ریال", group_persian(&total)));
        assert!(at("تحویل در ده روز کاری") > positions[59]);
        at("صفحه ۳ از ۳");
        // Right to left: the title sits at the right of the page.
        assert!(title_ink_on_the_right(&fa) > 0.9);

        // English: Gregorian dates, the products' English names, left to right.
        let en = app
            .authed(Method::GET, &format!("{path}?lang=en"), &reader)
            .send()
            .unwrap();
        assert_eq!(en.status(), 200);
        let en = en.bytes().unwrap().to_vec();
        let text = pdf_text(&en);
        for needle in [
            format!("Quote{number}"),
            "Validuntil:2027-03-21".to_owned(),
            "ProductP-1\n".to_owned(),
            "26,705,000".to_owned(),
            "764,205,000IRR".to_owned(),
            "Totaldue".to_owned(),
            "Page3of3".to_owned(),
        ] {
            assert!(text.contains(&needle), "{needle:?} missing from:\n{text}");
        }
        assert!(title_ink_on_the_right(&en) < 0.1);
        // Without `lang`, the request's language.
        let response = app
            .authed(Method::GET, &path, &admin)
            .header("Accept-Language", "fa-IR")
            .send()
            .unwrap();
        assert!(pdf_text(&response.bytes().unwrap()).contains("پیش‌فاکتور"));

        // Visibility: a user who cannot see the deal gets 404, as for a missing quote;
        // an unknown language is a 400 naming it.
        let (status, _) = send(app, Method::GET, &path, &other, None);
        assert_eq!(status, 404);
        let (status, _) = send(app, Method::GET, &format!("{path}?lang=de"), &admin, None);
        assert_eq!(status, 400);
        let (status, _) = send(app, Method::GET, &path, "", None);
        assert_eq!(status, 401);
    });
}

/// Persian digits grouped in threes with the Arabic thousands separator.
fn group_persian(digits: &str) -> String {
    let chars: Vec<char> = digits.chars().collect();
    let mut grouped = String::new();
    for (index, c) in chars.iter().enumerate() {
        if index > 0 && (chars.len() - index).is_multiple_of(3) {
            grouped.push('٬');
        }
        grouped.push(*c);
    }
    grouped
}
