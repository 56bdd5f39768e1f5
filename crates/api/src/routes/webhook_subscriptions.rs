//! Outgoing webhooks and the change feed: subscriptions of an endpoint to event types,
//! deliveries signed per the Standard Webhooks specification with their attempts, a
//! replay, and the outbox read in order from a cursor.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::webhooks;
use chrono::{DateTime, Utc};
use domain::webhooks::{DeliveryStatus, SubscriptionInput};
use persistence::events::EventRow;
use persistence::webhooks::{DeliveryRow, SubscriptionRow};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::pagination::creation_cursor;
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_webhook_subscription,
        list_webhook_subscriptions,
        get_webhook_subscription,
        update_webhook_subscription,
        delete_webhook_subscription,
        list_webhook_deliveries,
        replay_webhook_delivery,
        event_feed
    ),
    components(schemas(
        WebhookSubscription,
        CreatedWebhookSubscription,
        SubscriptionInput,
        WebhookDelivery,
        DeliveryStatus,
        FeedEvent,
        EventFeed
    ))
)]
pub struct WebhookSubscriptionsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_webhook_subscription)
        .service(list_webhook_subscriptions)
        .service(get_webhook_subscription)
        .service(update_webhook_subscription)
        .service(delete_webhook_subscription)
        .service(list_webhook_deliveries)
        .service(replay_webhook_delivery)
        .service(event_feed);
}

/// A webhook subscription as stored (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookSubscription {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    /// Deliveries given up in a row; at 5 the subscription switches itself off.
    pub consecutive_failures: i32,
    /// Why it switched itself off, while it is off.
    pub disabled_reason: Option<String>,
    pub created_by: Option<Uuid>,
    /// The partner whose user made it: it is sent only the events about the customers,
    /// leads, deals and tickets shared with that partner.
    pub partner_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<&SubscriptionRow> for WebhookSubscription {
    fn from(row: &SubscriptionRow) -> Self {
        WebhookSubscription {
            id: row.id.0,
            url: row.url.clone(),
            event_types: row.event_types(),
            description: row.description.clone(),
            active: row.active,
            consecutive_failures: row.consecutive_failures,
            disabled_reason: row.disabled_reason.clone(),
            created_by: row.created_by.map(|id| id.0),
            partner_id: row.partner_id.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
        }
    }
}

/// A new subscription with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookSubscription {
    #[serde(flatten)]
    pub subscription: WebhookSubscription,
    /// `whsec_` and the base64 of the key: what a Standard Webhooks library verifies
    /// deliveries with. Kept sealed; not shown again.
    pub secret: String,
}

/// One delivery of an event to a subscription, with its last attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDelivery {
    /// Also the `webhook-id` header of every attempt.
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// The target's HTTP status at the last attempt, when it answered.
    pub response_status: Option<i32>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// The body every attempt sends.
    pub body: Value,
    pub created_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl TryFrom<&DeliveryRow> for WebhookDelivery {
    type Error = ApiError;

    fn try_from(row: &DeliveryRow) -> Result<Self, ApiError> {
        Ok(WebhookDelivery {
            id: row.id.0,
            subscription_id: row.subscription_id.0,
            event_id: row.event_id.0,
            event_type: row.event_type.clone(),
            status: DeliveryStatus::parse(&row.status).ok_or_else(|| {
                ApiError::Internal(format!("stored delivery status {:?}", row.status))
            })?,
            attempts: row.attempts,
            response_status: row.response_status,
            error: row.error.clone(),
            body: serde_json::from_str(&row.body)
                .map_err(|err| ApiError::Internal(format!("stored delivery body: {err}")))?,
            created_at: row.created_at.0,
            last_attempt_at: row.last_attempt_at.map(|at| at.0),
            delivered_at: row.delivered_at.map(|at| at.0),
        })
    }
}

/// Which deliveries a listing shows.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilters {
    pub status: Option<DeliveryStatus>,
}

