//! Price experiments (M-7): the definitions with their variants, the exposures (one row
//! per experiment and customer: the variant they were shown and when), and the sums
//! each arm's evaluation starts from, computed by the database in one statement from
//! the exposures and the orders placed after them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text};
use uuid::Uuid;

use crate::db::{placeholders, DbConnection, MultiBackend};
use crate::schema::{
    price_experiment_exposures, price_experiment_variants, price_experiments, segment_memberships,
};
use crate::sql_types::{DbTime, DbUuid, UtcTimestamp, Uuid as SqlUuid};
use crate::PersistenceError;

const DUPLICATE_NAME: &str = "a price experiment with this name already exists";
const RUNNING_ALREADY: &str =
    "another experiment on this product is running; stop it first, since two would show one customer two prices";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = price_experiments, treat_none_as_null = true)]
pub struct ExperimentRow {
    pub id: DbUuid,
    pub name: String,
    pub description: Option<String>,
    pub product_id: DbUuid,
    pub segment_id: Option<DbUuid>,
    pub goal: String,
    pub alpha: f64,
    pub minimum_sample_per_variant: i64,
    pub status: String,
    pub started_at: Option<DbTime>,
    pub stopped_at: Option<DbTime>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = price_experiment_variants)]
pub struct VariantRow {
    pub experiment_id: DbUuid,
    pub key: String,
    /// The variant's place in the experiment's list: the order of the assignment's
    /// stretches, so it never changes once customers are exposed.
    pub position: i32,
    pub name: Option<String>,
    pub unit_price: i64,
    pub weight: i32,
    pub control: bool,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = price_experiment_exposures)]
pub struct ExposureRow {
    pub experiment_id: DbUuid,
    pub customer_id: DbUuid,
    pub variant_key: String,
    pub exposed_at: DbTime,
}

impl ExperimentRow {
    pub fn audit_snapshot(&self, variants: &[VariantRow]) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "description": self.description,
            "product_id": self.product_id.0,
            "segment_id": self.segment_id.map(|id| id.0),
            "goal": self.goal,
            "alpha": self.alpha,
            "minimum_sample_per_variant": self.minimum_sample_per_variant,
            "status": self.status,
            "variants": variants.iter().map(|variant| serde_json::json!({
                "key": variant.key,
                "name": variant.name,
                "unit_price": variant.unit_price,
                "weight": variant.weight,
                "control": variant.control,
            })).collect::<Vec<_>>(),
        })
    }
}

