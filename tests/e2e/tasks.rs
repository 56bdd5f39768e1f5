//! Tasks, activities and notifications (S-7): bad inputs named by field; visibility by
//! assignee, subject and team on every route; due times read and searched in the
//! business time zone; activities contacting leads and refreshing deals; the 360 view;
//! the personal-data export and erasure; the inbox of each user; reminders as durable
//! jobs that fire once at their time, also with two worker pools on one database.

use std::time::{Duration, Instant};

use application::jobs::{JobRegistry, WorkerPool, WorkerSettings};
use chrono::{DateTime, Days, Utc};
use diesel::prelude::*;
use persistence::db::{build_pool, PoolConfig};
use persistence::schema::jobs;
use persistence::sql_types::DbTime;
use reqwest::Method;
use serde_json::{json, Value};

use e2e::support::{
    assert_problem, create_customer, field_codes, for_each_backend, id_of, merge_patch,
    merge_patch_request, person, send, TestApp,
};

const TASKS: &str = "/api/v1/tasks";
const ACTIVITIES: &str = "/api/v1/activities";
const NOTIFICATIONS: &str = "/api/v1/notifications";

fn created(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = send(app, Method::POST, path, token, Some(body.clone()));
    assert_eq!(status, 201, "{path} {body}: {answer}");
    answer
}

fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    send(app, Method::GET, path, token, None)
}

fn search_ids(app: &TestApp, token: &str, path: &str, body: Value) -> Vec<String> {
    let (status, page) = send(app, Method::POST, path, token, Some(body.clone()));
    assert_eq!(status, 200, "{body}: {page}");
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(id_of)
        .collect()
}

fn refused(app: &TestApp, token: &str, path: &str, body: Value) -> Vec<(String, String)> {
    let response = app
        .authed(Method::POST, path, token)
        .json(&body)
        .send()
        .expect("request");
    field_codes(&assert_problem(response, 422, "validation_failed"))
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(field, code)| (field.to_string(), code.to_string()))
        .collect()
}

fn inbox(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let (status, page) = get(app, token, &format!("{NOTIFICATIONS}{query}"));
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().expect("data").clone()
}

fn unread(app: &TestApp, token: &str) -> i64 {
    let (status, count) = get(app, token, &format!("{NOTIFICATIONS}/unread-count"));
    assert_eq!(status, 200, "{count}");
    count["unread"].as_i64().expect("count")
}

/// A sales user with `own` visibility: `(id, token)`.
fn seller(app: &TestApp) -> (String, String) {
    let (id, email, password) = app.create_user("sales", None);
    (id.to_string(), app.login(&email, &password).access_token)
}

/// Today's date in Tehran, the business time zone of a fresh installation.
fn tehran_today() -> chrono::NaiveDate {
    domain::calendar::LocalCalendar::default().today(Utc::now())
}

