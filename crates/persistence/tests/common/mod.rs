//! Fresh databases for backend-level tests: a SQLite file in a temporary directory
//! always, and a new database on the `TEST_DATABASE_URL` PostgreSQL server when set.

// Each test binary includes this module and uses a different part of it.
#![allow(dead_code)]

use diesel::{Connection, PgConnection, RunQueryDsl};
use persistence::db::{build_pool, DbPool, PoolConfig};

/// A migrated database and what keeps it alive.
pub struct TestDb {
    pub name: &'static str,
    pub url: String,
    pub pool: DbPool,
    _dir: Option<tempfile::TempDir>,
    /// PostgreSQL only: the server and the database to drop when the test is done.
    postgres: Option<(String, String)>,
}

impl Drop for TestDb {
    /// Drops the PostgreSQL database (its pool's connections with it), so that test
    /// runs leave no databases behind on the server.
    fn drop(&mut self) {
        if let Some((server_url, name)) = &self.postgres {
            if let Ok(mut admin) = PgConnection::establish(server_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}

pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// Fresh, migrated databases on every available backend. With
/// `PEYVAND_REQUIRE_POSTGRES=1` a missing PostgreSQL is a failure, not a skip.
pub fn databases() -> Vec<TestDb> {
    let mut dbs = vec![sqlite()];
    match postgres_url() {
        Some(server) => dbs.push(postgres(&server)),
        None if std::env::var("PEYVAND_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
            panic!("PEYVAND_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
        }
        None => {}
    }
    dbs
}

pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = dir.path().join("test.db").to_string_lossy().into_owned();
    TestDb {
        name: "sqlite",
        pool: migrated_pool(&url),
        url,
        _dir: Some(dir),
        postgres: None,
    }
}

pub fn postgres(server_url: &str) -> TestDb {
    let name = format!("peyvand_ptest_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::establish(server_url).expect("connect to TEST_DATABASE_URL");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .expect("create test database");
    let url = match server_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => format!("{server_url}/{name}"),
    };
    TestDb {
        name: "postgres",
        pool: migrated_pool(&url),
        url,
        _dir: None,
        postgres: Some((server_url.to_string(), name)),
    }
}

/// A second, independent pool on the same database, as another server process would have.
pub fn pool_for(url: &str, size: u32) -> DbPool {
    build_pool(&PoolConfig {
        max_size: size,
        ..PoolConfig::new(url)
    })
    .expect("pool")
}

fn migrated_pool(url: &str) -> DbPool {
    let pool = pool_for(url, 8);
    persistence::migrations::run_pending(&mut pool.get().expect("connection")).expect("migrations");
    pool
}
