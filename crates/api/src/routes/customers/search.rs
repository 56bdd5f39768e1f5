//! `POST /api/v1/customers/search` and `GET /api/v1/customers`: the customers catalogue
//! (every stored field, related phones/e-mails/tags/groups, and `custom.<key>` for each
//! custom field), sorting by the indexed fields, and the Persian-aware quick search.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use actix_web::{get, post, web, HttpResponse};
use domain::authz::Permission;
use domain::customers::{CustomFieldKind, CustomerKind, EducationDegree, Gender, LifecycleStage};
use domain::filter::{FieldKind, FieldSpec, TypedValue};
use persistence::customers::search::{
    self as customer_search, CustomerColumns, Scope, CUSTOM_FIELD_PREFIX,
};
use persistence::customers::CustomerRecord;
use persistence::db::DbConnection;
use uuid::Uuid;

use super::model::Customer;
use super::scope_of;
use crate::auth::Principal;
use crate::conventions::search::{Search, SearchRequest, Searchable};
use crate::conventions::{JsonBody, Page, PageParams};
use crate::error::ApiResult;
use crate::state::AppState;

/// The customers catalogue of the search convention.
pub struct CustomerSearch;

impl Searchable for CustomerSearch {
    type Columns = CustomerColumns;
    // Whole records, so that a page converts them without looking them up again.
    type Row = CustomerRecord;

