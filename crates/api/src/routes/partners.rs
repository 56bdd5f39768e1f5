//! Partners: partner organisations and their users (`users:manage`), the records
//! shared with them one by one and the share rules (`crm:configure`).

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::partners::sharing::{self, ShareRuleInput};
use application::partners::{self, NewPartnerUser};
use chrono::{DateTime, Utc};
use domain::partners::{PartnerFields, PartnerKind, ShareAccess, ShareInput, SharedKind};
use persistence::partners::{PartnerRow, ShareRuleRow};
use persistence::record_shares::ShareRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::jobs::accepted;
use super::users::{Locale, User};
use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::pagination::creation_cursor;
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_partner,
        list_partners,
        get_partner,
        update_partner,
        delete_partner,
        create_partner_user,
        list_partner_users,
        create_share,
        list_shares,
        delete_share,
        create_share_rule,
        list_share_rules,
        get_share_rule,
        update_share_rule,
        delete_share_rule,
        refresh_share_rule
    ),
    components(schemas(
        Partner,
        PartnerKind,
        CreatePartnerRequest,
        PartnerPatch,
        CreatePartnerUserRequest,
        RecordShare,
        SharedKind,
        ShareAccess,
        CreateShareRequest,
        ShareRule,
        CreateShareRuleRequest,
        ShareRulePatch,
        ShareRules
    ))
)]
pub struct PartnersApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_partner)
        .service(list_partners)
        .service(get_partner)
        .service(update_partner)
        .service(delete_partner)
        .service(create_partner_user)
        .service(list_partner_users)
        .service(create_share)
        .service(list_shares)
        .service(delete_share)
        .service(create_share_rule)
        .service(list_share_rules)
        .service(refresh_share_rule)
        .service(get_share_rule)
        .service(update_share_rule)
        .service(delete_share_rule);
}

