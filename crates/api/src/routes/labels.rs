//! Tags, customer groups and tiers (C-4): lists the business defines (`crm:configure`)
//! and assigns to customers in bulk (`records:write`, within the caller's visibility).
//! The three share one implementation; each has its own path so that clients and
//! generated SDKs see three plain resources.

use actix_web::{web, HttpRequest, HttpResponse};
use application::administration::labels::{self, Assignment, LabelFields};
use chrono::{DateTime, Utc};
use persistence::labels::LabelRow;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::pagination::creation_cursor;
use crate::conventions::{MergePatch, Page, PageParams};
use crate::error::ApiResult;
use crate::state::AppState;

/// A tag, customer group or tier.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a4e2-7c1d-7b3e-9f10-cccccccccccc", "name": "مشتری وفادار", "description": null, "color": "#2e7d32", "rank": null, "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:00:00Z"}))]
pub struct Label {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// Display colour as `#rrggbb`.
    pub color: Option<String>,
    /// Tiers only: order of the tier, 1 = highest.
    pub rank: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&LabelRow> for Label {
    fn from(row: &LabelRow) -> Self {
        Label {
            id: row.id.0,
            name: row.name.clone(),
            description: row.description.clone(),
            color: row.color.clone(),
            rank: row.rank,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        }
    }
}

/// Create body, and the document a merge patch applies to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "VIP", "color": "#c62828"}))]
pub struct LabelInput {
    /// Unique per kind, compared after Persian normalisation and ignoring case.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
    /// Tiers only.
    #[serde(default)]
    pub rank: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentAction {
    Add,
    Remove,
}

#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "add", "customer_ids": ["0193a4e2-7c1d-7b3e-9f10-dddddddddddd"]}))]
pub struct AssignmentRequest {
    pub action: AssignmentAction,
    /// 1 to 1,000 customers; ids outside the caller's visibility are reported, not
    /// assigned.
    pub customer_ids: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentResult {
    /// Customers whose assignment changed.
    pub changed: usize,
    /// Customers that already had (or lacked) it.
    pub unchanged: usize,
    /// Ids that are not customers the caller may change.
    pub not_found: Vec<Uuid>,
}

impl From<&LabelFields> for LabelInput {
    fn from(fields: &LabelFields) -> LabelInput {
        LabelInput {
            name: fields.name.clone(),
            description: fields.description.clone(),
            color: fields.color.clone(),
            rank: fields.rank,
        }
    }
}

impl From<LabelInput> for LabelFields {
    fn from(input: LabelInput) -> LabelFields {
        LabelFields {
            name: input.name,
            description: input.description,
            color: input.color,
            rank: input.rank,
        }
    }
}

impl From<Assignment> for AssignmentResult {
    fn from(assignment: Assignment) -> AssignmentResult {
        AssignmentResult {
            changed: assignment.changed,
            unchanged: assignment.unchanged,
            not_found: assignment.not_found,
        }
    }
}

async fn create(
    kind: &'static str,
    state: web::Data<AppState>,
    principal: Principal,
    body: LabelInput,
) -> ApiResult<HttpResponse> {
    let fields = LabelFields::from(body);
    let row = state
        .db(move |conn| Ok(labels::create(conn, &principal, kind, fields)?))
        .await?;
    let location = format!("{}/{}", collection_path(kind), row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &Label::from(&row),
    ))
}

fn collection_path(kind: &str) -> &'static str {
    match kind {
        persistence::labels::TAG => "/api/v1/tags",
        persistence::labels::GROUP => "/api/v1/customer-groups",
        _ => "/api/v1/tiers",
    }
}

async fn list(
    kind: &'static str,
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let rows = state
        .db(move |conn| {
            Ok(labels::list(
                conn,
                &principal,
                kind,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let page = Page::from_rows(
        rows,
        page.limit,
        |row| creation_cursor(row.created_at.0, row.id.0),
        |row| Label::from(&row),
    );
    Ok(HttpResponse::Ok().json(page))
}

async fn get(
    kind: &'static str,
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: Uuid,
) -> ApiResult<HttpResponse> {
    let row = state
        .db(move |conn| Ok(labels::get(conn, &principal, kind, id)?))
        .await?;
    Ok(etag::single(&req, id, row.version, &Label::from(&row)))
}

// The arguments are the handler's extractors plus the kind; bundling them would only
// move the list elsewhere.
#[allow(clippy::too_many_arguments)]
async fn update(
    kind: &'static str,
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: Uuid,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    let precondition = if_match.precondition();
    let row = state
        .db(move |conn| {
            Ok(labels::update(
                conn,
                &principal,
                kind,
                id,
                &precondition,
                |before| {
                    let after: LabelInput = patch.apply(&LabelInput::from(before))?;
                    Ok(after.into())
                },
            )?)
        })
        .await?;
    Ok(etag::single(&req, id, row.version, &Label::from(&row)))
}

async fn delete(
    kind: &'static str,
    state: web::Data<AppState>,
    principal: Principal,
    id: Uuid,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(labels::delete(conn, &principal, kind, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn assign(
    kind: &'static str,
    state: web::Data<AppState>,
    principal: Principal,
    id: Uuid,
    body: AssignmentRequest,
) -> ApiResult<HttpResponse> {
    let attach = body.action == AssignmentAction::Add;
    let assignment = state
        .db(move |conn| {
            Ok(labels::assign(
                conn,
                &principal,
                kind,
                id,
                attach,
                &body.customer_ids,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(AssignmentResult::from(assignment)))
}

/// One set of annotated handlers per label kind, delegating to the shared functions.
macro_rules! label_routes {
    ($module:ident, $kind:expr, $path:literal, $item:literal, $assignments:literal, $tag:literal, $singular:literal, $plural:literal,
     // Each operation's summary and description (utoipa reads the doc paragraphs).
     docs: [($create:literal, $create_more:literal), ($list:literal, $list_more:literal),
            ($get:literal, $get_more:literal), ($update:literal, $update_more:literal),
            ($delete:literal, $delete_more:literal), ($assign:literal, $assign_more:literal)],
     // Request examples of create and update, which differ by kind (tiers have a rank).
     examples: [$create_example:tt, $update_example:tt]) => {
        pub mod $module {
            use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
            use uuid::Uuid;

            use super::{AssignmentRequest, AssignmentResult, Label, LabelInput};
            use crate::auth::Principal;
            use crate::conventions::etag::IfMatch;
            use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
            use crate::error::ApiResult;
            use crate::state::AppState;

            #[doc = $create]
            #[doc = ""]
            #[doc = $create_more]
            #[utoipa::path(tag = $tag, operation_id = concat!("create_", $singular),
                request_body(content = LabelInput, example = json!($create_example)),
                responses((status = 201, description = "Created", body = Label, headers(("Location" = String), ("ETag" = String))),
                          (status = 409, description = "The name is taken", body = crate::error::Problem, content_type = "application/problem+json")))]
            #[post($path)]
            pub async fn create(state: web::Data<AppState>, principal: Principal, body: JsonBody<LabelInput>) -> ApiResult<HttpResponse> {
                super::create($kind, state, principal, body.0).await
            }

            #[doc = $list]
            #[doc = ""]
            #[doc = $list_more]
            #[utoipa::path(tag = $tag, operation_id = concat!("list_", $plural), params(PageParams),
                responses((status = 200, description = "One page", body = Page<Label>)))]
            #[get($path)]
            pub async fn list(state: web::Data<AppState>, principal: Principal, page: PageParams) -> ApiResult<HttpResponse> {
                super::list($kind, state, principal, page).await
            }

            #[doc = $get]
            #[doc = ""]
            #[doc = $get_more]
            #[utoipa::path(tag = $tag, operation_id = concat!("get_", $singular), params(("id" = Uuid, Path, description = "Id")),
                responses((status = 200, description = "Found", body = Label, headers(("ETag" = String)))))]
            #[get($item)]
            pub async fn get(req: HttpRequest, state: web::Data<AppState>, principal: Principal, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
                super::get($kind, req, state, principal, id.into_inner()).await
            }

            #[doc = $update]
            #[doc = ""]
            #[doc = $update_more]
            #[utoipa::path(tag = $tag, operation_id = concat!("update_", $singular),
                params(("id" = Uuid, Path, description = "Id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
                request_body(content = LabelInput, content_type = "application/merge-patch+json", example = json!($update_example)),
                responses((status = 200, description = "Changed", body = Label, headers(("ETag" = String))),
                          (status = 409, description = "The name is taken", body = crate::error::Problem, content_type = "application/problem+json")))]
            #[patch($item)]
            pub async fn update(req: HttpRequest, state: web::Data<AppState>, principal: Principal, id: web::Path<Uuid>, if_match: IfMatch, patch: MergePatch) -> ApiResult<HttpResponse> {
                super::update($kind, req, state, principal, id.into_inner(), if_match, patch).await
            }

            #[doc = $delete]
            #[doc = ""]
            #[doc = $delete_more]
            #[utoipa::path(tag = $tag, operation_id = concat!("delete_", $singular),
                params(("id" = Uuid, Path, description = "Id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
                responses((status = 204, description = "Deleted")))]
            #[delete($item)]
            pub async fn delete(state: web::Data<AppState>, principal: Principal, id: web::Path<Uuid>, if_match: IfMatch) -> ApiResult<HttpResponse> {
                super::delete($kind, state, principal, id.into_inner(), if_match).await
            }

            #[doc = $assign]
            #[doc = ""]
            #[doc = $assign_more]
            #[utoipa::path(tag = $tag, operation_id = concat!("assign_", $singular), params(("id" = Uuid, Path, description = "Id")),
                request_body = AssignmentRequest,
                responses((status = 200, description = "Assignment result", body = AssignmentResult)))]
            #[post($assignments)]
            pub async fn assign(state: web::Data<AppState>, principal: Principal, id: web::Path<Uuid>, body: JsonBody<AssignmentRequest>) -> ApiResult<HttpResponse> {
                super::assign($kind, state, principal, id.into_inner(), body.0).await
            }

            pub fn configure(cfg: &mut web::ServiceConfig) {
                cfg.service(create).service(list).service(get).service(update).service(delete).service(assign);
            }
        }
    };
}

label_routes!(
    tags,
    persistence::labels::TAG,
    "/api/v1/tags",
    "/api/v1/tags/{id}",
    "/api/v1/tags/{id}/assignments",
    "tags",
    "tag",
    "tags",
    docs: [
        ("Create a tag.",
         "A free label to mark customers with, e.g. «VIP» or «خریدار عمده», for search \
             (`tag_id`), imports (`tag_names`) and bulk assignment. Names are unique among \
             tags, compared after Persian normalisation (Arabic and Persian letter forms, \
             digits, spacing) and ignoring case; `color` is `#rrggbb`.\n\n\
             Needs `crm:configure` (admins and managers). Audited as `tag.create`; safe to \
             retry with an `Idempotency-Key`.\n\n\
             Problems: 409 `conflict` when the name is taken; 422 `validation_failed` for a \
             name without letters or digits (`required`) or over 100 characters, a \
             description over 1,000 characters, a colour that is not `#rrggbb` \
             (`invalid_format`), or a `rank` (`not_allowed_for_kind`)."),
        ("List tags.",
         "Every tag in creation order, one page at a time. Needs `records:read`."),
        ("Get a tag.",
         "Needs `records:read`. Answers with an `ETag` for a later `If-Match`; 404 \
             `not_found` when no tag has this id."),
        ("Change a tag (JSON Merge Patch).",
         "Renames it or changes its description or colour; customers keep it.\n\n\
             Needs `crm:configure` (admins and managers). Honours `If-Match` (412 \
             `precondition_failed` when stale). Audited as `tag.update`. Problems: 409 \
             `conflict` when another tag has the new name; 422 `validation_failed` as for \
             creation."),
        ("Delete a tag.",
         "It is removed from every customer that has it; the customers stay.\n\n\
             Needs `crm:configure` (admins and managers). Honours `If-Match` (412 \
             `precondition_failed` when stale). Audited as `tag.delete`."),
        ("Add or remove a tag on many customers at once.",
         "`action: add` gives the tag to each listed customer, `remove` takes it away; \
             customers that already had (or lacked) it count as `unchanged`. Ids of customers \
             that do not exist or are outside the caller's record visibility are returned in \
             `not_found` and left alone.\n\n\
             Needs `records:write`. Audited as `tag.assign` or `tag.unassign` with the \
             customers it reached. Problems: 404 `not_found` for an unknown tag; 422 \
             `validation_failed` when `customer_ids` is empty or lists more than 1,000 \
             (`invalid_length`).")
    ],
    examples: [{"name": "خریدار عمده", "description": "Buys in bulk for resale", "color": "#c62828"}, {"color": "#ad1457"}]
);
label_routes!(
    groups,
    persistence::labels::GROUP,
    "/api/v1/customer-groups",
    "/api/v1/customer-groups/{id}",
    "/api/v1/customer-groups/{id}/assignments",
    "customer_groups",
    "customer_group",
    "customer_groups",
    docs: [
        ("Create a customer group.",
         "A segment of customers, e.g. «همکاران تجاری» (trade partners), for search \
             (`group_id`) and bulk assignment. Names are unique among customer groups, \
             compared after Persian normalisation (Arabic and Persian letter forms, digits, \
             spacing) and ignoring case; `color` is `#rrggbb`.\n\n\
             Needs `crm:configure` (admins and managers). Audited as `group.create`; \
             safe to retry with an `Idempotency-Key`.\n\n\
             Problems: 409 `conflict` when the name is taken; 422 `validation_failed` for a \
             name without letters or digits (`required`) or over 100 characters, a \
             description over 1,000 characters, a colour that is not `#rrggbb` \
             (`invalid_format`), or a `rank` (`not_allowed_for_kind`)."),
        ("List customer groups.",
         "Every customer group in creation order, one page at a time. Needs \
             `records:read`."),
        ("Get a customer group.",
         "Needs `records:read`. Answers with an `ETag` for a later `If-Match`; 404 \
             `not_found` when no customer group has this id."),
        ("Change a customer group (JSON Merge Patch).",
         "Renames it or changes its description or colour; customers keep it.\n\n\
             Needs `crm:configure` (admins and managers). Honours `If-Match` (412 \
             `precondition_failed` when stale). Audited as `group.update`. Problems: \
             409 `conflict` when another customer group has the new name; 422 \
             `validation_failed` as for creation."),
        ("Delete a customer group.",
         "It is removed from every customer that has it; the customers stay.\n\n\
             Needs `crm:configure` (admins and managers). Honours `If-Match` (412 \
             `precondition_failed` when stale). Audited as `group.delete`."),
        ("Add or remove a customer group on many customers at once.",
         "`action: add` gives the customer group to each listed customer, `remove` takes \
             it away; customers that already had (or lacked) it count as `unchanged`. Ids of \
             customers that do not exist or are outside the caller's record visibility are \
             returned in `not_found` and left alone.\n\n\
             Needs `records:write`. Audited as `group.assign` or \
             `group.unassign` with the customers it reached. Problems: 404 \
             `not_found` for an unknown customer group; 422 `validation_failed` when \
             `customer_ids` is empty or lists more than 1,000 (`invalid_length`).")
    ],
    examples: [{"name": "همکاران تجاری", "description": "Resellers and trade partners", "color": "#1565c0"}, {"description": "Resellers, distributors and trade partners"}]
);
label_routes!(
    tiers,
    persistence::labels::TIER,
    "/api/v1/tiers",
    "/api/v1/tiers/{id}",
    "/api/v1/tiers/{id}/assignments",
    "tiers",
    "tier",
    "tiers",
    docs: [
        ("Create a tier.",
         "A ranked level of customers, e.g. «طلایی» (gold) with `rank` 1 as the highest; a \
             customer has at most one tier (`tier_id`). Names are unique among tiers, \
             compared after Persian normalisation (Arabic and Persian letter forms, digits, \
             spacing) and ignoring case; `color` is `#rrggbb`.\n\n\
             Needs `crm:configure` (admins and managers). Audited as `tier.create`; safe to \
             retry with an `Idempotency-Key`.\n\n\
             Problems: 409 `conflict` when the name is taken; 422 `validation_failed` for a \
             name without letters or digits (`required`) or over 100 characters, a \
             description over 1,000 characters, a colour that is not `#rrggbb` \
             (`invalid_format`), or a `rank` outside 1 to 100 (`out_of_range`)."),
        ("List tiers.",
         "Every tier in creation order, one page at a time. Needs `records:read`."),
        ("Get a tier.",
         "Needs `records:read`. Answers with an `ETag` for a later `If-Match`; 404 \
             `not_found` when no tier has this id."),
        ("Change a tier (JSON Merge Patch).",
         "Renames it or changes its description, colour or rank; customers keep it.\n\n\
             Needs `crm:configure` (admins and managers). Honours `If-Match` (412 \
             `precondition_failed` when stale). Audited as `tier.update`. Problems: 409 \
             `conflict` when another tier has the new name; 422 `validation_failed` as for \
             creation."),
        ("Delete a tier.",
         "It is removed from every customer that has it; the customers stay.\n\n\
             Needs `crm:configure` (admins and managers). Honours `If-Match` (412 \
             `precondition_failed` when stale). Audited as `tier.delete`."),
        ("Add or remove a tier on many customers at once.",
         "`action: add` gives the tier to each listed customer, replacing the tier it had, \
             `remove` takes it away; customers that already had (or lacked) it count as \
             `unchanged`. Ids of customers that do not exist or are outside the caller's \
             record visibility are returned in `not_found` and left alone.\n\n\
             Needs `records:write`. Audited as `tier.assign` or `tier.unassign` with the \
             customers it reached. Problems: 404 `not_found` for an unknown tier; 422 \
             `validation_failed` when `customer_ids` is empty or lists more than 1,000 \
             (`invalid_length`).")
    ],
    examples: [{"name": "طلایی", "description": "Yearly purchases over 500 million rials", "color": "#f9a825", "rank": 1}, {"rank": 2}]
);

#[derive(OpenApi)]
#[openapi(
    paths(
        tags::create,
        tags::list,
        tags::get,
        tags::update,
        tags::delete,
        tags::assign,
        groups::create,
        groups::list,
        groups::get,
        groups::update,
        groups::delete,
        groups::assign,
        tiers::create,
        tiers::list,
        tiers::get,
        tiers::update,
        tiers::delete,
        tiers::assign,
    ),
    components(schemas(
        Label,
        LabelInput,
        AssignmentRequest,
        AssignmentResult,
        AssignmentAction
    ))
)]
pub struct LabelsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    tags::configure(cfg);
    groups::configure(cfg);
    tiers::configure(cfg);
}
