//! Consent and data-subject rights: the consent ledger, the personal-data export
//! and erasure by anonymisation.
//!
//! Erasure removes every personal field, contact point, address, custom value, note text
//! and consent evidence, empties the search text so no search can find the person
//! again, and redacts the changes of the customer's audit events to their digests (the
//! chain still verifies). It reaches every copy the product keeps: the customers merged
//! into the erased one (their own records stay for an undo), the documents a merge
//! record keeps for its undo, stored idempotent responses and export files. What is not
//! personal stays, so counts, lifecycle, ownership, acquisition and (later) orders keep
//! adding up.

use actix_web::{get, post, web, HttpResponse};
pub use application::customers::privacy::DataPlaces;
use application::customers::privacy::{self, ConsentInput};
use chrono::{DateTime, Utc};
use domain::authz::Permission;
use domain::customers::{ConsentChannel, ConsentPurpose};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::{
    ConsentEvent, Consents, Customer, LifecycleTransition, Note, OwnerChange, Personnel,
};
use crate::auth::Principal;
use crate::conventions::JsonBody;
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"channel": "sms", "purpose": "marketing", "granted": false, "source": "phone_call", "evidence": "called on 1405-09-02 and asked to stop"}))]
pub struct ConsentRequest {
    pub channel: ConsentChannel,
    pub purpose: ConsentPurpose,
    pub granted: bool,
    /// How the customer said it, e.g. `web_form`, `phone_call`, `in_person`, `email`.
    pub source: String,
    /// Reference to the proof (form id, message id), at most 500 characters.
    #[serde(default)]
    pub evidence: Option<String>,
}

/// Record that a customer gave or withdrew consent.
///
/// Appends a grant (`granted: true`) or withdrawal to the customer's consent ledger for one
/// channel (SMS, e-mail, phone…) and purpose, with how it was given and a reference to the
/// proof. The latest event per channel and purpose is the current state; nothing in the
/// ledger is ever changed.
///
/// Needs `records:write`; the customer must be within the caller's record visibility (404
/// `not_found` otherwise, exactly as for a missing one). Audited as
/// `customer.consent.grant` or `customer.consent.withdraw`; safe to retry with an
/// `Idempotency-Key`.
///
/// Problems: 409 `conflict` when the customer's personal data was erased; 422
/// `validation_failed` for a `source` not 1 to 50 characters or an `evidence` over 500.
#[utoipa::path(
    tag = "customers",
    operation_id = "record_consent",
    params(("id" = Uuid, Path, description = "Customer id")),
    request_body = ConsentRequest,
    responses((status = 201, description = "Recorded", body = ConsentEvent))
)]
#[post("/api/v1/customers/{id}/consents")]
pub async fn record_consent(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<ConsentRequest>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsWrite)?;
    let customer = id.into_inner();
    let request = body.0;
    let acting = principal.0.clone();
    let input = ConsentInput {
        channel: request.channel,
        purpose: request.purpose,
        granted: request.granted,
        source: request.source,
        evidence: request.evidence,
    };
    let row = state
        .db(move |conn| Ok(privacy::record_consent(conn, &acting, customer, input)?))
        .await?;
    Ok(HttpResponse::Created().json(ConsentEvent::from(&row)))
}

/// List a customer's consents.
///
/// The current state per channel and purpose (absent means never asked, which is no
/// consent) and the full ledger, oldest first.
///
/// Needs `records:read`; the customer must be within the caller's record visibility (404
/// `not_found` otherwise, exactly as for a missing one).
#[utoipa::path(
    tag = "customers",
    operation_id = "list_consents",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, description = "Consents", body = Consents))
)]
#[get("/api/v1/customers/{id}/consents")]
pub async fn list_consents(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsRead)?;
    let customer = id.into_inner();
    let acting = principal.0.clone();
    let consents = state
        .db(move |conn| Ok(privacy::consents(conn, &acting, customer)?))
        .await?;
    Ok(HttpResponse::Ok().json(Consents::from_rows(&consents)))
}

