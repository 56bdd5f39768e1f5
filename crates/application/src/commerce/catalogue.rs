//! The product catalogue: products and their category tree. Reading needs
//! `records:read`; changing it is the business's configuration (`crm:configure`).

use domain::authz::Permission;
use domain::commerce::products::{
    check_category_parent, ProductCategoryInput, ProductInput, MAX_CATEGORY_DEPTH,
};
use domain::commerce::Currency;
use domain::customers::{CustomFieldDefinition, CustomFieldEntity};
use domain::filter::{FieldKind, FieldSpec, TypedValue};
use domain::validation::FieldViolation;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::products::{CategoryRow, ProductColumns, ProductRow};
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::paging::{created_after, Cursor};
use crate::precondition::Precondition;
use crate::search::{custom_field_specs, Search, Searchable};
use crate::transaction;

/// The products catalogue of the search convention; `q` looks in the name, English
/// name and SKU with Persian letters and digits normalised.
pub struct ProductSearch;

impl Searchable for ProductSearch {
    type Columns = ProductColumns;
    type Row = ProductRow;

    const CATALOGUE: &'static [FieldSpec] = &[
        FieldSpec::new("id", FieldKind::Uuid).sortable(),
        FieldSpec::new("sku", FieldKind::Text),
        FieldSpec::new("name", FieldKind::Text).sortable(),
        FieldSpec::new("name_en", FieldKind::Text).nullable(),
        FieldSpec::new("category_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("unit_price", FieldKind::Integer),
        FieldSpec::new("unit_cost", FieldKind::Integer).nullable(),
        FieldSpec::new("currency", FieldKind::Text),
        FieldSpec::new("active", FieldKind::Bool),
        FieldSpec::new("created_at", FieldKind::Timestamp).sortable(),
        FieldSpec::new("updated_at", FieldKind::Timestamp),
    ];

    const QUICK_SEARCH: &'static [&'static str] = &["search_text"];

    fn sort_value(row: &ProductRow, field: &str) -> Option<TypedValue> {
        Some(match field {
            "id" => TypedValue::Uuid(row.id.0),
            "name" => TypedValue::Text(row.name.clone()),
            "created_at" => TypedValue::Timestamp(row.created_at.0),
            _ => return None,
        })
    }

    fn id(row: &ProductRow) -> Uuid {
        row.id.0
    }
}

/// The search text of a product: what quick search compares `q` with.
fn search_text(input: &ProductInput) -> String {
    let mut text = domain::persian::search_key(&input.name);
    for extra in [input.name_en.as_deref(), Some(input.sku.as_str())]
        .into_iter()
        .flatten()
    {
        text.push(' ');
        text.push_str(&domain::persian::search_key(extra));
    }
    text
}

/// The document a merge patch of `row` applies to.
pub fn product_input(row: &ProductRow) -> AppResult<ProductInput> {
    Ok(ProductInput {
        sku: row.sku.clone(),
        name: row.name.clone(),
        name_en: row.name_en.clone(),
        description: row.description.clone(),
        category_id: row.category_id.map(|id| id.0),
        unit_price: row.unit_price,
        unit_cost: row.unit_cost,
        currency: Some(stored_currency(&row.currency)?),
        active: row.active,
        custom_fields: match &row.custom_fields.0 {
            serde_json::Value::Object(values) => values.clone(),
            other => {
                return Err(AppError::Internal(format!(
                    "stored product custom fields {other}"
                )))
            }
        },
    })
}

/// A stored currency code; an unknown one is corrupt data.
pub fn stored_currency(code: &str) -> AppResult<Currency> {
    Currency::parse(code).ok_or_else(|| AppError::Internal(format!("stored currency {code:?}")))
}

/// The custom-field definitions every product write is checked against and product
/// searches may name.
pub fn product_definitions(conn: &mut DbConnection) -> AppResult<Vec<CustomFieldDefinition>> {
    crate::administration::custom_fields::definitions(conn, CustomFieldEntity::Product)
}

/// `input` checked, with the business currency filled in, and the category it names
/// found.
/// The custom-field values of `input` in their checked form (text trimmed, numbers
/// and dates read; a `null` removes one), or every broken rule of the product fields.
pub(super) fn checked_custom_fields(
    input: &ProductInput,
    definitions: &[CustomFieldDefinition],
) -> Result<serde_json::Map<String, serde_json::Value>, Vec<FieldViolation>> {
    crate::administration::custom_fields::checked_values(&input.custom_fields, definitions)
}

