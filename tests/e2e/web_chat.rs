//! The web chat widget (O-2): a `web_chat` account's site key, made by the server and
//! replaced by an admin only; CORS for the account's own origins (another origin is
//! refused and stores nothing); visitors recognised as customers or made leads (or kept
//! unlinked) by what they type in; messages stored once per client id; agents' replies
//! read back by the visitor's token only; per-visitor and per-address rate limits; bad
//! input refused whole; erasure and the personal-data export reaching the visitors.

use diesel::prelude::*;
use reqwest::blocking::RequestBuilder;
use reqwest::Method;
use serde_json::{json, Value};

use e2e::support::{
    create_customer, created, field_codes, for_each_backend, id_of, merge_patch, person,
    request_example, send, TestApp,
};

const SHOP: &str = "https://shop.example.ir";
const TOKEN: &str = "Peyvand-Visitor-Token";

fn web_chat_account(app: &TestApp, settings: Value) -> Value {
    created(
        app,
        &app.admin_token(),
        "/api/v1/channel-accounts",
        json!({"kind": "web_chat", "name": "گفتگوی سایت", "settings": settings}),
    )
}

fn shop_account(app: &TestApp) -> (Value, String) {
    let account = web_chat_account(
        app,
        json!({"web_chat": {"allowed_origins": [SHOP, "http://localhost:3000"]}}),
    );
    let key = account["site_key"].as_str().expect("site key").to_string();
    (account, key)
}

/// A widget request to `/api/v1/widget/{key}{rest}` from `origin` (if any).
fn widget(
    app: &TestApp,
    method: Method,
    key: &str,
    rest: &str,
    origin: Option<&str>,
) -> RequestBuilder {
    let request = app
        .client()
        .request(method, app.url(&format!("/api/v1/widget/{key}{rest}")));
    match origin {
        Some(origin) => request.header("Origin", origin),
        None => request,
    }
}

