//! What model runs read and write: per-customer aggregates of the purchase history,
//! computed by the database a block of customers at a time (so a run never holds the
//! orders in memory, only one row per buyer), and the scores stored on each customer
//! with the run that computed them.
//!
//! A purchase is an order in a purchase status; its amount is its total net of refunds.
//! Purchases are grouped by the calendar day on which they were placed in the business
//! time zone: PostgreSQL converts with `AT TIME ZONE`, SQLite with the `local_day`
//! function every connection registers (`crate::sqlite_functions`).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Double, Text};
use domain::commerce::orders::OrderStatus;
use uuid::Uuid;

use crate::db::{DbConnection, MultiBackend};
use crate::schema::customers;
use crate::sql_types::{DbJson, DbTime, DbUuid, UtcTimestamp, Uuid as SqlUuid};
use crate::PersistenceError;

/// The stored scores of one customer, each group with the run that computed it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerScores {
    pub rfm: Option<RfmScores>,
    pub clv: Option<ClvScores>,
    pub cluster: Option<ClusterScore>,
    pub churn: Option<ChurnScore>,
    pub recommendations: Option<Recommendations>,
}

/// The products a `cross_sell` run recommends to a customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendations {
    pub run_id: Uuid,
    /// `[{"product_id", "confidence", "lift", "because_of"}]`, best first.
    pub products: serde_json::Value,
}

/// The churn risk a `churn` run gave a buyer and the features that raise it most.
#[derive(Debug, Clone, PartialEq)]
pub struct ChurnScore {
    pub run_id: Uuid,
    /// Probability of no purchase in the run's window, 0 to 1.
    pub risk: f64,
    /// `[{"feature": …, "contribution": …}]`, largest first.
    pub drivers: serde_json::Value,
}

/// The cluster a `clusters` run put a buyer in (0-based, as in the run's profiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterScore {
    pub run_id: Uuid,
    pub cluster: i64,
}

/// RFM scores (1–5 each) and the segment's API name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RfmScores {
    pub run_id: Uuid,
    pub recency: i64,
    pub frequency: i64,
    pub monetary: i64,
    pub segment: String,
}

/// BG/NBD and Gamma-Gamma figures; money in minor units of the business currency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClvScores {
    pub run_id: Uuid,
    pub p_alive: f64,
    pub expected_purchases: f64,
    pub expected_spend: i64,
    pub clv: i64,
}

/// Restricts the orders read to purchases placed before `end`, grouped into days of
/// `zone`.
#[derive(Debug, Clone)]
pub struct PurchaseWindow {
    /// Exclusive.
    pub end: DateTime<Utc>,
    /// IANA name of the business time zone.
    pub zone: String,
}

/// One buyer's purchases up to a window's end, aggregated by the database.
#[derive(Debug, Clone, PartialEq)]
pub struct PurchaseAggregate {
    pub customer_id: Uuid,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// Distinct purchase days, the first included.
    pub purchase_days: i64,
    /// Net amount of all purchases.
    pub total_amount: i64,
    /// Net amount of the first purchase day.
    pub first_day_amount: i64,
    /// Orders read.
    pub orders: i64,
}

/// `IN (...)` list of the statuses that make an order a purchase (fixed names, so they
/// are written into the statement).
pub(crate) fn purchase_statuses_sql() -> String {
    OrderStatus::ALL
        .iter()
        .filter(|status| status.is_purchase())
        .map(|status| format!("'{}'", status.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The local-day expression of `placed_at`, taking the zone as a bound value.
fn day_of_placed_at(conn: &DbConnection) -> &'static str {
    match conn {
        DbConnection::Postgres(_) => "to_char(placed_at AT TIME ZONE ?, 'YYYY-MM-DD')",
        DbConnection::Sqlite(_) => "local_day(placed_at, ?)",
    }
}

/// How many customers made a purchase before the window's end.
pub fn buyer_count(
    conn: &mut DbConnection,
    window: &PurchaseWindow,
) -> Result<i64, PersistenceError> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        buyers: i64,
    }
    let sql = format!(
        "SELECT COUNT(DISTINCT customer_id) AS buyers FROM orders \
         WHERE status IN ({}) AND placed_at < ?",
        purchase_statuses_sql()
    );
    let count: Count = diesel::sql_query(crate::db::placeholders(conn, &sql))
        .bind::<UtcTimestamp, _>(DbTime(window.end))
        .get_result(conn)?;
    Ok(count.buyers)
}

