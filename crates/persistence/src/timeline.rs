//! The sources of a customer's timeline (O-1): one query per source, each reading its
//! table newest first on an index `(customer, time, id)` (or through the customer's
//! tickets and orders), from a [`Window`]. `application::customers::timeline` merges
//! them. A new source is one more function here returning its typed rows.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::authz::Visibility;
use uuid::Uuid;

use crate::activities::ActivityRow;
use crate::consents::ConsentEventRow;
use crate::conversations::MessageRow;
use crate::customers::history::{LifecycleTransitionRow, OwnerChangeRow};
use crate::customers::search::Scope;
use crate::db::{DbConnection, MultiBackend};
use crate::feedback::FeedbackRow;
use crate::notes::NoteRow;
use crate::orders::OrderRow;
use crate::schema::{
    activities, consent_events, feedback, lifecycle_transitions, messages, notes, order_returns,
    orders, owner_changes, tasks, ticket_messages, ticket_status_changes, tickets,
};
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

/// Which rows of a source to read: those before `before` (a position `(time, id)`:
/// rows at that time with an id up to it are included, so that a row giving two
/// entries at one instant is not lost; the caller drops what it has shown), at or after
/// `since` and before `until`, newest first, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub before: Option<(DateTime<Utc>, Uuid)>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub limit: i64,
}

/// `$query` (boxed) limited to `$window` on the time column `$at` and id column `$id`,
/// newest first. The cursor is spelled `at <= t AND (at < t OR id <= i)` so that the
/// first condition bounds the index range.
macro_rules! windowed {
    ($query:expr, $at:expr, $id:expr, $window:expr) => {{
        let window: &Window = $window;
        let mut query = $query;
        if let Some((at, id)) = window.before {
            let at = DbTime(at);
            query = query.filter($at.le(at).and($at.lt(at).or($id.le(DbUuid(id)))));
        }
        if let Some(since) = window.since {
            query = query.filter($at.ge(DbTime(since)));
        }
        if let Some(until) = window.until {
            query = query.filter($at.lt(DbTime(until)));
        }
        query.order(($at.desc(), $id.desc())).limit(window.limit)
    }};
}

/// `$query` (boxed, with `tickets` in it) limited to the tickets `$scope` may see (the
/// rule of `persistence::tickets`: by the ticket's owner and team).
macro_rules! ticket_scope {
    ($query:expr, $scope:expr) => {{
        let scope: &Scope = $scope;
        let me = DbUuid(scope.user_id);
        match (scope.visibility, scope.team_id) {
            (Visibility::All, _) => $query,
            _ if scope.partner_id.is_some() => $query.filter(tickets::owner_id.eq(me).or(
                tickets::id.eq_any(crate::shared_with!(
                    scope.partner_id.unwrap_or_default(),
                    domain::partners::SharedKind::Ticket
                )),
            )),
            (Visibility::Own, _) | (Visibility::Team, None) => {
                $query.filter(tickets::owner_id.eq(me))
            }
            (Visibility::Team, Some(team)) => $query.filter(
                tickets::owner_id
                    .eq(me)
                    .or(tickets::team_id.eq(DbUuid(team))),
            ),
        }
    }};
}

fn ids(ids: &[Uuid]) -> Vec<DbUuid> {
    ids.iter().copied().map(DbUuid).collect()
}

/// Rows read by several queries (on the customer, its leads, its deals), newest first,
/// each once, at most `limit`.
fn combine<R>(mut rows: Vec<R>, key: impl Fn(&R) -> (DbTime, DbUuid), limit: i64) -> Vec<R> {
    rows.sort_by_key(|row| std::cmp::Reverse(key(row)));
    rows.dedup_by_key(|row| key(row).1);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    rows
}

/// Activities on the customer, on any of `leads` or any of `deals`, of one of `kinds`
/// (all when `None`).
pub fn activities(
    conn: &mut DbConnection,
    customer: Uuid,
    leads: &[Uuid],
    deals: &[Uuid],
    kinds: Option<&[&str]>,
    window: &Window,
) -> Result<Vec<ActivityRow>, PersistenceError> {
    let base = || {
        let query = activities::table
            .select(ActivityRow::as_select())
            .into_boxed::<MultiBackend>();
        match kinds {
            Some(kinds) => query.filter(activities::kind.eq_any(kinds.to_vec())),
            None => query,
        }
    };
    let mut rows: Vec<ActivityRow> = windowed!(
        base().filter(activities::customer_id.eq(DbUuid(customer))),
        activities::occurred_at,
        activities::id,
        window
    )
    .load(conn)?;
    if !leads.is_empty() {
        rows.extend(
            windowed!(
                base().filter(activities::lead_id.eq_any(ids(leads))),
                activities::occurred_at,
                activities::id,
                window
            )
            .load::<ActivityRow>(conn)?,
        );
    }
    if !deals.is_empty() {
        rows.extend(
            windowed!(
                base().filter(activities::deal_id.eq_any(ids(deals))),
                activities::occurred_at,
                activities::id,
                window
            )
            .load::<ActivityRow>(conn)?,
        );
    }
    Ok(combine(rows, |row| (row.occurred_at, row.id), window.limit))
}