/// A partner organisation.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb",
    "name": "پخش البرز",
    "kind": "distributor",
    "notes": "Distributor for Alborz and Qazvin",
    "is_active": true,
    "created_at": "2026-12-01T10:00:00Z",
    "updated_at": "2026-12-01T10:00:00Z",
    "version": 1
}))]
pub struct Partner {
    pub id: Uuid,
    pub name: String,
    pub kind: PartnerKind,
    pub notes: Option<String>,
    /// The users of an inactive partner cannot sign in or use their keys.
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl Partner {
    fn from_row(row: &PartnerRow) -> ApiResult<Partner> {
        let fields = partners::fields_of(row)?;
        Ok(Partner {
            id: row.id.0,
            name: fields.name,
            kind: fields.kind,
            notes: fields.notes,
            is_active: fields.is_active,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "پخش البرز", "kind": "distributor"}))]
pub struct CreatePartnerRequest {
    /// Unique, case-insensitive; at most 200 characters.
    pub name: String,
    pub kind: PartnerKind,
    /// At most 4,000 characters.
    #[serde(default)]
    pub notes: Option<String>,
    /// Defaults to true.
    #[serde(default)]
    pub is_active: Option<bool>,
}

/// The fields `PATCH` can change, as a JSON Merge Patch document.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"is_active": false}))]
pub struct PartnerPatch {
    pub name: String,
    pub kind: PartnerKind,
    pub notes: Option<String>,
    pub is_active: bool,
}

impl From<&PartnerFields> for PartnerPatch {
    fn from(fields: &PartnerFields) -> PartnerPatch {
        PartnerPatch {
            name: fields.name.clone(),
            kind: fields.kind,
            notes: fields.notes.clone(),
            is_active: fields.is_active,
        }
    }
}

/// Create a partner.
///
/// A supplier, distributor or agency the business works with. Its users (created with
/// `POST /partners/{id}/users`) see the records they own and those shared with the
/// partner, and nothing else.
///
/// Needs `users:manage` (admins). Audited as `partner.create`; safe to retry with an
/// `Idempotency-Key`. Problems: 409 `conflict` when a partner has this name; 422
/// `validation_failed` for an empty or over-long `name` or `notes`, or control
/// characters in them.
#[utoipa::path(
    tag = "partners",
    operation_id = "create_partner",
    request_body = CreatePartnerRequest,
    responses(
        (status = 201, description = "Created", body = Partner, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "A partner with this name exists", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/partners")]
pub async fn create_partner(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<CreatePartnerRequest>,
) -> ApiResult<HttpResponse> {
    let request = body.0;
    let fields = PartnerFields {
        name: request.name,
        kind: request.kind,
        notes: request.notes,
        is_active: request.is_active.unwrap_or(true),
    };
    let row = state
        .db(move |conn| Ok(partners::create(conn, &principal, fields)?))
        .await?;
    let location = format!("/api/v1/partners/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &Partner::from_row(&row)?,
    ))
}

/// List partners.
///
/// In creation order, one page at a time. Needs `users:manage`.
#[utoipa::path(
    tag = "partners",
    operation_id = "list_partners",
    params(PageParams),
    responses((status = 200, description = "One page of partners", body = Page<Partner>))
)]
#[get("/api/v1/partners")]
pub async fn list_partners(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let rows = state
        .db(move |conn| Ok(partners::list(conn, &principal, cursor.as_ref(), limit)?))
        .await?;
    let rows = rows
        .iter()
        .map(|row| {
            Ok((
                creation_cursor(row.created_at.0, row.id.0),
                Partner::from_row(row)?,
            ))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let page = Page::from_rows(rows, page.limit, |(cursor, _)| cursor.clone(), |(_, p)| p);
    Ok(HttpResponse::Ok().json(page))
}

/// Get a partner.
///
/// Needs `users:manage`; a partner's own users may read their partner. Answers with an
/// `ETag`; 404 `not_found` for any other.
#[utoipa::path(
    tag = "partners",
    operation_id = "get_partner",
    params(("id" = Uuid, Path, description = "Partner id")),
    responses((status = 200, description = "The partner", body = Partner, headers(("ETag" = String))))
)]
#[get("/api/v1/partners/{id}")]
pub async fn get_partner(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let row = state
        .db(move |conn| Ok(partners::get(conn, &principal, id)?))
        .await?;
    Ok(etag::single(
        &req,
        row.id.0,
        row.version,
        &Partner::from_row(&row)?,
    ))
}

/// Change a partner (JSON Merge Patch).
///
/// Setting `is_active` to false stops the partner's users at once: their sessions and
/// keys answer 401 until it is active again.
///
/// Needs `users:manage`. Honours `If-Match` (412 `precondition_failed` when stale).
/// Audited as `partner.update`. Problems as for creation.
#[utoipa::path(
    tag = "partners",
    operation_id = "update_partner",
    params(
        ("id" = Uuid, Path, description = "Partner id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    request_body(content = PartnerPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed partner", body = Partner, headers(("ETag" = String))),
        (status = 409, description = "A partner with this name exists", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[patch("/api/v1/partners/{id}")]
pub async fn update_partner(
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
            Ok(partners::update(
                conn,
                &principal,
                id,
                &precondition,
                |before| {
                    let after: PartnerPatch = patch.apply(&PartnerPatch::from(before))?;
                    Ok(PartnerFields {
                        name: after.name,
                        kind: after.kind,
                        notes: after.notes,
                        is_active: after.is_active,
                    })
                },
            )?)
        })
        .await?;
    for user in &change.affected_users {
        state.user_changed(*user).await;
    }
    let row = change.partner;
    Ok(etag::single(
        &req,
        row.id.0,
        row.version,
        &Partner::from_row(&row)?,
    ))
}

