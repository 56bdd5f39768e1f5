//! Segment membership (M-1): computed for a dynamic segment by the `segments.refresh`
//! job, changed by hand for a static one, read a page at a time within the caller's
//! record visibility, and kept right when customers are merged or erased.
//!
//! A refresh runs in one transaction holding the segment's row, so two processes (a
//! periodic occurrence and one asked for by hand) never compute one segment at once:
//! the second waits and then finds nothing left to change. It asks the database for
//! the difference a block at a time (`persistence::segments::leaving` and `entering`,
//! walking customer ids), ends and opens spells, and appends a `segment.left` or
//! `segment.entered` event per customer in the same transaction.
//!
//! Periodic refreshes are occurrences of the job keyed by the segment and the slot of
//! its interval they fall in (`segments.refresh:<id>:<interval>:<slot>`): each run, each
//! change of the segment and each process start schedule the next slot, and the unique
//! key keeps one job per slot however many of them do.

use chrono::{DateTime, Utc};
use domain::authz::Permission;
use domain::segments::{MembershipCause, SegmentKind, MAX_MEMBERS_PER_REQUEST};
use persistence::audit;
use persistence::db::DbConnection;
use persistence::events::NewEvent;
use persistence::jobs::{Job, NewJob};
use persistence::segments::{MembershipRow, SegmentRow};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{kind_of, live_filter};
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::jobs::queue;
use crate::paging::Cursor;
use crate::transaction;

/// Job kind of a refresh of one dynamic segment's membership.
pub const SEGMENT_REFRESH: &str = "segments.refresh";

/// Attempts of a refresh: it is one transaction, so a retry starts clean.
const REFRESH_MAX_ATTEMPTS: i32 = 3;

/// Customers asked for and changed per block of a refresh: large, so that a million
/// customers take a few hundred round trips, each block's spells and events written in
/// bulk.
const BLOCK: i64 = 2_000;

/// Event types of the outbox.
pub const ENTERED: &str = "segment.entered";
pub const LEFT: &str = "segment.left";

/// Cursor order names of the member and history pages.
const MEMBERS_ORDER: &str = "customer_id";
const HISTORY_ORDER: &str = "membership_id:desc";

/// The event of a spell opening (`entered`) or ending, about the customer.
fn event(
    event_type: &str,
    spell: &MembershipRow,
    cause: MembershipCause,
    at: DateTime<Utc>,
) -> NewEvent {
    NewEvent::new(
        event_type,
        "customer",
        spell.customer_id.0,
        json!({
            "segment_id": spell.segment_id.0,
            "customer_id": spell.customer_id.0,
            "membership_id": spell.id.0,
            "cause": cause.as_str(),
        }),
        at,
    )
}

/// Refreshes and merges change memberships on the system's behalf.
fn system() -> Acting {
    Acting::system(crate::i18n::Lang::En)
}

/// Opens spells in `segment` for `customers` (none of them a member now), with events.
fn enter(
    conn: &mut DbConnection,
    acting: &Acting,
    segment: Uuid,
    customers: &[Uuid],
    cause: MembershipCause,
    at: DateTime<Utc>,
) -> AppResult<usize> {
    let spells = persistence::segments::enter(conn, segment, customers, at)?;
    let events: Vec<NewEvent> = spells
        .iter()
        .map(|spell| event(ENTERED, spell, cause, at))
        .collect();
    crate::events::publish(conn, acting, &events)?;
    Ok(spells.len())
}

/// Ends the open `spells`, with events.
fn leave(
    conn: &mut DbConnection,
    acting: &Acting,
    spells: &[MembershipRow],
    cause: MembershipCause,
    at: DateTime<Utc>,
) -> AppResult<usize> {
    let ids: Vec<Uuid> = spells.iter().map(|spell| spell.id.0).collect();
    persistence::segments::leave(conn, &ids, at)?;
    let events: Vec<NewEvent> = spells
        .iter()
        .map(|spell| event(LEFT, spell, cause, at))
        .collect();
    crate::events::publish(conn, acting, &events)?;
    Ok(spells.len())
}

/// What a refresh changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Refreshed {
    pub entered: usize,
    pub left: usize,
    pub members: i64,
}

