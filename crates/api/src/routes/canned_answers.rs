//! Canned answers (V-4): question-and-answer templates agents answer tickets with, with
//! variables such as `{{customer.name}}`; rendered for use (which counts the use), and
//! suggested for a customer's text by BM25 similarity over Persian-normalised words.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::service::canned_answers::{self as answers, Listing, Rendered, Suggestion};
use chrono::{DateTime, Utc};
use domain::service::canned_answers::{AnswerLang, CannedAnswerInput, RenderInput, SuggestInput};
use persistence::canned_answers::CannedAnswerRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::pagination::creation_cursor;
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_canned_answer,
        list_canned_answers,
        suggest_canned_answers,
        get_canned_answer,
        update_canned_answer,
        delete_canned_answer,
        render_canned_answer
    ),
    components(schemas(
        CannedAnswer,
        CannedAnswerInput,
        RenderInput,
        AnswerLang,
        RenderedAnswer,
        SuggestInput,
        SuggestedAnswer,
        Suggestions
    ))
)]
pub struct CannedAnswersApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_canned_answer)
        .service(list_canned_answers)
        .service(suggest_canned_answers)
        .service(get_canned_answer)
        .service(update_canned_answer)
        .service(delete_canned_answer)
        .service(render_canned_answer);
}

/// A canned answer as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct CannedAnswer {
    pub id: Uuid,
    pub title_fa: String,
    pub title_en: Option<String>,
    pub question: String,
    pub answer_fa: String,
    pub answer_en: Option<String>,
    pub category: Option<String>,
    pub active: bool,
    /// How many times it was rendered for use.
    pub usage_count: i64,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<&CannedAnswerRow> for CannedAnswer {
    fn from(row: &CannedAnswerRow) -> Self {
        CannedAnswer {
            id: row.id.0,
            title_fa: row.title_fa.clone(),
            title_en: row.title_en.clone(),
            question: row.question.clone(),
            answer_fa: row.answer_fa.clone(),
            answer_en: row.answer_en.clone(),
            category: row.category.clone(),
            active: row.active,
            usage_count: row.usage_count,
            last_used_at: row.last_used_at.map(|at| at.0),
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
        }
    }
}

/// Which answers a listing shows.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CannedAnswerFilters {
    /// Only answers of exactly this category.
    pub category: Option<String>,
    /// Only active (`true`) or inactive (`false`) answers.
    pub active: Option<bool>,
    /// Quick search: every word must appear in the titles, question or answers,
    /// Persian-aware ("كيف" finds "کیف", a half-space matches a space or none); at most
    /// 200 characters.
    pub q: Option<String>,
}

/// An answer filled in.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenderedAnswer {
    pub text: String,
    /// The language rendered: Persian when English was asked for and the answer has
    /// none.
    pub lang: AnswerLang,
    /// The answer's uses, this one included.
    pub usage_count: i64,
}

impl From<Rendered> for RenderedAnswer {
    fn from(rendered: Rendered) -> Self {
        RenderedAnswer {
            text: rendered.text,
            lang: rendered.lang,
            usage_count: rendered.answer.usage_count,
        }
    }
}

/// An answer suggested for a text.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestedAnswer {
    /// BM25 similarity of the text to the answer; higher is closer, always positive.
    pub score: f64,
    pub answer: CannedAnswer,
}

/// The suggestions, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Suggestions {
    pub data: Vec<SuggestedAnswer>,
}

impl From<Vec<Suggestion>> for Suggestions {
    fn from(suggestions: Vec<Suggestion>) -> Self {
        Suggestions {
            data: suggestions
                .into_iter()
                .map(|suggestion| SuggestedAnswer {
                    score: suggestion.score,
                    answer: CannedAnswer::from(&suggestion.answer),
                })
                .collect(),
        }
    }
}

