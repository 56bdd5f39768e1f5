//! Schedules of model runs: a run request, the cron pattern of its times and the
//! occurrence queued next.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::model_run_schedules;
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = model_run_schedules, treat_none_as_default_value = false)]
pub struct ScheduleRow {
    pub id: DbUuid,
    pub kind: String,
    /// The run request, as `POST /analytics/runs` takes it; defaults resolve at each
    /// occurrence.
    pub request: DbJson,
    pub cron: String,
    pub enabled: bool,
    /// The occurrence queued, when enabled.
    pub next_run_at: Option<DbTime>,
    /// The run the latest occurrence started.
    pub last_run_id: Option<DbUuid>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

pub fn insert(conn: &mut DbConnection, row: &ScheduleRow) -> Result<(), PersistenceError> {
    diesel::insert_into(model_run_schedules::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<Option<ScheduleRow>, PersistenceError> {
    Ok(model_run_schedules::table
        .find(DbUuid(id))
        .select(ScheduleRow::as_select())
        .first(conn)
        .optional()?)
}

/// Schedules in creation order after the keyset cursor `after` (an id); `limit + 1`
/// rows so the caller can tell whether more follow.
pub fn list(
    conn: &mut DbConnection,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<ScheduleRow>, PersistenceError> {
    let mut query = model_run_schedules::table
        .select(ScheduleRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(model_run_schedules::id.gt(DbUuid(after)));
    }
    Ok(query
        .order(model_run_schedules::id)
        .limit(limit + 1)
        .load(conn)?)
}

/// Every enabled schedule (few: one per kind and purpose), for queueing their next
/// occurrences when a process starts.
pub fn enabled(conn: &mut DbConnection) -> Result<Vec<ScheduleRow>, PersistenceError> {
    Ok(model_run_schedules::table
        .filter(model_run_schedules::enabled.eq(true))
        .order(model_run_schedules::id)
        .select(ScheduleRow::as_select())
        .load(conn)?)
}

/// Writes the caller's fields of `row` if its version is still the stored one.
pub fn update(conn: &mut DbConnection, row: &ScheduleRow) -> Result<ScheduleRow, PersistenceError> {
    let updated = diesel::update(
        model_run_schedules::table
            .filter(model_run_schedules::id.eq(row.id))
            .filter(model_run_schedules::version.eq(row.version)),
    )
    .set((
        model_run_schedules::kind.eq(&row.kind),
        model_run_schedules::request.eq(&row.request),
        model_run_schedules::cron.eq(&row.cron),
        model_run_schedules::enabled.eq(row.enabled),
        model_run_schedules::next_run_at.eq(row.next_run_at),
        model_run_schedules::updated_at.eq(DbTime(crate::now())),
        model_run_schedules::version.eq(row.version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(match find(conn, row.id.0)? {
            Some(_) => PersistenceError::StaleVersion,
            None => PersistenceError::NotFound,
        });
    }
    find(conn, row.id.0)?.ok_or(PersistenceError::NotFound)
}

/// Records that the occurrence `occurred` ran (starting `run`, if it did) and queues
/// `next`, unless the schedule moved on meanwhile (changed or disabled): answers
/// whether it had not.
pub fn advance(
    conn: &mut DbConnection,
    id: Uuid,
    occurred: DateTime<Utc>,
    run: Option<Uuid>,
    next: Option<DateTime<Utc>>,
) -> Result<bool, PersistenceError> {
    let current = model_run_schedules::table
        .filter(model_run_schedules::id.eq(DbUuid(id)))
        .filter(model_run_schedules::enabled.eq(true))
        .filter(model_run_schedules::next_run_at.eq(DbTime(occurred)));
    let updated = match run {
        Some(run) => diesel::update(current)
            .set((
                model_run_schedules::next_run_at.eq(next.map(DbTime)),
                model_run_schedules::last_run_id.eq(Some(DbUuid(run))),
            ))
            .execute(conn)?,
        None => diesel::update(current)
            .set(model_run_schedules::next_run_at.eq(next.map(DbTime)))
            .execute(conn)?,
    };
    Ok(updated > 0)
}

pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<bool, PersistenceError> {
    Ok(diesel::delete(model_run_schedules::table.find(DbUuid(id))).execute(conn)? > 0)
}