/// The next `limit` buyers after `after` (in id order) with a purchase before the
/// window's end: the blocks a run reads.
pub fn next_buyers(
    conn: &mut DbConnection,
    window: &PurchaseWindow,
    after: Uuid,
    limit: i64,
) -> Result<Vec<Uuid>, PersistenceError> {
    #[derive(QueryableByName)]
    struct Buyer {
        #[diesel(sql_type = SqlUuid)]
        customer_id: DbUuid,
    }
    let sql = format!(
        "SELECT DISTINCT customer_id FROM orders \
         WHERE customer_id > ? AND status IN ({}) AND placed_at < ? \
         ORDER BY customer_id LIMIT ?",
        purchase_statuses_sql()
    );
    let buyers: Vec<Buyer> = diesel::sql_query(crate::db::placeholders(conn, &sql))
        .bind::<SqlUuid, _>(DbUuid(after))
        .bind::<UtcTimestamp, _>(DbTime(window.end))
        .bind::<BigInt, _>(limit)
        .load(conn)?;
    Ok(buyers.into_iter().map(|b| b.customer_id.0).collect())
}

/// The purchase aggregates of the buyers from `first` to `last` (inclusive, id order),
/// in id order.
pub fn purchase_aggregates(
    conn: &mut DbConnection,
    window: &PurchaseWindow,
    first: Uuid,
    last: Uuid,
) -> Result<Vec<PurchaseAggregate>, PersistenceError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        customer_id: DbUuid,
        #[diesel(sql_type = Text)]
        first_day: String,
        #[diesel(sql_type = Text)]
        last_day: String,
        #[diesel(sql_type = BigInt)]
        purchase_days: i64,
        #[diesel(sql_type = BigInt)]
        total_amount: i64,
        #[diesel(sql_type = BigInt)]
        first_day_amount: i64,
        #[diesel(sql_type = BigInt)]
        orders: i64,
    }
    // Amounts are cast back to integers: PostgreSQL sums bigints as numeric.
    let sql = format!(
        "WITH days AS (\
           SELECT customer_id, {day} AS day, \
                  CAST(SUM(total - refunded_total) AS BIGINT) AS amount, COUNT(*) AS orders \
           FROM orders \
           WHERE customer_id >= ? AND customer_id <= ? AND status IN ({statuses}) \
             AND placed_at < ? \
           GROUP BY customer_id, day) \
         SELECT customer_id, MIN(day) AS first_day, MAX(day) AS last_day, \
                COUNT(*) AS purchase_days, CAST(SUM(amount) AS BIGINT) AS total_amount, \
                MIN(first_amount) AS first_day_amount, CAST(SUM(orders) AS BIGINT) AS orders \
         FROM (SELECT customer_id, day, amount, orders, \
                      FIRST_VALUE(amount) OVER (PARTITION BY customer_id ORDER BY day) \
                        AS first_amount \
               FROM days) AS ranked \
         GROUP BY customer_id ORDER BY customer_id",
        day = day_of_placed_at(conn),
        statuses = purchase_statuses_sql(),
    );
    let rows: Vec<Row> = diesel::sql_query(crate::db::placeholders(conn, &sql))
        .bind::<Text, _>(&window.zone)
        .bind::<SqlUuid, _>(DbUuid(first))
        .bind::<SqlUuid, _>(DbUuid(last))
        .bind::<UtcTimestamp, _>(DbTime(window.end))
        .load(conn)?;
    rows.into_iter()
        .map(|row| {
            Ok(PurchaseAggregate {
                customer_id: row.customer_id.0,
                first_day: parse_day(&row.first_day)?,
                last_day: parse_day(&row.last_day)?,
                purchase_days: row.purchase_days,
                total_amount: row.total_amount,
                first_day_amount: row.first_day_amount,
                orders: row.orders,
            })
        })
        .collect()
}

fn parse_day(text: &str) -> Result<NaiveDate, PersistenceError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| PersistenceError::Corrupt(format!("purchase day `{text}`")))
}

