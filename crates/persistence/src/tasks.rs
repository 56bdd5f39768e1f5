//! Tasks (S-7): the rows, their search catalogue and visibility (the assignee, the
//! assignee's team, and whoever may see the task's subject record).

use diesel::prelude::*;
use domain::filter::SearchCriteria;
use uuid::Uuid;

use crate::customers::search::Scope;
use crate::db::{DbConnection, MultiBackend};
use crate::filter::{apply_search, Keyset, SearchColumn, SearchError, SearchTable};
use crate::schema::tasks;
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::subjects::visible_by_subject;
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = tasks, treat_none_as_null = true)]
pub struct TaskRow {
    pub id: DbUuid,
    pub kind: String,
    pub title: String,
    pub description: Option<String>,
    pub customer_id: Option<DbUuid>,
    pub lead_id: Option<DbUuid>,
    pub deal_id: Option<DbUuid>,
    pub assignee_id: Option<DbUuid>,
    pub team_id: Option<DbUuid>,
    pub due_at: Option<DbTime>,
    pub priority: String,
    /// Minutes before `due_at`: a JSON array of integers.
    pub reminders: DbJson,
    pub status: String,
    pub outcome: Option<String>,
    pub completed_at: Option<DbTime>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl TaskRow {
    /// What the audit trail records of a task.
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind,
            "title": self.title,
            "description": self.description,
            "customer_id": self.customer_id.map(|id| id.0),
            "lead_id": self.lead_id.map(|id| id.0),
            "deal_id": self.deal_id.map(|id| id.0),
            "assignee_id": self.assignee_id.map(|id| id.0),
            "team_id": self.team_id.map(|id| id.0),
            "due_at": self.due_at.map(|at| at.0),
            "priority": self.priority,
            "reminders": self.reminders.0,
            "status": self.status,
            "outcome": self.outcome,
            "completed_at": self.completed_at.map(|at| at.0),
        })
    }

    /// The reminder offsets as stored.
    pub fn reminder_offsets(&self) -> Result<Vec<i64>, PersistenceError> {
        serde_json::from_value(self.reminders.0.clone()).map_err(|err| {
            PersistenceError::Corrupt(format!("task {} reminders: {err}", self.id.0))
        })
    }
}

