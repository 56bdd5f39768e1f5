//! Behavioural events (M-4): sent by an app's key with the `events:write` scope, one or
//! a batch, matched to their customer by id, e-mail, phone or code within the key's
//! visibility, stored once per event id; definitions with property schemas and
//! engagement weights; the engagement score against a hand computation; the customer
//! search and segments on event facts; what merges, undos, erasure and the personal-data
//! export do with events; and the rules a request must keep.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use e2e::support::{create_customer, field_codes, for_each_backend, id_of, person, send, TestApp};

/// A key that may only send events, created by `token`'s user.
fn device_key(app: &TestApp, token: &str) -> String {
    let (status, key) = send(
        app,
        Method::POST,
        "/api/v1/api-keys",
        token,
        Some(json!({"name": "shop app", "scopes": ["events:write"]})),
    );
    assert_eq!(status, 201, "{key}");
    key["key"].as_str().unwrap().to_string()
}

fn batch(app: &TestApp, key: &str, events: Value) -> (u16, Value) {
    send(
        app,
        Method::POST,
        "/api/v1/events/batch",
        key,
        Some(json!({"events": events})),
    )
}

fn at(days_ago: i64) -> String {
    (Utc::now() - Duration::days(days_ago)).to_rfc3339()
}

/// Every event of `customer`, newest first, read a page of `limit` at a time.
fn events_of(app: &TestApp, token: &str, customer: &str, limit: usize) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/customers/{customer}/events?limit={limit}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let (status, page) = send(app, Method::GET, &path, token, None);
        assert_eq!(status, 200, "{page}");
        all.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return all,
        }
    }
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

fn score_of(app: &TestApp, token: &str, customer: &str) -> f64 {
    overview(app, token, customer)["engagement"]["score"]
        .as_f64()
        .expect("a score")
}

fn search(app: &TestApp, token: &str, filter: Value) -> BTreeSet<String> {
    let (status, page) = send(
        app,
        Method::POST,
        "/api/v1/customers/search",
        token,
        Some(json!({"filter": filter, "limit": 200})),
    );
    assert_eq!(status, 200, "{filter}: {page}");
    page["data"].as_array().unwrap().iter().map(id_of).collect()
}

