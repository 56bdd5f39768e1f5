//! Canned answers (V-4): the stored templates, listed in creation order with their
//! filters, read a page of active ones at a time for suggestions, and counted as used.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::{DbConnection, MultiBackend};
use crate::filter::like_escape;
use crate::schema::canned_answers;
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = canned_answers)]
pub struct CannedAnswerRow {
    pub id: DbUuid,
    pub title_fa: String,
    pub title_en: Option<String>,
    pub question: String,
    pub answer_fa: String,
    pub answer_en: Option<String>,
    pub category: Option<String>,
    pub active: bool,
    /// How many times the answer was rendered for use.
    pub usage_count: i64,
    pub last_used_at: Option<DbTime>,
    /// `domain::service::canned_answers::AnswerText::search_text`.
    pub search_text: String,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl CannedAnswerRow {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "title_fa": self.title_fa,
            "title_en": self.title_en,
            "question": self.question,
            "answer_fa": self.answer_fa,
            "answer_en": self.answer_en,
            "category": self.category,
            "active": self.active,
        })
    }
}

/// What a listing keeps.
#[derive(Debug, Clone, Default)]
pub struct CannedAnswerFilter {
    /// Exactly this category.
    pub category: Option<String>,
    pub active: Option<bool>,
    /// Quick-search terms (`domain::persian::search_terms`), each a substring of the
    /// search text.
    pub terms: Vec<String>,
}

pub fn insert(conn: &mut DbConnection, row: &CannedAnswerRow) -> Result<(), PersistenceError> {
    diesel::insert_into(canned_answers::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<CannedAnswerRow, PersistenceError> {
    canned_answers::table
        .find(DbUuid(id))
        .select(CannedAnswerRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// How many active answers there are.
pub fn count_active(conn: &mut DbConnection) -> Result<i64, PersistenceError> {
    Ok(canned_answers::table
        .filter(canned_answers::active.eq(true))
        .count()
        .get_result(conn)?)
}

/// Answers meeting `filter` in creation order after `after`; `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    filter: &CannedAnswerFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<CannedAnswerRow>, PersistenceError> {
    let mut query = canned_answers::table
        .select(CannedAnswerRow::as_select())
        .into_boxed::<MultiBackend>();
    if let Some(category) = &filter.category {
        query = query.filter(canned_answers::category.eq(category.clone()));
    }
    if let Some(active) = filter.active {
        query = query.filter(canned_answers::active.eq(active));
    }
    for term in &filter.terms {
        query = query.filter(
            canned_answers::search_text
                .like(format!("%{}%", like_escape(term)))
                .escape('\\'),
        );
    }
    Ok(crate::creation_order_page!(
        conn,
        canned_answers,
        query,
        after,
        limit
    )?)
}

/// Writes `row`'s texts, category and flag over the stored answer if it still has
/// `row.version`; answers the answer as stored, its version one more.
pub fn update(
    conn: &mut DbConnection,
    row: &CannedAnswerRow,
) -> Result<CannedAnswerRow, PersistenceError> {
    use canned_answers as c;
    let updated = diesel::update(
        c::table
            .filter(c::id.eq(row.id))
            .filter(c::version.eq(row.version)),
    )
    .set((
        c::title_fa.eq(&row.title_fa),
        c::title_en.eq(&row.title_en),
        c::question.eq(&row.question),
        c::answer_fa.eq(&row.answer_fa),
        c::answer_en.eq(&row.answer_en),
        c::category.eq(&row.category),
        c::active.eq(row.active),
        c::search_text.eq(&row.search_text),
        c::updated_at.eq(DbTime(crate::now())),
        c::version.eq(row.version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        find(conn, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    find(conn, row.id.0)
}

pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(canned_answers::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// Counts one use of the answer in the database's own arithmetic, so that concurrent
/// uses are all counted; the version stays, a use is not a change of the answer.
pub fn record_use(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    let updated = diesel::update(canned_answers::table.find(DbUuid(id)))
        .set((
            canned_answers::usage_count.eq(canned_answers::usage_count + 1),
            canned_answers::last_used_at.eq(Some(DbTime(crate::now()))),
        ))
        .execute(conn)?;
    if updated == 0 {
        return Err(PersistenceError::NotFound);
    }
    Ok(())
}
