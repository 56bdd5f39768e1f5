//! Ticket categories (V-1): the tree tickets are filed under, which SLA policies,
//! assignment rules and the service reports cut by.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::service::ticket_categories as categories;
use chrono::{DateTime, Utc};
use domain::service::tickets::CategoryInput;
use persistence::ticket_categories::TicketCategoryRow;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::{JsonBody, MergePatch};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_ticket_category,
        list_ticket_categories,
        get_ticket_category,
        update_ticket_category,
        delete_ticket_category
    ),
    components(schemas(TicketCategory, CategoryInput, TicketCategoryList))
)]
pub struct TicketCategoriesApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_ticket_category)
        .service(list_ticket_categories)
        .service(get_ticket_category)
        .service(update_ticket_category)
        .service(delete_ticket_category);
}

/// A ticket category as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketCategory {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub name: String,
    pub name_en: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<&TicketCategoryRow> for TicketCategory {
    fn from(row: &TicketCategoryRow) -> Self {
        TicketCategory {
            id: row.id.0,
            parent_id: row.parent_id.map(|id| id.0),
            name: row.name.clone(),
            name_en: row.name_en.clone(),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
        }
    }
}

/// Every ticket category (the tree is small and comes whole).
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketCategoryList {
    pub data: Vec<TicketCategory>,
}

/// Add a ticket category.
///
/// A name (Persian), optionally an English one, and the category it sits under. The
/// tree is at most 5 levels deep, at most 1,000 categories. Needs `crm:configure`.
/// Audited as `ticket_category.create`. Problems: 422 `validation_failed` (`name`
/// `required`, `parent_id` `not_found` or `too_deep`); 409 `conflict` at 1,000.
#[utoipa::path(
    tag = "tickets",
    operation_id = "create_ticket_category",
    request_body = CategoryInput,
    responses(
        (status = 201, description = "Created", body = TicketCategory, headers(("Location" = String), ("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/ticket-categories")]
pub async fn create_ticket_category(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<CategoryInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let input = body.0;
    let row = state
        .db(move |conn| Ok(categories::create(conn, &acting, input)?))
        .await?;
    let location = format!("/api/v1/ticket-categories/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &TicketCategory::from(&row),
    ))
}

/// List ticket categories.
///
/// Every category, in creation order; `parent_id` builds the tree. Needs
/// `records:read`.
#[utoipa::path(
    tag = "tickets",
    operation_id = "list_ticket_categories",
    responses((status = 200, description = "The categories", body = TicketCategoryList))
)]
#[get("/api/v1/ticket-categories")]
pub async fn list_ticket_categories(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let rows = state
        .db(move |conn| Ok(categories::list(conn, &acting)?))
        .await?;
    Ok(HttpResponse::Ok().json(TicketCategoryList {
        data: rows.iter().map(TicketCategory::from).collect(),
    }))
}

/// Get a ticket category.
///
/// Needs `records:read`. Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "tickets",
    operation_id = "get_ticket_category",
    params(("id" = Uuid, Path, description = "Category id")),
    responses((status = 200, description = "Found", body = TicketCategory, headers(("ETag" = String))))
)]
#[get("/api/v1/ticket-categories/{id}")]
pub async fn get_ticket_category(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(categories::get(conn, &acting, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &TicketCategory::from(&row),
    ))
}

/// Rename or move a ticket category (JSON Merge Patch).
///
/// A category moves under another only where no loop forms (422 `parent_id` `cycle`)
/// and the tree stays 5 levels deep (`too_deep`). Needs `crm:configure`. Honours
/// `If-Match` (412 when stale). Audited as `ticket_category.update`.
#[utoipa::path(
    tag = "tickets",
    operation_id = "update_ticket_category",
    params(("id" = Uuid, Path, description = "Category id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = CategoryInput, content_type = "application/merge-patch+json", example = json!({"name_en": "Delivery"})),
    responses((status = 200, description = "Changed", body = TicketCategory, headers(("ETag" = String))))
)]
#[patch("/api/v1/ticket-categories/{id}")]
pub async fn update_ticket_category(
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
            Ok(categories::update(
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
        &TicketCategory::from(&row),
    ))
}

/// Delete a ticket category.
///
/// Only one without sub-categories or tickets (409 `conflict` otherwise). Needs
/// `crm:configure`. Honours `If-Match`. Audited as `ticket_category.delete`.
#[utoipa::path(
    tag = "tickets",
    operation_id = "delete_ticket_category",
    params(
        ("id" = Uuid, Path, description = "Category id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/ticket-categories/{id}")]
pub async fn delete_ticket_category(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(categories::delete(conn, &acting, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
