//! The OWASP API Security Top 10 (2023), one test per risk, named by it, on both
//! backends. Each test plays the attacker the risk describes against the API as it
//! stands: someone else's records by id, list and search (API1); forged and missing
//! credentials (API2); properties a caller may not write or read (API3); requests too
//! many or too large (API4); functions above the caller's role or key (API5); a
//! business flow pushed past its rule (API6); targets the server would call inside its
//! own network (API7); a configuration that leaks (API8); routes outside the published
//! inventory (API9); and data from a provider taken on trust (API10).

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use e2e::support::{
    backends, create_customer, created, field_codes, for_each_backend, id_of, merge_patch, person,
    send, TestApp, TEST_PASSWORD,
};

/// A user of `role` with `visibility`, logged in; answers the token and the user's id.
fn user(app: &TestApp, role: &str, visibility: &str) -> (String, String) {
    let (id, email, password) = app.create_user(role, Some(visibility));
    (app.login(&email, &password).access_token, id.to_string())
}

/// The token of a user of a new partner, which holds a `write` share of a customer of
/// its own (so that its shares are not simply empty).
fn partner_user_with_a_share(app: &TestApp, admin: &str) -> String {
    let partner = id_of(&created(
        app,
        admin,
        "/api/v1/partners",
        json!({"name": format!("Partner {}", uuid::Uuid::now_v7().simple()), "kind": "agency"}),
    ));
    let email = format!("partner-{}@example.com", uuid::Uuid::now_v7().simple());
    created(
        app,
        admin,
        &format!("/api/v1/partners/{partner}/users"),
        json!({"email": email, "display_name": "Carol", "password": TEST_PASSWORD}),
    );
    let shared = id_of(&create_customer(
        app,
        admin,
        person("کارول", "همکار", "09121000099", "carol-customer@example.ir"),
    ));
    created(
        app,
        admin,
        &format!("/api/v1/partners/{partner}/shares"),
        json!({"record_kind": "customer", "record_id": shared, "access": "write"}),
    );
    app.login(&email, TEST_PASSWORD).access_token
}

