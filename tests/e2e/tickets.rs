//! The service desk (V-1 … V-3): tickets numbered, searched Persian-aware and seen only
//! by who may; their status moves and history; SLA due times counted on the business
//! calendar and stopped while waiting for the customer; breaches recorded and told once
//! even with two scans at once; a ticket nobody picks up handed to another available
//! agent (not the one away, not the one at capacity, never back), then escalated to
//! the team's managers.

use std::sync::{Arc, Barrier};

use chrono::{DateTime, Duration, Utc};
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

fn at(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .expect("an instant")
        .parse()
        .expect("RFC 3339")
}

/// A user of `role` in `team` with `visibility`: `(id, token)`.
fn user(app: &TestApp, role: &str, team: Option<&str>, visibility: &str) -> (String, String) {
    let email = format!("{role}-{}@example.com", Uuid::now_v7().simple());
    let mut body = json!({"email": email, "display_name": format!("کاربر {role}"),
                          "password": "a long enough password", "role": role,
                          "visibility": visibility});
    if let Some(team) = team {
        body["team_id"] = team.into();
    }
    let made = created(app, &app.admin_token(), "/api/v1/users", body);
    (
        id_of(&made),
        app.login(&email, "a long enough password").access_token,
    )
}

fn team(app: &TestApp, name: &str) -> String {
    id_of(&created(
        app,
        &app.admin_token(),
        "/api/v1/teams",
        json!({"name": format!("{name} {}", Uuid::now_v7().simple())}),
    ))
}

fn customer(app: &TestApp) -> String {
    let mobile = format!("0912{:07}", Uuid::now_v7().as_u128() % 10_000_000);
    id_of(&create_customer(
        app,
        &app.admin_token(),
        person(
            "مریم",
            "کاظمی",
            &mobile,
            &format!("m{}@example.ir", Uuid::now_v7().simple()),
        ),
    ))
}

/// The business calendar the server counts with.
fn calendar(app: &TestApp) -> domain::business_calendar::BusinessCalendar {
    let mut conn = app.state.pool.get().expect("connection");
    application::settings::calendar(&mut conn).expect("calendar")
}

fn scan(app: &TestApp, now: DateTime<Utc>) -> application::service::sla_scan::ScanOutcome {
    let mut conn = app.state.pool.get().expect("connection");
    application::service::sla_scan::scan(&mut conn, now).expect("scan")
}

fn ticket(app: &TestApp, token: &str, id: &str) -> Value {
    let (status, found) = send(
        app,
        Method::GET,
        &format!("/api/v1/tickets/{id}"),
        token,
        None,
    );
    assert_eq!(status, 200, "{found}");
    found
}

fn notices(app: &TestApp, token: &str, kind: &str) -> Vec<Value> {
    let (status, page) = send(
        app,
        Method::GET,
        "/api/v1/notifications?limit=200",
        token,
        None,
    );
    assert_eq!(status, 200, "{page}");
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|notice| notice["kind"] == kind)
        .cloned()
        .collect()
}

