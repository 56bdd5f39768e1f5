//! What reports read: sums over the order history per period (and group), computed by
//! the database in one statement per report. The periods arrive as a list of UTC
//! ranges (local days of the business calendar, cut by the caller) joined as a
//! `VALUES` list, so a Jalali month is summed exactly like a Gregorian one and the
//! result is one row per period and group, never the orders themselves.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{BigInt, Bool, Date, Double, Nullable, Text};
use domain::authz::Visibility;
use domain::commerce::orders::OrderStatus;
use domain::partners::SharedKind;
use domain::reports::{
    AcquisitionDimension, ProfitDimension, SalesDimension, AGE_BANDS, AGE_UNKNOWN, FUNNEL_STAGES,
    REFERRER_CUSTOMER, REFERRER_USER,
};
use uuid::Uuid;

use crate::customers::search::Scope;
use crate::db::{placeholders, DbConnection, MultiBackend};
use crate::sql_types::{DbTime, DbUuid, UtcTimestamp, Uuid as SqlUuid};
use crate::PersistenceError;

/// One period as the database compares it: `[start, end)` in UTC, and for the age
/// grouping the latest birth date of each age band at its start.
#[derive(Debug, Clone)]
pub struct PeriodBounds {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub age_thresholds: [NaiveDate; 6],
}

/// The sales of one period and group.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct SalesCell {
    /// Index of the period in the list given.
    #[diesel(sql_type = BigInt)]
    pub period: i64,
    /// The group's value for text groupings (province, city, gender, age range,
    /// channel); `None` for "not given" and when not grouped.
    #[diesel(sql_type = Nullable<Text>)]
    pub group_key: Option<String>,
    /// The group's record for product and category groupings.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub group_id: Option<DbUuid>,
    #[diesel(sql_type = BigInt)]
    pub orders: i64,
    /// Distinct customers.
    #[diesel(sql_type = BigInt)]
    pub buyers: i64,
    /// Units net of returns (line groupings only).
    #[diesel(sql_type = Nullable<BigInt>)]
    pub units: Option<i64>,
    /// Amount paid, after discounts.
    #[diesel(sql_type = BigInt)]
    pub gross: i64,
    /// Amount refunded on returns of these orders (or lines).
    #[diesel(sql_type = BigInt)]
    pub refunds: i64,
}

/// `IN (...)` list of the statuses of a sale ([`domain::reports::is_sale`]); fixed names,
/// so written into the statement.
pub(crate) fn sale_statuses_sql() -> String {
    OrderStatus::ALL
        .iter()
        .filter(|status| domain::reports::is_sale(**status))
        .map(|status| format!("'{}'", status.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `WITH periods(...) AS (VALUES ...)` clause for `count` periods; with the age
/// thresholds when `ages`.
pub(crate) fn periods_cte(count: usize, ages: bool) -> String {
    let columns = if ages {
        "idx, starts, ends, t1, t2, t3, t4, t5, t6"
    } else {
        "idx, starts, ends"
    };
    let row = if ages {
        "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
    } else {
        "(?, ?, ?)"
    };
    format!(
        "WITH periods({columns}) AS (VALUES {})",
        vec![row; count].join(", ")
    )
}

pub(crate) type Query<'a> = BoxedSqlQuery<'a, MultiBackend, diesel::query_builder::SqlQuery>;

pub(crate) fn bind_periods<'a>(
    mut query: Query<'a>,
    periods: &[PeriodBounds],
    ages: bool,
) -> Query<'a> {
    for (index, period) in periods.iter().enumerate() {
        query = query
            .bind::<BigInt, _>(index as i64)
            .bind::<UtcTimestamp, _>(DbTime(period.start))
            .bind::<UtcTimestamp, _>(DbTime(period.end));
        if ages {
            for threshold in &period.age_thresholds {
                query = query.bind::<Date, _>(*threshold);
            }
        }
    }
    query
}

/// The condition on the owned record `alias` (a customer `c`, a ticket) of `kind` that
/// `scope` allows, with its values bound after the periods' by [`bind_visibility`]. A
/// partner's user sees besides the records of `kind` shared with its partner.
pub(crate) fn visibility_sql(scope: &Scope, alias: &str, kind: SharedKind) -> String {
    match (scope.visibility, scope.team_id) {
        (Visibility::All, _) => String::new(),
        _ if scope.partner_id.is_some() => format!(
            " AND ({alias}.owner_id = ? OR {alias}.id IN (SELECT record_id FROM record_shares \
             WHERE partner_id = ? AND record_kind = '{kind}' \
             AND (expires_at IS NULL OR expires_at > ?)))",
            kind = kind.as_str()
        ),
        (Visibility::Own, _) | (Visibility::Team, None) => format!(" AND {alias}.owner_id = ?"),
        (Visibility::Team, Some(_)) => {
            format!(" AND ({alias}.owner_id = ? OR {alias}.team_id = ?)")
        }
    }
}

pub(crate) fn bind_visibility<'a>(mut query: Query<'a>, scope: &Scope) -> Query<'a> {
    match (scope.visibility, scope.team_id) {
        (Visibility::All, _) => {}
        _ if scope.partner_id.is_some() => {
            query = query
                .bind::<SqlUuid, _>(DbUuid(scope.user_id))
                .bind::<SqlUuid, _>(DbUuid(scope.partner_id.unwrap_or_default()))
                .bind::<UtcTimestamp, _>(DbTime(crate::now()));
        }
        (Visibility::Own, _) | (Visibility::Team, None) => {
            query = query.bind::<SqlUuid, _>(DbUuid(scope.user_id));
        }
        (Visibility::Team, Some(team)) => {
            query = query
                .bind::<SqlUuid, _>(DbUuid(scope.user_id))
                .bind::<SqlUuid, _>(DbUuid(team));
        }
    }
    query
}

