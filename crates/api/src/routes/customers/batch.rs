//! `POST /api/v1/customers/batch`: up to 100 new customers in one request, each checked
//! and stored on its own, with a result per item (`docs/API-CONVENTIONS.md`, writes).

use actix_web::{post, web, HttpRequest, HttpResponse};
use domain::authz::Permission;
use domain::customers::CustomerInput;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use application::customers::records::create_checked;

use super::crud::duplicate_confirmed;
use super::model::Customer;
use crate::auth::Principal;
use crate::conventions::JsonBody;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"items": [
    {
        "kind": "person",
        "gender": "female",
        "first_name": "مریم",
        "last_name": "احمدی",
        "phones": [{"number": "۰۹۳۵ ۱۱۱ ۲۲۳۳"}],
        "emails": [{"address": "maryam.ahmadi@example.ir"}],
        "addresses": [{"province": "اصفهان", "city": "اصفهان", "line": "خیابان چهارباغ بالا، کوچهٔ ۱۲"}],
        "birth_date": "1992-08-14",
        "acquisition_source": "instagram"
    },
    {
        "kind": "organization",
        "organization_name": "بازرگانی نوآوران پارس",
        "industry": "پخش مواد غذایی",
        "website": "https://novavaran.example.ir",
        "phones": [{"number": "021-88001122", "label": "دفتر مرکزی"}],
        "lifecycle_stage": "consideration"
    }
]}))]
pub struct CustomerBatchRequest {
    /// The customers to create, each as `POST /customers` takes it.
    #[schema(min_items = 1, max_items = 100)]
    #[validate(length(min = 1, max = 100, message = "a batch holds 1 to 100 items"))]
    pub items: Vec<CustomerInput>,
}

/// What became of one item.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerBatchItem {
    /// Position of the item in the request, from 0.
    pub index: usize,
    /// The status `POST /customers` would have answered for this item alone.
    pub status: u16,
    /// The created customer (status 201).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    /// Why the item was not created: the problem `POST /customers` would have answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerBatchResponse {
    /// Items created.
    pub created: usize,
    /// Items refused.
    pub failed: usize,
    /// One result per item, in request order.
    pub results: Vec<CustomerBatchItem>,
}

/// Create customers in a batch.
///
/// Each item is checked and stored in its own transaction with the rules of
/// `POST /customers` (normalisation, field rules, assignment, likely duplicates unless
/// `Peyvand-Confirm-Duplicate: true`), so a refused item writes nothing and does not stop
/// the others. The answer is 200 with a result per item, in order: its status (201, or the
/// status `POST /customers` would have answered) and the customer or the problem.
///
/// Needs `records:write`. Every created item is audited as `customer.create`; a retry with
/// the same `Idempotency-Key` replays the first answer instead of creating the items again.
///
/// Problems: 422 `validation_failed` for the whole request when `items` is empty or holds
/// more than 100 customers.
#[utoipa::path(
    tag = "customers",
    operation_id = "create_customers_batch",
    params(("Peyvand-Confirm-Duplicate" = Option<String>, Header, description = "`true` creates items even if they resemble existing customers")),
    request_body = CustomerBatchRequest,
    responses(
        (status = 200, description = "A result per item", body = CustomerBatchResponse),
        (status = 422, description = "No items, or more than 100", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/customers/batch")]
pub async fn create_customers_batch(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<CustomerBatchRequest>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsWrite)?;
    let items = body.0.items;
    let confirmed = duplicate_confirmed(&req);
    let acting = principal.0.clone();
    let today = state.today().await?;
    let lang = acting.lang;
    let results = state
        .db(move |conn| {
            // Custom-field definitions change rarely: read once for the whole batch.
            let definitions = application::customers::definitions(conn)?;
            let mut results = Vec::with_capacity(items.len());
            for (index, input) in items.into_iter().enumerate() {
                let created = application::transaction(conn, |conn| {
                    create_checked(conn, &acting, today, &definitions, input, confirmed)
                })
                .map_err(ApiError::from)
                .and_then(|record| Customer::from_record(&record));
                results.push(match created {
                    Ok(customer) => CustomerBatchItem {
                        index,
                        status: 201,
                        customer: Some(customer),
                        problem: None,
                    },
                    Err(err) => {
                        if let ApiError::Internal(reason) = &err {
                            tracing::error!(error = %reason, index, "batch item failed");
                        }
                        let problem = err.to_problem(lang);
                        CustomerBatchItem {
                            index,
                            status: problem.status,
                            customer: None,
                            problem: Some(problem),
                        }
                    }
                });
            }
            Ok(results)
        })
        .await?;
    let created = results.iter().filter(|item| item.status == 201).count();
    Ok(HttpResponse::Ok().json(CustomerBatchResponse {
        created,
        failed: results.len() - created,
        results,
    }))
}
