//! API keys for integrations: created by a user for themselves
//! (`api_keys:own`), scoped to a subset of what the creator may do, shown once,
//! revocable. A user sees their own keys; `users:manage` sees everyone's.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use domain::authz::Permission;
use domain::text::TextKind;
use domain::validation::Violations;
use persistence::api_keys::{ApiKeyQuery, ApiKeyRow};
use persistence::audit::{self, NewAuditEvent};
use persistence::db::DbConnection;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use persistence::users::UserRow;
use uuid::Uuid;

use super::api_key_format;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::paging::{created_after, Cursor};
use crate::transaction;

const MAX_NAME_CHARS: usize = 100;

/// A key's `last_used_at` is written at most once per this interval.
const LAST_USED_GRANULARITY_SECS: i64 = 60;

/// A key to create.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    /// Permission names, each among the creator's own permissions.
    pub scopes: Vec<String>,
    /// When the key stops working (in the future); `None`: never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A created key and the whole key, which is shown this once.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub row: ApiKeyRow,
    pub key: String,
}

/// Creates a key for the caller. A key never holds more than its creator (or, for a key
/// made by a key, the creating key) may do.
pub fn create(conn: &mut DbConnection, acting: &Acting, new: NewApiKey) -> AppResult<CreatedKey> {
    acting.require(Permission::ApiKeysOwn)?;
    let user_id = acting.user_id.ok_or(AppError::Forbidden)?;
    let mut violations = Violations::default();
    let name_chars = new.name.trim().chars().count();
    violations.check_text("name", &new.name, TextKind::SingleLine);
    if name_chars == 0 {
        violations.push("name", "required", "must not be empty");
    } else if name_chars > MAX_NAME_CHARS {
        violations.push(
            "name",
            "too_long",
            format!("must be at most {MAX_NAME_CHARS} characters"),
        );
    }
    if new.scopes.is_empty() {
        violations.push("scopes", "required", "name at least one scope");
    }
    let mut scopes: Vec<Permission> = Vec::new();
    for (i, name) in new.scopes.iter().enumerate() {
        match Permission::parse(name) {
            None => violations.push(
                format!("scopes[{i}]"),
                "invalid_value",
                format!("{name:?} is not a known scope"),
            ),
            Some(permission) if !acting.can(permission) => violations.push(
                format!("scopes[{i}]"),
                "not_allowed",
                format!("{name:?} is not among the creator's permissions"),
            ),
            Some(permission) if !scopes.contains(&permission) => scopes.push(permission),
            Some(_) => {}
        }
    }
    let now = persistence::now();
    if new.expires_at.is_some_and(|at| at <= now) {
        violations.push("expires_at", "out_of_range", "must be in the future");
    }
    violations.into_result().map_err(AppError::Invalid)?;
    let generated = api_key_format::generate();
    let row = ApiKeyRow {
        id: DbUuid(Uuid::now_v7()),
        user_id: DbUuid(user_id),
        name: new.name.trim().to_string(),
        prefix: generated.prefix,
        key_hash: generated.secret_hash,
        scopes: DbJson(serde_json::json!(scopes
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>())),
        created_at: DbTime(now),
        expires_at: new.expires_at.map(|at| DbTime(at.trunc_subsecs(6))),
        last_used_at: None,
        revoked_at: None,
    };
    let row = transaction(conn, |conn| {
        persistence::api_keys::insert(conn, &row)?;
        audit::record(
            conn,
            &acting.audit_actor(),
            NewAuditEvent {
                action: "api_key.create",
                resource_type: "api_key",
                resource_id: Some(row.id.0.to_string()),
                changes: Some(domain::audit::changed_fields(
                    &serde_json::json!({}),
                    &row.audit_snapshot(),
                )),
            },
        )?;
        Ok(row)
    })?;
    Ok(CreatedKey {
        row,
        key: generated.full,
    })
}