/// A NULL of the uuid type (PostgreSQL needs the type; SQLite has none).
pub(crate) fn null_uuid(conn: &DbConnection) -> &'static str {
    match conn {
        DbConnection::Postgres(_) => "CAST(NULL AS UUID)",
        DbConnection::Sqlite(_) => "NULL",
    }
}

/// The double-precision type's name in a `CAST`.
pub(crate) fn double_type(conn: &DbConnection) -> &'static str {
    match conn {
        DbConnection::Postgres(_) => "DOUBLE PRECISION",
        DbConnection::Sqlite(_) => "REAL",
    }
}

/// 2^32: a sum of amounts is read as the sums of their high and low halves.
const HALF: i64 = 1 << 32;

/// The exact sum of the BIGINT expression `expr` as two BIGINT columns, `{name}_high`
/// (Σ `expr` / 2^32) and `{name}_low` (Σ `expr` % 2^32), joined by [`joined_sum`].
/// SQLite's `SUM` fails on a 64-bit overflow and PostgreSQL's cast of its `NUMERIC` sum
/// back to BIGINT does too, so a plain sum of large amounts would fail the request;
/// each half's sum stays in 64 bits for up to 2^31 rows, and the same SQL runs on both
/// backends (both truncate integer division toward zero, so the halves add up for any
/// sign).
pub(crate) fn split_sum_sql(expr: &str, name: &str) -> String {
    format!(
        "CAST(SUM(({expr}) / {HALF}) AS BIGINT) AS {name}_high, \
         CAST(SUM(({expr}) % {HALF}) AS BIGINT) AS {name}_low"
    )
}

/// The sum [`split_sum_sql`] read in halves.
pub(crate) fn joined_sum(high: i64, low: i64) -> i128 {
    i128::from(high) * i128::from(HALF) + i128::from(low)
}

/// Days from timestamp column `earlier` to `later`, as a decimal.
pub(crate) fn days_between(conn: &DbConnection, later: &str, earlier: &str) -> String {
    match conn {
        DbConnection::Postgres(_) => {
            format!("CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION) / 86400.0")
        }
        DbConnection::Sqlite(_) => format!("(julianday({later}) - julianday({earlier}))"),
    }
}

/// The age band of customer `c` at the start of the period, as a `CASE`.
fn age_band_sql() -> String {
    let mut sql = format!("CASE WHEN c.birth_date IS NULL THEN '{AGE_UNKNOWN}'");
    // Youngest band first: born after the first threshold, the customer has not reached
    // the second band's age.
    for (index, (_, name)) in AGE_BANDS[..AGE_BANDS.len() - 1].iter().enumerate() {
        sql.push_str(&format!(
            " WHEN c.birth_date > periods.t{} THEN '{name}'",
            index + 1
        ));
    }
    sql.push_str(&format!(" ELSE '{}' END", AGE_BANDS[AGE_BANDS.len() - 1].1));
    sql
}

/// Sales per period of `periods` (and per group of `dimension`) of the customers
/// `scope` may see: one row per period and group that has a sale.
pub fn sales(
    conn: &mut DbConnection,
    periods: &[PeriodBounds],
    dimension: Option<SalesDimension>,
    scope: &Scope,
) -> Result<Vec<SalesCell>, PersistenceError> {
    if periods.is_empty() {
        return Ok(Vec::new());
    }
    let ages = dimension == Some(SalesDimension::AgeRange);
    let by_line = dimension.is_some_and(SalesDimension::by_line);
    let group_key = match dimension {
        None | Some(SalesDimension::Product) | Some(SalesDimension::Category) => {
            "CAST(NULL AS TEXT)".to_string()
        }
        Some(SalesDimension::Province) => "c.province".to_string(),
        Some(SalesDimension::City) => "c.city".to_string(),
        Some(SalesDimension::Gender) => "c.gender".to_string(),
        Some(SalesDimension::AgeRange) => age_band_sql(),
        Some(SalesDimension::Channel) => "o.channel".to_string(),
    };
    let group_id = match dimension {
        Some(SalesDimension::Product) => "l.product_id",
        Some(SalesDimension::Category) => "pr.category_id",
        _ => null_uuid(conn),
    };
    let needs_customer = scope.visibility != Visibility::All
        || matches!(
            dimension,
            Some(
                SalesDimension::Province
                    | SalesDimension::City
                    | SalesDimension::Gender
                    | SalesDimension::AgeRange
            )
        );
    let mut joins = String::new();
    if needs_customer {
        joins.push_str(" JOIN customers c ON c.id = o.customer_id");
    }
    if by_line {
        joins.push_str(" JOIN order_lines l ON l.order_id = o.id");
    }
    if dimension == Some(SalesDimension::Category) {
        joins.push_str(" JOIN products pr ON pr.id = l.product_id");
    }
    let (orders, units, gross, refunds) = if by_line {
        (
            "COUNT(DISTINCT o.id)",
            "CAST(SUM(l.quantity - l.returned_quantity) AS BIGINT)",
            "CAST(SUM(l.total) AS BIGINT)",
            "CAST(SUM(l.refunded) AS BIGINT)",
        )
    } else {
        (
            "COUNT(*)",
            "CAST(NULL AS BIGINT)",
            "CAST(SUM(o.total) AS BIGINT)",
            "CAST(SUM(o.refunded_total) AS BIGINT)",
        )
    };
    let sql = format!(
        "{cte} \
         SELECT periods.idx AS period, {group_key} AS group_key, {group_id} AS group_id, \
                {orders} AS orders, COUNT(DISTINCT o.customer_id) AS buyers, \
                {units} AS units, {gross} AS gross, {refunds} AS refunds \
         FROM periods \
         JOIN orders o ON o.placed_at >= periods.starts AND o.placed_at < periods.ends\
         {joins} \
         WHERE o.status IN ({statuses}){visibility} \
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        cte = periods_cte(periods.len(), ages),
        statuses = sale_statuses_sql(),
        visibility = if needs_customer {
            visibility_sql(scope, "c", SharedKind::Customer)
        } else {
            String::new()
        },
    );
    let query = diesel::sql_query(placeholders(conn, &sql)).into_boxed::<MultiBackend>();
    let query = bind_visibility(bind_periods(query, periods, ages), scope);
    Ok(query.load(conn)?)
}