/// Computes a dynamic segment's membership now and stores the difference, in one
/// transaction holding the segment (the `segments.refresh` job). A condition that no
/// longer resolves (a custom field deleted since) is a validation failure.
pub fn refresh(conn: &mut DbConnection, id: Uuid) -> AppResult<Refreshed> {
    transaction(conn, |conn| {
        let segment = persistence::segments::find_for_update(conn, id)?;
        let Some(condition) = segment
            .condition
            .as_ref()
            .map(|condition| condition.0.clone())
        else {
            return Err(static_refused());
        };
        let now = persistence::now();
        let context =
            domain::filter::ResolveContext::new(now, crate::settings::calendar(conn)?.local());
        let filter = live_filter(conn, &condition, &context)?;
        let mut left = 0;
        let mut after = None;
        loop {
            let spells = persistence::segments::leaving(conn, id, &filter, after, BLOCK)?;
            let Some(last) = spells.last() else { break };
            after = Some(last.customer_id.0);
            left += leave(conn, &system(), &spells, MembershipCause::Refresh, now)?;
        }
        let mut entered = 0;
        let mut after = None;
        loop {
            let customers = persistence::segments::entering(conn, id, &filter, after, BLOCK)?;
            let Some(last) = customers.last() else { break };
            after = Some(*last);
            entered += enter(
                conn,
                &system(),
                id,
                &customers,
                MembershipCause::Refresh,
                now,
            )?;
        }
        let members = persistence::segments::store_count(conn, id, Some(now))?;
        Ok(Refreshed {
            entered,
            left,
            members,
        })
    })
}

fn static_refused() -> AppError {
    AppError::Conflict("a static segment's members are added and removed by hand".into())
}

/// Queues a refresh of a dynamic segment now (`records:write`); answers the job.
pub fn refresh_now(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<Job> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        let segment = persistence::segments::find(conn, id)?;
        if kind_of(&segment)? != SegmentKind::Dynamic {
            return Err(static_refused());
        }
        queue::enqueue(
            conn,
            acting,
            SEGMENT_REFRESH,
            json!({"segment_id": id}),
            REFRESH_MAX_ATTEMPTS,
        )
    })
}

/// The start of the slot after the one `now` falls in, for an interval of `minutes`:
/// slots are counted from the Unix epoch, so every process computes the same ones.
fn next_slot(now: DateTime<Utc>, minutes: i64) -> (i64, DateTime<Utc>) {
    let length = minutes.max(1) * 60;
    let slot = now.timestamp().div_euclid(length) + 1;
    let start = DateTime::from_timestamp(slot * length, 0).unwrap_or(now);
    (slot, start)
}

/// Schedules the next periodic refresh of an active dynamic segment (nothing for any
/// other); with `now`, also one at once, e.g. for a new or changed condition.
pub(crate) fn schedule_refreshes(
    conn: &mut DbConnection,
    segment: &SegmentRow,
    now: bool,
) -> AppResult<()> {
    if kind_of(segment)? != SegmentKind::Dynamic || !segment.active {
        return Ok(());
    }
    let id = segment.id.0;
    let minutes = segment.refresh_interval_minutes;
    let at = persistence::now();
    let (slot, start) = next_slot(at, minutes);
    let mut occurrences = vec![(
        format!("{SEGMENT_REFRESH}:{id}:{minutes}:{slot}"),
        start,
        true,
    )];
    if now {
        // Keyed by the version, so a change is computed once however often it is asked.
        occurrences.push((
            format!("{SEGMENT_REFRESH}:{id}:version:{}", segment.version),
            at,
            false,
        ));
    }
    for (key, run_at, periodic) in occurrences {
        persistence::jobs::schedule(
            conn,
            NewJob {
                kind: SEGMENT_REFRESH,
                payload: json!({"segment_id": id, "periodic": periodic}),
                run_at,
                max_attempts: REFRESH_MAX_ATTEMPTS,
                created_by: None,
            },
            &key,
        )?;
    }
    Ok(())
}

/// Schedules the next periodic refresh of every active dynamic segment (at process
/// start); answers how many segments there are.
pub fn schedule_all(conn: &mut DbConnection) -> AppResult<usize> {
    let segments = persistence::segments::active_dynamic(conn)?;
    for segment in &segments {
        schedule_refreshes(conn, segment, false)?;
    }
    Ok(segments.len())
}