/// Distinct purchase days of the buyers from `first` to `last` in `[start, window.end)`,
/// in id order; buyers without one are left out.
pub fn purchase_days_between(
    conn: &mut DbConnection,
    window: &PurchaseWindow,
    start: DateTime<Utc>,
    first: Uuid,
    last: Uuid,
) -> Result<Vec<(Uuid, i64)>, PersistenceError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        customer_id: DbUuid,
        #[diesel(sql_type = BigInt)]
        days: i64,
    }
    let sql = format!(
        "SELECT customer_id, COUNT(DISTINCT {day}) AS days FROM orders \
         WHERE customer_id >= ? AND customer_id <= ? AND status IN ({statuses}) \
           AND placed_at >= ? AND placed_at < ? \
         GROUP BY customer_id ORDER BY customer_id",
        day = day_of_placed_at(conn),
        statuses = purchase_statuses_sql(),
    );
    let rows: Vec<Row> = diesel::sql_query(crate::db::placeholders(conn, &sql))
        .bind::<Text, _>(&window.zone)
        .bind::<SqlUuid, _>(DbUuid(first))
        .bind::<SqlUuid, _>(DbUuid(last))
        .bind::<UtcTimestamp, _>(DbTime(start))
        .bind::<UtcTimestamp, _>(DbTime(window.end))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| (row.customer_id.0, row.days))
        .collect())
}

/// Score rows per `UPDATE … FROM (VALUES …)`: six values a row stays under SQLite's
/// 32,766 bound values.
const WRITE_CHUNK: usize = 2_000;

/// Stores RFM scores `(customer, scores)` of run `run_id`. A customer already scored by
/// a later run keeps that run's scores.
pub fn write_rfm(
    conn: &mut DbConnection,
    run_id: Uuid,
    rows: &[(Uuid, RfmScores)],
) -> Result<usize, PersistenceError> {
    write_scores(
        conn,
        run_id,
        ScoreColumns {
            run: "rfm_run_id",
            values: &[
                "rfm_recency",
                "rfm_frequency",
                "rfm_monetary",
                "rfm_segment",
            ],
        },
        rows,
        |query, scores| {
            query
                .bind::<BigInt, _>(scores.recency)
                .bind::<BigInt, _>(scores.frequency)
                .bind::<BigInt, _>(scores.monetary)
                .bind::<Text, _>(scores.segment.clone())
        },
    )
}

/// Stores CLV figures `(customer, scores)` of run `run_id`. A customer already scored by
/// a later run keeps that run's figures.
pub fn write_clv(
    conn: &mut DbConnection,
    run_id: Uuid,
    rows: &[(Uuid, ClvScores)],
) -> Result<usize, PersistenceError> {
    write_scores(
        conn,
        run_id,
        ScoreColumns {
            run: "clv_run_id",
            values: &["p_alive", "expected_purchases", "expected_spend", "clv"],
        },
        rows,
        |query, scores| {
            query
                .bind::<Double, _>(scores.p_alive)
                .bind::<Double, _>(scores.expected_purchases)
                .bind::<BigInt, _>(scores.expected_spend)
                .bind::<BigInt, _>(scores.clv)
        },
    )
}

/// Stores the cluster of each buyer of `rows` for run `run_id` (see [`write_rfm`]).
pub fn write_clusters(
    conn: &mut DbConnection,
    run_id: Uuid,
    rows: &[(Uuid, i64)],
) -> Result<usize, PersistenceError> {
    write_scores(
        conn,
        run_id,
        ScoreColumns {
            run: "cluster_run_id",
            values: &["cluster"],
        },
        rows,
        |query, cluster| query.bind::<BigInt, _>(*cluster),
    )
}

/// Stores the churn risk and drivers of each buyer of `rows` for run `run_id` (see
/// [`write_rfm`]).
pub fn write_churn(
    conn: &mut DbConnection,
    run_id: Uuid,
    rows: &[(Uuid, ChurnScore)],
) -> Result<usize, PersistenceError> {
    write_scores(
        conn,
        run_id,
        ScoreColumns {
            run: "churn_run_id",
            values: &["churn_risk", "churn_drivers"],
        },
        rows,
        |query, churn| {
            query
                .bind::<Double, _>(churn.risk)
                .bind::<crate::sql_types::Jsonb, _>(DbJson(churn.drivers.clone()))
        },
    )
}

