//! Assignment (S-3): the business's assignment rules and territories (read with
//! `records:read`, changed with `crm:configure`), and users' availability for
//! assignment — capacities and out-of-office periods (read with `users:read`, changed
//! by the user or with `crm:configure`).

use std::collections::BTreeMap;

use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use application::assignment::availability::{self, Availability};
use application::assignment::{rules, territories};
use chrono::{DateTime, Utc};
use domain::assignment::{AbsenceInput, RecordKind, RuleInput, Strategy, Target, TerritoryInput};
use persistence::assignment::{AbsenceRow, RuleRow, TerritoryRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::{JsonBody, MergePatch};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_assignment_rule,
        list_assignment_rules,
        get_assignment_rule,
        update_assignment_rule,
        delete_assignment_rule,
        create_territory,
        list_territories,
        get_territory,
        update_territory,
        delete_territory,
        get_user_availability,
        set_user_capacity,
        create_user_absence,
        delete_user_absence
    ),
    components(schemas(
        AssignmentRule,
        RuleInput,
        RecordKind,
        Target,
        Strategy,
        AssignmentRuleList,
        Territory,
        TerritoryInput,
        TerritoryList,
        UserAvailability,
        Absence,
        AbsenceInput,
        CapacityInput
    ))
)]
pub struct AssignmentApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_assignment_rule)
        .service(list_assignment_rules)
        .service(get_assignment_rule)
        .service(update_assignment_rule)
        .service(delete_assignment_rule)
        .service(create_territory)
        .service(list_territories)
        .service(get_territory)
        .service(update_territory)
        .service(delete_territory)
        .service(get_user_availability)
        .service(set_user_capacity)
        .service(create_user_absence)
        .service(delete_user_absence);
}

/// An assignment rule as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentRule {
    pub id: Uuid,
    pub name: String,
    pub record_kind: RecordKind,
    /// Rules are tried in ascending position, then creation order.
    pub position: i32,
    /// Filter tree over the record kind's search fields; absent: every record.
    #[schema(value_type = Option<Object>)]
    pub condition: Option<serde_json::Value>,
    pub target: Target,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl AssignmentRule {
    fn from_row(row: &RuleRow) -> ApiResult<AssignmentRule> {
        let input = rules::input_of(row)?;
        Ok(AssignmentRule {
            id: row.id.0,
            name: input.name,
            record_kind: input.record_kind,
            position: input.position,
            condition: input.condition,
            target: input.target,
            active: input.active,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
        })
    }
}

/// The rules of a record kind in the order they are tried.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentRuleList {
    pub data: Vec<AssignmentRule>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RuleFilters {
    /// The record kind whose rules to list (default `lead`).
    pub record_kind: Option<RecordKind>,
}

