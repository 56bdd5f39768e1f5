//! Deals (S-4): the deal rows with their product lines, contacts and stage history, the
//! deal search with its record visibility (by the deal's owner and team, as customers'
//! is by theirs), and the per-stage totals of a pipeline's board.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use domain::authz::Visibility;
use domain::filter::{Predicate, SearchCriteria};
use domain::sales::pipelines::StageKind;
use uuid::Uuid;

use crate::customers::search::Scope;
use crate::db::{placeholders, DbConnection, MultiBackend};
use crate::filter::{
    apply_search, Condition, FilterError, Keyset, SearchColumn, SearchError, SearchTable,
};
use crate::reports::{joined_sum, split_sum_sql};
use crate::schema::{deal_contacts, deal_lines, deal_stage_history, deals};
use crate::sql_types::{DbJson, DbTime, DbUuid, UtcTimestamp, Uuid as SqlUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = deals)]
pub struct DealRow {
    pub id: DbUuid,
    pub title: String,
    /// The title reduced by `domain::persian::search_key`, for quick search.
    pub search_text: String,
    pub customer_id: DbUuid,
    pub owner_id: Option<DbUuid>,
    pub team_id: Option<DbUuid>,
    pub pipeline_id: DbUuid,
    pub stage_id: DbUuid,
    /// The kind of the stage ([`StageKind`]).
    pub status: String,
    pub amount: i64,
    pub currency: String,
    pub expected_close_date: Option<chrono::NaiveDate>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub lead_id: Option<DbUuid>,
    pub lost_reason_id: Option<DbUuid>,
    pub description: Option<String>,
    pub closed_at: Option<DbTime>,
    pub last_activity_at: DbTime,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
    /// Values of the deal custom fields by key, as checked against their definitions.
    pub custom_fields: DbJson,
}

impl DealRow {
    /// The stored status; an unknown value is corrupt data, never guessed.
    pub fn status(&self) -> Result<StageKind, PersistenceError> {
        StageKind::parse(&self.status).ok_or_else(|| {
            PersistenceError::Corrupt(format!("deal {} has status {:?}", self.id.0, self.status))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = deal_lines)]
pub struct DealLineRow {
    pub id: DbUuid,
    pub deal_id: DbUuid,
    pub position: i32,
    pub product_id: DbUuid,
    pub quantity: i64,
    pub unit_price: i64,
    pub discount: i64,
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = deal_contacts)]
struct ContactRow {
    deal_id: DbUuid,
    person_id: DbUuid,
    position: i32,
}

/// One stage a deal entered.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = deal_stage_history)]
pub struct StageChangeRow {
    pub id: DbUuid,
    pub deal_id: DbUuid,
    /// `None` for the stage the deal was created at.
    pub from_stage_id: Option<DbUuid>,
    pub to_stage_id: DbUuid,
    pub changed_at: DbTime,
    pub changed_by: Option<DbUuid>,
}

/// A deal with its lines and contacts in order, and its stage history, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct DealRecord {
    pub row: DealRow,
    pub lines: Vec<DealLineRow>,
    pub contact_ids: Vec<Uuid>,
    pub history: Vec<StageChangeRow>,
}

impl DealRecord {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        let row = &self.row;
        serde_json::json!({
            "title": row.title,
            "customer_id": row.customer_id.0,
            "contact_ids": self.contact_ids,
            "owner_id": row.owner_id.map(|id| id.0),
            "team_id": row.team_id.map(|id| id.0),
            "pipeline_id": row.pipeline_id.0,
            "stage_id": row.stage_id.0,
            "status": row.status,
            "amount": row.amount,
            "currency": row.currency,
            "lines": self.lines.iter().map(|line| serde_json::json!({
                "product_id": line.product_id.0,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount": line.discount,
            })).collect::<Vec<_>>(),
            "expected_close_date": row.expected_close_date,
            "source": row.source,
            "campaign": row.campaign,
            "lead_id": row.lead_id.map(|id| id.0),
            "lost_reason_id": row.lost_reason_id.map(|id| id.0),
            "closed_at": row.closed_at.map(|at| at.0),
            "custom_fields": row.custom_fields.0,
        })
    }
}

/// How many deals hold a value for custom field `key`.
pub fn count_with_custom_value(
    conn: &mut DbConnection,
    key: &str,
) -> Result<i64, PersistenceError> {
    crate::custom_values::count_holding(conn, "deals", key)
}

