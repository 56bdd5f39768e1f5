//! Outbound messages (O-3): an agent's reply in a conversation is checked against the
//! customer's consent in the transaction that records it — a refusal is stored as a
//! `refused` message, never dropped silently — and sent by the `messages.send` job
//! through the channel's provider adapter (`channels::outbound`), outside any
//! transaction, with retries and back-off while the provider is unavailable. A provider
//! that refuses the message for good marks it `failed` with its reason; delivery
//! reports then move it forward ([`super::inbound`]).
//!
//! E-mail goes over SMTP with the mailbox's credentials: an answer is titled `Re:` the
//! customer's last subject and threaded to their message; every e-mail to a customer
//! carries a signed one-click unsubscribe link ([`super::unsubscribe`]). An agent may
//! also start a conversation ([`start`]) on any of the customer's addresses.

use std::sync::Arc;

use channels::email::{OutgoingEmail, Security, SmtpServer};
use channels::outbound::{self, OutboundText, ProviderUrls, SendError};
use channels::secrets::CredentialCipher;
use chrono::{DateTime, Utc};
use domain::authz::Permission;
use domain::customers::ConsentPurpose;
use domain::omnichannel::accounts::{ChannelKind, MailSecurity};
use domain::omnichannel::contacts::{ContactAddress, ContactKind};
use domain::omnichannel::conversations::{
    may_reply, reply_subject, ConversationStatus, Direction, MessageStatus, NewConversationInput,
    ReplyInput,
};
use domain::omnichannel::templates::TemplateLanguage;
use domain::validation::FieldViolation;
use persistence::audit;
use persistence::conversations::{ConversationRow, MessageRow};
use persistence::db::DbConnection;
use persistence::jobs::NewJob;
use persistence::sql_types::{DbTime, DbUuid};
use serde_json::{json, Value};
use uuid::Uuid;

use super::accounts::{self, credential, ChannelAccount};
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::jobs::{connection, JobContext, JobError, JobFailure, JobHandler};
use crate::transaction;

/// Job kind that sends one outbound message.
pub const MESSAGE_SEND: &str = "messages.send";
/// Attempts before a message whose provider stays unavailable is given up as failed:
/// with the worker's back-off (5 s doubling) about ten minutes.
pub const MAX_ATTEMPTS: i32 = 8;

/// The customer's current answer for `purpose` on `kind`'s consent channel; `None`
/// when never asked.
pub fn consent(
    conn: &mut DbConnection,
    customer: Uuid,
    kind: ChannelKind,
    purpose: ConsentPurpose,
) -> AppResult<Option<bool>> {
    let channel = kind.consent_channel();
    Ok(persistence::consents::current(conn, customer)?
        .into_iter()
        .find(|state| state.channel == channel.as_str() && state.purpose == purpose.as_str())
        .map(|state| state.granted))
}

/// A message to record: its text and who sends it.
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    pub body: String,
    /// An e-mail's subject; without one an e-mail answers the conversation's last.
    pub subject: Option<String>,
    /// The agent who sends it.
    pub sent_by: Option<Uuid>,
    /// The system's own answer.
    pub automatic: bool,
    /// Held back until then: the end of the quiet hours a message the business
    /// started was written in ([`quiet_until`]).
    pub not_before: Option<DateTime<Utc>>,
}

