//! Workflow automation (M-3): a birthday workflow firing once on the right Jalali day in
//! the business time zone (also with two processes starting runs), an order workflow
//! whose branch, field change, task and points show in the step log, a wait that
//! survives in the database and resumes once with several worker pools, loops cut, a
//! behavioural-event trigger, versions kept by runs, the dry run, checked definitions,
//! who may do what, erasure and export of runs, and workflows on leads (their events,
//! assign, field and task steps) beside the customer workflows that lead conversions
//! and new deals start.

use std::time::{Duration, Instant};

use application::jobs::{JobRegistry, WorkerPool, WorkerSettings};
use chrono::{NaiveDate, TimeZone, Utc};
use diesel::prelude::*;
use domain::calendar::JalaliDate;
use persistence::db::{build_pool, PoolConfig};
use persistence::schema::{jobs, workflow_runs};
use persistence::sql_types::{DbTime, DbUuid};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::outgoing_webhooks::Receiver;
use e2e::support::{
    backends, create_customer, created, field_codes, for_each_backend, id_of, insert_tag,
    merge_patch, person, send, TestApp,
};

fn workflow(app: &TestApp, token: &str, body: Value) -> String {
    id_of(&created(app, token, "/api/v1/workflows", body))
}

fn runs(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    loop {
        let (status, page) = send(
            app,
            Method::GET,
            &format!("/api/v1/workflow-runs?limit=200&{query}"),
            token,
            None,
        );
        // The polls below may outrun the per-user request limit.
        if status == 429 {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        assert_eq!(status, 200, "{page}");
        return page["data"].as_array().unwrap().clone();
    }
}

/// The runs of `query` once none of them has steps to take now (each is finished or
/// waiting), after at least `expected` exist.
fn settled_runs(app: &TestApp, token: &str, query: &str, expected: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = runs(app, token, query);
        let settled = found.len() >= expected
            && found
                .iter()
                .all(|run| !["pending", "running"].contains(&run["status"].as_str().unwrap()));
        if settled {
            return found;
        }
        assert!(Instant::now() < deadline, "runs did not settle: {found:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run_detail(app: &TestApp, token: &str, run: &Value) -> Value {
    let (status, detail) = send(
        app,
        Method::GET,
        &format!("/api/v1/workflow-runs/{}", id_of(run)),
        token,
        None,
    );
    assert_eq!(status, 200, "{detail}");
    detail
}

fn customer(app: &TestApp, token: &str, id: &str) -> Value {
    let (status, body) = send(
        app,
        Method::GET,
        &format!("/api/v1/customers/{id}"),
        token,
        None,
    );
    assert_eq!(status, 200, "{body}");
    body
}

fn balance(app: &TestApp, token: &str, id: &str) -> i64 {
    let (_, account) = send(
        app,
        Method::GET,
        &format!("/api/v1/customers/{id}/loyalty"),
        token,
        None,
    );
    account["balance"].as_i64().unwrap()
}

fn second_pool(app: &TestApp) -> persistence::DbPool {
    build_pool(&PoolConfig {
        max_size: 3,
        ..PoolConfig::new(app.database_url.clone())
    })
    .expect("pool")
}

fn jalali_birthday(day: NaiveDate, year: i32) -> NaiveDate {
    let jalali = JalaliDate::from_gregorian(day);
    JalaliDate::new(year, jalali.month(), jalali.day())
        .expect("a day of that month")
        .to_gregorian()
}

#[test]
fn a_birthday_workflow_fires_once_on_the_jalali_day_of_the_business_time_zone() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let gift_tag = insert_tag(app, "تولد");
        // 21:00 UTC is 00:30 the next day in Tehran: the business's day is the 11th.
        let now = Utc.with_ymd_and_hms(2026, 12, 10, 21, 0, 0).unwrap();
        let tehran_day = NaiveDate::from_ymd_opt(2026, 12, 11).unwrap();
        let utc_day = NaiveDate::from_ymd_opt(2026, 12, 10).unwrap();
        let mut born_today = person("مریم", "احمدی", "09121110001", "maryam@example.ir");
        born_today["birth_date"] = json!(jalali_birthday(tehran_day, 1370));
        let maryam = id_of(&create_customer(app, &admin, born_today));
        let mut born_yesterday = person("رضا", "نوری", "09121110002", "reza@example.ir");
        born_yesterday["birth_date"] = json!(jalali_birthday(utc_day, 1365));
        let reza = id_of(&create_customer(app, &admin, born_yesterday));

        let birthday = workflow(
            app,
            &admin,
            json!({
                "name": "تبریک تولد",
                "trigger": {"kind": "date", "field": "birth_date", "calendar": "jalali"},
                "steps": [
                    {"kind": "add_loyalty_points", "points": 500, "reason": "هدیه تولد",
                     "expires_in_days": 30},
                    {"kind": "tag", "tag_id": gift_tag}
                ]
            }),
        );

        // Two processes start the day's runs at once, and one again later.
        let started: Vec<usize> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let pool = second_pool(app);
                    scope.spawn(move || {
                        let mut conn = pool.get().expect("connection");
                        application::workflows::enrolment::on_dates(&mut conn, now).expect("dates")
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(started.iter().sum::<usize>(), 1, "{started:?}");
        let mut conn = app.state.pool.get().expect("connection");
        let again = application::workflows::enrolment::on_dates(&mut conn, now).expect("dates");
        assert_eq!(again, 0, "the day's occurrence runs once");
        drop(conn);

        let done = settled_runs(app, &admin, &format!("workflow_id={birthday}"), 1);
        assert_eq!(done.len(), 1, "{done:?}");
        assert_eq!(done[0]["customer_id"], maryam.as_str());
        assert_eq!(done[0]["status"], "completed", "{:?}", done[0]);
        assert_eq!(done[0]["cause"]["date"], "2026-12-11");
        assert_eq!(balance(app, &admin, &maryam), 500);
        assert_eq!(balance(app, &admin, &reza), 0);
        assert_eq!(
            customer(app, &admin, &maryam)["tag_ids"],
            json!([gift_tag.to_string()])
        );
        // The step log and the audit trail name the workflow.
        let detail = run_detail(app, &admin, &done[0]);
        let log: Vec<(&str, &str)> = detail["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["path"].as_str().unwrap(), s["outcome"].as_str().unwrap()))
            .collect();
        assert_eq!(log, [("steps[0]", "done"), ("steps[1]", "done")]);
        let (_, audit) = send(
            app,
            Method::GET,
            "/api/v1/audit-events?action=loyalty.earn",
            &admin,
            None,
        );
        assert!(
            audit["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|event| event["actor_type"] == "workflow"
                    && event["actor_id"] == birthday.as_str()),
            "{audit}"
        );

        // The personal-data export holds the run; erasure deletes it.
        let (status, export) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{maryam}/personal-data"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{export}");
        assert_eq!(
            export["workflow_runs"].as_array().unwrap().len(),
            1,
            "{export}"
        );
        assert_eq!(
            export["workflow_runs"][0]["steps"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let (status, erased) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{maryam}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erased}");
        assert_eq!(erased["erased"]["workflow_runs"], 1, "{erased}");
        assert!(runs(app, &admin, &format!("customer_id={maryam}")).is_empty());
    });
}

#[test]
fn a_date_due_workflow_fires_once_days_before_a_custom_date() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let renew_tag = insert_tag(app, "تمدید");
        created(
            app,
            &admin,
            "/api/v1/custom-fields",
            json!({"key": "contract_end", "label": "پایان قرارداد", "kind": "date"}),
        );
        created(
            app,
            &admin,
            "/api/v1/custom-fields",
            json!({"key": "branch", "label": "شعبه", "kind": "text"}),
        );
        // 21:00 UTC on the 10th is the 11th in Tehran: 30 days on is 2027-01-10.
        let now = Utc.with_ymd_and_hms(2026, 12, 10, 21, 0, 0).unwrap();
        let mut due = person("سحر", "امینی", "09121110011", "sahar@example.ir");
        due["custom_fields"] = json!({"contract_end": "2027-01-10"});
        let sahar = id_of(&create_customer(app, &admin, due));
        let mut later = person("کیان", "امینی", "09121110012", "kian@example.ir");
        later["custom_fields"] = json!({"contract_end": "2027-01-11"});
        let kian = id_of(&create_customer(app, &admin, later));

        // Only a known date field: a text custom field or another name is refused.
        for (field, code) in [
            ("custom_fields.branch", "not_found"),
            ("custom_fields.nothing", "not_found"),
            ("created_at", "unknown_field"),
        ] {
            let (status, problem) = send(
                app,
                Method::POST,
                "/api/v1/workflows",
                &admin,
                Some(
                    json!({"name": "x", "trigger": {"kind": "date_due", "field": field},
                            "steps": [{"kind": "tag", "tag_id": renew_tag}]}),
                ),
            );
            assert_eq!(status, 422, "{field}: {problem}");
            assert_eq!(
                field_codes(&problem),
                vec![("trigger.field".into(), code.into())],
                "{field}"
            );
        }
        let renewal = workflow(
            app,
            &admin,
            json!({
                "name": "یادآوری تمدید",
                "trigger": {"kind": "date_due", "field": "custom_fields.contract_end",
                            "days_before": 30},
                "steps": [{"kind": "tag", "tag_id": renew_tag}]
            }),
        );
        let mut conn = app.state.pool.get().expect("connection");
        let started = application::workflows::enrolment::on_dates(&mut conn, now).expect("dates");
        assert_eq!(started, 1);
        let again = application::workflows::enrolment::on_dates(&mut conn, now).expect("dates");
        assert_eq!(again, 0, "the same date comes due once");
        drop(conn);
        let done = settled_runs(app, &admin, &format!("workflow_id={renewal}"), 1);
        assert_eq!(done.len(), 1, "{done:?}");
        assert_eq!(done[0]["customer_id"], sahar.as_str());
        assert_eq!(done[0]["cause"]["due"], "2027-01-10");
        assert_eq!(
            customer(app, &admin, &sahar)["tag_ids"],
            json!([renew_tag.to_string()])
        );
        assert_eq!(customer(app, &admin, &kian)["tag_ids"], json!([]));
    });
}

