//! Satisfaction surveys (V-6): the link a customer gets when their ticket is resolved,
//! opened and answered without an account; a ticket's surveys for the desk; and the
//! CSAT report.

use actix_web::{get, post, web, HttpResponse};
use application::service::surveys::{self, CsatReport, CsatRow};
use chrono::{DateTime, NaiveDate, Utc};
use domain::service::surveys::{
    CsatFigures, SurveyAnswer, SurveyFollowUp, QUESTION_EN, QUESTION_FA,
};
use domain::service::tickets::TicketChannel;
use persistence::ticket_surveys::{CsatGroup, SurveyRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::JsonBody;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(get_survey, answer_survey, list_ticket_surveys, csat_report),
    components(schemas(
        PublicSurvey,
        SurveyQuestion,
        SurveyAnswer,
        SurveyAnswered,
        TicketSurvey,
        TicketSurveyList,
        SurveyFollowUp,
        CsatReport,
        CsatRow,
        CsatFigures,
        CsatGrouping
    ))
)]
pub struct SurveysApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_survey)
        .service(answer_survey)
        .service(list_ticket_surveys)
        .service(csat_report);
}

/// The question, in both languages.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CsatSurveyQuestion)]
pub struct SurveyQuestion {
    pub fa: &'static str,
    pub en: &'static str,
}

/// What the customer sees of a survey: the question and which ticket it is about,
/// nothing more.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicSurvey {
    pub question: SurveyQuestion,
    pub ticket_number: i64,
    pub ticket_subject: String,
    /// Lowest and highest rating.
    pub min_rating: i32,
    pub max_rating: i32,
    /// Until when it can be answered.
    pub expires_at: DateTime<Utc>,
    /// Always `false` here: an answered or expired survey answers 410.
    pub answered: bool,
    pub expired: bool,
}

/// An answer as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyAnswered {
    pub rating: i32,
    pub comment: Option<String>,
    pub answered_at: DateTime<Utc>,
}

/// A survey of a ticket, as the desk sees it (its token is never shown again).
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketSurvey {
    pub id: Uuid,
    pub ticket_id: Uuid,
    /// Who held the ticket when it was resolved, and its team, category and channel
    /// then: whom the rating is credited to.
    pub agent_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub category_id: Option<Uuid>,
    pub channel: TicketChannel,
    /// When it was sent (the resolution).
    pub created_at: DateTime<Utc>,
    /// Set back to the next resolution's instant when the ticket was resolved again
    /// before an answer.
    pub expires_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub rating: Option<i32>,
    pub comment: Option<String>,
    /// What a low rating did.
    pub follow_up: Option<SurveyFollowUp>,
}

impl From<&SurveyRow> for TicketSurvey {
    fn from(row: &SurveyRow) -> Self {
        TicketSurvey {
            id: row.id.0,
            ticket_id: row.ticket_id.0,
            agent_id: row.agent_id.map(|id| id.0),
            team_id: row.team_id.map(|id| id.0),
            category_id: row.category_id.map(|id| id.0),
            channel: TicketChannel::parse(&row.channel).unwrap_or_default(),
            created_at: row.created_at.0,
            expires_at: row.expires_at.0,
            answered_at: row.answered_at.map(|at| at.0),
            rating: row.rating,
            comment: row.comment.clone(),
            follow_up: row.follow_up.as_deref().and_then(SurveyFollowUp::parse),
        }
    }
}

/// A ticket's surveys, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketSurveyList {
    pub data: Vec<TicketSurvey>,
}

/// Open a satisfaction survey.
///
/// The page behind the link a customer gets when their ticket is resolved (the
/// conversation's automatic message holds it): the question in Persian and English and
/// the ticket's number and subject — nothing else about the customer or the ticket.
/// No credentials are needed; the random token in the path is the key. A link is valid
/// for 7 days, and until the ticket is resolved again.
///
/// Problems: 404 `not_found` for an unknown token; 410 `gone` once the survey was
/// answered or has expired.
#[utoipa::path(
    tag = "tickets",
    operation_id = "get_survey",
    security(()),
    params(("token" = String, Path, description = "The token of the survey's link")),
    responses(
        (status = 200, description = "The survey", body = PublicSurvey),
        (status = 404, description = "Unknown token", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Answered or expired", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/api/v1/surveys/{token}")]
