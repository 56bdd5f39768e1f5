//! API keys for integrations: created by a user for themselves, scoped to a
//! subset of their own permissions, shown once, revocable.

use actix_web::http::StatusCode;
use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, SubsecRound, Utc};
use domain::authz::Permission;
use domain::text::TextKind;
use domain::validation::Violations;
use persistence::api_keys::{ApiKeyQuery, ApiKeyRow};
use persistence::audit::{self, NewAuditEvent};
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::auth::plumbing::{created_after, creation_cursor, transaction};
use crate::auth::{api_key, Principal};
use crate::conventions::{JsonBody, Page, PageParams};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(create_api_key, list_api_keys, get_api_key, revoke_api_key),
    components(schemas(ApiKey, CreatedApiKey, CreateApiKeyRequest))
)]
pub struct ApiKeysApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_api_key)
        .service(list_api_keys)
        .service(get_api_key)
        .service(revoke_api_key);
}

const MAX_NAME_CHARS: usize = 100;

/// An API key without its secret.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb",
    "user_id": "0193a4e2-7c1d-7b3e-9f10-2a4b6c8d0e1f",
    "name": "Website forms",
    "prefix": "3fa1c2d4",
    "scopes": ["records:read", "records:write"],
    "created_at": "2026-11-01T10:00:00Z",
    "expires_at": null,
    "last_used_at": "2026-11-20T08:15:00Z",
    "revoked_at": null
}))]
pub struct ApiKey {
    pub id: Uuid,
    /// The user the key acts for.
    pub user_id: Uuid,
    pub name: String,
    /// Public part of the key (`pvk_<prefix>_...`), to recognise it.
    pub prefix: String,
    /// Permissions the key is limited to.
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Last use, recorded at most once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&ApiKeyRow> for ApiKey {
    fn from(row: &ApiKeyRow) -> ApiKey {
        ApiKey {
            id: row.id.0,
            user_id: row.user_id.0,
            name: row.name.clone(),
            prefix: row.prefix.clone(),
            scopes: row.scope_names(),
            created_at: row.created_at.0,
            expires_at: row.expires_at.map(|t| t.0),
            last_used_at: row.last_used_at.map(|t| t.0),
            revoked_at: row.revoked_at.map(|t| t.0),
        }
    }
}

/// A new key with its secret, shown only in this response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb",
    "user_id": "0193a4e2-7c1d-7b3e-9f10-2a4b6c8d0e1f",
    "name": "Website forms",
    "prefix": "3fa1c2d4",
    "scopes": ["records:read", "records:write"],
    "created_at": "2026-11-01T10:00:00Z",
    "expires_at": null,
    "last_used_at": null,
    "revoked_at": null,
    "key": "pvk_3fa1c2d4_kX3v9bq0Vt7Qe1m2P5sZ8yA4cD6fH0jL2nR4tW6xY8z"
}))]
pub struct CreatedApiKey {
    #[serde(flatten)]
    #[schema(inline)]
    pub api_key: ApiKey,
    /// The full key. It cannot be shown again: store it now.
    pub key: String,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "فرم‌های وب‌سایت", "scopes": ["records:read", "records:write"], "expires_at": "2031-03-21T00:00:00Z"}))]
pub struct CreateApiKeyRequest {
    pub name: String,
    /// Permissions for the key: a subset of the creator's own (e.g. `users:read`).
    pub scopes: Vec<String>,
    /// When the key stops working (in the future); none: never.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApiKeyListFilters {
    /// Admins only: every user's keys instead of their own.
    #[serde(default)]
    pub all: bool,
}

