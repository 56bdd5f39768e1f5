//! Conversations (O-1, O-2): every message customers sent and were sent on the
//! channels, threaded per sender and channel account, as agents read them.

use actix_web::{get, post, web, HttpResponse};
use application::omnichannel::conversations::{self, ConversationQuery};
use application::omnichannel::outbound;
use chrono::{DateTime, Utc};
use domain::omnichannel::accounts::ChannelKind;
use domain::omnichannel::contacts::ContactKind;
use domain::omnichannel::conversations::{
    ConversationStatus, Direction, MessageStatus, NewConversationInput, ReplyInput,
};
use domain::sentiment::SentimentLabel;
use persistence::conversations::{ConversationRow, MessageRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::{JsonBody, Page, PageParams};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        list_conversations,
        get_conversation,
        list_conversation_messages,
        reply_in_conversation,
        start_conversation
    ),
    components(schemas(
        Conversation,
        ConversationMessage,
        ContactKind,
        ConversationStatus,
        Direction,
        MessageStatus,
        SentimentLabel,
        ReplyInput,
        NewConversationInput,
        StartedConversation
    ))
)]
pub struct ConversationsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_conversations)
        .service(get_conversation)
        .service(list_conversation_messages)
        .service(reply_in_conversation)
        .service(start_conversation);
}

/// A conversation: one sender address on one channel account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Conversation {
    pub id: Uuid,
    pub channel_account_id: Uuid,
    pub channel: ChannelKind,
    /// The sender's address: its kind and stored form (E.164 phone, messenger id).
    pub contact_kind: ContactKind,
    pub contact_value: String,
    /// The name the sender goes by on the channel.
    pub contact_name: Option<String>,
    /// The customer the sender was recognised as.
    pub customer_id: Option<Uuid>,
    /// The lead the sender was recognised as, or made, while no customer is known.
    pub lead_id: Option<Uuid>,
    pub status: ConversationStatus,
    /// The ticket the account's ticket rule opened for it.
    pub ticket_id: Option<Uuid>,
    pub last_message_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<&ConversationRow> for Conversation {
    type Error = ApiError;

    fn try_from(row: &ConversationRow) -> Result<Self, ApiError> {
        let corrupt = |what: &str| ApiError::Internal(format!("conversation {what}"));
        Ok(Conversation {
            id: row.id.0,
            channel_account_id: row.channel_account_id.0,
            channel: ChannelKind::parse(&row.channel).ok_or_else(|| corrupt("channel"))?,
            contact_kind: ContactKind::parse(&row.contact_kind)
                .ok_or_else(|| corrupt("contact kind"))?,
            contact_value: row.contact_value.clone(),
            contact_name: row.contact_name.clone(),
            customer_id: row.customer_id.map(|id| id.0),
            lead_id: row.lead_id.map(|id| id.0),
            status: ConversationStatus::parse(&row.status).ok_or_else(|| corrupt("status"))?,
            ticket_id: row.ticket_id.map(|id| id.0),
            last_message_at: row.last_message_at.0,
            created_at: row.created_at.0,
        })
    }
}

/// A message of a conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationMessage {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub direction: Direction,
    pub body: String,
    pub status: MessageStatus,
    /// Sent by a machine: outbound, the system's own answer, not an agent's; inbound,
    /// automatic mail such as an out-of-office note.
    pub automatic: bool,
    /// The agent who sent an outbound message.
    pub sent_by: Option<Uuid>,
    /// An e-mail's subject.
    pub subject: Option<String>,
    /// The provider's id of the message (an e-mail's Message-ID).
    pub provider_message_id: Option<String>,
    /// Why the provider could not deliver it.
    pub error: Option<String>,
    /// When it was sent (by the customer, or to them).
    pub occurred_at: DateTime<Utc>,
    /// An inbound message's sentiment, scored when it was stored: from −1 (complaint) to
    /// 1 (praise); null on outbound messages.
    pub sentiment_score: Option<f64>,
    pub sentiment_label: Option<SentimentLabel>,
    /// When a message held back by the quiet hours goes out.
    pub scheduled_at: Option<DateTime<Utc>>,
}