fn set_of(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

#[test]
fn events_are_matched_to_their_customer_stored_once_and_scored() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let mut body = person("سارا", "کریمی", "09121234567", "sara@example.ir");
        body["code"] = json!("APP-7");
        let sara = id_of(&create_customer(app, &admin, body));
        let key = device_key(app, &admin);

        // One event by e-mail (in another case), with the sender's id.
        let event_id = Uuid::now_v7().to_string();
        let single = json!({
            "id": event_id, "name": "page_view", "customer": {"email": "Sara@Example.ir"},
            "properties": {"path": "/tea"}, "occurred_at": at(0)
        });
        let (status, stored) = send(
            app,
            Method::POST,
            "/api/v1/events",
            &key,
            Some(single.clone()),
        );
        assert_eq!(status, 201, "{stored}");
        assert_eq!(stored["status"], "accepted");
        assert_eq!(stored["customer_id"], sara.as_str());
        // Sent again: stored once.
        let (status, again) = send(app, Method::POST, "/api/v1/events", &key, Some(single));
        assert_eq!((status, again["status"].as_str()), (200, Some("duplicate")));

        // A batch: by phone (Persian digits, local form), by code, by id, an unknown
        // customer, and one id twice.
        let twice = Uuid::now_v7().to_string();
        let (status, result) = batch(
            app,
            &key,
            json!([
                {"name": "page_view", "customer": {"phone": "۰۹۱۲۱۲۳۴۵۶۷"}, "occurred_at": at(30)},
                {"name": "app_open", "customer": {"code": "APP-7"}, "occurred_at": at(60)},
                {"id": twice, "name": "app_open", "customer": {"id": sara}, "occurred_at": at(0)},
                {"name": "app_open", "customer": {"email": "nobody@example.ir"}},
                {"id": twice, "name": "app_open", "customer": {"id": sara}, "occurred_at": at(0)},
                {"id": event_id, "name": "page_view", "customer": {"id": sara}}
            ]),
        );
        assert_eq!(status, 200, "{result}");
        let statuses: Vec<&str> = result["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            statuses,
            [
                "accepted",
                "accepted",
                "accepted",
                "rejected",
                "duplicate",
                "duplicate"
            ]
        );
        assert_eq!(
            (
                result["accepted"].as_i64(),
                result["duplicates"].as_i64(),
                result["rejected"].as_i64()
            ),
            (Some(3), Some(2), Some(1))
        );
        let problem = &result["results"][3]["problem"];
        assert_eq!(
            field_codes(problem),
            [("events[3].customer".to_string(), "not_found".to_string())]
        );

        // Four events, newest first, over pages of two; by name.
        let events = events_of(app, &admin, &sara, 2);
        assert_eq!(events.len(), 4);
        let times: Vec<DateTime<Utc>> = events
            .iter()
            .map(|e| e["occurred_at"].as_str().unwrap().parse().unwrap())
            .collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
        let (_, views) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{sara}/events?name=page_view"),
            &admin,
            None,
        );
        assert_eq!(views["data"].as_array().unwrap().len(), 2);

        // The score: weight 1 each, halved every 30 days: 1 + 1 + 0.5 + 0.25.
        let engagement = &overview(app, &admin, &sara)["engagement"];
        assert_eq!(engagement["events"], 4);
        let score = engagement["score"].as_f64().unwrap();
        assert!((score - 2.75).abs() < 1e-3, "{engagement}");
        let names: Vec<(&str, i64)> = engagement["by_name"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| (n["name"].as_str().unwrap(), n["count"].as_i64().unwrap()))
            .collect();
        assert_eq!(names.len(), 2);
        assert!(names.contains(&("page_view", 2)) && names.contains(&("app_open", 2)));

        // Both names got a definition of weight 1 without a schema.
        let (_, definitions) = send(app, Method::GET, "/api/v1/event-definitions", &admin, None);
        let defined: Vec<(&str, f64)> = definitions["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["name"].as_str().unwrap(), d["weight"].as_f64().unwrap()))
            .collect();
        assert_eq!(defined, [("app_open", 1.0), ("page_view", 1.0)]);

        // A key without `events:write` may not send; the device key reads nothing.
        let (_, reader) = send(
            app,
            Method::POST,
            "/api/v1/api-keys",
            &admin,
            Some(json!({"name": "reader", "scopes": ["records:read"]})),
        );
        let reader = reader["key"].as_str().unwrap();
        let event = json!({"name": "page_view", "customer": {"id": sara}});
        assert_eq!(
            send(app, Method::POST, "/api/v1/events", reader, Some(event)).0,
            403
        );
        for path in [
            format!("/api/v1/customers/{sara}/events"),
            format!("/api/v1/customers/{sara}"),
            "/api/v1/event-definitions".to_string(),
        ] {
            assert_eq!(send(app, Method::GET, &path, &key, None).0, 403, "{path}");
        }
    });
}

