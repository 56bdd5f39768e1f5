//! Fresh, migrated databases for tests: SQLite always, PostgreSQL when
//! `TEST_DATABASE_URL` names a server (`PEYVAND_REQUIRE_POSTGRES=1` makes a missing
//! server a failure instead of a skip).
//!
//! Running every migration for every test is most of a small test's time, so the
//! migrations run once into a template and each test database is a copy of it:
//!
//! - PostgreSQL: a template database named after a hash of the migration files
//!   (`peyvand_template_<hash>`), cloned with `CREATE DATABASE … TEMPLATE`. Test
//!   processes that start together take an advisory lock around "create if missing";
//!   the template is built under a temporary name and renamed only once migrated, so a
//!   crashed run never leaves a half-migrated template behind. It does not accept
//!   connections, because a clone fails while anyone is connected to its source.
//! - SQLite: a template file per migration hash in the system temporary directory,
//!   written under a temporary name and renamed when complete, copied for each test.
//!
//! A changed migration changes the hash, so a stale template is never reused. A
//! [`TestDatabase`] is removed when it is dropped.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use persistence::db::{build_pool, DbPool, PoolConfig};
use sha2::{Digest, Sha256};

/// A database engine the tests run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The PostgreSQL server for the PostgreSQL runs, e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`.
pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// The backends to run on: SQLite always; PostgreSQL when `TEST_DATABASE_URL` is set.
/// With `PEYVAND_REQUIRE_POSTGRES=1` (CI) a missing PostgreSQL is a failure, not a skip.
pub fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    if postgres_url().is_some() {
        backends.push(Backend::Postgres);
    } else if std::env::var("PEYVAND_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("PEYVAND_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set");
    }
    backends
}

/// A fresh, migrated database on every backend of [`backends`].
pub fn databases() -> Vec<TestDatabase> {
    backends().into_iter().map(TestDatabase::new).collect()
}

/// A fresh, migrated database of its own; removed when dropped.
pub struct TestDatabase {
    backend: Backend,
    url: String,
    storage: Storage,
}

/// What to remove when the test is done.
enum Storage {
    /// The directory holding the SQLite file (and its write-ahead log).
    SqliteDir { _dir: tempfile::TempDir },
    /// The database on the `TEST_DATABASE_URL` server.
    Postgres { server_url: String, name: String },
}

impl TestDatabase {
    /// A new database on `backend`, copied from the migrated template. Panics when
    /// `backend` is PostgreSQL and `TEST_DATABASE_URL` is not set.
    pub fn new(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let path = dir.path().join("test.db");
                std::fs::copy(sqlite_template(), &path).expect("copy the SQLite template");
                TestDatabase {
                    backend,
                    url: path.to_string_lossy().into_owned(),
                    storage: Storage::SqliteDir { _dir: dir },
                }
            }
            Backend::Postgres => {
                let server_url = postgres_url().expect("TEST_DATABASE_URL");
                let template = postgres_template(&server_url);
                let name = format!("peyvand_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = connect_postgres(&server_url);
                while_template_in_use(|| {
                    execute(
                        &mut admin,
                        &format!("CREATE DATABASE {name} TEMPLATE {template}"),
                    )
                })
                .expect("create a test database from the template");
                TestDatabase {
                    backend,
                    url: database_url(&server_url, &name),
                    storage: Storage::Postgres { server_url, name },
                }
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL a pool or `peyvand serve --database-url` takes.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A pool of up to eight connections to the database.
    pub fn pool(&self) -> DbPool {
        self.pool_with(8)
    }

    /// A pool of up to `max_size` connections, e.g. a second one as another server
    /// process would have.
    pub fn pool_with(&self, max_size: u32) -> DbPool {
        build_pool(&PoolConfig {
            max_size,
            ..PoolConfig::new(&self.url)
        })
        .expect("test database pool")
    }
}

impl Drop for TestDatabase {
    /// Drops the PostgreSQL database (`FORCE` ends connections a pool still holds), so
    /// that test runs leave no databases behind on the server; the SQLite directory goes
    /// with its `TempDir`.
    fn drop(&mut self) {
        if let Storage::Postgres { server_url, name } = &self.storage {
            if let Ok(mut admin) = PgConnection::establish(server_url) {
                // Best effort: a leftover database only costs disk space.
                let _ = execute(
                    &mut admin,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                );
            }
        }
    }
}

/// Where the migrations of both backends live.
fn migrations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations")
}

/// The first 16 hex digits of a SHA-256 over every file under `dir`: relative paths
/// and contents, in path order.
fn tree_hash(dir: &Path) -> String {
    fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read migrations directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                collect(&path, files);
            } else {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    collect(dir, &mut files);
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        let relative = file.strip_prefix(dir).expect("file under the directory");
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(std::fs::read(&file).expect("read migration file"));
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())[..16].to_string()
}

