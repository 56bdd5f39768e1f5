//! When the SLA scan runs (`crate::jobs::sla_scan`): occurrences are queued for the
//! instants tickets come due rather than on a fixed beat. Every ticket write that sets
//! a check time queues the occurrence of that minute (the key `tickets.sla_scan:<minute>`
//! keeps one per minute however many writes ask), each run queues the next for the
//! earliest check time left, and every process queues it at start, so a lost
//! occurrence is made good.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use persistence::db::DbConnection;
use persistence::jobs::NewJob;
use serde_json::json;

use crate::error::AppResult;

/// Job kind of a pass of the scan (`crate::jobs::sla_scan`).
pub const SLA_SCAN: &str = "tickets.sla_scan";

/// Queues the occurrence of the minute `at` falls in (run at the minute's end, so
/// everything due within it is due by then) unless it exists.
pub fn schedule_at(conn: &mut DbConnection, at: DateTime<Utc>) -> AppResult<bool> {
    // An occurrence of a minute that has begun may have run already; one still to come
    // cannot have (a job is not claimed before its time), so a check time already past
    // is served by the next minute.
    let at = at.max(persistence::now() + TimeDelta::seconds(1));
    let minute = at.duration_trunc(TimeDelta::minutes(1)).unwrap_or(at);
    let run_at = if minute == at {
        at
    } else {
        minute + TimeDelta::minutes(1)
    };
    Ok(persistence::jobs::schedule(
        conn,
        NewJob {
            kind: SLA_SCAN,
            payload: json!({"at": run_at}),
            run_at,
            max_attempts: 5,
            created_by: None,
        },
        &format!("{SLA_SCAN}:{}", run_at.format("%Y-%m-%dT%H:%MZ")),
    )?)
}

/// Queues the occurrence for the earliest check time of any ticket, if there is one.
pub fn schedule_next(conn: &mut DbConnection) -> AppResult<Option<DateTime<Utc>>> {
    let next = persistence::tickets::next_check_at(conn)?;
    if let Some(at) = next {
        schedule_at(conn, at)?;
    }
    Ok(next)
}
