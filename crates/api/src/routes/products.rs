//! The product catalogue (S-8): products and product categories. Reading needs
//! `records:read`; changing the catalogue needs `crm:configure`.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::commerce::catalogue;
use chrono::{DateTime, Utc};
use domain::commerce::products::{ProductCategoryInput, ProductInput};
use persistence::products::{CategoryRow, ProductRow};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::pagination::creation_cursor;
use crate::conventions::search::{SearchPage, SearchRequest};
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_product,
        list_products,
        search_products,
        get_product,
        update_product,
        delete_product,
        create_product_category,
        list_product_categories,
        get_product_category,
        update_product_category,
        delete_product_category
    ),
    components(schemas(Product, ProductInput, ProductCategory, ProductCategoryInput))
)]
pub struct ProductsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_product)
        .service(list_products)
        .service(search_products)
        .service(get_product)
        .service(update_product)
        .service(delete_product)
        .service(create_product_category)
        .service(list_product_categories)
        .service(get_product_category)
        .service(update_product_category)
        .service(delete_product_category);
}

/// A product of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb", "sku": "TEA-500", "name": "چای سیاه ۵۰۰ گرمی",
    "name_en": "Black tea 500 g", "description": null, "category_id": null,
    "unit_price": 1850000, "unit_cost": 1200000, "currency": "IRR", "active": true,
    "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:00:00Z"
}))]
pub struct Product {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub name_en: Option<String>,
    pub description: Option<String>,
    pub category_id: Option<Uuid>,
    /// Minor units of `currency` (whole rials for IRR).
    pub unit_price: i64,
    pub unit_cost: Option<i64>,
    pub currency: String,
    pub active: bool,
    /// Values of the product custom fields by key.
    #[schema(value_type = Object)]
    pub custom_fields: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&ProductRow> for Product {
    fn from(row: &ProductRow) -> Self {
        Product {
            id: row.id.0,
            sku: row.sku.clone(),
            name: row.name.clone(),
            name_en: row.name_en.clone(),
            description: row.description.clone(),
            category_id: row.category_id.map(|id| id.0),
            unit_price: row.unit_price,
            unit_cost: row.unit_cost,
            currency: row.currency.clone(),
            active: row.active,
            custom_fields: row.custom_fields.0.clone(),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        }
    }
}

/// A category of the catalogue; `parent_id` places it in the tree.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductCategory {
    pub id: Uuid,
    pub name: String,
    pub parent_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&CategoryRow> for ProductCategory {
    fn from(row: &CategoryRow) -> Self {
        ProductCategory {
            id: row.id.0,
            name: row.name.clone(),
            parent_id: row.parent_id.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        }
    }
}

/// The currency products are priced and orders taken in.
pub(super) async fn business_currency(state: &AppState) -> ApiResult<domain::commerce::Currency> {
    state
        .db(|conn| Ok(application::settings::currency(conn)?))
        .await
}

/// Add a product.
///
/// A product with a unique `sku` (Persian digits are stored as ASCII digits), a name
/// (usually Persian) and an optional English name, a category, a unit price and unit cost
/// in integer minor units of `currency` (whole rials for IRR; the business currency when
/// omitted). Inactive products stay on past orders but cannot be ordered. `custom_fields`
/// holds values of the product custom fields (`/custom-fields` with `entity: product`),
/// checked against their definitions as customers' are.
///
/// Needs `crm:configure`. Audited as `product.create`; safe to retry with an
/// `Idempotency-Key`. Problems: 409 `conflict` when the SKU is taken; 422
/// `validation_failed` for a blank `sku` or `name` (`required`), text over its length,
/// control characters, a negative price or cost (`negative`), a currency that is not
/// ISO 4217, a `category_id` that is not a category (`not_found`), or a custom value
/// that breaks its definition, named `custom_fields.<key>` (`unknown_field`,
/// `invalid_type`, `not_an_option`, `required`…).
#[utoipa::path(
    tag = "products",
    operation_id = "create_product",
    request_body = ProductInput,
    responses(
        (status = 201, description = "Created", body = Product, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "The SKU is taken", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/products")]
pub async fn create_product(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<ProductInput>,
) -> ApiResult<HttpResponse> {
    let currency = business_currency(&state).await?;
    let acting = principal.0;
    let input = body.0;
    let row = state
        .db(move |conn| Ok(catalogue::create_product(conn, &acting, input, currency)?))
        .await?;
    let location = format!("/api/v1/products/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &Product::from(&row),
    ))
}

async fn run_product_search(
    state: &AppState,
    principal: Principal,
    request: SearchRequest,
) -> ApiResult<Page<Product>> {
    let definitions = state
        .db(|conn| Ok(catalogue::product_definitions(conn)?))
        .await?;
    let context = state.resolve_context().await?;
    let search = catalogue::resolve_search(request, &definitions, &context)?;
    let acting = principal.0;
    let (search, rows) = state
        .db(move |conn| {
            let rows = catalogue::search_products(conn, &acting, &search)?;
            Ok((search, rows))
        })
        .await?;
    Ok(search.page(rows, |row| Product::from(&row)))
}

/// List products.
///
/// Every product, newest first, one page at a time. For filters, other orders or text
/// search use `POST /products/search`. Needs `records:read`.
#[utoipa::path(
    tag = "products",
    operation_id = "list_products",
    params(PageParams),
    responses((status = 200, description = "One page of products", body = Page<Product>))
)]
#[get("/api/v1/products")]
pub async fn list_products(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let request = SearchRequest {
        sort: Some(serde_json::json!([{"field": "created_at", "direction": "desc"}])),
        limit: Some(page.limit as i64),
        cursor: page.cursor.as_ref().map(|cursor| cursor.encode()),
        ..SearchRequest::default()
    };
    Ok(HttpResponse::Ok().json(run_product_search(&state, principal, request).await?))
}

