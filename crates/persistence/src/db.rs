//! Connections and the pool. One connection type serves both backends so every query is
//! written once; the few places that need backend-specific SQL match on [`DbConnection`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel::{PgConnection, SqliteConnection};

use crate::PersistenceError;

/// A connection to either backend. `derive(MultiConnection)` also generates the
/// `MultiBackend` that the custom SQL types in [`crate::sql_types`] implement.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

pub type DbPool = r2d2::Pool<DbConnectionManager>;
pub type PooledConnection = r2d2::PooledConnection<DbConnectionManager>;

/// Which database a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Postgres,
    Sqlite,
}

impl BackendKind {
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            BackendKind::Postgres
        } else {
            BackendKind::Sqlite
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Postgres => "postgres",
            BackendKind::Sqlite => "sqlite",
        }
    }
}

impl DbConnection {
    pub fn backend(&self) -> BackendKind {
        match self {
            DbConnection::Postgres(_) => BackendKind::Postgres,
            DbConnection::Sqlite(_) => BackendKind::Sqlite,
        }
    }
}

/// How long a SQLite writer waits for the lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

/// Opens the right connection for a URL. SQLite gets WAL, foreign keys, a busy timeout,
/// `secure_delete` and the `local_day` function (`crate::sqlite_functions`) on every connection (these pragmas are per connection, not per
/// file). `secure_delete` overwrites deleted and replaced content with zeros, so that
/// what an erasure removed does not linger in free space of the database file.
pub fn establish(url: &str) -> Result<DbConnection, ConnectionError> {
    match BackendKind::of_url(url) {
        BackendKind::Postgres => PgConnection::establish(url).map(DbConnection::Postgres),
        BackendKind::Sqlite => {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            let mut conn = SqliteConnection::establish(path)?;
            // The busy timeout comes first: switching to WAL takes a lock, and a pool
            // opening its connections at once would otherwise fail with "database is
            // locked" instead of waiting its turn.
            conn.batch_execute(&format!(
                "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                 PRAGMA secure_delete = ON;"
            ))
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
            crate::sqlite_functions::register_local_day(&mut conn)
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConnection::Sqlite(conn))
        }
    }
}

#[derive(QueryableByName)]
struct CheckpointOutcome {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    busy: i32,
}

/// On SQLite, copies the write-ahead log into the database file and truncates the log
/// to zero bytes, so that earlier versions of pages (which `secure_delete` cannot reach:
/// they are old frames of the log, not free space) are gone from disk too. Returns
/// whether it completed: a reader still using an old snapshot makes it give up after
/// the busy timeout, and the next checkpoint then does the work. `None` on PostgreSQL,
/// which has no such file.
pub fn truncate_wal(conn: &mut DbConnection) -> Result<Option<bool>, PersistenceError> {
    match conn {
        DbConnection::Postgres(_) => Ok(None),
        DbConnection::Sqlite(sqlite) => {
            let outcome: CheckpointOutcome =
                diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").get_result(sqlite)?;
            Ok(Some(outcome.busy == 0))
        }
    }
}

/// r2d2 manager that picks the backend from the URL scheme instead of trying each
/// backend in turn.
#[derive(Debug, Clone)]
pub struct DbConnectionManager {
    url: String,
    /// Connections refuse writes (a replica's pool, [`build_read_only_pool`]).
    read_only: bool,
}

impl ManageConnection for DbConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        let mut conn = establish(&self.url).map_err(diesel::r2d2::Error::ConnectionError)?;
        if self.read_only {
            let refuse_writes = match conn {
                DbConnection::Postgres(_) => "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
                DbConnection::Sqlite(_) => "PRAGMA query_only = ON",
            };
            conn.batch_execute(refuse_writes)
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        <DbConnection as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub url: String,
    pub max_size: u32,
    pub connection_timeout: Duration,
}

impl PoolConfig {
    pub fn new(url: impl Into<String>) -> Self {
        PoolConfig {
            url: url.into(),
            max_size: 16,
            connection_timeout: Duration::from_secs(10),
        }
    }
}

