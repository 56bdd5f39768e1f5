//! Model runs on a schedule: a run request repeated at the times a cron pattern
//! names on the business's wall clock (its time zone). Defaults such as "today" resolve
//! again at each occurrence.
//!
//! Each occurrence is a job (`analytics.scheduled_run`) queued with an occurrence key
//! naming the schedule and the time, so every server process may queue it (at start,
//! and when the previous occurrence runs) and exactly one row exists; the worker's claim
//! lets one process run it. An occurrence whose schedule was changed, disabled or
//! deleted after it was queued does nothing. One that finds a run of the same kind still
//! going is skipped (recorded in its job's result), and the next is queued either way.
//!
//! Changing schedules needs `analytics:run`; reading them, as reading runs, `records:read`
//! with visibility `all`.

use chrono::{DateTime, Utc};
use domain::authz::Permission;
use domain::calendar::LocalCalendar;
use domain::cron::CronPattern;
use domain::model_runs::RunRequest;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::jobs::NewJob;
use persistence::model_run_schedules::ScheduleRow;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::access::require_reader;
use super::runs;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::paging::Cursor;
use crate::precondition::Precondition;
use crate::transaction;

/// Job kind of one occurrence of a schedule.
pub const SCHEDULED_RUN: &str = "analytics.scheduled_run";

/// Attempts of an occurrence: it only queues a run, so a retry is safe (the schedule's
/// `next_run_at` tells whether it already did).
const OCCURRENCE_MAX_ATTEMPTS: i32 = 5;

/// What a schedule's caller sets: the run request, the cron pattern and whether it is
/// on. The editable view of a schedule (merge patches apply to it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"request": {"kind": "clv", "parameters": {"horizon_months": 12}},
                          "cron": "0 2 * * 6", "enabled": true}))]
pub struct ScheduleInput {
    /// As `POST /analytics/runs` takes it.
    pub request: RunRequest,
    /// Five fields — minute, hour, day of month, month, day of week (0 or 7 Sunday, 6
    /// Saturday) — on the business's wall clock; at most once an hour.
    pub cron: String,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// What an `analytics.scheduled_run` job is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OccurrencePayload {
    pub schedule_id: Uuid,
    /// The time the occurrence stands for.
    pub at: DateTime<Utc>,
}

fn to_json(value: &impl Serialize) -> AppResult<Value> {
    serde_json::to_value(value).map_err(|err| AppError::Internal(err.to_string()))
}

/// The stored request of a schedule.
pub fn request_of(row: &ScheduleRow) -> AppResult<RunRequest> {
    serde_json::from_value(row.request.0.clone())
        .map_err(|err| AppError::Internal(format!("stored schedule request: {err}")))
}

/// The editable view of a stored schedule.
pub fn input_of(row: &ScheduleRow) -> AppResult<ScheduleInput> {
    Ok(ScheduleInput {
        request: request_of(row)?,
        cron: row.cron.clone(),
        enabled: row.enabled,
    })
}

/// Checks `input` now (the pattern, and the request's parameters against today) and
/// answers its pattern.
fn checked(
    conn: &mut DbConnection,
    input: &ScheduleInput,
) -> AppResult<(CronPattern, LocalCalendar)> {
    let local = crate::settings::calendar(conn)?.local();
    let now = persistence::now();
    let mut violations = Vec::new();
    if let Err(mut request) = input.request.resolve(local.today(now)) {
        for violation in &mut request {
            violation.field = format!("request.{}", violation.field);
        }
        violations.extend(request);
    }
    let pattern = CronPattern::parse("cron", &input.cron, now, local.time_zone);
    match pattern {
        Ok(pattern) if violations.is_empty() => Ok((pattern, local)),
        Ok(_) => Err(AppError::Invalid(violations)),
        Err(violation) => {
            violations.push(violation);
            Err(AppError::Invalid(violations))
        }
    }
}

/// Queues the occurrence `row.next_run_at` of an enabled schedule, unless it is queued
/// already.
fn queue_next(conn: &mut DbConnection, row: &ScheduleRow) -> AppResult<()> {
    let (true, Some(at)) = (row.enabled, row.next_run_at) else {
        return Ok(());
    };
    let payload = to_json(&OccurrencePayload {
        schedule_id: row.id.0,
        at: at.0,
    })?;
    persistence::jobs::schedule(
        conn,
        NewJob {
            kind: SCHEDULED_RUN,
            payload,
            run_at: at.0,
            max_attempts: OCCURRENCE_MAX_ATTEMPTS,
            created_by: row.created_by.map(|id| id.0),
        },
        &format!("{SCHEDULED_RUN}:{}:{}", row.id.0, at.0.to_rfc3339()),
    )?;
    Ok(())
}

/// Creates a schedule (`analytics:run`) and queues its first occurrence.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: ScheduleInput,
) -> AppResult<ScheduleRow> {
    acting.require(Permission::AnalyticsRun)?;
    let (pattern, local) = checked(conn, &input)?;
    let now = persistence::now();
    let row = ScheduleRow {
        id: DbUuid(Uuid::now_v7()),
        kind: input.request.kind().as_str().to_string(),
        request: DbJson(to_json(&input.request)?),
        cron: pattern.as_str().to_string(),
        enabled: input.enabled,
        next_run_at: input
            .enabled
            .then(|| pattern.next_after(now, local.time_zone))
            .flatten()
            .map(DbTime),
        last_run_id: None,
        created_by: acting.user_id.map(DbUuid),
        created_at: DbTime(now),
        updated_at: DbTime(now),
        version: 1,
    };
    transaction(conn, |conn| {
        persistence::model_run_schedules::insert(conn, &row)?;
        queue_next(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "model_run_schedule.create",
            "model_run_schedule",
            row.id.0,
            &Value::Null,
            &snapshot(&row),
        )?;
        Ok(())
    })?;
    Ok(row)
}