/// Everything held about a person, machine-readable (data-subject access request).
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonalData {
    pub generated_at: DateTime<Utc>,
    pub customer: Customer,
    /// Customers merged into this one (directly or through a chain of merges): each
    /// keeps its own record, so an undo of the merge can bring it back.
    pub merged_customers: Vec<Customer>,
    /// Notes on the customer and on the merged customers.
    pub notes: Vec<Note>,
    pub personnel: Vec<Personnel>,
    pub consents: Consents,
    pub lifecycle_history: Vec<LifecycleTransition>,
    pub owner_history: Vec<OwnerChange>,
    /// Audit events about the customer and the merged customers (who changed what,
    /// when), each with the `customer_id` it is about.
    #[schema(value_type = Vec<Object>)]
    pub audit_events: Vec<serde_json::Value>,
    /// Orders of the customer and the merged customers, with their lines.
    pub orders: Vec<crate::routes::orders::Order>,
    /// Quotes of the deals with the customer and the merged customers.
    pub quotes: Vec<crate::routes::quotes::Quote>,
    /// Leads converted into the customer or the merged customers.
    pub leads: Vec<crate::routes::leads::Lead>,
    /// Tasks on the customer and the merged customers.
    pub tasks: Vec<crate::routes::tasks::Task>,
    /// Activities logged on the customer and the merged customers.
    pub activities: Vec<crate::routes::activities::Activity>,
    /// Service tickets of the customer and the merged customers, each with its whole
    /// conversation.
    pub tickets: Vec<TicketWithConversation>,
    /// Channel conversations (Telegram, WhatsApp, Instagram, SMS, e-mail, web chat) of the customer and
    /// the merged customers, each with its messages.
    pub conversations: Vec<ConversationWithMessages>,
    /// Messenger ids the customer is recognised by.
    pub contact_points: Vec<ContactPoint>,
    /// Chats started in the web chat widget as the customer, with what the visitor
    /// said about themselves.
    pub web_chat_visitors: Vec<WebChatVisitor>,
    /// Spells of the customer and the merged customers in segments, past and current.
    pub segment_memberships: Vec<crate::routes::segments::SegmentSpell>,
    /// Feedback about the customer and the merged customers: survey answers, reviews,
    /// marked texts, with their sentiment.
    pub feedback: Vec<crate::routes::feedback::Feedback>,
    /// Surveys sent to the customer and the merged customers (never a token).
    pub survey_invitations: Vec<crate::routes::feedback_surveys::SurveyInvitation>,
    /// Their SERVQUAL answers: per item the desired, adequate and perceived levels.
    pub servqual_answers: Vec<ServqualAnswer>,
    /// How much each expectation factor shaped their expectations (1–7).
    pub expectation_factors: Vec<FactorRating>,
    /// Behavioural events apps and devices sent about the customer and the merged
    /// customers, oldest first.
    pub behavioural_events: Vec<crate::routes::behavioural_events::BehaviouralEvent>,
    /// The loyalty ledger of the customer and the merged customers, oldest first.
    pub loyalty_entries: Vec<crate::routes::loyalty::LoyaltyEntry>,
    /// Workflow runs about the customer and the merged customers, each with its step
    /// log, oldest first.
    pub workflow_runs: Vec<crate::routes::workflows::WorkflowRunDetail>,
    /// Price experiments the customer and the merged customers took part in: the
    /// variant each was shown and when.
    pub price_exposures: Vec<PriceExposureRecord>,
    /// The referral codes of the customer and the merged customers.
    pub referral_codes: Vec<String>,
    /// The campaigns that reached the customer and the merged customers, or passed
    /// them over, oldest first.
    pub campaign_receipts: Vec<CampaignReceipt>,
    /// Where the data is held, place by place.
    pub held_in: DataPlaces,
}

