//! Users: admin-managed accounts, the caller's own profile and password.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use domain::authz::{Permission, Role};
use domain::text::TextKind;
use domain::validation::{normalize_email, Violations};
use persistence::audit::{self, NewAuditEvent};
use persistence::db::DbConnection;
use persistence::sql_types::{DbTime, DbUuid};
use persistence::users::{UserQuery, UserRow};
use persistence::PersistenceError;
use utoipa::OpenApi;
use uuid::Uuid;

use crate::auth::plumbing::{created_after, creation_cursor, transaction};
use crate::auth::{password, Principal};
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

mod model;
mod search;

pub use model::{ChangePasswordRequest, CreateUserRequest, Locale, User, UserFilters, UserPatch};

#[derive(OpenApi)]
#[openapi(
    paths(
        create_user,
        list_users,
        search::search_users,
        get_me,
        change_my_password,
        get_user,
        update_user,
        deactivate_user
    ),
    components(schemas(User, CreateUserRequest, UserPatch, ChangePasswordRequest, Locale))
)]
pub struct UsersApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // `me` routes first: `/users/{id}` would otherwise claim them.
    cfg.service(get_me)
        .service(change_my_password)
        .service(create_user)
        .service(list_users)
        .service(search::search_users)
        .service(get_user)
        .service(update_user)
        .service(deactivate_user);
}

/// 422 naming `team_id` when the team does not exist.
fn check_team(conn: &mut DbConnection, team_id: Option<Uuid>) -> ApiResult<()> {
    match team_id.map(|id| persistence::teams::find(conn, id)) {
        Some(Err(PersistenceError::NotFound)) => Err(ApiError::field(
            "team_id",
            "invalid_value",
            "no team has this id",
        )),
        Some(Err(err)) => Err(err.into()),
        _ => Ok(()),
    }
}

fn user_response(req: &HttpRequest, row: &UserRow) -> ApiResult<HttpResponse> {
    Ok(etag::single(
        req,
        row.id.0,
        row.version,
        &User::from_row(row)?,
    ))
}

/// Create a user.
///
/// Adds an account that can log in at once. `visibility` defaults by role (`all` for admin,
/// manager, analyst and read_only; `team` for support and marketing; `own` for sales and
/// partner) and `locale` to `fa`.
///
/// Needs `users:manage` (admins). Audited as `user.create` (never with the password); safe
/// to retry with an `Idempotency-Key`.
///
/// Problems: 409 `conflict` when a user already has this e-mail address (compared ignoring
/// case); 422 `validation_failed` for an invalid `email` (`invalid_email`), an empty or
/// over-long `display_name` (200 characters), a `password` that is shorter than 12
/// characters, `too_weak` or built from the e-mail or name, or a `team_id` that names no
/// team (`invalid_value`).
#[utoipa::path(
    tag = "users",
    operation_id = "create_user",
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created", body = User, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "A user with this e-mail address exists", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<CreateUserRequest>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::UsersManage)?;
    let request = body.0;
    let mut violations = Violations::default();
    let email = normalize_email(&request.email);
    violations.check_text("email", &request.email, TextKind::SingleLine);
    if email.is_none() {
        violations.push("email", "invalid_email", "not a valid e-mail address");
    }
    check_display_name(&mut violations, &request.display_name);
    if let Some((code, message)) =
        password::check_new_password(&request.password, &[&request.email, &request.display_name])
    {
        violations.push("password", code, message);
    }
    violations.into_result().map_err(ApiError::Validation)?;
    let password_hash = password::hash_blocking(request.password).await?;
    let actor = principal.audit_actor();
    let now = DbTime(persistence::now());
    let row = UserRow {
        id: DbUuid(Uuid::now_v7()),
        email: email.unwrap_or_default(),
        display_name: request.display_name.trim().to_string(),
        password_hash,
        role: request.role.as_str().to_string(),
        visibility: request
            .visibility
            .unwrap_or(request.role.default_visibility())
            .as_str()
            .to_string(),
        team_id: request.team_id.map(DbUuid),
        locale: request.locale.unwrap_or(Locale::Fa).as_str().to_string(),
        is_active: true,
        last_login_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let row = state
        .db(move |conn| {
            transaction(conn, |conn| {
                check_team(conn, request.team_id)?;
                persistence::users::insert(conn, &row)?;
                audit::record_change(
                    conn,
                    &actor,
                    "user.create",
                    "user",
                    row.id.0,
                    &serde_json::json!({}),
                    &row.audit_snapshot(),
                )?;
                Ok(row)
            })
        })
        .await?;
    let location = format!("/api/v1/users/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &User::from_row(&row)?,
    ))
}