fn answer(request: RequestBuilder) -> (u16, Value) {
    let response = request.send().expect("widget request");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

/// Starts a chat from the shop's origin; answers the visitor's token.
fn start(app: &TestApp, key: &str, visitor: Value) -> String {
    let (status, chat) =
        answer(widget(app, Method::POST, key, "/sessions", Some(SHOP)).json(&visitor));
    assert_eq!(status, 201, "{chat}");
    chat["token"].as_str().expect("token").to_string()
}

fn say(app: &TestApp, key: &str, token: &str, id: &str, text: &str) -> (u16, Value) {
    answer(
        widget(app, Method::POST, key, "/messages", Some(SHOP))
            .header(TOKEN, token)
            .json(&json!({"client_message_id": id, "text": text})),
    )
}

fn read(app: &TestApp, key: &str, token: &str, query: &str) -> (u16, Value) {
    answer(
        widget(
            app,
            Method::GET,
            key,
            &format!("/messages{query}"),
            Some(SHOP),
        )
        .header(TOKEN, token),
    )
}

fn texts(page: &Value) -> Vec<(String, String)> {
    page["data"]
        .as_array()
        .expect("a page")
        .iter()
        .map(|m| {
            (
                m["author"].as_str().unwrap().to_string(),
                m["text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn conversations(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, page) = send(
        app,
        Method::GET,
        &format!("/api/v1/conversations?{query}"),
        &app.admin_token(),
        None,
    );
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().unwrap().clone()
}

fn stored_visitors(app: &TestApp) -> i64 {
    use persistence::schema::web_chat_visitors;
    let mut conn = app.state.pool.get().unwrap();
    web_chat_visitors::table
        .count()
        .get_result(&mut conn)
        .unwrap()
}

#[test]
fn web_chat_site_keys_are_made_by_the_server_and_rotated_by_admins() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (account, key) = shop_account(app);
        let id = id_of(&account);
        assert!(key.starts_with("ws_") && key.len() > 30, "{account}");
        assert_eq!(account["webhook_path"], format!("/api/v1/widget/{key}"));
        assert_eq!(
            account["settings"]["web_chat"]["allowed_origins"],
            json!([SHOP, "http://localhost:3000"])
        );
        start(app, &key, json!({}));

        // Not an admin: neither create nor rotate.
        let (_, email, password) = app.create_user("sales", None);
        let sales = app.login(&email, &password).access_token;
        let (status, _) = send(
            app,
            Method::POST,
            "/api/v1/channel-accounts",
            &sales,
            Some(json!({"kind": "web_chat", "name": "x",
                        "settings": {"web_chat": {"allowed_origins": [SHOP]}}})),
        );
        assert_eq!(status, 403);
        let rotate = format!("/api/v1/channel-accounts/{id}/site-key");
        assert_eq!(send(app, Method::POST, &rotate, &sales, None).0, 403);

        // Rotated: the old key is unknown from then on, the new one works.
        let (status, rotated) = send(app, Method::POST, &rotate, &admin, None);
        assert_eq!(status, 200, "{rotated}");
        let new_key = rotated["site_key"].as_str().unwrap().to_string();
        assert_ne!(new_key, key);
        let (status, problem) =
            answer(widget(app, Method::POST, &key, "/sessions", Some(SHOP)).json(&json!({})));
        assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")));
        start(app, &new_key, json!({}));
        assert_eq!(
            answer(widget(app, Method::OPTIONS, &key, "/sessions", Some(SHOP))).0,
            404
        );

        // Only a web chat account has a site key to rotate.
        let bot = created(
            app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "telegram", "name": "bot",
                   "credentials": {"bot_token": "1:A", "secret_token": "s"}}),
        );
        assert!(bot.get("site_key").is_none(), "{bot}");
        let (status, _) = send(
            app,
            Method::POST,
            &format!("/api/v1/channel-accounts/{}/site-key", id_of(&bot)),
            &admin,
            None,
        );
        assert_eq!(status, 409);

        // A deactivated account's widget is not found either.
        let (status, _) = merge_patch(
            app,
            &format!("/api/v1/channel-accounts/{id}"),
            &admin,
            &json!({"active": false}),
        );
        assert_eq!(status, 200);
        let (status, _) =
            answer(widget(app, Method::POST, &new_key, "/sessions", Some(SHOP)).json(&json!({})));
        assert_eq!(status, 404);

        // The settings' rules, each named.
        for (settings, field, code) in [
            (json!({}), "settings.web_chat", "required"),
            (
                json!({"web_chat": {"allowed_origins": []}}),
                "settings.web_chat.allowed_origins",
                "required",
            ),
            (
                json!({"web_chat": {"allowed_origins": ["https://shop.example.ir/chat"]}}),
                "settings.web_chat.allowed_origins[0]",
                "invalid_origin",
            ),
            (
                json!({"web_chat": {"allowed_origins": ["ftp://shop.example.ir"]}}),
                "settings.web_chat.allowed_origins[0]",
                "invalid_origin",
            ),
            (
                json!({"web_chat": {"allowed_origins": [SHOP], "visitor_messages_per_minute": 0}}),
                "settings.web_chat.visitor_messages_per_minute",
                "out_of_range",
            ),
        ] {
            let (status, problem) = send(
                app,
                Method::POST,
                "/api/v1/channel-accounts",
                &admin,
                Some(json!({"kind": "web_chat", "name": "x", "settings": settings})),
            );
            assert_eq!(status, 422, "{problem}");
            assert!(
                field_codes(&problem).contains(&(field.to_string(), code.to_string())),
                "{problem}"
            );
        }
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/channel-accounts",
            &admin,
            Some(
                json!({"kind": "sms", "name": "x", "credentials": {"api_key": "k"},
                        "settings": {"web_chat": {"allowed_origins": [SHOP]}}}),
            ),
        );
        assert_eq!(status, 422);
        assert!(field_codes(&problem)
            .contains(&("settings.web_chat".to_string(), "not_allowed".to_string())));
    });
}

