//! Customer segments (M-1): dynamic segments (a condition in the customer search's
//! filter tree, recomputed by a job) and static ones (members added by hand), their
//! preview, current members and membership history, each member shown only to those
//! who may see the customer.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::segments::membership::{
    self, SegmentMembersAction, SegmentMembersChange, SegmentMembersOutcome, Spell,
};
use application::segments::{self, PreviewRequest};
use chrono::{DateTime, Utc};
use domain::segments::{SegmentInput, SegmentKind};
use persistence::segments::{MembershipRow, SegmentRow};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::customers::model::Customer;
use super::jobs::{accepted, JobResource};
use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_segment,
        list_segments,
        get_segment,
        update_segment,
        delete_segment,
        preview_segment,
        refresh_segment,
        change_segment_members,
        list_segment_members,
        segment_history
    ),
    components(schemas(
        Segment,
        SegmentInput,
        SegmentKind,
        PreviewRequest,
        SegmentPreview,
        SegmentMembersChange,
        SegmentMembersAction,
        SegmentMembersOutcome,
        SegmentMember,
        SegmentSpell,
        SegmentHistoryEntry
    ))
)]
pub struct SegmentsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // The fixed path before `/{id}`.
    cfg.service(preview_segment)
        .service(create_segment)
        .service(list_segments)
        .service(get_segment)
        .service(update_segment)
        .service(delete_segment)
        .service(refresh_segment)
        .service(change_segment_members)
        .service(list_segment_members)
        .service(segment_history);
}

/// A customer segment.
#[derive(Debug, Serialize, ToSchema)]
pub struct Segment {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub kind: SegmentKind,
    /// The filter tree of a dynamic segment; null for a static one.
    #[schema(value_type = Option<Object>)]
    pub condition: Option<serde_json::Value>,
    pub active: bool,
    pub refresh_interval_minutes: i64,
    /// Current members, including any the caller may not see.
    pub member_count: i64,
    /// When a dynamic segment's membership was last computed; null before the first
    /// refresh and for a static segment.
    pub refreshed_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl TryFrom<&SegmentRow> for Segment {
    type Error = ApiError;

    fn try_from(row: &SegmentRow) -> ApiResult<Segment> {
        Ok(Segment {
            id: row.id.0,
            name: row.name.clone(),
            description: row.description.clone(),
            kind: segments::kind_of(row)?,
            condition: row.condition.as_ref().map(|condition| condition.0.clone()),
            active: row.active,
            refresh_interval_minutes: row.refresh_interval_minutes,
            member_count: row.member_count,
            refreshed_at: row.refreshed_at.map(|at| at.0),
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
        })
    }
}

/// What a condition finds now.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentPreview {
    /// Customers the caller may see who meet the condition.
    pub count: i64,
    /// The first of them by id.
    pub members: Vec<Customer>,
}

/// A current member of a segment.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentMember {
    pub customer_id: Uuid,
    pub display_name: String,
    /// When the current spell began.
    pub entered_at: DateTime<Utc>,
    /// The spell's id (as in the history and the events).
    pub membership_id: Uuid,
}

impl From<Spell> for SegmentMember {
    fn from(spell: Spell) -> Self {
        SegmentMember {
            customer_id: spell.row.customer_id.0,
            display_name: spell.display_name,
            entered_at: spell.row.entered_at.0,
            membership_id: spell.row.id.0,
        }
    }
}

/// A spell of a customer in a segment.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentSpell {
    pub id: Uuid,
    pub segment_id: Uuid,
    pub customer_id: Uuid,
    pub entered_at: DateTime<Utc>,
    /// Null while the customer is a member.
    pub left_at: Option<DateTime<Utc>>,
}

impl From<&MembershipRow> for SegmentSpell {
    fn from(row: &MembershipRow) -> Self {
        SegmentSpell {
            id: row.id.0,
            segment_id: row.segment_id.0,
            customer_id: row.customer_id.0,
            entered_at: row.entered_at.0,
            left_at: row.left_at.map(|at| at.0),
        }
    }
}

/// A spell in a segment's history, with the customer's name.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentHistoryEntry {
    #[serde(flatten)]
    pub spell: SegmentSpell,
    pub display_name: String,
}

fn segment_response(req: &HttpRequest, row: &SegmentRow) -> ApiResult<HttpResponse> {
    Ok(etag::single(
        req,
        row.id.0,
        row.version,
        &Segment::try_from(row)?,
    ))
}

