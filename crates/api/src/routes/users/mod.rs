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
/// Ordered by creation time; filter by role, team and active state.
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

/// The caller's own user.
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
/// Needs the current password; every other session of the user is signed out.
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
    state.principals.end_sessions(&ended);
    Ok(HttpResponse::NoContent().finish())
}

/// Get a user.
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
/// Admins change any field; other users change only their own `display_name` and
/// `locale`. `If-Match` with the ETag makes the change conditional.
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
    state.principals.invalidate(&id);
    state.principals.end_sessions(&change.ended_sessions);
    user_response(&req, &change.user)
}

/// Deactivate a user.
///
/// The user can no longer log in; their sessions and API keys are revoked. Records
/// they own keep them as owner.
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
    state.principals.invalidate(&id);
    Ok(HttpResponse::NoContent().finish())
}
