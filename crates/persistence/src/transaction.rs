//! The write transaction every change runs in.

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;

use crate::db::{in_transaction, DbConnection};

/// Runs `work` in one transaction that may write.
///
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`: a deferred transaction that
/// reads first and writes later cannot wait for the write lock (SQLite reports BUSY at
/// once to avoid a deadlock), whereas an immediate one waits up to the busy timeout.
/// Nested calls become savepoints on both backends. On PostgreSQL the audit events the
/// transaction recorded are sealed into the audit chain after its commit
/// ([`crate::audit::seal_after_commit`]); a transaction that recorded none (a job
/// poll, an idempotency key) costs no extra round trip.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let already_in_transaction = in_transaction(conn);
    match conn {
        DbConnection::Sqlite(inner) if !already_in_transaction => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
            match work(conn) {
                Ok(value) => {
                    <DbConnection as Connection>::TransactionManager::commit_transaction(conn)?;
                    Ok(value)
                }
                Err(err) => {
                    // The original error matters more than a failed rollback.
                    let _ = <DbConnection as Connection>::TransactionManager::rollback_transaction(
                        conn,
                    );
                    Err(err)
                }
            }
        }
        DbConnection::Postgres(_) if !already_in_transaction => {
            let outcome = conn.transaction(work);
            // Committed or rolled back, this transaction's events are settled either way.
            let recorded = crate::audit::take_recorded_pending();
            let value = outcome?;
            if recorded {
                crate::audit::seal_after_commit(conn);
            }
            Ok(value)
        }
        _ => conn.transaction(work),
    }
}

/// Makes writers that pass the same `key` in their transactions take turns until the
/// transaction ends: for a check-then-write whose rows may not exist yet, so a row lock
/// cannot serialise it. SQLite's write transactions are serialised already (`BEGIN
/// IMMEDIATE`); PostgreSQL takes a transaction-scoped advisory lock on the key's hash.
pub fn advisory_lock(conn: &mut DbConnection, key: &str) -> Result<(), crate::PersistenceError> {
    if let DbConnection::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(pg)?;
    }
    Ok(())
}