#[test]
fn the_widget_answers_its_sites_origins_only() {
    for_each_backend(|app| {
        let (_, key) = shop_account(app);

        // The shop's preflight gets the CORS headers for its own origin.
        let response = widget(app, Method::OPTIONS, &key, "/messages", Some(SHOP))
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "content-type, peyvand-visitor-token",
            )
            .send()
            .unwrap();
        assert_eq!(response.status(), 204);
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|value| value.to_str().unwrap().to_lowercase())
                .unwrap_or_default()
        };
        assert_eq!(header("access-control-allow-origin"), SHOP);
        assert!(header("vary").contains("origin"));
        assert!(header("access-control-allow-methods").contains("post"));
        assert!(header("access-control-allow-headers").contains("peyvand-visitor-token"));
        assert!(response
            .headers()
            .get("access-control-allow-credentials")
            .is_none());

        // Another origin: 403, no CORS headers, nothing stored.
        let response = widget(
            app,
            Method::OPTIONS,
            &key,
            "/messages",
            Some("https://evil.example"),
        )
        .header("Access-Control-Request-Method", "POST")
        .send()
        .unwrap();
        assert_eq!(response.status(), 403);
        assert!(response
            .headers()
            .get("access-control-allow-origin")
            .is_none());
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let before = stored_visitors(app);
        for origin in [
            "https://evil.example",
            "https://shop.example.ir.evil.example",
            "null",
        ] {
            let response = widget(app, Method::POST, &key, "/sessions", Some(origin))
                .json(&json!({"name": "x"}))
                .send()
                .unwrap();
            assert_eq!(response.status(), 403, "{origin}");
            assert!(response
                .headers()
                .get("access-control-allow-origin")
                .is_none());
        }
        assert_eq!(stored_visitors(app), before);

        // A visitor's message from another origin stores nothing either.
        let token = start(app, &key, json!({}));
        let (status, _) = answer(
            widget(
                app,
                Method::POST,
                &key,
                "/messages",
                Some("https://evil.example"),
            )
            .header(TOKEN, &token)
            .json(&json!({"client_message_id": "1", "text": "سلام"})),
        );
        assert_eq!(status, 403);
        let (_, page) = read(app, &key, &token, "");
        assert!(texts(&page).is_empty(), "{page}");
        assert!(conversations(app, "").is_empty());

        // The shop's requests carry its origin back, exactly, with the headers a page
        // needs to read.
        let response = widget(app, Method::GET, &key, "/messages", Some(SHOP))
            .header(TOKEN, &token)
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["access-control-allow-origin"], SHOP);
        assert!(response.headers()["vary"]
            .to_str()
            .unwrap()
            .contains("Origin"));
        assert!(response.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("retry-after"));
        // A second listed origin, with its port.
        let response = widget(
            app,
            Method::GET,
            &key,
            "/messages",
            Some("http://localhost:3000"),
        )
        .header(TOKEN, &token)
        .send()
        .unwrap();
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "http://localhost:3000"
        );

        // The rest of the API keeps its own CORS: none configured, none given.
        let response = app
            .client()
            .get(app.url("/api/v1/health"))
            .header("Origin", SHOP)
            .send()
            .unwrap();
        assert!(response
            .headers()
            .get("access-control-allow-origin")
            .is_none());

        // Unknown site key: 404 problem.
        let (status, problem) = answer(
            widget(app, Method::POST, "ws_unknown", "/sessions", Some(SHOP)).json(&json!({})),
        );
        assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")));
    });
}

