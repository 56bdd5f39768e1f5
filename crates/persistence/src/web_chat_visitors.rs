//! Web chat visitors (O-2): one row per chat started in a site's widget, found by the
//! SHA-256 of the visitor's token.

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::{conversations, web_chat_visitors};
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = web_chat_visitors)]
pub struct VisitorRow {
    pub id: DbUuid,
    pub channel_account_id: DbUuid,
    pub token_hash: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub customer_id: Option<DbUuid>,
    pub conversation_id: Option<DbUuid>,
    pub created_at: DbTime,
}

pub fn insert(conn: &mut DbConnection, row: &VisitorRow) -> Result<(), PersistenceError> {
    diesel::insert_into(web_chat_visitors::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The visitor of `account` holding the token whose hash is `token_hash`.
pub fn find_by_token(
    conn: &mut DbConnection,
    account: Uuid,
    token_hash: &str,
) -> Result<Option<VisitorRow>, PersistenceError> {
    Ok(web_chat_visitors::table
        .filter(web_chat_visitors::token_hash.eq(token_hash))
        .filter(web_chat_visitors::channel_account_id.eq(DbUuid(account)))
        .select(VisitorRow::as_select())
        .first(conn)
        .optional()?)
}

/// Records the conversation a visitor's messages went to and the customer it belongs
/// to, as the last message found them.
pub fn link(
    conn: &mut DbConnection,
    id: Uuid,
    conversation: Uuid,
    customer: Option<Uuid>,
) -> Result<(), PersistenceError> {
    diesel::update(web_chat_visitors::table.find(DbUuid(id)))
        .set((
            web_chat_visitors::conversation_id.eq(DbUuid(conversation)),
            web_chat_visitors::customer_id.eq(customer.map(DbUuid)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The visitors of a customer: recognised as them when the chat started, or chatting
/// in one of their conversations (personal-data export), oldest first.
pub fn of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<VisitorRow>, PersistenceError> {
    let theirs = conversations::table
        .filter(conversations::customer_id.eq(DbUuid(customer)))
        .select(conversations::id.nullable());
    Ok(web_chat_visitors::table
        .filter(
            web_chat_visitors::customer_id
                .eq(DbUuid(customer))
                .or(web_chat_visitors::conversation_id.eq_any(theirs)),
        )
        .order((web_chat_visitors::created_at, web_chat_visitors::id))
        .select(VisitorRow::as_select())
        .load(conn)?)
}

/// Deletes the visitors [`of_customer`] finds (erasure): what they said about
/// themselves and the tokens that read their chats.
pub fn delete_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<usize, PersistenceError> {
    let theirs = conversations::table
        .filter(conversations::customer_id.eq(DbUuid(customer)))
        .select(conversations::id.nullable());
    Ok(diesel::delete(
        web_chat_visitors::table.filter(
            web_chat_visitors::customer_id
                .eq(DbUuid(customer))
                .or(web_chat_visitors::conversation_id.eq_any(theirs)),
        ),
    )
    .execute(conn)?)
}