#[test]
fn tasks_are_checked_and_seen_by_assignee_subject_and_team() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (a_id, a) = seller(app);
        let (b_id, b) = seller(app);
        let (_, viewer_email, password) = app.create_user("read_only", Some("own"));
        let viewer = app.login(&viewer_email, &password).access_token;
        let mine = id_of(&create_customer(
            app,
            &a,
            person("رضا", "ملکی", "09121110001", "r@m.ir"),
        ));
        let theirs = id_of(&create_customer(
            app,
            &b,
            person("مینا", "نوری", "09121110002", "m@n.ir"),
        ));

        // A due time without an offset is Tehran's; the answer shows both forms.
        let call = created(
            app,
            &a,
            TASKS,
            json!({"kind": "call", "title": " تماس پیگیری ", "subject_type": "customer",
                   "subject_id": mine, "due_at": "2030-01-05T10:00", "reminders": [60]}),
        );
        assert_eq!(call["title"], "تماس پیگیری");
        assert_eq!(call["due_at"], "2030-01-05T06:30:00Z");
        assert_eq!(call["due_at_local"], "2030-01-05T10:00:00+03:30");
        assert_eq!(call["assignee_id"], a_id.as_str());
        assert_eq!(call["status"], "open");
        assert_eq!(call["priority"], "normal");
        let call_path = format!("{TASKS}/{}", id_of(&call));

        // Every broken rule is named, and nothing is written.
        assert_eq!(
            refused(
                app,
                &a,
                TASKS,
                json!({"kind": "call", "title": "", "subject_type": "deal",
                       "due_at": "فردا", "reminders": [5, 5], "outcome": "x"})
            ),
            pairs(&[
                ("title", "required"),
                ("subject_id", "required"),
                ("due_at", "invalid_format"),
                ("reminders[1]", "duplicate"),
                ("outcome", "only_when_closed"),
            ])
        );
        assert_eq!(
            refused(app, &a, TASKS, json!({"title": "x", "reminders": [10]})),
            pairs(&[("reminders", "needs_due_at")])
        );
        assert_eq!(
            refused(app, &a, TASKS, json!({"title": "x", "kind": "lunch"})),
            pairs(&[("kind", "invalid_value")])
        );
        // A record the caller may not see is named as not found; so is handing the task
        // to someone else without the visibility to do so.
        assert_eq!(
            refused(
                app,
                &a,
                TASKS,
                json!({"title": "x", "subject_type": "customer", "subject_id": theirs})
            ),
            pairs(&[("subject_id", "not_found")])
        );
        assert_eq!(
            refused(app, &a, TASKS, json!({"title": "x", "assignee_id": b_id})),
            pairs(&[("assignee_id", "not_allowed")])
        );
        assert_problem(
            app.authed(Method::POST, TASKS, &viewer)
                .json(&json!({"title": "x"}))
                .send()
                .unwrap(),
            403,
            "forbidden",
        );

        // B sees nothing of A's task: not by id, list or search, and cannot change it.
        assert_eq!(get(app, &b, &call_path).0, 404);
        let (_, listed) = get(app, &b, TASKS);
        assert_eq!(listed["data"], json!([]));
        assert!(search_ids(app, &b, &format!("{TASKS}/search"), json!({})).is_empty());
        assert_eq!(
            merge_patch(app, &call_path, &b, &json!({"title": "y"})).0,
            404
        );
        // Sales users may not delete at all (`records:delete`).
        assert_eq!(send(app, Method::DELETE, &call_path, &b, None).0, 403);
        // The read-only viewer with `own` visibility sees nothing either.
        assert_eq!(get(app, &viewer, &call_path).0, 404);

        // Handed to B by an admin: B sees it as its assignee, and is told so.
        assert_eq!(unread(app, &b), 0);
        let handed = created(
            app,
            &admin,
            TASKS,
            json!({"kind": "meeting", "title": "جلسه با نوری", "subject_type": "customer",
                   "subject_id": mine, "assignee_id": b_id}),
        );
        let handed_path = format!("{TASKS}/{}", id_of(&handed));
        assert_eq!(get(app, &b, &handed_path).0, 200);
        let notices = inbox(app, &b, "");
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert_eq!(notices[0]["kind"], "assignment");
        assert_eq!(notices[0]["title"], "A task was assigned to you");
        assert_eq!(notices[0]["body"], "جلسه با نوری");
        assert_eq!(notices[0]["link"], handed_path.as_str());
        let fa = app
            .authed(Method::GET, NOTIFICATIONS, &b)
            .header("accept-language", "fa")
            .send()
            .unwrap()
            .json::<Value>()
            .unwrap();
        assert_eq!(fa["data"][0]["title"], "کاری به شما سپرده شد");
        // Only B reads or marks B's notifications.
        let notice_path = format!("{NOTIFICATIONS}/{}/read", id_of(&notices[0]));
        assert!(inbox(app, &a, "").is_empty());
        assert_problem(
            app.authed(Method::POST, &notice_path, &a).send().unwrap(),
            404,
            "not_found",
        );
        assert_eq!(unread(app, &b), 1);
        let (status, read) = send(app, Method::POST, &notice_path, &b, None);
        assert_eq!(status, 200, "{read}");
        assert!(read["read_at"].is_string());
        assert_eq!(unread(app, &b), 0);
        assert!(inbox(app, &b, "?unread=true").is_empty());
        assert_eq!(inbox(app, &b, "?unread=false").len(), 1);

        // A deal handed to B by someone else is notified too; read-all clears both.
        created(
            app,
            &admin,
            "/api/v1/deals",
            json!({"title": "قرارداد نوری", "customer_id": theirs, "owner_id": b_id}),
        );
        assert_eq!(unread(app, &b), 1);
        let (_, marked) = send(
            app,
            Method::POST,
            &format!("{NOTIFICATIONS}/read-all"),
            &b,
            None,
        );
        assert_eq!(marked["marked"], 1);
        assert_eq!(unread(app, &b), 0);

        // Completing records when; a stale If-Match is refused; reopening clears the
        // outcome.
        let (_, current) = get(app, &a, &call_path);
        let stale = merge_patch_request(app, &call_path, &a)
            .header("if-match", "\"0\"")
            .body(json!({"status": "done"}).to_string())
            .send()
            .unwrap();
        assert_problem(stale, 412, "precondition_failed");
        let (status, done) = merge_patch(
            app,
            &call_path,
            &a,
            &json!({"status": "done", "outcome": "پیش‌فاکتور خواست"}),
        );
        assert_eq!(status, 200, "{done}");
        assert!(done["completed_at"].is_string());
        assert_eq!(done["version"], current["version"].as_i64().unwrap() + 1);
        let (_, reopened) = merge_patch(app, &call_path, &a, &json!({"status": "open"}));
        assert_eq!(reopened["outcome"], Value::Null);
        assert_eq!(reopened["completed_at"], Value::Null);
        let (status, problem) =
            merge_patch(app, &call_path, &a, &json!({"due_at": "2030-02-30T10:00"}));
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            pairs(&[("due_at", "invalid_format")])
        );

        // Searches: my open tasks, overdue ones, those due today (Tehran's day), a
        // record's tasks.
        let today = tehran_today();
        let tomorrow = today + Days::new(1);
        let late = created(
            app,
            &a,
            TASKS,
            json!({"title": "عقب‌افتاده", "due_at": "2020-01-01T09:00"}),
        );
        let due_today = created(
            app,
            &a,
            TASKS,
            json!({"title": "امروز", "due_at": format!("{today}T23:59")}),
        );
        created(
            app,
            &a,
            TASKS,
            json!({"title": "فردا", "due_at": format!("{tomorrow}T00:30")}),
        );
        let search = format!("{TASKS}/search");
        assert_eq!(
            search_ids(
                app,
                &a,
                &search,
                json!({"filter": {"field": "overdue", "op": "eq", "value": true}})
            ),
            [id_of(&late)]
        );
        assert_eq!(
            search_ids(
                app,
                &a,
                &search,
                json!({"filter": {"field": "due_at", "op": "eq", "value": {"relative": "today"}}})
            ),
            [id_of(&due_today)]
        );
        let open_mine = search_ids(
            app,
            &a,
            &search,
            json!({"filter": {"and": [
                {"field": "assignee_id", "op": "eq", "value": a_id},
                {"field": "status", "op": "eq", "value": "open"}]},
                "sort": [{"field": "due_at", "direction": "asc"}]}),
        );
        assert_eq!(open_mine.len(), 4, "{open_mine:?}");
        assert_eq!(open_mine[0], id_of(&late));
        let on_customer = search_ids(
            app,
            &a,
            &search,
            json!({"filter": {"field": "customer_id", "op": "eq", "value": mine}}),
        );
        assert_eq!(on_customer.len(), 2, "A sees B's task through the customer");
        // B, by contrast, sees only the one assigned to B.
        assert_eq!(
            search_ids(
                app,
                &b,
                &search,
                json!({"filter": {"field": "customer_id", "op": "eq", "value": mine}})
            ),
            [id_of(&handed)]
        );
        let page = search_ids(app, &a, &search, json!({"limit": 2}));
        assert_eq!(page.len(), 2);

        // Deleting takes `records:delete`, which sales users lack; an admin may.
        assert_problem(
            app.authed(Method::DELETE, &call_path, &a).send().unwrap(),
            403,
            "forbidden",
        );
        assert_eq!(send(app, Method::DELETE, &call_path, &admin, None).0, 204);
        assert_eq!(get(app, &a, &call_path).0, 404);
    });
}