/// Stores the recommendations of each customer of `rows` for run `run_id` (see
/// [`write_rfm`]).
pub fn write_recommendations(
    conn: &mut DbConnection,
    run_id: Uuid,
    rows: &[(Uuid, serde_json::Value)],
) -> Result<usize, PersistenceError> {
    write_scores(
        conn,
        run_id,
        ScoreColumns {
            run: "cross_sell_run_id",
            values: &["recommendations"],
        },
        rows,
        |query, products| query.bind::<crate::sql_types::Jsonb, _>(DbJson(products.clone())),
    )
}

/// The columns of one kind of score: its run id and its values.
struct ScoreColumns {
    run: &'static str,
    values: &'static [&'static str],
}

type ScoreUpdate<'a> =
    diesel::query_builder::BoxedSqlQuery<'a, MultiBackend, diesel::query_builder::SqlQuery>;

/// `UPDATE customers … FROM (VALUES (id, values…), …)` a chunk at a time; `bind` binds
/// one row's values in the order of `columns.values`.
fn write_scores<'a, T>(
    conn: &mut DbConnection,
    run_id: Uuid,
    columns: ScoreColumns,
    rows: &'a [(Uuid, T)],
    bind: impl Fn(ScoreUpdate<'a>, &'a T) -> ScoreUpdate<'a>,
) -> Result<usize, PersistenceError> {
    let run = columns.run;
    let assignments: String = columns
        .values
        .iter()
        .enumerate()
        .map(|(i, column)| format!(", {column} = v.column{}", i + 2))
        .collect();
    let row = format!("(?{})", ", ?".repeat(columns.values.len()));
    let mut written = 0;
    for chunk in rows.chunks(WRITE_CHUNK) {
        let values = vec![row.as_str(); chunk.len()].join(", ");
        let sql = format!(
            "UPDATE customers SET {run} = ?{assignments} \
             FROM (VALUES {values}) AS v \
             WHERE customers.id = v.column1 \
               AND (customers.{run} IS NULL OR customers.{run} <= ?)"
        );
        let mut query = diesel::sql_query(crate::db::placeholders(conn, &sql))
            .into_boxed::<MultiBackend>()
            .bind::<SqlUuid, _>(DbUuid(run_id));
        for (customer, scores) in chunk {
            query = bind(query.bind::<SqlUuid, _>(DbUuid(*customer)), scores);
        }
        written += query.bind::<SqlUuid, _>(DbUuid(run_id)).execute(conn)?;
    }
    Ok(written)
}

/// A condition on customers, for clearing scores.
type Condition = Box<dyn BoxableExpression<customers::table, MultiBackend, SqlType = Bool>>;

fn clear_rfm(conn: &mut DbConnection, condition: Condition) -> Result<usize, PersistenceError> {
    use customers as c;
    Ok(diesel::update(c::table.filter(condition))
        .set((
            c::rfm_run_id.eq(None::<DbUuid>),
            c::rfm_recency.eq(None::<i64>),
            c::rfm_frequency.eq(None::<i64>),
            c::rfm_monetary.eq(None::<i64>),
            c::rfm_segment.eq(None::<String>),
        ))
        .execute(conn)?)
}

fn clear_clv(conn: &mut DbConnection, condition: Condition) -> Result<usize, PersistenceError> {
    use customers as c;
    Ok(diesel::update(c::table.filter(condition))
        .set((
            c::clv_run_id.eq(None::<DbUuid>),
            c::p_alive.eq(None::<f64>),
            c::expected_purchases.eq(None::<f64>),
            c::expected_spend.eq(None::<i64>),
            c::clv.eq(None::<i64>),
        ))
        .execute(conn)?)
}

/// Removes the RFM scores of runs before `run_id` (customers that run did not score,
/// e.g. whose purchases were all cancelled since); answers how many.
pub fn clear_rfm_before(conn: &mut DbConnection, run_id: Uuid) -> Result<usize, PersistenceError> {
    clear_rfm(
        conn,
        Box::new(customers::rfm_run_id.lt(DbUuid(run_id)).assume_not_null()),
    )
}