/// Create an API key.
///
/// A key lets an integration call the API as the creating user, limited to `scopes`:
/// permission names such as `records:read`, each of which the creator must hold. Send it as
/// `Authorization: Bearer <key>` or `X-Api-Key: <key>`. The answer holds the full key once;
/// only its hash is stored, so it cannot be shown again.
///
/// Needs `api_keys:own` (every role but `read_only`). Audited as `api_key.create` (never
/// with the secret). A retry with the same `Idempotency-Key` replays the first answer,
/// secret included, so a key lost to a timeout is not created twice.
///
/// Problems: 422 `validation_failed` for an empty or over-long `name`, no `scopes`, a scope
/// that is unknown (`invalid_value`) or beyond the creator's permissions (`not_allowed`),
/// or an `expires_at` that is not in the future (`out_of_range`).
#[utoipa::path(
    tag = "api_keys",
    operation_id = "create_api_key",
    request_body = CreateApiKeyRequest,
    responses((status = 201, description = "Created; `key` is shown only now", body = CreatedApiKey, headers(("Location" = String))))
)]
#[post("/api/v1/api-keys")]
pub async fn create_api_key(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<CreateApiKeyRequest>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::ApiKeysOwn)?;
    let request = body.0;
    let mut violations = Violations::default();
    let name_chars = request.name.trim().chars().count();
    violations.check_text("name", &request.name, TextKind::SingleLine);
    if name_chars == 0 {
        violations.push("name", "required", "must not be empty");
    } else if name_chars > MAX_NAME_CHARS {
        violations.push(
            "name",
            "too_long",
            format!("must be at most {MAX_NAME_CHARS} characters"),
        );
    }
    if request.scopes.is_empty() {
        violations.push("scopes", "required", "name at least one scope");
    }
    let mut scopes: Vec<Permission> = Vec::new();
    for (i, name) in request.scopes.iter().enumerate() {
        match Permission::parse(name) {
            None => violations.push(
                format!("scopes[{i}]"),
                "invalid_value",
                format!("{name:?} is not a known scope"),
            ),
            // A key never holds more than its creator (or, for a key made by a key, the
            // creating key) may do.
            Some(permission) if !principal.can(permission) => violations.push(
                format!("scopes[{i}]"),
                "not_allowed",
                format!("{name:?} is not among the creator's permissions"),
            ),
            Some(permission) if !scopes.contains(&permission) => scopes.push(permission),
            Some(_) => {}
        }
    }
    let now = persistence::now();
    if request.expires_at.is_some_and(|at| at <= now) {
        violations.push("expires_at", "out_of_range", "must be in the future");
    }
    violations.into_result().map_err(ApiError::Validation)?;
    let generated = api_key::generate();
    let row = ApiKeyRow {
        id: DbUuid(Uuid::now_v7()),
        user_id: DbUuid(principal.id()),
        name: request.name.trim().to_string(),
        prefix: generated.prefix,
        key_hash: generated.secret_hash,
        scopes: DbJson(serde_json::json!(scopes
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>())),
        created_at: DbTime(now),
        expires_at: request.expires_at.map(|at| DbTime(at.trunc_subsecs(6))),
        last_used_at: None,
        revoked_at: None,
    };
    let actor = principal.audit_actor();
    let row = state
        .db(move |conn| {
            transaction(conn, |conn| {
                persistence::api_keys::insert(conn, &row)?;
                audit::record(
                    conn,
                    &actor,
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
            })
        })
        .await?;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .insert_header(("Location", format!("/api/v1/api-keys/{}", row.id.0)))
        .json(CreatedApiKey {
            api_key: ApiKey::from(&row),
            key: generated.full,
        }))
}

/// List API keys.
///
/// The caller's own keys, revoked and expired ones included, in creation order; never their
/// secrets. With `all=true` admins (`users:manage`) list every user's keys.
///
/// Needs `api_keys:own`; `all=true` without `users:manage` is 403 `forbidden`.
#[utoipa::path(
    tag = "api_keys",
    operation_id = "list_api_keys",
    params(PageParams, ApiKeyListFilters),
    responses((status = 200, description = "One page of keys", body = Page<ApiKey>))
)]
#[get("/api/v1/api-keys")]
pub async fn list_api_keys(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
    filters: web::Query<ApiKeyListFilters>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::ApiKeysOwn)?;
    if filters.all {
        principal.require(Permission::UsersManage)?;
    }
    let query = ApiKeyQuery {
        user_id: (!filters.all).then_some(principal.id()),
        after: created_after(&page)?,
        limit: page.limit as i64,
    };
    let rows = state
        .db(move |conn| Ok(persistence::api_keys::list(conn, &query)?))
        .await?;
    let page = Page::from_rows(
        rows,
        page.limit,
        |row| creation_cursor(row.created_at.0, row.id.0),
        |row| ApiKey::from(&row),
    );
    Ok(HttpResponse::Ok().json(page))
}

/// The key `id` if the principal may see it: its own, or any with `users:manage`.
/// Another user's key is "not found" rather than "forbidden", so ids cannot be probed.
async fn visible_key(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<ApiKeyRow> {
    principal.require(Permission::ApiKeysOwn)?;
    let row = state
        .db(move |conn| Ok(persistence::api_keys::find(conn, id)?))
        .await?;
    if row.user_id.0 == principal.id() || principal.can(Permission::UsersManage) {
        Ok(row)
    } else {
        Err(ApiError::NotFound)
    }
}

/// Get an API key.
///
/// A key without its secret: name, scopes, expiry, last use and revocation. Needs
/// `api_keys:own`; the caller's own keys, or any key for admins (`users:manage`). Another
/// user's key answers 404 `not_found`, so key ids cannot be probed.
#[utoipa::path(
    tag = "api_keys",
    operation_id = "get_api_key",
    params(("id" = Uuid, Path, description = "API key id")),
    responses((status = 200, description = "The key", body = ApiKey))
)]
#[get("/api/v1/api-keys/{id}")]
pub async fn get_api_key(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let row = visible_key(&state, &principal, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(ApiKey::from(&row)))
}

/// Revoke an API key.
///
/// The key stops working at once. Revoking a revoked key changes nothing and answers 204
/// again. Needs `api_keys:own`; the caller's own keys, or any key for admins
/// (`users:manage`); another user's key answers 404 `not_found`. Audited as
/// `api_key.revoke`.
#[utoipa::path(
    tag = "api_keys",
    operation_id = "revoke_api_key",
    params(("id" = Uuid, Path, description = "API key id")),
    responses((status = 204, description = "Revoked"))
)]
#[delete("/api/v1/api-keys/{id}")]
pub async fn revoke_api_key(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let current = visible_key(&state, &principal, id.into_inner()).await?;
    let actor = principal.audit_actor();
    state
        .db(move |conn| {
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
                    &actor,
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
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
