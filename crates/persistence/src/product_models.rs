//! What `cross_sell` and `elasticity` runs read and keep: the products of baskets and
//! each product's units and revenue per period, aggregated by the database a block of
//! baskets or products at a time (a run never holds the order lines), and the rules and
//! elasticities each run found.
//!
//! A purchase is an order in a purchase status, as for the customer scores
//! (`crate::scores`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use domain::model_runs::BasketKind;
use uuid::Uuid;

use crate::db::{placeholders, DbConnection, MultiBackend};
use crate::reports::{bind_periods, periods_cte, PeriodBounds};
use crate::schema::{cross_sell_rules, price_elasticities};
use crate::scores::purchase_statuses_sql;
use crate::sql_types::{DbTime, DbUuid, UtcTimestamp, Uuid as SqlUuid};
use crate::PersistenceError;

/// Purchases placed in `[start, end)`; from the first purchase when `start` is `None`.
#[derive(Debug, Clone, Copy)]
pub struct SalesWindow {
    pub start: Option<DateTime<Utc>>,
    pub end: DateTime<Utc>,
}

impl SalesWindow {
    fn start(&self) -> DateTime<Utc> {
        self.start.unwrap_or_else(crate::reports::beginning)
    }
}

/// The key column of a basket on `orders`.
fn basket_key(kind: BasketKind) -> &'static str {
    match kind {
        BasketKind::Order => "id",
        BasketKind::Customer => "customer_id",
    }
}

/// How many baskets hold a purchase in the window.
pub fn basket_count(
    conn: &mut DbConnection,
    kind: BasketKind,
    window: &SalesWindow,
) -> Result<i64, PersistenceError> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        baskets: i64,
    }
    let sql = format!(
        "SELECT COUNT(DISTINCT {key}) AS baskets FROM orders          WHERE status IN ({statuses}) AND placed_at >= ? AND placed_at < ?",
        key = basket_key(kind),
        statuses = purchase_statuses_sql(),
    );
    let count: Count = diesel::sql_query(placeholders(conn, &sql))
        .bind::<UtcTimestamp, _>(DbTime(window.start()))
        .bind::<UtcTimestamp, _>(DbTime(window.end))
        .get_result(conn)?;
    Ok(count.baskets)
}

/// The next `limit` baskets after `after` (order or customer ids, in id order) with a
/// purchase in the window.
pub fn next_baskets(
    conn: &mut DbConnection,
    kind: BasketKind,
    window: &SalesWindow,
    after: Uuid,
    limit: i64,
) -> Result<Vec<Uuid>, PersistenceError> {
    #[derive(QueryableByName)]
    struct Basket {
        #[diesel(sql_type = SqlUuid)]
        basket: DbUuid,
    }
    let key = basket_key(kind);
    let sql = format!(
        "SELECT DISTINCT {key} AS basket FROM orders \
         WHERE {key} > ? AND status IN ({statuses}) AND placed_at >= ? AND placed_at < ? \
         ORDER BY basket LIMIT ?",
        statuses = purchase_statuses_sql(),
    );
    let baskets: Vec<Basket> = diesel::sql_query(placeholders(conn, &sql))
        .bind::<SqlUuid, _>(DbUuid(after))
        .bind::<UtcTimestamp, _>(DbTime(window.start()))
        .bind::<UtcTimestamp, _>(DbTime(window.end))
        .bind::<BigInt, _>(limit)
        .load(conn)?;
    Ok(baskets.into_iter().map(|b| b.basket.0).collect())
}

/// The distinct products of the baskets from `first` to `last` (inclusive), bought in
/// the window: `(basket, products)` in basket order, products in id order.
pub fn basket_products(
    conn: &mut DbConnection,
    kind: BasketKind,
    window: &SalesWindow,
    first: Uuid,
    last: Uuid,
) -> Result<Vec<(Uuid, Vec<Uuid>)>, PersistenceError> {
    #[derive(QueryableByName)]
    struct Item {
        #[diesel(sql_type = SqlUuid)]
        basket: DbUuid,
        #[diesel(sql_type = SqlUuid)]
        product_id: DbUuid,
    }
    let key = basket_key(kind);
    let sql = format!(
        "SELECT DISTINCT o.{key} AS basket, l.product_id AS product_id \
         FROM orders o JOIN order_lines l ON l.order_id = o.id \
         WHERE o.{key} >= ? AND o.{key} <= ? AND o.status IN ({statuses}) \
           AND o.placed_at >= ? AND o.placed_at < ? \
         ORDER BY basket, product_id",
        statuses = purchase_statuses_sql(),
    );
    let items: Vec<Item> = diesel::sql_query(placeholders(conn, &sql))
        .bind::<SqlUuid, _>(DbUuid(first))
        .bind::<SqlUuid, _>(DbUuid(last))
        .bind::<UtcTimestamp, _>(DbTime(window.start()))
        .bind::<UtcTimestamp, _>(DbTime(window.end))
        .load(conn)?;
    Ok(items
        .chunk_by(|a, b| a.basket == b.basket)
        .map(|basket| {
            let products = basket.iter().map(|item| item.product_id.0).collect();
            (basket[0].basket.0, products)
        })
        .collect())
}