fn status(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> u16 {
    send(app, method, path, token, body).0
}

fn ids(page: &Value) -> BTreeSet<String> {
    page["data"]
        .as_array()
        .map(|rows| rows.iter().map(id_of).collect())
        .unwrap_or_default()
}

#[test]
fn api1_broken_object_level_authorization() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (alice, _) = user(app, "sales", "own");
        let (bob, _) = user(app, "sales", "own");
        // A partner's user with shares of its own, none of Alice's records.
        let carol = partner_user_with_a_share(app, &admin);
        let customer = id_of(&create_customer(
            app,
            &alice,
            person("الهام", "صادقی", "09121000001", "elham@example.ir"),
        ));
        let product = id_of(&created(
            app,
            &admin,
            "/api/v1/products",
            json!({"sku": "OWASP-1", "name": "کالا", "unit_price": 1000}),
        ));
        let order = id_of(&created(
            app,
            &alice,
            "/api/v1/orders",
            json!({"customer_id": customer, "lines": [{"product_id": product, "quantity": 1}]}),
        ));
        let lead = id_of(&created(
            app,
            &alice,
            "/api/v1/leads",
            json!({"first_name": "نیما", "last_name": "رحیمی", "source": "website"}),
        ));
        let deal = id_of(&created(
            app,
            &alice,
            "/api/v1/deals",
            json!({"title": "قرارداد", "customer_id": customer, "amount": 1000}),
        ));
        let ticket = id_of(&created(
            app,
            &alice,
            "/api/v1/tickets",
            json!({"subject": "خرابی", "customer_id": customer}),
        ));
        let by_id = [
            format!("/api/v1/customers/{customer}"),
            format!("/api/v1/customers/{customer}/overview"),
            format!("/api/v1/customers/{customer}/timeline"),
            format!("/api/v1/orders/{order}"),
            format!("/api/v1/leads/{lead}"),
            format!("/api/v1/deals/{deal}"),
            format!("/api/v1/tickets/{ticket}"),
        ];
        for path in &by_id {
            assert_eq!(status(app, Method::GET, path, &alice, None), 200, "{path}");
            // Someone else's record does not exist for Bob or a partner's Carol: 404,
            // not 403, so that ids cannot be probed.
            for stranger in [&bob, &carol] {
                assert_eq!(
                    status(app, Method::GET, path, stranger, None),
                    404,
                    "{path}"
                );
            }
        }
        for (path, change) in [
            (
                format!("/api/v1/customers/{customer}"),
                json!({"first_name": "ربوده"}),
            ),
            (
                format!("/api/v1/leads/{lead}"),
                json!({"status": "contacted"}),
            ),
            (format!("/api/v1/deals/{deal}"), json!({"title": "ربوده"})),
            (
                format!("/api/v1/tickets/{ticket}"),
                json!({"priority": "low"}),
            ),
        ] {
            for stranger in [&bob, &carol] {
                let (code, body) = merge_patch(app, &path, stranger, &change);
                assert_eq!(code, 404, "{path}: {body}");
            }
        }
        // Nor does it turn up in a list or a search, even searched for by its id.
        for (path, id) in [
            ("/api/v1/customers/search", &customer),
            ("/api/v1/leads/search", &lead),
            ("/api/v1/deals/search", &deal),
            ("/api/v1/tickets/search", &ticket),
            ("/api/v1/orders/search", &order),
        ] {
            let filter = json!({"filter": {"field": "id", "op": "eq", "value": id}});
            let (code, mine) = send(app, Method::POST, path, &alice, Some(filter.clone()));
            assert_eq!(code, 200, "{path}: {mine}");
            assert_eq!(ids(&mine), BTreeSet::from([id.clone()]), "{path}");
            for stranger in [&bob, &carol] {
                let (code, theirs) = send(app, Method::POST, path, stranger, Some(filter.clone()));
                assert_eq!(code, 200, "{path}: {theirs}");
                assert!(ids(&theirs).is_empty(), "{path}: {theirs}");
            }
        }
        for path in [
            "/api/v1/customers",
            "/api/v1/leads",
            "/api/v1/deals",
            "/api/v1/tickets",
        ] {
            for stranger in [&bob, &carol] {
                let (_, page) = send(
                    app,
                    Method::GET,
                    &format!("{path}?limit=200"),
                    stranger,
                    None,
                );
                assert!(ids(&page).is_disjoint(&BTreeSet::from([
                    customer.clone(),
                    lead.clone(),
                    deal.clone(),
                    ticket.clone()
                ])));
            }
        }
        // Unchanged by the attempts.
        let (_, kept) = send(app, Method::GET, &by_id[0], &alice, None);
        assert_eq!(kept["first_name"], "الهام", "{kept}");
    });
}

