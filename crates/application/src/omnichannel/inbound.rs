//! Inbound webhooks (O-2). A request is first proven the provider's — Telegram's
//! secret token, Meta's `X-Hub-Signature-256` HMAC under the app secret, the SMS
//! provider's unguessable URL — and answers 401 storing nothing otherwise. Each message
//! is then stored once (a replayed provider id is recognised), its sender recognised
//! ([`super::identity`]), threaded into the sender's conversation on the account, and
//! handed to the account's ticket rule; an opt-out word withdraws consent for the
//! channel. Delivery reports move outbound messages forward, never back.

use channels::secrets::CredentialCipher;
use channels::sms::{ReceivedSms, SmsDeliveryReport};
use channels::{DeliveryState, DeliveryUpdate, Inbound, InboundMessage};
use domain::omnichannel::accounts::{ChannelKind, TicketRule, MAX_SUBJECT_CHARS};
use domain::omnichannel::auto_reply::off_hours_reply_due;
use domain::omnichannel::contacts::{is_opt_out, ContactAddress};
use domain::omnichannel::conversations::{
    stored_text, ConversationStatus, Direction, MessageStatus,
};
use domain::service::tickets::{MessageInput, MessageKind, TicketInput, TicketStatus};
use persistence::conversations::{ConversationRow, MessageRow};
use persistence::db::DbConnection;
use persistence::sql_types::{DbTime, DbUuid};
use uuid::Uuid;

use super::accounts::{self, credential, ChannelAccount};
use super::identity::{self, Party};
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::{transaction, transaction_kept_if};

/// A webhook request as it arrived.
pub enum Webhook<'a> {
    /// A Telegram update and its `X-Telegram-Bot-Api-Secret-Token` header.
    Telegram {
        secret_token: Option<&'a str>,
        body: &'a [u8],
    },
    /// A WhatsApp or Instagram notification and its `X-Hub-Signature-256` header.
    Meta {
        signature: Option<&'a str>,
        body: &'a [u8],
    },
    /// A message received on the SMS line.
    SmsReceived(ReceivedSms),
    /// A delivery report of a sent SMS.
    SmsDelivery(SmsDeliveryReport),
}

/// What a webhook request did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Receipt {
    /// Messages stored.
    pub stored: usize,
    /// Messages already stored from an earlier delivery of the same provider id.
    pub replayed: usize,
    /// Messages not stored: a sender address that is no address.
    pub skipped: usize,
    /// Delivery reports that moved a message forward.
    pub delivery_updates: usize,
}

/// The active account of `kind` whose webhook key is `key`; anything else is 404, so
/// keys cannot be probed by kind.
fn account_for(conn: &mut DbConnection, kind: ChannelKind, key: &str) -> AppResult<ChannelAccount> {
    let row = match persistence::channel_accounts::find_by_webhook_key(conn, key) {
        Ok(row) => row,
        Err(persistence::PersistenceError::NotFound) => return Err(AppError::NotFound),
        Err(other) => return Err(other.into()),
    };
    let account = ChannelAccount::of(row)?;
    if account.kind != kind || !account.row.active {
        return Err(AppError::NotFound);
    }
    Ok(account)
}

fn unreadable(err: channels::PayloadError) -> AppError {
    AppError::bad_parameter("body", "invalid_payload", err.to_string())
}

/// Meta's subscription handshake for a WhatsApp or Instagram account: the challenge
/// when the verify token is the account's, 403 otherwise.
pub fn subscription_challenge(
    conn: &mut DbConnection,
    cipher: &CredentialCipher,
    kind: ChannelKind,
    key: &str,
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
) -> AppResult<String> {
    if !matches!(kind, ChannelKind::Whatsapp | ChannelKind::Instagram) {
        return Err(AppError::NotFound);
    }
    let account = account_for(conn, kind, key)?;
    let credentials = accounts::credentials(cipher, &account)?;
    channels::meta::subscription_challenge(
        credential(&credentials, "verify_token")?,
        mode,
        token,
        challenge,
    )
    .ok_or(AppError::Forbidden)
}

