//! Static lead lists (S-1): named sets of leads. A list holds ids only; removing a lead
//! or a list removes its memberships (foreign keys with `ON DELETE CASCADE`).

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::{DbConnection, MultiBackend};
use crate::schema::{lead_list_members, lead_lists};
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

const DUPLICATE_NAME: &str = "a lead list with this name already exists";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = lead_lists, treat_none_as_null = true)]
pub struct LeadListRow {
    pub id: DbUuid,
    pub name: String,
    pub description: Option<String>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl LeadListRow {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({"name": self.name, "description": self.description})
    }
}

pub fn insert(conn: &mut DbConnection, row: &LeadListRow) -> Result<(), PersistenceError> {
    diesel::insert_into(lead_lists::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_NAME))?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<LeadListRow, PersistenceError> {
    lead_lists::table
        .find(DbUuid(id))
        .select(LeadListRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Writes `row` over the stored list, its version one more.
pub fn update(conn: &mut DbConnection, row: &LeadListRow) -> Result<LeadListRow, PersistenceError> {
    let mut row = row.clone();
    row.version += 1;
    row.updated_at = DbTime(crate::now());
    diesel::update(lead_lists::table.find(row.id))
        .set(&row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_NAME))?;
    Ok(row)
}

pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(lead_lists::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// Lists in creation order after `after`.
pub fn list(
    conn: &mut DbConnection,
    after: Option<(chrono::DateTime<chrono::Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<LeadListRow>, PersistenceError> {
    let mut query = lead_lists::table
        .select(LeadListRow::as_select())
        .into_boxed::<MultiBackend>();
    if let Some((at, id)) = after {
        query = query.filter(
            lead_lists::created_at
                .gt(DbTime(at))
                .or(lead_lists::created_at
                    .eq(DbTime(at))
                    .and(lead_lists::id.gt(DbUuid(id)))),
        );
    }
    Ok(query
        .order((lead_lists::created_at, lead_lists::id))
        .limit(limit)
        .load(conn)?)
}

/// Adds `leads` to list `list` (those already in it stay as they were); answers how
/// many were added.
pub fn add_members(
    conn: &mut DbConnection,
    list: Uuid,
    leads: &[Uuid],
    added_by: Option<Uuid>,
) -> Result<usize, PersistenceError> {
    let present: Vec<DbUuid> = lead_list_members::table
        .filter(lead_list_members::list_id.eq(DbUuid(list)))
        .filter(lead_list_members::lead_id.eq_any(leads.iter().copied().map(DbUuid)))
        .select(lead_list_members::lead_id)
        .load(conn)?;
    let now = DbTime(crate::now());
    let rows: Vec<_> = leads
        .iter()
        .copied()
        .map(DbUuid)
        .filter(|lead| !present.contains(lead))
        .map(|lead| {
            (
                lead_list_members::list_id.eq(DbUuid(list)),
                lead_list_members::lead_id.eq(lead),
                lead_list_members::added_by.eq(added_by.map(DbUuid)),
                lead_list_members::added_at.eq(now),
            )
        })
        .collect();
    for chunk in rows.chunks(500) {
        crate::insert_batch!(conn, lead_list_members::table, chunk)?;
    }
    Ok(rows.len())
}

/// Removes `leads` from list `list`; answers how many were in it.
pub fn remove_members(
    conn: &mut DbConnection,
    list: Uuid,
    leads: &[Uuid],
) -> Result<usize, PersistenceError> {
    Ok(diesel::delete(
        lead_list_members::table
            .filter(lead_list_members::list_id.eq(DbUuid(list)))
            .filter(lead_list_members::lead_id.eq_any(leads.iter().copied().map(DbUuid))),
    )
    .execute(conn)?)
}

/// How many leads each of `lists` holds (lists without members are absent).
pub fn member_counts(
    conn: &mut DbConnection,
    lists: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, i64>, PersistenceError> {
    let counts: Vec<(DbUuid, i64)> = lead_list_members::table
        .filter(lead_list_members::list_id.eq_any(lists.iter().copied().map(DbUuid)))
        .group_by(lead_list_members::list_id)
        .select((lead_list_members::list_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(counts
        .into_iter()
        .map(|(id, count)| (id.0, count))
        .collect())
}