/// Create a segment.
///
/// A `dynamic` segment holds everyone meeting its `condition` (the filter tree of `POST
/// /customers/search`, over the same fields: profile, custom fields `custom.<key>`,
/// `tag_id`, purchase facts, `score.*`, `segment_id`), computed by a
/// `segments.refresh` job queued at once and every `refresh_interval_minutes` while it
/// is active; a `static` one holds the customers added with `POST
/// /segments/{id}/members`. Needs `records:write`. Audited as `segment.create`.
/// Problems: 409 `conflict` when the name is taken; 422 naming `name`, `description`,
/// `refresh_interval_minutes` or the condition's parts by their path (e.g.
/// `condition.and[0].field`).
#[utoipa::path(
    tag = "segments",
    operation_id = "create_segment",
    request_body = SegmentInput,
    responses((status = 201, description = "Created", body = Segment, headers(("Location" = String), ("ETag" = String))))
)]
#[post("/api/v1/segments")]
pub async fn create_segment(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<SegmentInput>,
) -> ApiResult<HttpResponse> {
    let input = body.0;
    let row = state
        .db(move |conn| Ok(segments::create(conn, &principal, input)?))
        .await?;
    let location = format!("/api/v1/segments/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &Segment::try_from(&row)?,
    ))
}

/// List segments.
///
/// In creation order, one page at a time. Needs `records:read`.
#[utoipa::path(
    tag = "segments",
    operation_id = "list_segments",
    params(PageParams),
    responses((status = 200, description = "One page of segments", body = Page<Segment>))
)]
#[get("/api/v1/segments")]
pub async fn list_segments(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let (cursor, fetch) = (page.cursor.clone(), page.fetch_limit());
    let rows = state
        .db(move |conn| Ok(segments::list(conn, &principal, cursor.as_ref(), fetch)?))
        .await?;
    let page = Page::from_rows(rows, page.limit, segments::cursor_after, |row| {
        Segment::try_from(&row)
    })
    .collect_results()?;
    Ok(HttpResponse::Ok().json(page))
}

/// Get a segment.
///
/// Needs `records:read`. Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "segments",
    operation_id = "get_segment",
    params(("id" = Uuid, Path, description = "Segment id")),
    responses((status = 200, description = "Found", body = Segment, headers(("ETag" = String))))
)]
#[get("/api/v1/segments/{id}")]
pub async fn get_segment(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let row = state
        .db(move |conn| Ok(segments::get(conn, &principal, id)?))
        .await?;
    segment_response(&req, &row)
}