/// Verifies and ingests one webhook request for the account of `kind` named by `key`.
pub fn receive(
    conn: &mut DbConnection,
    cipher: &CredentialCipher,
    kind: ChannelKind,
    key: &str,
    webhook: Webhook<'_>,
) -> AppResult<Receipt> {
    let account = account_for(conn, kind, key)?;
    let now = persistence::now();
    let inbound = match webhook {
        Webhook::Telegram { secret_token, body } => {
            let credentials = accounts::credentials(cipher, &account)?;
            let expected = credential(&credentials, "secret_token")?;
            if kind != ChannelKind::Telegram
                || !channels::telegram::secret_matches(expected, secret_token)
            {
                return Err(AppError::BadSignature);
            }
            channels::telegram::parse(body).map_err(unreadable)?
        }
        Webhook::Meta { signature, body } => {
            let credentials = accounts::credentials(cipher, &account)?;
            let secret = credential(&credentials, "app_secret")?;
            if !channels::meta::signature_valid(secret.as_bytes(), body, signature) {
                return Err(AppError::BadSignature);
            }
            match kind {
                ChannelKind::Whatsapp => channels::meta::parse_whatsapp(body),
                ChannelKind::Instagram => channels::meta::parse_instagram(body),
                _ => return Err(AppError::NotFound),
            }
            .map_err(unreadable)?
        }
        Webhook::SmsReceived(sms) if kind == ChannelKind::Sms => Inbound {
            messages: vec![sms.into_inbound(now)],
            deliveries: Vec::new(),
        },
        Webhook::SmsDelivery(report) if kind == ChannelKind::Sms => Inbound {
            messages: Vec::new(),
            deliveries: report.into_update(now).into_iter().collect(),
        },
        Webhook::SmsReceived(_) | Webhook::SmsDelivery(_) => return Err(AppError::NotFound),
    };
    let mut receipt = Receipt::default();
    // One transaction per message: a message that cannot be stored does not take the
    // others of the same delivery with it, and each is recognised on its own.
    for message in &inbound.messages {
        match transaction_kept_if(
            conn,
            |conn| ingest(conn, &account, message, None),
            Ingested::is_new,
        )? {
            Ingested::Stored => receipt.stored += 1,
            Ingested::Replayed => receipt.replayed += 1,
            Ingested::Skipped => receipt.skipped += 1,
        }
    }
    for update in &inbound.deliveries {
        if transaction(conn, |conn| deliver(conn, &account, update))? {
            receipt.delivery_updates += 1;
        }
    }
    Ok(receipt)
}

/// What became of one inbound message.
pub enum Ingested {
    Stored,
    /// Stored by an earlier delivery. The provider id is checked by the message's own
    /// insert, at the end, so that a first delivery pays no lookup; what a replay wrote
    /// on the way (a lead, a conversation) must be rolled back:
    /// [`crate::transaction_kept_if`] with [`Ingested::is_new`].
    Replayed,
    Skipped,
}

impl Ingested {
    /// Whether the transaction that ingested it is to be kept: all but a replay.
    pub fn is_new(&self) -> bool {
        !matches!(self, Ingested::Replayed)
    }
}

/// What an e-mail says besides its text.
pub struct MailFacts<'a> {
    pub subject: Option<&'a str>,
    /// Sent by a machine (an out-of-office note, a bounce, a list): never answered
    /// automatically.
    pub automatic: bool,
}

/// Stores one inbound message on `account` (in the caller's transaction): its sender
/// resolved, its conversation found or opened, the opt-out word, the off-hours reply
/// and the ticket rule applied; or recognised as a replay, when the caller rolls back
/// ([`Ingested::Replayed`]).
pub fn ingest(
    conn: &mut DbConnection,
    account: &ChannelAccount,
    message: &InboundMessage,
    mail: Option<&MailFacts<'_>>,
) -> AppResult<Ingested> {
    let Some(address) = identity::address_of(&message.sender) else {
        tracing::warn!(account = %account.row.id.0, "inbound message without a usable sender address");
        return Ok(Ingested::Skipped);
    };
    let shared: Vec<ContactAddress> = message
        .shared_phone
        .as_deref()
        .and_then(ContactAddress::phone)
        .into_iter()
        .collect();
    let arrived = Arrived {
        provider_message_id: message.provider_message_id.clone(),
        sender_name: message.sender_name.clone(),
        text: message.text.clone(),
        sent_at: message.sent_at,
    };
    ingest_from(conn, account, &address, &shared, &arrived, mail)
}

/// A message as it is stored, whichever channel it came by.
pub struct Arrived {
    /// Unique per account: a message arriving again with it is a replay.
    pub provider_message_id: String,
    pub sender_name: Option<String>,
    pub text: String,
    pub sent_at: chrono::DateTime<chrono::Utc>,
}