#[test]
fn a_customers_visitor_lands_on_their_timeline_and_reads_the_agents_reply() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, key) = shop_account(app);
        let customer = id_of(&create_customer(
            app,
            &admin,
            person("سارا", "کریمی", "09121112233", "sara@example.ir"),
        ));
        let token = start(
            app,
            &key,
            json!({"name": "سارا", "email": " Sara@Example.IR "}),
        );

        let (status, first) = say(app, &key, &token, "c-1", "سفارشم کی می‌رسد؟");
        assert_eq!(status, 201, "{first}");
        assert_eq!(first["author"], "visitor");
        // The same client id again: stored once, the first message answered.
        let (status, again) = say(app, &key, &token, "c-1", "سفارشم کی می‌رسد؟");
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["id"], first["id"]);

        let theirs = conversations(app, &format!("customer_id={customer}"));
        assert_eq!(theirs.len(), 1, "{theirs:?}");
        let conversation = theirs[0]["id"].as_str().unwrap().to_string();
        assert_eq!(theirs[0]["channel"], "web_chat");
        assert_eq!(theirs[0]["contact_kind"], "web_visitor");
        assert_eq!(theirs[0]["contact_name"], "سارا");
        let (status, timeline) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{customer}/timeline?kind=message"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{timeline}");
        assert_eq!(timeline["data"].as_array().unwrap().len(), 1, "{timeline}");
        assert_eq!(timeline["data"][0]["channel"], "chat");

        // The agent answers; it is sent at once, and the visitor reads it.
        let (status, reply) = send(
            app,
            Method::POST,
            &format!("/api/v1/conversations/{conversation}/messages"),
            &admin,
            Some(json!({"body": "فردا به دستتان می‌رسد."})),
        );
        assert_eq!(status, 201, "{reply}");
        assert_eq!(reply["status"], "sent");
        let (status, page) = read(app, &key, &token, "");
        assert_eq!(status, 200, "{page}");
        assert_eq!(
            texts(&page),
            [
                ("visitor".to_string(), "سفارشم کی می‌رسد؟".to_string()),
                ("business".to_string(), "فردا به دستتان می‌رسد.".to_string())
            ]
        );

        // Keyset pages after a cursor; polling with the last one finds nothing new.
        let (_, one) = read(app, &key, &token, "?limit=1");
        assert_eq!(one["has_more"], true);
        let after = one["after"].as_str().unwrap().to_string();
        let (_, two) = read(app, &key, &token, &format!("?limit=1&after={after}"));
        assert_eq!(texts(&two)[0].0, "business");
        let last = two["after"].as_str().unwrap().to_string();
        let (_, none) = read(app, &key, &token, &format!("?after={last}"));
        assert!(texts(&none).is_empty());
        assert_eq!(none["after"], last.as_str());
        let (status, problem) = read(app, &key, &token, "?after=not-a-cursor");
        assert_eq!(
            (status, problem["code"].as_str()),
            (400, Some("invalid_cursor"))
        );

        // Another visitor's token reads only their own (empty) chat; a token of
        // another site's chat, or none, reads nothing.
        let stranger = start(app, &key, json!({}));
        let (status, page) = read(app, &key, &stranger, "");
        assert_eq!(status, 200);
        assert!(texts(&page).is_empty(), "{page}");
        let (_, other_key) = shop_account(app);
        let (status, problem) = read(app, &other_key, &token, "");
        assert_eq!(
            (status, problem["code"].as_str()),
            (401, Some("invalid_token"))
        );
        let (status, _) = answer(widget(app, Method::GET, &key, "/messages", Some(SHOP)));
        assert_eq!(status, 401);
        let (status, _) = say(app, &other_key, &token, "c-9", "x");
        assert_eq!(status, 401);

        // The personal-data export holds the visitor; erasure deletes them, and the
        // token reads nothing more.
        let (status, data) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{customer}/personal-data"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{data}");
        assert_eq!(data["web_chat_visitors"][0]["email"], "sara@example.ir");
        assert_eq!(data["held_in"]["web_chat_visitors"], 1);
        let (status, erasure) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{customer}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erasure}");
        assert_eq!(erasure["erased"]["web_chat_visitors"], 1);
        assert_eq!(erasure["erased"]["conversations"], 1);
        assert_eq!(read(app, &key, &token, "").0, 401);
    });
}

