//! Feedback in one place (F-1): one row per survey answer, review, ticket satisfaction
//! answer or text marked as feedback, with its sentiment scored when it was written.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::customers::search::Scope;
use crate::db::{DbConnection, MultiBackend};
use crate::schema::feedback;
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = feedback)]
pub struct FeedbackRow {
    pub id: DbUuid,
    pub customer_id: DbUuid,
    /// `domain::feedback::entries::FeedbackSource`.
    pub source: String,
    /// `domain::feedback::entries::Metric`, with `score`.
    pub metric: Option<String>,
    pub score: Option<i32>,
    pub body: Option<String>,
    pub sentiment_score: Option<f64>,
    pub sentiment_label: Option<String>,
    pub sentiment_confidence: Option<f64>,
    pub product_id: Option<DbUuid>,
    pub agent_id: Option<DbUuid>,
    pub team_id: Option<DbUuid>,
    pub channel: Option<String>,
    pub ticket_id: Option<DbUuid>,
    pub message_id: Option<DbUuid>,
    pub note_id: Option<DbUuid>,
    pub ticket_message_id: Option<DbUuid>,
    pub ticket_survey_id: Option<DbUuid>,
    pub survey_id: Option<DbUuid>,
    pub invitation_id: Option<DbUuid>,
    pub question_key: Option<String>,
    pub negative: bool,
    /// What negative feedback did: `task_created`, `ticket_reopened`, or what the
    /// ticket's SLA policy did to a low satisfaction rating.
    pub follow_up: Option<String>,
    pub task_id: Option<DbUuid>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
}

/// What a listing keeps; every field narrows it.
#[derive(Debug, Clone, Default)]
pub struct FeedbackFilter {
    pub customer_id: Option<Uuid>,
    pub source: Option<String>,
    pub metric: Option<String>,
    pub product_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    pub ticket_id: Option<Uuid>,
    pub survey_id: Option<Uuid>,
    pub channel: Option<String>,
    pub sentiment_label: Option<String>,
    pub negative: Option<bool>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Stores new feedback; a text already marked (the same message, ticket message, note
/// or ticket survey) is a conflict on `source`.
pub fn insert(conn: &mut DbConnection, row: &FeedbackRow) -> Result<(), PersistenceError> {
    diesel::insert_into(feedback::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, "source"))?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<FeedbackRow, PersistenceError> {
    feedback::table
        .find(DbUuid(id))
        .select(FeedbackRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Records what negative feedback did.
pub fn set_follow_up(
    conn: &mut DbConnection,
    id: Uuid,
    follow_up: &str,
    task: Option<Uuid>,
) -> Result<(), PersistenceError> {
    diesel::update(feedback::table.find(DbUuid(id)))
        .set((
            feedback::follow_up.eq(follow_up),
            feedback::task_id.eq(task.map(DbUuid)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Feedback meeting `filter` about customers `scope` may see, in creation order after
/// `after`; `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    filter: &FeedbackFilter,
    scope: &Scope,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<FeedbackRow>, PersistenceError> {
    let mut query = feedback::table
        .select(FeedbackRow::as_select())
        .into_boxed::<MultiBackend>();
    query = crate::seen_through_customer!(query, feedback::customer_id, scope);
    if let Some(id) = filter.customer_id {
        query = query.filter(feedback::customer_id.eq(DbUuid(id)));
    }
    if let Some(source) = &filter.source {
        query = query.filter(feedback::source.eq(source.clone()));
    }
    if let Some(metric) = &filter.metric {
        query = query.filter(feedback::metric.eq(metric.clone()));
    }
    if let Some(id) = filter.product_id {
        query = query.filter(feedback::product_id.eq(DbUuid(id)));
    }
    if let Some(id) = filter.agent_id {
        query = query.filter(feedback::agent_id.eq(DbUuid(id)));
    }
    if let Some(id) = filter.ticket_id {
        query = query.filter(feedback::ticket_id.eq(DbUuid(id)));
    }
    if let Some(id) = filter.survey_id {
        query = query.filter(feedback::survey_id.eq(DbUuid(id)));
    }
    if let Some(channel) = &filter.channel {
        query = query.filter(feedback::channel.eq(channel.clone()));
    }
    if let Some(label) = &filter.sentiment_label {
        query = query.filter(feedback::sentiment_label.eq(label.clone()));
    }
    if let Some(negative) = filter.negative {
        query = query.filter(feedback::negative.eq(negative));
    }
    if let Some(from) = filter.from {
        query = query.filter(feedback::created_at.ge(DbTime(from)));
    }
    if let Some(until) = filter.until {
        query = query.filter(feedback::created_at.lt(DbTime(until)));
    }
    Ok(crate::creation_order_page!(
        conn, feedback, query, after, limit
    )?)
}

pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(feedback::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// A customer's feedback, oldest first (the personal-data export).
pub fn of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<FeedbackRow>, PersistenceError> {
    Ok(feedback::table
        .filter(feedback::customer_id.eq(DbUuid(customer)))
        .select(FeedbackRow::as_select())
        .order((feedback::created_at.asc(), feedback::id.asc()))
        .load(conn)?)
}

/// Erasure: the words go, the scores stay (aggregates keep their counts).
pub fn redact_customer(conn: &mut DbConnection, customer: Uuid) -> Result<usize, PersistenceError> {
    Ok(
        diesel::update(feedback::table.filter(feedback::customer_id.eq(DbUuid(customer))))
            .set(feedback::body.eq(None::<String>))
            .execute(conn)?,
    )
}

/// A customer's feedback ids (a merge moves them).
pub fn ids_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<Uuid>, PersistenceError> {
    Ok(feedback::table
        .filter(feedback::customer_id.eq(DbUuid(customer)))
        .select(feedback::id)
        .load::<DbUuid>(conn)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

/// A merge and its undo: feedback `ids` become customer `to`'s.
pub fn move_to(conn: &mut DbConnection, ids: &[Uuid], to: Uuid) -> Result<(), PersistenceError> {
    let ids: Vec<DbUuid> = ids.iter().copied().map(DbUuid).collect();
    diesel::update(feedback::table.filter(feedback::id.eq_any(ids)))
        .set(feedback::customer_id.eq(DbUuid(to)))
        .execute(conn)?;
    Ok(())
}
