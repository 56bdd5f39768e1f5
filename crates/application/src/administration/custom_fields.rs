//! Custom fields of customers, products, leads and deals: administrators
//! (`crm:configure`) define a key (unique within its entity), a label, a type and the
//! entity it belongs to; each entity's writes are validated against its own
//! definitions. Key and type are fixed after creation, since stored values depend on
//! them, and a field that records of its entity have values for cannot be deleted.

use domain::authz::Permission;
use domain::customers::{
    is_valid_key, validate_custom_fields, CustomFieldDefinition, CustomFieldEntity,
    CustomFieldKind, MAX_CUSTOM_FIELD_KEY_CHARS,
};
use domain::text::TextKind;
use domain::validation::{FieldViolation, Violations};
use persistence::audit;
use persistence::custom_fields::CustomFieldRow;
use persistence::db::DbConnection;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::paging::{created_after, Cursor};
use crate::precondition::Precondition;
use crate::transaction;

const MAX_LABEL_CHARS: usize = 100;
const MAX_OPTIONS: usize = 100;

/// A definition to create.
#[derive(Debug, Clone)]
pub struct NewCustomField {
    /// `[a-z][a-z0-9_]*`, at most [`MAX_CUSTOM_FIELD_KEY_CHARS`] characters.
    pub key: String,
    pub label: String,
    pub kind: CustomFieldKind,
    /// Allowed values of a `select` field; none for other kinds.
    pub options: Vec<String>,
    pub required: bool,
    /// What the field belongs to; fixed after creation.
    pub entity: CustomFieldEntity,
}

/// The fields of a definition a change may set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomFieldChanges {
    pub label: String,
    pub options: Vec<String>,
    pub required: bool,
}

/// The trimmed label and options, or every broken rule.
fn checked(
    kind: CustomFieldKind,
    label: &str,
    options: &[String],
) -> AppResult<(String, Vec<String>)> {
    let mut v = Violations::default();
    for (index, option) in options.iter().enumerate() {
        v.check_text(format!("options[{index}]"), option, TextKind::SingleLine);
    }
    let label = label.trim().to_string();
    v.check_text("label", &label, TextKind::SingleLine);
    if label.is_empty() || label.chars().count() > MAX_LABEL_CHARS {
        v.push(
            "label",
            "invalid_length",
            format!("must be 1 to {MAX_LABEL_CHARS} characters"),
        );
    }
    let options: Vec<String> = options.iter().map(|o| o.trim().to_string()).collect();
    match kind {
        CustomFieldKind::Select => {
            if options.is_empty() || options.len() > MAX_OPTIONS {
                v.push(
                    "options",
                    "invalid_length",
                    format!("a select field needs 1 to {MAX_OPTIONS} options"),
                );
            }
            if options.iter().any(|o| o.is_empty()) {
                v.push("options", "empty_option", "options must not be empty");
            }
            let mut unique = options.clone();
            unique.sort();
            unique.dedup();
            if unique.len() != options.len() {
                v.push("options", "duplicate", "options must be distinct");
            }
        }
        _ if !options.is_empty() => v.push(
            "options",
            "not_allowed_for_kind",
            "only select fields have options",
        ),
        _ => {}
    }
    v.into_result().map_err(AppError::Invalid)?;
    Ok((label, options))
}

/// Defines a custom field (`crm:configure`); a taken key is a conflict.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    new: NewCustomField,
) -> AppResult<CustomFieldRow> {
    acting.require(Permission::CrmConfigure)?;
    if !is_valid_key(&new.key) {
        return Err(AppError::field(
            "key",
            "invalid_format",
            format!(
                "must match [a-z][a-z0-9_]* and be at most {MAX_CUSTOM_FIELD_KEY_CHARS} characters"
            ),
        ));
    }
    let (label, options) = checked(new.kind, &new.label, &new.options)?;
    let now = DbTime(persistence::now());
    let row = CustomFieldRow {
        id: DbUuid(Uuid::now_v7()),
        field_key: new.key,
        label,
        kind: new.kind.as_str().to_string(),
        options: DbJson(serde_json::json!(options)),
        required: new.required,
        created_at: now,
        updated_at: now,
        version: 1,
        entity: new.entity.as_str().to_string(),
    };
    transaction(conn, |conn| {
        persistence::custom_fields::insert(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "custom_field.create",
            "custom_field",
            row.id.0,
            &serde_json::json!({}),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// One page of definitions in creation order (`records:read`): up to `limit + 1` rows
/// after `cursor`.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<CustomFieldRow>> {
    acting.require(Permission::RecordsRead)?;
    let after = created_after(cursor)?;
    Ok(persistence::custom_fields::list(conn, after, limit)?)
}

/// A definition (`records:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<CustomFieldRow> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::custom_fields::find(conn, id)?)
}

/// Changes a definition's label, options or required flag (`crm:configure`) with
/// `edit`, which turns the current values into the wanted ones.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&CustomFieldChanges) -> AppResult<CustomFieldChanges>,
) -> AppResult<CustomFieldRow> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::custom_fields::find(conn, id)?;
        precondition.check(id, current.version)?;
        let definition = current.definition()?;
        let after = edit(&CustomFieldChanges {
            label: current.label.clone(),
            options: definition.options,
            required: current.required,
        })?;
        let (label, options) = checked(definition.kind, &after.label, &after.options)?;
        let mut row = current.clone();
        row.label = label;
        row.options = DbJson(serde_json::json!(options));
        row.required = after.required;
        let row = persistence::custom_fields::update(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "custom_field.update",
            "custom_field",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// Deletes a definition no customer has a value for (`crm:configure`); otherwise a
/// conflict.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::custom_fields::find(conn, id)?;
        precondition.check(id, current.version)?;
        persistence::custom_fields::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "custom_field.delete",
            "custom_field",
            id,
            &current.audit_snapshot(),
            &serde_json::json!({}),
        )?;
        Ok(())
    })
}

/// Every definition of `entity`: what its records are checked against and its searches
/// may name as `custom.<key>`.
pub fn definitions(
    conn: &mut DbConnection,
    entity: CustomFieldEntity,
) -> AppResult<Vec<CustomFieldDefinition>> {
    Ok(persistence::custom_fields::all(conn, entity)?
        .iter()
        .map(|row| row.definition())
        .collect::<Result<_, _>>()?)
}

/// `values` in their checked form (text trimmed, numbers and dates read; a `null`
/// removes one), or every broken rule, named `custom_fields.<key>`: how products,
/// leads and deals store theirs.
pub fn checked_values(
    values: &Map<String, Value>,
    definitions: &[CustomFieldDefinition],
) -> Result<Map<String, Value>, Vec<FieldViolation>> {
    Ok(validate_custom_fields(values, definitions)?
        .into_iter()
        .map(|(key, value)| (key, value.to_json()))
        .collect())
}

/// A record's own rules (`own`) and its custom values checked together, so that one
/// answer reports both: the record with its checked values, or every violation.
pub fn with_checked_values<T>(
    own: Result<T, Vec<FieldViolation>>,
    values: Result<Map<String, Value>, Vec<FieldViolation>>,
    set: impl FnOnce(T, Map<String, Value>) -> T,
) -> Result<T, Vec<FieldViolation>> {
    match (own, values) {
        (Ok(record), Ok(values)) => Ok(set(record, values)),
        (own, values) => {
            let mut violations = own.err().unwrap_or_default();
            violations.extend(values.err().unwrap_or_default());
            Err(violations)
        }
    }
}
