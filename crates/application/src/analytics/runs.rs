//! Model runs as callers see them: starting one (its parameters checked now,
//! resolved against today in the business time zone, queued as a job in the same
//! transaction), re-running, reading and cancelling.
//!
//! Starting, re-running and cancelling need `analytics:run`. A run describes the whole
//! customer base (counts, fitted parameters), so reading runs needs `records:read` with
//! visibility over every record; a caller who sees only some customers is refused.
//! The scores a run leaves on a customer are read with that customer, under its
//! visibility.

use domain::authz::Permission;
use domain::model_runs::{RunKind, RunParameters, RunRequest};
use persistence::audit::{self, NewAuditEvent};
use persistence::db::DbConnection;
use persistence::model_runs::{ModelRun, ModelRunRow};
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

use super::access::require_reader;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::jobs::queue;
use crate::paging::Cursor;
use crate::transaction;

/// Job kind of a model run.
pub const MODEL_RUN: &str = "analytics.model_run";

/// Attempts of a run: a retry reads and fits again and rewrites the same scores.
const RUN_MAX_ATTEMPTS: i32 = 3;

/// What a `analytics.model_run` job is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelRunPayload {
    pub run_id: Uuid,
}

/// Queues a run of `request` (`analytics:run`). Refused while a run of the same kind is
/// queued or running: two runs of a kind would race to be the current one.
pub fn start(conn: &mut DbConnection, acting: &Acting, request: RunRequest) -> AppResult<ModelRun> {
    queue_run(conn, acting, request, None)
}

/// [`start`] for an occurrence of the schedule `schedule`, recorded on the run.
pub fn start_scheduled(
    conn: &mut DbConnection,
    acting: &Acting,
    request: RunRequest,
    schedule: Uuid,
) -> AppResult<ModelRun> {
    queue_run(conn, acting, request, Some(schedule))
}

fn queue_run(
    conn: &mut DbConnection,
    acting: &Acting,
    request: RunRequest,
    schedule: Option<Uuid>,
) -> AppResult<ModelRun> {
    acting.require(Permission::AnalyticsRun)?;
    let today = crate::settings::calendar(conn)?
        .local()
        .today(persistence::now());
    let parameters = request.resolve(today).map_err(AppError::Invalid)?;
    let kind = request.kind();
    let run_id = transaction(conn, |conn| {
        if persistence::model_runs::in_progress(conn, kind.as_str())? {
            return Err(AppError::Conflict(format!(
                "a {} run is queued or running; wait for it to finish or cancel it",
                kind.as_str()
            )));
        }
        let run_id = Uuid::now_v7();
        let job = queue::enqueue(
            conn,
            acting,
            MODEL_RUN,
            serde_json::to_value(ModelRunPayload { run_id })
                .map_err(|err| AppError::Internal(err.to_string()))?,
            RUN_MAX_ATTEMPTS,
        )?;
        let row = ModelRunRow {
            id: DbUuid(run_id),
            kind: kind.as_str().to_string(),
            request: DbJson(to_json(&request)?),
            parameters: DbJson(to_json(&parameters)?),
            job_id: job.id,
            result: None,
            created_by: acting.user_id.map(DbUuid),
            created_at: DbTime(persistence::now()),
            succeeded_at: None,
            schedule_id: schedule.map(DbUuid),
        };
        persistence::model_runs::insert(conn, &row)?;
        audit::record(
            conn,
            &acting.audit_actor(),
            NewAuditEvent {
                action: "model_run.create",
                resource_type: "model_run",
                resource_id: Some(run_id.to_string()),
                changes: Some(json!({
                    "kind": {"before": null, "after": kind.as_str()},
                    "parameters": {"before": null, "after": row.parameters.0},
                })),
            },
        )?;
        Ok(run_id)
    })?;
    persistence::model_runs::find(conn, run_id)?.ok_or(AppError::NotFound)
}