#[test]
fn activities_contact_leads_refresh_deals_and_reach_the_360_view_and_erasure() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, a) = seller(app);
        let (_, b) = seller(app);
        let customer = id_of(&create_customer(
            app,
            &a,
            person("سیما", "راد", "09121110003", "s@r.ir"),
        ));
        let lead = created(app, &a, "/api/v1/leads", json!({"company": "صنایع آوا"}));
        assert_eq!(lead["status"], "new");
        let deal = created(
            app,
            &a,
            "/api/v1/deals",
            json!({"title": "قرارداد راد", "customer_id": customer}),
        );
        let deal_path = format!("/api/v1/deals/{}", id_of(&deal));

        let call = created(
            app,
            &a,
            ACTIVITIES,
            json!({"kind": "call", "subject_type": "lead", "subject_id": id_of(&lead),
                   "occurred_at": "2026-12-01T10:00", "duration_minutes": 7,
                   "direction": "outbound", "outcome": "علاقه‌مند"}),
        );
        assert_eq!(call["occurred_at"], "2026-12-01T06:30:00Z");
        let (_, contacted) = get(app, &a, &format!("/api/v1/leads/{}", id_of(&lead)));
        assert_eq!(contacted["status"], "contacted");

        let (_, before) = get(app, &a, &deal_path);
        let now = Utc::now().to_rfc3339();
        created(
            app,
            &a,
            ACTIVITIES,
            json!({"kind": "meeting", "subject_type": "deal", "subject_id": id_of(&deal),
                   "occurred_at": now, "notes": "جلسهٔ حضوری"}),
        );
        let (_, after) = get(app, &a, &deal_path);
        let at = |deal: &Value| {
            deal["last_activity_at"]
                .as_str()
                .unwrap()
                .parse::<DateTime<Utc>>()
                .unwrap()
        };
        assert!(at(&after) > at(&before), "{before} → {after}");
        // An old call logged late does not make the deal look staler.
        created(
            app,
            &a,
            ACTIVITIES,
            json!({"kind": "email", "subject_type": "deal", "subject_id": id_of(&deal),
                   "occurred_at": "2025-01-01T10:00:00Z"}),
        );
        assert_eq!(at(&get(app, &a, &deal_path).1), at(&after));
        let visit = created(
            app,
            &a,
            ACTIVITIES,
            json!({"kind": "visit", "subject_type": "customer", "subject_id": customer,
                   "occurred_at": "2026-12-02T09:00", "notes": "بازدید از فروشگاه سیما راد"}),
        );

        assert_eq!(
            refused(
                app,
                &a,
                ACTIVITIES,
                json!({"kind": "visit", "subject_type": "customer", "subject_id": customer,
                       "occurred_at": "2999-01-01T00:00:00Z", "direction": "inbound",
                       "duration_minutes": -1})
            ),
            pairs(&[
                ("occurred_at", "in_future"),
                ("duration_minutes", "out_of_range"),
                ("direction", "only_for_calls_and_emails"),
            ])
        );
        assert_eq!(
            refused(
                app,
                &b,
                ACTIVITIES,
                json!({"kind": "call", "subject_type": "deal", "subject_id": id_of(&deal),
                       "occurred_at": "2026-12-01T10:00"})
            ),
            pairs(&[("subject_id", "not_found")])
        );

        // A record's activities, latest first; B sees none of them.
        let search = format!("{ACTIVITIES}/search");
        let on_deal = search_ids(
            app,
            &a,
            &search,
            json!({"filter": {"field": "deal_id", "op": "eq", "value": id_of(&deal)},
                   "sort": [{"field": "occurred_at", "direction": "desc"}]}),
        );
        assert_eq!(on_deal.len(), 2);
        assert!(search_ids(app, &b, &search, json!({})).is_empty());
        let (_, listed) = get(app, &b, ACTIVITIES);
        assert_eq!(listed["data"], json!([]));
        assert_eq!(
            get(app, &b, &format!("{ACTIVITIES}/{}", id_of(&visit))).0,
            404
        );
        let (_, listed) = get(app, &a, &format!("{ACTIVITIES}?limit=2"));
        assert_eq!(listed["data"].as_array().unwrap().len(), 2);
        assert_eq!(listed["has_more"], true);

        // The 360 view: open tasks on the customer and its deal, its activities.
        let task = created(
            app,
            &a,
            TASKS,
            json!({"title": "ارسال پیش‌فاکتور", "subject_type": "deal",
                   "subject_id": id_of(&deal), "due_at": "2030-01-01T10:00"}),
        );
        let finished = created(
            app,
            &a,
            TASKS,
            json!({"title": "انجام‌شده", "subject_type": "customer", "subject_id": customer,
                   "status": "done", "outcome": "تماس با سیما راد"}),
        );
        let (status, overview) = get(app, &a, &format!("/api/v1/customers/{customer}/overview"));
        assert_eq!(status, 200, "{overview}");
        let ids =
            |list: &Value| -> Vec<String> { list.as_array().unwrap().iter().map(id_of).collect() };
        assert_eq!(ids(&overview["open_tasks"]), [id_of(&task)]);
        let recent = ids(&overview["recent_activities"]);
        assert_eq!(recent.len(), 3, "the deal's two and the visit: {recent:?}");
        assert_eq!(recent[1], id_of(&visit));

        // The personal-data export shows the customer's own; erasure redacts their text.
        let (status, data) = get(
            app,
            &admin,
            &format!("/api/v1/customers/{customer}/personal-data"),
        );
        assert_eq!(status, 200, "{data}");
        assert_eq!(data["held_in"]["tasks"], 1);
        assert_eq!(data["held_in"]["activities"], 1);
        assert_eq!(data["activities"][0]["notes"], "بازدید از فروشگاه سیما راد");
        let (status, erased) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{customer}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erased}");
        assert_eq!(erased["erased"]["tasks"], 1);
        assert_eq!(erased["erased"]["activities"], 1);
        let (_, visit) = get(app, &admin, &format!("{ACTIVITIES}/{}", id_of(&visit)));
        assert_eq!(visit["notes"], Value::Null);
        assert_eq!(visit["kind"], "visit");
        let (_, finished) = get(app, &admin, &format!("{TASKS}/{}", id_of(&finished)));
        assert_eq!(finished["title"], "[erased]");
        assert_eq!(finished["outcome"], Value::Null);
        assert_eq!(finished["status"], "done");
    });
}

