//! Feedback in one place (F-1): reviews, what customers said elsewhere, customers'
//! messages, ticket messages and notes marked as feedback, survey and ticket
//! satisfaction answers — each with its sentiment and whether it is negative — and the
//! feedback reports: NPS, CSAT, CES, ratings and sentiment with confidence intervals,
//! and SERVQUAL gaps with the expectation factors.

use actix_web::{delete, get, post, web, HttpResponse};
use application::feedback::entries;
use application::feedback::reports::{
    self, Association, DimensionGaps, FactorAssociation, FeedbackGroupFigures, FeedbackPeriod,
    FeedbackReport, Narrowing, ServqualPeriod, ServqualReport,
};
use application::reports::ReportRange;
use chrono::{DateTime, NaiveDate, Utc};
use domain::calendar::CalendarSystem;
use domain::feedback::entries::{FeedbackSource, Metric, NewFeedbackInput};
use domain::feedback::reports::{FeedbackFigures, FeedbackGrouping, Interval, ReportMetric};
use domain::feedback::servqual::{Dimension, ExpectationFactor, Gaps, ZonePosition};
use domain::reports::Bucket;
use domain::sentiment::SentimentLabel;
use persistence::feedback::{FeedbackFilter, FeedbackRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::pagination::creation_cursor;
use crate::conventions::{JsonBody, Page, PageParams};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_feedback,
        list_feedback,
        get_feedback,
        delete_feedback,
        feedback_report,
        servqual_report
    ),
    components(schemas(
        Feedback,
        FeedbackSentiment,
        NewFeedbackInput,
        FeedbackSource,
        Metric,
        ReportMetric,
        FeedbackGrouping,
        FeedbackFigures,
        Interval,
        FeedbackGroupFigures,
        FeedbackPeriod,
        FeedbackReport,
        Gaps,
        ZonePosition,
        Dimension,
        ExpectationFactor,
        DimensionGaps,
        ServqualPeriod,
        Association,
        FactorAssociation,
        ServqualReport
    ))
)]
pub struct FeedbackApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_feedback)
        .service(list_feedback)
        .service(get_feedback)
        .service(delete_feedback)
        .service(feedback_report)
        .service(servqual_report);
}

/// The sentiment of a feedback text.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackSentiment {
    /// In (−1, 1): below 0 a complaint, above 0 praise.
    pub score: f64,
    pub label: SentimentLabel,
    /// In [0, 1]: how much sentiment was found and how much of it agrees.
    pub confidence: f64,
}