impl TryFrom<&MessageRow> for ConversationMessage {
    type Error = ApiError;

    fn try_from(row: &MessageRow) -> Result<Self, ApiError> {
        let corrupt = |what: &str| ApiError::Internal(format!("message {what}"));
        Ok(ConversationMessage {
            id: row.id.0,
            conversation_id: row.conversation_id.0,
            direction: Direction::parse(&row.direction).ok_or_else(|| corrupt("direction"))?,
            body: row.body.clone(),
            status: MessageStatus::parse(&row.status).ok_or_else(|| corrupt("status"))?,
            automatic: row.automatic,
            sent_by: row.sent_by.map(|id| id.0),
            subject: row.subject.clone(),
            provider_message_id: row.provider_message_id.clone(),
            error: row.error.clone(),
            occurred_at: row.occurred_at.0,
            sentiment_score: row.sentiment_score,
            sentiment_label: match &row.sentiment_label {
                Some(label) => {
                    Some(SentimentLabel::parse(label).ok_or_else(|| corrupt("sentiment label"))?)
                }
                None => None,
            },
            scheduled_at: row.scheduled_at.map(|at| at.0),
        })
    }
}

/// What narrows the conversation list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationFilters {
    /// Only this customer's.
    pub customer_id: Option<Uuid>,
    /// Only this lead's.
    pub lead_id: Option<Uuid>,
    /// Only those on this channel account.
    pub channel_account_id: Option<Uuid>,
    pub status: Option<ConversationStatus>,
    /// Only those with neither a customer nor a lead.
    #[serde(default)]
    pub unlinked: bool,
}

