//! `POST /api/v1/customers/search` and `GET /api/v1/customers`: the customers catalogue
//! (every stored field, related phones/e-mails/tags/groups, and `custom.<key>` for each
//! custom field), sorting by the indexed fields, and the Persian-aware quick search.

use actix_web::{get, post, web, HttpResponse};
use application::customers::search::{fetch, resolve, CustomerFields};
use domain::authz::Permission;
use persistence::customers::search::Scope;

use super::model::Customer;

use crate::auth::Principal;
use crate::conventions::search::{SearchPage, SearchRequest};
use crate::conventions::{JsonBody, Page, PageParams};
use crate::error::ApiResult;
use crate::state::AppState;

async fn run_search(
    state: &AppState,
    scope: Scope,
    request: SearchRequest,
) -> ApiResult<Page<Customer>> {
    let fields = state.db(|conn| Ok(CustomerFields::load(conn)?)).await?;
    let context = state.resolve_context().await?;
    let search = resolve(request, &fields, &context)?;
    let (search, records) = state
        .db(move |conn| {
            let records = fetch(conn, &search, &scope)?;
            Ok((search, records))
        })
        .await?;
    let page = search.page(records, |record| Customer::from_record(&record));
    page.collect_results()
}

/// Search customers.
///
/// The search convention (see *Search* in the API conventions) over the customers the
/// caller may see; merged customers are left out. Filter on any field of the customer: text
/// fields (names, `code`, `national_code`, `phone`, `email`, `province`, `city`…), enums
/// (`kind`, `gender`, `degree`, `lifecycle_stage`), ids (`owner_id`, `team_id`, `tier_id`,
/// `tag_id`, `group_id`…), dates (`birth_date`, `marriage_date`, `founding_date`) and
/// instants (`created_at`, `updated_at`, `lifecycle_changed_at`, `erased_at`), with
/// relative periods on the Gregorian or Jalali calendar, and the purchase facts
/// (`order_count`, `revenue`, `first_order_at`, `last_order_at`), and the scores of the
/// current model runs (`score.rfm_segment`, `score.rfm_recency`, `score.rfm_frequency`,
/// `score.rfm_monetary`, `score.p_alive`, `score.expected_purchases`,
/// `score.expected_spend`, `score.clv`, `score.cluster`, `score.churn_risk`, and the
/// runs' ids `score.rfm_run_id`, `score.clv_run_id`, `score.cluster_run_id`,
/// `score.churn_run_id`; empty for a customer no run scored), the behavioural events
/// (`engagement_score`: each event counts its name's weight, halved every 30 days, 0
/// without events; and per event name `event.<name>.count` — 0 without events —
/// `event.<name>.first_at` and `event.<name>.last_at`). `phone`, `email`,
/// `tag_id`, `group_id` and `segment_id` (the segments the customer is a member of
/// now) match any of the customer's entries; custom fields are
/// `custom.<key>`. Sort by `id`, `display_name`, `created_at`, `updated_at`,
/// `order_count`, `revenue`, `first_order_at`, `last_order_at`, `score.clv` or
/// `score.rfm_segment`; empty values (no purchase yet, no score) come first ascending,
/// last descending.
///
/// `q` finds names, codes, national codes, phones (as typed: `0912…`, `+98912…`, Persian
/// digits), e-mails and cities. It is Persian-aware: Arabic and Persian letter forms,
/// half-spaces and spaces, diacritics and digits are unified, and Latin letters ignore
/// case.
///
/// Needs `records:read`. Problems: 400 `invalid_cursor` for a cursor that was altered or
/// came from another listing; 422 `validation_failed` naming every unknown field, wrong
/// operator or bad value, each with its path (e.g. `filter.and[1].value`).
#[utoipa::path(
    tag = "customers",
    operation_id = "search_customers",
    request_body(
        content = SearchRequest,
        example = json!({
            "filter": {"and": [
                {"field": "province", "op": "eq", "value": "تهران"},
                {"or": [
                    {"field": "lifecycle_stage", "op": "in", "value": ["purchase", "retention"]},
                    {"field": "created_at", "op": "gte", "value": {"relative": "this_month", "calendar": "jalali"}}
                ]}
            ]},
            "sort": [{"field": "created_at", "direction": "desc"}],
            "q": "علی",
            "limit": 50
        })
    ),
    responses((status = 200, description = "One page of matching customers", body = Page<Customer>))
)]
#[post("/api/v1/customers/search")]
pub async fn search_customers(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<SearchRequest>,
) -> Result<HttpResponse, actix_web::Error> {
    principal.require(Permission::RecordsRead)?;
    let page = run_search(&state, principal.scope(), body.0).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// List customers.
///
/// The customers the caller may see, newest first, one page at a time; merged customers are
/// left out. For filters, other orders or text search use `POST /customers/search`.
///
/// Needs `records:read`; record visibility applies. Problems: 400 `invalid_cursor` for a
/// cursor that was altered or came from another listing; 422 for a `limit` out of range.
#[utoipa::path(
    tag = "customers",
    operation_id = "list_customers",
    params(PageParams),
    responses((status = 200, description = "One page of customers", body = Page<Customer>))
)]
#[get("/api/v1/customers")]
pub async fn list_customers(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> Result<HttpResponse, actix_web::Error> {
    principal.require(Permission::RecordsRead)?;
    let request = SearchRequest {
        sort: Some(serde_json::json!([{"field": "created_at", "direction": "desc"}])),
        limit: Some(page.limit as i64),
        cursor: page.cursor.as_ref().map(|cursor| cursor.encode()),
        ..SearchRequest::default()
    };
    let page = run_search(&state, principal.scope(), request).await?;
    Ok(HttpResponse::Ok().json(page))
}
