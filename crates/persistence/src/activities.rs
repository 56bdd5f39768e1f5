//! Activities (S-7): the rows, their search catalogue and visibility (the performer,
//! the performer's team, and whoever may see the activity's subject record).

use diesel::prelude::*;
use domain::filter::SearchCriteria;
use uuid::Uuid;

use crate::customers::search::Scope;
use crate::db::{DbConnection, MultiBackend};
use crate::filter::{apply_search, Keyset, SearchColumn, SearchError, SearchTable};
use crate::schema::activities;
use crate::sql_types::{DbTime, DbUuid};
use crate::subjects::visible_by_subject;
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = activities, treat_none_as_null = true)]
pub struct ActivityRow {
    pub id: DbUuid,
    pub kind: String,
    pub customer_id: Option<DbUuid>,
    pub lead_id: Option<DbUuid>,
    pub deal_id: Option<DbUuid>,
    pub occurred_at: DbTime,
    pub duration_minutes: Option<i32>,
    pub direction: Option<String>,
    pub outcome: Option<String>,
    pub notes: Option<String>,
    pub performed_by: Option<DbUuid>,
    pub team_id: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl ActivityRow {
    /// What the audit trail records of an activity.
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind,
            "customer_id": self.customer_id.map(|id| id.0),
            "lead_id": self.lead_id.map(|id| id.0),
            "deal_id": self.deal_id.map(|id| id.0),
            "occurred_at": self.occurred_at.0,
            "duration_minutes": self.duration_minutes,
            "direction": self.direction,
            "outcome": self.outcome,
            "notes": self.notes,
            "performed_by": self.performed_by.map(|id| id.0),
            "team_id": self.team_id.map(|id| id.0),
        })
    }
}

pub fn insert(conn: &mut DbConnection, row: &ActivityRow) -> Result<(), PersistenceError> {
    diesel::insert_into(activities::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<ActivityRow, PersistenceError> {
    activities::table
        .find(DbUuid(id))
        .select(ActivityRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// [`find`], holding the row until the transaction ends (PostgreSQL; SQLite's write
/// lock already serialises writers), so that concurrent changes apply one after the
/// other and the second sees the first's version.
pub fn find_for_update(conn: &mut DbConnection, id: Uuid) -> Result<ActivityRow, PersistenceError> {
    if let DbConnection::Postgres(pg) = conn {
        activities::table
            .find(DbUuid(id))
            .select(activities::id)
            .for_update()
            .load::<DbUuid>(pg)?;
    }
    find(conn, id)
}

/// Writes `row` over the stored activity with the same id, its version one more.
pub fn update(conn: &mut DbConnection, row: &ActivityRow) -> Result<ActivityRow, PersistenceError> {
    let mut row = row.clone();
    row.version += 1;
    row.updated_at = DbTime(crate::now());
    diesel::update(activities::table.find(row.id))
        .set(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(activities::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// The newest activities on any of `customers`, `leads` or `deals` (the 360 view), at
/// most `limit`.
pub fn latest_on(
    conn: &mut DbConnection,
    customers: &[Uuid],
    leads: &[Uuid],
    deals: &[Uuid],
    limit: i64,
) -> Result<Vec<ActivityRow>, PersistenceError> {
    let ids = |ids: &[Uuid]| ids.iter().copied().map(DbUuid).collect::<Vec<_>>();
    Ok(activities::table
        .filter(
            activities::customer_id
                .eq_any(ids(customers))
                .or(activities::lead_id.eq_any(ids(leads)))
                .or(activities::deal_id.eq_any(ids(deals))),
        )
        .order((activities::occurred_at.desc(), activities::id.desc()))
        .limit(limit)
        .select(ActivityRow::as_select())
        .load(conn)?)
}

/// Every activity on the customer (personal-data export), oldest first.
pub fn all_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<ActivityRow>, PersistenceError> {
    Ok(activities::table
        .filter(activities::customer_id.eq(DbUuid(customer)))
        .order((activities::occurred_at, activities::id))
        .select(ActivityRow::as_select())
        .load(conn)?)
}

/// The ids of the activities on `customer` (merges move them with the customer).
pub fn ids_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<Uuid>, PersistenceError> {
    Ok(activities::table
        .filter(activities::customer_id.eq(DbUuid(customer)))
        .select(activities::id)
        .load::<DbUuid>(conn)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

/// Moves activities to another customer (merges and their undo).
pub fn move_to(
    conn: &mut DbConnection,
    ids: &[Uuid],
    customer: Uuid,
) -> Result<(), PersistenceError> {
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        diesel::update(activities::table.filter(activities::id.eq_any(chunk)))
            .set(activities::customer_id.eq(DbUuid(customer)))
            .execute(conn)?;
    }
    Ok(())
}

/// Empties the free text (outcome and notes) of the customer's activities (erasure);
/// what happened when stays for the aggregates. Answers how many activities changed.
pub fn redact_all(conn: &mut DbConnection, customer: Uuid) -> Result<usize, PersistenceError> {
    Ok(
        diesel::update(activities::table.filter(activities::customer_id.eq(DbUuid(customer))))
            .set((
                activities::outcome.eq(None::<String>),
                activities::notes.eq(None::<String>),
                activities::updated_at.eq(DbTime(crate::now())),
                activities::version.eq(activities::version + 1),
            ))
            .execute(conn)?,
    )
}

/// Column mapping of the activities catalogue.
pub struct ActivityColumns;

impl SearchTable for ActivityColumns {
    type Table = activities::table;

    fn column(field: &str) -> Option<SearchColumn<activities::table>> {
        use activities as a;
        Some(match field {
            "id" => SearchColumn::Uuid(|| Box::new(a::id.nullable())),
            "kind" => SearchColumn::Text(|| Box::new(a::kind.nullable())),
            "customer_id" => SearchColumn::Uuid(|| Box::new(a::customer_id)),
            "lead_id" => SearchColumn::Uuid(|| Box::new(a::lead_id)),
            "deal_id" => SearchColumn::Uuid(|| Box::new(a::deal_id)),
            "occurred_at" => SearchColumn::Timestamp(|| Box::new(a::occurred_at.nullable())),
            "direction" => SearchColumn::Text(|| Box::new(a::direction)),
            "outcome" => SearchColumn::Text(|| Box::new(a::outcome)),
            "performed_by" => SearchColumn::Uuid(|| Box::new(a::performed_by)),
            "team_id" => SearchColumn::Uuid(|| Box::new(a::team_id)),
            "created_at" => SearchColumn::Timestamp(|| Box::new(a::created_at.nullable())),
            _ => return None,
        })
    }
}

/// The next `limit` activities `scope` may see that match `criteria`.
pub fn search(
    conn: &mut DbConnection,
    criteria: &SearchCriteria,
    scope: &Scope,
    after: Option<&Keyset>,
    limit: i64,
) -> Result<Vec<ActivityRow>, SearchError> {
    let query = visible_by_subject!(
        activities::table
            .select(ActivityRow::as_select())
            .into_boxed::<MultiBackend>(),
        scope,
        activities,
        performed_by
    );
    let query = apply_search::<ActivityColumns, _>(query, criteria, after)?;
    Ok(query
        .limit(limit)
        .load(conn)
        .map_err(PersistenceError::from)?)
}