/// How long after a customer's last message an agent's reply counts as an answer to
/// it, which quiet hours never hold back; a later message is the business speaking
/// first (a day, as messengers count their customer-service window).
const ANSWER_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// When a message the business starts at `now` may go out, if later than `now`: the
/// end of the quiet hours of the business settings. A message answering the
/// customer's own within [`ANSWER_WINDOW`] (`conversation`'s last inbound one) goes
/// out at once.
fn quiet_until(
    conn: &mut DbConnection,
    conversation: Option<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<Option<DateTime<Utc>>> {
    if let Some(conversation) = conversation {
        let last = persistence::conversations::last_inbound(conn, conversation, now)?;
        if last.is_some_and(|message| now - message.occurred_at.0 <= ANSWER_WINDOW) {
            return Ok(None);
        }
    }
    let at = crate::settings::current(conn)?.0.send_instant(now);
    Ok((at > now).then_some(at))
}

/// Records an outbound message in `conversation` (whose row the caller writes back):
/// `queued` with its sending job — due at `not_before` when it is held back; `sent` at
/// once on web chat, whose visitor reads it from the widget — or `refused` when the
/// customer withdrew consent to service messages on the channel. An e-mail without a
/// `subject` answers the conversation's last one.
pub fn record(
    conn: &mut DbConnection,
    conversation: &mut ConversationRow,
    account: &ChannelAccount,
    outgoing: Outgoing,
) -> AppResult<MessageRow> {
    let Outgoing {
        body,
        subject,
        sent_by,
        automatic,
        not_before,
    } = outgoing;
    let now = persistence::now();
    let subject = match (account.kind, subject) {
        (ChannelKind::Email, Some(subject)) => Some(subject),
        (ChannelKind::Email, None) => {
            let last = persistence::conversations::last_subject(conn, conversation.id.0)?;
            Some(reply_subject(last.as_deref()))
        }
        _ => None,
    };
    let consented = match conversation.customer_id {
        Some(customer) => may_reply(consent(
            conn,
            customer.0,
            account.kind,
            ConsentPurpose::Service,
        )?),
        // A lead or an unknown sender wrote in and has no consent ledger yet.
        None => true,
    };
    let (status, error) = if !consented {
        (
            MessageStatus::Refused,
            Some(format!(
                "the customer withdrew consent to service messages by {}",
                account.kind.consent_channel().as_str()
            )),
        )
    } else if account.kind == ChannelKind::WebChat {
        // No provider to hand it to: the visitor reads it from the widget.
        (MessageStatus::Sent, None)
    } else {
        (MessageStatus::Queued, None)
    };
    let scheduled_at = not_before.filter(|at| *at > now && status == MessageStatus::Queued);
    let message = MessageRow {
        id: DbUuid(Uuid::now_v7()),
        conversation_id: conversation.id,
        channel_account_id: conversation.channel_account_id,
        customer_id: conversation.customer_id,
        channel: conversation.channel.clone(),
        direction: Direction::Outbound.as_str().to_string(),
        provider_message_id: None,
        body,
        status: status.as_str().to_string(),
        automatic,
        sent_by: sent_by.map(DbUuid),
        error,
        occurred_at: DbTime(now),
        created_at: DbTime(now),
        updated_at: DbTime(now),
        subject,
        // The business's own words: sentiment is what customers feel.
        sentiment_score: None,
        sentiment_label: None,
        scheduled_at: scheduled_at.map(DbTime),
    };
    persistence::conversations::insert_message(conn, &message)?;
    if status == MessageStatus::Queued {
        persistence::jobs::schedule(
            conn,
            NewJob {
                kind: MESSAGE_SEND,
                payload: json!({"message_id": message.id.0}),
                run_at: scheduled_at.unwrap_or(now),
                max_attempts: MAX_ATTEMPTS,
                created_by: sent_by,
            },
            &format!("{MESSAGE_SEND}:{}", message.id.0),
        )?;
    }
    conversation.last_message_at = DbTime(conversation.last_message_at.0.max(now));
    conversation.updated_at = DbTime(now);
    Ok(message)
}

/// Replies in a conversation the caller sees (`records:write`), as [`record`] does,
/// in one transaction with the conversation reopened and the reply audited.
pub fn reply(
    conn: &mut DbConnection,
    acting: &Acting,
    conversation: Uuid,
    input: ReplyInput,
) -> AppResult<MessageRow> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        let mut row = super::conversations::visible(conn, acting, conversation)?;
        let account = ChannelAccount::of(persistence::channel_accounts::find(
            conn,
            row.channel_account_id.0,
        )?)?;
        if !account.row.active {
            return Err(AppError::Conflict(
                "the conversation's channel account is inactive".into(),
            ));
        }
        let input = input.validated(account.kind).map_err(AppError::Invalid)?;
        let not_before = quiet_until(conn, Some(row.id.0), persistence::now())?;
        let message = record(
            conn,
            &mut row,
            &account,
            Outgoing {
                body: input.body,
                subject: input.subject,
                sent_by: acting.user_id,
                automatic: false,
                not_before,
            },
        )?;
        row.status = ConversationStatus::Open.as_str().to_string();
        persistence::conversations::update(conn, &row)?;
        audit::record(
            conn,
            &acting.audit_actor(),
            audit::NewAuditEvent {
                action: "conversation.reply",
                resource_type: "conversation",
                resource_id: Some(row.id.0.to_string()),
                // What was said is the conversation's; the log keeps that it was.
                changes: Some(json!({"message_id": message.id.0, "status": message.status})),
            },
        )?;
        Ok(message)
    })
}

