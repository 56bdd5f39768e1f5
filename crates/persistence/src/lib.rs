//! Peyvand storage over SQLite and PostgreSQL with one code path (diesel 2 + r2d2).

pub mod api_keys;
pub mod audit;
pub mod consents;
pub mod custom_fields;
pub mod customers;
pub mod db;
pub mod files;
pub mod filter;
pub mod idempotency;
pub mod jobs;
pub mod labels;
pub mod login_throttles;
pub mod migrations;
pub mod notes;
pub mod personnel;
pub mod refresh_tokens;
pub mod schema;
pub mod settings;
pub mod sql_types;
pub mod teams;
pub mod user_search;
pub mod users;

pub use db::{BackendKind, DbConnection, DbPool, PoolConfig};

/// Errors of the storage layer; the API maps them to problem responses in one place.
#[derive(Debug, thiserror::Error)]
pub enum PersistenceError {
    #[error("record not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("stale version")]
    StaleVersion,
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("connection pool error: {0}")]
    Pool(String),
    #[error("migration error: {0}")]
    Migration(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

impl PersistenceError {
    /// Maps unique-constraint violations to [`PersistenceError::Conflict`] so callers can
    /// answer 409 instead of 500.
    pub fn from_write(err: diesel::result::Error, what: &str) -> Self {
        match err {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => PersistenceError::Conflict(what.to_string()),
            diesel::result::Error::NotFound => PersistenceError::NotFound,
            other => PersistenceError::Database(other),
        }
    }
}

/// The current instant truncated to microseconds, the precision both backends store, so
/// that a value written and read back compares equal.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{SubsecRound, Utc};
    Utc::now().trunc_subsecs(6)
}