fn check_display_name(violations: &mut Violations, name: &str) {
    let length = name.trim().chars().count();
    violations.check_text("display_name", name, TextKind::SingleLine);
    if length == 0 {
        violations.push("display_name", "required", "must not be empty");
    } else if length > 200 {
        violations.push("display_name", "too_long", "must be at most 200 characters");
    }
}

/// List users.
///
/// The user directory in creation order, one page at a time, optionally narrowed to a
/// `role`, a `team_id` or active or deactivated users (`is_active`). For anything richer
/// use `POST /users/search`.
///
/// Needs `users:read` (every role but `partner`); user records are not subject to record
/// visibility. Problems: 400 `invalid_cursor` for a cursor that was altered or came from
/// another listing, 400 `malformed_request` for a filter of the wrong type, 422 for a
/// `limit` out of range.
#[utoipa::path(
    tag = "users",
    operation_id = "list_users",
    params(PageParams, UserFilters),
    responses((status = 200, description = "One page of users", body = Page<User>))
)]
#[get("/api/v1/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
    filters: web::Query<UserFilters>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::UsersRead)?;
    let after = created_after(&page)?;
    let filters = filters.into_inner();
    let query = UserQuery {
        role: filters.role.map(|role| role.as_str().to_string()),
        team_id: filters.team_id,
        is_active: filters.is_active,
        after,
        limit: page.limit as i64,
    };
    let rows = state
        .db(move |conn| Ok(persistence::users::list(conn, &query)?))
        .await?;
    let users = rows
        .iter()
        .map(User::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    let page = Page::from_rows(
        users,
        page.limit,
        |user| creation_cursor(user.created_at, user.id),
        |user| user,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Get the caller's own user.
///
/// The account behind the access token or API key: role, visibility, team and locale, for a
/// frontend to decide what to show. Any authenticated caller may read it.
#[utoipa::path(tag = "users", operation_id = "get_me", responses((status = 200, description = "The caller", body = User, headers(("ETag" = String)))))]
#[get("/api/v1/users/me")]
pub async fn get_me(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    respond_with_user(&req, &state, principal.id()).await
}

/// Change the caller's own password.
///
/// Needs the current password. Every other session of the user is signed out (their refresh
/// and access tokens stop working); the session making the call stays logged in. Only a
/// signed-in user may do this, never an API key (403 `forbidden`), so a leaked key cannot
/// take over its owner's account. Audited as `user.password_change`.
///
/// Problems: 422 `validation_failed` on `current_password` (`invalid_value`) when it is
/// wrong, or on `new_password` when it is shorter than 12 characters, `too_weak` or built
/// from the user's e-mail or name.
#[utoipa::path(
    tag = "users",
    operation_id = "change_my_password",
    request_body = ChangePasswordRequest,
    responses((status = 204, description = "Password changed"))
)]
#[post("/api/v1/users/me/password")]
pub async fn change_my_password(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<ChangePasswordRequest>,
) -> ApiResult<HttpResponse> {
    // A leaked integration key must not be able to take over its owner's account.
    let Some(session) = principal.session() else {
        return Err(ApiError::Forbidden);
    };
    let request = body.0;
    let id = principal.id();
    let current = state
        .db(move |conn| Ok(persistence::users::find(conn, id)?))
        .await?;
    if let Some((code, message)) = password::check_new_password(
        &request.new_password,
        &[&current.email, &current.display_name],
    ) {
        return Err(ApiError::field("new_password", code, message));
    }
    if !password::verify_blocking(
        request.current_password,
        Some(current.password_hash.clone()),
    )
    .await?
    {
        return Err(ApiError::field(
            "current_password",
            "invalid_value",
            "the current password is wrong",
        ));
    }
    let new_hash = password::hash_blocking(request.new_password).await?;
    let actor = principal.audit_actor();
    let ended = state
        .db(move |conn| {
            transaction(conn, |conn| {
                let mut row = persistence::users::find(conn, id)?;
                row.password_hash = new_hash;
                persistence::users::update(conn, &row)?;
                let ended = persistence::refresh_tokens::revoke_all_for_user(
                    conn,
                    id,
                    Some(session),
                    persistence::now(),
                )?;
                audit::record(
                    conn,
                    &actor,
                    NewAuditEvent {
                        action: "user.password_change",
                        resource_type: "user",
                        resource_id: Some(id.to_string()),
                        // The audit log names the change, never the hash.
                        changes: None,
                    },
                )?;
                Ok(ended)
            })
        })
        .await?;
    // The other sessions' access tokens stop working at once.
    state.principals.end_sessions(&ended);
    Ok(HttpResponse::NoContent().finish())
}

