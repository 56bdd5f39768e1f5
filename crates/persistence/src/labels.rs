//! Tags, groups and tiers (C-4): named lists the business defines, stored in one table
//! and told apart by `kind`. Tags and groups attach to customers through
//! `customer_labels`; a tier is the customer's `tier_id`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::{customer_labels, customers, labels};
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

pub const TAG: &str = "tag";
pub const GROUP: &str = "group";
pub const TIER: &str = "tier";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = labels)]
pub struct LabelRow {
    pub id: DbUuid,
    pub kind: String,
    pub name: String,
    pub name_key: String,
    pub description: Option<String>,
    pub color: Option<String>,
    pub rank: Option<i32>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl LabelRow {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "description": self.description,
            "color": self.color,
            "rank": self.rank,
        })
    }
}

fn duplicate(kind: &str) -> String {
    format!("a {kind} with this name already exists")
}

pub fn insert(conn: &mut DbConnection, row: &LabelRow) -> Result<(), PersistenceError> {
    diesel::insert_into(labels::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, &duplicate(&row.kind)))?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, kind: &str, id: Uuid) -> Result<LabelRow, PersistenceError> {
    labels::table
        .find(DbUuid(id))
        .filter(labels::kind.eq(kind))
        .select(LabelRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Labels of `kind`, in creation order after `after`; `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    kind: &str,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<LabelRow>, PersistenceError> {
    let mut select = labels::table
        .filter(labels::kind.eq(kind.to_string()))
        .select(LabelRow::as_select())
        .into_boxed();
    if let Some((created_at, id)) = after {
        select = select.filter(
            labels::created_at
                .gt(DbTime(created_at))
                .or(labels::created_at
                    .eq(DbTime(created_at))
                    .and(labels::id.gt(DbUuid(id)))),
        );
    }
    Ok(select
        .order((labels::created_at.asc(), labels::id.asc()))
        .limit(limit + 1)
        .load(conn)?)
}

/// Every label among `ids`, whatever its kind.
pub fn find_many(conn: &mut DbConnection, ids: &[Uuid]) -> Result<Vec<LabelRow>, PersistenceError> {
    let ids: Vec<DbUuid> = ids.iter().copied().map(DbUuid).collect();
    Ok(labels::table
        .filter(labels::id.eq_any(ids))
        .select(LabelRow::as_select())
        .load(conn)?)
}

/// The ids among `ids` that are not labels of `kind`.
pub fn missing(
    conn: &mut DbConnection,
    kind: &str,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, PersistenceError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<Uuid> = find_many(conn, ids)?
        .into_iter()
        .filter(|row| row.kind == kind)
        .map(|row| row.id.0)
        .collect();
    Ok(ids
        .iter()
        .copied()
        .filter(|id| !found.contains(id))
        .collect())
}

/// The label of `kind` whose normalised name is `name_key`.
pub fn find_by_name_key(
    conn: &mut DbConnection,
    kind: &str,
    name_key: &str,
) -> Result<Option<LabelRow>, PersistenceError> {
    Ok(labels::table
        .filter(labels::kind.eq(kind))
        .filter(labels::name_key.eq(name_key))
        .select(LabelRow::as_select())
        .first(conn)
        .optional()?)
}

/// The labels of `kind` whose normalised names are among `name_keys`.
pub fn find_by_name_keys(
    conn: &mut DbConnection,
    kind: &str,
    name_keys: &[String],
) -> Result<Vec<LabelRow>, PersistenceError> {
    Ok(labels::table
        .filter(labels::kind.eq(kind))
        .filter(labels::name_key.eq_any(name_keys))
        .select(LabelRow::as_select())
        .load(conn)?)
}

pub fn update(conn: &mut DbConnection, row: &LabelRow) -> Result<LabelRow, PersistenceError> {
    let updated = diesel::update(
        labels::table
            .filter(labels::id.eq(row.id))
            .filter(labels::version.eq(row.version)),
    )
    .set((
        labels::name.eq(&row.name),
        labels::name_key.eq(&row.name_key),
        labels::description.eq(&row.description),
        labels::color.eq(&row.color),
        labels::rank.eq(row.rank),
        labels::updated_at.eq(DbTime(crate::now())),
        labels::version.eq(row.version + 1),
    ))
    .execute(conn)
    .map_err(|err| PersistenceError::from_write(err, &duplicate(&row.kind)))?;
    if updated == 0 {
        find(conn, &row.kind, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    find(conn, &row.kind, row.id.0)
}

/// Deletes a label; assignments go with it and customers in a deleted tier lose it.
pub fn delete(conn: &mut DbConnection, kind: &str, id: Uuid) -> Result<(), PersistenceError> {
    find(conn, kind, id)?;
    diesel::delete(labels::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// Attaches (or detaches) tag/group `label` to the visible customers among `customers`
/// in one statement per chunk; returns how many assignments changed. Customers that
/// already had (or lacked) it are left alone.
pub fn assign(
    conn: &mut DbConnection,
    label: &LabelRow,
    customer_ids: &[Uuid],
    attach: bool,
) -> Result<usize, PersistenceError> {
    let ids: Vec<DbUuid> = customer_ids.iter().copied().map(DbUuid).collect();
    if label.kind == TIER {
        let tier = attach.then_some(label.id);
        let mut changed = 0;
        for chunk in ids.chunks(500) {
            let target = customers::table.filter(customers::id.eq_any(chunk.to_vec()));
            changed += if attach {
                diesel::update(
                    target.filter(
                        customers::tier_id
                            .ne(label.id)
                            .or(customers::tier_id.is_null()),
                    ),
                )
                .set(customers::tier_id.eq(tier))
                .execute(conn)?
            } else {
                diesel::update(target.filter(customers::tier_id.eq(label.id)))
                    .set(customers::tier_id.eq(tier))
                    .execute(conn)?
            };
        }
        return Ok(changed);
    }
    let mut changed = 0;
    for chunk in ids.chunks(500) {
        let present: Vec<DbUuid> = customer_labels::table
            .filter(customer_labels::label_id.eq(label.id))
            .filter(customer_labels::customer_id.eq_any(chunk.to_vec()))
            .select(customer_labels::customer_id)
            .load(conn)?;
        if attach {
            let now = DbTime(crate::now());
            let rows: Vec<_> = chunk
                .iter()
                .filter(|id| !present.contains(id))
                .map(|id| {
                    (
                        customer_labels::customer_id.eq(*id),
                        customer_labels::label_id.eq(label.id),
                        customer_labels::created_at.eq(now),
                    )
                })
                .collect();
            if !rows.is_empty() {
                changed += crate::insert_batch!(conn, customer_labels::table, rows)?;
            }
        } else if !present.is_empty() {
            changed += diesel::delete(
                customer_labels::table
                    .filter(customer_labels::label_id.eq(label.id))
                    .filter(customer_labels::customer_id.eq_any(present)),
            )
            .execute(conn)?;
        }
    }
    Ok(changed)
}
