//! The first administrator. A fresh installation has no users, so `serve` creates an
//! admin on first start (from `PEYVAND_ADMIN_EMAIL` / `PEYVAND_ADMIN_PASSWORD`, or with a
//! generated one-time password the server prints once to stdout, never to the logs),
//! and `peyvand create-admin` adds one at any time.

use domain::authz::Role;
use domain::validation::normalize_email;
use persistence::audit::{self, Actor, NewAuditEvent};
use persistence::db::DbConnection;
use persistence::sql_types::{DbTime, DbUuid};
use persistence::users::UserRow;
use uuid::Uuid;

use super::password;
use crate::error::{AppError, AppResult};
use crate::transaction;

/// Address of the first admin when `PEYVAND_ADMIN_EMAIL` is unset.
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@peyvand.local";

/// Display name of admins created here.
const ADMIN_NAME: &str = "Administrator";

/// Characters of randomness in a generated password (base64url, ~144 bits).
const GENERATED_PASSWORD_BYTES: usize = 18;

/// Why an e-mail address and password cannot be an admin's.
#[derive(Debug, thiserror::Error)]
pub enum BadAdminCredentials {
    #[error("{0:?} is not a valid e-mail address")]
    Email(String),
    /// The password breaks the rule described.
    #[error("the admin password {0}")]
    Password(String),
}

/// Why the first admin could not be created.
#[derive(Debug, thiserror::Error)]
pub enum FirstAdminError {
    #[error(transparent)]
    Credentials(#[from] BadAdminCredentials),
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// A checked e-mail address and password for a new admin.
pub struct AdminCredentials {
    pub email: String,
    pub password: String,
    /// Whether the password was generated (and so must be shown to the operator).
    pub generated: bool,
}

impl AdminCredentials {
    /// Validates `email` and `password`; without a password one is generated.
    pub fn new(
        email: &str,
        password: Option<String>,
    ) -> Result<AdminCredentials, BadAdminCredentials> {
        let email =
            normalize_email(email).ok_or_else(|| BadAdminCredentials::Email(email.to_string()))?;
        let (password, generated) = match password.filter(|p| !p.is_empty()) {
            Some(password) => (password, false),
            None => (super::random_token(GENERATED_PASSWORD_BYTES), true),
        };
        if let Some((_, rule)) = password::check_new_password(&password, &[&email, ADMIN_NAME]) {
            return Err(BadAdminCredentials::Password(rule));
        }
        Ok(AdminCredentials {
            email,
            password,
            generated,
        })
    }
}

/// Inserts an active admin (visibility `all`, locale `fa`) with `credentials` and
/// records it in the audit log as done by `actor`, in one transaction.
/// `only_if_no_users` makes the insert conditional on an empty users table, checked
/// inside the same transaction so that two servers starting at once create one admin,
/// not two. Returns `None` when skipped; an address in use is a conflict.
pub fn insert_admin(
    conn: &mut DbConnection,
    actor: &Actor,
    credentials: &AdminCredentials,
    only_if_no_users: bool,
) -> AppResult<Option<UserRow>> {
    let password_hash = password::hash(&credentials.password)?;
    transaction(conn, |conn| {
        if only_if_no_users && persistence::users::count(conn)? > 0 {
            return Ok(None);
        }
        let now = DbTime(persistence::now());
        let row = UserRow {
            id: DbUuid(Uuid::now_v7()),
            email: credentials.email.clone(),
            display_name: ADMIN_NAME.to_string(),
            password_hash,
            role: Role::Admin.as_str().to_string(),
            visibility: Role::Admin.default_visibility().as_str().to_string(),
            team_id: None,
            locale: "fa".to_string(),
            is_active: true,
            last_login_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        persistence::users::insert(conn, &row)?;
        audit::record(
            conn,
            actor,
            NewAuditEvent {
                action: "user.create",
                resource_type: "user",
                resource_id: Some(row.id.0.to_string()),
                changes: Some(domain::audit::changed_fields(
                    &serde_json::json!({}),
                    &row.audit_snapshot(),
                )),
            },
        )?;
        Ok(Some(row))
    })
}

/// On a database without users, creates the first admin from `email` (else
/// [`DEFAULT_ADMIN_EMAIL`]) and `password` (else a generated one), as the system.
/// Returns the admin and the credentials, whose generated password the operator must
/// be shown; `None` when there were users already.
pub fn ensure_first_admin(
    conn: &mut DbConnection,
    email: Option<String>,
    password: Option<String>,
) -> Result<Option<(UserRow, AdminCredentials)>, FirstAdminError> {
    if persistence::users::count(conn).map_err(AppError::from)? > 0 {
        return Ok(None);
    }
    let email = email.unwrap_or_else(|| DEFAULT_ADMIN_EMAIL.to_string());
    let credentials = AdminCredentials::new(&email, password)?;
    let admin = insert_admin(conn, &Actor::system(), &credentials, true)?;
    Ok(admin.map(|admin| (admin, credentials)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_checked_or_generated() {
        let given =
            AdminCredentials::new(" Boss@Example.com ", Some("a long enough password".into()))
                .unwrap();
        assert_eq!(given.email, "boss@example.com");
        assert!(!given.generated);
        let generated = AdminCredentials::new(DEFAULT_ADMIN_EMAIL, None).unwrap();
        assert!(generated.generated);
        assert!(generated.password.len() >= password::MIN_PASSWORD_CHARS);
        assert!(AdminCredentials::new("not-an-email", None).is_err());
        assert!(AdminCredentials::new("a@b.co", Some("short".into())).is_err());
        let weak = AdminCredentials::new("a@b.co", Some("password1234".into()));
        assert!(weak
            .err()
            .is_some_and(|err| err.to_string().contains("too easy to guess")));
    }
}