/// Delete a partner.
///
/// Only a partner without users can go (deactivate it to stop its users); its shares and
/// share rules go with it.
///
/// Needs `users:manage`. Honours `If-Match`. Audited as `partner.delete`. Problems: 409
/// `conflict` while the partner has users.
#[utoipa::path(
    tag = "partners",
    operation_id = "delete_partner",
    params(
        ("id" = Uuid, Path, description = "Partner id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "The partner still has users", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[delete("/api/v1/partners/{id}")]
pub async fn delete_partner(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(partners::delete(conn, &principal, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "reza@alborz-pakhsh.ir",
    "display_name": "رضا کریمی",
    "password": "correct horse battery",
    "locale": "fa"
}))]
pub struct CreatePartnerUserRequest {
    /// Unique, case-insensitive.
    pub email: String,
    pub display_name: String,
    /// At least 12 characters.
    pub password: String,
    /// Defaults to `fa`.
    #[serde(default)]
    pub locale: Option<Locale>,
}

/// Create a user of a partner.
///
/// An account of role `partner`, `own` visibility and no team, which stays so (a change
/// of those is refused with 422 `partner_user`). It signs in and creates API keys as any
/// user does.
///
/// Needs `users:manage`. Audited as `user.create` and `partner.user_add`. Problems as
/// for `POST /users`; 404 when no partner has this id.
#[utoipa::path(
    tag = "partners",
    operation_id = "create_partner_user",
    params(("id" = Uuid, Path, description = "Partner id")),
    request_body = CreatePartnerUserRequest,
    responses(
        (status = 201, description = "Created", body = User, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "A user with this e-mail address exists", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/partners/{id}/users")]
pub async fn create_partner_user(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<CreatePartnerUserRequest>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let request = body.0;
    let new = NewPartnerUser {
        email: request.email,
        display_name: request.display_name,
        password: request.password,
        locale: request.locale.unwrap_or(Locale::Fa).as_str().to_string(),
    };
    let row = state
        .db(move |conn| Ok(partners::add_user(conn, &principal, id, new)?))
        .await?;
    let location = format!("/api/v1/users/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &User::from_row(&row)?,
    ))
}

/// List a partner's users.
///
/// In the order they joined. Needs `users:manage`; a partner's own users may list
/// their colleagues.
#[utoipa::path(
    tag = "partners",
    operation_id = "list_partner_users",
    params(("id" = Uuid, Path, description = "Partner id"), PageParams),
    responses((status = 200, description = "One page of users", body = Page<User>))
)]
#[get("/api/v1/partners/{id}/users")]
pub async fn list_partner_users(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let rows = state
        .db(move |conn| {
            Ok(partners::users(
                conn,
                &principal,
                id,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let rows = rows
        .iter()
        .map(|(joined, user)| Ok((creation_cursor(joined.0, user.id.0), User::from_row(user)?)))
        .collect::<ApiResult<Vec<_>>>()?;
    let page = Page::from_rows(rows, page.limit, |(cursor, _)| cursor.clone(), |(_, u)| u);
    Ok(HttpResponse::Ok().json(page))
}

/// A record shared with a partner.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordShare {
    pub id: Uuid,
    pub partner_id: Uuid,
    pub record_kind: SharedKind,
    pub record_id: Uuid,
    pub access: ShareAccess,
    /// When the share ends; `null` keeps it until withdrawn.
    pub expires_at: Option<DateTime<Utc>>,
    /// The share rule that keeps this share; `null` for one shared by hand.
    pub rule_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl RecordShare {
    fn from_row(row: &ShareRow) -> ApiResult<RecordShare> {
        let corrupt = || ApiError::Internal(format!("stored share {}", row.id.0));
        Ok(RecordShare {
            id: row.id.0,
            partner_id: row.partner_id.0,
            record_kind: SharedKind::parse(&row.record_kind).ok_or_else(corrupt)?,
            record_id: row.record_id.0,
            access: ShareAccess::parse(&row.access).ok_or_else(corrupt)?,
            expires_at: row.expires_at.map(|at| at.0),
            rule_id: row.rule_id.map(|id| id.0),
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "record_kind": "deal",
    "record_id": "0193a4e2-7c1d-7b3e-9f10-cccccccccccc",
    "access": "write",
    "expires_at": "2027-03-20T20:30:00Z"
}))]
pub struct CreateShareRequest {
    pub record_kind: SharedKind,
    pub record_id: Uuid,
    pub access: ShareAccess,
    /// In the future; omitted or `null` keeps the share until it is withdrawn.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// Share a record with a partner.
///
/// The partner's users then see the record (and what hangs off it: its tasks,
/// activities, orders, ticket messages) by id, in searches and exports, in the timeline
/// and 360 view and in the reports; with `write` they may also change it. A record a
/// partner's user creates is shared with its partner by itself.
///
/// Needs `crm:configure`. Audited as `record_share.create`. Problems: 409 `conflict`
/// when the record is already shared with the partner by hand (withdraw that share to
/// change it); 422 `validation_failed` when `record_id` names no record of its kind
/// (`not_found`) or `expires_at` is not in the future (`in_the_past`).
#[utoipa::path(
    tag = "partners",
    operation_id = "create_share",
    params(("id" = Uuid, Path, description = "Partner id")),
    request_body = CreateShareRequest,
    responses(
        (status = 201, description = "Shared", body = RecordShare, headers(("Location" = String))),
        (status = 409, description = "Already shared", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/partners/{id}/shares")]
pub async fn create_share(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<CreateShareRequest>,
) -> ApiResult<HttpResponse> {
    let partner = id.into_inner();
    let request = body.0;
    let input = ShareInput {
        record_kind: request.record_kind,
        record_id: request.record_id,
        access: request.access,
        expires_at: request.expires_at,
    };
    let row = state
        .db(move |conn| Ok(sharing::share(conn, &principal, partner, input)?))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/partners/{partner}/shares/{}", row.id.0),
        ))
        .json(RecordShare::from_row(&row)?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShareFilter {
    /// Only shares of this kind of record.
    pub record_kind: Option<SharedKind>,
}

/// List what is shared with a partner.
///
/// Shares by hand and by rule, expired ones included (their `expires_at` says so), in
/// the order they were made. Needs `crm:configure`; a partner's own users may list what
/// is shared with their partner.
#[utoipa::path(
    tag = "partners",
    operation_id = "list_shares",
    params(("id" = Uuid, Path, description = "Partner id"), ShareFilter, PageParams),
    responses((status = 200, description = "One page of shares", body = Page<RecordShare>))
)]
#[get("/api/v1/partners/{id}/shares")]
pub async fn list_shares(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    filter: web::Query<ShareFilter>,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let partner = id.into_inner();
    let kind = filter.record_kind;
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let rows = state
        .db(move |conn| {
            Ok(sharing::shares(
                conn,
                &principal,
                partner,
                kind,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let rows = rows
        .iter()
        .map(|row| {
            Ok((
                creation_cursor(row.created_at.0, row.id.0),
                RecordShare::from_row(row)?,
            ))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let page = Page::from_rows(rows, page.limit, |(cursor, _)| cursor.clone(), |(_, s)| s);
    Ok(HttpResponse::Ok().json(page))
}

/// Withdraw a share.
///
/// The partner's users stop seeing the record at once (unless they own it or a rule
/// shares it too). A share kept by a rule is withdrawn by changing or deleting the rule.
///
/// Needs `crm:configure`. Audited as `record_share.delete`. 404 when the partner has no
/// such share by hand.
#[utoipa::path(
    tag = "partners",
    operation_id = "delete_share",
    params(
        ("id" = Uuid, Path, description = "Partner id"),
        ("share_id" = Uuid, Path, description = "Share id")
    ),
    responses((status = 204, description = "Withdrawn"))
)]
#[delete("/api/v1/partners/{id}/shares/{share_id}")]
pub async fn delete_share(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (partner, share) = path.into_inner();
    state
        .db(move |conn| Ok(sharing::unshare(conn, &principal, partner, share)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A rule sharing every record of a kind that matches a condition.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareRule {
    pub id: Uuid,
    pub partner_id: Uuid,
    pub record_kind: SharedKind,
    /// A filter tree over the kind's searchable fields, as in its search.
    #[schema(value_type = Object)]
    pub condition: serde_json::Value,
    pub access: ShareAccess,
    /// When the rule's shares were last brought up to date, and how many records it
    /// matched then; `null` until the first refresh has run.
    pub refreshed_at: Option<DateTime<Utc>>,
    pub matched: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl ShareRule {
    fn from_row(row: &ShareRuleRow) -> ApiResult<ShareRule> {
        let input = sharing::rule_input_of(row)?;
        Ok(ShareRule {
            id: row.id.0,
            partner_id: row.partner_id.0,
            record_kind: input.record_kind,
            condition: input.condition,
            access: input.access,
            refreshed_at: row.refreshed_at.map(|at| at.0),
            matched: row.matched,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
        })
    }
}

/// A partner's share rules.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareRules {
    pub items: Vec<ShareRule>,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "record_kind": "lead",
    "condition": {"field": "province", "op": "eq", "value": "البرز"},
    "access": "write"
}))]
pub struct CreateShareRuleRequest {
    pub record_kind: SharedKind,
    /// A filter tree over the kind's searchable fields (as in `POST /leads/search` for
    /// leads).
    #[schema(value_type = Object)]
    pub condition: serde_json::Value,
    pub access: ShareAccess,
}

/// The fields `PATCH` can change, as a JSON Merge Patch document; the kind stays.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"access": "read"}))]
pub struct ShareRulePatch {
    pub record_kind: SharedKind,
    #[schema(value_type = Object)]
    pub condition: serde_json::Value,
    pub access: ShareAccess,
}

/// Create a share rule.
///
/// Shares with the partner every record of `record_kind` that `condition` matches —
/// every lead of a province with its distributor — now and as records are created or
/// changed. The records that match already are shared by a `share_rules.refresh` job
/// queued at once (the rule's `refreshed_at` and `matched` say when it has run).
///
/// Needs `crm:configure`. Audited as `share_rule.create`. Problems: 422
/// `validation_failed` naming the condition's broken part (`condition.field`, ...).
#[utoipa::path(
    tag = "partners",
    operation_id = "create_share_rule",
    params(("id" = Uuid, Path, description = "Partner id")),
    request_body = CreateShareRuleRequest,
    responses((status = 201, description = "Created", body = ShareRule, headers(("Location" = String), ("ETag" = String))))
)]
#[post("/api/v1/partners/{id}/share-rules")]
pub async fn create_share_rule(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<CreateShareRuleRequest>,
) -> ApiResult<HttpResponse> {
    let partner = id.into_inner();
    let request = body.0;
    let input = ShareRuleInput {
        record_kind: request.record_kind,
        condition: request.condition,
        access: request.access,
    };
    let row = state
        .db(move |conn| Ok(sharing::create_rule(conn, &principal, partner, input)?))
        .await?;
    let location = format!("/api/v1/partners/{partner}/share-rules/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &ShareRule::from_row(&row)?,
    ))
}

/// List a partner's share rules.
///
/// In creation order. Needs `crm:configure`.
#[utoipa::path(
    tag = "partners",
    operation_id = "list_share_rules",
    params(("id" = Uuid, Path, description = "Partner id")),
    responses((status = 200, description = "The rules", body = ShareRules))
)]
#[get("/api/v1/partners/{id}/share-rules")]
pub async fn list_share_rules(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let partner = id.into_inner();
    let rows = state
        .db(move |conn| Ok(sharing::rules(conn, &principal, partner)?))
        .await?;
    let items = rows
        .iter()
        .map(ShareRule::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(ShareRules { items }))
}

/// Get a share rule.
///
/// Needs `crm:configure`. Answers with an `ETag`.
#[utoipa::path(
    tag = "partners",
    operation_id = "get_share_rule",
    params(
        ("id" = Uuid, Path, description = "Partner id"),
        ("rule_id" = Uuid, Path, description = "Share rule id")
    ),
    responses((status = 200, description = "The rule", body = ShareRule, headers(("ETag" = String))))
)]
#[get("/api/v1/partners/{id}/share-rules/{rule_id}")]
pub async fn get_share_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (partner, rule) = path.into_inner();
    let row = state
        .db(move |conn| Ok(sharing::rule(conn, &principal, partner, rule)?))
        .await?;
    Ok(etag::single(
        &req,
        row.id.0,
        row.version,
        &ShareRule::from_row(&row)?,
    ))
}

/// Change a share rule (JSON Merge Patch).
///
/// A new `access` applies to the rule's shares at once; a new `condition` once the
/// refresh queued with the change has run. `record_kind` does not change
/// (`immutable`).
///
/// Needs `crm:configure`. Honours `If-Match`. Audited as `share_rule.update`.
#[utoipa::path(
    tag = "partners",
    operation_id = "update_share_rule",
    params(
        ("id" = Uuid, Path, description = "Partner id"),
        ("rule_id" = Uuid, Path, description = "Share rule id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    request_body(content = ShareRulePatch, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The changed rule", body = ShareRule, headers(("ETag" = String))))
)]
#[patch("/api/v1/partners/{id}/share-rules/{rule_id}")]
pub async fn update_share_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    let (partner, rule) = path.into_inner();
    let precondition = if_match.precondition();
    let row = state
        .db(move |conn| {
            Ok(sharing::update_rule(
                conn,
                &principal,
                partner,
                rule,
                &precondition,
                |before| {
                    let after: ShareRulePatch = patch.apply(&ShareRulePatch {
                        record_kind: before.record_kind,
                        condition: before.condition.clone(),
                        access: before.access,
                    })?;
                    Ok(ShareRuleInput {
                        record_kind: after.record_kind,
                        condition: after.condition,
                        access: after.access,
                    })
                },
            )?)
        })
        .await?;
    Ok(etag::single(
        &req,
        row.id.0,
        row.version,
        &ShareRule::from_row(&row)?,
    ))
}

