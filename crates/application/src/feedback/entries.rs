//! Feedback in one place: a caller records a review, a note of what a customer said,
//! or marks a customer's message, ticket message or note as feedback; survey answers
//! and ticket satisfaction answers arrive through [`record`]. Every text is scored for
//! sentiment when it is written (so that reports are sums). Negative feedback — a score
//! at or below the policy's bound, or without a score a negative text with enough
//! confidence — is marked, is a `feedback.negative` event, and by the business's policy
//! reopens the resolved ticket it concerns or becomes a follow-up task for the
//! customer's owner, in the same transaction.

use chrono::Duration;
use domain::authz::Permission;
use domain::feedback::entries::{
    FeedbackPolicy, FeedbackSource, Metric, NegativeFeedbackAction, NewFeedbackInput,
};
use domain::sales::tasks::{Subject, SubjectType, TaskKind};
use domain::service::tickets::MessageKind;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::events::NewEvent;
use persistence::feedback::{FeedbackFilter, FeedbackRow};
use persistence::sql_types::{DbTime, DbUuid};
use persistence::PersistenceError;
use serde_json::json;
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::paging::{created_after, Cursor};
use crate::transaction;

/// What a follow-up did, as stored on the feedback.
pub const TASK_CREATED: &str = "task_created";
pub const TICKET_REOPENED: &str = "ticket_reopened";

/// A new piece of feedback before its sentiment and negativity are known.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub customer_id: Uuid,
    pub source: FeedbackSource,
    pub score: Option<(Metric, i32)>,
    pub body: Option<String>,
    pub product_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub channel: Option<String>,
    pub ticket_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
    pub note_id: Option<Uuid>,
    pub ticket_message_id: Option<Uuid>,
    pub ticket_survey_id: Option<Uuid>,
    pub survey_id: Option<Uuid>,
    pub invitation_id: Option<Uuid>,
    pub question_key: Option<String>,
}

impl Draft {
    pub(crate) fn new(customer_id: Uuid, source: FeedbackSource) -> Draft {
        Draft {
            customer_id,
            source,
            score: None,
            body: None,
            product_id: None,
            agent_id: None,
            team_id: None,
            channel: None,
            ticket_id: None,
            message_id: None,
            note_id: None,
            ticket_message_id: None,
            ticket_survey_id: None,
            survey_id: None,
            invitation_id: None,
            question_key: None,
        }
    }
}

/// What [`record`] does about negative feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FollowUp {
    /// As the business's feedback policy says.
    ByPolicy,
    /// Only the mark and the event: something else (a ticket's SLA policy) already
    /// decided what a low rating does.
    Decided,
}

/// Stores `draft` with its sentiment and negativity, appends its events, and follows
/// negative feedback up as `follow_up` says; inside the caller's transaction.
pub(crate) fn record(
    conn: &mut DbConnection,
    acting: &Acting,
    draft: Draft,
    policy: &FeedbackPolicy,
    follow_up: FollowUp,
) -> AppResult<FeedbackRow> {
    let sentiment = draft.body.as_deref().map(analytics::sentiment::analyze);
    let negative = policy.is_negative(draft.score, sentiment.map(|s| (s.label, s.confidence)));
    let now = persistence::now();
    let mut row = FeedbackRow {
        id: DbUuid(Uuid::now_v7()),
        customer_id: DbUuid(draft.customer_id),
        source: draft.source.as_str().to_string(),
        metric: draft.score.map(|(metric, _)| metric.as_str().to_string()),
        score: draft.score.map(|(_, score)| score),
        body: draft.body,
        sentiment_score: sentiment.map(|s| s.score),
        sentiment_label: sentiment.map(|s| s.label.as_str().to_string()),
        sentiment_confidence: sentiment.map(|s| s.confidence),
        product_id: draft.product_id.map(DbUuid),
        agent_id: draft.agent_id.map(DbUuid),
        team_id: draft.team_id.map(DbUuid),
        channel: draft.channel,
        ticket_id: draft.ticket_id.map(DbUuid),
        message_id: draft.message_id.map(DbUuid),
        note_id: draft.note_id.map(DbUuid),
        ticket_message_id: draft.ticket_message_id.map(DbUuid),
        ticket_survey_id: draft.ticket_survey_id.map(DbUuid),
        survey_id: draft.survey_id.map(DbUuid),
        invitation_id: draft.invitation_id.map(DbUuid),
        question_key: draft.question_key,
        negative,
        follow_up: None,
        task_id: None,
        created_by: acting.user_id.map(DbUuid),
        created_at: DbTime(now),
    };
    persistence::feedback::insert(conn, &row).map_err(|err| match err {
        PersistenceError::Conflict(_) => AppError::field(
            "source",
            "already_marked",
            "this text is already recorded as feedback",
        ),
        other => other.into(),
    })?;
    let payload = json!({
        "feedback_id": row.id.0,
        "customer_id": row.customer_id.0,
        "source": row.source,
        "metric": row.metric,
        "score": row.score,
        "sentiment": row.sentiment_label,
        "product_id": row.product_id.map(|id| id.0),
        "agent_id": row.agent_id.map(|id| id.0),
        "ticket_id": row.ticket_id.map(|id| id.0),
    });
    let mut events = vec![NewEvent::new(
        "feedback.received",
        "feedback",
        row.id.0,
        payload.clone(),
        now,
    )];
    if negative {
        events.push(NewEvent::new(
            "feedback.negative",
            "feedback",
            row.id.0,
            payload,
            now,
        ));
    }
    crate::events::publish(conn, acting, &events)?;
    if negative && follow_up == FollowUp::ByPolicy && policy.action == NegativeFeedbackAction::Task
    {
        let (done, task) = follow_negative_up(conn, acting, &row, policy)?;
        if let Some(done) = done {
            persistence::feedback::set_follow_up(conn, row.id.0, done, task)?;
            row.follow_up = Some(done.to_string());
            row.task_id = task.map(DbUuid);
        }
    }
    Ok(row)
}