/// The account of `id` if it is active, for sending.
fn active_account(conn: &mut DbConnection, id: Uuid) -> AppResult<ChannelAccount> {
    let account = match persistence::channel_accounts::find(conn, id) {
        Ok(row) => ChannelAccount::of(row)?,
        Err(persistence::PersistenceError::NotFound) => {
            return Err(AppError::field(
                "channel_account_id",
                "not_found",
                "no such channel account",
            ))
        }
        Err(other) => return Err(other.into()),
    };
    if !account.row.active {
        return Err(AppError::Conflict("the channel account is inactive".into()));
    }
    Ok(account)
}

/// Reads `raw` as an address of `kind`, in stored form.
fn address_of_kind(kind: ContactKind, raw: &str) -> Option<ContactAddress> {
    match kind {
        ContactKind::Phone => ContactAddress::phone(raw),
        ContactKind::Email => ContactAddress::email(raw),
        ContactKind::Telegram | ContactKind::Instagram | ContactKind::WebVisitor => {
            ContactAddress::handle(kind, raw)
        }
    }
}

/// The address `input.to` names among the customer's `known` ones of `kind`, or their
/// first; a violation on `to` otherwise.
fn recipient(
    kind: ContactKind,
    to: Option<&str>,
    known: Vec<String>,
) -> Result<String, FieldViolation> {
    let kind_name = kind.as_str();
    match to {
        Some(raw) => match address_of_kind(kind, raw) {
            Some(address) if known.contains(&address.value) => Ok(address.value),
            Some(_) => Err(FieldViolation::new(
                "to",
                "not_an_address_of_customer",
                format!("must be one of the customer's {kind_name} addresses"),
            )),
            None => Err(FieldViolation::new(
                "to",
                "invalid_format",
                format!("must be a {kind_name} address"),
            )),
        },
        None => known.into_iter().next().ok_or_else(|| {
            FieldViolation::new(
                "to",
                "no_address",
                format!("the customer has no {kind_name} address"),
            )
        }),
    }
}