/// Get a user.
///
/// Anyone may read their own user; reading another needs `users:read` (403 `forbidden`
/// otherwise). Answers with an `ETag` for a later `If-Match`. 404 `not_found` when no user
/// has this id.
#[utoipa::path(
    tag = "users",
    operation_id = "get_user",
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "The user", body = User, headers(("ETag" = String))))
)]
#[get("/api/v1/users/{id}")]
pub async fn get_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    if id != principal.id() {
        principal.require(Permission::UsersRead)?;
    }
    respond_with_user(&req, &state, id).await
}

/// Loads a user and answers with it and its ETag.
async fn respond_with_user(
    req: &HttpRequest,
    state: &AppState,
    id: Uuid,
) -> ApiResult<HttpResponse> {
    let row = state
        .db(move |conn| Ok(persistence::users::find(conn, id)?))
        .await?;
    user_response(req, &row)
}

/// Change a user (JSON Merge Patch).
///
/// Admins (`users:manage`) may change every field of any user, including `role`,
/// `visibility`, `team_id`, `is_active` and a new `password`. Everyone else may change only
/// their own `display_name` and `locale`: another user answers 403 `forbidden` (404 without
/// `users:read`), and a field they may not change 422 `not_allowed`. An admin may not
/// demote or deactivate themselves (422 `not_allowed`).
///
/// A new password or deactivation signs the user out everywhere, and deactivation also
/// revokes their API keys. Send the `ETag` as `If-Match` to make the change conditional
/// (412 `precondition_failed` when stale). Audited as `user.update` with the changed
/// fields.
///
/// Problems: 409 `conflict` when the new e-mail address belongs to another user; 422
/// `validation_failed` for the same field rules as creation.
#[utoipa::path(
    tag = "users",
    operation_id = "update_user",
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    request_body(content = UserPatch, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The changed user", body = User, headers(("ETag" = String))))
)]
#[patch("/api/v1/users/{id}")]
pub async fn update_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let is_admin = principal.can(Permission::UsersManage);
    if !is_admin && id != principal.id() {
        return Err(if principal.can(Permission::UsersRead) {
            ApiError::Forbidden
        } else {
            ApiError::NotFound
        });
    }
    let current = state
        .db(move |conn| Ok(persistence::users::find(conn, id)?))
        .await?;
    if_match.check(id, current.version)?;
    let before = UserPatch::of(&current)?;
    let after: UserPatch = patch.apply_to(&before)?;
    let mut violations = Violations::default();
    if !is_admin {
        for (field, changed) in [
            ("email", before.email != after.email),
            ("role", before.role != after.role),
            ("visibility", before.visibility != after.visibility),
            ("team_id", before.team_id != after.team_id),
            ("is_active", before.is_active != after.is_active),
            ("password", after.password.is_some()),
        ] {
            if changed {
                violations.push(field, "not_allowed", "only an admin may change this field");
            }
        }
    }
    let email = normalize_email(&after.email);
    violations.check_text("email", &after.email, TextKind::SingleLine);
    if email.is_none() {
        violations.push("email", "invalid_email", "not a valid e-mail address");
    }
    check_display_name(&mut violations, &after.display_name);
    if let Some((code, message)) = after.password.as_deref().and_then(|new_password| {
        password::check_new_password(new_password, &[&after.email, &after.display_name])
    }) {
        violations.push("password", code, message);
    }
    if is_admin && id == principal.id() && (!after.is_active || after.role != Role::Admin) {
        violations.push(
            if after.is_active { "role" } else { "is_active" },
            "not_allowed",
            "admins cannot demote or deactivate themselves",
        );
    }
    violations.into_result().map_err(ApiError::Validation)?;
    let new_hash = match after.password.clone() {
        Some(password) => Some(password::hash_blocking(password).await?),
        None => None,
    };
    let actor = principal.audit_actor();
    let (row, ended) = state
        .db(move |conn| {
            transaction(conn, |conn| {
                check_team(conn, after.team_id)?;
                let mut row = current.clone();
                row.email = email.unwrap_or_default();
                row.display_name = after.display_name.trim().to_string();
                row.role = after.role.as_str().to_string();
                row.visibility = after.visibility.as_str().to_string();
                row.team_id = after.team_id.map(DbUuid);
                row.locale = after.locale.as_str().to_string();
                row.is_active = after.is_active;
                let reset = new_hash.is_some();
                if let Some(hash) = new_hash {
                    row.password_hash = hash;
                }
                let row = persistence::users::update(conn, &row)?;
                let ended = if reset || !row.is_active {
                    revoke_credentials(conn, id, !row.is_active)?
                } else {
                    Vec::new()
                };
                audit::record_change(
                    conn,
                    &actor,
                    "user.update",
                    "user",
                    id,
                    &current.audit_snapshot(),
                    &row.audit_snapshot(),
                )?;
                Ok((row, ended))
            })
        })
        .await?;
    // The account changed: the next request rebuilds its principal.
    state.principals.invalidate(&id);
    state.principals.end_sessions(&ended);
    user_response(&req, &row)
}

