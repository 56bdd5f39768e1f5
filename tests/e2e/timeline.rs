//! The customer interaction timeline (O-1): every source in one stream newest first,
//! paged without gaps or repeats, narrowed by kind, channel and time, seen only by who
//! sees the customer, and without the tickets (and their internal notes) the caller may
//! not see; the 360 view shows its newest entries.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use e2e::support::{
    create_customer, field_codes, for_each_backend, id_of, merge_patch, person, send, TestApp,
};

fn created(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = send(app, Method::POST, path, token, Some(body.clone()));
    assert_eq!(status, 201, "{path} {body}: {answer}");
    answer
}

fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let (status, answer) = send(app, Method::GET, path, token, None);
    assert_eq!(status, 200, "{path}: {answer}");
    answer
}

fn customer(app: &TestApp, owner: Option<Uuid>) -> String {
    let mobile = format!("0912{:07}", Uuid::now_v7().as_u128() % 10_000_000);
    let mut body = person(
        "سارا",
        "رحیمی",
        &mobile,
        &format!("s{}@example.ir", Uuid::now_v7().simple()),
    );
    if let Some(owner) = owner {
        body["owner_id"] = owner.to_string().into();
    }
    id_of(&create_customer(app, &app.admin_token(), body))
}

fn ticket(app: &TestApp, customer: &str, channel: &str, owner: Option<Uuid>) -> String {
    let mut body =
        json!({"subject": "سفارش دیر رسید", "customer_id": customer, "channel": channel});
    if let Some(owner) = owner {
        body["owner_id"] = owner.to_string().into();
    }
    id_of(&created(app, &app.admin_token(), "/api/v1/tickets", body))
}

fn message(app: &TestApp, ticket: &str, kind: &str, body: &str) -> String {
    id_of(
        &created(
            app,
            &app.admin_token(),
            &format!("/api/v1/tickets/{ticket}/messages"),
            json!({"kind": kind, "body": body}),
        )["message"],
    )
}

fn at(entry: &Value) -> DateTime<Utc> {
    entry["occurred_at"]
        .as_str()
        .expect("occurred_at")
        .parse()
        .expect("RFC 3339")
}

/// Every entry of the timeline at `query`, page by page of `limit`.
fn all_pages(app: &TestApp, token: &str, customer: &str, query: &str, limit: u32) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..500 {
        let mut path = format!("/api/v1/customers/{customer}/timeline?limit={limit}{query}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = get(app, token, &path);
        let data = page["data"].as_array().expect("data");
        assert!(data.len() <= limit as usize, "{page}");
        entries.extend(data.iter().cloned());
        if page["has_more"] == json!(true) {
            assert_eq!(data.len(), limit as usize, "a page before the last is full");
            cursor = Some(
                page["next_cursor"]
                    .as_str()
                    .expect("next_cursor")
                    .to_string(),
            );
        } else {
            assert!(page.get("next_cursor").is_none(), "{page}");
            return entries;
        }
    }
    panic!("the timeline does not end");
}

fn kinds(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["kind"].as_str().expect("kind").to_string())
        .collect()
}

fn strictly_newest_first(entries: &[Value]) {
    let mut seen = HashSet::new();
    for pair in entries.windows(2) {
        let (newer, older) = (&pair[0], &pair[1]);
        let newer_key = (at(newer), newer["id"].as_str().unwrap().to_string());
        let older_key = (at(older), older["id"].as_str().unwrap().to_string());
        assert!(
            newer_key > older_key || (newer_key == older_key && newer["kind"] != older["kind"]),
            "out of order: {newer} then {older}"
        );
    }
    for entry in entries {
        assert!(
            seen.insert((entry["id"].clone(), entry["kind"].clone())),
            "repeated: {entry}"
        );
    }
}