fn snapshot(row: &ScheduleRow) -> Value {
    json!({"request": row.request.0, "cron": row.cron, "enabled": row.enabled})
}

pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<ScheduleRow> {
    require_reader(acting)?;
    persistence::model_run_schedules::find(conn, id)?.ok_or(AppError::NotFound)
}

/// Sort order of the schedule listing, as recorded in its cursors.
pub const ORDER: &str = "id:asc";

pub fn cursor_after(row: &ScheduleRow) -> Cursor {
    Cursor::new(ORDER, Vec::new(), row.id.0)
}

/// Schedules in creation order: `fetch` rows after `cursor`.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    cursor: Option<&Cursor>,
    fetch: i64,
) -> AppResult<Vec<ScheduleRow>> {
    require_reader(acting)?;
    let after = cursor
        .map(|cursor| cursor.keyset(ORDER))
        .transpose()?
        .map(|keyset| keyset.id);
    Ok(persistence::model_run_schedules::list(conn, after, fetch)?)
}

/// Changes a schedule to what `edit` makes of it (`analytics:run`); its next
/// occurrence is computed again from now, so a changed pattern takes effect at once
/// and the occurrence queued before does nothing.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&ScheduleInput) -> AppResult<ScheduleInput>,
) -> AppResult<ScheduleRow> {
    acting.require(Permission::AnalyticsRun)?;
    transaction(conn, |conn| {
        let current =
            persistence::model_run_schedules::find(conn, id)?.ok_or(AppError::NotFound)?;
        precondition.check(id, current.version)?;
        let input = edit(&input_of(&current)?)?;
        let (pattern, local) = checked(conn, &input)?;
        let mut row = current.clone();
        row.kind = input.request.kind().as_str().to_string();
        row.request = DbJson(to_json(&input.request)?);
        row.cron = pattern.as_str().to_string();
        row.enabled = input.enabled;
        row.next_run_at = input
            .enabled
            .then(|| pattern.next_after(persistence::now(), local.time_zone))
            .flatten()
            .map(DbTime);
        let row = persistence::model_run_schedules::update(conn, &row)?;
        queue_next(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "model_run_schedule.update",
            "model_run_schedule",
            id,
            &snapshot(&current),
            &snapshot(&row),
        )?;
        Ok(row)
    })
}

/// Deletes a schedule (`analytics:run`); runs it started stay.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::AnalyticsRun)?;
    transaction(conn, |conn| {
        let current =
            persistence::model_run_schedules::find(conn, id)?.ok_or(AppError::NotFound)?;
        precondition.check(id, current.version)?;
        persistence::model_run_schedules::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "model_run_schedule.delete",
            "model_run_schedule",
            id,
            &snapshot(&current),
            &Value::Null,
        )?;
        Ok(())
    })
}

/// Queues the next occurrence of every enabled schedule (each process at start): one
/// missed while no process ran is queued for now, once.
pub fn queue_all(conn: &mut DbConnection) -> AppResult<usize> {
    let schedules = persistence::model_run_schedules::enabled(conn)?;
    for row in &schedules {
        queue_next(conn, row)?;
    }
    Ok(schedules.len())
}

/// Runs the occurrence `payload` names: queues a run of the schedule's request (as the
/// system, recorded with the schedule) unless the schedule moved on since, and queues
/// the next occurrence. Answers what happened, for the job's result.
pub fn run_occurrence(conn: &mut DbConnection, payload: &OccurrencePayload) -> AppResult<Value> {
    transaction(conn, |conn| {
        let Some(row) = persistence::model_run_schedules::find(conn, payload.schedule_id)? else {
            return Ok(json!({"skipped": "the schedule was deleted"}));
        };
        if !row.enabled || row.next_run_at.map(|at| at.0) != Some(payload.at) {
            return Ok(json!({"skipped": "the schedule was changed or disabled"}));
        }
        let local = crate::settings::calendar(conn)?.local();
        let now = persistence::now();
        let pattern = CronPattern::parse("cron", &row.cron, now, local.time_zone)
            .map_err(|violation| AppError::Internal(format!("stored schedule: {violation:?}")))?;
        let next = pattern.next_after(now.max(payload.at), local.time_zone);
        let acting = Acting::system(Lang::En);
        let outcome = match runs::start_scheduled(conn, &acting, request_of(&row)?, row.id.0) {
            Ok(run) => Ok(run.row.id.0),
            Err(AppError::Conflict(reason)) => Err(reason),
            Err(AppError::Invalid(violations)) => Err(violations
                .iter()
                .map(|violation| format!("{}: {}", violation.field, violation.message))
                .collect::<Vec<_>>()
                .join("; ")),
            Err(other) => return Err(other),
        };
        persistence::model_run_schedules::advance(
            conn,
            row.id.0,
            payload.at,
            outcome.as_ref().ok().copied(),
            next,
        )?;
        let mut advanced = row.clone();
        advanced.next_run_at = next.map(DbTime);
        queue_next(conn, &advanced)?;
        Ok(match outcome {
            Ok(run) => json!({"run_id": run, "next_run_at": next}),
            Err(reason) => json!({"skipped": reason, "next_run_at": next}),
        })
    })
}