pub async fn get_survey(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let token = token.into_inner();
    let view = state
        .db(move |conn| Ok(surveys::view(conn, &token)?))
        .await?;
    Ok(HttpResponse::Ok().json(PublicSurvey {
        question: SurveyQuestion {
            fa: QUESTION_FA,
            en: QUESTION_EN,
        },
        ticket_number: view.ticket_number,
        ticket_subject: view.ticket_subject,
        min_rating: domain::service::surveys::MIN_RATING,
        max_rating: domain::service::surveys::MAX_RATING,
        expires_at: view.expires_at,
        answered: false,
        expired: false,
    }))
}

/// Answer a satisfaction survey.
///
/// A rating from 1 to 5 and an optional comment (at most 2,000 characters), once. No
/// credentials are needed. A rating at or below the `csat_threshold` of the ticket's
/// SLA policy reopens the ticket (recorded in its status history with the rating as the
/// reason) or tells the team's managers, as the policy's `csat_action` says. Audited as
/// `ticket.survey.answer` (with the rating, not the comment).
///
/// Problems: 404 `not_found` for an unknown token; 410 `gone` when the survey was
/// already answered or has expired; 422 `validation_failed` for `rating`
/// `out_of_range`, or a `comment` `too_long` or holding control characters.
#[utoipa::path(
    tag = "tickets",
    operation_id = "answer_survey",
    security(()),
    params(("token" = String, Path, description = "The token of the survey's link")),
    request_body = SurveyAnswer,
    responses(
        (status = 201, description = "Recorded", body = SurveyAnswered),
        (status = 404, description = "Unknown token", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Already answered or expired", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/surveys/{token}")]
pub async fn answer_survey(
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: JsonBody<SurveyAnswer>,
) -> ApiResult<HttpResponse> {
    let token = token.into_inner();
    let input = body.0;
    let lang = crate::i18n::current();
    let row = state
        .db(move |conn| Ok(surveys::answer(conn, &token, input, lang)?))
        .await?;
    Ok(HttpResponse::Created().json(SurveyAnswered {
        rating: row.rating.unwrap_or_default(),
        comment: row.comment,
        answered_at: row.answered_at.map(|at| at.0).unwrap_or_else(Utc::now),
    }))
}

/// List a ticket's satisfaction surveys.
///
/// One per resolution, oldest first, with its rating, comment and what a low rating
/// did; never its token. Needs `records:read` and the ticket within the caller's
/// visibility.
#[utoipa::path(
    tag = "tickets",
    operation_id = "list_ticket_surveys",
    params(("id" = Uuid, Path, description = "Ticket id")),
    responses((status = 200, description = "The surveys", body = TicketSurveyList))
)]
#[get("/api/v1/tickets/{id}/surveys")]
pub async fn list_ticket_surveys(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let rows = state
        .db(move |conn| Ok(surveys::of_ticket(conn, &principal, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(TicketSurveyList {
        data: rows.iter().map(TicketSurvey::from).collect(),
    }))
}

/// What the CSAT report groups by.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CsatGrouping {
    /// The ticket's owner when it was resolved.
    #[default]
    Agent,
    Team,
    Category,
}

impl From<CsatGrouping> for CsatGroup {
    fn from(grouping: CsatGrouping) -> Self {
        match grouping {
            CsatGrouping::Agent => CsatGroup::Agent,
            CsatGrouping::Team => CsatGroup::Team,
            CsatGrouping::Category => CsatGroup::Category,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CsatParams {
    /// First local day (business time zone), `YYYY-MM-DD`.
    pub from: NaiveDate,
    /// Last local day, inclusive.
    pub to: NaiveDate,
    /// Default `agent`.
    pub group_by: Option<CsatGrouping>,
}

/// Customer satisfaction (CSAT).
///
/// The surveys sent (tickets resolved) on the local days `from` to `to`, and how they
/// were answered, in total and per agent (the ticket's owner at resolution), team or
/// category, most surveys first: surveys `sent`, `answered`, `average_rating`,
/// `csat_percent` (share of the answers rated 4 or 5) and `response_percent` (share
/// of the surveys answered); the shares are `null` without a base.
///
/// Needs `records:read`; over the tickets the caller can see (by their owner and
/// team). Problems: 422 `validation_failed` for `to` before `from` or out of range;
/// 400 for a malformed parameter.
#[utoipa::path(
    tag = "reports",
    operation_id = "csat_report",
    params(CsatParams),
    responses((status = 200, description = "The report", body = CsatReport))
)]
#[get("/api/v1/reports/csat")]
pub async fn csat_report(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<CsatParams>,
) -> ApiResult<HttpResponse> {
    let CsatParams { from, to, group_by } = params.into_inner();
    let group = CsatGroup::from(group_by.unwrap_or_default());
    let report = state
        .db_read(move |conn| Ok(surveys::csat_report(conn, &principal, from, to, group)?))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}
