//! The durable job queue (P-7).
//!
//! A job is a row in `jobs`. Workers claim queued jobs whose `run_at` has come, run them,
//! and record the result or the error; failed attempts go back to the queue with a later
//! `run_at` until `max_attempts` is reached. Claiming is the only place where the
//! backends differ (see [`claim_ids`]): PostgreSQL uses `FOR UPDATE SKIP LOCKED` so that
//! many workers in many processes never claim the same row, SQLite serialises claimers
//! with `BEGIN IMMEDIATE`.
//!
//! Every state change after the claim is conditional on the job still being `running`
//! and locked by the calling worker, so a worker whose job was cancelled or recovered
//! as stale cannot overwrite the newer state.

use chrono::{DateTime, Utc};
use diesel::dsl::{Eq, Filter};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::jobs;
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::transaction::write_transaction;
use crate::PersistenceError;

/// Lifecycle of a job: `queued` → `running` → `succeeded` | `failed` (or back to `queued`
/// for a retry); `queued`/`running` → `cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<JobStatus> {
        JobStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
    }

    /// Whether the job will never run again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: DbUuid,
    pub kind: String,
    pub payload: DbJson,
    pub status: String,
    pub progress: f64,
    /// Attempts started so far, the running one included.
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DbTime,
    pub locked_by: Option<String>,
    pub locked_at: Option<DbTime>,
    pub result: Option<DbJson>,
    /// What the owner may read about the latest failure: the detail of a failure they
    /// can fix (bad rows, an unreadable file), never internal error text.
    pub last_error: Option<String>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub finished_at: Option<DbTime>,
    /// Stable code of the latest failure, e.g. `storage_error`, `validation_failed`.
    pub error_code: Option<String>,
    /// For one occurrence of a scheduled job (e.g. `lifecycle_churn_check:2026-12-04`):
    /// unique, so every process that schedules it agrees on one row.
    pub occurrence_key: Option<String>,
}

impl Job {
    /// The stored status; an unknown value is reported as corrupt data, never guessed.
    pub fn status(&self) -> Result<JobStatus, PersistenceError> {
        JobStatus::parse(&self.status).ok_or_else(|| {
            PersistenceError::Corrupt(format!(
                "job {} has unknown status {:?}",
                self.id.0, self.status
            ))
        })
    }
}

/// A job about to be queued.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub kind: &'a str,
    pub payload: Value,
    /// Earliest time the job may start.
    pub run_at: DateTime<Utc>,
    /// Attempts before the job is marked `failed` (at least 1).
    pub max_attempts: i32,
    pub created_by: Option<Uuid>,
}