#[test]
fn unknown_visitors_become_leads_or_stay_unlinked() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, key) = shop_account(app);
        let token = start(app, &key, json!({"name": "رضا", "phone": "0935 111 2233"}));
        assert_eq!(say(app, &key, &token, "1", "قیمت این کالا؟").0, 201);
        assert_eq!(say(app, &key, &token, "2", "هنوز موجود است؟").0, 201);
        let all = conversations(app, "");
        assert_eq!(all.len(), 1, "{all:?}");
        let lead = all[0]["lead_id"].as_str().expect("a lead").to_string();
        let (status, found) = send(
            app,
            Method::GET,
            &format!("/api/v1/leads/{lead}"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{found}");
        assert_eq!(found["first_name"], "رضا");
        assert_eq!(found["phones"][0]["number"], "+989351112233");
        assert_eq!(found["source"], "web_chat");
        let (_, leads) = send(app, Method::GET, "/api/v1/leads", &admin, None);
        assert_eq!(leads["data"].as_array().unwrap().len(), 1, "{leads}");

        // An account that keeps strangers unlinked makes no lead.
        let unlinked = web_chat_account(
            app,
            json!({"unknown_sender": "keep_unlinked",
                   "web_chat": {"allowed_origins": [SHOP]}}),
        );
        let other_key = unlinked["site_key"].as_str().unwrap();
        let token = start(app, other_key, json!({"email": "nobody@example.ir"}));
        assert_eq!(say(app, other_key, &token, "1", "سلام").0, 201);
        let strangers = conversations(app, "unlinked=true");
        assert_eq!(strangers.len(), 1, "{strangers:?}");
        assert_eq!(strangers[0]["channel_account_id"], unlinked["id"]);
        let (_, leads) = send(app, Method::GET, "/api/v1/leads", &admin, None);
        assert_eq!(leads["data"].as_array().unwrap().len(), 1);
    });
}

