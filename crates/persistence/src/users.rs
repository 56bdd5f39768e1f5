//! Users: accounts that sign in, with a role, a record visibility and a team.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::{refresh_tokens, users};
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: DbUuid,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub visibility: String,
    pub team_id: Option<DbUuid>,
    pub locale: String,
    pub is_active: bool,
    pub last_login_at: Option<DbTime>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl UserRow {
    /// The record as the audit log sees it: every field but the password hash.
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "email": self.email,
            "display_name": self.display_name,
            "role": self.role,
            "visibility": self.visibility,
            "team_id": self.team_id.map(|id| id.0),
            "locale": self.locale,
            "is_active": self.is_active,
        })
    }
}

/// Filters and keyset position of the user listing, ordered by `(created_at, id)`.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub role: Option<String>,
    pub team_id: Option<Uuid>,
    pub is_active: Option<bool>,
    /// Return rows strictly after this `(created_at, id)`.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

pub fn insert(conn: &mut DbConnection, row: &UserRow) -> Result<(), PersistenceError> {
    diesel::insert_into(users::table)
        .values(row)
        .execute(conn)
        .map_err(|err| {
            PersistenceError::from_write(err, "a user with this email already exists")
        })?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<UserRow, PersistenceError> {
    users::table
        .find(DbUuid(id))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// A user and whether `session` (a refresh-token family of theirs) is live, i.e. not
/// revoked, in one round trip: what every request with an access token checks.
pub fn find_with_session(
    conn: &mut DbConnection,
    id: Uuid,
    session: Uuid,
) -> Result<(UserRow, bool), PersistenceError> {
    let live = diesel::dsl::exists(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(DbUuid(session)))
            .filter(refresh_tokens::user_id.eq(DbUuid(id)))
            .filter(refresh_tokens::revoked_at.is_null()),
    );
    users::table
        .find(DbUuid(id))
        .select((UserRow::as_select(), live))
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// The team of each user among `ids` that exists (`None` for a user without a team);
/// ids that are not users are left out.
pub fn teams_of(
    conn: &mut DbConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Option<Uuid>>, PersistenceError> {
    let ids: Vec<DbUuid> = ids.iter().copied().map(DbUuid).collect();
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::team_id))
        .load::<(DbUuid, Option<DbUuid>)>(conn)?
        .into_iter()
        .map(|(id, team)| (id.0, team.map(|team| team.0)))
        .collect())
}

/// The display name of each user among `ids` that exists, 500 ids a query.
pub fn display_names(
    conn: &mut DbConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, String>, PersistenceError> {
    let mut names = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        names.extend(
            users::table
                .filter(users::id.eq_any(chunk))
                .select((users::id, users::display_name))
                .load::<(DbUuid, String)>(conn)?
                .into_iter()
                .map(|(id, name)| (id.0, name)),
        );
    }
    Ok(names)
}

/// `email` must already be normalised.
pub fn find_by_email(
    conn: &mut DbConnection,
    email: &str,
) -> Result<Option<UserRow>, PersistenceError> {
    Ok(users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn count(conn: &mut DbConnection) -> Result<i64, PersistenceError> {
    Ok(users::table.count().get_result(conn)?)
}

/// Number of users in a team (active or not): a team with members cannot be deleted.
pub fn count_in_team(conn: &mut DbConnection, team_id: Uuid) -> Result<i64, PersistenceError> {
    Ok(users::table
        .filter(users::team_id.eq(DbUuid(team_id)))
        .count()
        .get_result(conn)?)
}

/// Up to `limit + 1` rows so the caller can tell whether another page follows.
pub fn list(conn: &mut DbConnection, query: &UserQuery) -> Result<Vec<UserRow>, PersistenceError> {
    let mut select = users::table.select(UserRow::as_select()).into_boxed();
    if let Some(role) = &query.role {
        select = select.filter(users::role.eq(role.clone()));
    }
    if let Some(team_id) = query.team_id {
        select = select.filter(users::team_id.eq(DbUuid(team_id)));
    }
    if let Some(is_active) = query.is_active {
        select = select.filter(users::is_active.eq(is_active));
    }
    if let Some((created_at, id)) = query.after {
        select = select.filter(
            users::created_at
                .gt(DbTime(created_at))
                .or(users::created_at
                    .eq(DbTime(created_at))
                    .and(users::id.gt(DbUuid(id)))),
        );
    }
    Ok(select
        .order((users::created_at.asc(), users::id.asc()))
        .limit(query.limit + 1)
        .load(conn)?)
}

/// Writes every mutable field of `row` if the stored version is still `row.version`, and
/// returns the row with its new version. A concurrent change answers
/// [`PersistenceError::StaleVersion`].
pub fn update(conn: &mut DbConnection, row: &UserRow) -> Result<UserRow, PersistenceError> {
    let now = DbTime(crate::now());
    let updated = diesel::update(
        users::table
            .filter(users::id.eq(row.id))
            .filter(users::version.eq(row.version)),
    )
    .set((
        users::email.eq(&row.email),
        users::display_name.eq(&row.display_name),
        users::password_hash.eq(&row.password_hash),
        users::role.eq(&row.role),
        users::visibility.eq(&row.visibility),
        users::team_id.eq(row.team_id),
        users::locale.eq(&row.locale),
        users::is_active.eq(row.is_active),
        users::updated_at.eq(now),
        users::version.eq(row.version + 1),
    ))
    .execute(conn)
    .map_err(|err| PersistenceError::from_write(err, "a user with this email already exists"))?;
    if updated == 0 {
        find(conn, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    find(conn, row.id.0)
}

pub fn touch_last_login(
    conn: &mut DbConnection,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), PersistenceError> {
    diesel::update(users::table.find(DbUuid(id)))
        .set(users::last_login_at.eq(DbTime(at)))
        .execute(conn)?;
    Ok(())
}

/// Whether `user` exists and is active.
pub fn is_active_user(conn: &mut DbConnection, user: Uuid) -> Result<bool, PersistenceError> {
    Ok(users::table
        .filter(users::id.eq(DbUuid(user)))
        .filter(users::is_active.eq(true))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}
