//! Ticket categories (V-1): a tree of names (Persian and English) tickets are filed
//! under and SLA policies and reports are cut by.

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::{ticket_categories, tickets};
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = ticket_categories, treat_none_as_null = true)]
pub struct TicketCategoryRow {
    pub id: DbUuid,
    pub parent_id: Option<DbUuid>,
    pub name: String,
    pub name_en: Option<String>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl TicketCategoryRow {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "parent_id": self.parent_id.map(|id| id.0),
            "name": self.name,
            "name_en": self.name_en,
        })
    }
}

pub fn insert(conn: &mut DbConnection, row: &TicketCategoryRow) -> Result<(), PersistenceError> {
    diesel::insert_into(ticket_categories::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<TicketCategoryRow, PersistenceError> {
    ticket_categories::table
        .find(DbUuid(id))
        .select(TicketCategoryRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

pub fn count(conn: &mut DbConnection) -> Result<i64, PersistenceError> {
    Ok(ticket_categories::table.count().get_result(conn)?)
}

/// Every category (a bounded number: the application caps them), in creation order.
pub fn all(conn: &mut DbConnection) -> Result<Vec<TicketCategoryRow>, PersistenceError> {
    Ok(ticket_categories::table
        .order((ticket_categories::created_at, ticket_categories::id))
        .select(TicketCategoryRow::as_select())
        .load(conn)?)
}

/// Writes `row` over the stored category if it still has `row.version`.
pub fn update(
    conn: &mut DbConnection,
    row: &TicketCategoryRow,
) -> Result<TicketCategoryRow, PersistenceError> {
    let mut next = row.clone();
    next.version = row.version + 1;
    next.updated_at = DbTime(crate::now());
    let updated = diesel::update(
        ticket_categories::table
            .filter(ticket_categories::id.eq(row.id))
            .filter(ticket_categories::version.eq(row.version)),
    )
    .set(&next)
    .execute(conn)?;
    if updated == 0 {
        find(conn, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    Ok(next)
}

/// Whether a category has sub-categories or tickets (and so cannot be deleted).
pub fn in_use(conn: &mut DbConnection, id: Uuid) -> Result<bool, PersistenceError> {
    let children: i64 = ticket_categories::table
        .filter(ticket_categories::parent_id.eq(DbUuid(id)))
        .count()
        .get_result(conn)?;
    let filed: i64 = tickets::table
        .filter(tickets::category_id.eq(DbUuid(id)))
        .count()
        .get_result(conn)?;
    Ok(children + filed > 0)
}

pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(ticket_categories::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}
