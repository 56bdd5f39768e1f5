//! Follow-up rules (S-7): a few rows of configuration, read whole by the triggers.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::follow_up_rules;
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = follow_up_rules, treat_none_as_null = true)]
pub struct FollowUpRuleRow {
    pub id: DbUuid,
    pub name: String,
    /// `domain::sales::follow_ups::FollowUpTrigger`.
    pub trigger_kind: String,
    pub active: bool,
    pub stage_id: Option<DbUuid>,
    pub task_kind: Option<String>,
    pub task_title: Option<String>,
    pub delay: i32,
    pub delay_unit: String,
    pub escalate_after: Option<i32>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl FollowUpRuleRow {
    /// What the audit trail records of a rule.
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "trigger": self.trigger_kind,
            "active": self.active,
            "stage_id": self.stage_id.map(|id| id.0),
            "task_kind": self.task_kind,
            "task_title": self.task_title,
            "delay": self.delay,
            "delay_unit": self.delay_unit,
            "escalate_after": self.escalate_after,
        })
    }
}

pub fn insert(conn: &mut DbConnection, row: &FollowUpRuleRow) -> Result<(), PersistenceError> {
    diesel::insert_into(follow_up_rules::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<FollowUpRuleRow, PersistenceError> {
    follow_up_rules::table
        .find(DbUuid(id))
        .select(FollowUpRuleRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Writes `row` over the stored rule with the same id, its version one more.
pub fn update(
    conn: &mut DbConnection,
    row: &FollowUpRuleRow,
) -> Result<FollowUpRuleRow, PersistenceError> {
    let mut row = row.clone();
    row.version += 1;
    row.updated_at = DbTime(crate::now());
    diesel::update(follow_up_rules::table.find(row.id))
        .set(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(follow_up_rules::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// Rules in creation order after `after` (the previous page's last), `limit + 1` rows
/// so the caller can tell whether more follow.
pub fn list(
    conn: &mut DbConnection,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<FollowUpRuleRow>, PersistenceError> {
    let mut query = follow_up_rules::table
        .select(FollowUpRuleRow::as_select())
        .into_boxed();
    if let Some((created_at, id)) = after {
        query = query.filter(
            follow_up_rules::created_at
                .gt(DbTime(created_at))
                .or(follow_up_rules::created_at
                    .eq(DbTime(created_at))
                    .and(follow_up_rules::id.gt(DbUuid(id)))),
        );
    }
    Ok(query
        .order((follow_up_rules::created_at, follow_up_rules::id))
        .limit(limit + 1)
        .load(conn)?)
}

/// The active rules of `trigger` (on `stage`, when given), in creation order.
pub fn active(
    conn: &mut DbConnection,
    trigger: &str,
    stage: Option<Uuid>,
) -> Result<Vec<FollowUpRuleRow>, PersistenceError> {
    let mut query = follow_up_rules::table
        .filter(follow_up_rules::trigger_kind.eq(trigger))
        .filter(follow_up_rules::active.eq(true))
        .select(FollowUpRuleRow::as_select())
        .into_boxed();
    if let Some(stage) = stage {
        query = query.filter(follow_up_rules::stage_id.eq(DbUuid(stage)));
    }
    Ok(query
        .order((follow_up_rules::created_at, follow_up_rules::id))
        .load(conn)?)
}