/// Starts (or continues) the conversation with a customer the caller sees on one of
/// their addresses and sends the first message in it — a text, or a message template
/// filled in for the customer — as [`reply`] does, held back by the quiet hours
/// unless it answers the customer's own message.
pub fn start(
    conn: &mut DbConnection,
    acting: &Acting,
    input: NewConversationInput,
) -> AppResult<(ConversationRow, MessageRow)> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        let customer = match crate::customers::visible(conn, acting, input.customer_id) {
            Err(AppError::NotFound) => {
                return Err(AppError::field(
                    "customer_id",
                    "not_found",
                    "no such customer",
                ))
            }
            other => other?,
        };
        let account = active_account(conn, input.channel_account_id)?;
        let (body, template_subject) = match (input.body, input.template_id) {
            (Some(_), Some(_)) => {
                return Err(AppError::field(
                    "template_id",
                    "conflicting",
                    "give either a body or a template, not both",
                ))
            }
            (None, None) => {
                return Err(AppError::field(
                    "body",
                    "required",
                    "a message needs a body or a template",
                ))
            }
            (Some(body), None) => (body, None),
            (None, Some(template)) => {
                let filled = super::templates::fill(
                    conn,
                    acting,
                    template,
                    "template_id",
                    input.language.unwrap_or(TemplateLanguage::Fa),
                    account.kind,
                    &customer.row,
                )?;
                (filled.body, filled.subject)
            }
        };
        let contact_kind = account.kind.contact_kind();
        let subject = input.subject.or(template_subject);
        let mut violations = Vec::new();
        if account.kind == ChannelKind::Email
            && subject.as_deref().is_none_or(|s| s.trim().is_empty())
        {
            violations.push(FieldViolation::new(
                "subject",
                "required",
                "an e-mail needs a subject",
            ));
        }
        let reply = ReplyInput { body, subject }
            .validated(account.kind)
            .map_err(|found| violations.extend(found));
        let known = persistence::contact_points::addresses_of_customer(
            conn,
            customer.row.id.0,
            contact_kind.as_str(),
        )?;
        let to = recipient(contact_kind, input.to.as_deref(), known)
            .map_err(|violation| violations.push(violation));
        let (Ok(reply), Ok(to), true) = (reply, to, violations.is_empty()) else {
            return Err(AppError::Invalid(violations));
        };
        let now = persistence::now();
        let address = ContactAddress {
            kind: contact_kind,
            value: to,
        };
        let (mut conversation, opened) =
            super::conversations::find_or_open(conn, &account, &address, now)?;
        if conversation.contact_name.is_none() {
            conversation.contact_name = Some(customer.row.display_name.clone());
        }
        if conversation.customer_id != Some(customer.row.id) {
            // The address wrote in before as someone else (a lead, nobody yet): the
            // business now knows it is this customer's. A conversation opened now has
            // no messages yet, and its row is written whole below.
            if !opened {
                persistence::conversations::link_customer(
                    conn,
                    conversation.id.0,
                    customer.row.id.0,
                )?;
            }
            conversation.customer_id = Some(customer.row.id);
            conversation.lead_id = None;
        }
        let not_before = quiet_until(conn, Some(conversation.id.0), now)?;
        let message = record(
            conn,
            &mut conversation,
            &account,
            Outgoing {
                body: reply.body,
                subject: reply.subject,
                sent_by: acting.user_id,
                automatic: false,
                not_before,
            },
        )?;
        conversation.status = ConversationStatus::Open.as_str().to_string();
        persistence::conversations::update(conn, &conversation)?;
        audit::record(
            conn,
            &acting.audit_actor(),
            audit::NewAuditEvent {
                action: "conversation.start",
                resource_type: "conversation",
                resource_id: Some(conversation.id.0.to_string()),
                changes: Some(json!({"message_id": message.id.0, "status": message.status})),
            },
        )?;
        Ok((conversation, message))
    })
}

/// Sends queued messages: the `messages.send` job.
pub struct MessageSendJob {
    cipher: Arc<CredentialCipher>,
    urls: ProviderUrls,
    /// Where the server is reached from outside (scheme, host, port), for the links in
    /// messages.
    public_url: String,
}

impl MessageSendJob {
    pub fn new(
        cipher: Arc<CredentialCipher>,
        urls: ProviderUrls,
        public_url: String,
    ) -> MessageSendJob {
        MessageSendJob {
            cipher,
            urls,
            public_url: public_url.trim_end_matches('/').to_string(),
        }
    }

    /// Sends an e-mail message through the account's SMTP server.
    fn send_email(
        &self,
        conn: &mut DbConnection,
        account: &ChannelAccount,
        conversation: &ConversationRow,
        message: &MessageRow,
    ) -> Result<Result<String, SendError>, AppError> {
        let Some(settings) = &account.settings.email else {
            return Ok(Err(SendError::Refused(
                "the account has no mail settings".into(),
            )));
        };
        let credentials = accounts::credentials(&self.cipher, account)?;
        let server = SmtpServer {
            host: &settings.smtp.host,
            port: settings.smtp.port,
            security: match settings.smtp.security {
                MailSecurity::Tls => Security::Tls,
                MailSecurity::Starttls => Security::Starttls,
                MailSecurity::None => Security::None,
            },
            username: &settings.smtp.username,
            password: credential(&credentials, "smtp_password")?,
        };
        let parent = persistence::conversations::last_inbound(
            conn,
            conversation.id.0,
            message.created_at.0,
        )?;
        let unsubscribe_url = conversation.customer_id.map(|customer| {
            format!(
                "{}/api/v1/unsubscribe/{}",
                self.public_url,
                super::unsubscribe::token(&self.cipher, customer.0, account.kind.consent_channel())
            )
        });
        // A campaign's e-mail carries its recipient's open pixel, in an HTML part.
        let html = persistence::campaigns::token_of_message(conn, message.id.0)?.map(|token| {
            domain::campaigns::html_with_pixel(
                &message.body,
                &format!("{}/api/v1/campaign-opens/{token}", self.public_url),
            )
        });
        let email = OutgoingEmail {
            html: html.as_deref(),
            from_address: &settings.address,
            from_name: settings.display_name.as_deref(),
            to: &conversation.contact_value,
            subject: message.subject.as_deref().unwrap_or("Re:"),
            text: &message.body,
            in_reply_to: parent
                .as_ref()
                .and_then(|parent| parent.provider_message_id.as_deref()),
            unsubscribe_url: unsubscribe_url.as_deref(),
        };
        Ok(channels::email::send(&server, &email))
    }

