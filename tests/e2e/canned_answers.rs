//! Canned answers (`/api/v1/canned-answers`): the library's create, list, get, change
//! and delete with `If-Match` and audit events; templates checked on write and rendered
//! with their uses counted under concurrency; roles; Persian-aware quick search; and
//! suggestions by similarity for Persian and English texts.

use reqwest::Method;
use serde_json::{json, Value};

use e2e::support::{
    assert_problem, field_codes, for_each_backend, id_of, merge_patch_request, send, TestApp,
};

const ANSWERS: &str = "/api/v1/canned-answers";

fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, answer) = send(app, Method::POST, ANSWERS, token, Some(body.clone()));
    assert_eq!(status, 201, "creating {body}: {answer}");
    answer
}

fn titles(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|answer| answer["title_fa"].as_str().expect("title").to_string())
        .collect()
}

/// One page of the listing with `query`, as the answers' Persian titles.
fn list(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Vec<String> {
    titles(&page(app, token, query))
}

fn page(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Value {
    let response = app
        .authed(Method::GET, ANSWERS, token)
        .query(query)
        .send()
        .expect("list");
    assert_eq!(response.status(), 200, "{query:?}");
    response.json().expect("page")
}

fn suggest(app: &TestApp, token: &str, text: &str) -> Vec<Value> {
    let (status, answer) = send(
        app,
        Method::POST,
        &format!("{ANSWERS}/suggest"),
        token,
        Some(json!({"text": text, "limit": 5})),
    );
    assert_eq!(status, 200, "{text}: {answer}");
    answer["data"].as_array().expect("data").clone()
}

/// A library of four answers, one of them inactive.
fn library(app: &TestApp, token: &str) -> [Value; 4] {
    [
        create(
            app,
            token,
            json!({
                "title_fa": "زمان ارسال سفارش", "title_en": "Shipping time",
                "question": "سفارشم کی ارسال می‌شود و کی به دستم می‌رسد؟",
                "answer_fa": "{{customer.name}} عزیز، سفارش {{order.number}} ظرف دو روز کاری ارسال می‌شود.",
                "answer_en": "Dear {{customer.name}}, order {{order.number}} ships within two business days.",
                "category": "ارسال"
            }),
        ),
        create(
            app,
            token,
            json!({
                "title_fa": "بازگرداندن کالا", "title_en": "Returns and refunds",
                "question": "چطور کالا را پس بدهم و پولم را پس بگیرم؟ How do I return an item and get a refund?",
                "answer_fa": "تا هفت روز پس از تحویل می‌توانید کالا را بازگردانید.",
                "answer_en": "You can return an item within seven days of delivery.",
                "category": "مرجوعی"
            }),
        ),
        create(
            app,
            token,
            json!({
                "title_fa": "فراموشی رمز عبور", "title_en": "Forgotten password",
                "question": "رمز عبورم را فراموش کرده‌ام، چطور وارد حسابم شوم؟",
                "answer_fa": "{{agent.name}} هستم؛ از صفحهٔ ورود «فراموشی رمز» را بزنید.",
                "category": "حساب"
            }),
        ),
        create(
            app,
            token,
            json!({
                "title_fa": "ارسال رایگان قدیمی",
                "question": "آیا ارسال سفارش رایگان است؟",
                "answer_fa": "ارسال بالای یک میلیون تومان رایگان است.",
                "category": "ارسال", "active": false
            }),
        ),
    ]
}

#[test]
fn answers_are_created_listed_changed_and_deleted_with_if_match() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, support_email, password) = app.create_user("support", None);
        let support = app.login(&support_email, &password).access_token;

        // An agent (records:write) builds the library.
        let [shipping, returns, password_reset, old] = library(app, &support);
        assert_eq!(shipping["active"], true);
        assert_eq!(shipping["usage_count"], 0);
        assert_eq!(shipping["last_used_at"], Value::Null);
        assert_eq!(shipping["version"], 1);
        assert_eq!(old["active"], false);

        // Listing: creation order, filters, keyset pages.
        assert_eq!(
            list(app, &support, &[]),
            [
                "زمان ارسال سفارش",
                "بازگرداندن کالا",
                "فراموشی رمز عبور",
                "ارسال رایگان قدیمی"
            ]
        );
        assert_eq!(
            list(app, &support, &[("category", "ارسال")]),
            ["زمان ارسال سفارش", "ارسال رایگان قدیمی"]
        );
        // A category is compared as it is stored: spaces collapsed.
        assert_eq!(
            list(app, &support, &[("category", "  ارسال ")]),
            ["زمان ارسال سفارش", "ارسال رایگان قدیمی"]
        );
        assert_eq!(
            list(app, &support, &[("category", "مرجوعی"), ("active", "true")]).len(),
            1
        );
        assert_eq!(
            list(app, &support, &[("active", "false")]),
            ["ارسال رایگان قدیمی"]
        );
        let first = page(app, &support, &[("limit", "2")]);
        assert_eq!(first["has_more"], true, "{first}");
        let cursor = first["next_cursor"].as_str().expect("cursor");
        assert_eq!(
            list(app, &support, &[("limit", "2"), ("cursor", cursor)]),
            ["فراموشی رمز عبور", "ارسال رایگان قدیمی"]
        );

        // Get with its ETag; a change with a stale one is refused, with the current one
        // applied.
        let path = format!("{ANSWERS}/{}", id_of(&returns));
        let response = app.authed(Method::GET, &path, &support).send().unwrap();
        assert_eq!(response.status(), 200);
        let etag = response.headers()["etag"].to_str().unwrap().to_string();
        let stale = merge_patch_request(app, &path, &support)
            .header("if-match", "\"0\"")
            .body(json!({"category": "x"}).to_string())
            .send()
            .unwrap();
        assert_problem(stale, 412, "precondition_failed");
        let response = merge_patch_request(app, &path, &support)
            .header("if-match", &etag)
            .body(json!({"category": "returns", "answer_en": null}).to_string())
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        let new_etag = response.headers()["etag"].to_str().unwrap().to_string();
        assert_ne!(new_etag, etag);
        let changed: Value = response.json().unwrap();
        assert_eq!(changed["category"], "returns");
        assert_eq!(changed["answer_en"], Value::Null);
        assert_eq!(changed["title_fa"], "بازگرداندن کالا", "unchanged");
        assert_eq!(changed["version"], 2);

        // Broken templates in a change are refused by field and rule.
        let broken = merge_patch_request(app, &path, &support)
            .header("if-match", &new_etag)
            .body(json!({"answer_fa": "سلام {{customer.name"}).to_string())
            .send()
            .unwrap();
        let problem = assert_problem(broken, 422, "validation_failed");
        assert_eq!(
            field_codes(&problem),
            [("answer_fa".to_string(), "invalid_template".to_string())]
        );

        // Audited.
        let (_, events) = send(
            app,
            Method::GET,
            "/api/v1/audit-events?action=canned_answer.update&limit=200",
            &admin,
            None,
        );
        let event = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|event| event["resource_id"] == id_of(&returns).as_str())
            .cloned()
            .expect("audited");
        assert_eq!(
            event["changes"]["category"],
            json!({"before": "مرجوعی", "after": "returns"}),
            "{event}"
        );

        // Deleting needs crm:configure: the agent may not, an admin may, with If-Match.
        let path = format!("{ANSWERS}/{}", id_of(&password_reset));
        let refused = app.authed(Method::DELETE, &path, &support).send().unwrap();
        assert_problem(refused, 403, "forbidden");
        let stale = app
            .authed(Method::DELETE, &path, &admin)
            .header("if-match", "\"0\"")
            .send()
            .unwrap();
        assert_problem(stale, 412, "precondition_failed");
        let deleted = app
            .authed(Method::DELETE, &path, &admin)
            .header("if-match", etag_of(&password_reset))
            .send()
            .unwrap();
        assert_eq!(deleted.status(), 204);
        let (status, _) = send(app, Method::GET, &path, &support, None);
        assert_eq!(status, 404);
        let (_, events) = send(
            app,
            Method::GET,
            "/api/v1/audit-events?action=canned_answer.delete&limit=200",
            &admin,
            None,
        );
        assert_eq!(events["data"].as_array().unwrap().len(), 1, "{events}");
    });
}

