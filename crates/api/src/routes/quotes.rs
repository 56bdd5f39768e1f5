//! Quotes (S-6): creating them for a deal, reading and listing them, changing drafts,
//! their status changes (an acceptance may place the order). Quotes are never deleted,
//! so their numbers stay without gaps. A quote is visible and writable exactly when its
//! deal is.

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use application::i18n::Lang;
use application::sales::quote_document::quote_document;
use application::sales::quotes::{self, QuoteDetails, StatusChange};
use chrono::{DateTime, NaiveDate, Utc};
use domain::sales::quotes::{QuoteInput, QuoteLineInput, QuoteStatus};
use persistence::quotes::QuoteLineRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use super::products::business_currency;
use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_quote,
        list_quotes,
        get_quote,
        get_quote_pdf,
        update_quote,
        change_quote_status
    ),
    components(schemas(
        Quote,
        QuoteLine,
        QuoteInput,
        QuoteLineInput,
        QuoteStatus,
        StatusChange,
        DocumentLang
    ))
)]
pub struct QuotesApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_quote)
        .service(list_quotes)
        .service(get_quote)
        .service(get_quote_pdf)
        .service(update_quote)
        .service(change_quote_status);
}

/// A line of a quote. Amounts are integer minor units of the quote's currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteLine {
    pub product_id: Uuid,
    /// The product's name when the line was priced.
    pub name: String,
    pub name_en: Option<String>,
    pub quantity: i64,
    pub unit_price: i64,
    pub discount: i64,
    /// Basis points (1000 = 10 %).
    pub tax_rate: i32,
    /// (quantity × unit_price − discount) × tax_rate, rounded half up.
    pub tax: i64,
    /// quantity × unit_price − discount + tax.
    pub total: i64,
}

impl From<&QuoteLineRow> for QuoteLine {
    fn from(row: &QuoteLineRow) -> Self {
        QuoteLine {
            product_id: row.product_id.0,
            name: row.name.clone(),
            name_en: row.name_en.clone(),
            quantity: row.quantity,
            unit_price: row.unit_price,
            discount: row.discount,
            tax_rate: row.tax_rate,
            tax: row.tax,
            total: row.total,
        }
    }
}

