//! Quotes (S-6): the quote rows with their lines, the per-year number counter, and the
//! listing of the quotes whose deal the caller may see (a quote is visible exactly when
//! its deal is).

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};
use domain::authz::Visibility;
use domain::sales::quotes::QuoteStatus;
use uuid::Uuid;

use crate::customers::search::Scope;
use crate::db::{placeholders, DbConnection, MultiBackend};
use crate::schema::{deals, quote_lines, quotes};
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = quotes)]
pub struct QuoteRow {
    pub id: DbUuid,
    /// `Q-<Jalali year>-<sequence>`, unique.
    pub number: String,
    pub deal_id: DbUuid,
    /// The stored status ([`QuoteStatus`], never `expired`).
    pub status: String,
    pub currency: String,
    pub valid_until: chrono::NaiveDate,
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub notes: Option<String>,
    pub order_id: Option<DbUuid>,
    pub sent_at: Option<DbTime>,
    pub decided_at: Option<DbTime>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl QuoteRow {
    /// The stored status; an unknown value is corrupt data, never guessed.
    pub fn status(&self) -> Result<QuoteStatus, PersistenceError> {
        QuoteStatus::parse(&self.status)
            .filter(|status| *status != QuoteStatus::Expired)
            .ok_or_else(|| {
                PersistenceError::Corrupt(format!(
                    "quote {} has status {:?}",
                    self.id.0, self.status
                ))
            })
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = quote_lines)]
pub struct QuoteLineRow {
    pub id: DbUuid,
    pub quote_id: DbUuid,
    pub position: i32,
    pub product_id: DbUuid,
    /// The product's names when the line was priced.
    pub name: String,
    pub name_en: Option<String>,
    pub quantity: i64,
    pub unit_price: i64,
    pub discount: i64,
    /// Basis points.
    pub tax_rate: i32,
    pub tax: i64,
    /// quantity × unit price − discount + tax.
    pub total: i64,
}

/// A quote with its lines in order.
#[derive(Debug, Clone, PartialEq)]
pub struct QuoteRecord {
    pub row: QuoteRow,
    pub lines: Vec<QuoteLineRow>,
}

impl QuoteRecord {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        let row = &self.row;
        serde_json::json!({
            "number": row.number,
            "deal_id": row.deal_id.0,
            "status": row.status,
            "currency": row.currency,
            "valid_until": row.valid_until,
            "total": row.total,
            "tax_total": row.tax_total,
            "order_id": row.order_id.map(|id| id.0),
            "lines": self.lines.iter().map(|line| serde_json::json!({
                "product_id": line.product_id.0,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount": line.discount,
                "tax_rate": line.tax_rate,
            })).collect::<Vec<_>>(),
        })
    }
}

#[derive(QueryableByName)]
struct Counter {
    #[diesel(sql_type = BigInt)]
    last_number: i64,
}

/// The next number of `year`: the year's counter row is created or incremented and
/// read in one statement, and stays locked until the transaction ends, so that
/// concurrent creates number one after another and a rolled back create gives its
/// number back (no gaps). The same SQL on both backends.
pub fn next_number(conn: &mut DbConnection, year: i32) -> Result<i64, PersistenceError> {
    let sql = "INSERT INTO quote_counters (year, last_number) VALUES (?, 1) \
               ON CONFLICT (year) DO UPDATE SET last_number = quote_counters.last_number + 1 \
               RETURNING last_number";
    let counter: Counter = diesel::sql_query(placeholders(conn, sql))
        .bind::<Integer, _>(year)
        .get_result(conn)?;
    Ok(counter.last_number)
}

/// Writes a new quote with its lines.
pub fn insert(conn: &mut DbConnection, record: &QuoteRecord) -> Result<(), PersistenceError> {
    diesel::insert_into(quotes::table)
        .values(&record.row)
        .execute(conn)?;
    crate::insert_batch!(conn, quote_lines::table, &record.lines)?;
    Ok(())
}