#[test]
fn tickets_are_numbered_searched_moved_and_seen_only_by_who_may() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let support = team(app, "پشتیبانی");
        let (agent_id, agent) = user(app, "support", Some(&support), "own");
        let (_, stranger) = user(app, "support", None, "own");
        let (_, reader) = user(app, "read_only", None, "all");
        let customer = customer(app);
        let category = created(
            app,
            &admin,
            "/api/v1/ticket-categories",
            json!({"name": "ارسال و تحویل", "name_en": "Delivery"}),
        );
        let first = created(
            app,
            &admin,
            "/api/v1/tickets",
            json!({"subject": "بسته‌ام نرسيده", "customer_id": customer, "channel": "phone",
                   "category_id": id_of(&category), "priority": "high",
                   "tags": ["ارسال", "ارسال"], "owner_id": agent_id, "team_id": support}),
        );
        let second = created(
            app,
            &admin,
            "/api/v1/tickets",
            json!({"subject": "Invoice copy", "customer_id": customer, "owner_id": agent_id}),
        );
        assert_eq!(first["status"], "new");
        assert_eq!(first["tags"], json!(["ارسال"]));
        assert_eq!(
            second["number"].as_i64().unwrap(),
            first["number"].as_i64().unwrap() + 1,
            "numbers are given in order"
        );

        // Bad input names the field and the rule; nothing is written.
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/tickets",
            &admin,
            Some(json!({"subject": " ", "customer_id": Uuid::now_v7(), "status": "resolved"})),
        );
        assert_eq!(status, 422, "{problem}");
        let codes = field_codes(&problem);
        assert!(
            codes.contains(&("subject".into(), "required".into())),
            "{codes:?}"
        );

        // Persian-aware quick search: Arabic yeh, no half-space, Persian digits.
        let (status, page) = send(
            app,
            Method::POST,
            "/api/v1/tickets/search",
            &agent,
            Some(json!({"q": "بسته ام نرسیده",
                        "filter": {"field": "tag", "op": "eq", "value": "ارسال"}})),
        );
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["data"].as_array().unwrap().len(), 1, "{page}");
        assert_eq!(page["data"][0]["id"], first["id"]);
        let number = format!("{}", first["number"]);
        let (_, page) = send(
            app,
            Method::POST,
            "/api/v1/tickets/search",
            &agent,
            Some(json!({"q": number})),
        );
        assert!(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["id"] == first["id"]),
            "{page}"
        );

        // Someone without rights to the ticket sees nothing of it, by id, list or search,
        // and cannot change it or write to it.
        let path = format!("/api/v1/tickets/{}", id_of(&first));
        assert_eq!(send(app, Method::GET, &path, &stranger, None).0, 404);
        let (_, listed) = send(app, Method::GET, "/api/v1/tickets", &stranger, None);
        assert_eq!(listed["data"], json!([]), "{listed}");
        let (_, found) = send(
            app,
            Method::POST,
            "/api/v1/tickets/search",
            &stranger,
            Some(json!({"q": "نرسیده"})),
        );
        assert_eq!(found["data"], json!([]), "{found}");
        assert_eq!(
            merge_patch(app, &path, &stranger, &json!({"priority": "low"})).0,
            404
        );
        let (status, _) = send(
            app,
            Method::POST,
            &format!("{path}/messages"),
            &stranger,
            Some(json!({"kind": "agent", "body": "سلام"})),
        );
        assert_eq!(status, 404);
        // A reader sees it but may not write.
        assert_eq!(send(app, Method::GET, &path, &reader, None).0, 200);
        assert_eq!(
            merge_patch(app, &path, &reader, &json!({"priority": "low"})).0,
            403
        );

        // The conversation moves the status: a reply opens it, a note mentions.
        let (status, answered) = send(
            app,
            Method::POST,
            &format!("{path}/messages"),
            &agent,
            Some(json!({"kind": "agent", "body": "سلام، پیگیری می‌کنم."})),
        );
        assert_eq!(status, 201, "{answered}");
        assert_eq!(answered["ticket"]["status"], "open");
        assert!(answered["ticket"]["first_responded_at"].is_string());
        let (mentioned_id, mentioned) = user(app, "support", Some(&support), "team");
        let (status, note) = send(
            app,
            Method::POST,
            &format!("{path}/messages"),
            &agent,
            Some(
                json!({"kind": "note", "body": "لطفا با انبار هماهنگ کن", "mentions": [mentioned_id]}),
            ),
        );
        assert_eq!(status, 201, "{note}");
        assert_eq!(notices(app, &mentioned, "mention").len(), 1);
        let (status, problem) = send(
            app,
            Method::POST,
            &format!("{path}/messages"),
            &agent,
            Some(json!({"kind": "agent", "body": "x", "mentions": [mentioned_id]})),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            [("mentions".to_string(), "only_on_notes".to_string())]
        );

        // Status moves only forward; resolved comes back only as reopened.
        let (status, resolved) = merge_patch(app, &path, &agent, &json!({"status": "resolved"}));
        assert_eq!(status, 200, "{resolved}");
        assert!(resolved["resolved_at"].is_string());
        let (status, problem) = merge_patch(app, &path, &agent, &json!({"status": "open"}));
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            [("status".to_string(), "invalid_transition".to_string())]
        );
        // The customer writing again reopens it.
        let (_, reopened) = send(
            app,
            Method::POST,
            &format!("{path}/messages"),
            &agent,
            Some(json!({"kind": "customer", "body": "هنوز نرسیده!"})),
        );
        assert_eq!(reopened["ticket"]["status"], "reopened");
        assert_eq!(reopened["ticket"]["reopen_count"], 1);
        assert_eq!(
            reopened["ticket"]["message_count"], 2,
            "notes are not exchanges"
        );

        let (status, history) = send(app, Method::GET, &format!("{path}/history"), &agent, None);
        assert_eq!(status, 200, "{history}");
        let moves: Vec<(Value, Value)> = history["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["from_status"].clone(), m["to_status"].clone()))
            .collect();
        assert_eq!(
            moves,
            [
                (Value::Null, json!("new")),
                (json!("new"), json!("open")),
                (json!("open"), json!("resolved")),
                (json!("resolved"), json!("reopened")),
            ]
        );
        assert_eq!(history["assignments"][0]["method"], "manual");
        let (_, messages) = send(
            app,
            Method::GET,
            &format!("{path}/messages?limit=2"),
            &agent,
            None,
        );
        assert_eq!(messages["data"].as_array().unwrap().len(), 2);
        assert!(messages["next_cursor"].is_string(), "{messages}");

        // A customer with tickets is erased, not deleted; erasure reaches the tickets.
        let customer_path = format!("/api/v1/customers/{customer}");
        assert_eq!(
            send(app, Method::DELETE, &customer_path, &admin, None).0,
            409
        );
        let (status, export) = send(
            app,
            Method::GET,
            &format!("{customer_path}/personal-data"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{export}");
        assert_eq!(export["held_in"]["tickets"], 2);
        assert!(
            export["tickets"][0]["messages"].as_array().unwrap().len() >= 3,
            "{export}"
        );
        let (status, erased) = send(
            app,
            Method::POST,
            &format!("{customer_path}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erased}");
        assert_eq!(erased["erased"]["tickets"], 2);
        let after = ticket(app, &admin, &id_of(&first));
        assert_eq!(after["subject"], "[erased]");
        let (_, messages) = send(app, Method::GET, &format!("{path}/messages"), &admin, None);
        assert!(messages["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["body"] == "[erased]"));
        let (_, found) = send(
            app,
            Method::POST,
            "/api/v1/tickets/search",
            &admin,
            Some(json!({"q": "نرسیده"})),
        );
        assert_eq!(found["data"], json!([]), "{found}");
    });
}

#[test]
fn due_times_follow_the_business_calendar_and_stop_pending_the_customer() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let calendar = calendar(app);
        created(
            app,
            &admin,
            "/api/v1/sla-policies",
            json!({"name": "عادی", "position": 20, "first_response_minutes": 120,
                   "next_response_minutes": 60, "resolution_minutes": 960}),
        );
        created(
            app,
            &admin,
            "/api/v1/sla-policies",
            json!({"name": "فوری", "position": 10,
                   "condition": {"field": "priority", "op": "eq", "value": "urgent"},
                   "first_response_minutes": 30, "resolution_minutes": 240}),
        );
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/sla-policies",
            &admin,
            Some(
                json!({"name": "بد", "condition": {"field": "nope", "op": "eq", "value": 1},
                        "resolution_minutes": 0}),
            ),
        );
        assert_eq!(status, 422);
        let codes = field_codes(&problem);
        assert!(
            codes.contains(&("resolution_minutes".into(), "out_of_range".into())),
            "{codes:?}"
        );
        assert!(
            codes
                .iter()
                .any(|(field, _)| field.starts_with("condition")),
            "{codes:?}"
        );

        let customer = customer(app);
        let normal = created(
            app,
            &admin,
            "/api/v1/tickets",
            json!({"subject": "عادی", "customer_id": customer}),
        );
        let urgent = created(
            app,
            &admin,
            "/api/v1/tickets",
            json!({"subject": "فوری", "customer_id": customer, "priority": "urgent"}),
        );
        for (ticket, first, resolution) in [(&normal, 120, 960), (&urgent, 30, 240)] {
            let created_at = at(&ticket["created_at"]);
            assert_eq!(
                at(&ticket["sla"]["first_response_due_at"]),
                calendar.add_business_minutes(created_at, first).unwrap(),
                "{ticket}"
            );
            assert_eq!(
                at(&ticket["sla"]["resolution_due_at"]),
                calendar
                    .add_business_minutes(created_at, resolution)
                    .unwrap()
            );
        }
        // Raising the priority chooses the other policy: the due times are counted again.
        let path = format!("/api/v1/tickets/{}", id_of(&normal));
        let (_, raised) = merge_patch(app, &path, &admin, &json!({"priority": "urgent"}));
        assert_eq!(raised["sla"]["policy_id"], urgent["sla"]["policy_id"]);
        assert_eq!(
            at(&raised["sla"]["resolution_due_at"]),
            calendar
                .add_business_minutes(at(&normal["created_at"]), 240)
                .unwrap()
        );

        // Waiting for the customer stops the clock; the resume moves the due time on by
        // the business minutes the pause took (here: at most a few, as the test is quick).
        let (_, paused) = merge_patch(app, &path, &admin, &json!({"status": "pending_customer"}));
        assert!(paused["sla"]["paused_at"].is_string(), "{paused}");
        let due_before = at(&paused["sla"]["resolution_due_at"]);
        // Nothing is breached while paused, however late.
        let far = due_before + Duration::days(30);
        let outcome = scan(app, far);
        let still = ticket(app, &admin, &id_of(&normal));
        assert!(
            !still["sla"]["breached"].as_bool().unwrap(),
            "{still} {outcome:?}"
        );
        let (_, resumed) = merge_patch(app, &path, &admin, &json!({"status": "open"}));
        let paused_at = at(&paused["sla"]["paused_at"]);
        let resumed_at = at(&resumed["updated_at"]);
        let remaining = calendar.business_minutes_between(paused_at, due_before);
        // The server resumes the clock at its instant of the change, a little before
        // it stamps `updated_at`: within working hours the due times differ by that.
        let expected = calendar
            .add_business_minutes(resumed_at, u32::try_from(remaining).unwrap())
            .unwrap();
        let due = at(&resumed["sla"]["resolution_due_at"]);
        assert!(
            due <= expected && expected - due < Duration::seconds(1),
            "{due} against {expected}: {resumed}"
        );
        assert!(resumed["sla"]["paused_at"].is_null());
    });
}

