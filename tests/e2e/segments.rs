//! Customer segments (M-1): a dynamic segment's membership follows its condition
//! through refreshes — who entered and left when, with an event each — and equals its
//! preview; static segments change by hand; members and history are seen within
//! record visibility; bad definitions are refused naming the field; erasure removes a
//! customer's spells.

use std::collections::BTreeSet;

use e2e::support::{
    assert_problem, create_customer, created, field_codes, finished_job, for_each_backend, id_of,
    insert_tag, merge_patch, person, send, TestApp,
};
use reqwest::Method;
use serde_json::{json, Value};

fn customer(app: &TestApp, token: &str, first: &str, city: &str, extra: Value) -> String {
    let n = uuid::Uuid::now_v7().as_u128() % 10_000_000;
    let mut body = person(
        first,
        "رضایی",
        &format!("0912{n:07}"),
        &format!("{first}-{n}@example.com"),
    );
    body["addresses"] = json!([{"city": city, "province": "البرز", "line": "خیابان اول"}]);
    for (key, value) in extra.as_object().into_iter().flatten() {
        body[key] = value.clone();
    }
    id_of(&create_customer(app, token, body))
}

fn set(app: &TestApp, token: &str, customer: &str, patch: Value) {
    let (status, body) = merge_patch(app, &format!("/api/v1/customers/{customer}"), token, &patch);
    assert_eq!(status, 200, "{patch}: {body}");
}

fn move_to(app: &TestApp, token: &str, customer: &str, city: &str) {
    set(
        app,
        token,
        customer,
        json!({"addresses": [{"city": city, "province": "البرز", "line": "خیابان اول"}]}),
    );
}

fn refresh(app: &TestApp, token: &str, segment: &str) -> Value {
    let response = app
        .authed(
            Method::POST,
            &format!("/api/v1/segments/{segment}/refresh"),
            token,
        )
        .send()
        .expect("refresh");
    let job = finished_job(app, token, response);
    assert_eq!(job["status"], "succeeded", "{job}");
    job
}

/// Every row of a paged listing, as `token` sees it.
fn all(app: &TestApp, token: &str, path: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(cursor) => format!("{path}?limit=2&cursor={cursor}"),
            None => format!("{path}?limit=2"),
        };
        let (status, page) = send(app, Method::GET, &url, token, None);
        assert_eq!(status, 200, "{url}: {page}");
        rows.extend(page["data"].as_array().expect("data").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return rows,
        }
    }
}

fn members(app: &TestApp, token: &str, segment: &str) -> BTreeSet<String> {
    all(app, token, &format!("/api/v1/segments/{segment}/members"))
        .iter()
        .map(|member| member["customer_id"].as_str().expect("id").to_string())
        .collect()
}

/// The history as (customer, whether the spell ended), newest spell first.
fn history(app: &TestApp, token: &str, segment: &str) -> Vec<(String, bool)> {
    all(app, token, &format!("/api/v1/segments/{segment}/history"))
        .iter()
        .map(|spell| {
            (
                spell["customer_id"].as_str().expect("id").to_string(),
                !spell["left_at"].is_null(),
            )
        })
        .collect()
}

/// The outbox's events about `segment`, oldest first, as (type, customer).
fn events(app: &TestApp, segment: &str) -> Vec<(String, String)> {
    let mut conn = app.state.pool.get().expect("connection");
    persistence::events::after(&mut conn, 0, 10_000)
        .expect("events")
        .into_iter()
        .filter(|event| event.payload.0["segment_id"] == segment)
        .map(|event| {
            assert_eq!(event.subject_kind, "customer");
            assert_eq!(
                event.payload.0["customer_id"],
                event.subject_id.0.to_string()
            );
            (event.event_type, event.subject_id.0.to_string())
        })
        .collect()
}