fn migrations_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| tree_hash(&migrations_dir()))
}

/// The migrated SQLite template file, written by the first test process that needs it.
fn sqlite_template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = std::env::temp_dir().join("peyvand-test-templates");
        std::fs::create_dir_all(&dir).expect("template directory");
        let template = dir.join(format!("sqlite-{}.db", migrations_hash()));
        if template.exists() {
            return template;
        }
        // Built in a directory of its own next to the final name, so that the rename
        // is atomic and a process that loses the race only replaces an equal file.
        let building = tempfile::tempdir_in(&dir).expect("template build directory");
        let path = building.path().join("template.db");
        let mut conn =
            persistence::db::establish(&path.to_string_lossy()).expect("open the SQLite template");
        persistence::migrations::run_pending(&mut conn).expect("migrate the SQLite template");
        // Back from WAL to a rollback journal: everything is in the one file to copy.
        conn.batch_execute("PRAGMA journal_mode = DELETE;")
            .expect("leave WAL mode");
        drop(conn);
        std::fs::rename(&path, &template).expect("publish the SQLite template");
        template
    })
}

/// Any key the advisory lock around building the PostgreSQL template uses; fixed so
/// that every test process of every run agrees on it.
const TEMPLATE_LOCK: i64 = 0x7065_7976_616e_6474;

/// The name of the migrated PostgreSQL template on `server_url`, built if missing.
fn postgres_template(server_url: &str) -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let name = format!("peyvand_template_{}", migrations_hash());
        let mut admin = connect_postgres(server_url);
        if database_exists(&mut admin, &name) {
            return name;
        }
        // Session-level: released by the unlock below or when a crashed process's
        // connection ends.
        execute(
            &mut admin,
            &format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"),
        )
        .expect("template lock");
        if !database_exists(&mut admin, &name) {
            build_postgres_template(&mut admin, server_url, &name);
        }
        execute(
            &mut admin,
            &format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"),
        )
        .expect("template unlock");
        name
    })
}

/// Migrates a new database under a temporary name, closes it to connections and
/// renames it to `name`: the template exists under its name only when complete.
/// The caller holds the template lock, so a leftover of a crashed build is its to drop.
fn build_postgres_template(admin: &mut PgConnection, server_url: &str, name: &str) {
    let building = format!("{name}_building");
    if database_exists(admin, &building) {
        // A template database cannot be dropped; the leftover may already be marked one.
        execute(
            admin,
            &format!("ALTER DATABASE {building} IS_TEMPLATE false"),
        )
        .expect("unmark a leftover template build");
        execute(admin, &format!("DROP DATABASE {building} WITH (FORCE)"))
            .expect("drop a leftover template build");
    }
    execute(admin, &format!("CREATE DATABASE {building}")).expect("create the template");
    {
        let mut conn = persistence::db::establish(&database_url(server_url, &building))
            .expect("connect to the template");
        persistence::migrations::run_pending(&mut conn).expect("migrate the template");
    }
    execute(
        admin,
        &format!("ALTER DATABASE {building} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"),
    )
    .expect("close the template to connections");
    // The migration connection is closed, but its server process may take a moment
    // to go away.
    while_template_in_use(|| {
        execute(
            admin,
            &format!("ALTER DATABASE {building} RENAME TO {name}"),
        )
    })
    .expect("publish the template");
}