/// The segment a refresh is for, if it still wants one: a dynamic segment, and for a
/// `periodic` occurrence an active one (a deleted or deactivated segment lets its
/// occurrences lapse).
pub fn to_refresh(
    conn: &mut DbConnection,
    id: Uuid,
    periodic: bool,
) -> AppResult<Option<SegmentRow>> {
    match persistence::segments::find(conn, id) {
        Ok(segment)
            if (segment.active || !periodic) && kind_of(&segment)? == SegmentKind::Dynamic =>
        {
            Ok(Some(segment))
        }
        Ok(_) | Err(persistence::PersistenceError::NotFound) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// Whether customers join or leave a static segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SegmentMembersAction {
    Add,
    Remove,
}

/// Customers to add to or remove from a static segment.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "add", "customer_ids": ["0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb"]}))]
pub struct SegmentMembersChange {
    pub action: SegmentMembersAction,
    /// 1 to 1,000 customers; ids of customers the caller may not see (or merged ones)
    /// are reported, not changed.
    pub customer_ids: Vec<Uuid>,
}

/// What a change of a static segment's members did.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SegmentMembersOutcome {
    /// Customers who entered (or left) the segment.
    pub changed: usize,
    /// Customers already in (or not in) it.
    pub unchanged: usize,
    /// Ids that are not customers the caller may see.
    pub not_found: Vec<Uuid>,
    /// Current members afterwards.
    pub member_count: i64,
}

/// Adds customers to a static segment or removes them (`records:write`): only live
/// customers the caller may see; the others are reported.
pub fn change_members(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    change: &SegmentMembersChange,
) -> AppResult<SegmentMembersOutcome> {
    acting.require(Permission::RecordsWrite)?;
    if change.customer_ids.is_empty() || change.customer_ids.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(AppError::field(
            "customer_ids",
            "out_of_range",
            format!("must list 1 to {MAX_MEMBERS_PER_REQUEST} customers"),
        ));
    }
    let mut ids = change.customer_ids.clone();
    ids.sort();
    ids.dedup();
    transaction(conn, |conn| {
        let segment = persistence::segments::find_for_update(conn, id)?;
        if kind_of(&segment)? != SegmentKind::Static {
            return Err(AppError::Conflict(
                "a dynamic segment's members follow its condition".into(),
            ));
        }
        let visible: std::collections::HashSet<Uuid> =
            persistence::customers::search::visible_rows(conn, &ids, &acting.scope())?
                .iter()
                .filter(|row| row.erased_at.is_none())
                .map(|row| row.id.0)
                .collect();
        let (visible, not_found): (Vec<Uuid>, Vec<Uuid>) =
            ids.iter().partition(|customer| visible.contains(customer));
        let current = persistence::segments::current_among(conn, id, &visible)?;
        let now = persistence::now();
        let adding = change.action == SegmentMembersAction::Add;
        let changed = if adding {
            let members: std::collections::HashSet<Uuid> =
                current.iter().map(|spell| spell.customer_id.0).collect();
            let joining: Vec<Uuid> = visible
                .iter()
                .copied()
                .filter(|customer| !members.contains(customer))
                .collect();
            enter(conn, acting, id, &joining, MembershipCause::Manual, now)?
        } else {
            leave(conn, acting, &current, MembershipCause::Manual, now)?
        };
        let member_count = persistence::segments::store_count(conn, id, None)?;
        audit::record(
            conn,
            &acting.audit_actor(),
            audit::NewAuditEvent {
                action: if adding {
                    "segment.add"
                } else {
                    "segment.remove"
                },
                resource_type: "segment",
                resource_id: Some(id.to_string()),
                changes: Some(json!({"customer_ids": visible, "changed": changed})),
            },
        )?;
        Ok(SegmentMembersOutcome {
            changed,
            unchanged: visible.len() - changed,
            not_found,
            member_count,
        })
    })
}

/// A spell of a customer in a segment, with the customer's name.
#[derive(Debug, Clone, PartialEq)]
pub struct Spell {
    pub row: MembershipRow,
    pub display_name: String,
}

fn named(conn: &mut DbConnection, rows: Vec<MembershipRow>) -> AppResult<Vec<Spell>> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.customer_id.0).collect();
    let names = persistence::segments::display_names(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| Spell {
            display_name: names.get(&row.customer_id.0).cloned().unwrap_or_default(),
            row,
        })
        .collect())
}