fn set_of(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

fn preview(app: &TestApp, token: &str, condition: &Value) -> (i64, BTreeSet<String>) {
    let (status, body) = send(
        app,
        Method::POST,
        "/api/v1/segments/preview",
        token,
        Some(json!({"condition": condition, "limit": 50})),
    );
    assert_eq!(status, 200, "{body}");
    let ids = body["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|customer| customer["id"].as_str().expect("id").to_string())
        .collect();
    (body["count"].as_i64().expect("count"), ids)
}

#[test]
fn membership_history_follows_a_scripted_sequence_of_changes() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let vip = insert_tag(app, &format!("vip-{}", uuid::Uuid::now_v7()));
        let a = customer(app, &admin, "علی", "کرج", json!({}));
        let b = customer(app, &admin, "مریم", "تهران", json!({}));
        let condition = json!({"or": [
            {"field": "city", "op": "eq", "value": "کرج"},
            {"field": "tag_id", "op": "eq", "value": vip}
        ]});
        assert_eq!(preview(app, &admin, &condition), (1, set_of(&[&a])));
        let segment = created(
            app,
            &admin,
            "/api/v1/segments",
            json!({"name": "ساکنان کرج", "kind": "dynamic", "condition": condition}),
        );
        let id = id_of(&segment);
        assert_eq!(segment["member_count"], 0);

        // Step 1: A is in Karaj.
        let job = refresh(app, &admin, &id);
        assert_eq!(members(app, &admin, &id), set_of(&[&a]));
        let (_, stored) = send(
            app,
            Method::GET,
            &format!("/api/v1/segments/{id}"),
            &admin,
            None,
        );
        assert_eq!(stored["member_count"], 1, "{stored} after {job}");
        assert!(stored["refreshed_at"].is_string());

        // Step 2: B moves to Karaj and enters.
        move_to(app, &admin, &b, "کرج");
        assert_eq!(preview(app, &admin, &condition), (2, set_of(&[&a, &b])));
        refresh(app, &admin, &id);
        assert_eq!(members(app, &admin, &id), set_of(&[&a, &b]));

        // Step 3: A moves away and leaves; B is tagged and moves away, but stays.
        move_to(app, &admin, &a, "تهران");
        set(app, &admin, &b, json!({"tag_ids": [vip]}));
        move_to(app, &admin, &b, "رشت");
        let (count, previewed) = preview(app, &admin, &condition);
        refresh(app, &admin, &id);
        assert_eq!(members(app, &admin, &id), set_of(&[&b]));
        assert_eq!((count, previewed), (1, members(app, &admin, &id)));

        // Step 4: A comes back: a second spell.
        move_to(app, &admin, &a, "کرج");
        refresh(app, &admin, &id);
        assert_eq!(members(app, &admin, &id), set_of(&[&a, &b]));
        // A refresh that finds nothing new changes nothing.
        let job = refresh(app, &admin, &id);
        assert_eq!(job["result"]["entered"], 0, "{job}");
        assert_eq!(job["result"]["left"], 0, "{job}");

        assert_eq!(
            history(app, &admin, &id),
            [(a.clone(), false), (b.clone(), false), (a.clone(), true)]
        );
        let entered = "segment.entered".to_string();
        let left = "segment.left".to_string();
        assert_eq!(
            events(app, &id),
            [
                (entered.clone(), a.clone()),
                (entered.clone(), b.clone()),
                (left, a.clone()),
                (entered, a.clone()),
            ]
        );

        // The customer search knows the membership.
        let (status, found) = send(
            app,
            Method::POST,
            "/api/v1/customers/search",
            &admin,
            Some(json!({"filter": {"field": "segment_id", "op": "eq", "value": id}})),
        );
        assert_eq!(status, 200, "{found}");
        let found: BTreeSet<String> = found["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|customer| customer["id"].as_str().expect("id").to_string())
            .collect();
        assert_eq!(found, set_of(&[&a, &b]));

        // Erasure removes A's spells and events; A never enters again.
        let (status, erased) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{a}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erased}");
        assert_eq!(erased["erased"]["segment_memberships"], 2, "{erased}");
        assert_eq!(history(app, &admin, &id), [(b.clone(), false)]);
        assert!(events(app, &id).iter().all(|(_, customer)| *customer != a));
        refresh(app, &admin, &id);
        assert_eq!(members(app, &admin, &id), set_of(&[&b]));
        let (_, stored) = send(
            app,
            Method::GET,
            &format!("/api/v1/segments/{id}"),
            &admin,
            None,
        );
        assert_eq!(stored["member_count"], 1);

        // The personal-data export lists B's spell.
        let (status, data) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{b}/personal-data"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{data}");
        assert_eq!(data["held_in"]["segment_memberships"], 1, "{data}");
        assert_eq!(data["segment_memberships"][0]["segment_id"], id.as_str());
    });
}