/// A price experiment a customer took part in.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceExposureRecord {
    pub experiment_id: Uuid,
    pub customer_id: Uuid,
    /// The key of the variant (price point) shown.
    pub variant: String,
    pub exposed_at: DateTime<Utc>,
}

/// What a campaign did with a customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignReceipt {
    pub campaign_id: Uuid,
    pub customer_id: Uuid,
    /// `sent`, or why not: `no_consent`, `no_address`, `unsendable`.
    pub outcome: String,
    /// The message sent, while its conversation is kept.
    pub message_id: Option<Uuid>,
    pub sent_at: DateTime<Utc>,
    pub opened_at: Option<DateTime<Utc>>,
    pub clicked_at: Option<DateTime<Utc>>,
    pub clicks: i32,
}

/// One SERVQUAL item as the customer answered it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServqualAnswer {
    pub invitation_id: Uuid,
    pub survey_id: Uuid,
    pub item_key: String,
    pub dimension: String,
    pub desired: i32,
    pub adequate: i32,
    pub perceived: i32,
    pub answered_at: DateTime<Utc>,
}

/// How much one expectation factor shaped the customer's expectations.
#[derive(Debug, Serialize, ToSchema)]
pub struct FactorRating {
    pub invitation_id: Uuid,
    pub factor: String,
    pub rating: i32,
    pub answered_at: DateTime<Utc>,
}

/// A ticket with its messages and notes, its satisfaction surveys and its attachments,
/// oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketWithConversation {
    pub ticket: crate::routes::tickets::Ticket,
    pub messages: Vec<crate::routes::tickets::TicketMessage>,
    /// Its satisfaction surveys with their ratings and comments.
    pub surveys: Vec<crate::routes::surveys::TicketSurvey>,
    /// The files attached to it, described (download them one by one).
    pub attachments: Vec<crate::routes::ticket_attachments::TicketAttachment>,
}

/// A channel conversation with its messages, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationWithMessages {
    pub conversation: crate::routes::conversations::Conversation,
    pub messages: Vec<crate::routes::conversations::ConversationMessage>,
}

/// An address a customer is recognised by on a channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactPoint {
    pub kind: String,
    pub value: String,
}

/// A chat started in the web chat widget.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebChatVisitor {
    pub id: Uuid,
    pub channel_account_id: Uuid,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The conversation the visitor's messages went to, once they wrote.
    pub conversation_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// Export everything held about a customer.