#[test]
fn timeline_merges_every_source_newest_first_and_pages_without_gaps() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let customer = customer(app, None);

        let product = id_of(&created(
            app,
            &admin,
            "/api/v1/products",
            json!({"sku": format!("TL-{}", Uuid::now_v7().simple()), "name": "چای",
                   "unit_price": 500_000}),
        ));
        let order = created(
            app,
            &admin,
            "/api/v1/orders",
            json!({"customer_id": customer, "status": "paid", "channel": "store",
                   "external_reference": "INV-77", "source": "pos", "placed_at": "2026-11-20T09:30:00Z",
                   "lines": [{"product_id": product, "quantity": 2}]}),
        );
        let notes: Vec<String> = ["اول", "دوم"]
            .iter()
            .map(|body| {
                id_of(&created(
                    app,
                    &admin,
                    &format!("/api/v1/customers/{customer}/notes"),
                    json!({"body": format!("یادداشت {body}"), "kind": "general"}),
                ))
            })
            .collect();
        let call = id_of(&created(
            app,
            &admin,
            "/api/v1/activities",
            json!({"kind": "call", "subject_type": "customer", "subject_id": customer,
                   "occurred_at": "2026-11-01T10:00:00Z", "direction": "inbound",
                   "outcome": "قیمت پرسید"}),
        ));
        let visit = id_of(&created(
            app,
            &admin,
            "/api/v1/activities",
            json!({"kind": "visit", "subject_type": "customer", "subject_id": customer,
                   "occurred_at": "2026-11-25T10:00:00Z"}),
        ));
        let task = id_of(&created(
            app,
            &admin,
            "/api/v1/tasks",
            json!({"kind": "call", "title": "پیگیری سفارش", "subject_type": "customer",
                   "subject_id": customer}),
        ));
        let (status, done) = merge_patch(
            app,
            &format!("/api/v1/tasks/{task}"),
            &admin,
            &json!({"status": "done"}),
        );
        assert_eq!(status, 200, "{done}");
        let ticket = ticket(app, &customer, "telegram", None);
        let inbound = message(app, &ticket, "customer", "سلام، بسته‌ام نرسیده");
        let reply = message(app, &ticket, "agent", "پیگیری می‌کنیم");
        let internal = message(app, &ticket, "note", "انبار را چک کنید");
        let (status, moved) = merge_patch(
            app,
            &format!("/api/v1/tickets/{ticket}"),
            &admin,
            &json!({"status": "on_hold"}),
        );
        assert_eq!(status, 200, "{moved}");
        let consent = created(
            app,
            &admin,
            &format!("/api/v1/customers/{customer}/consents"),
            json!({"channel": "sms", "purpose": "marketing", "granted": false,
                   "source": "phone_call"}),
        );
        assert!(consent.is_object());

        let everything = all_pages(app, &admin, &customer, "", 200);
        strictly_newest_first(&everything);
        let found = kinds(&everything);
        for kind in [
            "activity",
            "note",
            "task_created",
            "task_completed",
            "order",
            "ticket_opened",
            "ticket_status_changed",
            "ticket_message",
            "consent_changed",
        ] {
            assert!(found.iter().any(|k| k == kind), "{kind} in {found:?}");
        }
        let ids: HashSet<&str> = everything
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        for id in [
            &notes[0], &notes[1], &call, &visit, &task, &ticket, &inbound, &reply, &internal,
        ] {
            assert!(ids.contains(id.as_str()), "{id} in the timeline");
        }
        assert!(ids.contains(order["id"].as_str().unwrap()));

        // One entry in detail: the customer's telegram message came in on telegram.
        let entry = everything
            .iter()
            .find(|e| e["id"] == inbound.as_str())
            .expect("the customer's message");
        assert_eq!(entry["kind"], "ticket_message");
        assert_eq!(entry["channel"], "telegram");
        assert_eq!(entry["direction"], "inbound");
        assert!(entry["summary"].as_str().unwrap().contains("بسته‌ام نرسیده"));
        assert_eq!(entry["link"]["type"], "ticket");
        assert_eq!(entry["link"]["id"], ticket.as_str());
        assert_eq!(entry["link"]["href"], format!("/api/v1/tickets/{ticket}"));
        let call_entry = everything
            .iter()
            .find(|e| e["id"] == call.as_str())
            .unwrap();
        assert_eq!(call_entry["channel"], "phone");
        assert_eq!(call_entry["direction"], "inbound");
        assert_eq!(
            call_entry["link"]["href"],
            format!("/api/v1/activities/{call}")
        );
        let order_entry = everything.iter().find(|e| e["id"] == order["id"]).unwrap();
        assert_eq!(order_entry["channel"], "in_person");
        assert!(order_entry["summary"].as_str().unwrap().contains("INV-77"));

        // Two at a time, the same entries in the same order.
        let paged = all_pages(app, &admin, &customer, "", 2);
        assert_eq!(paged, everything);

        // Kinds and channels, repeated or comma-separated.
        let notes_and_orders = all_pages(app, &admin, &customer, "&kind=note&kind=order", 1);
        assert_eq!(
            kinds(&notes_and_orders)
                .iter()
                .filter(|k| *k == "note")
                .count(),
            2
        );
        assert!(kinds(&notes_and_orders)
            .iter()
            .all(|k| k == "note" || k == "order"));
        let same = all_pages(app, &admin, &customer, "&kind=note,order", 50);
        assert_eq!(same, notes_and_orders);
        let telegram = all_pages(app, &admin, &customer, "&channel=telegram", 2);
        assert!(telegram.len() >= 5, "{telegram:?}");
        assert!(telegram.iter().all(|e| e["channel"] == "telegram"));
        let phone = all_pages(app, &admin, &customer, "&channel=phone,in_person", 50);
        let phone_ids: Vec<&str> = phone.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert!(phone_ids.contains(&call.as_str()) && phone_ids.contains(&visit.as_str()));
        assert!(phone_ids.contains(&order["id"].as_str().unwrap()));
        let messages = all_pages(
            app,
            &admin,
            &customer,
            "&kind=ticket_message&channel=telegram",
            50,
        );
        let message_ids: Vec<&str> = messages.iter().map(|e| e["id"].as_str().unwrap()).collect();
        for id in [&inbound, &reply, &internal] {
            assert!(message_ids.contains(&id.as_str()), "{messages:?}");
        }
        assert!(messages.iter().all(|e| e["kind"] == "ticket_message"));

        // Time bounds: before is exclusive, after inclusive.
        let november = all_pages(
            app,
            &admin,
            &customer,
            "&after=2026-11-01T10:00:00Z&before=2026-11-25T10:00:00Z",
            50,
        );
        let november_ids: Vec<&str> = november.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert!(november_ids.contains(&call.as_str()), "{november:?}");
        assert!(november_ids.contains(&order["id"].as_str().unwrap()));
        assert!(!november_ids.contains(&visit.as_str()));
        assert!(!november_ids.contains(&notes[0].as_str()));

        // A filter that is not one names its parameter.
        for (query, field) in [
            ("kind=note,fax", "kind"),
            ("channel=pigeon", "channel"),
            ("before=yesterday", "before"),
        ] {
            let (status, problem) = send(
                app,
                Method::GET,
                &format!("/api/v1/customers/{customer}/timeline?{query}"),
                &admin,
                None,
            );
            assert_eq!(status, 422, "{query}: {problem}");
            assert_eq!(problem["code"], "validation_failed");
            assert_eq!(field_codes(&problem)[0].0, field, "{problem}");
        }
        let (status, problem) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{customer}/timeline?cursor=bm90LWEtY3Vyc29y"),
            &admin,
            None,
        );
        assert_eq!(status, 400, "{problem}");

        // The 360 view shows the ten newest.
        let overview = get(
            app,
            &admin,
            &format!("/api/v1/customers/{customer}/overview"),
        );
        let recent = overview["recent_interactions"].as_array().expect("recent");
        assert_eq!(recent.as_slice(), &everything[..10]);
    });
}