/// Reopens the resolved or closed ticket negative feedback concerns, or else makes a
/// follow-up task for the customer's owner and team, due after the policy's hours.
fn follow_negative_up(
    conn: &mut DbConnection,
    acting: &Acting,
    row: &FeedbackRow,
    policy: &FeedbackPolicy,
) -> AppResult<(Option<&'static str>, Option<Uuid>)> {
    if let Some(ticket) = row.ticket_id {
        let reason = match row.score {
            Some(score) => format!(
                "negative feedback: {} {score}",
                row.metric.as_deref().unwrap_or("")
            ),
            None => "negative feedback".to_string(),
        };
        if crate::service::tickets::reopen(conn, acting, ticket.0, &reason)? {
            return Ok((Some(TICKET_REOPENED), None));
        }
    }
    let customer = persistence::customers::find(conn, row.customer_id.0)?.row;
    let title = match acting.lang {
        Lang::Fa => format!("پیگیری بازخورد منفی {}", customer.display_name),
        Lang::En => format!("Follow up negative feedback from {}", customer.display_name),
    };
    let task = crate::sales::tasks::create_follow_up(
        conn,
        acting,
        crate::sales::tasks::FollowUpTask {
            kind: TaskKind::FollowUp,
            title,
            subject: Subject {
                kind: SubjectType::Customer,
                id: customer.id.0,
            },
            assignee_id: customer.owner_id.map(|id| id.0),
            team_id: customer.team_id.map(|id| id.0),
            due_at: row.created_at.0 + Duration::hours(policy.task_due_hours),
        },
    )?;
    Ok((Some(TASK_CREATED), Some(task.id.0)))
}

/// A violation when a reference does not exist (or is not the caller's to see).
fn missing(field: &str, what: &str) -> AppError {
    AppError::field(field, "not_found", format!("no such {what}"))
}

fn not_found_as(err: AppError, field: &str, what: &str) -> AppError {
    match err {
        AppError::NotFound => missing(field, what),
        other => other,
    }
}

