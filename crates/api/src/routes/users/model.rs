//! The API shapes of users: responses, requests and the editable view that merge
//! patches apply to.

use application::accounts::users::{NewUser, UserFields};
use chrono::{DateTime, Utc};
use domain::authz::{Role, Visibility};
use persistence::users::UserRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::error::{ApiError, ApiResult};

/// Language of a user's interface and notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Locale {
    Fa,
    En,
}

impl Locale {
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Fa => "fa",
            Locale::En => "en",
        }
    }

    pub fn parse(value: &str) -> Locale {
        if value == "en" {
            Locale::En
        } else {
            Locale::Fa
        }
    }
}

/// A user as the API shows it (never with the password hash).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a4e2-7c1d-7b3e-9f10-2a4b6c8d0e1f",
    "email": "ali.rezaei@example.ir",
    "display_name": "Ali Rezaei",
    "role": "sales",
    "visibility": "own",
    "team_id": "0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaaa",
    "locale": "fa",
    "is_active": true,
    "last_login_at": "2026-11-20T08:15:00Z",
    "created_at": "2026-11-01T10:00:00Z",
    "updated_at": "2026-11-01T10:00:00Z"
}))]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub visibility: Visibility,
    pub team_id: Option<Uuid>,
    pub locale: Locale,
    pub is_active: bool,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    pub fn from_row(row: &UserRow) -> ApiResult<User> {
        Ok(User {
            id: row.id.0,
            email: row.email.clone(),
            display_name: row.display_name.clone(),
            role: Role::parse(&row.role)
                .ok_or_else(|| ApiError::Internal(format!("stored role {:?}", row.role)))?,
            visibility: Visibility::parse(&row.visibility).ok_or_else(|| {
                ApiError::Internal(format!("stored visibility {:?}", row.visibility))
            })?,
            team_id: row.team_id.map(|id| id.0),
            locale: Locale::parse(&row.locale),
            is_active: row.is_active,
            last_login_at: row.last_login_at.map(|t| t.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "sara.mohammadi@example.ir",
    "display_name": "سارا محمدی",
    "password": "correct horse battery",
    "role": "sales",
    "team_id": "0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaaa",
    "locale": "fa"
}))]
pub struct CreateUserRequest {
    /// Unique, case-insensitive.
    pub email: String,
    pub display_name: String,
    /// At least 12 characters.
    pub password: String,
    pub role: Role,
    #[serde(default)]
    pub team_id: Option<Uuid>,
    /// Defaults by role: `all` for admin, manager, analyst and read_only; `team` for
    /// support and marketing; `own` for sales and partner.
    #[serde(default)]
    pub visibility: Option<Visibility>,
    /// Defaults to `fa`.
    #[serde(default)]
    pub locale: Option<Locale>,
}

/// The fields of a user that `PATCH` can change, as a JSON Merge Patch document. Only
/// admins may change `email`, `role`, `visibility`, `team_id` and `is_active`; others may
/// change their own `display_name` and `locale`. An admin may set a new `password`, which
/// signs the user out everywhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"display_name": "علی رضایی", "team_id": "0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaaa"}))]
pub struct UserPatch {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub visibility: Visibility,
    pub team_id: Option<Uuid>,
    pub locale: Locale,
    pub is_active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "correct horse battery", "new_password": "staple tree lamp river"}))]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// At least 12 characters.
    pub new_password: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilters {
    /// Only users with this role.
    pub role: Option<Role>,
    /// Only members of this team.
    pub team_id: Option<Uuid>,
    /// Only active (`true`) or deactivated (`false`) users.
    pub is_active: Option<bool>,
}

impl CreateUserRequest {
    /// The use case's input: the role's default visibility and `fa` unless given.
    pub fn into_new_user(self) -> NewUser {
        NewUser {
            email: self.email,
            display_name: self.display_name,
            password: self.password,
            role: self.role,
            team_id: self.team_id,
            visibility: self.visibility,
            locale: self.locale.unwrap_or(Locale::Fa).as_str().to_string(),
        }
    }
}

/// The editable view of a stored user, which a merge patch applies to.
impl From<&UserFields> for UserPatch {
    fn from(fields: &UserFields) -> UserPatch {
        UserPatch {
            email: fields.email.clone(),
            display_name: fields.display_name.clone(),
            role: fields.role,
            visibility: fields.visibility,
            team_id: fields.team_id,
            locale: Locale::parse(&fields.locale),
            is_active: fields.is_active,
            password: fields.password.clone(),
        }
    }
}

impl From<UserPatch> for UserFields {
    fn from(patch: UserPatch) -> UserFields {
        UserFields {
            email: patch.email,
            display_name: patch.display_name,
            role: patch.role,
            visibility: patch.visibility,
            team_id: patch.team_id,
            locale: patch.locale.as_str().to_string(),
            is_active: patch.is_active,
            password: patch.password,
        }
    }
}
