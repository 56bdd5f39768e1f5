//! The daily stuck-deals check (S-4, S-7): an open deal without activity for its
//! pipeline's days tells its owner once per spell of being stuck (an activity or a
//! stage change ends the spell, and going stale again tells again); the check is
//! scheduled for 08:00 business time on business days, once however many processes
//! schedule it, and one occurrence notifies once with two worker pools on one database.

use std::time::{Duration, Instant};

use application::jobs::stuck_check::{schedule_next, STUCK_CHECK};
use application::jobs::{JobRegistry, WorkerPool, WorkerSettings};
use chrono::{DateTime, Days, NaiveTime, Utc};
use diesel::prelude::*;
use persistence::db::{build_pool, PoolConfig};
use persistence::schema::jobs;
use persistence::sql_types::{DbTime, DbUuid};
use reqwest::Method;
use serde_json::{json, Value};

use e2e::support::{create_customer, for_each_backend, id_of, merge_patch, person, send, TestApp};

fn created(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = send(app, Method::POST, path, token, Some(body.clone()));
    assert_eq!(status, 201, "{path} {body}: {answer}");
    answer
}

/// A sales user with `own` visibility: `(id, token)`.
fn seller(app: &TestApp) -> (String, String) {
    let (id, email, password) = app.create_user("sales", None);
    (id.to_string(), app.login(&email, &password).access_token)
}

/// The caller's stuck-deal notifications, newest first.
fn stuck_notices(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, page) = send(app, Method::GET, "/api/v1/notifications", token, None);
    assert_eq!(status, 200, "{page}");
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|notice| notice["kind"] == "stuck_deal")
        .cloned()
        .collect()
}

/// Runs the check as its job does, with the clock at `now`; answers how many owners it
/// told.
fn check_at(app: &TestApp, now: DateTime<Utc>) -> usize {
    let mut conn = app.state.pool.get().expect("connection");
    application::sales::stuck_deals::notify_stuck(&mut conn, now)
        .expect("check")
        .notified
}

fn last_activity(deal: &Value) -> DateTime<Utc> {
    deal["last_activity_at"].as_str().unwrap().parse().unwrap()
}

/// A pipeline whose deals are stuck after three days, with two open stages: its id and
/// its stages' ids.
fn three_day_pipeline(app: &TestApp) -> (String, Vec<String>) {
    let made = created(
        app,
        &app.admin_token(),
        "/api/v1/pipelines",
        json!({"name": "سه‌روزه", "stuck_after_days": 3,
               "stages": [{"name": "اول", "probability": 20}, {"name": "دوم", "probability": 60}]}),
    );
    let stages = made["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    (id_of(&made), stages)
}

#[test]
fn a_stuck_deal_tells_its_owner_once_per_spell() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, owner) = seller(app);
        let (pipeline, stages) = three_day_pipeline(app);
        let customer = id_of(&create_customer(
            app,
            &owner,
            person("بهرام", "کیانی", "09121110061", "b@k.ir"),
        ));
        let deal = created(
            app,
            &owner,
            "/api/v1/deals",
            json!({"title": "قرارداد کیانی", "customer_id": customer,
                   "pipeline_id": pipeline}),
        );
        let path = format!("/api/v1/deals/{}", id_of(&deal));
        // A closed deal is never stuck.
        let won = &stages[2];
        created(
            app,
            &owner,
            "/api/v1/deals",
            json!({"title": "بسته", "customer_id": customer, "stage_id": won}),
        );
        let start = last_activity(&deal);

        assert_eq!(check_at(app, start + chrono::Duration::days(2)), 0);
        assert_eq!(check_at(app, start + chrono::Duration::days(4)), 1);
        // Still stuck the next day and after a repeated run: nobody is told again.
        assert_eq!(check_at(app, start + chrono::Duration::days(4)), 0);
        assert_eq!(check_at(app, start + chrono::Duration::days(5)), 0);
        let told = stuck_notices(app, &owner);
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0]["link"], path.as_str());
        assert_eq!(told[0]["title"], "Your deal is stuck");
        assert_eq!(told[0]["body"], "قرارداد کیانی: no activity for 4 day(s)");
        assert!(stuck_notices(app, &admin).is_empty(), "only the owner");

        // An activity ends the spell; stale again, the owner is told again.
        created(
            app,
            &owner,
            "/api/v1/activities",
            json!({"kind": "call", "subject_type": "deal", "subject_id": id_of(&deal),
                   "occurred_at": Utc::now().to_rfc3339()}),
        );
        let (_, touched) = send(app, Method::GET, &path, &owner, None);
        let contacted = last_activity(&touched);
        assert!(contacted > start);
        assert_eq!(check_at(app, contacted + chrono::Duration::days(1)), 0);
        assert_eq!(check_at(app, contacted + chrono::Duration::days(4)), 1);

        // So does a stage change.
        let (status, moved) = merge_patch(app, &path, &owner, &json!({"stage_id": stages[1]}));
        assert_eq!(status, 200, "{moved}");
        let moved_at = last_activity(&moved);
        assert_eq!(check_at(app, moved_at + chrono::Duration::days(1)), 0);
        assert_eq!(check_at(app, moved_at + chrono::Duration::days(4)), 1);
        assert_eq!(stuck_notices(app, &owner).len(), 3);
    });
}

