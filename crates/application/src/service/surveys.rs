//! Satisfaction surveys (V-6): what the customer reads and answers through the link of
//! a resolved ticket — without an account, so nothing beyond the ticket's number and
//! subject is shown — what a low rating does, a ticket's surveys for the desk, and the
//! CSAT report.
//!
//! A survey is sent by the resolution itself (`super::tickets`). Its link is a random
//! token whose SHA-256 alone is stored. An answer is written once: the `UPDATE` that
//! stores it requires the survey unanswered and unexpired, so a second answer (even one
//! sent at the same instant) is refused. A rating at or below the ticket policy's
//! `csat_threshold` reopens the ticket (`csat_action: reopen`) or tells the team's
//! managers (`escalate`), in the answer's transaction, and the survey records which.

use chrono::{DateTime, NaiveDate, Utc};
use domain::authz::Permission;
use domain::calendar::DateRange;
use domain::feedback::surveys::ClosedLink;
use domain::notifications::{NotificationKind, Texts};
use domain::service::surveys::{is_low, CsatAction, CsatFigures, SurveyAnswer, SATISFIED_RATING};
use persistence::audit;
use persistence::db::DbConnection;
use persistence::service_reports::ServiceFilter;
use persistence::ticket_surveys::{CsatGroup, SurveyRow};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::sla_scan::managers;
use super::tickets::{link, policy_of, reopen, visible};
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::transaction;

/// What the customer is shown of a survey.
pub struct SurveyView {
    pub ticket_number: i64,
    pub ticket_subject: String,
    pub expires_at: DateTime<Utc>,
}

/// The survey of `token` if it may still be answered at `now`: an unknown token is
/// not found, an answered one a conflict, an expired one gone.
fn open_survey(conn: &mut DbConnection, token: &str, now: DateTime<Utc>) -> AppResult<SurveyRow> {
    let survey =
        persistence::ticket_surveys::find_by_token(conn, &crate::accounts::sha256_hex(token))?;
    match ClosedLink::of(survey.answered_at.is_some(), survey.expires_at.0, now) {
        Some(closed) => Err(closed.into()),
        None => Ok(survey),
    }
}

/// The survey behind a link, for the customer (no account needed).
pub fn view(conn: &mut DbConnection, token: &str) -> AppResult<SurveyView> {
    let survey = open_survey(conn, token, persistence::now())?;
    let ticket = persistence::tickets::find(conn, survey.ticket_id.0)?;
    Ok(SurveyView {
        ticket_number: ticket.number,
        ticket_subject: ticket.subject,
        expires_at: survey.expires_at.0,
    })
}

/// The customer's answer to the survey behind a link (no account needed): stored
/// once; a low rating then reopens the ticket or tells its team's managers, as its
/// SLA policy says. Audited as `ticket.survey.answer` by the system, with the rating
/// but not the comment (free text may hold personal data).
pub fn answer(
    conn: &mut DbConnection,
    token: &str,
    input: SurveyAnswer,
    lang: Lang,
) -> AppResult<SurveyRow> {
    let input = input.validated().map_err(AppError::Invalid)?;
    let acting = Acting::system(lang);
    transaction(conn, |conn| {
        let now = persistence::now();
        let survey = open_survey(conn, token, now)?;
        // The ticket's lock orders this answer after a resolution in progress.
        let ticket = persistence::tickets::find_for_update(conn, survey.ticket_id.0)?;
        if !persistence::ticket_surveys::answer(
            conn,
            survey.id.0,
            now,
            input.rating,
            input.comment.as_deref(),
        )? {
            return Err(AppError::Gone(
                "this survey was already answered or has expired".into(),
            ));
        }
        let threshold = policy_of(conn, &ticket)?;
        let follow_up = match threshold {
            Some(policy) if is_low(input.rating, policy.csat_threshold) => {
                let action = CsatAction::parse(&policy.csat_action).unwrap_or_default();
                let done = match action {
                    CsatAction::Reopen => reopen(
                        conn,
                        &acting,
                        ticket.id.0,
                        &format!("satisfaction rating {} of 5", input.rating),
                    )?,
                    CsatAction::Escalate => {
                        let readers = managers(conn, ticket.team_id)?;
                        for manager in &readers {
                            crate::notifications::notify(
                                conn,
                                *manager,
                                NotificationKind::LowRating,
                                Texts::low_rating(ticket.number, &ticket.subject, input.rating),
                                Some(link(&ticket)),
                                Some(format!("low-rating:{}:{manager}", survey.id.0)),
                            )?;
                        }
                        !readers.is_empty()
                    }
                };
                if done {
                    let follow_up = action.follow_up().as_str();
                    persistence::ticket_surveys::set_follow_up(conn, survey.id.0, follow_up)?;
                    Some(follow_up.to_string())
                } else {
                    None
                }
            }
            _ => None,
        };
        crate::feedback::entries::record_ticket_survey(
            conn,
            &acting,
            &ticket,
            survey.id.0,
            survey.agent_id.map(|id| id.0),
            input.rating,
            input.comment.clone(),
            follow_up.as_deref(),
        )?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "ticket.survey.answer",
            "ticket",
            ticket.id.0,
            &serde_json::json!({}),
            &serde_json::json!({"survey_id": survey.id.0, "rating": input.rating, "follow_up": follow_up}),
        )?;
        Ok(SurveyRow {
            answered_at: Some(persistence::sql_types::DbTime(now)),
            rating: Some(input.rating),
            comment: input.comment.clone(),
            follow_up,
            ..survey
        })
    })
}

