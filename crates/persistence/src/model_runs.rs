//! Model runs: what was asked for, the figures used, the job that runs it and, once its
//! scores are stored, the run's metadata. A run's status and progress are its
//! job's until it succeeds.

use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::jobs::JobStatus;
use crate::schema::{jobs, model_runs};
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = model_runs, treat_none_as_default_value = false)]
pub struct ModelRunRow {
    pub id: DbUuid,
    pub kind: String,
    /// The request as the caller sent it (re-runs repeat it).
    pub request: DbJson,
    /// The parameters with every default resolved.
    pub parameters: DbJson,
    pub job_id: DbUuid,
    /// The run's metadata, set when it succeeded.
    pub result: Option<DbJson>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub succeeded_at: Option<DbTime>,
    /// The schedule whose occurrence queued the run, if one did.
    pub schedule_id: Option<DbUuid>,
}

/// A run with its job's status, progress and error.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRun {
    pub row: ModelRunRow,
    pub job_status: String,
    pub progress: f64,
    pub error_code: Option<String>,
    pub last_error: Option<String>,
    pub finished_at: Option<DbTime>,
}

type RunWithJob = (
    ModelRunRow,
    String,
    f64,
    Option<String>,
    Option<String>,
    Option<DbTime>,
);

fn with_job(
    (row, job_status, progress, error_code, last_error, finished_at): RunWithJob,
) -> ModelRun {
    ModelRun {
        row,
        job_status,
        progress,
        error_code,
        last_error,
        finished_at,
    }
}

pub fn insert(conn: &mut DbConnection, row: &ModelRunRow) -> Result<(), PersistenceError> {
    diesel::insert_into(model_runs::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<Option<ModelRun>, PersistenceError> {
    Ok(model_runs::table
        .inner_join(jobs::table.on(jobs::id.eq(model_runs::job_id)))
        .filter(model_runs::id.eq(DbUuid(id)))
        .select((
            ModelRunRow::as_select(),
            jobs::status,
            jobs::progress,
            jobs::error_code,
            jobs::last_error,
            jobs::finished_at,
        ))
        .first::<RunWithJob>(conn)
        .optional()?
        .map(with_job))
}

/// The run a job runs.
pub fn find_by_job(
    conn: &mut DbConnection,
    job_id: Uuid,
) -> Result<Option<ModelRunRow>, PersistenceError> {
    Ok(model_runs::table
        .filter(model_runs::job_id.eq(DbUuid(job_id)))
        .select(ModelRunRow::as_select())
        .first(conn)
        .optional()?)
}

/// Runs newest first, optionally of one kind, after the keyset cursor `before` (an id);
/// `limit + 1` rows so the caller can tell whether more follow.
pub fn list(
    conn: &mut DbConnection,
    kind: Option<&str>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<ModelRun>, PersistenceError> {
    let mut query = model_runs::table
        .inner_join(jobs::table.on(jobs::id.eq(model_runs::job_id)))
        .select((
            ModelRunRow::as_select(),
            jobs::status,
            jobs::progress,
            jobs::error_code,
            jobs::last_error,
            jobs::finished_at,
        ))
        .into_boxed();
    if let Some(kind) = kind {
        query = query.filter(model_runs::kind.eq(kind.to_string()));
    }
    if let Some(before) = before {
        query = query.filter(model_runs::id.lt(DbUuid(before)));
    }
    Ok(query
        .order(model_runs::id.desc())
        .limit(limit + 1)
        .load::<RunWithJob>(conn)?
        .into_iter()
        .map(with_job)
        .collect())
}

/// Whether a run of `kind` is queued or running.
pub fn in_progress(conn: &mut DbConnection, kind: &str) -> Result<bool, PersistenceError> {
    let found: i64 = model_runs::table
        .inner_join(jobs::table.on(jobs::id.eq(model_runs::job_id)))
        .filter(model_runs::kind.eq(kind))
        .filter(jobs::status.eq_any([JobStatus::Queued.as_str(), JobStatus::Running.as_str()]))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// The latest run of `kind` whose scores were stored.
pub fn latest_succeeded(
    conn: &mut DbConnection,
    kind: &str,
) -> Result<Option<ModelRunRow>, PersistenceError> {
    Ok(model_runs::table
        .filter(model_runs::kind.eq(kind))
        .filter(model_runs::succeeded_at.is_not_null())
        .order(model_runs::id.desc())
        .select(ModelRunRow::as_select())
        .first(conn)
        .optional()?)
}

/// Marks a run succeeded with its metadata.
pub fn succeed(conn: &mut DbConnection, id: Uuid, result: Value) -> Result<(), PersistenceError> {
    diesel::update(model_runs::table.find(DbUuid(id)))
        .set((
            model_runs::result.eq(Some(DbJson(result))),
            model_runs::succeeded_at.eq(Some(DbTime(crate::now()))),
        ))
        .execute(conn)?;
    Ok(())
}