/// API1 again, on the records that hang off a customer, a deal or a ticket: tasks,
/// activities, notes, quotes (and their PDF) and a ticket's messages. Each is reached
/// only through the record it belongs to, by id, change, list and search.
#[test]
fn api1_broken_object_level_authorization_of_dependent_records() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (alice, _) = user(app, "sales", "own");
        let (bob, _) = user(app, "sales", "own");
        let customer = id_of(&create_customer(
            app,
            &alice,
            person("الهام", "صادقی", "09121000002", "elham2@example.ir"),
        ));
        let product = id_of(&created(
            app,
            &admin,
            "/api/v1/products",
            json!({"sku": "OWASP-2", "name": "کالا", "unit_price": 1000}),
        ));
        let deal = id_of(&created(
            app,
            &alice,
            "/api/v1/deals",
            json!({"title": "قرارداد", "customer_id": customer, "amount": 1000}),
        ));
        let ticket = id_of(&created(
            app,
            &alice,
            "/api/v1/tickets",
            json!({"subject": "خرابی", "customer_id": customer}),
        ));
        let task = id_of(&created(
            app,
            &alice,
            "/api/v1/tasks",
            json!({"kind": "call", "title": "پیگیری", "subject_type": "customer",
                   "subject_id": customer, "due_at": "2030-01-05T10:00"}),
        ));
        let activity = id_of(&created(
            app,
            &alice,
            "/api/v1/activities",
            json!({"kind": "call", "subject_type": "customer", "subject_id": customer,
                   "occurred_at": "2026-12-01T10:00", "direction": "outbound"}),
        ));
        let note = id_of(&created(
            app,
            &alice,
            &format!("/api/v1/customers/{customer}/notes"),
            json!({"body": "ترجیح می‌دهد عصر تماس بگیریم"}),
        ));
        let valid_until =
            (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string();
        let quote = id_of(&created(
            app,
            &alice,
            "/api/v1/quotes",
            json!({"deal_id": deal, "valid_until": valid_until,
                   "lines": [{"product_id": product, "quantity": 1}]}),
        ));
        let (code, message) = send(
            app,
            Method::POST,
            &format!("/api/v1/tickets/{ticket}/messages"),
            &alice,
            Some(json!({"kind": "agent", "body": "سلام، پیگیری می‌کنم."})),
        );
        assert_eq!(code, 201, "{message}");

        for path in [
            format!("/api/v1/tasks/{task}"),
            format!("/api/v1/activities/{activity}"),
            format!("/api/v1/customers/{customer}/notes"),
            format!("/api/v1/quotes/{quote}"),
            format!("/api/v1/quotes/{quote}/pdf"),
            format!("/api/v1/tickets/{ticket}/messages"),
        ] {
            assert_eq!(status(app, Method::GET, &path, &alice, None), 200, "{path}");
            assert_eq!(status(app, Method::GET, &path, &bob, None), 404, "{path}");
        }
        for (path, change) in [
            (format!("/api/v1/tasks/{task}"), json!({"title": "ربوده"})),
            (
                format!("/api/v1/activities/{activity}"),
                json!({"outcome": "ربوده"}),
            ),
            (
                format!("/api/v1/customers/{customer}/notes/{note}"),
                json!({"body": "ربوده"}),
            ),
            (format!("/api/v1/quotes/{quote}"), json!({"notes": "ربوده"})),
        ] {
            let (code, body) = merge_patch(app, &path, &bob, &change);
            assert_eq!(code, 404, "{path}: {body}");
        }
        let (code, body) = send(
            app,
            Method::POST,
            &format!("/api/v1/tickets/{ticket}/messages"),
            &bob,
            Some(json!({"kind": "agent", "body": "ربوده"})),
        );
        assert_eq!(code, 404, "{body}");
        for (path, id) in [
            ("/api/v1/tasks/search", &task),
            ("/api/v1/activities/search", &activity),
        ] {
            let filter = json!({"filter": {"field": "id", "op": "eq", "value": id}});
            let (code, mine) = send(app, Method::POST, path, &alice, Some(filter.clone()));
            assert_eq!(code, 200, "{path}: {mine}");
            assert_eq!(ids(&mine), BTreeSet::from([id.clone()]), "{path}");
            let (code, theirs) = send(app, Method::POST, path, &bob, Some(filter));
            assert_eq!(code, 200, "{path}: {theirs}");
            assert!(ids(&theirs).is_empty(), "{path}: {theirs}");
        }
        for (path, id) in [
            ("/api/v1/tasks", &task),
            ("/api/v1/activities", &activity),
            ("/api/v1/quotes", &quote),
        ] {
            let (_, page) = send(app, Method::GET, &format!("{path}?limit=200"), &bob, None);
            assert!(!ids(&page).contains(id), "{path}: {page}");
        }
        // Unchanged by the attempts.
        let (_, kept) = send(
            app,
            Method::GET,
            &format!("/api/v1/tasks/{task}"),
            &alice,
            None,
        );
        assert_eq!(kept["title"], "پیگیری", "{kept}");
    });
}

