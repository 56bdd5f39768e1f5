//! What happened to a customer over time: lifecycle transitions (C-8) and owner changes
//! (C-5: notes stay, the hand-over is recorded).

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::{customers, lifecycle_transitions, owner_changes};
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = lifecycle_transitions, treat_none_as_default_value = false)]
pub struct LifecycleTransitionRow {
    pub id: DbUuid,
    pub customer_id: DbUuid,
    pub from_stage: Option<String>,
    pub to_stage: String,
    pub reason: String,
    pub changed_by: Option<DbUuid>,
    pub changed_at: DbTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = owner_changes)]
pub struct OwnerChangeRow {
    pub id: DbUuid,
    pub customer_id: DbUuid,
    pub from_owner_id: Option<DbUuid>,
    pub to_owner_id: Option<DbUuid>,
    pub changed_by: Option<DbUuid>,
    pub changed_at: DbTime,
}

pub fn record_transitions(
    conn: &mut DbConnection,
    rows: &[LifecycleTransitionRow],
) -> Result<(), PersistenceError> {
    for chunk in rows.chunks(2_000) {
        crate::copy_rows!(conn, lifecycle_transitions::table, chunk)?;
    }
    Ok(())
}

pub fn record_owner_changes(
    conn: &mut DbConnection,
    rows: &[OwnerChangeRow],
) -> Result<(), PersistenceError> {
    for chunk in rows.chunks(2_000) {
        crate::insert_batch!(conn, owner_changes::table, chunk)?;
    }
    Ok(())
}

/// The customer's transitions, oldest first.
pub fn transitions(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<LifecycleTransitionRow>, PersistenceError> {
    Ok(lifecycle_transitions::table
        .filter(lifecycle_transitions::customer_id.eq(DbUuid(customer)))
        .order((lifecycle_transitions::changed_at, lifecycle_transitions::id))
        .select(LifecycleTransitionRow::as_select())
        .load(conn)?)
}

/// The customer's owner changes, oldest first.
pub fn owner_changes(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<OwnerChangeRow>, PersistenceError> {
    Ok(owner_changes::table
        .filter(owner_changes::customer_id.eq(DbUuid(customer)))
        .order((owner_changes::changed_at, owner_changes::id))
        .select(OwnerChangeRow::as_select())
        .load(conn)?)
}

/// Moves history rows of `from` customers to `to` (merge) and back (undo), by row id.
pub fn move_rows(
    conn: &mut DbConnection,
    transition_ids: &[Uuid],
    owner_change_ids: &[Uuid],
    to: Uuid,
) -> Result<(), PersistenceError> {
    let t: Vec<DbUuid> = transition_ids.iter().copied().map(DbUuid).collect();
    let o: Vec<DbUuid> = owner_change_ids.iter().copied().map(DbUuid).collect();
    diesel::update(lifecycle_transitions::table.filter(lifecycle_transitions::id.eq_any(t)))
        .set(lifecycle_transitions::customer_id.eq(DbUuid(to)))
        .execute(conn)?;
    diesel::update(owner_changes::table.filter(owner_changes::id.eq_any(o)))
        .set(owner_changes::customer_id.eq(DbUuid(to)))
        .execute(conn)?;
    Ok(())
}

/// Bumps the version and update time of customers whose tags, groups or tier changed
/// outside a whole-record write, so their ETags change.
pub fn touch(conn: &mut DbConnection, ids: &[Uuid]) -> Result<(), PersistenceError> {
    let now = DbTime(crate::now());
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        diesel::update(customers::table.filter(customers::id.eq_any(chunk)))
            .set((
                customers::version.eq(customers::version + 1),
                customers::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Moves customers to `stage` outside a whole-record write (the lifecycle rules),
/// bumping their versions so their ETags change. The caller records the transitions.
pub fn set_stage(
    conn: &mut DbConnection,
    ids: &[Uuid],
    stage: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), PersistenceError> {
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        diesel::update(customers::table.filter(customers::id.eq_any(chunk)))
            .set((
                customers::lifecycle_stage.eq(stage),
                customers::lifecycle_changed_at.eq(DbTime(at)),
                customers::version.eq(customers::version + 1),
                customers::updated_at.eq(DbTime(at)),
            ))
            .execute(conn)?;
    }
    Ok(())
}