///
/// The answer to a data-subject access request, machine-readable: the customer, the
/// customers merged into it, their notes, personnel links, consents, lifecycle and owner
/// history, audit events, orders, the quotes of their deals, converted leads, tasks,
/// activities, tickets with their conversation and the files attached to them (described,
/// not their content), and `held_in`: in how many records of each place their personal
/// data is held (what an erasure reaches).
///
/// Needs `privacy:manage` (admins); the customer must be within the caller's record
/// visibility (404 `not_found` otherwise, exactly as for a missing one). Reading changes
/// nothing. Problems: 409 `conflict` for a customer merged into another, naming the
/// customer that holds its data.
#[utoipa::path(
    tag = "customers",
    operation_id = "get_personal_data",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The customer's personal data", body = PersonalData),
        (status = 409, description = "The customer was merged into another", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[get("/api/v1/customers/{id}/personal-data")]
pub async fn get_personal_data(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::PrivacyManage)?;
    let customer = id.into_inner();
    let calendar = state.calendar().await?.local();
    let acting = principal.0.clone();
    let data = state
        .db(move |conn| Ok(privacy::personal_data(conn, &acting, customer)?))
        .await?;
    let data = PersonalData {
        generated_at: data.generated_at,
        customer: Customer::from_record(&data.record)?,
        merged_customers: data
            .merged
            .iter()
            .map(Customer::from_record)
            .collect::<ApiResult<_>>()?,
        notes: data.notes.iter().map(Note::from_row).collect::<ApiResult<_>>()?,
        personnel: data.personnel.iter().map(Personnel::from).collect(),
        consents: Consents::from_rows(&data.consents),
        lifecycle_history: data
            .history
            .transitions
            .iter()
            .map(LifecycleTransition::from)
            .collect(),
        owner_history: data
            .history
            .owner_changes
            .iter()
            .map(OwnerChange::from)
            .collect(),
        audit_events: data
            .audit_events
            .iter()
            .map(|(customer_id, e)| {
                serde_json::json!({
                    "customer_id": customer_id,
                    "occurred_at": e.occurred_at.0, "action": e.action,
                    "actor_id": e.actor_id.map(|id| id.0), "changes": e.changes.as_ref().map(|c| &c.0),
                })
            })
            .collect(),
        orders: data
            .orders
            .iter()
            .map(crate::routes::orders::Order::from_record)
            .collect::<ApiResult<_>>()?,
        quotes: data
            .quotes
            .iter()
            .map(crate::routes::quotes::Quote::from)
            .collect(),
        leads: data
            .leads
            .iter()
            .map(crate::routes::leads::Lead::from_row)
            .collect::<ApiResult<_>>()?,
        tasks: data
            .tasks
            .iter()
            .map(|row| crate::routes::tasks::Task::from_row(row, &calendar))
            .collect::<ApiResult<_>>()?,
        activities: data
            .activities
            .iter()
            .map(crate::routes::activities::Activity::from_row)
            .collect::<ApiResult<_>>()?,
        tickets: data
            .tickets
            .iter()
            .map(|(ticket, messages, surveys, attachments)| {
                Ok(TicketWithConversation {
                    ticket: crate::routes::tickets::Ticket::from_row(ticket)?,
                    messages: messages
                        .iter()
                        .map(crate::routes::tickets::TicketMessage::from)
                        .collect(),
                    surveys: surveys
                        .iter()
                        .map(crate::routes::surveys::TicketSurvey::from)
                        .collect(),
                    attachments: attachments
                        .iter()
                        .map(crate::routes::ticket_attachments::TicketAttachment::from)
                        .collect(),
                })
            })
            .collect::<ApiResult<_>>()?,
        conversations: data
            .conversations
            .iter()
            .map(|(conversation, messages)| {
                Ok(ConversationWithMessages {
                    conversation: crate::routes::conversations::Conversation::try_from(
                        conversation,
                    )?,
                    messages: messages
                        .iter()
                        .map(crate::routes::conversations::ConversationMessage::try_from)
                        .collect::<ApiResult<_>>()?,
                })
            })
            .collect::<ApiResult<_>>()?,
        contact_points: data
            .contact_points
            .into_iter()
            .map(|(kind, value)| ContactPoint { kind, value })
            .collect(),
        web_chat_visitors: data
            .web_chat_visitors
            .into_iter()
            .map(|row| WebChatVisitor {
                id: row.id.0,
                channel_account_id: row.channel_account_id.0,
                name: row.name,
                email: row.email,
                phone: row.phone,
                conversation_id: row.conversation_id.map(|id| id.0),
                created_at: row.created_at.0,
            })
            .collect(),
        segment_memberships: data
            .segment_memberships
            .iter()
            .map(crate::routes::segments::SegmentSpell::from)
            .collect(),
        feedback: data
            .feedback
            .iter()
            .map(crate::routes::feedback::Feedback::try_from)
            .collect::<Result<Vec<_>, _>>()?,
        survey_invitations: data
            .survey_invitations
            .iter()
            .map(crate::routes::feedback_surveys::SurveyInvitation::from)
            .collect(),
        servqual_answers: data
            .servqual_answers
            .into_iter()
            .map(|row| ServqualAnswer {
                invitation_id: row.invitation_id.0,
                survey_id: row.survey_id.0,
                item_key: row.item_key,
                dimension: row.dimension,
                desired: row.desired,
                adequate: row.adequate,
                perceived: row.perceived,
                answered_at: row.answered_at.0,
            })
            .collect(),
        expectation_factors: data
            .factor_ratings
            .into_iter()
            .map(|row| FactorRating {
                invitation_id: row.invitation_id.0,
                factor: row.factor,
                rating: row.rating,
                answered_at: row.answered_at.0,
            })
            .collect(),
        behavioural_events: data
            .behavioural_events
            .iter()
            .map(crate::routes::behavioural_events::BehaviouralEvent::from)
            .collect(),
        loyalty_entries: data
            .loyalty_entries
            .iter()
            .map(crate::routes::loyalty::LoyaltyEntry::try_from)
            .collect::<Result<Vec<_>, _>>()?,
        workflow_runs: data
            .workflow_runs
            .iter()
            .map(|(run, steps)| crate::routes::workflows::WorkflowRunDetail::of(run, steps))
            .collect::<Result<Vec<_>, _>>()?,
        price_exposures: data
            .price_exposures
            .iter()
            .map(|row| PriceExposureRecord {
                experiment_id: row.experiment_id.0,
                customer_id: row.customer_id.0,
                variant: row.variant_key.clone(),
                exposed_at: row.exposed_at.0,
            })
            .collect(),
        referral_codes: data.referral_codes.into_iter().map(|row| row.code).collect(),
        campaign_receipts: data
            .campaign_receipts
            .into_iter()
            .map(|row| CampaignReceipt {
                campaign_id: row.campaign_id.0,
                customer_id: row.customer_id.0,
                outcome: row.outcome,
                message_id: row.message_id.map(|id| id.0),
                sent_at: row.sent_at.0,
                opened_at: row.opened_at.map(|at| at.0),
                clicked_at: row.clicked_at.map(|at| at.0),
                clicks: row.clicks,
            })
            .collect(),
        held_in: data.held_in,
    };
    Ok(HttpResponse::Ok().json(data))
}

