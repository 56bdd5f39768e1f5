//! Conversations and messages (O-1, O-2): one conversation per sender address and
//! channel account; every message in and out, each inbound one stored once however
//! often the provider delivers it.

use chrono::{DateTime, Utc};
use diesel::dsl::not;
use diesel::prelude::*;
use domain::authz::Visibility;
use uuid::Uuid;

use crate::customers::search::Scope;
use crate::db::DbConnection;
use crate::schema::{conversations, customers, leads, messages};
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = conversations, treat_none_as_null = true)]
pub struct ConversationRow {
    pub id: DbUuid,
    pub channel_account_id: DbUuid,
    pub channel: String,
    pub contact_kind: String,
    pub contact_value: String,
    pub contact_name: Option<String>,
    pub customer_id: Option<DbUuid>,
    pub lead_id: Option<DbUuid>,
    pub status: String,
    pub ticket_id: Option<DbUuid>,
    pub last_message_at: DbTime,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    /// The opening instant ending the closed spell last answered automatically.
    pub auto_replied_until: Option<DbTime>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    pub id: DbUuid,
    pub conversation_id: DbUuid,
    pub channel_account_id: DbUuid,
    pub customer_id: Option<DbUuid>,
    pub channel: String,
    pub direction: String,
    pub provider_message_id: Option<String>,
    pub body: String,
    pub status: String,
    pub automatic: bool,
    pub sent_by: Option<DbUuid>,
    pub error: Option<String>,
    pub occurred_at: DbTime,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    /// An e-mail's subject.
    pub subject: Option<String>,
    /// An inbound message's sentiment score in (-1, 1) and label, scored when stored.
    pub sentiment_score: Option<f64>,
    pub sentiment_label: Option<String>,
    /// When a queued message the business started goes out: the end of the quiet
    /// hours it was written in; `None` when it went out at once.
    pub scheduled_at: Option<DbTime>,
}

/// The conversation of a sender address on an account, its row locked until this
/// transaction ends (PostgreSQL; SQLite's writers are serialised already), so that two
/// deliveries from one sender at once take turns. One statement: the row lock is what
/// serialises them, and a conversation opened meanwhile by another transaction is
/// caught by [`open`], not by a lock taken before the read.
pub fn find_for_sender(
    conn: &mut DbConnection,
    account: Uuid,
    contact_kind: &str,
    contact_value: &str,
) -> Result<Option<ConversationRow>, PersistenceError> {
    let of_sender = || {
        conversations::table
            .filter(conversations::channel_account_id.eq(DbUuid(account)))
            .filter(conversations::contact_kind.eq(contact_kind))
            .filter(conversations::contact_value.eq(contact_value))
    };
    Ok(match conn {
        DbConnection::Postgres(pg) => of_sender()
            .select(ConversationRow::as_select())
            .for_update()
            .first(pg)
            .optional()?,
        DbConnection::Sqlite(sqlite) => of_sender()
            .select(ConversationRow::as_select())
            .first(sqlite)
            .optional()?,
    })
}