/// Add an assignment rule.
///
/// When a record of the kind is created without an owner, the active rules are tried in
/// ascending `position`: the first whose `condition` (a filter tree over the kind's
/// search fields, e.g. a lead's `source`, `province`, `city`, `language`,
/// `product_id`) the record meets and whose target has an available user decides. A
/// target is a `user`; a `team` shared by `round_robin` (a rotation that stays fair
/// under concurrent creates) or `least_load` (fewest open records, ties by the
/// rotation); or the `territory` of the record's city or province (its team, shared the
/// territory's way). A user is available when not away (an out-of-office period covers
/// the moment the record can first be picked up: now in working hours, else the next
/// opening of the business calendar) and below their capacity.
///
/// Needs `crm:configure`. Audited as `assignment_rule.create`. Problems: 422 naming the
/// broken rule (`condition.…` for the filter tree, `target.user_id`/`target.team_id`
/// `not_found`); 409 beyond 200 rules of a kind.
#[utoipa::path(
    tag = "assignment",
    operation_id = "create_assignment_rule",
    request_body = RuleInput,
    responses(
        (status = 201, description = "Created", body = AssignmentRule, headers(("Location" = String), ("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/assignment-rules")]
pub async fn create_assignment_rule(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<RuleInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let input = body.0;
    let row = state
        .db(move |conn| Ok(rules::create(conn, &acting, input)?))
        .await?;
    let location = format!("/api/v1/assignment-rules/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &AssignmentRule::from_row(&row)?,
    ))
}

/// List assignment rules.
///
/// The rules of one record kind (at most 200) in the order they are tried. Needs
/// `records:read`.
#[utoipa::path(
    tag = "assignment",
    operation_id = "list_assignment_rules",
    params(RuleFilters),
    responses((status = 200, description = "The rules in order", body = AssignmentRuleList))
)]
#[get("/api/v1/assignment-rules")]
pub async fn list_assignment_rules(
    state: web::Data<AppState>,
    principal: Principal,
    filters: web::Query<RuleFilters>,
) -> ApiResult<HttpResponse> {
    let kind = filters.record_kind.unwrap_or(RecordKind::Lead);
    let acting = principal.0;
    let rows = state
        .db(move |conn| Ok(rules::list(conn, &acting, kind)?))
        .await?;
    let data = rows
        .iter()
        .map(AssignmentRule::from_row)
        .collect::<ApiResult<_>>()?;
    Ok(HttpResponse::Ok().json(AssignmentRuleList { data }))
}

/// Get an assignment rule.
///
/// Needs `records:read`. Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "assignment",
    operation_id = "get_assignment_rule",
    params(("id" = Uuid, Path, description = "Rule id")),
    responses((status = 200, description = "Found", body = AssignmentRule, headers(("ETag" = String))))
)]
#[get("/api/v1/assignment-rules/{id}")]
pub async fn get_assignment_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(rules::get(conn, &acting, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &AssignmentRule::from_row(&row)?,
    ))
}