/// Signs a user out everywhere and returns the ended sessions; on deactivation also
/// revokes their API keys.
fn revoke_credentials(
    conn: &mut DbConnection,
    id: Uuid,
    keys_too: bool,
) -> Result<Vec<Uuid>, PersistenceError> {
    let now = persistence::now();
    let ended = persistence::refresh_tokens::revoke_all_for_user(conn, id, None, now)?;
    if keys_too {
        persistence::api_keys::revoke_all_for_user(conn, id, now)?;
    }
    Ok(ended)
}

/// Deactivate a user.
///
/// The user can no longer log in; their sessions and API keys are revoked at once. Records
/// they own keep them as owner, and the account can be reactivated with `PATCH`
/// (`is_active: true`). Nothing is deleted.
///
/// Needs `users:manage` (admins). Honours `If-Match` (412 `precondition_failed` when
/// stale). Audited as `user.deactivate`. Problems: 409 `conflict` when admins try to
/// deactivate themselves; 404 `not_found` for an unknown id.
#[utoipa::path(
    tag = "users",
    operation_id = "deactivate_user",
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    responses(
        (status = 204, description = "Deactivated"),
        (status = 409, description = "Admins cannot deactivate themselves", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[delete("/api/v1/users/{id}")]
pub async fn deactivate_user(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::UsersManage)?;
    let id = id.into_inner();
    if id == principal.id() {
        return Err(ApiError::Conflict(
            "admins cannot deactivate themselves".into(),
        ));
    }
    let actor = principal.audit_actor();
    state
        .db(move |conn| {
            transaction(conn, |conn| {
                let current = persistence::users::find(conn, id)?;
                if_match.check(id, current.version)?;
                let mut row = current.clone();
                row.is_active = false;
                let row = persistence::users::update(conn, &row)?;
                revoke_credentials(conn, id, true)?;
                audit::record_change(
                    conn,
                    &actor,
                    "user.deactivate",
                    "user",
                    id,
                    &current.audit_snapshot(),
                    &row.audit_snapshot(),
                )?;
                Ok(())
            })
        })
        .await?;
    // The account changed: the next request rebuilds its principal.
    state.principals.invalidate(&id);
    Ok(HttpResponse::NoContent().finish())
}