/// Add a webhook subscription.
///
/// An endpoint `url` and the `event_types` it receives (`["*"]` for all):
/// `customer.created`, `customer.updated` (with the names of the changed fields),
/// `customer.deleted`, `order.placed`, `deal.stage_changed`, `ticket.created`,
/// `ticket.sla_breached`, `segment.entered`, `segment.left`, `feedback.received`,
/// `feedback.negative`. Each event is a POST of `{"type", "timestamp", "data":
/// {"event_id", "subject": {"kind", "id"}, "payload"}}` with the Standard Webhooks
/// headers `webhook-id`, `webhook-timestamp` and `webhook-signature` (HMAC-SHA256
/// under the `secret` answered here, once). A 2xx answer within 10 s delivers it;
/// otherwise it is tried again with exponential back-off, 8 attempts over about a
/// day; after 5 deliveries given up in a row the subscription switches itself off.
/// Redirects are not followed, and a target on a loopback, private or link-local
/// address is refused, when subscribed and at every delivery, unless the server allows
/// them.
///
/// Needs `crm:configure`. A partner's user may subscribe for its partner: such a
/// subscription is sent only the events about the customers, leads, deals and tickets
/// shared with the partner, and only that partner's users see it. Audited as
/// `webhook_subscription.create` (without the secret). Problems: 422 `url` `invalid_format` or `private_address`,
/// `event_types[i]` `invalid_value`; 409 past 100 subscriptions.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "create_webhook_subscription",
    request_body = SubscriptionInput,
    responses(
        (status = 201, description = "Created, with its secret", body = CreatedWebhookSubscription, headers(("Location" = String), ("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/webhook-subscriptions")]
pub async fn create_webhook_subscription(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<SubscriptionInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let input = body.0;
    let cipher = state.credentials.clone();
    let allow_private = state.config.webhooks_allow_private_targets;
    let (row, secret) = state
        .db(move |conn| {
            Ok(webhooks::create(
                conn,
                &acting,
                &cipher,
                allow_private,
                input,
            )?)
        })
        .await?;
    let location = format!("/api/v1/webhook-subscriptions/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &CreatedWebhookSubscription {
            subscription: WebhookSubscription::from(&row),
            secret,
        },
    ))
}

/// List webhook subscriptions.
///
/// In creation order, one page at a time. Needs `crm:configure` (a partner's user: its
/// partner's own subscriptions).
#[utoipa::path(
    tag = "webhooks",
    operation_id = "list_webhook_subscriptions",
    params(PageParams),
    responses((status = 200, description = "One page of subscriptions", body = Page<WebhookSubscription>))
)]
#[get("/api/v1/webhook-subscriptions")]
pub async fn list_webhook_subscriptions(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let acting = principal.0;
    let rows = state
        .db(move |conn| Ok(webhooks::list(conn, &acting, cursor.as_ref(), limit)?))
        .await?;
    let page = Page::from_rows(
        rows,
        page.limit,
        |row| creation_cursor(row.created_at.0, row.id.0),
        |row| WebhookSubscription::from(&row),
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Get a webhook subscription.
///
/// Needs `crm:configure` (a partner's user: its partner's own
/// subscriptions). Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "get_webhook_subscription",
    params(("id" = Uuid, Path, description = "Subscription id")),
    responses((status = 200, description = "Found", body = WebhookSubscription, headers(("ETag" = String))))
)]
#[get("/api/v1/webhook-subscriptions/{id}")]
pub async fn get_webhook_subscription(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(webhooks::get(conn, &acting, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &WebhookSubscription::from(&row),
    ))
}

