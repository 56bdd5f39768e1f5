//! Outgoing webhooks: the subscriptions (with their sealed signing secret) and the
//! deliveries, one per event and subscription, written in the transaction of the event.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::{DbConnection, MultiBackend};
use crate::schema::{events, webhook_deliveries, webhook_subscriptions};
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::PersistenceError;

/// Rows per `INSERT`, well below SQLite's bound-parameter limit.
const CHUNK: usize = 200;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_subscriptions)]
pub struct SubscriptionRow {
    pub id: DbUuid,
    pub url: String,
    /// The event types delivered, `["*"]` for all.
    pub event_types: DbJson,
    pub description: Option<String>,
    pub active: bool,
    pub secret_key_id: String,
    pub secret_sealed: String,
    /// Deliveries given up in a row.
    pub consecutive_failures: i32,
    /// Why it was switched off by itself, while it is.
    pub disabled_reason: Option<String>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
    /// The partner whose user made it: it is sent only the events about records
    /// shared with that partner.
    pub partner_id: Option<DbUuid>,
}

impl SubscriptionRow {
    /// What the audit log keeps of it: never the secret.
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "url": self.url,
            "event_types": self.event_types.0,
            "description": self.description,
            "active": self.active,
        })
    }

    /// The event types, as stored.
    pub fn event_types(&self) -> Vec<String> {
        serde_json::from_value(self.event_types.0.clone()).unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    /// Also the `webhook-id` of every attempt.
    pub id: DbUuid,
    pub subscription_id: DbUuid,
    pub event_id: DbUuid,
    pub event_type: String,
    pub body: String,
    /// `domain::webhooks::DeliveryStatus`.
    pub status: String,
    pub attempts: i32,
    pub response_status: Option<i32>,
    pub error: Option<String>,
    pub created_at: DbTime,
    pub last_attempt_at: Option<DbTime>,
    pub delivered_at: Option<DbTime>,
}

