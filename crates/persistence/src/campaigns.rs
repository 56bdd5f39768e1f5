//! Marketing campaigns (M-2, A-4): the definitions, their cost entries, their
//! recipients (one row per campaign and customer, with the message recorded for them
//! and the token of their tracked links and open pixel) and the links; and the
//! figures of a campaign and of the acquisition cost per campaign and channel, each
//! summed by the database in one statement.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Double, Nullable, Text};
use uuid::Uuid;

use crate::customers::search::Scope;
use crate::customers::MAX_MERGE_HOPS;
use crate::db::{placeholders, DbConnection, MultiBackend};
use crate::reports::{bind_visibility, days_between, visibility_sql};
use crate::schema::{campaign_costs, campaign_links, campaign_recipients, campaigns};
use crate::sql_types::{DbTime, DbUuid, UtcTimestamp, Uuid as SqlUuid};
use crate::PersistenceError;

const DUPLICATE_CODE: &str = "a campaign with this code already exists";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = campaigns, treat_none_as_null = true)]
pub struct CampaignRow {
    pub id: DbUuid,
    pub name: String,
    pub code: String,
    pub description: Option<String>,
    pub channel: String,
    pub segment_id: Option<DbUuid>,
    pub channel_account_id: Option<DbUuid>,
    pub template_id: Option<DbUuid>,
    pub language: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub scheduled_at: Option<DbTime>,
    pub budget: Option<i64>,
    pub goal_metric: Option<String>,
    pub goal_target: Option<i64>,
    pub attribution_window_days: i32,
    pub status: String,
    pub launched_at: Option<DbTime>,
    pub completed_at: Option<DbTime>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl CampaignRow {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "code": self.code,
            "description": self.description,
            "channel": self.channel,
            "segment_id": self.segment_id.map(|id| id.0),
            "channel_account_id": self.channel_account_id.map(|id| id.0),
            "template_id": self.template_id.map(|id| id.0),
            "language": self.language,
            "subject": self.subject,
            "body": self.body,
            "scheduled_at": self.scheduled_at.map(|at| at.0),
            "budget": self.budget,
            "goal_metric": self.goal_metric,
            "goal_target": self.goal_target,
            "attribution_window_days": self.attribution_window_days,
            "status": self.status,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = campaign_costs)]
pub struct CostRow {
    pub id: DbUuid,
    pub campaign_id: DbUuid,
    pub amount: i64,
    pub incurred_on: NaiveDate,
    pub note: Option<String>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = campaign_recipients)]
pub struct RecipientRow {
    pub campaign_id: DbUuid,
    pub customer_id: DbUuid,
    pub outcome: String,
    pub message_id: Option<DbUuid>,
    pub token: String,
    pub sent_at: DbTime,
    pub opened_at: Option<DbTime>,
    pub clicked_at: Option<DbTime>,
    pub clicks: i32,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = campaign_links)]
pub struct LinkRow {
    pub campaign_id: DbUuid,
    pub position: i32,
    pub url: String,
}

