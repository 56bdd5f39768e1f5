//! Partners: a partner's users see the records they own and those shared with
//! their partner — by id, search, export, timeline, 360 view and reports — and nothing
//! else; a read share cannot be changed through, an expired or withdrawn share shows
//! nothing, share rules follow the records they match, and every share is audited.

use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::prelude::*;
use persistence::schema::record_shares;
use persistence::sql_types::{DbTime, DbUuid};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use e2e::support::{
    create_customer, created, field_codes, finished_job, for_each_backend, id_of, merge_patch,
    person, send, TestApp, TEST_PASSWORD,
};

const PARTNERS: &str = "/api/v1/partners";

/// A new partner of `kind`; answers its id.
fn partner(app: &TestApp, admin: &str, kind: &str) -> String {
    let name = format!("Partner {}", Uuid::now_v7().simple());
    id_of(&created(
        app,
        admin,
        PARTNERS,
        json!({"name": name, "kind": kind}),
    ))
}

/// A new user of partner `id`, signed in; answers `(user id, access token)`.
fn partner_user(app: &TestApp, admin: &str, id: &str) -> (String, String) {
    let email = format!("partner-{}@example.com", Uuid::now_v7().simple());
    let user = created(
        app,
        admin,
        &format!("{PARTNERS}/{id}/users"),
        json!({"email": email, "display_name": "همکار پخش", "password": TEST_PASSWORD}),
    );
    assert_eq!(user["role"], "partner");
    assert_eq!(user["visibility"], "own");
    (id_of(&user), app.login(&email, TEST_PASSWORD).access_token)
}

fn share(
    app: &TestApp,
    admin: &str,
    partner: &str,
    kind: &str,
    record: &str,
    access: &str,
) -> Value {
    created(
        app,
        admin,
        &format!("{PARTNERS}/{partner}/shares"),
        json!({"record_kind": kind, "record_id": record, "access": access}),
    )
}

fn status_of(app: &TestApp, token: &str, path: &str) -> u16 {
    send(app, Method::GET, path, token, None).0
}

/// The codes of the customers a search by `token` finds, sorted.
fn customer_codes(app: &TestApp, token: &str) -> Vec<String> {
    let (status, page) = send(
        app,
        Method::POST,
        "/api/v1/customers/search",
        token,
        Some(json!({"limit": 200})),
    );
    assert_eq!(status, 200, "{page}");
    let mut codes: Vec<String> = page["data"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["code"].as_str().unwrap_or_default().to_string())
        .collect();
    codes.sort();
    codes
}

fn coded(code: &str, mobile: &str) -> Value {
    let mut body = person(
        "مریم",
        "حسینی",
        mobile,
        &format!("{}@example.ir", code.to_lowercase()),
    );
    body["code"] = code.into();
    body
}

