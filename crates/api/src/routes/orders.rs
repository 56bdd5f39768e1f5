//! Orders (S-8): placing, reading, searching and changing them, their returns, and the
//! batch form of placing. Every order belongs to a customer and is visible exactly when
//! its customer is.

use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use application::commerce::{orders, returns};
use chrono::{DateTime, Utc};
use domain::commerce::orders::{OrderChanges, OrderInput, OrderLineInput, OrderStatus};
use domain::commerce::returns::{ReturnInput, ReturnLineInput};
use persistence::orders::{OrderLineRow, OrderRecord, ReturnLineRow, ReturnRow};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::products::business_currency;
use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::search::{SearchPage, SearchRequest};
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_order,
        create_orders_batch,
        list_orders,
        search_orders,
        get_order,
        update_order,
        create_order_return,
        list_order_returns
    ),
    components(schemas(
        Order,
        OrderLine,
        OrderInput,
        OrderLineInput,
        OrderChanges,
        OrderStatus,
        OrderReturn,
        OrderReturnLine,
        ReturnInput,
        ReturnLineInput,
        OrderBatchRequest,
        OrderBatchResponse,
        OrderBatchItem,
        ReturnRecorded
    ))
)]
pub struct OrdersApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_order)
        .service(create_orders_batch)
        .service(list_orders)
        .service(search_orders)
        .service(get_order)
        .service(update_order)
        .service(create_order_return)
        .service(list_order_returns);
}

/// One line of an order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLine {
    pub id: Uuid,
    pub product_id: Uuid,
    pub quantity: i64,
    pub unit_price: i64,
    /// The product's unit cost when the order was placed.
    pub unit_cost: Option<i64>,
    pub discount: i64,
    /// quantity × unit_price − discount.
    pub total: i64,
    pub returned_quantity: i64,
    pub refunded: i64,
}

impl From<&OrderLineRow> for OrderLine {
    fn from(row: &OrderLineRow) -> Self {
        OrderLine {
            id: row.id.0,
            product_id: row.product_id.0,
            quantity: row.quantity,
            unit_price: row.unit_price,
            unit_cost: row.unit_cost,
            discount: row.discount,
            total: row.total,
            returned_quantity: row.returned_quantity,
            refunded: row.refunded,
        }
    }
}

/// An order. Amounts are integer minor units of `currency` (whole rials for IRR).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a4e2-7c1d-7b3e-9f10-cccccccccccc", "customer_id": "0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaaa",
    "placed_at": "2026-11-28T09:30:00Z", "status": "paid", "channel": "store", "campaign": "yalda-1405",
    "source": "pos-vanak", "external_reference": "INV-20931", "currency": "IRR",
    "subtotal": 3700000, "discount_total": 100000, "total": 3600000, "refunded_total": 0, "net_total": 3600000,
    "lines": [{"id": "0193a4e2-7c1d-7b3e-9f10-eeeeeeeeeeee", "product_id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb",
               "quantity": 2, "unit_price": 1850000, "unit_cost": 1200000, "discount": 100000, "total": 3600000,
               "returned_quantity": 0, "refunded": 0}],
    "notes": null, "created_at": "2026-11-28T09:31:00Z", "updated_at": "2026-11-28T09:31:00Z"
}))]
pub struct Order {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub placed_at: DateTime<Utc>,
    pub status: OrderStatus,
    pub channel: Option<String>,
    pub campaign: Option<String>,
    pub source: Option<String>,
    pub external_reference: Option<String>,
    pub currency: String,
    pub subtotal: i64,
    pub discount_total: i64,
    pub total: i64,
    pub refunded_total: i64,
    /// total − refunded_total: what the order brings in.
    pub net_total: i64,
    pub lines: Vec<OrderLine>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Order {
    pub fn from_record(record: &OrderRecord) -> ApiResult<Order> {
        let row = &record.row;
        Ok(Order {
            id: row.id.0,
            customer_id: row.customer_id.0,
            placed_at: row.placed_at.0,
            status: row
                .status()
                .map_err(|err| ApiError::Internal(err.to_string()))?,
            channel: row.channel.clone(),
            campaign: row.campaign.clone(),
            source: row.source.clone(),
            external_reference: row.external_reference.clone(),
            currency: row.currency.clone(),
            subtotal: row.subtotal,
            discount_total: row.discount_total,
            total: row.total,
            refunded_total: row.refunded_total,
            net_total: row.total - row.refunded_total,
            lines: record.lines.iter().map(OrderLine::from).collect(),
            notes: row.notes.clone(),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        })
    }
}

/// Units of one line that came back.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderReturnLine {
    pub order_line_id: Uuid,
    pub quantity: i64,
    pub refund: i64,
}

