//! What the cross-channel report reads (O-5), each figure summed by the database in
//! one statement with the report's periods joined as a `VALUES` list, as the sales
//! reports do: message volumes per period and channel (by `occurred_at`), per
//! conversation started in a period (by `conversations.created_at`, when its first
//! message was stored) the first-response time and whether it led to a lead, a deal or
//! an order, the revenue of those orders, and the touchpoint paths of the customers
//! whose first order fell in a range. Rows are per period, channel (and currency or
//! path), never the messages or orders themselves.
//!
//! A conversation is seen through its customer, else its lead, as the conversation
//! listing sees it; messages through their conversation; a path through its customer.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use domain::authz::Visibility;
use domain::omnichannel::analytics::{ATTRIBUTION_DAYS, MEDIAN, P90, PATH_TOUCHES};
use domain::omnichannel::conversations::{Direction, MessageStatus};

use crate::customers::search::Scope;
use crate::db::{placeholders, DbConnection};
use crate::reports::{
    bind_periods, bind_visibility, days_between, joined_sum, periods_cte, sale_statuses_sql,
    split_sum_sql, visibility_sql, PeriodBounds, Query,
};
use crate::sql_types::{DbTime, UtcTimestamp};
use crate::PersistenceError;

/// The statuses of an outbound message that never reached the customer, as an `IN`
/// list of fixed names.
fn undelivered_sql() -> String {
    format!(
        "'{}', '{}'",
        MessageStatus::Refused.as_str(),
        MessageStatus::Failed.as_str()
    )
}

fn inbound() -> &'static str {
    Direction::Inbound.as_str()
}

fn outbound() -> &'static str {
    Direction::Outbound.as_str()
}

/// Whole seconds (rounded) from timestamp `earlier` to `later`.
fn seconds_between(conn: &DbConnection, later: &str, earlier: &str) -> String {
    match conn {
        DbConnection::Postgres(_) => {
            format!("CAST(ROUND(EXTRACT(EPOCH FROM ({later} - {earlier}))) AS BIGINT)")
        }
        DbConnection::Sqlite(_) => {
            format!("CAST(ROUND((julianday({later}) - julianday({earlier})) * 86400.0) AS INTEGER)")
        }
    }
}

/// `AND` the condition that `scope` sees conversation `conv`: through its customer,
/// else its lead; one with neither only with visibility `all`. Bound by
/// [`bind_conversation_visibility`].
fn conversation_visibility_sql(scope: &Scope) -> String {
    if scope.visibility == Visibility::All {
        return String::new();
    }
    format!(
        " AND ((conv.customer_id IS NOT NULL AND EXISTS (SELECT 1 FROM customers c \
                WHERE c.id = conv.customer_id{customer})) \
            OR (conv.customer_id IS NULL AND EXISTS (SELECT 1 FROM leads l \
                WHERE l.id = conv.lead_id{lead})))",
        customer = visibility_sql(scope, "c", domain::partners::SharedKind::Customer),
        lead = visibility_sql(scope, "l", domain::partners::SharedKind::Lead),
    )
}

fn bind_conversation_visibility<'a>(query: Query<'a>, scope: &Scope) -> Query<'a> {
    if scope.visibility == Visibility::All {
        return query;
    }
    bind_visibility(bind_visibility(query, scope), scope)
}

/// The condition that instant `at` (an order's `o.placed_at`, a deal's `d.created_at`)
/// falls in the attribution window of conversation `conv`: at or after its start, less
/// than [`ATTRIBUTION_DAYS`] days later.
fn in_window(conn: &DbConnection, at: &str) -> String {
    format!(
        "{at} >= conv.created_at AND {days} < {ATTRIBUTION_DAYS}",
        days = days_between(conn, at, "conv.created_at"),
    )
}

/// Messages of one period and channel.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct VolumeCell {
    #[diesel(sql_type = BigInt)]
    pub period: i64,
    #[diesel(sql_type = Text)]
    pub channel: String,
    /// From customers.
    #[diesel(sql_type = BigInt)]
    pub inbound: i64,
    /// To customers, but those refused for want of consent or failed at the provider.
    #[diesel(sql_type = BigInt)]
    pub outbound: i64,
    /// Of `outbound`, those sent automatically (off-hours replies, survey links).
    #[diesel(sql_type = BigInt)]
    pub automatic: i64,
}

