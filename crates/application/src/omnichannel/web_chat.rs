//! The web chat widget (O-2): a visitor on one of the business's sites starts a chat
//! (with a random token the widget keeps; only its SHA-256 is stored), writes in it and
//! reads the answers. The site key names the `web_chat` account; no user signs in.
//!
//! A visitor's messages take the path every channel's do ([`super::inbound::ingest_from`]):
//! stored once per client message id, threaded into the visitor's own conversation (its
//! address is the visitor's id), the sender recognised by the e-mail or phone they gave
//! as a customer or lead (else a new lead or nobody, as the account says), and the
//! ticket rule, off-hours reply and automatic canned answer applied. Agents answer in
//! that conversation as in any other ([`super::outbound`]); the answer is stored `sent`
//! and the visitor reads it here.

use domain::omnichannel::accounts::ChannelKind;
use domain::omnichannel::contacts::{ContactAddress, ContactKind};
use domain::omnichannel::web_chat::{VisitorInput, WidgetMessageInput};
use persistence::conversations::MessageRow;
use persistence::db::DbConnection;
use persistence::sql_types::{DbTime, DbUuid};
use persistence::web_chat_visitors::VisitorRow;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::accounts::ChannelAccount;
use super::identity::{self, Party};
use super::inbound::{self, Arrived, Ingested};
use crate::error::{AppError, AppResult};
use crate::paging::{time_cursor, time_position, Cursor};
use crate::{transaction, transaction_kept_if};

/// Sort order name of the visitor's message pages: oldest first.
pub const ORDER: &str = "widget:occurred_at";

