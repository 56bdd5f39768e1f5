//! The job queue on both backends: exclusive claims under concurrency, retries with
//! back-off and the final `failed` state, stale-lock recovery, release and cancel.

use std::collections::HashSet;

use chrono::{Duration, Utc};
use persistence::jobs::{self, JobFailureRecord, JobStatus, NewJob};
use persistence::PersistenceError;
use serde_json::json;
use uuid::Uuid;

fn enqueue(pool: &persistence::DbPool, max_attempts: i32) -> Uuid {
    let mut conn = pool.get().expect("connection");
    let new = NewJob {
        kind: "test.noop",
        payload: json!({"n": 1}),
        run_at: Utc::now(),
        max_attempts,
        created_by: None,
    };
    persistence::transaction::write_transaction(&mut conn, |conn| jobs::enqueue(conn, new))
        .expect("enqueue")
        .id
        .0
}

fn claim_request(worker: &str, limit: i64, now: chrono::DateTime<Utc>) -> jobs::ClaimRequest<'_> {
    jobs::ClaimRequest {
        worker,
        kinds: &["test.noop"],
        limit,
        now,
    }
}

fn status_of(pool: &persistence::DbPool, id: Uuid) -> jobs::Job {
    jobs::find(&mut pool.get().expect("connection"), id)
        .expect("find")
        .expect("job exists")
}

