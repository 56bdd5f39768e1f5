//! Failed-login counters per account and per client address, in the database so that
//! every server process sharing it enforces the same lockouts. The rules that turn
//! failures into lockouts are `domain::login_throttle`; this module only stores them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::login_throttle::ThrottleState;

use crate::db::DbConnection;
use crate::schema::login_throttles;
use crate::sql_types::DbTime;
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = login_throttles, treat_none_as_null = true)]
pub struct LoginThrottleRow {
    /// SHA-256 (hex) of the subject, e.g. `account:<e-mail>` or `address:<ip>`.
    pub subject_hash: String,
    pub failures: i32,
    pub window_started_at: DbTime,
    pub lockouts: i32,
    pub locked_until: Option<DbTime>,
    pub expires_at: DbTime,
}

impl LoginThrottleRow {
    pub fn new(subject_hash: &str, state: &ThrottleState) -> LoginThrottleRow {
        LoginThrottleRow {
            subject_hash: subject_hash.to_string(),
            failures: i32::try_from(state.failures).unwrap_or(i32::MAX),
            window_started_at: DbTime(state.window_started_at),
            lockouts: i32::try_from(state.lockouts).unwrap_or(i32::MAX),
            locked_until: state.locked_until.map(DbTime),
            expires_at: DbTime(state.expires_at),
        }
    }

    pub fn state(&self) -> ThrottleState {
        ThrottleState {
            failures: u32::try_from(self.failures).unwrap_or(0),
            window_started_at: self.window_started_at.0,
            lockouts: u32::try_from(self.lockouts).unwrap_or(0),
            locked_until: self.locked_until.map(|at| at.0),
            expires_at: self.expires_at.0,
        }
    }
}

/// The stored rows among `subject_hashes`.
pub fn find(
    conn: &mut DbConnection,
    subject_hashes: &[&str],
) -> Result<Vec<LoginThrottleRow>, PersistenceError> {
    Ok(login_throttles::table
        .filter(login_throttles::subject_hash.eq_any(subject_hashes))
        .select(LoginThrottleRow::as_select())
        .load(conn)?)
}

/// Makes concurrent failures of one subject wait for each other until the end of the
/// current write transaction, so that none of them is lost between reading and
/// writing the counter. SQLite write transactions are serialised already
/// (`BEGIN IMMEDIATE`); PostgreSQL takes a transaction-scoped advisory lock on the
/// subject.
pub fn lock_subject(conn: &mut DbConnection, subject_hash: &str) -> Result<(), PersistenceError> {
    crate::transaction::advisory_lock(conn, subject_hash)
}

/// Writes `row`, replacing the stored row of its subject. Call after
/// [`lock_subject`] in the same transaction.
pub fn save(conn: &mut DbConnection, row: &LoginThrottleRow) -> Result<(), PersistenceError> {
    let updated = diesel::update(
        login_throttles::table.filter(login_throttles::subject_hash.eq(&row.subject_hash)),
    )
    .set(row)
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(login_throttles::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Forgets a subject (a successful login resets its account's counter).
pub fn delete(conn: &mut DbConnection, subject_hash: &str) -> Result<(), PersistenceError> {
    diesel::delete(login_throttles::table.filter(login_throttles::subject_hash.eq(subject_hash)))
        .execute(conn)?;
    Ok(())
}

/// Deletes the rows whose subjects may be forgotten by `now`; returns how many.
pub fn delete_expired(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
) -> Result<usize, PersistenceError> {
    Ok(
        diesel::delete(login_throttles::table.filter(login_throttles::expires_at.le(DbTime(now))))
            .execute(conn)?,
    )
}
