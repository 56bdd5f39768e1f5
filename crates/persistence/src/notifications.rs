//! The users' inbox: every query names the user, so a notification is only ever read
//! or marked by its own user.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::notifications;
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    pub id: DbUuid,
    pub user_id: DbUuid,
    pub kind: String,
    pub title_en: String,
    pub title_fa: String,
    pub body_en: Option<String>,
    pub body_fa: Option<String>,
    pub subject_type: Option<String>,
    pub subject_id: Option<DbUuid>,
    /// The occurrence the notification is about; unique, so it is notified once.
    pub dedupe_key: Option<String>,
    pub read_at: Option<DbTime>,
    pub created_at: DbTime,
}

/// Adds `row` to its user's inbox unless a notification with its `dedupe_key` exists
/// already; answers whether it was added. Call it in the transaction of the change
/// that causes it.
pub fn insert(conn: &mut DbConnection, row: &NotificationRow) -> Result<bool, PersistenceError> {
    let inserted = match conn {
        DbConnection::Postgres(pg) => diesel::insert_into(notifications::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::insert_into(notifications::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(sqlite)?,
    };
    Ok(inserted == 1)
}

/// `user`'s notifications newest first, after the keyset `before` (the last row of the
/// previous page), only the unread ones when `unread_only`; `limit + 1` rows so the
/// caller can tell whether more follow.
pub fn list(
    conn: &mut DbConnection,
    user: Uuid,
    unread_only: bool,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<NotificationRow>, PersistenceError> {
    let mut query = notifications::table
        .filter(notifications::user_id.eq(DbUuid(user)))
        .select(NotificationRow::as_select())
        .into_boxed();
    if unread_only {
        query = query.filter(notifications::read_at.is_null());
    }
    if let Some((created_at, id)) = before {
        query = query.filter(
            notifications::created_at
                .lt(DbTime(created_at))
                .or(notifications::created_at
                    .eq(DbTime(created_at))
                    .and(notifications::id.lt(DbUuid(id)))),
        );
    }
    Ok(query
        .order((notifications::created_at.desc(), notifications::id.desc()))
        .limit(limit + 1)
        .load(conn)?)
}

/// How many of `user`'s notifications are unread.
pub fn unread_count(conn: &mut DbConnection, user: Uuid) -> Result<i64, PersistenceError> {
    Ok(notifications::table
        .filter(notifications::user_id.eq(DbUuid(user)))
        .filter(notifications::read_at.is_null())
        .count()
        .get_result(conn)?)
}

/// `user`'s notification `id`; another user's is not found.
pub fn find(
    conn: &mut DbConnection,
    user: Uuid,
    id: Uuid,
) -> Result<NotificationRow, PersistenceError> {
    notifications::table
        .filter(notifications::id.eq(DbUuid(id)))
        .filter(notifications::user_id.eq(DbUuid(user)))
        .select(NotificationRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Marks `user`'s unread notifications read at `at` (only `id`, when given); answers
/// how many changed. A notification read already keeps its first reading time.
pub fn mark_read(
    conn: &mut DbConnection,
    user: Uuid,
    id: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<usize, PersistenceError> {
    let mut target = diesel::update(notifications::table)
        .filter(notifications::user_id.eq(DbUuid(user)))
        .filter(notifications::read_at.is_null())
        .into_boxed();
    if let Some(id) = id {
        target = target.filter(notifications::id.eq(DbUuid(id)));
    }
    Ok(target
        .set(notifications::read_at.eq(Some(DbTime(at))))
        .execute(conn)?)
}
