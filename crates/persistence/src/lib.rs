//! Peyvand storage over SQLite and PostgreSQL with one code path (diesel 2 + r2d2).

pub mod activities;
pub mod api_keys;
pub mod assignment;
pub mod attribution;
pub mod audit;
pub mod behavioural_events;
pub mod campaigns;
pub mod canned_answers;
pub mod channel_accounts;
pub mod channel_reports;
pub mod consents;
pub mod contact_points;
pub mod conversations;
pub mod custom_fields;
pub mod custom_values;
pub mod customers;
pub mod db;
pub mod deals;
pub mod events;
pub mod feedback;
pub mod feedback_reports;
pub mod feedback_surveys;
pub mod files;
pub mod filter;
pub mod follow_up_rules;
pub mod forecast;
pub mod idempotency;
pub mod jobs;
pub mod labels;
pub mod lead_lists;
pub mod lead_propensity;
pub mod lead_scoring;
pub mod leads;
pub mod lifecycle_rules;
pub mod login_throttles;
pub mod loyalty;
pub mod message_templates;
pub mod migrations;
pub mod model_run_schedules;
pub mod model_runs;
pub mod notes;
pub mod notifications;
pub mod orders;
pub mod partners;
pub mod personnel;
pub mod pipelines;
pub mod price_experiments;
pub mod principal_events;
pub mod product_models;
pub mod products;
pub mod quotes;
pub mod record_shares;
pub mod refresh_tokens;
pub mod reports;
pub mod retention;
pub mod schema;
pub mod scores;
pub mod segments;
pub mod service_reports;
pub mod settings;
pub mod sla_policies;
pub mod sql_types;
pub mod sqlite_functions;
pub mod subjects;
pub mod tasks;
pub mod teams;
pub mod ticket_attachments;
pub mod ticket_categories;
pub mod ticket_surveys;
pub mod ticket_time_entries;
pub mod tickets;
pub mod timeline;
pub mod transaction;
pub mod user_search;
pub mod users;
pub mod web_chat_visitors;
pub mod webhooks;
pub mod workflows;

pub use db::{BackendKind, DbConnection, DbPool, PoolConfig};

/// Errors of the storage layer; the API maps them to problem responses in one place.
#[derive(Debug, thiserror::Error)]
pub enum PersistenceError {
    #[error("record not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// A row's version is no longer the one read earlier in the transaction: another
    /// writer changed it in between.
    #[error("stale version")]
    StaleVersion,
    /// Another transaction held what this one needed: a PostgreSQL deadlock (SQLSTATE
    /// 40P01) or serialization failure (40001), or a SQLite database that stayed locked
    /// past the busy timeout. Nothing was written; running the transaction again can
    /// succeed.
    #[error("concurrent update: {0}")]
    Contention(String),
    #[error("database error: {0}")]
    Database(diesel::result::Error),
    #[error("connection pool error: {0}")]
    Pool(String),
    #[error("migration error: {0}")]
    Migration(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

/// Database errors are sorted here, once, so that every caller (and every transaction)
/// tells lock contention, which a retry can cure, from real failures.
impl From<diesel::result::Error> for PersistenceError {
    fn from(err: diesel::result::Error) -> Self {
        if is_contention(&err) {
            PersistenceError::Contention(err.to_string())
        } else {
            PersistenceError::Database(err)
        }
    }
}

/// Whether `err` says that another transaction was in the way.
///
/// diesel names SQLSTATE 40001 (serialization failure) but reports a PostgreSQL deadlock
/// (40P01) and SQLite's BUSY/LOCKED only as unknown errors with their message, so those
/// are recognised by the server's (English) message text.
fn is_contention(err: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match err {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        Error::DatabaseError(_, info) => {
            let message = info.message();
            message.starts_with("deadlock detected")
                || message.starts_with("database is locked")
                || message.starts_with("database table is locked")
        }
        _ => false,
    }
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
            other => other.into(),
        }
    }
}

/// The current instant truncated to microseconds, the precision both backends store, so
/// that a value written and read back compares equal.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{SubsecRound, Utc};
    Utc::now().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use diesel::result::{DatabaseErrorKind, Error};

    use super::*;

    fn database_error(kind: DatabaseErrorKind, message: &str) -> Error {
        Error::DatabaseError(kind, Box::new(message.to_string()))
    }

    #[test]
    fn lock_conflicts_are_told_from_other_database_errors() {
        for contention in [
            database_error(
                DatabaseErrorKind::SerializationFailure,
                "could not serialize",
            ),
            database_error(DatabaseErrorKind::Unknown, "deadlock detected"),
            database_error(DatabaseErrorKind::Unknown, "database is locked"),
            database_error(DatabaseErrorKind::Unknown, "database table is locked"),
        ] {
            assert!(
                matches!(
                    PersistenceError::from(contention),
                    PersistenceError::Contention(_)
                ),
                "contention"
            );
        }
        for other in [
            database_error(DatabaseErrorKind::Unknown, "relation \"x\" does not exist"),
            Error::NotFound,
        ] {
            assert!(matches!(
                PersistenceError::from(other),
                PersistenceError::Database(_)
            ));
        }
        assert!(matches!(
            PersistenceError::from_write(
                database_error(DatabaseErrorKind::Unknown, "deadlock detected"),
                "x"
            ),
            PersistenceError::Contention(_)
        ));
    }
}
