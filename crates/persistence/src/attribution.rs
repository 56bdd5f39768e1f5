//! What the attribution report reads: the conversions of a window a page at a
//! time, in the order they were placed by keyset on the `(placed_at, id)` index, and for a page of them the touches of each
//! conversion's path in one statement, the paths joined as a `VALUES` list. Neither
//! orders nor touches are read beyond the page and its paths' windows.
//!
//! A conversion is a purchase (paid, fulfilled or partly returned) in the business
//! currency by a customer the caller sees, its revenue net of refunds. A path's touches
//! are the customer's, from `since` to `until` (both included):
//! - campaign sends: `campaign_recipients` with outcome [`CAMPAIGN_SENT`] whose message,
//!   if any, was not refused or failed, at `sent_at`, on the campaign's `channel`,
//!   for the campaign's `code` — the customer's own and those of every customer merged
//!   into it (a receipt stays with the customer it was sent to, while their orders
//!   move to the survivor);
//! - messages of conversations on their channel: inbound ones, and outbound ones the
//!   provider took (sent, delivered or read; one held back counts when it was due) and
//!   not automatic (an out-of-office or canned answer replies to a touch counted
//!   already); a campaign's own message counts as its send only;
//! - behavioural events that say where the customer came from — a string property
//!   `utm_source`, `channel` or `utm_campaign` — on `utm_source`, else `channel`, else
//!   [`EVENT_CHANNEL`], for the campaign of `utm_campaign` if given (a page view with
//!   none of them is not a marketing touch);
//! - logged activities (calls, meetings, e-mails, visits) on the customer or one of its
//!   deals, on the channel named by their kind.
//!
//! The order's own `campaign` is the caller's to add (it is read with the conversion).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use domain::attribution::{CAMPAIGN_SENT, EVENT_CHANNEL};
use domain::omnichannel::conversations::{Direction, MessageStatus};
use uuid::Uuid;

use crate::customers::search::Scope;
use crate::customers::MAX_MERGE_HOPS;
use crate::db::{placeholders, DbConnection, MultiBackend};
use crate::orders::purchase_statuses_sql;
use crate::reports::{bind_visibility, visibility_sql};
use crate::sql_types::{DbTime, DbUuid, UtcTimestamp, Uuid as SqlUuid};
use crate::PersistenceError;

/// One purchase: an order, who placed it, when, and what it brought net of refunds.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Conversion {
    #[diesel(sql_type = SqlUuid)]
    pub order_id: DbUuid,
    #[diesel(sql_type = SqlUuid)]
    pub customer_id: DbUuid,
    #[diesel(sql_type = UtcTimestamp)]
    pub placed_at: DbTime,
    /// `total − refunded_total`, in minor units.
    #[diesel(sql_type = BigInt)]
    pub revenue: i64,
    /// The order's campaign code, if tagged.
    #[diesel(sql_type = Nullable<Text>)]
    pub campaign: Option<String>,
    /// The channel of the campaign of that code, if there is one.
    #[diesel(sql_type = Nullable<Text>)]
    pub campaign_channel: Option<String>,
    /// The order's own (sales) channel.
    #[diesel(sql_type = Nullable<Text>)]
    pub order_channel: Option<String>,
}

/// Where a page of conversions ended: the next page starts after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversionKey {
    pub placed_at: DateTime<Utc>,
    pub order_id: Uuid,
}

impl Conversion {
    pub fn key(&self) -> ConversionKey {
        ConversionKey {
            placed_at: self.placed_at.0,
            order_id: self.order_id.0,
        }
    }
}

/// The next `limit` purchases after `after`, in (placed, order) order — a keyset on
/// the orders' `(placed_at, id)` index, so every page costs the same — placed
/// in `[window.0, window.1)` in `currency` by customers `scope` may see.
pub fn conversions(
    conn: &mut DbConnection,
    window: (DateTime<Utc>, DateTime<Utc>),
    currency: &str,
    scope: &Scope,
    after: Option<ConversionKey>,
    limit: i64,
) -> Result<Vec<Conversion>, PersistenceError> {
    let keyset = if after.is_some() {
        " AND (o.placed_at, o.id) > (?, ?)"
    } else {
        ""
    };
    let sql = format!(
        "SELECT o.id AS order_id, o.customer_id AS customer_id, o.placed_at AS placed_at, \
                o.total - o.refunded_total AS revenue, o.campaign AS campaign, \
                k.channel AS campaign_channel, o.channel AS order_channel \
         FROM orders o \
         JOIN customers c ON c.id = o.customer_id \
         LEFT JOIN campaigns k ON k.code = o.campaign \
         WHERE o.status IN ({statuses}) AND o.placed_at >= ? AND o.placed_at < ? \
           AND o.currency = ?{visibility}{keyset} \
         ORDER BY o.placed_at, o.id LIMIT ?",
        statuses = purchase_statuses_sql(),
        visibility = visibility_sql(scope, "c", domain::partners::SharedKind::Customer),
    );
    let query = diesel::sql_query(placeholders(conn, &sql))
        .into_boxed::<MultiBackend>()
        .bind::<UtcTimestamp, _>(DbTime(window.0))
        .bind::<UtcTimestamp, _>(DbTime(window.1))
        .bind::<Text, _>(currency.to_string());
    let mut query = bind_visibility(query, scope);
    if let Some(key) = after {
        query = query
            .bind::<UtcTimestamp, _>(DbTime(key.placed_at))
            .bind::<SqlUuid, _>(DbUuid(key.order_id));
    }
    Ok(query.bind::<BigInt, _>(limit).load(conn)?)
}