pub fn insert(
    conn: &mut DbConnection,
    row: &ExperimentRow,
    variants: &[VariantRow],
) -> Result<(), PersistenceError> {
    diesel::insert_into(price_experiments::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_NAME))?;
    crate::insert_batch!(conn, price_experiment_variants::table, variants)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<ExperimentRow, PersistenceError> {
    price_experiments::table
        .find(DbUuid(id))
        .select(ExperimentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// [`find`] holding the row until the transaction ends (PostgreSQL; SQLite's writer
/// lock serialises writers already): a change and a start, or two stops, take turns.
pub fn find_for_update(
    conn: &mut DbConnection,
    id: Uuid,
) -> Result<ExperimentRow, PersistenceError> {
    if let DbConnection::Postgres(pg) = conn {
        price_experiments::table
            .find(DbUuid(id))
            .select(price_experiments::id)
            .for_update()
            .load::<DbUuid>(pg)?;
    }
    find(conn, id)
}

/// [`find`] sharing the row until the transaction ends (PostgreSQL): exposures go on
/// side by side, while a stop or a delete waits for them, and they for it.
pub fn find_for_share(
    conn: &mut DbConnection,
    id: Uuid,
) -> Result<ExperimentRow, PersistenceError> {
    if let DbConnection::Postgres(pg) = conn {
        price_experiments::table
            .find(DbUuid(id))
            .select(price_experiments::id)
            .for_share()
            .load::<DbUuid>(pg)?;
    }
    find(conn, id)
}

/// Whether an experiment tests `product`'s price (which must then stay).
pub fn product_in_experiments(
    conn: &mut DbConnection,
    product: Uuid,
) -> Result<bool, PersistenceError> {
    Ok(diesel::select(diesel::dsl::exists(
        price_experiments::table.filter(price_experiments::product_id.eq(DbUuid(product))),
    ))
    .get_result(conn)?)
}

/// The experiment's variants in their stored order.
pub fn variants(conn: &mut DbConnection, id: Uuid) -> Result<Vec<VariantRow>, PersistenceError> {
    Ok(price_experiment_variants::table
        .filter(price_experiment_variants::experiment_id.eq(DbUuid(id)))
        .order(price_experiment_variants::position)
        .select(VariantRow::as_select())
        .load(conn)?)
}

fn write(
    conn: &mut DbConnection,
    row: &ExperimentRow,
    conflict: &str,
) -> Result<ExperimentRow, PersistenceError> {
    let mut row = row.clone();
    row.version += 1;
    row.updated_at = DbTime(crate::now());
    diesel::update(price_experiments::table.find(row.id))
        .set(&row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, conflict))?;
    Ok(row)
}

/// Writes `row`'s definition over the stored experiment, its version one more, and,
/// when given, its variants in place of the stored ones.
pub fn update(
    conn: &mut DbConnection,
    row: &ExperimentRow,
    variants: Option<&[VariantRow]>,
) -> Result<ExperimentRow, PersistenceError> {
    let row = write(conn, row, DUPLICATE_NAME)?;
    if let Some(variants) = variants {
        diesel::delete(
            price_experiment_variants::table
                .filter(price_experiment_variants::experiment_id.eq(row.id)),
        )
        .execute(conn)?;
        crate::insert_batch!(conn, price_experiment_variants::table, variants)?;
    }
    Ok(row)
}

/// Writes `row`'s status and its instants, its version one more. Starting while
/// another experiment on the product runs is a conflict
/// (`price_experiments_running_key`), however close together the two starts come.
pub fn change_status(
    conn: &mut DbConnection,
    row: &ExperimentRow,
) -> Result<ExperimentRow, PersistenceError> {
    write(conn, row, RUNNING_ALREADY)
}

/// Deletes an experiment with its variants and exposures.
pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(price_experiments::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// Experiments in creation order after `after`, of one status and product when
/// given; `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    status: Option<&str>,
    product: Option<Uuid>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<ExperimentRow>, PersistenceError> {
    let mut query = price_experiments::table
        .select(ExperimentRow::as_select())
        .into_boxed::<MultiBackend>();
    if let Some(status) = status {
        query = query.filter(price_experiments::status.eq(status.to_string()));
    }
    if let Some(product) = product {
        query = query.filter(price_experiments::product_id.eq(DbUuid(product)));
    }
    Ok(crate::creation_order_page!(
        conn,
        price_experiments,
        query,
        after,
        limit
    )?)
}

/// Whether `customer` is a current member of `segment`.
pub fn is_member(
    conn: &mut DbConnection,
    segment: Uuid,
    customer: Uuid,
) -> Result<bool, PersistenceError> {
    Ok(diesel::select(diesel::dsl::exists(
        segment_memberships::table
            .filter(segment_memberships::segment_id.eq(DbUuid(segment)))
            .filter(segment_memberships::customer_id.eq(DbUuid(customer)))
            .filter(segment_memberships::left_at.is_null()),
    ))
    .get_result(conn)?)
}

pub fn exposure(
    conn: &mut DbConnection,
    experiment: Uuid,
    customer: Uuid,
) -> Result<Option<ExposureRow>, PersistenceError> {
    Ok(price_experiment_exposures::table
        .find((DbUuid(experiment), DbUuid(customer)))
        .select(ExposureRow::as_select())
        .first(conn)
        .optional()?)
}

/// Stores `row` unless the customer was exposed already (meanwhile, by another
/// request); whether it was stored.
pub fn insert_exposure(
    conn: &mut DbConnection,
    row: &ExposureRow,
) -> Result<bool, PersistenceError> {
    let inserted = match conn {
        DbConnection::Postgres(pg) => diesel::insert_into(price_experiment_exposures::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::insert_into(price_experiment_exposures::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(sqlite)?,
    };
    Ok(inserted == 1)
}

/// A customer's exposures, for the personal-data export.
pub fn exposures_of(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<ExposureRow>, PersistenceError> {
    Ok(price_experiment_exposures::table
        .filter(price_experiment_exposures::customer_id.eq(DbUuid(customer)))
        .order(price_experiment_exposures::exposed_at)
        .select(ExposureRow::as_select())
        .load(conn)?)
}

/// Forgets a customer's exposures (erasure): which price a person was shown is about
/// them. The experiment's figures lose the customer.
pub fn delete_exposures_of(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<usize, PersistenceError> {
    Ok(diesel::delete(
        price_experiment_exposures::table
            .filter(price_experiment_exposures::customer_id.eq(DbUuid(customer))),
    )
    .execute(conn)?)
}

/// What one variant gathered, as the database sums it.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct ArmSums {
    #[diesel(sql_type = Text)]
    pub variant_key: String,
    #[diesel(sql_type = BigInt)]
    pub exposed: i64,
    /// Exposed customers with a positive net revenue of the product.
    #[diesel(sql_type = BigInt)]
    pub converted: i64,
    /// Net revenue of the product (line totals less refunds), in minor units.
    #[diesel(sql_type = BigInt)]
    pub revenue: i64,
    /// Σ revenue² over exposed customers, summed in floating point (squares of rial
    /// amounts pass 2⁶³ quickly).
    #[diesel(sql_type = Double)]
    pub revenue_squares: f64,
}

/// Per variant of `experiment` (on `product`, sold in `currency`): customers exposed
/// before `until`, converted ones, and the sum and sum of squares of each exposed
/// customer's net revenue of the product from purchases in `currency` placed from their
/// exposure until `until`. A merged-away customer's orders moved to the customer it was
/// merged into and are read there; when that customer has an exposure of its own, the
/// merged-away one's is left out, so no purchase counts twice. Variants nobody saw yet
/// are missing.
pub fn arm_sums(
    conn: &mut DbConnection,
    experiment: Uuid,
    product: Uuid,
    currency: &str,
    until: DateTime<Utc>,
) -> Result<Vec<ArmSums>, PersistenceError> {
    let double = crate::reports::double_type(conn);
    let purchases = crate::orders::purchase_statuses_sql();
    let sql = format!(
        "SELECT per.variant_key AS variant_key, \
           CAST(COUNT(*) AS BIGINT) AS exposed, \
           CAST(SUM(CASE WHEN per.revenue > 0 THEN 1 ELSE 0 END) AS BIGINT) AS converted, \
           CAST(SUM(per.revenue) AS BIGINT) AS revenue, \
           CAST(SUM(CAST(per.revenue AS {double}) * per.revenue) AS {double}) AS revenue_squares \
         FROM (\
           SELECT e.variant_key AS variant_key, e.customer_id AS customer_id, \
             CAST(COALESCE(SUM(l.total - l.refunded), 0) AS BIGINT) AS revenue \
           FROM price_experiment_exposures e \
           JOIN customers c ON c.id = e.customer_id \
           LEFT JOIN orders o ON o.customer_id = COALESCE(c.merged_into_id, c.id) \
             AND o.placed_at >= e.exposed_at AND o.placed_at < ? \
             AND o.status IN ({purchases}) AND o.currency = ? \
           LEFT JOIN order_lines l ON l.order_id = o.id AND l.product_id = ? \
           WHERE e.experiment_id = ? AND e.exposed_at < ? \
             AND NOT EXISTS (SELECT 1 FROM price_experiment_exposures w \
               WHERE w.experiment_id = e.experiment_id AND w.customer_id = c.merged_into_id) \
           GROUP BY e.variant_key, e.customer_id\
         ) per \
         GROUP BY per.variant_key ORDER BY per.variant_key"
    );
    Ok(diesel::sql_query(placeholders(conn, &sql))
        .bind::<UtcTimestamp, _>(DbTime(until))
        .bind::<Text, _>(currency)
        .bind::<SqlUuid, _>(DbUuid(product))
        .bind::<SqlUuid, _>(DbUuid(experiment))
        .bind::<UtcTimestamp, _>(DbTime(until))
        .load(conn)?)
}