/// A return of units of an order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderReturn {
    pub id: Uuid,
    pub order_id: Uuid,
    pub reason: String,
    /// Σ refunds of the lines, in the order's currency.
    pub refund_total: i64,
    pub returned_at: DateTime<Utc>,
    pub lines: Vec<OrderReturnLine>,
    pub created_at: DateTime<Utc>,
}

impl OrderReturn {
    fn from_rows(row: &ReturnRow, lines: &[ReturnLineRow]) -> OrderReturn {
        OrderReturn {
            id: row.id.0,
            order_id: row.order_id.0,
            reason: row.reason.clone(),
            refund_total: row.refund_total,
            returned_at: row.returned_at.0,
            lines: lines
                .iter()
                .map(|line| OrderReturnLine {
                    order_line_id: line.order_line_id.0,
                    quantity: line.quantity,
                    refund: line.refund,
                })
                .collect(),
            created_at: row.created_at.0,
        }
    }
}

/// Place an order.
///
/// An order of a customer the caller may see, with 1 to 500 lines of catalogue products.
/// The server prices it: a line's `unit_price` defaults to the product's, its total is
/// quantity × unit price − discount, and the order's `subtotal`, `discount_total` and
/// `total` are sums of the lines, exact in integer minor units. A `total` sent by the
/// client is only checked (422 `mismatch` when it differs). Orders are taken in the
/// business currency. `status` defaults to `pending`; a `paid` or `fulfilled` order is a
/// purchase: it counts in the customer's purchase facts (order count, revenue, first and
/// last order) and the lifecycle rules move the customer (first purchase → `purchase`,
/// repeat → `retention`, churned → `retention`). `source` and `external_reference`
/// identify the order in another system and are unique together.
///
/// Needs `records:write`. Audited as `order.create`; safe to retry with an
/// `Idempotency-Key`. Problems: 409 `conflict` when the external reference is taken;
/// 422 `validation_failed` naming every broken rule: `customer_id` not a customer the
/// caller may see (`not_found`), erased or merged; `lines[i].product_id` unknown,
/// inactive or in another currency; quantities out of 1..1,000,000; negative prices or
/// discounts; a discount above its line (`exceeds_line_amount`); `placed_at` in the
/// future; a `status` of a return state.
#[utoipa::path(
    tag = "orders",
    operation_id = "create_order",
    request_body = OrderInput,
    responses(
        (status = 201, description = "Created", body = Order, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "The external reference is taken", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/orders")]
pub async fn create_order(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<OrderInput>,
) -> ApiResult<HttpResponse> {
    let currency = business_currency(&state).await?;
    let acting = principal.0;
    let input = body.0;
    let record = state
        .db(move |conn| Ok(orders::create(conn, &acting, input, currency)?))
        .await?;
    let location = format!("/api/v1/orders/{}", record.row.id.0);
    Ok(etag::created(
        &location,
        record.row.id.0,
        record.row.version,
        &Order::from_record(&record)?,
    ))
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"items": [
    {"customer_id": "0193a4e2-7c1d-7b3e-9f10-dddddddddddd", "placed_at": "2025-03-02T08:15:00Z", "status": "fulfilled",
     "channel": "online", "lines": [{"product_id": "0193a4e2-7c1d-7b3e-9f10-ffffffffffff", "quantity": 1}]},
    {"customer_id": "0193a4e2-7c1d-7b3e-9f10-dddddddddddd", "status": "pending",
     "lines": [{"product_id": "0193a4e2-7c1d-7b3e-9f10-ffffffffffff", "quantity": 3, "unit_price": 1700000}]}
]}))]
pub struct OrderBatchRequest {
    /// The orders to place, each as `POST /orders` takes it.
    #[schema(min_items = 1, max_items = 100)]
    #[validate(length(min = 1, max = 100, message = "a batch holds 1 to 100 items"))]
    pub items: Vec<OrderInput>,
}

/// What became of one item.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderBatchItem {
    /// Position of the item in the request, from 0.
    pub index: usize,
    /// The status `POST /orders` would have answered for this item alone.
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<Order>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderBatchResponse {
    pub created: usize,
    pub failed: usize,
    /// One result per item, in request order.
    pub results: Vec<OrderBatchItem>,
}