#[test]
fn static_segments_change_by_hand_and_members_are_seen_within_visibility() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (seller, email, password) = app.create_user("sales", Some("own"));
        let sales = app.login(&email, &password).access_token;
        let theirs = customer(app, &admin, "سارا", "کرج", json!({"owner_id": seller}));
        let other = customer(app, &admin, "رضا", "کرج", json!({}));
        let segment = created(
            app,
            &sales,
            "/api/v1/segments",
            json!({"name": "فهرست نمایشگاه", "kind": "static"}),
        );
        let id = id_of(&segment);
        let unknown = uuid::Uuid::now_v7().to_string();

        // A sales user adds only customers it may see.
        let (status, outcome) = send(
            app,
            Method::POST,
            &format!("/api/v1/segments/{id}/members"),
            &sales,
            Some(json!({"action": "add", "customer_ids": [theirs, other]})),
        );
        assert_eq!(status, 200, "{outcome}");
        assert_eq!(outcome["changed"], 1);
        assert_eq!(outcome["not_found"], json!([other]));
        let (status, outcome) = send(
            app,
            Method::POST,
            &format!("/api/v1/segments/{id}/members"),
            &admin,
            Some(json!({"action": "add", "customer_ids": [theirs, other, unknown]})),
        );
        assert_eq!(status, 200, "{outcome}");
        assert_eq!(
            (outcome["changed"].clone(), outcome["unchanged"].clone()),
            (json!(1), json!(1))
        );
        assert_eq!(outcome["not_found"], json!([unknown]));
        assert_eq!(outcome["member_count"], 2);

        assert_eq!(members(app, &admin, &id), set_of(&[&theirs, &other]));
        assert_eq!(members(app, &sales, &id), set_of(&[&theirs]));

        let (status, outcome) = send(
            app,
            Method::POST,
            &format!("/api/v1/segments/{id}/members"),
            &admin,
            Some(json!({"action": "remove", "customer_ids": [other]})),
        );
        assert_eq!(status, 200, "{outcome}");
        assert_eq!(outcome["changed"], 1);
        assert_eq!(members(app, &admin, &id), set_of(&[&theirs]));
        assert_eq!(
            history(app, &admin, &id),
            [(other.clone(), true), (theirs.clone(), false)]
        );
        assert_eq!(history(app, &sales, &id), [(theirs.clone(), false)]);

        // A dynamic segment's members, too, are seen within visibility.
        let dynamic = created(
            app,
            &admin,
            "/api/v1/segments",
            json!({"name": "کرج", "kind": "dynamic",
                   "condition": {"field": "city", "op": "eq", "value": "کرج"}}),
        );
        let dynamic = id_of(&dynamic);
        refresh(app, &admin, &dynamic);
        assert_eq!(members(app, &admin, &dynamic), set_of(&[&theirs, &other]));
        assert_eq!(members(app, &sales, &dynamic), set_of(&[&theirs]));
        assert_eq!(history(app, &sales, &dynamic), [(theirs.clone(), false)]);
        let (_, previewed) = send(
            app,
            Method::POST,
            "/api/v1/segments/preview",
            &sales,
            Some(json!({"condition": {"field": "city", "op": "eq", "value": "کرج"}})),
        );
        assert_eq!(previewed["count"], 1, "{previewed}");

        // Static members are changed by hand only, dynamic ones never.
        let (status, _) = send(
            app,
            Method::POST,
            &format!("/api/v1/segments/{id}/refresh"),
            &admin,
            None,
        );
        assert_eq!(status, 409);
        let (status, _) = send(
            app,
            Method::POST,
            &format!("/api/v1/segments/{dynamic}/members"),
            &admin,
            Some(json!({"action": "add", "customer_ids": [other]})),
        );
        assert_eq!(status, 409);

        // Merging the member into another customer gives the winner its place.
        let (status, merged) = send(
            app,
            Method::POST,
            "/api/v1/customers/merge",
            &admin,
            Some(json!({"winner_id": other, "loser_ids": [theirs]})),
        );
        assert_eq!(status, 201, "{merged}");
        assert_eq!(members(app, &admin, &id), set_of(&[&other]));
    });
}

