//! The caller's notification inbox (S-7): assignments, task reminders, stuck deals and
//! other notices, each linking to its record. A user sees and marks only their own.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use domain::notifications::{LinkType, NotificationKind};
use persistence::notifications::NotificationRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::pagination::{created_after, creation_cursor};
use crate::conventions::{Page, PageParams};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        list_notifications,
        count_unread_notifications,
        read_notification,
        read_all_notifications
    ),
    components(schemas(Notification, NotificationKind, LinkType, UnreadCount, ReadAll))
)]
pub struct NotificationsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_notifications)
        .service(count_unread_notifications)
        .service(read_all_notifications)
        .service(read_notification);
}

/// A notification in the caller's inbox, in the caller's language.
#[derive(Debug, Serialize, ToSchema)]
pub struct Notification {
    pub id: Uuid,
    pub kind: NotificationKind,
    /// In the language of `Accept-Language` (Persian or English).
    pub title: String,
    pub body: Option<String>,
    /// The kind of record it links to.
    pub link_type: Option<LinkType>,
    pub link_id: Option<Uuid>,
    /// The record's path in this API, e.g. `/api/v1/tasks/{id}`.
    pub link: Option<String>,
    /// When the caller read it; absent while unread.
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Notification {
    fn from_row(row: &NotificationRow, persian: bool) -> ApiResult<Notification> {
        let link_type = match &row.subject_type {
            Some(kind) => Some(LinkType::parse(kind).ok_or_else(|| {
                ApiError::from(application::error::AppError::Internal(format!(
                    "stored notification link {kind}"
                )))
            })?),
            None => None,
        };
        let kind = NotificationKind::parse(&row.kind).ok_or_else(|| {
            ApiError::from(application::error::AppError::Internal(format!(
                "stored notification kind {}",
                row.kind
            )))
        })?;
        let (title, body) = if persian {
            (row.title_fa.clone(), row.body_fa.clone())
        } else {
            (row.title_en.clone(), row.body_en.clone())
        };
        let link = match (link_type, row.subject_id) {
            (Some(kind), Some(id)) => Some(format!("/api/v1/{}s/{}", kind.as_str(), id.0)),
            _ => None,
        };
        Ok(Notification {
            id: row.id.0,
            kind,
            title,
            body,
            link_type,
            link_id: row.subject_id.map(|id| id.0),
            link,
            read_at: row.read_at.map(|at| at.0),
            created_at: row.created_at.0,
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationFilters {
    /// Only the unread ones.
    #[serde(default)]
    pub unread: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    pub unread: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadAll {
    /// How many notifications were marked read.
    pub marked: usize,
}

/// List my notifications.
///
/// The caller's own notifications, newest first, one page at a time; `unread=true` for
/// the unread ones only. Title and body follow `Accept-Language`. Any signed-in user;
/// an API key acts for its owner.
///
/// Kinds: `assignment` (a task, lead or deal given to the caller by someone else),
/// `reminder` (a task of the caller's due soon), `follow_up` (a follow-up rule's task or
/// a lead still not contacted), `stuck_deal` (an open deal the caller owns has had no
/// activity for its pipeline's `stuck_after_days`: from the daily check at 08:00
/// business time on business days, once per spell of being stuck — an activity or a
/// change of the deal ends the spell, and going stale again notifies again).
#[utoipa::path(
    tag = "notifications",
    operation_id = "list_notifications",
    params(PageParams, NotificationFilters),
    responses((status = 200, description = "One page of notifications", body = Page<Notification>))
)]
#[get("/api/v1/notifications")]
pub async fn list_notifications(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
    filters: web::Query<NotificationFilters>,
) -> ApiResult<HttpResponse> {
    let before = created_after(page.cursor.as_ref())?;
    let unread = filters.unread;
    let limit = page.limit;
    let persian = principal.0.lang == application::i18n::Lang::Fa;
    let acting = principal.0;
    let rows = state
        .db(move |conn| {
            Ok(application::notifications::list(
                conn,
                &acting,
                unread,
                before,
                limit as i64,
            )?)
        })
        .await?;
    let notifications = rows
        .iter()
        .map(|row| Notification::from_row(row, persian))
        .collect::<ApiResult<Vec<_>>>()?;
    let page = Page::from_rows(
        notifications,
        limit,
        |notification| creation_cursor(notification.created_at, notification.id),
        |notification| notification,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Count my unread notifications.
///
/// For a badge. Any signed-in user.
#[utoipa::path(
    tag = "notifications",
    operation_id = "count_unread_notifications",
    responses((status = 200, description = "The number of unread notifications", body = UnreadCount))
)]
#[get("/api/v1/notifications/unread-count")]
pub async fn count_unread_notifications(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let unread = state
        .db(move |conn| Ok(application::notifications::unread_count(conn, &acting)?))
        .await?;
    Ok(HttpResponse::Ok().json(UnreadCount { unread }))
}

/// Mark a notification read.
///
/// Marking it again keeps the first reading time. Any signed-in user, for their own
/// notifications; another user's answers 404 `not_found`, exactly as a missing one.
#[utoipa::path(
    tag = "notifications",
    operation_id = "read_notification",
    params(("id" = Uuid, Path, description = "Notification id")),
    responses((status = 200, description = "Read", body = Notification))
)]
#[post("/api/v1/notifications/{id}/read")]
pub async fn read_notification(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let persian = principal.0.lang == application::i18n::Lang::Fa;
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(application::notifications::mark_read(conn, &acting, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(Notification::from_row(&row, persian)?))
}

/// Mark all my notifications read.
///
/// Any signed-in user; answers how many were unread.
#[utoipa::path(
    tag = "notifications",
    operation_id = "read_all_notifications",
    responses((status = 200, description = "Marked", body = ReadAll))
)]
#[post("/api/v1/notifications/read-all")]
pub async fn read_all_notifications(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let marked = state
        .db(move |conn| Ok(application::notifications::mark_all_read(conn, &acting)?))
        .await?;
    Ok(HttpResponse::Ok().json(ReadAll { marked }))
}
