//! The product catalogue (S-8): products and the category tree they sit in.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::filter::SearchCriteria;
use uuid::Uuid;

use crate::db::{DbConnection, MultiBackend};
use domain::filter::Predicate;

use crate::filter::{
    apply_search, Condition, FilterError, Keyset, SearchColumn, SearchError, SearchTable,
};
use crate::schema::{product_categories, products};
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::PersistenceError;

const DUPLICATE_SKU: &str = "a product with this SKU already exists";
const DUPLICATE_CATEGORY: &str = "a product category with this name already exists";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = products)]
pub struct ProductRow {
    pub id: DbUuid,
    pub sku: String,
    pub name: String,
    pub name_en: Option<String>,
    pub description: Option<String>,
    pub category_id: Option<DbUuid>,
    pub unit_price: i64,
    pub unit_cost: Option<i64>,
    pub currency: String,
    pub active: bool,
    /// Name, English name and SKU reduced by `domain::persian::search_key`.
    pub search_text: String,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
    /// Values of the product custom fields by key, as checked against their definitions.
    pub custom_fields: DbJson,
}

impl ProductRow {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "sku": self.sku,
            "name": self.name,
            "name_en": self.name_en,
            "category_id": self.category_id.map(|id| id.0),
            "unit_price": self.unit_price,
            "unit_cost": self.unit_cost,
            "currency": self.currency,
            "active": self.active,
            "custom_fields": self.custom_fields.0,
        })
    }
}

/// How many products hold a value for custom field `key`.
pub fn count_with_custom_value(
    conn: &mut DbConnection,
    key: &str,
) -> Result<i64, PersistenceError> {
    crate::custom_values::count_holding(conn, "products", key)
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = product_categories)]
pub struct CategoryRow {
    pub id: DbUuid,
    pub name: String,
    pub name_key: String,
    pub parent_id: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl CategoryRow {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({"name": self.name, "parent_id": self.parent_id.map(|id| id.0)})
    }
}

pub fn insert(conn: &mut DbConnection, row: &ProductRow) -> Result<(), PersistenceError> {
    diesel::insert_into(products::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_SKU))?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<ProductRow, PersistenceError> {
    products::table
        .find(DbUuid(id))
        .select(ProductRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// The products among `ids`, in no particular order.
pub fn find_many(
    conn: &mut DbConnection,
    ids: &[Uuid],
) -> Result<Vec<ProductRow>, PersistenceError> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        rows.extend(
            products::table
                .filter(products::id.eq_any(chunk))
                .select(ProductRow::as_select())
                .load(conn)?,
        );
    }
    Ok(rows)
}

/// The products whose SKUs are among `skus`.
pub fn find_by_skus(
    conn: &mut DbConnection,
    skus: &[String],
) -> Result<Vec<ProductRow>, PersistenceError> {
    let mut rows = Vec::with_capacity(skus.len());
    for chunk in skus.chunks(500) {
        rows.extend(
            products::table
                .filter(products::sku.eq_any(chunk))
                .select(ProductRow::as_select())
                .load(conn)?,
        );
    }
    Ok(rows)
}