/// Delete a share rule.
///
/// The shares it keeps are withdrawn with it. Needs `crm:configure`. Honours
/// `If-Match`. Audited as `share_rule.delete`.
#[utoipa::path(
    tag = "partners",
    operation_id = "delete_share_rule",
    params(
        ("id" = Uuid, Path, description = "Partner id"),
        ("rule_id" = Uuid, Path, description = "Share rule id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/partners/{id}/share-rules/{rule_id}")]
pub async fn delete_share_rule(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let (partner, rule) = path.into_inner();
    let precondition = if_match.precondition();
    state
        .db(move |conn| {
            Ok(sharing::delete_rule(
                conn,
                &principal,
                partner,
                rule,
                &precondition,
            )?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Refresh a share rule now.
///
/// Queues a `share_rules.refresh` job that shares the records matching the rule and
/// withdraws the shares of those that no longer do (records change through the API
/// are followed at once; this is for anything else, e.g. relative dates in the
/// condition). Answers 202 with the job.
///
/// Needs `crm:configure`. Audited as `job.create`.
#[utoipa::path(
    tag = "partners",
    operation_id = "refresh_share_rule",
    params(
        ("id" = Uuid, Path, description = "Partner id"),
        ("rule_id" = Uuid, Path, description = "Share rule id")
    ),
    responses((status = 202, description = "Queued", body = super::jobs::JobResource, headers(("Location" = String))))
)]
#[post("/api/v1/partners/{id}/share-rules/{rule_id}/refreshes")]
pub async fn refresh_share_rule(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (partner, rule) = path.into_inner();
    let job = state
        .db(move |conn| Ok(sharing::refresh_now(conn, &principal, partner, rule)?))
        .await?;
    accepted(job)
}