pub fn find_row(conn: &mut DbConnection, id: Uuid) -> Result<QuoteRow, PersistenceError> {
    quotes::table
        .find(DbUuid(id))
        .select(QuoteRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<QuoteRecord, PersistenceError> {
    let row = find_row(conn, id)?;
    Ok(with_lines(conn, vec![row])?.remove(0))
}

/// Holds the quote's row until the transaction ends (PostgreSQL; SQLite writers are
/// serialised already), so that of two changes based on one version the second sees
/// the first's, and an acceptance places one order.
pub fn lock(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    if let DbConnection::Postgres(pg) = conn {
        quotes::table
            .find(DbUuid(id))
            .select(quotes::id)
            .for_update()
            .load::<DbUuid>(pg)?;
    }
    Ok(())
}

/// The quotes with their lines, in the given order.
pub fn with_lines(
    conn: &mut DbConnection,
    rows: Vec<QuoteRow>,
) -> Result<Vec<QuoteRecord>, PersistenceError> {
    let ids: Vec<DbUuid> = rows.iter().map(|row| row.id).collect();
    let mut lines: HashMap<DbUuid, Vec<QuoteLineRow>> = HashMap::new();
    for chunk in ids.chunks(500) {
        for line in quote_lines::table
            .filter(quote_lines::quote_id.eq_any(chunk))
            .order((quote_lines::quote_id, quote_lines::position))
            .select(QuoteLineRow::as_select())
            .load(conn)?
        {
            lines.entry(line.quote_id).or_default().push(line);
        }
    }
    Ok(rows
        .into_iter()
        .map(|row| QuoteRecord {
            lines: lines.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

/// Writes every field of `record` (its lines replaced) if the row's version is still
/// the stored one.
pub fn update(
    conn: &mut DbConnection,
    record: &QuoteRecord,
) -> Result<QuoteRecord, PersistenceError> {
    let row = &record.row;
    let updated = diesel::update(
        quotes::table
            .filter(quotes::id.eq(row.id))
            .filter(quotes::version.eq(row.version)),
    )
    .set((
        quotes::status.eq(&row.status),
        quotes::valid_until.eq(row.valid_until),
        quotes::subtotal.eq(row.subtotal),
        quotes::discount_total.eq(row.discount_total),
        quotes::tax_total.eq(row.tax_total),
        quotes::total.eq(row.total),
        quotes::notes.eq(&row.notes),
        quotes::order_id.eq(row.order_id),
        quotes::sent_at.eq(row.sent_at),
        quotes::decided_at.eq(row.decided_at),
        quotes::updated_at.eq(row.updated_at),
        quotes::version.eq(row.version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        find_row(conn, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    diesel::delete(quote_lines::table.filter(quote_lines::quote_id.eq(row.id))).execute(conn)?;
    crate::insert_batch!(conn, quote_lines::table, &record.lines)?;
    find(conn, row.id.0)
}

/// Whether deal `deal` has quotes (such a deal is not deleted).
pub fn deal_has_quotes(conn: &mut DbConnection, deal: Uuid) -> Result<bool, PersistenceError> {
    Ok(diesel::select(diesel::dsl::exists(
        quotes::table.filter(quotes::deal_id.eq(DbUuid(deal))),
    ))
    .get_result(conn)?)
}

/// The next `limit` quotes in creation order after `after`, of deal `deal` if given,
/// whose deal `scope` may see (by the deal's owner and team).
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    deal: Option<Uuid>,
    after: Option<(chrono::DateTime<chrono::Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<QuoteRow>, PersistenceError> {
    let mut query = quotes::table
        .inner_join(deals::table)
        .select(QuoteRow::as_select())
        .into_boxed::<MultiBackend>();
    let me = DbUuid(scope.user_id);
    query = match (scope.visibility, scope.team_id) {
        (Visibility::All, _) => query,
        _ if scope.partner_id.is_some() => query.filter(deals::owner_id.eq(me).or(
            deals::id.eq_any(crate::shared_with!(
                scope.partner_id.unwrap_or_default(),
                domain::partners::SharedKind::Deal
            )),
        )),
        (Visibility::Own, _) | (Visibility::Team, None) => query.filter(deals::owner_id.eq(me)),
        (Visibility::Team, Some(team)) => {
            query.filter(deals::owner_id.eq(me).or(deals::team_id.eq(DbUuid(team))))
        }
    };
    if let Some(deal) = deal {
        query = query.filter(quotes::deal_id.eq(DbUuid(deal)));
    }
    if let Some((at, id)) = after {
        query = query.filter(
            quotes::created_at.gt(DbTime(at)).or(quotes::created_at
                .eq(DbTime(at))
                .and(quotes::id.gt(DbUuid(id)))),
        );
    }
    Ok(query
        .order((quotes::created_at, quotes::id))
        .limit(limit)
        .load(conn)?)
}

/// The quotes of the deals `deal_ids`, with their lines, oldest first (the personal-data
/// export).
pub fn of_deals(
    conn: &mut DbConnection,
    deal_ids: &[Uuid],
) -> Result<Vec<QuoteRecord>, PersistenceError> {
    let mut rows = Vec::new();
    for chunk in deal_ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        rows.extend(
            quotes::table
                .filter(quotes::deal_id.eq_any(chunk))
                .order((quotes::created_at, quotes::id))
                .select(QuoteRow::as_select())
                .load(conn)?,
        );
    }
    with_lines(conn, rows)
}

/// Empties the notes of the quotes of deals `deal_ids` (erasure): free text may name
/// the person. Answers how many quotes those deals have.
pub fn erase_notes(conn: &mut DbConnection, deal_ids: &[Uuid]) -> Result<usize, PersistenceError> {
    let mut quotes_of_deals = 0;
    for chunk in deal_ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        let count: i64 = quotes::table
            .filter(quotes::deal_id.eq_any(&chunk))
            .count()
            .get_result(conn)?;
        quotes_of_deals += count as usize;
        diesel::update(
            quotes::table
                .filter(quotes::deal_id.eq_any(chunk))
                .filter(quotes::notes.is_not_null()),
        )
        .set(quotes::notes.eq(None::<String>))
        .execute(conn)?;
    }
    Ok(quotes_of_deals)
}

/// Whether a quote has a line of `product`.
pub fn product_on_quotes(conn: &mut DbConnection, product: Uuid) -> Result<bool, PersistenceError> {
    Ok(diesel::select(diesel::dsl::exists(
        quote_lines::table.filter(quote_lines::product_id.eq(DbUuid(product))),
    ))
    .get_result(conn)?)
}