pub fn insert(conn: &mut DbConnection, row: &CampaignRow) -> Result<(), PersistenceError> {
    diesel::insert_into(campaigns::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_CODE))?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<CampaignRow, PersistenceError> {
    campaigns::table
        .find(DbUuid(id))
        .select(CampaignRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// [`find`] holding the row until the transaction ends (PostgreSQL; SQLite's writer
/// lock serialises writers already): a change, a launch, a cancel and the sending job
/// take turns.
pub fn find_for_update(conn: &mut DbConnection, id: Uuid) -> Result<CampaignRow, PersistenceError> {
    if let DbConnection::Postgres(pg) = conn {
        campaigns::table
            .find(DbUuid(id))
            .select(campaigns::id)
            .for_update()
            .load::<DbUuid>(pg)?;
    }
    find(conn, id)
}

/// Writes `row` over the stored campaign, its version one more.
pub fn update(conn: &mut DbConnection, row: &CampaignRow) -> Result<CampaignRow, PersistenceError> {
    let mut row = row.clone();
    row.version += 1;
    row.updated_at = DbTime(crate::now());
    diesel::update(campaigns::table.find(row.id))
        .set(&row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_CODE))?;
    Ok(row)
}

/// Deletes a campaign with its costs, recipients and links.
pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(campaigns::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// Campaigns in creation order after `after`, of one status and channel when given;
/// `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    status: Option<&str>,
    channel: Option<&str>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<CampaignRow>, PersistenceError> {
    let mut query = campaigns::table
        .select(CampaignRow::as_select())
        .into_boxed::<MultiBackend>();
    if let Some(status) = status {
        query = query.filter(campaigns::status.eq(status.to_string()));
    }
    if let Some(channel) = channel {
        query = query.filter(campaigns::channel.eq(channel.to_string()));
    }
    Ok(crate::creation_order_page!(
        conn, campaigns, query, after, limit
    )?)
}

pub fn insert_cost(conn: &mut DbConnection, row: &CostRow) -> Result<(), PersistenceError> {
    diesel::insert_into(campaign_costs::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// A campaign's cost entries by day, then as entered.
pub fn costs(conn: &mut DbConnection, campaign: Uuid) -> Result<Vec<CostRow>, PersistenceError> {
    Ok(campaign_costs::table
        .filter(campaign_costs::campaign_id.eq(DbUuid(campaign)))
        .order((campaign_costs::incurred_on, campaign_costs::id))
        .select(CostRow::as_select())
        .load(conn)?)
}

/// Deletes one cost entry of `campaign`; whether there was one.
pub fn delete_cost(
    conn: &mut DbConnection,
    campaign: Uuid,
    cost: Uuid,
) -> Result<bool, PersistenceError> {
    Ok(diesel::delete(
        campaign_costs::table
            .filter(campaign_costs::campaign_id.eq(DbUuid(campaign)))
            .filter(campaign_costs::id.eq(DbUuid(cost))),
    )
    .execute(conn)?
        == 1)
}

/// The links of a campaign's message by position.
pub fn links(conn: &mut DbConnection, campaign: Uuid) -> Result<Vec<LinkRow>, PersistenceError> {
    Ok(campaign_links::table
        .filter(campaign_links::campaign_id.eq(DbUuid(campaign)))
        .order(campaign_links::position)
        .select(LinkRow::as_select())
        .load(conn)?)
}

/// Stores the links of a campaign's message (at its launch).
pub fn insert_links(conn: &mut DbConnection, links: &[LinkRow]) -> Result<(), PersistenceError> {
    crate::insert_batch!(conn, campaign_links::table, links)?;
    Ok(())
}

/// Stores `row` unless the customer has a row for the campaign already (a page
/// retried after a failure); whether it was stored.
pub fn insert_recipient(
    conn: &mut DbConnection,
    row: &RecipientRow,
) -> Result<bool, PersistenceError> {
    let inserted = match conn {
        DbConnection::Postgres(pg) => diesel::insert_into(campaign_recipients::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::insert_into(campaign_recipients::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(sqlite)?,
    };
    Ok(inserted == 1)
}

/// Whether `customer` has a row for `campaign` (reached, or passed over with a reason).
pub fn recipient_of(
    conn: &mut DbConnection,
    campaign: Uuid,
    customer: Uuid,
) -> Result<bool, PersistenceError> {
    Ok(diesel::select(diesel::dsl::exists(
        campaign_recipients::table.find((DbUuid(campaign), DbUuid(customer))),
    ))
    .get_result(conn)?)
}

/// The largest customer id with a row for `campaign`: members are sent to in id order,
/// so a send resumes after it. Also whether the campaign reached anyone.
pub fn last_recipient(
    conn: &mut DbConnection,
    campaign: Uuid,
) -> Result<Option<Uuid>, PersistenceError> {
    let last: Option<DbUuid> = campaign_recipients::table
        .filter(campaign_recipients::campaign_id.eq(DbUuid(campaign)))
        .select(campaign_recipients::customer_id)
        .order(campaign_recipients::customer_id.desc())
        .first(conn)
        .optional()?;
    Ok(last.map(|id| id.0))
}

/// The recipient whose tracking token is `token`.
pub fn recipient_by_token(
    conn: &mut DbConnection,
    token: &str,
) -> Result<Option<RecipientRow>, PersistenceError> {
    Ok(campaign_recipients::table
        .filter(campaign_recipients::token.eq(token))
        .select(RecipientRow::as_select())
        .first(conn)
        .optional()?)
}

/// The tracking token of the campaign recipient a message was recorded for, if any.
pub fn token_of_message(
    conn: &mut DbConnection,
    message: Uuid,
) -> Result<Option<String>, PersistenceError> {
    Ok(campaign_recipients::table
        .filter(campaign_recipients::message_id.eq(DbUuid(message)))
        .select(campaign_recipients::token)
        .first(conn)
        .optional()?)
}

/// Notes that the recipient of `token` opened the message: the first time is kept.
pub fn record_open(
    conn: &mut DbConnection,
    token: &str,
    at: DateTime<Utc>,
) -> Result<(), PersistenceError> {
    diesel::update(
        campaign_recipients::table
            .filter(campaign_recipients::token.eq(token))
            .filter(campaign_recipients::opened_at.is_null()),
    )
    .set(campaign_recipients::opened_at.eq(DbTime(at)))
    .execute(conn)?;
    Ok(())
}

/// Counts a click of the recipient of `token`, keeping the first one's time.
pub fn record_click(
    conn: &mut DbConnection,
    token: &str,
    at: DateTime<Utc>,
) -> Result<(), PersistenceError> {
    diesel::update(campaign_recipients::table.filter(campaign_recipients::token.eq(token)))
        .set(campaign_recipients::clicks.eq(campaign_recipients::clicks + 1))
        .execute(conn)?;
    diesel::update(
        campaign_recipients::table
            .filter(campaign_recipients::token.eq(token))
            .filter(campaign_recipients::clicked_at.is_null()),
    )
    .set(campaign_recipients::clicked_at.eq(DbTime(at)))
    .execute(conn)?;
    Ok(())
}

/// A customer's campaign receipts, for the personal-data export.
pub fn recipients_of(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<RecipientRow>, PersistenceError> {
    Ok(campaign_recipients::table
        .filter(campaign_recipients::customer_id.eq(DbUuid(customer)))
        .order(campaign_recipients::sent_at)
        .select(RecipientRow::as_select())
        .load(conn)?)
}

/// Forgets a customer's campaign receipts (erasure): what a person was sent, opened
/// and clicked is about them. The campaigns' figures lose the customer.
pub fn delete_recipients_of(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<usize, PersistenceError> {
    Ok(diesel::delete(
        campaign_recipients::table.filter(campaign_recipients::customer_id.eq(DbUuid(customer))),
    )
    .execute(conn)?)
}

/// What a campaign reached and brought, as the database counts it.
#[derive(Debug, Clone, Default, PartialEq, Eq, QueryableByName)]
pub struct CampaignCounts {
    /// Recipients a message was recorded for.
    #[diesel(sql_type = BigInt)]
    pub reached: i64,
    #[diesel(sql_type = BigInt)]
    pub no_consent: i64,
    #[diesel(sql_type = BigInt)]
    pub no_address: i64,
    #[diesel(sql_type = BigInt)]
    pub unsendable: i64,
    /// Messages the consent check refused when they were recorded or the provider
    /// could not deliver.
    #[diesel(sql_type = BigInt)]
    pub failed: i64,
    /// Messages handed over: an e-mail the mail server accepted, a text the provider
    /// reported delivered (or read).
    #[diesel(sql_type = BigInt)]
    pub delivered: i64,
    /// Recipients who opened it (the pixel, a read report, or a click).
    #[diesel(sql_type = BigInt)]
    pub opened: i64,
    #[diesel(sql_type = BigInt)]
    pub clicked: i64,
    #[diesel(sql_type = BigInt)]
    pub clicks: i64,
    /// Recipients who wrote back on the account within the window.
    #[diesel(sql_type = BigInt)]
    pub replied: i64,
}

/// The recipient counts of `campaign`; `window_days` after each message counts for
/// replies. An e-mail has no delivery report: the mail server's acceptance is its
/// delivery.
pub fn counts(
    conn: &mut DbConnection,
    campaign: Uuid,
    window_days: i32,
) -> Result<CampaignCounts, PersistenceError> {
    let in_window = before_window_end(conn, "i.occurred_at", "r.sent_at", window_days);
    let sql = format!(
        "SELECT \
           CAST(COUNT(m.id) AS BIGINT) AS reached, \
           CAST(COALESCE(SUM(CASE WHEN r.outcome = 'no_consent' THEN 1 ELSE 0 END), 0) AS BIGINT) \
             AS no_consent, \
           CAST(COALESCE(SUM(CASE WHEN r.outcome = 'no_address' THEN 1 ELSE 0 END), 0) AS BIGINT) \
             AS no_address, \
           CAST(COALESCE(SUM(CASE WHEN r.outcome = 'unsendable' THEN 1 ELSE 0 END), 0) AS BIGINT) \
             AS unsendable, \
           CAST(COALESCE(SUM(CASE WHEN m.status IN ('failed', 'refused') THEN 1 ELSE 0 END), 0) \
             AS BIGINT) AS failed, \
           CAST(COALESCE(SUM(CASE WHEN m.status IN ('delivered', 'read') \
             OR (m.channel = 'email' AND m.status = 'sent') THEN 1 ELSE 0 END), 0) AS BIGINT) \
             AS delivered, \
           CAST(COALESCE(SUM(CASE WHEN r.opened_at IS NOT NULL OR r.clicked_at IS NOT NULL \
             OR m.status = 'read' THEN 1 ELSE 0 END), 0) AS BIGINT) AS opened, \
           CAST(COALESCE(SUM(CASE WHEN r.clicked_at IS NOT NULL THEN 1 ELSE 0 END), 0) \
             AS BIGINT) AS clicked, \
           CAST(COALESCE(SUM(r.clicks), 0) AS BIGINT) AS clicks, \
           CAST(COALESCE(SUM(CASE WHEN m.id IS NOT NULL AND EXISTS (SELECT 1 FROM messages i \
             WHERE i.conversation_id = m.conversation_id AND i.direction = 'inbound' \
               AND i.occurred_at > r.sent_at AND {in_window}) \
             THEN 1 ELSE 0 END), 0) AS BIGINT) AS replied \
         FROM campaign_recipients r \
         LEFT JOIN messages m ON m.id = r.message_id \
         WHERE r.campaign_id = ?"
    );
    Ok(diesel::sql_query(placeholders(conn, &sql))
        .bind::<SqlUuid, _>(DbUuid(campaign))
        .get_result(conn)?)
}

/// The condition that `instant` comes before `start` plus `days` days, as SQL.
fn before_window_end(conn: &DbConnection, instant: &str, start: &str, days: i32) -> String {
    match conn {
        DbConnection::Postgres(_) => format!("{instant} < {start} + INTERVAL '{days} days'"),
        DbConnection::Sqlite(_) => format!("julianday({instant}) < julianday({start}) + {days}"),
    }
}

/// Orders a campaign brought, as the database sums them.
#[derive(Debug, Clone, Default, PartialEq, Eq, QueryableByName)]
pub struct CampaignConversions {
    /// Customers with a converting order.
    #[diesel(sql_type = BigInt)]
    pub customers: i64,
    /// Of them, recipients who bought within the window after their message.
    #[diesel(sql_type = BigInt)]
    pub recipients: i64,
    #[diesel(sql_type = BigInt)]
    pub orders: i64,
    /// Their totals less refunds, in minor units.
    #[diesel(sql_type = BigInt)]
    pub revenue: i64,
}

/// The purchases in `currency` that count for a campaign: orders that name its `code`,
/// and orders a recipient who was sent its message placed after it and within
/// `window_days` — each once. A recipient merged into another customer since is
/// followed there (through every merge, as far as `MAX_MERGE_HOPS`), where their
/// orders moved. Driven by the campaign's recipients and the index on
/// `orders.campaign`, never by all orders.
pub fn conversions(
    conn: &mut DbConnection,
    campaign: Uuid,
    code: &str,
    currency: &str,
    window_days: i32,
) -> Result<CampaignConversions, PersistenceError> {
    let in_window = before_window_end(conn, "o.placed_at", "r.sent_at", window_days);
    let purchases = crate::orders::purchase_statuses_sql();
    let sql = format!(
        "WITH RECURSIVE chain(customer_id, sent_at, hops) AS (\
           SELECT r.customer_id, r.sent_at, 0 FROM campaign_recipients r \
           WHERE r.campaign_id = ? AND r.outcome = 'sent' \
           UNION ALL \
           SELECT c.merged_into_id, chain.sent_at, chain.hops + 1 \
           FROM chain JOIN customers c ON c.id = chain.customer_id \
           WHERE c.merged_into_id IS NOT NULL AND chain.hops < {MAX_MERGE_HOPS}), \
         hits AS (\
           SELECT o.id AS id, o.customer_id AS customer_id, \
             o.total - o.refunded_total AS net, 1 AS by_message \
           FROM chain r \
           JOIN orders o ON o.customer_id = r.customer_id \
             AND o.placed_at >= r.sent_at AND {in_window} \
           WHERE o.status IN ({purchases}) AND o.currency = ? \
           UNION ALL \
           SELECT o.id, o.customer_id, o.total - o.refunded_total, 0 \
           FROM orders o \
           WHERE o.campaign = ? AND o.status IN ({purchases}) AND o.currency = ?), \
         once AS (\
           SELECT id, customer_id, net, MAX(by_message) AS by_message \
           FROM hits GROUP BY id, customer_id, net) \
         SELECT CAST(COUNT(DISTINCT customer_id) AS BIGINT) AS customers, \
           CAST(COUNT(DISTINCT CASE WHEN by_message = 1 THEN customer_id END) AS BIGINT) \
             AS recipients, \
           CAST(COUNT(*) AS BIGINT) AS orders, \
           CAST(COALESCE(SUM(net), 0) AS BIGINT) AS revenue \
         FROM once"
    );
    Ok(diesel::sql_query(placeholders(conn, &sql))
        .bind::<SqlUuid, _>(DbUuid(campaign))
        .bind::<Text, _>(currency)
        .bind::<Text, _>(code)
        .bind::<Text, _>(currency)
        .get_result(conn)?)
}

/// Costs entered for a campaign: in all, and from `from` to `to` (local days, both
/// included).
#[derive(Debug, Clone, Default, PartialEq, Eq, QueryableByName)]
pub struct CostTotal {
    #[diesel(sql_type = BigInt)]
    pub entries: i64,
    #[diesel(sql_type = BigInt)]
    pub amount: i64,
}

pub fn cost_total(conn: &mut DbConnection, campaign: Uuid) -> Result<CostTotal, PersistenceError> {
    let sql = "SELECT CAST(COUNT(*) AS BIGINT) AS entries, \
                      CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS amount \
               FROM campaign_costs WHERE campaign_id = ?";
    Ok(diesel::sql_query(placeholders(conn, sql))
        .bind::<SqlUuid, _>(DbUuid(campaign))
        .get_result(conn)?)
}

/// What acquiring customers cost in one group (a campaign or a marketing channel).
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct AcquisitionCostCell {
    /// The campaign's code or the channel.
    #[diesel(sql_type = Text)]
    pub group_key: String,
    /// Spent from the first to the last day of the window.
    #[diesel(sql_type = BigInt)]
    pub cost: i64,
    /// Customers created in the window with this acquisition campaign or channel.
    #[diesel(sql_type = BigInt)]
    pub acquired: i64,
    /// Of them, those the current `clv` run scored, and the scores' sum.
    #[diesel(sql_type = BigInt)]
    pub clv_customers: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub clv_total: Option<i64>,
    /// Their gross margin to date (net revenue less the unit cost of the units kept)
    /// and the customer-days it was earned over (each from creation to `now`).
    #[diesel(sql_type = BigInt)]
    pub gross_margin: i64,
    #[diesel(sql_type = Double)]
    pub customer_days: f64,
}

/// How acquisitions are grouped for their cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcquisitionCostGroup {
    Campaign,
    Channel,
}

/// Per campaign code or marketing channel: what was spent from local day `days.0` to
/// `days.1`, and the customers (that `scope` may see) created from `created.0` to
/// `created.1` whose acquisition campaign or channel it is — their count, CLV and gross
/// margin to `now`. Groups with neither a cost nor a customer are missing.
pub fn acquisition_costs(
    conn: &mut DbConnection,
    group: AcquisitionCostGroup,
    days: (NaiveDate, NaiveDate),
    created: (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
    scope: &Scope,
) -> Result<Vec<AcquisitionCostCell>, PersistenceError> {
    let (campaign_key, customer_key) = match group {
        AcquisitionCostGroup::Campaign => ("k.code", "c.acquisition_campaign"),
        AcquisitionCostGroup::Channel => ("k.channel", "c.acquisition_channel"),
    };
    let purchases = crate::orders::purchase_statuses_sql();
    let double = crate::reports::double_type(conn);
    let age = days_between(conn, "?", "c.created_at");
    let sql = format!(
        "WITH spent AS (\
           SELECT {campaign_key} AS group_key, CAST(SUM(s.amount) AS BIGINT) AS cost \
           FROM campaign_costs s JOIN campaigns k ON k.id = s.campaign_id \
           WHERE s.incurred_on >= ? AND s.incurred_on <= ? GROUP BY 1), \
         cohort AS (\
           SELECT c.id AS id, {customer_key} AS group_key, c.clv AS clv, \
             CAST({age} AS {double}) AS age_days \
           FROM customers c \
           WHERE c.merged_into_id IS NULL AND {customer_key} IS NOT NULL \
             AND c.created_at >= ? AND c.created_at < ?{visibility}), \
         margins AS (\
           SELECT o.customer_id AS customer_id, SUM(l.total - l.refunded \
             - COALESCE(l.unit_cost, 0) * (l.quantity - l.returned_quantity)) AS margin \
           FROM orders o JOIN order_lines l ON l.order_id = o.id \
           WHERE o.customer_id IN (SELECT id FROM cohort) AND o.status IN ({purchases}) \
           GROUP BY o.customer_id), \
         acquired AS (\
           SELECT cohort.group_key AS group_key, COUNT(*) AS acquired, \
             COUNT(cohort.clv) AS clv_customers, CAST(SUM(cohort.clv) AS BIGINT) AS clv_total, \
             SUM(cohort.age_days) AS customer_days, \
             CAST(COALESCE(SUM(margins.margin), 0) AS BIGINT) AS gross_margin \
           FROM cohort LEFT JOIN margins ON margins.customer_id = cohort.id \
           GROUP BY 1), \
         keys AS (SELECT group_key FROM spent UNION SELECT group_key FROM acquired) \
         SELECT keys.group_key AS group_key, CAST(COALESCE(spent.cost, 0) AS BIGINT) AS cost, \
           CAST(COALESCE(acquired.acquired, 0) AS BIGINT) AS acquired, \
           CAST(COALESCE(acquired.clv_customers, 0) AS BIGINT) AS clv_customers, \
           acquired.clv_total AS clv_total, \
           CAST(COALESCE(acquired.gross_margin, 0) AS BIGINT) AS gross_margin, \
           CAST(COALESCE(acquired.customer_days, 0) AS {double}) AS customer_days \
         FROM keys LEFT JOIN spent ON spent.group_key = keys.group_key \
         LEFT JOIN acquired ON acquired.group_key = keys.group_key \
         ORDER BY 1",
        visibility = visibility_sql(scope, "c", domain::partners::SharedKind::Customer),
    );
    let query = diesel::sql_query(placeholders(conn, &sql))
        .into_boxed::<MultiBackend>()
        .bind::<Date, _>(days.0)
        .bind::<Date, _>(days.1)
        .bind::<UtcTimestamp, _>(DbTime(now))
        .bind::<UtcTimestamp, _>(DbTime(created.0))
        .bind::<UtcTimestamp, _>(DbTime(created.1));
    Ok(bind_visibility(query, scope).load(conn)?)
}
