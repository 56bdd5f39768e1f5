//! Behavioural events: what apps, sites and devices send about customers (one event or
//! a batch), a customer's events newest first, and the definitions of event names
//! (schema, engagement weight).

use std::collections::BTreeMap;

use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use application::behaviour::{self, definitions, engagement, IngestStatus, Ingested};
use chrono::{DateTime, Utc};
use domain::behaviour::{DefinitionInput, EventInput, PropertySpec};
use persistence::behavioural_events::{DefinitionRow, EventRow};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::{JsonBody, Page, PageParams};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        send_event,
        send_events_batch,
        list_customer_events,
        list_event_definitions,
        get_event_definition,
        put_event_definition,
        delete_event_definition
    ),
    components(schemas(
        EventInput,
        domain::behaviour::CustomerRef,
        EventBatchRequest,
        EventOutcome,
        EventBatchItem,
        EventBatchResponse,
        IngestStatus,
        BehaviouralEvent,
        DefinitionInput,
        PropertySpec,
        domain::behaviour::PropertyType,
        EventDefinition,
        CustomerEngagement,
        EventNameFacts
    ))
)]
pub struct BehaviouralEventsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(send_events_batch)
        .service(send_event)
        .service(list_customer_events)
        .service(list_event_definitions)
        .service(get_event_definition)
        .service(put_event_definition)
        .service(delete_event_definition);
}

/// What became of one sent event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOutcome {
    /// The event's id: the one sent, or the one the server made.
    pub id: Uuid,
    pub status: IngestStatus,
    /// The customer the event is stored on (after following merges).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<Uuid>,
}

/// Events to store together (their rules are checked by the use case, which names
/// each problem with its event's place).
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"events": [
    {"name": "app_open", "customer": {"id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb"},
     "properties": {"platform": "android", "version": "3.2.0"}, "occurred_at": "2026-12-04T08:00:00Z"},
    {"name": "page_view", "customer": {"id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb"},
     "properties": {"path": "/cart"}}
]}))]
pub struct EventBatchRequest {
    /// 1 to 1,000 events, each as `POST /events` takes it.
    #[schema(min_items = 1, max_items = 1000)]
    pub events: Vec<EventInput>,
}

/// One event's result in a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventBatchItem {
    /// Position of the event in the request, from 0.
    pub index: usize,
    pub id: Uuid,
    pub status: IngestStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<Uuid>,
    /// Why a `rejected` event was not stored (field `customer`: `not_found`,
    /// `ambiguous` or `erased`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventBatchResponse {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: usize,
    /// One result per event, in request order.
    pub results: Vec<EventBatchItem>,
}

fn outcome(ingested: &Ingested) -> EventOutcome {
    EventOutcome {
        id: ingested.id,
        status: ingested.status,
        customer_id: ingested.customer_id,
    }
}

