//! Surveys (F-1, F-3): definitions with NPS, CSAT, CES, rating, text, SERVQUAL and
//! expectation-factor questions in Persian and English; invitations sent as token
//! links or through a channel account, held back by the throttle and by a withdrawn
//! consent to surveys; and the public page behind a link and its one answer.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::feedback::surveys::{self, Invited};
use chrono::{DateTime, Utc};
use domain::feedback::servqual::{ExpectationFactor, FACTOR_MAX, FACTOR_MIN, SCALE_MAX, SCALE_MIN};
use domain::feedback::surveys::{
    link_path, InviteInput, QuestionKind, ServqualItem, SurveyInput, SurveyQuestion,
    SurveyResponseInput,
};
use persistence::feedback_surveys::{InvitationRow, SurveyRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use super::feedback::Feedback;
use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::pagination::creation_cursor;
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_feedback_survey,
        list_feedback_surveys,
        get_feedback_survey,
        update_feedback_survey,
        delete_feedback_survey,
        invite_to_feedback_survey,
        list_survey_invitations,
        get_survey_link,
        answer_survey_link
    ),
    components(schemas(
        FeedbackSurvey,
        SurveyInput,
        SurveyQuestion,
        QuestionKind,
        ServqualItem,
        InviteInput,
        InvitationOutcome,
        InvitationStatus,
        InvitationResults,
        SurveyInvitation,
        PublicFeedbackSurvey,
        FactorChoice,
        SurveyResponseInput,
        SurveyResponse
    ))
)]
pub struct FeedbackSurveysApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_feedback_survey)
        .service(list_feedback_surveys)
        .service(get_feedback_survey)
        .service(update_feedback_survey)
        .service(delete_feedback_survey)
        .service(invite_to_feedback_survey)
        .service(list_survey_invitations)
        .service(get_survey_link)
        .service(answer_survey_link);
}

/// A survey as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackSurvey {
    pub id: Uuid,
    pub name: String,
    pub questions: Vec<SurveyQuestion>,
    pub active: bool,
    /// Days an invitation's link can be answered.
    pub valid_days: i32,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl TryFrom<&SurveyRow> for FeedbackSurvey {
    type Error = ApiError;

    fn try_from(row: &SurveyRow) -> Result<Self, ApiError> {
        Ok(FeedbackSurvey {
            id: row.id.0,
            name: row.name.clone(),
            questions: surveys::questions_of(row)?,
            active: row.active,
            valid_days: row.valid_days,
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
        })
    }
}

