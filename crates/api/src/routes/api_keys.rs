//! API keys for integrations: created by a user for themselves, scoped to a
//! subset of their own permissions, shown once, revocable.

use actix_web::http::StatusCode;
use actix_web::{delete, get, post, web, HttpResponse};
use application::accounts::api_keys::{self, NewApiKey};
use chrono::{DateTime, Utc};
use persistence::api_keys::ApiKeyRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::auth::Principal;
use crate::conventions::pagination::creation_cursor;
use crate::conventions::{JsonBody, Page, PageParams};
use crate::error::ApiResult;
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
    let request = body.0;
    let new = NewApiKey {
        name: request.name,
        scopes: request.scopes,
        expires_at: request.expires_at,
    };
    let created = state
        .db(move |conn| Ok(api_keys::create(conn, &principal, new)?))
        .await?;
    let row = created.row;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .insert_header(("Location", format!("/api/v1/api-keys/{}", row.id.0)))
        .json(CreatedApiKey {
            api_key: ApiKey::from(&row),
            key: created.key,
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
    let everyone = filters.all;
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let rows = state
        .db(move |conn| {
            Ok(api_keys::list(
                conn,
                &principal,
                everyone,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let page = Page::from_rows(
        rows,
        page.limit,
        |row| creation_cursor(row.created_at.0, row.id.0),
        |row| ApiKey::from(&row),
    );
    Ok(HttpResponse::Ok().json(page))
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
    let id = id.into_inner();
    let row = state
        .db(move |conn| Ok(api_keys::get(conn, &principal, id)?))
        .await?;
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
    let id = id.into_inner();
    state
        .db(move |conn| Ok(api_keys::revoke(conn, &principal, id)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
