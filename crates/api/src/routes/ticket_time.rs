//! Time spent on tickets (V-1): agents log minutes against a ticket they see; the
//! ticket shows the sum, and the profitability report prices it as service cost.

use actix_web::{get, post, web, HttpResponse};
use application::service::ticket_time;
use chrono::{DateTime, NaiveDate, Utc};
use domain::service::time_entries::TimeEntryInput;
use persistence::ticket_time_entries::TimeEntryRow;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::JsonBody;
use crate::error::{ApiResult, Problem};
use crate::routes::tickets::Ticket;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(add_ticket_time_entry, list_ticket_time_entries),
    components(schemas(TimeEntryInput, TimeEntry, TimeEntryAdded))
)]
pub struct TicketTimeApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(add_ticket_time_entry)
        .service(list_ticket_time_entries);
}

/// Time logged on a ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimeEntry {
    pub id: Uuid,
    pub ticket_id: Uuid,
    /// Who spent it; absent for an API key without a user.
    pub user_id: Option<Uuid>,
    pub minutes: i32,
    pub note: Option<String>,
    /// The business-local day it was spent.
    pub spent_on: NaiveDate,
    pub created_at: DateTime<Utc>,
}

impl From<&TimeEntryRow> for TimeEntry {
    fn from(row: &TimeEntryRow) -> Self {
        TimeEntry {
            id: row.id.0,
            ticket_id: row.ticket_id.0,
            user_id: row.user_id.map(|id| id.0),
            minutes: row.minutes,
            note: row.note.clone(),
            spent_on: row.spent_on,
            created_at: row.created_at.0,
        }
    }
}

/// A time entry with its ticket, whose `time_spent_minutes` now counts it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimeEntryAdded {
    pub entry: TimeEntry,
    pub ticket: Ticket,
}

/// Log time spent on a ticket.
///
/// The caller's own time: `minutes` (1 to 1,440), an optional `note` and the local day
/// it was spent (`spent_on`, today by default). The ticket's `time_spent_minutes` adds
/// it up in the same transaction; the profitability report prices it as service cost
/// of the ticket's customer.
///
/// Needs `records:write` and the ticket within the caller's visibility (404 otherwise).
/// Audited as `ticket.time_entry` (minutes and day, not the note). Problems: 422
/// `validation_failed` for `minutes` out of range (`out_of_range`) or a `spent_on` after
/// today (`in_future`); 409 `conflict` for a ticket merged into another.
#[utoipa::path(
    tag = "tickets",
    operation_id = "add_ticket_time_entry",
    params(("id" = Uuid, Path, description = "Ticket id")),
    request_body = TimeEntryInput,
    responses(
        (status = 201, description = "Logged", body = TimeEntryAdded),
        (status = 409, description = "The ticket was merged into another", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/tickets/{id}/time-entries")]
pub async fn add_ticket_time_entry(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<TimeEntryInput>,
) -> ApiResult<HttpResponse> {
    let ticket = id.into_inner();
    let acting = principal.0;
    let input = body.0;
    let (entry, row) = state
        .db(move |conn| Ok(ticket_time::add(conn, &acting, ticket, input)?))
        .await?;
    Ok(HttpResponse::Created().json(TimeEntryAdded {
        entry: TimeEntry::from(&entry),
        ticket: Ticket::from_row(&row)?,
    }))
}

/// List the time logged on a ticket.
///
/// Every entry, oldest first. Needs `records:read` and the ticket within the caller's
/// visibility (404 otherwise).
#[utoipa::path(
    tag = "tickets",
    operation_id = "list_ticket_time_entries",
    params(("id" = Uuid, Path, description = "Ticket id")),
    responses((status = 200, description = "The entries", body = Vec<TimeEntry>))
)]
#[get("/api/v1/tickets/{id}/time-entries")]
pub async fn list_ticket_time_entries(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let ticket = id.into_inner();
    let acting = principal.0;
    let rows = state
        .db(move |conn| Ok(ticket_time::list(conn, &acting, ticket)?))
        .await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(TimeEntry::from).collect::<Vec<_>>()))
}
