//! Users: accounts that admins (`users:manage`) create, change and
//! deactivate; everyone reads and changes a little of their own.

use domain::authz::{Permission, Role, Visibility};
use domain::filter::SearchCriteria;
use domain::text::TextKind;
use domain::validation::{normalize_email, Violations};
use persistence::audit;
use persistence::db::DbConnection;
use persistence::filter::Keyset;
use persistence::sql_types::{DbTime, DbUuid};
use persistence::user_search;
use persistence::users::{UserQuery, UserRow};
use persistence::PersistenceError;
use uuid::Uuid;

use super::password;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::paging::{created_after, Cursor};
use crate::precondition::Precondition;
use crate::transaction;

/// Longest display name, in characters.
const MAX_DISPLAY_NAME_CHARS: usize = 200;

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub team_id: Option<Uuid>,
    /// The role's default when `None`.
    pub visibility: Option<Visibility>,
    /// `fa` or `en`.
    pub locale: String,
}

/// The fields of a user a change may set; `password` only to set a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFields {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub visibility: Visibility,
    pub team_id: Option<Uuid>,
    pub locale: String,
    pub is_active: bool,
    pub password: Option<String>,
}

impl UserFields {
    /// The editable fields of a stored user (never its password).
    pub fn of(row: &UserRow) -> AppResult<UserFields> {
        Ok(UserFields {
            email: row.email.clone(),
            display_name: row.display_name.clone(),
            role: stored_role(row)?,
            visibility: stored_visibility(row)?,
            team_id: row.team_id.map(|id| id.0),
            locale: row.locale.clone(),
            is_active: row.is_active,
            password: None,
        })
    }
}

/// The role of a stored user; a value the code does not know is a broken invariant.
pub fn stored_role(row: &UserRow) -> AppResult<Role> {
    Role::parse(&row.role).ok_or_else(|| AppError::Internal(format!("stored role {:?}", row.role)))
}

/// The visibility of a stored user.
pub fn stored_visibility(row: &UserRow) -> AppResult<Visibility> {
    Visibility::parse(&row.visibility)
        .ok_or_else(|| AppError::Internal(format!("stored visibility {:?}", row.visibility)))
}

/// A changed user, and the sessions the change ended (a new password or a
/// deactivation signs the user out everywhere).
#[derive(Debug, Clone)]
pub struct UserChange {
    pub user: UserRow,
    pub ended_sessions: Vec<Uuid>,
}