/// The current members of a segment the caller may see, by customer id, `limit` after
/// `cursor` (`records:read`).
pub fn members(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<Spell>> {
    acting.require(Permission::RecordsRead)?;
    persistence::segments::find(conn, id)?;
    let after = cursor
        .map(|cursor| cursor.keyset(MEMBERS_ORDER))
        .transpose()?
        .map(|keyset| keyset.id);
    let rows = persistence::segments::members(conn, id, &acting.scope(), after, limit)?;
    named(conn, rows)
}

pub fn member_cursor(spell: &Spell) -> Cursor {
    Cursor::new(MEMBERS_ORDER, Vec::new(), spell.row.customer_id.0)
}

/// Every spell in a segment of customers the caller may see, newest first, `limit`
/// after `cursor` (`records:read`).
pub fn history(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<Spell>> {
    acting.require(Permission::RecordsRead)?;
    persistence::segments::find(conn, id)?;
    let before = cursor
        .map(|cursor| cursor.keyset(HISTORY_ORDER))
        .transpose()?
        .map(|keyset| keyset.id);
    let rows = persistence::segments::history(conn, id, &acting.scope(), before, limit)?;
    named(conn, rows)
}

pub fn history_cursor(spell: &Spell) -> Cursor {
    Cursor::new(HISTORY_ORDER, Vec::new(), spell.row.id.0)
}

/// Merge (in the merge's transaction): every open spell of the `losers` ends, and the
/// `winner` takes the place of a loser in each static segment it was not in yet.
/// Dynamic segments follow at their next refresh, which finds whether the merged
/// customer meets the condition.
pub fn merge(conn: &mut DbConnection, winner: Uuid, losers: &[Uuid]) -> AppResult<()> {
    let now = persistence::now();
    let mut touched = std::collections::BTreeSet::new();
    for loser in losers {
        for (segment, spell) in persistence::segments::current_of_customer(conn, *loser)? {
            leave(
                conn,
                &system(),
                std::slice::from_ref(&spell),
                MembershipCause::Merge,
                now,
            )?;
            touched.insert(segment.id.0);
            if kind_of(&segment)? == SegmentKind::Static
                && persistence::segments::current_among(conn, segment.id.0, &[winner])?.is_empty()
            {
                enter(
                    conn,
                    &system(),
                    segment.id.0,
                    &[winner],
                    MembershipCause::Merge,
                    now,
                )?;
            }
        }
    }
    for segment in touched {
        persistence::segments::store_count(conn, segment, None)?;
    }
    Ok(())
}

/// Erasure (in its transaction): deletes every spell of `customer`, the events about it
/// and their webhook deliveries; answers how many spells there were.
pub fn erase(conn: &mut DbConnection, customer: Uuid) -> AppResult<usize> {
    let spells = persistence::segments::of_customer(conn, customer)?;
    let current: std::collections::BTreeSet<Uuid> = spells
        .iter()
        .filter(|spell| spell.left_at.is_none())
        .map(|spell| spell.segment_id.0)
        .collect();
    let deleted = persistence::segments::delete_of_customer(conn, customer)?;
    persistence::webhooks::delete_deliveries_about(conn, "customer", customer)?;
    persistence::events::delete_of_subject(conn, "customer", customer)?;
    for segment in current {
        persistence::segments::store_count(conn, segment, None)?;
    }
    Ok(deleted)
}

/// Every spell of `customer` (the personal-data export).
pub fn of_customer(conn: &mut DbConnection, customer: Uuid) -> AppResult<Vec<MembershipRow>> {
    Ok(persistence::segments::of_customer(conn, customer)?)
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn slots_are_the_same_for_every_process_and_lie_ahead() {
        let now = DateTime::parse_from_rfc3339("2026-12-14T10:17:03Z")
            .expect("instant")
            .with_timezone(&Utc);
        let (slot, start) = next_slot(now, 60);
        assert_eq!(start.to_rfc3339(), "2026-12-14T11:00:00+00:00");
        assert_eq!(next_slot(now + TimeDelta::minutes(30), 60), (slot, start));
        let (later, _) = next_slot(start, 60);
        assert_eq!(later, slot + 1);
    }
}