/// One page of keys in creation order: the caller's own, or with `everyone`
/// (`users:manage`) every user's; up to `limit + 1` rows after `cursor`.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    everyone: bool,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<ApiKeyRow>> {
    acting.require(Permission::ApiKeysOwn)?;
    if everyone {
        acting.require(Permission::UsersManage)?;
    }
    let query = ApiKeyQuery {
        user_id: if everyone {
            None
        } else {
            Some(acting.user_id.ok_or(AppError::Forbidden)?)
        },
        after: created_after(cursor)?,
        limit,
    };
    Ok(persistence::api_keys::list(conn, &query)?)
}

/// A key the caller may see: its own, or any with `users:manage`. Another user's key is
/// not found rather than forbidden, so ids cannot be probed.
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<ApiKeyRow> {
    acting.require(Permission::ApiKeysOwn)?;
    let row = persistence::api_keys::find(conn, id)?;
    if acting.user_id == Some(row.user_id.0) || acting.can(Permission::UsersManage) {
        Ok(row)
    } else {
        Err(AppError::NotFound)
    }
}

/// Revokes a key the caller may see; it stops working at once. Revoking a revoked key
/// changes nothing.
pub fn revoke(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<()> {
    let current = get(conn, acting, id)?;
    transaction(conn, |conn| {
        if current.revoked_at.is_some() {
            return Ok(());
        }
        let now = persistence::now();
        persistence::api_keys::revoke(conn, current.id.0, now)?;
        let mut after = current.clone();
        after.revoked_at = Some(DbTime(now));
        audit::record(
            conn,
            &acting.audit_actor(),
            NewAuditEvent {
                action: "api_key.revoke",
                resource_type: "api_key",
                resource_id: Some(current.id.0.to_string()),
                changes: Some(domain::audit::changed_fields(
                    &current.audit_snapshot(),
                    &after.audit_snapshot(),
                )),
            },
        )?;
        Ok(())
    })
}

/// Who a presented key acts for.
#[derive(Debug, Clone)]
pub struct KeyHolder {
    pub key_id: Uuid,
    /// The key's owner, active.
    pub user: UserRow,
    /// The permissions the key is limited to.
    pub scopes: Vec<Permission>,
}

/// The holder of the key whose public `prefix` and secret hash were presented (see
/// [`api_key_format::parse`]), noting its use at most once a minute. A revoked or
/// expired key and an inactive owner are [`AppError::InvalidToken`], never told apart.
pub fn authenticate(
    conn: &mut DbConnection,
    prefix: &str,
    secret_hash: &str,
) -> AppResult<KeyHolder> {
    let key =
        persistence::api_keys::find_by_hash(conn, secret_hash)?.ok_or(AppError::InvalidToken)?;
    let now = persistence::now();
    let usable = key.prefix == prefix
        && key.revoked_at.is_none()
        && key.expires_at.is_none_or(|at| at.0 > now);
    if !usable {
        return Err(AppError::InvalidToken);
    }
    let user = match persistence::users::find(conn, key.user_id.0) {
        Ok(user) if user.is_active => user,
        Ok(_) | Err(persistence::PersistenceError::NotFound) => return Err(AppError::InvalidToken),
        Err(err) => return Err(err.into()),
    };
    let stale_since = now - Duration::seconds(LAST_USED_GRANULARITY_SECS);
    if key.last_used_at.is_none_or(|at| at.0 < stale_since) {
        transaction(conn, |conn| {
            Ok(persistence::api_keys::touch_last_used(
                conn,
                key.id.0,
                now,
                stale_since,
            )?)
        })?;
    }
    // Scopes that no longer exist are ignored rather than failing the request.
    let scopes = key
        .scope_names()
        .iter()
        .filter_map(|name| Permission::parse(name))
        .collect();
    Ok(KeyHolder {
        key_id: key.id.0,
        user,
        scopes,
    })
}