/// A task as the timeline shows it: created, or done.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct TaskEvent {
    pub id: DbUuid,
    pub kind: String,
    pub title: String,
    /// When it was created, or done.
    pub at: DbTime,
    /// Who created it, or whom it was assigned to when done.
    pub actor: Option<DbUuid>,
    pub outcome: Option<String>,
}

/// Tasks on the customer, its `leads` or its `deals`, by creation time.
pub fn tasks_created(
    conn: &mut DbConnection,
    customer: Uuid,
    leads: &[Uuid],
    deals: &[Uuid],
    window: &Window,
) -> Result<Vec<TaskEvent>, PersistenceError> {
    let base = || {
        tasks::table
            .select((
                tasks::id,
                tasks::kind,
                tasks::title,
                tasks::created_at,
                tasks::created_by,
                tasks::outcome,
            ))
            .into_boxed::<MultiBackend>()
    };
    let mut rows: Vec<TaskEvent> = windowed!(
        base().filter(tasks::customer_id.eq(DbUuid(customer))),
        tasks::created_at,
        tasks::id,
        window
    )
    .load(conn)?;
    if !leads.is_empty() {
        rows.extend(
            windowed!(
                base().filter(tasks::lead_id.eq_any(ids(leads))),
                tasks::created_at,
                tasks::id,
                window
            )
            .load::<TaskEvent>(conn)?,
        );
    }
    if !deals.is_empty() {
        rows.extend(
            windowed!(
                base().filter(tasks::deal_id.eq_any(ids(deals))),
                tasks::created_at,
                tasks::id,
                window
            )
            .load::<TaskEvent>(conn)?,
        );
    }
    Ok(combine(rows, |row| (row.at, row.id), window.limit))
}

/// Tasks on the customer, its `leads` or its `deals` that were done, by completion
/// time (cancelled ones are not an interaction).
pub fn tasks_completed(
    conn: &mut DbConnection,
    customer: Uuid,
    leads: &[Uuid],
    deals: &[Uuid],
    window: &Window,
) -> Result<Vec<TaskEvent>, PersistenceError> {
    let base = || {
        tasks::table
            .filter(tasks::completed_at.is_not_null())
            .filter(tasks::status.eq("done"))
            .select((
                tasks::id,
                tasks::kind,
                tasks::title,
                tasks::completed_at.assume_not_null(),
                tasks::assignee_id,
                tasks::outcome,
            ))
            .into_boxed::<MultiBackend>()
    };
    let mut rows: Vec<TaskEvent> = windowed!(
        base().filter(tasks::customer_id.eq(DbUuid(customer))),
        tasks::completed_at,
        tasks::id,
        window
    )
    .load(conn)?;
    if !leads.is_empty() {
        rows.extend(
            windowed!(
                base().filter(tasks::lead_id.eq_any(ids(leads))),
                tasks::completed_at,
                tasks::id,
                window
            )
            .load::<TaskEvent>(conn)?,
        );
    }
    if !deals.is_empty() {
        rows.extend(
            windowed!(
                base().filter(tasks::deal_id.eq_any(ids(deals))),
                tasks::completed_at,
                tasks::id,
                window
            )
            .load::<TaskEvent>(conn)?,
        );
    }
    Ok(combine(rows, |row| (row.at, row.id), window.limit))
}

/// The customer's notes of one of `kinds` (all when `None`), by creation time.
pub fn notes(
    conn: &mut DbConnection,
    customer: Uuid,
    kinds: Option<&[&str]>,
    window: &Window,
) -> Result<Vec<NoteRow>, PersistenceError> {
    let mut query = notes::table
        .filter(notes::customer_id.eq(DbUuid(customer)))
        .select(NoteRow::as_select())
        .into_boxed::<MultiBackend>();
    if let Some(kinds) = kinds {
        query = query.filter(notes::kind.eq_any(kinds.to_vec()));
    }
    Ok(windowed!(query, notes::created_at, notes::id, window).load(conn)?)
}