#[test]
fn api2_broken_authentication() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let me = "/api/v1/users/me";
        let anonymous = app.client().get(app.url(me)).send().unwrap();
        assert_eq!(anonymous.status(), 401);
        assert_eq!(
            anonymous.headers()["content-type"],
            "application/problem+json"
        );
        let parts: Vec<&str> = admin.split('.').collect();
        assert_eq!(parts.len(), 3, "a JWT");
        // A signature that is not the server's, no signature at all, and `alg: none`.
        let mut forged_signature = parts[2].to_string();
        let last = forged_signature.pop().unwrap();
        forged_signature.push(if last == 'A' { 'B' } else { 'A' });
        let alg_none_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"; // {"alg":"none","typ":"JWT"}
        for token in [
            format!("{}.{}.{forged_signature}", parts[0], parts[1]),
            format!("{}.{}.", parts[0], parts[1]),
            format!("{alg_none_header}.{}.", parts[1]),
            "not-a-token".to_string(),
        ] {
            assert_eq!(status(app, Method::GET, me, &token, None), 401, "{token}");
        }
        // A refresh token works once; the spent one and the session it belonged to
        // are refused after logout.
        let pair = app.admin();
        let refresh = |token: &str| {
            app.client()
                .post(app.url("/api/v1/auth/refresh"))
                .json(&json!({"refresh_token": token}))
                .send()
                .unwrap()
                .status()
                .as_u16()
        };
        assert_eq!(refresh(&pair.refresh_token), 200);
        assert_eq!(
            refresh(&pair.refresh_token),
            401,
            "a refresh token is spent once"
        );
        // Guessing a password is throttled per account, even for the right password.
        let (_, email, password) = app.create_user("sales", None);
        let login = |password: &str| {
            app.client()
                .post(app.url("/api/v1/auth/login"))
                .json(&json!({"email": email, "password": password}))
                .send()
                .unwrap()
                .status()
                .as_u16()
        };
        let statuses: Vec<u16> = (0..12).map(|_| login("wrong-password-guess")).collect();
        assert_eq!(statuses[0], 401);
        assert_eq!(*statuses.last().unwrap(), 429, "{statuses:?}");
        assert_eq!(login(&password), 429, "locked even for the right password");
    });
}

#[test]
fn api3_broken_object_property_level_authorization() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (sales, sales_id) = user(app, "sales", "all");
        // Raising one's own role is not a property a user may write.
        let (code, body) = merge_patch(
            app,
            &format!("/api/v1/users/{sales_id}"),
            &sales,
            &json!({"role": "admin"}),
        );
        assert_eq!(code, 422, "{body}");
        assert_eq!(
            field_codes(&body),
            [("role".to_string(), "not_allowed".to_string())]
        );
        let (_, me) = send(app, Method::GET, "/api/v1/users/me", &sales, None);
        assert_eq!(me["role"], "sales");
        // Server-kept properties are not writable on create: mass assignment is refused
        // by name.
        let mut forged = person("کاوه", "امینی", "09121000002", "kaveh@example.ir");
        forged["created_by"] = json!(sales_id);
        forged["version"] = json!(99);
        let (code, problem) = send(app, Method::POST, "/api/v1/customers", &admin, Some(forged));
        assert_eq!(code, 422, "{problem}");
        let fields: BTreeSet<String> = field_codes(&problem)
            .into_iter()
            .filter(|(_, code)| code == "unknown_field")
            .map(|(field, _)| field)
            .collect();
        assert!(!fields.is_empty(), "{problem}");
        // Secrets are written, never read back: a user's password hash, an API key's
        // key after creation, a webhook subscription's signing secret.
        let (_, user) = send(
            app,
            Method::GET,
            &format!("/api/v1/users/{sales_id}"),
            &admin,
            None,
        );
        let text = user.to_string();
        assert!(
            !text.contains("password") && !text.contains("argon2"),
            "{text}"
        );
        let key = created(
            app,
            &admin,
            "/api/v1/api-keys",
            json!({"name": "owasp", "scopes": ["records:read"]}),
        );
        let secret = key["key"].as_str().expect("shown once").to_string();
        let (_, keys) = send(app, Method::GET, "/api/v1/api-keys", &admin, None);
        assert!(!keys.to_string().contains(&secret), "{keys}");
        let subscription = created(
            app,
            &admin,
            "/api/v1/webhook-subscriptions",
            json!({"url": "https://hooks.example.com/owasp", "event_types": ["customer.created"]}),
        );
        let signing = subscription["secret"]
            .as_str()
            .expect("shown once")
            .to_string();
        let (_, read) = send(
            app,
            Method::GET,
            &format!("/api/v1/webhook-subscriptions/{}", id_of(&subscription)),
            &admin,
            None,
        );
        assert!(!read.to_string().contains(&signing), "{read}");
    });
}

