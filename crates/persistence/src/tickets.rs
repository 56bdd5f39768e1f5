//! Tickets (V-1 … V-3): the rows with their SLA clock, their tags, conversation,
//! status history and breaches; the search catalogue and visibility (owner and team, as
//! customers); and the reads of the breach scan and the assignment engine.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use domain::authz::Visibility;
use domain::filter::{Predicate, SearchCriteria, TypedValue};
use uuid::Uuid;

use crate::customers::search::Scope;
use crate::db::{placeholders, DbConnection, MultiBackend};
use crate::filter::{
    apply_search, like_escape, Condition, FilterError, Keyset, SearchColumn, SearchError,
    SearchTable,
};
use crate::schema::{
    customers, ticket_messages, ticket_sla_breaches, ticket_status_changes, ticket_tags, tickets,
};
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = tickets, treat_none_as_null = true)]
pub struct TicketRow {
    pub id: DbUuid,
    /// Given in order from one counter, never reused.
    pub number: i64,
    pub subject: String,
    pub description: Option<String>,
    pub customer_id: DbUuid,
    pub contact_id: Option<DbUuid>,
    pub channel: String,
    pub category_id: Option<DbUuid>,
    pub priority: String,
    pub status: String,
    pub owner_id: Option<DbUuid>,
    pub team_id: Option<DbUuid>,
    pub order_id: Option<DbUuid>,
    pub product_id: Option<DbUuid>,
    /// The tags as a JSON array of strings (also one `ticket_tags` row each).
    pub tags: DbJson,
    pub custom_fields: DbJson,
    /// `domain::service::tickets::search_text`.
    pub search_text: String,
    pub sla_policy_id: Option<DbUuid>,
    pub first_response_due_at: Option<DbTime>,
    pub next_response_due_at: Option<DbTime>,
    pub resolution_due_at: Option<DbTime>,
    pub pickup_due_at: Option<DbTime>,
    pub first_response_breached: bool,
    pub next_response_breached: bool,
    pub resolution_breached: bool,
    /// Whether any target was ever breached.
    pub sla_breached: bool,
    pub sla_paused_at: Option<DbTime>,
    pub sla_paused_minutes: i64,
    /// `domain::service::sla::SlaClock::check_at`.
    pub sla_check_at: Option<DbTime>,
    pub first_responded_at: Option<DbTime>,
    pub resolved_at: Option<DbTime>,
    pub closed_at: Option<DbTime>,
    /// Times the ticket went to another agent because nobody picked it up.
    pub reassignments: i64,
    /// When it went to the team's managers after its last re-assignment.
    pub escalated_at: Option<DbTime>,
    pub reopen_count: i64,
    /// Customer messages and agent replies: the exchanges of the conversation.
    pub message_count: i64,
    pub last_message_at: Option<DbTime>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
    /// The ticket this one was merged into (it is closed since).
    pub merged_into_id: Option<DbUuid>,
    /// Σ minutes of its time entries.
    pub time_spent_minutes: i64,
}

impl TicketRow {
    /// What the audit trail records of a ticket: what people wrote and decided, not
    /// the derived text or the clock.
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "number": self.number,
            "subject": self.subject,
            "description": self.description,
            "customer_id": self.customer_id.0,
            "contact_id": self.contact_id.map(|id| id.0),
            "channel": self.channel,
            "category_id": self.category_id.map(|id| id.0),
            "priority": self.priority,
            "status": self.status,
            "owner_id": self.owner_id.map(|id| id.0),
            "team_id": self.team_id.map(|id| id.0),
            "order_id": self.order_id.map(|id| id.0),
            "product_id": self.product_id.map(|id| id.0),
            "tags": self.tags.0,
            "custom_fields": self.custom_fields.0,
            "sla_policy_id": self.sla_policy_id.map(|id| id.0),
        })
    }
}

#[derive(QueryableByName)]
struct Counter {
    #[diesel(sql_type = BigInt)]
    last_number: i64,
}

