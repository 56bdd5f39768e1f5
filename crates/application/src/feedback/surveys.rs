//! Surveys: the definitions (`records:write` to write, `crm:configure` to delete),
//! invitations — a random token per customer, stored as its SHA-256, whose link is
//! returned or sent in a message through a channel account — held back by the throttle
//! (no customer is sent another survey within the business's `survey_throttle_days`)
//! and by a withdrawn `surveys` consent on the channel, and the public side: the
//! questions behind a link and the answer, stored once by an `UPDATE` that requires the
//! invitation unanswered and unexpired, each scored question a piece of feedback.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use domain::authz::Permission;
use domain::customers::ConsentPurpose;
use domain::feedback::entries::FeedbackSource;
use domain::feedback::surveys::{
    check_answers, invitation_text, Answer, ClosedLink, InviteInput, SurveyInput, SurveyQuestion,
    SurveyResponseInput, MAX_SEGMENT_INVITEES,
};
use domain::omnichannel::accounts::ChannelKind;
use domain::omnichannel::conversations::NewConversationInput;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::feedback::FeedbackRow;
use persistence::feedback_surveys::{FactorRatingRow, InvitationRow, ServqualAnswerRow, SurveyRow};
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use persistence::PersistenceError;
use serde_json::json;
use uuid::Uuid;

use super::entries::{record, Draft, FollowUp};
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::paging::{created_after, Cursor};
use crate::precondition::Precondition;
use crate::transaction;

/// The document a merge patch of a survey applies to.
pub fn survey_input(row: &SurveyRow) -> AppResult<SurveyInput> {
    Ok(SurveyInput {
        name: row.name.clone(),
        questions: questions_of(row)?,
        active: row.active,
        valid_days: row.valid_days,
    })
}

pub fn questions_of(row: &SurveyRow) -> AppResult<Vec<SurveyQuestion>> {
    serde_json::from_value(row.questions.0.clone())
        .map_err(|err| AppError::Internal(format!("stored survey questions: {err}")))
}

fn questions_json(questions: &[SurveyQuestion]) -> AppResult<DbJson> {
    serde_json::to_value(questions)
        .map(DbJson)
        .map_err(|err| AppError::Internal(format!("survey questions: {err}")))
}

fn name_taken(err: PersistenceError) -> AppError {
    match err {
        PersistenceError::Conflict(_) => {
            AppError::field("name", "already_exists", "another survey has this name")
        }
        other => other.into(),
    }
}

/// Adds a survey (`records:write`).
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: SurveyInput,
) -> AppResult<SurveyRow> {
    acting.require(Permission::RecordsWrite)?;
    let input = input.validated().map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        let now = DbTime(persistence::now());
        let row = SurveyRow {
            id: DbUuid(Uuid::now_v7()),
            name: input.name,
            questions: questions_json(&input.questions)?,
            active: input.active,
            valid_days: input.valid_days,
            created_by: acting.user_id.map(DbUuid),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        persistence::feedback_surveys::insert(conn, &row).map_err(name_taken)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "feedback_survey.create",
            "feedback_survey",
            row.id.0,
            &json!({}),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// A survey (`records:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<SurveyRow> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::feedback_surveys::find(conn, id)?)
}

/// A page of surveys in creation order (`records:read`).
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    active: Option<bool>,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<SurveyRow>> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::feedback_surveys::list(
        conn,
        active,
        created_after(cursor)?,
        limit,
    )?)
}

/// Changes a survey (`records:write`); answers already given keep the questions they
/// answered (their feedback rows name the question key).
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&SurveyInput) -> AppResult<SurveyInput>,
) -> AppResult<SurveyRow> {
    acting.require(Permission::RecordsWrite)?;
    let current = persistence::feedback_surveys::find(conn, id)?;
    precondition.check(id, current.version)?;
    let after = edit(&survey_input(&current)?)?
        .validated()
        .map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        let row = SurveyRow {
            name: after.name,
            questions: questions_json(&after.questions)?,
            active: after.active,
            valid_days: after.valid_days,
            ..current.clone()
        };
        let row = persistence::feedback_surveys::update(conn, &row).map_err(name_taken)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "feedback_survey.update",
            "feedback_survey",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// Deletes a survey and its open links (`crm:configure`); feedback already given stays.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::feedback_surveys::find(conn, id)?;
        precondition.check(id, current.version)?;
        persistence::feedback_surveys::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "feedback_survey.delete",
            "feedback_survey",
            id,
            &current.audit_snapshot(),
            &json!({}),
        )?;
        Ok(())
    })
}

