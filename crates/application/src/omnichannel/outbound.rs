//! Outbound messages (O-3): an agent's reply in a conversation is checked against the
//! customer's consent in the transaction that records it — a refusal is stored as a
//! `refused` message, never dropped silently — and sent by the `messages.send` job
//! through the channel's provider adapter (`channels::outbound`), outside any
//! transaction, with retries and back-off while the provider is unavailable. A provider
//! that refuses the message for good marks it `failed` with its reason; delivery
//! reports then move it forward ([`super::inbound`]).

use std::sync::Arc;

use channels::outbound::{self, OutboundText, ProviderUrls, SendError};
use channels::secrets::CredentialCipher;
use domain::authz::Permission;
use domain::customers::ConsentPurpose;
use domain::omnichannel::accounts::ChannelKind;
use domain::omnichannel::conversations::{
    may_reply, ConversationStatus, Direction, MessageStatus, ReplyInput,
};
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

/// The customer's current answer for service messages on `kind`'s consent channel.
fn service_consent(
    conn: &mut DbConnection,
    customer: Uuid,
    kind: ChannelKind,
) -> AppResult<Option<bool>> {
    let channel = kind.consent_channel();
    Ok(persistence::consents::current(conn, customer)?
        .into_iter()
        .find(|state| {
            state.channel == channel.as_str() && state.purpose == ConsentPurpose::Service.as_str()
        })
        .map(|state| state.granted))
}

/// Records an outbound message in `conversation` (whose row the caller writes back):
/// `queued` with its sending job, or `refused` when the customer withdrew consent to
/// service messages on the channel. `sent_by` is the agent; `automatic` marks the
/// system's own answers.
pub fn record(
    conn: &mut DbConnection,
    conversation: &mut ConversationRow,
    account: &ChannelAccount,
    body: String,
    sent_by: Option<Uuid>,
    automatic: bool,
) -> AppResult<MessageRow> {
    let consented = match conversation.customer_id {
        Some(customer) => may_reply(service_consent(conn, customer.0, account.kind)?),
        // A lead or an unknown sender wrote in and has no consent ledger yet.
        None => true,
    };
    let (status, error) = if consented {
        (MessageStatus::Queued, None)
    } else {
        (
            MessageStatus::Refused,
            Some(format!(
                "the customer withdrew consent to service messages by {}",
                account.kind.consent_channel().as_str()
            )),
        )
    };
    let now = persistence::now();
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
    };
    persistence::conversations::insert_message(conn, &message)?;
    if status == MessageStatus::Queued {
        persistence::jobs::schedule(
            conn,
            NewJob {
                kind: MESSAGE_SEND,
                payload: json!({"message_id": message.id.0}),
                run_at: now,
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
        let message = record(conn, &mut row, &account, input.body, acting.user_id, false)?;
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

/// Sends queued messages: the `messages.send` job.
pub struct MessageSendJob {
    cipher: Arc<CredentialCipher>,
    urls: ProviderUrls,
}

impl MessageSendJob {
    pub fn new(cipher: Arc<CredentialCipher>, urls: ProviderUrls) -> MessageSendJob {
        MessageSendJob { cipher, urls }
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
        let outcome = self
            .send(&account, &conversation.contact_value, &message.body)
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
