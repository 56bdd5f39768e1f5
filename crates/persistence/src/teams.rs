//! Teams: groups of users; `team` visibility shows records owned by team mates.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::teams;
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

const DUPLICATE_NAME: &str = "a team with this name already exists";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = teams)]
pub struct TeamRow {
    pub id: DbUuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl TeamRow {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({"name": self.name, "description": self.description})
    }
}

pub fn insert(conn: &mut DbConnection, row: &TeamRow) -> Result<(), PersistenceError> {
    diesel::insert_into(teams::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_NAME))?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<TeamRow, PersistenceError> {
    teams::table
        .find(DbUuid(id))
        .select(TeamRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Which of `ids` are teams.
pub fn existing_ids(conn: &mut DbConnection, ids: &[Uuid]) -> Result<Vec<Uuid>, PersistenceError> {
    let ids: Vec<DbUuid> = ids.iter().copied().map(DbUuid).collect();
    Ok(teams::table
        .filter(teams::id.eq_any(ids))
        .select(teams::id)
        .load::<DbUuid>(conn)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

/// Teams ordered by `(created_at, id)` strictly after `after`; `limit + 1` rows so the
/// caller can tell whether another page follows.
pub fn list(
    conn: &mut DbConnection,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<TeamRow>, PersistenceError> {
    let mut select = teams::table.select(TeamRow::as_select()).into_boxed();
    if let Some((created_at, id)) = after {
        select = select.filter(
            teams::created_at
                .gt(DbTime(created_at))
                .or(teams::created_at
                    .eq(DbTime(created_at))
                    .and(teams::id.gt(DbUuid(id)))),
        );
    }
    Ok(select
        .order((teams::created_at.asc(), teams::id.asc()))
        .limit(limit + 1)
        .load(conn)?)
}

/// Writes name and description if the stored version is still `row.version`.
pub fn update(conn: &mut DbConnection, row: &TeamRow) -> Result<TeamRow, PersistenceError> {
    let updated = diesel::update(
        teams::table
            .filter(teams::id.eq(row.id))
            .filter(teams::version.eq(row.version)),
    )
    .set((
        teams::name.eq(&row.name),
        teams::description.eq(&row.description),
        teams::updated_at.eq(DbTime(crate::now())),
        teams::version.eq(row.version + 1),
    ))
    .execute(conn)
    .map_err(|err| PersistenceError::from_write(err, DUPLICATE_NAME))?;
    if updated == 0 {
        find(conn, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    find(conn, row.id.0)
}

/// Deletes a team that has no members; a team with members is a conflict (moving or
/// removing its users first is an explicit decision, not a side effect).
pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    if crate::users::count_in_team(conn, id)? > 0 {
        return Err(PersistenceError::Conflict(
            "the team still has members".into(),
        ));
    }
    match diesel::delete(teams::table.find(DbUuid(id))).execute(conn)? {
        0 => Err(PersistenceError::NotFound),
        _ => Ok(()),
    }
}