pub fn insert(conn: &mut DbConnection, row: &SubscriptionRow) -> Result<(), PersistenceError> {
    diesel::insert_into(webhook_subscriptions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn count(conn: &mut DbConnection) -> Result<i64, PersistenceError> {
    Ok(webhook_subscriptions::table.count().get_result(conn)?)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<SubscriptionRow, PersistenceError> {
    webhook_subscriptions::table
        .find(DbUuid(id))
        .select(SubscriptionRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Subscriptions (of `partner` only, when given) in creation order after `after`;
/// `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    partner: Option<Uuid>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<SubscriptionRow>, PersistenceError> {
    let mut query = webhook_subscriptions::table
        .select(SubscriptionRow::as_select())
        .into_boxed::<MultiBackend>();
    if let Some(partner) = partner {
        query = query.filter(webhook_subscriptions::partner_id.eq(DbUuid(partner)));
    }
    Ok(crate::creation_order_page!(
        conn,
        webhook_subscriptions,
        query,
        after,
        limit
    )?)
}

/// The active subscriptions: what every event is matched against (a business keeps a
/// few).
pub fn active(conn: &mut DbConnection) -> Result<Vec<SubscriptionRow>, PersistenceError> {
    Ok(webhook_subscriptions::table
        .filter(webhook_subscriptions::active.eq(true))
        .select(SubscriptionRow::as_select())
        .load(conn)?)
}

/// Writes `row` over the stored subscription if it still has `row.version`; answers it
/// as stored, its version one more.
pub fn update(
    conn: &mut DbConnection,
    row: &SubscriptionRow,
) -> Result<SubscriptionRow, PersistenceError> {
    use webhook_subscriptions as s;
    let updated = diesel::update(
        s::table
            .filter(s::id.eq(row.id))
            .filter(s::version.eq(row.version)),
    )
    .set((
        s::url.eq(&row.url),
        s::event_types.eq(&row.event_types),
        s::description.eq(&row.description),
        s::active.eq(row.active),
        s::secret_key_id.eq(&row.secret_key_id),
        s::secret_sealed.eq(&row.secret_sealed),
        s::consecutive_failures.eq(row.consecutive_failures),
        s::disabled_reason.eq(&row.disabled_reason),
        s::updated_at.eq(DbTime(crate::now())),
        s::version.eq(row.version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        find(conn, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    find(conn, row.id.0)
}

/// A delivery's outcome counted on its subscription: a success clears the failures in
/// a row; a delivery given up adds one, and at `disable_after` switches the
/// subscription off with `reason`. Answers whether it was switched off now.
pub fn count_outcome(
    conn: &mut DbConnection,
    id: Uuid,
    succeeded: bool,
    disable_after: i32,
    reason: &str,
) -> Result<bool, PersistenceError> {
    use webhook_subscriptions as s;
    if succeeded {
        diesel::update(s::table.find(DbUuid(id)))
            .set(s::consecutive_failures.eq(0))
            .execute(conn)?;
        return Ok(false);
    }
    diesel::update(s::table.find(DbUuid(id)))
        .set(s::consecutive_failures.eq(s::consecutive_failures + 1))
        .execute(conn)?;
    let disabled = diesel::update(
        s::table
            .find(DbUuid(id))
            .filter(s::active.eq(true))
            .filter(s::consecutive_failures.ge(disable_after)),
    )
    .set((
        s::active.eq(false),
        s::disabled_reason.eq(Some(reason)),
        s::updated_at.eq(DbTime(crate::now())),
        s::version.eq(s::version + 1),
    ))
    .execute(conn)?;
    Ok(disabled == 1)
}

pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(webhook_subscriptions::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// Stores new deliveries.
pub fn insert_deliveries(
    conn: &mut DbConnection,
    rows: &[DeliveryRow],
) -> Result<(), PersistenceError> {
    for chunk in rows.chunks(CHUNK) {
        crate::insert_batch!(conn, webhook_deliveries::table, chunk)?;
    }
    Ok(())
}

pub fn find_delivery(conn: &mut DbConnection, id: Uuid) -> Result<DeliveryRow, PersistenceError> {
    webhook_deliveries::table
        .find(DbUuid(id))
        .select(DeliveryRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// A subscription's deliveries (of `status` when given) in creation order after
/// `after`; `limit + 1` rows.
pub fn deliveries(
    conn: &mut DbConnection,
    subscription: Uuid,
    status: Option<&str>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, PersistenceError> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::subscription_id.eq(DbUuid(subscription)))
        .select(DeliveryRow::as_select())
        .into_boxed::<MultiBackend>();
    if let Some(status) = status {
        query = query.filter(webhook_deliveries::status.eq(status.to_string()));
    }
    Ok(crate::creation_order_page!(
        conn,
        webhook_deliveries,
        query,
        after,
        limit
    )?)
}

/// Records an attempt: its status, the target's answer or the error, and when.
pub fn record_attempt(
    conn: &mut DbConnection,
    id: Uuid,
    status: &str,
    response_status: Option<i32>,
    error: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), PersistenceError> {
    use webhook_deliveries as d;
    diesel::update(d::table.find(DbUuid(id)))
        .set((
            d::status.eq(status),
            d::attempts.eq(d::attempts + 1),
            d::response_status.eq(response_status),
            d::error.eq(error),
            d::last_attempt_at.eq(Some(DbTime(at))),
            d::delivered_at.eq((status == "succeeded").then_some(DbTime(at))),
        ))
        .execute(conn)?;
    Ok(())
}

/// Erasure: deletes the deliveries of the events about one subject (before the events
/// themselves go), so no body about an erased customer is kept or sent.
pub fn delete_deliveries_about(
    conn: &mut DbConnection,
    subject_kind: &str,
    subject_id: Uuid,
) -> Result<usize, PersistenceError> {
    let about = events::table
        .filter(events::subject_kind.eq(subject_kind.to_string()))
        .filter(events::subject_id.eq(DbUuid(subject_id)))
        .select(events::id);
    Ok(
        diesel::delete(
            webhook_deliveries::table.filter(webhook_deliveries::event_id.eq_any(about)),
        )
        .execute(conn)?,
    )
}

/// Puts a delivery back to `pending` for a replay; `false` when it is pending already.
pub fn reopen_delivery(conn: &mut DbConnection, id: Uuid) -> Result<bool, PersistenceError> {
    use webhook_deliveries as d;
    let updated = diesel::update(d::table.find(DbUuid(id)).filter(d::status.ne("pending")))
        .set(d::status.eq("pending"))
        .execute(conn)?;
    Ok(updated == 1)
}
