//! A write transaction whose work fails with API errors, for the routes that still
//! write without a use case.

use persistence::db::{write_transaction, DbConnection};

use crate::error::ApiResult;

/// Runs `work` in one write transaction (see `persistence::db::write_transaction`);
/// any error, including a validation error found inside, rolls everything back.
pub fn transaction<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> ApiResult<T>,
) -> ApiResult<T> {
    write_transaction(conn, work)
}