    // Sortable fields are the NOT NULL columns with an index that ends in (…, id).
    const CATALOGUE: &'static [FieldSpec] = &[
        FieldSpec::new("id", FieldKind::Uuid).sortable(),
        FieldSpec::new("kind", FieldKind::Enum(CustomerKind::NAMES)),
        FieldSpec::new("code", FieldKind::Text).nullable(),
        FieldSpec::new("display_name", FieldKind::Text).sortable(),
        FieldSpec::new("title", FieldKind::Text).nullable(),
        FieldSpec::new("gender", FieldKind::Enum(Gender::NAMES)).nullable(),
        FieldSpec::new("first_name", FieldKind::Text).nullable(),
        FieldSpec::new("last_name", FieldKind::Text).nullable(),
        FieldSpec::new("organization_name", FieldKind::Text).nullable(),
        FieldSpec::new("industry", FieldKind::Text).nullable(),
        FieldSpec::new("website", FieldKind::Text).nullable(),
        FieldSpec::new("primary_email", FieldKind::Text).nullable(),
        FieldSpec::new("primary_phone", FieldKind::Text).nullable(),
        FieldSpec::new("phone", FieldKind::Text).nullable(),
        FieldSpec::new("email", FieldKind::Text).nullable(),
        FieldSpec::new("province", FieldKind::Text).nullable(),
        FieldSpec::new("city", FieldKind::Text).nullable(),
        FieldSpec::new("postal_code", FieldKind::Text).nullable(),
        FieldSpec::new("national_code", FieldKind::Text).nullable(),
        FieldSpec::new("national_id", FieldKind::Text).nullable(),
        FieldSpec::new("birth_certificate_number", FieldKind::Text).nullable(),
        FieldSpec::new("birth_date", FieldKind::Date).nullable(),
        FieldSpec::new("marriage_date", FieldKind::Date).nullable(),
        FieldSpec::new("founding_date", FieldKind::Date).nullable(),
        FieldSpec::new("field_of_study", FieldKind::Text).nullable(),
        FieldSpec::new("degree", FieldKind::Enum(EducationDegree::NAMES)).nullable(),
        FieldSpec::new("owner_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("team_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("tier_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("tag_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("group_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("lifecycle_stage", FieldKind::Enum(LifecycleStage::NAMES)),
        FieldSpec::new("lifecycle_changed_at", FieldKind::Timestamp),
        FieldSpec::new("acquisition_source", FieldKind::Text).nullable(),
        FieldSpec::new("acquisition_channel", FieldKind::Text).nullable(),
        FieldSpec::new("acquisition_campaign", FieldKind::Text).nullable(),
        FieldSpec::new("referred_by_customer_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("referred_by_user_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("erased_at", FieldKind::Timestamp).nullable(),
        FieldSpec::new("created_by", FieldKind::Uuid).nullable(),
        FieldSpec::new("created_at", FieldKind::Timestamp).sortable(),
        FieldSpec::new("updated_at", FieldKind::Timestamp).sortable(),
    ];

    const QUICK_SEARCH: &'static [&'static str] = &[];
    const OWN_QUICK_SEARCH: bool = true;

    fn sort_value(record: &CustomerRecord, field: &str) -> Option<TypedValue> {
        let row = &record.row;
        Some(match field {
            "id" => TypedValue::Uuid(row.id.0),
            "display_name" => TypedValue::Text(row.display_name.clone()),
            "created_at" => TypedValue::Timestamp(row.created_at.0),
            "updated_at" => TypedValue::Timestamp(row.updated_at.0),
            _ => return None,
        })
    }

    fn id(record: &CustomerRecord) -> Uuid {
        record.row.id.0
    }
}

/// A `&'static` name for a custom field's catalogue entry. The filter machinery names
/// fields by `&'static str`; custom fields are few and made by admins, so each distinct
/// name is kept once for the life of the process.
fn field_name(key: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let name = format!("{CUSTOM_FIELD_PREFIX}{key}");
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(existing) = names.get(name.as_str()) {
        return existing;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}

/// The static catalogue plus one `custom.<key>` entry per defined custom field.
fn catalogue(definitions: &[domain::customers::CustomFieldDefinition]) -> Vec<FieldSpec> {
    let mut catalogue = CustomerSearch::CATALOGUE.to_vec();
    catalogue.extend(definitions.iter().map(|definition| {
        let kind = match definition.kind {
            CustomFieldKind::Text | CustomFieldKind::Select => FieldKind::Text,
            CustomFieldKind::Integer => FieldKind::Integer,
            CustomFieldKind::Boolean => FieldKind::Bool,
            CustomFieldKind::Date => FieldKind::Date,
        };
        FieldSpec::new(field_name(&definition.key), kind).nullable()
    }));
    catalogue
}

/// Checks a search body against the catalogue, custom fields included.
pub fn resolve(
    request: SearchRequest,
    definitions: &[domain::customers::CustomFieldDefinition],
) -> Result<Search<CustomerSearch>, actix_web::Error> {
    Search::<CustomerSearch>::resolve_with(request, persistence::now(), &catalogue(definitions))
}

/// The next `search.fetch_limit()` customers of `search` that `scope` may see, whole.
pub fn fetch(
    conn: &mut DbConnection,
    search: &Search<CustomerSearch>,
    scope: &Scope,
) -> ApiResult<Vec<CustomerRecord>> {
    let rows = customer_search::search(
        conn,
        &search.criteria,
        terms(search),
        scope,
        search.after.as_ref(),
        search.fetch_limit(),
    )?;
    Ok(persistence::customers::load_many(conn, rows)?)
}

/// The quick-search terms of a resolved search.
pub fn terms(search: &Search<CustomerSearch>) -> Vec<String> {
    search
        .q
        .as_deref()
        .map(domain::persian::search_terms)
        .unwrap_or_default()
}

async fn run_search(
    state: &AppState,
    scope: Scope,
    request: SearchRequest,
) -> Result<Page<Customer>, actix_web::Error> {
    let definitions = state
        .db(|conn| Ok(crate::customers::definitions(conn)?))
        .await?;
    let search = resolve(request, &definitions)?;
    let (search, records) = state
        .db(move |conn| {
            let records = fetch(conn, &search, &scope)?;
            Ok((search, records))
        })
        .await?;
    let page = search.page(records, |record| Customer::from_record(&record));
    Ok(page.collect_results()?)
}

/// Search customers.
///
/// Filter on any field of the customer (`phone`, `email`, `tag_id` and `group_id` match
/// any of the customer's entries; custom fields are `custom.<key>`), sort by `id`,
/// `display_name`, `created_at` or `updated_at`, and find `q` in names, codes, national
/// codes, phones (as typed: `0912…`, `+98912…`, Persian digits), e-mails and cities.
/// Quick search is Persian-aware: Arabic and Persian letter forms, half-spaces and
/// spaces, diacritics and digits are unified, and Latin letters ignore case.
#[utoipa::path(
    tag = "customers",
    operation_id = "search_customers",
    request_body = SearchRequest,
    responses((status = 200, description = "One page of matching customers", body = Page<Customer>))
)]
#[post("/api/v1/customers/search")]
pub async fn search_customers(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<SearchRequest>,
) -> Result<HttpResponse, actix_web::Error> {
    principal.require(Permission::RecordsRead)?;
    let page = run_search(&state, scope_of(&principal), body.0).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// List customers, newest first.
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
    let page = run_search(&state, scope_of(&principal), request).await?;
    Ok(HttpResponse::Ok().json(page))
}