#[test]
fn a_definition_checks_properties_and_weighs_the_score() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let ali = id_of(&create_customer(
            app,
            &admin,
            person("علی", "رضایی", "09351112233", "ali@example.ir"),
        ));
        let key = device_key(app, &admin);
        let definition = json!({
            "description": "افزودن به سبد",
            "weight": 4,
            "properties": {
                "sku": {"type": "string", "required": true},
                "quantity": {"type": "integer"},
                "at": {"type": "datetime"}
            },
            "allow_other_properties": false
        });
        let response = app
            .authed(
                Method::PUT,
                "/api/v1/event-definitions/cart.item_added",
                &admin,
            )
            .json(&definition)
            .send()
            .unwrap();
        assert_eq!(response.status(), 201);
        let etag = response.headers()["etag"].to_str().unwrap().to_string();
        let stored: Value = response.json().unwrap();
        assert_eq!(stored["weight"], 4.0);
        assert_eq!(
            stored["properties"]["sku"],
            json!({"type": "string", "required": true})
        );

        // A batch with one broken event stores nothing and names every problem.
        let (status, problem) = batch(
            app,
            &key,
            json!([
                {"name": "cart.item_added", "customer": {"id": ali}, "properties": {"sku": "TEA-1", "quantity": 2}},
                {"name": "cart.item_added", "customer": {"id": ali},
                 "properties": {"quantity": 1.5, "at": "yesterday", "colour": "red"}},
                {"name": "Cart Added", "customer": {"id": ali, "email": "ali@example.ir"},
                 "occurred_at": (Utc::now() + Duration::hours(1)).to_rfc3339()}
            ]),
        );
        assert_eq!(status, 422, "{problem}");
        let mut codes = field_codes(&problem);
        codes.sort();
        assert_eq!(
            codes,
            [
                ("events[1].properties.at", "invalid_type"),
                ("events[1].properties.colour", "unknown_property"),
                ("events[1].properties.quantity", "invalid_type"),
                ("events[1].properties.sku", "required"),
                ("events[2].customer", "exclusive"),
                ("events[2].name", "invalid_format"),
                ("events[2].occurred_at", "in_future"),
            ]
            .map(|(f, c)| (f.to_string(), c.to_string()))
        );
        assert!(events_of(app, &admin, &ali, 50).is_empty());

        // Valid ones count their weight.
        let (status, _) = batch(
            app,
            &key,
            json!([
                {"name": "cart.item_added", "customer": {"id": ali}, "properties": {"sku": "TEA-1"}},
                {"name": "page_view", "customer": {"id": ali}}
            ]),
        );
        assert_eq!(status, 200);
        let score = score_of(app, &admin, &ali);
        assert!((score - 5.0).abs() < 1e-3, "{score}");

        // A change needs the current ETag; a stale one is refused.
        let put_if_match = || {
            app.authed(
                Method::PUT,
                "/api/v1/event-definitions/cart.item_added",
                &admin,
            )
            .header("If-Match", &etag)
            .json(&json!({"weight": 2}))
            .send()
            .unwrap()
            .status()
        };
        assert_eq!(put_if_match(), 200);
        assert_eq!(put_if_match(), 412);
        // The new weight applies to the events stored before, too: 2 + 1.
        let score = score_of(app, &admin, &ali);
        assert!((score - 3.0).abs() < 1e-3, "{score}");

        // Rules of a definition.
        let (status, problem) = send(
            app,
            Method::PUT,
            "/api/v1/event-definitions/x",
            &admin,
            Some(json!({"weight": -1, "properties": {"Bad Name": {"type": "string"}}})),
        );
        assert_eq!(status, 422);
        let mut codes = field_codes(&problem);
        codes.sort();
        assert_eq!(
            codes,
            [
                ("properties.Bad Name", "invalid_format"),
                ("weight", "out_of_range")
            ]
            .map(|(f, c)| (f.to_string(), c.to_string()))
        );
        assert_eq!(
            send(
                app,
                Method::GET,
                "/api/v1/event-definitions/Not%20A%20Name",
                &admin,
                None
            )
            .0,
            400
        );

        // A name in use cannot lose its definition; an unused one can.
        assert_eq!(
            send(
                app,
                Method::DELETE,
                "/api/v1/event-definitions/page_view",
                &admin,
                None
            )
            .0,
            409
        );
        assert_eq!(
            send(
                app,
                Method::PUT,
                "/api/v1/event-definitions/unused",
                &admin,
                Some(json!({}))
            )
            .0,
            201
        );
        assert_eq!(
            send(
                app,
                Method::DELETE,
                "/api/v1/event-definitions/unused",
                &admin,
                None
            )
            .0,
            204
        );
        assert_eq!(
            send(
                app,
                Method::GET,
                "/api/v1/event-definitions/unused",
                &admin,
                None
            )
            .0,
            404
        );

        // Only `crm:configure` defines; readers read.
        let (_, email, password) = app.create_user("sales", Some("all"));
        let sales = app.login(&email, &password).access_token;
        assert_eq!(
            send(
                app,
                Method::PUT,
                "/api/v1/event-definitions/page_view",
                &sales,
                Some(json!({}))
            )
            .0,
            403
        );
        assert_eq!(
            send(
                app,
                Method::DELETE,
                "/api/v1/event-definitions/cart.item_added",
                &sales,
                None
            )
            .0,
            403
        );
        assert_eq!(
            send(
                app,
                Method::GET,
                "/api/v1/event-definitions/cart.item_added",
                &sales,
                None
            )
            .0,
            200
        );
    });
}

