//! Behavioural events in storage: the definitions of event names (one row per name ever
//! sent, with its optional schema and engagement weight), the events, and per customer
//! and name the running facts — count, first and last time, the sum of the events'
//! masses (`domain::behaviour::engagement`) — that searches, segments and the 360 view
//! read without touching the events themselves.
//!
//! The facts are kept by the write that stores events, with one upsert per batch; a
//! merge and its undo, which move events between customers, count them again from the
//! events (`refresh_stats`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text};
use uuid::Uuid;

use crate::db::{placeholders, DbConnection};
use crate::schema::{behavioural_events, customer_event_stats, event_definitions};
use crate::sql_types::{DbJson, DbTime, DbUuid, UtcTimestamp, Uuid as SqlUuid};
use crate::PersistenceError;

/// Rows per `INSERT` of events (9 values each): under SQLite's bound-value limit.
const EVENT_CHUNK: usize = 1_000;
/// Rows per upsert of facts (6 values each).
const STATS_CHUNK: usize = 1_000;
/// Ids per `IN (...)` list.
const ID_CHUNK: usize = 500;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = event_definitions, treat_none_as_default_value = false)]
pub struct DefinitionRow {
    pub name: String,
    pub id: DbUuid,
    pub description: Option<String>,
    pub weight: f64,
    /// Property name -> `{"type", "required"}`; `None`: no schema.
    pub properties: Option<DbJson>,
    pub allow_other_properties: bool,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = behavioural_events, treat_none_as_default_value = false)]
pub struct EventRow {
    pub id: DbUuid,
    pub customer_id: DbUuid,
    pub origin_customer_id: DbUuid,
    pub event_name: String,
    pub properties: DbJson,
    pub occurred_at: DbTime,
    pub received_at: DbTime,
    pub api_key_id: Option<DbUuid>,
    pub mass: f64,
}

/// A customer's facts about one event name.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = customer_event_stats)]
pub struct StatsRow {
    pub customer_id: DbUuid,
    pub event_name: String,
    pub event_count: i64,
    pub first_at: DbTime,
    pub last_at: DbTime,
    pub mass: f64,
}

// --- Definitions

/// The definitions of `names` that exist.
pub fn definitions_named(
    conn: &mut DbConnection,
    names: &[String],
) -> Result<Vec<DefinitionRow>, PersistenceError> {
    Ok(event_definitions::table
        .filter(event_definitions::name.eq_any(names))
        .select(DefinitionRow::as_select())
        .load(conn)?)
}

/// Stores `rows` as definitions where their names have none yet (another writer may
/// have added one meanwhile: it stays).
pub fn insert_missing(
    conn: &mut DbConnection,
    rows: &[DefinitionRow],
) -> Result<(), PersistenceError> {
    if rows.is_empty() {
        return Ok(());
    }
    match conn {
        DbConnection::Postgres(pg) => diesel::insert_into(event_definitions::table)
            .values(rows)
            .on_conflict_do_nothing()
            .execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::insert_into(event_definitions::table)
            .values(rows)
            .on_conflict_do_nothing()
            .execute(sqlite)?,
    };
    Ok(())
}

pub fn count_definitions(conn: &mut DbConnection) -> Result<i64, PersistenceError> {
    Ok(event_definitions::table.count().get_result(conn)?)
}