/// The reminder jobs of task `task`, oldest first: `(status, run_at, payload)`.
fn reminders(app: &TestApp, task: &str) -> Vec<(String, DateTime<Utc>, Value)> {
    let mut conn = app.state.pool.get().expect("connection");
    let rows: Vec<(String, DbTime, persistence::sql_types::DbJson)> = jobs::table
        .filter(jobs::kind.eq(application::sales::tasks::TASK_REMINDER))
        .order((jobs::created_at, jobs::id))
        .select((jobs::status, jobs::run_at, jobs::payload))
        .load(&mut *conn)
        .expect("jobs");
    rows.into_iter()
        .filter(|(_, _, payload)| payload.0["task_id"] == task)
        .map(|(status, run_at, payload)| (status, run_at.0, payload.0))
        .collect()
}

/// Runs a reminder as its job does when its time comes.
fn fire(app: &TestApp, payload: &Value) -> Value {
    let mut conn = app.state.pool.get().expect("connection");
    application::sales::tasks::fire_reminder(
        &mut conn,
        &serde_json::from_value(payload.clone()).expect("payload"),
    )
    .expect("reminder")
}

fn instant(text: &str) -> DateTime<Utc> {
    text.parse().expect("instant")
}

#[test]
fn reminders_are_durable_jobs_that_move_with_the_task_and_fire_once() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (b_id, b) = seller(app);
        let task = created(
            app,
            &admin,
            TASKS,
            json!({"title": "تمدید قرارداد", "assignee_id": b_id,
                   "due_at": "2030-01-05T10:00", "reminders": [60, 1440]}),
        );
        let id = id_of(&task);
        let path = format!("{TASKS}/{id}");
        // Queued at due − offset: 09:00 and the day before at 10:00, Tehran time.
        let queued = reminders(app, &id);
        let times: Vec<_> = queued.iter().map(|(_, at, _)| *at).collect();
        assert_eq!(
            times,
            [
                instant("2030-01-05T05:30:00Z"),
                instant("2030-01-04T06:30:00Z")
            ]
        );

        // Rescheduling moves them: the old ones are cancelled, new ones queued.
        let (status, _) = merge_patch(app, &path, &admin, &json!({"due_at": "2030-01-06T10:00"}));
        assert_eq!(status, 200);
        let after = reminders(app, &id);
        let queued_now: Vec<_> = after
            .iter()
            .filter(|(status, _, _)| status == "queued")
            .map(|(_, at, _)| *at)
            .collect();
        assert_eq!(
            queued_now,
            [
                instant("2030-01-06T05:30:00Z"),
                instant("2030-01-05T06:30:00Z")
            ]
        );
        assert_eq!(
            after
                .iter()
                .filter(|(status, _, _)| status == "cancelled")
                .count(),
            2
        );

        // A reminder of the old due time does nothing; the current one notifies the
        // assignee once, however often it runs.
        let stale = fire(app, &queued[0].2);
        assert!(stale["skipped"].is_string(), "{stale}");
        let current = &after
            .iter()
            .find(|(status, _, _)| status == "queued")
            .unwrap()
            .2;
        assert_eq!(fire(app, current)["notified"], true);
        assert_eq!(fire(app, current)["notified"], false);
        let notices = inbox(app, &b, "");
        let reminders_seen: Vec<_> = notices
            .iter()
            .filter(|notice| notice["kind"] == "reminder")
            .collect();
        assert_eq!(reminders_seen.len(), 1, "{notices:?}");
        assert_eq!(reminders_seen[0]["title"], "Task due in 1 hour(s)");
        assert_eq!(reminders_seen[0]["link"], path.as_str());

        // Completing the task cancels what is pending, and a late run stays silent.
        let (status, _) = merge_patch(app, &path, &admin, &json!({"status": "done"}));
        assert_eq!(status, 200);
        assert!(reminders(app, &id)
            .iter()
            .all(|(status, _, _)| status != "queued"));
        let late = &after
            .iter()
            .rev()
            .find(|(status, _, _)| status == "queued")
            .unwrap()
            .2;
        assert!(fire(app, late)["skipped"].is_string());
    });
}