/// How many products were sold in the window.
pub fn sold_product_count(
    conn: &mut DbConnection,
    window: &SalesWindow,
) -> Result<i64, PersistenceError> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        products: i64,
    }
    let sql = format!(
        "SELECT COUNT(DISTINCT l.product_id) AS products          FROM order_lines l JOIN orders o ON o.id = l.order_id          WHERE o.status IN ({statuses}) AND o.placed_at >= ? AND o.placed_at < ?",
        statuses = purchase_statuses_sql(),
    );
    let count: Count = diesel::sql_query(placeholders(conn, &sql))
        .bind::<UtcTimestamp, _>(DbTime(window.start()))
        .bind::<UtcTimestamp, _>(DbTime(window.end))
        .get_result(conn)?;
    Ok(count.products)
}

/// The next `limit` products after `after` (in id order) sold in the window.
pub fn next_sold_products(
    conn: &mut DbConnection,
    window: &SalesWindow,
    after: Uuid,
    limit: i64,
) -> Result<Vec<Uuid>, PersistenceError> {
    #[derive(QueryableByName)]
    struct Product {
        #[diesel(sql_type = SqlUuid)]
        product_id: DbUuid,
    }
    let sql = format!(
        "SELECT DISTINCT l.product_id AS product_id \
         FROM order_lines l JOIN orders o ON o.id = l.order_id \
         WHERE l.product_id > ? AND o.status IN ({statuses}) \
           AND o.placed_at >= ? AND o.placed_at < ? \
         ORDER BY product_id LIMIT ?",
        statuses = purchase_statuses_sql(),
    );
    let products: Vec<Product> = diesel::sql_query(placeholders(conn, &sql))
        .bind::<SqlUuid, _>(DbUuid(after))
        .bind::<UtcTimestamp, _>(DbTime(window.start()))
        .bind::<UtcTimestamp, _>(DbTime(window.end))
        .bind::<BigInt, _>(limit)
        .load(conn)?;
    Ok(products.into_iter().map(|p| p.product_id.0).collect())
}

/// What one product sold in one period (to one RFM segment, when split by segment).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct PriceCell {
    #[diesel(sql_type = SqlUuid)]
    pub product_id: DbUuid,
    /// The buyers' current RFM segment; `None` over all buyers.
    #[diesel(sql_type = Nullable<Text>)]
    pub segment: Option<String>,
    /// Index of the period in the list given.
    #[diesel(sql_type = BigInt)]
    pub period: i64,
    /// Units bought.
    #[diesel(sql_type = BigInt)]
    pub units: i64,
    /// Amount paid for them, after discounts.
    #[diesel(sql_type = BigInt)]
    pub revenue: i64,
}

/// Units and revenue of the products from `first` to `last` (inclusive) per period
/// with sales, over all buyers or, `by_segment`, per buyers' RFM segment (buyers
/// without one left out); ordered by product, segment and period.
pub fn price_cells(
    conn: &mut DbConnection,
    periods: &[PeriodBounds],
    first: Uuid,
    last: Uuid,
    by_segment: bool,
) -> Result<Vec<PriceCell>, PersistenceError> {
    if periods.is_empty() {
        return Ok(Vec::new());
    }
    let (segment, join) = if by_segment {
        (
            "c.rfm_segment",
            "JOIN customers c ON c.id = o.customer_id AND c.rfm_segment IS NOT NULL",
        )
    } else {
        ("CAST(NULL AS TEXT)", "")
    };
    // Sums are cast back to integers: PostgreSQL sums bigints as numeric.
    let sql = format!(
        "{cte} \
         SELECT l.product_id AS product_id, {segment} AS segment, periods.idx AS period, \
                CAST(SUM(l.quantity) AS BIGINT) AS units, \
                CAST(SUM(l.total) AS BIGINT) AS revenue \
         FROM periods \
         JOIN orders o ON o.placed_at >= periods.starts AND o.placed_at < periods.ends \
         JOIN order_lines l ON l.order_id = o.id \
         {join} \
         WHERE o.status IN ({statuses}) AND l.product_id >= ? AND l.product_id <= ? \
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        cte = periods_cte(periods.len(), false),
        statuses = purchase_statuses_sql(),
    );
    let query = diesel::sql_query(placeholders(conn, &sql)).into_boxed::<MultiBackend>();
    Ok(bind_periods(query, periods, false)
        .bind::<SqlUuid, _>(DbUuid(first))
        .bind::<SqlUuid, _>(DbUuid(last))
        .load(conn)?)
}