#[test]
fn an_assign_step_gives_the_customer_an_owner_by_the_customer_assignment_rules() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (tabriz_rep, _, _) = app.create_user("sales", None);
        // A customer rule names customer fields, custom ones too.
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/assignment-rules",
            &admin,
            Some(
                json!({"name": "x", "record_kind": "customer", "position": 1,
                        "condition": {"field": "salary", "op": "eq", "value": 1},
                        "target": {"kind": "user", "user_id": tabriz_rep}}),
            ),
        );
        assert_eq!(status, 422, "{problem}");
        let rule = created(
            app,
            &admin,
            "/api/v1/assignment-rules",
            json!({"name": "مشتریان تبریز", "record_kind": "customer", "position": 1,
                   "condition": {"field": "city", "op": "eq", "value": "تبریز"},
                   "target": {"kind": "user", "user_id": tabriz_rep}}),
        );
        let assign = workflow(
            app,
            &admin,
            json!({
                "name": "مالک برای مشتری تازه",
                "trigger": {"kind": "event", "event_type": "customer.created"},
                "steps": [{"kind": "assign"}]
            }),
        );
        let mut in_tabriz = person("آرش", "تبریزی", "09141110001", "arash@example.ir");
        in_tabriz["addresses"] =
            json!([{"city": "تبریز", "province": "آذربایجان شرقی", "line": "خیابان امام"}]);
        let arash = id_of(&create_customer(app, &admin, in_tabriz));
        let mut elsewhere = person("نگار", "شیرازی", "09171110002", "negar@example.ir");
        elsewhere["addresses"] =
            json!([{"city": "شیراز", "province": "فارس", "line": "خیابان زند"}]);
        let negar = id_of(&create_customer(app, &admin, elsewhere));

        let done = settled_runs(app, &admin, &format!("workflow_id={assign}"), 2);
        assert_eq!(done.len(), 2, "{done:?}");
        let outputs: Vec<Value> = done
            .iter()
            .map(|run| run_detail(app, &admin, run)["steps"][0]["detail"].clone())
            .collect();
        let of = |customer: &str| {
            let at = done
                .iter()
                .position(|run| run["customer_id"] == customer)
                .unwrap();
            outputs[at].clone()
        };
        let placed = of(&arash);
        assert_eq!(placed["assigned"], true, "{placed}");
        assert_eq!(placed["user_id"], tabriz_rep.to_string());
        assert_eq!(placed["rule_id"], rule["id"]);
        assert_eq!(placed["method"], "user");
        assert_eq!(
            customer(app, &admin, &arash)["owner_id"],
            tabriz_rep.to_string()
        );
        // Nobody's rule: the customer keeps its owner, and the step says why.
        let unplaced = of(&negar);
        assert_eq!(unplaced["assigned"], false, "{unplaced}");
        assert_ne!(
            customer(app, &admin, &negar)["owner_id"],
            tabriz_rep.to_string()
        );
    });
}