#[test]
fn api4_unrestricted_resource_consumption() {
    for backend in backends() {
        let app = TestApp::spawn_with(
            backend,
            &["--max-body-bytes", "65536", "--rate-limit-per-minute", "40"],
        );
        let admin = app.admin_token();
        // Pages are bounded.
        let (code, problem) = send(
            &app,
            Method::GET,
            "/api/v1/customers?limit=100000",
            &admin,
            None,
        );
        assert_eq!(code, 422, "{problem}");
        assert_eq!(field_codes(&problem)[0].0, "limit");
        // Batches are bounded.
        let item = json!({"kind": "organization", "organization_name": "x"});
        let (code, problem) = send(
            &app,
            Method::POST,
            "/api/v1/customers/batch",
            &admin,
            Some(json!({"items": vec![item; 1_001]})),
        );
        assert!(matches!(code, 413 | 422), "{code}: {problem}");
        // Bodies are bounded.
        let (code, problem) = send(
            &app,
            Method::POST,
            "/api/v1/teams",
            &admin,
            Some(json!({"name": "big", "description": "x".repeat(70_000)})),
        );
        assert_eq!(code, 413, "{problem}");
        // Deep JSON is refused before it is walked.
        let mut deep = json!(1);
        for _ in 0..200 {
            deep = json!({"and": [deep]});
        }
        let (code, problem) = send(
            &app,
            Method::POST,
            "/api/v1/customers/search",
            &admin,
            Some(json!({"filter": deep})),
        );
        assert!(matches!(code, 400 | 422), "{code}: {problem}");
        // And each caller has a quota per minute, told in the headers.
        let mut last = None;
        for _ in 0..60 {
            let response = app
                .authed(Method::GET, "/api/v1/users/me", &admin)
                .send()
                .unwrap();
            if response.status() == 429 {
                last = Some(response);
                break;
            }
        }
        let limited = last.expect("the quota runs out");
        assert!(limited.headers().contains_key("retry-after"));
        let body: Value = limited.json().unwrap();
        assert_eq!(body["code"], "rate_limited", "{body}");
    }
}

#[test]
fn api5_broken_function_level_authorization() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (sales, _) = user(app, "sales", "all");
        let calls: Vec<(Method, &str, Option<Value>)> = vec![
            (
                Method::POST,
                "/api/v1/users",
                Some(
                    json!({"email": "x@example.ir", "display_name": "x", "password": "quiet-harbor-lantern-42", "role": "admin"}),
                ),
            ),
            (Method::GET, "/api/v1/audit-events", None),
            (
                Method::POST,
                "/api/v1/workflows",
                Some(
                    json!({"name": "x", "trigger": {"kind": "event", "event_type": "customer.created"}, "steps": [{"kind": "assign"}]}),
                ),
            ),
            (
                Method::POST,
                "/api/v1/webhook-subscriptions",
                Some(json!({"url": "https://hooks.example.com/x", "event_types": ["*"]})),
            ),
            (Method::GET, "/api/v1/changes", None),
            (
                Method::POST,
                "/api/v1/custom-fields",
                Some(json!({"entity": "customer", "key": "x", "label": "x", "kind": "text"})),
            ),
            (
                Method::POST,
                "/api/v1/assignment-rules",
                Some(
                    json!({"name": "x", "record_kind": "lead", "position": 1, "target": {"kind": "territory"}}),
                ),
            ),
        ];
        for (method, path, body) in &calls {
            let (code, problem) = send(app, method.clone(), path, &sales, body.clone());
            assert_eq!(code, 403, "{method} {path}: {problem}");
        }
        // An API key does only what its scopes say, whatever its owner's role.
        let key = created(
            app,
            &admin,
            "/api/v1/api-keys",
            json!({"name": "reader", "scopes": ["records:read"]}),
        );
        let key = key["key"].as_str().unwrap();
        assert_eq!(
            status(app, Method::GET, "/api/v1/customers", key, None),
            200
        );
        let (code, problem) = send(
            app,
            Method::POST,
            "/api/v1/customers",
            key,
            Some(person("x", "y", "09121000003", "xy@example.ir")),
        );
        assert_eq!(code, 403, "{problem}");
        assert_eq!(status(app, Method::GET, "/api/v1/users", key, None), 403);
    });
}