    fn send(
        &self,
        account: &ChannelAccount,
        to: &str,
        text: &str,
    ) -> Result<Result<String, SendError>, AppError> {
        let credentials = accounts::credentials(&self.cipher, account)?;
        let message = OutboundText { to, text };
        let provider_account = || {
            account
                .settings
                .provider_account_id
                .as_deref()
                .ok_or_else(|| {
                    SendError::Refused(
                        "the account's settings lack provider_account_id (the sending number or line)"
                            .into(),
                    )
                })
        };
        Ok(match account.kind {
            ChannelKind::Telegram => {
                outbound::telegram(&self.urls, credential(&credentials, "bot_token")?, message)
            }
            ChannelKind::Whatsapp => {
                let token = credential(&credentials, "access_token")?;
                provider_account()
                    .and_then(|number| outbound::whatsapp(&self.urls, token, number, message))
            }
            ChannelKind::Instagram => outbound::instagram(
                &self.urls,
                credential(&credentials, "access_token")?,
                message,
            ),
            ChannelKind::Sms => {
                let api_key = credential(&credentials, "api_key")?;
                provider_account()
                    .and_then(|line| outbound::kavenegar(&self.urls, api_key, line, message))
            }
            ChannelKind::Email | ChannelKind::WebChat => {
                return Err(AppError::Internal(format!(
                    "{} is not sent through a messaging provider",
                    account.kind.as_str()
                )))
            }
        })
    }
}

impl JobHandler for MessageSendJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let id: Uuid = serde_json::from_value(ctx.payload()["message_id"].clone())
            .map_err(|err| JobError::internal(format!("message id: {err}")))?;
        let mut conn = connection(ctx.pool())?;
        let message = persistence::conversations::find_message(&mut conn, id)?;
        if message.status != MessageStatus::Queued.as_str() {
            // Sent on an earlier attempt whose outcome was not recorded as the job's.
            return Ok(json!({"message_id": id, "status": message.status}));
        }
        let conversation = persistence::conversations::find(&mut conn, message.conversation_id.0)?;
        let account = ChannelAccount::of(persistence::channel_accounts::find(
            &mut conn,
            message.channel_account_id.0,
        )?)?;
        // The provider is called with no transaction open: a slow provider holds no
        // locks.
        let outcome = match account.kind {
            ChannelKind::Email => self.send_email(&mut conn, &account, &conversation, &message),
            // Recorded as sent already; a job queued for one all the same has nothing to
            // hand over: the visitor reads the message from the widget.
            ChannelKind::WebChat => Ok(Ok(message.id.0.to_string())),
            _ => self.send(&account, &conversation.contact_value, &message.body),
        }
        .map_err(|err| JobError::internal(err.to_string()))?;
        match outcome {
            Ok(provider_id) => {
                persistence::conversations::set_sent(&mut conn, id, &provider_id)?;
                Ok(json!({"message_id": id, "status": "sent", "provider_message_id": provider_id}))
            }
            Err(SendError::Refused(reason)) => {
                persistence::conversations::set_status(
                    &mut conn,
                    id,
                    MessageStatus::Failed.as_str(),
                    Some(&reason),
                )?;
                Ok(json!({"message_id": id, "status": "failed", "error": reason}))
            }
            Err(SendError::Unavailable(reason)) if ctx.attempt() >= MAX_ATTEMPTS => {
                persistence::conversations::set_status(
                    &mut conn,
                    id,
                    MessageStatus::Failed.as_str(),
                    Some(&reason),
                )?;
                Err(JobError::Permanent(JobFailure::internal(
                    "provider_unavailable",
                    reason,
                )))
            }
            Err(SendError::Unavailable(reason)) => Err(JobError::Retryable(JobFailure::internal(
                "provider_unavailable",
                reason,
            ))),
        }
    }
}