/// Change an assignment rule (JSON Merge Patch).
///
/// Rename, reorder, re-target, change the condition or (de)activate it; its record kind
/// stays. Needs `crm:configure`; honours `If-Match` (412 when stale). Audited as
/// `assignment_rule.update`. Problems as for creation.
#[utoipa::path(
    tag = "assignment",
    operation_id = "update_assignment_rule",
    params(("id" = Uuid, Path, description = "Rule id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = RuleInput, content_type = "application/merge-patch+json", example = json!({"position": 5, "active": false})),
    responses((status = 200, description = "Changed", body = AssignmentRule, headers(("ETag" = String))))
)]
#[patch("/api/v1/assignment-rules/{id}")]
pub async fn update_assignment_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    let row = state
        .db(move |conn| {
            Ok(rules::update(
                conn,
                &acting,
                id,
                &precondition,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &AssignmentRule::from_row(&row)?,
    ))
}

/// Delete an assignment rule.
///
/// Past assignments keep its id and reason. Needs `crm:configure`; honours `If-Match`.
/// Audited as `assignment_rule.delete`.
#[utoipa::path(
    tag = "assignment",
    operation_id = "delete_assignment_rule",
    params(("id" = Uuid, Path, description = "Rule id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/assignment-rules/{id}")]
pub async fn delete_assignment_rule(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(rules::delete(conn, &acting, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A territory as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct Territory {
    pub id: Uuid,
    pub name: String,
    pub provinces: Vec<String>,
    /// Matched before provinces.
    pub cities: Vec<String>,
    pub team_id: Uuid,
    pub strategy: Strategy,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl Territory {
    fn from_row(row: &TerritoryRow) -> ApiResult<Territory> {
        let input = territories::input_of(row)?;
        Ok(Territory {
            id: row.id.0,
            name: input.name,
            provinces: input.provinces,
            cities: input.cities,
            team_id: input.team_id,
            strategy: input.strategy,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
        })
    }
}

/// Every territory, by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct TerritoryList {
    pub data: Vec<Territory>,
}

/// Add a territory.
///
/// The provinces and cities a team serves, and how the team shares their records
/// (`round_robin` or `least_load`). A rule with a `territory` target sends a record to
/// the territory listing its city, else its province (names compared after Persian
/// normalisation). A city or province belongs to one territory at most.
///
/// Needs `crm:configure`. Audited as `territory.create`. Problems: 409 when the name is
/// taken; 422 naming a place listed twice (`duplicate`) or already in another territory
/// (`taken`), or an unknown `team_id`.
#[utoipa::path(
    tag = "assignment",
    operation_id = "create_territory",
    request_body = TerritoryInput,
    responses(
        (status = 201, description = "Created", body = Territory, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/territories")]
pub async fn create_territory(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<TerritoryInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let input = body.0;
    let row = state
        .db(move |conn| Ok(territories::create(conn, &acting, input)?))
        .await?;
    let location = format!("/api/v1/territories/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &Territory::from_row(&row)?,
    ))
}

/// List territories.
///
/// Every territory, by name (a business has tens). Needs `records:read`.
#[utoipa::path(
    tag = "assignment",
    operation_id = "list_territories",
    responses((status = 200, description = "The territories", body = TerritoryList))
)]
#[get("/api/v1/territories")]
pub async fn list_territories(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let rows = state
        .db(move |conn| Ok(territories::list(conn, &acting)?))
        .await?;
    let data = rows
        .iter()
        .map(Territory::from_row)
        .collect::<ApiResult<_>>()?;
    Ok(HttpResponse::Ok().json(TerritoryList { data }))
}

/// Get a territory.
///
/// Needs `records:read`. Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "assignment",
    operation_id = "get_territory",
    params(("id" = Uuid, Path, description = "Territory id")),
    responses((status = 200, description = "Found", body = Territory, headers(("ETag" = String))))
)]
#[get("/api/v1/territories/{id}")]
pub async fn get_territory(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(territories::get(conn, &acting, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &Territory::from_row(&row)?,
    ))
}

/// Change a territory (JSON Merge Patch).
///
/// Needs `crm:configure`; honours `If-Match` (412 when stale). Audited as
/// `territory.update`. Problems as for creation.
#[utoipa::path(
    tag = "assignment",
    operation_id = "update_territory",
    params(("id" = Uuid, Path, description = "Territory id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = TerritoryInput, content_type = "application/merge-patch+json", example = json!({"strategy": "round_robin"})),
    responses((status = 200, description = "Changed", body = Territory, headers(("ETag" = String))))
)]
#[patch("/api/v1/territories/{id}")]
pub async fn update_territory(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    let row = state
        .db(move |conn| {
            Ok(territories::update(
                conn,
                &acting,
                id,
                &precondition,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &Territory::from_row(&row)?,
    ))
}

/// Delete a territory.
///
/// Records of its places then match no territory rule. Needs `crm:configure`; honours
/// `If-Match`. Audited as `territory.delete`.
#[utoipa::path(
    tag = "assignment",
    operation_id = "delete_territory",
    params(("id" = Uuid, Path, description = "Territory id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/territories/{id}")]
pub async fn delete_territory(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(territories::delete(conn, &acting, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An out-of-office period.
#[derive(Debug, Serialize, ToSchema)]
pub struct Absence {
    pub id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub note: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<&AbsenceRow> for Absence {
    fn from(row: &AbsenceRow) -> Self {
        Absence {
            id: row.id.0,
            starts_at: row.starts_at.0,
            ends_at: row.ends_at.0,
            note: row.note.clone(),
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
        }
    }
}

/// What decides whether a user is given records.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "user_id": "0191f8a0-7c1e-7a4b-9a53-3f1c2b9d8e10",
    "capacities": {"lead": 40},
    "open_items": {"lead": 12},
    "away_now": false,
    "absences": []
}))]
pub struct UserAvailability {
    pub user_id: Uuid,
    /// The most open records of each kind the user may hold; a kind absent has no limit.
    pub capacities: BTreeMap<String, i64>,
    /// Open records of each kind the user holds now.
    pub open_items: BTreeMap<String, i64>,
    /// Whether an out-of-office period covers now.
    pub away_now: bool,
    /// Out-of-office periods not over yet, soonest first (at most 100).
    pub absences: Vec<Absence>,
}

impl From<Availability> for UserAvailability {
    fn from(found: Availability) -> Self {
        let by_kind = |map: std::collections::HashMap<RecordKind, i64>| {
            map.into_iter()
                .map(|(kind, n)| (kind.as_str().to_string(), n))
                .collect()
        };
        UserAvailability {
            user_id: found.user_id,
            capacities: by_kind(found.capacities),
            open_items: by_kind(found.open_items),
            away_now: found.away_now,
            absences: found.absences.iter().map(Absence::from).collect(),
        }
    }
}

/// A user's capacity for a record kind.
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"record_kind": "lead", "max_open": 40}))]
pub struct CapacityInput {
    pub record_kind: RecordKind,
    /// The most open records of the kind the user may hold (0 to 100000); `null` lifts
    /// the limit.
    pub max_open: Option<i64>,
}