#[test]
fn the_stuck_check_runs_on_business_days_at_eight_once_with_two_worker_pools() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let mut conn = app.state.pool.get().expect("connection");
        // Every process schedules the next occurrence (this server did at start); the
        // key keeps one.
        let (first_run, first) = schedule_next(&mut conn, persistence::now()).unwrap();
        let (second_run, second) = schedule_next(&mut conn, persistence::now()).unwrap();
        assert_eq!(first_run, second_run);
        assert!(!(first && second), "the occurrence is scheduled once");

        // Holidays are skipped; the time is 08:00 in the business time zone.
        let calendar = application::settings::calendar(&mut conn).unwrap();
        let local = calendar.local();
        let today = local.today(Utc::now());
        let holidays: Vec<Value> = (11..=12)
            .map(|n| json!({"date": (today + Days::new(n)).to_string(), "name": "تعطیل"}))
            .collect();
        drop(conn);
        let response = app
            .authed(Method::PATCH, "/api/v1/settings/business", &admin)
            .header("content-type", "application/merge-patch+json")
            .body(json!({"holidays": holidays}).to_string())
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        let mut conn = app.state.pool.get().expect("connection");
        let calendar = application::settings::calendar(&mut conn).unwrap();
        let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap();
        let eight = NaiveTime::from_hms_opt(8, 0, 0).unwrap();
        let probe = local
            .instant_at((today + Days::new(10)).and_time(noon))
            .unwrap();
        let expected = (11..40)
            .map(|n| today + Days::new(n))
            .find(|date| calendar.is_business_day(*date))
            .unwrap();
        assert!(expected > today + Days::new(12), "{expected}");
        let (run_at, scheduled) = schedule_next(&mut conn, probe).unwrap();
        assert!(scheduled);
        assert_eq!(run_at, local.instant_at(expected.and_time(eight)).unwrap());
        diesel::delete(
            jobs::table
                .filter(jobs::kind.eq(STUCK_CHECK))
                .filter(jobs::run_at.eq(DbTime(run_at))),
        )
        .execute(&mut *conn)
        .expect("only the probe's occurrence goes");

        // A deal stale for a week, and the clock reaching the queued occurrence.
        let (_, owner) = seller(app);
        let (pipeline, _) = three_day_pipeline(app);
        let customer = id_of(&create_customer(
            app,
            &owner,
            person("ژاله", "امینی", "09121110062", "j@a.ir"),
        ));
        let deal = created(
            app,
            &owner,
            "/api/v1/deals",
            json!({"title": "قرارداد امینی", "customer_id": customer,
                   "pipeline_id": pipeline}),
        );
        let week_ago = DbTime(persistence::now() - chrono::Duration::days(7));
        diesel::update(
            persistence::schema::deals::table.filter(
                persistence::schema::deals::id
                    .eq(DbUuid(deal["id"].as_str().unwrap().parse().unwrap())),
            ),
        )
        .set(persistence::schema::deals::last_activity_at.eq(week_ago))
        .execute(&mut *conn)
        .expect("stale");
        let due: Vec<DbUuid> = jobs::table
            .filter(jobs::kind.eq(STUCK_CHECK))
            .filter(jobs::status.eq("queued"))
            .select(jobs::id)
            .load(&mut *conn)
            .expect("queued");
        assert_eq!(due.len(), 1, "one occurrence queued");
        diesel::update(jobs::table.filter(jobs::id.eq_any(due.clone())))
            .set(jobs::run_at.eq(DbTime(persistence::now())))
            .execute(&mut *conn)
            .expect("due now");
        drop(conn);

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
        let status = || -> String {
            let mut conn = app.state.pool.get().expect("connection");
            jobs::table
                .filter(jobs::id.eq(due[0]))
                .select(jobs::status)
                .first(&mut *conn)
                .expect("job")
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        while status() != "succeeded" {
            assert!(Instant::now() < deadline, "the check never ran");
            std::thread::sleep(Duration::from_millis(20));
        }
        pools.into_iter().for_each(WorkerPool::stop);
        let told = stuck_notices(app, &owner);
        assert_eq!(told.len(), 1, "{:?}: {told:?}", app.backend);
        assert_eq!(
            told[0]["link"],
            format!("/api/v1/deals/{}", id_of(&deal)).as_str()
        );
    });
}
