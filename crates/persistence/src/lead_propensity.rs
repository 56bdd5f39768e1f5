//! What a `lead_propensity` run reads and writes (S-2, A-9): the leads with a known
//! outcome (`converted` or `disqualified`) created before the calibration end, the open
//! leads it scores — both a page at a time, keyset on the id — how often each source,
//! province and campaign occurs among the former (counted by the database), and the
//! probabilities it leaves on the open leads with its run id.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::sql_types::Double;
use domain::sales::leads::LeadStatus;
use uuid::Uuid;

use crate::db::{DbConnection, MultiBackend};
use crate::schema::leads;
use crate::sql_types::{DbJson, DbTime, DbUuid, Jsonb, Uuid as SqlUuid};
use crate::PersistenceError;

/// Outcomes a model learns from: converted (1) and disqualified (0).
const OUTCOMES: [LeadStatus; 2] = [LeadStatus::Converted, LeadStatus::Disqualified];
/// Leads still being worked, which get a propensity.
const OPEN: [LeadStatus; 3] = [
    LeadStatus::New,
    LeadStatus::Contacted,
    LeadStatus::Qualified,
];

fn names(statuses: &[LeadStatus]) -> Vec<&'static str> {
    statuses.iter().map(|status| status.as_str()).collect()
}

/// The facts of one lead a propensity model uses, and its status.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = leads)]
pub struct LeadFactsRow {
    pub id: DbUuid,
    pub source: Option<String>,
    pub province: Option<String>,
    pub campaign: Option<String>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    pub phones: DbJson,
    pub emails: DbJson,
    pub status: String,
    pub created_at: DbTime,
}

/// A categorical fact whose values are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Source,
    Province,
    Campaign,
}

fn with_outcome_before(
    end: DateTime<Utc>,
) -> leads::BoxedQuery<'static, MultiBackend, leads::SqlType> {
    leads::table
        .filter(leads::status.eq_any(names(&OUTCOMES)))
        .filter(leads::created_at.lt(DbTime(end)))
        .into_boxed()
}

/// How many leads created before `end` have an outcome.
pub fn outcome_count(conn: &mut DbConnection, end: DateTime<Utc>) -> Result<i64, PersistenceError> {
    Ok(with_outcome_before(end).count().get_result(conn)?)
}

/// How often each value of `category` occurs among the leads created before `end` with
/// an outcome (leads without one are not counted).
pub fn value_counts(
    conn: &mut DbConnection,
    category: Category,
    end: DateTime<Utc>,
) -> Result<HashMap<String, i64>, PersistenceError> {
    let query = leads::table
        .filter(leads::status.eq_any(names(&OUTCOMES)))
        .filter(leads::created_at.lt(DbTime(end)));
    let rows: Vec<(Option<String>, i64)> = match category {
        Category::Source => query
            .group_by(leads::source)
            .select((leads::source, count_star()))
            .load(conn)?,
        Category::Province => query
            .group_by(leads::province)
            .select((leads::province, count_star()))
            .load(conn)?,
        Category::Campaign => query
            .group_by(leads::campaign)
            .select((leads::campaign, count_star()))
            .load(conn)?,
    };
    Ok(rows
        .into_iter()
        .filter_map(|(value, count)| value.map(|value| (value, count)))
        .collect())
}

/// The next `limit` leads after `after` (by id) created before `end` with an outcome.
pub fn outcomes_after(
    conn: &mut DbConnection,
    end: DateTime<Utc>,
    after: Uuid,
    limit: i64,
) -> Result<Vec<LeadFactsRow>, PersistenceError> {
    Ok(with_outcome_before(end)
        .filter(leads::id.gt(DbUuid(after)))
        .order(leads::id)
        .limit(limit)
        .select(LeadFactsRow::as_select())
        .load(conn)?)
}

/// How many leads are open.
pub fn open_count(conn: &mut DbConnection) -> Result<i64, PersistenceError> {
    Ok(leads::table
        .filter(leads::status.eq_any(names(&OPEN)))
        .count()
        .get_result(conn)?)
}

/// The next `limit` open leads after `after` (by id).
pub fn open_after(
    conn: &mut DbConnection,
    after: Uuid,
    limit: i64,
) -> Result<Vec<LeadFactsRow>, PersistenceError> {
    Ok(leads::table
        .filter(leads::status.eq_any(names(&OPEN)))
        .filter(leads::id.gt(DbUuid(after)))
        .order(leads::id)
        .limit(limit)
        .select(LeadFactsRow::as_select())
        .load(conn)?)
}

/// One open lead's propensity as a run gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Propensity {
    pub lead_id: Uuid,
    pub probability: f64,
    /// `[{feature, contribution, direction}]`, the largest first.
    pub factors: serde_json::Value,
}

/// Leads per `UPDATE … FROM (VALUES …)`: three values a row stays under SQLite's 32,766
/// bound values.
const WRITE_CHUNK: usize = 5_000;

/// Stores the propensities of run `run_id`; a lead already scored by a later run keeps
/// that run's. Answers how many were written.
pub fn write(
    conn: &mut DbConnection,
    run_id: Uuid,
    rows: &[Propensity],
) -> Result<usize, PersistenceError> {
    let mut written = 0;
    for chunk in rows.chunks(WRITE_CHUNK) {
        let values = vec!["(?, ?, ?)"; chunk.len()].join(", ");
        let sql = format!(
            "UPDATE leads SET propensity_run_id = ?, propensity = v.column2, \
               propensity_factors = v.column3 \
             FROM (VALUES {values}) AS v \
             WHERE leads.id = v.column1 \
               AND (leads.propensity_run_id IS NULL OR leads.propensity_run_id <= ?)"
        );
        let mut query = diesel::sql_query(crate::db::placeholders(conn, &sql))
            .into_boxed::<MultiBackend>()
            .bind::<SqlUuid, _>(DbUuid(run_id));
        for row in chunk {
            query = query
                .bind::<SqlUuid, _>(DbUuid(row.lead_id))
                .bind::<Double, _>(row.probability)
                .bind::<Jsonb, _>(DbJson(row.factors.clone()));
        }
        written += query.bind::<SqlUuid, _>(DbUuid(run_id)).execute(conn)?;
    }
    Ok(written)
}

/// Removes the propensities of runs before `run_id` (leads that run did not score: no
/// longer open, or deleted scores); answers how many.
pub fn clear_before(conn: &mut DbConnection, run_id: Uuid) -> Result<usize, PersistenceError> {
    Ok(
        diesel::update(leads::table.filter(leads::propensity_run_id.lt(DbUuid(run_id))))
            .set((
                leads::propensity_run_id.eq(None::<DbUuid>),
                leads::propensity.eq(None::<f64>),
                leads::propensity_factors.eq(None::<DbJson>),
            ))
            .execute(conn)?,
    )
}