/// Buyers per period, for the KPI summary.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct BuyerCell {
    #[diesel(sql_type = BigInt)]
    pub period: i64,
    /// Buyers whose first purchase fell in the period.
    #[diesel(sql_type = BigInt)]
    pub new_buyers: i64,
    /// Buyers of the period who had bought before it.
    #[diesel(sql_type = BigInt)]
    pub returning_buyers: i64,
    /// Buyers of the period who had bought before it or placed two or more orders in
    /// it: they bought again.
    #[diesel(sql_type = BigInt)]
    pub repeat_buyers: i64,
}

/// Per period: new, returning and repeat buyers among the customers `scope` may see.
pub fn buyers(
    conn: &mut DbConnection,
    periods: &[PeriodBounds],
    scope: &Scope,
) -> Result<Vec<BuyerCell>, PersistenceError> {
    if periods.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{cte}, \
         period_buyers AS (\
           SELECT periods.idx AS period, periods.starts AS starts, \
                  o.customer_id AS customer_id, COUNT(*) AS orders \
           FROM periods \
           JOIN orders o ON o.placed_at >= periods.starts AND o.placed_at < periods.ends \
           JOIN customers c ON c.id = o.customer_id \
           WHERE o.status IN ({statuses}){visibility} \
           GROUP BY periods.idx, periods.starts, o.customer_id) \
         SELECT pb.period AS period, \
                CAST(SUM(CASE WHEN c.first_order_at >= pb.starts THEN 1 ELSE 0 END) AS BIGINT) \
                  AS new_buyers, \
                CAST(SUM(CASE WHEN c.first_order_at < pb.starts THEN 1 ELSE 0 END) AS BIGINT) \
                  AS returning_buyers, \
                CAST(SUM(CASE WHEN c.first_order_at < pb.starts OR pb.orders > 1 \
                              THEN 1 ELSE 0 END) AS BIGINT) AS repeat_buyers \
         FROM period_buyers pb JOIN customers c ON c.id = pb.customer_id \
         GROUP BY pb.period ORDER BY pb.period",
        cte = periods_cte(periods.len(), false),
        statuses = sale_statuses_sql(),
        visibility = visibility_sql(scope, "c", SharedKind::Customer),
    );
    let query = diesel::sql_query(placeholders(conn, &sql)).into_boxed::<MultiBackend>();
    let query = bind_visibility(bind_periods(query, periods, false), scope);
    Ok(query.load(conn)?)
}

/// Counts per period, and before the first one (`period` −1).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct FlowCell {
    #[diesel(sql_type = BigInt)]
    pub period: i64,
    /// Customers who made their first purchase.
    #[diesel(sql_type = BigInt)]
    pub first_purchases: i64,
    /// Customers who entered the `churned` stage.
    #[diesel(sql_type = BigInt)]
    pub churned: i64,
    /// Customers who left the `churned` stage.
    #[diesel(sql_type = BigInt)]
    pub reactivated: i64,
}

/// Earliest instant of the period −1 that collects everything before a report: far
/// enough back for any imported history, and still a four-digit year, so that SQLite's
/// textual timestamps compare in order.
pub(crate) fn beginning() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(1000, 1, 1)
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc())
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// First purchases, churns and reactivations of the customers `scope` may see, per
/// period and before the first: with them a caller can tell, at the start of each
/// period, how many customers had bought and how many of those were churned.
pub fn flows(
    conn: &mut DbConnection,
    periods: &[PeriodBounds],
    scope: &Scope,
) -> Result<Vec<FlowCell>, PersistenceError> {
    let Some(first) = periods.first() else {
        return Ok(Vec::new());
    };
    let mut with_before = Vec::with_capacity(periods.len() + 1);
    with_before.push(PeriodBounds {
        start: beginning(),
        end: first.start,
        age_thresholds: first.age_thresholds,
    });
    with_before.extend(periods.iter().cloned());
    // `idx` counts from 0 with the period before; shifted back by one in the result.
    let sql = format!(
        "{cte}, \
         firsts AS (\
           SELECT periods.idx AS period, COUNT(*) AS n FROM periods \
           JOIN customers c ON c.first_order_at >= periods.starts \
                           AND c.first_order_at < periods.ends \
           WHERE c.merged_into_id IS NULL{visibility} GROUP BY periods.idx), \
         moves AS (\
           SELECT periods.idx AS period, \
                  SUM(CASE WHEN t.to_stage = 'churned' THEN 1 ELSE 0 END) AS churned, \
                  SUM(CASE WHEN t.from_stage = 'churned' AND t.to_stage <> 'churned' \
                           THEN 1 ELSE 0 END) AS reactivated \
           FROM periods \
           JOIN lifecycle_transitions t ON t.changed_at >= periods.starts \
                                        AND t.changed_at < periods.ends \
           JOIN customers c ON c.id = t.customer_id \
           WHERE c.merged_into_id IS NULL{visibility} GROUP BY periods.idx) \
         SELECT periods.idx - 1 AS period, \
                CAST(COALESCE(firsts.n, 0) AS BIGINT) AS first_purchases, \
                CAST(COALESCE(moves.churned, 0) AS BIGINT) AS churned, \
                CAST(COALESCE(moves.reactivated, 0) AS BIGINT) AS reactivated \
         FROM periods \
         LEFT JOIN firsts ON firsts.period = periods.idx \
         LEFT JOIN moves ON moves.period = periods.idx \
         ORDER BY periods.idx",
        cte = periods_cte(with_before.len(), false),
        visibility = visibility_sql(scope, "c", SharedKind::Customer),
    );
    let query = diesel::sql_query(placeholders(conn, &sql)).into_boxed::<MultiBackend>();
    let query = bind_visibility(
        bind_visibility(bind_periods(query, &with_before, false), scope),
        scope,
    );
    Ok(query.load(conn)?)
}

