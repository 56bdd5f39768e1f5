//! The users' inbox (S-7): notifications are written in the transaction of whatever
//! causes them (an assignment, a reminder job), and read and marked only by their own
//! user.

use chrono::{DateTime, Utc};
use domain::notifications::{Link, NotificationKind, Texts};
use persistence::db::DbConnection;
use persistence::notifications::NotificationRow;
use persistence::sql_types::{DbTime, DbUuid};
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};

/// Adds a notification to `user`'s inbox, unless one with `dedupe_key` exists already;
/// answers whether it was added.
pub fn notify(
    conn: &mut DbConnection,
    user: Uuid,
    kind: NotificationKind,
    texts: Texts,
    link: Option<Link>,
    dedupe_key: Option<String>,
) -> AppResult<bool> {
    let row = NotificationRow {
        id: DbUuid(Uuid::now_v7()),
        user_id: DbUuid(user),
        kind: kind.as_str().to_string(),
        title_en: texts.title_en,
        title_fa: texts.title_fa,
        body_en: texts.body_en,
        body_fa: texts.body_fa,
        subject_type: link.map(|link| link.kind.as_str().to_string()),
        subject_id: link.map(|link| DbUuid(link.id)),
        dedupe_key,
        read_at: None,
        created_at: DbTime(persistence::now()),
    };
    Ok(persistence::notifications::insert(conn, &row)?)
}

/// Tells `assignee` that the caller gave them something (a task, a deal), unless the
/// caller gave it to themselves.
pub fn notify_assigned(
    conn: &mut DbConnection,
    acting: &Acting,
    assignee: Option<Uuid>,
    texts: Texts,
    link: Link,
) -> AppResult<()> {
    match assignee {
        Some(assignee) if Some(assignee) != acting.user_id => {
            notify(
                conn,
                assignee,
                NotificationKind::Assignment,
                texts,
                Some(link),
                None,
            )?;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The caller's own user id: notifications belong to users, so a caller without one
/// (the system) has no inbox.
fn reader(acting: &Acting) -> AppResult<Uuid> {
    acting.user_id.ok_or(AppError::Forbidden)
}

/// A page of the caller's notifications, newest first, after `before` (the previous
/// page's last row); `limit + 1` rows so the caller can tell whether more follow.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    unread_only: bool,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> AppResult<Vec<NotificationRow>> {
    let user = reader(acting)?;
    Ok(persistence::notifications::list(
        conn,
        user,
        unread_only,
        before,
        limit,
    )?)
}

/// How many of the caller's notifications are unread.
pub fn unread_count(conn: &mut DbConnection, acting: &Acting) -> AppResult<i64> {
    let user = reader(acting)?;
    Ok(persistence::notifications::unread_count(conn, user)?)
}

/// Marks one of the caller's notifications read (again is harmless); another user's is
/// not found.
pub fn mark_read(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<NotificationRow> {
    let user = reader(acting)?;
    crate::transaction(conn, |conn| {
        persistence::notifications::find(conn, user, id)?;
        persistence::notifications::mark_read(conn, user, Some(id), persistence::now())?;
        Ok(persistence::notifications::find(conn, user, id)?)
    })
}

/// Marks every unread notification of the caller read; answers how many.
pub fn mark_all_read(conn: &mut DbConnection, acting: &Acting) -> AppResult<usize> {
    let user = reader(acting)?;
    crate::transaction(conn, |conn| {
        Ok(persistence::notifications::mark_read(
            conn,
            user,
            None,
            persistence::now(),
        )?)
    })
}
