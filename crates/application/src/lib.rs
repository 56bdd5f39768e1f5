//! Peyvand's use cases, between the HTTP API (and the job runner and command line) and
//! persistence: the rules that need the database, transactions, audit recording and
//! record visibility, for whoever acts ([`Acting`]), failing with one error type
//! ([`AppError`]).

pub mod accounts;
pub mod acting;
pub mod administration;
pub mod analytics;
pub mod assignment;
pub mod commerce;
pub mod customers;
pub mod error;
pub mod feedback;
pub mod i18n;
pub mod jobs;
pub mod notifications;
pub mod omnichannel;
pub mod paging;
pub mod precondition;
pub mod reports;
pub mod sales;
pub mod search;
pub mod segments;
pub mod service;
pub mod settings;

use persistence::db::DbConnection;
use persistence::transaction::write_transaction;

pub use acting::{Acting, Credential};
pub use error::{AppError, AppResult};
pub use precondition::Precondition;

/// Runs `work` in one write transaction (`BEGIN IMMEDIATE` on SQLite, see
/// `persistence::transaction::write_transaction`); any error, including a rule found broken
/// inside, rolls everything back.
pub fn transaction<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> AppResult<T>,
) -> AppResult<T> {
    write_transaction(conn, work)
}