/// The entity tag of `resource` at its version.
fn etag_of(resource: &Value) -> String {
    format!(
        "\"{}-{}\"",
        id_of(resource).replace('-', ""),
        resource["version"].as_i64().expect("version")
    )
}

#[test]
fn templates_and_texts_are_checked_and_roles_apply() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let body = json!({
            "title_fa": "پیگیری", "question": "سفارشم کجاست؟",
            "answer_fa": "سفارش {{customer.phone}} در راه است.",
            "answer_en": "Order {{order.number} is on its way."
        });
        let response = app
            .authed(Method::POST, ANSWERS, &admin)
            .json(&body)
            .send()
            .unwrap();
        let problem = assert_problem(response, 422, "validation_failed");
        assert_eq!(
            field_codes(&problem),
            [
                ("answer_fa".to_string(), "unknown_variable".to_string()),
                ("answer_en".to_string(), "invalid_template".to_string()),
            ]
        );

        let response = app
            .authed(Method::POST, ANSWERS, &admin)
            .json(
                &json!({"title_fa": "\u{202E}abc", "question": " ", "answer_fa": "x",
                          "category": "y".repeat(51)}),
            )
            .send()
            .unwrap();
        let problem = assert_problem(response, 422, "validation_failed");
        assert_eq!(
            field_codes(&problem),
            [
                ("title_fa".to_string(), "bidi_control".to_string()),
                ("question".to_string(), "required".to_string()),
                ("category".to_string(), "too_long".to_string()),
            ]
        );

        // A read-only user reads and uses answers but writes none.
        let (_, reader_email, password) = app.create_user("read_only", None);
        let reader = app.login(&reader_email, &password).access_token;
        let refused = app
            .authed(Method::POST, ANSWERS, &reader)
            .json(&json!({"title_fa": "t", "question": "q", "answer_fa": "a"}))
            .send()
            .unwrap();
        assert_problem(refused, 403, "forbidden");
        let answer = create(
            app,
            &admin,
            json!({"title_fa": "t", "question": "q", "answer_fa": "a"}),
        );
        let path = format!("{ANSWERS}/{}", id_of(&answer));
        let (status, _) = send(app, Method::GET, &path, &reader, None);
        assert_eq!(status, 200);
        let refused = merge_patch_request(app, &path, &reader)
            .body(json!({"active": false}).to_string())
            .send()
            .unwrap();
        assert_problem(refused, 403, "forbidden");
        let (status, rendered) = send(
            app,
            Method::POST,
            &format!("{path}/render"),
            &reader,
            Some(json!({"lang": "fa"})),
        );
        assert_eq!(status, 200, "{rendered}");

        // Unknown names among the values are refused too.
        let response = app
            .authed(Method::POST, &format!("{path}/render"), &reader)
            .json(&json!({"variables": {"customer.phone": "0912"}}))
            .send()
            .unwrap();
        let problem = assert_problem(response, 422, "validation_failed");
        assert_eq!(
            field_codes(&problem),
            [(
                "variables.customer.phone".to_string(),
                "unknown_variable".to_string()
            )]
        );
    });
}