#[test]
fn an_order_workflow_branches_changes_and_logs_every_step() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (owner_id, _, _) = app.create_user("sales", None);
        let vip = insert_tag(app, "ویژه");
        let other = insert_tag(app, "عادی");
        let mut body = person("سینا", "مرادی", "09121110003", "sina@example.ir");
        body["acquisition_source"] = json!("instagram");
        body["owner_id"] = json!(owner_id);
        let sina = id_of(&create_customer(app, &admin, body));
        let mut body = person("لیلا", "صادقی", "09121110004", "leila@example.ir");
        body["acquisition_source"] = json!("exhibition");
        let leila = id_of(&create_customer(app, &admin, body));

        let flow = workflow(
            app,
            &admin,
            json!({
                "name": "پس از خرید",
                "trigger": {"kind": "event", "event_type": "order.placed"},
                "steps": [
                    {"kind": "branch",
                     "condition": {"field": "acquisition_source", "op": "eq", "value": "instagram"},
                     "then": [{"kind": "tag", "tag_id": vip},
                              {"kind": "create_task", "title": "تماس تشکر", "due_in_hours": 24}],
                     "else": [{"kind": "tag", "tag_id": other}]},
                    {"kind": "update_field", "field": "acquisition_campaign", "value": "پس از خرید"}
                ]
            }),
        );

        // The dry run changes nothing and shows the branch each would take.
        let (status, dry) = send(
            app,
            Method::POST,
            &format!("/api/v1/workflows/{flow}/dry-run"),
            &admin,
            Some(json!({"customer_id": leila})),
        );
        assert_eq!(status, 200, "{dry}");
        let plan: Vec<(&str, &str)> = dry["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["path"].as_str().unwrap(), s["outcome"].as_str().unwrap()))
            .collect();
        assert_eq!(
            plan,
            [
                ("steps[0]", "else"),
                ("steps[0].else[0]", "would_do"),
                ("steps[1]", "would_do")
            ]
        );
        assert!(runs(app, &admin, "").is_empty(), "a dry run starts no run");

        let (status, product) = send(
            app,
            Method::POST,
            "/api/v1/products",
            &admin,
            Some(json!({"sku": "WF-1", "name": "کالا", "unit_price": 1_000_000})),
        );
        assert_eq!(status, 201, "{product}");
        for customer in [&sina, &leila] {
            let (status, order) = send(
                app,
                Method::POST,
                "/api/v1/orders",
                &admin,
                Some(json!({"customer_id": customer, "status": "paid",
                            "lines": [{"product_id": id_of(&product), "quantity": 1}]})),
            );
            assert_eq!(status, 201, "{order}");
        }
        let done = settled_runs(app, &admin, &format!("workflow_id={flow}"), 2);
        assert!(
            done.iter().all(|run| run["status"] == "completed"),
            "{done:?}"
        );
        let sina_run = done
            .iter()
            .find(|run| run["customer_id"] == sina.as_str())
            .unwrap();
        assert_eq!(sina_run["cause"]["event_type"], "order.placed");
        let log: Vec<(String, String, String)> = run_detail(app, &admin, sina_run)["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["path"].as_str().unwrap().to_string(),
                    s["kind"].as_str().unwrap().to_string(),
                    s["outcome"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let expected: Vec<(String, String, String)> = [
            ("steps[0]", "branch", "then"),
            ("steps[0].then[0]", "tag", "done"),
            ("steps[0].then[1]", "create_task", "done"),
            ("steps[1]", "update_field", "done"),
        ]
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
        assert_eq!(log, expected);
        let sina_now = customer(app, &admin, &sina);
        assert_eq!(sina_now["tag_ids"], json!([vip.to_string()]));
        assert_eq!(sina_now["acquisition_campaign"], "پس از خرید");
        assert_eq!(
            customer(app, &admin, &leila)["tag_ids"],
            json!([other.to_string()])
        );
        // The task went to the customer's owner.
        let (_, tasks) = send(app, Method::GET, "/api/v1/tasks?limit=200", &admin, None);
        let thanks: Vec<&Value> = tasks["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["title"] == "تماس تشکر")
            .collect();
        assert_eq!(thanks.len(), 1, "{tasks}");
        assert_eq!(thanks[0]["assignee_id"], owner_id.to_string().as_str());
        assert_eq!(thanks[0]["subject_id"], sina.as_str());

        // A step that breaks a rule fails the run, its reason logged, nothing half done:
        // a birth date that is no date.
        let strict = workflow(
            app,
            &admin,
            json!({
                "name": "تاریخ نادرست",
                "trigger": {"kind": "event", "event_type": "customer.updated",
                            "matching": {"changed": "field_of_study"}},
                "steps": [{"kind": "add_loyalty_points", "points": 7, "reason": "x"},
                          {"kind": "update_field", "field": "birth_date", "value": "دیروز"}]
            }),
        );
        let (status, _) = merge_patch(
            app,
            &format!("/api/v1/customers/{leila}"),
            &admin,
            &json!({"field_of_study": "نساجی"}),
        );
        assert_eq!(status, 200);
        let failed = settled_runs(app, &admin, &format!("workflow_id={strict}"), 1);
        assert_eq!(failed[0]["status"], "failed", "{failed:?}");
        assert_eq!(failed[0]["reason"], "steps[1] failed: validation_failed");
        let detail = run_detail(app, &admin, &failed[0]);
        assert_eq!(
            detail["steps"][1]["detail"]["violations"][0]["field"],
            "birth_date"
        );
        // The step before the failing one stays done.
        assert_eq!(balance(app, &admin, &leila), 7);
    });
}

#[test]
fn a_wait_is_kept_in_the_database_and_resumes_once() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let first = insert_tag(app, "خوش‌آمد");
        let second = insert_tag(app, "یادآوری");
        let flow = workflow(
            app,
            &admin,
            json!({
                "name": "خوش‌آمد و یادآوری",
                "trigger": {"kind": "event", "event_type": "customer.created"},
                "steps": [
                    {"kind": "tag", "tag_id": first},
                    {"kind": "wait", "minutes": 1440},
                    {"kind": "tag", "tag_id": second}
                ]
            }),
        );
        let nima = id_of(&create_customer(
            app,
            &admin,
            person("نیما", "کاظمی", "09121110005", "nima@example.ir"),
        ));
        let waiting = settled_runs(app, &admin, &format!("workflow_id={flow}"), 1);
        assert_eq!(waiting[0]["status"], "waiting", "{waiting:?}");
        let resume: chrono::DateTime<Utc> =
            waiting[0]["resume_at"].as_str().unwrap().parse().unwrap();
        assert!(resume > Utc::now() + chrono::Duration::hours(23));
        assert_eq!(
            customer(app, &admin, &nima)["tag_ids"],
            json!([first.to_string()])
        );

        // A day passes (the run and its queued resume say so), and two more worker
        // pools compete with the server's own for the resume.
        let run: Uuid = waiting[0]["id"].as_str().unwrap().parse().unwrap();
        {
            let mut conn = app.state.pool.get().expect("connection");
            let due = DbTime(persistence::now());
            diesel::update(workflow_runs::table.filter(workflow_runs::id.eq(DbUuid(run))))
                .set(workflow_runs::resume_at.eq(Some(due)))
                .execute(&mut *conn)
                .expect("run due");
            let queued = diesel::update(
                jobs::table
                    .filter(jobs::kind.eq("workflow.run"))
                    .filter(jobs::status.eq("queued")),
            )
            .set(jobs::run_at.eq(due))
            .execute(&mut *conn)
            .expect("job due");
            assert_eq!(queued, 1, "one resume queued");
        }
        let pools: Vec<WorkerPool> = (0..2)
            .map(|_| {
                WorkerPool::start(
                    second_pool(app),
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
        let deadline = Instant::now() + Duration::from_secs(60);
        let done = loop {
            let found = runs(app, &admin, &format!("workflow_id={flow}"));
            if found[0]["status"] == "completed" {
                break found;
            }
            assert!(
                Instant::now() < deadline,
                "the run never resumed: {found:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        pools.into_iter().for_each(WorkerPool::stop);
        let outcomes: Vec<String> = run_detail(app, &admin, &done[0])["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                format!(
                    "{} {}",
                    s["path"].as_str().unwrap(),
                    s["outcome"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            outcomes,
            ["steps[0] done", "steps[1] waiting", "steps[2] done"]
        );
        let tags = customer(app, &admin, &nima)["tag_ids"].clone();
        assert_eq!(tags, json!([first.to_string(), second.to_string()]));
    });
}

#[test]
fn loops_between_workflows_are_cut() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        // Each changes the customer, which each is triggered by.
        let ping = workflow(
            app,
            &admin,
            json!({"name": "پینگ",
                   "trigger": {"kind": "event", "event_type": "customer.updated"},
                   "steps": [{"kind": "update_field", "field": "field_of_study", "value": "الف"}]}),
        );
        let pong = workflow(
            app,
            &admin,
            json!({"name": "پونگ",
                   "trigger": {"kind": "event", "event_type": "customer.updated"},
                   "steps": [{"kind": "update_field", "field": "field_of_study", "value": "ب"}]}),
        );
        let id = id_of(&create_customer(
            app,
            &admin,
            person("آرش", "رحیمی", "09121110006", "arash@example.ir"),
        ));
        let (status, _) = merge_patch(
            app,
            &format!("/api/v1/customers/{id}"),
            &admin,
            &json!({"website": "https://arash.example.ir"}),
        );
        assert_eq!(status, 200);
        // Chains stop at depth 3: a bounded number of runs, all finished, and the ones
        // that would have gone on are kept as skipped loops.
        let deadline = Instant::now() + Duration::from_secs(60);
        let all = loop {
            let found = runs(app, &admin, &format!("customer_id={id}"));
            let finished = found
                .iter()
                .all(|run| ["completed", "skipped"].contains(&run["status"].as_str().unwrap()));
            if finished && found.iter().any(|run| run["depth"] == 3) {
                // Nothing else may still be coming: wait for the queue to drain.
                let again = settled_runs(app, &admin, &format!("customer_id={id}"), found.len());
                if again.len() == found.len() {
                    break again;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the chain did not stop: {found:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        // Two runs at each depth 0 to 3 go on; each starts two: one of its own
        // workflow (cut) and one of the other (cut past depth 3).
        assert_eq!(all.len(), 18, "{all:?}");
        assert!(all.iter().all(|run| run["depth"].as_i64().unwrap() <= 4));
        let loops: Vec<&Value> = all
            .iter()
            .filter(|run| run["status"] == "skipped")
            .collect();
        assert!(!loops.is_empty());
        assert!(loops
            .iter()
            .all(|run| run["reason"].as_str().unwrap().starts_with("loop:")));
        for flow in [&ping, &pong] {
            assert!(
                all.iter()
                    .any(|run| run["workflow_id"] == flow.as_str() && run["status"] == "completed"),
                "{flow} ran"
            );
        }
    });
}

#[test]
fn behavioural_events_and_lifecycle_changes_trigger_workflows_whose_runs_keep_their_version() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (status, key) = send(
            app,
            Method::POST,
            "/api/v1/api-keys",
            &admin,
            Some(json!({"name": "اپ", "scopes": ["events:write"]})),
        );
        assert_eq!(status, 201, "{key}");
        let key = key["key"].as_str().unwrap().to_string();
        let line = created(
            app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "sms", "name": "خط پیامک", "settings": {"provider_account_id": "10004346"},
                   "credentials": {"api_key": "key"}}),
        );
        let cart = workflow(
            app,
            &admin,
            json!({"name": "سبد رهاشده",
                   "trigger": {"kind": "behaviour", "name": "cart.abandoned"},
                   "steps": [{"kind": "add_loyalty_points", "points": 10, "reason": "بازگشت"},
                             {"kind": "send_message", "channel_account_id": line["id"],
                              "body": "سبد خرید شما منتظر است"}]}),
        );
        let stage = workflow(
            app,
            &admin,
            json!({"name": "مشتری شد",
                   "trigger": {"kind": "event", "event_type": "customer.lifecycle_changed",
                               "matching": {"to": "retention"}},
                   "steps": [{"kind": "add_loyalty_points", "points": 100, "reason": "خوش‌آمد"}]}),
        );
        let id = id_of(&create_customer(
            app,
            &admin,
            person("کاوه", "شریفی", "09121110007", "kaveh@example.ir"),
        ));
        let (status, stored) = send(
            app,
            Method::POST,
            "/api/v1/events",
            &key,
            Some(json!({"name": "cart.abandoned", "customer": {"id": id}})),
        );
        assert_eq!(status, 201, "{stored}");
        let done = settled_runs(app, &admin, &format!("workflow_id={cart}"), 1);
        assert_eq!(done[0]["status"], "completed", "{done:?}");
        assert_eq!(done[0]["cause"]["event_name"], "cart.abandoned");
        assert_eq!(done[0]["version"], 1);
        let sent = &run_detail(app, &admin, &done[0])["steps"][1];
        assert_eq!(sent["kind"], "send_message", "{sent}");
        let (_, messages) = send(
            app,
            Method::GET,
            &format!(
                "/api/v1/conversations/{}/messages",
                sent["detail"]["conversation_id"].as_str().unwrap()
            ),
            &admin,
            None,
        );
        assert_eq!(
            messages["data"][0]["body"], "سبد خرید شما منتظر است",
            "{messages}"
        );
        assert_eq!(messages["data"][0]["direction"], "outbound");

        // A new version: later runs take it, the earlier keeps its own.
        let (status, changed) = merge_patch(
            app,
            &format!("/api/v1/workflows/{cart}"),
            &admin,
            &json!({"steps": [{"kind": "add_loyalty_points", "points": 20, "reason": "بازگشت"}]}),
        );
        assert_eq!(status, 200, "{changed}");
        assert_eq!(changed["version"], 2);
        let (_, versions) = send(
            app,
            Method::GET,
            &format!("/api/v1/workflows/{cart}/versions"),
            &admin,
            None,
        );
        assert_eq!(versions.as_array().unwrap().len(), 2);
        assert_eq!(versions[0]["steps"][0]["points"], 10);

        // Lifecycle: the change to `retention` (only) starts the stage workflow.
        let (status, _) = merge_patch(
            app,
            &format!("/api/v1/customers/{id}"),
            &admin,
            &json!({"lifecycle_stage": "purchase"}),
        );
        assert_eq!(status, 200);
        let (status, _) = merge_patch(
            app,
            &format!("/api/v1/customers/{id}"),
            &admin,
            &json!({"lifecycle_stage": "retention"}),
        );
        assert_eq!(status, 200);
        let welcomed = settled_runs(app, &admin, &format!("workflow_id={stage}"), 1);
        assert_eq!(welcomed.len(), 1, "{welcomed:?}");
        assert_eq!(welcomed[0]["cause"]["payload"]["from"], "purchase");
        assert_eq!(balance(app, &admin, &id), 110);
    });
}