#[test]
fn api6_unrestricted_access_to_sensitive_business_flows() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let customer = id_of(&create_customer(
            app,
            &admin,
            person("رویا", "کاظمی", "09121000004", "roya@example.ir"),
        ));
        let loyalty = format!("/api/v1/customers/{customer}/loyalty");
        let (code, body) = send(
            app,
            Method::POST,
            &format!("{loyalty}/earn"),
            &admin,
            Some(json!({"points": 500, "reason": "خوش‌آمد"})),
        );
        assert_eq!(code, 201, "{body}");
        // Ten redemptions of 100 at once against 500 points: five go through, none
        // overdraws.
        let outcomes: Vec<u16> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..10)
                .map(|_| {
                    scope.spawn(|| {
                        send(
                            app,
                            Method::POST,
                            &format!("{loyalty}/redeem"),
                            &admin,
                            Some(json!({"points": 100, "reason": "تخفیف"})),
                        )
                        .0
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            outcomes.iter().filter(|s| **s == 200).count(),
            5,
            "{outcomes:?}"
        );
        assert!(
            outcomes.iter().all(|s| matches!(s, 200 | 422)),
            "{outcomes:?}"
        );
        let (_, account) = send(app, Method::GET, &loyalty, &admin, None);
        assert_eq!(account["balance"], 0, "{account}");
        // A retried order with its Idempotency-Key is the same order, not a second one.
        let product = id_of(&created(
            app,
            &admin,
            "/api/v1/products",
            json!({"sku": "OWASP-6", "name": "کالا", "unit_price": 5000}),
        ));
        let place = || {
            let response = app
                .authed(Method::POST, "/api/v1/orders", &admin)
                .header("Idempotency-Key", "owasp-order-1")
                .json(&json!({"customer_id": customer, "status": "paid",
                              "lines": [{"product_id": product, "quantity": 1}]}))
                .send()
                .unwrap();
            let body: Value = response.json().unwrap();
            id_of(&body)
        };
        assert_eq!(place(), place());
        let (_, orders) = send(
            app,
            Method::POST,
            "/api/v1/orders/search",
            &admin,
            Some(json!({"filter": {"field": "customer_id", "op": "eq", "value": customer}})),
        );
        assert_eq!(ids(&orders).len(), 1, "{orders}");
    });
}

#[test]
fn api7_server_side_request_forgery() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        for target in [
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://[::1]/hook",
            "http://10.0.0.5/hook",
            "http://192.168.1.10/hook",
            "http://169.254.169.254/latest/meta-data/",
            "http://0.0.0.0/hook",
            "http://2130706433/hook",
            "file:///etc/passwd",
            "gopher://127.0.0.1:6379/_INFO",
        ] {
            let (code, problem) = send(
                app,
                Method::POST,
                "/api/v1/webhook-subscriptions",
                &admin,
                Some(json!({"url": target, "event_types": ["customer.created"]})),
            );
            assert_eq!(code, 422, "{target}: {problem}");
            assert!(
                field_codes(&problem)
                    .iter()
                    .any(|(field, _)| field == "url"),
                "{target}: {problem}"
            );
        }
        let (_, page) = send(
            app,
            Method::GET,
            "/api/v1/webhook-subscriptions",
            &admin,
            None,
        );
        assert!(ids(&page).is_empty(), "nothing was stored: {page}");
    });
}