/// Runs `statement` again while PostgreSQL reports that a database it needs is still
/// "being accessed by other users" (a closed connection's server process ends shortly
/// after the client leaves), for up to ten seconds.
fn while_template_in_use(
    mut statement: impl FnMut() -> diesel::QueryResult<usize>,
) -> diesel::QueryResult<usize> {
    let mut attempts = 0;
    loop {
        match statement() {
            Err(err)
                if attempts < 100 && err.to_string().contains("being accessed by other users") =>
            {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            outcome => return outcome,
        }
    }
}

fn connect_postgres(server_url: &str) -> PgConnection {
    PgConnection::establish(server_url).expect("connect to TEST_DATABASE_URL")
}

fn execute(conn: &mut PgConnection, sql: &str) -> diesel::QueryResult<usize> {
    diesel::sql_query(sql).execute(conn)
}

fn database_exists(admin: &mut PgConnection, name: &str) -> bool {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        found: i64,
    }
    let found: Found =
        diesel::sql_query("SELECT count(*) AS found FROM pg_database WHERE datname = $1")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result(admin)
            .expect("look up the template");
    found.found > 0
}

/// The URL of database `name` on the server of `server_url`.
fn database_url(server_url: &str, name: &str) -> String {
    match server_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => format!("{server_url}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_name_follows_the_migration_contents() {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::create_dir(dir.path().join("2026-01-01_first")).expect("migration dir");
        let up = dir.path().join("2026-01-01_first/up.sql");
        std::fs::write(&up, "CREATE TABLE a (id INTEGER);").expect("write");
        let before = tree_hash(dir.path());
        assert_eq!(
            tree_hash(dir.path()),
            before,
            "the same files hash the same"
        );
        std::fs::write(&up, "CREATE TABLE a (id BIGINT);").expect("write");
        let changed = tree_hash(dir.path());
        assert_ne!(changed, before, "a changed migration is a new template");
        std::fs::write(dir.path().join("2026-01-01_first/down.sql"), "").expect("write");
        assert_ne!(
            tree_hash(dir.path()),
            changed,
            "an added file is a new template"
        );
    }

    /// Each backend's database is migrated and its own: a row written to one is not in
    /// the next, and a dropped PostgreSQL database is gone from the server.
    #[test]
    fn each_database_is_migrated_and_separate() {
        for backend in backends() {
            let first = TestDatabase::new(backend);
            let second = TestDatabase::new(backend);
            assert_ne!(first.url(), second.url());
            for db in [&first, &second] {
                let mut conn = db.pool().get().expect("connection");
                assert!(
                    persistence::migrations::is_up_to_date(&mut conn).expect("migrations"),
                    "{backend}: nothing left to migrate"
                );
            }
            let teams = |db: &TestDatabase| -> i64 {
                #[derive(QueryableByName)]
                struct Count {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    n: i64,
                }
                let mut conn = db.pool().get().expect("connection");
                diesel::sql_query("SELECT count(*) AS n FROM teams")
                    .get_result::<Count>(&mut conn)
                    .expect("count")
                    .n
            };
            let baseline = teams(&second);
            diesel::sql_query(
                "INSERT INTO teams (id, name, created_at, updated_at, version) \
                 VALUES ('0190a3f0-0000-7000-8000-000000000001', 'only here', \
                 '2026-12-02T00:00:00Z', '2026-12-02T00:00:00Z', 1)",
            )
            .execute(&mut first.pool().get().expect("connection"))
            .expect("insert a team");
            assert_eq!(teams(&first), baseline + 1, "{backend}");
            assert_eq!(
                teams(&second),
                baseline,
                "{backend}: written only to the first"
            );

            if let Storage::Postgres { server_url, name } = &first.storage {
                let (server_url, name) = (server_url.clone(), name.clone());
                drop(first);
                let mut admin = connect_postgres(&server_url);
                assert!(!database_exists(&mut admin, &name), "dropped with the test");
            }
        }
    }
}