#[test]
fn definitions_are_checked_and_only_administrators_automate() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/workflows",
            &admin,
            Some(json!({
                "name": "نادرست",
                "trigger": {"kind": "event", "event_type": "order.placed"},
                "condition": {"field": "shoe_size", "op": "eq", "value": 42},
                "steps": [
                    {"kind": "tag", "tag_id": Uuid::now_v7()},
                    {"kind": "update_field", "field": "kind", "value": "organization"},
                    {"kind": "branch", "condition": {"field": "city", "op": "eq", "value": "قم"},
                     "then": [{"kind": "wait", "minutes": 0}]}
                ]
            })),
        );
        assert_eq!(status, 422, "{problem}");
        let fields: Vec<String> = field_codes(&problem).into_iter().map(|(f, _)| f).collect();
        for expected in [
            "steps[2].then[0].minutes",
            "condition.field",
            "steps[0].tag_id",
            "steps[1].field",
        ] {
            assert!(
                fields.contains(&expected.to_string()),
                "{expected}: {fields:?}"
            );
        }

        let flow = workflow(
            app,
            &admin,
            json!({"name": "ساده",
                   "trigger": {"kind": "event", "event_type": "customer.created"},
                   "steps": [{"kind": "wait", "minutes": 5}]}),
        );
        let (_, _, _) = app.create_user("manager", Some("all"));
        let (_, email, password) = app.create_user("sales", Some("all"));
        let sales = app.login(&email, &password).access_token;
        for (method, path, body) in [
            (Method::GET, "/api/v1/workflows".to_string(), None),
            (Method::GET, format!("/api/v1/workflows/{flow}"), None),
            (Method::GET, "/api/v1/workflow-runs".to_string(), None),
            (
                Method::POST,
                "/api/v1/workflows".to_string(),
                Some(
                    json!({"name": "x", "trigger": {"kind": "behaviour", "name": "x"},
                            "steps": [{"kind": "wait", "minutes": 5}]}),
                ),
            ),
            (Method::DELETE, format!("/api/v1/workflows/{flow}"), None),
        ] {
            let (status, body) = send(app, method.clone(), &path, &sales, body);
            assert_eq!(status, 403, "{method} {path}: {body}");
        }
        let (status, _) = send(
            app,
            Method::DELETE,
            &format!("/api/v1/workflows/{flow}"),
            &admin,
            None,
        );
        assert_eq!(status, 204);
    });
}