#[test]
fn searches_and_segments_filter_on_event_facts() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let key = device_key(app, &admin);
        let tag = Uuid::now_v7().simple().to_string();
        let customer = |first: &str, mobile: &str| {
            let mut body = person(first, "آزمون", mobile, &format!("{first}-{tag}@example.ir"));
            body["code"] = json!(format!("{tag}-{first}"));
            id_of(&create_customer(app, &admin, body))
        };
        let active = customer("active", "09120000001");
        let lapsed = customer("lapsed", "09120000002");
        let silent = customer("silent", "09120000003");
        let (status, _) = batch(
            app,
            &key,
            json!([
                {"name": "page_view", "customer": {"id": active}, "occurred_at": at(0)},
                {"name": "page_view", "customer": {"id": active}, "occurred_at": at(1)},
                {"name": "page_view", "customer": {"id": active}, "occurred_at": at(2)},
                {"name": "page_view", "customer": {"id": lapsed}, "occurred_at": at(40)}
            ]),
        );
        assert_eq!(status, 200);
        let ours = |condition: Value| {
            search(
                app,
                &admin,
                json!({"and": [{"field": "code", "op": "starts_with", "value": tag}, condition]}),
            )
        };
        let cond =
            |field: &str, op: &str, value: Value| json!({"field": field, "op": op, "value": value});
        assert_eq!(
            ours(cond("event.page_view.count", "gte", json!(2))),
            set_of(&[&active])
        );
        // Customers without events have the count 0 and the score 0.
        assert_eq!(
            ours(cond("event.page_view.count", "lt", json!(2))),
            set_of(&[&lapsed, &silent])
        );
        assert_eq!(
            ours(cond("event.page_view.count", "eq", json!(0))),
            set_of(&[&silent])
        );
        assert_eq!(
            ours(cond("event.page_view.count", "in", json!([0, 3]))),
            set_of(&[&active, &silent])
        );
        assert_eq!(
            ours(cond(
                "event.page_view.last_at",
                "gte",
                json!({"relative": "last_n_days", "n": 30})
            )),
            set_of(&[&active])
        );
        assert_eq!(
            ours(json!({"field": "event.page_view.last_at", "op": "is_null", "value": true})),
            set_of(&[&silent])
        );
        assert_eq!(
            ours(cond("engagement_score", "gt", json!(2.5))),
            set_of(&[&active])
        );
        assert_eq!(
            ours(cond("engagement_score", "lt", json!(0.5))),
            set_of(&[&lapsed, &silent])
        );
        assert_eq!(
            ours(cond("engagement_score", "gte", json!(0.3))),
            set_of(&[&active, &lapsed])
        );

        // A name never sent is no field; a count is a whole number.
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/customers/search",
            &admin,
            Some(json!({"filter": cond("event.never_sent.count", "gt", json!(0))})),
        );
        assert_eq!(status, 422, "{problem}");
        let (status, _) = send(
            app,
            Method::POST,
            "/api/v1/customers/search",
            &admin,
            Some(json!({"filter": cond("event.page_view.count", "gt", json!("many"))})),
        );
        assert_eq!(status, 422);

        // A segment on the same facts.
        let (status, preview) = send(
            app,
            Method::POST,
            "/api/v1/segments/preview",
            &admin,
            Some(json!({"condition": {"and": [
                {"field": "code", "op": "starts_with", "value": tag},
                {"field": "event.page_view.count", "op": "gte", "value": 1}
            ]}, "limit": 10})),
        );
        assert_eq!(status, 200, "{preview}");
        assert_eq!(preview["count"], 2);
    });
}

