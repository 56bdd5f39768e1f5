//! Customer segments (M-1) and their materialised membership. A membership row is one
//! spell of a customer in a segment: `entered_at`, and `left_at` once it ends, so the
//! current members are the rows with `left_at` null (`segment_memberships_current_key`,
//! unique) and a customer who comes back gets a new row.
//!
//! A dynamic segment's difference is asked of the database a block at a time, walking
//! customer ids: who matches the condition and is no current member (entering), and
//! which current members no longer match (leaving). Neither the members nor the
//! matching customers are ever all in memory.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::Bool;
use domain::filter::ResolvedFilter;
use uuid::Uuid;

use crate::customers::search::{CustomerColumns, Scope};
use crate::db::{DbConnection, MultiBackend};
use crate::filter::{condition, Condition, SearchError};
use crate::schema::{customers, segment_memberships, segments};
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::PersistenceError;

const DUPLICATE_NAME: &str = "a segment with this name already exists";

/// Rows per `INSERT` and ids per `IN` list, well below SQLite's parameter limit.
const CHUNK: usize = 500;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = segments, treat_none_as_null = true)]
pub struct SegmentRow {
    pub id: DbUuid,
    pub name: String,
    pub description: Option<String>,
    pub kind: String,
    /// The filter tree of a dynamic segment as the client wrote it; `None` for a static
    /// one.
    pub condition: Option<DbJson>,
    pub active: bool,
    pub refresh_interval_minutes: i64,
    /// Current members, as of the last change of the membership.
    pub member_count: i64,
    /// When a dynamic segment's membership was last computed.
    pub refreshed_at: Option<DbTime>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl SegmentRow {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "description": self.description,
            "kind": self.kind,
            "condition": self.condition.as_ref().map(|condition| &condition.0),
            "active": self.active,
            "refresh_interval_minutes": self.refresh_interval_minutes,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = segment_memberships, treat_none_as_default_value = false)]
pub struct MembershipRow {
    pub id: DbUuid,
    pub segment_id: DbUuid,
    pub customer_id: DbUuid,
    pub entered_at: DbTime,
    pub left_at: Option<DbTime>,
}

