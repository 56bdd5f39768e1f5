//! Satisfaction surveys (V-6): a resolved ticket's link opened and answered without an
//! account, once, until it expires or the ticket is resolved again; a low rating
//! reopens the ticket or tells the team's managers, as the SLA policy says; the CSAT
//! report; erasure reaching the comments; and the service KPIs (V-5) over a hand-made
//! ticket history.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use e2e::support::{
    create_customer, field_codes, finished_job, for_each_backend, id_of, merge_patch, person, send,
    TestApp,
};

fn created(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = send(app, Method::POST, path, token, Some(body.clone()));
    assert_eq!(status, 201, "{path} {body}: {answer}");
    answer
}

/// A user of `role` in `team` with `visibility`: `(id, token)`.
fn user(app: &TestApp, role: &str, team: &str, visibility: &str) -> (String, String) {
    let email = format!("{role}-{}@example.com", Uuid::now_v7().simple());
    let made = created(
        app,
        &app.admin_token(),
        "/api/v1/users",
        json!({"email": email, "display_name": format!("کاربر {role}"),
               "password": "a long enough password", "role": role,
               "visibility": visibility, "team_id": team}),
    );
    (
        id_of(&made),
        app.login(&email, "a long enough password").access_token,
    )
}

/// A new support team and a customer of it: `(team, customer)`.
fn team_and_customer(app: &TestApp, first: &str, last: &str, email: &str) -> (String, String) {
    let admin = app.admin_token();
    let team = id_of(&created(
        app,
        &admin,
        "/api/v1/teams",
        json!({"name": format!("پشتیبانی {}", Uuid::now_v7().simple())}),
    ));
    let mobile = format!("0912{:07}", Uuid::now_v7().as_u128() % 10_000_000);
    let customer = id_of(&create_customer(
        app,
        &admin,
        person(first, last, &mobile, email),
    ));
    (team, customer)
}

/// A new ticket of `customer` held by `owner` in `team`.
fn open_ticket(app: &TestApp, subject: &str, customer: &str, owner: &str, team: &str) -> String {
    id_of(&created(
        app,
        &app.admin_token(),
        "/api/v1/tickets",
        json!({"subject": subject, "customer_id": customer, "owner_id": owner, "team_id": team}),
    ))
}

