//! Jobs: worker pools against one database run every job exactly once; retries,
//! permanent failure and release at shutdown; the job resource over HTTP.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use application::jobs::{
    JobContext, JobError, JobFailure, JobHandler, JobRegistry, WorkerPool, WorkerSettings,
    AUDIT_VERIFY,
};
use e2e::support::{for_each_backend, TestApp};
use persistence::db::{build_pool, DbPool, PoolConfig};
use persistence::jobs::{self, NewJob};
use persistence::transaction::write_transaction;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

const COUNTED: &str = "test.counted";
const FLAKY: &str = "test.flaky";
const BROKEN: &str = "test.broken";
const PATIENT: &str = "test.patient";

/// Which pools ran each job.
type Executions = Arc<Mutex<HashMap<Uuid, Vec<&'static str>>>>;

struct CountedJob {
    pool: &'static str,
    executions: Executions,
}

impl JobHandler for CountedJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        self.executions
            .lock()
            .expect("executions")
            .entry(ctx.job_id())
            .or_default()
            .push(self.pool);
        Ok(json!({"pool": self.pool}))
    }
}

/// Fails its first `failures` attempts, then succeeds.
struct FlakyJob {
    failures: i32,
}

impl JobHandler for FlakyJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        if ctx.attempt() <= self.failures {
            Err(JobError::Retryable(JobFailure::for_user(
                "test_flaky",
                format!("attempt {} failed", ctx.attempt()),
            )))
        } else {
            ctx.set_progress(0.5)?;
            Ok(json!({"succeeded_on_attempt": ctx.attempt()}))
        }
    }
}

struct BrokenJob;

impl JobHandler for BrokenJob {
    fn run(&self, _ctx: &JobContext<'_>) -> Result<Value, JobError> {
        Err(JobError::Retryable(JobFailure::for_user(
            "test_broken",
            "always broken",
        )))
    }
}

/// Runs until the worker pool shuts down.
struct PatientJob;

impl JobHandler for PatientJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        while !ctx.should_stop() {
            std::thread::sleep(Duration::from_millis(5));
        }
        Err(JobError::Interrupted)
    }
}

fn fast_settings(workers: usize) -> WorkerSettings {
    WorkerSettings {
        idle_poll_min: Duration::from_millis(5),
        idle_poll_max: Duration::from_millis(50),
        retry_base: Duration::from_millis(10),
        retry_max: Duration::from_millis(40),
        ..WorkerSettings::new(workers)
    }
}

/// An independent pool on the app's database, as a second server process would have.
/// Small: r2d2 opens every connection up front, and the suite shares one server.
fn separate_pool(app: &TestApp) -> DbPool {
    build_pool(&PoolConfig {
        max_size: 3,
        ..PoolConfig::new(app.database_url.clone())
    })
    .expect("pool")
}

fn enqueue(pool: &DbPool, kind: &str, max_attempts: i32) -> Uuid {
    let new = NewJob {
        kind,
        payload: json!({}),
        run_at: persistence::now(),
        max_attempts,
        created_by: None,
    };
    let mut conn = pool.get().expect("connection");
    write_transaction(&mut conn, |conn| jobs::enqueue(conn, new))
        .expect("enqueue")
        .id
        .0
}

fn job(pool: &DbPool, id: Uuid) -> jobs::Job {
    jobs::find(&mut pool.get().expect("connection"), id)
        .expect("find")
        .expect("job")
}

/// Waits until `done` holds; a generous bound only keeps a broken build from hanging.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_worker_pools_on_one_database_run_every_job_exactly_once() {
    for_each_backend(|app| {
        let executions: Executions = Arc::default();
        let setup = app.state.pool.clone();
        let ids: Vec<Uuid> = (0..200).map(|_| enqueue(&setup, COUNTED, 3)).collect();
        let pools: Vec<WorkerPool> = ["a", "b"]
            .into_iter()
            .map(|name| {
                let mut registry = JobRegistry::default();
                registry.register(
                    COUNTED,
                    CountedJob {
                        pool: name,
                        executions: executions.clone(),
                    },
                );
                WorkerPool::start(separate_pool(app), registry, fast_settings(2))
                    .expect("worker pool")
            })
            .collect();
        wait_until("all jobs to succeed", || {
            let mut counts =
                jobs::count_by_status(&mut setup.get().expect("connection")).expect("counts");
            counts.sort();
            // Besides them only the recurring runs the server scheduled at start:
            // tomorrow's churn check, loyalty expiry and tiers, retention and workflow
            // dates, the next business day's stuck-deals check and the next hour's
            // audit checkpoint.
            counts == vec![("queued".to_string(), 7), ("succeeded".to_string(), 200)]
        });
        pools.into_iter().for_each(WorkerPool::stop);

        let executions = executions.lock().expect("executions");
        assert_eq!(
            executions.len(),
            ids.len(),
            "{:?}: every job ran",
            app.backend
        );
        for id in &ids {
            let ran = &executions[id];
            assert_eq!(
                ran.len(),
                1,
                "{:?}: job {id} ran {} times",
                app.backend,
                ran.len()
            );
            let stored = job(&setup, *id);
            assert_eq!(stored.result.map(|r| r.0), Some(json!({"pool": ran[0]})));
            assert_eq!(stored.attempts, 1);
        }
    });
}