#[test]
fn rendering_fills_variables_and_counts_every_concurrent_use() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let [shipping, ..] = library(app, &admin);
        let path = format!("{ANSWERS}/{}/render", id_of(&shipping));

        let (status, rendered) = send(
            app,
            Method::POST,
            &path,
            &admin,
            Some(json!({"lang": "fa", "variables": {"customer.name": "سارا"}})),
        );
        assert_eq!(status, 200, "{rendered}");
        // A variable without a value renders as empty text.
        assert_eq!(
            rendered["text"],
            "سارا عزیز، سفارش  ظرف دو روز کاری ارسال می‌شود."
        );
        assert_eq!(rendered["lang"], "fa");
        assert_eq!(rendered["usage_count"], 1);
        let (_, rendered) = send(
            app,
            Method::POST,
            &path,
            &admin,
            Some(
                json!({"lang": "en", "variables": {"customer.name": "Sara", "order.number": "SO-7"}}),
            ),
        );
        assert_eq!(
            rendered["text"],
            "Dear Sara, order SO-7 ships within two business days."
        );
        assert_eq!(rendered["lang"], "en");

        // N concurrent uses are N more.
        const USES: usize = 8;
        let statuses: Vec<u16> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..USES)
                .map(|_| {
                    scope.spawn(|| {
                        send(
                            app,
                            Method::POST,
                            &path,
                            &admin,
                            Some(json!({"lang": "fa"})),
                        )
                        .0
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        assert_eq!(statuses, vec![200; USES]);
        let (_, stored) = send(
            app,
            Method::GET,
            &format!("{ANSWERS}/{}", id_of(&shipping)),
            &admin,
            None,
        );
        assert_eq!(stored["usage_count"], 2 + USES as i64, "{stored}");
        assert!(stored["last_used_at"].is_string(), "{stored}");
        // A use is not a change of the answer.
        assert_eq!(stored["version"], 1);
    });
}

#[test]
fn suggestions_and_quick_search_are_persian_aware() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        library(app, &admin);

        // Arabic yeh and kaf, no half-space, a greeting: shipping first.
        let found = suggest(app, &admin, "سلام وقت بخير، سفارشم كي ارسال ميشود؟");
        assert_eq!(
            found[0]["answer"]["title_fa"], "زمان ارسال سفارش",
            "{found:?}"
        );
        assert!(found[0]["score"].as_f64().unwrap() > 0.0);
        let scores: Vec<f64> = found.iter().map(|s| s["score"].as_f64().unwrap()).collect();
        assert!(
            scores.windows(2).all(|pair| pair[0] >= pair[1]),
            "{scores:?}"
        );
        // The inactive answer about shipping is never suggested.
        assert!(found
            .iter()
            .all(|s| s["answer"]["title_fa"] != "ارسال رایگان قدیمی"));

        let found = suggest(
            app,
            &admin,
            "Hello, I want to return this item and get my money back",
        );
        assert_eq!(
            found[0]["answer"]["title_fa"], "بازگرداندن کالا",
            "{found:?}"
        );
        let found = suggest(app, &admin, "رمز عبورم يادم رفته");
        assert_eq!(
            found[0]["answer"]["title_fa"], "فراموشی رمز عبور",
            "{found:?}"
        );
        // Nothing in common: no suggestion.
        assert_eq!(suggest(app, &admin, "the weather"), Vec::<Value>::new());

        let response = app
            .authed(Method::POST, &format!("{ANSWERS}/suggest"), &admin)
            .json(&json!({"text": " ", "limit": 50}))
            .send()
            .unwrap();
        let problem = assert_problem(response, 422, "validation_failed");
        assert_eq!(
            field_codes(&problem),
            [
                ("text".to_string(), "required".to_string()),
                ("limit".to_string(), "out_of_range".to_string()),
            ]
        );

        // Quick search: every term, Arabic letters and half-spaces unified.
        let q = |text: &str| list(app, &admin, &[("q", text)]);
        assert_eq!(q("كي مي‌رسد"), ["زمان ارسال سفارش"]);
        assert_eq!(q("ميرسد"), ["زمان ارسال سفارش"]);
        assert_eq!(q("ارسال"), ["زمان ارسال سفارش", "ارسال رایگان قدیمی"]);
        assert_eq!(q("ارسال رايگان"), ["ارسال رایگان قدیمی"]);
        assert_eq!(q("refund"), ["بازگرداندن کالا"]);
        assert!(q("ناموجود").is_empty());
    });
}