/// Place orders in a batch.
///
/// Each item is checked and stored in its own transaction with the rules of
/// `POST /orders`, so a refused item writes nothing and does not stop the others. The
/// answer is 200 with a result per item: its status (201, or what `POST /orders` would
/// have answered) and the order or the problem.
///
/// Needs `records:write`. Every placed order is audited as `order.create`; a retry with
/// the same `Idempotency-Key` replays the first answer. Problems: 422 for an empty batch
/// or one over 100 items.
#[utoipa::path(
    tag = "orders",
    operation_id = "create_orders_batch",
    request_body = OrderBatchRequest,
    responses(
        (status = 200, description = "A result per item", body = OrderBatchResponse),
        (status = 422, description = "No items, or more than 100", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/orders/batch")]
pub async fn create_orders_batch(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<OrderBatchRequest>,
) -> ApiResult<HttpResponse> {
    principal.require(domain::authz::Permission::RecordsWrite)?;
    let currency = business_currency(&state).await?;
    let items = body.0.items;
    let acting = principal.0;
    let lang = acting.lang;
    let results = state
        .db(move |conn| {
            let mut results = Vec::with_capacity(items.len());
            for (index, input) in items.into_iter().enumerate() {
                let created = application::transaction(conn, |conn| {
                    orders::create_checked(conn, &acting, input, currency)
                })
                .map_err(ApiError::from)
                .and_then(|record| Order::from_record(&record));
                results.push(match created {
                    Ok(order) => OrderBatchItem {
                        index,
                        status: 201,
                        order: Some(order),
                        problem: None,
                    },
                    Err(err) => {
                        if let ApiError::Internal(reason) = &err {
                            tracing::error!(error = %reason, index, "batch item failed");
                        }
                        let problem = err.to_problem(lang);
                        OrderBatchItem {
                            index,
                            status: problem.status,
                            order: None,
                            problem: Some(problem),
                        }
                    }
                });
            }
            Ok(results)
        })
        .await?;
    let created = results.iter().filter(|item| item.status == 201).count();
    Ok(HttpResponse::Ok().json(OrderBatchResponse {
        created,
        failed: results.len() - created,
        results,
    }))
}

async fn run_order_search(
    state: &AppState,
    principal: Principal,
    request: SearchRequest,
) -> ApiResult<Page<Order>> {
    let context = state.resolve_context().await?;
    let search = application::search::Search::<orders::OrderSearch>::resolve(request, &context)?;
    let acting = principal.0;
    let (search, records) = state
        .db(move |conn| {
            let records = orders::search(conn, &acting, &search)?;
            Ok((search, records))
        })
        .await?;
    search
        .page(records, |record| Order::from_record(&record))
        .collect_results()
}

/// List orders.
///
/// The orders of customers the caller may see, newest placed first, one page at a
/// time. For filters use `POST /orders/search`. Needs `records:read`.
#[utoipa::path(
    tag = "orders",
    operation_id = "list_orders",
    params(PageParams),
    responses((status = 200, description = "One page of orders", body = Page<Order>))
)]
#[get("/api/v1/orders")]
pub async fn list_orders(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let request = SearchRequest {
        sort: Some(serde_json::json!([{"field": "placed_at", "direction": "desc"}])),
        limit: Some(page.limit as i64),
        cursor: page.cursor.as_ref().map(|cursor| cursor.encode()),
        ..SearchRequest::default()
    };
    Ok(HttpResponse::Ok().json(run_order_search(&state, principal, request).await?))
}

/// Search orders.
///
/// The search convention over the orders of customers the caller may see: filter on
/// `customer_id`, `product_id` (orders with a line of the product), `placed_at` (with
/// relative periods on the Jalali or Gregorian calendar), `status`, `channel`,
/// `campaign`, `source`, `external_reference`, `currency`, the amounts (`subtotal`,
/// `discount_total`, `total`, `refunded_total`), `created_by`, `created_at`,
/// `updated_at`; sort by `id`, `placed_at`, `total` or `created_at`. `q` looks in the
/// external reference, channel and campaign.
///
/// Needs `records:read`. Problems: 400 `invalid_cursor`; 422 `validation_failed` naming
/// every unknown field, wrong operator or bad value with its path.
#[utoipa::path(
    tag = "orders",
    operation_id = "search_orders",
    request_body(
        content = SearchRequest,
        example = json!({"filter": {"and": [
            {"field": "status", "op": "in", "value": ["paid", "fulfilled"]},
            {"field": "placed_at", "op": "eq", "value": {"relative": "this_month", "calendar": "jalali"}}
        ]}, "sort": [{"field": "placed_at", "direction": "desc"}], "limit": 50})
    ),
    responses((status = 200, description = "One page of matching orders", body = Page<Order>))
)]
#[post("/api/v1/orders/search")]
pub async fn search_orders(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<SearchRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(run_order_search(&state, principal, body.0).await?))
}