#[test]
fn failed_attempts_are_retried_with_back_off_until_max_attempts() {
    for_each_backend(|app| {
        let pool = app.state.pool.clone();
        let flaky = enqueue(&pool, FLAKY, 3);
        let broken = enqueue(&pool, BROKEN, 3);
        let mut registry = JobRegistry::default();
        registry.register(FLAKY, FlakyJob { failures: 2 });
        registry.register(BROKEN, BrokenJob);
        let workers =
            WorkerPool::start(separate_pool(app), registry, fast_settings(2)).expect("worker pool");
        wait_until("both jobs to finish", || {
            ["succeeded", "failed"].contains(&job(&pool, flaky).status.as_str())
                && ["succeeded", "failed"].contains(&job(&pool, broken).status.as_str())
        });
        workers.stop();

        let flaky = job(&pool, flaky);
        assert_eq!(flaky.status, "succeeded", "{:?}", app.backend);
        assert_eq!(flaky.attempts, 3);
        assert_eq!(
            flaky.result.map(|r| r.0),
            Some(json!({"succeeded_on_attempt": 3}))
        );
        assert_eq!(flaky.progress, 1.0);
        assert!(
            flaky.run_at.0 > flaky.created_at.0,
            "retries were scheduled later"
        );

        let broken = job(&pool, broken);
        assert_eq!(broken.status, "failed", "{:?}", app.backend);
        assert_eq!(broken.attempts, 3);
        assert_eq!(broken.last_error.as_deref(), Some("always broken"));
        assert_eq!(broken.error_code.as_deref(), Some("test_broken"));
        assert!(broken.finished_at.is_some());
    });
}

#[test]
fn stopping_a_pool_releases_the_job_it_was_running() {
    for_each_backend(|app| {
        let pool = app.state.pool.clone();
        let id = enqueue(&pool, PATIENT, 2);
        let mut registry = JobRegistry::default();
        registry.register(PATIENT, PatientJob);
        let workers =
            WorkerPool::start(separate_pool(app), registry, fast_settings(1)).expect("worker pool");
        wait_until("the job to start", || job(&pool, id).status == "running");
        workers.stop();
        let released = job(&pool, id);
        assert_eq!(released.status, "queued", "{:?}", app.backend);
        assert_eq!(
            released.attempts, 0,
            "the interrupted attempt is not counted"
        );
        assert!(released.locked_by.is_none());
    });
}

fn json_of(response: reqwest::blocking::Response) -> Value {
    response.json().expect("JSON body")
}

#[test]
fn job_resources_are_visible_to_their_creator_and_admins_only() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let started = app
            .authed(Method::POST, "/api/v1/audit-events/verifications", &admin)
            .send()
            .expect("request");
        assert_eq!(started.status(), 202);
        let location = started.headers()["location"]
            .to_str()
            .expect("location")
            .to_string();
        let body = json_of(started);
        assert_eq!(
            location,
            format!("/api/v1/jobs/{}", body["id"].as_str().expect("id"))
        );
        assert_eq!(body["kind"], "audit.verify");
        assert!(
            ["queued", "running", "succeeded"].contains(&body["status"].as_str().expect("status"))
        );

        let mut finished = Value::Null;
        wait_until("the verification to finish", || {
            finished = json_of(
                app.authed(Method::GET, &location, &admin)
                    .send()
                    .expect("get job"),
            );
            finished["status"] == "succeeded"
        });
        assert_eq!(finished["progress"], 1.0);
        assert_eq!(finished["result"]["intact"], true, "{finished}");
        assert!(finished["result"]["events_checked"]
            .as_u64()
            .is_some_and(|n| n >= 1));
        assert_eq!(finished["errors"], json!([]));

        let (_, email, password) = app.create_user("sales", None);
        let sales = app.login(&email, &password).access_token;
        let foreign = app
            .authed(Method::GET, &location, &sales)
            .send()
            .expect("get job");
        assert_eq!(
            foreign.status(),
            404,
            "another user's job does not exist for them"
        );
        let cancel = app
            .authed(Method::POST, &format!("{location}/cancel"), &sales)
            .send()
            .expect("cancel");
        assert_eq!(cancel.status(), 404);
        let mine = json_of(
            app.authed(Method::GET, "/api/v1/jobs", &sales)
                .send()
                .expect("list"),
        );
        assert_eq!(mine["data"], json!([]));
        let forbidden = app
            .authed(Method::POST, "/api/v1/audit-events/verifications", &sales)
            .send()
            .expect("post");
        assert_eq!(forbidden.status(), 403);

        let listed = json_of(
            app.authed(Method::GET, "/api/v1/jobs?limit=10", &admin)
                .send()
                .expect("list"),
        );
        assert_eq!(listed["data"][0]["id"], finished["id"]);
        assert_eq!(listed["has_more"], false);

        let finished_cancel = app
            .authed(Method::POST, &format!("{location}/cancel"), &admin)
            .send()
            .expect("cancel");
        assert_eq!(
            finished_cancel.status(),
            409,
            "a finished job cannot be cancelled"
        );
        let bad_id = app
            .authed(Method::GET, "/api/v1/jobs/not-a-uuid", &admin)
            .send()
            .expect("get");
        assert_eq!(bad_id.status(), 400);
        let unknown = app
            .authed(
                Method::GET,
                &format!("/api/v1/jobs/{}", Uuid::now_v7()),
                &admin,
            )
            .send()
            .expect("get");
        assert_eq!(unknown.status(), 404);
    });
}