/// A quote. Amounts are integer minor units of `currency` (the deal's).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a4e2-7c1d-7b3e-9f10-121212121212", "number": "Q-1405-000042",
    "deal_id": "0193a4e2-7c1d-7b3e-9f10-cccccccccccc", "status": "draft", "currency": "IRR",
    "valid_until": "2027-01-15",
    "lines": [{"product_id": "0193a4e2-7c1d-7b3e-9f10-ffffffffffff", "name": "قهوه‌ساز", "name_en": "Coffee maker",
               "quantity": 2, "unit_price": 1850000, "discount": 100000, "tax_rate": 1000, "tax": 360000, "total": 3960000}],
    "subtotal": 3700000, "discount_total": 100000, "tax_total": 360000, "total": 3960000,
    "notes": "پرداخت در دو قسط", "order_id": null, "sent_at": null, "decided_at": null,
    "created_by": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb",
    "created_at": "2026-12-09T09:31:00Z", "updated_at": "2026-12-09T09:31:00Z"
}))]
pub struct Quote {
    pub id: Uuid,
    /// `Q-<Jalali year>-<place in that year>`, unique and without gaps.
    pub number: String,
    pub deal_id: Uuid,
    /// `expired` once `valid_until` has passed (business time zone) without a decision.
    pub status: QuoteStatus,
    pub currency: String,
    /// The last day the offer holds.
    pub valid_until: NaiveDate,
    pub lines: Vec<QuoteLine>,
    /// Σ quantity × unit_price.
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    /// subtotal − discount_total + tax_total.
    pub total: i64,
    pub notes: Option<String>,
    /// The order the acceptance placed.
    pub order_id: Option<Uuid>,
    pub sent_at: Option<DateTime<Utc>>,
    /// When it was accepted or rejected.
    pub decided_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&QuoteDetails> for Quote {
    fn from(details: &QuoteDetails) -> Self {
        let row = &details.record.row;
        Quote {
            id: row.id.0,
            number: row.number.clone(),
            deal_id: row.deal_id.0,
            status: details.status,
            currency: row.currency.clone(),
            valid_until: row.valid_until,
            lines: details.record.lines.iter().map(QuoteLine::from).collect(),
            subtotal: row.subtotal,
            discount_total: row.discount_total,
            tax_total: row.tax_total,
            total: row.total,
            notes: row.notes.clone(),
            order_id: row.order_id.map(|id| id.0),
            sent_at: row.sent_at.map(|at| at.0),
            decided_at: row.decided_at.map(|at| at.0),
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        }
    }
}

fn respond(req: &HttpRequest, details: &QuoteDetails) -> HttpResponse {
    let row = &details.record.row;
    etag::single(req, row.id.0, row.version, &Quote::from(details))
}

/// Create a quote.
///
/// A draft quote for a deal the caller may see, in the deal's currency, valid until
/// `valid_until` (a local date; from the next day an undecided quote reads `expired`).
/// 1 to 200 `lines` of products priced in that currency: `unit_price` defaults to the
/// product's, `discount` comes off the line, `tax_rate` in basis points (1000 = 10 %)
/// applies to the line after its discount and is rounded half up to the minor unit, line
/// by line. The server computes every total; a client-sent `total` that differs is
/// refused. The quote is numbered `Q-<Jalali year>-<n>` in the business's year, without
/// gaps.
///
/// Needs `records:write`. Audited as `quote.create`; safe to retry with an
/// `Idempotency-Key`. Problems: 422 `validation_failed` naming every broken rule:
/// `deal_id` not a deal the caller may see (`not_found`); `lines` empty or too many;
/// `lines[i].product_id` unknown, inactive or in another currency; `lines[i].quantity`
/// out of 1..1,000,000; negative prices or discounts, a discount above its line;
/// `lines[i].tax_rate` out of 0..10000; `total` not what the lines add up to
/// (`mismatch`); `valid_until` out of range; text rules for `notes`.
#[utoipa::path(
    tag = "quotes",
    operation_id = "create_quote",
    request_body = QuoteInput,
    responses(
        (status = 201, description = "Created", body = Quote, headers(("Location" = String), ("ETag" = String))),
        (status = 422, description = "A broken rule", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/quotes")]
pub async fn create_quote(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<QuoteInput>,
) -> ApiResult<HttpResponse> {
    let today = state.today().await?;
    let acting = principal.0;
    let input = body.0;
    let details = state
        .db(move |conn| Ok(quotes::create(conn, &acting, input, today)?))
        .await?;
    let row = &details.record.row;
    let location = format!("/api/v1/quotes/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &Quote::from(&details),
    ))
}

/// Filters of the quote listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuoteFilters {
    /// Only the quotes of this deal.
    pub deal_id: Option<Uuid>,
}

/// List quotes.
///
/// The quotes whose deal the caller may see, oldest first, one page at a time; with
/// `deal_id`, one deal's quotes. Needs `records:read`. Problems: 400 `invalid_cursor`,
/// 400 `malformed_request` for a `deal_id` that is not a UUID, 422 for a `limit` out of
/// range.
#[utoipa::path(
    tag = "quotes",
    operation_id = "list_quotes",
    params(PageParams, QuoteFilters),
    responses((status = 200, description = "One page of quotes", body = Page<Quote>))
)]
#[get("/api/v1/quotes")]
pub async fn list_quotes(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
    filters: web::Query<QuoteFilters>,
) -> ApiResult<HttpResponse> {
    let today = state.today().await?;
    let deal = filters.into_inner().deal_id;
    let (cursor, fetch) = (page.cursor.clone(), page.fetch_limit());
    let acting = principal.0;
    let rows = state
        .db(move |conn| {
            Ok(quotes::list(
                conn,
                &acting,
                deal,
                cursor.as_ref(),
                fetch,
                today,
            )?)
        })
        .await?;
    let page = Page::from_rows(rows, page.limit, quotes::cursor_after, |details| {
        Quote::from(&details)
    });
    Ok(HttpResponse::Ok().json(page))
}

/// Get a quote.
///
/// With its lines and totals; `status` reads `expired` once the validity has passed
/// without a decision. Needs `records:read` and the quote's deal within the caller's
/// record visibility (404 `not_found` otherwise, exactly as for a missing one). Answers
/// with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "quotes",
    operation_id = "get_quote",
    params(("id" = Uuid, Path, description = "Quote id")),
    responses((status = 200, description = "Found", body = Quote, headers(("ETag" = String))))
)]
#[get("/api/v1/quotes/{id}")]
pub async fn get_quote(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let today = state.today().await?;
    let id = id.into_inner();
    let acting = principal.0;
    let details = state
        .db(move |conn| Ok(quotes::get(conn, &acting, id, today)?))
        .await?;
    Ok(respond(&req, &details))
}

/// The language of a printed quote.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DocumentLang {
    Fa,
    En,
}

