//! Automatic follow-ups (S-7): rules need `crm:configure` and name their broken fields;
//! a deal entering a stage gets a task due in business days past holidays and the
//! weekend; a lead assigned and not contacted reminds its owner and then the team's
//! managers, at business hours; a lead contacted in time reminds nobody.

use chrono::{DateTime, Days, Utc};
use diesel::prelude::*;
use persistence::schema::jobs;
use persistence::sql_types::{DbJson, DbTime};
use reqwest::Method;
use serde_json::{json, Value};

use e2e::support::{
    assert_problem, create_customer, field_codes, for_each_backend, id_of, person, send, TestApp,
    TEST_PASSWORD,
};

const RULES: &str = "/api/v1/follow-up-rules";
/// The seeded default pipeline's stages.
const QUALIFIED: &str = "0193e0a0-0000-7000-8000-000000000011";
const PROPOSAL: &str = "0193e0a0-0000-7000-8000-000000000012";

fn created(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = send(app, Method::POST, path, token, Some(body.clone()));
    assert_eq!(status, 201, "{path} {body}: {answer}");
    answer
}

/// A user of `role` in `team`: `(id, token)`.
fn member(app: &TestApp, role: &str, team: &str) -> (String, String) {
    let email = format!("{role}-{}@example.com", uuid::Uuid::now_v7().simple());
    let user = created(
        app,
        &app.admin_token(),
        "/api/v1/users",
        json!({"email": email, "display_name": role, "password": TEST_PASSWORD,
               "role": role, "team_id": team}),
    );
    (id_of(&user), app.login(&email, TEST_PASSWORD).access_token)
}

fn notices(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, page) = send(app, Method::GET, "/api/v1/notifications", token, None);
    assert_eq!(status, 200, "{page}");
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|notice| notice["kind"] == "follow_up")
        .cloned()
        .collect()
}

/// The business calendar the server works with.
fn calendar(app: &TestApp) -> domain::business_calendar::BusinessCalendar {
    let mut conn = app.state.pool.get().expect("connection");
    application::settings::calendar(&mut conn).expect("calendar")
}

/// The queued lead checks of `lead`: `(run_at, payload)`, oldest first.
fn checks(app: &TestApp, lead: &str) -> Vec<(DateTime<Utc>, Value)> {
    let mut conn = app.state.pool.get().expect("connection");
    let rows: Vec<(DbTime, DbJson)> = jobs::table
        .filter(jobs::kind.eq(application::sales::follow_ups::LEAD_CHECK))
        .filter(jobs::status.eq("queued"))
        .order((jobs::run_at, jobs::id))
        .select((jobs::run_at, jobs::payload))
        .load(&mut *conn)
        .expect("jobs");
    rows.into_iter()
        .filter(|(_, payload)| payload.0["lead_id"] == lead)
        .map(|(at, payload)| (at.0, payload.0))
        .collect()
}

/// Runs a lead check as its job does when its time comes.
fn run_check(app: &TestApp, payload: &Value) -> Value {
    let mut conn = app.state.pool.get().expect("connection");
    application::sales::follow_ups::check_lead(
        &mut conn,
        &serde_json::from_value(payload.clone()).expect("payload"),
    )
    .expect("check")
}

#[test]
fn a_deal_entering_a_stage_gets_a_task_due_in_business_days() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (seller_id, seller) = {
            let (id, email, password) = app.create_user("sales", None);
            (id.to_string(), app.login(&email, &password).access_token)
        };
        let rule = json!({"name": "پیگیری پیشنهاد", "trigger": "deal_stage_entered",
                          "stage_id": PROPOSAL, "task_kind": "call",
                          "task_title": "تماس برای پیشنهاد", "delay": 2,
                          "delay_unit": "business_days"});
        assert_problem(
            app.authed(Method::POST, RULES, &seller)
                .json(&rule)
                .send()
                .unwrap(),
            403,
            "forbidden",
        );
        let problem = assert_problem(
            app.authed(Method::POST, RULES, &admin)
                .json(
                    &json!({"name": "x", "trigger": "deal_stage_entered", "delay": 0,
                              "stage_id": uuid::Uuid::now_v7(), "escalate_after": 3}),
                )
                .send()
                .unwrap(),
            422,
            "validation_failed",
        );
        assert_eq!(
            field_codes(&problem),
            [
                ("delay".to_string(), "out_of_range".to_string()),
                ("task_title".to_string(), "required".to_string()),
                ("escalate_after".to_string(), "not_for_trigger".to_string()),
            ]
        );
        created(app, &admin, RULES, rule);
        let (_, listed) = send(app, Method::GET, RULES, &admin, None);
        assert_eq!(listed["data"].as_array().unwrap().len(), 1);

        // The next three days are holidays: the due day is past them and the Friday.
        let today = calendar(app).today(Utc::now());
        let holidays: Vec<Value> = (1..=3)
            .map(|n| json!({"date": (today + Days::new(n)).to_string(), "name": "تعطیل"}))
            .collect();
        let response = app
            .authed(Method::PATCH, "/api/v1/settings/business", &admin)
            .header("content-type", "application/merge-patch+json")
            .body(json!({"holidays": holidays}).to_string())
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        let calendar = calendar(app);
        let mut expected = today;
        let mut left = 2;
        while left > 0 {
            expected = expected + Days::new(1);
            if calendar.is_business_day(expected) {
                left -= 1;
            }
        }
        assert!(expected > today + Days::new(3), "{expected}");

        let customer = id_of(&create_customer(
            app,
            &seller,
            person("نادر", "صالحی", "09121110009", "n@s.ir"),
        ));
        let deal = created(
            app,
            &seller,
            "/api/v1/deals",
            json!({"title": "قرارداد صالحی", "customer_id": customer, "stage_id": QUALIFIED}),
        );
        let tasks_of_deal = || {
            let (_, page) = send(
                app,
                Method::POST,
                "/api/v1/tasks/search",
                &seller,
                Some(json!({"filter": {"field": "deal_id", "op": "eq", "value": id_of(&deal)}})),
            );
            page["data"].as_array().unwrap().clone()
        };
        assert!(tasks_of_deal().is_empty(), "no rule on the first stage");
        let moved_at = Utc::now();
        let (status, _) = e2e::support::merge_patch(
            app,
            &format!("/api/v1/deals/{}", id_of(&deal)),
            &seller,
            &json!({"stage_id": PROPOSAL}),
        );
        assert_eq!(status, 200);
        let tasks = tasks_of_deal();
        assert_eq!(tasks.len(), 1, "{tasks:?}");
        let task = &tasks[0];
        assert_eq!(task["kind"], "call");
        assert_eq!(task["title"], "تماس برای پیشنهاد");
        assert_eq!(task["assignee_id"], seller_id.as_str());
        let due: DateTime<Utc> = task["due_at"].as_str().unwrap().parse().unwrap();
        let local = calendar.local();
        assert_eq!(local.today(due), expected, "{task}");
        // The same local time of day as the move.
        let drift = local.local_time(due).time() - local.local_time(moved_at).time();
        assert!(drift.num_seconds().abs() < 60, "{task}");
        let told = notices(app, &seller);
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(
            told[0]["link"],
            format!("/api/v1/tasks/{}", id_of(task)).as_str()
        );
    });
}

