//! `POST /api/v1/users/search`: users through the shared search convention (filter
//! tree, sort, quick search, cursor paging), answering the same page shape as the
//! listing.

use actix_web::{post, web, HttpResponse};
use application::accounts::users;
use domain::filter::{FieldKind, FieldSpec, TypedValue};
use persistence::user_search::UserColumns;
use persistence::users::UserRow;
use uuid::Uuid;

use super::model::User;
use crate::auth::Principal;
use crate::conventions::search::{SearchBody, SearchPage, SearchRequest, Searchable};
use crate::conventions::Page;
use crate::error::ApiResult;
use crate::state::AppState;

/// API names of the roles, the values a `role` condition accepts.
const ROLE_NAMES: &[&str] = &[
    "admin",
    "manager",
    "sales",
    "support",
    "marketing",
    "analyst",
    "partner",
    "read_only",
];

/// The users catalogue of the search convention.
pub struct UserSearch;

impl Searchable for UserSearch {
    type Columns = UserColumns;
    type Row = UserRow;

    // Nullable fields are not sortable: the backends place nulls differently and a
    // null cannot take part in a keyset comparison.
    const CATALOGUE: &'static [FieldSpec] = &[
        FieldSpec::new("id", FieldKind::Uuid).sortable(),
        FieldSpec::new("email", FieldKind::Text).sortable(),
        FieldSpec::new("display_name", FieldKind::Text).sortable(),
        FieldSpec::new("role", FieldKind::Enum(ROLE_NAMES)).sortable(),
        FieldSpec::new("team_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("is_active", FieldKind::Bool),
        FieldSpec::new("created_at", FieldKind::Timestamp).sortable(),
        FieldSpec::new("last_login_at", FieldKind::Timestamp).nullable(),
    ];

    const QUICK_SEARCH: &'static [&'static str] = &["email", "display_name"];

    fn sort_value(row: &UserRow, field: &str) -> Option<TypedValue> {
        Some(match field {
            "id" => TypedValue::Uuid(row.id.0),
            "email" => TypedValue::Text(row.email.clone()),
            "display_name" => TypedValue::Text(row.display_name.clone()),
            "role" => TypedValue::Text(row.role.clone()),
            "created_at" => TypedValue::Timestamp(row.created_at.0),
            _ => return None,
        })
    }

    fn id(row: &UserRow) -> Uuid {
        row.id.0
    }
}

/// Search users.
///
/// The search convention (see *Search* in the API conventions) over the user directory.
/// Filter fields: `id`, `team_id` (ids), `email`, `display_name` (text), `role` (enum),
/// `is_active` (boolean), `created_at`, `last_login_at` (instants, relative periods
/// allowed, Jalali with `calendar: jalali`). Sort by `id`, `email`, `display_name`, `role`
/// or `created_at`. `q` looks in the e-mail address and display name, Persian-aware.
///
/// Needs `users:read`. Problems: 400 `invalid_cursor` for a cursor that was altered or came
/// from another listing; 422 `validation_failed` naming every unknown field, wrong operator
/// or bad value in the filter and sort, each with its path.
#[utoipa::path(
    tag = "users",
    operation_id = "search_users",
    request_body = SearchRequest,
    responses((status = 200, description = "One page of matching users", body = Page<User>))
)]
#[post("/api/v1/users/search")]
pub async fn search_users(
    state: web::Data<AppState>,
    principal: Principal,
    search: SearchBody<UserSearch>,
) -> ApiResult<HttpResponse> {
    let criteria = search.criteria.clone();
    let after = search.after.clone();
    let limit = search.fetch_limit();
    let rows = state
        .db(move |conn| {
            Ok(users::search(
                conn,
                &principal,
                &criteria,
                after.as_ref(),
                limit,
            )?)
        })
        .await?;
    let page = search.page(rows, |row| User::from_row(&row));
    // A stored row the API cannot show is a server error, not a silently missing user.
    let page = page.collect_results()?;
    Ok(HttpResponse::Ok().json(page))
}