/// The customer's orders with a sales channel among `channels` (all when `None`), by
/// the time they were placed.
pub fn orders(
    conn: &mut DbConnection,
    customer: Uuid,
    channels: Option<&[&str]>,
    window: &Window,
) -> Result<Vec<OrderRow>, PersistenceError> {
    let mut query = orders::table
        .filter(orders::customer_id.eq(DbUuid(customer)))
        .select(OrderRow::as_select())
        .into_boxed::<MultiBackend>();
    if let Some(channels) = channels {
        query = query.filter(orders::channel.eq_any(channels.to_vec()));
    }
    Ok(windowed!(query, orders::placed_at, orders::id, window).load(conn)?)
}

/// A return on one of the customer's orders.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct ReturnEvent {
    pub id: DbUuid,
    pub order_id: DbUuid,
    pub reason: String,
    pub refund_total: i64,
    pub currency: String,
    pub returned_at: DbTime,
    pub created_by: Option<DbUuid>,
}

/// Returns on the customer's orders, by the time of the return.
pub fn returns(
    conn: &mut DbConnection,
    customer: Uuid,
    window: &Window,
) -> Result<Vec<ReturnEvent>, PersistenceError> {
    let query = order_returns::table
        .inner_join(orders::table)
        .filter(orders::customer_id.eq(DbUuid(customer)))
        .select((
            order_returns::id,
            order_returns::order_id,
            order_returns::reason,
            order_returns::refund_total,
            orders::currency,
            order_returns::returned_at,
            order_returns::created_by,
        ))
        .into_boxed::<MultiBackend>();
    Ok(windowed!(query, order_returns::returned_at, order_returns::id, window).load(conn)?)
}

/// A ticket of the customer, as it was opened.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct TicketOpened {
    pub id: DbUuid,
    pub number: i64,
    pub subject: String,
    pub channel: String,
    pub created_at: DbTime,
    pub created_by: Option<DbUuid>,
}

/// The customer's tickets `scope` may see, on one of `channels` (all when `None`), by
/// creation time.
pub fn tickets_opened(
    conn: &mut DbConnection,
    customer: Uuid,
    scope: &Scope,
    channels: Option<&[&str]>,
    window: &Window,
) -> Result<Vec<TicketOpened>, PersistenceError> {
    let mut query = tickets::table
        .filter(tickets::customer_id.eq(DbUuid(customer)))
        .select((
            tickets::id,
            tickets::number,
            tickets::subject,
            tickets::channel,
            tickets::created_at,
            tickets::created_by,
        ))
        .into_boxed::<MultiBackend>();
    if let Some(channels) = channels {
        query = query.filter(tickets::channel.eq_any(channels.to_vec()));
    }
    let query = ticket_scope!(query, scope);
    Ok(windowed!(query, tickets::created_at, tickets::id, window).load(conn)?)
}

/// A status move of one of the customer's tickets.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct TicketStatusEvent {
    pub id: DbUuid,
    pub ticket_id: DbUuid,
    pub number: i64,
    pub channel: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub changed_by: Option<DbUuid>,
    pub changed_at: DbTime,
}

/// Status moves of the customer's tickets `scope` may see, on one of `channels` (all
/// when `None`), by the time of the move; the status a ticket was created with is its
/// opening, not a move.
pub fn ticket_status_changes(
    conn: &mut DbConnection,
    customer: Uuid,
    scope: &Scope,
    channels: Option<&[&str]>,
    window: &Window,
) -> Result<Vec<TicketStatusEvent>, PersistenceError> {
    let mut query = ticket_status_changes::table
        .inner_join(tickets::table)
        .filter(tickets::customer_id.eq(DbUuid(customer)))
        .filter(ticket_status_changes::from_status.is_not_null())
        .select((
            ticket_status_changes::id,
            ticket_status_changes::ticket_id,
            tickets::number,
            tickets::channel,
            ticket_status_changes::from_status,
            ticket_status_changes::to_status,
            ticket_status_changes::changed_by,
            ticket_status_changes::changed_at,
        ))
        .into_boxed::<MultiBackend>();
    if let Some(channels) = channels {
        query = query.filter(tickets::channel.eq_any(channels.to_vec()));
    }
    let query = ticket_scope!(query, scope);
    Ok(windowed!(
        query,
        ticket_status_changes::changed_at,
        ticket_status_changes::id,
        window
    )
    .load(conn)?)
}