fn clear_cluster(conn: &mut DbConnection, condition: Condition) -> Result<usize, PersistenceError> {
    use customers as c;
    Ok(diesel::update(c::table.filter(condition))
        .set((
            c::cluster_run_id.eq(None::<DbUuid>),
            c::cluster.eq(None::<i64>),
        ))
        .execute(conn)?)
}

/// Removes the clusters of runs before `run_id`; answers how many.
pub fn clear_clusters_before(
    conn: &mut DbConnection,
    run_id: Uuid,
) -> Result<usize, PersistenceError> {
    clear_cluster(
        conn,
        Box::new(
            customers::cluster_run_id
                .lt(DbUuid(run_id))
                .assume_not_null(),
        ),
    )
}

fn clear_churn(conn: &mut DbConnection, condition: Condition) -> Result<usize, PersistenceError> {
    use customers as c;
    Ok(diesel::update(c::table.filter(condition))
        .set((
            c::churn_run_id.eq(None::<DbUuid>),
            c::churn_risk.eq(None::<f64>),
            c::churn_drivers.eq(None::<DbJson>),
        ))
        .execute(conn)?)
}

/// Removes the churn risks of runs before `run_id`; answers how many.
pub fn clear_churn_before(
    conn: &mut DbConnection,
    run_id: Uuid,
) -> Result<usize, PersistenceError> {
    clear_churn(
        conn,
        Box::new(customers::churn_run_id.lt(DbUuid(run_id)).assume_not_null()),
    )
}

fn clear_recommendations(
    conn: &mut DbConnection,
    condition: Condition,
) -> Result<usize, PersistenceError> {
    use customers as c;
    Ok(diesel::update(c::table.filter(condition))
        .set((
            c::cross_sell_run_id.eq(None::<DbUuid>),
            c::recommendations.eq(None::<DbJson>),
        ))
        .execute(conn)?)
}

/// Removes the recommendations of runs before `run_id`; answers how many.
pub fn clear_recommendations_before(
    conn: &mut DbConnection,
    run_id: Uuid,
) -> Result<usize, PersistenceError> {
    clear_recommendations(
        conn,
        Box::new(
            customers::cross_sell_run_id
                .lt(DbUuid(run_id))
                .assume_not_null(),
        ),
    )
}

/// Removes the CLV figures of runs before `run_id`; answers how many.
pub fn clear_clv_before(conn: &mut DbConnection, run_id: Uuid) -> Result<usize, PersistenceError> {
    clear_clv(
        conn,
        Box::new(customers::clv_run_id.lt(DbUuid(run_id)).assume_not_null()),
    )
}

/// Ids per `IN (...)` list: well under SQLite's bound-value limit.
const ID_CHUNK: usize = 500;

/// How many of `ids` hold scores of any run.
pub fn scored_among(conn: &mut DbConnection, ids: &[Uuid]) -> Result<usize, PersistenceError> {
    use customers as c;
    let mut scored = 0;
    for chunk in ids.chunks(ID_CHUNK) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        let count: i64 = c::table
            .filter(c::id.eq_any(chunk))
            .filter(
                c::rfm_run_id
                    .is_not_null()
                    .or(c::clv_run_id.is_not_null())
                    .or(c::cluster_run_id.is_not_null())
                    .or(c::churn_run_id.is_not_null())
                    .or(c::cross_sell_run_id.is_not_null()),
            )
            .count()
            .get_result(conn)?;
        scored += count as usize;
    }
    Ok(scored)
}

/// Removes every score of `ids` (an erasure: scores are a profile of the person).
pub fn clear_of(conn: &mut DbConnection, ids: &[Uuid]) -> Result<(), PersistenceError> {
    for chunk in ids.chunks(ID_CHUNK) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        clear_rfm(conn, Box::new(customers::id.eq_any(chunk.clone())))?;
        clear_clv(conn, Box::new(customers::id.eq_any(chunk.clone())))?;
        clear_cluster(conn, Box::new(customers::id.eq_any(chunk.clone())))?;
        clear_churn(conn, Box::new(customers::id.eq_any(chunk.clone())))?;
        clear_recommendations(conn, Box::new(customers::id.eq_any(chunk)))?;
    }
    Ok(())
}