#[test]
fn merges_move_events_and_an_undo_gives_them_back() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let key = device_key(app, &admin);
        let winner = id_of(&create_customer(
            app,
            &admin,
            person("مینا", "نوری", "09131110000", "mina@example.ir"),
        ));
        let loser = id_of(&create_customer(
            app,
            &admin,
            person("مینا", "نوری", "09131110001", "mina2@example.ir"),
        ));
        let (status, _) = batch(
            app,
            &key,
            json!([
                {"name": "page_view", "customer": {"id": winner}, "occurred_at": at(3)},
                {"name": "app_open", "customer": {"id": loser}, "occurred_at": at(2)}
            ]),
        );
        assert_eq!(status, 200);
        let (status, merged) = send(
            app,
            Method::POST,
            "/api/v1/customers/merge",
            &admin,
            Some(json!({"winner_id": winner, "loser_ids": [loser]})),
        );
        assert_eq!(status, 201, "{merged}");
        let merge_id = merged["merge"]["id"].as_str().unwrap().to_string();
        assert_eq!(events_of(app, &admin, &winner, 50).len(), 2);
        assert_eq!(overview(app, &admin, &winner)["engagement"]["events"], 2);

        // An app that still knows the loser's id reaches the winner.
        let (status, stored) = send(
            app,
            Method::POST,
            "/api/v1/events",
            &key,
            Some(json!({"name": "app_open", "customer": {"id": loser}})),
        );
        assert_eq!(status, 201);
        assert_eq!(stored["customer_id"], winner.as_str());
        let events = events_of(app, &admin, &winner, 50);
        assert_eq!(events[0]["sent_for_customer_id"], loser.as_str());
        let search_count = |customer: &str| {
            search(
                app,
                &admin,
                json!({"and": [
                    {"field": "id", "op": "eq", "value": customer},
                    {"field": "event.app_open.count", "op": "eq", "value": 2}
                ]}),
            )
            .len()
        };
        assert_eq!(search_count(&winner), 1);

        // The undo gives the loser what was sent about it, before and since.
        let (status, undone) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/merges/{merge_id}/undo"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{undone}");
        assert_eq!(events_of(app, &admin, &winner, 50).len(), 1);
        assert_eq!(events_of(app, &admin, &loser, 50).len(), 2);
        assert_eq!(overview(app, &admin, &loser)["engagement"]["events"], 2);
        assert_eq!(search_count(&loser), 1);
        assert_eq!(search_count(&winner), 0);
    });
}

#[test]
fn erasure_deletes_events_and_the_export_lists_them() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let key = device_key(app, &admin);
        let reza = id_of(&create_customer(
            app,
            &admin,
            person("رضا", "صالحی", "09191234000", "reza@example.ir"),
        ));
        let (status, _) = batch(
            app,
            &key,
            json!([
                {"name": "page_view", "customer": {"id": reza}, "properties": {"path": "/secret-clinic"}},
                {"name": "device.reading", "customer": {"email": "reza@example.ir"}, "properties": {"bpm": 88}}
            ]),
        );
        assert_eq!(status, 200);
        let (_, exported) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{reza}/personal-data"),
            &admin,
            None,
        );
        assert_eq!(exported["held_in"]["behavioural_events"], 2);
        assert_eq!(exported["behavioural_events"].as_array().unwrap().len(), 2);
        let (status, erased) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{reza}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erased}");
        assert_eq!(erased["erased"]["behavioural_events"], 2, "{erased}");
        assert!(events_of(app, &admin, &reza, 50).is_empty());
        assert_eq!(overview(app, &admin, &reza)["engagement"]["score"], 0.0);
        // An erased customer takes no new events.
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/events",
            &key,
            Some(json!({"name": "page_view", "customer": {"id": reza}})),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            [("customer".to_string(), "erased".to_string())]
        );
    });
}