/// Writes every field of `row` if its version is still the stored one.
pub fn update(conn: &mut DbConnection, row: &ProductRow) -> Result<ProductRow, PersistenceError> {
    let updated = diesel::update(
        products::table
            .filter(products::id.eq(row.id))
            .filter(products::version.eq(row.version)),
    )
    .set((
        products::sku.eq(&row.sku),
        products::name.eq(&row.name),
        products::name_en.eq(&row.name_en),
        products::description.eq(&row.description),
        products::category_id.eq(row.category_id),
        products::unit_price.eq(row.unit_price),
        products::unit_cost.eq(row.unit_cost),
        products::currency.eq(&row.currency),
        products::active.eq(row.active),
        products::custom_fields.eq(&row.custom_fields),
        products::search_text.eq(&row.search_text),
        products::updated_at.eq(DbTime(crate::now())),
        products::version.eq(row.version + 1),
    ))
    .execute(conn)
    .map_err(|err| PersistenceError::from_write(err, DUPLICATE_SKU))?;
    if updated == 0 {
        find(conn, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    find(conn, row.id.0)
}

/// Deletes a product no order or deal names; one that is on an order or a deal is a
/// conflict (deactivate it instead).
pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    use crate::schema::order_lines;
    let ordered = diesel::select(diesel::dsl::exists(
        order_lines::table.filter(order_lines::product_id.eq(DbUuid(id))),
    ))
    .get_result::<bool>(conn)?;
    if ordered {
        return Err(PersistenceError::Conflict(
            "the product is on orders; deactivate it instead".into(),
        ));
    }
    if crate::deals::product_on_deals(conn, id)? {
        return Err(PersistenceError::Conflict(
            "the product is on deals; deactivate it instead".into(),
        ));
    }
    if crate::quotes::product_on_quotes(conn, id)? {
        return Err(PersistenceError::Conflict(
            "the product is on quotes; deactivate it instead".into(),
        ));
    }
    if crate::price_experiments::product_in_experiments(conn, id)? {
        return Err(PersistenceError::Conflict(
            "price experiments test the product; delete them or deactivate the product".into(),
        ));
    }
    let wanted = diesel::select(diesel::dsl::exists(
        crate::schema::leads::table.filter(crate::schema::leads::product_id.eq(DbUuid(id))),
    ))
    .get_result::<bool>(conn)?;
    if wanted {
        return Err(PersistenceError::Conflict(
            "leads are interested in the product; deactivate it instead".into(),
        ));
    }
    diesel::delete(products::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// Column mapping of the products catalogue.
pub struct ProductColumns;

impl SearchTable for ProductColumns {
    type Table = products::table;

    fn column(field: &str) -> Option<SearchColumn<products::table>> {
        use products as p;
        Some(match field {
            "id" => SearchColumn::Uuid(|| Box::new(p::id.nullable())),
            "sku" => SearchColumn::Text(|| Box::new(p::sku.nullable())),
            "name" => SearchColumn::Text(|| Box::new(p::name.nullable())),
            "name_en" => SearchColumn::Text(|| Box::new(p::name_en)),
            "category_id" => SearchColumn::Uuid(|| Box::new(p::category_id)),
            "unit_price" => SearchColumn::Integer(|| Box::new(p::unit_price.nullable())),
            "unit_cost" => SearchColumn::Integer(|| Box::new(p::unit_cost)),
            "currency" => SearchColumn::Text(|| Box::new(p::currency.nullable())),
            "active" => SearchColumn::Bool(|| Box::new(p::active.nullable())),
            "search_text" => SearchColumn::Text(|| Box::new(p::search_text.nullable())),
            "created_at" => SearchColumn::Timestamp(|| Box::new(p::created_at.nullable())),
            "updated_at" => SearchColumn::Timestamp(|| Box::new(p::updated_at.nullable())),
            _ => return None,
        })
    }

    fn related_condition(
        field: &str,
        predicate: &Predicate,
    ) -> Option<Result<Condition<products::table>, FilterError>> {
        crate::custom_values::condition(field, predicate, "products.custom_fields")
    }
}

/// The next `limit` products of a search.
pub fn search(
    conn: &mut DbConnection,
    criteria: &SearchCriteria,
    after: Option<&Keyset>,
    limit: i64,
) -> Result<Vec<ProductRow>, SearchError> {
    let query = products::table
        .select(ProductRow::as_select())
        .into_boxed::<MultiBackend>();
    let query = apply_search::<ProductColumns, _>(query, criteria, after)?;
    Ok(query
        .limit(limit)
        .load(conn)
        .map_err(PersistenceError::from)?)
}

pub fn insert_category(conn: &mut DbConnection, row: &CategoryRow) -> Result<(), PersistenceError> {
    diesel::insert_into(product_categories::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_CATEGORY))?;
    Ok(())
}

pub fn find_category(conn: &mut DbConnection, id: Uuid) -> Result<CategoryRow, PersistenceError> {
    product_categories::table
        .find(DbUuid(id))
        .select(CategoryRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// `category` and its ancestors, nearest first (the root last). The walk is bounded:
/// a stored cycle, which the use cases never write, ends it as corrupt data.
pub fn category_chain(
    conn: &mut DbConnection,
    category: Uuid,
    max_depth: usize,
) -> Result<Vec<Uuid>, PersistenceError> {
    let mut chain = Vec::new();
    let mut next = Some(category);
    while let Some(id) = next {
        if chain.len() > max_depth || chain.contains(&id) {
            return Err(PersistenceError::Corrupt(format!(
                "product category {category} has a broken parent chain"
            )));
        }
        next = find_category(conn, id)?.parent_id.map(|id| id.0);
        chain.push(id);
    }
    Ok(chain)
}

/// How many levels of categories hang below `category` (0 for a leaf), counted down
/// to at most `max_depth`.
pub fn category_height(
    conn: &mut DbConnection,
    category: Uuid,
    max_depth: usize,
) -> Result<usize, PersistenceError> {
    let mut level = vec![DbUuid(category)];
    let mut height = 0;
    while height <= max_depth {
        level = product_categories::table
            .filter(product_categories::parent_id.eq_any(&level))
            .select(product_categories::id)
            .load(conn)?;
        if level.is_empty() {
            return Ok(height);
        }
        height += 1;
    }
    Ok(height)
}

/// Categories in creation order after `after`; `limit + 1` rows.
pub fn list_categories(
    conn: &mut DbConnection,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<CategoryRow>, PersistenceError> {
    let mut select = product_categories::table
        .select(CategoryRow::as_select())
        .into_boxed();
    if let Some((created_at, id)) = after {
        select = select.filter(
            product_categories::created_at.gt(DbTime(created_at)).or(
                product_categories::created_at
                    .eq(DbTime(created_at))
                    .and(product_categories::id.gt(DbUuid(id))),
            ),
        );
    }
    Ok(select
        .order((
            product_categories::created_at.asc(),
            product_categories::id.asc(),
        ))
        .limit(limit + 1)
        .load(conn)?)
}

pub fn update_category(
    conn: &mut DbConnection,
    row: &CategoryRow,
) -> Result<CategoryRow, PersistenceError> {
    let updated = diesel::update(
        product_categories::table
            .filter(product_categories::id.eq(row.id))
            .filter(product_categories::version.eq(row.version)),
    )
    .set((
        product_categories::name.eq(&row.name),
        product_categories::name_key.eq(&row.name_key),
        product_categories::parent_id.eq(row.parent_id),
        product_categories::updated_at.eq(DbTime(crate::now())),
        product_categories::version.eq(row.version + 1),
    ))
    .execute(conn)
    .map_err(|err| PersistenceError::from_write(err, DUPLICATE_CATEGORY))?;
    if updated == 0 {
        find_category(conn, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    find_category(conn, row.id.0)
}

/// Deletes a category without subcategories; its products lose their category.
pub fn delete_category(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    let has_children = diesel::select(diesel::dsl::exists(
        product_categories::table.filter(product_categories::parent_id.eq(DbUuid(id))),
    ))
    .get_result::<bool>(conn)?;
    if has_children {
        return Err(PersistenceError::Conflict(
            "the category has subcategories; move or delete them first".into(),
        ));
    }
    diesel::delete(product_categories::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// Every category: the tree is configuration, a few hundred rows at most, which an
/// import resolves names and paths against.
pub fn all_categories(conn: &mut DbConnection) -> Result<Vec<CategoryRow>, PersistenceError> {
    Ok(product_categories::table
        .select(CategoryRow::as_select())
        .order((
            product_categories::created_at.asc(),
            product_categories::id.asc(),
        ))
        .load(conn)?)
}