#[test]
fn a_breach_is_recorded_and_told_once_with_two_scans_at_once() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let support = team(app, "شیفت");
        let (agent_id, agent) = user(app, "support", Some(&support), "own");
        let (_, manager) = user(app, "manager", Some(&support), "team");
        created(
            app,
            &admin,
            "/api/v1/sla-policies",
            json!({"name": "پاسخ", "first_response_minutes": 30, "resolution_minutes": 600,
                   "raise_priority_on_breach": true}),
        );
        let customer = customer(app);
        let made = created(
            app,
            &admin,
            "/api/v1/tickets",
            json!({"subject": "بدون پاسخ", "customer_id": customer, "owner_id": agent_id,
                   "team_id": support, "priority": "low"}),
        );
        let due = at(&made["sla"]["first_response_due_at"]);
        // Before the due time: nothing.
        assert_eq!(scan(app, due - Duration::minutes(1)).breaches, 0);

        const SCANS: usize = 2;
        let barrier = Arc::new(Barrier::new(SCANS));
        let outcomes: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..SCANS)
                .map(|_| {
                    let barrier = barrier.clone();
                    let pool = app.state.pool.clone();
                    scope.spawn(move || {
                        let mut conn = pool.get().expect("connection");
                        barrier.wait();
                        application::service::sla_scan::scan(&mut conn, due).expect("scan")
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("scan thread"))
                .collect()
        });
        assert_eq!(
            outcomes.iter().map(|o| o.breaches).sum::<usize>(),
            1,
            "{outcomes:?}"
        );
        assert_eq!(
            scan(app, due + Duration::minutes(5)).breaches,
            0,
            "once per breach"
        );
        assert_eq!(notices(app, &agent, "sla_breach").len(), 1);
        assert_eq!(notices(app, &manager, "sla_breach").len(), 1);
        let breached = ticket(app, &admin, &id_of(&made));
        assert_eq!(breached["sla"]["first_response_breached"], true);
        assert_eq!(breached["sla"]["breached"], true);
        let (_, found) = send(
            app,
            Method::POST,
            "/api/v1/tickets/search",
            &admin,
            Some(json!({"filter": {"field": "sla_breached", "op": "eq", "value": true}})),
        );
        assert_eq!(found["data"].as_array().unwrap().len(), 1, "{found}");

        // The resolution breach raises the priority a step, as the policy says.
        let resolution_due = at(&breached["sla"]["resolution_due_at"]);
        assert_eq!(scan(app, resolution_due).breaches, 1);
        let late = ticket(app, &admin, &id_of(&made));
        assert_eq!(late["priority"], "normal");
        let (_, history) = send(
            app,
            Method::GET,
            &format!("/api/v1/tickets/{}/history", id_of(&made)),
            &admin,
            None,
        );
        let targets: Vec<&Value> = history["breaches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| &b["target"])
            .collect();
        assert_eq!(targets, [&json!("first_response"), &json!("resolution")]);
    });
}