#[test]
fn a_key_reaches_only_the_customers_its_owner_sees() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (sales_id, email, password) = app.create_user("sales", None);
        let sales = app.login(&email, &password).access_token;
        let mut own = person("نگار", "امینی", "09361230000", "negar@example.ir");
        own["owner_id"] = json!(sales_id);
        let own = id_of(&create_customer(app, &admin, own));
        let other = id_of(&create_customer(
            app,
            &admin,
            person("کیان", "امینی", "09361230001", "kian@example.ir"),
        ));
        let key = device_key(app, &sales);
        let (status, result) = batch(
            app,
            &key,
            json!([
                {"name": "page_view", "customer": {"id": own}},
                {"name": "page_view", "customer": {"id": other}},
                {"name": "page_view", "customer": {"email": "kian@example.ir"}}
            ]),
        );
        assert_eq!(status, 200);
        let statuses: Vec<&str> = result["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["accepted", "rejected", "rejected"]);
        // Unknown and invisible look alike.
        assert_eq!(
            result["results"][1]["problem"]["errors"][0]["code"],
            "not_found"
        );
        assert_eq!(
            send(
                app,
                Method::GET,
                &format!("/api/v1/customers/{other}/events"),
                &sales,
                None
            )
            .0,
            404
        );
        assert_eq!(events_of(app, &sales, &own, 50).len(), 1);
        assert!(events_of(app, &admin, &other, 50).is_empty());
    });
}

#[test]
fn bad_event_requests_are_refused_whole() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let key = device_key(app, &admin);
        let id = id_of(&create_customer(
            app,
            &admin,
            person("تینا", "کاظمی", "09111112222", "tina@example.ir"),
        ));
        let one = json!({"name": "page_view", "customer": {"id": id}});
        let cases = [
            (json!([]), "events", "required"),
            (json!(vec![one.clone(); 1_001]), "events", "too_many"),
            (
                json!([{"name": "page_view", "customer": {"id": id}, "occurred_at": "2010-01-01T00:00:00Z"}]),
                "events[0].occurred_at",
                "too_old",
            ),
            (
                json!([{"name": "page_view", "customer": {"email": "not an address"}}]),
                "events[0].customer.email",
                "invalid_format",
            ),
            (
                json!([{"name": "page_view", "customer": {}}]),
                "events[0].customer",
                "required",
            ),
            (
                json!([{"name": "page_view", "customer": {"id": id}, "properties": {"blob": "x".repeat(5_000)}}]),
                "events[0].properties",
                "too_large",
            ),
            (
                json!([{"name": "page_view", "customer": {"id": id}, "properties": {"a": {"b": {"c": {"d": {"e": 1}}}}}}]),
                "events[0].properties.a",
                "too_deep",
            ),
        ];
        for (events, field, code) in cases {
            let (status, problem) = batch(app, &key, events);
            assert_eq!(status, 422, "{field}: {problem}");
            assert!(
                field_codes(&problem).contains(&(field.to_string(), code.to_string())),
                "{field} {code}: {problem}"
            );
        }
        // Control characters anywhere in the body are refused before any rule.
        let (status, _) = batch(
            app,
            &key,
            json!([{"name": "page_view", "customer": {"id": id}, "properties": {"note": "a\u{0}b"}}]),
        );
        assert_eq!(status, 422);
        let (status, _) = send(
            app,
            Method::POST,
            "/api/v1/events",
            &key,
            Some(json!({"name": "page_view", "customer": {"id": id}, "extra": 1})),
        );
        assert_eq!(status, 422);
        assert!(events_of(app, &admin, &id, 50).is_empty());
        let (_, definitions) = send(app, Method::GET, "/api/v1/event-definitions", &admin, None);
        assert!(
            definitions["data"].as_array().unwrap().is_empty(),
            "{definitions}"
        );
    });
}