/// Get an order.
///
/// With its lines. Needs `records:read`; the order's customer must be within the
/// caller's record visibility (404 `not_found` otherwise, exactly as for a missing one).
/// Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "orders",
    operation_id = "get_order",
    params(("id" = Uuid, Path, description = "Order id")),
    responses((status = 200, description = "Found", body = Order, headers(("ETag" = String))))
)]
#[get("/api/v1/orders/{id}")]
pub async fn get_order(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let record = state
        .db(move |conn| Ok(orders::get(conn, &acting, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        record.row.version,
        &Order::from_record(&record)?,
    ))
}

/// Change an order (JSON Merge Patch).
///
/// `status`, `channel`, `campaign` and `notes` change; lines and amounts do not (record a
/// return, or cancel and place a new order). Status moves forward: `pending` → `paid`,
/// `fulfilled` or `cancelled`; `paid` → `fulfilled` or `cancelled`; the return states
/// follow from returns. Paying an order makes it a purchase (facts and lifecycle rules
/// follow); cancelling a paid one takes it out of the facts.
///
/// Needs `records:write` and the customer within the caller's visibility. Honours
/// `If-Match` (412 when stale). Audited as `order.update`. Problems: 422
/// `invalid_transition` on `status`, and text rules on the other fields.
#[utoipa::path(
    tag = "orders",
    operation_id = "update_order",
    params(("id" = Uuid, Path, description = "Order id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = OrderChanges, content_type = "application/merge-patch+json", example = json!({"status": "fulfilled"})),
    responses((status = 200, description = "Changed", body = Order, headers(("ETag" = String))))
)]
#[patch("/api/v1/orders/{id}")]
pub async fn update_order(
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
    let record = state
        .db(move |conn| {
            Ok(orders::update(
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
        record.row.version,
        &Order::from_record(&record)?,
    ))
}

/// The answer to a recorded return.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnRecorded {
    #[serde(rename = "return")]
    pub recorded: OrderReturn,
    /// The order afterwards: `partially_returned` or `returned`, with refunds.
    pub order: Order,
}

/// Record a return.
///
/// Units of the order's lines came back, for a reason. Each line is refunded in
/// proportion to the units returned (rounding down, so that returning every unit, at
/// once or in steps, refunds exactly the line's total); the refunds lower the order's
/// net total and the customer's revenue. The order becomes `partially_returned`, or
/// `returned` when every unit is back. Checked under the order's lock: a line is never
/// returned past what was bought, also when two returns race.
///
/// Needs `records:write` and the customer within the caller's visibility. Audited as
/// `order.return`. Problems: 409 `conflict` for an order that is pending or cancelled;
/// 422 `validation_failed` for a line not of this order (`not_found`), more units than
/// are left (`exceeds_remaining`), a line named twice (`duplicate`), a blank reason, or
/// `returned_at` in the future or before the order.
#[utoipa::path(
    tag = "orders",
    operation_id = "create_order_return",
    params(("id" = Uuid, Path, description = "Order id")),
    request_body = ReturnInput,
    responses(
        (status = 201, description = "Recorded", body = ReturnRecorded),
        (status = 409, description = "The order takes no returns", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/orders/{id}/returns")]
pub async fn create_order_return(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<ReturnInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let input = body.0;
    let ((row, lines), order) = state
        .db(move |conn| Ok(returns::record(conn, &acting, id, input)?))
        .await?;
    Ok(HttpResponse::Created().json(ReturnRecorded {
        recorded: OrderReturn::from_rows(&row, &lines),
        order: Order::from_record(&order)?,
    }))
}

/// List an order's returns.
///
/// Oldest first. Needs `records:read` and the customer within the caller's visibility.
#[utoipa::path(
    tag = "orders",
    operation_id = "list_order_returns",
    params(("id" = Uuid, Path, description = "Order id")),
    responses((status = 200, description = "The returns", body = Vec<OrderReturn>))
)]
#[get("/api/v1/orders/{id}/returns")]
pub async fn list_order_returns(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let found = state
        .db(move |conn| Ok(returns::list(conn, &acting, id)?))
        .await?;
    let body: Vec<OrderReturn> = found
        .iter()
        .map(|(row, lines)| OrderReturn::from_rows(row, lines))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}