/// A message of one of the customer's tickets.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct TicketMessageEvent {
    pub id: DbUuid,
    pub ticket_id: DbUuid,
    pub number: i64,
    pub channel: String,
    pub kind: String,
    pub author_id: Option<DbUuid>,
    pub body: String,
    pub created_at: DbTime,
}

/// Messages of the customer's tickets `scope` may see, on one of `channels` (all when
/// `None`), by the time they were written.
pub fn ticket_messages(
    conn: &mut DbConnection,
    customer: Uuid,
    scope: &Scope,
    channels: Option<&[&str]>,
    window: &Window,
) -> Result<Vec<TicketMessageEvent>, PersistenceError> {
    let mut query = ticket_messages::table
        .inner_join(tickets::table)
        .filter(tickets::customer_id.eq(DbUuid(customer)))
        .select((
            ticket_messages::id,
            ticket_messages::ticket_id,
            tickets::number,
            tickets::channel,
            ticket_messages::kind,
            ticket_messages::author_id,
            ticket_messages::body,
            ticket_messages::created_at,
        ))
        .into_boxed::<MultiBackend>();
    if let Some(channels) = channels {
        query = query.filter(tickets::channel.eq_any(channels.to_vec()));
    }
    let query = ticket_scope!(query, scope);
    Ok(windowed!(
        query,
        ticket_messages::created_at,
        ticket_messages::id,
        window
    )
    .load(conn)?)
}

/// The customer's lifecycle transitions.
pub fn lifecycle_transitions(
    conn: &mut DbConnection,
    customer: Uuid,
    window: &Window,
) -> Result<Vec<LifecycleTransitionRow>, PersistenceError> {
    let query = lifecycle_transitions::table
        .filter(lifecycle_transitions::customer_id.eq(DbUuid(customer)))
        .select(LifecycleTransitionRow::as_select())
        .into_boxed::<MultiBackend>();
    Ok(windowed!(
        query,
        lifecycle_transitions::changed_at,
        lifecycle_transitions::id,
        window
    )
    .load(conn)?)
}

/// The customer's consent events.
pub fn consent_events(
    conn: &mut DbConnection,
    customer: Uuid,
    window: &Window,
) -> Result<Vec<ConsentEventRow>, PersistenceError> {
    let query = consent_events::table
        .filter(consent_events::customer_id.eq(DbUuid(customer)))
        .select(ConsentEventRow::as_select())
        .into_boxed::<MultiBackend>();
    Ok(windowed!(
        query,
        consent_events::recorded_at,
        consent_events::id,
        window
    )
    .load(conn)?)
}

/// The customer's owner changes.
pub fn owner_changes(
    conn: &mut DbConnection,
    customer: Uuid,
    window: &Window,
) -> Result<Vec<OwnerChangeRow>, PersistenceError> {
    let query = owner_changes::table
        .filter(owner_changes::customer_id.eq(DbUuid(customer)))
        .select(OwnerChangeRow::as_select())
        .into_boxed::<MultiBackend>();
    Ok(windowed!(query, owner_changes::changed_at, owner_changes::id, window).load(conn)?)
}

/// The feedback about the customer, of one of `channels` when given.
pub fn feedback(
    conn: &mut DbConnection,
    customer: Uuid,
    channels: Option<&[&str]>,
    window: &Window,
) -> Result<Vec<FeedbackRow>, PersistenceError> {
    let mut query = feedback::table
        .filter(feedback::customer_id.eq(DbUuid(customer)))
        .select(FeedbackRow::as_select())
        .into_boxed::<MultiBackend>();
    if let Some(channels) = channels {
        query = query.filter(feedback::channel.eq_any(channels.to_vec()));
    }
    Ok(windowed!(query, feedback::created_at, feedback::id, window).load(conn)?)
}

/// The customer's messages in and out on the messaging channels, of one of
/// `channels` (channel-account kinds; all when `None`).
pub fn channel_messages(
    conn: &mut DbConnection,
    customer: Uuid,
    channels: Option<&[&str]>,
    window: &Window,
) -> Result<Vec<MessageRow>, PersistenceError> {
    let mut query = messages::table
        .filter(messages::customer_id.eq(DbUuid(customer)))
        .select(MessageRow::as_select())
        .into_boxed::<MultiBackend>();
    if let Some(channels) = channels {
        query = query.filter(messages::channel.eq_any(channels.to_vec()));
    }
    Ok(windowed!(query, messages::occurred_at, messages::id, window).load(conn)?)
}