#[test]
fn a_partner_sees_exactly_what_is_shared_with_it() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let distributor = partner(app, &admin, "distributor");
        let agency = partner(app, &admin, "agency");
        let (partner_user_id, seller) = partner_user(app, &admin, &distributor);
        let (_, outsider) = partner_user(app, &admin, &agency);

        let read_only = id_of(&create_customer(app, &admin, coded("P-A", "09121110001")));
        let writable = id_of(&create_customer(app, &admin, coded("P-B", "09121110002")));
        let hidden = id_of(&create_customer(app, &admin, coded("P-C", "09121110003")));
        let read_share = share(app, &admin, &distributor, "customer", &read_only, "read");
        share(app, &admin, &distributor, "customer", &writable, "write");
        let ticket = created(
            app,
            &admin,
            "/api/v1/tickets",
            json!({"subject": "گارانتی", "customer_id": read_only}),
        );
        let hidden_ticket = created(
            app,
            &admin,
            "/api/v1/tickets",
            json!({"subject": "Invoice", "customer_id": hidden}),
        );
        share(app, &admin, &distributor, "ticket", &id_of(&ticket), "read");

        // By id: what is shared, and nothing else; a read share is not a write share.
        let customer = |id: &str| format!("/api/v1/customers/{id}");
        assert_eq!(status_of(app, &seller, &customer(&read_only)), 200);
        assert_eq!(status_of(app, &seller, &customer(&writable)), 200);
        assert_eq!(status_of(app, &seller, &customer(&hidden)), 404);
        assert_eq!(status_of(app, &outsider, &customer(&read_only)), 404);
        let (status, _) = merge_patch(
            app,
            &customer(&read_only),
            &seller,
            &json!({"first_name": "مهتاب"}),
        );
        assert_eq!(
            status, 403,
            "a read share does not let the partner change the record"
        );
        let (status, changed) = merge_patch(
            app,
            &customer(&writable),
            &seller,
            &json!({"first_name": "مهتاب"}),
        );
        assert_eq!(status, 200, "{changed}");
        assert_eq!(changed["first_name"], "مهتاب");
        let (status, _) = merge_patch(
            app,
            &customer(&hidden),
            &seller,
            &json!({"first_name": "مهتاب"}),
        );
        assert_eq!(status, 404);
        let ticket_path = format!("/api/v1/tickets/{}", id_of(&ticket));
        assert_eq!(status_of(app, &seller, &ticket_path), 200);
        let hidden_ticket_path = format!("/api/v1/tickets/{}", id_of(&hidden_ticket));
        assert_eq!(status_of(app, &seller, &hidden_ticket_path), 404);

        // A customer the partner's user creates stays its partner's, whoever owns it.
        let own = id_of(&create_customer(app, &seller, coded("P-D", "09121110004")));
        assert_eq!(status_of(app, &seller, &customer(&own)), 200);

        // Search and the outsider's.
        assert_eq!(customer_codes(app, &seller), ["P-A", "P-B", "P-D"]);
        assert!(customer_codes(app, &outsider).is_empty());
        let (_, tickets) = send(
            app,
            Method::POST,
            "/api/v1/tickets/search",
            &seller,
            Some(json!({})),
        );
        let subjects: Vec<&str> = tickets["data"]
            .as_array()
            .expect("tickets")
            .iter()
            .map(|t| t["subject"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(subjects, ["گارانتی"], "{tickets}");

        // Timeline and 360 view of a shared customer; nothing of a hidden one.
        let (status, timeline) = send(
            app,
            Method::GET,
            &format!("{}/timeline", customer(&read_only)),
            &seller,
            None,
        );
        assert_eq!(status, 200, "{timeline}");
        assert!(
            timeline["data"]
                .as_array()
                .expect("entries")
                .iter()
                .any(|entry| entry.to_string().contains(&id_of(&ticket))),
            "the shared ticket is on the timeline: {timeline}"
        );
        assert_eq!(
            status_of(app, &seller, &format!("{}/overview", customer(&read_only))),
            200
        );
        assert_eq!(
            status_of(app, &seller, &format!("{}/timeline", customer(&hidden))),
            404
        );
        assert_eq!(
            status_of(app, &seller, &format!("{}/overview", customer(&hidden))),
            404
        );

        // An export holds the same customers.
        let response = app
            .authed(Method::POST, "/api/v1/exports", &seller)
            .json(&json!({"format": "json", "columns": ["code"]}))
            .send()
            .expect("export");
        let job = finished_job(app, &seller, response);
        assert_eq!(job["status"], "succeeded", "{job}");
        let rows: Value = app
            .authed(
                Method::GET,
                job["result"]["download"].as_str().unwrap(),
                &seller,
            )
            .send()
            .expect("download")
            .json()
            .expect("rows");
        let mut exported: Vec<&str> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap())
            .collect();
        exported.sort();
        assert_eq!(exported, ["P-A", "P-B", "P-D"]);

        // Reports count only what the partner may see.
        let today = (Utc::now() + chrono::Duration::minutes(210)).date_naive();
        let (status, acquired) = send(
            app,
            Method::GET,
            &format!("/api/v1/reports/acquisition?from={today}&to={today}"),
            &seller,
            None,
        );
        assert_eq!(status, 200, "{acquired}");
        assert_eq!(
            acquired["periods"][0]["totals"]["acquired"], 3,
            "{acquired}"
        );

        // The partner's own listing of its shares; another partner's is not there.
        let (status, listed) = send(
            app,
            Method::GET,
            &format!("{PARTNERS}/{distributor}/shares?record_kind=customer"),
            &seller,
            None,
        );
        assert_eq!(status, 200, "{listed}");
        assert_eq!(listed["data"].as_array().unwrap().len(), 3, "{listed}");
        let created_by_seller = listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["record_id"] == own.as_str())
            .expect("the partner's own customer is shared with it");
        assert_eq!(created_by_seller["access"], "write");
        assert_eq!(created_by_seller["created_by"], partner_user_id.as_str());
        assert_eq!(
            status_of(app, &seller, &format!("{PARTNERS}/{agency}/shares")),
            404
        );
        // Partners cannot share or manage partners.
        let (status, _) = send(
            app,
            Method::POST,
            &format!("{PARTNERS}/{distributor}/shares"),
            &seller,
            Some(json!({"record_kind": "customer", "record_id": hidden, "access": "read"})),
        );
        assert_eq!(status, 403);
        assert_eq!(status_of(app, &seller, PARTNERS), 403);

        // Bad shares are named.
        let (status, problem) = send(
            app,
            Method::POST,
            &format!("{PARTNERS}/{distributor}/shares"),
            &admin,
            Some(
                json!({"record_kind": "lead", "record_id": Uuid::now_v7(), "access": "read",
                        "expires_at": "2020-01-01T00:00:00Z"}),
            ),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [("expires_at".to_string(), "in_the_past".to_string())]
        );
        let (status, problem) = send(
            app,
            Method::POST,
            &format!("{PARTNERS}/{distributor}/shares"),
            &admin,
            Some(json!({"record_kind": "lead", "record_id": Uuid::now_v7(), "access": "read"})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [("record_id".to_string(), "not_found".to_string())]
        );
        let (status, _) = send(
            app,
            Method::POST,
            &format!("{PARTNERS}/{distributor}/shares"),
            &admin,
            Some(json!({"record_kind": "customer", "record_id": read_only, "access": "write"})),
        );
        assert_eq!(status, 409, "one share by hand per record and partner");

        // Withdrawn and expired shares show nothing.
        let (status, _) = send(
            app,
            Method::DELETE,
            &format!("{PARTNERS}/{distributor}/shares/{}", id_of(&read_share)),
            &admin,
            None,
        );
        assert_eq!(status, 204);
        assert_eq!(status_of(app, &seller, &customer(&read_only)), 404);
        {
            let mut conn = app.state.pool.get().unwrap();
            diesel::update(
                record_shares::table
                    .filter(record_shares::record_id.eq(DbUuid(writable.parse().unwrap()))),
            )
            .set(
                record_shares::expires_at
                    .eq(Some(DbTime(Utc::now() - chrono::Duration::seconds(1)))),
            )
            .execute(&mut *conn)
            .expect("expire the share");
        }
        assert_eq!(status_of(app, &seller, &customer(&writable)), 404);
        assert_eq!(customer_codes(app, &seller), ["P-D"]);

        // Sharing and unsharing are audited.
        let (_, events) = send(
            app,
            Method::GET,
            "/api/v1/audit-events?resource_type=record_share",
            &admin,
            None,
        );
        let mut actions: Vec<&str> = events["data"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        actions.sort();
        assert_eq!(
            actions,
            [
                "record_share.create",
                "record_share.create",
                "record_share.create",
                "record_share.delete"
            ],
            "{events}"
        );

        // A partner's user keeps its role; an inactive partner's users are shut out.
        let (status, problem) = merge_patch(
            app,
            &format!("/api/v1/users/{partner_user_id}"),
            &admin,
            &json!({"role": "manager"}),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [("role".to_string(), "partner_user".to_string())]
        );
        let (status, _) = merge_patch(
            app,
            &format!("{PARTNERS}/{distributor}"),
            &admin,
            &json!({"is_active": false}),
        );
        assert_eq!(status, 200);
        assert_eq!(status_of(app, &seller, &customer(&own)), 401);
        let (status, _) = send(
            app,
            Method::DELETE,
            &format!("{PARTNERS}/{distributor}"),
            &admin,
            None,
        );
        assert_eq!(
            status, 409,
            "a partner with users is deactivated, not deleted"
        );
    });
}

