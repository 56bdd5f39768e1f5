//! The loyalty ledger in storage: entries are only ever appended (a merge moves them
//! between customers, an erasure empties their reasons). What remains of a lot is its
//! points plus the (negative) points of the entries that take from it, summed here.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use uuid::Uuid;

use crate::db::{placeholders, DbConnection};
use crate::schema::{loyalty_entries, referral_codes};
use crate::sql_types::{DbTime, DbUuid, UtcTimestamp, Uuid as SqlUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = loyalty_entries, treat_none_as_default_value = false)]
pub struct EntryRow {
    pub id: DbUuid,
    pub customer_id: DbUuid,
    pub origin_customer_id: DbUuid,
    pub kind: String,
    pub points: i64,
    pub lot_id: Option<DbUuid>,
    pub expires_at: Option<DbTime>,
    pub reason: Option<String>,
    /// What earned the points by a rule (`order:<id>`, `event:<id>`); earned once.
    pub source: Option<String>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
}

/// A lot with what remains of it.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct LotRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: DbUuid,
    #[diesel(sql_type = SqlUuid)]
    pub customer_id: DbUuid,
    #[diesel(sql_type = BigInt)]
    pub points: i64,
    #[diesel(sql_type = BigInt)]
    pub remaining: i64,
    #[diesel(sql_type = UtcTimestamp)]
    pub expires_at: DbTime,
    #[diesel(sql_type = UtcTimestamp)]
    pub created_at: DbTime,
}

/// The lots with their remaining points, of the rows `filter` (SQL on `e`) selects.
const LOTS: &str = "SELECT e.id, e.customer_id, e.points, \
     e.points + CAST(COALESCE(SUM(t.points), 0) AS BIGINT) AS remaining, e.expires_at, e.created_at \
     FROM loyalty_entries e LEFT JOIN loyalty_entries t ON t.lot_id = e.id \
     WHERE e.kind = 'earn' AND ";

pub fn append(conn: &mut DbConnection, rows: &[EntryRow]) -> Result<(), PersistenceError> {
    for chunk in rows.chunks(500) {
        crate::insert_batch!(conn, loyalty_entries::table, chunk)?;
    }
    Ok(())
}

