//! Time spent on tickets (V-1): agents log the minutes they spent on a ticket they
//! see; the ticket keeps their sum, and the profitability report prices them as the
//! service cost of the ticket's customer.

use domain::authz::Permission;
use domain::service::time_entries::TimeEntryInput;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::sql_types::{DbTime, DbUuid};
use persistence::ticket_time_entries::TimeEntryRow;
use persistence::tickets::TicketRow;
use uuid::Uuid;

use super::tickets::visible;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::transaction;

/// Logs the caller's time on a ticket they see (`records:write`) and answers the entry
/// with the ticket as it now stands. Problems: 422 for minutes outside 1 … 1440
/// (`out_of_range`) or a day after today (`spent_on` `in_future`); 409 for a ticket
/// merged into another.
pub fn add(
    conn: &mut DbConnection,
    acting: &Acting,
    ticket: Uuid,
    input: TimeEntryInput,
) -> AppResult<(TimeEntryRow, TicketRow)> {
    acting.require(Permission::RecordsWrite)?;
    let input = input.validated().map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        visible(conn, acting, ticket)?;
        let row = persistence::tickets::find_for_update(conn, ticket)?;
        if let Some(into) = row.merged_into_id {
            return Err(AppError::Conflict(format!(
                "the ticket was merged into ticket {}; log the time there",
                into.0
            )));
        }
        let now = persistence::now();
        let today = crate::settings::calendar(conn)?.today(now);
        let spent_on = input.spent_on.unwrap_or(today);
        if spent_on > today {
            return Err(AppError::field(
                "spent_on",
                "in_future",
                "time is logged once it is spent",
            ));
        }
        let entry = TimeEntryRow {
            id: DbUuid(Uuid::now_v7()),
            ticket_id: DbUuid(ticket),
            user_id: acting.user_id.map(DbUuid),
            minutes: input.minutes,
            note: input.note,
            spent_on,
            created_at: DbTime(now),
        };
        persistence::ticket_time_entries::insert(conn, &entry)?;
        let after = persistence::tickets::find(conn, ticket)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "ticket.time_entry",
            "ticket",
            ticket,
            &serde_json::json!({"time_spent_minutes": row.time_spent_minutes}),
            &serde_json::json!({
                "time_spent_minutes": after.time_spent_minutes,
                "entry_id": entry.id.0,
                "minutes": entry.minutes,
                "spent_on": entry.spent_on,
            }),
        )?;
        Ok((entry, after))
    })
}

/// The time entries of a ticket the caller sees (`records:read`), oldest first.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    ticket: Uuid,
) -> AppResult<Vec<TimeEntryRow>> {
    acting.require(Permission::RecordsRead)?;
    visible(conn, acting, ticket)?;
    Ok(persistence::ticket_time_entries::of_ticket(conn, ticket)?)
}