/// The leads a search by `token` finds, by first name, sorted.
fn lead_names(app: &TestApp, token: &str) -> Vec<String> {
    let (status, page) = send(
        app,
        Method::POST,
        "/api/v1/leads/search",
        token,
        Some(json!({"limit": 200})),
    );
    assert_eq!(status, 200, "{page}");
    let mut names: Vec<String> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["first_name"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn share_rules_share_the_leads_of_a_province_as_they_come_and_go() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let distributor = partner(app, &admin, "distributor");
        let (_, seller) = partner_user(app, &admin, &distributor);
        let lead = |name: &str, province: &str| {
            id_of(&created(
                app,
                &admin,
                "/api/v1/leads",
                json!({"first_name": name, "last_name": "Lead", "province": province}),
            ))
        };
        lead("Alborz-1", "البرز");
        let tehran = lead("Tehran-1", "تهران");

        // A rule that does not fit the catalogue is named.
        let (status, problem) = send(
            app,
            Method::POST,
            &format!("{PARTNERS}/{distributor}/share-rules"),
            &admin,
            Some(json!({"record_kind": "lead", "access": "read",
                        "condition": {"field": "shoe_size", "op": "eq", "value": 42}})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(field_codes(&problem)[0].0, "condition.field");

        let rule = created(
            app,
            &admin,
            &format!("{PARTNERS}/{distributor}/share-rules"),
            json!({"record_kind": "lead", "access": "read",
                   "condition": {"field": "province", "op": "eq", "value": "البرز"}}),
        );
        let rule_path = format!("{PARTNERS}/{distributor}/share-rules/{}", id_of(&rule));
        // The refresh queued with the rule shares the lead that matched before it.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (_, current) = send(app, Method::GET, &rule_path, &admin, None);
            if current["refreshed_at"].is_string() {
                assert_eq!(current["matched"], 1, "{current}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the rule was never refreshed: {current}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(lead_names(app, &seller), ["Alborz-1"]);

        // New and changed leads follow the rule at once.
        lead("Alborz-2", "البرز");
        assert_eq!(lead_names(app, &seller), ["Alborz-1", "Alborz-2"]);
        let (status, _) = merge_patch(
            app,
            &format!("/api/v1/leads/{tehran}"),
            &admin,
            &json!({"province": "البرز"}),
        );
        assert_eq!(status, 200);
        assert_eq!(
            lead_names(app, &seller),
            ["Alborz-1", "Alborz-2", "Tehran-1"]
        );
        let (status, _) = merge_patch(
            app,
            &format!("/api/v1/leads/{tehran}"),
            &admin,
            &json!({"province": "تهران"}),
        );
        assert_eq!(status, 200);
        assert_eq!(lead_names(app, &seller), ["Alborz-1", "Alborz-2"]);
        // Read access: the partner sees a matched lead but may not change it.
        let (_, page) = send(
            app,
            Method::POST,
            "/api/v1/leads/search",
            &seller,
            Some(json!({})),
        );
        let alborz = page["data"][0]["id"].as_str().unwrap().to_string();
        let (status, _) = merge_patch(
            app,
            &format!("/api/v1/leads/{alborz}"),
            &seller,
            &json!({"company": "x"}),
        );
        assert_eq!(status, 403);

        // A condition changed by hand while the server ran: the refresh on request
        // brings the shares in line; deleting the rule withdraws them.
        let (status, _) = merge_patch(
            app,
            &rule_path,
            &admin,
            &json!({"condition": {"field": "province", "op": "eq", "value": "تهران"}}),
        );
        assert_eq!(status, 200);
        let response = app
            .authed(Method::POST, &format!("{rule_path}/refreshes"), &admin)
            .send()
            .expect("refresh");
        let job = finished_job(app, &admin, response);
        assert_eq!(job["status"], "succeeded", "{job}");
        assert_eq!(job["result"]["matched"], 1, "{job}");
        assert_eq!(lead_names(app, &seller), ["Tehran-1"]);
        let (status, _) = send(app, Method::DELETE, &rule_path, &admin, None);
        assert_eq!(status, 204);
        assert!(lead_names(app, &seller).is_empty());
        let (_, events) = send(
            app,
            Method::GET,
            "/api/v1/audit-events?resource_type=share_rule",
            &admin,
            None,
        );
        let actions: Vec<&str> = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert!(actions.contains(&"share_rule.create") && actions.contains(&"share_rule.delete"));
    });
}

#[test]
fn a_partner_s_webhooks_carry_only_what_is_shared_with_it() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let distributor = partner(app, &admin, "distributor");
        let (_, seller) = partner_user(app, &admin, &distributor);
        let agency = partner(app, &admin, "agency");
        let (_, outsider) = partner_user(app, &admin, &agency);
        let (_, email, password) = app.create_user("sales", Some("own"));
        let sales = app.login(&email, &password).access_token;

        let subscribe = |token: &str| {
            send(
                app,
                Method::POST,
                "/api/v1/webhook-subscriptions",
                token,
                Some(json!({"url": "https://hooks.example.ir/partner",
                            "event_types": ["customer.updated"]})),
            )
        };
        let (status, mine) = subscribe(&seller);
        assert_eq!(status, 201, "{mine}");
        assert_eq!(mine["partner_id"], distributor.as_str());
        let subscription = id_of(&mine);
        let (status, business) = subscribe(&admin);
        assert_eq!(status, 201, "{business}");
        assert_eq!(business["partner_id"], Value::Null);
        assert_eq!(
            subscribe(&sales).0,
            403,
            "a user outside a partner needs crm:configure"
        );

        // Each sees its own: the partner's users theirs, nobody else's.
        let path = format!("/api/v1/webhook-subscriptions/{subscription}");
        assert_eq!(status_of(app, &seller, &path), 200);
        assert_eq!(status_of(app, &outsider, &path), 404);
        assert_eq!(
            status_of(
                app,
                &seller,
                &format!("/api/v1/webhook-subscriptions/{}", id_of(&business))
            ),
            404
        );
        let (_, listed) = send(
            app,
            Method::GET,
            "/api/v1/webhook-subscriptions",
            &seller,
            None,
        );
        let listed: Vec<String> = listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(id_of)
            .collect();
        assert_eq!(listed, std::slice::from_ref(&subscription));

        let shared = id_of(&create_customer(app, &admin, coded("W-A", "09121110011")));
        let hidden = id_of(&create_customer(app, &admin, coded("W-B", "09121110012")));
        share(app, &admin, &distributor, "customer", &shared, "read");
        for customer in [&shared, &hidden] {
            let (status, _) = merge_patch(
                app,
                &format!("/api/v1/customers/{customer}"),
                &admin,
                &json!({"first_name": "نسرین"}),
            );
            assert_eq!(status, 200);
        }
        let delivered = |subscription: &str| -> Vec<String> {
            let mut conn = app.state.pool.get().unwrap();
            use persistence::schema::webhook_deliveries as d;
            d::table
                .filter(d::subscription_id.eq(DbUuid(subscription.parse().unwrap())))
                .select(d::body)
                .load::<String>(&mut *conn)
                .expect("deliveries")
        };
        let partner_bodies = delivered(&subscription);
        assert_eq!(partner_bodies.len(), 1, "{partner_bodies:?}");
        assert!(partner_bodies[0].contains(&shared));
        assert_eq!(delivered(&id_of(&business)).len(), 2);
        let (status, deliveries) = send(
            app,
            Method::GET,
            &format!("{path}/deliveries"),
            &seller,
            None,
        );
        assert_eq!(status, 200, "{deliveries}");
        assert_eq!(deliveries["data"].as_array().unwrap().len(), 1);
    });
}