pub fn find_definition(
    conn: &mut DbConnection,
    name: &str,
) -> Result<DefinitionRow, PersistenceError> {
    event_definitions::table
        .find(name)
        .select(DefinitionRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// One page of definitions in name order, after `after`: up to `limit + 1` rows, the
/// last telling that there is more.
pub fn list_definitions(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<DefinitionRow>, PersistenceError> {
    let mut query = event_definitions::table
        .select(DefinitionRow::as_select())
        .order(event_definitions::name.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(event_definitions::name.gt(after.to_string()));
    }
    Ok(query.load(conn)?)
}

/// Every defined name: the customer search catalogue's event fields (a business keeps
/// at most `domain::behaviour::MAX_EVENT_NAMES`).
pub fn all_names(conn: &mut DbConnection) -> Result<Vec<String>, PersistenceError> {
    Ok(event_definitions::table
        .select(event_definitions::name)
        .order(event_definitions::name.asc())
        .load(conn)?)
}

pub fn insert_definition(
    conn: &mut DbConnection,
    row: &DefinitionRow,
) -> Result<(), PersistenceError> {
    diesel::insert_into(event_definitions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Writes `row` over the stored definition of its name, which must still be at
/// `row.version`; answers the stored row, one version on.
pub fn update_definition(
    conn: &mut DbConnection,
    row: &DefinitionRow,
) -> Result<DefinitionRow, PersistenceError> {
    use event_definitions as d;
    let updated = diesel::update(
        d::table
            .filter(d::name.eq(&row.name))
            .filter(d::version.eq(row.version)),
    )
    .set((
        d::description.eq(&row.description),
        d::weight.eq(row.weight),
        d::properties.eq(&row.properties),
        d::allow_other_properties.eq(row.allow_other_properties),
        d::updated_at.eq(DbTime(crate::now())),
        d::version.eq(row.version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(PersistenceError::StaleVersion);
    }
    find_definition(conn, &row.name)
}

/// Whether any event of `name` is stored (its facts exist exactly when one is).
pub fn name_in_use(conn: &mut DbConnection, name: &str) -> Result<bool, PersistenceError> {
    Ok(diesel::select(diesel::dsl::exists(
        customer_event_stats::table.filter(customer_event_stats::event_name.eq(name)),
    ))
    .get_result(conn)?)
}

pub fn delete_definition(conn: &mut DbConnection, name: &str) -> Result<(), PersistenceError> {
    let deleted = diesel::delete(event_definitions::table.find(name)).execute(conn)?;
    if deleted == 0 {
        return Err(PersistenceError::NotFound);
    }
    Ok(())
}

// --- Events

/// Inserts `rows`, skipping any whose id is stored already (by an earlier request or a
/// concurrent one); answers the ids it inserted, the events whose facts to count.
pub fn insert(conn: &mut DbConnection, rows: &[EventRow]) -> Result<Vec<Uuid>, PersistenceError> {
    let mut inserted = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(EVENT_CHUNK) {
        let ids: Vec<DbUuid> = match conn {
            DbConnection::Postgres(pg) => diesel::insert_into(behavioural_events::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .returning(behavioural_events::id)
                .get_results(pg)?,
            DbConnection::Sqlite(sqlite) => diesel::insert_into(behavioural_events::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .returning(behavioural_events::id)
                .get_results(sqlite)?,
        };
        inserted.extend(ids.into_iter().map(|id| id.0));
    }
    Ok(inserted)
}

/// What newly stored events add to one customer's facts about one name.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsDelta {
    pub customer_id: Uuid,
    pub event_name: String,
    pub count: i64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub mass: f64,
}

/// Adds `deltas` to the stored facts, creating those not stored yet. Rows are written
/// in key order, so two concurrent batches about the same customers lock them in the
/// same order and never deadlock.
pub fn add_stats(
    conn: &mut DbConnection,
    deltas: &mut [StatsDelta],
) -> Result<(), PersistenceError> {
    deltas.sort_by(|a, b| (a.customer_id, &a.event_name).cmp(&(b.customer_id, &b.event_name)));
    for chunk in deltas.chunks(STATS_CHUNK) {
        let values = vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO customer_event_stats \
             (customer_id, event_name, event_count, first_at, last_at, mass) VALUES {values} \
             ON CONFLICT (customer_id, event_name) DO UPDATE SET \
             event_count = customer_event_stats.event_count + excluded.event_count, \
             first_at = CASE WHEN excluded.first_at < customer_event_stats.first_at \
                 THEN excluded.first_at ELSE customer_event_stats.first_at END, \
             last_at = CASE WHEN excluded.last_at > customer_event_stats.last_at \
                 THEN excluded.last_at ELSE customer_event_stats.last_at END, \
             mass = customer_event_stats.mass + excluded.mass"
        );
        let mut query = diesel::sql_query(placeholders(conn, &sql)).into_boxed();
        for delta in chunk.iter() {
            query = query
                .bind::<SqlUuid, _>(DbUuid(delta.customer_id))
                .bind::<Text, _>(delta.event_name.clone())
                .bind::<BigInt, _>(delta.count)
                .bind::<UtcTimestamp, _>(DbTime(delta.first_at))
                .bind::<UtcTimestamp, _>(DbTime(delta.last_at))
                .bind::<Double, _>(delta.mass);
        }
        query.execute(conn)?;
    }
    Ok(())
}

/// The page of `customer`'s events before `before` (`(occurred_at, id)` of the last
/// one seen), newest first, of `name` when given: up to `limit + 1` rows, the last
/// telling that there is more.
pub fn of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
    name: Option<&str>,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<EventRow>, PersistenceError> {
    use behavioural_events as e;
    let mut query = e::table
        .filter(e::customer_id.eq(DbUuid(customer)))
        .select(EventRow::as_select())
        .order((e::occurred_at.desc(), e::id.desc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some(name) = name {
        query = query.filter(e::event_name.eq(name.to_string()));
    }
    if let Some((at, id)) = before {
        query = query.filter(
            e::occurred_at
                .lt(DbTime(at))
                .or(e::occurred_at.eq(DbTime(at)).and(e::id.lt(DbUuid(id)))),
        );
    }
    Ok(query.load(conn)?)
}

/// `customer`'s facts, the most recent name first.
pub fn stats_of(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<StatsRow>, PersistenceError> {
    Ok(customer_event_stats::table
        .filter(customer_event_stats::customer_id.eq(DbUuid(customer)))
        .select(StatsRow::as_select())
        .order((
            customer_event_stats::last_at.desc(),
            customer_event_stats::event_name.asc(),
        ))
        .load(conn)?)
}

/// The sum of `customer`'s event masses, each name's weighted by its definition.
pub fn weighted_mass(conn: &mut DbConnection, customer: Uuid) -> Result<f64, PersistenceError> {
    let sum: Option<f64> = customer_event_stats::table
        .inner_join(event_definitions::table)
        .filter(customer_event_stats::customer_id.eq(DbUuid(customer)))
        .select(diesel::dsl::sum(
            event_definitions::weight * customer_event_stats::mass,
        ))
        .first(conn)?;
    Ok(sum.unwrap_or(0.0))
}

// `move_to(losers, winner)` for a merge (the facts are then counted again by
// [`refresh_stats`]) and `give_back(winner, loser, origins)` for its undo.
crate::follows_merges!(behavioural_events);

/// Counts the facts of `customers` again from their events.
pub fn refresh_stats(conn: &mut DbConnection, customers: &[Uuid]) -> Result<(), PersistenceError> {
    for chunk in customers.chunks(ID_CHUNK) {
        let ids: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        diesel::delete(
            customer_event_stats::table
                .filter(customer_event_stats::customer_id.eq_any(ids.clone())),
        )
        .execute(conn)?;
        let list = vec!["?"; ids.len()].join(", ");
        let sql = format!(
            "INSERT INTO customer_event_stats \
             (customer_id, event_name, event_count, first_at, last_at, mass) \
             SELECT customer_id, event_name, COUNT(*), MIN(occurred_at), MAX(occurred_at), \
             SUM(mass) FROM behavioural_events WHERE customer_id IN ({list}) \
             GROUP BY customer_id, event_name"
        );
        let mut query = diesel::sql_query(placeholders(conn, &sql)).into_boxed();
        for id in ids {
            query = query.bind::<SqlUuid, _>(id);
        }
        query.execute(conn)?;
    }
    Ok(())
}

/// Every event of `customer`, oldest first: the personal-data export.
pub fn all_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<EventRow>, PersistenceError> {
    Ok(behavioural_events::table
        .filter(behavioural_events::customer_id.eq(DbUuid(customer)))
        .select(EventRow::as_select())
        .order((
            behavioural_events::occurred_at.asc(),
            behavioural_events::id.asc(),
        ))
        .load(conn)?)
}

/// Deletes `customer`'s events and facts (an erasure); answers how many events.
pub fn delete_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<usize, PersistenceError> {
    diesel::delete(
        customer_event_stats::table.filter(customer_event_stats::customer_id.eq(DbUuid(customer))),
    )
    .execute(conn)?;
    Ok(diesel::delete(
        behavioural_events::table.filter(behavioural_events::customer_id.eq(DbUuid(customer))),
    )
    .execute(conn)?)
}