/// What became of one customer of an invitation request.
#[derive(Debug, Clone, PartialEq)]
pub enum Invited {
    /// Sent: the invitation, its token (shown this once) and, through a channel, the
    /// message that carries it.
    Sent {
        invitation: Box<InvitationRow>,
        token: String,
        message_id: Option<Uuid>,
        message_status: Option<String>,
    },
    /// Sent a survey on `last` already, within the throttle's days.
    Throttled { last: DateTime<Utc> },
    /// Withdrew consent to surveys on the channel.
    NoConsent,
    /// The channel could not carry it (no address on it, a refused message): the
    /// violation says why.
    Unreachable { code: String, message: String },
    /// Not a customer the caller sees.
    NotFound,
}

/// Sends survey `id` to customers (`records:write`), each as the throttle, their
/// consent and their addresses allow, in one transaction; one outcome per customer in
/// the order given. Audited as `feedback_survey.invite` with the counts.
pub fn invite(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    input: InviteInput,
) -> AppResult<Vec<(Uuid, Invited)>> {
    acting.require(Permission::RecordsWrite)?;
    let input = input.validated().map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        let survey = persistence::feedback_surveys::find(conn, id)?;
        if !survey.active {
            return Err(AppError::Conflict("the survey is not active".into()));
        }
        let policy = crate::settings::current(conn)?.0.feedback;
        let account = match input.channel_account_id {
            Some(account) => Some(persistence::channel_accounts::find(conn, account).map_err(
                |err| match err {
                    PersistenceError::NotFound => AppError::field(
                        "channel_account_id",
                        "not_found",
                        "no such channel account",
                    ),
                    other => other.into(),
                },
            )?),
            None => None,
        };
        let kind = match &account {
            Some(account) => Some(ChannelKind::parse(&account.kind).ok_or_else(|| {
                AppError::Internal(format!("stored channel kind {:?}", account.kind))
            })?),
            None => None,
        };
        if let Some(product) = input.product_id {
            persistence::products::find(conn, product).map_err(|err| match err {
                PersistenceError::NotFound => {
                    AppError::field("product_id", "not_found", "no such product")
                }
                other => other.into(),
            })?;
        }
        if let Some(agent) = input.agent_id {
            persistence::users::find(conn, agent).map_err(|err| match err {
                PersistenceError::NotFound => {
                    AppError::field("agent_id", "not_found", "no such user")
                }
                other => other.into(),
            })?;
        }
        if let Some(ticket) = input.ticket_id {
            crate::service::tickets::visible(conn, acting, ticket).map_err(|err| match err {
                AppError::NotFound => AppError::field("ticket_id", "not_found", "no such ticket"),
                other => other,
            })?;
        }
        let now = persistence::now();
        let customers = match input.segment_id {
            Some(segment) => segment_members(conn, acting, segment)?,
            None => input.customer_ids.clone(),
        };
        let visible: HashSet<Uuid> =
            persistence::customers::search::visible_ids(conn, &customers, &acting.scope())?
                .into_iter()
                .collect();
        let seen: Vec<Uuid> = customers
            .iter()
            .copied()
            .filter(|customer| visible.contains(customer))
            .collect();
        let throttled = if policy.survey_throttle_days > 0 {
            let since = now - Duration::days(policy.survey_throttle_days);
            persistence::feedback_surveys::invited_since(conn, &seen, since)?
        } else {
            HashMap::new()
        };
        let refused: HashSet<Uuid> = match kind {
            Some(kind) => persistence::consents::refused_among(
                conn,
                &seen,
                kind.consent_channel().as_str(),
                ConsentPurpose::Surveys.as_str(),
            )?
            .into_iter()
            .collect(),
            None => HashSet::new(),
        };
        let mut outcomes = Vec::with_capacity(customers.len());
        for customer in customers {
            let outcome = if !visible.contains(&customer) {
                Invited::NotFound
            } else if let Some(last) = throttled.get(&customer) {
                Invited::Throttled { last: *last }
            } else if refused.contains(&customer) {
                Invited::NoConsent
            } else {
                send_invitation(conn, acting, &survey, customer, &input, kind, now)?
            };
            outcomes.push((customer, outcome));
        }
        let sent = outcomes
            .iter()
            .filter(|(_, outcome)| matches!(outcome, Invited::Sent { .. }))
            .count();
        audit::record(
            conn,
            &acting.audit_actor(),
            audit::NewAuditEvent {
                action: "feedback_survey.invite",
                resource_type: "feedback_survey",
                resource_id: Some(survey.id.0.to_string()),
                changes: Some(json!({
                    "requested": outcomes.len(),
                    "sent": sent,
                    "delivery": kind.map_or("link", |kind| kind.as_str()),
                })),
            },
        )?;
        Ok(outcomes)
    })
}