/// Add a canned answer.
///
/// Titles, the customer `question` it answers (what suggestions compare a customer's
/// text with), the Persian answer and optionally the English one, a `category` and
/// whether it is `active`. Answers may hold the variables `{{customer.name}}`,
/// `{{customer.first_name}}`, `{{customer.last_name}}`, `{{order.number}}`,
/// `{{ticket.number}}` and `{{agent.name}}`, filled in by
/// `POST /canned-answers/{id}/render`. At most 5000 active answers.
///
/// Needs `records:write`. Audited as `canned_answer.create`. Problems: 422
/// `validation_failed` naming each field and rule, e.g. `answer_fa` `unknown_variable`
/// (a name not in the list), `answer_en` `invalid_template` (braces around no variable
/// name, an unclosed `{{`), `active` `too_many` (5000 active answers already).
#[utoipa::path(
    tag = "canned_answers",
    operation_id = "create_canned_answer",
    request_body = CannedAnswerInput,
    responses(
        (status = 201, description = "Created", body = CannedAnswer, headers(("Location" = String), ("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/canned-answers")]
pub async fn create_canned_answer(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<CannedAnswerInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let input = body.0;
    let row = state
        .db(move |conn| Ok(answers::create(conn, &acting, input)?))
        .await?;
    let location = format!("/api/v1/canned-answers/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &CannedAnswer::from(&row),
    ))
}

/// List canned answers.
///
/// In creation order, one page at a time; `category`, `active` and a Persian-aware
/// quick search `q` narrow them. Needs `records:read`.
#[utoipa::path(
    tag = "canned_answers",
    operation_id = "list_canned_answers",
    params(PageParams, CannedAnswerFilters),
    responses((status = 200, description = "One page of answers", body = Page<CannedAnswer>))
)]
#[get("/api/v1/canned-answers")]
pub async fn list_canned_answers(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
    filters: web::Query<CannedAnswerFilters>,
) -> ApiResult<HttpResponse> {
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let filters = filters.into_inner();
    let listing = Listing {
        category: filters.category,
        active: filters.active,
        q: filters.q,
    };
    let acting = principal.0;
    let rows = state
        .db(move |conn| {
            Ok(answers::list(
                conn,
                &acting,
                listing,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let page = Page::from_rows(
        rows,
        page.limit,
        |row| creation_cursor(row.created_at.0, row.id.0),
        |row| CannedAnswer::from(&row),
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Suggest canned answers for a text.
///
/// The active answers most similar to `text` (a customer's question, a ticket's
/// messages), best first, each with its `score`: BM25 over the words of each answer's
/// titles and question (and, at half weight, its answers), Persian-aware (Arabic and
/// Persian letters, digits and half-spaces unified) and without the most common
/// Persian and English words. Only answers sharing a word with the text are suggested,
/// at most `limit` (1 to 20, default 5). Needs `records:read`; counts no use.
#[utoipa::path(
    tag = "canned_answers",
    operation_id = "suggest_canned_answers",
    request_body = SuggestInput,
    responses(
        (status = 200, description = "The suggestions, best first", body = Suggestions),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/canned-answers/suggest")]
pub async fn suggest_canned_answers(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<SuggestInput>,
) -> ApiResult<HttpResponse> {
    let (text, limit) = body.0.validated().map_err(ApiError::Validation)?;
    let acting = principal.0;
    let suggestions = state
        .db(move |conn| Ok(answers::suggest(conn, &acting, &text, limit)?))
        .await?;
    Ok(HttpResponse::Ok().json(Suggestions::from(suggestions)))
}

/// Get a canned answer.
///
/// Needs `records:read`. Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "canned_answers",
    operation_id = "get_canned_answer",
    params(("id" = Uuid, Path, description = "Answer id")),
    responses((status = 200, description = "Found", body = CannedAnswer, headers(("ETag" = String))))
)]
#[get("/api/v1/canned-answers/{id}")]
pub async fn get_canned_answer(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(answers::get(conn, &acting, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &CannedAnswer::from(&row),
    ))
}

/// Change a canned answer (JSON Merge Patch).
///
/// Any field, checked as on creation, e.g. `{"active": false}` or
/// `{"answer_en": null}`. Needs `records:write`; honours `If-Match` (412 when stale).
/// Audited as `canned_answer.update`. Uses are counted apart: rendering does not
/// change the version.
#[utoipa::path(
    tag = "canned_answers",
    operation_id = "update_canned_answer",
    params(("id" = Uuid, Path, description = "Answer id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = CannedAnswerInput, content_type = "application/merge-patch+json", example = json!({"category": "shipping", "answer_en": "Dear {{customer.name}}, your order ships within two business days."})),
    responses(
        (status = 200, description = "Changed", body = CannedAnswer, headers(("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/api/v1/canned-answers/{id}")]
pub async fn update_canned_answer(
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
            Ok(answers::update(
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
        &CannedAnswer::from(&row),
    ))
}

/// Delete a canned answer.
///
/// Needs `crm:configure`: agents build the library, the business prunes it. Honours
/// `If-Match`. Audited as `canned_answer.delete`.
#[utoipa::path(
    tag = "canned_answers",
    operation_id = "delete_canned_answer",
    params(
        ("id" = Uuid, Path, description = "Answer id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the answer has changed since")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/canned-answers/{id}")]
pub async fn delete_canned_answer(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(answers::delete(conn, &acting, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Render a canned answer for use.
///
/// Fills in the answer of `lang` (`fa` or `en`; the request's `Accept-Language` when
/// left out; Persian when the answer has no English) with `variables`; **a variable
/// without a value renders as empty text**. Counts the use: `usage_count` one more
/// and `last_used_at` now, added by the database, so concurrent uses all count.
/// Needs `records:read`. Problems: 422 `unknown_variable` for a name in `variables`
/// that no answer may hold.
#[utoipa::path(
    tag = "canned_answers",
    operation_id = "render_canned_answer",
    params(("id" = Uuid, Path, description = "Answer id")),
    request_body = RenderInput,
    responses(
        (status = 200, description = "The text to send", body = RenderedAnswer),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/canned-answers/{id}/render")]
pub async fn render_canned_answer(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<RenderInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let input = body.0;
    let rendered = state
        .db(move |conn| Ok(answers::render(conn, &acting, id, input)?))
        .await?;
    Ok(HttpResponse::Ok().json(RenderedAnswer::from(rendered)))
}
