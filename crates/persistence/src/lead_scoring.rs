//! Lead scoring rules (S-2) and the points they give leads. A rule's condition is the
//! filter tree of the lead search, stored as its JSON; the application resolves it
//! (relative dates at the time of evaluation) and hands it here as a condition on
//! `leads`, so a rule matches exactly what the same filter would find in a search.

use diesel::prelude::*;
use domain::filter::ResolvedFilter;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::filter::{condition, SearchError};
use crate::leads::LeadColumns;
use crate::schema::{lead_scoring_rules, leads};
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = lead_scoring_rules)]
pub struct LeadScoringRuleRow {
    pub id: DbUuid,
    pub name: String,
    /// The filter tree as the client wrote it, checked against the lead search
    /// catalogue when saved.
    pub condition: DbJson,
    pub points: i64,
    pub active: bool,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl LeadScoringRuleRow {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "condition": self.condition.0,
            "points": self.points,
            "active": self.active,
        })
    }
}

pub fn insert(conn: &mut DbConnection, row: &LeadScoringRuleRow) -> Result<(), PersistenceError> {
    diesel::insert_into(lead_scoring_rules::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<LeadScoringRuleRow, PersistenceError> {
    lead_scoring_rules::table
        .find(DbUuid(id))
        .select(LeadScoringRuleRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// How many rules there are.
pub fn count(conn: &mut DbConnection) -> Result<i64, PersistenceError> {
    Ok(lead_scoring_rules::table.count().get_result(conn)?)
}

/// Rules in creation order after `after`; `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    after: Option<(chrono::DateTime<chrono::Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<LeadScoringRuleRow>, PersistenceError> {
    let query = lead_scoring_rules::table
        .select(LeadScoringRuleRow::as_select())
        .into_boxed();
    Ok(crate::creation_order_page!(
        conn,
        lead_scoring_rules,
        query,
        after,
        limit
    )?)
}

/// The active rules in creation order (a bounded number: the application caps them).
pub fn active(conn: &mut DbConnection) -> Result<Vec<LeadScoringRuleRow>, PersistenceError> {
    Ok(lead_scoring_rules::table
        .filter(lead_scoring_rules::active.eq(true))
        .order((
            lead_scoring_rules::created_at.asc(),
            lead_scoring_rules::id.asc(),
        ))
        .select(LeadScoringRuleRow::as_select())
        .load(conn)?)
}

/// Writes `row` over the stored rule if it still has `row.version`; answers the rule
/// as stored, its version one more.
pub fn update(
    conn: &mut DbConnection,
    row: &LeadScoringRuleRow,
) -> Result<LeadScoringRuleRow, PersistenceError> {
    use lead_scoring_rules as r;
    let updated = diesel::update(
        r::table
            .filter(r::id.eq(row.id))
            .filter(r::version.eq(row.version)),
    )
    .set((
        r::name.eq(&row.name),
        r::condition.eq(&row.condition),
        r::points.eq(row.points),
        r::active.eq(row.active),
        r::updated_at.eq(DbTime(crate::now())),
        r::version.eq(row.version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        find(conn, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    find(conn, row.id.0)
}

pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(lead_scoring_rules::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// Sets the points of one lead, leaving its version alone: points follow from the lead
/// and the rules, they are not a change of the lead.
pub fn set_points(
    conn: &mut DbConnection,
    lead: Uuid,
    points: i64,
) -> Result<(), PersistenceError> {
    diesel::update(leads::table.find(DbUuid(lead)))
        .set(leads::score_points.eq(points))
        .execute(conn)?;
    Ok(())
}

/// Sets every lead's points to 0 (the start of a recount); answers how many changed.
pub fn reset_points(conn: &mut DbConnection) -> Result<usize, PersistenceError> {
    Ok(
        diesel::update(leads::table.filter(leads::score_points.ne(0)))
            .set(leads::score_points.eq(0))
            .execute(conn)?,
    )
}

/// Adds `points` to every lead meeting `filter`: one statement for all leads; answers
/// how many matched.
pub fn add_points(
    conn: &mut DbConnection,
    filter: &ResolvedFilter,
    points: i64,
) -> Result<usize, SearchError> {
    Ok(
        diesel::update(leads::table.filter(condition::<LeadColumns>(filter)?))
            .set(leads::score_points.eq(leads::score_points + points))
            .execute(conn)
            .map_err(PersistenceError::from)?,
    )
}