#[test]
fn visitors_are_rate_limited_and_bad_input_is_refused_whole() {
    for_each_backend(|app| {
        let account = web_chat_account(
            app,
            json!({"web_chat": {"allowed_origins": [SHOP], "visitor_messages_per_minute": 3}}),
        );
        let key = account["site_key"].as_str().unwrap();
        let token = start(app, key, json!({}));

        // Bad input: a 4xx problem naming the field and the rule, nothing stored.
        for (body, field, code) in [
            (
                json!({"client_message_id": "a", "text": "   "}),
                "text",
                "required",
            ),
            (
                json!({"client_message_id": "a", "text": "a\u{0}b"}),
                "text",
                "nul_character",
            ),
            (
                json!({"client_message_id": "a", "text": "a\u{7}b"}),
                "text",
                "control_character",
            ),
            (
                json!({"client_message_id": "a", "text": "x".repeat(4_097)}),
                "text",
                "too_long",
            ),
            (
                json!({"client_message_id": "", "text": "x"}),
                "client_message_id",
                "required",
            ),
            (
                json!({"client_message_id": "a\nb", "text": "x"}),
                "client_message_id",
                "line_break",
            ),
        ] {
            let (status, problem) = answer(
                widget(app, Method::POST, key, "/messages", Some(SHOP))
                    .header(TOKEN, &token)
                    .json(&body),
            );
            assert_eq!(status, 422, "{body} {problem}");
            assert!(
                field_codes(&problem).contains(&(field.to_string(), code.to_string())),
                "{problem}"
            );
        }
        for body in [
            json!({"text": "x"}),
            json!({"client_message_id": "a", "text": "x", "sender": "agent"}),
            json!([1, 2]),
        ] {
            let response = widget(app, Method::POST, key, "/messages", Some(SHOP))
                .header(TOKEN, &token)
                .json(&body)
                .send()
                .unwrap();
            let status = response.status().as_u16();
            assert!((400..500).contains(&status), "{body}: {status}");
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json"
            );
        }
        let huge = format!(
            r#"{{"client_message_id":"a","text":"{}"}}"#,
            "x".repeat(2 * 1024 * 1024)
        );
        let response = widget(app, Method::POST, key, "/messages", Some(SHOP))
            .header(TOKEN, &token)
            .header("Content-Type", "application/json")
            .body(huge)
            .send()
            .unwrap();
        assert_eq!(response.status(), 413);
        for (visitor, field, code) in [
            (json!({"email": "not-an-email"}), "email", "invalid_format"),
            (json!({"phone": "12"}), "phone", "invalid_format"),
            (json!({"name": "a\u{202E}b"}), "name", "bidi_control"),
            (json!({"name": "x".repeat(101)}), "name", "too_long"),
        ] {
            let (status, problem) =
                answer(widget(app, Method::POST, key, "/sessions", Some(SHOP)).json(&visitor));
            assert_eq!(status, 422, "{visitor} {problem}");
            assert!(
                field_codes(&problem).contains(&(field.to_string(), code.to_string())),
                "{problem}"
            );
        }
        let (_, page) = read(app, key, &token, "");
        assert!(texts(&page).is_empty(), "{page}");
        assert!(conversations(app, "").is_empty());

        // Three messages a minute, then 429 with Retry-After; a replay of a stored one
        // is no new message but still counts.
        for id in ["1", "2", "3"] {
            assert_eq!(say(app, key, &token, id, "سلام").0, 201);
        }
        let response = widget(app, Method::POST, key, "/messages", Some(SHOP))
            .header(TOKEN, &token)
            .json(&json!({"client_message_id": "4", "text": "سلام"}))
            .send()
            .unwrap();
        assert_eq!(response.status(), 429);
        let retry: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        assert_eq!(response.headers()["access-control-allow-origin"], SHOP);
        let problem: Value = response.json().unwrap();
        assert_eq!(problem["code"], "rate_limited");
        let (_, page) = read(app, key, &token, "");
        assert_eq!(texts(&page).len(), 3);
        // Another visitor has a quota of their own.
        let other = start(app, key, json!({}));
        assert_eq!(say(app, key, &other, "1", "سلام").0, 201);

        // Chats started from one address on one site: 10 a minute.
        let busy = web_chat_account(app, json!({"web_chat": {"allowed_origins": [SHOP]}}));
        let busy_key = busy["site_key"].as_str().unwrap();
        for _ in 0..10 {
            start(app, busy_key, json!({}));
        }
        let (status, problem) =
            answer(widget(app, Method::POST, busy_key, "/sessions", Some(SHOP)).json(&json!({})));
        assert_eq!(
            (status, problem["code"].as_str()),
            (429, Some("rate_limited"))
        );
    });
}

#[test]
fn the_widgets_documented_examples_are_accepted() {
    for_each_backend(|app| {
        let doc: Value = app
            .client()
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let example = |path: &str| {
            let media = &doc["paths"][path]["post"]["requestBody"]["content"]["application/json"];
            request_example(&doc, media).unwrap_or_else(|| panic!("{path}: no example"))
        };
        let (_, key) = shop_account(app);
        let (status, chat) = answer(
            widget(app, Method::POST, &key, "/sessions", Some(SHOP))
                .json(&example("/api/v1/widget/{site_key}/sessions")),
        );
        assert_eq!(status, 201, "{chat}");
        let (status, message) = answer(
            widget(app, Method::POST, &key, "/messages", Some(SHOP))
                .header(TOKEN, chat["token"].as_str().unwrap())
                .json(&example("/api/v1/widget/{site_key}/messages")),
        );
        assert_eq!(status, 201, "{message}");
    });
}
