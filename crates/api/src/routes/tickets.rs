//! Tickets (V-1, V-2): creating, reading, searching, changing and deleting them, their
//! conversation and their history. A ticket is visible as a customer is: by its owner
//! and team under the caller's visibility.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::service::tickets::{self, TicketHistory};
use chrono::{DateTime, Utc};
use domain::service::sla::SlaTarget;
use domain::service::tickets::{
    MergeInput, MessageInput, MessageKind, TicketChannel, TicketInput, TicketPriority, TicketStatus,
};
use persistence::tickets::{BreachRow, MessageRow, StatusChangeRow, TicketRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::pagination::creation_cursor;
use crate::conventions::search::{SearchPage, SearchRequest};
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiResult, Problem};
use crate::routes::canned_answers::Suggestions;
use crate::routes::leads::Assignment;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_ticket,
        list_tickets,
        search_tickets,
        get_ticket,
        update_ticket,
        delete_ticket,
        add_ticket_message,
        list_ticket_messages,
        get_ticket_history,
        suggest_ticket_answers,
        merge_ticket
    ),
    components(schemas(
        Ticket,
        TicketSla,
        TicketInput,
        TicketStatus,
        TicketPriority,
        TicketChannel,
        MessageInput,
        MessageKind,
        MergeInput,
        MergedTickets,
        TicketMessage,
        TicketWithMessage,
        TicketHistoryView,
        TicketStatusChange,
        SlaBreach,
        SlaTarget
    ))
)]
pub struct TicketsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_ticket)
        .service(list_tickets)
        .service(search_tickets)
        .service(get_ticket)
        .service(update_ticket)
        .service(delete_ticket)
        .service(add_ticket_message)
        .service(list_ticket_messages)
        .service(get_ticket_history)
        .service(suggest_ticket_answers)
        .service(merge_ticket);
}

/// A ticket's SLA: its policy, due times (business time of the business calendar),
/// what was breached, and whether the clock stands still.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketSla {
    /// The policy whose targets apply; absent when none does.
    pub policy_id: Option<Uuid>,
    pub first_response_due_at: Option<DateTime<Utc>>,
    /// Owed after a customer message that followed an agent reply.
    pub next_response_due_at: Option<DateTime<Utc>>,
    pub resolution_due_at: Option<DateTime<Utc>>,
    /// When the agent's time to pick the ticket up ends; then it goes to another.
    pub pickup_due_at: Option<DateTime<Utc>>,
    pub first_response_breached: bool,
    pub next_response_breached: bool,
    pub resolution_breached: bool,
    /// Whether any target was ever breached.
    pub breached: bool,
    /// Set while the ticket waits for the customer: the clock stands still.
    pub paused_at: Option<DateTime<Utc>>,
    /// Business minutes the clock has stood still in all.
    pub paused_minutes: i64,
}

/// A ticket as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ticket {
    pub id: Uuid,
    /// Given in order, never reused.
    pub number: i64,
    pub subject: String,
    pub description: Option<String>,
    pub customer_id: Uuid,
    pub contact_id: Option<Uuid>,
    pub channel: TicketChannel,
    pub category_id: Option<Uuid>,
    pub priority: TicketPriority,
    pub status: TicketStatus,
    pub owner_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub tags: Vec<String>,
    /// Values of the ticket custom fields by key.
    #[schema(value_type = Object)]
    pub custom_fields: serde_json::Value,
    pub sla: TicketSla,
    /// The first agent reply.
    pub first_responded_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Times it went to another agent because nobody picked it up.
    pub reassignments: i64,
    /// When it went to the team's managers after nobody picked it up.
    pub escalated_at: Option<DateTime<Utc>>,
    pub reopen_count: i64,
    /// Customer messages and agent replies.
    pub message_count: i64,
    pub last_message_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    /// The ticket this one was merged into; it is closed since.
    pub merged_into_id: Option<Uuid>,
    /// Minutes logged against it (`POST /tickets/{id}/time-entries`).
    pub time_spent_minutes: i64,
}