/// Change a webhook subscription (JSON Merge Patch).
///
/// `url`, `event_types`, `description` or `active`, checked as on creation, e.g.
/// `{"active": true}` to switch back on one that switched itself off (its failures in
/// a row are cleared). Needs `crm:configure` (a partner's user: its partner's own
/// subscriptions); honours `If-Match` (412 when stale).
/// Audited as `webhook_subscription.update`.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "update_webhook_subscription",
    params(("id" = Uuid, Path, description = "Subscription id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = SubscriptionInput, content_type = "application/merge-patch+json", example = json!({"active": true})),
    responses(
        (status = 200, description = "Changed", body = WebhookSubscription, headers(("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/api/v1/webhook-subscriptions/{id}")]
pub async fn update_webhook_subscription(
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
    let allow_private = state.config.webhooks_allow_private_targets;
    let row = state
        .db(move |conn| {
            Ok(webhooks::update(
                conn,
                &acting,
                allow_private,
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
        &WebhookSubscription::from(&row),
    ))
}

/// Delete a webhook subscription.
///
/// With its deliveries; nothing more is sent. Needs `crm:configure` (a partner's user:
/// its partner's own subscriptions). Honours `If-Match`. Audited as `webhook_subscription.delete`.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "delete_webhook_subscription",
    params(
        ("id" = Uuid, Path, description = "Subscription id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the subscription has changed since")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/webhook-subscriptions/{id}")]
pub async fn delete_webhook_subscription(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(webhooks::delete(conn, &acting, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List a subscription's deliveries.
///
/// In creation order, one page at a time, of one `status` when given: each event sent
/// to the subscription with its attempts, the target's last answer or error, and the
/// body. Needs `crm:configure` (a partner's user: its partner's own
/// subscriptions).
#[utoipa::path(
    tag = "webhooks",
    operation_id = "list_webhook_deliveries",
    params(("id" = Uuid, Path, description = "Subscription id"), PageParams, DeliveryFilters),
    responses((status = 200, description = "One page of deliveries", body = Page<WebhookDelivery>))
)]
#[get("/api/v1/webhook-subscriptions/{id}/deliveries")]
pub async fn list_webhook_deliveries(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    page: PageParams,
    filters: web::Query<DeliveryFilters>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let status = filters.into_inner().status;
    let acting = principal.0;
    let rows = state
        .db(move |conn| {
            Ok(webhooks::deliveries(
                conn,
                &acting,
                id,
                status,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let data = rows
        .iter()
        .map(WebhookDelivery::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let page = Page::from_rows(
        rows.into_iter().zip(data).collect::<Vec<_>>(),
        page.limit,
        |(row, _)| creation_cursor(row.created_at.0, row.id.0),
        |(_, delivery)| delivery,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Replay a delivery.
///
/// Sends a delivered or given-up delivery again: the same `webhook-id` and body (a
/// receiver that keeps ids sees a duplicate), a fresh round of attempts. Needs
/// `crm:configure`. Audited as `webhook_delivery.replay`. Problems: 409 while it is
/// still waiting for an attempt.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "replay_webhook_delivery",
    params(
        ("id" = Uuid, Path, description = "Subscription id"),
        ("delivery_id" = Uuid, Path, description = "Delivery id")
    ),
    responses(
        (status = 202, description = "Queued", body = WebhookDelivery),
        (status = 409, description = "Still waiting", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/webhook-subscriptions/{id}/deliveries/{delivery_id}/replay")]
pub async fn replay_webhook_delivery(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (id, delivery) = path.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(webhooks::replay(conn, &acting, id, delivery)?))
        .await?;
    Ok(HttpResponse::Accepted().json(WebhookDelivery::try_from(&row)?))
}

/// An event of the outbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedEvent {
    /// Its place in the outbox: the `after` of the next page.
    pub seq: i64,
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    pub subject_kind: String,
    pub subject_id: Uuid,
    pub payload: Value,
    pub occurred_at: DateTime<Utc>,
}

impl From<&EventRow> for FeedEvent {
    fn from(row: &EventRow) -> Self {
        FeedEvent {
            seq: row.seq,
            id: row.id.0,
            event_type: row.event_type.clone(),
            subject_kind: row.subject_kind.clone(),
            subject_id: row.subject_id.0,
            payload: row.payload.0.clone(),
            occurred_at: row.occurred_at.0,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventFeed {
    pub data: Vec<FeedEvent>,
    /// The `after` of the next page: the last event's `seq`, or the one given when
    /// nothing new has happened.
    pub next_after: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedParams {
    /// The `seq` the reader has read up to (`next_after` of its last page); 0 or absent
    /// from the start.
    pub after: Option<i64>,
    /// Events per page, 1–1000 (default 100).
    pub limit: Option<i64>,
}

/// Read the change feed.
///
/// Every event of the outbox (the types webhooks deliver) after `after`, oldest
/// first. An event appears exactly when the change it reports was committed, and never
/// behind one already read, so a reader that keeps `next_after` misses nothing. Needs
/// `crm:configure`.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "event_feed",
    params(FeedParams),
    responses((status = 200, description = "The next events", body = EventFeed))
)]
#[get("/api/v1/changes")]
pub async fn event_feed(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<FeedParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let after = params.after.unwrap_or(0);
    let limit = params.limit.unwrap_or(100);
    let acting = principal.0;
    let rows = state
        .db(move |conn| Ok(application::events::feed(conn, &acting, after, limit)?))
        .await?;
    Ok(HttpResponse::Ok().json(EventFeed {
        next_after: rows.last().map_or(after.max(0), |row| row.seq),
        data: rows.iter().map(FeedEvent::from).collect(),
    }))
}
