//! Embedded migrations, one set per backend with the same names and the same schema.

use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::db::DbConnection;
use crate::PersistenceError;

const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Applies every pending migration; returns the versions applied.
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, PersistenceError> {
    let applied = match conn {
        DbConnection::Postgres(pg) => pg.run_pending_migrations(POSTGRES),
        DbConnection::Sqlite(sqlite) => sqlite.run_pending_migrations(SQLITE),
    }
    .map_err(|err| PersistenceError::Migration(err.to_string()))?;
    Ok(applied
        .into_iter()
        .map(|version| version.to_string())
        .collect())
}

/// True when the database has every migration this binary carries (readiness check).
pub fn is_up_to_date(conn: &mut DbConnection) -> Result<bool, PersistenceError> {
    let pending = match conn {
        DbConnection::Postgres(pg) => pg.pending_migrations(POSTGRES).map(|m| m.len()),
        DbConnection::Sqlite(sqlite) => sqlite.pending_migrations(SQLITE).map(|m| m.len()),
    }
    .map_err(|err| PersistenceError::Migration(err.to_string()))?;
    Ok(pending == 0)
}
