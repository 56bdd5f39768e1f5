//! Fresh databases for use-case tests, and the acting contexts the tests act as.

// Each test binary includes this module and uses a different part of it.
#![allow(dead_code)]

use application::accounts::bootstrap::{insert_admin, AdminCredentials};
use application::i18n::Lang;
use application::{Acting, Credential};
use domain::authz::{Permission, Role, Visibility};
use persistence::audit::Actor;
use persistence::db::{DbConnection, DbPool};
use test_databases::TestDatabase;
use uuid::Uuid;

/// A password the password rules accept.
pub const PASSWORD: &str = "correct horse battery";

/// A migrated database (from the shared test-database helper) with its pool.
pub struct TestDb {
    pub name: &'static str,
    pub pool: DbPool,
    /// Dropped after the pool: removes the database.
    _database: TestDatabase,
}

impl TestDb {
    pub fn conn(&self) -> persistence::db::PooledConnection {
        self.pool.get().expect("connection")
    }
}

/// Fresh, migrated databases on every available backend (PostgreSQL when
/// `TEST_DATABASE_URL` is set; `PEYVAND_REQUIRE_POSTGRES=1` makes it mandatory).
pub fn databases() -> Vec<TestDb> {
    test_databases::databases()
        .into_iter()
        .map(|database| TestDb {
            name: database.backend().name(),
            pool: database.pool(),
            _database: database,
        })
        .collect()
}

/// A signed-in user with `role`, its default visibility and no team.
pub fn signed_in(id: Uuid, role: Role) -> Acting {
    Acting {
        user_id: Some(id),
        role,
        team_id: None,
        visibility: role.default_visibility(),
        partner_id: None,
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