/// The active web chat account whose site key is `site_key`; anything else is not
/// found, so keys cannot be told from inactive ones.
pub fn account_for_site(conn: &mut DbConnection, site_key: &str) -> AppResult<ChannelAccount> {
    let row = match persistence::channel_accounts::find_by_site_key(conn, site_key) {
        Ok(row) => row,
        Err(persistence::PersistenceError::NotFound) => return Err(AppError::NotFound),
        Err(other) => return Err(other.into()),
    };
    let account = ChannelAccount::of(row)?;
    if account.kind != ChannelKind::WebChat || !account.row.active {
        return Err(AppError::NotFound);
    }
    Ok(account)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The addresses a visitor gave as theirs.
fn given_addresses(visitor: &VisitorRow) -> Vec<ContactAddress> {
    let email = visitor.email.as_deref().and_then(ContactAddress::email);
    let phone = visitor.phone.as_deref().and_then(ContactAddress::phone);
    email.into_iter().chain(phone).collect()
}

/// A chat just started: the visitor and the token only the widget will ever hold.
pub struct StartedChat {
    pub visitor: VisitorRow,
    pub token: String,
}

/// Starts a chat on `account`. A visitor whose e-mail or phone is a customer's is
/// linked to that customer at once; a lead is made only when they write.
pub fn start(
    conn: &mut DbConnection,
    account: &ChannelAccount,
    input: VisitorInput,
) -> AppResult<StartedChat> {
    let input = input.validated().map_err(AppError::Invalid)?;
    let mut secret = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = format!("pvw_{}", hex::encode(secret));
    let mut visitor = VisitorRow {
        id: DbUuid(Uuid::now_v7()),
        channel_account_id: account.row.id,
        token_hash: token_hash(&token),
        name: input.name,
        email: input.email,
        phone: input.phone,
        customer_id: None,
        conversation_id: None,
        created_at: DbTime(persistence::now()),
    };
    transaction(conn, |conn| {
        if let Some(Party::Customer(customer)) = identity::known(conn, &given_addresses(&visitor))?
        {
            visitor.customer_id = Some(DbUuid(customer));
        }
        persistence::web_chat_visitors::insert(conn, &visitor)?;
        Ok(())
    })?;
    Ok(StartedChat { visitor, token })
}

/// The visitor of `account` holding `token`; a missing or unknown token is refused as
/// invalid, so a token of another site's chat reads nothing here.
pub fn visitor(
    conn: &mut DbConnection,
    account: &ChannelAccount,
    token: Option<&str>,
) -> AppResult<VisitorRow> {
    let token = token.ok_or(AppError::InvalidToken)?;
    persistence::web_chat_visitors::find_by_token(conn, account.row.id.0, &token_hash(token))?
        .ok_or(AppError::InvalidToken)
}

/// A visitor's message as stored, and whether it was stored by an earlier request.
pub struct Sent {
    pub message: MessageRow,
    pub replayed: bool,
}

/// Stores a visitor's message through the inbound path, in one transaction; a client
/// message id sent before answers the message stored then.
pub fn send(
    conn: &mut DbConnection,
    account: &ChannelAccount,
    visitor: &VisitorRow,
    input: WidgetMessageInput,
) -> AppResult<Sent> {
    let input = input.validated().map_err(AppError::Invalid)?;
    // Unique per account: the visitor's id keeps two visitors' ids apart.
    let provider_message_id = format!("{}:{}", visitor.id.0, input.client_message_id);
    let address = ContactAddress {
        kind: ContactKind::WebVisitor,
        value: visitor.id.0.to_string(),
    };
    let arrived = Arrived {
        provider_message_id: provider_message_id.clone(),
        sender_name: visitor.name.clone(),
        text: input.text,
        sent_at: persistence::now(),
    };
    // The message stored now, or none for a client message id sent before (whose
    // transaction is then rolled back).
    let new = transaction_kept_if(
        conn,
        |conn| {
            match inbound::ingest_from(
                conn,
                account,
                &address,
                &given_addresses(visitor),
                &arrived,
                None,
            )? {
                Ingested::Stored => {}
                Ingested::Replayed => return Ok(None),
                Ingested::Skipped => {
                    return Err(AppError::Internal("a visitor's address was refused".into()))
                }
            }
            let message = stored(conn, account, &provider_message_id)?;
            persistence::web_chat_visitors::link(
                conn,
                visitor.id.0,
                message.conversation_id.0,
                message
                    .customer_id
                    .map(|id| id.0)
                    .or(visitor.customer_id.map(|id| id.0)),
            )?;
            Ok(Some(message))
        },
        Option::is_some,
    )?;
    Ok(match new {
        Some(message) => Sent {
            message,
            replayed: false,
        },
        None => Sent {
            message: stored(conn, account, &provider_message_id)?,
            replayed: true,
        },
    })
}

/// The visitor's message stored under `provider_message_id`.
fn stored(
    conn: &mut DbConnection,
    account: &ChannelAccount,
    provider_message_id: &str,
) -> AppResult<MessageRow> {
    persistence::conversations::find_inbound(conn, account.row.id.0, provider_message_id)?
        .ok_or_else(|| AppError::Internal("the stored message is not found".into()))
}

/// A page of the visitor's chat, oldest first, after `after`: their messages and every
/// answer that reached them (not refused or failed ones). The cursor returned is the
/// position after the page's last message, or `after` again when nothing is new, so a
/// widget polls with it.
pub fn messages(
    conn: &mut DbConnection,
    visitor: &VisitorRow,
    after: Option<&Cursor>,
    limit: usize,
) -> AppResult<(Vec<MessageRow>, Option<String>, bool)> {
    let position = time_position(after, ORDER)?;
    let Some(conversation) = visitor.conversation_id else {
        return Ok((Vec::new(), after.map(Cursor::encode), false));
    };
    let mut data = persistence::conversations::messages_of(
        conn,
        conversation.0,
        position,
        limit as i64 + 1,
        true,
    )?;
    let has_more = data.len() > limit;
    data.truncate(limit);
    let cursor = match data.last() {
        Some(last) => Some(time_cursor(ORDER, last.occurred_at.0, last.id.0).encode()),
        None => after.map(Cursor::encode),
    };
    Ok((data, cursor, has_more))
}
