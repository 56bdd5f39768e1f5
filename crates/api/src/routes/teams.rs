//! Teams: admins manage them; everyone with `teams:read` sees them.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::accounts::teams::{self, TeamFields};
use chrono::{DateTime, Utc};
use persistence::teams::TeamRow;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::pagination::creation_cursor;
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(create_team, list_teams, get_team, update_team, delete_team),
    components(schemas(Team, CreateTeamRequest, TeamPatch))
)]
pub struct TeamsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_team)
        .service(list_teams)
        .service(get_team)
        .service(update_team)
        .service(delete_team);
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaaa",
    "name": "Tehran sales",
    "description": "Field sales for the Tehran region",
    "created_at": "2026-11-01T10:00:00Z",
    "updated_at": "2026-11-01T10:00:00Z"
}))]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&TeamRow> for Team {
    fn from(row: &TeamRow) -> Team {
        Team {
            id: row.id.0,
            name: row.name.clone(),
            description: row.description.clone(),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "فروش تهران", "description": "فروش حضوری منطقهٔ تهران"}))]
pub struct CreateTeamRequest {
    /// Unique, case-insensitive; at most 100 characters.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// The fields `PATCH` can change, as a JSON Merge Patch document.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "فروش تهران و البرز", "description": null}))]
pub struct TeamPatch {
    pub name: String,
    pub description: Option<String>,
}

impl From<&TeamFields> for TeamPatch {
    fn from(fields: &TeamFields) -> TeamPatch {
        TeamPatch {
            name: fields.name.clone(),
            description: fields.description.clone(),
        }
    }
}

impl From<TeamPatch> for TeamFields {
    fn from(patch: TeamPatch) -> TeamFields {
        TeamFields {
            name: patch.name,
            description: patch.description,
        }
    }
}

/// Create a team.
///
/// Users placed in a team (`team_id`) with `team` visibility see and change the customers
/// owned by their team mates.
///
/// Needs `users:manage` (admins). Audited as `team.create`; safe to retry with an
/// `Idempotency-Key`. Problems: 409 `conflict` when a team already has this name; 422
/// `validation_failed` for an empty or over-long `name` (100 characters) or `description`
/// (2,000 characters).
#[utoipa::path(
    tag = "teams",
    operation_id = "create_team",
    request_body = CreateTeamRequest,
    responses(
        (status = 201, description = "Created", body = Team, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "A team with this name exists", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/teams")]
pub async fn create_team(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<CreateTeamRequest>,
) -> ApiResult<HttpResponse> {
    let request = body.0;
    let fields = TeamFields {
        name: request.name,
        description: request.description,
    };
    let row = state
        .db(move |conn| Ok(teams::create(conn, &principal, fields)?))
        .await?;
    let location = format!("/api/v1/teams/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &Team::from(&row),
    ))
}

/// List teams.
///
/// Every team in creation order, one page at a time. Needs `teams:read` (every role but
/// `partner`).
#[utoipa::path(
    tag = "teams",
    operation_id = "list_teams",
    params(PageParams),
    responses((status = 200, description = "One page of teams", body = Page<Team>))
)]
#[get("/api/v1/teams")]
pub async fn list_teams(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let rows = state
        .db(move |conn| Ok(teams::list(conn, &principal, cursor.as_ref(), limit)?))
        .await?;
    let page = Page::from_rows(
        rows,
        page.limit,
        |row| creation_cursor(row.created_at.0, row.id.0),
        |row| Team::from(&row),
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Get a team.
///
/// Needs `teams:read`. Answers with an `ETag` for a later `If-Match`; 404 `not_found` when
/// no team has this id.
#[utoipa::path(
    tag = "teams",
    operation_id = "get_team",
    params(("id" = Uuid, Path, description = "Team id")),
    responses((status = 200, description = "The team", body = Team, headers(("ETag" = String))))
)]
#[get("/api/v1/teams/{id}")]
pub async fn get_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let row = state
        .db(move |conn| Ok(teams::get(conn, &principal, id)?))
        .await?;
    Ok(etag::single(&req, row.id.0, row.version, &Team::from(&row)))
}

/// Change a team (JSON Merge Patch).
///
/// Renames a team or changes its description; members are not affected.
///
/// Needs `users:manage` (admins). Honours `If-Match` (412 `precondition_failed` when
/// stale). Audited as `team.update`. Problems: 409 `conflict` when another team has the new
/// name; 422 `validation_failed` as for creation.
#[utoipa::path(
    tag = "teams",
    operation_id = "update_team",
    params(
        ("id" = Uuid, Path, description = "Team id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    request_body(content = TeamPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed team", body = Team, headers(("ETag" = String))),
        (status = 409, description = "A team with this name exists", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[patch("/api/v1/teams/{id}")]
pub async fn update_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let precondition = if_match.precondition();
    let row = state
        .db(move |conn| {
            Ok(teams::update(
                conn,
                &principal,
                id,
                &precondition,
                |before| {
                    let after: TeamPatch = patch.apply(&TeamPatch::from(before))?;
                    Ok(after.into())
                },
            )?)
        })
        .await?;
    Ok(etag::single(&req, row.id.0, row.version, &Team::from(&row)))
}

/// Delete a team.
///
/// Only a team without members can go: move its users elsewhere first.
///
/// Needs `users:manage` (admins). Honours `If-Match` (412 `precondition_failed` when
/// stale). Audited as `team.delete`. Problems: 409 `conflict` while the team still has
/// members.
#[utoipa::path(
    tag = "teams",
    operation_id = "delete_team",
    params(
        ("id" = Uuid, Path, description = "Team id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "The team still has members", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[delete("/api/v1/teams/{id}")]
pub async fn delete_team(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(teams::delete(conn, &principal, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
