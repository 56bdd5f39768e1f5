//! Assignment (S-3): the ordered rules, the territories, each team's rotation cursor,
//! users' capacities and out-of-office periods, and the history of assignments.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::{
    assignment_cursors, assignment_rules, assignments, territories, user_absences, user_capacities,
    users,
};
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::PersistenceError;

const DUPLICATE_TERRITORY: &str = "a territory with this name already exists";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = assignment_rules, treat_none_as_null = true)]
pub struct RuleRow {
    pub id: DbUuid,
    pub record_kind: String,
    pub name: String,
    pub position: i32,
    /// The filter tree as written; resolved against the kind's catalogue when used.
    pub condition: Option<DbJson>,
    /// `user`, `team` or `territory` (`domain::assignment::Target`).
    pub target_kind: String,
    pub user_id: Option<DbUuid>,
    pub team_id: Option<DbUuid>,
    /// For a team target.
    pub strategy: Option<String>,
    pub active: bool,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl RuleRow {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "record_kind": self.record_kind,
            "name": self.name,
            "position": self.position,
            "condition": self.condition.as_ref().map(|c| &c.0),
            "target_kind": self.target_kind,
            "user_id": self.user_id.map(|id| id.0),
            "team_id": self.team_id.map(|id| id.0),
            "strategy": self.strategy,
            "active": self.active,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = territories, treat_none_as_null = true)]
pub struct TerritoryRow {
    pub id: DbUuid,
    pub name: String,
    /// Province names as written (JSON array of strings).
    pub provinces: DbJson,
    /// City names as written (JSON array of strings).
    pub cities: DbJson,
    pub team_id: DbUuid,
    pub strategy: String,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl TerritoryRow {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "provinces": self.provinces.0,
            "cities": self.cities.0,
            "team_id": self.team_id.0,
            "strategy": self.strategy,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = assignments)]
pub struct AssignmentRow {
    pub id: DbUuid,
    pub record_kind: String,
    pub record_id: DbUuid,
    pub user_id: Option<DbUuid>,
    pub team_id: Option<DbUuid>,
    pub rule_id: Option<DbUuid>,
    /// `domain::assignment::Method`.
    pub method: String,
    pub reason: String,
    pub assigned_by: Option<DbUuid>,
    pub assigned_at: DbTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_absences)]
pub struct AbsenceRow {
    pub id: DbUuid,
    pub user_id: DbUuid,
    pub starts_at: DbTime,
    pub ends_at: DbTime,
    pub note: Option<String>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
}

// ---- rules ----