/// Messages in and out per period and channel (periods and channels without any are
/// absent).
pub fn volume(
    conn: &mut DbConnection,
    periods: &[PeriodBounds],
    scope: &Scope,
) -> Result<Vec<VolumeCell>, PersistenceError> {
    if periods.is_empty() {
        return Ok(Vec::new());
    }
    let sent = format!(
        "m.direction = '{out}' AND m.status NOT IN ({undelivered})",
        out = outbound(),
        undelivered = undelivered_sql(),
    );
    let join = if scope.visibility == Visibility::All {
        ""
    } else {
        " JOIN conversations conv ON conv.id = m.conversation_id"
    };
    let sql = format!(
        "{cte} SELECT periods.idx AS period, m.channel AS channel, \
         CAST(SUM(CASE WHEN m.direction = '{inbound}' THEN 1 ELSE 0 END) AS BIGINT) AS inbound, \
         CAST(SUM(CASE WHEN {sent} THEN 1 ELSE 0 END) AS BIGINT) AS outbound, \
         CAST(SUM(CASE WHEN {sent} AND m.automatic THEN 1 ELSE 0 END) AS BIGINT) AS automatic \
         FROM periods \
         JOIN messages m ON m.occurred_at >= periods.starts AND m.occurred_at < periods.ends\
         {join} WHERE 1 = 1{visibility} \
         GROUP BY periods.idx, m.channel ORDER BY 1, 2",
        cte = periods_cte(periods.len(), false),
        inbound = inbound(),
        visibility = conversation_visibility_sql(scope),
    );
    let query = bind_periods(
        diesel::sql_query(placeholders(conn, &sql)).into_boxed(),
        periods,
        false,
    );
    Ok(bind_conversation_visibility(query, scope).load(conn)?)
}

/// The conversations started in one period on one channel and what they led to.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ConversationCell {
    #[diesel(sql_type = BigInt)]
    pub period: i64,
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = BigInt)]
    pub conversations: i64,
    /// With a lead: one the sender was made, or was recognised as.
    #[diesel(sql_type = BigInt)]
    pub leads: i64,
    /// Whose customer got a deal within the attribution window.
    #[diesel(sql_type = BigInt)]
    pub deals: i64,
    /// Whose customer placed an order (a sale) within the attribution window.
    #[diesel(sql_type = BigInt)]
    pub orders: i64,
    /// With an agent's reply after the first customer message, and the sum of the
    /// seconds to it (in halves, see [`split_sum_sql`]) and its nearest-rank median and
    /// 90th percentile.
    #[diesel(sql_type = BigInt)]
    pub answered: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub seconds_high: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub seconds_low: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub p50_seconds: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub p90_seconds: Option<i64>,
}

impl ConversationCell {
    /// The seconds to the first reply, added up.
    pub fn total_seconds(&self) -> i128 {
        joined_sum(
            self.seconds_high.unwrap_or(0),
            self.seconds_low.unwrap_or(0),
        )
    }
}

