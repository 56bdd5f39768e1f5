//! Reading the audit log (D-4), for administrators (`audit:read`): newest events first,
//! filtered, and single events. Verifying its hash chain is a job
//! (`jobs::queue::audit_verification`).

use domain::authz::Permission;
use domain::validation::Violations;
pub use persistence::audit::AuditFilter;
use persistence::audit::{AuditEvent, AuditQuery};
use persistence::db::DbConnection;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::paging::{invalid_cursor, Cursor};

/// Sort order of the listing, as recorded in its cursors.
pub const ORDER: &str = "seq:desc";

/// Longest accepted text filter; real values are short identifiers.
const MAX_FILTER_CHARS: usize = 200;

/// Refuses filters no event can match or that are too long to be real values.
fn check(filter: &AuditFilter) -> AppResult<()> {
    let mut violations = Violations::default();
    for (field, value) in [
        ("resource_type", &filter.resource_type),
        ("resource_id", &filter.resource_id),
        ("action", &filter.action),
    ] {
        if value
            .as_ref()
            .is_some_and(|v| v.chars().count() > MAX_FILTER_CHARS)
        {
            violations.push(
                field,
                "too_long",
                format!("must be at most {MAX_FILTER_CHARS} characters"),
            );
        }
    }
    if let (Some(since), Some(until)) = (filter.since, filter.until) {
        if since >= until {
            violations.push("until", "out_of_range", "must be after `since`");
        }
    }
    violations.into_result().map_err(AppError::Invalid)
}

/// The cursor after `event` in [`ORDER`].
pub fn cursor_after(event: &AuditEvent) -> Cursor {
    Cursor::new(ORDER, vec![json!(event.seq)], event.id.0)
}

/// One page of events, newest first (`audit:read`): up to `limit + 1` events after
/// `cursor`.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    filter: AuditFilter,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<AuditEvent>> {
    acting.require(Permission::AuditRead)?;
    check(&filter)?;
    let before_seq = cursor
        .map(|cursor| cursor.keyset(ORDER))
        .transpose()?
        .map(|keyset| seq_of(&keyset.values))
        .transpose()?;
    let query = AuditQuery {
        filter,
        before_seq,
        limit,
    };
    Ok(persistence::audit::list(conn, &query)?)
}

fn seq_of(values: &[Value]) -> AppResult<i64> {
    match values {
        [value] => value.as_i64(),
        _ => None,
    }
    .ok_or_else(invalid_cursor)
}

/// One event (`audit:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<AuditEvent> {
    acting.require(Permission::AuditRead)?;
    persistence::audit::find(conn, id)?.ok_or(AppError::NotFound)
}