/// Sends without credentials, as a customer opening the link does.
fn public(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app.client().request(method, app.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().expect("request");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

/// A ticket of `customer` held by `agent` in `team`, resolved; answers its id and the
/// path of its survey's link, read from the conversation's automatic message.
fn resolved_ticket(app: &TestApp, customer: &str, agent: &str, team: &str) -> (String, String) {
    let admin = app.admin_token();
    let ticket = id_of(&created(
        app,
        &admin,
        "/api/v1/tickets",
        json!({"subject": "کالا آسیب دیده رسید", "customer_id": customer,
               "owner_id": agent, "team_id": team}),
    ));
    (ticket.clone(), resolve(app, &ticket))
}

/// Resolves the ticket and answers the path of the survey link it was sent.
fn resolve(app: &TestApp, ticket: &str) -> String {
    let admin = app.admin_token();
    let path = format!("/api/v1/tickets/{ticket}");
    let (status, resolved) = merge_patch(app, &path, &admin, &json!({"status": "resolved"}));
    assert_eq!(status, 200, "{resolved}");
    let (_, messages) = send(
        app,
        Method::GET,
        &format!("{path}/messages?limit=100"),
        &admin,
        None,
    );
    let body = messages["data"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["kind"] == "automatic")
        .expect("the survey message")["body"]
        .as_str()
        .unwrap()
        .to_string();
    let start = body.find("/api/v1/surveys/").expect("a link");
    body[start..].split_whitespace().next().unwrap().to_string()
}

fn surveys_of(app: &TestApp, token: &str, ticket: &str) -> Vec<Value> {
    let (status, list) = send(
        app,
        Method::GET,
        &format!("/api/v1/tickets/{ticket}/surveys"),
        token,
        None,
    );
    assert_eq!(status, 200, "{list}");
    list["data"].as_array().unwrap().clone()
}

#[test]
fn csat_surveys_are_answered_once_and_low_ratings_follow_up() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let team = id_of(&created(
            app,
            &admin,
            "/api/v1/teams",
            json!({"name": format!("پشتیبانی {}", Uuid::now_v7().simple())}),
        ));
        let (agent_id, agent) = user(app, "support", &team, "own");
        let (_, stranger) = user(app, "support", &team, "own");
        let (_, manager) = user(app, "manager", &team, "team");
        let policy = id_of(&created(
            app,
            &admin,
            "/api/v1/sla-policies",
            json!({"name": "همه", "resolution_minutes": 480, "csat_threshold": 2}),
        ));
        let mobile = format!("0912{:07}", Uuid::now_v7().as_u128() % 10_000_000);
        let customer = id_of(&create_customer(
            app,
            &admin,
            person("مریم", "کاظمی", &mobile, "maryam.k@example.ir"),
        ));

        // Resolving sends a link; the customer opens it without an account and sees
        // the question and the ticket's number and subject, nothing else.
        let (first, link) = resolved_ticket(app, &customer, &agent_id, &team);
        let (status, survey) = public(app, Method::GET, &link, None);
        assert_eq!(status, 200, "{survey}");
        assert!(survey["question"]["fa"].as_str().unwrap().contains("راضی"));
        assert!(survey["question"]["en"]
            .as_str()
            .unwrap()
            .contains("satisfied"));
        assert_eq!(survey["ticket_subject"], "کالا آسیب دیده رسید");
        assert!(survey["ticket_number"].is_i64());
        let shown: Vec<&String> = survey.as_object().unwrap().keys().collect();
        assert_eq!(
            shown,
            [
                "answered",
                "expired",
                "expires_at",
                "max_rating",
                "min_rating",
                "question",
                "ticket_number",
                "ticket_subject"
            ]
        );

        // Unknown tokens, bad answers.
        let unknown = "/api/v1/surveys/no-such-token";
        assert_eq!(public(app, Method::GET, unknown, None).0, 404);
        assert_eq!(
            public(app, Method::POST, unknown, Some(json!({"rating": 5}))).0,
            404
        );
        let (status, problem) = public(app, Method::POST, &link, Some(json!({"rating": 6})));
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [("rating".to_string(), "out_of_range".to_string())]
        );
        let (status, problem) = public(
            app,
            Method::POST,
            &link,
            Some(json!({"rating": 4, "comment": "bad\u{0}"})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [("comment".to_string(), "nul_character".to_string())]
        );
        let (status, problem) = public(
            app,
            Method::POST,
            &link,
            Some(json!({"rating": 3, "comment": "x".repeat(2_001)})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [("comment".to_string(), "too_long".to_string())]
        );

        // One answer; a second one and the link itself are gone afterwards.
        let (status, answered) = public(
            app,
            Method::POST,
            &link,
            Some(json!({"rating": 5, "comment": "  خیلی سریع بود  "})),
        );
        assert_eq!(status, 201, "{answered}");
        assert_eq!(answered["comment"], "خیلی سریع بود");
        let (status, again) = public(app, Method::POST, &link, Some(json!({"rating": 1})));
        assert_eq!((status, again["code"].clone()), (410, json!("gone")));
        assert_eq!(public(app, Method::GET, &link, None).0, 410);

        // The desk sees the ticket's surveys (never the token); a stranger does not.
        let listed = surveys_of(app, &agent, &first);
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["rating"], 5);
        assert_eq!(listed[0]["agent_id"], agent_id.as_str());
        assert!(listed[0].get("token").is_none() && listed[0].get("token_hash").is_none());
        assert_eq!(
            send(
                app,
                Method::GET,
                &format!("/api/v1/tickets/{first}/surveys"),
                &stranger,
                None
            )
            .0,
            404
        );

        // Resolved again: the earlier link ends, the new one counts. A rating at the
        // policy's threshold reopens the ticket with the reason in its history.
        let (second, old_link) = resolved_ticket(app, &customer, &agent_id, &team);
        let (_, reopened) = send(
            app,
            Method::POST,
            &format!("/api/v1/tickets/{second}/messages"),
            &admin,
            Some(json!({"kind": "customer", "body": "باز هم خراب است"})),
        );
        assert_eq!(reopened["ticket"]["status"], "reopened");
        let new_link = resolve(app, &second);
        assert_ne!(new_link, old_link);
        assert_eq!(public(app, Method::GET, &old_link, None).0, 410);
        let (status, _) = public(app, Method::POST, &new_link, Some(json!({"rating": 2})));
        assert_eq!(status, 201);
        let (_, ticket) = send(
            app,
            Method::GET,
            &format!("/api/v1/tickets/{second}"),
            &admin,
            None,
        );
        assert_eq!(ticket["status"], "reopened");
        let (_, history) = send(
            app,
            Method::GET,
            &format!("/api/v1/tickets/{second}/history"),
            &admin,
            None,
        );
        let last = history["statuses"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(last["to_status"], "reopened");
        assert_eq!(last["reason"], "satisfaction rating 2 of 5");
        let listed = surveys_of(app, &admin, &second);
        assert_eq!(listed.len(), 2);
        assert!(listed[0]["answered_at"].is_null());
        assert_eq!(listed[1]["follow_up"], "reopened");

        // An expired link is gone.
        let (third, link) = resolved_ticket(app, &customer, &agent_id, &team);
        {
            use diesel::prelude::*;
            use persistence::schema::ticket_surveys;
            let mut conn = app.state.pool.get().expect("connection");
            diesel::update(
                ticket_surveys::table.filter(
                    ticket_surveys::ticket_id
                        .eq(persistence::sql_types::DbUuid(third.parse().unwrap())),
                ),
            )
            .set(
                ticket_surveys::expires_at.eq(persistence::sql_types::DbTime(
                    Utc::now() - Duration::minutes(1),
                )),
            )
            .execute(&mut *conn)
            .expect("expire");
        }
        assert_eq!(public(app, Method::GET, &link, None).0, 410);
        assert_eq!(
            public(app, Method::POST, &link, Some(json!({"rating": 4}))).0,
            410
        );

        // With `escalate` a low rating tells the team's managers instead.
        let (status, _) = merge_patch(
            app,
            &format!("/api/v1/sla-policies/{policy}"),
            &admin,
            &json!({"csat_action": "escalate"}),
        );
        assert_eq!(status, 200);
        let (fourth, link) = resolved_ticket(app, &customer, &agent_id, &team);
        assert_eq!(
            public(app, Method::POST, &link, Some(json!({"rating": 1}))).0,
            201
        );
        let (_, notices) = send(app, Method::GET, "/api/v1/notifications", &manager, None);
        let low: Vec<&Value> = notices["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "low_rating")
            .collect();
        assert_eq!(low.len(), 1, "{notices}");
        assert_eq!(
            surveys_of(app, &admin, &fourth)[0]["follow_up"],
            "escalated"
        );
        let (_, ticket) = send(
            app,
            Method::GET,
            &format!("/api/v1/tickets/{fourth}"),
            &admin,
            None,
        );
        assert_eq!(ticket["status"], "resolved");

        // CSAT of the agent: 5 surveys sent (two on the second ticket, one expired
        // on the third), 3 answered (5, 2, 1): average 8/3 = 2.67, one of three rated
        // 4 or 5 = 33.33 %, 3 of 5 answered = 60 %.
        let today = (Utc::now() + Duration::minutes(210)).date_naive();
        let (status, report) = send(
            app,
            Method::GET,
            &format!(
                "/api/v1/reports/csat?from={}&to={}&group_by=agent",
                today - Duration::days(1),
                today + Duration::days(1)
            ),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{report}");
        assert_eq!(
            report["groups"],
            json!([{"id": agent_id, "figures": {"sent": 5, "answered": 3,
                "average_rating": 2.67, "csat_percent": 33.33, "response_percent": 60.0}}])
        );
        assert_eq!(report["totals"]["sent"], 5);
        // Own visibility: the stranger holds none of these tickets.
        let (_, theirs) = send(
            app,
            Method::GET,
            &format!("/api/v1/reports/csat?from={today}&to={today}&group_by=team"),
            &stranger,
            None,
        );
        assert_eq!(theirs["groups"], json!([]), "{theirs}");

        // The personal-data export holds the surveys; erasure empties their comments.
        let customer_path = format!("/api/v1/customers/{customer}");
        let (_, export) = send(
            app,
            Method::GET,
            &format!("{customer_path}/personal-data"),
            &admin,
            None,
        );
        assert_eq!(
            export["held_in"]["ticket_surveys"], 5,
            "{}",
            export["held_in"]
        );
        let comments: Vec<&Value> = export["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["surveys"].as_array().unwrap())
            .filter(|s| s["comment"].is_string())
            .collect();
        assert_eq!(comments.len(), 1);
        let (status, erased) = send(
            app,
            Method::POST,
            &format!("{customer_path}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erased}");
        assert_eq!(erased["erased"]["ticket_surveys"], 1);
        let listed = surveys_of(app, &admin, &first);
        assert!(listed[0]["comment"].is_null());
        assert_eq!(listed[0]["rating"], 5);
    });
}

/// Sets a ticket's history to fixed instants (RFC 3339), as if it had happened then:
/// its creation, first reply and resolution, the status moves and survey they made,
/// its exchanges, breach and re-assignments.
#[allow(clippy::too_many_arguments)]
fn set_history(
    app: &TestApp,
    ticket: &str,
    created: &str,
    first_reply: Option<&str>,
    resolved: Option<&str>,
    messages: i64,
    breached: bool,
    reassignments: i64,
) {
    use diesel::prelude::*;
    use persistence::schema::{ticket_status_changes, ticket_surveys, tickets};
    use persistence::sql_types::{DbTime, DbUuid};
    let at = |value: &str| DbTime(value.parse().expect("an instant"));
    let id = DbUuid(ticket.parse().expect("a ticket id"));
    let mut conn = app.state.pool.get().expect("connection");
    diesel::update(tickets::table.find(id))
        .set((
            tickets::created_at.eq(at(created)),
            tickets::first_responded_at.eq(first_reply.map(at)),
            tickets::resolved_at.eq(resolved.map(at)),
            tickets::message_count.eq(messages),
            tickets::sla_breached.eq(breached),
            tickets::reassignments.eq(reassignments),
            tickets::sla_check_at.eq(None::<DbTime>),
        ))
        .execute(&mut *conn)
        .expect("ticket");
    diesel::update(
        ticket_status_changes::table
            .filter(ticket_status_changes::ticket_id.eq(id))
            .filter(ticket_status_changes::from_status.is_null()),
    )
    .set(ticket_status_changes::changed_at.eq(at(created)))
    .execute(&mut *conn)
    .expect("creation");
    if let Some(resolved) = resolved {
        diesel::update(
            ticket_status_changes::table
                .filter(ticket_status_changes::ticket_id.eq(id))
                .filter(ticket_status_changes::to_status.eq("resolved")),
        )
        .set(ticket_status_changes::changed_at.eq(at(resolved)))
        .execute(&mut *conn)
        .expect("resolution");
        diesel::update(ticket_surveys::table.filter(ticket_surveys::ticket_id.eq(id)))
            .set(ticket_surveys::created_at.eq(at(resolved)))
            .execute(&mut *conn)
            .expect("survey");
    }
}

#[test]
fn service_kpis_add_up_by_hand() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (team, customer) = team_and_customer(app, "رضا", "نوری", "reza.n@example.ir");
        let (a, _) = user(app, "support", &team, "own");
        let (b, _) = user(app, "support", &team, "own");
        let (_, stranger) = user(app, "support", &team, "own");
        created(
            app,
            &admin,
            "/api/v1/sla-policies",
            json!({"name": "همه", "resolution_minutes": 480}),
        );
        let open = |owner: &str| open_ticket(app, "پیگیری سفارش", &customer, owner, &team);
        // Tehran is UTC+03:30; the calendar works Saturday–Wednesday 08:00–16:00 and
        // Thursday 08:00–12:00.
        // T1, A: created Saturday 2026-11-28 09:00, first reply 10:30 (90 business and
        // calendar minutes), resolved Sunday 09:00 (Saturday 09:00–16:00 = 420 + Sunday
        // 08:00–09:00 = 60: 480 business minutes; 1,440 calendar minutes); rated 5.
        let (t1, link1) = resolved_ticket(app, &customer, &a, &team);
        // T2, A: created Wednesday 11-25 15:00, first reply Thursday 09:00 (60 + 60 =
        // 120 business, 1,080 calendar minutes), resolved Saturday 11-28 10:00 (60 +
        // Thursday 240 + Saturday 120 = 420 business, 4,020 calendar minutes); rated 3;
        // breached its SLA.
        let (t2, link2) = resolved_ticket(app, &customer, &a, &team);
        for (link, rating) in [(&link1, 5), (&link2, 3)] {
            let (status, _) = public(app, Method::POST, link, Some(json!({"rating": rating})));
            assert_eq!(status, 201);
        }
        // T3, A: created Thursday 11-26 11:00, first reply 13:00 (after the 12:00
        // close: 60 business, 120 calendar minutes), still open, re-assigned twice.
        let t3 = open(&a);
        // T4, B: created on Friday 11-27 10:00 (closed), no reply, re-assigned once.
        let t4 = open(&b);
        set_history(
            app,
            &t1,
            "2026-11-28T05:30:00Z",
            Some("2026-11-28T07:00:00Z"),
            Some("2026-11-29T05:30:00Z"),
            4,
            false,
            0,
        );
        set_history(
            app,
            &t2,
            "2026-11-25T11:30:00Z",
            Some("2026-11-26T05:30:00Z"),
            Some("2026-11-28T06:30:00Z"),
            6,
            true,
            0,
        );
        set_history(
            app,
            &t3,
            "2026-11-26T07:30:00Z",
            Some("2026-11-26T09:30:00Z"),
            None,
            2,
            false,
            2,
        );
        set_history(app, &t4, "2026-11-27T06:30:00Z", None, None, 1, false, 1);

        let query = "from=2026-11-22&to=2026-11-30&bucket=week&calendar=gregorian";
        let (status, report) = send(
            app,
            Method::GET,
            &format!("/api/v1/reports/service?{query}"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{report}");
        // Weeks start on Saturday: Sunday 11-22 … Friday 11-27 holds T2, T3 and T4, all
        // open at its end (T2 is resolved the next morning); 11-28 … 11-30 holds T1,
        // and at its end T1 and T2 are resolved, T3 and T4 open.
        let periods: Vec<(Value, Value, i64, i64)> = report["periods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["start"].clone(),
                    p["end"].clone(),
                    p["created"].as_i64().unwrap(),
                    p["backlog"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            periods,
            [
                (json!("2026-11-22"), json!("2026-11-27"), 3, 3),
                (json!("2026-11-28"), json!("2026-11-30"), 1, 2),
            ]
        );
        let days: Vec<i64> = report["days"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["created"].as_i64().unwrap())
            .collect();
        assert_eq!(days, [0, 0, 0, 1, 1, 1, 1, 0, 0]);
        assert_eq!(
            report["weekdays"],
            json!([
                {"weekday": "saturday", "created": 1}, {"weekday": "sunday", "created": 0},
                {"weekday": "monday", "created": 0}, {"weekday": "tuesday", "created": 0},
                {"weekday": "wednesday", "created": 1}, {"weekday": "thursday", "created": 1},
                {"weekday": "friday", "created": 1}
            ])
        );
        // A closed T1 and T2, rated 5 and 3: mean 4, one of two satisfied.
        assert_eq!(
            report["agents"],
            json!([{"agent_id": a, "closed": 2, "csat": {"sent": 2, "answered": 2,
                "average_rating": 4.0, "csat_percent": 50.0, "response_percent": 100.0}}])
        );
        assert_eq!(report["tickets"], 4);
        // First replies: business 60, 90, 120 (mean 90, p50 the 2nd, p90 the 3rd);
        // calendar 90, 120, 1,080 (mean 430).
        assert_eq!(
            report["first_response"],
            json!({"tickets": 3,
                "business_minutes": {"average": 90.0, "p50": 90, "p90": 120},
                "calendar_minutes": {"average": 430.0, "p50": 120, "p90": 1080}})
        );
        // Resolutions: business 420, 480; calendar 1,440, 4,020.
        assert_eq!(
            report["resolution"],
            json!({"tickets": 2,
                "business_minutes": {"average": 450.0, "p50": 420, "p90": 480},
                "calendar_minutes": {"average": 2730.0, "p50": 1440, "p90": 4020}})
        );
        // (4 + 6 + 2 + 1) / 4 exchanges; one breach among four policy tickets; 2 + 1
        // re-assignments.
        assert_eq!(report["average_messages"], 3.25);
        assert_eq!(
            (
                report["sla_tickets"].clone(),
                report["sla_breached"].clone(),
                report["sla_breach_percent"].clone()
            ),
            (json!(4), json!(1), json!(25.0))
        );
        assert_eq!(report["reassignments"], 3);

        // The same report as a file, one figure a row.
        let response = app
            .authed(Method::POST, "/api/v1/reports/exports", &admin)
            .json(
                &json!({"report": "service", "from": "2026-11-22", "to": "2026-11-30",
                          "bucket": "week", "calendar": "gregorian", "agent_id": a,
                          "format": "csv"}),
            )
            .send()
            .unwrap();
        let job = finished_job(app, &admin, response);
        assert_eq!(job["status"], "succeeded", "{job}");
        let file = app
            .authed(
                Method::GET,
                job["result"]["download"].as_str().unwrap(),
                &admin,
            )
            .send()
            .unwrap();
        let sheet = tabular::read(
            &file.bytes().unwrap(),
            tabular::Format::Csv,
            &Default::default(),
        )
        .expect("readable");
        assert_eq!(sheet.headers, ["section", "key", "measure", "value"]);
        let figure = |section: &str, key: &str, measure: &str| {
            sheet
                .rows
                .iter()
                .find(|row| row.cells[..3] == [section, key, measure])
                .map(|row| row.cells[3].clone())
                .unwrap_or_else(|| panic!("{section} {key} {measure}"))
        };
        // A's tickets: T1, T2 and T3.
        assert_eq!(figure("tickets", "", "created"), "3");
        assert_eq!(figure("resolution", "business_minutes", "p90"), "480");
        assert_eq!(figure("agent", &a, "average_rating"), "4.000000");

        // B's tickets alone: T4.
        let (_, theirs) = send(
            app,
            Method::GET,
            &format!("/api/v1/reports/service?{query}&agent_id={b}"),
            &admin,
            None,
        );
        assert_eq!(theirs["tickets"], 1, "{theirs}");
        assert_eq!(theirs["periods"][0]["created"], 1);
        assert_eq!(theirs["first_response"]["tickets"], 0);
        assert_eq!(theirs["average_messages"], 1.0);
        assert_eq!(theirs["agents"], json!([]));
        // A user who holds none of them sees nothing.
        let (_, none) = send(
            app,
            Method::GET,
            &format!("/api/v1/reports/service?{query}"),
            &stranger,
            None,
        );
        assert_eq!(none["tickets"], 0, "{none}");
        assert_eq!(none["periods"][0]["backlog"], 0);
    });
}

/// Moves the ticket's recorded status change into `to_status` to the instant `at`.
fn set_move(app: &TestApp, ticket: &str, to_status: &str, at: &str) {
    use diesel::prelude::*;
    use persistence::schema::ticket_status_changes as moves;
    use persistence::sql_types::{DbTime, DbUuid};
    let mut conn = app.state.pool.get().expect("connection");
    let changed = diesel::update(
        moves::table
            .filter(moves::ticket_id.eq(DbUuid(ticket.parse().expect("a ticket id"))))
            .filter(moves::to_status.eq(to_status)),
    )
    .set(moves::changed_at.eq(DbTime(at.parse().expect("an instant"))))
    .execute(&mut *conn)
    .expect("status move");
    assert_eq!(changed, 1, "{ticket} → {to_status}");
}

#[test]
fn the_backlog_follows_resolutions_and_reopenings() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (team, customer) = team_and_customer(app, "مینا", "کاظمی", "mina.k@example.ir");
        let (a, _) = user(app, "support", &team, "own");
        let (b, _) = user(app, "support", &team, "own");
        let open = |owner: &str| open_ticket(app, "پیگیری مرجوعی", &customer, owner, &team);
        // X (A): created Sunday 11-01, resolved 11-10, reopened 11-20 (all 10:00Z).
        let x = open(&a);
        for status in ["resolved", "reopened"] {
            let (code, moved) = merge_patch(
                app,
                &format!("/api/v1/tickets/{x}"),
                &admin,
                &json!({ "status": status }),
            );
            assert_eq!(code, 200, "{moved}");
        }
        // Y (A) and Z (B): created at the same instant on Thursday 11-05, still new.
        let y = open(&a);
        let z = open(&b);
        for (ticket, created) in [
            (&x, "2026-11-01T10:00:00Z"),
            (&y, "2026-11-05T10:00:00Z"),
            (&z, "2026-11-05T10:00:00Z"),
        ] {
            set_history(app, ticket, created, None, None, 1, false, 0);
        }
        set_move(app, &x, "resolved", "2026-11-10T10:00:00Z");
        set_move(app, &x, "reopened", "2026-11-20T10:00:00Z");

        // Weeks from Saturday, the first cut at 11-01: their ends are the local
        // midnights after 11-06, 11-13, 11-20, 11-27 and 11-30.
        let report = |query: &str| {
            let (status, report) = send(
                app,
                Method::GET,
                &format!(
                    "/api/v1/reports/service?from=2026-11-01&to=2026-11-30&bucket=week\
                     &calendar=gregorian{query}"
                ),
                &admin,
                None,
            );
            assert_eq!(status, 200, "{report}");
            report["periods"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["created"].as_i64().unwrap(),
                        p["backlog"].as_i64().unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        };
        // X open, then resolved through the second week, open again from the third;
        // Y and Z open from the first.
        assert_eq!(report(""), [(3, 3), (0, 2), (0, 3), (0, 3), (0, 3)]);
        // A's tickets alone (the moves joined to their tickets).
        assert_eq!(
            report(&format!("&agent_id={a}")),
            [(2, 2), (0, 1), (0, 2), (0, 2), (0, 2)]
        );

        // Y and Z, of the same instant, are both counted on their day, Thursday 11-05.
        let (_, whole) = send(
            app,
            Method::GET,
            "/api/v1/reports/service?from=2026-11-01&to=2026-11-30&bucket=month&calendar=gregorian",
            &admin,
            None,
        );
        assert_eq!(whole["tickets"], 3, "{whole}");
        assert_eq!(whole["days"][0]["created"], 1);
        assert_eq!(whole["days"][4]["created"], 2);
        assert_eq!(whole["periods"][0]["backlog"], 3);
    });
}
