//! API keys for integrations. A key is shown once at creation; only the SHA-256
//! of its secret part is stored, beside a short public prefix that identifies it in
//! listings and logs.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::api_keys;
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: DbUuid,
    pub user_id: DbUuid,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    /// JSON array of permission names.
    pub scopes: DbJson,
    pub created_at: DbTime,
    pub expires_at: Option<DbTime>,
    pub last_used_at: Option<DbTime>,
    pub revoked_at: Option<DbTime>,
}

impl ApiKeyRow {
    /// The record as the audit log sees it: no hash.
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "prefix": self.prefix,
            "user_id": self.user_id.0,
            "scopes": self.scopes.0,
            "expires_at": self.expires_at.map(|t| t.0),
            "revoked_at": self.revoked_at.map(|t| t.0),
        })
    }

    /// The scope names stored with the key (entries that are not strings are skipped;
    /// only the API writes this column).
    pub fn scope_names(&self) -> Vec<String> {
        self.scopes
            .0
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Keyset listing ordered by `(created_at, id)`; `user_id` `None` lists every user's keys.
#[derive(Debug, Clone, Default)]
pub struct ApiKeyQuery {
    pub user_id: Option<Uuid>,
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

pub fn insert(conn: &mut DbConnection, row: &ApiKeyRow) -> Result<(), PersistenceError> {
    diesel::insert_into(api_keys::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, "API key collision"))?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<ApiKeyRow, PersistenceError> {
    api_keys::table
        .find(DbUuid(id))
        .select(ApiKeyRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

pub fn find_by_hash(
    conn: &mut DbConnection,
    key_hash: &str,
) -> Result<Option<ApiKeyRow>, PersistenceError> {
    Ok(api_keys::table
        .filter(api_keys::key_hash.eq(key_hash))
        .select(ApiKeyRow::as_select())
        .first(conn)
        .optional()?)
}

/// Up to `limit + 1` rows so the caller can tell whether another page follows.
pub fn list(
    conn: &mut DbConnection,
    query: &ApiKeyQuery,
) -> Result<Vec<ApiKeyRow>, PersistenceError> {
    let mut select = api_keys::table.select(ApiKeyRow::as_select()).into_boxed();
    if let Some(user_id) = query.user_id {
        select = select.filter(api_keys::user_id.eq(DbUuid(user_id)));
    }
    if let Some((created_at, id)) = query.after {
        select = select.filter(
            api_keys::created_at
                .gt(DbTime(created_at))
                .or(api_keys::created_at
                    .eq(DbTime(created_at))
                    .and(api_keys::id.gt(DbUuid(id)))),
        );
    }
    Ok(select
        .order((api_keys::created_at.asc(), api_keys::id.asc()))
        .limit(query.limit + 1)
        .load(conn)?)
}

/// Revokes a key (idempotent: an already revoked key keeps its first revocation time).
pub fn revoke(
    conn: &mut DbConnection,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), PersistenceError> {
    diesel::update(
        api_keys::table
            .filter(api_keys::id.eq(DbUuid(id)))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(DbTime(at)))
    .execute(conn)?;
    Ok(())
}

/// Revokes every key of a user (on deactivation).
pub fn revoke_all_for_user(
    conn: &mut DbConnection,
    user_id: Uuid,
    at: DateTime<Utc>,
) -> Result<usize, PersistenceError> {
    Ok(diesel::update(
        api_keys::table
            .filter(api_keys::user_id.eq(DbUuid(user_id)))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(DbTime(at)))
    .execute(conn)?)
}

/// Records a use of the key unless one was recorded after `not_since`, so that busy
/// integrations cost at most one write per key per interval.
pub fn touch_last_used(
    conn: &mut DbConnection,
    id: Uuid,
    at: DateTime<Utc>,
    not_since: DateTime<Utc>,
) -> Result<(), PersistenceError> {
    diesel::update(
        api_keys::table.filter(api_keys::id.eq(DbUuid(id))).filter(
            api_keys::last_used_at
                .is_null()
                .or(api_keys::last_used_at.lt(DbTime(not_since))),
        ),
    )
    .set(api_keys::last_used_at.eq(DbTime(at)))
    .execute(conn)?;
    Ok(())
}