/// Search products.
///
/// The search convention over the catalogue: filter on `sku`, `name`, `name_en`,
/// `category_id`, `unit_price`, `unit_cost`, `currency`, `active`, `created_at`,
/// `updated_at`, and each product custom field as `custom.<key>` with its type's
/// operators; sort by `id`, `name` or `created_at`. `q` finds the name, English name
/// or SKU, with Arabic and Persian letter forms, digits and spacing unified.
///
/// Needs `records:read`. Problems: 400 `invalid_cursor`; 422 `validation_failed` naming
/// every unknown field, wrong operator or bad value with its path.
#[utoipa::path(
    tag = "products",
    operation_id = "search_products",
    request_body(
        content = SearchRequest,
        example = json!({"filter": {"and": [{"field": "active", "op": "eq", "value": true}, {"field": "unit_price", "op": "lte", "value": 5000000}]}, "sort": [{"field": "name", "direction": "asc"}], "q": "چای"})
    ),
    responses((status = 200, description = "One page of matching products", body = Page<Product>))
)]
#[post("/api/v1/products/search")]
pub async fn search_products(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<SearchRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(run_product_search(&state, principal, body.0).await?))
}

/// Get a product.
///
/// Needs `records:read`. Answers with an `ETag` for a later `If-Match`; 404 `not_found`
/// when no product has this id.
#[utoipa::path(
    tag = "products",
    operation_id = "get_product",
    params(("id" = Uuid, Path, description = "Product id")),
    responses((status = 200, description = "Found", body = Product, headers(("ETag" = String))))
)]
#[get("/api/v1/products/{id}")]
pub async fn get_product(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(catalogue::get_product(conn, &acting, id)?))
        .await?;
    Ok(etag::single(&req, id, row.version, &Product::from(&row)))
}