/// Get a user's availability for assignment.
///
/// Capacities, open records per kind, whether the user is away now, and the
/// out-of-office periods not over yet. Needs `users:read`.
#[utoipa::path(
    tag = "assignment",
    operation_id = "get_user_availability",
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "Found", body = UserAvailability))
)]
#[get("/api/v1/users/{id}/availability")]
pub async fn get_user_availability(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let found = state
        .db(move |conn| Ok(availability::get(conn, &acting, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(UserAvailability::from(found)))
}

/// Set a user's capacity for a record kind.
///
/// Rules pass over a user holding `max_open` open records of the kind (for leads:
/// `new`, `contacted` or `qualified`). The user themselves, or `crm:configure`. Audited
/// as `user.capacity`. Problems: 422 `max_open` `out_of_range`.
#[utoipa::path(
    tag = "assignment",
    operation_id = "set_user_capacity",
    params(("id" = Uuid, Path, description = "User id")),
    request_body = CapacityInput,
    responses((status = 200, description = "Set", body = UserAvailability))
)]
#[put("/api/v1/users/{id}/capacity")]
pub async fn set_user_capacity(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<CapacityInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let CapacityInput {
        record_kind: kind,
        max_open,
    } = body.0;
    let found = state
        .db(move |conn| {
            Ok(availability::set_capacity(
                conn, &acting, id, kind, max_open,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(UserAvailability::from(found)))
}

/// Add an out-of-office period.
///
/// While it lasts, no rule assigns records to the user (a record arriving outside
/// working hours is judged at the next opening). The user themselves, or
/// `crm:configure`. Audited as `user.absence.create`. Problems: 422 `ends_at`
/// (`not_after_start`, `too_long` beyond 366 days).
#[utoipa::path(
    tag = "assignment",
    operation_id = "create_user_absence",
    params(("id" = Uuid, Path, description = "User id")),
    request_body = AbsenceInput,
    responses((status = 201, description = "Added", body = Absence))
)]
#[post("/api/v1/users/{id}/absences")]
pub async fn create_user_absence(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<AbsenceInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let input = body.0;
    let row = state
        .db(move |conn| Ok(availability::add_absence(conn, &acting, id, input)?))
        .await?;
    Ok(HttpResponse::Created().json(Absence::from(&row)))
}

/// Withdraw an out-of-office period.
///
/// The user themselves, or `crm:configure`. Audited as `user.absence.delete`.
#[utoipa::path(
    tag = "assignment",
    operation_id = "delete_user_absence",
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("absence_id" = Uuid, Path, description = "Absence id")
    ),
    responses((status = 204, description = "Withdrawn"))
)]
#[delete("/api/v1/users/{id}/absences/{absence_id}")]
pub async fn delete_user_absence(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (id, absence) = path.into_inner();
    let acting = principal.0;
    state
        .db(move |conn| Ok(availability::delete_absence(conn, &acting, id, absence)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