#[test]
fn timeline_shows_only_what_the_caller_may_see() {
    for_each_backend(|app| {
        let (seller_id, seller_email, password) = app.create_user("sales", Some("own"));
        let seller = app.login(&seller_email, &password).access_token;
        let (agent_id, _, _) = app.create_user("support", Some("own"));
        let (_, stranger_email, _) = app.create_user("sales", Some("own"));
        let stranger = app.login(&stranger_email, &password).access_token;
        let customer = customer(app, Some(seller_id));
        let note = id_of(&created(
            app,
            &app.admin_token(),
            &format!("/api/v1/customers/{customer}/notes"),
            json!({"body": "مشتری قدیمی"}),
        ));

        // The seller's own ticket and another agent's, each with an internal note.
        let own_ticket = ticket(app, &customer, "email", Some(seller_id));
        let own_note = message(app, &own_ticket, "note", "یادداشت داخلی فروشنده");
        let other_ticket = ticket(app, &customer, "email", Some(agent_id));
        let other_note = message(app, &other_ticket, "note", "یادداشت داخلی پشتیبانی");
        let other_reply = message(app, &other_ticket, "agent", "پاسخ پشتیبانی");

        // Activities on the customer's deals: the seller's deal and another's.
        let deal_activity = |owner: Uuid, outcome: &str| {
            let deal = id_of(&created(
                app,
                &app.admin_token(),
                "/api/v1/deals",
                json!({"title": "تجهیز شعبه", "customer_id": customer, "amount": 1000,
                       "currency": "IRR", "owner_id": owner}),
            ));
            id_of(&created(
                app,
                &app.admin_token(),
                "/api/v1/activities",
                json!({"kind": "meeting", "subject_type": "deal", "subject_id": deal,
                       "occurred_at": "2026-11-30T08:00:00Z", "outcome": outcome}),
            ))
        };
        let own_deal_meeting = deal_activity(seller_id, "جلسه فروشنده");
        let other_deal_meeting = deal_activity(agent_id, "جلسه دیگری");

        let path = format!("/api/v1/customers/{customer}/timeline");
        let seen = all_pages(app, &seller, &customer, "", 50);
        strictly_newest_first(&seen);
        let ids: Vec<&str> = seen.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert!(ids.contains(&note.as_str()));
        assert!(ids.contains(&own_ticket.as_str()));
        assert!(ids.contains(&own_note.as_str()));
        assert!(ids.contains(&own_deal_meeting.as_str()));
        for hidden in [
            &other_ticket,
            &other_note,
            &other_reply,
            &other_deal_meeting,
        ] {
            assert!(!ids.contains(&hidden.as_str()), "{hidden} is not shown");
        }
        assert!(seen
            .iter()
            .all(|e| e["link"]["id"] != other_ticket.as_str()));
        let overview = get(
            app,
            &seller,
            &format!("/api/v1/customers/{customer}/overview"),
        );
        assert!(overview["recent_interactions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["link"]["id"] != other_ticket.as_str()));

        // The admin sees both tickets.
        let everything = all_pages(app, &app.admin_token(), &customer, "", 50);
        let all_ids: Vec<&str> = everything
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        assert!(all_ids.contains(&other_note.as_str()));
        assert!(all_ids.contains(&other_deal_meeting.as_str()));
        let meeting = everything
            .iter()
            .find(|e| e["id"] == own_deal_meeting.as_str())
            .unwrap();
        assert_eq!(meeting["channel"], "in_person");

        // Someone who may not see the customer gets what a missing one gets.
        let (status, problem) = send(app, Method::GET, &path, &stranger, None);
        assert_eq!(status, 404, "{problem}");
        let (status, _) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{}/timeline", Uuid::now_v7()),
            &app.admin_token(),
            None,
        );
        assert_eq!(status, 404);
    });
}