/// Change a product (JSON Merge Patch).
///
/// Any field of the product may change; orders already placed keep the price and cost
/// they were placed with. `custom_fields` merges member by member (`null` removes a
/// value) and the result is checked against the product custom fields. Needs `crm:configure`; honours `If-Match` (412
/// `precondition_failed` when stale). Audited as `product.update`. Problems as for
/// creation.
#[utoipa::path(
    tag = "products",
    operation_id = "update_product",
    params(("id" = Uuid, Path, description = "Product id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = ProductInput, content_type = "application/merge-patch+json", example = json!({"unit_price": 1950000, "active": true})),
    responses(
        (status = 200, description = "Changed", body = Product, headers(("ETag" = String))),
        (status = 409, description = "The SKU is taken", body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/api/v1/products/{id}")]
pub async fn update_product(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    let currency = business_currency(&state).await?;
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    let row = state
        .db(move |conn| {
            Ok(catalogue::update_product(
                conn,
                &acting,
                id,
                &precondition,
                currency,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    Ok(etag::single(&req, id, row.version, &Product::from(&row)))
}

/// Delete a product.
///
/// Only a product no order names can go; one on orders answers 409 `conflict`
/// (deactivate it with `active: false` instead). Needs `crm:configure`; honours
/// `If-Match`. Audited as `product.delete`.
#[utoipa::path(
    tag = "products",
    operation_id = "delete_product",
    params(("id" = Uuid, Path, description = "Product id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "The product is on orders", body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/api/v1/products/{id}")]
pub async fn delete_product(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(catalogue::delete_product(conn, &acting, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Add a product category.
///
/// Categories form a tree through `parent_id`, at most eight levels deep; names are
/// unique across the catalogue after Persian normalisation. Needs `crm:configure`.
/// Audited as `product_category.create`. Problems: 409 `conflict` when the name is taken;
/// 422 `validation_failed` for a blank name, an unknown `parent_id` (`not_found`) or a
/// tree too deep (`too_deep`).
#[utoipa::path(
    tag = "products",
    operation_id = "create_product_category",
    request_body = ProductCategoryInput,
    responses(
        (status = 201, description = "Created", body = ProductCategory, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/product-categories")]
pub async fn create_product_category(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<ProductCategoryInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let input = body.0;
    let row = state
        .db(move |conn| Ok(catalogue::create_category(conn, &acting, input)?))
        .await?;
    let location = format!("/api/v1/product-categories/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &ProductCategory::from(&row),
    ))
}

/// List product categories.
///
/// Every category in creation order, one page at a time; clients build the tree from
/// `parent_id`. Needs `records:read`.
#[utoipa::path(
    tag = "products",
    operation_id = "list_product_categories",
    params(PageParams),
    responses((status = 200, description = "One page of categories", body = Page<ProductCategory>))
)]
#[get("/api/v1/product-categories")]
pub async fn list_product_categories(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let acting = principal.0;
    let rows = state
        .db(move |conn| {
            Ok(catalogue::list_categories(
                conn,
                &acting,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let page = Page::from_rows(
        rows,
        page.limit,
        |row| creation_cursor(row.created_at.0, row.id.0),
        |row| ProductCategory::from(&row),
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Get a product category.
///
/// Needs `records:read`. Answers with an `ETag`; 404 `not_found` for an unknown id.
#[utoipa::path(
    tag = "products",
    operation_id = "get_product_category",
    params(("id" = Uuid, Path, description = "Category id")),
    responses((status = 200, description = "Found", body = ProductCategory, headers(("ETag" = String))))
)]
#[get("/api/v1/product-categories/{id}")]
pub async fn get_product_category(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(catalogue::get_category(conn, &acting, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &ProductCategory::from(&row),
    ))
}

/// Rename or move a product category (JSON Merge Patch).
///
/// A category cannot move under itself or one of its descendants (422 `cycle`) nor so
/// deep that the tree passes eight levels (`too_deep`). Needs `crm:configure`; honours
/// `If-Match`. Audited as `product_category.update`.
#[utoipa::path(
    tag = "products",
    operation_id = "update_product_category",
    params(("id" = Uuid, Path, description = "Category id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = ProductCategoryInput, content_type = "application/merge-patch+json", example = json!({"name": "نوشیدنی گرم"})),
    responses(
        (status = 200, description = "Changed", body = ProductCategory, headers(("ETag" = String))),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/api/v1/product-categories/{id}")]
pub async fn update_product_category(
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
            Ok(catalogue::update_category(
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
        &ProductCategory::from(&row),
    ))
}

/// Delete a product category.
///
/// Its products keep no category; a category with subcategories answers 409 `conflict`.
/// Needs `crm:configure`; honours `If-Match`. Audited as `product_category.delete`.
#[utoipa::path(
    tag = "products",
    operation_id = "delete_product_category",
    params(("id" = Uuid, Path, description = "Category id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "The category has subcategories", body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/api/v1/product-categories/{id}")]
pub async fn delete_product_category(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| {
            Ok(catalogue::delete_category(
                conn,
                &acting,
                id,
                &precondition,
            )?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
