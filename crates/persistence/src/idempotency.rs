//! Stored outcomes of `POST` requests sent with an `Idempotency-Key` (`docs/API-CONVENTIONS.md`).
//!
//! A request first [`claim`]s its `(principal, key)`: the row is inserted with no
//! response, which marks the request in flight. When the handler has answered,
//! [`complete`] stores the response for replay; when it failed in a way worth retrying
//! (a server error), [`release`] deletes the row so the client may try again.
//!
//! A stored response may hold a customer's personal data (the created customer, a
//! search page). An erasure [`withdraw_concerning`]s every response whose request path
//! or body names an erased customer: the key keeps guarding against a second run of
//! the request, but answers [`Claim::Withdrawn`] instead of replaying the response.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::idempotency_keys;
use crate::sql_types::{DbJson, DbTime};
use crate::transaction::write_transaction;
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
    /// Lower-cased, so that an id in it is found whatever case the client wrote.
    request_path: Option<String>,
    withdrawn_at: Option<DbTime>,
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
    /// The same request completed, but its response was withdrawn because it concerned
    /// a customer whose personal data was erased since.
    Withdrawn,
}

/// Claims `key` for `principal` and a request to `request_path` whose method, path and
/// body hash to `request_hash`.
pub fn claim(
    conn: &mut DbConnection,
    principal: &str,
    key: &str,
    request_hash: &str,
    request_path: &str,
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
                    .values(fresh_row(principal, key, request_hash, request_path, now))
                    .execute(conn)
                    .map_err(|err| PersistenceError::from_write(err, "idempotency key"))?;
                Ok(Claim::Started)
            }
            Some(row) if row.request_hash != request_hash => Ok(Claim::Mismatch),
            Some(row) if row.withdrawn_at.is_some() => Ok(Claim::Withdrawn),
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

fn fresh_row(
    principal: &str,
    key: &str,
    request_hash: &str,
    request_path: &str,
    now: DateTime<Utc>,
) -> IdempotencyRow {
    IdempotencyRow {
        principal: principal.to_string(),
        idempotency_key: key.to_string(),
        request_hash: request_hash.to_string(),
        response_status: None,
        response_body: None,
        response_headers: None,
        created_at: DbTime(now),
        expires_at: DbTime(now + Duration::hours(RETENTION_HOURS)),
        request_path: Some(request_path.to_ascii_lowercase()),
        withdrawn_at: None,
    }
}

fn stored_headers(value: Option<DbJson>) -> Result<Vec<(String, String)>, PersistenceError> {
    match value {
        None => Ok(Vec::new()),
        Some(DbJson(json)) => serde_json::from_value(json)
            .map_err(|err| PersistenceError::Corrupt(format!("stored headers: {err}"))),
    }
}

/// Stores the response of a claimed request for replay. `mentioned` are the ids its
/// request path and response name: when one of them is a customer erased meanwhile
/// (the response may have been produced before the erasure, which could not see it
/// yet), the response is withdrawn instead of stored.
pub fn complete(
    conn: &mut DbConnection,
    principal: &str,
    key: &str,
    response: &StoredResponse,
    mentioned: &[Uuid],
) -> Result<(), PersistenceError> {
    let headers = serde_json::to_value(&response.headers)
        .map_err(|err| PersistenceError::Corrupt(err.to_string()))?;
    write_transaction(conn, |conn| {
        let row = idempotency_keys::table
            .find((principal, key))
            .filter(idempotency_keys::withdrawn_at.is_null());
        if crate::customers::erasure::erased_among(conn, mentioned)?.is_empty() {
            diesel::update(row)
                .set((
                    idempotency_keys::response_status.eq(Some(i32::from(response.status))),
                    idempotency_keys::response_body.eq(Some(&response.body)),
                    idempotency_keys::response_headers.eq(Some(DbJson(headers))),
                ))
                .execute(conn)?;
        } else {
            diesel::update(row)
                .set(withdrawn(crate::now()))
                .execute(conn)?;
        }
        Ok::<_, PersistenceError>(())
    })
}

/// The changes that withdraw a stored response: its body and headers go, the key stays.
#[allow(clippy::type_complexity)]
fn withdrawn(
    now: DateTime<Utc>,
) -> (
    diesel::dsl::Eq<idempotency_keys::response_body, Option<String>>,
    diesel::dsl::Eq<idempotency_keys::response_headers, Option<DbJson>>,
    diesel::dsl::Eq<idempotency_keys::withdrawn_at, Option<DbTime>>,
) {
    (
        idempotency_keys::response_body.eq(None::<String>),
        idempotency_keys::response_headers.eq(None::<DbJson>),
        idempotency_keys::withdrawn_at.eq(Some(DbTime(now))),
    )
}

/// `LIKE` pattern finding `id` in a path or body. A UUID's text holds no `%` or `_`.
/// The table only holds a day of responses, so scanning it is bounded.
fn mentioning(id: &Uuid) -> String {
    format!("%{id}%")
}

/// Withdraws every stored response whose request path or body names one of `customers`
/// (erasure); returns how many. Runs inside the erasure's transaction.
pub fn withdraw_concerning(
    conn: &mut DbConnection,
    customers: &[Uuid],
    now: DateTime<Utc>,
) -> Result<usize, PersistenceError> {
    let mut withdrawn_rows = 0;
    for id in customers {
        let pattern = mentioning(id);
        withdrawn_rows += diesel::update(
            idempotency_keys::table
                .filter(idempotency_keys::withdrawn_at.is_null())
                .filter(
                    idempotency_keys::request_path
                        .like(&pattern)
                        .or(idempotency_keys::response_body.like(&pattern)),
                ),
        )
        .set(withdrawn(now))
        .execute(conn)?;
    }
    Ok(withdrawn_rows)
}

/// How many stored responses (not withdrawn) name one of `customers`.
pub fn count_concerning(
    conn: &mut DbConnection,
    customers: &[Uuid],
) -> Result<usize, PersistenceError> {
    let mut keys = std::collections::HashSet::new();
    for id in customers {
        let pattern = mentioning(id);
        let found: Vec<(String, String)> = idempotency_keys::table
            .filter(idempotency_keys::withdrawn_at.is_null())
            .filter(
                idempotency_keys::request_path
                    .like(&pattern)
                    .or(idempotency_keys::response_body.like(&pattern)),
            )
            .select((
                idempotency_keys::principal,
                idempotency_keys::idempotency_key,
            ))
            .load(conn)?;
        keys.extend(found);
    }
    Ok(keys.len())
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
