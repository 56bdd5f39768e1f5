//! Static lead lists (S-1): named sets of leads built by hand. A list's members are
//! read with the lead search (`{"field": "list_id", "op": "eq", "value": …}`), so each
//! member is shown only to those who may see the lead.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::sales::lead_lists::{
    self, LeadListInput, LeadListView, Membership, MembershipAction, MembershipChange,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_lead_list,
        list_lead_lists,
        get_lead_list,
        update_lead_list,
        delete_lead_list,
        change_lead_list_members
    ),
    components(schemas(
        LeadList,
        LeadListInput,
        Membership,
        MembershipAction,
        MembershipChange
    ))
)]
pub struct LeadListsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_lead_list)
        .service(list_lead_lists)
        .service(get_lead_list)
        .service(update_lead_list)
        .service(delete_lead_list)
        .service(change_lead_list_members);
}

/// A static lead list.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadList {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// Leads in the list, including any the caller may not see.
    pub members: i64,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<&LeadListView> for LeadList {
    fn from(view: &LeadListView) -> Self {
        let row = &view.row;
        LeadList {
            id: row.id.0,
            name: row.name.clone(),
            description: row.description.clone(),
            members: view.members,
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
        }
    }
}

/// Create a lead list.
///
/// Needs `records:write`. Audited as `lead_list.create`. Problems: 409 `conflict` when
/// the name is taken; 422 naming `name` or `description`.
#[utoipa::path(
    tag = "leads",
    operation_id = "create_lead_list",
    request_body = LeadListInput,
    responses((status = 201, description = "Created", body = LeadList, headers(("Location" = String), ("ETag" = String))))
)]
#[post("/api/v1/lead-lists")]
pub async fn create_lead_list(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<LeadListInput>,
) -> ApiResult<HttpResponse> {
    let input = body.0;
    let view = state
        .db(move |conn| Ok(lead_lists::create(conn, &principal, input)?))
        .await?;
    let location = format!("/api/v1/lead-lists/{}", view.row.id.0);
    Ok(etag::created(
        &location,
        view.row.id.0,
        view.row.version,
        &LeadList::from(&view),
    ))
}

/// List lead lists.
///
/// In creation order, one page at a time. Needs `records:read`.
#[utoipa::path(
    tag = "leads",
    operation_id = "list_lead_lists",
    params(PageParams),
    responses((status = 200, description = "One page of lists", body = Page<LeadList>))
)]
#[get("/api/v1/lead-lists")]
pub async fn list_lead_lists(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let (cursor, fetch) = (page.cursor.clone(), page.fetch_limit());
    let rows = state
        .db(move |conn| Ok(lead_lists::list(conn, &principal, cursor.as_ref(), fetch)?))
        .await?;
    let page = Page::from_rows(rows, page.limit, lead_lists::cursor_after, |view| {
        LeadList::from(&view)
    });
    Ok(HttpResponse::Ok().json(page))
}

/// Get a lead list.
///
/// Needs `records:read`. Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "leads",
    operation_id = "get_lead_list",
    params(("id" = Uuid, Path, description = "List id")),
    responses((status = 200, description = "Found", body = LeadList, headers(("ETag" = String))))
)]
#[get("/api/v1/lead-lists/{id}")]
pub async fn get_lead_list(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let view = state
        .db(move |conn| Ok(lead_lists::get(conn, &principal, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        view.row.version,
        &LeadList::from(&view),
    ))
}

/// Change a lead list (JSON Merge Patch).
///
/// `name` and `description`. Needs `records:write`. Honours `If-Match` (412 when stale).
/// Audited as `lead_list.update`.
#[utoipa::path(
    tag = "leads",
    operation_id = "update_lead_list",
    params(("id" = Uuid, Path, description = "List id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = LeadListInput, content_type = "application/merge-patch+json", example = json!({"description": "پیگیری تا پایان ماه"})),
    responses((status = 200, description = "Changed", body = LeadList, headers(("ETag" = String))))
)]
#[patch("/api/v1/lead-lists/{id}")]
pub async fn update_lead_list(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let precondition = if_match.precondition();
    let view = state
        .db(move |conn| {
            Ok(lead_lists::update(
                conn,
                &principal,
                id,
                &precondition,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    Ok(etag::single(
        &req,
        id,
        view.row.version,
        &LeadList::from(&view),
    ))
}

/// Delete a lead list.
///
/// The list only; its leads stay. Needs `records:delete`. Honours `If-Match`. Audited
/// as `lead_list.delete`.
#[utoipa::path(
    tag = "leads",
    operation_id = "delete_lead_list",
    params(
        ("id" = Uuid, Path, description = "List id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/lead-lists/{id}")]
pub async fn delete_lead_list(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(lead_lists::delete(conn, &principal, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Add leads to a list, or remove them.
///
/// 1 to 1,000 leads per request; leads the caller may not see are reported in
/// `not_found` and left alone. Read the members with `POST /leads/search` and
/// `list_id`. Needs `records:write`. Audited as `lead_list.add` / `lead_list.remove`.
#[utoipa::path(
    tag = "leads",
    operation_id = "change_lead_list_members",
    params(("id" = Uuid, Path, description = "List id")),
    request_body = Membership,
    responses((status = 200, description = "What changed", body = MembershipChange))
)]
#[post("/api/v1/lead-lists/{id}/members")]
pub async fn change_lead_list_members(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<Membership>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let membership = body.0;
    let change = state
        .db(move |conn| {
            Ok(lead_lists::change_members(
                conn,
                &principal,
                id,
                &membership,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(change))
}