#[test]
fn two_worker_pools_on_one_database_notify_a_reminder_once() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (b_id, b) = seller(app);
        let task = created(
            app,
            &admin,
            TASKS,
            json!({"title": "تماس فوری", "assignee_id": b_id,
                   "due_at": "2030-01-05T10:00", "reminders": [30]}),
        );
        let id = id_of(&task);
        // The clock reaches the reminder: its job becomes due now.
        {
            let mut conn = app.state.pool.get().expect("connection");
            diesel::update(
                jobs::table
                    .filter(jobs::kind.eq(application::sales::tasks::TASK_REMINDER))
                    .filter(jobs::status.eq("queued")),
            )
            .set(jobs::run_at.eq(DbTime(persistence::now())))
            .execute(&mut *conn)
            .expect("due now");
        }
        let pools: Vec<WorkerPool> = (0..2)
            .map(|_| {
                let pool = build_pool(&PoolConfig {
                    max_size: 3,
                    ..PoolConfig::new(app.database_url.clone())
                })
                .expect("pool");
                WorkerPool::start(
                    pool,
                    JobRegistry::builtin(),
                    WorkerSettings {
                        idle_poll_min: Duration::from_millis(5),
                        idle_poll_max: Duration::from_millis(20),
                        ..WorkerSettings::new(2)
                    },
                )
                .expect("workers")
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(120);
        while reminders(app, &id)
            .iter()
            .any(|(status, _, _)| status != "succeeded")
        {
            assert!(Instant::now() < deadline, "the reminder never ran");
            std::thread::sleep(Duration::from_millis(20));
        }
        pools.into_iter().for_each(WorkerPool::stop);
        let notices: Vec<Value> = inbox(app, &b, "")
            .into_iter()
            .filter(|notice| notice["kind"] == "reminder")
            .collect();
        assert_eq!(notices.len(), 1, "{:?}: {notices:?}", app.backend);
        assert_eq!(notices[0]["link"], format!("{TASKS}/{id}").as_str());
    });
}

