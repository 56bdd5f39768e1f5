//! Stored outcomes of `POST` requests sent with an `Idempotency-Key` (DESIGN §3).
//!
//! A request first [`claim`]s its `(principal, key)`: the row is inserted with no
//! response, which marks the request in flight. When the handler has answered,
//! [`complete`] stores the response for replay; when it failed in a way worth retrying
//! (a server error), [`release`] deletes the row so the client may try again.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use crate::db::{write_transaction, DbConnection};
use crate::schema::idempotency_keys;
use crate::sql_types::{DbJson, DbTime};
use crate::PersistenceError;

/// How long a stored outcome is replayed.
pub const RETENTION_HOURS: i64 = 24;

/// An in-flight claim older than this is taken to belong to a request that never
/// finished (a crash), so a retry may take it over instead of waiting a day.
pub const ABANDONED_AFTER_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
struct IdempotencyRow {
    principal: String,
    idempotency_key: String,
    request_hash: String,
    response_status: Option<i32>,
    response_body: Option<String>,
    response_headers: Option<DbJson>,
    created_at: DbTime,
    expires_at: DbTime,
}

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
    /// `(name, value)` pairs of the headers worth replaying (`Location`, `ETag`, ...).
    pub headers: Vec<(String, String)>,
}

/// What a request may do with its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First use (or the earlier one expired): run the request, then [`complete`].
    Started,
    /// The same request already completed: answer with its response.
    Replay(StoredResponse),
    /// The same key is being processed by another request right now.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

/// Claims `key` for `principal` and a request whose method, path and body hash to
/// `request_hash`.
pub fn claim(
    conn: &mut DbConnection,
    principal: &str,
    key: &str,
    request_hash: &str,
    now: DateTime<Utc>,
) -> Result<Claim, PersistenceError> {
    let result = write_transaction(conn, |conn| -> Result<Claim, PersistenceError> {
        // Expired entries are removed as part of normal traffic; the index on
        // `expires_at` keeps this cheap.
        diesel::delete(
            idempotency_keys::table.filter(idempotency_keys::expires_at.lt(DbTime(now))),
        )
        .execute(conn)?;
        let existing = idempotency_keys::table
            .find((principal, key))
            .select(IdempotencyRow::as_select())
            .first(conn)
            .optional()?;
        match existing {
            None => {
                diesel::insert_into(idempotency_keys::table)
                    .values(fresh_row(principal, key, request_hash, now))
                    .execute(conn)
                    .map_err(|err| PersistenceError::from_write(err, "idempotency key"))?;
                Ok(Claim::Started)
            }
            Some(row) if row.request_hash != request_hash => Ok(Claim::Mismatch),
            Some(row) => match (row.response_status, row.response_body) {
                (Some(status), Some(body)) => Ok(Claim::Replay(StoredResponse {
                    status: u16::try_from(status)
                        .map_err(|_| PersistenceError::Corrupt("response status".into()))?,
                    body,
                    headers: stored_headers(row.response_headers)?,
                })),
                _ if row.created_at.0 < now - Duration::seconds(ABANDONED_AFTER_SECS) => {
                    diesel::update(idempotency_keys::table.find((principal, key)))
                        .set(idempotency_keys::created_at.eq(DbTime(now)))
                        .execute(conn)?;
                    Ok(Claim::Started)
                }
                _ => Ok(Claim::InProgress),
            },
        }
    });
    match result {
        // Two first uses raced on PostgreSQL and the other one inserted first.
        Err(PersistenceError::Conflict(_)) => Ok(Claim::InProgress),
        other => other,
    }
}

fn fresh_row(principal: &str, key: &str, request_hash: &str, now: DateTime<Utc>) -> IdempotencyRow {
    IdempotencyRow {
        principal: principal.to_string(),
        idempotency_key: key.to_string(),
        request_hash: request_hash.to_string(),
        response_status: None,
        response_body: None,
        response_headers: None,
        created_at: DbTime(now),
        expires_at: DbTime(now + Duration::hours(RETENTION_HOURS)),
    }
}

fn stored_headers(value: Option<DbJson>) -> Result<Vec<(String, String)>, PersistenceError> {
    match value {
        None => Ok(Vec::new()),
        Some(DbJson(json)) => serde_json::from_value(json)
            .map_err(|err| PersistenceError::Corrupt(format!("stored headers: {err}"))),
    }
}

/// Stores the response of a claimed request for replay.
pub fn complete(
    conn: &mut DbConnection,
    principal: &str,
    key: &str,
    response: &StoredResponse,
) -> Result<(), PersistenceError> {
    let headers = serde_json::to_value(&response.headers)
        .map_err(|err| PersistenceError::Corrupt(err.to_string()))?;
    write_transaction(conn, |conn| {
        diesel::update(idempotency_keys::table.find((principal, key)))
            .set((
                idempotency_keys::response_status.eq(Some(i32::from(response.status))),
                idempotency_keys::response_body.eq(Some(&response.body)),
                idempotency_keys::response_headers.eq(Some(DbJson(headers))),
            ))
            .execute(conn)
    })?;
    Ok(())
}

/// Forgets a claim whose request failed in a way the client should be able to retry.
pub fn release(
    conn: &mut DbConnection,
    principal: &str,
    key: &str,
) -> Result<(), PersistenceError> {
    write_transaction(conn, |conn| {
        diesel::delete(idempotency_keys::table.find((principal, key))).execute(conn)
    })?;
    Ok(())
}