#[test]
fn a_scheduled_workflow_runs_for_everyone_meeting_its_condition_at_each_occurrence() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let mut ids = Vec::new();
        for (i, source) in ["instagram", "instagram", "exhibition"].iter().enumerate() {
            let mut body = person(
                "مشتری",
                &format!("شماره {i}"),
                &format!("0912111002{i}"),
                &format!("weekly{i}@example.ir"),
            );
            body["acquisition_source"] = json!(source);
            ids.push(id_of(&create_customer(app, &admin, body)));
        }
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/workflows",
            &admin,
            Some(
                json!({"name": "بد", "trigger": {"kind": "schedule", "cron": "61 9 * * *"},
                        "steps": [{"kind": "wait", "minutes": 5}]}),
            ),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(field_codes(&problem)[0].0, "trigger.cron");
        let weekly = workflow(
            app,
            &admin,
            json!({
                "name": "امتیاز هفتگی",
                "trigger": {"kind": "schedule", "cron": "0 9 * * 6"},
                "condition": {"field": "acquisition_source", "op": "eq", "value": "instagram"},
                "steps": [{"kind": "add_loyalty_points", "points": 5, "reason": "هفتگی"}]
            }),
        );
        // The first occurrence is queued for Saturday 09:00 in Tehran.
        let occurrences = || -> Vec<(DbTime, serde_json::Value)> {
            let mut conn = app.state.pool.get().expect("connection");
            jobs::table
                .filter(jobs::kind.eq("workflow.schedule"))
                .order(jobs::run_at)
                .select((jobs::run_at, jobs::payload))
                .load::<(DbTime, persistence::sql_types::DbJson)>(&mut *conn)
                .expect("jobs")
                .into_iter()
                .map(|(at, payload)| (at, payload.0))
                .collect()
        };
        let queued = occurrences();
        assert_eq!(queued.len(), 1, "{queued:?}");
        let first = queued[0].0 .0;
        // Tehran keeps +03:30 all year.
        let tehran = (first + chrono::Duration::minutes(210)).naive_utc();
        assert_eq!(
            tehran.format("%a %H:%M").to_string(),
            "Sat 09:00",
            "{first}"
        );

        // The occurrence, run twice (a retry, a second process), starts one run each
        // for the two who meet the condition, and queues the next Saturday.
        let occurrence: application::workflows::enrolment::ScheduleOccurrence =
            serde_json::from_value(queued[0].1.clone()).unwrap();
        let mut conn = app.state.pool.get().expect("connection");
        let outcome =
            application::workflows::enrolment::on_schedule(&mut conn, &occurrence).expect("runs");
        assert_eq!(outcome["runs_started"], 2, "{outcome}");
        let again =
            application::workflows::enrolment::on_schedule(&mut conn, &occurrence).expect("runs");
        assert_eq!(again["runs_started"], 0, "{again}");
        drop(conn);
        let next: Vec<DbTime> = occurrences().into_iter().map(|(at, _)| at).collect();
        assert_eq!(next.len(), 2, "{next:?}");
        assert_eq!(next[1].0 - first, chrono::Duration::days(7));
        let done = settled_runs(app, &admin, &format!("workflow_id={weekly}"), 2);
        let mut who: Vec<&str> = done
            .iter()
            .map(|run| run["customer_id"].as_str().unwrap())
            .collect();
        who.sort_unstable();
        let mut expected = vec![ids[0].as_str(), ids[1].as_str()];
        expected.sort_unstable();
        assert_eq!(who, expected);
        assert_eq!(balance(app, &admin, &ids[0]), 5);
        assert_eq!(balance(app, &admin, &ids[2]), 0);

        // A changed workflow's occurrence queued before does nothing.
        let (status, _) = merge_patch(
            app,
            &format!("/api/v1/workflows/{weekly}"),
            &admin,
            &json!({"description": "هر شنبه"}),
        );
        assert_eq!(status, 200);
        let mut conn = app.state.pool.get().expect("connection");
        let stale =
            application::workflows::enrolment::on_schedule(&mut conn, &occurrence).expect("runs");
        assert_eq!(
            stale["skipped"], "the workflow was changed or switched off",
            "{stale}"
        );
    });
}