#[test]
fn a_ticket_nobody_picks_up_goes_to_another_available_agent_then_to_the_managers() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let support = team(app, "صف");
        let (lapsed, _) = user(app, "support", Some(&support), "own");
        let (away, _) = user(app, "support", Some(&support), "own");
        let (full, _) = user(app, "support", Some(&support), "own");
        let (free, free_token) = user(app, "support", Some(&support), "own");
        let (_, manager) = user(app, "manager", Some(&support), "team");
        let now = Utc::now();
        created(
            app,
            &admin,
            &format!("/api/v1/users/{away}/absences"),
            json!({"starts_at": now - Duration::days(1), "ends_at": now + Duration::days(30)}),
        );
        let (status, body) = send(
            app,
            Method::PUT,
            &format!("/api/v1/users/{full}/capacity"),
            &admin,
            Some(json!({"record_kind": "ticket", "max_open": 1})),
        );
        assert_eq!(status, 200, "{body}");
        let customer = customer(app);
        created(
            app,
            &admin,
            "/api/v1/tickets",
            json!({"subject": "پرکن", "customer_id": customer, "owner_id": full, "team_id": support}),
        );
        created(
            app,
            &admin,
            "/api/v1/sla-policies",
            json!({"name": "برداشتن", "first_response_minutes": 480, "pickup_minutes": 15,
                   "max_reassignments": 1}),
        );
        let made = created(
            app,
            &admin,
            "/api/v1/tickets",
            json!({"subject": "کسی جواب نداد", "customer_id": customer, "owner_id": lapsed,
                   "team_id": support}),
        );
        let pickup = at(&made["sla"]["pickup_due_at"]);
        let outcome = scan(app, pickup);
        assert_eq!(outcome.reassigned, 1, "{outcome:?}");
        let moved = ticket(app, &admin, &id_of(&made));
        assert_eq!(
            moved["owner_id"],
            free.as_str(),
            "not the one away, not the one at capacity"
        );
        assert_eq!(moved["reassignments"], 1);
        assert_eq!(notices(app, &free_token, "assignment").len(), 1);
        let (_, history) = send(
            app,
            Method::GET,
            &format!("/api/v1/tickets/{}/history", id_of(&made)),
            &admin,
            None,
        );
        let hop = &history["assignments"][1];
        assert_eq!(hop["user_id"], free.as_str());
        let reason = hop["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("re-assigned: no first response within 15 business minutes"),
            "{reason}"
        );
        assert!(reason.contains(&lapsed), "{reason}");

        // The new agent lets it lapse too: after one hop it goes to the managers.
        let pickup = at(&moved["sla"]["pickup_due_at"]);
        let outcome = scan(app, pickup);
        assert_eq!(
            (outcome.reassigned, outcome.escalated),
            (0, 1),
            "{outcome:?}"
        );
        let escalated = ticket(app, &admin, &id_of(&made));
        assert!(escalated["escalated_at"].is_string(), "{escalated}");
        assert_eq!(escalated["owner_id"], free.as_str());
        assert_eq!(notices(app, &manager, "sla_breach").len(), 1);
        assert_eq!(
            scan(app, pickup + Duration::minutes(30)).escalated,
            0,
            "once"
        );
    });
}