pub fn insert(conn: &mut DbConnection, row: &ConversationRow) -> Result<(), PersistenceError> {
    diesel::insert_into(conversations::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Inserts `row` unless its account already has a conversation with its address;
/// answers whether it did. A conversation another transaction is opening for the same
/// address at the same moment makes this one wait for it and then insert nothing.
pub fn open(conn: &mut DbConnection, row: &ConversationRow) -> Result<bool, PersistenceError> {
    let target = (
        conversations::channel_account_id,
        conversations::contact_kind,
        conversations::contact_value,
    );
    let inserted = match conn {
        DbConnection::Postgres(pg) => diesel::insert_into(conversations::table)
            .values(row)
            .on_conflict(target)
            .do_nothing()
            .execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::insert_into(conversations::table)
            .values(row)
            .on_conflict(target)
            .do_nothing()
            .execute(sqlite)?,
    };
    Ok(inserted == 1)
}

pub fn update(conn: &mut DbConnection, row: &ConversationRow) -> Result<(), PersistenceError> {
    diesel::update(conversations::table.find(row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<ConversationRow, PersistenceError> {
    conversations::table
        .find(DbUuid(id))
        .select(ConversationRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

pub fn insert_message(conn: &mut DbConnection, row: &MessageRow) -> Result<(), PersistenceError> {
    diesel::insert_into(messages::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Inserts `row` unless the account has a message with its provider id in its
/// direction already (the provider delivering it again); answers whether it did. The
/// unique index decides, so a delivery of the same id committing meanwhile makes this
/// one wait for it and then insert nothing.
pub fn insert_message_once(
    conn: &mut DbConnection,
    row: &MessageRow,
) -> Result<bool, PersistenceError> {
    let target = (
        messages::channel_account_id,
        messages::direction,
        messages::provider_message_id,
    );
    let inserted = match conn {
        DbConnection::Postgres(pg) => diesel::insert_into(messages::table)
            .values(row)
            .on_conflict(target)
            .do_nothing()
            .execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::insert_into(messages::table)
            .values(row)
            .on_conflict(target)
            .do_nothing()
            .execute(sqlite)?,
    };
    Ok(inserted == 1)
}

/// An inbound message of the account by its provider's id.
pub fn find_inbound(
    conn: &mut DbConnection,
    account: Uuid,
    provider_id: &str,
) -> Result<Option<MessageRow>, PersistenceError> {
    Ok(messages::table
        .filter(messages::channel_account_id.eq(DbUuid(account)))
        .filter(messages::direction.eq("inbound"))
        .filter(messages::provider_message_id.eq(provider_id))
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?)
}

/// The outbound message the provider knows as `provider_id`.
pub fn find_outbound(
    conn: &mut DbConnection,
    account: Uuid,
    provider_id: &str,
) -> Result<Option<MessageRow>, PersistenceError> {
    Ok(messages::table
        .filter(messages::channel_account_id.eq(DbUuid(account)))
        .filter(messages::direction.eq("outbound"))
        .filter(messages::provider_message_id.eq(provider_id))
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?)
}

/// The sender's latest message in a conversation at or before `until`: what a reply
/// written then answers (its e-mail subject and Message-ID thread the reply).
pub fn last_inbound(
    conn: &mut DbConnection,
    conversation: Uuid,
    until: DateTime<Utc>,
) -> Result<Option<MessageRow>, PersistenceError> {
    Ok(messages::table
        .filter(messages::conversation_id.eq(DbUuid(conversation)))
        .filter(messages::direction.eq("inbound"))
        .filter(messages::occurred_at.le(DbTime(until)))
        .order((messages::occurred_at.desc(), messages::id.desc()))
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?)
}

/// The subject of the conversation's latest e-mail, either way.
pub fn last_subject(
    conn: &mut DbConnection,
    conversation: Uuid,
) -> Result<Option<String>, PersistenceError> {
    Ok(messages::table
        .filter(messages::conversation_id.eq(DbUuid(conversation)))
        .filter(messages::subject.is_not_null())
        .order((messages::occurred_at.desc(), messages::id.desc()))
        .select(messages::subject)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// Sets a message's delivery status (and the provider's reason for a failure).
pub fn set_status(
    conn: &mut DbConnection,
    id: Uuid,
    status: &str,
    error: Option<&str>,
) -> Result<(), PersistenceError> {
    diesel::update(messages::table.find(DbUuid(id)))
        .set((
            messages::status.eq(status),
            messages::error.eq(error),
            messages::updated_at.eq(DbTime(crate::now())),
        ))
        .execute(conn)?;
    Ok(())
}

/// A page of a conversation's messages, oldest first, after `after` (occurred_at, id);
/// `only_reaching` leaves out what never reached the correspondent (refused or failed),
/// for a page the correspondent reads.
pub fn messages_of(
    conn: &mut DbConnection,
    conversation: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
    only_reaching: bool,
) -> Result<Vec<MessageRow>, PersistenceError> {
    let mut query = messages::table
        .filter(messages::conversation_id.eq(DbUuid(conversation)))
        .into_boxed();
    if only_reaching {
        query = query.filter(not(messages::status.eq_any(["refused", "failed"])));
    }
    if let Some((at, id)) = after {
        query = query.filter(
            messages::occurred_at
                .gt(DbTime(at))
                .or(messages::occurred_at
                    .eq(DbTime(at))
                    .and(messages::id.gt(DbUuid(id)))),
        );
    }
    Ok(query
        .order((messages::occurred_at, messages::id))
        .limit(limit)
        .select(MessageRow::as_select())
        .load(conn)?)
}

/// What narrows a conversation list.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub customer_id: Option<Uuid>,
    pub lead_id: Option<Uuid>,
    pub channel_account_id: Option<Uuid>,
    pub status: Option<String>,
    /// Only conversations with neither a customer nor a lead.
    pub unlinked: bool,
}

/// The next `limit` conversations `scope` may see, latest message first, before
/// `before` (last_message_at, id). A conversation is seen through its customer, else
/// its lead (owner or team, as for those records); one with neither only by callers who
/// see every record.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &ConversationFilter,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<ConversationRow>, PersistenceError> {
    let mut query = conversations::table.into_boxed();
    if let Some(customer) = filter.customer_id {
        query = query.filter(conversations::customer_id.eq(DbUuid(customer)));
    }
    if let Some(lead) = filter.lead_id {
        query = query.filter(conversations::lead_id.eq(DbUuid(lead)));
    }
    if let Some(account) = filter.channel_account_id {
        query = query.filter(conversations::channel_account_id.eq(DbUuid(account)));
    }
    if let Some(status) = &filter.status {
        query = query.filter(conversations::status.eq(status.clone()));
    }
    if filter.unlinked {
        query = query
            .filter(conversations::customer_id.is_null())
            .filter(conversations::lead_id.is_null());
    }
    if scope.visibility != Visibility::All {
        let me = DbUuid(scope.user_id);
        let team = scope
            .team_id
            .filter(|_| scope.visibility == Visibility::Team);
        let customers_seen = customers::table
            .filter(
                customers::owner_id
                    .eq(me)
                    .or(customers::team_id.eq(team.map(DbUuid))),
            )
            .select(customers::id.nullable());
        let leads_seen = leads::table
            .filter(
                leads::owner_id
                    .eq(me)
                    .or(leads::team_id.eq(team.map(DbUuid))),
            )
            .select(leads::id.nullable());
        query = query.filter(
            conversations::customer_id
                .eq_any(customers_seen)
                .or(conversations::customer_id
                    .is_null()
                    .and(conversations::lead_id.eq_any(leads_seen))),
        );
    }
    if let Some((at, id)) = before {
        query = query.filter(
            conversations::last_message_at
                .lt(DbTime(at))
                .or(conversations::last_message_at
                    .eq(DbTime(at))
                    .and(conversations::id.lt(DbUuid(id)))),
        );
    }
    Ok(query
        .order((
            conversations::last_message_at.desc(),
            conversations::id.desc(),
        ))
        .limit(limit)
        .select(ConversationRow::as_select())
        .load(conn)?)
}

/// Moves a lead's conversations (and their messages) to the customer it became.
pub fn move_lead_to_customer(
    conn: &mut DbConnection,
    lead: Uuid,
    customer: Uuid,
) -> Result<(), PersistenceError> {
    let ids: Vec<DbUuid> = conversations::table
        .filter(conversations::lead_id.eq(DbUuid(lead)))
        .filter(conversations::customer_id.is_null())
        .select(conversations::id)
        .load(conn)?;
    diesel::update(conversations::table.filter(conversations::id.eq_any(&ids)))
        .set(conversations::customer_id.eq(DbUuid(customer)))
        .execute(conn)?;
    diesel::update(messages::table.filter(messages::conversation_id.eq_any(&ids)))
        .set(messages::customer_id.eq(DbUuid(customer)))
        .execute(conn)?;
    Ok(())
}

/// Deletes the conversations (and their messages) only `lead` had: those no customer
/// holds. Answers how many went.
pub fn delete_of_lead(conn: &mut DbConnection, lead: Uuid) -> Result<usize, PersistenceError> {
    Ok(diesel::delete(
        conversations::table
            .filter(conversations::lead_id.eq(DbUuid(lead)))
            .filter(conversations::customer_id.is_null()),
    )
    .execute(conn)?)
}

/// The ids of a customer's conversations.
pub fn ids_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<Uuid>, PersistenceError> {
    Ok(conversations::table
        .filter(conversations::customer_id.eq(DbUuid(customer)))
        .select(conversations::id)
        .load::<DbUuid>(conn)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

/// Gives the conversations `ids` and their messages to customer `to` (a merge, or its
/// undo).
pub fn move_to(conn: &mut DbConnection, ids: &[Uuid], to: Uuid) -> Result<(), PersistenceError> {
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        diesel::update(conversations::table.filter(conversations::id.eq_any(&chunk)))
            .set(conversations::customer_id.eq(DbUuid(to)))
            .execute(conn)?;
        diesel::update(messages::table.filter(messages::conversation_id.eq_any(&chunk)))
            .set(messages::customer_id.eq(DbUuid(to)))
            .execute(conn)?;
    }
    Ok(())
}

/// Every conversation of a customer with its messages, oldest first (data export).
pub fn all_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<(ConversationRow, Vec<MessageRow>)>, PersistenceError> {
    let conversations: Vec<ConversationRow> = conversations::table
        .filter(conversations::customer_id.eq(DbUuid(customer)))
        .order((conversations::created_at, conversations::id))
        .select(ConversationRow::as_select())
        .load(conn)?;
    let mut all = Vec::with_capacity(conversations.len());
    for conversation in conversations {
        let messages = messages::table
            .filter(messages::conversation_id.eq(conversation.id))
            .order((messages::occurred_at, messages::id))
            .select(MessageRow::as_select())
            .load(conn)?;
        all.push((conversation, messages));
    }
    Ok(all)
}

/// Deletes every conversation of a customer and its messages (erasure): what customers
/// wrote is theirs; the counts of what happened stay in the reports that were run.
pub fn delete_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<usize, PersistenceError> {
    diesel::delete(messages::table.filter(messages::customer_id.eq(DbUuid(customer))))
        .execute(conn)?;
    Ok(
        diesel::delete(
            conversations::table.filter(conversations::customer_id.eq(DbUuid(customer))),
        )
        .execute(conn)?,
    )
}

/// Whether any conversation still points at an account (which then cannot be deleted
/// without losing them).
pub fn account_in_use(conn: &mut DbConnection, account: Uuid) -> Result<bool, PersistenceError> {
    let used: i64 = conversations::table
        .filter(conversations::channel_account_id.eq(DbUuid(account)))
        .count()
        .get_result(conn)?;
    Ok(used > 0)
}

/// Messages of a conversation with no customer yet, re-pointed when it gets one.
pub fn link_customer(
    conn: &mut DbConnection,
    conversation: Uuid,
    customer: Uuid,
) -> Result<(), PersistenceError> {
    diesel::update(conversations::table.find(DbUuid(conversation)))
        .set(conversations::customer_id.eq(DbUuid(customer)))
        .execute(conn)?;
    diesel::update(
        messages::table
            .filter(messages::conversation_id.eq(DbUuid(conversation)))
            .filter(not(messages::customer_id.eq(DbUuid(customer)))),
    )
    .set(messages::customer_id.eq(DbUuid(customer)))
    .execute(conn)?;
    Ok(())
}

pub fn find_message(conn: &mut DbConnection, id: Uuid) -> Result<MessageRow, PersistenceError> {
    messages::table
        .find(DbUuid(id))
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Marks an outbound message handed to the provider, under the provider's id.
pub fn set_sent(
    conn: &mut DbConnection,
    id: Uuid,
    provider_id: &str,
) -> Result<(), PersistenceError> {
    diesel::update(messages::table.find(DbUuid(id)))
        .set((
            messages::status.eq("sent"),
            messages::provider_message_id.eq(provider_id),
            messages::error.eq(None::<String>),
            messages::updated_at.eq(DbTime(crate::now())),
        ))
        .execute(conn)?;
    Ok(())
}