/// Change a segment (JSON Merge Patch).
///
/// `name`, `description`, `condition`, `active` and `refresh_interval_minutes`; the
/// `kind` is fixed (422 `immutable`). A changed condition, or a segment made active
/// again, is recomputed at once by a `segments.refresh` job. Needs `records:write`.
/// Honours `If-Match` (412 when stale). Audited as `segment.update`.
#[utoipa::path(
    tag = "segments",
    operation_id = "update_segment",
    params(("id" = Uuid, Path, description = "Segment id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = SegmentInput, content_type = "application/merge-patch+json", example = json!({"description": "مشتریان پرخرید", "refresh_interval_minutes": 120})),
    responses((status = 200, description = "Changed", body = Segment, headers(("ETag" = String))))
)]
#[patch("/api/v1/segments/{id}")]
pub async fn update_segment(
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
            Ok(segments::update(
                conn,
                &principal,
                id,
                &precondition,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    segment_response(&req, &row)
}

/// Delete a segment.
///
/// The segment and its membership history; the customers stay, and the events it
/// caused stay in the outbox. Needs `crm:configure`. Honours `If-Match`. Audited as
/// `segment.delete`.
#[utoipa::path(
    tag = "segments",
    operation_id = "delete_segment",
    params(
        ("id" = Uuid, Path, description = "Segment id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/segments/{id}")]
pub async fn delete_segment(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(segments::delete(conn, &principal, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Preview a condition.
///
/// How many customers a dynamic segment's condition finds now and the first of them
/// (by id), as a refresh would store them (merged and erased customers left out), among
/// the customers the caller may see. Nothing is stored. Needs `records:read`. Problems:
/// 422 naming the condition's parts by their path (e.g. `condition.and[0].field`) or
/// `limit`.
#[utoipa::path(
    tag = "segments",
    operation_id = "preview_segment",
    request_body = PreviewRequest,
    responses((status = 200, description = "What the condition finds", body = SegmentPreview))
)]
#[post("/api/v1/segments/preview")]
pub async fn preview_segment(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<PreviewRequest>,
) -> ApiResult<HttpResponse> {
    let request = body.0;
    let preview = state
        .db(move |conn| Ok(segments::preview(conn, &principal, request)?))
        .await?;
    Ok(HttpResponse::Ok().json(SegmentPreview {
        count: preview.count,
        members: preview
            .members
            .iter()
            .map(Customer::from_record)
            .collect::<ApiResult<_>>()?,
    }))
}

/// Refresh a dynamic segment now.
///
/// Queues a `segments.refresh` job that computes who meets the condition now, opens
/// and ends spells of membership accordingly (each a `segment.entered` or
/// `segment.left` event) and stores the member count with `refreshed_at`. Refreshes of
/// one segment never run at once. Needs `records:write`. Problems: 409 `conflict` for a
/// static segment.
#[utoipa::path(
    tag = "segments",
    operation_id = "refresh_segment",
    params(("id" = Uuid, Path, description = "Segment id")),
    responses((status = 202, description = "The refresh is queued", body = JobResource, headers(("Location" = String))))
)]
#[post("/api/v1/segments/{id}/refresh")]
pub async fn refresh_segment(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let job = state
        .db(move |conn| Ok(membership::refresh_now(conn, &principal, id)?))
        .await?;
    accepted(job)
}

/// Add customers to a static segment, or remove them.
///
/// 1 to 1,000 customers per request; customers the caller may not see (and merged or
/// erased ones) are reported in `not_found` and left alone. Each customer entering or
/// leaving is a `segment.entered` or `segment.left` event. Needs `records:write`.
/// Audited as `segment.add` / `segment.remove`. Problems: 409 `conflict` for a dynamic
/// segment; 422 naming `customer_ids`.
#[utoipa::path(
    tag = "segments",
    operation_id = "change_segment_members",
    params(("id" = Uuid, Path, description = "Segment id")),
    request_body = SegmentMembersChange,
    responses((status = 200, description = "What changed", body = SegmentMembersOutcome))
)]
#[post("/api/v1/segments/{id}/members")]
pub async fn change_segment_members(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<SegmentMembersChange>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let change = body.0;
    let outcome = state
        .db(move |conn| Ok(membership::change_members(conn, &principal, id, &change)?))
        .await?;
    Ok(HttpResponse::Ok().json(outcome))
}

/// List a segment's current members.
///
/// By customer id, one page at a time; only customers the caller may see. Needs
/// `records:read`; record visibility applies.
#[utoipa::path(
    tag = "segments",
    operation_id = "list_segment_members",
    params(("id" = Uuid, Path, description = "Segment id"), PageParams),
    responses((status = 200, description = "One page of members", body = Page<SegmentMember>))
)]
#[get("/api/v1/segments/{id}/members")]
pub async fn list_segment_members(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (cursor, fetch) = (page.cursor.clone(), page.fetch_limit());
    let spells = state
        .db(move |conn| {
            Ok(membership::members(
                conn,
                &principal,
                id,
                cursor.as_ref(),
                fetch,
            )?)
        })
        .await?;
    let page = Page::from_rows(
        spells,
        page.limit,
        membership::member_cursor,
        SegmentMember::from,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// List a segment's membership history.
///
/// Every spell — when a customer entered and, once it ended, left — newest first, one
/// page at a time; a customer who left and came back has a spell for each time. Only
/// customers the caller may see. Needs `records:read`; record visibility applies.
#[utoipa::path(
    tag = "segments",
    operation_id = "segment_history",
    params(("id" = Uuid, Path, description = "Segment id"), PageParams),
    responses((status = 200, description = "One page of spells", body = Page<SegmentHistoryEntry>))
)]
#[get("/api/v1/segments/{id}/history")]
pub async fn segment_history(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (cursor, fetch) = (page.cursor.clone(), page.fetch_limit());
    let spells = state
        .db(move |conn| {
            Ok(membership::history(
                conn,
                &principal,
                id,
                cursor.as_ref(),
                fetch,
            )?)
        })
        .await?;
    let page = Page::from_rows(spells, page.limit, membership::history_cursor, |spell| {
        SegmentHistoryEntry {
            spell: SegmentSpell::from(&spell.row),
            display_name: spell.display_name,
        }
    });
    Ok(HttpResponse::Ok().json(page))
}