impl Ticket {
    pub fn from_row(row: &TicketRow) -> ApiResult<Ticket> {
        let input = tickets::input_of(row)?;
        Ok(Ticket {
            id: row.id.0,
            number: row.number,
            subject: input.subject,
            description: input.description,
            customer_id: input.customer_id,
            contact_id: input.contact_id,
            channel: input.channel,
            category_id: input.category_id,
            priority: input.priority,
            status: input.status,
            owner_id: input.owner_id,
            team_id: input.team_id,
            order_id: input.order_id,
            product_id: input.product_id,
            tags: input.tags,
            custom_fields: row.custom_fields.0.clone(),
            sla: TicketSla {
                policy_id: row.sla_policy_id.map(|id| id.0),
                first_response_due_at: row.first_response_due_at.map(|at| at.0),
                next_response_due_at: row.next_response_due_at.map(|at| at.0),
                resolution_due_at: row.resolution_due_at.map(|at| at.0),
                pickup_due_at: row.pickup_due_at.map(|at| at.0),
                first_response_breached: row.first_response_breached,
                next_response_breached: row.next_response_breached,
                resolution_breached: row.resolution_breached,
                breached: row.sla_breached,
                paused_at: row.sla_paused_at.map(|at| at.0),
                paused_minutes: row.sla_paused_minutes,
            },
            first_responded_at: row.first_responded_at.map(|at| at.0),
            resolved_at: row.resolved_at.map(|at| at.0),
            closed_at: row.closed_at.map(|at| at.0),
            reassignments: row.reassignments,
            escalated_at: row.escalated_at.map(|at| at.0),
            reopen_count: row.reopen_count,
            message_count: row.message_count,
            last_message_at: row.last_message_at.map(|at| at.0),
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
            merged_into_id: row.merged_into_id.map(|id| id.0),
            time_spent_minutes: row.time_spent_minutes,
        })
    }
}

/// A message of a ticket's conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketMessage {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub kind: MessageKind,
    /// The user who wrote it (or took it down); absent for the system.
    pub author_id: Option<Uuid>,
    pub body: String,
    /// Colleagues a note mentions.
    pub mentions: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<&MessageRow> for TicketMessage {
    fn from(row: &MessageRow) -> Self {
        TicketMessage {
            id: row.id.0,
            ticket_id: row.ticket_id.0,
            kind: MessageKind::parse(&row.kind).unwrap_or(MessageKind::Note),
            author_id: row.author_id.map(|id| id.0),
            body: row.body.clone(),
            mentions: serde_json::from_value(row.mentions.0.clone()).unwrap_or_default(),
            created_at: row.created_at.0,
        }
    }
}

/// A message added, with the ticket as it now stands (its status and SLA may have
/// moved).
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketWithMessage {
    pub ticket: Ticket,
    pub message: TicketMessage,
}

/// A move of a ticket's status.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketStatusChange {
    /// Absent for the status it was created with.
    pub from_status: Option<TicketStatus>,
    pub to_status: TicketStatus,
    pub changed_by: Option<Uuid>,
    pub changed_at: DateTime<Utc>,
    /// Why, when the desk moved it itself ("first reply", "the customer wrote again").
    pub reason: Option<String>,
}

impl From<&StatusChangeRow> for TicketStatusChange {
    fn from(row: &StatusChangeRow) -> Self {
        TicketStatusChange {
            from_status: row.from_status.as_deref().and_then(TicketStatus::parse),
            to_status: TicketStatus::parse(&row.to_status).unwrap_or_default(),
            changed_by: row.changed_by.map(|id| id.0),
            changed_at: row.changed_at.0,
            reason: row.reason.clone(),
        }
    }
}

/// A target of the ticket's SLA that passed unmet.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaBreach {
    pub target: SlaTarget,
    pub due_at: DateTime<Utc>,
    /// When the scan found it.
    pub breached_at: DateTime<Utc>,
    /// Who held the ticket then.
    pub owner_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
}

impl From<&BreachRow> for SlaBreach {
    fn from(row: &BreachRow) -> Self {
        SlaBreach {
            target: SlaTarget::parse(&row.target).unwrap_or(SlaTarget::Resolution),
            due_at: row.due_at.0,
            breached_at: row.breached_at.0,
            owner_id: row.owner_id.map(|id| id.0),
            team_id: row.team_id.map(|id| id.0),
        }
    }
}

/// What happened to a ticket, each list oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketHistoryView {
    pub statuses: Vec<TicketStatusChange>,
    pub breaches: Vec<SlaBreach>,
    /// Every assignment with its method and reason: by hand, by a rule, and each
    /// re-assignment after a lapsed pick-up time.
    pub assignments: Vec<Assignment>,
}

impl From<&TicketHistory> for TicketHistoryView {
    fn from(history: &TicketHistory) -> Self {
        TicketHistoryView {
            statuses: history
                .statuses
                .iter()
                .map(TicketStatusChange::from)
                .collect(),
            breaches: history.breaches.iter().map(SlaBreach::from).collect(),
            assignments: history.assignments.iter().map(Assignment::from).collect(),
        }
    }
}