#[test]
fn queued_jobs_can_be_cancelled_and_are_paged_newest_first() {
    for backend in e2e::support::backends() {
        // No workers: the jobs stay queued.
        let app = TestApp::spawn_with(backend, &["--job-workers", "0"]);
        let admin = app.admin_token();
        let ids: Vec<String> = (0..3)
            .map(|_| {
                let response = app
                    .authed(Method::POST, "/api/v1/audit-events/verifications", &admin)
                    .send()
                    .expect("post");
                assert_eq!(response.status(), 202);
                json_of(response)["id"].as_str().expect("id").to_string()
            })
            .collect();

        let first = json_of(
            app.authed(Method::GET, "/api/v1/jobs?limit=2", &admin)
                .send()
                .expect("list"),
        );
        assert_eq!(first["has_more"], true);
        assert_eq!(first["data"][0]["id"], ids[2].as_str());
        assert_eq!(first["data"][1]["id"], ids[1].as_str());
        let cursor = first["next_cursor"].as_str().expect("cursor");
        let second = json_of(
            app.authed(
                Method::GET,
                &format!("/api/v1/jobs?limit=2&cursor={cursor}"),
                &admin,
            )
            .send()
            .expect("list"),
        );
        assert_eq!(second["data"].as_array().map(Vec::len), Some(1));
        assert_eq!(second["data"][0]["id"], ids[0].as_str());
        assert_eq!(second["has_more"], false);
        let bad_cursor = app
            .authed(Method::GET, "/api/v1/jobs?cursor=bm9wZQ", &admin)
            .send()
            .expect("list");
        assert_eq!(bad_cursor.status(), 400);

        let cancel_path = format!("/api/v1/jobs/{}/cancel", ids[0]);
        let cancelled = app
            .authed(Method::POST, &cancel_path, &admin)
            .send()
            .expect("cancel");
        assert_eq!(cancelled.status(), 200);
        let cancelled = json_of(cancelled);
        assert_eq!(cancelled["status"], "cancelled");
        assert!(cancelled["finished_at"].is_string());
        assert_eq!(
            app.authed(Method::POST, &cancel_path, &admin)
                .send()
                .expect("cancel")
                .status(),
            409
        );

        let audit = json_of(
            app.authed(
                Method::GET,
                &format!(
                    "/api/v1/audit-events?resource_type=job&resource_id={}",
                    ids[0]
                ),
                &admin,
            )
            .send()
            .expect("audit"),
        );
        let actions: Vec<&str> = audit["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        assert_eq!(actions, ["job.cancel", "job.create"], "{backend:?}");
    }
}

/// A job that fails on a storage error shows a stable code and a localised message, and
/// none of the database's own text (which names tables, columns and SQL).
#[test]
fn a_storage_failure_shows_a_code_not_the_database_error() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let pool = app.state.pool.clone();
        // The verification reads the audit trail; without its table every attempt
        // fails in the database.
        diesel::connection::SimpleConnection::batch_execute(
            &mut *pool.get().expect("connection"),
            "DROP TABLE audit_events",
        )
        .expect("drop the audit trail");
        let id = enqueue(&pool, AUDIT_VERIFY, 1);
        wait_until("the verification to fail", || {
            job(&pool, id).status == "failed"
        });
        let stored = job(&pool, id);
        assert_eq!(stored.error_code.as_deref(), Some("storage_error"));
        assert_eq!(stored.last_error, None, "{:?}", app.backend);

        for (language, message) in [
            ("en", "The database failed while the job ran"),
            ("fa", "پایگاه داده"),
        ] {
            let response = app
                .authed(Method::GET, &format!("/api/v1/jobs/{id}"), &admin)
                .header("accept-language", language)
                .send()
                .expect("get job");
            assert_eq!(response.status(), 200);
            let text = response.text().expect("body");
            for leak in [
                "audit_events",
                "relation",
                "no such table",
                "database error",
            ] {
                assert!(
                    !text.contains(leak),
                    "{:?} shows {leak:?}: {text}",
                    app.backend
                );
            }
            let body: Value = serde_json::from_str(&text).expect("JSON");
            assert_eq!(body["status"], "failed");
            let errors = body["errors"].as_array().expect("errors");
            assert_eq!(errors.len(), 1, "{body}");
            assert_eq!(errors[0]["code"], "storage_error");
            assert_eq!(errors[0]["detail"], Value::Null);
            assert!(
                errors[0]["message"]
                    .as_str()
                    .expect("message")
                    .contains(message),
                "{language}: {body}"
            );
        }
    });
}