/// The current members of `segment` the caller sees, in customer-id order: 422 when
/// there is no such segment or it has more than [`MAX_SEGMENT_INVITEES`].
fn segment_members(
    conn: &mut DbConnection,
    acting: &Acting,
    segment: Uuid,
) -> AppResult<Vec<Uuid>> {
    persistence::segments::find(conn, segment).map_err(|err| match err {
        PersistenceError::NotFound => AppError::field("segment_id", "not_found", "no such segment"),
        other => other.into(),
    })?;
    let limit = i64::try_from(MAX_SEGMENT_INVITEES + 1).unwrap_or(i64::MAX);
    let members: Vec<Uuid> =
        persistence::segments::members(conn, segment, &acting.scope(), None, limit)?
            .into_iter()
            .map(|spell| spell.customer_id.0)
            .collect();
    if members.len() > MAX_SEGMENT_INVITEES {
        return Err(AppError::field(
            "segment_id",
            "too_large",
            format!(
                "the segment has more than {MAX_SEGMENT_INVITEES} members; invite a smaller one"
            ),
        ));
    }
    Ok(members)
}

/// Writes one customer's invitation and, through a channel, sends its message; a
/// message the channel cannot carry leaves nothing written for the customer.
fn send_invitation(
    conn: &mut DbConnection,
    acting: &Acting,
    survey: &SurveyRow,
    customer: Uuid,
    input: &InviteInput,
    kind: Option<ChannelKind>,
    now: DateTime<Utc>,
) -> AppResult<Invited> {
    let token = crate::accounts::random_token(32);
    let mut invitation = InvitationRow {
        id: DbUuid(Uuid::now_v7()),
        survey_id: survey.id,
        customer_id: DbUuid(customer),
        token_hash: crate::accounts::sha256_hex(&token),
        delivery: kind.map_or("link", |kind| kind.as_str()).to_string(),
        message_id: None,
        product_id: input.product_id.map(DbUuid),
        agent_id: input.agent_id.map(DbUuid),
        ticket_id: input.ticket_id.map(DbUuid),
        created_by: acting.user_id.map(DbUuid),
        created_at: DbTime(now),
        expires_at: DbTime(now + Duration::days(i64::from(survey.valid_days))),
        answered_at: None,
    };
    let (mut message_id, mut message_status) = (None, None);
    if let (Some(kind), Some(account)) = (kind, input.channel_account_id) {
        let sent = crate::omnichannel::outbound::start(
            conn,
            acting,
            NewConversationInput {
                channel_account_id: account,
                customer_id: customer,
                to: None,
                subject: (kind == ChannelKind::Email).then(|| survey.name.clone()),
                body: Some(invitation_text(&survey.name, &token, survey.valid_days)),
                template_id: None,
                language: None,
            },
        );
        match sent {
            Ok((_, message)) => {
                if message.status == "refused" {
                    return Ok(Invited::Unreachable {
                        code: "refused".into(),
                        message: message.error.unwrap_or_default(),
                    });
                }
                message_id = Some(message.id.0);
                message_status = Some(message.status);
            }
            Err(AppError::Invalid(violations)) => {
                let first = violations.into_iter().next();
                return Ok(Invited::Unreachable {
                    code: first
                        .as_ref()
                        .map_or("unreachable".into(), |v| v.code.clone()),
                    message: first.map_or(String::new(), |v| v.message),
                });
            }
            Err(other) => return Err(other),
        }
        invitation.message_id = message_id.map(DbUuid);
    }
    persistence::feedback_surveys::insert_invitation(conn, &invitation)?;
    Ok(Invited::Sent {
        invitation: Box::new(invitation),
        token,
        message_id,
        message_status,
    })
}

