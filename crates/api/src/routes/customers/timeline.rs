//! The customer interaction timeline (O-1): one stream, newest first, of everything that
//! happened with a customer on every channel.

use actix_web::{get, web, HttpRequest, HttpResponse};
use application::customers::timeline::{self, cursor_after, FilterParams};
use chrono::{DateTime, Utc};
use domain::authz::Permission;
use domain::timeline::{Channel, Direction, Entry, EntryKind, RecordType};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::{Page, PageParams};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// The record an entry comes from.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"type": "ticket", "id": "0193a4e2-7c1d-7b3e-9f10-cccccccccccc",
                          "href": "/api/v1/tickets/0193a4e2-7c1d-7b3e-9f10-cccccccccccc"}))]
pub struct TimelineLink {
    #[serde(rename = "type")]
    pub kind: RecordType,
    pub id: Uuid,
    /// Its path in this API.
    pub href: String,
}

/// One thing that happened with a customer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a4e2-7c1d-7b3e-9f10-dddddddddddd",
    "kind": "ticket_message",
    "channel": "telegram",
    "direction": "inbound",
    "occurred_at": "2026-12-02T08:30:00Z",
    "summary": "#1042 customer: بسته‌ام هنوز نرسیده، لطفاً پیگیری کنید.",
    "actor_id": null,
    "link": {"type": "ticket", "id": "0193a4e2-7c1d-7b3e-9f10-cccccccccccc",
             "href": "/api/v1/tickets/0193a4e2-7c1d-7b3e-9f10-cccccccccccc"}
}))]
pub struct TimelineEntry {
    /// The id of the record it comes from (the activity, note, task, order, return,
    /// ticket, status move, message or history row).
    pub id: Uuid,
    pub kind: EntryKind,
    /// The channel it went through, when it has one.
    pub channel: Option<Channel>,
    /// Who reached whom, when known.
    pub direction: Option<Direction>,
    pub occurred_at: DateTime<Utc>,
    /// A short line: the first 200 characters of the text, an order's total, a status
    /// move.
    pub summary: String,
    /// The user who did it, if a user did.
    pub actor_id: Option<Uuid>,
    pub link: TimelineLink,
}

impl From<Entry> for TimelineEntry {
    fn from(entry: Entry) -> TimelineEntry {
        TimelineEntry {
            id: entry.id,
            kind: entry.kind,
            channel: entry.channel,
            direction: entry.direction,
            occurred_at: entry.occurred_at,
            summary: entry.summary,
            actor_id: entry.actor_id,
            link: TimelineLink {
                kind: entry.link.kind,
                id: entry.link.id,
                href: entry.link.href,
            },
        }
    }
}

/// What to show of the timeline (documentation of the query parameters; they are read
/// by [`filter_params`] so that `kind` and `channel` may repeat).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct TimelineFilters {
    /// Only entries of these kinds: repeat the parameter or separate with commas
    /// (`kind=note,ticket_message`).
    #[param(value_type = Option<Vec<EntryKind>>, style = Form, explode = true)]
    kind: Option<String>,
    /// Only entries on these channels, repeated or comma-separated
    /// (`channel=sms,telegram`); entries without a channel are then left out.
    #[param(value_type = Option<Vec<Channel>>, style = Form, explode = true)]
    channel: Option<String>,
    /// Only entries before this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    before: Option<String>,
    /// Only entries at or after this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    after: Option<String>,
}

fn filter_params(req: &HttpRequest) -> ApiResult<FilterParams> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map_err(|err| ApiError::Malformed(format!("the query string is not valid: {err}")))?
        .into_inner();
    let mut params = FilterParams::default();
    for (name, value) in pairs {
        match name.as_str() {
            "kind" => params.kind.push(value),
            "channel" => params.channel.push(value),
            "before" => params.before = Some(value),
            "after" => params.after = Some(value),
            _ => {}
        }
    }
    Ok(params)
}

/// Get a customer's interaction timeline.
///
/// Everything that happened with the customer, newest first, one page at a time: logged
/// activities (also those on its deals and on the leads it was converted from that the
/// caller may see), notes, tasks created and done, orders and returns, its tickets the
/// caller may see with their status moves and messages (customer messages, replies,
/// automatic messages and internal notes), lifecycle, consent and owner changes. Each
/// entry names its kind, channel and direction where it has them, a short summary, the
/// user who acted and a link to the record it comes from. `kind` and `channel` (each
/// repeated or comma-separated) and `before`/`after` narrow it.
///
/// Needs `records:read`; the customer must be within the caller's record visibility (404
/// `not_found` otherwise, exactly as for a missing one). Problems: 422
/// `validation_failed` naming `kind` or `channel` (`invalid_value`) or `before` or
/// `after` (`invalid_format`); 400 `invalid_cursor` for a cursor that was altered or came
/// from another listing.
#[utoipa::path(
    tag = "customers",
    operation_id = "get_customer_timeline",
    params(("id" = Uuid, Path, description = "Customer id"), PageParams, TimelineFilters),
    responses(
        (status = 200, description = "One page of the timeline", body = Page<TimelineEntry>),
        (status = 422, description = "A filter that is not one", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/api/v1/customers/{id}/timeline")]
pub async fn get_customer_timeline(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsRead)?;
    let filter = timeline::filter(&filter_params(&req)?)?;
    let customer = id.into_inner();
    let acting = principal.0.clone();
    let (cursor, limit) = (page.cursor.clone(), page.limit);
    let merged = state
        .db(move |conn| {
            Ok(timeline::timeline(
                conn,
                &acting,
                customer,
                &filter,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let next_cursor = if merged.has_more {
        merged
            .entries
            .last()
            .map(|entry| cursor_after(entry).encode())
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(Page {
        data: merged
            .entries
            .into_iter()
            .map(TimelineEntry::from)
            .collect::<Vec<_>>(),
        next_cursor,
        has_more: merged.has_more,
    }))
}