/// List conversations.
///
/// Latest message first, keyset-paginated. A conversation is seen through its customer,
/// else its lead, as those records are (owner, team, all); one with neither only by
/// callers who see every record. Needs `records:read`.
#[utoipa::path(
    tag = "conversations",
    operation_id = "list_conversations",
    params(PageParams, ConversationFilters),
    responses(
        (status = 200, description = "One page of conversations", body = Page<Conversation>),
        (status = 400, description = "Malformed filter or cursor", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/api/v1/conversations")]
pub async fn list_conversations(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
    filters: web::Query<ConversationFilters>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let filters = filters.into_inner();
    let query = ConversationQuery {
        customer_id: filters.customer_id,
        lead_id: filters.lead_id,
        channel_account_id: filters.channel_account_id,
        status: filters.status,
        unlinked: filters.unlinked,
    };
    let limit = page.limit;
    let cursor = page.cursor;
    let found = state
        .db(move |conn| {
            Ok(conversations::list(
                conn,
                &acting,
                &query,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let data = found
        .data
        .iter()
        .map(Conversation::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(Page {
        data,
        has_more: found.next_cursor.is_some(),
        next_cursor: found.next_cursor,
    }))
}

/// Get a conversation.
///
/// Needs `records:read` and sight of its customer or lead (404 otherwise).
#[utoipa::path(
    tag = "conversations",
    operation_id = "get_conversation",
    params(("id" = Uuid, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "Found", body = Conversation),
        (status = 404, description = "No such conversation the caller may see", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/api/v1/conversations/{id}")]
pub async fn get_conversation(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(conversations::visible(conn, &acting, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(Conversation::try_from(&row)?))
}

/// List a conversation's messages.
///
/// Oldest first, keyset-paginated. Needs `records:read` and sight of the conversation.
#[utoipa::path(
    tag = "conversations",
    operation_id = "list_conversation_messages",
    params(("id" = Uuid, Path, description = "Conversation id"), PageParams),
    responses(
        (status = 200, description = "One page of messages", body = Page<ConversationMessage>),
        (status = 404, description = "No such conversation the caller may see", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/api/v1/conversations/{id}/messages")]
pub async fn list_conversation_messages(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let limit = page.limit;
    let cursor = page.cursor;
    let (rows, next_cursor) = state
        .db(move |conn| {
            Ok(conversations::messages(
                conn,
                &acting,
                id,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let data = rows
        .iter()
        .map(ConversationMessage::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(Page {
        data,
        has_more: next_cursor.is_some(),
        next_cursor,
    }))
}

/// Reply in a conversation.
///
/// Sends `body` to the sender on the conversation's channel (Telegram chat, WhatsApp
/// number, Instagram user, SMS number) through the provider's API, as a background job
/// that retries with back-off while the provider is unavailable. The answer is the
/// message as recorded: `queued` (then `sent`, `delivered`, `read` as the provider
/// reports, or `failed` with the provider's reason), or `refused` when the customer
/// withdrew consent to service messages on the channel — recorded, not sent. At most
/// 4,096 characters on Telegram and WhatsApp, 1,000 on Instagram, 536 (eight Persian
/// parts) by SMS, 20,000 by e-mail. An e-mail is titled `subject`, by default `Re:` the
/// customer's last subject, threaded to their last message, and carries a one-click
/// unsubscribe link (RFC 8058).
///
/// Needs `records:write` and sight of the conversation. Audited as
/// `conversation.reply` (without the text). Problems: 404; 409 when the channel account
/// is inactive; 422 `body` `required` or `too_long`, `subject` `not_allowed` off e-mail.
#[utoipa::path(
    tag = "conversations",
    operation_id = "reply_in_conversation",
    params(("id" = Uuid, Path, description = "Conversation id")),
    request_body = ReplyInput,
    responses(
        (status = 201, description = "Recorded (queued or refused)", body = ConversationMessage),
        (status = 404, description = "No such conversation the caller may see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The channel account is inactive", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/conversations/{id}/messages")]
pub async fn reply_in_conversation(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<ReplyInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let input = body.0;
    let row = state
        .db(move |conn| Ok(outbound::reply(conn, &acting, id, input)?))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/conversations/{id}/messages")))
        .json(ConversationMessage::try_from(&row)?))
}

/// A conversation started by the business and its first message.
#[derive(Debug, Serialize, ToSchema)]
pub struct StartedConversation {
    pub conversation: Conversation,
    pub message: ConversationMessage,
}

/// Start a conversation.
///
/// Writes to a customer first: an SMS or WhatsApp message to one of their phones, an
/// e-mail to one of their addresses, a Telegram or Instagram message to a messenger id
/// they wrote from. `to` picks the address (one of the customer's); their primary one
/// is used otherwise. The text is `body`, or a message template (`template_id`, see
/// `/message-templates`) filled in for the customer in `language` (`fa` by default),
/// its subject the e-mail's unless `subject` is given. The message is checked against
/// consent and queued as a reply is; an address with a conversation already continues
/// it. During the business's quiet hours (`quiet_hours` of the business settings) the
/// message is held: it stays `queued` with `scheduled_at` the end of the quiet hours,
/// unless it answers the customer's own message of the last 24 hours.
///
/// Needs `records:write` and sight of the customer. Audited as `conversation.start`.
/// Problems: 409 when the channel account is inactive; 422 `customer_id` or
/// `channel_account_id` `not_found`, `to` `no_address`, `invalid_format` or
/// `not_an_address_of_customer`, `subject` `required` for e-mail, `body` as for a reply
/// (`required` when there is neither body nor template), `template_id` `conflicting`
/// (both given), `not_found`, `inactive`, `wrong_channel` (a template of another
/// channel kind) or `invalid_template` (the customer's data does not fit a filter),
/// `language` `not_available` (no English text).
#[utoipa::path(
    tag = "conversations",
    operation_id = "start_conversation",
    request_body = NewConversationInput,
    responses(
        (status = 201, description = "Started; the message is queued or refused", body = StartedConversation,
            headers(("Location" = String, description = "The conversation"))),
        (status = 409, description = "The channel account is inactive", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/conversations")]
pub async fn start_conversation(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<NewConversationInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let input = body.0;
    let (conversation, message) = state
        .db(move |conn| Ok(outbound::start(conn, &acting, input)?))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/v1/conversations/{}", conversation.id.0),
        ))
        .json(StartedConversation {
            conversation: Conversation::try_from(&conversation)?,
            message: ConversationMessage::try_from(&message)?,
        }))
}