/// A page of a survey's invitations to customers the caller sees (`records:read`).
pub fn invitations(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    customer: Option<Uuid>,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<InvitationRow>> {
    acting.require(Permission::RecordsRead)?;
    persistence::feedback_surveys::find(conn, id)?;
    if let Some(customer) = customer {
        crate::customers::visible(conn, acting, customer)?;
    }
    Ok(persistence::feedback_surveys::invitations_of_survey(
        conn,
        id,
        customer,
        &acting.scope(),
        created_after(cursor)?,
        limit,
    )?)
}

/// What the customer sees behind a link.
pub struct PublicSurvey {
    pub name: String,
    pub questions: Vec<SurveyQuestion>,
    pub expires_at: DateTime<Utc>,
}

/// The invitation of `token` if it may still be answered at `now`: an unknown token is
/// not found, an answered or expired one gone.
fn open_invitation(
    conn: &mut DbConnection,
    token: &str,
    now: DateTime<Utc>,
) -> AppResult<InvitationRow> {
    let invitation = persistence::feedback_surveys::invitation_by_token(
        conn,
        &crate::accounts::sha256_hex(token),
    )?;
    match ClosedLink::of(
        invitation.answered_at.is_some(),
        invitation.expires_at.0,
        now,
    ) {
        Some(closed) => Err(closed.into()),
        None => Ok(invitation),
    }
}

/// The survey behind a link (no account needed): its name and questions only.
pub fn view(conn: &mut DbConnection, token: &str) -> AppResult<PublicSurvey> {
    let invitation = open_invitation(conn, token, persistence::now())?;
    let survey = persistence::feedback_surveys::find(conn, invitation.survey_id.0)?;
    Ok(PublicSurvey {
        name: survey.name.clone(),
        questions: questions_of(&survey)?,
        expires_at: invitation.expires_at.0,
    })
}

/// The customer's answer through a link (no account needed): checked against the
/// survey's questions, stored once — each scored or text question a piece of feedback
/// (negative feedback followed up by the policy), the SERVQUAL items and expectation
/// factors in their tables — and audited as `feedback_survey.answer` by the system
/// with the scores but not the words.
pub fn answer(
    conn: &mut DbConnection,
    token: &str,
    input: SurveyResponseInput,
    lang: Lang,
) -> AppResult<Vec<FeedbackRow>> {
    let acting = Acting::system(lang);
    transaction(conn, |conn| {
        let now = persistence::now();
        let invitation = open_invitation(conn, token, now)?;
        let survey = persistence::feedback_surveys::find(conn, invitation.survey_id.0)?;
        let answers = check_answers(&questions_of(&survey)?, input).map_err(AppError::Invalid)?;
        if !persistence::feedback_surveys::mark_answered(conn, invitation.id.0, now)? {
            return Err(AppError::Gone(
                "this survey was already answered or has expired".into(),
            ));
        }
        let policy = crate::settings::current(conn)?.0.feedback;
        let channel = (invitation.delivery != "link").then(|| invitation.delivery.clone());
        let ticket = match invitation.ticket_id {
            Some(id) => Some(persistence::tickets::find(conn, id.0)?),
            None => None,
        };
        let mut stored = Vec::new();
        let mut scores = BTreeMap::new();
        for (key, answer) in answers {
            let draft = |score, body| {
                let mut draft = Draft::new(invitation.customer_id.0, FeedbackSource::Survey);
                draft.score = score;
                draft.body = body;
                draft.product_id = invitation.product_id.map(|id| id.0);
                draft.agent_id = invitation.agent_id.map(|id| id.0);
                draft.team_id = ticket.as_ref().and_then(|t| t.team_id.map(|id| id.0));
                draft.channel = channel.clone();
                draft.ticket_id = invitation.ticket_id.map(|id| id.0);
                draft.survey_id = Some(survey.id.0);
                draft.invitation_id = Some(invitation.id.0);
                draft.question_key = Some(key.clone());
                draft
            };
            match answer {
                Answer::Score(metric, score) => {
                    scores.insert(key.clone(), json!(score));
                    stored.push(record(
                        conn,
                        &acting,
                        draft(Some((metric, score)), None),
                        &policy,
                        FollowUp::ByPolicy,
                    )?);
                }
                Answer::Text(text) => {
                    stored.push(record(
                        conn,
                        &acting,
                        draft(None, Some(text)),
                        &policy,
                        FollowUp::ByPolicy,
                    )?);
                }
                Answer::Servqual(items) => {
                    scores.insert(key.clone(), json!(items.len()));
                    let rows: Vec<ServqualAnswerRow> = items
                        .into_iter()
                        .map(|item| ServqualAnswerRow {
                            id: DbUuid(Uuid::now_v7()),
                            invitation_id: invitation.id,
                            survey_id: survey.id,
                            customer_id: invitation.customer_id,
                            item_key: item.key,
                            dimension: item.dimension.as_str().to_string(),
                            desired: item.answer.desired,
                            adequate: item.answer.adequate,
                            perceived: item.answer.perceived,
                            answered_at: DbTime(now),
                        })
                        .collect();
                    persistence::feedback_surveys::insert_servqual(conn, &rows)?;
                }
                Answer::Factors(factors) => {
                    let rows: Vec<FactorRatingRow> = factors
                        .into_iter()
                        .map(|(factor, rating)| FactorRatingRow {
                            id: DbUuid(Uuid::now_v7()),
                            invitation_id: invitation.id,
                            customer_id: invitation.customer_id,
                            factor: factor.as_str().to_string(),
                            rating,
                            answered_at: DbTime(now),
                        })
                        .collect();
                    persistence::feedback_surveys::insert_factors(conn, &rows)?;
                }
            }
        }
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "feedback_survey.answer",
            "feedback_survey",
            survey.id.0,
            &json!({}),
            &json!({"invitation_id": invitation.id.0, "scores": scores}),
        )?;
        Ok(stored)
    })
}
