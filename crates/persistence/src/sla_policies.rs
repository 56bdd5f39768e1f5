//! SLA policies (V-2): targets in business minutes, chosen by a condition in the filter
//! tree of the ticket search, stored as its JSON and resolved by the application when
//! a ticket is matched.

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::sla_policies;
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = sla_policies, treat_none_as_null = true)]
pub struct SlaPolicyRow {
    pub id: DbUuid,
    pub name: String,
    pub position: i32,
    /// The filter tree as the client wrote it; `None` for every ticket.
    pub condition: Option<DbJson>,
    pub first_response_minutes: Option<i32>,
    pub next_response_minutes: Option<i32>,
    pub resolution_minutes: Option<i32>,
    pub pickup_minutes: Option<i32>,
    pub max_reassignments: i32,
    pub raise_priority_on_breach: bool,
    pub active: bool,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
    /// A satisfaction rating at or below this calls for `csat_action`.
    pub csat_threshold: Option<i32>,
    /// `domain::service::surveys::CsatAction`.
    pub csat_action: String,
}

impl SlaPolicyRow {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "position": self.position,
            "condition": self.condition.as_ref().map(|c| &c.0),
            "first_response_minutes": self.first_response_minutes,
            "next_response_minutes": self.next_response_minutes,
            "resolution_minutes": self.resolution_minutes,
            "pickup_minutes": self.pickup_minutes,
            "max_reassignments": self.max_reassignments,
            "raise_priority_on_breach": self.raise_priority_on_breach,
            "active": self.active,
            "csat_threshold": self.csat_threshold,
            "csat_action": self.csat_action,
        })
    }
}

pub fn insert(conn: &mut DbConnection, row: &SlaPolicyRow) -> Result<(), PersistenceError> {
    diesel::insert_into(sla_policies::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<SlaPolicyRow, PersistenceError> {
    sla_policies::table
        .find(DbUuid(id))
        .select(SlaPolicyRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

pub fn count(conn: &mut DbConnection) -> Result<i64, PersistenceError> {
    Ok(sla_policies::table.count().get_result(conn)?)
}

/// Every policy (a bounded number: the application caps them), by position; only the
/// active ones with `active_only`.
pub fn ordered(
    conn: &mut DbConnection,
    active_only: bool,
) -> Result<Vec<SlaPolicyRow>, PersistenceError> {
    let mut query = sla_policies::table
        .select(SlaPolicyRow::as_select())
        .into_boxed();
    if active_only {
        query = query.filter(sla_policies::active.eq(true));
    }
    Ok(query
        .order((sla_policies::position, sla_policies::id))
        .load(conn)?)
}

/// Writes `row` over the stored policy if it still has `row.version`; answers the
/// policy as stored, its version one more.
pub fn update(
    conn: &mut DbConnection,
    row: &SlaPolicyRow,
) -> Result<SlaPolicyRow, PersistenceError> {
    let mut next = row.clone();
    next.version = row.version + 1;
    next.updated_at = DbTime(crate::now());
    let updated = diesel::update(
        sla_policies::table
            .filter(sla_policies::id.eq(row.id))
            .filter(sla_policies::version.eq(row.version)),
    )
    .set(&next)
    .execute(conn)?;
    if updated == 0 {
        find(conn, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    Ok(next)
}

pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(sla_policies::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}
