//! Consent: an append-only ledger of who gave or withdrew what, when and through
//! which channel, and the current state per channel and purpose derived from it.

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::{consent_events, customer_consents};
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = consent_events)]
pub struct ConsentEventRow {
    pub id: DbUuid,
    pub customer_id: DbUuid,
    pub channel: String,
    pub purpose: String,
    pub granted: bool,
    /// How the customer expressed it: `web_form`, `phone_call`, `in_person`, `import`, ...
    pub source: String,
    pub evidence: Option<String>,
    pub recorded_by: Option<DbUuid>,
    pub recorded_at: DbTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = customer_consents)]
pub struct ConsentStateRow {
    pub customer_id: DbUuid,
    pub channel: String,
    pub purpose: String,
    pub granted: bool,
    pub updated_at: DbTime,
}

/// Appends `event` and makes it the current state of its channel and purpose.
pub fn record(conn: &mut DbConnection, event: &ConsentEventRow) -> Result<(), PersistenceError> {
    diesel::insert_into(consent_events::table)
        .values(event)
        .execute(conn)?;
    // Delete-then-insert instead of an upsert, whose syntax is not shared by diesel's
    // two backends; both run inside the caller's transaction.
    diesel::delete(
        customer_consents::table
            .filter(customer_consents::customer_id.eq(event.customer_id))
            .filter(customer_consents::channel.eq(&event.channel))
            .filter(customer_consents::purpose.eq(&event.purpose)),
    )
    .execute(conn)?;
    diesel::insert_into(customer_consents::table)
        .values(ConsentStateRow {
            customer_id: event.customer_id,
            channel: event.channel.clone(),
            purpose: event.purpose.clone(),
            granted: event.granted,
            updated_at: event.recorded_at,
        })
        .execute(conn)?;
    Ok(())
}

/// The ledger of a customer, oldest first.
pub fn ledger(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<ConsentEventRow>, PersistenceError> {
    Ok(consent_events::table
        .filter(consent_events::customer_id.eq(DbUuid(customer)))
        .order((consent_events::recorded_at, consent_events::id))
        .select(ConsentEventRow::as_select())
        .load(conn)?)
}

/// The current consents of a customer.
pub fn current(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<ConsentStateRow>, PersistenceError> {
    Ok(customer_consents::table
        .filter(customer_consents::customer_id.eq(DbUuid(customer)))
        .order((customer_consents::channel, customer_consents::purpose))
        .select(ConsentStateRow::as_select())
        .load(conn)?)
}

/// Of `customers`, those whose current consent to `purpose` on `channel` is withdrawn.
pub fn refused_among(
    conn: &mut DbConnection,
    customers: &[Uuid],
    channel: &str,
    purpose: &str,
) -> Result<Vec<Uuid>, PersistenceError> {
    let mut refused = Vec::new();
    for chunk in customers.chunks(500) {
        refused.extend(
            customer_consents::table
                .filter(customer_consents::customer_id.eq_any(chunk.iter().copied().map(DbUuid)))
                .filter(customer_consents::channel.eq(channel))
                .filter(customer_consents::purpose.eq(purpose))
                .filter(customer_consents::granted.eq(false))
                .select(customer_consents::customer_id)
                .load::<DbUuid>(conn)?
                .into_iter()
                .map(|id| id.0),
        );
    }
    Ok(refused)
}

/// Re-parents ledger events `ids` to customer `to` (merge and its undo); the current
/// state of every customer involved is then rebuilt with [`rebuild_current`].
pub fn move_events(
    conn: &mut DbConnection,
    ids: &[Uuid],
    to: Uuid,
) -> Result<(), PersistenceError> {
    let ids: Vec<DbUuid> = ids.iter().copied().map(DbUuid).collect();
    diesel::update(consent_events::table.filter(consent_events::id.eq_any(ids)))
        .set(consent_events::customer_id.eq(DbUuid(to)))
        .execute(conn)?;
    Ok(())
}

/// Recomputes the current consents of `customer` from its ledger: the latest event per
/// channel and purpose decides, as when the events were recorded one by one.
pub fn rebuild_current(conn: &mut DbConnection, customer: Uuid) -> Result<(), PersistenceError> {
    let mut latest: Vec<ConsentStateRow> = Vec::new();
    // The ledger is oldest first, so a later event replaces an earlier one.
    for event in ledger(conn, customer)? {
        let state = ConsentStateRow {
            customer_id: event.customer_id,
            channel: event.channel,
            purpose: event.purpose,
            granted: event.granted,
            updated_at: event.recorded_at,
        };
        match latest
            .iter_mut()
            .find(|s| s.channel == state.channel && s.purpose == state.purpose)
        {
            Some(existing) => *existing = state,
            None => latest.push(state),
        }
    }
    diesel::delete(
        customer_consents::table.filter(customer_consents::customer_id.eq(DbUuid(customer))),
    )
    .execute(conn)?;
    if !latest.is_empty() {
        crate::insert_batch!(conn, customer_consents::table, &latest)?;
    }
    Ok(())
}

/// Erasure: evidence text may hold personal data (a message, a recording id); the
/// grants themselves stay so that nobody is contacted against a withdrawal.
pub fn redact_evidence(conn: &mut DbConnection, customer: Uuid) -> Result<usize, PersistenceError> {
    Ok(diesel::update(
        consent_events::table
            .filter(consent_events::customer_id.eq(DbUuid(customer)))
            .filter(consent_events::evidence.is_not_null()),
    )
    .set(consent_events::evidence.eq(None::<String>))
    .execute(conn)?)
}