/// Appends `rows` earned by rules, skipping any whose `source` earned before; answers
/// how many were appended.
pub fn append_earned(
    conn: &mut DbConnection,
    rows: &[EntryRow],
) -> Result<usize, PersistenceError> {
    let mut appended = 0;
    for chunk in rows.chunks(500) {
        appended += match conn {
            DbConnection::Postgres(pg) => diesel::insert_into(loyalty_entries::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .execute(pg)?,
            DbConnection::Sqlite(sqlite) => diesel::insert_into(loyalty_entries::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .execute(sqlite)?,
        };
    }
    Ok(appended)
}

/// Every lot of `customer` that still holds points, expired or not.
pub fn lots_of(conn: &mut DbConnection, customer: Uuid) -> Result<Vec<LotRow>, PersistenceError> {
    let sql = format!(
        "{LOTS} e.customer_id = ? GROUP BY e.id, e.customer_id, e.points, e.expires_at, \
         e.created_at HAVING e.points + COALESCE(SUM(t.points), 0) > 0 \
         ORDER BY e.expires_at, e.created_at, e.id"
    );
    Ok(diesel::sql_query(placeholders(conn, &sql))
        .bind::<SqlUuid, _>(DbUuid(customer))
        .load(conn)?)
}

/// The lots that expired in `(after, until]` and still hold points, oldest first, at
/// most `limit`: what the expiry run writes off.
pub fn expired_lots(
    conn: &mut DbConnection,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<LotRow>, PersistenceError> {
    let sql = format!(
        "{LOTS} e.expires_at > ? AND e.expires_at <= ? \
         GROUP BY e.id, e.customer_id, e.points, e.expires_at, e.created_at \
         HAVING e.points + COALESCE(SUM(t.points), 0) > 0 \
         ORDER BY e.expires_at, e.id LIMIT ?"
    );
    Ok(diesel::sql_query(placeholders(conn, &sql))
        .bind::<UtcTimestamp, _>(DbTime(after))
        .bind::<UtcTimestamp, _>(DbTime(until))
        .bind::<BigInt, _>(limit)
        .load(conn)?)
}

/// Points earned by `customer` over all time.
pub fn earned_total(conn: &mut DbConnection, customer: Uuid) -> Result<i64, PersistenceError> {
    #[derive(QueryableByName)]
    struct Total {
        #[diesel(sql_type = Nullable<BigInt>)]
        total: Option<i64>,
    }
    let sql = "SELECT CAST(SUM(points) AS BIGINT) AS total FROM loyalty_entries \
               WHERE customer_id = ? AND kind = ?";
    let total: Total = diesel::sql_query(placeholders(conn, sql))
        .bind::<SqlUuid, _>(DbUuid(customer))
        .bind::<Text, _>("earn")
        .get_result(conn)?;
    Ok(total.total.unwrap_or(0))
}

/// A page of `customer`'s entries, newest first, before `before` (`(created_at, id)` of
/// the last one seen): up to `limit + 1` rows, the last telling that there is more.
pub fn entries_of(
    conn: &mut DbConnection,
    customer: Uuid,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<EntryRow>, PersistenceError> {
    use loyalty_entries as l;
    let mut query = l::table
        .filter(l::customer_id.eq(DbUuid(customer)))
        .select(EntryRow::as_select())
        .order((l::created_at.desc(), l::id.desc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some((at, id)) = before {
        query = query.filter(
            l::created_at
                .lt(DbTime(at))
                .or(l::created_at.eq(DbTime(at)).and(l::id.lt(DbUuid(id)))),
        );
    }
    Ok(query.load(conn)?)
}

/// Every entry of `customer`, oldest first: the personal-data export.
pub fn all_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<EntryRow>, PersistenceError> {
    Ok(loyalty_entries::table
        .filter(loyalty_entries::customer_id.eq(DbUuid(customer)))
        .select(EntryRow::as_select())
        .order((loyalty_entries::created_at.asc(), loyalty_entries::id.asc()))
        .load(conn)?)
}

// `move_to(losers, winner)` for a merge and `give_back(winner, loser, origins)` for
// its undo.
crate::follows_merges!(loyalty_entries);

/// Empties the reasons of `customer`'s entries (an erasure: staff may have written
/// about the person there); answers how many entries the customer has.
pub fn redact_customer(conn: &mut DbConnection, customer: Uuid) -> Result<usize, PersistenceError> {
    Ok(diesel::update(
        loyalty_entries::table.filter(loyalty_entries::customer_id.eq(DbUuid(customer))),
    )
    .set(loyalty_entries::reason.eq(None::<String>))
    .execute(conn)?)
}

/// A customer's referral code.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = referral_codes)]
pub struct ReferralCodeRow {
    pub code: String,
    pub customer_id: DbUuid,
    pub created_at: DbTime,
}

pub fn referral_code_of(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Option<ReferralCodeRow>, PersistenceError> {
    Ok(referral_codes::table
        .filter(referral_codes::customer_id.eq(DbUuid(customer)))
        .select(ReferralCodeRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_referral_code(
    conn: &mut DbConnection,
    code: &str,
) -> Result<Option<ReferralCodeRow>, PersistenceError> {
    Ok(referral_codes::table
        .find(code)
        .select(ReferralCodeRow::as_select())
        .first(conn)
        .optional()?)
}

/// Stores `row` unless its code or its customer has one already; whether it was.
pub fn insert_referral_code(
    conn: &mut DbConnection,
    row: &ReferralCodeRow,
) -> Result<bool, PersistenceError> {
    let inserted = match conn {
        DbConnection::Postgres(pg) => diesel::insert_into(referral_codes::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::insert_into(referral_codes::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(sqlite)?,
    };
    Ok(inserted == 1)
}

/// Forgets a customer's referral code (erasure); answers how many went.
pub fn delete_referral_code(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<usize, PersistenceError> {
    Ok(diesel::delete(
        referral_codes::table.filter(referral_codes::customer_id.eq(DbUuid(customer))),
    )
    .execute(conn)?)
}

/// A customer's measure for the loyalty tiers, as the database sums it.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct TierMeasure {
    #[diesel(sql_type = SqlUuid)]
    pub customer_id: DbUuid,
    #[diesel(sql_type = BigInt)]
    pub measure: i64,
}

/// The next `limit` customers after `after` (by id) whose tier the loyalty tiers
/// manage — none, or one of `managed` — and who are neither merged away nor erased,
/// with their tier.
pub fn tier_candidates(
    conn: &mut DbConnection,
    managed: &[Uuid],
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<(Uuid, Option<Uuid>)>, PersistenceError> {
    use crate::db::MultiBackend;
    use crate::schema::customers;
    let managed: Vec<DbUuid> = managed.iter().copied().map(DbUuid).collect();
    let mut query = customers::table
        .filter(customers::merged_into_id.is_null())
        .filter(customers::erased_at.is_null())
        .filter(
            customers::tier_id
                .is_null()
                .or(customers::tier_id.eq_any(managed)),
        )
        .select((customers::id, customers::tier_id))
        .into_boxed::<MultiBackend>();
    if let Some(after) = after {
        query = query.filter(customers::id.gt(DbUuid(after)));
    }
    let rows: Vec<(DbUuid, Option<DbUuid>)> = query.order(customers::id).limit(limit).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, tier)| (id.0, tier.map(|tier| tier.0)))
        .collect())
}

/// Points each of `customers` earned from `since` on (spent or not); customers
/// without any are missing.
pub fn points_earned_since(
    conn: &mut DbConnection,
    customers: &[Uuid],
    since: DateTime<Utc>,
) -> Result<Vec<TierMeasure>, PersistenceError> {
    if customers.is_empty() {
        return Ok(Vec::new());
    }
    let list = vec!["?"; customers.len()].join(", ");
    let sql = format!(
        "SELECT customer_id, CAST(SUM(points) AS BIGINT) AS measure FROM loyalty_entries \
         WHERE kind = 'earn' AND created_at >= ? AND customer_id IN ({list}) \
         GROUP BY customer_id"
    );
    let mut query = diesel::sql_query(placeholders(conn, &sql))
        .into_boxed()
        .bind::<UtcTimestamp, _>(DbTime(since));
    for id in customers {
        query = query.bind::<SqlUuid, _>(DbUuid(*id));
    }
    Ok(query.load(conn)?)
}

/// Puts `customers` in `tier` (none clears it), each record's version one more.
pub fn set_tier(
    conn: &mut DbConnection,
    customers: &[Uuid],
    tier: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<usize, PersistenceError> {
    use crate::schema::customers as c;
    let ids: Vec<DbUuid> = customers.iter().copied().map(DbUuid).collect();
    Ok(diesel::update(c::table.filter(c::id.eq_any(ids)))
        .set((
            c::tier_id.eq(tier.map(DbUuid)),
            c::version.eq(c::version + 1),
            c::updated_at.eq(DbTime(now)),
        ))
        .execute(conn)?)
}