/// A piece of feedback.
#[derive(Debug, Serialize, ToSchema)]
pub struct Feedback {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub source: FeedbackSource,
    pub metric: Option<Metric>,
    pub score: Option<i32>,
    /// The words; `null` once the customer was erased.
    pub text: Option<String>,
    /// Of `text`; `null` without one.
    pub sentiment: Option<FeedbackSentiment>,
    pub product_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub channel: Option<String>,
    pub ticket_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
    pub ticket_message_id: Option<Uuid>,
    pub note_id: Option<Uuid>,
    pub survey_id: Option<Uuid>,
    pub invitation_id: Option<Uuid>,
    /// The survey question it answers.
    pub question_key: Option<String>,
    /// A score at or below the policy's bound, or a negative text with enough
    /// confidence.
    pub negative: bool,
    /// What negative feedback did: `task_created`, `ticket_reopened`, or for a
    /// ticket's satisfaction answer what its SLA policy did (`reopened`, `escalated`).
    pub follow_up: Option<String>,
    /// The follow-up task.
    pub task_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<&FeedbackRow> for Feedback {
    type Error = ApiError;

    fn try_from(row: &FeedbackRow) -> Result<Self, ApiError> {
        let source = FeedbackSource::parse(&row.source).ok_or_else(|| {
            ApiError::Internal(format!("stored feedback source {:?}", row.source))
        })?;
        let metric =
            match row.metric.as_deref() {
                Some(stored) => Some(Metric::parse(stored).ok_or_else(|| {
                    ApiError::Internal(format!("stored feedback metric {stored:?}"))
                })?),
                None => None,
            };
        let sentiment = match (
            row.sentiment_score,
            row.sentiment_label
                .as_deref()
                .and_then(SentimentLabel::parse),
        ) {
            (Some(score), Some(label)) => Some(FeedbackSentiment {
                score,
                label,
                confidence: row.sentiment_confidence.unwrap_or(0.0),
            }),
            _ => None,
        };
        let id = |id: Option<persistence::sql_types::DbUuid>| id.map(|id| id.0);
        Ok(Feedback {
            id: row.id.0,
            customer_id: row.customer_id.0,
            source,
            metric,
            score: row.score,
            text: row.body.clone(),
            sentiment,
            product_id: id(row.product_id),
            agent_id: id(row.agent_id),
            team_id: id(row.team_id),
            channel: row.channel.clone(),
            ticket_id: id(row.ticket_id),
            message_id: id(row.message_id),
            ticket_message_id: id(row.ticket_message_id),
            note_id: id(row.note_id),
            survey_id: id(row.survey_id),
            invitation_id: id(row.invitation_id),
            question_key: row.question_key.clone(),
            negative: row.negative,
            follow_up: row.follow_up.clone(),
            task_id: id(row.task_id),
            created_by: id(row.created_by),
            created_at: row.created_at.0,
        })
    }
}

/// Record feedback.
///
/// `source` says what it is: a `review` (its customer, `product_id` and a `score`
/// 1–5, with an optional `text`), `other` (what a customer said elsewhere — a call, a
/// visit —: the customer and a `text`, a `metric` and `score`, or both), or a
/// customer's own words marked as feedback: `message` (`message_id`, an inbound
/// message of a conversation), `ticket_message` (`ticket_message_id`, the customer's
/// message on a ticket) or `note` (`note_id`), whose customer and text come from the
/// record. Optionally the `product_id`, `agent_id`, `ticket_id` (the same customer's)
/// and `channel` it concerns. The text's sentiment is scored at once. Negative feedback
/// (by the business settings' `feedback` policy: a score at or below its bound, or a
/// text without a score whose sentiment is negative with enough confidence) reopens the
/// resolved or closed ticket it concerns or becomes a follow-up task for the customer's
/// owner, and is a `feedback.negative` event.
///
/// Needs `records:write` and the customer within the caller's visibility. Audited as
/// `feedback.create` (without the text). Problems: 422 naming each field and rule —
/// `required` and `not_allowed` references per source, `score` `out_of_range` for the
/// metric's scale, `*_id` `not_found`, `message_id`/`ticket_message_id`
/// `not_from_customer`, `ticket_id` `other_customer`, `source` `already_marked` for a
/// text recorded as feedback before.
#[utoipa::path(
    tag = "feedback",
    operation_id = "create_feedback",
    request_body = NewFeedbackInput,
    responses(
        (status = 201, description = "Recorded", body = Feedback, headers(("Location" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/feedback")]
pub async fn create_feedback(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<NewFeedbackInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let input = body.0;
    let row = state
        .db(move |conn| Ok(entries::create(conn, &acting, input)?))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/feedback/{}", row.id.0)))
        .json(Feedback::try_from(&row)?))
}

/// Which feedback a listing shows.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedbackFilters {
    pub customer_id: Option<Uuid>,
    pub source: Option<FeedbackSource>,
    pub metric: Option<Metric>,
    pub product_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    pub ticket_id: Option<Uuid>,
    pub survey_id: Option<Uuid>,
    pub channel: Option<String>,
    /// The sentiment label of its text.
    pub sentiment: Option<SentimentLabel>,
    pub negative: Option<bool>,
    /// Recorded at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Recorded before this instant.
    pub until: Option<DateTime<Utc>>,
}

/// List feedback.
///
/// About the customers the caller sees, in the order it was recorded, one page at a
/// time, narrowed by any of the filters. Needs `records:read`.
#[utoipa::path(
    tag = "feedback",
    operation_id = "list_feedback",
    params(PageParams, FeedbackFilters),
    responses((status = 200, description = "One page of feedback", body = Page<Feedback>))
)]
#[get("/api/v1/feedback")]
pub async fn list_feedback(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
    filters: web::Query<FeedbackFilters>,
) -> ApiResult<HttpResponse> {
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let f = filters.into_inner();
    let filter = FeedbackFilter {
        customer_id: f.customer_id,
        source: f.source.map(|s| s.as_str().to_string()),
        metric: f.metric.map(|m| m.as_str().to_string()),
        product_id: f.product_id,
        agent_id: f.agent_id,
        ticket_id: f.ticket_id,
        survey_id: f.survey_id,
        channel: f.channel,
        sentiment_label: f.sentiment.map(|s| s.as_str().to_string()),
        negative: f.negative,
        from: f.from,
        until: f.until,
    };
    let acting = principal.0;
    let rows = state
        .db(move |conn| {
            Ok(entries::list(
                conn,
                &acting,
                &filter,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let data = rows
        .iter()
        .map(Feedback::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let page = Page::from_rows(
        rows.into_iter().zip(data).collect::<Vec<_>>(),
        page.limit,
        |(row, _)| creation_cursor(row.created_at.0, row.id.0),
        |(_, feedback)| feedback,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Get a piece of feedback.
///
/// Needs `records:read` and its customer within the caller's visibility (404 otherwise).
#[utoipa::path(
    tag = "feedback",
    operation_id = "get_feedback",
    params(("id" = Uuid, Path, description = "Feedback id")),
    responses((status = 200, description = "Found", body = Feedback))
)]
#[get("/api/v1/feedback/{id}")]
pub async fn get_feedback(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(entries::get(conn, &acting, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(Feedback::try_from(&row)?))
}

/// Delete a piece of feedback.
///
/// For feedback recorded by mistake: the marked message, note or survey answer itself
/// stays. Needs `crm:configure`. Audited as `feedback.delete`.
#[utoipa::path(
    tag = "feedback",
    operation_id = "delete_feedback",
    params(("id" = Uuid, Path, description = "Feedback id")),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/feedback/{id}")]
pub async fn delete_feedback(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    state
        .db(move |conn| Ok(entries::delete(conn, &acting, id)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The parameters of the feedback report.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedbackReportParams {
    /// First local day (business time zone), `YYYY-MM-DD`.
    pub from: NaiveDate,
    /// Last local day, inclusive.
    pub to: NaiveDate,
    /// Length of each period (default `month`).
    pub bucket: Option<Bucket>,
    /// Calendar of months, quarters and years (default `jalali`).
    pub calendar: Option<CalendarSystem>,
    pub metric: ReportMetric,
    pub group_by: Option<FeedbackGrouping>,
    /// Only this customer's feedback.
    pub customer_id: Option<Uuid>,
    /// Only the feedback of this segment's current members.
    pub segment_id: Option<Uuid>,
    /// Only the answers to this survey.
    pub survey_id: Option<Uuid>,
}

/// Feedback report: NPS, CSAT, CES, ratings or sentiment.
///
/// Per period of the range (Jalali or Gregorian), and per `group_by` (agent, team,
/// product, channel, source or the customers' current segment) when asked, the figure
/// of `metric` with its count and 95 % confidence interval, so that a small sample is
/// visible: `nps` — % promoters (9–10) − % detractors (0–6), `top` and `bottom` the
/// promoters and detractors, the interval from the multinomial variance of the
/// difference; `csat` — % of answers rated 4–5 (Wilson interval); `ces` and `rating` —
/// the mean (Student's t interval; `top` 5–7 and 4–5, `bottom` 1–3 and 1–2);
/// `sentiment` — the mean sentiment score of feedback texts (`top` positive, `bottom`
/// negative). Every answer counts, from surveys, ticket satisfaction surveys, reviews
/// and marked texts; narrowed to one `customer_id`, `segment_id` or `survey_id` when
/// given.
///
/// Needs `records:read`; over the customers the caller can see. Problems: 422 for `to`
/// before `from`, too many periods or `customer_id` `not_found`; 400 for a malformed
/// parameter.
#[utoipa::path(
    tag = "reports",
    operation_id = "feedback_report",
    params(FeedbackReportParams),
    responses((status = 200, description = "The report", body = FeedbackReport))
)]
#[get("/api/v1/reports/feedback")]
pub async fn feedback_report(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<FeedbackReportParams>,
) -> ApiResult<HttpResponse> {
    let p = params.into_inner();
    let range = ReportRange::new(p.from, p.to, p.bucket, p.calendar);
    let narrowing = Narrowing {
        customer_id: p.customer_id,
        segment_id: p.segment_id,
        survey_id: p.survey_id,
    };
    let report = state
        .db_read(move |conn| {
            Ok(reports::feedback(
                conn, &principal, range, p.metric, p.group_by, narrowing,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The parameters of the SERVQUAL report.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ServqualParams {
    /// First local day (business time zone), `YYYY-MM-DD`.
    pub from: NaiveDate,
    /// Last local day, inclusive.
    pub to: NaiveDate,
    /// Length of each period (default `month`).
    pub bucket: Option<Bucket>,
    /// Calendar of months, quarters and years (default `jalali`).
    pub calendar: Option<CalendarSystem>,
    /// Only this customer's answers.
    pub customer_id: Option<Uuid>,
    /// Only the answers of this segment's current members.
    pub segment_id: Option<Uuid>,
    /// Only the answers to this survey.
    pub survey_id: Option<Uuid>,
}

/// SERVQUAL report: expectations, perceptions and the zone of tolerance.
///
/// From the answers to surveys with a `servqual` question (each item on three 1–9
/// scales: desired, adequate — the minimum acceptable — and perceived), for the whole
/// range and per period, overall and per dimension (tangibles, reliability,
/// responsiveness, assurance, empathy): the mean levels, the measure of service
/// adequacy (perceived − adequate), the measure of service superiority (perceived −
/// desired), the width of the zone of tolerance (desired − adequate) and where the
/// perceived level falls: `below` the zone, `within` it or `above` it. With them, for
/// each expectation factor the customers rated (prior experience, word of mouth,
/// price, striving for excellence, personal needs, company image, explicit and
/// implicit promises), how its rating goes with each respondent's mean adequacy and
/// superiority gaps: Pearson's r
/// with its Fisher-z 95 % interval, p-value and count. Narrowed to one `customer_id`,
/// `segment_id` or `survey_id` when given.
///
/// Needs `records:read`; over the customers the caller can see. Problems as for
/// `GET /reports/feedback`.
#[utoipa::path(
    tag = "reports",
    operation_id = "servqual_report",
    params(ServqualParams),
    responses((status = 200, description = "The report", body = ServqualReport))
)]
#[get("/api/v1/reports/servqual")]
pub async fn servqual_report(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<ServqualParams>,
) -> ApiResult<HttpResponse> {
    let p = params.into_inner();
    let range = ReportRange::new(p.from, p.to, p.bucket, p.calendar);
    let narrowing = Narrowing {
        customer_id: p.customer_id,
        segment_id: p.segment_id,
        survey_id: p.survey_id,
    };
    let report = state
        .db_read(move |conn| Ok(reports::servqual(conn, &principal, range, narrowing)?))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}
