//! Orders, their lines and returns (S-8), and the purchase facts each customer carries
//! (order count, revenue net of refunds, first and last purchase), which every write
//! here keeps current through [`refresh_facts`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable};
use domain::commerce::orders::OrderStatus;
use domain::filter::{Predicate, SearchCriteria};
use uuid::Uuid;

use crate::customers::search::Scope;
use crate::db::{DbConnection, MultiBackend};
use crate::filter::{
    apply_search, Condition, FilterError, Keyset, SearchColumn, SearchError, SearchTable,
};
use crate::schema::{customers, order_lines, order_return_lines, order_returns, orders};
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

const DUPLICATE_REFERENCE: &str =
    "an order with this external reference from this source already exists";

/// The stored names of the statuses that make an order a purchase.
fn purchase_statuses() -> Vec<&'static str> {
    OrderStatus::ALL
        .iter()
        .filter(|status| status.is_purchase())
        .map(|status| status.as_str())
        .collect()
}

/// What each of `customers` spent in purchases placed from `since` on, net of refunds;
/// customers without any are missing.
pub fn spend_since(
    conn: &mut DbConnection,
    customers: &[Uuid],
    since: DateTime<Utc>,
) -> Result<Vec<crate::loyalty::TierMeasure>, PersistenceError> {
    use crate::sql_types::{UtcTimestamp, Uuid as SqlUuid};
    if customers.is_empty() {
        return Ok(Vec::new());
    }
    let statuses = purchase_statuses_sql();
    let list = vec!["?"; customers.len()].join(", ");
    let sql = format!(
        "SELECT customer_id, CAST(SUM(total - refunded_total) AS BIGINT) AS measure \
         FROM orders WHERE status IN ({statuses}) AND placed_at >= ? \
         AND customer_id IN ({list}) GROUP BY customer_id"
    );
    let mut query = diesel::sql_query(crate::db::placeholders(conn, &sql))
        .into_boxed()
        .bind::<UtcTimestamp, _>(DbTime(since));
    for id in customers {
        query = query.bind::<SqlUuid, _>(DbUuid(*id));
    }
    Ok(query.load(conn)?)
}

/// The products `customer` bought, each with the last instant it was bought, in
/// product id order.
pub fn products_bought(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<(Uuid, DateTime<Utc>)>, PersistenceError> {
    let rows: Vec<(DbUuid, DbTime)> = order_lines::table
        .inner_join(orders::table)
        .filter(orders::customer_id.eq(DbUuid(customer)))
        .filter(orders::status.eq_any(purchase_statuses()))
        .select((order_lines::product_id, orders::placed_at))
        .load(conn)?;
    let mut last: std::collections::BTreeMap<Uuid, DateTime<Utc>> = Default::default();
    for (product, at) in rows {
        let entry = last.entry(product.0).or_insert(at.0);
        *entry = (*entry).max(at.0);
    }
    Ok(last.into_iter().collect())
}

/// The purchase statuses as an SQL `IN` list of their fixed names.
pub(crate) fn purchase_statuses_sql() -> String {
    purchase_statuses()
        .iter()
        .map(|status| format!("'{status}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: DbUuid,
    pub customer_id: DbUuid,
    pub placed_at: DbTime,
    pub status: String,
    pub channel: Option<String>,
    pub campaign: Option<String>,
    pub source: Option<String>,
    pub external_reference: Option<String>,
    pub currency: String,
    pub subtotal: i64,
    pub discount_total: i64,
    pub total: i64,
    pub refunded_total: i64,
    pub notes: Option<String>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl OrderRow {
    /// The stored status; an unknown value is corrupt data, never guessed.
    pub fn status(&self) -> Result<OrderStatus, PersistenceError> {
        OrderStatus::parse(&self.status).ok_or_else(|| {
            PersistenceError::Corrupt(format!("order {} has status {:?}", self.id.0, self.status))
        })
    }

    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "customer_id": self.customer_id.0,
            "placed_at": self.placed_at.0,
            "status": self.status,
            "channel": self.channel,
            "campaign": self.campaign,
            "source": self.source,
            "external_reference": self.external_reference,
            "currency": self.currency,
            "total": self.total,
            "refunded_total": self.refunded_total,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_lines)]
pub struct OrderLineRow {
    pub id: DbUuid,
    pub order_id: DbUuid,
    pub position: i32,
    pub product_id: DbUuid,
    pub quantity: i64,
    pub unit_price: i64,
    /// The product's unit cost when the order was placed, for profitability.
    pub unit_cost: Option<i64>,
    pub discount: i64,
    pub total: i64,
    pub returned_quantity: i64,
    pub refunded: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_returns)]
pub struct ReturnRow {
    pub id: DbUuid,
    pub order_id: DbUuid,
    pub reason: String,
    pub refund_total: i64,
    pub returned_at: DbTime,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_return_lines)]
pub struct ReturnLineRow {
    pub return_id: DbUuid,
    pub order_line_id: DbUuid,
    pub quantity: i64,
    pub refund: i64,
}

/// An order with its lines, in line order.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRecord {
    pub row: OrderRow,
    pub lines: Vec<OrderLineRow>,
}

