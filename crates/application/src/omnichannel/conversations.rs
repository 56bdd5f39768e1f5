//! Conversations as agents read them (`records:read`): seen through their customer,
//! else their lead, with the same owner/team visibility as those records; one with
//! neither (a sender an account keeps unlinked) only by callers who see every record.

use domain::authz::{Permission, Visibility};
use domain::omnichannel::conversations::ConversationStatus;
use persistence::conversations::{ConversationFilter, ConversationRow, MessageRow};
use persistence::db::DbConnection;
use uuid::Uuid;

use domain::omnichannel::contacts::ContactAddress;
use persistence::sql_types::{DbTime, DbUuid};

use super::accounts::ChannelAccount;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::paging::{time_cursor, time_position, Cursor};

/// Sort order name of conversation pages: latest message first.
pub const ORDER: &str = "last_message_at:desc";
/// Sort order name of message pages: oldest first.
pub const MESSAGE_ORDER: &str = "occurred_at";

/// The conversation of `address` on `account`, locked for the caller's transaction, or
/// a new open one begun at `at` with nobody linked yet; and whether it is new (it has
/// no messages to re-point yet). A conversation found is one statement; a new one is
/// opened unless another transaction opened it meanwhile, and then that one is read
/// (and locked) once it committed.
pub fn find_or_open(
    conn: &mut DbConnection,
    account: &ChannelAccount,
    address: &ContactAddress,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<(ConversationRow, bool)> {
    let account_id = account.row.id.0;
    let find = |conn: &mut DbConnection| {
        persistence::conversations::find_for_sender(
            conn,
            account_id,
            address.kind.as_str(),
            &address.value,
        )
    };
    if let Some(found) = find(conn)? {
        return Ok((found, false));
    }
    let now = persistence::now();
    let row = ConversationRow {
        id: DbUuid(Uuid::now_v7()),
        channel_account_id: DbUuid(account_id),
        channel: account.kind.as_str().to_string(),
        contact_kind: address.kind.as_str().to_string(),
        contact_value: address.value.clone(),
        contact_name: None,
        customer_id: None,
        lead_id: None,
        status: ConversationStatus::Open.as_str().to_string(),
        ticket_id: None,
        last_message_at: DbTime(at),
        created_at: DbTime(now),
        updated_at: DbTime(now),
        auto_replied_until: None,
    };
    if persistence::conversations::open(conn, &row)? {
        return Ok((row, true));
    }
    // Opened by another transaction after our read, and gone again before this one:
    // a lost race worth a retry.
    let found = find(conn)?.ok_or_else(|| {
        AppError::ConcurrentUpdate("the sender's conversation changed meanwhile".into())
    })?;
    Ok((found, false))
}

/// What narrows a conversation list, as the caller asks.
#[derive(Debug, Clone, Default)]
pub struct ConversationQuery {
    pub customer_id: Option<Uuid>,
    pub lead_id: Option<Uuid>,
    pub channel_account_id: Option<Uuid>,
    pub status: Option<ConversationStatus>,
    pub unlinked: bool,
}

/// A page of conversations.
pub struct ConversationPage {
    pub data: Vec<ConversationRow>,
    pub next_cursor: Option<String>,
}

/// The conversation `id` if the caller may see it.
pub fn visible(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<ConversationRow> {
    acting.require(Permission::RecordsRead)?;
    let row = persistence::conversations::find(conn, id)?;
    match (row.customer_id, row.lead_id) {
        (Some(customer), _) => {
            crate::customers::visible(conn, acting, customer.0)?;
        }
        (None, Some(lead)) => {
            crate::sales::leads::visible(conn, acting, lead.0)?;
        }
        (None, None) if acting.visibility == Visibility::All => {}
        (None, None) => return Err(AppError::NotFound),
    }
    Ok(row)
}

/// A page of the conversations the caller may see, latest message first.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    query: &ConversationQuery,
    cursor: Option<&Cursor>,
    limit: usize,
) -> AppResult<ConversationPage> {
    acting.require(Permission::RecordsRead)?;
    let before = time_position(cursor, ORDER)?;
    let filter = ConversationFilter {
        customer_id: query.customer_id,
        lead_id: query.lead_id,
        channel_account_id: query.channel_account_id,
        status: query.status.map(|status| status.as_str().to_string()),
        unlinked: query.unlinked,
    };
    let mut data =
        persistence::conversations::list(conn, &acting.scope(), &filter, before, limit as i64 + 1)?;
    let next_cursor = if data.len() > limit {
        data.truncate(limit);
        data.last()
            .map(|row| time_cursor(ORDER, row.last_message_at.0, row.id.0).encode())
    } else {
        None
    };
    Ok(ConversationPage { data, next_cursor })
}

/// A page of a visible conversation's messages, oldest first.
pub fn messages(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    cursor: Option<&Cursor>,
    limit: usize,
) -> AppResult<(Vec<MessageRow>, Option<String>)> {
    visible(conn, acting, id)?;
    let after = time_position(cursor, MESSAGE_ORDER)?;
    let mut data =
        persistence::conversations::messages_of(conn, id, after, limit as i64 + 1, false)?;
    let next_cursor = if data.len() > limit {
        data.truncate(limit);
        data.last()
            .map(|row| time_cursor(MESSAGE_ORDER, row.occurred_at.0, row.id.0).encode())
    } else {
        None
    };
    Ok((data, next_cursor))
}