/// One association rule of a `cross_sell` run.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = cross_sell_rules)]
pub struct CrossSellRuleRow {
    pub run_id: DbUuid,
    /// 1 for the most confident rule.
    pub rank: i64,
    pub antecedent_id: DbUuid,
    pub consequent_id: DbUuid,
    /// Baskets holding both products.
    pub baskets: i64,
    pub support: f64,
    pub confidence: f64,
    pub lift: f64,
}

/// Rows per multi-row `INSERT`: eight values a row stays under SQLite's bound-value
/// limit.
const INSERT_CHUNK: usize = 1_000;

/// Stores the rules of a run.
pub fn insert_rules(
    conn: &mut DbConnection,
    rules: &[CrossSellRuleRow],
) -> Result<(), PersistenceError> {
    for chunk in rules.chunks(INSERT_CHUNK) {
        crate::insert_batch!(conn, cross_sell_rules::table, chunk)?;
    }
    Ok(())
}

/// Rules of run `run_id` after rank `after`, optionally only those from product
/// `antecedent`, in rank order.
pub fn rules(
    conn: &mut DbConnection,
    run_id: Uuid,
    antecedent: Option<Uuid>,
    after: i64,
    limit: i64,
) -> Result<Vec<CrossSellRuleRow>, PersistenceError> {
    use cross_sell_rules as r;
    let mut query = r::table
        .filter(r::run_id.eq(DbUuid(run_id)))
        .filter(r::rank.gt(after))
        .into_boxed::<MultiBackend>();
    if let Some(product) = antecedent {
        query = query.filter(r::antecedent_id.eq(DbUuid(product)));
    }
    Ok(query
        .order(r::rank)
        .limit(limit)
        .select(CrossSellRuleRow::as_select())
        .load(conn)?)
}

/// The price elasticity of one product (over one segment) in an `elasticity` run.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = price_elasticities)]
pub struct PriceElasticityRow {
    pub run_id: DbUuid,
    pub product_id: DbUuid,
    /// `all`, or the RFM segment of the buyers.
    pub segment: String,
    /// Periods with sales the fit used.
    pub periods: i64,
    pub units: i64,
    /// Revenue over units, in minor units of the business currency.
    pub mean_unit_price: i64,
    pub elasticity: f64,
    pub standard_error: f64,
    /// 95 % confidence interval.
    pub ci_low: f64,
    pub ci_high: f64,
    pub p_value: f64,
    pub r_squared: f64,
}

/// Stores the elasticities of a run.
pub fn insert_elasticities(
    conn: &mut DbConnection,
    rows: &[PriceElasticityRow],
) -> Result<(), PersistenceError> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        crate::insert_batch!(conn, price_elasticities::table, chunk)?;
    }
    Ok(())
}

/// Elasticities of run `run_id` after `(product, segment)` `after`, optionally of one
/// product or one segment, in product then segment order.
pub fn elasticities(
    conn: &mut DbConnection,
    run_id: Uuid,
    product: Option<Uuid>,
    segment: Option<&str>,
    after: Option<(Uuid, String)>,
    limit: i64,
) -> Result<Vec<PriceElasticityRow>, PersistenceError> {
    use price_elasticities as e;
    let mut query = e::table
        .filter(e::run_id.eq(DbUuid(run_id)))
        .into_boxed::<MultiBackend>();
    if let Some(product) = product {
        query = query.filter(e::product_id.eq(DbUuid(product)));
    }
    if let Some(segment) = segment {
        query = query.filter(e::segment.eq(segment.to_owned()));
    }
    if let Some((product, segment)) = after {
        query = query.filter(
            e::product_id.gt(DbUuid(product)).or(e::product_id
                .eq(DbUuid(product))
                .and(e::segment.gt(segment))),
        );
    }
    Ok(query
        .order((e::product_id, e::segment))
        .limit(limit)
        .select(PriceElasticityRow::as_select())
        .load(conn)?)
}

/// The SKU and name of each of `ids` that still exists.
pub fn product_labels(
    conn: &mut DbConnection,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, String, String)>, PersistenceError> {
    use crate::schema::products;
    let ids: Vec<DbUuid> = ids.iter().copied().map(DbUuid).collect();
    let rows: Vec<(DbUuid, String, String)> = products::table
        .filter(products::id.eq_any(ids))
        .select((products::id, products::sku, products::name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, sku, name)| (id.0, sku, name))
        .collect())
}