/// Builds a pool; for SQLite the parent directory of the file is created first.
pub fn build_pool(config: &PoolConfig) -> Result<DbPool, PersistenceError> {
    if BackendKind::of_url(&config.url) == BackendKind::Sqlite {
        ensure_sqlite_dir(&config.url)?;
    }
    r2d2::Pool::builder()
        .max_size(config.max_size)
        .connection_timeout(config.connection_timeout)
        .build(DbConnectionManager {
            url: config.url.clone(),
            read_only: false,
        })
        .map_err(|err| PersistenceError::Pool(err.to_string()))
}

/// Builds a pool of connections that refuse every write, for reading from a replica
/// (reports, model runs): on PostgreSQL each session's transactions are read only, on
/// SQLite `query_only` is set. The database must exist and be migrated (a replica of
/// the primary).
pub fn build_read_only_pool(config: &PoolConfig) -> Result<DbPool, PersistenceError> {
    r2d2::Pool::builder()
        .max_size(config.max_size)
        .connection_timeout(config.connection_timeout)
        .build(DbConnectionManager {
            url: config.url.clone(),
            read_only: true,
        })
        .map_err(|err| PersistenceError::Pool(err.to_string()))
}

fn ensure_sqlite_dir(url: &str) -> Result<(), PersistenceError> {
    let path = PathBuf::from(url.strip_prefix("sqlite://").unwrap_or(url));
    match path.parent() {
        Some(dir) if dir != Path::new("") && !dir.exists() => {
            std::fs::create_dir_all(dir).map_err(|err| {
                PersistenceError::Pool(format!("cannot create {}: {err}", dir.display()))
            })
        }
        _ => Ok(()),
    }
}

/// Whether `conn` is inside a transaction (or a savepoint).
pub fn in_transaction(conn: &mut DbConnection) -> bool {
    matches!(
        <DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn)
            .transaction_depth(),
        Ok(Some(_))
    )
}

/// Multi-row `INSERT` of `$rows` (a slice or vector of insertable rows) into `$table`.
/// The derived multi-backend connection cannot express SQLite's batch insert, so the
/// statement is built and run against the concrete backend connection; it is the one
/// place the write path branches per backend for this.
#[macro_export]
macro_rules! insert_batch {
    ($conn:expr, $table:expr, $rows:expr) => {{
        use diesel::RunQueryDsl as _;
        match $conn {
            $crate::db::DbConnection::Postgres(pg) => {
                diesel::insert_into($table).values($rows).execute(pg)
            }
            $crate::db::DbConnection::Sqlite(sqlite) => {
                diesel::insert_into($table).values($rows).execute(sqlite)
            }
        }
    }};
}

/// Bulk load of `$rows` into `$table` for the large writes (imports, demo data): binary
/// `COPY FROM` on PostgreSQL, which skips parsing a statement and binding every value
/// (the import of 100,000 customers spent a third of its database time there), and a
/// multi-row `INSERT` on SQLite. `COPY` has no `DEFAULT`, so the rows' `Insertable` must
/// be derived with `treat_none_as_default_value = false`.
#[macro_export]
macro_rules! copy_rows {
    ($conn:expr, $table:expr, $rows:expr) => {{
        use diesel::{ExecuteCopyFromDsl as _, RunQueryDsl as _};
        match $conn {
            $crate::db::DbConnection::Postgres(pg) => {
                diesel::copy_from($table).from_insertable($rows).execute(pg)
            }
            $crate::db::DbConnection::Sqlite(sqlite) => {
                diesel::insert_into($table).values($rows).execute(sqlite)
            }
        }
    }};
}

/// `sql` with each `?` numbered `$1`, `$2`, … for PostgreSQL; as written for SQLite.
pub(crate) fn placeholders(conn: &DbConnection, sql: &str) -> String {
    match conn {
        DbConnection::Sqlite(_) => sql.to_string(),
        DbConnection::Postgres(_) => {
            let mut numbered = String::with_capacity(sql.len() + 16);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    numbered.push('$');
                    numbered.push_str(&n.to_string());
                } else {
                    numbered.push(c);
                }
            }
            numbered
        }
    }
}