/// The span of one conversion's path: the customer's touches from `since` to `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathSpan {
    pub customer_id: Uuid,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// One touch of a path.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Touch {
    /// Index of the path in the list given.
    #[diesel(sql_type = BigInt)]
    pub path: i64,
    #[diesel(sql_type = UtcTimestamp)]
    pub at: DbTime,
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub campaign: Option<String>,
}

/// A string property `key` (a fixed name) of JSON column `column`, trimmed; NULL when
/// missing, empty or not a string.
fn string_property(conn: &DbConnection, column: &str, key: &str) -> String {
    match conn {
        DbConnection::Postgres(_) => format!(
            "(CASE WHEN jsonb_typeof({column} -> '{key}') = 'string' \
                   THEN NULLIF(TRIM({column} ->> '{key}'), '') END)"
        ),
        DbConnection::Sqlite(_) => format!(
            "(CASE WHEN json_type({column}, '$.{key}') = 'text' \
                   THEN NULLIF(TRIM(json_extract({column}, '$.{key}')), '') END)"
        ),
    }
}

/// The touches of each path of `paths`, in path order and by time within a path (ties
/// in a fixed order); a touch in two paths' spans is in both.
pub fn touches(
    conn: &mut DbConnection,
    paths: &[PathSpan],
) -> Result<Vec<Touch>, PersistenceError> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let undelivered = format!(
        "'{}', '{}'",
        MessageStatus::Refused.as_str(),
        MessageStatus::Failed.as_str()
    );
    let source = string_property(conn, "e.properties", "utm_source");
    let channel = string_property(conn, "e.properties", "channel");
    let campaign = string_property(conn, "e.properties", "utm_campaign");
    let delivered = format!(
        "'{}', '{}', '{}'",
        MessageStatus::Sent.as_str(),
        MessageStatus::Delivered.as_str(),
        MessageStatus::Read.as_str()
    );
    let message_at = "COALESCE(m.scheduled_at, m.occurred_at)";
    let sql = format!(
        "WITH RECURSIVE spans(idx, customer_id, span_start, span_end) AS (VALUES {values}), \
         merged(idx, customer_id, span_start, span_end, hops) AS (\
           SELECT idx, customer_id, span_start, span_end, 0 FROM spans \
           UNION ALL \
           SELECT g.idx, c.id, g.span_start, g.span_end, g.hops + 1 \
           FROM merged g JOIN customers c ON c.merged_into_id = g.customer_id \
           WHERE g.hops < {MAX_MERGE_HOPS}), \
         touches(idx, touched_at, source, channel, campaign) AS (\
           SELECT s.idx, r.sent_at, 1, k.channel, k.code \
           FROM merged s \
           JOIN campaign_recipients r ON r.customer_id = s.customer_id \
                AND r.sent_at >= s.span_start AND r.sent_at <= s.span_end \
           JOIN campaigns k ON k.id = r.campaign_id \
           LEFT JOIN messages cm ON cm.id = r.message_id \
           WHERE r.outcome = '{sent}' \
             AND (cm.id IS NULL OR cm.status NOT IN ({undelivered})) \
           UNION ALL \
           SELECT s.idx, {message_at}, 2, m.channel, CAST(NULL AS TEXT) \
           FROM spans s \
           JOIN messages m ON m.customer_id = s.customer_id \
                AND {message_at} >= s.span_start AND {message_at} <= s.span_end \
           WHERE (m.direction = '{inbound}' \
                  OR (m.direction = '{outbound}' AND m.status IN ({delivered}) \
                      AND NOT m.automatic)) \
             AND NOT EXISTS (SELECT 1 FROM campaign_recipients cr WHERE cr.message_id = m.id) \
           UNION ALL \
           SELECT s.idx, e.occurred_at, 3, COALESCE({source}, {channel}, '{event_channel}'), \
                  {campaign} \
           FROM spans s \
           JOIN behavioural_events e ON e.customer_id = s.customer_id \
                AND e.occurred_at >= s.span_start AND e.occurred_at <= s.span_end \
           WHERE COALESCE({source}, {channel}, {campaign}) IS NOT NULL \
           UNION ALL \
           SELECT s.idx, a.occurred_at, 4, a.kind, CAST(NULL AS TEXT) \
           FROM spans s \
           JOIN activities a ON a.customer_id = s.customer_id \
                AND a.occurred_at >= s.span_start AND a.occurred_at <= s.span_end \
           UNION ALL \
           SELECT s.idx, a.occurred_at, 4, a.kind, CAST(NULL AS TEXT) \
           FROM spans s \
           JOIN deals d ON d.customer_id = s.customer_id \
           JOIN activities a ON a.deal_id = d.id \
                AND a.occurred_at >= s.span_start AND a.occurred_at <= s.span_end) \
         SELECT CAST(idx AS BIGINT) AS path, touched_at AS at, channel, campaign FROM touches \
         ORDER BY idx, touched_at, source, channel, COALESCE(campaign, '')",
        values = vec!["(?, ?, ?, ?)"; paths.len()].join(", "),
        sent = CAMPAIGN_SENT,
        inbound = Direction::Inbound.as_str(),
        outbound = Direction::Outbound.as_str(),
        event_channel = EVENT_CHANNEL,
    );
    let mut query = diesel::sql_query(placeholders(conn, &sql)).into_boxed::<MultiBackend>();
    for (index, path) in paths.iter().enumerate() {
        query = query
            .bind::<BigInt, _>(index as i64)
            .bind::<SqlUuid, _>(DbUuid(path.customer_id))
            .bind::<UtcTimestamp, _>(DbTime(path.since))
            .bind::<UtcTimestamp, _>(DbTime(path.until));
    }
    Ok(query.load(conn)?)
}