/// Per period and channel, the conversations that started then (periods and channels
/// without any are absent).
///
/// The first response of a conversation is its first outbound message that an agent
/// wrote (not automatic, not refused or failed) at or after its first inbound message
/// that a person wrote (an inbound message marked automatic, such as an out-of-office
/// answer, does not start the clock);
/// the percentiles rank those durations per period and channel (`ROW_NUMBER` over them,
/// the smallest at a rank `r` with `r * 100 >= n * percent`,
/// [`domain::omnichannel::analytics::nearest_rank`]).
pub fn conversations(
    conn: &mut DbConnection,
    periods: &[PeriodBounds],
    scope: &Scope,
) -> Result<Vec<ConversationCell>, PersistenceError> {
    if periods.is_empty() {
        return Ok(Vec::new());
    }
    let seconds = seconds_between(conn, "a.first_out", "a.first_in");
    let sql = format!(
        "{cte}, \
         started AS (\
           SELECT periods.idx AS period, conv.id AS id, conv.channel AS channel, \
             CASE WHEN conv.lead_id IS NOT NULL THEN 1 ELSE 0 END AS has_lead, \
             CASE WHEN EXISTS (SELECT 1 FROM deals d WHERE d.customer_id = conv.customer_id \
               AND {deal_window}) THEN 1 ELSE 0 END AS has_deal, \
             CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = conv.customer_id \
               AND o.status IN ({sales}) AND {order_window}) THEN 1 ELSE 0 END AS has_sale, \
             (SELECT MIN(m.occurred_at) FROM messages m WHERE m.conversation_id = conv.id \
               AND m.direction = '{inbound}' AND NOT m.automatic) AS first_in \
           FROM periods \
           JOIN conversations conv \
             ON conv.created_at >= periods.starts AND conv.created_at < periods.ends \
           WHERE 1 = 1{visibility}), \
         answered AS (\
           SELECT s.period AS period, s.channel AS channel, s.first_in AS first_in, \
             (SELECT MIN(m.occurred_at) FROM messages m WHERE m.conversation_id = s.id \
               AND m.direction = '{outbound}' AND NOT m.automatic \
               AND m.status NOT IN ({undelivered}) AND m.occurred_at >= s.first_in) AS first_out \
           FROM started s WHERE s.first_in IS NOT NULL), \
         ranked AS (\
           SELECT r.period AS period, r.channel AS channel, r.seconds AS seconds, \
             ROW_NUMBER() OVER (PARTITION BY r.period, r.channel ORDER BY r.seconds) AS rn, \
             COUNT(*) OVER (PARTITION BY r.period, r.channel) AS n \
           FROM (SELECT a.period AS period, a.channel AS channel, {seconds} AS seconds \
                 FROM answered a WHERE a.first_out IS NOT NULL) r), \
         times AS (\
           SELECT period, channel, COUNT(*) AS answered, {seconds_sum}, \
             MIN(CASE WHEN rn * 100 >= n * {MEDIAN} THEN seconds END) AS p50_seconds, \
             MIN(CASE WHEN rn * 100 >= n * {P90} THEN seconds END) AS p90_seconds \
           FROM ranked GROUP BY period, channel), \
         counts AS (\
           SELECT period, channel, COUNT(*) AS conversations, \
             CAST(SUM(has_lead) AS BIGINT) AS leads, CAST(SUM(has_deal) AS BIGINT) AS deals, \
             CAST(SUM(has_sale) AS BIGINT) AS orders \
           FROM started GROUP BY period, channel) \
         SELECT counts.period AS period, counts.channel AS channel, \
           counts.conversations AS conversations, counts.leads AS leads, \
           counts.deals AS deals, counts.orders AS orders, \
           CAST(COALESCE(times.answered, 0) AS BIGINT) AS answered, \
           times.seconds_high AS seconds_high, times.seconds_low AS seconds_low, \
           CAST(times.p50_seconds AS BIGINT) AS p50_seconds, \
           CAST(times.p90_seconds AS BIGINT) AS p90_seconds \
         FROM counts LEFT JOIN times \
           ON times.period = counts.period AND times.channel = counts.channel \
         ORDER BY 1, 2",
        cte = periods_cte(periods.len(), false),
        deal_window = in_window(conn, "d.created_at"),
        order_window = in_window(conn, "o.placed_at"),
        sales = sale_statuses_sql(),
        inbound = inbound(),
        outbound = outbound(),
        undelivered = undelivered_sql(),
        visibility = conversation_visibility_sql(scope),
        seconds_sum = split_sum_sql("seconds", "seconds"),
    );
    let query = bind_periods(
        diesel::sql_query(placeholders(conn, &sql)).into_boxed(),
        periods,
        false,
    );
    Ok(bind_conversation_visibility(query, scope).load(conn)?)
}

/// The orders attributed to the conversations of one period and channel, in one
/// currency.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct RevenueCell {
    #[diesel(sql_type = BigInt)]
    pub period: i64,
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = Text)]
    pub currency: String,
    /// Distinct orders.
    #[diesel(sql_type = BigInt)]
    pub orders: i64,
    #[diesel(sql_type = BigInt)]
    pub gross_high: i64,
    #[diesel(sql_type = BigInt)]
    pub gross_low: i64,
    #[diesel(sql_type = BigInt)]
    pub refunds_high: i64,
    #[diesel(sql_type = BigInt)]
    pub refunds_low: i64,
}

impl RevenueCell {
    pub fn gross(&self) -> i128 {
        joined_sum(self.gross_high, self.gross_low)
    }

    pub fn refunds(&self) -> i128 {
        joined_sum(self.refunds_high, self.refunds_low)
    }
}

/// Per period, channel and currency: the sales placed by the customers of the
/// conversations started in the period within the attribution window of their start,
/// each order once however many of the channel's conversations it follows (an order
/// following conversations on two channels counts for both).
pub fn revenue(
    conn: &mut DbConnection,
    periods: &[PeriodBounds],
    scope: &Scope,
) -> Result<Vec<RevenueCell>, PersistenceError> {
    if periods.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{cte}, \
         attributed AS (\
           SELECT DISTINCT periods.idx AS period, conv.channel AS channel, o.id AS order_id, \
             o.currency AS currency, o.total AS total, o.refunded_total AS refunded \
           FROM periods \
           JOIN conversations conv \
             ON conv.created_at >= periods.starts AND conv.created_at < periods.ends \
           JOIN orders o ON o.customer_id = conv.customer_id \
           WHERE o.status IN ({sales}) AND {order_window}{visibility}) \
         SELECT period, channel, currency, COUNT(*) AS orders, {gross}, {refunds} \
         FROM attributed GROUP BY period, channel, currency ORDER BY 1, 2, 3",
        cte = periods_cte(periods.len(), false),
        sales = sale_statuses_sql(),
        order_window = in_window(conn, "o.placed_at"),
        visibility = conversation_visibility_sql(scope),
        gross = split_sum_sql("total", "gross"),
        refunds = split_sum_sql("refunded", "refunds"),
    );
    let query = bind_periods(
        diesel::sql_query(placeholders(conn, &sql)).into_boxed(),
        periods,
        false,
    );
    Ok(bind_conversation_visibility(query, scope).load(conn)?)
}