/// Current CLV scores of the customers `scope` may see: how many have one and their
/// sum (minor units).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ClvTotals {
    #[diesel(sql_type = BigInt)]
    pub scored: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub total: Option<i64>,
}

pub fn clv_totals(conn: &mut DbConnection, scope: &Scope) -> Result<ClvTotals, PersistenceError> {
    let sql = format!(
        "SELECT COUNT(c.clv) AS scored, CAST(SUM(c.clv) AS BIGINT) AS total \
         FROM customers c WHERE c.clv IS NOT NULL{}",
        visibility_sql(scope, "c", SharedKind::Customer)
    );
    let query = diesel::sql_query(placeholders(conn, &sql)).into_boxed::<MultiBackend>();
    Ok(bind_visibility(query, scope).get_result(conn)?)
}

/// The product and category names of `ids`, for labelling groups.
pub fn names_of(
    conn: &mut DbConnection,
    dimension: SalesDimension,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, String)>, PersistenceError> {
    use crate::schema::{product_categories, products};
    let ids: Vec<DbUuid> = ids.iter().copied().map(DbUuid).collect();
    let rows: Vec<(DbUuid, String)> = match dimension {
        SalesDimension::Product => products::table
            .filter(products::id.eq_any(ids))
            .select((products::id, products::name))
            .load(conn)?,
        SalesDimension::Category => product_categories::table
            .filter(product_categories::id.eq_any(ids))
            .select((product_categories::id, product_categories::name))
            .load(conn)?,
        _ => Vec::new(),
    };
    Ok(rows.into_iter().map(|(id, name)| (id.0, name)).collect())
}

/// How many customers of a cohort (those whose first purchase fell in period `cohort`)
/// bought in period `period`.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct CohortCell {
    #[diesel(sql_type = BigInt)]
    pub cohort: i64,
    #[diesel(sql_type = BigInt)]
    pub period: i64,
    #[diesel(sql_type = BigInt)]
    pub buyers: i64,
}

/// Cohorts by first purchase among the periods, and their buyers in each period, among
/// the customers `scope` may see. Every cohort buys in its own period, so the cell of
/// that period is the cohort's size.
pub fn cohorts(
    conn: &mut DbConnection,
    periods: &[PeriodBounds],
    scope: &Scope,
) -> Result<Vec<CohortCell>, PersistenceError> {
    if periods.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{cte}, \
         cohorts AS (\
           SELECT c.id AS customer_id, periods.idx AS cohort FROM periods \
           JOIN customers c ON c.first_order_at >= periods.starts \
                           AND c.first_order_at < periods.ends \
           WHERE c.merged_into_id IS NULL{visibility}), \
         activity AS (\
           SELECT DISTINCT o.customer_id AS customer_id, periods.idx AS period FROM periods \
           JOIN orders o ON o.placed_at >= periods.starts AND o.placed_at < periods.ends \
           WHERE o.status IN ({statuses})) \
         SELECT cohorts.cohort AS cohort, activity.period AS period, \
                CAST(COUNT(*) AS BIGINT) AS buyers \
         FROM cohorts JOIN activity ON activity.customer_id = cohorts.customer_id \
         GROUP BY cohorts.cohort, activity.period ORDER BY 1, 2",
        cte = periods_cte(periods.len(), false),
        visibility = visibility_sql(scope, "c", SharedKind::Customer),
        statuses = sale_statuses_sql(),
    );
    let query = diesel::sql_query(placeholders(conn, &sql)).into_boxed::<MultiBackend>();
    let query = bind_visibility(bind_periods(query, periods, false), scope);
    Ok(query.load(conn)?)
}

/// A customer who bought a product in an earlier window and not in a later one.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct LapsedBuyer {
    #[diesel(sql_type = SqlUuid)]
    pub customer_id: DbUuid,
    #[diesel(sql_type = Text)]
    pub display_name: String,
    /// The latest purchase of the product in the earlier window.
    #[diesel(sql_type = UtcTimestamp)]
    pub last_bought_at: DbTime,
    #[diesel(sql_type = BigInt)]
    pub orders: i64,
    /// Units of the product net of returns.
    #[diesel(sql_type = BigInt)]
    pub units: i64,
    /// Paid for the product net of refunds.
    #[diesel(sql_type = BigInt)]
    pub net: i64,
    /// Whether the customer was erased when read (`display_name` is then no name).
    #[diesel(sql_type = Bool)]
    pub erased: bool,
}