/// Queues a new run with the request of run `id`: its defaults resolve again today
/// (`analytics:run`).
pub fn rerun(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<ModelRun> {
    acting.require(Permission::AnalyticsRun)?;
    let run = get(conn, acting, id)?.run;
    let request: RunRequest = serde_json::from_value(run.row.request.0)
        .map_err(|err| AppError::Internal(format!("stored run request: {err}")))?;
    start(conn, acting, request)
}

/// A run as read back, with whether it is the latest succeeded run of its kind: the
/// one whose scores are current.
#[derive(Debug, Clone)]
pub struct RunView {
    pub run: ModelRun,
    pub current: bool,
}

/// One run with its job's status and progress.
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<RunView> {
    require_reader(acting)?;
    let run = persistence::model_runs::find(conn, id)?.ok_or(AppError::NotFound)?;
    view(conn, run)
}

fn view(conn: &mut DbConnection, run: ModelRun) -> AppResult<RunView> {
    let current = persistence::model_runs::latest_succeeded(conn, &run.row.kind)?
        .is_some_and(|latest| latest.id == run.row.id);
    Ok(RunView { run, current })
}

/// Sort order of the run listing, as recorded in its cursors: newest first.
pub const ORDER: &str = "id:desc";

/// The cursor after `run` in [`ORDER`].
pub fn cursor_after(run: &RunView) -> Cursor {
    Cursor::new(ORDER, Vec::new(), run.run.row.id.0)
}

/// Runs newest first, optionally of one kind: `fetch` rows after `cursor`. Which runs
/// are current takes one query per kind on the page, not one per run.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    kind: Option<RunKind>,
    cursor: Option<&Cursor>,
    fetch: i64,
) -> AppResult<Vec<RunView>> {
    require_reader(acting)?;
    let before = cursor
        .map(|cursor| cursor.keyset(ORDER))
        .transpose()?
        .map(|keyset| keyset.id);
    let runs = persistence::model_runs::list(conn, kind.map(RunKind::as_str), before, fetch)?;
    let mut current_of_kind: HashMap<String, Option<Uuid>> = HashMap::new();
    runs.into_iter()
        .map(|run| {
            let current = match current_of_kind.get(&run.row.kind) {
                Some(current) => *current,
                None => {
                    let latest = persistence::model_runs::latest_succeeded(conn, &run.row.kind)?
                        .map(|latest| latest.id.0);
                    current_of_kind.insert(run.row.kind.clone(), latest);
                    latest
                }
            };
            Ok(RunView {
                current: current == Some(run.row.id.0),
                run,
            })
        })
        .collect()
}

/// Cancels a queued or running run (`analytics:run`): a queued run will not start; a
/// running one stops at its next step unless it is already storing its scores, which
/// it then finishes. A finished run cannot be cancelled (a conflict).
pub fn cancel(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<RunView> {
    acting.require(Permission::AnalyticsRun)?;
    let run = get(conn, acting, id)?.run;
    transaction(conn, |conn| {
        let job = persistence::jobs::cancel(conn, run.row.job_id.0)?;
        audit::record(
            conn,
            &acting.audit_actor(),
            NewAuditEvent {
                action: "model_run.cancel",
                resource_type: "model_run",
                resource_id: Some(id.to_string()),
                changes: Some(json!({"status": {"before": run.job_status, "after": job.status}})),
            },
        )?;
        Ok(())
    })?;
    get(conn, acting, id)
}

/// The resolved parameters a stored run uses.
pub fn parameters(row: &ModelRunRow) -> AppResult<RunParameters> {
    let corrupt = |err: String| AppError::Internal(format!("stored run parameters: {err}"));
    let kind =
        RunKind::parse(&row.kind).ok_or_else(|| corrupt(format!("unknown kind `{}`", row.kind)))?;
    RunParameters::from_stored(kind, row.parameters.0.clone())
        .map_err(|err| corrupt(err.to_string()))
}

fn to_json(value: &impl Serialize) -> AppResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|err| AppError::Internal(err.to_string()))
}
