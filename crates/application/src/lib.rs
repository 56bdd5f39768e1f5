//! Peyvand's use cases, between the HTTP API (and the job runner and command line) and
//! persistence: the rules that need the database, transactions, audit recording and
//! record visibility, for whoever acts ([`Acting`]), failing with one error type
//! ([`AppError`]).

pub mod accounts;
pub mod acting;
pub mod administration;
pub mod analytics;
pub mod assignment;
pub mod behaviour;
pub mod campaigns;
pub mod commerce;
pub mod customers;
pub mod error;
pub mod events;
pub mod feedback;
pub mod i18n;
pub mod jobs;
pub mod loyalty;
pub mod notifications;
pub mod offers;
pub mod omnichannel;
pub mod paging;
pub mod partners;
pub mod precondition;
pub mod price_experiments;
pub mod reports;
pub mod sales;
pub mod search;
pub mod segments;
pub mod service;
pub mod settings;
pub mod webhooks;
pub mod workflows;

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

/// [`transaction`] for work that may learn only at its end that it was done before
/// (an inbound message whose provider id a unique index finds stored): when `keep`
/// refuses the value, everything the work wrote is rolled back and the value is still
/// answered, as a success.
pub fn transaction_kept_if<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> AppResult<T>,
    keep: impl FnOnce(&T) -> bool,
) -> AppResult<T> {
    enum Ended<T> {
        Failed(AppError),
        Refused(T),
    }
    impl<T> From<diesel::result::Error> for Ended<T> {
        fn from(err: diesel::result::Error) -> Self {
            Ended::Failed(err.into())
        }
    }
    let outcome = write_transaction(conn, |conn| match work(conn) {
        Ok(value) if keep(&value) => Ok(value),
        Ok(value) => Err(Ended::Refused(value)),
        Err(err) => Err(Ended::Failed(err)),
    });
    match outcome {
        Ok(value) | Err(Ended::Refused(value)) => Ok(value),
        Err(Ended::Failed(err)) => Err(err),
    }
}