/// Creates a user (`users:manage`).
pub fn create(conn: &mut DbConnection, acting: &Acting, new: NewUser) -> AppResult<UserRow> {
    acting.require(Permission::UsersManage)?;
    let mut violations = Violations::default();
    let email = checked_email(&mut violations, &new.email);
    check_display_name(&mut violations, &new.display_name);
    if let Some((code, message)) =
        password::check_new_password(&new.password, &[&new.email, &new.display_name])
    {
        violations.push("password", code, message);
    }
    violations.into_result().map_err(AppError::Invalid)?;
    let password_hash = password::hash(&new.password)?;
    let now = DbTime(persistence::now());
    let row = UserRow {
        id: DbUuid(Uuid::now_v7()),
        email: email.unwrap_or_default(),
        display_name: new.display_name.trim().to_string(),
        password_hash,
        role: new.role.as_str().to_string(),
        visibility: new
            .visibility
            .unwrap_or(new.role.default_visibility())
            .as_str()
            .to_string(),
        team_id: new.team_id.map(DbUuid),
        locale: new.locale,
        is_active: true,
        last_login_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    transaction(conn, |conn| {
        check_team(conn, new.team_id)?;
        persistence::users::insert(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "user.create",
            "user",
            row.id.0,
            &serde_json::json!({}),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// Which users a listing shows; every condition is optional.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub team_id: Option<Uuid>,
    pub is_active: Option<bool>,
}

/// One page of users in creation order (`users:read`): up to `limit + 1` rows after
/// `cursor`.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    filter: &UserFilter,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<UserRow>> {
    acting.require(Permission::UsersRead)?;
    let query = UserQuery {
        role: filter.role.map(|role| role.as_str().to_string()),
        team_id: filter.team_id,
        is_active: filter.is_active,
        after: created_after(cursor)?,
        limit,
    };
    Ok(persistence::users::list(conn, &query)?)
}

/// Users matching a search (`users:read`), up to `limit` rows after `after`.
pub fn search(
    conn: &mut DbConnection,
    acting: &Acting,
    criteria: &SearchCriteria,
    after: Option<&Keyset>,
    limit: i64,
) -> AppResult<Vec<UserRow>> {
    acting.require(Permission::UsersRead)?;
    Ok(user_search::search(conn, criteria, after, limit)?)
}

/// A user: the caller themselves, or anyone with `users:read`.
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<UserRow> {
    if acting.user_id != Some(id) {
        acting.require(Permission::UsersRead)?;
    }
    Ok(persistence::users::find(conn, id)?)
}

/// Changes a user with `edit`, which turns the current fields into the wanted ones.
/// Admins change any field; others only their own `display_name` and `locale` (another
/// user is forbidden, or not found for a caller who may not read users). Admins cannot
/// demote or deactivate themselves.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&UserFields) -> AppResult<UserFields>,
) -> AppResult<UserChange> {
    let is_admin = acting.can(Permission::UsersManage);
    let is_self = acting.user_id == Some(id);
    if !is_admin && !is_self {
        return Err(if acting.reads_users() {
            AppError::Forbidden
        } else {
            AppError::NotFound
        });
    }
    let current = persistence::users::find(conn, id)?;
    precondition.check(id, current.version)?;
    let before = UserFields::of(&current)?;
    let after = edit(&before)?;
    let mut violations = Violations::default();
    if !is_admin {
        for (field, changed) in [
            ("email", before.email != after.email),
            ("role", before.role != after.role),
            ("visibility", before.visibility != after.visibility),
            ("team_id", before.team_id != after.team_id),
            ("is_active", before.is_active != after.is_active),
            ("password", after.password.is_some()),
        ] {
            if changed {
                violations.push(field, "not_allowed", "only an admin may change this field");
            }
        }
    }
    let email = checked_email(&mut violations, &after.email);
    check_display_name(&mut violations, &after.display_name);
    if persistence::partners::membership(conn, id)?.is_some() {
        // A partner's user sees what is shared with its partner and what it owns,
        // nothing wider: it stays a `partner` of `own` visibility and no team.
        for (field, fits) in [
            ("role", after.role == Role::Partner),
            ("visibility", after.visibility == Visibility::Own),
            ("team_id", after.team_id.is_none()),
        ] {
            if !fits {
                violations.push(
                    field,
                    "partner_user",
                    "a partner's user keeps the partner role, own visibility and no team",
                );
            }
        }
    }
    if let Some((code, message)) = after.password.as_deref().and_then(|new_password| {
        password::check_new_password(new_password, &[&after.email, &after.display_name])
    }) {
        violations.push("password", code, message);
    }
    if is_admin && is_self && (!after.is_active || after.role != Role::Admin) {
        violations.push(
            if after.is_active { "role" } else { "is_active" },
            "not_allowed",
            "admins cannot demote or deactivate themselves",
        );
    }
    violations.into_result().map_err(AppError::Invalid)?;
    let new_hash = after.password.as_deref().map(password::hash).transpose()?;
    transaction(conn, |conn| {
        check_team(conn, after.team_id)?;
        let mut row = current.clone();
        row.email = email.unwrap_or_default();
        row.display_name = after.display_name.trim().to_string();
        row.role = after.role.as_str().to_string();
        row.visibility = after.visibility.as_str().to_string();
        row.team_id = after.team_id.map(DbUuid);
        row.locale = after.locale;
        row.is_active = after.is_active;
        let reset = new_hash.is_some();
        if let Some(hash) = new_hash {
            row.password_hash = hash;
        }
        let row = persistence::users::update(conn, &row)?;
        let ended_sessions = if reset || !row.is_active {
            revoke_credentials(conn, id, !row.is_active)?
        } else {
            Vec::new()
        };
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "user.update",
            "user",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        Ok(UserChange {
            user: row,
            ended_sessions,
        })
    })
}

/// Deactivates a user (`users:manage`): they can no longer log in, and their sessions
/// and API keys are revoked.
pub fn deactivate(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::UsersManage)?;
    if acting.user_id == Some(id) {
        return Err(AppError::Conflict(
            "admins cannot deactivate themselves".into(),
        ));
    }
    transaction(conn, |conn| {
        let current = persistence::users::find(conn, id)?;
        precondition.check(id, current.version)?;
        let mut row = current.clone();
        row.is_active = false;
        let row = persistence::users::update(conn, &row)?;
        revoke_credentials(conn, id, true)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "user.deactivate",
            "user",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        Ok(())
    })
}

/// The normalised address, or `None` with the broken rule pushed.
fn checked_email(violations: &mut Violations, email: &str) -> Option<String> {
    let normalized = normalize_email(email);
    violations.check_text("email", email, TextKind::SingleLine);
    if normalized.is_none() {
        violations.push("email", "invalid_email", "not a valid e-mail address");
    }
    normalized
}

fn check_display_name(violations: &mut Violations, name: &str) {
    let length = name.trim().chars().count();
    violations.check_text("display_name", name, TextKind::SingleLine);
    if length == 0 {
        violations.push("display_name", "required", "must not be empty");
    } else if length > MAX_DISPLAY_NAME_CHARS {
        violations.push(
            "display_name",
            "too_long",
            format!("must be at most {MAX_DISPLAY_NAME_CHARS} characters"),
        );
    }
}

/// A 422 naming `team_id` when the team does not exist.
fn check_team(conn: &mut DbConnection, team_id: Option<Uuid>) -> AppResult<()> {
    match team_id.map(|id| persistence::teams::find(conn, id)) {
        Some(Err(PersistenceError::NotFound)) => Err(AppError::field(
            "team_id",
            "invalid_value",
            "no team has this id",
        )),
        Some(Err(err)) => Err(err.into()),
        _ => Ok(()),
    }
}

/// Signs a user out everywhere and returns the ended sessions; on deactivation also
/// revokes their API keys.
fn revoke_credentials(
    conn: &mut DbConnection,
    id: Uuid,
    keys_too: bool,
) -> Result<Vec<Uuid>, PersistenceError> {
    let now = persistence::now();
    let ended = persistence::refresh_tokens::revoke_all_for_user(conn, id, None, now)?;
    if keys_too {
        persistence::api_keys::revoke_all_for_user(conn, id, now)?;
    }
    Ok(ended)
}