#[test]
fn merges_move_tasks_and_activities_and_undo_moves_them_back() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let winner = id_of(&create_customer(
            app,
            &admin,
            person("کاوه", "مرادی", "09121110041", "k@m.ir"),
        ));
        let loser = id_of(&create_customer(
            app,
            &admin,
            person("کاوه", "مرادی", "09121110042", "k2@m.ir"),
        ));
        let task = id_of(&created(
            app,
            &admin,
            TASKS,
            json!({"title": "تماس با مرادی", "subject_type": "customer", "subject_id": loser}),
        ));
        let activity = id_of(&created(
            app,
            &admin,
            ACTIVITIES,
            json!({"kind": "call", "subject_type": "customer", "subject_id": loser,
                   "occurred_at": Utc::now().to_rfc3339()}),
        ));
        let kept = id_of(&created(
            app,
            &admin,
            TASKS,
            json!({"title": "کار برنده", "subject_type": "customer", "subject_id": winner}),
        ));
        let on = |path: &str, customer: &str| {
            let mut ids = search_ids(
                app,
                &admin,
                &format!("{path}/search"),
                json!({"filter": {"field": "customer_id", "op": "eq", "value": customer}}),
            );
            ids.sort();
            ids
        };
        let sorted = |mut ids: Vec<String>| {
            ids.sort();
            ids
        };

        let (status, merge) = send(
            app,
            Method::POST,
            "/api/v1/customers/merge",
            &admin,
            Some(json!({"winner_id": winner, "loser_ids": [loser]})),
        );
        assert_eq!(status, 201, "{merge}");
        assert_eq!(on(TASKS, &winner), sorted(vec![task.clone(), kept.clone()]));
        assert_eq!(on(ACTIVITIES, &winner), [activity.as_str()]);
        assert!(on(TASKS, &loser).is_empty());
        let (_, moved) = get(app, &admin, &format!("{TASKS}/{task}"));
        assert_eq!(moved["subject_id"], winner.as_str(), "{moved}");

        let undo = format!(
            "/api/v1/customers/merges/{}/undo",
            merge["merge"]["id"].as_str().unwrap()
        );
        let (status, answer) = send(app, Method::POST, &undo, &admin, None);
        assert_eq!(status, 200, "{answer}");
        assert_eq!(on(TASKS, &loser), [task.as_str()]);
        assert_eq!(on(ACTIVITIES, &loser), [activity.as_str()]);
        assert_eq!(on(TASKS, &winner), [kept]);
        assert!(on(ACTIVITIES, &winner).is_empty());
        let (_, back) = get(app, &admin, &format!("{ACTIVITIES}/{activity}"));
        assert_eq!(back["subject_id"], loser.as_str(), "{back}");
    });
}