/// The customers `scope` may see who bought `product` in `earlier` and not in `later`
/// (each `[start, end)`), in id order after `after`: `limit + 1` rows so the caller can
/// tell whether more follow.
pub fn lapsed_buyers(
    conn: &mut DbConnection,
    product: Uuid,
    earlier: (DateTime<Utc>, DateTime<Utc>),
    later: (DateTime<Utc>, DateTime<Utc>),
    scope: &Scope,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<LapsedBuyer>, PersistenceError> {
    let sql = format!(
        "SELECT o.customer_id AS customer_id, c.display_name AS display_name, \
                MAX(o.placed_at) AS last_bought_at, COUNT(DISTINCT o.id) AS orders, \
                CAST(SUM(l.quantity - l.returned_quantity) AS BIGINT) AS units, \
                CAST(SUM(l.total - l.refunded) AS BIGINT) AS net, \
                c.erased_at IS NOT NULL AS erased \
         FROM orders o \
         JOIN order_lines l ON l.order_id = o.id \
         JOIN customers c ON c.id = o.customer_id \
         WHERE l.product_id = ? AND o.status IN ({statuses}) \
           AND o.placed_at >= ? AND o.placed_at < ?{visibility}{after} \
           AND NOT EXISTS (\
             SELECT 1 FROM orders o2 JOIN order_lines l2 ON l2.order_id = o2.id \
             WHERE o2.customer_id = o.customer_id AND l2.product_id = ? \
               AND o2.status IN ({statuses}) \
               AND o2.placed_at >= ? AND o2.placed_at < ?) \
         GROUP BY o.customer_id, c.display_name, c.erased_at \
         ORDER BY o.customer_id LIMIT ?",
        statuses = sale_statuses_sql(),
        visibility = visibility_sql(scope, "c", SharedKind::Customer),
        after = if after.is_some() {
            " AND o.customer_id > ?"
        } else {
            ""
        },
    );
    let query = diesel::sql_query(placeholders(conn, &sql))
        .into_boxed::<MultiBackend>()
        .bind::<SqlUuid, _>(DbUuid(product))
        .bind::<UtcTimestamp, _>(DbTime(earlier.0))
        .bind::<UtcTimestamp, _>(DbTime(earlier.1));
    let mut query = bind_visibility(query, scope);
    if let Some(after) = after {
        query = query.bind::<SqlUuid, _>(DbUuid(after));
    }
    Ok(query
        .bind::<SqlUuid, _>(DbUuid(product))
        .bind::<UtcTimestamp, _>(DbTime(later.0))
        .bind::<UtcTimestamp, _>(DbTime(later.1))
        .bind::<BigInt, _>(limit + 1)
        .load(conn)?)
}

/// How customer `c` is grouped by an acquisition dimension: the group's text (a source,
/// channel or campaign, or the kind of referrer), its record (the referrer's id) and
/// the join the referrer needs.
struct AcquisitionGrouping {
    key: String,
    id: String,
    join: String,
}

fn acquisition_grouping(
    conn: &DbConnection,
    dimension: Option<AcquisitionDimension>,
) -> AcquisitionGrouping {
    let text = |key: &str| AcquisitionGrouping {
        key: key.to_string(),
        id: null_uuid(conn).to_string(),
        join: String::new(),
    };
    match dimension {
        None => text("CAST(NULL AS TEXT)"),
        Some(AcquisitionDimension::Source) => text("c.acquisition_source"),
        Some(AcquisitionDimension::Channel) => text("c.acquisition_channel"),
        Some(AcquisitionDimension::Campaign) => text("c.acquisition_campaign"),
        // One row per referrer a customer has (none: one row with no referrer), so a
        // customer referred by a customer and a user counts under each.
        Some(AcquisitionDimension::Referrer) => AcquisitionGrouping {
            key: "referrer.kind".to_string(),
            id: format!(
                "CASE referrer.kind WHEN '{REFERRER_CUSTOMER}' THEN c.referred_by_customer_id \
                 WHEN '{REFERRER_USER}' THEN c.referred_by_user_id END"
            ),
            join: format!(
                " LEFT JOIN (SELECT '{REFERRER_CUSTOMER}' AS kind \
                             UNION ALL SELECT '{REFERRER_USER}' AS kind) referrer \
                   ON (referrer.kind = '{REFERRER_CUSTOMER}' \
                       AND c.referred_by_customer_id IS NOT NULL) \
                   OR (referrer.kind = '{REFERRER_USER}' AND c.referred_by_user_id IS NOT NULL)"
            ),
        },
    }
}

/// The customers acquired (created) in one period, or one group of it, and what became
/// of them by now.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct AcquisitionCell {
    #[diesel(sql_type = BigInt)]
    pub period: i64,
    /// The source, channel or campaign; a referrer's kind (`customer` or `user`).
    #[diesel(sql_type = Nullable<Text>)]
    pub group_key: Option<String>,
    /// The referrer's id.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub group_id: Option<DbUuid>,
    #[diesel(sql_type = BigInt)]
    pub acquired: i64,
    /// Of them, those who have made a purchase.
    #[diesel(sql_type = BigInt)]
    pub converted: i64,
    /// Their revenue to date, net of refunds.
    #[diesel(sql_type = BigInt)]
    pub revenue: i64,
    /// Of them, those with a CLV score, and the scores' sum.
    #[diesel(sql_type = BigInt)]
    pub clv_customers: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub clv_total: Option<i64>,
    /// Mean days from creation to first purchase of those who bought after they were
    /// created (customers imported with an earlier history are left out).
    #[diesel(sql_type = Nullable<Double>)]
    pub days_to_first_purchase: Option<f64>,
}

