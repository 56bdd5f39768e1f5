//! A customer's behaviour as the product reads it: the engagement score and per event
//! name the count and first and last time (the 360 view), and the events themselves,
//! newest first (`GET /customers/{id}/events`).

use chrono::{DateTime, Utc};
use domain::authz::Permission;
use persistence::behavioural_events::{EventRow, StatsRow};
use persistence::db::DbConnection;
use uuid::Uuid;

use crate::acting::Acting;
use crate::customers::visible;
use crate::error::{AppError, AppResult};
use crate::paging::{time_cursor, time_position, Cursor};

/// Sort order name of a customer's events, newest first.
pub const NEWEST_FIRST: &str = "occurred_at_desc";

/// What a customer's events add up to now.
#[derive(Debug, Clone, PartialEq)]
pub struct Engagement {
    /// Each event counts its name's weight, halved every 30 days since it happened.
    pub score: f64,
    pub events: i64,
    pub last_event_at: Option<DateTime<Utc>>,
    /// The facts per name, the most recent first.
    pub names: Vec<StatsRow>,
}

/// The engagement of `customer`, whose visibility the caller has checked.
pub fn of_customer(conn: &mut DbConnection, customer: Uuid) -> AppResult<Engagement> {
    let names = persistence::behavioural_events::stats_of(conn, customer)?;
    let weighted = persistence::behavioural_events::weighted_mass(conn, customer)?;
    Ok(Engagement {
        score: domain::behaviour::engagement::score(weighted, persistence::now()),
        events: names.iter().map(|stats| stats.event_count).sum(),
        last_event_at: names.iter().map(|stats| stats.last_at.0).max(),
        names,
    })
}

/// One page of the events of a customer visible to the caller (`records:read`), newest
/// first, of `name` when given.
pub fn events(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
    name: Option<&str>,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<EventRow>> {
    acting.require(Permission::RecordsRead)?;
    visible(conn, acting, customer)?;
    if name.is_some_and(|name| !domain::behaviour::is_valid_name(name)) {
        return Err(AppError::bad_parameter(
            "name",
            "invalid_format",
            "is not an event name",
        ));
    }
    let before = time_position(cursor, NEWEST_FIRST)?;
    Ok(persistence::behavioural_events::of_customer(
        conn, customer, name, before, limit,
    )?)
}

/// The cursor after `row` in a customer's events.
pub fn cursor_after(row: &EventRow) -> Cursor {
    time_cursor(NEWEST_FIRST, row.occurred_at.0, row.id.0)
}
