//! Canned answers (V-4): the library of question-and-answer templates agents build
//! (`records:write`; deleting one needs `crm:configure`) and read (`records:read`), its
//! rendering for use, which counts the use, and the suggestions for a customer's text.
//!
//! Suggestions score every active answer (`domain::service::canned_answers::rank`),
//! read a page at a time into term counts; there are at most [`MAX_ACTIVE`] active
//! answers (a create or a change that would make one more is a 422 `too_many` on
//! `active`), so a suggestion costs at most that many documents in memory and time.

use domain::authz::Permission;
use domain::persian::search_terms;
use domain::service::canned_answers::{
    rank, AnswerLang, AnswerText, CannedAnswerInput, Document, RenderInput, Template, MAX_ACTIVE,
    MAX_SUGGESTIONS,
};
use persistence::audit;
use persistence::canned_answers::{CannedAnswerFilter, CannedAnswerRow};
use persistence::db::DbConnection;
use persistence::sql_types::{DbTime, DbUuid};
use persistence::PersistenceError;
use serde_json::json;
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::paging::{created_after, Cursor};
use crate::precondition::Precondition;
use crate::search::MAX_QUERY_LENGTH;
use crate::transaction;

/// Answers read per query while suggestions gather the active ones.
const CORPUS_PAGE: i64 = 500;

/// The texts of a stored answer.
fn answer_text(row: &CannedAnswerRow) -> AnswerText<'_> {
    AnswerText {
        title_fa: &row.title_fa,
        title_en: row.title_en.as_deref(),
        question: &row.question,
        answer_fa: &row.answer_fa,
        answer_en: row.answer_en.as_deref(),
    }
}

/// The document a merge patch of an answer applies to.
fn answer_input(row: &CannedAnswerRow) -> CannedAnswerInput {
    CannedAnswerInput {
        title_fa: row.title_fa.clone(),
        title_en: row.title_en.clone(),
        question: row.question.clone(),
        answer_fa: row.answer_fa.clone(),
        answer_en: row.answer_en.clone(),
        category: row.category.clone(),
        active: row.active,
    }
}

/// Refuses one more active answer when there are [`MAX_ACTIVE`].
fn check_room(conn: &mut DbConnection) -> AppResult<()> {
    if persistence::canned_answers::count_active(conn)? >= MAX_ACTIVE {
        return Err(AppError::field(
            "active",
            "too_many",
            format!(
                "there are {MAX_ACTIVE} active canned answers, the most there may be; \
                 save this one inactive, or deactivate or delete another"
            ),
        ));
    }
    Ok(())
}

/// Adds an answer (`records:write`); the caller is its author.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: CannedAnswerInput,
) -> AppResult<CannedAnswerRow> {
    acting.require(Permission::RecordsWrite)?;
    let input = input.validated().map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        if input.active {
            check_room(conn)?;
        }
        let now = DbTime(persistence::now());
        let row = CannedAnswerRow {
            id: DbUuid(Uuid::now_v7()),
            search_text: input.text().search_text(),
            title_fa: input.title_fa,
            title_en: input.title_en,
            question: input.question,
            answer_fa: input.answer_fa,
            answer_en: input.answer_en,
            category: input.category,
            active: input.active,
            usage_count: 0,
            last_used_at: None,
            created_by: acting.user_id.map(DbUuid),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        persistence::canned_answers::insert(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "canned_answer.create",
            "canned_answer",
            row.id.0,
            &json!({}),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// An answer (`records:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<CannedAnswerRow> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::canned_answers::find(conn, id)?)
}

/// Which answers a listing shows.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub category: Option<String>,
    pub active: Option<bool>,
    /// Quick search: every term, reduced as stored, in the titles, question or answers.
    pub q: Option<String>,
}

/// One page of answers in creation order (`records:read`).
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    listing: Listing,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<CannedAnswerRow>> {
    acting.require(Permission::RecordsRead)?;
    let q = listing.q.unwrap_or_default();
    if q.chars().count() > MAX_QUERY_LENGTH {
        return Err(AppError::field(
            "q",
            "too_long",
            format!("must be at most {MAX_QUERY_LENGTH} characters"),
        ));
    }
    let filter = CannedAnswerFilter {
        // In the form categories are stored in; a blank one filters nothing.
        category: listing
            .category
            .map(|category| category.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|category| !category.is_empty()),
        active: listing.active,
        terms: search_terms(&q),
    };
    Ok(persistence::canned_answers::list(
        conn,
        &filter,
        created_after(cursor)?,
        limit,
    )?)
}

/// Changes an answer (`records:write`): `edit` turns its document into the new one,
/// checked as a new answer's.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&CannedAnswerInput) -> AppResult<CannedAnswerInput>,
) -> AppResult<CannedAnswerRow> {
    acting.require(Permission::RecordsWrite)?;
    let current = persistence::canned_answers::find(conn, id)?;
    precondition.check(id, current.version)?;
    let after = edit(&answer_input(&current))?
        .validated()
        .map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        if after.active && !current.active {
            check_room(conn)?;
        }
        let mut row = current.clone();
        row.search_text = after.text().search_text();
        row.title_fa = after.title_fa;
        row.title_en = after.title_en;
        row.question = after.question;
        row.answer_fa = after.answer_fa;
        row.answer_en = after.answer_en;
        row.category = after.category;
        row.active = after.active;
        // Refused as stale when the answer changed since it was read above.
        let row = persistence::canned_answers::update(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "canned_answer.update",
            "canned_answer",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// Deletes an answer (`crm:configure`).
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::canned_answers::find(conn, id)?;
        precondition.check(id, current.version)?;
        persistence::canned_answers::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "canned_answer.delete",
            "canned_answer",
            id,
            &current.audit_snapshot(),
            &json!({}),
        )?;
        Ok(())
    })
}