/// Create a ticket.
///
/// A request from a customer the caller sees (`customer_id`; for an organization
/// optionally the `contact_id` of a person in its personnel), with its channel,
/// category (`/ticket-categories`), priority, related order (the customer's) and
/// product, tags and custom fields (`/custom-fields` with `entity: ticket`). It is
/// numbered in order. An owner given is kept (a manual assignment); without one the
/// assignment rules for tickets (`/assignment-rules` with `record_kind: ticket`) pick an
/// available agent, else the caller's defaults apply. The first active SLA policy
/// (`/sla-policies`) the ticket meets sets its due times, counted in business time.
/// It starts `new` (or `open`).
///
/// Needs `records:write`. Audited as `ticket.create`; safe to retry with an
/// `Idempotency-Key`. Problems: 422 `validation_failed` naming every broken rule
/// (`subject` `required`, `customer_id` `not_found`, `contact_id` `not_personnel`,
/// `order_id` `not_found`, `status` `invalid_transition`, custom values…).
#[utoipa::path(
    tag = "tickets",
    operation_id = "create_ticket",
    request_body = TicketInput,
    responses(
        (status = 201, description = "Created", body = Ticket, headers(("Location" = String), ("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/tickets")]
pub async fn create_ticket(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<TicketInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let input = body.0;
    let row = state
        .db(move |conn| Ok(tickets::create(conn, &acting, input)?))
        .await?;
    let location = format!("/api/v1/tickets/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &Ticket::from_row(&row)?,
    ))
}

async fn run_ticket_search(
    state: &AppState,
    principal: Principal,
    request: SearchRequest,
) -> ApiResult<Page<Ticket>> {
    let definitions = state
        .db(|conn| Ok(application::service::ticket_catalogue::definitions(conn)?))
        .await?;
    let context = state.resolve_context().await?;
    let search = tickets::resolve_search(request, &definitions, &context)?;
    let acting = principal.0;
    let (search, rows) = state
        .db(move |conn| {
            let rows = tickets::search(conn, &acting, &search)?;
            Ok((search, rows))
        })
        .await?;
    search
        .page(rows, |row| Ticket::from_row(&row))
        .collect_results()
}

/// List tickets.
///
/// The tickets the caller may see, newest first, one page at a time. For filters, an
/// agent's queue and the quick search use `POST /tickets/search`. Needs `records:read`.
#[utoipa::path(
    tag = "tickets",
    operation_id = "list_tickets",
    params(PageParams),
    responses((status = 200, description = "One page of tickets", body = Page<Ticket>))
)]
#[get("/api/v1/tickets")]
pub async fn list_tickets(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let request = SearchRequest {
        sort: Some(serde_json::json!([{"field": "created_at", "direction": "desc"}])),
        limit: Some(page.limit as i64),
        cursor: page.cursor.as_ref().map(|cursor| cursor.encode()),
        ..SearchRequest::default()
    };
    Ok(HttpResponse::Ok().json(run_ticket_search(&state, principal, request).await?))
}

/// Search tickets.
///
/// The search convention over the tickets the caller may see: filter on `number`,
/// `subject`, `customer_id`, `contact_id`, `channel`, `category_id`, `priority`,
/// `status`, `owner_id`, `team_id`, `order_id`, `product_id`, `tag` (a tag the ticket
/// carries), `customer_tier_id` (its customer's tier), `sla_policy_id`,
/// `first_response_due_at`, `resolution_due_at`, `first_responded_at`, `resolved_at`,
/// `sla_breached`, `reassignments`, `created_by`, `created_at`, `updated_at`, and every
/// ticket custom field as `custom.<key>`; sort by `id`, `number`, `created_at`,
/// `updated_at`, `first_response_due_at` or `resolution_due_at` (nulls first). An
/// agent's queue: `owner_id` = me and `status` in the open ones, by
/// `resolution_due_at`. `q` finds every term in the number, subject, description, tags
/// and customer's name, Persian-aware (Arabic and Persian letters, digits and
/// half-spaces agree).
///
/// Needs `records:read`. Problems: 400 `invalid_cursor`; 422 `validation_failed`
/// naming every unknown field, wrong operator or bad value with its path.
#[utoipa::path(
    tag = "tickets",
    operation_id = "search_tickets",
    request_body(
        content = SearchRequest,
        example = json!({"filter": {"and": [
            {"field": "status", "op": "in", "value": ["new", "open", "reopened"]},
            {"field": "priority", "op": "eq", "value": "urgent"}
        ]}, "q": "ارسال", "sort": [{"field": "resolution_due_at", "direction": "asc"}], "limit": 50})
    ),
    responses((status = 200, description = "One page of matching tickets", body = Page<Ticket>))
)]
#[post("/api/v1/tickets/search")]
pub async fn search_tickets(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<SearchRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(run_ticket_search(&state, principal, body.0).await?))
}