/// The next ticket number: the counter row is created or incremented and read in one
/// statement, so concurrent creates never share a number.
pub fn next_number(conn: &mut DbConnection) -> Result<i64, PersistenceError> {
    let sql = "INSERT INTO ticket_counters (scope, last_number) VALUES (?, 1) \
               ON CONFLICT (scope) DO UPDATE SET last_number = ticket_counters.last_number + 1 \
               RETURNING last_number";
    let counter: Counter = diesel::sql_query(placeholders(conn, sql))
        .bind::<Text, _>("tickets")
        .get_result(conn)?;
    Ok(counter.last_number)
}

pub fn insert(
    conn: &mut DbConnection,
    row: &TicketRow,
    tags: &[String],
) -> Result<(), PersistenceError> {
    diesel::insert_into(tickets::table)
        .values(row)
        .execute(conn)?;
    write_tags(conn, row.id.0, tags)
}

/// Replaces the ticket's tag rows.
pub fn write_tags(
    conn: &mut DbConnection,
    id: Uuid,
    tags: &[String],
) -> Result<(), PersistenceError> {
    diesel::delete(ticket_tags::table.filter(ticket_tags::ticket_id.eq(DbUuid(id))))
        .execute(conn)?;
    let rows: Vec<_> = tags
        .iter()
        .map(|tag| {
            (
                ticket_tags::ticket_id.eq(DbUuid(id)),
                ticket_tags::tag.eq(tag),
            )
        })
        .collect();
    if !rows.is_empty() {
        crate::insert_batch!(conn, ticket_tags::table, &rows)?;
    }
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<TicketRow, PersistenceError> {
    tickets::table
        .find(DbUuid(id))
        .select(TicketRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// [`find`] holding the row until the transaction ends (PostgreSQL; SQLite's writer
/// lock already serialises writers), so that a reply and the breach scan queue.
pub fn find_for_update(conn: &mut DbConnection, id: Uuid) -> Result<TicketRow, PersistenceError> {
    if let DbConnection::Postgres(pg) = conn {
        tickets::table
            .find(DbUuid(id))
            .select(tickets::id)
            .for_update()
            .load::<DbUuid>(pg)?;
    }
    find(conn, id)
}

/// Writes `row` over the stored ticket with the same id, its version one more.
pub fn update(conn: &mut DbConnection, row: &TicketRow) -> Result<TicketRow, PersistenceError> {
    let mut row = row.clone();
    row.version += 1;
    row.updated_at = DbTime(crate::now());
    diesel::update(tickets::table.find(row.id))
        .set(&row)
        .execute(conn)?;
    Ok(row)
}

/// Writes `row` as it is, its version kept: what the same transaction derived from the
/// ticket it has just written (its owner, policy and due times, which are judged by the
/// database against the stored row).
pub fn rewrite(conn: &mut DbConnection, row: &TicketRow) -> Result<(), PersistenceError> {
    diesel::update(tickets::table.find(row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    crate::record_shares::forget_records(conn, domain::partners::SharedKind::Ticket, &[id])?;
    diesel::delete(tickets::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// Deletes the tickets `ids` with everything that cascades from them; answers how many.
pub fn delete_many(conn: &mut DbConnection, ids: &[Uuid]) -> Result<usize, PersistenceError> {
    crate::record_shares::forget_records(conn, domain::partners::SharedKind::Ticket, ids)?;
    let mut deleted = 0;
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        deleted +=
            diesel::delete(tickets::table.filter(tickets::id.eq_any(chunk))).execute(conn)?;
    }
    Ok(deleted)
}

/// The tickets whose SLA check time has come by `now`, earliest first, at most
/// `limit`: what one pass of the breach scan looks at.
pub fn due_for_check(
    conn: &mut DbConnection,
    now: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> Result<Vec<Uuid>, PersistenceError> {
    Ok(tickets::table
        .filter(tickets::sla_check_at.le(DbTime(now)))
        .order((tickets::sla_check_at, tickets::id))
        .select(tickets::id)
        .limit(limit)
        .load::<DbUuid>(conn)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

/// The earliest check time of any ticket.
pub fn next_check_at(
    conn: &mut DbConnection,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, PersistenceError> {
    Ok(tickets::table
        .filter(tickets::sla_check_at.is_not_null())
        .order(tickets::sla_check_at)
        .select(tickets::sla_check_at)
        .first::<Option<DbTime>>(conn)
        .optional()?
        .flatten()
        .map(|at| at.0))
}

/// How many open tickets (`statuses`) each of `owners` holds; owners with none are
/// absent.
pub fn open_counts(
    conn: &mut DbConnection,
    owners: &[Uuid],
    statuses: &[&str],
) -> Result<HashMap<Uuid, i64>, PersistenceError> {
    let ids: Vec<DbUuid> = owners.iter().copied().map(DbUuid).collect();
    Ok(tickets::table
        .filter(tickets::owner_id.eq_any(ids))
        .filter(tickets::status.eq_any(statuses))
        .group_by(tickets::owner_id)
        .select((tickets::owner_id, diesel::dsl::count_star()))
        .load::<(Option<DbUuid>, i64)>(conn)?
        .into_iter()
        .filter_map(|(owner, count)| owner.map(|owner| (owner.0, count)))
        .collect())
}

/// The tickets of `customer` that `scope` may see, for the 360 view: those in one of
/// `open` statuses, soonest resolution due first (those without a due time last), at
/// most `open_limit`; and the others, latest changed first, at most `closed_limit`.
pub fn of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
    scope: &Scope,
    open: &[&str],
    open_limit: i64,
    closed_limit: i64,
) -> Result<(Vec<TicketRow>, Vec<TicketRow>), PersistenceError> {
    let of = |scope: &Scope| {
        visible_to(
            tickets::table
                .filter(tickets::customer_id.eq(DbUuid(customer)))
                .select(TicketRow::as_select())
                .into_boxed::<MultiBackend>(),
            scope,
        )
    };
    let open_rows = of(scope)
        .filter(tickets::status.eq_any(open))
        .order((
            tickets::resolution_due_at.is_null(),
            tickets::resolution_due_at,
            tickets::created_at,
            tickets::id,
        ))
        .limit(open_limit)
        .load(conn)?;
    let closed_rows = of(scope)
        .filter(tickets::status.ne_all(open))
        .order((tickets::updated_at.desc(), tickets::id.desc()))
        .limit(closed_limit)
        .load(conn)?;
    Ok((open_rows, closed_rows))
}

/// One message of a ticket's conversation.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ticket_messages)]
pub struct MessageRow {
    pub id: DbUuid,
    pub ticket_id: DbUuid,
    pub kind: String,
    pub author_id: Option<DbUuid>,
    pub body: String,
    /// The users a note mentions, as a JSON array of ids.
    pub mentions: DbJson,
    pub created_at: DbTime,
}

/// A ticket message by its id (the caller checks the ticket).
pub fn find_message(conn: &mut DbConnection, id: Uuid) -> Result<MessageRow, PersistenceError> {
    ticket_messages::table
        .find(DbUuid(id))
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

pub fn insert_message(conn: &mut DbConnection, row: &MessageRow) -> Result<(), PersistenceError> {
    diesel::insert_into(ticket_messages::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The ticket's messages in the order they were written, after `after` (keyset on
/// creation time and id), at most `limit`.
pub fn messages(
    conn: &mut DbConnection,
    ticket: Uuid,
    after: Option<(chrono::DateTime<chrono::Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<MessageRow>, PersistenceError> {
    let mut query = ticket_messages::table
        .filter(ticket_messages::ticket_id.eq(DbUuid(ticket)))
        .select(MessageRow::as_select())
        .into_boxed::<MultiBackend>();
    if let Some((at, id)) = after {
        let at = DbTime(at);
        query = query.filter(
            ticket_messages::created_at
                .gt(at)
                .or(ticket_messages::created_at
                    .eq(at)
                    .and(ticket_messages::id.gt(DbUuid(id)))),
        );
    }
    Ok(query
        .order((ticket_messages::created_at, ticket_messages::id))
        .limit(limit)
        .load(conn)?)
}

/// The latest `limit` messages of `kind` of the ticket, newest first.
pub fn latest_messages(
    conn: &mut DbConnection,
    ticket: Uuid,
    kind: &str,
    limit: i64,
) -> Result<Vec<MessageRow>, PersistenceError> {
    Ok(ticket_messages::table
        .filter(ticket_messages::ticket_id.eq(DbUuid(ticket)))
        .filter(ticket_messages::kind.eq(kind))
        .order((
            ticket_messages::created_at.desc(),
            ticket_messages::id.desc(),
        ))
        .select(MessageRow::as_select())
        .limit(limit)
        .load(conn)?)
}

/// Every message of the ticket, oldest first (the personal-data export).
pub fn all_messages(
    conn: &mut DbConnection,
    ticket: Uuid,
) -> Result<Vec<MessageRow>, PersistenceError> {
    messages(conn, ticket, None, i64::MAX)
}

/// A move of a ticket's status.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ticket_status_changes)]
pub struct StatusChangeRow {
    pub id: DbUuid,
    pub ticket_id: DbUuid,
    /// `None` for the status it was created with.
    pub from_status: Option<String>,
    pub to_status: String,
    pub changed_by: Option<DbUuid>,
    pub changed_at: DbTime,
    pub reason: Option<String>,
}

pub fn record_status(
    conn: &mut DbConnection,
    row: &StatusChangeRow,
) -> Result<(), PersistenceError> {
    diesel::insert_into(ticket_status_changes::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The ticket's status history, oldest first.
pub fn status_history(
    conn: &mut DbConnection,
    ticket: Uuid,
) -> Result<Vec<StatusChangeRow>, PersistenceError> {
    Ok(ticket_status_changes::table
        .filter(ticket_status_changes::ticket_id.eq(DbUuid(ticket)))
        .order((ticket_status_changes::changed_at, ticket_status_changes::id))
        .select(StatusChangeRow::as_select())
        .load(conn)?)
}

/// A breach of one target of a ticket's SLA.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ticket_sla_breaches)]
pub struct BreachRow {
    pub id: DbUuid,
    pub ticket_id: DbUuid,
    pub target: String,
    pub due_at: DbTime,
    pub breached_at: DbTime,
    /// Who held the ticket when it was breached.
    pub owner_id: Option<DbUuid>,
    pub team_id: Option<DbUuid>,
}

/// Records a breach unless it is recorded already (same ticket, target and due
/// time); answers whether this call recorded it.
pub fn record_breach(conn: &mut DbConnection, row: &BreachRow) -> Result<bool, PersistenceError> {
    let inserted = match conn {
        DbConnection::Postgres(pg) => diesel::insert_into(ticket_sla_breaches::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg)?,
        DbConnection::Sqlite(lite) => diesel::insert_or_ignore_into(ticket_sla_breaches::table)
            .values(row)
            .execute(lite)?,
    };
    Ok(inserted > 0)
}

/// The ticket's breaches, oldest first.
pub fn breaches(conn: &mut DbConnection, ticket: Uuid) -> Result<Vec<BreachRow>, PersistenceError> {
    Ok(ticket_sla_breaches::table
        .filter(ticket_sla_breaches::ticket_id.eq(DbUuid(ticket)))
        .order((ticket_sla_breaches::breached_at, ticket_sla_breaches::id))
        .select(BreachRow::as_select())
        .load(conn)?)
}

/// Whether the ticket `id` meets `filter` (an SLA policy's or an assignment rule's
/// condition), asked of the database so that a condition means exactly what the same
/// filter means in a search.
pub fn matches(
    conn: &mut DbConnection,
    id: Uuid,
    filter: &domain::filter::ResolvedFilter,
) -> Result<bool, SearchError> {
    let found: i64 = tickets::table
        .filter(tickets::id.eq(DbUuid(id)))
        .filter(crate::filter::condition::<TicketColumns>(filter)?)
        .count()
        .get_result(conn)
        .map_err(PersistenceError::from)?;
    Ok(found > 0)
}

/// How many tickets hold a value for custom field `key`.
pub fn count_with_custom_value(
    conn: &mut DbConnection,
    key: &str,
) -> Result<i64, PersistenceError> {
    crate::custom_values::count_holding(conn, "tickets", key)
}

/// Column mapping of the tickets catalogue.
pub struct TicketColumns;

impl SearchTable for TicketColumns {
    type Table = tickets::table;

    fn column(field: &str) -> Option<SearchColumn<tickets::table>> {
        use tickets as t;
        Some(match field {
            "id" => SearchColumn::Uuid(|| Box::new(t::id.nullable())),
            "number" => SearchColumn::Integer(|| Box::new(t::number.nullable())),
            "subject" => SearchColumn::Text(|| Box::new(t::subject.nullable())),
            "customer_id" => SearchColumn::Uuid(|| Box::new(t::customer_id.nullable())),
            "contact_id" => SearchColumn::Uuid(|| Box::new(t::contact_id)),
            "channel" => SearchColumn::Text(|| Box::new(t::channel.nullable())),
            "category_id" => SearchColumn::Uuid(|| Box::new(t::category_id)),
            "priority" => SearchColumn::Text(|| Box::new(t::priority.nullable())),
            "status" => SearchColumn::Text(|| Box::new(t::status.nullable())),
            "owner_id" => SearchColumn::Uuid(|| Box::new(t::owner_id)),
            "team_id" => SearchColumn::Uuid(|| Box::new(t::team_id)),
            "order_id" => SearchColumn::Uuid(|| Box::new(t::order_id)),
            "product_id" => SearchColumn::Uuid(|| Box::new(t::product_id)),
            "sla_policy_id" => SearchColumn::Uuid(|| Box::new(t::sla_policy_id)),
            "first_response_due_at" => {
                SearchColumn::Timestamp(|| Box::new(t::first_response_due_at))
            }
            "resolution_due_at" => SearchColumn::Timestamp(|| Box::new(t::resolution_due_at)),
            "first_responded_at" => SearchColumn::Timestamp(|| Box::new(t::first_responded_at)),
            "resolved_at" => SearchColumn::Timestamp(|| Box::new(t::resolved_at)),
            "sla_breached" => SearchColumn::Bool(|| Box::new(t::sla_breached.nullable())),
            "reassignments" => SearchColumn::Integer(|| Box::new(t::reassignments.nullable())),
            "created_by" => SearchColumn::Uuid(|| Box::new(t::created_by)),
            "created_at" => SearchColumn::Timestamp(|| Box::new(t::created_at.nullable())),
            "updated_at" => SearchColumn::Timestamp(|| Box::new(t::updated_at.nullable())),
            _ => return None,
        })
    }

    fn related_condition(
        field: &str,
        predicate: &Predicate,
    ) -> Option<Result<Condition<tickets::table>, FilterError>> {
        match field {
            "tag" => Some(tag_condition(predicate)),
            "customer_tier_id" => Some(tier_condition(predicate)),
            _ => crate::custom_values::condition(field, predicate, "tickets.custom_fields"),
        }
    }
}

/// `tag` conditions: whether the ticket carries the tag(s), or one containing or
/// starting with the text.
fn tag_condition(predicate: &Predicate) -> Result<Condition<tickets::table>, FilterError> {
    let texts = |values: &[TypedValue]| -> Result<Vec<String>, FilterError> {
        values
            .iter()
            .map(|value| match value {
                TypedValue::Text(text) => Ok(text.clone()),
                _ => Err(FilterError::ColumnMismatch("tag".into())),
            })
            .collect()
    };
    let carries = |tags: Vec<String>, present: bool| -> Condition<tickets::table> {
        let found = diesel::dsl::exists(
            ticket_tags::table
                .filter(ticket_tags::ticket_id.eq(tickets::id))
                .filter(ticket_tags::tag.eq_any(tags)),
        );
        if present {
            Box::new(found.nullable())
        } else {
            Box::new(diesel::dsl::not(found).nullable())
        }
    };
    let like = |pattern: String| -> Condition<tickets::table> {
        Box::new(
            diesel::dsl::exists(
                ticket_tags::table
                    .filter(ticket_tags::ticket_id.eq(tickets::id))
                    .filter(ticket_tags::tag.like(pattern).escape('\\')),
            )
            .nullable(),
        )
    };
    Ok(match predicate {
        Predicate::Eq(value) => carries(texts(std::slice::from_ref(value))?, true),
        Predicate::In(values) => carries(texts(values)?, true),
        Predicate::Neq(value) => carries(texts(std::slice::from_ref(value))?, false),
        Predicate::NotIn(values) => carries(texts(values)?, false),
        Predicate::Contains(text) => like(format!("%{}%", like_escape(text))),
        Predicate::StartsWith(text) => like(format!("{}%", like_escape(text))),
        _ => return Err(FilterError::ColumnMismatch("tag".into())),
    })
}

/// `customer_tier_id` conditions: on the tier of the ticket's customer.
fn tier_condition(predicate: &Predicate) -> Result<Condition<tickets::table>, FilterError> {
    let ids = |values: &[TypedValue]| -> Result<Vec<DbUuid>, FilterError> {
        values
            .iter()
            .map(|value| match value {
                TypedValue::Uuid(id) => Ok(DbUuid(*id)),
                _ => Err(FilterError::ColumnMismatch("customer_tier_id".into())),
            })
            .collect()
    };
    let of_customer = || customers::table.filter(customers::id.eq(tickets::customer_id));
    let in_tiers = |ids: Vec<DbUuid>, present: bool| -> Condition<tickets::table> {
        let found = diesel::dsl::exists(of_customer().filter(customers::tier_id.eq_any(ids)));
        if present {
            Box::new(found.nullable())
        } else {
            Box::new(diesel::dsl::not(found).nullable())
        }
    };
    Ok(match predicate {
        Predicate::Eq(value) => in_tiers(ids(std::slice::from_ref(value))?, true),
        Predicate::In(values) => in_tiers(ids(values)?, true),
        Predicate::Neq(value) => in_tiers(ids(std::slice::from_ref(value))?, false),
        Predicate::NotIn(values) => in_tiers(ids(values)?, false),
        Predicate::IsNull(none) => {
            let without = diesel::dsl::exists(of_customer().filter(customers::tier_id.is_null()));
            if *none {
                Box::new(without.nullable())
            } else {
                Box::new(diesel::dsl::not(without).nullable())
            }
        }
        _ => return Err(FilterError::ColumnMismatch("customer_tier_id".into())),
    })
}

/// `query` narrowed to the tickets `scope` may see: their owner's or team's, as for
/// customers.
fn visible_to<'a, ST: 'a>(
    query: tickets::BoxedQuery<'a, MultiBackend, ST>,
    scope: &Scope,
) -> tickets::BoxedQuery<'a, MultiBackend, ST> {
    let me = DbUuid(scope.user_id);
    match (scope.visibility, scope.team_id) {
        (Visibility::All, _) => query,
        _ if scope.partner_id.is_some() => query.filter(tickets::owner_id.eq(me).or(
            tickets::id.eq_any(crate::shared_with!(
                scope.partner_id.unwrap_or_default(),
                domain::partners::SharedKind::Ticket
            )),
        )),
        (Visibility::Own, _) | (Visibility::Team, None) => query.filter(tickets::owner_id.eq(me)),
        (Visibility::Team, Some(team)) => query.filter(
            tickets::owner_id
                .eq(me)
                .or(tickets::team_id.eq(DbUuid(team))),
        ),
    }
}

/// The next `limit` tickets `scope` may see that match `criteria` and every
/// quick-search term (each reduced by `domain::persian::search_terms`, looked for in
/// the search text).
pub fn search(
    conn: &mut DbConnection,
    criteria: &SearchCriteria,
    terms: &[String],
    scope: &Scope,
    after: Option<&Keyset>,
    limit: i64,
) -> Result<Vec<TicketRow>, SearchError> {
    let mut query = visible_to(
        tickets::table
            .select(TicketRow::as_select())
            .into_boxed::<MultiBackend>(),
        scope,
    );
    for term in terms {
        query = query.filter(
            tickets::search_text
                .like(format!("%{}%", like_escape(term)))
                .escape('\\'),
        );
    }
    let query = apply_search::<TicketColumns, _>(query, criteria, after)?;
    Ok(query
        .limit(limit)
        .load(conn)
        .map_err(PersistenceError::from)?)
}

/// Whether `customer` has tickets (which keep the service history, so the customer is
/// erased rather than deleted).
pub fn customer_has_tickets(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<bool, PersistenceError> {
    let found: i64 = tickets::table
        .filter(tickets::customer_id.eq(DbUuid(customer)))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// The ids of `customer`'s tickets.
pub fn ids_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<Uuid>, PersistenceError> {
    Ok(tickets::table
        .filter(tickets::customer_id.eq(DbUuid(customer)))
        .select(tickets::id)
        .load::<DbUuid>(conn)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

/// Every ticket of `customer`, oldest first (the personal-data export).
pub fn all_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<TicketRow>, PersistenceError> {
    Ok(tickets::table
        .filter(tickets::customer_id.eq(DbUuid(customer)))
        .order((tickets::created_at, tickets::id))
        .select(TicketRow::as_select())
        .load(conn)?)
}

/// Moves tickets to another customer (merges and their undo).
pub fn move_to(
    conn: &mut DbConnection,
    ids: &[Uuid],
    customer: Uuid,
) -> Result<(), PersistenceError> {
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        diesel::update(tickets::table.filter(tickets::id.eq_any(chunk)))
            .set(tickets::customer_id.eq(DbUuid(customer)))
            .execute(conn)?;
    }
    Ok(())
}

/// Erasure of a customer's tickets: the subject becomes `placeholder`, the description
/// and tags go, the search text keeps only the number, every message's text becomes
/// `placeholder`; what happened when, and the SLA figures, stay. Answers how many
/// tickets there were.
pub fn redact_all(
    conn: &mut DbConnection,
    customer: Uuid,
    placeholder: &str,
) -> Result<usize, PersistenceError> {
    let ids = ids_of_customer(conn, customer)?;
    redact(conn, &ids, placeholder)
}

/// Redacts the tickets `ids` as [`redact_all`] does a customer's (erasure, retention);
/// answers how many there were.
pub fn redact(
    conn: &mut DbConnection,
    ids: &[Uuid],
    placeholder: &str,
) -> Result<usize, PersistenceError> {
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        diesel::update(ticket_messages::table.filter(ticket_messages::ticket_id.eq_any(&chunk)))
            .set((
                ticket_messages::body.eq(placeholder),
                ticket_messages::mentions.eq(DbJson(serde_json::json!([]))),
            ))
            .execute(conn)?;
        diesel::delete(ticket_tags::table.filter(ticket_tags::ticket_id.eq_any(&chunk)))
            .execute(conn)?;
        diesel::update(tickets::table.filter(tickets::id.eq_any(&chunk)))
            .set((
                tickets::subject.eq(placeholder),
                tickets::description.eq(None::<String>),
                tickets::tags.eq(DbJson(serde_json::json!([]))),
                tickets::custom_fields.eq(DbJson(serde_json::json!({}))),
                tickets::updated_at.eq(DbTime(crate::now())),
                tickets::version.eq(tickets::version + 1),
            ))
            .execute(conn)?;
    }
    // The number stays findable; the subject is gone from the search text.
    for id in ids {
        let number: i64 = tickets::table
            .find(DbUuid(*id))
            .select(tickets::number)
            .first(conn)?;
        diesel::update(tickets::table.find(DbUuid(*id)))
            .set(tickets::search_text.eq(number.to_string()))
            .execute(conn)?;
    }
    Ok(ids.len())
}

/// Tickets where `person` is the contact: the link is dropped (erasure of the person);
/// answers how many.
pub fn forget_contact(conn: &mut DbConnection, person: Uuid) -> Result<usize, PersistenceError> {
    Ok(
        diesel::update(tickets::table.filter(tickets::contact_id.eq(DbUuid(person))))
            .set(tickets::contact_id.eq(None::<DbUuid>))
            .execute(conn)?,
    )
}

/// Whether message `message` belongs to the conversation of `ticket`.
pub fn has_message(
    conn: &mut DbConnection,
    ticket: Uuid,
    message: Uuid,
) -> Result<bool, PersistenceError> {
    let found: i64 = ticket_messages::table
        .find(DbUuid(message))
        .filter(ticket_messages::ticket_id.eq(DbUuid(ticket)))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// Moves every message of `from` to `into` (a ticket merge); answers how many.
pub fn move_messages(
    conn: &mut DbConnection,
    from: Uuid,
    into: Uuid,
) -> Result<usize, PersistenceError> {
    Ok(
        diesel::update(ticket_messages::table.filter(ticket_messages::ticket_id.eq(DbUuid(from))))
            .set(ticket_messages::ticket_id.eq(DbUuid(into)))
            .execute(conn)?,
    )
}