/// Options of the printed quote.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuotePdfParams {
    /// `fa` (right to left, Persian digits, Jalali dates) or `en` (Gregorian dates);
    /// the request's `Accept-Language` when absent.
    pub lang: Option<DocumentLang>,
}

/// Print a quote.
///
/// The quote as an A4 PDF: its number, dates, customer, deal and status on every page,
/// about 25 lines a page, the totals and notes after the last line. In Persian it reads
/// right to left with shaped Persian script, Persian digits and Jalali dates; in
/// English, Gregorian dates. The font is embedded, so every reader shows the same
/// pages. Needs `records:read` and the quote's deal within the caller's record
/// visibility (404 `not_found` otherwise).
#[utoipa::path(
    tag = "quotes",
    operation_id = "get_quote_pdf",
    params(("id" = Uuid, Path, description = "Quote id"), QuotePdfParams),
    responses((status = 200, description = "The printable quote", content((Vec<u8> = "application/pdf")),
        headers(("Content-Disposition" = String, description = "`inline` with the file name, the quote number"))))
)]
#[get("/api/v1/quotes/{id}/pdf")]
pub async fn get_quote_pdf(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    params: web::Query<QuotePdfParams>,
) -> ApiResult<HttpResponse> {
    let calendar = state.calendar().await?.local();
    let id = id.into_inner();
    let acting = principal.0;
    let lang = match params.lang {
        Some(DocumentLang::Fa) => Lang::Fa,
        Some(DocumentLang::En) => Lang::En,
        None => acting.lang,
    };
    let document = state
        .db(move |conn| Ok(quote_document(conn, &acting, id, &calendar, lang)?))
        .await?;
    let file_name = document.file_name.clone();
    // Laying out the pages is CPU work: off the async executor, without a connection.
    let bytes = web::block(move || document.render()).await??;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header(ContentDisposition {
            disposition: DispositionType::Inline,
            parameters: vec![DispositionParam::Filename(file_name)],
        })
        .body(bytes))
}

/// Change a draft quote (JSON Merge Patch).
///
/// `lines` (priced anew, as at creation), `valid_until`, `notes`; with a `total` to
/// check. The deal stays. Only a draft changes: a quote that was sent, decided or has
/// expired answers 409 `conflict`.
///
/// Needs `records:write` and the quote's deal within the caller's visibility. Honours
/// `If-Match` (412 when stale). Audited as `quote.update`. Problems as for creation, and
/// 422 `immutable` for a different `deal_id`.
#[utoipa::path(
    tag = "quotes",
    operation_id = "update_quote",
    params(("id" = Uuid, Path, description = "Quote id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = QuoteInput, content_type = "application/merge-patch+json", example = json!({"valid_until": "2027-07-31", "notes": "تحویل در محل"})),
    responses(
        (status = 200, description = "Changed", body = Quote, headers(("ETag" = String))),
        (status = 409, description = "Not a draft", body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/api/v1/quotes/{id}")]
pub async fn update_quote(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    let today = state.today().await?;
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    let details = state
        .db(move |conn| {
            Ok(quotes::update(
                conn,
                &acting,
                id,
                &precondition,
                today,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    Ok(respond(&req, &details))
}

/// Change a quote's status.
///
/// A draft is `sent`; a sent quote is `accepted` or `rejected`, until it expires. Any
/// other move answers 409 `conflict`. Accepting with `"create_order": true` places a
/// pending order for the deal's customer with the quote's lines at their quoted prices
/// and discounts, in the same transaction, through the rules of `POST /orders`
/// (`source` `quote`, `external_reference` the quote's number); its problems are named
/// under `order.` (e.g. `order.currency` when the quote is not in the business
/// currency). Orders carry no tax, so the order's total is the quote's before tax. The
/// quote records the order as `order_id`.
///
/// Needs `records:write` and the quote's deal within the caller's visibility. Honours
/// `If-Match`. Audited as `quote.status` (and `order.create`).
#[utoipa::path(
    tag = "quotes",
    operation_id = "change_quote_status",
    params(("id" = Uuid, Path, description = "Quote id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body = StatusChange,
    responses(
        (status = 200, description = "Changed", body = Quote, headers(("ETag" = String))),
        (status = 409, description = "Not allowed from the quote's status", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/quotes/{id}/status")]
pub async fn change_quote_status(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<StatusChange>,
) -> ApiResult<HttpResponse> {
    let today = state.today().await?;
    let currency = business_currency(&state).await?;
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    let change = body.0;
    let details = state
        .db(move |conn| {
            Ok(quotes::change_status(
                conn,
                &acting,
                id,
                &precondition,
                today,
                change,
                currency,
            )?)
        })
        .await?;
    Ok(respond(&req, &details))
}