/// Get a ticket.
///
/// Needs `records:read`; the ticket must be within the caller's record visibility (404
/// `not_found` otherwise, exactly as for a missing one). Answers with an `ETag`.
#[utoipa::path(
    tag = "tickets",
    operation_id = "get_ticket",
    params(("id" = Uuid, Path, description = "Ticket id")),
    responses((status = 200, description = "Found", body = Ticket, headers(("ETag" = String))))
)]
#[get("/api/v1/tickets/{id}")]
pub async fn get_ticket(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(tickets::get(conn, &acting, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &Ticket::from_row(&row)?,
    ))
}

/// Change a ticket (JSON Merge Patch).
///
/// Any field, checked as on creation. `status` moves only forward: from `new`, `open`,
/// `pending_customer`, `on_hold` or `reopened` to `open`, `pending_customer`,
/// `on_hold`, `resolved` or `closed`; from `resolved` to `closed` or `reopened`; from
/// `closed` to `reopened` (422 `invalid_transition` otherwise). Every move is recorded
/// (`GET /tickets/{id}/history`) and moves the SLA clock: `pending_customer` stops it
/// and leaving it moves every due time on by the business time it stood; resolving
/// meets the resolution target; reopening owes it again from now. A change of the
/// priority, category, channel, customer, tags or custom fields chooses the SLA policy
/// again; under another policy the due times are counted again from creation.
///
/// Needs `records:write` and the ticket within the caller's visibility. Honours
/// `If-Match` (412 when stale). Audited as `ticket.update`. A ticket merged into another
/// stays closed (422 `status` `merged`).
#[utoipa::path(
    tag = "tickets",
    operation_id = "update_ticket",
    params(("id" = Uuid, Path, description = "Ticket id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = TicketInput, content_type = "application/merge-patch+json", example = json!({"status": "pending_customer"})),
    responses((status = 200, description = "Changed", body = Ticket, headers(("ETag" = String))))
)]
#[patch("/api/v1/tickets/{id}")]
pub async fn update_ticket(
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
            Ok(tickets::update(
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
        &Ticket::from_row(&row)?,
    ))
}

/// Delete a ticket.
///
/// For good, with its conversation, history and breaches. Needs `records:delete` and
/// the ticket within the caller's visibility. Honours `If-Match`. Audited as
/// `ticket.delete`.
#[utoipa::path(
    tag = "tickets",
    operation_id = "delete_ticket",
    params(
        ("id" = Uuid, Path, description = "Ticket id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/tickets/{id}")]