/// How many customers took one touchpoint path: `touch1` is the earliest kept touch,
/// and shorter paths leave the later columns empty.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct PathCell {
    #[diesel(sql_type = Nullable<Text>)]
    pub touch1: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub touch2: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub touch3: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub touch4: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub customers: i64,
}

impl PathCell {
    /// The channels of the path in order.
    pub fn path(&self) -> Vec<String> {
        [&self.touch1, &self.touch2, &self.touch3, &self.touch4]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }
}

/// The touchpoint paths of the customers `scope` may see whose first order was placed
/// in `[start, end)`, with how many took each
/// ([`domain::omnichannel::analytics::touch_path`]): the channels of their inbound
/// messages (but automatic ones, such as out-of-office answers) before that order in
/// time order, a channel repeated in a row once
/// (`LAG`), the last [`PATH_TOUCHES`] kept (`ROW_NUMBER` counted back from the order).
/// Customers without such a message have no path and are not counted.
pub fn paths(
    conn: &mut DbConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    scope: &Scope,
) -> Result<Vec<PathCell>, PersistenceError> {
    // Column `touchN` holds the touch `PATH_TOUCHES - N + 1` back from the order, so
    // that a path of fewer touches starts at `touch1`.
    let columns: Vec<String> = (1..=PATH_TOUCHES)
        .map(|column| format!("touch{column}"))
        .collect();
    let pivot = (1..=PATH_TOUCHES)
        .map(|back| format!("MAX(CASE WHEN count_back = {back} THEN channel END) AS back{back}"))
        .collect::<Vec<_>>()
        .join(", ");
    // Left-aligned: the earliest kept touch is `back{length}`.
    let aligned = (1..=PATH_TOUCHES)
        .map(|position| {
            let cases = (position..=PATH_TOUCHES)
                .map(|length| format!("WHEN {length} THEN back{}", length - position + 1))
                .collect::<Vec<_>>()
                .join(" ");
            format!("CASE kept_touches {cases} END AS {}", columns[position - 1])
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "WITH buyers AS (\
           SELECT c.id AS customer_id, c.first_order_at AS first_order_at FROM customers c \
           WHERE c.first_order_at >= ? AND c.first_order_at < ?{visibility}), \
         touches AS (\
           SELECT m.customer_id AS customer_id, m.channel AS channel, \
             m.occurred_at AS occurred_at, m.id AS id, \
             LAG(m.channel) OVER (PARTITION BY m.customer_id \
               ORDER BY m.occurred_at, m.id) AS previous \
           FROM buyers b JOIN messages m ON m.customer_id = b.customer_id \
             AND m.occurred_at < b.first_order_at AND m.direction = '{inbound}' \
             AND NOT m.automatic), \
         steps AS (\
           SELECT customer_id, channel, ROW_NUMBER() OVER (PARTITION BY customer_id \
             ORDER BY occurred_at DESC, id DESC) AS count_back \
           FROM touches WHERE previous IS NULL OR previous <> channel), \
         kept AS (\
           SELECT customer_id, COUNT(*) AS kept_touches, {pivot} \
           FROM steps WHERE count_back <= {PATH_TOUCHES} GROUP BY customer_id), \
         aligned AS (SELECT {aligned} FROM kept) \
         SELECT {list}, COUNT(*) AS customers FROM aligned \
         GROUP BY {list} ORDER BY customers DESC, {list}",
        visibility = visibility_sql(scope, "c", domain::partners::SharedKind::Customer),
        inbound = inbound(),
        list = columns.join(", "),
    );
    let query = diesel::sql_query(placeholders(conn, &sql))
        .into_boxed()
        .bind::<UtcTimestamp, _>(DbTime(start))
        .bind::<UtcTimestamp, _>(DbTime(end));
    Ok(bind_visibility(query, scope).load(conn)?)
}

/// The customers `scope` may see whose first order was placed in `[start, end)`.
pub fn first_buyers(
    conn: &mut DbConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    scope: &Scope,
) -> Result<i64, PersistenceError> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    let sql = format!(
        "SELECT COUNT(*) AS count FROM customers c \
         WHERE c.first_order_at >= ? AND c.first_order_at < ?{visibility}",
        visibility = visibility_sql(scope, "c", domain::partners::SharedKind::Customer),
    );
    let query = diesel::sql_query(placeholders(conn, &sql))
        .into_boxed()
        .bind::<UtcTimestamp, _>(DbTime(start))
        .bind::<UtcTimestamp, _>(DbTime(end));
    Ok(bind_visibility(query, scope)
        .get_result::<Count>(conn)?
        .count)
}