#[test]
fn segments_refuse_bad_definitions_and_writes_without_permission() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let post = |token: &str, path: &str, body: Value| {
            app.authed(Method::POST, path, token)
                .json(&body)
                .send()
                .expect("request")
        };
        let invalid = |body: Value| -> Vec<(String, String)> {
            let problem = assert_problem(
                post(&admin, "/api/v1/segments", body),
                422,
                "validation_failed",
            );
            field_codes(&problem)
        };
        let unknown = invalid(json!({"name": "x", "kind": "dynamic",
            "condition": {"field": "shoe_size", "op": "eq", "value": 42}}));
        assert!(
            unknown.iter().any(|(field, _)| field == "condition.field"),
            "{unknown:?}"
        );
        let mut deep = json!({"field": "city", "op": "eq", "value": "کرج"});
        for _ in 0..7 {
            deep = json!({"and": [deep]});
        }
        let codes = invalid(json!({"name": "x", "kind": "dynamic", "condition": deep}));
        assert!(
            codes
                .iter()
                .any(|(field, code)| field.starts_with("condition") && code == "too_deep"),
            "{codes:?}"
        );
        let many: Vec<Value> = (0..51)
            .map(|i| json!({"field": "city", "op": "eq", "value": format!("c{i}")}))
            .collect();
        let codes = invalid(json!({"name": "x", "kind": "dynamic", "condition": {"or": many}}));
        assert!(
            codes
                .iter()
                .any(|(field, _)| field.starts_with("condition")),
            "{codes:?}"
        );
        assert_eq!(
            invalid(json!({"name": "x", "kind": "dynamic"})),
            [("condition".to_string(), "required".to_string())]
        );
        assert_eq!(
            invalid(json!({"name": "x", "kind": "static", "refresh_interval_minutes": 1})),
            [(
                "refresh_interval_minutes".to_string(),
                "out_of_range".to_string()
            )]
        );
        let nul = assert_problem(
            post(
                &admin,
                "/api/v1/segments",
                json!({"name": "a\u{0}b", "kind": "static"}),
            ),
            422,
            "validation_failed",
        );
        assert_eq!(field_codes(&nul)[0].0, "name", "{nul}");
        let preview = assert_problem(
            post(
                &admin,
                "/api/v1/segments/preview",
                json!({"condition": {"field": "city", "op": "near", "value": "x"}}),
            ),
            422,
            "validation_failed",
        );
        assert!(field_codes(&preview)
            .iter()
            .any(|(field, _)| field == "condition.op"));

        let segment = created(
            app,
            &admin,
            "/api/v1/segments",
            json!({"name": "دستی", "kind": "static"}),
        );
        let id = id_of(&segment);
        let huge: Vec<String> = (0..1_001)
            .map(|_| uuid::Uuid::now_v7().to_string())
            .collect();
        let problem = assert_problem(
            post(
                &admin,
                &format!("/api/v1/segments/{id}/members"),
                json!({"action": "add", "customer_ids": huge}),
            ),
            422,
            "validation_failed",
        );
        assert_eq!(field_codes(&problem)[0].0, "customer_ids");
        assert_problem(
            post(
                &admin,
                "/api/v1/segments",
                json!({"name": "دستی", "kind": "static"}),
            ),
            409,
            "conflict",
        );
        let (status, body) = merge_patch(
            app,
            &format!("/api/v1/segments/{id}"),
            &admin,
            &json!({"kind": "dynamic"}),
        );
        assert_eq!(status, 422, "{body}");

        // Reading is for everyone with records:read; writing is not.
        let (_, email, password) = app.create_user("read_only", None);
        let reader = app.login(&email, &password).access_token;
        let (status, _) = send(
            app,
            Method::GET,
            &format!("/api/v1/segments/{id}"),
            &reader,
            None,
        );
        assert_eq!(status, 200);
        for (method, path, body) in [
            (
                Method::POST,
                "/api/v1/segments".to_string(),
                json!({"name": "y", "kind": "static"}),
            ),
            (
                Method::POST,
                format!("/api/v1/segments/{id}/members"),
                json!({"action": "add", "customer_ids": [uuid::Uuid::now_v7()]}),
            ),
        ] {
            let (status, answer) = send(app, method, &path, &reader, Some(body));
            assert_eq!(status, 403, "{path}: {answer}");
        }
        let (status, _) = merge_patch(
            app,
            &format!("/api/v1/segments/{id}"),
            &reader,
            &json!({"description": "x"}),
        );
        assert_eq!(status, 403);
        // Deleting needs crm:configure, which sales users lack.
        let (_, email, password) = app.create_user("sales", None);
        let sales = app.login(&email, &password).access_token;
        let (status, _) = send(
            app,
            Method::DELETE,
            &format!("/api/v1/segments/{id}"),
            &sales,
            None,
        );
        assert_eq!(status, 403);
        let (status, _) = send(
            app,
            Method::DELETE,
            &format!("/api/v1/segments/{id}"),
            &admin,
            None,
        );
        assert_eq!(status, 204);
    });
}
