//! Workflow definitions, their versions, runs and the runs' step logs. A run is unique
//! per workflow and occurrence of its trigger (`workflow_runs_occurrence_key`): the
//! insert that starts runs skips the ones that exist, so an occurrence announced twice
//! (a retried job, a second process) starts one run.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::filter::ResolvedFilter;
use domain::workflows::{DateField, DueField};
use uuid::Uuid;

use crate::customers::search::CustomerColumns;
use crate::db::{DbConnection, MultiBackend};
use crate::filter::{condition, SearchError};
use crate::leads::LeadColumns;
use crate::schema::{
    customer_custom_values, customers, leads, workflow_run_steps, workflow_runs, workflow_versions,
    workflows,
};
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::PersistenceError;

const DUPLICATE_NAME: &str = "a workflow with this name already exists";

/// Rows per `INSERT`, well below SQLite's bound-parameter limit.
const CHUNK: usize = 500;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = workflows, treat_none_as_null = true)]
pub struct WorkflowRow {
    pub id: DbUuid,
    pub name: String,
    pub description: Option<String>,
    pub trigger_kind: String,
    pub trigger_key: String,
    /// The current version's definition as written (trigger, condition, steps).
    pub definition: DbJson,
    pub active: bool,
    pub version: i64,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = workflow_versions)]
pub struct VersionRow {
    pub workflow_id: DbUuid,
    pub version: i64,
    pub definition: DbJson,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = workflow_runs, treat_none_as_default_value = false)]
pub struct RunRow {
    pub id: DbUuid,
    pub workflow_id: DbUuid,
    pub version: i64,
    /// The customer the run is about, for a workflow on customers.
    pub customer_id: Option<DbUuid>,
    pub occurrence: String,
    pub cause: DbJson,
    pub status: String,
    pub position: i32,
    pub resume_at: Option<DbTime>,
    pub depth: i32,
    pub reason: Option<String>,
    pub started_at: DbTime,
    pub updated_at: DbTime,
    pub finished_at: Option<DbTime>,
    /// The lead the run is about, for a workflow on leads.
    pub lead_id: Option<DbUuid>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = workflow_run_steps, treat_none_as_default_value = false)]
pub struct StepRow {
    pub id: DbUuid,
    pub run_id: DbUuid,
    pub position: i32,
    pub path: String,
    pub kind: String,
    pub outcome: String,
    pub detail: Option<DbJson>,
    pub at: DbTime,
}

/// Stores a new workflow with its first version.
pub fn insert(
    conn: &mut DbConnection,
    row: &WorkflowRow,
    version: &VersionRow,
) -> Result<(), PersistenceError> {
    diesel::insert_into(workflows::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_NAME))?;
    diesel::insert_into(workflow_versions::table)
        .values(version)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<WorkflowRow, PersistenceError> {
    workflows::table
        .find(DbUuid(id))
        .select(WorkflowRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// [`find`] holding the row until the transaction ends (PostgreSQL; SQLite's writer
/// lock serialises writers already).
pub fn find_for_update(conn: &mut DbConnection, id: Uuid) -> Result<WorkflowRow, PersistenceError> {
    if let DbConnection::Postgres(pg) = conn {
        workflows::table
            .find(DbUuid(id))
            .select(workflows::id)
            .for_update()
            .load::<DbUuid>(pg)?;
    }
    find(conn, id)
}

/// Writes `row` over the stored workflow and, when its definition changed (its version
/// is new), keeps the new version.
pub fn update(
    conn: &mut DbConnection,
    row: &WorkflowRow,
    version: Option<&VersionRow>,
) -> Result<(), PersistenceError> {
    diesel::update(workflows::table.find(row.id))
        .set(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_NAME))?;
    if let Some(version) = version {
        diesel::insert_into(workflow_versions::table)
            .values(version)
            .execute(conn)?;
    }
    Ok(())
}

/// Deletes a workflow with its versions and runs.
pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(workflows::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// Workflows in creation order after `after`; `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<WorkflowRow>, PersistenceError> {
    let query = workflows::table
        .select(WorkflowRow::as_select())
        .into_boxed::<MultiBackend>();
    Ok(crate::creation_order_page!(
        conn, workflows, query, after, limit
    )?)
}

/// The active workflows a trigger of `kind` naming one of `keys` starts.
pub fn triggered_by(
    conn: &mut DbConnection,
    kind: &str,
    keys: &[&str],
) -> Result<Vec<WorkflowRow>, PersistenceError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    Ok(workflows::table
        .filter(workflows::active.eq(true))
        .filter(workflows::trigger_kind.eq(kind))
        .filter(workflows::trigger_key.eq_any(keys))
        .order(workflows::id)
        .select(WorkflowRow::as_select())
        .load(conn)?)
}

/// The active workflows with a trigger of `kind`.
pub fn active_of_kind(
    conn: &mut DbConnection,
    kind: &str,
) -> Result<Vec<WorkflowRow>, PersistenceError> {
    Ok(workflows::table
        .filter(workflows::active.eq(true))
        .filter(workflows::trigger_kind.eq(kind))
        .order(workflows::id)
        .select(WorkflowRow::as_select())
        .load(conn)?)
}

