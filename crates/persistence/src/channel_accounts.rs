//! Channel accounts (O-2): one row per bot, number, page or SMS line, its credentials
//! sealed (the application seals and opens them; this module never sees them plain).

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::channel_accounts;
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = channel_accounts)]
pub struct ChannelAccountRow {
    pub id: DbUuid,
    pub kind: String,
    pub name: String,
    pub active: bool,
    pub settings: DbJson,
    pub webhook_key: String,
    pub credentials_key_id: String,
    pub credentials_sealed: String,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
    /// A `web_chat` account's public site key (the widget's name for it).
    pub site_key: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &ChannelAccountRow) -> Result<(), PersistenceError> {
    diesel::insert_into(channel_accounts::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<ChannelAccountRow, PersistenceError> {
    channel_accounts::table
        .find(DbUuid(id))
        .select(ChannelAccountRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// The account whose webhook URL carries `key`.
/// How far the account's mailbox has been read (`<uidvalidity>:<last uid>`): kept out
/// of the row, which account changes write back whole, so that a change made while the
/// mailbox is read does not move it back.
pub fn mailbox_cursor(
    conn: &mut DbConnection,
    id: Uuid,
) -> Result<Option<String>, PersistenceError> {
    Ok(channel_accounts::table
        .find(DbUuid(id))
        .select(channel_accounts::mailbox_cursor)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

pub fn set_mailbox_cursor(
    conn: &mut DbConnection,
    id: Uuid,
    cursor: &str,
) -> Result<(), PersistenceError> {
    diesel::update(channel_accounts::table.find(DbUuid(id)))
        .set(channel_accounts::mailbox_cursor.eq(cursor))
        .execute(conn)?;
    Ok(())
}

/// The account whose widget calls with `key`.
pub fn find_by_site_key(
    conn: &mut DbConnection,
    key: &str,
) -> Result<ChannelAccountRow, PersistenceError> {
    channel_accounts::table
        .filter(channel_accounts::site_key.eq(key))
        .select(ChannelAccountRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

pub fn find_by_webhook_key(
    conn: &mut DbConnection,
    key: &str,
) -> Result<ChannelAccountRow, PersistenceError> {
    channel_accounts::table
        .filter(channel_accounts::webhook_key.eq(key))
        .select(ChannelAccountRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// All accounts, by name (a business has a handful).
pub fn list(conn: &mut DbConnection) -> Result<Vec<ChannelAccountRow>, PersistenceError> {
    Ok(channel_accounts::table
        .order((channel_accounts::name, channel_accounts::id))
        .select(ChannelAccountRow::as_select())
        .load(conn)?)
}

/// Writes `row` over the stored account if its version is still `expected`; the row
/// written carries the next version.
pub fn update(
    conn: &mut DbConnection,
    row: &ChannelAccountRow,
    expected: i64,
) -> Result<ChannelAccountRow, PersistenceError> {
    let mut row = row.clone();
    row.version = expected + 1;
    row.updated_at = DbTime(crate::now());
    let changed = diesel::update(
        channel_accounts::table
            .find(row.id)
            .filter(channel_accounts::version.eq(expected)),
    )
    .set(&row)
    .execute(conn)?;
    if changed == 0 {
        return Err(PersistenceError::StaleVersion);
    }
    Ok(row)
}

pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    let deleted = diesel::delete(channel_accounts::table.find(DbUuid(id))).execute(conn)?;
    if deleted == 0 {
        return Err(PersistenceError::NotFound);
    }
    Ok(())
}