/// The surveys of a ticket the caller sees (`records:read`), oldest first.
pub fn of_ticket(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<Vec<SurveyRow>> {
    acting.require(Permission::RecordsRead)?;
    visible(conn, acting, id)?;
    Ok(persistence::ticket_surveys::of_ticket(conn, id)?)
}

/// One group of the CSAT report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CsatRow {
    /// The agent, team or category; absent for surveys without one.
    pub id: Option<Uuid>,
    pub figures: CsatFigures,
}

/// The CSAT report: surveys sent on the local days `from`..=`to` (business time
/// zone), with how those were answered, per group.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CsatReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub totals: CsatFigures,
    pub groups: Vec<CsatRow>,
}

/// The UTC bounds of the local days `from`..=`to` in the business time zone.
pub(crate) fn day_bounds(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<(DateTime<Utc>, DateTime<Utc>)> {
    let local = crate::settings::calendar(conn)?.local();
    let invalid = |field: &str, message: &str| AppError::field(field, "out_of_range", message);
    if to < from {
        return Err(invalid("to", "must not be before from"));
    }
    let end = to
        .succ_opt()
        .ok_or_else(|| invalid("to", "is too far from today"))?;
    local
        .utc_range(DateRange { start: from, end })
        .ok_or_else(|| invalid("to", "is too far from today"))
}

/// CSAT per agent, team or category over the surveys sent on the tickets the caller
/// may see (`records:read`; visibility by the ticket's owner and team, as tickets).
pub fn csat_report(
    conn: &mut DbConnection,
    acting: &Acting,
    from: NaiveDate,
    to: NaiveDate,
    group_by: CsatGroup,
) -> AppResult<CsatReport> {
    acting.require(Permission::RecordsRead)?;
    let (start, end) = day_bounds(conn, from, to)?;
    let cells = persistence::ticket_surveys::csat(
        conn,
        start,
        end,
        group_by,
        SATISFIED_RATING,
        &ServiceFilter::default(),
        &acting.scope(),
    )?;
    let (mut sent, mut answered, mut rating_sum, mut satisfied) = (0, 0, 0, 0);
    let mut groups: Vec<CsatRow> = cells
        .iter()
        .map(|cell| {
            sent += cell.sent;
            answered += cell.answered;
            rating_sum += cell.rating_sum;
            satisfied += cell.satisfied;
            CsatRow {
                id: cell.group_id.map(|id| id.0),
                figures: CsatFigures::of(cell.sent, cell.answered, cell.rating_sum, cell.satisfied),
            }
        })
        .collect();
    groups.sort_by(|a, b| b.figures.sent.cmp(&a.figures.sent).then(a.id.cmp(&b.id)));
    Ok(CsatReport {
        from,
        to,
        totals: CsatFigures::of(sent, answered, rating_sum, satisfied),
        groups,
    })
}
