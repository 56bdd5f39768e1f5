//! Surveys (F-1, F-3): their definitions, the invitations sent to customers (a token
//! link each, answered once before it expires), and the SERVQUAL answers and
//! expectation-factor ratings an answer brings.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::customers::search::Scope;
use crate::db::{DbConnection, MultiBackend};
use crate::schema::{
    expectation_factor_ratings, feedback_surveys, servqual_answers, survey_invitations,
};
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = feedback_surveys)]
pub struct SurveyRow {
    pub id: DbUuid,
    /// Unique among surveys.
    pub name: String,
    /// `[domain::feedback::surveys::SurveyQuestion]`.
    pub questions: DbJson,
    pub active: bool,
    pub valid_days: i32,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl SurveyRow {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "questions": self.questions.0,
            "active": self.active,
            "valid_days": self.valid_days,
        })
    }
}

/// Stores a new survey; a name already taken is a conflict on `name`.
pub fn insert(conn: &mut DbConnection, row: &SurveyRow) -> Result<(), PersistenceError> {
    diesel::insert_into(feedback_surveys::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, "name"))?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<SurveyRow, PersistenceError> {
    feedback_surveys::table
        .find(DbUuid(id))
        .select(SurveyRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Surveys in creation order after `after`, only active ones with `active`; `limit + 1`.
pub fn list(
    conn: &mut DbConnection,
    active: Option<bool>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<SurveyRow>, PersistenceError> {
    let mut query = feedback_surveys::table
        .select(SurveyRow::as_select())
        .into_boxed::<MultiBackend>();
    if let Some(active) = active {
        query = query.filter(feedback_surveys::active.eq(active));
    }
    Ok(crate::creation_order_page!(
        conn,
        feedback_surveys,
        query,
        after,
        limit
    )?)
}

/// Writes `row` over the stored survey if it still has `row.version`; answers the
/// survey as stored, its version one more.
pub fn update(conn: &mut DbConnection, row: &SurveyRow) -> Result<SurveyRow, PersistenceError> {
    use feedback_surveys as s;
    let updated = diesel::update(
        s::table
            .filter(s::id.eq(row.id))
            .filter(s::version.eq(row.version)),
    )
    .set((
        s::name.eq(&row.name),
        s::questions.eq(&row.questions),
        s::active.eq(row.active),
        s::valid_days.eq(row.valid_days),
        s::updated_at.eq(DbTime(crate::now())),
        s::version.eq(row.version + 1),
    ))
    .execute(conn)
    .map_err(|err| PersistenceError::from_write(err, "name"))?;
    if updated == 0 {
        find(conn, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    find(conn, row.id.0)
}

/// Deletes a survey with its invitations and their SERVQUAL answers; feedback already
/// given stays.
pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(feedback_surveys::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = survey_invitations)]
pub struct InvitationRow {
    pub id: DbUuid,
    pub survey_id: DbUuid,
    pub customer_id: DbUuid,
    /// SHA-256 of the link's token, hex.
    pub token_hash: String,
    /// `link`, or the channel kind the invitation was sent by.
    pub delivery: String,
    pub message_id: Option<DbUuid>,
    pub product_id: Option<DbUuid>,
    pub agent_id: Option<DbUuid>,
    pub ticket_id: Option<DbUuid>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub expires_at: DbTime,
    pub answered_at: Option<DbTime>,
}

pub fn insert_invitation(
    conn: &mut DbConnection,
    row: &InvitationRow,
) -> Result<(), PersistenceError> {
    diesel::insert_into(survey_invitations::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn invitation_by_token(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<InvitationRow, PersistenceError> {
    survey_invitations::table
        .filter(survey_invitations::token_hash.eq(token_hash))
        .select(InvitationRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Of `customers`, those sent any survey after `since`, with when they last were (the
/// throttle); one query per 500 customers, on the customer's invitation index.
pub fn invited_since(
    conn: &mut DbConnection,
    customers: &[Uuid],
    since: DateTime<Utc>,
) -> Result<HashMap<Uuid, DateTime<Utc>>, PersistenceError> {
    let mut last = HashMap::new();
    for chunk in customers.chunks(500) {
        // The window is the throttle's few days, so its rows are few: the latest of
        // each customer is kept here rather than by a MAX the timestamp type lacks.
        let rows: Vec<(DbUuid, DbTime)> = survey_invitations::table
            .filter(survey_invitations::customer_id.eq_any(chunk.iter().copied().map(DbUuid)))
            .filter(survey_invitations::created_at.gt(DbTime(since)))
            .select((
                survey_invitations::customer_id,
                survey_invitations::created_at,
            ))
            .load(conn)?;
        for (customer, at) in rows {
            let latest = last.entry(customer.0).or_insert(at.0);
            if at.0 > *latest {
                *latest = at.0;
            }
        }
    }
    Ok(last)
}

/// Marks an invitation answered at `now` if it is still unanswered and unexpired;
/// `false` when it was not (answered meanwhile, or expired).
pub fn mark_answered(
    conn: &mut DbConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, PersistenceError> {
    let updated = diesel::update(
        survey_invitations::table
            .filter(survey_invitations::id.eq(DbUuid(id)))
            .filter(survey_invitations::answered_at.is_null())
            .filter(survey_invitations::expires_at.gt(DbTime(now))),
    )
    .set(survey_invitations::answered_at.eq(Some(DbTime(now))))
    .execute(conn)?;
    Ok(updated == 1)
}

/// A survey's invitations to customers `scope` may see (only `customer`'s when
/// given), in creation order after `after`; `limit + 1` rows.
pub fn invitations_of_survey(
    conn: &mut DbConnection,
    survey: Uuid,
    customer: Option<Uuid>,
    scope: &Scope,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<InvitationRow>, PersistenceError> {
    let mut query = survey_invitations::table
        .filter(survey_invitations::survey_id.eq(DbUuid(survey)))
        .select(InvitationRow::as_select())
        .into_boxed::<MultiBackend>();
    if let Some(customer) = customer {
        query = query.filter(survey_invitations::customer_id.eq(DbUuid(customer)));
    }
    query = crate::seen_through_customer!(query, survey_invitations::customer_id, scope);
    Ok(crate::creation_order_page!(
        conn,
        survey_invitations,
        query,
        after,
        limit
    )?)
}

/// A customer's invitations, oldest first (the personal-data export).
pub fn invitations_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<InvitationRow>, PersistenceError> {
    Ok(survey_invitations::table
        .filter(survey_invitations::customer_id.eq(DbUuid(customer)))
        .select(InvitationRow::as_select())
        .order((
            survey_invitations::created_at.asc(),
            survey_invitations::id.asc(),
        ))
        .load(conn)?)
}

/// Erasure: a customer's unanswered invitations go, so their links stop working;
/// answers stay (numbers only) for the reports.
pub fn delete_unanswered_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<usize, PersistenceError> {
    Ok(diesel::delete(
        survey_invitations::table
            .filter(survey_invitations::customer_id.eq(DbUuid(customer)))
            .filter(survey_invitations::answered_at.is_null()),
    )
    .execute(conn)?)
}

pub fn invitation_ids_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<Uuid>, PersistenceError> {
    Ok(survey_invitations::table
        .filter(survey_invitations::customer_id.eq(DbUuid(customer)))
        .select(survey_invitations::id)
        .load::<DbUuid>(conn)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

/// A merge and its undo: invitations `ids`, with their SERVQUAL answers and factor
/// ratings, become customer `to`'s.
pub fn move_invitations(
    conn: &mut DbConnection,
    ids: &[Uuid],
    to: Uuid,
) -> Result<(), PersistenceError> {
    if ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<DbUuid> = ids.iter().copied().map(DbUuid).collect();
    diesel::update(survey_invitations::table.filter(survey_invitations::id.eq_any(ids.clone())))
        .set(survey_invitations::customer_id.eq(DbUuid(to)))
        .execute(conn)?;
    diesel::update(
        servqual_answers::table.filter(servqual_answers::invitation_id.eq_any(ids.clone())),
    )
    .set(servqual_answers::customer_id.eq(DbUuid(to)))
    .execute(conn)?;
    diesel::update(
        expectation_factor_ratings::table
            .filter(expectation_factor_ratings::invitation_id.eq_any(ids)),
    )
    .set(expectation_factor_ratings::customer_id.eq(DbUuid(to)))
    .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = servqual_answers)]
pub struct ServqualAnswerRow {
    pub id: DbUuid,
    pub invitation_id: DbUuid,
    pub survey_id: DbUuid,
    pub customer_id: DbUuid,
    pub item_key: String,
    /// `domain::feedback::servqual::Dimension`.
    pub dimension: String,
    pub desired: i32,
    pub adequate: i32,
    pub perceived: i32,
    pub answered_at: DbTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = expectation_factor_ratings)]
pub struct FactorRatingRow {
    pub id: DbUuid,
    pub invitation_id: DbUuid,
    pub customer_id: DbUuid,
    /// `domain::feedback::servqual::ExpectationFactor`.
    pub factor: String,
    pub rating: i32,
    pub answered_at: DbTime,
}

pub fn insert_servqual(
    conn: &mut DbConnection,
    rows: &[ServqualAnswerRow],
) -> Result<(), PersistenceError> {
    for row in rows {
        diesel::insert_into(servqual_answers::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn insert_factors(
    conn: &mut DbConnection,
    rows: &[FactorRatingRow],
) -> Result<(), PersistenceError> {
    for row in rows {
        diesel::insert_into(expectation_factor_ratings::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// A customer's SERVQUAL answers and factor ratings, oldest first (the export).
pub fn answers_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<(Vec<ServqualAnswerRow>, Vec<FactorRatingRow>), PersistenceError> {
    let answers = servqual_answers::table
        .filter(servqual_answers::customer_id.eq(DbUuid(customer)))
        .select(ServqualAnswerRow::as_select())
        .order((
            servqual_answers::answered_at.asc(),
            servqual_answers::id.asc(),
        ))
        .load(conn)?;
    let factors = expectation_factor_ratings::table
        .filter(expectation_factor_ratings::customer_id.eq(DbUuid(customer)))
        .select(FactorRatingRow::as_select())
        .order((
            expectation_factor_ratings::answered_at.asc(),
            expectation_factor_ratings::id.asc(),
        ))
        .load(conn)?;
    Ok((answers, factors))
}