#[test]
fn a_workflow_calls_a_webhook_signed_and_logged() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, &["--webhooks-allow-private-targets"]);
        let app = &app;
        let admin = app.admin_token();
        let receiver = Receiver::start();
        // A subscription that does not list workflow.webhook may not be called.
        let unwilling = created(
            app,
            &admin,
            "/api/v1/webhook-subscriptions",
            json!({"url": receiver.url("/ok"), "event_types": ["order.placed"]}),
        );
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/workflows",
            &admin,
            Some(
                json!({"name": "نخواسته", "trigger": {"kind": "event", "event_type": "customer.created"},
                   "steps": [{"kind": "call_webhook", "subscription_id": id_of(&unwilling)}]}),
            ),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [(
                "steps[0].subscription_id".to_string(),
                "not_subscribed".to_string()
            )]
        );
        let subscription = created(
            app,
            &admin,
            "/api/v1/webhook-subscriptions",
            json!({"url": receiver.url("/ok"), "event_types": ["workflow.webhook"]}),
        );
        receiver.trust(subscription["secret"].as_str().unwrap());
        let subscription = id_of(&subscription);
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/workflows",
            &admin,
            Some(
                json!({"name": "بد", "trigger": {"kind": "event", "event_type": "customer.created"},
                   "steps": [{"kind": "call_webhook", "subscription_id": Uuid::now_v7()},
                             {"kind": "call_webhook", "subscription_id": subscription, "data": [1]}]}),
            ),
        );
        assert_eq!(status, 422, "{problem}");
        let codes = field_codes(&problem);
        assert!(
            codes.contains(&("steps[0].subscription_id".into(), "not_found".into())),
            "{codes:?}"
        );
        assert!(
            codes.contains(&("steps[1].data".into(), "invalid_type".into())),
            "{codes:?}"
        );
        let flow = workflow(
            app,
            &admin,
            json!({"name": "خبر به انبار", "trigger": {"kind": "event", "event_type": "customer.created"},
                   "steps": [{"kind": "call_webhook", "subscription_id": subscription,
                              "data": {"campaign": "خوش‌آمد"}}]}),
        );
        let sara = id_of(&create_customer(
            app,
            &admin,
            person("سارا", "کریمی", "09121234567", "sara@example.ir"),
        ));
        let received = receiver.until("the workflow's call", |r| !r.is_empty());
        assert_eq!(received.len(), 1, "{received:?}");
        let call = &received[0];
        assert_eq!(call["verified"], true, "{call}");
        assert_eq!(call["payload"]["type"], "workflow.webhook");
        assert_eq!(call["payload"]["data"]["subject"]["id"], sara.as_str());
        let payload = &call["payload"]["data"]["payload"];
        assert_eq!(payload["workflow_id"], flow.as_str());
        assert_eq!(payload["data"], json!({"campaign": "خوش‌آمد"}));
        let runs = settled_runs(app, &admin, &format!("workflow_id={flow}"), 1);
        assert_eq!(runs[0]["status"], "completed", "{runs:?}");
        assert_eq!(payload["run_id"], runs[0]["id"]);
        let detail = run_detail(app, &admin, &runs[0]);
        assert_eq!(detail["steps"][0]["kind"], "call_webhook", "{detail}");
        let delivery = detail["steps"][0]["detail"]["delivery_id"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, log) = send(
            app,
            Method::GET,
            &format!("/api/v1/webhook-subscriptions/{subscription}/deliveries"),
            &admin,
            None,
        );
        assert_eq!(log["data"][0]["id"], delivery.as_str(), "{log}");

        // A subscription switched off fails the step, and the run with it.
        let (status, _) = merge_patch(
            app,
            &format!("/api/v1/webhook-subscriptions/{subscription}"),
            &admin,
            &json!({"active": false}),
        );
        assert_eq!(status, 200);
        create_customer(
            app,
            &admin,
            person("رضا", "احمدی", "09121234568", "reza@example.ir"),
        );
        let runs = settled_runs(app, &admin, &format!("workflow_id={flow}"), 2);
        let failed: Vec<&Value> = runs
            .iter()
            .filter(|run| run["status"] == "failed")
            .collect();
        assert_eq!(failed.len(), 1, "{runs:?}");
        assert_eq!(failed[0]["reason"], "steps[0] failed: validation_failed");
    }
}

fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let (status, body) = send(app, Method::GET, path, token, None);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

#[test]
fn workflows_on_leads_assign_qualify_and_task_them_and_conversions_start_customer_runs() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let admin_id = get(app, &admin, "/api/v1/users/me")["id"].clone();
        let (expo_rep, _, _) = app.create_user("sales", None);
        created(
            app,
            &admin,
            "/api/v1/assignment-rules",
            json!({"name": "سرنخ‌های نمایشگاه", "record_kind": "lead", "position": 1,
                   "condition": {"field": "source", "op": "eq", "value": "exhibition"},
                   "target": {"kind": "user", "user_id": expo_rep}}),
        );
        let intake = workflow(
            app,
            &admin,
            json!({
                "name": "پیگیری سرنخ نمایشگاه",
                "subject": "lead",
                "trigger": {"kind": "event", "event_type": "lead.created"},
                "condition": {"field": "source", "op": "eq", "value": "exhibition"},
                "steps": [
                    {"kind": "assign"},
                    {"kind": "update_field", "field": "status", "value": "contacted"},
                    {"kind": "create_task", "title": "تماس با سرنخ نمایشگاه", "due_in_hours": 4},
                    {"kind": "branch",
                     "condition": {"field": "city", "op": "eq", "value": "اصفهان"},
                     "then": [{"kind": "update_field", "field": "campaign", "value": "expo-isfahan"}]}
                ]
            }),
        );
        let qualified = workflow(
            app,
            &admin,
            json!({
                "name": "پیشنهاد برای سرنخ واجد شرایط",
                "subject": "lead",
                "trigger": {"kind": "event", "event_type": "lead.status_changed",
                            "matching": {"to": "qualified"}},
                "steps": [{"kind": "create_task", "title": "ارسال پیشنهاد قیمت"}]
            }),
        );
        let welcome = workflow(
            app,
            &admin,
            json!({
                "name": "خوش‌آمد مشتری از سرنخ",
                "trigger": {"kind": "event", "event_type": "lead.converted"},
                "steps": [{"kind": "update_field", "field": "acquisition_source", "value": "lead"}]
            }),
        );
        let first_deal = workflow(
            app,
            &admin,
            json!({
                "name": "معامله‌ی نخست",
                "trigger": {"kind": "event", "event_type": "deal.created"},
                "steps": [{"kind": "update_field", "field": "acquisition_campaign", "value": "expo-deal"}]
            }),
        );

        // Created with the administrator as owner: the workflow's assign step, not the
        // creation, hands the exhibition lead to the rule's user.
        let expo = id_of(&created(
            app,
            &admin,
            "/api/v1/leads",
            json!({"first_name": "سارا", "last_name": "کریمی", "source": "exhibition",
                   "city": "اصفهان", "province": "اصفهان", "owner_id": admin_id,
                   "phones": [{"number": "09131234567"}]}),
        ));
        let web = id_of(&created(
            app,
            &admin,
            "/api/v1/leads",
            json!({"first_name": "رضا", "last_name": "نادری", "source": "website",
                   "owner_id": admin_id}),
        ));
        let done = settled_runs(app, &admin, &format!("workflow_id={intake}"), 2);
        assert_eq!(done.len(), 2, "{done:?}");
        let run_of = |lead: &str| {
            done.iter()
                .find(|run| run["lead_id"] == lead)
                .unwrap_or_else(|| panic!("no run for {lead}: {done:?}"))
                .clone()
        };
        let skipped = run_of(&web);
        assert_eq!(skipped["status"], "skipped", "{skipped}");
        assert_eq!(skipped["customer_id"], Value::Null);
        assert_eq!(skipped["reason"], "the lead does not meet the condition");
        let ran = run_of(&expo);
        assert_eq!(ran["status"], "completed", "{ran}");
        let log = run_detail(app, &admin, &ran)["steps"].clone();
        let outcomes: Vec<(String, String)> = log
            .as_array()
            .unwrap()
            .iter()
            .map(|step| {
                (
                    step["kind"].as_str().unwrap().to_string(),
                    step["outcome"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let expected: Vec<(String, String)> = [
            ("condition", "met"),
            ("assign", "done"),
            ("update_field", "done"),
            ("create_task", "done"),
            ("branch", "then"),
            ("update_field", "done"),
        ]
        .iter()
        .map(|(kind, outcome)| (kind.to_string(), outcome.to_string()))
        .collect();
        assert_eq!(outcomes, expected, "{log}");
        assert_eq!(log[1]["detail"]["assigned"], true, "{log}");
        assert_eq!(log[1]["detail"]["user_id"], expo_rep.to_string());
        let lead = get(app, &admin, &format!("/api/v1/leads/{expo}"));
        assert_eq!(lead["owner_id"], expo_rep.to_string(), "{lead}");
        assert_eq!(lead["status"], "contacted");
        assert_eq!(lead["campaign"], "expo-isfahan");
        // The task is about the lead, for the owner the assign step gave it.
        let task_id = log[3]["detail"]["task_id"].as_str().unwrap().to_string();
        let task = get(app, &admin, &format!("/api/v1/tasks/{task_id}"));
        assert_eq!(task["subject_type"], "lead", "{task}");
        assert_eq!(task["subject_id"], expo.as_str());
        assert_eq!(task["assignee_id"], expo_rep.to_string());
        // Its assignment history names the workflow's rule.
        let history = get(app, &admin, &format!("/api/v1/leads/{expo}/assignments"));
        assert_eq!(
            history["data"][0]["user_id"],
            expo_rep.to_string(),
            "{history}"
        );
        // The step's move to `contacted` is no move to `qualified`: no run yet.
        assert!(runs(app, &admin, &format!("workflow_id={qualified}")).is_empty());

        // A person qualifies the lead: one run, a task for its owner.
        let (status, body) = merge_patch(
            app,
            &format!("/api/v1/leads/{expo}"),
            &admin,
            &json!({"status": "qualified"}),
        );
        assert_eq!(status, 200, "{body}");
        let done = settled_runs(
            app,
            &admin,
            &format!("workflow_id={qualified}&lead_id={expo}"),
            1,
        );
        assert_eq!(done.len(), 1, "{done:?}");
        assert_eq!(done[0]["status"], "completed", "{done:?}");
        assert!(runs(
            app,
            &admin,
            &format!("workflow_id={qualified}&lead_id={web}")
        )
        .is_empty());

        // Converted with a deal: the customer workflows on `lead.converted` and
        // `deal.created` run for the person the lead became.
        let (status, converted) = send(
            app,
            Method::POST,
            &format!("/api/v1/leads/{expo}/convert"),
            &admin,
            Some(json!({"deal": {"title": "خط تولید", "amount": 5_000_000_000_i64}})),
        );
        assert_eq!(status, 200, "{converted}");
        let person = converted["conversion"]["person_id"]
            .as_str()
            .unwrap()
            .to_string();
        for (workflow_id, field, value) in [
            (&welcome, "acquisition_source", "lead"),
            (&first_deal, "acquisition_campaign", "expo-deal"),
        ] {
            let done = settled_runs(app, &admin, &format!("workflow_id={workflow_id}"), 1);
            assert_eq!(done.len(), 1, "{done:?}");
            assert_eq!(done[0]["customer_id"], person.as_str(), "{done:?}");
            assert_eq!(done[0]["lead_id"], Value::Null);
            assert_eq!(done[0]["status"], "completed", "{done:?}");
            assert_eq!(customer(app, &admin, &person)[field], value);
        }

        // The dry run takes the subject the workflow is about, and only that.
        let dry = |body: Value| {
            send(
                app,
                Method::POST,
                &format!("/api/v1/workflows/{intake}/dry-run"),
                &admin,
                Some(body),
            )
        };
        let (status, plan) = dry(json!({"lead_id": web}));
        assert_eq!(status, 200, "{plan}");
        assert_eq!(plan["steps"][0]["outcome"], "not_met", "{plan}");
        let (status, problem) = dry(json!({"customer_id": person}));
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [("customer_id".to_string(), "not_for_subject".to_string())]
        );
        let (status, problem) = dry(json!({}));
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [("customer_id".to_string(), "one_of".to_string())]
        );

        // What a lead cannot take is refused when the workflow is saved.
        let refused = |body: Value| {
            let (status, problem) =
                send(app, Method::POST, "/api/v1/workflows", &admin, Some(body));
            assert_eq!(status, 422, "{problem}");
            field_codes(&problem)
        };
        let tag = insert_tag(app, &format!("lead-{}", Uuid::now_v7()));
        let codes = refused(json!({
            "name": "x", "subject": "lead",
            "trigger": {"kind": "date", "field": "birth_date"},
            "condition": {"field": "order_count", "op": "gte", "value": 1},
            "steps": [
                {"kind": "tag", "tag_id": tag},
                {"kind": "add_loyalty_points", "points": 5, "reason": "x"},
                {"kind": "update_field", "field": "lifecycle_stage", "value": "lead"}
            ]
        }));
        for expected in [
            ("trigger.kind", "not_for_subject"),
            ("steps[0].kind", "not_for_subject"),
            ("steps[1].kind", "not_for_subject"),
            ("steps[2].field", "unknown_field"),
        ] {
            assert!(
                codes.contains(&(expected.0.to_string(), expected.1.to_string())),
                "{expected:?} in {codes:?}"
            );
        }
        assert!(
            codes
                .iter()
                .any(|(field, _)| field.starts_with("condition")),
            "{codes:?}"
        );
        let codes = refused(json!({
            "name": "x",
            "trigger": {"kind": "event", "event_type": "lead.created"},
            "steps": [{"kind": "assign"}]
        }));
        assert_eq!(
            codes,
            [(
                "trigger.event_type".to_string(),
                "invalid_value".to_string()
            )]
        );
    });
}