fn checked_product(
    conn: &mut DbConnection,
    mut input: ProductInput,
    business_currency: Currency,
) -> AppResult<ProductInput> {
    input.currency.get_or_insert(business_currency);
    // The product's own rules and its custom fields are reported together.
    let definitions = product_definitions(conn)?;
    let custom = checked_custom_fields(&input, &definitions);
    let input = match (input.validated(), custom) {
        (Ok(input), Ok(custom_fields)) => ProductInput {
            custom_fields,
            ..input
        },
        (own, custom) => {
            let mut violations = own.err().unwrap_or_default();
            violations.extend(custom.err().unwrap_or_default());
            return Err(AppError::Invalid(violations));
        }
    };
    if let Some(category) = input.category_id {
        match persistence::products::find_category(conn, category) {
            Err(persistence::PersistenceError::NotFound) => {
                return Err(AppError::field(
                    "category_id",
                    "not_found",
                    "is not a product category",
                ))
            }
            other => {
                other?;
            }
        }
    }
    Ok(input)
}

/// Adds a product (`crm:configure`); a taken SKU is a conflict.
pub fn create_product(
    conn: &mut DbConnection,
    acting: &Acting,
    input: ProductInput,
    business_currency: Currency,
) -> AppResult<ProductRow> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let input = checked_product(conn, input, business_currency)?;
        insert_checked(conn, acting, input, business_currency)
    })
}

/// Stores a product already checked by [`checked_product`] (or an import's equivalent)
/// and audits it, inside the caller's transaction.
pub(super) fn insert_checked(
    conn: &mut DbConnection,
    acting: &Acting,
    input: ProductInput,
    business_currency: Currency,
) -> AppResult<ProductRow> {
    let row = new_product_row(input, business_currency, persistence::now());
    insert_product(conn, acting, &row)?;
    Ok(row)
}

/// The stored row of a new product checked by the catalogue's rules.
pub(super) fn new_product_row(
    input: ProductInput,
    business_currency: Currency,
    now: chrono::DateTime<chrono::Utc>,
) -> ProductRow {
    let now = DbTime(now);
    ProductRow {
        id: DbUuid(Uuid::now_v7()),
        search_text: search_text(&input),
        sku: input.sku,
        name: input.name,
        name_en: input.name_en,
        description: input.description,
        category_id: input.category_id.map(DbUuid),
        unit_price: input.unit_price,
        unit_cost: input.unit_cost,
        currency: input
            .currency
            .unwrap_or(business_currency)
            .code()
            .to_string(),
        active: input.active,
        custom_fields: DbJson(serde_json::Value::Object(input.custom_fields)),
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// Stores a new product with its audit event; a taken SKU is a conflict.
pub(super) fn insert_product(
    conn: &mut DbConnection,
    acting: &Acting,
    row: &ProductRow,
) -> AppResult<()> {
    persistence::products::insert(conn, row)?;
    audit::record_change(
        conn,
        &acting.audit_actor(),
        "product.create",
        "product",
        row.id.0,
        &serde_json::json!({}),
        &row.audit_snapshot(),
    )?;
    Ok(())
}

/// A product (`records:read`).
pub fn get_product(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<ProductRow> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::products::find(conn, id)?)
}

/// The next page of a product search (`records:read`).
pub fn search_products(
    conn: &mut DbConnection,
    acting: &Acting,
    search: &Search<ProductSearch>,
) -> AppResult<Vec<ProductRow>> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::products::search(
        conn,
        &search.criteria,
        search.after.as_ref(),
        search.fetch_limit(),
    )?)
}

/// Changes a product (`crm:configure`) to what `edit` makes of its fields. Past
/// orders keep the price and cost they were placed with.
pub fn update_product(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    business_currency: Currency,
    edit: impl FnOnce(&ProductInput) -> AppResult<ProductInput>,
) -> AppResult<ProductRow> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::products::find(conn, id)?;
        precondition.check(id, current.version)?;
        let after = checked_product(conn, edit(&product_input(&current)?)?, business_currency)?;
        update_checked(conn, acting, &current, after, business_currency)
    })
}

/// Writes `after`, already checked, over `current` if `current` is still the stored
/// version, and audits the change, inside the caller's transaction.
pub(super) fn update_checked(
    conn: &mut DbConnection,
    acting: &Acting,
    current: &ProductRow,
    after: ProductInput,
    business_currency: Currency,
) -> AppResult<ProductRow> {
    let mut row = current.clone();
    row.search_text = search_text(&after);
    row.sku = after.sku;
    row.name = after.name;
    row.name_en = after.name_en;
    row.description = after.description;
    row.category_id = after.category_id.map(DbUuid);
    row.unit_price = after.unit_price;
    row.unit_cost = after.unit_cost;
    row.currency = after
        .currency
        .unwrap_or(business_currency)
        .code()
        .to_string();
    row.active = after.active;
    row.custom_fields = DbJson(serde_json::Value::Object(after.custom_fields));
    let row = persistence::products::update(conn, &row)?;
    audit::record_change(
        conn,
        &acting.audit_actor(),
        "product.update",
        "product",
        current.id.0,
        &current.audit_snapshot(),
        &row.audit_snapshot(),
    )?;
    Ok(row)
}