#[test]
fn api8_security_misconfiguration() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let response = app
            .authed(Method::GET, "/api/v1/users/me", &admin)
            .header("Origin", "https://evil.example")
            .send()
            .unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(
            headers["cache-control"]
                .to_str()
                .unwrap()
                .contains("no-store"),
            "{headers:?}"
        );
        // No cross-origin grant for an origin nobody configured.
        assert!(
            !headers.contains_key("access-control-allow-origin"),
            "{headers:?}"
        );
        // No server banner with a version.
        assert!(
            headers.get("server").is_none_or(|v| !v
                .to_str()
                .unwrap()
                .chars()
                .any(|c| c.is_ascii_digit())),
            "{headers:?}"
        );
        // Errors are problems that name the rule, never internals.
        for (method, path, body) in [
            (Method::GET, "/api/v1/no-such-resource", None),
            (Method::POST, "/api/v1/customers", Some("{\"kind\": ")),
            (Method::DELETE, "/api/v1/users/me", None),
        ] {
            let mut request = app.authed(method.clone(), path, &admin);
            if let Some(body) = body {
                request = request
                    .header("content-type", "application/json")
                    .body(body);
            }
            let response = request.send().unwrap();
            let code = response.status().as_u16();
            assert!((400..500).contains(&code), "{method} {path}: {code}");
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json",
                "{method} {path}"
            );
            let text = response.text().unwrap();
            for leak in [
                "diesel",
                "sqlite",
                "postgres",
                "panicked",
                "src/",
                "backtrace",
            ] {
                assert!(
                    !text.to_lowercase().contains(leak),
                    "{method} {path}: {text}"
                );
            }
        }
    });
}

#[test]
fn api9_improper_inventory_management() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        // The document served is the one published in the repository.
        let served: Value = app
            .client()
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let published: Value = serde_json::from_str(include_str!("../../openapi/v1.json")).unwrap();
        assert_eq!(served["paths"], published["paths"]);
        // Every documented path answers as documented (no 404 for its own GET), and no
        // other version, old or future, is served.
        for (path, operations) in published["paths"].as_object().unwrap() {
            if operations.get("get").is_none() || path.contains('{') {
                continue;
            }
            let code = status(app, Method::GET, path, &admin, None);
            assert_ne!(code, 404, "{path}");
            assert!(code < 500, "{path}: {code}");
        }
        for path in [
            "/api/v0/customers",
            "/api/v2/customers",
            "/api/customers",
            "/api/v1/internal/jobs",
            "/api/v1/debug",
        ] {
            assert_eq!(status(app, Method::GET, path, &admin, None), 404, "{path}");
        }
    });
}

#[test]
fn api10_unsafe_consumption_of_apis() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        // A Telegram bot account: the provider's updates are taken only with the secret
        // token Telegram was given, and then only as the Bot API describes them.
        let account = created(
            app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "telegram", "name": "ربات فروش", "settings": {},
                   "credentials": {"bot_token": "123456:owasp-test-token",
                                   "secret_token": "owasp-secret-token"}}),
        );
        assert!(account.get("credentials").is_none(), "{account}");
        let hook = account["webhook_path"].as_str().unwrap().to_string();
        let update = json!({"update_id": 1, "message": {"message_id": 7, "date": 1_700_000_000,
            "chat": {"id": 42, "type": "private"}, "from": {"id": 42, "is_bot": false, "first_name": "Ali"},
            "text": "سلام"}});
        let post = |token: Option<&str>, body: String| {
            let mut request = app
                .client()
                .post(app.url(&hook))
                .header("content-type", "application/json")
                .body(body);
            if let Some(token) = token {
                request = request.header("X-Telegram-Bot-Api-Secret-Token", token);
            }
            request.send().unwrap().status().as_u16()
        };
        let stored = || {
            let (_, page) = send(app, Method::GET, "/api/v1/conversations", &admin, None);
            ids(&page).len()
        };
        assert_eq!(post(None, update.to_string()), 401);
        assert_eq!(post(Some("forged"), update.to_string()), 401);
        assert_eq!(stored(), 0, "nothing stored from a forged delivery");
        // With the right token, what is not an update is refused, not half-stored.
        for body in [
            json!({"update_id": "x", "message": 5}).to_string(),
            "{\"update_id\": 2, \"message\": ".to_string(),
            json!({"update_id": 3, "message": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"},
                   "text": "\u{0}"}}).to_string(),
        ] {
            let code = post(Some("owasp-secret-token"), body.clone());
            assert!((400..500).contains(&code) || code == 200, "{body}: {code}");
        }
        assert_eq!(stored(), 0, "nothing stored from malformed updates");
        // A real update still goes through.
        assert_eq!(post(Some("owasp-secret-token"), update.to_string()), 200);
        assert_eq!(stored(), 1);
    });
}