#[test]
fn activities_are_corrected_by_whoever_may_see_and_write_them() {
    for_each_backend(|app| {
        let (_, a) = seller(app);
        let (_, b) = seller(app);
        let (_, viewer_email, password) = app.create_user("read_only", Some("all"));
        let viewer = app.login(&viewer_email, &password).access_token;
        let customer = id_of(&create_customer(
            app,
            &a,
            person("نسترن", "پاکزاد", "09121110051", "n@p.ir"),
        ));
        let deal = created(
            app,
            &a,
            "/api/v1/deals",
            json!({"title": "قرارداد پاکزاد", "customer_id": customer}),
        );
        let deal_path = format!("/api/v1/deals/{}", id_of(&deal));
        let call = created(
            app,
            &a,
            ACTIVITIES,
            json!({"kind": "call", "subject_type": "deal", "subject_id": id_of(&deal),
                   "occurred_at": "2026-12-01T10:00", "direction": "outbound",
                   "outcome": "بی‌پاسخ"}),
        );
        let path = format!("{ACTIVITIES}/{}", id_of(&call));

        // Corrected as logged: the answer carries the new version and its ETag.
        let response = merge_patch_request(app, &path, &a)
            .body(
                json!({"duration_minutes": 15, "outcome": " علاقه‌مند ", "notes": "قرار جلسه"})
                    .to_string(),
            )
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        let etag = response.headers()["etag"].to_str().unwrap().to_string();
        let changed: Value = response.json().unwrap();
        assert_eq!(changed["duration_minutes"], 15);
        assert_eq!(changed["outcome"], "علاقه‌مند");
        assert_eq!(changed["notes"], "قرار جلسه");
        assert_eq!(changed["occurred_at"], "2026-12-01T06:30:00Z", "unchanged");
        assert_eq!(changed["kind"], "call");
        assert_eq!(changed["version"], call["version"].as_i64().unwrap() + 1);
        let (_, events) = get(
            app,
            &app.admin_token(),
            "/api/v1/audit-events?action=activity.update&limit=200",
        );
        let event = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|event| event["resource_id"] == id_of(&call).as_str())
            .cloned()
            .expect("audited");
        assert_eq!(
            event["changes"]["duration_minutes"],
            json!({"before": null, "after": 15}),
            "{event}"
        );

        // A stale If-Match is refused and changes nothing.
        let stale = merge_patch_request(app, &path, &a)
            .header("if-match", "\"0\"")
            .body(json!({"notes": "x"}).to_string())
            .send()
            .unwrap();
        assert_problem(stale, 412, "precondition_failed");
        let current = merge_patch_request(app, &path, &a)
            .header("if-match", etag)
            .body(json!({"notes": null}).to_string())
            .send()
            .unwrap();
        assert_eq!(current.status(), 200);
        assert_eq!(get(app, &a, &path).1["notes"], Value::Null);

        // Broken rules are named; the record it is on stays.
        let (status, problem) = merge_patch(
            app,
            &path,
            &a,
            &json!({"kind": "visit", "occurred_at": "2999-01-01T00:00:00Z",
                    "duration_minutes": 5000}),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            pairs(&[
                ("occurred_at", "in_future"),
                ("duration_minutes", "out_of_range"),
                ("direction", "only_for_calls_and_emails"),
            ])
        );
        let (status, problem) = merge_patch(
            app,
            &path,
            &a,
            &json!({"subject_type": "customer", "subject_id": customer}),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            pairs(&[("subject_type", "immutable"), ("subject_id", "immutable"),])
        );
        let (status, problem) = merge_patch(app, &path, &a, &json!({"colour": "red"}));
        assert_eq!(status, 422, "{problem}");

        // A later time of contact moves the deal's last activity forward.
        let (_, before) = get(app, &a, &deal_path);
        let now = Utc::now().to_rfc3339();
        let (status, moved) = merge_patch(app, &path, &a, &json!({"occurred_at": now}));
        assert_eq!(status, 200, "{moved}");
        let (_, after) = get(app, &a, &deal_path);
        assert!(
            after["last_activity_at"].as_str() > before["last_activity_at"].as_str(),
            "{before} → {after}"
        );

        // Whoever may not see it gets 404; a read-only role 403; neither changes it.
        let (status, _) = merge_patch(app, &path, &b, &json!({"notes": "از ب"}));
        assert_eq!(status, 404);
        let (status, problem) = merge_patch(app, &path, &viewer, &json!({"notes": "از ناظر"}));
        assert_eq!(status, 403, "{problem}");
        let (status, unknown) = merge_patch(
            app,
            &format!("{ACTIVITIES}/{}", uuid::Uuid::now_v7()),
            &a,
            &json!({"notes": "x"}),
        );
        assert_eq!(status, 404, "{unknown}");
        assert_eq!(get(app, &a, &path).1["notes"], Value::Null);
    });
}