#[test]
fn tickets_go_by_the_ticket_assignment_rules_and_are_offered_canned_answers() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let desk = team(app, "فوری‌ها");
        let (first, _) = user(app, "support", Some(&desk), "own");
        let (second, _) = user(app, "support", Some(&desk), "own");
        created(
            app,
            &admin,
            "/api/v1/assignment-rules",
            json!({"name": "فوری به میز", "record_kind": "ticket", "position": 1,
                   "condition": {"field": "priority", "op": "eq", "value": "urgent"},
                   "target": {"kind": "team", "team_id": desk, "strategy": "round_robin"}}),
        );
        let customer = customer(app);
        let owners: Vec<String> = (0..2)
            .map(|i| {
                let made = created(
                    app,
                    &admin,
                    "/api/v1/tickets",
                    json!({"subject": format!("قطعی {i}"), "customer_id": customer, "priority": "urgent"}),
                );
                assert_eq!(made["team_id"], desk.as_str(), "{made}");
                made["owner_id"].as_str().unwrap().to_string()
            })
            .collect();
        let mut expected = vec![first.clone(), second.clone()];
        expected.sort();
        let mut got = owners.clone();
        got.sort();
        assert_eq!(got, expected, "one each, in turn");
        // A ticket the rule does not match goes by the creator's defaults.
        let normal = created(
            app,
            &admin,
            "/api/v1/tickets",
            json!({"subject": "عادی", "customer_id": customer}),
        );
        assert!(!owners.contains(&normal["owner_id"].as_str().unwrap().to_string()));

        for (title, question, answer) in [
            (
                "زمان ارسال سفارش",
                "سفارشم کی ارسال می‌شود و کی می‌رسد؟",
                "ظرف دو روز کاری ارسال می‌شود.",
            ),
            (
                "فراموشی رمز عبور",
                "رمز عبورم را فراموش کرده‌ام",
                "از صفحهٔ ورود «فراموشی رمز» را بزنید.",
            ),
        ] {
            created(
                app,
                &admin,
                "/api/v1/canned-answers",
                json!({"title_fa": title, "question": question, "answer_fa": answer}),
            );
        }
        let path = format!("/api/v1/tickets/{}", id_of(&normal));
        created(
            app,
            &admin,
            &format!("{path}/messages"),
            json!({"kind": "customer", "body": "سلام، سفارشم هنوز ارسال نشده؛ کي می‌رسد؟"}),
        );
        let (status, suggested) = send(
            app,
            Method::GET,
            &format!("{path}/suggested-answers"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{suggested}");
        assert_eq!(
            suggested["data"][0]["answer"]["title_fa"], "زمان ارسال سفارش",
            "{suggested}"
        );
        assert!(suggested["data"][0]["score"].as_f64().unwrap() > 0.0);
        let (status, _) = send(
            app,
            Method::GET,
            &format!("{path}/suggested-answers?limit=0"),
            &admin,
            None,
        );
        assert_eq!(status, 400);
    });
}
