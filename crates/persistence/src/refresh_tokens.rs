//! Refresh tokens. Only the SHA-256 of each opaque token is stored. Tokens issued
//! from one login form a family: each refresh marks the presented token used and issues
//! the next one in the same family, so presenting a used token again reveals a copy and
//! revokes the whole family.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::refresh_tokens;
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub id: DbUuid,
    pub user_id: DbUuid,
    pub family_id: DbUuid,
    pub token_hash: String,
    pub created_at: DbTime,
    pub expires_at: DbTime,
    pub used_at: Option<DbTime>,
    pub revoked_at: Option<DbTime>,
}

pub fn insert(conn: &mut DbConnection, row: &RefreshTokenRow) -> Result<(), PersistenceError> {
    diesel::insert_into(refresh_tokens::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, "refresh token collision"))?;
    Ok(())
}

pub fn find_by_hash(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<Option<RefreshTokenRow>, PersistenceError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .optional()?)
}

/// Marks a token used unless it already is; `false` means another request used it first
/// (which the caller treats as reuse).
pub fn mark_used(
    conn: &mut DbConnection,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, PersistenceError> {
    let updated = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::id.eq(DbUuid(id)))
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(DbTime(at)))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Revokes every not yet revoked token of a family; returns how many.
pub fn revoke_family(
    conn: &mut DbConnection,
    family_id: Uuid,
    at: DateTime<Utc>,
) -> Result<usize, PersistenceError> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(DbUuid(family_id)))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(DbTime(at)))
    .execute(conn)?)
}

/// Revokes every session of a user except the family `keep` (the caller's own session
/// when a user changes their password); returns the revoked families.
pub fn revoke_all_for_user(
    conn: &mut DbConnection,
    user_id: Uuid,
    keep: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<Vec<Uuid>, PersistenceError> {
    let mut target = refresh_tokens::table
        .filter(refresh_tokens::user_id.eq(DbUuid(user_id)))
        .filter(refresh_tokens::revoked_at.is_null())
        .into_boxed();
    if let Some(family) = keep {
        target = target.filter(refresh_tokens::family_id.ne(DbUuid(family)));
    }
    let tokens: Vec<(DbUuid, DbUuid)> = target
        .select((refresh_tokens::id, refresh_tokens::family_id))
        .load(conn)?;
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    let (ids, families): (Vec<DbUuid>, Vec<DbUuid>) = tokens.into_iter().unzip();
    diesel::update(refresh_tokens::table.filter(refresh_tokens::id.eq_any(ids)))
        .set(refresh_tokens::revoked_at.eq(DbTime(at)))
        .execute(conn)?;
    let mut families: Vec<Uuid> = families.into_iter().map(|family| family.0).collect();
    families.sort_unstable();
    families.dedup();
    Ok(families)
}
