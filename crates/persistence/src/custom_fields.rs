//! Definitions of custom fields of customers, products, leads and deals, made by admins.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::customers::{CustomFieldDefinition, CustomFieldEntity, CustomFieldKind};
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::{custom_field_definitions, customer_custom_values};
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::PersistenceError;

const DUPLICATE_KEY: &str = "a custom field of this entity with this key already exists";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = custom_field_definitions)]
pub struct CustomFieldRow {
    pub id: DbUuid,
    pub field_key: String,
    pub label: String,
    pub kind: String,
    pub options: DbJson,
    pub required: bool,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
    /// `customer`, `product`, `lead` or `deal` (`CustomFieldEntity`).
    pub entity: String,
}

impl CustomFieldRow {
    pub fn definition(&self) -> Result<CustomFieldDefinition, PersistenceError> {
        Ok(CustomFieldDefinition {
            key: self.field_key.clone(),
            kind: CustomFieldKind::parse(&self.kind).ok_or_else(|| {
                PersistenceError::Corrupt(format!("custom field kind `{}`", self.kind))
            })?,
            options: serde_json::from_value(self.options.0.clone())
                .map_err(|err| PersistenceError::Corrupt(format!("custom field options: {err}")))?,
            required: self.required,
        })
    }

    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "field_key": self.field_key,
            "label": self.label,
            "kind": self.kind,
            "options": self.options.0,
            "required": self.required,
            "entity": self.entity,
        })
    }
}

pub fn insert(conn: &mut DbConnection, row: &CustomFieldRow) -> Result<(), PersistenceError> {
    diesel::insert_into(custom_field_definitions::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_KEY))?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<CustomFieldRow, PersistenceError> {
    custom_field_definitions::table
        .find(DbUuid(id))
        .select(CustomFieldRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Every definition of `entity`, oldest first (there are few: they are made by hand).
pub fn all(
    conn: &mut DbConnection,
    entity: CustomFieldEntity,
) -> Result<Vec<CustomFieldRow>, PersistenceError> {
    Ok(custom_field_definitions::table
        .filter(custom_field_definitions::entity.eq(entity.as_str()))
        .order((
            custom_field_definitions::created_at,
            custom_field_definitions::id,
        ))
        .select(CustomFieldRow::as_select())
        .load(conn)?)
}

/// Definitions in creation order after `after`; `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<CustomFieldRow>, PersistenceError> {
    let mut select = custom_field_definitions::table
        .select(CustomFieldRow::as_select())
        .into_boxed();
    if let Some((created_at, id)) = after {
        select = select.filter(
            custom_field_definitions::created_at
                .gt(DbTime(created_at))
                .or(custom_field_definitions::created_at
                    .eq(DbTime(created_at))
                    .and(custom_field_definitions::id.gt(DbUuid(id)))),
        );
    }
    Ok(select
        .order((
            custom_field_definitions::created_at.asc(),
            custom_field_definitions::id.asc(),
        ))
        .limit(limit + 1)
        .load(conn)?)
}

/// Changes label, options and required (key and kind are fixed once values exist).
pub fn update(
    conn: &mut DbConnection,
    row: &CustomFieldRow,
) -> Result<CustomFieldRow, PersistenceError> {
    let updated = diesel::update(
        custom_field_definitions::table
            .filter(custom_field_definitions::id.eq(row.id))
            .filter(custom_field_definitions::version.eq(row.version)),
    )
    .set((
        custom_field_definitions::label.eq(&row.label),
        custom_field_definitions::options.eq(&row.options),
        custom_field_definitions::required.eq(row.required),
        custom_field_definitions::updated_at.eq(DbTime(crate::now())),
        custom_field_definitions::version.eq(row.version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        find(conn, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    find(conn, row.id.0)
}

/// Deletes a definition that no record of its entity (customer, product, lead, deal
/// or ticket) has a value for.
pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    let row = find(conn, id)?;
    let entity = CustomFieldEntity::parse(&row.entity).ok_or_else(|| {
        PersistenceError::Corrupt(format!("custom field entity `{}`", row.entity))
    })?;
    let (in_use, holders) = match entity {
        CustomFieldEntity::Product => (
            crate::products::count_with_custom_value(conn, &row.field_key)?,
            "products",
        ),
        CustomFieldEntity::Lead => (
            crate::leads::count_with_custom_value(conn, &row.field_key)?,
            "leads",
        ),
        CustomFieldEntity::Deal => (
            crate::deals::count_with_custom_value(conn, &row.field_key)?,
            "deals",
        ),
        CustomFieldEntity::Ticket => (
            crate::tickets::count_with_custom_value(conn, &row.field_key)?,
            "tickets",
        ),
        CustomFieldEntity::Customer => {
            let in_use: i64 = customer_custom_values::table
                .filter(customer_custom_values::field_key.eq(&row.field_key))
                .count()
                .get_result(conn)?;
            (in_use, "customers")
        }
    };
    if in_use > 0 {
        return Err(PersistenceError::Conflict(format!(
            "{in_use} {holders} have a value for this field"
        )));
    }
    diesel::delete(custom_field_definitions::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}