pub fn insert_rule(conn: &mut DbConnection, row: &RuleRow) -> Result<(), PersistenceError> {
    diesel::insert_into(assignment_rules::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_rule(conn: &mut DbConnection, id: Uuid) -> Result<RuleRow, PersistenceError> {
    assignment_rules::table
        .find(DbUuid(id))
        .select(RuleRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Writes `row` over the stored rule, its version one more.
pub fn update_rule(conn: &mut DbConnection, row: &RuleRow) -> Result<RuleRow, PersistenceError> {
    let mut row = row.clone();
    row.version += 1;
    row.updated_at = DbTime(crate::now());
    diesel::update(assignment_rules::table.find(row.id))
        .set(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn delete_rule(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(assignment_rules::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// The rules of `record_kind` in the order they are tried (position, then creation),
/// active ones only when `active_only`.
pub fn rules(
    conn: &mut DbConnection,
    record_kind: &str,
    active_only: bool,
) -> Result<Vec<RuleRow>, PersistenceError> {
    let mut query = assignment_rules::table
        .filter(assignment_rules::record_kind.eq(record_kind))
        .select(RuleRow::as_select())
        .order((assignment_rules::position, assignment_rules::id))
        .into_boxed();
    if active_only {
        query = query.filter(assignment_rules::active.eq(true));
    }
    Ok(query.load(conn)?)
}

pub fn count_rules(conn: &mut DbConnection, record_kind: &str) -> Result<i64, PersistenceError> {
    Ok(assignment_rules::table
        .filter(assignment_rules::record_kind.eq(record_kind))
        .count()
        .get_result(conn)?)
}

// ---- territories ----

pub fn insert_territory(
    conn: &mut DbConnection,
    row: &TerritoryRow,
) -> Result<(), PersistenceError> {
    diesel::insert_into(territories::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_TERRITORY))?;
    Ok(())
}

pub fn find_territory(conn: &mut DbConnection, id: Uuid) -> Result<TerritoryRow, PersistenceError> {
    territories::table
        .find(DbUuid(id))
        .select(TerritoryRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

pub fn update_territory(
    conn: &mut DbConnection,
    row: &TerritoryRow,
) -> Result<TerritoryRow, PersistenceError> {
    let mut row = row.clone();
    row.version += 1;
    row.updated_at = DbTime(crate::now());
    diesel::update(territories::table.find(row.id))
        .set(&row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_TERRITORY))?;
    Ok(row)
}

pub fn delete_territory(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(territories::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// Every territory, by name. A business has tens of them (provinces are 31).
pub fn territories(conn: &mut DbConnection) -> Result<Vec<TerritoryRow>, PersistenceError> {
    Ok(territories::table
        .select(TerritoryRow::as_select())
        .order((territories::name, territories::id))
        .load(conn)?)
}

/// Whether a rule targets `team` or a territory is served by it.
pub fn team_in_use(conn: &mut DbConnection, team: Uuid) -> Result<bool, PersistenceError> {
    let rules: i64 = assignment_rules::table
        .filter(assignment_rules::team_id.eq(DbUuid(team)))
        .count()
        .get_result(conn)?;
    let served: i64 = territories::table
        .filter(territories::team_id.eq(DbUuid(team)))
        .count()
        .get_result(conn)?;
    Ok(rules + served > 0)
}

// ---- the rotation ----

/// Makes concurrent choices for one team and kind wait for each other until the end of
/// the current write transaction: SQLite's writers are serialised already (`BEGIN
/// IMMEDIATE`); PostgreSQL takes a transaction-scoped advisory lock on the pair, which
/// also covers the team's first choice, when its cursor row does not exist yet.
pub fn lock_rotation(
    conn: &mut DbConnection,
    record_kind: &str,
    team: Uuid,
) -> Result<(), PersistenceError> {
    crate::transaction::advisory_lock(conn, &format!("assignment:{record_kind}:{team}"))
}

/// The member the team last handed a record of `record_kind` to. Call after
/// [`lock_rotation`].
pub fn cursor(
    conn: &mut DbConnection,
    record_kind: &str,
    team: Uuid,
) -> Result<Option<Uuid>, PersistenceError> {
    Ok(assignment_cursors::table
        .filter(assignment_cursors::record_kind.eq(record_kind))
        .filter(assignment_cursors::team_id.eq(DbUuid(team)))
        .select(assignment_cursors::last_user_id)
        .first::<DbUuid>(conn)
        .optional()?
        .map(|id| id.0))
}

/// Moves the team's cursor to `user`. Call after [`lock_rotation`].
pub fn advance(
    conn: &mut DbConnection,
    record_kind: &str,
    team: Uuid,
    user: Uuid,
) -> Result<(), PersistenceError> {
    let now = DbTime(crate::now());
    let updated = diesel::update(
        assignment_cursors::table
            .filter(assignment_cursors::record_kind.eq(record_kind))
            .filter(assignment_cursors::team_id.eq(DbUuid(team))),
    )
    .set((
        assignment_cursors::last_user_id.eq(DbUuid(user)),
        assignment_cursors::updated_at.eq(now),
    ))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(assignment_cursors::table)
            .values((
                assignment_cursors::record_kind.eq(record_kind),
                assignment_cursors::team_id.eq(DbUuid(team)),
                assignment_cursors::last_user_id.eq(DbUuid(user)),
                assignment_cursors::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

// ---- availability ----

/// The active members of `team`.
pub fn active_members(conn: &mut DbConnection, team: Uuid) -> Result<Vec<Uuid>, PersistenceError> {
    Ok(users::table
        .filter(users::team_id.eq(DbUuid(team)))
        .filter(users::is_active.eq(true))
        .select(users::id)
        .load::<DbUuid>(conn)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

/// The capacity for `record_kind` of each of `users` that has one.
pub fn capacities(
    conn: &mut DbConnection,
    record_kind: &str,
    users: &[Uuid],
) -> Result<HashMap<Uuid, i64>, PersistenceError> {
    let ids: Vec<DbUuid> = users.iter().copied().map(DbUuid).collect();
    Ok(user_capacities::table
        .filter(user_capacities::record_kind.eq(record_kind))
        .filter(user_capacities::user_id.eq_any(ids))
        .select((user_capacities::user_id, user_capacities::max_open))
        .load::<(DbUuid, i64)>(conn)?
        .into_iter()
        .map(|(id, max)| (id.0, max))
        .collect())
}

/// Every capacity of `user`, by record kind.
pub fn capacities_of(
    conn: &mut DbConnection,
    user: Uuid,
) -> Result<Vec<(String, i64)>, PersistenceError> {
    Ok(user_capacities::table
        .filter(user_capacities::user_id.eq(DbUuid(user)))
        .order(user_capacities::record_kind)
        .select((user_capacities::record_kind, user_capacities::max_open))
        .load(conn)?)
}

/// Sets (`Some`) or removes (`None`) the capacity of `user` for `record_kind`.
pub fn set_capacity(
    conn: &mut DbConnection,
    user: Uuid,
    record_kind: &str,
    max_open: Option<i64>,
) -> Result<(), PersistenceError> {
    let mine = user_capacities::table
        .filter(user_capacities::user_id.eq(DbUuid(user)))
        .filter(user_capacities::record_kind.eq(record_kind));
    diesel::delete(mine).execute(conn)?;
    if let Some(max_open) = max_open {
        diesel::insert_into(user_capacities::table)
            .values((
                user_capacities::user_id.eq(DbUuid(user)),
                user_capacities::record_kind.eq(record_kind),
                user_capacities::max_open.eq(max_open),
                user_capacities::updated_at.eq(DbTime(crate::now())),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Those of `users` away at `at`.
pub fn away_at(
    conn: &mut DbConnection,
    users: &[Uuid],
    at: DateTime<Utc>,
) -> Result<HashSet<Uuid>, PersistenceError> {
    let ids: Vec<DbUuid> = users.iter().copied().map(DbUuid).collect();
    Ok(user_absences::table
        .filter(user_absences::user_id.eq_any(ids))
        .filter(user_absences::starts_at.le(DbTime(at)))
        .filter(user_absences::ends_at.gt(DbTime(at)))
        .select(user_absences::user_id)
        .load::<DbUuid>(conn)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

pub fn insert_absence(conn: &mut DbConnection, row: &AbsenceRow) -> Result<(), PersistenceError> {
    diesel::insert_into(user_absences::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_absence(conn: &mut DbConnection, id: Uuid) -> Result<AbsenceRow, PersistenceError> {
    user_absences::table
        .find(DbUuid(id))
        .select(AbsenceRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

pub fn delete_absence(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(user_absences::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// The absences of `user` not over by `now`, soonest first, at most `limit`.
pub fn absences(
    conn: &mut DbConnection,
    user: Uuid,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<AbsenceRow>, PersistenceError> {
    Ok(user_absences::table
        .filter(user_absences::user_id.eq(DbUuid(user)))
        .filter(user_absences::ends_at.gt(DbTime(now)))
        .order((user_absences::starts_at, user_absences::id))
        .limit(limit)
        .select(AbsenceRow::as_select())
        .load(conn)?)
}

// ---- history ----

pub fn record(conn: &mut DbConnection, row: &AssignmentRow) -> Result<(), PersistenceError> {
    diesel::insert_into(assignments::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// A record's assignments, newest first, `limit` after the id `before` (ids are time
/// ordered).
pub fn history(
    conn: &mut DbConnection,
    record_kind: &str,
    record: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<AssignmentRow>, PersistenceError> {
    let mut query = assignments::table
        .filter(assignments::record_kind.eq(record_kind))
        .filter(assignments::record_id.eq(DbUuid(record)))
        .select(AssignmentRow::as_select())
        .order(assignments::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(assignments::id.lt(DbUuid(before)));
    }
    Ok(query.load(conn)?)
}

/// Forgets the assignments of deleted records.
pub fn delete_history(
    conn: &mut DbConnection,
    record_kind: &str,
    records: &[Uuid],
) -> Result<(), PersistenceError> {
    for chunk in records.chunks(500) {
        let ids: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        diesel::delete(
            assignments::table
                .filter(assignments::record_kind.eq(record_kind))
                .filter(assignments::record_id.eq_any(ids)),
        )
        .execute(conn)?;
    }
    Ok(())
}
