//! Teams: admins (`users:manage`) manage them; everyone with `teams:read` sees
//! them. A team with members cannot be deleted.

use domain::authz::Permission;
use domain::text::TextKind;
use domain::validation::Violations;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::sql_types::{DbTime, DbUuid};
use persistence::teams::TeamRow;
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::paging::{created_after, Cursor};
use crate::precondition::Precondition;
use crate::transaction;

const MAX_NAME_CHARS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 2000;

/// The fields of a team a caller sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamFields {
    /// Unique, case-insensitive.
    pub name: String,
    pub description: Option<String>,
}

impl TeamFields {
    fn of(row: &TeamRow) -> TeamFields {
        TeamFields {
            name: row.name.clone(),
            description: row.description.clone(),
        }
    }

    fn check(&self) -> AppResult<()> {
        let mut violations = Violations::default();
        let length = self.name.trim().chars().count();
        violations.check_text("name", &self.name, TextKind::SingleLine);
        if length == 0 {
            violations.push("name", "required", "must not be empty");
        } else if length > MAX_NAME_CHARS {
            violations.push(
                "name",
                "too_long",
                format!("must be at most {MAX_NAME_CHARS} characters"),
            );
        }
        if self
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
        {
            violations.push(
                "description",
                "too_long",
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
            );
        }
        violations.into_result().map_err(AppError::Invalid)
    }
}

/// Creates a team (`users:manage`); a taken name is a conflict.
pub fn create(conn: &mut DbConnection, acting: &Acting, fields: TeamFields) -> AppResult<TeamRow> {
    acting.require(Permission::UsersManage)?;
    fields.check()?;
    let now = DbTime(persistence::now());
    let row = TeamRow {
        id: DbUuid(Uuid::now_v7()),
        name: fields.name.trim().to_string(),
        description: fields.description,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    transaction(conn, |conn| {
        persistence::teams::insert(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "team.create",
            "team",
            row.id.0,
            &serde_json::json!({}),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// One page of teams in creation order (`teams:read`): up to `limit + 1` rows after
/// `cursor`.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<TeamRow>> {
    acting.require(Permission::TeamsRead)?;
    let after = created_after(cursor)?;
    Ok(persistence::teams::list(conn, after, limit)?)
}

/// A team (`teams:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<TeamRow> {
    acting.require(Permission::TeamsRead)?;
    Ok(persistence::teams::find(conn, id)?)
}

/// Changes a team (`users:manage`) with `edit`, which turns the current fields into
/// the wanted ones.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&TeamFields) -> AppResult<TeamFields>,
) -> AppResult<TeamRow> {
    acting.require(Permission::UsersManage)?;
    let current = persistence::teams::find(conn, id)?;
    precondition.check(id, current.version)?;
    let after = edit(&TeamFields::of(&current))?;
    after.check()?;
    transaction(conn, |conn| {
        let mut row = current.clone();
        row.name = after.name.trim().to_string();
        row.description = after.description;
        let row = persistence::teams::update(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "team.update",
            "team",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// Deletes a team that has no members (`users:manage`); one with members is a
/// conflict.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::UsersManage)?;
    transaction(conn, |conn| {
        let current = persistence::teams::find(conn, id)?;
        precondition.check(id, current.version)?;
        if persistence::assignment::team_in_use(conn, id)? {
            return Err(AppError::Conflict(
                "an assignment rule or a territory sends records to the team".into(),
            ));
        }
        persistence::teams::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "team.delete",
            "team",
            id,
            &current.audit_snapshot(),
            &serde_json::json!({}),
        )?;
        Ok(())
    })
}