/// Writes a new deal with its lines, contacts and first history entry.
pub fn insert(conn: &mut DbConnection, record: &DealRecord) -> Result<(), PersistenceError> {
    diesel::insert_into(deals::table)
        .values(&record.row)
        .execute(conn)?;
    write_details(conn, record)?;
    crate::insert_batch!(conn, deal_stage_history::table, &record.history)?;
    Ok(())
}

/// Writes the lines and contacts of `record`.
fn write_details(conn: &mut DbConnection, record: &DealRecord) -> Result<(), PersistenceError> {
    if !record.lines.is_empty() {
        crate::insert_batch!(conn, deal_lines::table, &record.lines)?;
    }
    let contacts: Vec<ContactRow> = record
        .contact_ids
        .iter()
        .enumerate()
        .map(|(position, person)| ContactRow {
            deal_id: record.row.id,
            person_id: DbUuid(*person),
            position: position as i32,
        })
        .collect();
    if !contacts.is_empty() {
        crate::insert_batch!(conn, deal_contacts::table, &contacts)?;
    }
    Ok(())
}

pub fn find_row(conn: &mut DbConnection, id: Uuid) -> Result<DealRow, PersistenceError> {
    deals::table
        .find(DbUuid(id))
        .select(DealRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Holds the deal's row until the transaction ends (PostgreSQL; SQLite writers are
/// serialised already), so that of two changes based on one version the second sees
/// the first's.
pub fn lock(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    if let DbConnection::Postgres(pg) = conn {
        deals::table
            .find(DbUuid(id))
            .select(deals::id)
            .for_update()
            .load::<DbUuid>(pg)?;
    }
    Ok(())
}

/// The deals with their lines, contacts and history, in the given order.
pub fn with_details(
    conn: &mut DbConnection,
    rows: Vec<DealRow>,
) -> Result<Vec<DealRecord>, PersistenceError> {
    let ids: Vec<DbUuid> = rows.iter().map(|row| row.id).collect();
    let mut lines: HashMap<DbUuid, Vec<DealLineRow>> = HashMap::new();
    let mut contacts: HashMap<DbUuid, Vec<Uuid>> = HashMap::new();
    let mut history: HashMap<DbUuid, Vec<StageChangeRow>> = HashMap::new();
    for chunk in ids.chunks(500) {
        for line in deal_lines::table
            .filter(deal_lines::deal_id.eq_any(chunk))
            .order((deal_lines::deal_id, deal_lines::position))
            .select(DealLineRow::as_select())
            .load(conn)?
        {
            lines.entry(line.deal_id).or_default().push(line);
        }
        for contact in deal_contacts::table
            .filter(deal_contacts::deal_id.eq_any(chunk))
            .order((deal_contacts::deal_id, deal_contacts::position))
            .select(ContactRow::as_select())
            .load(conn)?
        {
            contacts
                .entry(contact.deal_id)
                .or_default()
                .push(contact.person_id.0);
        }
        for change in deal_stage_history::table
            .filter(deal_stage_history::deal_id.eq_any(chunk))
            .order((
                deal_stage_history::deal_id,
                deal_stage_history::changed_at,
                deal_stage_history::id,
            ))
            .select(StageChangeRow::as_select())
            .load(conn)?
        {
            history.entry(change.deal_id).or_default().push(change);
        }
    }
    Ok(rows
        .into_iter()
        .map(|row| DealRecord {
            lines: lines.remove(&row.id).unwrap_or_default(),
            contact_ids: contacts.remove(&row.id).unwrap_or_default(),
            history: history.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<DealRecord, PersistenceError> {
    let row = find_row(conn, id)?;
    Ok(with_details(conn, vec![row])?.remove(0))
}

/// Writes every field of `record` (its lines and contacts replaced) if the row's version
/// is still the stored one, and appends `change` to its history.
pub fn update(
    conn: &mut DbConnection,
    record: &DealRecord,
    change: Option<&StageChangeRow>,
) -> Result<DealRecord, PersistenceError> {
    let row = &record.row;
    let updated = diesel::update(
        deals::table
            .filter(deals::id.eq(row.id))
            .filter(deals::version.eq(row.version)),
    )
    .set((
        (
            deals::title.eq(&row.title),
            deals::search_text.eq(&row.search_text),
            deals::customer_id.eq(row.customer_id),
            deals::owner_id.eq(row.owner_id),
            deals::team_id.eq(row.team_id),
            deals::pipeline_id.eq(row.pipeline_id),
            deals::stage_id.eq(row.stage_id),
            deals::status.eq(&row.status),
            deals::amount.eq(row.amount),
            deals::currency.eq(&row.currency),
            deals::expected_close_date.eq(row.expected_close_date),
        ),
        (
            deals::source.eq(&row.source),
            deals::campaign.eq(&row.campaign),
            deals::lead_id.eq(row.lead_id),
            deals::lost_reason_id.eq(row.lost_reason_id),
            deals::description.eq(&row.description),
            deals::custom_fields.eq(&row.custom_fields),
            deals::closed_at.eq(row.closed_at),
            deals::last_activity_at.eq(row.last_activity_at),
            deals::updated_at.eq(row.updated_at),
            deals::version.eq(row.version + 1),
        ),
    ))
    .execute(conn)?;
    if updated == 0 {
        find_row(conn, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    diesel::delete(deal_lines::table.filter(deal_lines::deal_id.eq(row.id))).execute(conn)?;
    diesel::delete(deal_contacts::table.filter(deal_contacts::deal_id.eq(row.id))).execute(conn)?;
    write_details(conn, record)?;
    if let Some(change) = change {
        diesel::insert_into(deal_stage_history::table)
            .values(change)
            .execute(conn)?;
    }
    find(conn, row.id.0)
}

/// Deletes a deal with its lines, contacts and history.
pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    crate::record_shares::forget_records(conn, domain::partners::SharedKind::Deal, &[id])?;
    diesel::delete(deals::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// Whether any deal is with `customer` (such a customer is erased, never deleted).
pub fn customer_has_deals(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<bool, PersistenceError> {
    Ok(diesel::select(diesel::dsl::exists(
        deals::table.filter(deals::customer_id.eq(DbUuid(customer))),
    ))
    .get_result(conn)?)
}

/// Whether a deal has a line of `product`.
pub fn product_on_deals(conn: &mut DbConnection, product: Uuid) -> Result<bool, PersistenceError> {
    Ok(diesel::select(diesel::dsl::exists(
        deal_lines::table.filter(deal_lines::product_id.eq(DbUuid(product))),
    ))
    .get_result(conn)?)
}

/// Records activity on a deal at `at` (an activity logged against it): its
/// `last_activity_at` moves forward to `at`, never back, so a late log of an old call
/// does not make a deal look staler. Answers whether the deal changed.
pub fn record_activity(
    conn: &mut DbConnection,
    id: Uuid,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<bool, PersistenceError> {
    let changed = diesel::update(
        deals::table
            .filter(deals::id.eq(DbUuid(id)))
            .filter(deals::last_activity_at.lt(DbTime(at))),
    )
    .set((
        deals::last_activity_at.eq(DbTime(at)),
        deals::version.eq(deals::version + 1),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// The next `limit` open deals of `pipeline` with an owner and no activity since
/// `cutoff` (stuck), after the deal `after`, in id order: the daily stuck check reads
/// them a page at a time, on `deals_pipeline_status_idx`.
pub fn stuck_with_owner(
    conn: &mut DbConnection,
    pipeline: Uuid,
    cutoff: chrono::DateTime<chrono::Utc>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<DealRow>, PersistenceError> {
    let mut query = deals::table
        .filter(deals::pipeline_id.eq(DbUuid(pipeline)))
        .filter(deals::status.eq(StageKind::Open.as_str()))
        .filter(deals::last_activity_at.le(DbTime(cutoff)))
        .filter(deals::owner_id.is_not_null())
        .select(DealRow::as_select())
        .into_boxed::<MultiBackend>();
    if let Some(after) = after {
        query = query.filter(deals::id.gt(DbUuid(after)));
    }
    Ok(query.order(deals::id).limit(limit).load(conn)?)
}

/// The ids of the deals with `customer`.
pub fn ids_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<Uuid>, PersistenceError> {
    Ok(deals::table
        .filter(deals::customer_id.eq(DbUuid(customer)))
        .select(deals::id)
        .load::<DbUuid>(conn)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

/// Moves deals to another customer (merges and their undo). Their contacts, persons of
/// the customer they were with, go with them.
pub fn move_to(
    conn: &mut DbConnection,
    ids: &[Uuid],
    customer: Uuid,
) -> Result<(), PersistenceError> {
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        diesel::update(deals::table.filter(deals::id.eq_any(chunk)))
            .set(deals::customer_id.eq(DbUuid(customer)))
            .execute(conn)?;
    }
    Ok(())
}

/// Empties the description of a customer's deals (erasure): free text may name the
/// person. Answers how many deals the customer has.
pub fn erase_descriptions(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<usize, PersistenceError> {
    diesel::update(
        deals::table
            .filter(deals::customer_id.eq(DbUuid(customer)))
            .filter(deals::description.is_not_null()),
    )
    .set(deals::description.eq(None::<String>))
    .execute(conn)?;
    Ok(ids_of_customer(conn, customer)?.len())
}

/// Column mapping of the deals catalogue. `stuck` is not a column: the use case turns it
/// into conditions on `status`, `pipeline_id` and `last_activity_at`.
pub struct DealColumns;

impl SearchTable for DealColumns {
    type Table = deals::table;

    fn column(field: &str) -> Option<SearchColumn<deals::table>> {
        use deals as d;
        Some(match field {
            "id" => SearchColumn::Uuid(|| Box::new(d::id.nullable())),
            "title" => SearchColumn::Text(|| Box::new(d::title.nullable())),
            "search_text" => SearchColumn::Text(|| Box::new(d::search_text.nullable())),
            "customer_id" => SearchColumn::Uuid(|| Box::new(d::customer_id.nullable())),
            "owner_id" => SearchColumn::Uuid(|| Box::new(d::owner_id)),
            "team_id" => SearchColumn::Uuid(|| Box::new(d::team_id)),
            "pipeline_id" => SearchColumn::Uuid(|| Box::new(d::pipeline_id.nullable())),
            "stage_id" => SearchColumn::Uuid(|| Box::new(d::stage_id.nullable())),
            "status" => SearchColumn::Text(|| Box::new(d::status.nullable())),
            "amount" => SearchColumn::Integer(|| Box::new(d::amount.nullable())),
            "currency" => SearchColumn::Text(|| Box::new(d::currency.nullable())),
            "expected_close_date" => SearchColumn::Date(|| Box::new(d::expected_close_date)),
            "source" => SearchColumn::Text(|| Box::new(d::source)),
            "campaign" => SearchColumn::Text(|| Box::new(d::campaign)),
            "lead_id" => SearchColumn::Uuid(|| Box::new(d::lead_id)),
            "lost_reason_id" => SearchColumn::Uuid(|| Box::new(d::lost_reason_id)),
            "closed_at" => SearchColumn::Timestamp(|| Box::new(d::closed_at)),
            "last_activity_at" => {
                SearchColumn::Timestamp(|| Box::new(d::last_activity_at.nullable()))
            }
            "created_by" => SearchColumn::Uuid(|| Box::new(d::created_by)),
            "created_at" => SearchColumn::Timestamp(|| Box::new(d::created_at.nullable())),
            "updated_at" => SearchColumn::Timestamp(|| Box::new(d::updated_at.nullable())),
            _ => return None,
        })
    }

    fn related_condition(
        field: &str,
        predicate: &Predicate,
    ) -> Option<Result<Condition<deals::table>, FilterError>> {
        crate::custom_values::condition(field, predicate, "deals.custom_fields")
    }
}

/// `query` narrowed to the deals `scope` may see: by the deal's owner and team, the
/// rule customers follow by theirs.
fn visible_to<'a, ST: 'a>(
    query: deals::BoxedQuery<'a, MultiBackend, ST>,
    scope: &Scope,
) -> deals::BoxedQuery<'a, MultiBackend, ST> {
    let me = DbUuid(scope.user_id);
    match (scope.visibility, scope.team_id) {
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
    }
}

/// The next `limit` deals of a search that `scope` may see.
pub fn search(
    conn: &mut DbConnection,
    criteria: &SearchCriteria,
    scope: &Scope,
    after: Option<&Keyset>,
    limit: i64,
) -> Result<Vec<DealRow>, SearchError> {
    let query = deals::table
        .select(DealRow::as_select())
        .into_boxed::<MultiBackend>();
    let query = apply_search::<DealColumns, _>(visible_to(query, scope), criteria, after)?;
    Ok(query
        .limit(limit)
        .load(conn)
        .map_err(PersistenceError::from)?)
}

/// The open deals of one stage and currency that a board shows, summed exactly (a sum
/// may be past 64 bits; the use case decides what to answer then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageTotals {
    pub stage_id: DbUuid,
    pub currency: String,
    pub deals: i64,
    pub amount: i128,
    /// Σ amount × the stage's probability in percent: a hundred times the weighted
    /// amount, so that rounding happens once, on the sum.
    pub weighted_percent: i128,
}

/// [`StageTotals`] as the database answers it: the amount in halves.
#[derive(QueryableByName)]
struct StageSums {
    #[diesel(sql_type = SqlUuid)]
    stage_id: DbUuid,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = Integer)]
    probability: i32,
    #[diesel(sql_type = BigInt)]
    deals: i64,
    #[diesel(sql_type = BigInt)]
    amount_high: i64,
    #[diesel(sql_type = BigInt)]
    amount_low: i64,
}

/// Per stage and currency, the open deals of `pipeline` that `scope` may see: their
/// number, amount and weighted amount. The sums come from `deal_board_totals`, which the
/// database's triggers keep per pipeline, stage, currency, owner and team as deals are
/// written, so a board costs as many rows as it has cells, not as it has open deals.
/// A partner's user sees, besides its own deals' cells, the deals shared with its
/// partner that it does not own, summed from those deals (`record_shares` first).
pub fn stage_totals(
    conn: &mut DbConnection,
    pipeline: Uuid,
    scope: &Scope,
) -> Result<Vec<StageTotals>, PersistenceError> {
    let me = DbUuid(scope.user_id);
    // A partner's user has `own` visibility; its shares are added below. A team-less
    // deal's key is the nil uuid, which no team has.
    let (visibility, binds): (&str, Vec<DbUuid>) = match (scope.visibility, scope.team_id) {
        (Visibility::All, _) => ("", vec![]),
        (Visibility::Team, Some(team)) if scope.partner_id.is_none() => (
            " AND (t.owner_key = ? OR t.team_key = ?)",
            vec![me, DbUuid(team)],
        ),
        _ => (" AND t.owner_key = ?", vec![me]),
    };
    let sql = format!(
        "SELECT t.stage_id AS stage_id, t.currency AS currency, s.probability AS probability, \
                CAST(SUM(t.deals) AS BIGINT) AS deals, \
                CAST(SUM(t.amount_high) AS BIGINT) AS amount_high, \
                CAST(SUM(t.amount_low) AS BIGINT) AS amount_low \
         FROM deal_board_totals t JOIN pipeline_stages s ON s.id = t.stage_id \
         WHERE t.pipeline_id = ? AND t.deals > 0{visibility} \
         GROUP BY t.stage_id, t.currency, s.probability"
    );
    let mut query = diesel::sql_query(placeholders(conn, &sql))
        .into_boxed::<MultiBackend>()
        .bind::<SqlUuid, _>(DbUuid(pipeline));
    for bind in binds {
        query = query.bind::<SqlUuid, _>(bind);
    }
    let mut rows: Vec<StageSums> = query.load(conn)?;
    if let Some(partner) = scope.partner_id {
        rows.extend(shared_stage_sums(conn, pipeline, me, partner)?);
    }
    // A cell per stage and currency, in that order: the kept cells and the shared
    // deals may both name one.
    let mut totals: BTreeMap<(Uuid, String), StageTotals> = BTreeMap::new();
    for row in rows {
        let amount = joined_sum(row.amount_high, row.amount_low);
        let cell = totals
            .entry((row.stage_id.0, row.currency.clone()))
            .or_insert(StageTotals {
                stage_id: row.stage_id,
                currency: row.currency,
                deals: 0,
                amount: 0,
                weighted_percent: 0,
            });
        cell.deals += row.deals;
        cell.amount += amount;
        cell.weighted_percent += amount * i128::from(row.probability);
    }
    Ok(totals.into_values().collect())
}

/// The open deals of `pipeline` shared with `partner` (and not expired) that `owner`
/// does not own, summed per stage and currency from the deals themselves: a partner's
/// shares are few, and they are per deal, which no cell of the totals can say.
fn shared_stage_sums(
    conn: &mut DbConnection,
    pipeline: Uuid,
    owner: DbUuid,
    partner: Uuid,
) -> Result<Vec<StageSums>, PersistenceError> {
    let sql = format!(
        "SELECT d.stage_id AS stage_id, d.currency AS currency, s.probability AS probability, \
                COUNT(*) AS deals, {amount} \
         FROM deals d JOIN pipeline_stages s ON s.id = d.stage_id \
         WHERE d.id IN (SELECT record_id FROM record_shares WHERE partner_id = ? \
                        AND record_kind = '{kind}' AND (expires_at IS NULL OR expires_at > ?)) \
           AND d.pipeline_id = ? AND d.status = '{open}' \
           AND (d.owner_id IS NULL OR d.owner_id <> ?) \
         GROUP BY d.stage_id, d.currency, s.probability",
        amount = split_sum_sql("d.amount", "amount"),
        kind = domain::partners::SharedKind::Deal.as_str(),
        open = StageKind::Open.as_str(),
    );
    Ok(diesel::sql_query(placeholders(conn, &sql))
        .bind::<SqlUuid, _>(DbUuid(partner))
        .bind::<UtcTimestamp, _>(DbTime(crate::now()))
        .bind::<SqlUuid, _>(DbUuid(pipeline))
        .bind::<SqlUuid, _>(owner)
        .load(conn)?)
}
