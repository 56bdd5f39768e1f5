//! Publishing to the event outbox and reading it back: every event is appended in the
//! transaction of the change it reports and fanned out, in the same transaction, to the
//! webhook subscriptions and the workflows that want it; the change feed reads the outbox in order from a
//! cursor of the reader's own.

use domain::authz::Permission;
use persistence::db::DbConnection;
use persistence::events::{EventRow, NewEvent};

use crate::acting::Acting;
use crate::error::AppResult;

/// Most events one page of the change feed holds.
pub const MAX_FEED_PAGE: i64 = 1_000;

/// Appends `events` to the outbox, queues their webhook deliveries and starts the
/// workflows they trigger; call it inside the transaction of the change they report,
/// made by `acting` (a workflow's own step starts no run of it, see
/// [`crate::workflows::enrolment`]).
pub fn publish(conn: &mut DbConnection, acting: &Acting, events: &[NewEvent]) -> AppResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    persistence::events::append(conn, events)?;
    crate::webhooks::fan_out(conn, events)?;
    crate::workflows::enrolment::on_events(conn, acting, events)
}

/// The events after `after` (a `seq` from an earlier page, 0 from the start), oldest
/// first, at most `limit` (`crm:configure`).
pub fn feed(
    conn: &mut DbConnection,
    acting: &Acting,
    after: i64,
    limit: i64,
) -> AppResult<Vec<EventRow>> {
    acting.require(Permission::CrmConfigure)?;
    Ok(persistence::events::after(
        conn,
        after.max(0),
        limit.clamp(1, MAX_FEED_PAGE),
    )?)
}