/// Add a survey.
///
/// A unique `name`, 1 to 30 `questions` and how many days a link stays valid
/// (`valid_days`, 1–90, default 14). Each question has a `key` (unique, `a-z`, `0-9`,
/// `_`), a `kind`, Persian wording `text_fa` and optionally English `text_en`, and
/// whether it is `required`. Kinds: `nps` (0–10), `csat` (1–5), `ces` (1–7, 7 very
/// easy), `rating` (1–5), `text`, `servqual` (items answered on the desired, adequate
/// and perceived 1–9 scales; the standard 22 items of Parasuraman, Zeithaml and Berry
/// in Persian and English when `items` is absent — edit them freely, each item has a
/// `key`, a `dimension` and its wording) and `expectation_factors` (how much each
/// factor shaped the customer's expectations, 1–7). A survey has at most one
/// `servqual` and one `expectation_factors` question.
///
/// Needs `records:write`. Audited as `feedback_survey.create`. Problems: 422 naming
/// each field and rule (`questions[2].key` `duplicate`, `questions[0].text_fa`
/// `required`, `questions[1].items` `not_allowed`, `name` `already_exists`, …).
#[utoipa::path(
    tag = "feedback",
    operation_id = "create_feedback_survey",
    request_body = SurveyInput,
    responses(
        (status = 201, description = "Created", body = FeedbackSurvey, headers(("Location" = String), ("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/feedback-surveys")]
pub async fn create_feedback_survey(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<SurveyInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let input = body.0;
    let row = state
        .db(move |conn| Ok(surveys::create(conn, &acting, input)?))
        .await?;
    let location = format!("/api/v1/feedback-surveys/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &FeedbackSurvey::try_from(&row)?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SurveyFilters {
    /// Only active (`true`) or inactive (`false`) surveys.
    pub active: Option<bool>,
}

/// List surveys.
///
/// In creation order, one page at a time. Needs `records:read`.
#[utoipa::path(
    tag = "feedback",
    operation_id = "list_feedback_surveys",
    params(PageParams, SurveyFilters),
    responses((status = 200, description = "One page of surveys", body = Page<FeedbackSurvey>))
)]
#[get("/api/v1/feedback-surveys")]
pub async fn list_feedback_surveys(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
    filters: web::Query<SurveyFilters>,
) -> ApiResult<HttpResponse> {
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let active = filters.into_inner().active;
    let acting = principal.0;
    let rows = state
        .db(move |conn| {
            Ok(surveys::list(
                conn,
                &acting,
                active,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let data = rows
        .iter()
        .map(FeedbackSurvey::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let page = Page::from_rows(
        rows.into_iter().zip(data).collect::<Vec<_>>(),
        page.limit,
        |(row, _)| creation_cursor(row.created_at.0, row.id.0),
        |(_, survey)| survey,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Get a survey.
///
/// Needs `records:read`. Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "feedback",
    operation_id = "get_feedback_survey",
    params(("id" = Uuid, Path, description = "Survey id")),
    responses((status = 200, description = "Found", body = FeedbackSurvey, headers(("ETag" = String))))
)]
#[get("/api/v1/feedback-surveys/{id}")]
pub async fn get_feedback_survey(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(surveys::get(conn, &acting, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &FeedbackSurvey::try_from(&row)?,
    ))
}

/// Change a survey (JSON Merge Patch).
///
/// Any field, checked as on creation (`questions` is replaced whole). Answers already
/// given keep the question keys they answered. Needs `records:write`; honours
/// `If-Match` (412 when stale). Audited as `feedback_survey.update`.
#[utoipa::path(
    tag = "feedback",
    operation_id = "update_feedback_survey",
    params(("id" = Uuid, Path, description = "Survey id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = SurveyInput, content_type = "application/merge-patch+json", example = json!({"active": false})),
    responses(
        (status = 200, description = "Changed", body = FeedbackSurvey, headers(("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/api/v1/feedback-surveys/{id}")]
pub async fn update_feedback_survey(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    let row = state
        .db(move |conn| {
            Ok(surveys::update(
                conn,
                &acting,
                id,
                &precondition,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &FeedbackSurvey::try_from(&row)?,
    ))
}

/// Delete a survey.
///
/// Its open links stop working; feedback already given stays. Needs `crm:configure`.
/// Honours `If-Match`. Audited as `feedback_survey.delete`.
#[utoipa::path(
    tag = "feedback",
    operation_id = "delete_feedback_survey",
    params(
        ("id" = Uuid, Path, description = "Survey id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/feedback-surveys/{id}")]
pub async fn delete_feedback_survey(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(surveys::delete(conn, &acting, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// What became of one customer of an invitation request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    /// Sent: the link (and through a channel, the message that carries it).
    Sent,
    /// Sent a survey within the business's `survey_throttle_days` already.
    Throttled,
    /// Withdrew consent to surveys on the channel.
    NoConsent,
    /// The channel cannot reach the customer (see `reason`).
    Unreachable,
    /// Not a customer the caller sees.
    NotFound,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationOutcome {
    pub customer_id: Uuid,
    pub status: InvitationStatus,
    pub invitation_id: Option<Uuid>,
    /// The link's path, shown this once (only its hash is kept).
    pub link: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The message that carries the link, and its status (`queued`, or `sent`).
    pub message_id: Option<Uuid>,
    pub message_status: Option<String>,
    /// When the customer was last sent a survey (`throttled`).
    pub last_invited_at: Option<DateTime<Utc>>,
    /// Why the channel cannot reach them (`unreachable`): `no_address`, `refused`, …
    pub reason: Option<String>,
    /// With `reason`, what the channel or the check said, in words.
    pub detail: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationResults {
    /// In the order the customers were given.
    pub data: Vec<InvitationOutcome>,
    pub sent: usize,
}

fn outcome(customer_id: Uuid, invited: Invited) -> InvitationOutcome {
    let mut outcome = InvitationOutcome {
        customer_id,
        status: InvitationStatus::NotFound,
        invitation_id: None,
        link: None,
        expires_at: None,
        message_id: None,
        message_status: None,
        last_invited_at: None,
        reason: None,
        detail: None,
    };
    match invited {
        Invited::Sent {
            invitation,
            token,
            message_id,
            message_status,
        } => {
            outcome.status = InvitationStatus::Sent;
            outcome.invitation_id = Some(invitation.id.0);
            outcome.link = Some(link_path(&token));
            outcome.expires_at = Some(invitation.expires_at.0);
            outcome.message_id = message_id;
            outcome.message_status = message_status;
        }
        Invited::Throttled { last } => {
            outcome.status = InvitationStatus::Throttled;
            outcome.last_invited_at = Some(last);
        }
        Invited::NoConsent => outcome.status = InvitationStatus::NoConsent,
        Invited::Unreachable { code, message } => {
            outcome.status = InvitationStatus::Unreachable;
            outcome.reason = Some(code);
            outcome.detail = Some(message).filter(|message| !message.is_empty());
        }
        Invited::NotFound => {}
    }
    outcome
}

/// Send a survey to customers.
///
/// To 1–500 `customer_ids`, each its own link (a random token; only its SHA-256 is
/// kept) valid for the survey's `valid_days` and answerable once. With
/// `channel_account_id` each link goes out in a message on the customer's address on
/// that channel (through the usual outbound path: consent, quiet hours, the send job);
/// without it the links are returned for the caller to hand out. A customer sent any
/// survey within the business's `feedback.survey_throttle_days` is `throttled`; one who
/// withdrew consent to `surveys` on the channel is `no_consent`; one the channel cannot
/// reach is `unreachable` with the `reason`. Optionally the `product_id`, `agent_id`
/// or `ticket_id` the answers concern.
///
/// Needs `records:write`. Audited as `feedback_survey.invite` with the counts.
/// Problems: 409 for an inactive survey; 422 `customer_ids` `out_of_range` or
/// `duplicate`, `channel_account_id`, `product_id`, `agent_id`, `ticket_id`
/// `not_found`.
#[utoipa::path(
    tag = "feedback",
    operation_id = "invite_to_feedback_survey",
    params(("id" = Uuid, Path, description = "Survey id")),
    request_body = InviteInput,
    responses(
        (status = 200, description = "One outcome per customer", body = InvitationResults),
        (status = 409, description = "The survey is not active", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/feedback-surveys/{id}/invitations")]
pub async fn invite_to_feedback_survey(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<InviteInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let input = body.0;
    let outcomes = state
        .db(move |conn| Ok(surveys::invite(conn, &acting, id, input)?))
        .await?;
    let data: Vec<InvitationOutcome> = outcomes
        .into_iter()
        .map(|(customer, invited)| outcome(customer, invited))
        .collect();
    let sent = data
        .iter()
        .filter(|o| o.status == InvitationStatus::Sent)
        .count();
    Ok(HttpResponse::Ok().json(InvitationResults { data, sent }))
}

/// An invitation as the business sees it (never its token).
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyInvitation {
    pub id: Uuid,
    pub survey_id: Uuid,
    pub customer_id: Uuid,
    /// `link`, or the channel kind that carried it.
    pub delivery: String,
    pub message_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    pub ticket_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
}

impl From<&InvitationRow> for SurveyInvitation {
    fn from(row: &InvitationRow) -> Self {
        SurveyInvitation {
            id: row.id.0,
            survey_id: row.survey_id.0,
            customer_id: row.customer_id.0,
            delivery: row.delivery.clone(),
            message_id: row.message_id.map(|id| id.0),
            product_id: row.product_id.map(|id| id.0),
            agent_id: row.agent_id.map(|id| id.0),
            ticket_id: row.ticket_id.map(|id| id.0),
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
            expires_at: row.expires_at.0,
            answered_at: row.answered_at.map(|at| at.0),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvitationFilters {
    /// Only this customer's invitations.
    pub customer_id: Option<Uuid>,
}

/// List a survey's invitations.
///
/// To customers the caller sees, in the order they were sent, with when each was
/// answered; never a token. Needs `records:read`.
#[utoipa::path(
    tag = "feedback",
    operation_id = "list_survey_invitations",
    params(("id" = Uuid, Path, description = "Survey id"), PageParams, InvitationFilters),
    responses((status = 200, description = "One page of invitations", body = Page<SurveyInvitation>))
)]
#[get("/api/v1/feedback-surveys/{id}/invitations")]
pub async fn list_survey_invitations(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    page: PageParams,
    filters: web::Query<InvitationFilters>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let customer = filters.into_inner().customer_id;
    let acting = principal.0;
    let rows = state
        .db(move |conn| {
            Ok(surveys::invitations(
                conn,
                &acting,
                id,
                customer,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let page = Page::from_rows(
        rows,
        page.limit,
        |row| creation_cursor(row.created_at.0, row.id.0),
        |row| SurveyInvitation::from(&row),
    );
    Ok(HttpResponse::Ok().json(page))
}

/// An expectation factor a respondent may rate, with its wording.
#[derive(Debug, Serialize, ToSchema)]
pub struct FactorChoice {
    pub factor: ExpectationFactor,
    pub text_fa: &'static str,
    pub text_en: &'static str,
}

/// What the customer sees behind a survey link: the questions, their scales, nothing
/// about the customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicFeedbackSurvey {
    pub name: String,
    pub questions: Vec<SurveyQuestion>,
    /// The scale of SERVQUAL answers.
    pub servqual_scale: [i32; 2],
    /// The factors an `expectation_factors` question asks about, and their scale.
    pub factors: Vec<FactorChoice>,
    pub factor_scale: [i32; 2],
    pub expires_at: DateTime<Utc>,
}

/// Open a survey link.
///
/// The survey's name and questions (with their scales and, for `expectation_factors`,
/// the factors). No credentials are needed: the random token in the path is the key.
///
/// Problems: 404 `not_found` for an unknown token; 410 `gone` once answered or expired.
#[utoipa::path(
    tag = "feedback",
    operation_id = "get_survey_link",
    security(()),
    params(("token" = String, Path, description = "The token of the survey's link")),
    responses(
        (status = 200, description = "The survey", body = PublicFeedbackSurvey),
        (status = 404, description = "Unknown token", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Answered or expired", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/api/v1/survey-links/{token}")]
pub async fn get_survey_link(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let token = token.into_inner();
    let view = state
        .db(move |conn| Ok(surveys::view(conn, &token)?))
        .await?;
    Ok(HttpResponse::Ok().json(PublicFeedbackSurvey {
        name: view.name,
        questions: view.questions,
        servqual_scale: [SCALE_MIN, SCALE_MAX],
        factors: ExpectationFactor::ALL
            .iter()
            .map(|factor| FactorChoice {
                factor: *factor,
                text_fa: factor.label_fa(),
                text_en: factor.label_en(),
            })
            .collect(),
        factor_scale: [FACTOR_MIN, FACTOR_MAX],
        expires_at: view.expires_at,
    }))
}

/// What an answer recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyResponse {
    /// The feedback the scored and text questions became.
    pub feedback: Vec<Feedback>,
}

/// Answer a survey link.
///
/// `answers` maps question keys to values: a whole number on the question's scale, a
/// string for `text`, for `servqual` an object of item keys each with `desired`,
/// `adequate` and `perceived` (1–9), for `expectation_factors` an object of factors
/// each rated 1–7. Once only: the link is then spent. No credentials are needed. Each
/// scored or text answer becomes feedback (negative feedback followed up by the
/// business's policy). Audited as `feedback_survey.answer` with the scores, not the
/// words.
///
/// Problems: 404 `not_found` for an unknown token; 410 `gone` when already answered or
/// expired; 422 naming `answers.<key>` (and below) with the rule: `unknown_question`,
/// `required`, `out_of_range`, `invalid_type`, `unknown_item`, `unknown_factor`,
/// `incomplete`.
#[utoipa::path(
    tag = "feedback",
    operation_id = "answer_survey_link",
    security(()),
    params(("token" = String, Path, description = "The token of the survey's link")),
    request_body = SurveyResponseInput,
    responses(
        (status = 201, description = "Recorded", body = SurveyResponse),
        (status = 404, description = "Unknown token", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Already answered or expired", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/survey-links/{token}")]
pub async fn answer_survey_link(
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: JsonBody<SurveyResponseInput>,
) -> ApiResult<HttpResponse> {
    let token = token.into_inner();
    let input = body.0;
    let lang = crate::i18n::current();
    let rows = state
        .db(move |conn| Ok(surveys::answer(conn, &token, input, lang)?))
        .await?;
    let feedback = rows
        .iter()
        .map(Feedback::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Created().json(SurveyResponse { feedback }))
}