/// Customers acquired per period of `periods` (by creation), grouped by `dimension`
/// when given, among those `scope` may see.
pub fn acquisition(
    conn: &mut DbConnection,
    periods: &[PeriodBounds],
    dimension: Option<AcquisitionDimension>,
    scope: &Scope,
) -> Result<Vec<AcquisitionCell>, PersistenceError> {
    if periods.is_empty() {
        return Ok(Vec::new());
    }
    let AcquisitionGrouping { key, id, join } = acquisition_grouping(conn, dimension);
    let days = days_between(conn, "c.first_order_at", "c.created_at");
    let sql = format!(
        "{cte} \
         SELECT periods.idx AS period, {key} AS group_key, {id} AS group_id, \
                COUNT(*) AS acquired, \
                CAST(SUM(CASE WHEN c.first_order_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) \
                  AS converted, \
                CAST(SUM(c.revenue) AS BIGINT) AS revenue, \
                COUNT(c.clv) AS clv_customers, CAST(SUM(c.clv) AS BIGINT) AS clv_total, \
                CAST(AVG(CASE WHEN c.first_order_at >= c.created_at THEN {days} END) \
                  AS DOUBLE PRECISION) AS days_to_first_purchase \
         FROM periods \
         JOIN customers c ON c.created_at >= periods.starts AND c.created_at < periods.ends\
         {join} \
         WHERE c.merged_into_id IS NULL{visibility} \
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        cte = periods_cte(periods.len(), false),
        visibility = visibility_sql(scope, "c", SharedKind::Customer),
    );
    let query = diesel::sql_query(placeholders(conn, &sql)).into_boxed::<MultiBackend>();
    let query = bind_visibility(bind_periods(query, periods, false), scope);
    Ok(query.load(conn)?)
}

/// Revenue and product cost of one group of customers over a window.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ProfitCell {
    /// The RFM segment.
    #[diesel(sql_type = Nullable<Text>)]
    pub group_key: Option<String>,
    /// The tier or the customer.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub group_id: Option<DbUuid>,
    #[diesel(sql_type = BigInt)]
    pub customers: i64,
    #[diesel(sql_type = BigInt)]
    pub orders: i64,
    /// Paid net of refunds.
    #[diesel(sql_type = BigInt)]
    pub revenue: i64,
    /// Unit cost of the units kept (bought less returned), as recorded on each line.
    #[diesel(sql_type = BigInt)]
    pub product_cost: i64,
    /// Lines with units kept whose product had no cost recorded: their cost is missing
    /// from `product_cost`.
    #[diesel(sql_type = BigInt)]
    pub lines_without_cost: i64,
}

/// The group key and id columns of customer `c` for a profitability grouping.
fn profit_grouping(
    conn: &DbConnection,
    dimension: Option<ProfitDimension>,
) -> (&'static str, &'static str) {
    let null_id = null_uuid(conn);
    match dimension {
        None => ("CAST(NULL AS TEXT)", null_id),
        Some(ProfitDimension::RfmSegment) => ("c.rfm_segment", null_id),
        Some(ProfitDimension::Tier) => ("CAST(NULL AS TEXT)", "c.tier_id"),
        // The caller names them, with whether each was erased when read.
        Some(ProfitDimension::Customer) => ("CAST(NULL AS TEXT)", "c.id"),
    }
}

/// Minutes agents logged on the tickets of one group of customers (grouped as
/// [`ProfitCell`]).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ServiceMinutes {
    #[diesel(sql_type = Nullable<Text>)]
    pub group_key: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub group_id: Option<DbUuid>,
    #[diesel(sql_type = BigInt)]
    pub minutes: i64,
}

/// Minutes logged from local day `days.0` to `days.1` (both included) on tickets of
/// the customers `scope` may see, per group of `dimension` (one row when `None`).
pub fn service_minutes(
    conn: &mut DbConnection,
    days: (NaiveDate, NaiveDate),
    dimension: Option<ProfitDimension>,
    scope: &Scope,
) -> Result<Vec<ServiceMinutes>, PersistenceError> {
    let (group_key, group_id) = profit_grouping(conn, dimension);
    let sql = format!(
        "SELECT {group_key} AS group_key, {group_id} AS group_id, \
                CAST(SUM(e.minutes) AS BIGINT) AS minutes \
         FROM ticket_time_entries e \
         JOIN tickets t ON t.id = e.ticket_id \
         JOIN customers c ON c.id = t.customer_id \
         WHERE e.spent_on >= ? AND e.spent_on <= ?{visibility} \
         GROUP BY 1, 2",
        visibility = visibility_sql(scope, "c", SharedKind::Customer),
    );
    let query = diesel::sql_query(placeholders(conn, &sql))
        .into_boxed::<MultiBackend>()
        .bind::<Date, _>(days.0)
        .bind::<Date, _>(days.1);
    Ok(bind_visibility(query, scope).load(conn)?)
}