/// An erasure as performed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Erasure {
    /// The anonymised customer.
    pub customer: Customer,
    /// What was erased, redacted, withdrawn or deleted, place by place.
    pub erased: DataPlaces,
    /// SQLite only (absent on PostgreSQL): whether the write-ahead log, which still held
    /// earlier versions of the erased data, was copied into the database and truncated.
    /// `false` when a long-running reader kept it; the next checkpoint does it then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_truncated: Option<bool>,
}

/// Erase a customer's personal data by anonymisation. Irreversible.
///
/// In one transaction: the customer and every customer merged into it (directly or through
/// a chain of merges) are anonymised; their notes' text, consent evidence and audit changes
/// are redacted (the audit chain still verifies); merge records involving them lose the
/// documents kept for an undo; stored idempotent responses naming them are withdrawn (a
/// replay answers 410 `gone`); export files holding them are deleted (a download answers
/// 410); their model scores are removed; the leads converted into them are deleted. What is not personal (lifecycle, owner, acquisition, counts) stays. `erased`
/// counts what was done in each place.
///
/// Needs `privacy:manage` (admins); the customer must be within the caller's record
/// visibility (404 `not_found` otherwise, exactly as for a missing one). Audited as
/// `customer.erase`. Problems: 409 `conflict` when the customer was already erased, or was
/// merged into another (naming the customer that holds its data).
#[utoipa::path(
    tag = "customers",
    operation_id = "erase_customer",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The anonymised customer and what was erased where", body = Erasure),
        (status = 409, description = "Already erased, or merged into another customer", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/customers/{id}/erasure")]
pub async fn erase_customer(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::PrivacyManage)?;
    let customer = id.into_inner();
    let acting = principal.0.clone();
    let erasure = state
        .db(move |conn| Ok(privacy::erase(conn, &acting, customer)?))
        .await?;
    Ok(HttpResponse::Ok().json(Erasure {
        customer: Customer::from_record(&erasure.record)?,
        erased: erasure.erased,
        log_truncated: erasure.log_truncated,
    }))
}