/// Records feedback a caller gives (`records:write`): a review, what a customer said
/// elsewhere, or a customer's message, ticket message or note marked as feedback —
/// each about a customer the caller sees. Audited as `feedback.create`.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: NewFeedbackInput,
) -> AppResult<FeedbackRow> {
    acting.require(Permission::RecordsWrite)?;
    let input = input.validated().map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        let policy = crate::settings::current(conn)?.0.feedback;
        let mut draft = match input.source {
            FeedbackSource::Message => {
                let id = input.message_id.unwrap_or_default();
                let message = persistence::conversations::find_message(conn, id)
                    .map_err(|err| not_found_as(err.into(), "message_id", "message"))?;
                let customer = message
                    .customer_id
                    .filter(|_| message.direction == "inbound")
                    .ok_or_else(|| {
                        AppError::field(
                            "message_id",
                            "not_from_customer",
                            "only a customer's own message is feedback",
                        )
                    })?;
                crate::customers::visible(conn, acting, customer.0)
                    .map_err(|err| not_found_as(err, "message_id", "message"))?;
                let mut draft = Draft::new(customer.0, FeedbackSource::Message);
                draft.body = Some(message.body);
                draft.channel = Some(message.channel);
                draft.message_id = Some(id);
                draft
            }
            FeedbackSource::TicketMessage => {
                let id = input.ticket_message_id.unwrap_or_default();
                let message = persistence::tickets::find_message(conn, id).map_err(|err| {
                    not_found_as(err.into(), "ticket_message_id", "ticket message")
                })?;
                let ticket = crate::service::tickets::visible(conn, acting, message.ticket_id.0)
                    .map_err(|err| not_found_as(err, "ticket_message_id", "ticket message"))?;
                if message.kind != MessageKind::Customer.as_str() {
                    return Err(AppError::field(
                        "ticket_message_id",
                        "not_from_customer",
                        "only the customer's words on a ticket are feedback",
                    ));
                }
                let mut draft = Draft::new(ticket.customer_id.0, FeedbackSource::TicketMessage);
                draft.body = Some(message.body);
                draft.channel = Some(ticket.channel.clone());
                draft.ticket_id = Some(ticket.id.0);
                draft.agent_id = ticket.owner_id.map(|id| id.0);
                draft.team_id = ticket.team_id.map(|id| id.0);
                draft.ticket_message_id = Some(id);
                draft
            }
            FeedbackSource::Note => {
                let id = input.note_id.unwrap_or_default();
                let note = persistence::notes::find_by_id(conn, id)
                    .map_err(|err| not_found_as(err.into(), "note_id", "note"))?;
                crate::customers::visible(conn, acting, note.customer_id.0)
                    .map_err(|err| not_found_as(err, "note_id", "note"))?;
                let mut draft = Draft::new(note.customer_id.0, FeedbackSource::Note);
                draft.body = Some(note.body);
                draft.note_id = Some(id);
                draft
            }
            source => {
                let customer = input.customer_id.unwrap_or_default();
                crate::customers::visible(conn, acting, customer)
                    .map_err(|err| not_found_as(err, "customer_id", "customer"))?;
                let mut draft = Draft::new(customer, source);
                draft.body = input.text.clone();
                draft
            }
        };
        if let (Some(metric), Some(score)) = (input.metric, input.score) {
            draft.score = Some((metric, score));
        }
        if let Some(product) = input.product_id {
            persistence::products::find(conn, product)
                .map_err(|err| not_found_as(err.into(), "product_id", "product"))?;
            draft.product_id = Some(product);
        }
        if let Some(agent) = input.agent_id {
            let user = persistence::users::find(conn, agent)
                .map_err(|err| not_found_as(err.into(), "agent_id", "user"))?;
            draft.agent_id = Some(agent);
            draft.team_id = draft.team_id.or(user.team_id.map(|id| id.0));
        }
        if let Some(ticket) = input.ticket_id {
            let ticket = crate::service::tickets::visible(conn, acting, ticket)
                .map_err(|err| not_found_as(err, "ticket_id", "ticket"))?;
            if ticket.customer_id.0 != draft.customer_id {
                return Err(AppError::field(
                    "ticket_id",
                    "other_customer",
                    "the ticket is another customer's",
                ));
            }
            draft.ticket_id = Some(ticket.id.0);
        }
        if input.channel.is_some() {
            draft.channel = input.channel.clone();
        }
        let row = record(conn, acting, draft, &policy, FollowUp::ByPolicy)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "feedback.create",
            "feedback",
            row.id.0,
            &json!({}),
            &audit_snapshot(&row),
        )?;
        Ok(row)
    })
}

/// What the audit log keeps of feedback: never its words (personal data).
fn audit_snapshot(row: &FeedbackRow) -> serde_json::Value {
    json!({
        "customer_id": row.customer_id.0,
        "source": row.source,
        "metric": row.metric,
        "score": row.score,
        "negative": row.negative,
        "follow_up": row.follow_up,
    })
}

/// A ticket's satisfaction answer as feedback: its SLA policy already decided what a
/// low rating does, so only the mark and the events follow.
#[allow(clippy::too_many_arguments)]
pub(crate) fn record_ticket_survey(
    conn: &mut DbConnection,
    acting: &Acting,
    ticket: &persistence::tickets::TicketRow,
    survey: Uuid,
    agent: Option<Uuid>,
    rating: i32,
    comment: Option<String>,
    follow_up: Option<&str>,
) -> AppResult<()> {
    let policy = crate::settings::current(conn)?.0.feedback;
    let mut draft = Draft::new(ticket.customer_id.0, FeedbackSource::TicketSurvey);
    draft.score = Some((Metric::Csat, rating));
    draft.body = comment;
    draft.agent_id = agent;
    draft.team_id = ticket.team_id.map(|id| id.0);
    draft.channel = Some(ticket.channel.clone());
    draft.ticket_id = Some(ticket.id.0);
    draft.ticket_survey_id = Some(survey);
    let row = record(conn, acting, draft, &policy, FollowUp::Decided)?;
    if let Some(done) = follow_up {
        persistence::feedback::set_follow_up(conn, row.id.0, done, None)?;
    }
    Ok(())
}

/// Feedback about a customer the caller sees (`records:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<FeedbackRow> {
    acting.require(Permission::RecordsRead)?;
    let row = persistence::feedback::find(conn, id)?;
    crate::customers::visible(conn, acting, row.customer_id.0)?;
    Ok(row)
}

/// A page of feedback about customers the caller sees (`records:read`), in creation
/// order.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    filter: &FeedbackFilter,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<FeedbackRow>> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::feedback::list(
        conn,
        filter,
        &acting.scope(),
        created_after(cursor)?,
        limit,
    )?)
}

/// Deletes feedback recorded by mistake (`crm:configure`); the marked message, note or
/// survey answer itself stays.
pub fn delete(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let row = persistence::feedback::find(conn, id)?;
        crate::customers::visible(conn, acting, row.customer_id.0)?;
        persistence::feedback::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "feedback.delete",
            "feedback",
            id,
            &audit_snapshot(&row),
            &json!({}),
        )?;
        Ok(())
    })
}