/// Writes an order and its lines.
pub fn insert(conn: &mut DbConnection, record: &OrderRecord) -> Result<(), PersistenceError> {
    diesel::insert_into(orders::table)
        .values(&record.row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_REFERENCE))?;
    for chunk in record.lines.chunks(1_000) {
        crate::insert_batch!(conn, order_lines::table, chunk)?;
    }
    Ok(())
}

/// Many orders and their lines at once (imports): `COPY` on PostgreSQL.
pub fn insert_many(
    conn: &mut DbConnection,
    records: &[OrderRecord],
) -> Result<(), PersistenceError> {
    let rows: Vec<&OrderRow> = records.iter().map(|record| &record.row).collect();
    for chunk in rows.chunks(2_000) {
        crate::insert_batch!(
            conn,
            orders::table,
            chunk.iter().copied().cloned().collect::<Vec<_>>()
        )
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_REFERENCE))?;
    }
    let lines: Vec<OrderLineRow> = records
        .iter()
        .flat_map(|record| record.lines.clone())
        .collect();
    for chunk in lines.chunks(2_000) {
        crate::insert_batch!(conn, order_lines::table, chunk)?;
    }
    Ok(())
}

pub fn find_row(conn: &mut DbConnection, id: Uuid) -> Result<OrderRow, PersistenceError> {
    orders::table
        .find(DbUuid(id))
        .select(OrderRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<OrderRecord, PersistenceError> {
    let row = find_row(conn, id)?;
    Ok(with_lines(conn, vec![row])?.remove(0))
}

/// The orders with their lines, in the given order.
pub fn with_lines(
    conn: &mut DbConnection,
    rows: Vec<OrderRow>,
) -> Result<Vec<OrderRecord>, PersistenceError> {
    let mut by_order: HashMap<DbUuid, Vec<OrderLineRow>> = HashMap::new();
    let ids: Vec<DbUuid> = rows.iter().map(|row| row.id).collect();
    for chunk in ids.chunks(500) {
        let lines: Vec<OrderLineRow> = order_lines::table
            .filter(order_lines::order_id.eq_any(chunk))
            .order((order_lines::order_id, order_lines::position))
            .select(OrderLineRow::as_select())
            .load(conn)?;
        for line in lines {
            by_order.entry(line.order_id).or_default().push(line);
        }
    }
    Ok(rows
        .into_iter()
        .map(|row| OrderRecord {
            lines: by_order.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

/// Holds the order's row until the transaction ends (PostgreSQL; SQLite writers are
/// serialised already), so that two returns of the same order queue.
pub fn lock(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    if let DbConnection::Postgres(pg) = conn {
        orders::table
            .find(DbUuid(id))
            .select(orders::id)
            .for_update()
            .load::<DbUuid>(pg)?;
    }
    Ok(())
}

/// Writes the mutable fields of `row` if its version is still the stored one.
pub fn update(conn: &mut DbConnection, row: &OrderRow) -> Result<OrderRow, PersistenceError> {
    let updated = diesel::update(
        orders::table
            .filter(orders::id.eq(row.id))
            .filter(orders::version.eq(row.version)),
    )
    .set((
        orders::status.eq(&row.status),
        orders::channel.eq(&row.channel),
        orders::campaign.eq(&row.campaign),
        orders::notes.eq(&row.notes),
        orders::refunded_total.eq(row.refunded_total),
        orders::updated_at.eq(DbTime(crate::now())),
        orders::version.eq(row.version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        find_row(conn, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    find_row(conn, row.id.0)
}

/// Records a return: its rows, and each returned line's units and refund. A line that
/// would pass its bought quantity is refused as a conflict (the use case checks first,
/// under the order's lock; this is the guard of last resort).
pub fn record_return(
    conn: &mut DbConnection,
    row: &ReturnRow,
    lines: &[ReturnLineRow],
) -> Result<(), PersistenceError> {
    diesel::insert_into(order_returns::table)
        .values(row)
        .execute(conn)?;
    crate::insert_batch!(conn, order_return_lines::table, lines)?;
    for line in lines {
        let updated = diesel::update(
            order_lines::table
                .filter(order_lines::id.eq(line.order_line_id))
                .filter(order_lines::order_id.eq(row.order_id))
                .filter((order_lines::returned_quantity + line.quantity).le(order_lines::quantity)),
        )
        .set((
            order_lines::returned_quantity.eq(order_lines::returned_quantity + line.quantity),
            order_lines::refunded.eq(order_lines::refunded + line.refund),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Err(PersistenceError::Conflict(format!(
                "line {} has fewer units left to return",
                line.order_line_id.0
            )));
        }
    }
    Ok(())
}

/// Stores returns as they were (demo data, imports of history): the rows only; the
/// caller wrote the lines' returned units and the orders' refunds with the orders.
pub fn insert_returns(
    conn: &mut DbConnection,
    returns: &[ReturnRow],
    lines: &[ReturnLineRow],
) -> Result<(), PersistenceError> {
    for chunk in returns.chunks(2_000) {
        crate::insert_batch!(conn, order_returns::table, chunk)?;
    }
    for chunk in lines.chunks(2_000) {
        crate::insert_batch!(conn, order_return_lines::table, chunk)?;
    }
    Ok(())
}

/// The order's returns with their lines, oldest first.
pub fn returns_of(
    conn: &mut DbConnection,
    order: Uuid,
) -> Result<Vec<(ReturnRow, Vec<ReturnLineRow>)>, PersistenceError> {
    let returns: Vec<ReturnRow> = order_returns::table
        .filter(order_returns::order_id.eq(DbUuid(order)))
        .order((order_returns::created_at, order_returns::id))
        .select(ReturnRow::as_select())
        .load(conn)?;
    let ids: Vec<DbUuid> = returns.iter().map(|row| row.id).collect();
    let lines: Vec<ReturnLineRow> = order_return_lines::table
        .filter(order_return_lines::return_id.eq_any(&ids))
        .select(ReturnLineRow::as_select())
        .load(conn)?;
    Ok(returns
        .into_iter()
        .map(|row| {
            let mine = lines
                .iter()
                .filter(|line| line.return_id == row.id)
                .cloned()
                .collect();
            (row, mine)
        })
        .collect())
}

/// A customer's newest orders, at most `limit`.
pub fn latest_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
    limit: i64,
) -> Result<Vec<OrderRow>, PersistenceError> {
    Ok(orders::table
        .filter(orders::customer_id.eq(DbUuid(customer)))
        .order((orders::placed_at.desc(), orders::id.desc()))
        .limit(limit)
        .select(OrderRow::as_select())
        .load(conn)?)
}

/// Whether the customer has any order (such a customer is erased, never deleted).
pub fn customer_has_orders(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<bool, PersistenceError> {
    Ok(diesel::select(diesel::dsl::exists(
        orders::table.filter(orders::customer_id.eq(DbUuid(customer))),
    ))
    .get_result(conn)?)
}

/// The ids of the orders of `customer`.
pub fn ids_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<Uuid>, PersistenceError> {
    Ok(orders::table
        .filter(orders::customer_id.eq(DbUuid(customer)))
        .select(orders::id)
        .load::<DbUuid>(conn)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

/// Moves orders to another customer (merges and their undo).
pub fn move_to(
    conn: &mut DbConnection,
    ids: &[Uuid],
    customer: Uuid,
) -> Result<(), PersistenceError> {
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        diesel::update(orders::table.filter(orders::id.eq_any(chunk)))
            .set(orders::customer_id.eq(DbUuid(customer)))
            .execute(conn)?;
    }
    Ok(())
}

/// Empties the free text of a customer's orders (erasure): notes may name the person.
pub fn erase_notes(conn: &mut DbConnection, customer: Uuid) -> Result<usize, PersistenceError> {
    Ok(diesel::update(
        orders::table
            .filter(orders::customer_id.eq(DbUuid(customer)))
            .filter(orders::notes.is_not_null()),
    )
    .set(orders::notes.eq(None::<String>))
    .execute(conn)?)
}

pub use crate::customers::PurchaseFacts;

impl PurchaseFacts {
    /// Counts one purchase of net amount `net` placed at `at`.
    fn add(&mut self, net: i64, at: DateTime<Utc>) {
        self.order_count += 1;
        self.revenue = self.revenue.saturating_add(net);
        self.first_order_at = Some(self.first_order_at.map_or(at, |first| first.min(at)));
        self.last_order_at = Some(self.last_order_at.map_or(at, |last| last.max(at)));
    }
}

/// Recomputes and stores the purchase facts of each of `customer_ids`; answers them in
/// the same order. The caller holds the customers' locks. The purchases of a chunk of
/// customers are read in one query; each customer's row is then updated.
pub fn refresh_facts(
    conn: &mut DbConnection,
    customer_ids: &[Uuid],
) -> Result<Vec<PurchaseFacts>, PersistenceError> {
    let mut all = Vec::with_capacity(customer_ids.len());
    for chunk in customer_ids.chunks(500) {
        let ids: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        let rows: Vec<(DbUuid, i64, i64, DbTime)> = orders::table
            .filter(orders::customer_id.eq_any(ids))
            .filter(orders::status.eq_any(purchase_statuses()))
            .select((
                orders::customer_id,
                orders::total,
                orders::refunded_total,
                orders::placed_at,
            ))
            .load(conn)?;
        let mut facts: HashMap<Uuid, PurchaseFacts> = HashMap::with_capacity(chunk.len());
        for (customer, total, refunded, placed_at) in rows {
            facts
                .entry(customer.0)
                .or_default()
                .add(total - refunded, placed_at.0);
        }
        for &customer in chunk {
            let facts = facts.get(&customer).copied().unwrap_or_default();
            diesel::update(customers::table.find(DbUuid(customer)))
                .set((
                    customers::order_count.eq(facts.order_count),
                    customers::revenue.eq(facts.revenue),
                    customers::first_order_at.eq(facts.first_order_at.map(DbTime)),
                    customers::last_order_at.eq(facts.last_order_at.map(DbTime)),
                ))
                .execute(conn)?;
            all.push(facts);
        }
    }
    Ok(all)
}

/// The stored purchase facts of a customer.
pub fn stored_facts(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<PurchaseFacts, PersistenceError> {
    let (order_count, revenue, first, last): (i64, i64, Option<DbTime>, Option<DbTime>) =
        customers::table
            .find(DbUuid(customer))
            .select((
                customers::order_count,
                customers::revenue,
                customers::first_order_at,
                customers::last_order_at,
            ))
            .first(conn)
            .optional()?
            .ok_or(PersistenceError::NotFound)?;
    Ok(PurchaseFacts {
        order_count,
        revenue,
        first_order_at: first.map(|at| at.0),
        last_order_at: last.map(|at| at.0),
    })
}

/// The latest purchase of `customer` other than `order` placed at or before `at`.
pub fn purchase_before(
    conn: &mut DbConnection,
    customer: Uuid,
    order: Uuid,
    at: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, PersistenceError> {
    Ok(orders::table
        .filter(orders::customer_id.eq(DbUuid(customer)))
        .filter(orders::status.eq_any(purchase_statuses()))
        .filter(orders::id.ne(DbUuid(order)))
        .filter(orders::placed_at.le(DbTime(at)))
        .order(orders::placed_at.desc())
        .select(orders::placed_at)
        .first::<DbTime>(conn)
        .optional()?
        .map(|at| at.0))
}

/// The purchase instants of each of `customer_ids` (imports replay the lifecycle rules
/// over them).
pub fn purchase_times(
    conn: &mut DbConnection,
    customer_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<DateTime<Utc>>>, PersistenceError> {
    let mut times: HashMap<Uuid, Vec<DateTime<Utc>>> = HashMap::new();
    for chunk in customer_ids.chunks(500) {
        let ids: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        let rows: Vec<(DbUuid, DbTime)> = orders::table
            .filter(orders::customer_id.eq_any(ids))
            .filter(orders::status.eq_any(purchase_statuses()))
            .select((orders::customer_id, orders::placed_at))
            .load(conn)?;
        for (customer, at) in rows {
            times.entry(customer.0).or_default().push(at.0);
        }
    }
    Ok(times)
}

/// Which of `references` already name an order from `source`.
pub fn taken_references(
    conn: &mut DbConnection,
    source: &str,
    references: &[String],
) -> Result<Vec<String>, PersistenceError> {
    let mut taken = Vec::new();
    for chunk in references.chunks(500) {
        taken.extend(
            orders::table
                .filter(orders::source.eq(source))
                .filter(orders::external_reference.eq_any(chunk))
                .select(orders::external_reference.assume_not_null())
                .load::<String>(conn)?,
        );
    }
    Ok(taken)
}

/// A product a customer bought, with units kept (bought less returned) and what was
/// paid for them net of refunds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductBought {
    pub product_id: Uuid,
    pub units: i64,
    pub amount: i64,
}

/// The products `customer` bought most of (by amount paid), at most `limit`.
pub fn top_products(
    conn: &mut DbConnection,
    customer: Uuid,
    limit: usize,
) -> Result<Vec<ProductBought>, PersistenceError> {
    let rows: Vec<(DbUuid, i64, i64, i64, i64)> = order_lines::table
        .inner_join(orders::table)
        .filter(orders::customer_id.eq(DbUuid(customer)))
        .filter(orders::status.eq_any(purchase_statuses()))
        .select((
            order_lines::product_id,
            order_lines::quantity,
            order_lines::returned_quantity,
            order_lines::total,
            order_lines::refunded,
        ))
        .load(conn)?;
    let mut by_product: HashMap<Uuid, ProductBought> = HashMap::new();
    for (product, quantity, returned, total, refunded) in rows {
        let entry = by_product.entry(product.0).or_insert(ProductBought {
            product_id: product.0,
            units: 0,
            amount: 0,
        });
        entry.units += quantity - returned;
        entry.amount = entry.amount.saturating_add(total - refunded);
    }
    let mut products: Vec<ProductBought> = by_product
        .into_values()
        .filter(|bought| bought.units > 0)
        .collect();
    products.sort_by(|a, b| {
        b.amount
            .cmp(&a.amount)
            .then(a.product_id.cmp(&b.product_id))
    });
    products.truncate(limit);
    Ok(products)
}

/// What makes a customer churned for the churn check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lapse {
    /// The last purchase is before this instant.
    LastPurchaseBefore(DateTime<Utc>),
    /// The stored P(alive) is below `threshold` and there was no purchase at or after
    /// `since` (the end of the scoring run's calibration period).
    Unlikely {
        threshold: f64,
        since: DateTime<Utc>,
    },
}

type CustomerCondition =
    Box<dyn BoxableExpression<customers::table, MultiBackend, SqlType = Nullable<Bool>>>;

impl Lapse {
    fn condition(self) -> CustomerCondition {
        match self {
            Lapse::LastPurchaseBefore(cutoff) => {
                Box::new(customers::last_order_at.lt(DbTime(cutoff)))
            }
            Lapse::Unlikely { threshold, since } => Box::new(
                customers::p_alive.lt(threshold).and(
                    customers::last_order_at
                        .is_null()
                        .or(customers::last_order_at.lt(DbTime(since)))
                        .nullable(),
                ),
            ),
        }
    }
}

/// Up to `limit` customers after `after` (in id order) at one of `stages` that `lapse`
/// holds for, unmerged and not erased.
pub fn lapsed_customers(
    conn: &mut DbConnection,
    stages: &[&str],
    lapse: Lapse,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Uuid>, PersistenceError> {
    let mut query = customers::table
        .filter(lapse.condition())
        .filter(customers::lifecycle_stage.eq_any(stages))
        .filter(customers::merged_into_id.is_null())
        .filter(customers::erased_at.is_null())
        .select(customers::id)
        .order(customers::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(customers::id.gt(DbUuid(after)));
    }
    Ok(query
        .load::<DbUuid>(conn)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

/// Those of `ids` still at one of `stages` that `lapse` still holds for, with their
/// stage (read under the caller's lock).
pub fn still_lapsed(
    conn: &mut DbConnection,
    ids: &[Uuid],
    stages: &[&str],
    lapse: Lapse,
) -> Result<Vec<(Uuid, String)>, PersistenceError> {
    let ids: Vec<DbUuid> = ids.iter().copied().map(DbUuid).collect();
    Ok(customers::table
        .filter(customers::id.eq_any(ids))
        .filter(lapse.condition())
        .filter(customers::lifecycle_stage.eq_any(stages))
        .order(customers::id)
        .select((customers::id, customers::lifecycle_stage))
        .load::<(DbUuid, String)>(conn)?
        .into_iter()
        .map(|(id, stage)| (id.0, stage))
        .collect())
}

/// Column mapping of the orders catalogue.
pub struct OrderColumns;

impl SearchTable for OrderColumns {
    type Table = orders::table;

    fn column(field: &str) -> Option<SearchColumn<orders::table>> {
        use orders as o;
        Some(match field {
            "id" => SearchColumn::Uuid(|| Box::new(o::id.nullable())),
            "customer_id" => SearchColumn::Uuid(|| Box::new(o::customer_id.nullable())),
            "placed_at" => SearchColumn::Timestamp(|| Box::new(o::placed_at.nullable())),
            "status" => SearchColumn::Text(|| Box::new(o::status.nullable())),
            "channel" => SearchColumn::Text(|| Box::new(o::channel)),
            "campaign" => SearchColumn::Text(|| Box::new(o::campaign)),
            "source" => SearchColumn::Text(|| Box::new(o::source)),
            "external_reference" => SearchColumn::Text(|| Box::new(o::external_reference)),
            "currency" => SearchColumn::Text(|| Box::new(o::currency.nullable())),
            "subtotal" => SearchColumn::Integer(|| Box::new(o::subtotal.nullable())),
            "discount_total" => SearchColumn::Integer(|| Box::new(o::discount_total.nullable())),
            "total" => SearchColumn::Integer(|| Box::new(o::total.nullable())),
            "refunded_total" => SearchColumn::Integer(|| Box::new(o::refunded_total.nullable())),
            "created_by" => SearchColumn::Uuid(|| Box::new(o::created_by)),
            "created_at" => SearchColumn::Timestamp(|| Box::new(o::created_at.nullable())),
            "updated_at" => SearchColumn::Timestamp(|| Box::new(o::updated_at.nullable())),
            _ => return None,
        })
    }

    fn related_condition(
        field: &str,
        predicate: &Predicate,
    ) -> Option<Result<Condition<orders::table>, FilterError>> {
        (field == "product_id").then(|| product_condition(predicate))
    }
}

/// `product_id` conditions: whether the order has a line of the product(s).
fn product_condition(predicate: &Predicate) -> Result<Condition<orders::table>, FilterError> {
    use domain::filter::TypedValue;
    let ids = |values: &[TypedValue]| -> Result<Vec<DbUuid>, FilterError> {
        values
            .iter()
            .map(|value| match value {
                TypedValue::Uuid(id) => Ok(DbUuid(*id)),
                _ => Err(FilterError::ColumnMismatch("product_id".into())),
            })
            .collect()
    };
    let has = |ids: Vec<DbUuid>, present: bool| -> Condition<orders::table> {
        let lines = diesel::dsl::exists(
            order_lines::table
                .filter(order_lines::order_id.eq(orders::id))
                .filter(order_lines::product_id.eq_any(ids)),
        );
        if present {
            Box::new(lines.nullable())
        } else {
            Box::new(diesel::dsl::not(lines).nullable())
        }
    };
    Ok(match predicate {
        Predicate::Eq(value) => has(ids(std::slice::from_ref(value))?, true),
        Predicate::In(values) => has(ids(values)?, true),
        Predicate::Neq(value) => has(ids(std::slice::from_ref(value))?, false),
        Predicate::NotIn(values) => has(ids(values)?, false),
        // The catalogue offers only the comparisons above for `product_id`.
        _ => return Err(FilterError::ColumnMismatch("product_id".into())),
    })
}

/// The next `limit` orders of a search whose customers `scope` may see.
pub fn search(
    conn: &mut DbConnection,
    criteria: &SearchCriteria,
    scope: &Scope,
    after: Option<&Keyset>,
    limit: i64,
) -> Result<Vec<OrderRow>, SearchError> {
    let query = orders::table
        .select(OrderRow::as_select())
        .into_boxed::<MultiBackend>();
    let query = apply_search::<OrderColumns, _>(visible_to(query, scope), criteria, after)?;
    Ok(query
        .limit(limit)
        .load(conn)
        .map_err(PersistenceError::from)?)
}

/// How many orders [`search`] finds in all (its filter, without order or paging), e.g.
/// to report an export's progress.
pub fn count(
    conn: &mut DbConnection,
    criteria: &SearchCriteria,
    scope: &Scope,
) -> Result<i64, SearchError> {
    let mut query = visible_to(
        orders::table
            .select(diesel::dsl::count_star())
            .into_boxed::<MultiBackend>(),
        scope,
    );
    if let Some(filter) = &criteria.filter {
        query = query.filter(crate::filter::condition::<OrderColumns>(filter)?);
    }
    Ok(query.get_result(conn).map_err(PersistenceError::from)?)
}

/// `query` narrowed to the orders of customers `scope` may see.
fn visible_to<'a, ST: 'a>(
    query: orders::BoxedQuery<'a, MultiBackend, ST>,
    scope: &Scope,
) -> orders::BoxedQuery<'a, MultiBackend, ST> {
    crate::seen_through_customer!(query, orders::customer_id, scope)
}

/// Whether any order exists (the business currency cannot change once one does).
pub fn any_exist(conn: &mut DbConnection) -> Result<bool, PersistenceError> {
    Ok(diesel::select(diesel::dsl::exists(orders::table.select(orders::id))).get_result(conn)?)
}