/// What acquiring one group of customers cost (grouped as [`ProfitCell`]).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct AcquisitionCost {
    #[diesel(sql_type = Nullable<Text>)]
    pub group_key: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub group_id: Option<DbUuid>,
    #[diesel(sql_type = BigInt)]
    pub cost: i64,
}

/// The acquisition cost of the customers `scope` may see who were created in
/// `[start, end)`, per group of `dimension` (one row when `None`): each customer bears
/// their acquisition campaign's share — the campaign's costs divided by the customers
/// that name it — summed and rounded to the nearest minor unit per group.
pub fn acquisition_costs(
    conn: &mut DbConnection,
    window: (DateTime<Utc>, DateTime<Utc>),
    dimension: Option<ProfitDimension>,
    scope: &Scope,
) -> Result<Vec<AcquisitionCost>, PersistenceError> {
    let (group_key, group_id) = profit_grouping(conn, dimension);
    let double = crate::reports::double_type(conn);
    let sql = format!(
        "WITH spent AS (\
           SELECT k.code AS code, SUM(s.amount) AS cost \
           FROM campaigns k JOIN campaign_costs s ON s.campaign_id = k.id GROUP BY k.code), \
         share AS (\
           SELECT spent.code AS code, CAST(spent.cost AS {double}) / COUNT(a.id) AS per_customer \
           FROM spent JOIN customers a ON a.acquisition_campaign = spent.code \
             AND a.merged_into_id IS NULL \
           GROUP BY spent.code, spent.cost) \
         SELECT {group_key} AS group_key, {group_id} AS group_id, \
                CAST(ROUND({sum}) AS BIGINT) AS cost \
         FROM customers c JOIN share ON share.code = c.acquisition_campaign \
         WHERE c.merged_into_id IS NULL AND c.created_at >= ? AND c.created_at < ?{visibility} \
         GROUP BY 1, 2",
        visibility = visibility_sql(scope, "c", SharedKind::Customer),
        // Halves away from zero on both: PostgreSQL rounds a double's halves to even.
        sum = match conn {
            DbConnection::Postgres(_) => "CAST(SUM(share.per_customer) AS NUMERIC)",
            DbConnection::Sqlite(_) => "SUM(share.per_customer)",
        },
    );
    let query = diesel::sql_query(placeholders(conn, &sql))
        .into_boxed::<MultiBackend>()
        .bind::<UtcTimestamp, _>(DbTime(window.0))
        .bind::<UtcTimestamp, _>(DbTime(window.1));
    Ok(bind_visibility(query, scope).load(conn)?)
}

/// Revenue and product cost of the sales placed in `[start, end)` to the customers
/// `scope` may see, per group of `dimension` (one row when `None`); for customers, the
/// `limit` with the largest margin.
pub fn profitability(
    conn: &mut DbConnection,
    window: (DateTime<Utc>, DateTime<Utc>),
    dimension: Option<ProfitDimension>,
    scope: &Scope,
    limit: i64,
) -> Result<Vec<ProfitCell>, PersistenceError> {
    let (group_key, group_id) = profit_grouping(conn, dimension);
    // Per line: what was kept and what it cost; summed per group. Revenue is the
    // lines' total less their refunds, which is the orders' net.
    let sql = format!(
        "SELECT {group_key} AS group_key, {group_id} AS group_id, \
                COUNT(DISTINCT o.customer_id) AS customers, COUNT(DISTINCT o.id) AS orders, \
                CAST(SUM(l.total - l.refunded) AS BIGINT) AS revenue, \
                CAST(SUM(COALESCE(l.unit_cost, 0) * (l.quantity - l.returned_quantity)) \
                  AS BIGINT) AS product_cost, \
                CAST(SUM(CASE WHEN l.unit_cost IS NULL AND l.quantity > l.returned_quantity \
                              THEN 1 ELSE 0 END) AS BIGINT) AS lines_without_cost \
         FROM orders o \
         JOIN order_lines l ON l.order_id = o.id \
         JOIN customers c ON c.id = o.customer_id \
         WHERE o.status IN ({statuses}) AND o.placed_at >= ? AND o.placed_at < ?{visibility} \
         GROUP BY 1, 2 \
         ORDER BY {order} LIMIT ?",
        statuses = sale_statuses_sql(),
        visibility = visibility_sql(scope, "c", SharedKind::Customer),
        order = if dimension == Some(ProfitDimension::Customer) {
            "SUM(l.total - l.refunded) \
             - SUM(COALESCE(l.unit_cost, 0) * (l.quantity - l.returned_quantity)) DESC, 2"
        } else {
            "1, 2"
        },
    );
    let query = diesel::sql_query(placeholders(conn, &sql))
        .into_boxed::<MultiBackend>()
        .bind::<UtcTimestamp, _>(DbTime(window.0))
        .bind::<UtcTimestamp, _>(DbTime(window.1));
    Ok(bind_visibility(query, scope)
        .bind::<BigInt, _>(limit)
        .load(conn)?)
}

/// Customers of a cohort (created in period `period`, of group `group_key` and
/// `group_id` as in [`AcquisitionCell`]) whose furthest funnel stage is `stage` (an index
/// into `FUNNEL_STAGES`).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct FunnelReach {
    #[diesel(sql_type = BigInt)]
    pub period: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub group_key: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub group_id: Option<DbUuid>,
    #[diesel(sql_type = BigInt)]
    pub stage: i64,
    #[diesel(sql_type = BigInt)]
    pub customers: i64,
}