/// [`ingest`] for a sender whose address the caller knows: the conversation is
/// `address`'s, and the sender is also recognised by `also` (addresses they gave as
/// theirs). The web chat widget's messages come this way.
pub fn ingest_from(
    conn: &mut DbConnection,
    account: &ChannelAccount,
    address: &ContactAddress,
    also: &[ContactAddress],
    message: &Arrived,
    mail: Option<&MailFacts<'_>>,
) -> AppResult<Ingested> {
    let account_id = account.row.id.0;
    let party = identity::resolve(conn, account, address, also, message.sender_name.as_deref())?;
    let now = persistence::now();
    let (customer, lead) = match party {
        Party::Customer(customer) => (Some(customer), None),
        Party::Lead(lead) => (None, Some(lead)),
        Party::Unknown => (None, None),
    };
    let (mut conversation, opened) =
        super::conversations::find_or_open(conn, account, address, message.sent_at)?;
    // What is known now replaces what was known: a lead that became a customer, a
    // sender an agent has not linked yet. A conversation opened now has no messages to
    // re-point, and its row is written whole below.
    if customer.is_some() && conversation.customer_id.map(|id| id.0) != customer {
        if let Some(customer) = customer {
            if !opened {
                persistence::conversations::link_customer(conn, conversation.id.0, customer)?;
            }
            conversation.customer_id = Some(DbUuid(customer));
        }
    }
    if conversation.customer_id.is_none() && lead.is_some() {
        conversation.lead_id = lead.map(DbUuid);
    }
    if let Some(name) = &message.sender_name {
        conversation.contact_name = Some(stored_text(name).chars().take(200).collect());
    }
    conversation.status = ConversationStatus::Open.as_str().to_string();
    conversation.last_message_at = DbTime(conversation.last_message_at.0.max(message.sent_at));
    conversation.updated_at = DbTime(now);
    let body = stored_text(&message.text);
    let automatic = mail.is_some_and(|mail| mail.automatic);
    // Scored once, when stored, so that the customer's sentiment is a sum the database
    // computes rather than every message read and analysed again.
    let sentiment = analytics::sentiment::analyze(&body);
    let stored = persistence::conversations::insert_message_once(
        conn,
        &MessageRow {
            id: DbUuid(Uuid::now_v7()),
            conversation_id: conversation.id,
            channel_account_id: DbUuid(account_id),
            customer_id: conversation.customer_id,
            channel: account.kind.as_str().to_string(),
            direction: Direction::Inbound.as_str().to_string(),
            provider_message_id: Some(message.provider_message_id.clone()),
            body: body.clone(),
            status: MessageStatus::Received.as_str().to_string(),
            automatic,
            sent_by: None,
            error: None,
            occurred_at: DbTime(message.sent_at),
            created_at: DbTime(now),
            updated_at: DbTime(now),
            subject: mail.and_then(|mail| mail.subject).map(|subject| {
                stored_text(subject)
                    .chars()
                    .take(MAX_SUBJECT_CHARS)
                    .collect()
            }),
            sentiment_score: Some(sentiment.score),
            sentiment_label: Some(sentiment.label.as_str().to_string()),
            scheduled_at: None,
        },
    )?;
    if !stored {
        return Ok(Ingested::Replayed);
    }
    let opted_out = conversation.customer_id.is_some() && is_opt_out(&body);
    if !opted_out && !automatic {
        off_hours_reply(conn, account, &mut conversation, message.sent_at, now)?;
        canned_reply(
            conn,
            account,
            &mut conversation,
            &body,
            message.sent_at,
            now,
        )?;
    }
    if let Some(customer) = conversation.customer_id.map(|id| id.0) {
        if opted_out {
            withdraw_consent(conn, account, customer, &message.provider_message_id)?;
        } else if account.settings.ticket_rule == TicketRule::OpenOrAttach {
            conversation.ticket_id = Some(DbUuid(to_ticket(
                conn,
                account,
                &conversation,
                customer,
                &body,
            )?));
        }
    }
    persistence::conversations::update(conn, &conversation)?;
    Ok(Ingested::Stored)
}

/// How old a message may be and still get an off-hours reply: a provider delivering
/// yesterday's messages late does not make the business answer them now.
const AUTO_REPLY_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// The account's off-hours reply, when the message came outside working hours in a
/// closed spell not answered yet, queued as an automatic message.
fn off_hours_reply(
    conn: &mut DbConnection,
    account: &ChannelAccount,
    conversation: &mut ConversationRow,
    sent_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    let Some(text) = account.settings.off_hours_reply.clone() else {
        return Ok(());
    };
    if now - sent_at > AUTO_REPLY_WINDOW {
        return Ok(());
    }
    let calendar = crate::settings::calendar(conn)?;
    let replied = conversation.auto_replied_until.map(|at| at.0);
    if let Some(opens) = off_hours_reply_due(&calendar, sent_at, replied) {
        super::outbound::record(
            conn,
            conversation,
            account,
            super::outbound::Outgoing {
                body: text,
                automatic: true,
                ..Default::default()
            },
        )?;
        conversation.auto_replied_until = Some(DbTime(opens));
    }
    Ok(())
}