pub fn find_version(
    conn: &mut DbConnection,
    workflow: Uuid,
    version: i64,
) -> Result<VersionRow, PersistenceError> {
    workflow_versions::table
        .find((DbUuid(workflow), version))
        .select(VersionRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Every version of a workflow, oldest first.
pub fn versions(
    conn: &mut DbConnection,
    workflow: Uuid,
) -> Result<Vec<VersionRow>, PersistenceError> {
    Ok(workflow_versions::table
        .filter(workflow_versions::workflow_id.eq(DbUuid(workflow)))
        .order(workflow_versions::version)
        .select(VersionRow::as_select())
        .load(conn)?)
}

/// Stores the runs whose occurrence is new for their workflow; answers the ids of
/// those stored.
pub fn start_runs(conn: &mut DbConnection, runs: &[RunRow]) -> Result<Vec<Uuid>, PersistenceError> {
    let mut started = Vec::with_capacity(runs.len());
    for chunk in runs.chunks(CHUNK) {
        let ids: Vec<DbUuid> = match conn {
            DbConnection::Postgres(pg) => diesel::insert_into(workflow_runs::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .returning(workflow_runs::id)
                .get_results(pg)?,
            DbConnection::Sqlite(sqlite) => diesel::insert_into(workflow_runs::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .returning(workflow_runs::id)
                .get_results(sqlite)?,
        };
        started.extend(ids.into_iter().map(|id| id.0));
    }
    Ok(started)
}

pub fn find_run(conn: &mut DbConnection, id: Uuid) -> Result<RunRow, PersistenceError> {
    workflow_runs::table
        .find(DbUuid(id))
        .select(RunRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// [`find_run`] holding the run until the transaction ends: one step of a run at a
/// time, and a cancellation waits for the step under way.
pub fn find_run_for_update(conn: &mut DbConnection, id: Uuid) -> Result<RunRow, PersistenceError> {
    if let DbConnection::Postgres(pg) = conn {
        workflow_runs::table
            .find(DbUuid(id))
            .select(workflow_runs::id)
            .for_update()
            .load::<DbUuid>(pg)?;
    }
    find_run(conn, id)
}

/// Where a run stands after a step.
pub struct RunProgress<'a> {
    pub status: &'a str,
    pub position: i32,
    pub resume_at: Option<DateTime<Utc>>,
    pub reason: Option<&'a str>,
    pub finished: bool,
}

pub fn advance(
    conn: &mut DbConnection,
    run: Uuid,
    progress: RunProgress<'_>,
) -> Result<(), PersistenceError> {
    let now = crate::now();
    diesel::update(workflow_runs::table.find(DbUuid(run)))
        .set((
            workflow_runs::status.eq(progress.status),
            workflow_runs::position.eq(progress.position),
            workflow_runs::resume_at.eq(progress.resume_at.map(DbTime)),
            workflow_runs::reason.eq(progress.reason),
            workflow_runs::updated_at.eq(DbTime(now)),
            workflow_runs::finished_at.eq(progress.finished.then_some(DbTime(now))),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn log_steps(conn: &mut DbConnection, steps: &[StepRow]) -> Result<(), PersistenceError> {
    for chunk in steps.chunks(CHUNK) {
        crate::insert_batch!(conn, workflow_run_steps::table, chunk)?;
    }
    Ok(())
}

/// A run's step log, oldest first.
pub fn steps_of(conn: &mut DbConnection, run: Uuid) -> Result<Vec<StepRow>, PersistenceError> {
    Ok(workflow_run_steps::table
        .filter(workflow_run_steps::run_id.eq(DbUuid(run)))
        .order((workflow_run_steps::at, workflow_run_steps::id))
        .select(StepRow::as_select())
        .load(conn)?)
}

/// Which runs a listing shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunFilter<'a> {
    pub workflow: Option<Uuid>,
    pub customer: Option<Uuid>,
    pub lead: Option<Uuid>,
    pub status: Option<&'a str>,
}

/// Runs in start order after `after`; `limit + 1` rows.
pub fn runs(
    conn: &mut DbConnection,
    filter: RunFilter<'_>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<RunRow>, PersistenceError> {
    let mut query = workflow_runs::table
        .select(RunRow::as_select())
        .into_boxed::<MultiBackend>();
    if let Some(workflow) = filter.workflow {
        query = query.filter(workflow_runs::workflow_id.eq(DbUuid(workflow)));
    }
    if let Some(customer) = filter.customer {
        query = query.filter(workflow_runs::customer_id.eq(DbUuid(customer)));
    }
    if let Some(lead) = filter.lead {
        query = query.filter(workflow_runs::lead_id.eq(DbUuid(lead)));
    }
    if let Some(status) = filter.status {
        query = query.filter(workflow_runs::status.eq(status.to_string()));
    }
    if let Some((at, id)) = after {
        query = query.filter(
            workflow_runs::started_at
                .gt(DbTime(at))
                .or(workflow_runs::started_at
                    .eq(DbTime(at))
                    .and(workflow_runs::id.gt(DbUuid(id)))),
        );
    }
    Ok(query
        .order((workflow_runs::started_at, workflow_runs::id))
        .limit(limit + 1)
        .load(conn)?)
}

/// The next `limit` customers after `after` (by id), not merged away, who match
/// `filter`.
pub fn customers_matching(
    conn: &mut DbConnection,
    filter: &ResolvedFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Uuid>, SearchError> {
    let mut query = customers::table
        .select(customers::id)
        .filter(customers::merged_into_id.is_null())
        .filter(condition::<CustomerColumns>(filter)?)
        .into_boxed::<MultiBackend>();
    if let Some(after) = after {
        query = query.filter(customers::id.gt(DbUuid(after)));
    }
    let ids: Vec<DbUuid> = query
        .order(customers::id)
        .limit(limit)
        .load(conn)
        .map_err(PersistenceError::from)?;
    Ok(ids.into_iter().map(|id| id.0).collect())
}

/// The next `limit` leads after `after` (by id), not converted, that match `filter`.
pub fn leads_matching(
    conn: &mut DbConnection,
    filter: Option<&ResolvedFilter>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Uuid>, SearchError> {
    let mut query = leads::table
        .select(leads::id)
        .filter(leads::status.ne("converted"))
        .into_boxed::<MultiBackend>();
    if let Some(filter) = filter {
        query = query.filter(condition::<LeadColumns>(filter)?);
    }
    if let Some(after) = after {
        query = query.filter(leads::id.gt(DbUuid(after)));
    }
    let ids: Vec<DbUuid> = query
        .order(leads::id)
        .limit(limit)
        .load(conn)
        .map_err(PersistenceError::from)?;
    Ok(ids.into_iter().map(|id| id.0).collect())
}

/// The customers (not erased, not merged away) whose `field` is one of `dates`, in id
/// order after `after`, at most `limit`.
pub fn customers_with_dates(
    conn: &mut DbConnection,
    field: DateField,
    dates: &[chrono::NaiveDate],
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Uuid>, PersistenceError> {
    let mut query = customers::table
        .select(customers::id)
        .filter(customers::erased_at.is_null())
        .filter(customers::merged_into_id.is_null())
        .into_boxed::<MultiBackend>();
    query = match field {
        DateField::BirthDate => query.filter(customers::birth_date.eq_any(dates.to_vec())),
        DateField::MarriageDate => query.filter(customers::marriage_date.eq_any(dates.to_vec())),
    };
    if let Some(after) = after {
        query = query.filter(customers::id.gt(DbUuid(after)));
    }
    let ids: Vec<DbUuid> = query.order(customers::id).limit(limit).load(conn)?;
    Ok(ids.into_iter().map(|id| id.0).collect())
}

/// Customers (not erased, not merged away) whose date `field` holds `day`, by id after
/// `after`; `limit` ids. Each column and custom date is indexed.
pub fn customers_due(
    conn: &mut DbConnection,
    field: &DueField,
    day: chrono::NaiveDate,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Uuid>, PersistenceError> {
    let mut query = customers::table
        .select(customers::id)
        .filter(customers::erased_at.is_null())
        .filter(customers::merged_into_id.is_null())
        .into_boxed::<MultiBackend>();
    query = match field {
        DueField::BirthDate => query.filter(customers::birth_date.eq(day)),
        DueField::MarriageDate => query.filter(customers::marriage_date.eq(day)),
        DueField::FoundingDate => query.filter(customers::founding_date.eq(day)),
        DueField::Custom(key) => query.filter(
            customers::id.eq_any(
                customer_custom_values::table
                    .select(customer_custom_values::customer_id)
                    .filter(customer_custom_values::field_key.eq(key.clone()))
                    .filter(customer_custom_values::date_value.eq(day)),
            ),
        ),
    };
    if let Some(after) = after {
        query = query.filter(customers::id.gt(DbUuid(after)));
    }
    let ids: Vec<DbUuid> = query.order(customers::id).limit(limit).load(conn)?;
    Ok(ids.into_iter().map(|id| id.0).collect())
}

/// The runs of one customer with their step logs (the personal-data export).
pub fn of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<RunRow>, PersistenceError> {
    Ok(workflow_runs::table
        .filter(workflow_runs::customer_id.eq(DbUuid(customer)))
        .order((workflow_runs::started_at, workflow_runs::id))
        .select(RunRow::as_select())
        .load(conn)?)
}

/// Deletes a customer's runs and their logs (erasure); answers how many runs there
/// were.
pub fn delete_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<usize, PersistenceError> {
    Ok(
        diesel::delete(
            workflow_runs::table.filter(workflow_runs::customer_id.eq(DbUuid(customer))),
        )
        .execute(conn)?,
    )
}