/// Queues a job. Call it inside the caller's write transaction so that the job exists
/// exactly when the change that asked for it is committed.
pub fn enqueue(conn: &mut DbConnection, new: NewJob<'_>) -> Result<Job, PersistenceError> {
    let row = queued(new, DbTime(crate::now()));
    diesel::insert_into(jobs::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// [`enqueue`] for many jobs, in multi-row inserts.
pub fn enqueue_many(
    conn: &mut DbConnection,
    jobs: Vec<NewJob<'_>>,
) -> Result<(), PersistenceError> {
    let now = DbTime(crate::now());
    let rows: Vec<Job> = jobs.into_iter().map(|new| queued(new, now)).collect();
    // 19 columns a row, well below SQLite's bound-parameter limit.
    for chunk in rows.chunks(500) {
        crate::insert_batch!(conn, jobs::table, chunk)?;
    }
    Ok(())
}

fn queued(new: NewJob<'_>, now: DbTime) -> Job {
    Job {
        id: DbUuid(Uuid::now_v7()),
        kind: new.kind.to_string(),
        payload: DbJson(new.payload),
        status: JobStatus::Queued.as_str().to_string(),
        progress: 0.0,
        attempts: 0,
        max_attempts: new.max_attempts.max(1),
        run_at: DbTime(new.run_at),
        locked_by: None,
        locked_at: None,
        result: None,
        last_error: None,
        created_by: new.created_by.map(DbUuid),
        created_at: now,
        updated_at: now,
        finished_at: None,
        error_code: None,
        occurrence_key: None,
    }
}

/// Queues the occurrence `key` of a scheduled job unless it is queued (or ran)
/// already; answers whether this call queued it. Any number of processes may call it
/// for the same occurrence: the unique key leaves one row, and the claim's row lock
/// lets one of them run it.
pub fn schedule(
    conn: &mut DbConnection,
    new: NewJob<'_>,
    key: &str,
) -> Result<bool, PersistenceError> {
    let now = DbTime(crate::now());
    let row = Job {
        id: DbUuid(Uuid::now_v7()),
        kind: new.kind.to_string(),
        payload: DbJson(new.payload),
        status: JobStatus::Queued.as_str().to_string(),
        progress: 0.0,
        attempts: 0,
        max_attempts: new.max_attempts.max(1),
        run_at: DbTime(new.run_at),
        locked_by: None,
        locked_at: None,
        result: None,
        last_error: None,
        created_by: new.created_by.map(DbUuid),
        created_at: now,
        updated_at: now,
        finished_at: None,
        error_code: None,
        occurrence_key: Some(key.to_string()),
    };
    let inserted = match conn {
        DbConnection::Postgres(pg) => diesel::insert_into(jobs::table)
            .values(&row)
            .on_conflict_do_nothing()
            .execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::insert_into(jobs::table)
            .values(&row)
            .on_conflict_do_nothing()
            .execute(sqlite)?,
    };
    Ok(inserted == 1)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<Option<Job>, PersistenceError> {
    Ok(jobs::table
        .select(Job::as_select())
        .filter(jobs::id.eq(DbUuid(id)))
        .first(conn)
        .optional()?)
}

/// Keyset position in a newest-first listing: the last row of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobCursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

/// Jobs created by `created_by`, newest first, `limit + 1` rows so the caller can tell
/// whether more follow.
pub fn list_created_by(
    conn: &mut DbConnection,
    created_by: Uuid,
    after: Option<JobCursor>,
    limit: i64,
) -> Result<Vec<Job>, PersistenceError> {
    let mut query = jobs::table
        .select(Job::as_select())
        .filter(jobs::created_by.eq(DbUuid(created_by)))
        .into_boxed();
    if let Some(cursor) = after {
        let at = DbTime(cursor.created_at);
        query = query.filter(
            jobs::created_at
                .lt(at)
                .or(jobs::created_at.eq(at).and(jobs::id.lt(DbUuid(cursor.id)))),
        );
    }
    Ok(query
        .order((jobs::created_at.desc(), jobs::id.desc()))
        .limit(limit + 1)
        .load(conn)?)
}

/// What a worker asks for when it claims.
#[derive(Debug, Clone, Copy)]
pub struct ClaimRequest<'a> {
    /// Name of the worker; the lock is held under it.
    pub worker: &'a str,
    /// Only jobs of these kinds: a worker never takes a job it has no handler for (during
    /// a rolling upgrade an older process may not know a newer kind).
    pub kinds: &'a [&'a str],
    pub limit: i64,
    /// Jobs whose `run_at` is after this instant wait. The application's clock, not the
    /// database's, so that both backends compare `run_at` the same way.
    pub now: DateTime<Utc>,
}

/// Claims up to `request.limit` due jobs: marks them `running`, locked by the worker,
/// and counts the attempt.
pub fn claim(
    conn: &mut DbConnection,
    request: ClaimRequest<'_>,
) -> Result<Vec<Job>, PersistenceError> {
    if request.kinds.is_empty() || request.limit < 1 {
        return Ok(Vec::new());
    }
    let ids = claim_ids(conn, request)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(jobs::table
        .select(Job::as_select())
        .filter(jobs::id.eq_any(ids))
        .order((jobs::run_at.asc(), jobs::id.asc()))
        .load(conn)?)
}

/// The backend-specific part of [`claim`]; returns the ids now locked by `worker`.
fn claim_ids(
    conn: &mut DbConnection,
    request: ClaimRequest<'_>,
) -> Result<Vec<DbUuid>, PersistenceError> {
    let ClaimRequest {
        worker,
        kinds,
        limit,
        now,
    } = request;
    match conn {
        DbConnection::Postgres(pg) => {
            #[derive(QueryableByName)]
            struct ClaimedId {
                #[diesel(sql_type = crate::sql_types::Uuid)]
                id: DbUuid,
            }
            // SKIP LOCKED: concurrent claimers pass over rows another transaction is
            // claiming instead of waiting for it and then claiming the same row.
            let claimed: Vec<ClaimedId> = diesel::sql_query(
                "UPDATE jobs SET status = 'running', locked_by = $1, locked_at = $2, updated_at = $2, \
                 attempts = attempts + 1 \
                 WHERE id IN (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= $2 AND kind = ANY($4) \
                              ORDER BY run_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
                 RETURNING id",
            )
            .bind::<diesel::sql_types::Text, _>(worker)
            .bind::<crate::sql_types::UtcTimestamp, _>(DbTime(now))
            .bind::<diesel::sql_types::BigInt, _>(limit)
            .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(kinds)
            .load(pg)?;
            Ok(claimed.into_iter().map(|row| row.id).collect())
        }
        DbConnection::Sqlite(_) => write_transaction(conn, |conn| {
            let ids: Vec<DbUuid> = jobs::table
                .select(jobs::id)
                .filter(jobs::status.eq(JobStatus::Queued.as_str()))
                .filter(jobs::run_at.le(DbTime(now)))
                .filter(jobs::kind.eq_any(kinds))
                .order((jobs::run_at.asc(), jobs::id.asc()))
                .limit(limit)
                .load(conn)?;
            if !ids.is_empty() {
                diesel::update(jobs::table.filter(jobs::id.eq_any(ids.clone())))
                    .set((
                        jobs::status.eq(JobStatus::Running.as_str()),
                        jobs::locked_by.eq(worker),
                        jobs::locked_at.eq(DbTime(now)),
                        jobs::updated_at.eq(DbTime(now)),
                        jobs::attempts.eq(jobs::attempts + 1),
                    ))
                    .execute(conn)?;
            }
            Ok(ids)
        }),
    }
}

/// Records progress (clamped to 0..=1) and refreshes the lock, which doubles as the
/// worker's heartbeat. Returns false when the job is no longer this worker's (it was
/// cancelled or recovered), telling the handler to stop.
pub fn set_progress(
    conn: &mut DbConnection,
    id: Uuid,
    worker: &str,
    progress: f64,
) -> Result<bool, PersistenceError> {
    let progress = if progress.is_finite() {
        progress.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let now = DbTime(crate::now());
    let updated = diesel::update(owned_by(id, worker))
        .set((
            jobs::progress.eq(progress),
            jobs::locked_at.eq(now),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Refreshes the lock of a running job (the worker's heartbeat, so that long jobs are
/// not mistaken for abandoned ones). Returns false when the job is no longer this
/// worker's.
pub fn touch(conn: &mut DbConnection, id: Uuid, worker: &str) -> Result<bool, PersistenceError> {
    let now = DbTime(crate::now());
    let updated = diesel::update(owned_by(id, worker))
        .set(jobs::locked_at.eq(now))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Marks a job `succeeded` with its result. Returns false (and changes nothing) when the
/// job is no longer this worker's.
pub fn complete(
    conn: &mut DbConnection,
    id: Uuid,
    worker: &str,
    result: Value,
) -> Result<bool, PersistenceError> {
    let now = DbTime(crate::now());
    let updated = diesel::update(owned_by(id, worker))
        .set((
            jobs::status.eq(JobStatus::Succeeded.as_str()),
            jobs::progress.eq(1.0),
            jobs::result.eq(Some(DbJson(result))),
            jobs::last_error.eq(None::<String>),
            jobs::error_code.eq(None::<String>),
            jobs::locked_by.eq(None::<String>),
            jobs::locked_at.eq(None::<DbTime>),
            jobs::updated_at.eq(now),
            jobs::finished_at.eq(Some(now)),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// A failed attempt as recorded on its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobFailureRecord<'a> {
    /// Stable code, e.g. `storage_error`.
    pub code: &'a str,
    /// What the job's owner may read; `None` for internal failures.
    pub detail: Option<&'a str>,
}

/// Records a failed attempt. While attempts remain and `retry_at` is given, the job goes
/// back to the queue to run again at `retry_at`; otherwise it is `failed` (`None` says
/// that retrying cannot help, e.g. an invalid payload). Returns the new status, or `None`
/// when the job is no longer this worker's.
pub fn fail(
    conn: &mut DbConnection,
    id: Uuid,
    worker: &str,
    error: &JobFailureRecord<'_>,
    retry_at: Option<DateTime<Utc>>,
) -> Result<Option<JobStatus>, PersistenceError> {
    write_transaction(conn, |conn| {
        let attempts: Option<(i32, i32)> = owned_by(id, worker)
            .select((jobs::attempts, jobs::max_attempts))
            .first(conn)
            .optional()?;
        let Some((attempts, max_attempts)) = attempts else {
            return Ok(None);
        };
        let now = DbTime(crate::now());
        let unlock = (
            jobs::locked_by.eq(None::<String>),
            jobs::locked_at.eq(None::<DbTime>),
        );
        if let Some(retry_at) = retry_at.filter(|_| attempts < max_attempts) {
            diesel::update(jobs::table.filter(jobs::id.eq(DbUuid(id))))
                .set((
                    jobs::status.eq(JobStatus::Queued.as_str()),
                    jobs::run_at.eq(DbTime(retry_at)),
                    jobs::last_error.eq(error.detail),
                    jobs::error_code.eq(Some(error.code)),
                    unlock,
                    jobs::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(Some(JobStatus::Queued))
        } else {
            diesel::update(jobs::table.filter(jobs::id.eq(DbUuid(id))))
                .set((
                    jobs::status.eq(JobStatus::Failed.as_str()),
                    jobs::last_error.eq(error.detail),
                    jobs::error_code.eq(Some(error.code)),
                    unlock,
                    jobs::updated_at.eq(now),
                    jobs::finished_at.eq(Some(now)),
                ))
                .execute(conn)?;
            Ok(Some(JobStatus::Failed))
        }
    })
}

/// Gives a claimed job back to the queue without counting the attempt (a worker shutting
/// down before it could finish). Returns false when the job is no longer this worker's.
pub fn release(conn: &mut DbConnection, id: Uuid, worker: &str) -> Result<bool, PersistenceError> {
    let updated = diesel::update(owned_by(id, worker))
        .set((
            jobs::status.eq(JobStatus::Queued.as_str()),
            jobs::attempts.eq(jobs::attempts - 1),
            jobs::locked_by.eq(None::<String>),
            jobs::locked_at.eq(None::<DbTime>),
            jobs::updated_at.eq(DbTime(crate::now())),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// What [`recover_stale`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Jobs put back in the queue.
    pub requeued: usize,
    /// Jobs that had used their last attempt and are now `failed`.
    pub failed: usize,
}

/// Error recorded on a job whose worker vanished during its last attempt.
pub const LOST_WORKER_ERROR: &str = "the worker running this job stopped responding";
/// Its code.
pub const LOST_WORKER_CODE: &str = "worker_lost";

/// Jobs `running` whose lock is older than `locked_before` belong to a worker that died
/// (or stopped reporting progress): they return to the queue, or become `failed` when
/// that was their last attempt, so a job that crashes its worker cannot loop forever.
pub fn recover_stale(
    conn: &mut DbConnection,
    locked_before: DateTime<Utc>,
) -> Result<Recovered, PersistenceError> {
    write_transaction(conn, |conn| {
        let now = DbTime(crate::now());
        let stale = jobs::status
            .eq(JobStatus::Running.as_str())
            .and(jobs::locked_at.lt(DbTime(locked_before)));
        let failed = diesel::update(
            jobs::table
                .filter(stale)
                .filter(jobs::attempts.ge(jobs::max_attempts)),
        )
        .set((
            jobs::status.eq(JobStatus::Failed.as_str()),
            jobs::last_error.eq(Some(LOST_WORKER_ERROR)),
            jobs::error_code.eq(Some(LOST_WORKER_CODE)),
            jobs::locked_by.eq(None::<String>),
            jobs::locked_at.eq(None::<DbTime>),
            jobs::updated_at.eq(now),
            jobs::finished_at.eq(Some(now)),
        ))
        .execute(conn)?;
        let requeued = diesel::update(jobs::table.filter(stale))
            .set((
                jobs::status.eq(JobStatus::Queued.as_str()),
                jobs::last_error.eq(Some(LOST_WORKER_ERROR)),
                jobs::error_code.eq(Some(LOST_WORKER_CODE)),
                jobs::locked_by.eq(None::<String>),
                jobs::locked_at.eq(None::<DbTime>),
                jobs::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(Recovered { requeued, failed })
    })
}

/// Cancels a queued or running job (a running handler notices at its next progress
/// report, and its result is discarded). Cancelling a finished job is a conflict.
pub fn cancel(conn: &mut DbConnection, id: Uuid) -> Result<Job, PersistenceError> {
    write_transaction(conn, |conn| {
        let job = find(conn, id)?.ok_or(PersistenceError::NotFound)?;
        let status = job.status()?;
        if status.is_final() {
            return Err(PersistenceError::Conflict(format!(
                "the job is already {}",
                status.as_str()
            )));
        }
        let now = DbTime(crate::now());
        diesel::update(jobs::table.filter(jobs::id.eq(DbUuid(id))))
            .set((
                jobs::status.eq(JobStatus::Cancelled.as_str()),
                jobs::locked_by.eq(None::<String>),
                jobs::locked_at.eq(None::<DbTime>),
                jobs::updated_at.eq(now),
                jobs::finished_at.eq(Some(now)),
            ))
            .execute(conn)?;
        find(conn, id)?.ok_or(PersistenceError::NotFound)
    })
}

/// Cancels the queued occurrences whose key starts with `prefix` (e.g. the pending
/// reminders of one task when its due time changes); answers how many. Occurrences that
/// are running or finished are left alone.
pub fn cancel_queued_occurrences(
    conn: &mut DbConnection,
    prefix: &str,
) -> Result<usize, PersistenceError> {
    let now = DbTime(crate::now());
    Ok(diesel::update(
        jobs::table
            .filter(jobs::status.eq(JobStatus::Queued.as_str()))
            .filter(
                jobs::occurrence_key
                    .like(format!("{}%", crate::filter::like_escape(prefix)))
                    .escape('\\'),
            ),
    )
    .set((
        jobs::status.eq(JobStatus::Cancelled.as_str()),
        jobs::updated_at.eq(now),
        jobs::finished_at.eq(Some(now)),
    ))
    .execute(conn)?)
}

/// Number of jobs in each status (statuses without jobs are omitted); cheap enough for a
/// metrics scrape thanks to the `(status, run_at)` index.
pub fn count_by_status(conn: &mut DbConnection) -> Result<Vec<(String, i64)>, PersistenceError> {
    Ok(jobs::table
        .group_by(jobs::status)
        .select((jobs::status, diesel::dsl::count_star()))
        .load(conn)?)
}

type OwnedBy<'a> = Filter<
    Filter<Filter<jobs::table, Eq<jobs::id, DbUuid>>, Eq<jobs::status, &'static str>>,
    Eq<jobs::locked_by, &'a str>,
>;

/// The job `id` while it is running under `worker`'s lock.
fn owned_by(id: Uuid, worker: &str) -> OwnedBy<'_> {
    jobs::table
        .filter(jobs::id.eq(DbUuid(id)))
        .filter(jobs::status.eq(JobStatus::Running.as_str()))
        .filter(jobs::locked_by.eq(worker))
}