/// An answer filled in for use.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub text: String,
    /// The language rendered: Persian when English was asked for and the answer has
    /// no English text.
    pub lang: AnswerLang,
    /// The answer as it is after this use was counted.
    pub answer: CannedAnswerRow,
}

/// Renders an answer with `input`'s values (`records:read`) and counts the use: one
/// more `usage_count` and `last_used_at` now, added by the database so that concurrent
/// uses all count. The language is `input.lang`, else the caller's.
pub fn render(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    input: RenderInput,
) -> AppResult<Rendered> {
    acting.require(Permission::RecordsRead)?;
    let input = input.validated().map_err(AppError::Invalid)?;
    let asked = input.lang.unwrap_or(match acting.lang {
        Lang::Fa => AnswerLang::Fa,
        Lang::En => AnswerLang::En,
    });
    transaction(conn, |conn| {
        persistence::canned_answers::record_use(conn, id)?;
        let answer = persistence::canned_answers::find(conn, id)?;
        let (lang, template) = match (asked, &answer.answer_en) {
            (AnswerLang::En, Some(english)) => (AnswerLang::En, english.as_str()),
            _ => (AnswerLang::Fa, answer.answer_fa.as_str()),
        };
        // Stored answers were parsed when they were saved.
        let text = Template::parse(template)
            .map_err(|err| AppError::Internal(format!("stored canned answer {id}: {err:?}")))?
            .render(&input.variables);
        Ok(Rendered { text, lang, answer })
    })
}

/// An answer suggested for a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub answer: CannedAnswerRow,
    /// BM25 similarity of the text to the answer; only positive ones are suggested.
    pub score: f64,
}

/// The active answers most like `text` (`records:read`), best first, at most `limit`
/// (1 to 20); a text whose words are all too common (or none) gets none. For the
/// suggestions of `POST /canned-answers/suggest` and of a ticket, whose messages are
/// the text.
pub fn suggest(
    conn: &mut DbConnection,
    acting: &Acting,
    text: &str,
    limit: usize,
) -> AppResult<Vec<Suggestion>> {
    acting.require(Permission::RecordsRead)?;
    ranked(conn, text, limit.clamp(1, MAX_SUGGESTIONS))
}

/// The answer a message is answered with automatically: the active answer most like
/// `text` when its score is at least `min_score`, rendered with the customer's name
/// (an answer needing an order, ticket or agent is not sent by the system), in English
/// when the message has no Persian letter and the answer has English text. Its use is
/// counted.
pub fn automatic_answer(
    conn: &mut DbConnection,
    text: &str,
    min_score: f64,
    customer: Option<(&str, Option<&str>, Option<&str>)>,
) -> AppResult<Option<String>> {
    let Some(best) = ranked(conn, text, 1)?.into_iter().next() else {
        return Ok(None);
    };
    if best.score < min_score {
        return Ok(None);
    }
    let persian = text.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c));
    let template_text = match (&best.answer.answer_en, persian) {
        (Some(english), false) => english.as_str(),
        _ => best.answer.answer_fa.as_str(),
    };
    let id = best.answer.id.0;
    let template = Template::parse(template_text)
        .map_err(|err| AppError::Internal(format!("stored canned answer {id}: {err:?}")))?;
    let mut values = std::collections::BTreeMap::new();
    if let Some((name, first, last)) = customer {
        values.insert("customer.name".to_string(), name.to_string());
        if let Some(first) = first {
            values.insert("customer.first_name".to_string(), first.to_string());
        }
        if let Some(last) = last {
            values.insert("customer.last_name".to_string(), last.to_string());
        }
    }
    if template.variables().any(|name| !values.contains_key(name)) {
        return Ok(None);
    }
    let text = template.render(&values);
    persistence::canned_answers::record_use(conn, id)?;
    Ok(Some(text))
}

/// The active answers most like `text`, best first, at most `limit`.
fn ranked(conn: &mut DbConnection, text: &str, limit: usize) -> AppResult<Vec<Suggestion>> {
    let active = CannedAnswerFilter {
        active: Some(true),
        ..CannedAnswerFilter::default()
    };
    let mut ids: Vec<Uuid> = Vec::new();
    let mut documents: Vec<Document> = Vec::new();
    let mut after = None;
    loop {
        let mut page = persistence::canned_answers::list(conn, &active, after, CORPUS_PAGE)?;
        let more = page.len() as i64 > CORPUS_PAGE;
        page.truncate(CORPUS_PAGE as usize);
        for row in &page {
            ids.push(row.id.0);
            documents.push(answer_text(row).document());
        }
        match (more, page.last()) {
            (true, Some(last)) => after = Some((last.created_at.0, last.id.0)),
            _ => break,
        }
    }
    let mut suggestions = Vec::new();
    for (index, score) in rank(text, &documents) {
        if suggestions.len() == limit {
            break;
        }
        // One deleted since it was read is left out.
        match persistence::canned_answers::find(conn, ids[index]) {
            Ok(answer) => suggestions.push(Suggestion { answer, score }),
            Err(PersistenceError::NotFound) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(suggestions)
}