/// The canned answer most like the message, when the account answers automatically
/// and one is similar enough, queued as an automatic message.
fn canned_reply(
    conn: &mut DbConnection,
    account: &ChannelAccount,
    conversation: &mut ConversationRow,
    body: &str,
    sent_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    let Some(min_score) = account.settings.auto_answer_min_score else {
        return Ok(());
    };
    if now - sent_at > AUTO_REPLY_WINDOW {
        return Ok(());
    }
    let customer = match conversation.customer_id {
        Some(id) => Some(persistence::customers::find(conn, id.0)?.row),
        None => None,
    };
    let names = customer.as_ref().map(|row| {
        (
            row.display_name.as_str(),
            row.first_name.as_deref(),
            row.last_name.as_deref(),
        )
    });
    let answer = crate::service::canned_answers::automatic_answer(conn, body, min_score, names)?;
    if let Some(text) = answer.filter(|text| text.chars().count() <= account.kind.max_reply_chars())
    {
        super::outbound::record(
            conn,
            conversation,
            account,
            super::outbound::Outgoing {
                body: text,
                automatic: true,
                ..Default::default()
            },
        )?;
    }
    Ok(())
}

/// An opt-out word withdraws marketing and whatever the customer had granted on the
/// channel, with the message as proof; a customer never asked about service messages
/// is still answered when they write in again.
fn withdraw_consent(
    conn: &mut DbConnection,
    account: &ChannelAccount,
    customer: Uuid,
    provider_message_id: &str,
) -> AppResult<()> {
    super::unsubscribe::withdraw_channel(
        conn,
        customer,
        account.kind.consent_channel(),
        &[domain::customers::ConsentPurpose::Marketing],
        &format!("{}_opt_out", account.kind.as_str()),
        &format!("message {provider_message_id}"),
    )
}

/// The ticket rule: the message goes to the conversation's ticket while it can take
/// customer messages (reopening a resolved one), or opens a new ticket.
fn to_ticket(
    conn: &mut DbConnection,
    account: &ChannelAccount,
    conversation: &ConversationRow,
    customer: Uuid,
    body: &str,
) -> AppResult<Uuid> {
    let system = Acting::system(Lang::Fa);
    if let Some(ticket) = conversation.ticket_id.map(|id| id.0) {
        match persistence::tickets::find(conn, ticket) {
            Ok(row) if row.merged_into_id.is_none() && row.customer_id.0 == customer => {
                crate::service::tickets::add_message(
                    conn,
                    &system,
                    ticket,
                    MessageInput {
                        kind: MessageKind::Customer,
                        body: body.to_string(),
                        mentions: Vec::new(),
                    },
                )?;
                return Ok(ticket);
            }
            Ok(_) | Err(persistence::PersistenceError::NotFound) => {}
            Err(other) => return Err(other.into()),
        }
    }
    let subject: String = body
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(120)
        .collect();
    let subject = if subject.trim().is_empty() {
        format!("Message via {}", account.row.name)
    } else {
        subject
    };
    let input: TicketInput = serde_json::from_value(serde_json::json!({
        "subject": subject,
        "description": body,
        "customer_id": customer,
        "channel": account.kind.ticket_channel(),
        "status": TicketStatus::New,
    }))
    .map_err(|err| AppError::Internal(format!("ticket from a message: {err}")))?;
    let ticket = crate::service::tickets::create(conn, &system, input)?;
    Ok(ticket.id.0)
}

fn deliver(
    conn: &mut DbConnection,
    account: &ChannelAccount,
    update: &DeliveryUpdate,
) -> AppResult<bool> {
    let Some(message) = persistence::conversations::find_outbound(
        conn,
        account.row.id.0,
        &update.provider_message_id,
    )?
    else {
        return Ok(false);
    };
    let next = match update.state {
        DeliveryState::Sent => MessageStatus::Sent,
        DeliveryState::Delivered => MessageStatus::Delivered,
        DeliveryState::Read => MessageStatus::Read,
        DeliveryState::Failed => MessageStatus::Failed,
    };
    let current = MessageStatus::parse(&message.status)
        .ok_or_else(|| AppError::Internal(format!("message status {:?}", message.status)))?;
    if !current.advances_to(next) {
        return Ok(false);
    }
    persistence::conversations::set_status(
        conn,
        message.id.0,
        next.as_str(),
        update.error.as_deref(),
    )?;
    Ok(true)
}
