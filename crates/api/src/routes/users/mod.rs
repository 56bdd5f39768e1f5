//! Users: admin-managed accounts, the caller's own profile and password.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::accounts::{sessions, users};
use persistence::users::UserRow;
use utoipa::OpenApi;
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::pagination::creation_cursor;
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::ApiResult;
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
    let acting = principal.0;
    let new = body.0.into_new_user();
    let row = state
        .db(move |conn| Ok(users::create(conn, &acting, new)?))
        .await?;
    let location = format!("/api/v1/users/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &User::from_row(&row)?,
    ))
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
    let acting = principal.0;
    let filters = filters.into_inner();
    let filter = users::UserFilter {
        role: filters.role,
        team_id: filters.team_id,
        is_active: filters.is_active,
    };
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let rows = state
        .db(move |conn| Ok(users::list(conn, &acting, &filter, cursor.as_ref(), limit)?))
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
    let id = principal.id();
    respond_with_user(&req, &state, principal, id).await
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
    let request = body.0;
    let ended = state
        .db(move |conn| {
            Ok(sessions::change_password(
                conn,
                &principal,
                &request.current_password,
                &request.new_password,
            )?)
        })
        .await?;
    // The other sessions' access tokens stop working at once.
    state.sessions_ended(ended).await;
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
    respond_with_user(&req, &state, principal, id.into_inner()).await
}

/// Loads a user for the principal and answers with it and its ETag.
async fn respond_with_user(
    req: &HttpRequest,
    state: &AppState,
    principal: Principal,
    id: Uuid,
) -> ApiResult<HttpResponse> {
    let row = state
        .db(move |conn| Ok(users::get(conn, &principal, id)?))
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
    let precondition = if_match.precondition();
    let change = state
        .db(move |conn| {
            Ok(users::update(
                conn,
                &principal,
                id,
                &precondition,
                |before| {
                    let after: UserPatch = patch.apply(&UserPatch::from(before))?;
                    Ok(after.into())
                },
            )?)
        })
        .await?;
    // The account changed: the next request rebuilds its principal.
    state.user_changed(id).await;
    state.sessions_ended(change.ended_sessions.clone()).await;
    user_response(&req, &change.user)
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
    let id = id.into_inner();
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(users::deactivate(conn, &principal, id, &precondition)?))
        .await?;
    // The account changed: the next request rebuilds its principal.
    state.user_changed(id).await;
    Ok(HttpResponse::NoContent().finish())
}