#[test]
fn an_assigned_lead_not_contacted_reminds_its_owner_then_the_team_managers() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let team = created(app, &admin, "/api/v1/teams", json!({"name": "فروش شمال"}));
        let (owner_id, owner) = member(app, "sales", &id_of(&team));
        let (_, manager) = member(app, "manager", &id_of(&team));
        created(
            app,
            &admin,
            RULES,
            json!({"name": "تماس با سرنخ", "trigger": "lead_assigned", "delay": 1,
                   "delay_unit": "business_hours", "escalate_after": 2}),
        );
        let calendar = calendar(app);

        // Assigned by an admin: the check comes one business hour later.
        let lead = created(
            app,
            &admin,
            "/api/v1/leads",
            json!({"company": "پخش البرز", "owner_id": owner_id}),
        );
        let assigned: DateTime<Utc> = lead["created_at"].as_str().unwrap().parse().unwrap();
        let queued = checks(app, &id_of(&lead));
        assert_eq!(queued.len(), 1, "{queued:?}");
        let (at, payload) = &queued[0];
        let expected = calendar.add_business_minutes(assigned, 60).unwrap();
        assert!(
            (*at - expected).num_seconds().abs() <= 1,
            "{at} vs {expected}"
        );

        // Not contacted: the owner is reminded, and the managers' check queued two
        // business hours after the first.
        assert_eq!(run_check(app, payload)["notified"], json!([owner_id]));
        assert_eq!(run_check(app, payload)["notified"], json!([owner_id]));
        let told = notices(app, &owner);
        assert_eq!(told.len(), 1, "a check run twice reminds once: {told:?}");
        assert_eq!(told[0]["title"], "Your lead is still not contacted");
        assert_eq!(
            told[0]["link"],
            format!("/api/v1/leads/{}", id_of(&lead)).as_str()
        );
        let queued = checks(app, &id_of(&lead));
        let (team_at, team_check) = queued.last().expect("the managers' check");
        assert_eq!(team_check["step"], "team");
        assert_eq!(*team_at, calendar.add_business_minutes(*at, 120).unwrap());
        assert!(notices(app, &manager).is_empty());
        run_check(app, team_check);
        let told = notices(app, &manager);
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(
            told[0]["title"],
            "A lead of your team is still not contacted"
        );

        // Contacted in time: the check finds it so and tells nobody.
        let second = created(
            app,
            &admin,
            "/api/v1/leads",
            json!({"company": "صنایع دماوند", "owner_id": owner_id}),
        );
        let check = checks(app, &id_of(&second))[0].1.clone();
        created(
            app,
            &owner,
            "/api/v1/activities",
            json!({"kind": "call", "subject_type": "lead", "subject_id": id_of(&second),
                   "occurred_at": Utc::now().to_rfc3339()}),
        );
        assert!(run_check(app, &check)["skipped"].is_string());
        assert_eq!(notices(app, &owner).len(), 1);

        // A new owner starts a new check; the old owner's finds the lead handed on.
        let third = created(app, &admin, "/api/v1/leads", json!({"company": "نوین"}));
        let first_check = checks(app, &id_of(&third));
        assert_eq!(first_check.len(), 1, "the admin owns it by default");
        let (status, _) = e2e::support::merge_patch(
            app,
            &format!("/api/v1/leads/{}", id_of(&third)),
            &admin,
            &json!({"owner_id": owner_id}),
        );
        assert_eq!(status, 200);
        assert_eq!(checks(app, &id_of(&third)).len(), 2);
        assert!(run_check(app, &first_check[0].1)["skipped"].is_string());
    });
}