pub fn insert(conn: &mut DbConnection, row: &TaskRow) -> Result<(), PersistenceError> {
    diesel::insert_into(tasks::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<TaskRow, PersistenceError> {
    tasks::table
        .find(DbUuid(id))
        .select(TaskRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// [`find`] holding the row until the transaction ends (PostgreSQL; SQLite's writer
/// lock already serialises writers), so that two changes of one task queue.
pub fn find_for_update(conn: &mut DbConnection, id: Uuid) -> Result<TaskRow, PersistenceError> {
    if let DbConnection::Postgres(pg) = conn {
        tasks::table
            .find(DbUuid(id))
            .select(tasks::id)
            .for_update()
            .load::<DbUuid>(pg)?;
    }
    find(conn, id)
}

/// Writes `row` over the stored task with the same id, its version one more.
pub fn update(conn: &mut DbConnection, row: &TaskRow) -> Result<TaskRow, PersistenceError> {
    let mut row = row.clone();
    row.version += 1;
    row.updated_at = DbTime(crate::now());
    diesel::update(tasks::table.find(row.id))
        .set(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(tasks::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// The open tasks on any of `customers`, `leads` or `deals` (the 360 view), soonest due
/// first (those without a due time last), at most `limit`.
pub fn open_on(
    conn: &mut DbConnection,
    customers: &[Uuid],
    leads: &[Uuid],
    deals: &[Uuid],
    limit: i64,
) -> Result<Vec<TaskRow>, PersistenceError> {
    let ids = |ids: &[Uuid]| ids.iter().copied().map(DbUuid).collect::<Vec<_>>();
    Ok(tasks::table
        .filter(tasks::status.eq("open"))
        .filter(
            tasks::customer_id
                .eq_any(ids(customers))
                .or(tasks::lead_id.eq_any(ids(leads)))
                .or(tasks::deal_id.eq_any(ids(deals))),
        )
        .order((tasks::due_at.is_null(), tasks::due_at, tasks::id))
        .limit(limit)
        .select(TaskRow::as_select())
        .load(conn)?)
}

/// Every task on the customer (personal-data export), oldest first.
pub fn all_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<TaskRow>, PersistenceError> {
    Ok(tasks::table
        .filter(tasks::customer_id.eq(DbUuid(customer)))
        .order((tasks::created_at, tasks::id))
        .select(TaskRow::as_select())
        .load(conn)?)
}

/// The ids of the tasks on `customer` (merges move them with the customer).
pub fn ids_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<Uuid>, PersistenceError> {
    Ok(tasks::table
        .filter(tasks::customer_id.eq(DbUuid(customer)))
        .select(tasks::id)
        .load::<DbUuid>(conn)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

/// Moves tasks to another customer (merges and their undo). Their version stays: the
/// queued reminders are keyed by it and still hold for the same due time.
pub fn move_to(
    conn: &mut DbConnection,
    ids: &[Uuid],
    customer: Uuid,
) -> Result<(), PersistenceError> {
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        diesel::update(tasks::table.filter(tasks::id.eq_any(chunk)))
            .set(tasks::customer_id.eq(DbUuid(customer)))
            .execute(conn)?;
    }
    Ok(())
}

/// Replaces the free text of the customer's tasks (erasure): the description and the
/// outcome are emptied and the title becomes `title`. Answers how many tasks changed.
pub fn redact_all(
    conn: &mut DbConnection,
    customer: Uuid,
    title: &str,
) -> Result<usize, PersistenceError> {
    Ok(
        diesel::update(tasks::table.filter(tasks::customer_id.eq(DbUuid(customer))))
            .set((
                tasks::title.eq(title),
                tasks::description.eq(None::<String>),
                tasks::outcome.eq(None::<String>),
                tasks::updated_at.eq(DbTime(crate::now())),
                tasks::version.eq(tasks::version + 1),
            ))
            .execute(conn)?,
    )
}

/// Column mapping of the tasks catalogue.
pub struct TaskColumns;

impl SearchTable for TaskColumns {
    type Table = tasks::table;

    fn column(field: &str) -> Option<SearchColumn<tasks::table>> {
        use tasks as t;
        Some(match field {
            "id" => SearchColumn::Uuid(|| Box::new(t::id.nullable())),
            "kind" => SearchColumn::Text(|| Box::new(t::kind.nullable())),
            "title" => SearchColumn::Text(|| Box::new(t::title.nullable())),
            "customer_id" => SearchColumn::Uuid(|| Box::new(t::customer_id)),
            "lead_id" => SearchColumn::Uuid(|| Box::new(t::lead_id)),
            "deal_id" => SearchColumn::Uuid(|| Box::new(t::deal_id)),
            "assignee_id" => SearchColumn::Uuid(|| Box::new(t::assignee_id)),
            "team_id" => SearchColumn::Uuid(|| Box::new(t::team_id)),
            "due_at" => SearchColumn::Timestamp(|| Box::new(t::due_at)),
            "priority" => SearchColumn::Text(|| Box::new(t::priority.nullable())),
            "status" => SearchColumn::Text(|| Box::new(t::status.nullable())),
            "completed_at" => SearchColumn::Timestamp(|| Box::new(t::completed_at)),
            "created_by" => SearchColumn::Uuid(|| Box::new(t::created_by)),
            "created_at" => SearchColumn::Timestamp(|| Box::new(t::created_at.nullable())),
            "updated_at" => SearchColumn::Timestamp(|| Box::new(t::updated_at.nullable())),
            _ => return None,
        })
    }
}

/// The next `limit` tasks `scope` may see that match `criteria`.
pub fn search(
    conn: &mut DbConnection,
    criteria: &SearchCriteria,
    scope: &Scope,
    after: Option<&Keyset>,
    limit: i64,
) -> Result<Vec<TaskRow>, SearchError> {
    let query = visible_by_subject!(
        tasks::table
            .select(TaskRow::as_select())
            .into_boxed::<MultiBackend>(),
        scope,
        tasks,
        assignee_id
    );
    let query = apply_search::<TaskColumns, _>(query, criteria, after)?;
    Ok(query
        .limit(limit)
        .load(conn)
        .map_err(PersistenceError::from)?)
}