pub fn insert(conn: &mut DbConnection, row: &SegmentRow) -> Result<(), PersistenceError> {
    diesel::insert_into(segments::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_NAME))?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<SegmentRow, PersistenceError> {
    segments::table
        .find(DbUuid(id))
        .select(SegmentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// [`find`] holding the segment's row until the transaction ends (PostgreSQL; SQLite's
/// writer lock serialises writers already): two refreshes, or a refresh and a change
/// of the members by hand, of one segment take turns.
pub fn find_for_update(conn: &mut DbConnection, id: Uuid) -> Result<SegmentRow, PersistenceError> {
    if let DbConnection::Postgres(pg) = conn {
        segments::table
            .find(DbUuid(id))
            .select(segments::id)
            .for_update()
            .load::<DbUuid>(pg)?;
    }
    find(conn, id)
}

/// Writes `row`'s definition over the stored segment, its version one more.
pub fn update(conn: &mut DbConnection, row: &SegmentRow) -> Result<SegmentRow, PersistenceError> {
    let mut row = row.clone();
    row.version += 1;
    row.updated_at = DbTime(crate::now());
    diesel::update(segments::table.find(row.id))
        .set(&row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_NAME))?;
    Ok(row)
}

pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(segments::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// Segments in creation order after `after`; `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<SegmentRow>, PersistenceError> {
    let query = segments::table
        .select(SegmentRow::as_select())
        .into_boxed::<MultiBackend>();
    Ok(crate::creation_order_page!(
        conn, segments, query, after, limit
    )?)
}

/// The active dynamic segments, whose membership is refreshed periodically.
pub fn active_dynamic(conn: &mut DbConnection) -> Result<Vec<SegmentRow>, PersistenceError> {
    Ok(segments::table
        .filter(segments::active.eq(true))
        .filter(segments::kind.eq("dynamic"))
        .order(segments::id)
        .select(SegmentRow::as_select())
        .load(conn)?)
}

/// Stores the member count (counted now) and, for a refresh, when it ran.
pub fn store_count(
    conn: &mut DbConnection,
    segment: Uuid,
    refreshed_at: Option<DateTime<Utc>>,
) -> Result<i64, PersistenceError> {
    let count = current_count(conn, segment)?;
    let query = diesel::update(segments::table.find(DbUuid(segment)));
    match refreshed_at {
        Some(at) => query
            .set((
                segments::member_count.eq(count),
                segments::refreshed_at.eq(Some(DbTime(at))),
            ))
            .execute(conn)?,
        None => query.set(segments::member_count.eq(count)).execute(conn)?,
    };
    Ok(count)
}

fn current_count(conn: &mut DbConnection, segment: Uuid) -> Result<i64, PersistenceError> {
    Ok(segment_memberships::table
        .filter(segment_memberships::segment_id.eq(DbUuid(segment)))
        .filter(segment_memberships::left_at.is_null())
        .count()
        .get_result(conn)?)
}

/// The next `limit` customers after `after` (by id) who are unmerged, match `filter`
/// and are no current member of `segment`: those entering it.
pub fn entering(
    conn: &mut DbConnection,
    segment: Uuid,
    filter: &ResolvedFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Uuid>, SearchError> {
    let mut query = customers::table
        .select(customers::id)
        .filter(customers::merged_into_id.is_null())
        .filter(condition::<CustomerColumns>(filter)?)
        .filter(NotCurrentMember(DbUuid(segment)))
        .into_boxed::<MultiBackend>();
    if let Some(after) = after {
        query = query.filter(customers::id.gt(DbUuid(after)));
    }
    let ids: Vec<DbUuid> = query
        .order(customers::id)
        .limit(limit)
        .load(conn)
        .map_err(PersistenceError::from)?;
    Ok(ids.into_iter().map(|id| id.0).collect())
}

/// The next `limit` current members of `segment` after customer `after` who are no
/// longer unmerged customers matching `filter`: those leaving it.
pub fn leaving(
    conn: &mut DbConnection,
    segment: Uuid,
    filter: &ResolvedFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<MembershipRow>, SearchError> {
    let mut query = segment_memberships::table
        .select(MembershipRow::as_select())
        .filter(segment_memberships::segment_id.eq(DbUuid(segment)))
        .filter(segment_memberships::left_at.is_null())
        .filter(CustomerIn {
            negated: true,
            live: true,
            filter: Some(condition::<CustomerColumns>(filter)?),
            scope: None,
        })
        .into_boxed::<MultiBackend>();
    if let Some(after) = after {
        query = query.filter(segment_memberships::customer_id.gt(DbUuid(after)));
    }
    Ok(query
        .order(segment_memberships::customer_id)
        .limit(limit)
        .load(conn)
        .map_err(PersistenceError::from)?)
}

/// Opens a spell in `segment` for each of `customers` at `at`; answers the new rows.
pub fn enter(
    conn: &mut DbConnection,
    segment: Uuid,
    customers: &[Uuid],
    at: DateTime<Utc>,
) -> Result<Vec<MembershipRow>, PersistenceError> {
    let rows: Vec<MembershipRow> = customers
        .iter()
        .map(|customer| MembershipRow {
            id: DbUuid(Uuid::now_v7()),
            segment_id: DbUuid(segment),
            customer_id: DbUuid(*customer),
            entered_at: DbTime(at),
            left_at: None,
        })
        .collect();
    // A refresh opens thousands of spells at once: `COPY` on PostgreSQL.
    for chunk in rows.chunks(CHUNK) {
        crate::copy_rows!(conn, segment_memberships::table, chunk)?;
    }
    Ok(rows)
}

/// Ends the spells `memberships` at `at`.
pub fn leave(
    conn: &mut DbConnection,
    memberships: &[Uuid],
    at: DateTime<Utc>,
) -> Result<(), PersistenceError> {
    for chunk in memberships.chunks(CHUNK) {
        diesel::update(
            segment_memberships::table
                .filter(segment_memberships::id.eq_any(chunk.iter().copied().map(DbUuid))),
        )
        .set(segment_memberships::left_at.eq(Some(DbTime(at))))
        .execute(conn)?;
    }
    Ok(())
}

/// The current spells in `segment` of those among `customers` who are members.
pub fn current_among(
    conn: &mut DbConnection,
    segment: Uuid,
    customers: &[Uuid],
) -> Result<Vec<MembershipRow>, PersistenceError> {
    let mut rows = Vec::new();
    for chunk in customers.chunks(CHUNK) {
        rows.extend(
            segment_memberships::table
                .filter(segment_memberships::segment_id.eq(DbUuid(segment)))
                .filter(segment_memberships::left_at.is_null())
                .filter(segment_memberships::customer_id.eq_any(chunk.iter().copied().map(DbUuid)))
                .select(MembershipRow::as_select())
                .load(conn)?,
        );
    }
    Ok(rows)
}

/// Spells of customers `scope` may see; `None` for whoever sees everyone.
fn visible(scope: &Scope) -> Option<CustomerIn> {
    scope.condition().map(|condition| CustomerIn {
        negated: false,
        live: false,
        filter: None,
        scope: Some(condition),
    })
}

/// The current members of `segment` that `scope` may see, by customer id after
/// `after`; `limit` rows.
pub fn members(
    conn: &mut DbConnection,
    segment: Uuid,
    scope: &Scope,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<MembershipRow>, PersistenceError> {
    let mut query = segment_memberships::table
        .select(MembershipRow::as_select())
        .filter(segment_memberships::segment_id.eq(DbUuid(segment)))
        .filter(segment_memberships::left_at.is_null())
        .into_boxed::<MultiBackend>();
    if let Some(visible) = visible(scope) {
        query = query.filter(visible);
    }
    if let Some(after) = after {
        query = query.filter(segment_memberships::customer_id.gt(DbUuid(after)));
    }
    Ok(query
        .order(segment_memberships::customer_id)
        .limit(limit)
        .load(conn)?)
}

/// Every spell in `segment` of customers `scope` may see, newest first (by id, which is
/// time ordered) before `before`; `limit` rows.
pub fn history(
    conn: &mut DbConnection,
    segment: Uuid,
    scope: &Scope,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<MembershipRow>, PersistenceError> {
    let mut query = segment_memberships::table
        .select(MembershipRow::as_select())
        .filter(segment_memberships::segment_id.eq(DbUuid(segment)))
        .into_boxed::<MultiBackend>();
    if let Some(visible) = visible(scope) {
        query = query.filter(visible);
    }
    if let Some(before) = before {
        query = query.filter(segment_memberships::id.lt(DbUuid(before)));
    }
    Ok(query
        .order(segment_memberships::id.desc())
        .limit(limit)
        .load(conn)?)
}

/// The display names of `customers` (a page of members).
pub fn display_names(
    conn: &mut DbConnection,
    customers: &[Uuid],
) -> Result<HashMap<Uuid, String>, PersistenceError> {
    let mut names = HashMap::with_capacity(customers.len());
    for chunk in customers.chunks(CHUNK) {
        let rows: Vec<(DbUuid, String)> = customers::table
            .filter(customers::id.eq_any(chunk.iter().copied().map(DbUuid)))
            .select((customers::id, customers::display_name))
            .load(conn)?;
        names.extend(rows.into_iter().map(|(id, name)| (id.0, name)));
    }
    Ok(names)
}

/// Every spell of `customer` in any segment, oldest first.
pub fn of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<MembershipRow>, PersistenceError> {
    Ok(segment_memberships::table
        .filter(segment_memberships::customer_id.eq(DbUuid(customer)))
        .order(segment_memberships::id)
        .select(MembershipRow::as_select())
        .load(conn)?)
}

/// The segments `customer` is a member of now, by name.
pub fn current_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<(SegmentRow, MembershipRow)>, PersistenceError> {
    Ok(segments::table
        .inner_join(segment_memberships::table)
        .filter(segment_memberships::customer_id.eq(DbUuid(customer)))
        .filter(segment_memberships::left_at.is_null())
        .order((segments::name, segments::id))
        .select((SegmentRow::as_select(), MembershipRow::as_select()))
        .load(conn)?)
}

/// Deletes every spell of `customer` (erasure); answers how many there were.
pub fn delete_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<usize, PersistenceError> {
    Ok(diesel::delete(
        segment_memberships::table.filter(segment_memberships::customer_id.eq(DbUuid(customer))),
    )
    .execute(conn)?)
}

/// No current spell of a segment for the customer: a condition on `customers` (diesel
/// cannot box a query holding a subselect for the multi-backend connection). Written as
/// `NOT EXISTS`, which both backends answer by an index probe per customer (an
/// anti-join); PostgreSQL plans `NOT IN` over a subquery larger than `work_mem` as a
/// scan of the subquery per row, which a refresh of a million customers cannot afford.
#[derive(Debug, Clone, Copy)]
struct NotCurrentMember(DbUuid);

impl Expression for NotCurrentMember {
    type SqlType = Bool;
}

impl AppearsOnTable<customers::table> for NotCurrentMember {}
impl SelectableExpression<customers::table> for NotCurrentMember {}

impl ValidGrouping<()> for NotCurrentMember {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl QueryId for NotCurrentMember {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<MultiBackend> for NotCurrentMember {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql(
            "NOT EXISTS (SELECT 1 FROM segment_memberships AS current \
             WHERE current.left_at IS NULL AND current.customer_id = customers.id \
             AND current.segment_id = ",
        );
        out.push_bind_param::<crate::sql_types::Uuid, _>(&self.0)?;
        out.push_sql(")");
        Ok(())
    }
}

/// `[NOT] EXISTS (SELECT 1 FROM customers WHERE customers.id = segment_memberships.customer_id
/// AND …)`: a condition on spells by their customer — unmerged (`live`), meeting
/// `filter`, seen by `scope`; `EXISTS` for the same reason as [`NotCurrentMember`].
struct CustomerIn {
    negated: bool,
    live: bool,
    filter: Option<Condition<customers::table>>,
    scope: Option<Box<dyn BoxableExpression<customers::table, MultiBackend, SqlType = Bool>>>,
}

impl Expression for CustomerIn {
    type SqlType = Bool;
}

impl AppearsOnTable<segment_memberships::table> for CustomerIn {}
impl SelectableExpression<segment_memberships::table> for CustomerIn {}

impl ValidGrouping<()> for CustomerIn {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl QueryId for CustomerIn {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<MultiBackend> for CustomerIn {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql(if self.negated {
            "NOT EXISTS (SELECT 1 FROM customers \
             WHERE customers.id = segment_memberships.customer_id"
        } else {
            "EXISTS (SELECT 1 FROM customers WHERE customers.id = segment_memberships.customer_id"
        });
        if self.live {
            out.push_sql(" AND customers.merged_into_id IS NULL");
        }
        if let Some(filter) = &self.filter {
            out.push_sql(" AND (");
            filter.walk_ast(out.reborrow())?;
            out.push_sql(")");
        }
        if let Some(scope) = &self.scope {
            out.push_sql(" AND (");
            scope.walk_ast(out.reborrow())?;
            out.push_sql(")");
        }
        out.push_sql(")");
        Ok(())
    }
}