/// Deletes a product no order names (`crm:configure`).
pub fn delete_product(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::products::find(conn, id)?;
        precondition.check(id, current.version)?;
        persistence::products::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "product.delete",
            "product",
            id,
            &current.audit_snapshot(),
            &serde_json::json!({}),
        )?;
        Ok(())
    })
}

/// The document a merge patch of a category applies to.
pub fn category_input(row: &CategoryRow) -> ProductCategoryInput {
    ProductCategoryInput {
        name: row.name.clone(),
        parent_id: row.parent_id.map(|id| id.0),
    }
}

/// `input` checked; `category` is the one being changed (`None` for a new one).
fn checked_category(
    conn: &mut DbConnection,
    input: ProductCategoryInput,
    category: Option<Uuid>,
) -> AppResult<(ProductCategoryInput, String)> {
    let input = input.validated().map_err(AppError::Invalid)?;
    if let Some(parent) = input.parent_id {
        let ancestors =
            match persistence::products::category_chain(conn, parent, MAX_CATEGORY_DEPTH) {
                Err(persistence::PersistenceError::NotFound) => {
                    return Err(AppError::field(
                        "parent_id",
                        "not_found",
                        "is not a product category",
                    ))
                }
                other => other?,
            };
        let height = match category {
            Some(id) => persistence::products::category_height(conn, id, MAX_CATEGORY_DEPTH)?,
            None => 0,
        };
        if let Some(violation) = check_category_parent(category, &ancestors, height) {
            return Err(AppError::Invalid(vec![violation]));
        }
    }
    let name_key = domain::persian::search_key(&input.name);
    Ok((input, name_key))
}

/// Adds a category (`crm:configure`); a taken name is a conflict.
pub fn create_category(
    conn: &mut DbConnection,
    acting: &Acting,
    input: ProductCategoryInput,
) -> AppResult<CategoryRow> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let (input, name_key) = checked_category(conn, input, None)?;
        let now = DbTime(persistence::now());
        let row = CategoryRow {
            id: DbUuid(Uuid::now_v7()),
            name: input.name,
            name_key,
            parent_id: input.parent_id.map(DbUuid),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        persistence::products::insert_category(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "product_category.create",
            "product_category",
            row.id.0,
            &serde_json::json!({}),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// One page of categories in creation order (`records:read`).
pub fn list_categories(
    conn: &mut DbConnection,
    acting: &Acting,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<CategoryRow>> {
    acting.require(Permission::RecordsRead)?;
    let after = created_after(cursor)?;
    Ok(persistence::products::list_categories(conn, after, limit)?)
}

pub fn get_category(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<CategoryRow> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::products::find_category(conn, id)?)
}

/// Renames or moves a category (`crm:configure`); never under itself or a
/// descendant, never deeper than the tree allows.
pub fn update_category(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&ProductCategoryInput) -> AppResult<ProductCategoryInput>,
) -> AppResult<CategoryRow> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::products::find_category(conn, id)?;
        precondition.check(id, current.version)?;
        let (after, name_key) = checked_category(conn, edit(&category_input(&current))?, Some(id))?;
        let mut row = current.clone();
        row.name = after.name;
        row.name_key = name_key;
        row.parent_id = after.parent_id.map(DbUuid);
        let row = persistence::products::update_category(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "product_category.update",
            "product_category",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// Deletes a category without subcategories (`crm:configure`); its products keep no
/// category.
pub fn delete_category(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::products::find_category(conn, id)?;
        precondition.check(id, current.version)?;
        persistence::products::delete_category(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "product_category.delete",
            "product_category",
            id,
            &current.audit_snapshot(),
            &serde_json::json!({}),
        )?;
        Ok(())
    })
}

/// Checks a product search body against the catalogue and `custom.<key>` for each
/// product custom field of `definitions`; `q` is compared in its Persian-normalised
/// form, as the names are stored in the search text.
pub fn resolve_search(
    mut request: crate::search::SearchRequest,
    definitions: &[CustomFieldDefinition],
    context: &domain::filter::ResolveContext,
) -> AppResult<Search<ProductSearch>> {
    request.q = request.q.map(|q| {
        let key = domain::persian::search_key(&q);
        // Text that normalises to nothing is still checked (and refused) as sent.
        if key.is_empty() {
            q
        } else {
            key
        }
    });
    let mut catalogue = ProductSearch::CATALOGUE.to_vec();
    catalogue.extend(custom_field_specs(definitions));
    Search::resolve_with(request, context, &catalogue)
}