#[test]
fn concurrent_claimers_never_share_a_job() {
    for db in test_databases::databases() {
        let pool = db.pool();
        let ids: HashSet<Uuid> = (0..120).map(|_| enqueue(&pool, 3)).collect();
        let claimers: Vec<_> = (0..4)
            .map(|n| {
                // Separate pools: separate connections, like separate server processes.
                let pool = db.pool_with(2);
                std::thread::spawn(move || {
                    let worker = format!("claimer-{n}");
                    let mut claimed = Vec::new();
                    loop {
                        let batch = jobs::claim(
                            &mut pool.get().expect("connection"),
                            claim_request(&worker, 7, Utc::now()),
                        )
                        .expect("claim");
                        if batch.is_empty() {
                            return claimed;
                        }
                        for job in batch {
                            assert_eq!(job.locked_by.as_deref(), Some(worker.as_str()));
                            assert_eq!(job.status, "running");
                            assert_eq!(job.attempts, 1);
                            claimed.push(job.id.0);
                        }
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for claimer in claimers {
            all.extend(claimer.join().expect("claimer thread"));
        }
        let unique: HashSet<Uuid> = all.iter().copied().collect();
        assert_eq!(
            all.len(),
            ids.len(),
            "{}: every job claimed exactly once",
            db.backend()
        );
        assert_eq!(unique, ids, "{}", db.backend());
    }
}

fn failure(detail: &str) -> JobFailureRecord<'_> {
    JobFailureRecord {
        code: "test_failure",
        detail: Some(detail),
    }
}

#[test]
fn failed_attempts_retry_at_the_given_time_then_fail_for_good() {
    for db in test_databases::databases() {
        let pool = db.pool();
        let id = enqueue(&pool, 2);
        let mut conn = pool.get().expect("connection");
        let claimed = jobs::claim(&mut conn, claim_request("w1", 10, Utc::now())).expect("claim");
        assert_eq!(claimed.len(), 1);

        let retry_at = Utc::now() + Duration::minutes(10);
        let status =
            jobs::fail(&mut conn, id, "w1", &failure("boom 1"), Some(retry_at)).expect("fail");
        assert_eq!(status, Some(JobStatus::Queued), "{}", db.backend());
        let job = status_of(&pool, id);
        assert_eq!(job.last_error.as_deref(), Some("boom 1"));
        assert_eq!(job.error_code.as_deref(), Some("test_failure"));
        assert!(job.locked_by.is_none());
        assert!(
            jobs::claim(&mut conn, claim_request("w1", 10, Utc::now()))
                .expect("claim")
                .is_empty(),
            "not before run_at"
        );

        let again =
            jobs::claim(&mut conn, claim_request("w2", 10, retry_at)).expect("claim at retry time");
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 2);
        assert_eq!(
            jobs::fail(&mut conn, id, "w1", &failure("not mine"), Some(retry_at)).expect("fail"),
            None,
            "foreign lock"
        );
        assert_eq!(
            jobs::fail(&mut conn, id, "w2", &failure("boom 2"), Some(retry_at)).expect("fail"),
            Some(JobStatus::Failed)
        );
        let job = status_of(&pool, id);
        assert_eq!(job.status, "failed", "{}", db.backend());
        assert_eq!(job.last_error.as_deref(), Some("boom 2"));
        assert!(job.finished_at.is_some());
        assert!(jobs::claim(
            &mut conn,
            claim_request("w3", 10, retry_at + Duration::days(1))
        )
        .expect("claim")
        .is_empty());
    }
}

#[test]
fn a_permanent_failure_skips_the_remaining_attempts() {
    for db in test_databases::databases() {
        let pool = db.pool();
        let id = enqueue(&pool, 5);
        let mut conn = pool.get().expect("connection");
        jobs::claim(&mut conn, claim_request("w1", 1, Utc::now())).expect("claim");
        assert_eq!(
            jobs::fail(&mut conn, id, "w1", &failure("bad payload"), None).expect("fail"),
            Some(JobStatus::Failed)
        );
        let job = status_of(&pool, id);
        assert_eq!(
            (job.status.as_str(), job.attempts),
            ("failed", 1),
            "{}",
            db.backend()
        );
    }
}

#[test]
fn completion_records_result_and_progress() {
    for db in test_databases::databases() {
        let pool = db.pool();
        let id = enqueue(&pool, 1);
        let mut conn = pool.get().expect("connection");
        let unknown_kinds = jobs::ClaimRequest {
            worker: "w0",
            kinds: &["other.kind"],
            limit: 5,
            now: Utc::now(),
        };
        assert!(
            jobs::claim(&mut conn, unknown_kinds)
                .expect("claim")
                .is_empty(),
            "only kinds the worker knows"
        );
        jobs::claim(&mut conn, claim_request("w1", 1, Utc::now())).expect("claim");
        assert!(jobs::set_progress(&mut conn, id, "w1", 0.25).expect("progress"));
        assert!(
            !jobs::set_progress(&mut conn, id, "w2", 0.5).expect("progress"),
            "foreign lock"
        );
        assert_eq!(status_of(&pool, id).progress, 0.25);
        assert!(jobs::set_progress(&mut conn, id, "w1", 7.0).expect("progress"));
        assert_eq!(status_of(&pool, id).progress, 1.0, "clamped");
        assert!(jobs::complete(&mut conn, id, "w1", json!({"ok": true})).expect("complete"));
        let job = status_of(&pool, id);
        assert_eq!(job.status, "succeeded", "{}", db.backend());
        assert_eq!(job.result.map(|r| r.0), Some(json!({"ok": true})));
        assert!(!jobs::complete(&mut conn, id, "w1", json!({})).expect("complete twice"));
        let counts = jobs::count_by_status(&mut conn).expect("counts");
        assert_eq!(counts, vec![("succeeded".to_string(), 1)]);
    }
}

#[test]
fn stale_locks_are_recovered_and_the_old_worker_loses_the_job() {
    for db in test_databases::databases() {
        let pool = db.pool();
        let retried = enqueue(&pool, 3);
        let exhausted = enqueue(&pool, 1);
        let mut conn = pool.get().expect("connection");
        assert_eq!(
            jobs::claim(&mut conn, claim_request("lost", 10, Utc::now()))
                .expect("claim")
                .len(),
            2
        );

        let nothing =
            jobs::recover_stale(&mut conn, Utc::now() - Duration::minutes(5)).expect("recover");
        assert_eq!(nothing, jobs::Recovered::default(), "fresh locks are kept");

        let recovered =
            jobs::recover_stale(&mut conn, Utc::now() + Duration::seconds(1)).expect("recover");
        assert_eq!(
            recovered,
            jobs::Recovered {
                requeued: 1,
                failed: 1
            },
            "{}",
            db.backend()
        );
        let job = status_of(&pool, retried);
        assert_eq!(job.status, "queued");
        assert!(job.locked_by.is_none() && job.locked_at.is_none());
        assert_eq!(job.last_error.as_deref(), Some(jobs::LOST_WORKER_ERROR));
        assert_eq!(job.error_code.as_deref(), Some(jobs::LOST_WORKER_CODE));
        assert_eq!(status_of(&pool, exhausted).status, "failed");

        assert!(!jobs::complete(&mut conn, retried, "lost", json!({})).expect("late completion"));
        let reclaimed =
            jobs::claim(&mut conn, claim_request("new", 10, Utc::now())).expect("claim");
        assert_eq!(reclaimed.len(), 1);
        assert_eq!(reclaimed[0].attempts, 2);
    }
}

#[test]
fn release_returns_the_attempt_and_cancel_stops_the_job() {
    for db in test_databases::databases() {
        let pool = db.pool();
        let id = enqueue(&pool, 3);
        let mut conn = pool.get().expect("connection");
        jobs::claim(&mut conn, claim_request("w1", 1, Utc::now())).expect("claim");
        assert!(jobs::release(&mut conn, id, "w1").expect("release"));
        let job = status_of(&pool, id);
        assert_eq!(
            (job.status.as_str(), job.attempts),
            ("queued", 0),
            "{}",
            db.backend()
        );

        jobs::claim(&mut conn, claim_request("w1", 1, Utc::now())).expect("claim");
        let cancelled = jobs::cancel(&mut conn, id).expect("cancel running job");
        assert_eq!(cancelled.status, "cancelled");
        assert!(cancelled.finished_at.is_some());
        assert!(
            !jobs::set_progress(&mut conn, id, "w1", 0.5).expect("progress"),
            "worker is told to stop"
        );
        assert!(!jobs::complete(&mut conn, id, "w1", json!({})).expect("complete"));
        assert_eq!(status_of(&pool, id).status, "cancelled");
        assert!(matches!(
            jobs::cancel(&mut conn, id),
            Err(PersistenceError::Conflict(_))
        ));
        assert!(matches!(
            jobs::cancel(&mut conn, Uuid::now_v7()),
            Err(PersistenceError::NotFound)
        ));
    }
}

/// A user row to own jobs (`jobs.created_by` references `users`).
fn insert_user(conn: &mut persistence::DbConnection) -> Uuid {
    use diesel::prelude::*;
    use persistence::schema::users;
    use persistence::sql_types::{DbTime, DbUuid};
    let id = Uuid::now_v7();
    let now = DbTime(persistence::now());
    diesel::insert_into(users::table)
        .values((
            users::id.eq(DbUuid(id)),
            users::email.eq(format!("{}@example.com", id.simple())),
            users::display_name.eq("Job owner"),
            users::password_hash.eq("not-a-real-hash"),
            users::role.eq("sales"),
            users::visibility.eq("own"),
            users::locale.eq("en"),
            users::is_active.eq(true),
            users::created_at.eq(now),
            users::updated_at.eq(now),
            users::version.eq(1_i64),
        ))
        .execute(conn)
        .expect("insert user");
    id
}

#[test]
fn listing_is_newest_first_with_a_keyset_cursor() {
    for db in test_databases::databases() {
        let pool = db.pool();
        let mut conn = pool.get().expect("connection");
        let owner = insert_user(&mut conn);
        let other = insert_user(&mut conn);
        let mut mine: Vec<Uuid> = Vec::new();
        for n in 0..5 {
            let created_by = if n == 2 { other } else { owner };
            let new = NewJob {
                kind: "test.noop",
                payload: json!({}),
                run_at: Utc::now(),
                max_attempts: 1,
                created_by: Some(created_by),
            };
            let job = jobs::enqueue(&mut conn, new).expect("enqueue");
            if created_by == owner {
                mine.push(job.id.0);
            }
        }
        mine.reverse();
        let first = jobs::list_created_by(&mut conn, owner, None, 3).expect("first page");
        assert_eq!(first.len(), 4, "limit + 1 rows tell that more follow");
        let first_ids: Vec<Uuid> = first.iter().take(3).map(|job| job.id.0).collect();
        assert_eq!(first_ids, mine[..3], "{}", db.backend());
        let last = &first[2];
        let cursor = jobs::JobCursor {
            created_at: last.created_at.0,
            id: last.id.0,
        };
        let second = jobs::list_created_by(&mut conn, owner, Some(cursor), 3).expect("second page");
        let second_ids: Vec<Uuid> = second.iter().map(|job| job.id.0).collect();
        assert_eq!(second_ids, mine[3..], "{}", db.backend());
    }
}