/// Customers of a cohort who went from funnel stage `stage` to the next, and the mean
/// and median days it took (from first entering the one to first entering the next).
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct FunnelStep {
    #[diesel(sql_type = BigInt)]
    pub period: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub group_key: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub group_id: Option<DbUuid>,
    #[diesel(sql_type = BigInt)]
    pub stage: i64,
    #[diesel(sql_type = BigInt)]
    pub customers: i64,
    #[diesel(sql_type = Double)]
    pub mean_days: f64,
    /// The middle duration, or the mean of the two middle ones for an even count.
    #[diesel(sql_type = Double)]
    pub median_days: f64,
}

/// The rank of `t.to_stage` in `FUNNEL_STAGES`, −1 for a stage outside the funnel.
fn stage_rank_sql() -> String {
    let mut sql = String::from("CASE t.to_stage");
    for (rank, stage) in FUNNEL_STAGES.iter().enumerate() {
        sql.push_str(&format!(" WHEN '{stage}' THEN {rank}"));
    }
    sql.push_str(" ELSE -1 END");
    sql
}

/// The cohorts of customers created in each period (grouped by acquisition `dimension`
/// when given) among those `scope` may see, as a `WITH` clause named `cohort`.
fn funnel_cohort_sql(
    conn: &DbConnection,
    periods: usize,
    dimension: Option<AcquisitionDimension>,
    scope: &Scope,
) -> String {
    let AcquisitionGrouping { key, id, join } = acquisition_grouping(conn, dimension);
    format!(
        "{cte}, \
         cohort AS (\
           SELECT c.id AS customer_id, periods.idx AS period, {key} AS group_key, \
                  {id} AS group_id \
           FROM periods \
           JOIN customers c ON c.created_at >= periods.starts AND c.created_at < periods.ends\
           {join} \
           WHERE c.merged_into_id IS NULL{visibility})",
        cte = periods_cte(periods, false),
        visibility = visibility_sql(scope, "c", SharedKind::Customer),
    )
}

/// How far the customers created in each period got through the funnel, and how long
/// each step took, from their lifecycle transitions: per period and group of
/// `dimension`, or per period when `None`.
pub fn funnel(
    conn: &mut DbConnection,
    periods: &[PeriodBounds],
    dimension: Option<AcquisitionDimension>,
    scope: &Scope,
) -> Result<(Vec<FunnelReach>, Vec<FunnelStep>), PersistenceError> {
    if periods.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let cohort = funnel_cohort_sql(conn, periods.len(), dimension, scope);
    let rank = stage_rank_sql();
    // When each member first reached each stage, once per customer whatever its groups.
    let reached = format!(
        "{cohort}, \
         members AS (SELECT DISTINCT customer_id FROM cohort), \
         reached AS (\
           SELECT t.customer_id AS customer_id, {rank} AS stage, \
                  MIN(t.changed_at) AS reached_at \
           FROM members JOIN lifecycle_transitions t ON t.customer_id = members.customer_id \
           GROUP BY 1, 2)"
    );
    let reach_sql = format!(
        "{reached}, \
         furthest AS (\
           SELECT customer_id, MAX(stage) AS stage FROM reached GROUP BY customer_id) \
         SELECT cohort.period AS period, cohort.group_key AS group_key, \
                cohort.group_id AS group_id, CAST(furthest.stage AS BIGINT) AS stage, \
                COUNT(*) AS customers \
         FROM cohort JOIN furthest ON furthest.customer_id = cohort.customer_id \
         WHERE furthest.stage >= 0 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
    );
    let query = diesel::sql_query(placeholders(conn, &reach_sql)).into_boxed::<MultiBackend>();
    let reach: Vec<FunnelReach> =
        bind_visibility(bind_periods(query, periods, false), scope).load(conn)?;
    let days = days_between(conn, "b.reached_at", "a.reached_at");
    // SQLite has no median (PostgreSQL's `percentile_cont` has no counterpart there), so
    // the durations of each step are numbered in order within their cohort and group,
    // and the middle one (odd count) or the two middle ones (even count) averaged.
    let step_sql = format!(
        "{reached}, \
         steps AS (\
           SELECT a.customer_id AS customer_id, a.stage AS stage, {days} AS days \
           FROM reached a \
           JOIN reached b ON b.customer_id = a.customer_id AND b.stage = a.stage + 1 \
                         AND b.reached_at >= a.reached_at \
           WHERE a.stage >= 0), \
         ranked AS (\
           SELECT cohort.period AS period, cohort.group_key AS group_key, \
                  cohort.group_id AS group_id, steps.stage AS stage, steps.days AS days, \
                  ROW_NUMBER() OVER (PARTITION BY {group} ORDER BY steps.days) AS ordinal, \
                  COUNT(*) OVER (PARTITION BY {group}) AS durations \
           FROM cohort JOIN steps ON steps.customer_id = cohort.customer_id) \
         SELECT period, group_key, group_id, CAST(stage AS BIGINT) AS stage, \
                COUNT(*) AS customers, \
                CAST(AVG(days) AS DOUBLE PRECISION) AS mean_days, \
                CAST(AVG(CASE WHEN ordinal IN ((durations + 1) / 2, (durations + 2) / 2) \
                              THEN days END) \
                  AS DOUBLE PRECISION) AS median_days \
         FROM ranked GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        group = "cohort.period, cohort.group_key, cohort.group_id, steps.stage",
    );
    let query = diesel::sql_query(placeholders(conn, &step_sql)).into_boxed::<MultiBackend>();
    let steps: Vec<FunnelStep> =
        bind_visibility(bind_periods(query, periods, false), scope).load(conn)?;
    Ok((reach, steps))
}
