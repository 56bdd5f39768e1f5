//! Fresh databases for use-case tests: a SQLite file in a temporary directory always,
//! and a new database on the `TEST_DATABASE_URL` PostgreSQL server when set; and the
//! acting contexts the tests act as.

// Each test binary includes this module and uses a different part of it.
#![allow(dead_code)]

use application::accounts::bootstrap::{insert_admin, AdminCredentials};
use application::i18n::Lang;
use application::{Acting, Credential};
use diesel::{Connection, PgConnection, RunQueryDsl};
use domain::authz::{Permission, Role, Visibility};
use persistence::audit::Actor;
use persistence::db::{build_pool, DbConnection, DbPool, PoolConfig};
use uuid::Uuid;

/// A password the password rules accept.
pub const PASSWORD: &str = "correct horse battery";

/// A migrated database and what keeps it alive.
pub struct TestDb {
    pub name: &'static str,
    pub pool: DbPool,
    _dir: Option<tempfile::TempDir>,
    /// PostgreSQL only: the server and the database to drop when the test is done.
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub fn conn(&self) -> persistence::db::PooledConnection {
        self.pool.get().expect("connection")
    }
}

impl Drop for TestDb {
    /// Drops the PostgreSQL database, so that test runs leave none behind on the server.
    fn drop(&mut self) {
        if let Some((server_url, name)) = &self.postgres {
            if let Ok(mut admin) = PgConnection::establish(server_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}

/// Fresh, migrated databases on every available backend. With
/// `PEYVAND_REQUIRE_POSTGRES=1` a missing PostgreSQL is a failure, not a skip.
pub fn databases() -> Vec<TestDb> {
    let mut dbs = vec![sqlite()];
    match std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
    {
        Some(server) => dbs.push(postgres(&server)),
        None if std::env::var("PEYVAND_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
            panic!("PEYVAND_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
        }
        None => {}
    }
    dbs
}

fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = dir.path().join("test.db").to_string_lossy().into_owned();
    TestDb {
        name: "sqlite",
        pool: migrated_pool(&url),
        _dir: Some(dir),
        postgres: None,
    }
}

fn postgres(server_url: &str) -> TestDb {
    let name = format!("peyvand_atest_{}", Uuid::new_v4().simple());
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
        _dir: None,
        postgres: Some((server_url.to_string(), name)),
    }
}

fn migrated_pool(url: &str) -> DbPool {
    let pool = build_pool(&PoolConfig {
        max_size: 4,
        ..PoolConfig::new(url)
    })
    .expect("pool");
    persistence::migrations::run_pending(&mut pool.get().expect("connection")).expect("migrations");
    pool
}

/// A signed-in user with `role`, its default visibility and no team.
pub fn signed_in(id: Uuid, role: Role) -> Acting {
    Acting {
        user_id: Some(id),
        role,
        team_id: None,
        visibility: role.default_visibility(),
        credential: Credential::Session {
            session: Uuid::now_v7(),
        },
        lang: Lang::En,
        request_id: Some("test".into()),
    }
}

/// An API key of user `id` with `role`, limited to `scopes`.
pub fn api_key(id: Uuid, role: Role, scopes: Vec<Permission>) -> Acting {
    Acting {
        credential: Credential::ApiKey {
            key_id: Uuid::now_v7(),
            scopes,
        },
        ..signed_in(id, role)
    }
}

/// A new admin in the database, as a signed-in caller.
pub fn admin(conn: &mut DbConnection) -> Acting {
    let email = format!("admin-{}@example.com", Uuid::now_v7().simple());
    let credentials = AdminCredentials::new(&email, Some(PASSWORD.to_string())).expect("admin");
    let row = insert_admin(conn, &Actor::system(), &credentials, false)
        .expect("insert admin")
        .expect("inserted");
    Acting {
        visibility: Visibility::All,
        ..signed_in(row.id.0, Role::Admin)
    }
}