pub async fn delete_ticket(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(tickets::delete(conn, &acting, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Add a message to a ticket's conversation.
///
/// `kind`: `customer` (the customer's words, as received or taken down), `agent` (a
/// reply to the customer) or `note` (internal; `mentions` lists colleagues to tell,
/// each notified). An agent reply answers the first and next response and opens a
/// `new` ticket; a customer message after a reply owes the next response, takes a
/// ticket `pending_customer` back to `open` and reopens a resolved or closed one. An
/// agent cannot reply to a closed ticket (409 `conflict`: reopen it first), and nobody
/// writes to a ticket merged into another (409 `conflict`).
///
/// Needs `records:write` and the ticket within the caller's visibility. Audited as
/// `ticket.message` (without the text). Problems: 422 `validation_failed` (`body`
/// `required`, `mentions` `only_on_notes`, `mentions[i]` `not_found`, `kind`
/// `set_by_system`).
#[utoipa::path(
    tag = "tickets",
    operation_id = "add_ticket_message",
    params(("id" = Uuid, Path, description = "Ticket id")),
    request_body = MessageInput,
    responses(
        (status = 201, description = "Added", body = TicketWithMessage),
        (status = 409, description = "The ticket is closed", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/tickets/{id}/messages")]
pub async fn add_ticket_message(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<MessageInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let input = body.0;
    let (row, message) = state
        .db(move |conn| Ok(tickets::add_message(conn, &acting, id, input)?))
        .await?;
    Ok(HttpResponse::Created().json(TicketWithMessage {
        ticket: Ticket::from_row(&row)?,
        message: TicketMessage::from(&message),
    }))
}

/// List a ticket's conversation.
///
/// Its messages and notes, oldest first, one page at a time. Needs `records:read` and
/// the ticket within the caller's visibility.
#[utoipa::path(
    tag = "tickets",
    operation_id = "list_ticket_messages",
    params(("id" = Uuid, Path, description = "Ticket id"), PageParams),
    responses((status = 200, description = "One page of messages", body = Page<TicketMessage>))
)]
#[get("/api/v1/tickets/{id}/messages")]
pub async fn list_ticket_messages(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let acting = principal.0;
    let rows = state
        .db(move |conn| {
            Ok(tickets::messages(
                conn,
                &acting,
                id,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        page.limit,
        |row| creation_cursor(row.created_at.0, row.id.0),
        |row| TicketMessage::from(&row),
    )))
}

/// Get a ticket's history.
///
/// Its status moves, its SLA breaches and its assignments (by hand, by rule, and every
/// re-assignment after a lapsed pick-up time, each with its reason), oldest first.
/// Needs `records:read` and the ticket within the caller's visibility.
#[utoipa::path(
    tag = "tickets",
    operation_id = "get_ticket_history",
    params(("id" = Uuid, Path, description = "Ticket id")),
    responses((status = 200, description = "The history", body = TicketHistoryView))
)]
#[get("/api/v1/tickets/{id}/history")]
pub async fn get_ticket_history(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let history = state
        .db(move |conn| Ok(tickets::history(conn, &acting, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(TicketHistoryView::from(&history)))
}

/// How many suggestions to answer with.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestionParams {
    /// 1 to 20 (default 5).
    #[serde(default = "default_suggestions")]
    pub limit: usize,
}

fn default_suggestions() -> usize {
    5
}

/// Suggest canned answers for a ticket.
///
/// The active canned answers (`/canned-answers`) most like what the ticket asks — its
/// subject, description and the customer's latest messages — by BM25 over
/// Persian-normalised words, best first, each with its score; none when nothing is
/// alike. Needs `records:read` and the ticket within the caller's visibility.
#[utoipa::path(
    tag = "tickets",
    operation_id = "suggest_ticket_answers",
    params(("id" = Uuid, Path, description = "Ticket id"), SuggestionParams),
    responses((status = 200, description = "The suggestions, best first", body = Suggestions))
)]
#[get("/api/v1/tickets/{id}/suggested-answers")]
pub async fn suggest_ticket_answers(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    params: web::Query<SuggestionParams>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let limit = params.limit;
    let suggestions = state
        .db(move |conn| Ok(tickets::suggested_answers(conn, &acting, id, limit)?))
        .await?;
    Ok(HttpResponse::Ok().json(Suggestions::from(suggestions)))
}

/// Both tickets of a merge as they now stand.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergedTickets {
    /// The ticket merged: closed, pointing at the target.
    pub source: Ticket,
    /// The ticket that took over its conversation.
    pub target: Ticket,
}

/// Merge a ticket into another.
///
/// For a customer who wrote twice about one thing: the ticket's messages (in their
/// order among the target's), attachments, time entries and tags move to the ticket
/// `into`, whose message count and time add up. The merged ticket is closed with the
/// status-history reason `merged into #N`, keeps `merged_into_id` and takes no more
/// messages or status changes; an automatic message on each ticket says what happened.
///
/// Needs `records:write` and both tickets within the caller's visibility. Audited as
/// `ticket.merge` on both tickets. Problems: 404 for a ticket the caller cannot see; 422
/// `validation_failed` on `into` for the ticket itself (`same_ticket`), a ticket the
/// caller cannot see (`not_found`), a ticket merged into another (`merged`), or one of
/// another customer (`other_customer`); 409 `conflict` for a ticket merged already or a
/// closed target.
#[utoipa::path(
    tag = "tickets",
    operation_id = "merge_ticket",
    params(("id" = Uuid, Path, description = "The ticket to merge")),
    request_body = MergeInput,
    responses(
        (status = 200, description = "Merged", body = MergedTickets),
        (status = 409, description = "Merged already, or the target is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No ticket to merge into", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/tickets/{id}/merge")]
pub async fn merge_ticket(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<MergeInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let into = body.0.into;
    let (source, target) = state
        .db(move |conn| Ok(tickets::merge(conn, &acting, id, into)?))
        .await?;
    Ok(HttpResponse::Ok().json(MergedTickets {
        source: Ticket::from_row(&source)?,
        target: Ticket::from_row(&target)?,
    }))
}