/// Send a behavioural event.
///
/// What a customer did in the business's app, site or device: a `name` (`page_view`,
/// `app_open`, `meter_reading`: a lower-case letter, then up to 63 lower-case letters,
/// digits, `_`, `.` or `-`), the `customer` (exactly one of `id` — a merged customer's
/// id reaches the customer it was merged into — `email`, `phone` or `code`), up to 50
/// `properties` (at most 4 KB, nested at most 4 deep), and when it happened (default
/// now; at most 5 minutes ahead, ten years back). A name sent for the first time gets a
/// definition of its own, without a schema and of weight 1; a name whose definition has
/// a schema is checked against it. Give the event an `id` so that sending it again
/// stores it once.
///
/// Needs `events:write` (the scope to give an app's or a device's API key); the customer
/// must be within the key's record visibility. 201 `accepted`; 200 `duplicate` for an
/// id stored before. Problems: 422 for a broken rule (`name` `invalid_format`,
/// `properties.<p>` `required`/`invalid_type`/`unknown_property`/`too_deep`,
/// `properties` `too_large`, `occurred_at` `in_future`/`too_old`, `name`
/// `too_many_names` past 500 names) and for a customer that cannot be found
/// (`customer` `not_found`, `ambiguous`, `erased`).
#[utoipa::path(
    tag = "events",
    operation_id = "send_event",
    request_body = EventInput,
    responses(
        (status = 201, description = "Stored", body = EventOutcome),
        (status = 200, description = "Stored before, with the same id", body = EventOutcome),
        (status = 422, description = "Broken rules, or no such customer", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/events")]
pub async fn send_event(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<EventInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let event = body.0;
    let mut results = state
        .db(move |conn| {
            Ok(behaviour::ingest(conn, &acting, vec![event], |_| {
                String::new()
            })?)
        })
        .await?;
    let ingested = results.remove(0);
    match ingested.status {
        IngestStatus::Accepted => Ok(HttpResponse::Created().json(outcome(&ingested))),
        IngestStatus::Duplicate => Ok(HttpResponse::Ok().json(outcome(&ingested))),
        IngestStatus::Rejected => Err(ApiError::Validation(ingested.problem.into_iter().collect())),
    }
}

/// Send behavioural events in a batch.
///
/// Up to 1,000 events, each as `POST /events` takes it, stored in one transaction: a
/// broken rule anywhere is a 422 naming every problem (`events[3].name`…) and stores
/// nothing. An event whose customer cannot be found is not stored and is answered
/// `rejected` with its problem, while the others are stored; one sent before with its
/// id is `duplicate`. The answer is 200 with a result per event.
///
/// Needs `events:write`. Audited once per batch as `behavioural_events.ingest` with
/// the counts.
#[utoipa::path(
    tag = "events",
    operation_id = "send_events_batch",
    request_body = EventBatchRequest,
    responses(
        (status = 200, description = "A result per event", body = EventBatchResponse),
        (status = 422, description = "No events, more than 1,000, or broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/events/batch")]
pub async fn send_events_batch(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<EventBatchRequest>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let lang = acting.lang;
    let events = body.0.events;
    let results = state
        .db(move |conn| {
            Ok(behaviour::ingest(conn, &acting, events, |index| {
                format!("events[{index}]")
            })?)
        })
        .await?;
    let count = |status| results.iter().filter(|r| r.status == status).count();
    let response = EventBatchResponse {
        accepted: count(IngestStatus::Accepted),
        duplicates: count(IngestStatus::Duplicate),
        rejected: count(IngestStatus::Rejected),
        results: results
            .iter()
            .enumerate()
            .map(|(index, ingested)| EventBatchItem {
                index,
                id: ingested.id,
                status: ingested.status,
                customer_id: ingested.customer_id,
                problem: ingested
                    .problem
                    .clone()
                    .map(|problem| ApiError::Validation(vec![problem]).to_problem(lang)),
            })
            .collect(),
    };
    Ok(HttpResponse::Ok().json(response))
}

/// A stored behavioural event.
#[derive(Debug, Serialize, ToSchema)]
pub struct BehaviouralEvent {
    pub id: Uuid,
    pub name: String,
    pub customer_id: Uuid,
    /// The customer the sender named, when it was one merged into `customer_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_for_customer_id: Option<Uuid>,
    #[schema(value_type = Object)]
    pub properties: Value,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// The API key that sent it.
    pub api_key_id: Option<Uuid>,
}

impl From<&EventRow> for BehaviouralEvent {
    fn from(row: &EventRow) -> Self {
        BehaviouralEvent {
            id: row.id.0,
            name: row.event_name.clone(),
            customer_id: row.customer_id.0,
            sent_for_customer_id: (row.origin_customer_id != row.customer_id)
                .then_some(row.origin_customer_id.0),
            properties: row.properties.0.clone(),
            occurred_at: row.occurred_at.0,
            received_at: row.received_at.0,
            api_key_id: row.api_key_id.map(|id| id.0),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerEventFilters {
    /// Only events of this name.
    pub name: Option<String>,
}

/// List a customer's behavioural events.
///
/// Newest first, one page at a time, of one `name` when given (with those of the
/// customers merged into it). Needs `records:read`; the customer must be within the
/// caller's record visibility (404 otherwise).
#[utoipa::path(
    tag = "events",
    operation_id = "list_customer_events",
    params(("id" = Uuid, Path, description = "Customer id"), PageParams, CustomerEventFilters),
    responses((status = 200, description = "One page of events", body = Page<BehaviouralEvent>))
)]
#[get("/api/v1/customers/{id}/events")]
pub async fn list_customer_events(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    page: PageParams,
    filters: web::Query<CustomerEventFilters>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let name = filters.into_inner().name;
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let acting = principal.0;
    let rows = state
        .db(move |conn| {
            Ok(engagement::events(
                conn,
                &acting,
                id,
                name.as_deref(),
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let page = Page::from_rows(rows, page.limit, engagement::cursor_after, |row| {
        BehaviouralEvent::from(&row)
    });
    Ok(HttpResponse::Ok().json(page))
}

/// The definition of an event name.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDefinition {
    pub name: String,
    pub id: Uuid,
    pub description: Option<String>,
    /// Weight of one event of this name in the engagement score.
    pub weight: f64,
    /// The schema events of this name are checked against; absent: none.
    pub properties: Option<BTreeMap<String, PropertySpec>>,
    pub allow_other_properties: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl EventDefinition {
    fn of(row: &DefinitionRow) -> ApiResult<EventDefinition> {
        let input = definitions::input_of(row)?;
        Ok(EventDefinition {
            name: row.name.clone(),
            id: row.id.0,
            description: input.description,
            weight: input.weight,
            properties: input.properties,
            allow_other_properties: input.allow_other_properties,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
        })
    }
}

/// List event definitions.
///
/// Every event name sent or defined, in name order, one page at a time. Each name is
/// also three fields of the customer search: `event.<name>.count`,
/// `event.<name>.first_at` and `event.<name>.last_at`. Needs `records:read`.
#[utoipa::path(
    tag = "events",
    operation_id = "list_event_definitions",
    params(PageParams),
    responses((status = 200, description = "One page of definitions", body = Page<EventDefinition>))
)]
#[get("/api/v1/event-definitions")]
pub async fn list_event_definitions(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let acting = principal.0;
    let rows = state
        .db(move |conn| Ok(definitions::list(conn, &acting, cursor.as_ref(), limit)?))
        .await?;
    let page = Page::from_rows(rows, page.limit, definitions::cursor_after, |row| {
        EventDefinition::of(&row)
    });
    Ok(HttpResponse::Ok().json(page.collect_results()?))
}

/// Get an event definition.
///
/// Needs `records:read`. Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "events",
    operation_id = "get_event_definition",
    params(("name" = String, Path, description = "Event name")),
    responses((status = 200, description = "Found", body = EventDefinition, headers(("ETag" = String))))
)]
#[get("/api/v1/event-definitions/{name}")]
pub async fn get_event_definition(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    name: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let name = name.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(definitions::get(conn, &acting, &name)?))
        .await?;
    Ok(etag::single(
        &req,
        row.id.0,
        row.version,
        &EventDefinition::of(&row)?,
    ))
}

/// Define an event name.
///
/// Creates the name's definition (201) or replaces the one it has (200; honours
/// `If-Match`): a `description`, the `weight` of one of its events in the engagement
/// score (0 to 1,000, default 1: each event counts its weight, halved every 30 days since
/// it happened), and a schema of `properties` (each with its `type` — `string`,
/// `number`, `integer`, `boolean`, `datetime`, `object`, `array` — and whether it is
/// `required`) that events of the name sent from now on must meet, with or without
/// other properties (`allow_other_properties`, default true). Events stored before are
/// not checked again.
///
/// Needs `crm:configure`. Audited as `event_definition.create` or
/// `event_definition.update`. Problems: 422 `weight` `out_of_range`,
/// `properties.<p>` `invalid_format`, `properties` `too_many` (over 50); 409 past 500
/// names.
#[utoipa::path(
    tag = "events",
    operation_id = "put_event_definition",
    params(
        ("name" = String, Path, description = "Event name"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the definition has changed since")
    ),
    request_body = DefinitionInput,
    responses(
        (status = 201, description = "Created", body = EventDefinition, headers(("ETag" = String))),
        (status = 200, description = "Replaced", body = EventDefinition, headers(("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[put("/api/v1/event-definitions/{name}")]
pub async fn put_event_definition(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    name: web::Path<String>,
    if_match: IfMatch,
    body: JsonBody<DefinitionInput>,
) -> ApiResult<HttpResponse> {
    let name = name.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    let input = body.0;
    let (row, created) = state
        .db(move |conn| {
            Ok(definitions::put(
                conn,
                &acting,
                &name,
                &precondition,
                input,
            )?)
        })
        .await?;
    let body = EventDefinition::of(&row)?;
    Ok(if created {
        let location = format!("/api/v1/event-definitions/{}", row.name);
        etag::created(&location, row.id.0, row.version, &body)
    } else {
        etag::single(&req, row.id.0, row.version, &body)
    })
}

/// Delete an event definition.
///
/// Only of a name no stored event has (409 otherwise): a name sent again later gets a
/// new definition of its own. Needs `crm:configure`; honours `If-Match`. Audited as
/// `event_definition.delete`.
#[utoipa::path(
    tag = "events",
    operation_id = "delete_event_definition",
    params(
        ("name" = String, Path, description = "Event name"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the definition has changed since")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/event-definitions/{name}")]
pub async fn delete_event_definition(
    state: web::Data<AppState>,
    principal: Principal,
    name: web::Path<String>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let name = name.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(definitions::delete(conn, &acting, &name, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The engagement section of the 360 view.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerEngagement {
    /// Each event counts its name's weight, halved every 30 days since it happened; 0
    /// without events. Searchable as `engagement_score`.
    pub score: f64,
    /// Events stored about the customer.
    pub events: i64,
    pub last_event_at: Option<DateTime<Utc>>,
    /// Per event name, the most recent first (at most 20).
    pub by_name: Vec<EventNameFacts>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventNameFacts {
    pub name: String,
    pub count: i64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
}

/// Names shown in the 360 view.
const OVERVIEW_NAMES: usize = 20;

impl From<engagement::Engagement> for CustomerEngagement {
    fn from(engagement: engagement::Engagement) -> Self {
        CustomerEngagement {
            score: engagement.score,
            events: engagement.events,
            last_event_at: engagement.last_event_at,
            by_name: engagement
                .names
                .into_iter()
                .take(OVERVIEW_NAMES)
                .map(|stats| EventNameFacts {
                    name: stats.event_name,
                    count: stats.event_count,
                    first_at: stats.first_at.0,
                    last_at: stats.last_at.0,
                })
                .collect(),
        }
    }
}
