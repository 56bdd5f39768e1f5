//! Event definitions: one per event name. A name an app sends for the first time gets
//! one of its own (no schema, weight 1) in the transaction that stores the event;
//! `crm:configure` gives a name a description, a property schema and a weight in the
//! engagement score, and may delete the definition of a name no event has.

use std::collections::BTreeMap;

use domain::authz::Permission;
use domain::behaviour::{CheckedEvent, DefinitionInput, PropertySpec, MAX_EVENT_NAMES};
use domain::validation::{FieldViolation, Violations};
use persistence::audit;
use persistence::behavioural_events::DefinitionRow;
use persistence::db::DbConnection;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use persistence::PersistenceError;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::paging::{invalid_cursor, Cursor};
use crate::precondition::Precondition;
use crate::transaction;

/// Sort order name of the definitions listing.
pub const NAME_ORDER: &str = "name";

/// The document of a stored definition.
pub fn input_of(row: &DefinitionRow) -> AppResult<DefinitionInput> {
    let properties = row
        .properties
        .as_ref()
        .map(|json| serde_json::from_value::<BTreeMap<String, PropertySpec>>(json.0.clone()))
        .transpose()
        .map_err(|err| AppError::Internal(format!("stored event schema: {err}")))?;
    Ok(DefinitionInput {
        description: row.description.clone(),
        weight: row.weight,
        properties,
        allow_other_properties: row.allow_other_properties,
    })
}

fn audit_snapshot(row: &DefinitionRow) -> Value {
    json!({
        "description": row.description,
        "weight": row.weight,
        "properties": row.properties.as_ref().map(|json| &json.0),
        "allow_other_properties": row.allow_other_properties,
    })
}

/// The names' definitions for a batch about to be stored, each event (with its place
/// in the request) checked against its name's schema: with the problems found before,
/// `violations`, any problem refuses the whole request; otherwise the names without a
/// definition get one (refused past [`MAX_EVENT_NAMES`]). Inside the ingesting
/// transaction.
pub(crate) fn admit(
    conn: &mut DbConnection,
    events: &[(usize, CheckedEvent)],
    field_of: &impl Fn(usize) -> String,
    mut violations: Violations,
) -> AppResult<()> {
    let mut names: Vec<String> = events.iter().map(|(_, event)| event.name.clone()).collect();
    names.sort();
    names.dedup();
    let stored = persistence::behavioural_events::definitions_named(conn, &names)?;
    for row in stored.iter().filter(|row| row.properties.is_some()) {
        let input = input_of(row)?;
        let Some(schema) = input.schema() else {
            continue;
        };
        for (index, event) in events.iter().filter(|(_, event)| event.name == row.name) {
            let field = at(&field_of(*index), "properties");
            schema.check(&field, &event.properties, &mut violations);
        }
    }
    violations.into_result().map_err(AppError::Invalid)?;
    let missing: Vec<&String> = names
        .iter()
        .filter(|name| !stored.iter().any(|row| &row.name == *name))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let count = persistence::behavioural_events::count_definitions(conn)?;
    if count + missing.len() as i64 > MAX_EVENT_NAMES {
        let first = events
            .iter()
            .find(|(_, event)| missing.contains(&&event.name))
            .map_or(0, |(index, _)| *index);
        return Err(AppError::Invalid(vec![FieldViolation::new(
            at(&field_of(first), "name"),
            "too_many_names",
            format!(
                "a business keeps at most {MAX_EVENT_NAMES} event names; \
                 delete unused definitions or reuse a name"
            ),
        )]));
    }
    let now = DbTime(persistence::now());
    let rows: Vec<DefinitionRow> = missing
        .iter()
        .map(|name| row_of((*name).clone(), DefinitionInput::default(), now, 1))
        .collect();
    persistence::behavioural_events::insert_missing(conn, &rows)?;
    Ok(())
}

/// `name` under `field` (`events[3]` → `events[3].name`; `""` for a lone event).
pub(super) fn at(field: &str, name: &str) -> String {
    if field.is_empty() {
        name.to_string()
    } else {
        format!("{field}.{name}")
    }
}

fn row_of(name: String, input: DefinitionInput, now: DbTime, version: i64) -> DefinitionRow {
    DefinitionRow {
        name,
        id: DbUuid(Uuid::now_v7()),
        description: input.description,
        weight: input.weight,
        properties: input.properties.map(|properties| DbJson(json!(properties))),
        allow_other_properties: input.allow_other_properties,
        created_at: now,
        updated_at: now,
        version,
    }
}

fn checked_name(name: &str) -> AppResult<()> {
    if domain::behaviour::is_valid_name(name) {
        Ok(())
    } else {
        Err(AppError::bad_parameter(
            "name",
            "invalid_format",
            "must be a lower-case letter, then up to 63 lower-case letters, digits, '_', '.' or '-'",
        ))
    }
}

/// A definition (`records:read`: what apps send is no secret to those who read the
/// customers it describes).
pub fn get(conn: &mut DbConnection, acting: &Acting, name: &str) -> AppResult<DefinitionRow> {
    acting.require(Permission::RecordsRead)?;
    checked_name(name)?;
    Ok(persistence::behavioural_events::find_definition(
        conn, name,
    )?)
}

/// One page of definitions in name order (`records:read`).
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<DefinitionRow>> {
    acting.require(Permission::RecordsRead)?;
    let after = match cursor {
        None => None,
        Some(cursor) => match cursor.keyset(NAME_ORDER)?.values.as_slice() {
            [Value::String(name)] => Some(name.clone()),
            _ => return Err(invalid_cursor()),
        },
    };
    Ok(persistence::behavioural_events::list_definitions(
        conn,
        after.as_deref(),
        limit,
    )?)
}

/// The cursor after `row` in the definitions listing.
pub fn cursor_after(row: &DefinitionRow) -> Cursor {
    Cursor::new(NAME_ORDER, vec![Value::from(row.name.clone())], Uuid::nil())
}

/// Defines `name` (`crm:configure`): creates its definition, or replaces the one it has
/// (`precondition` on that one's version). Answers the row and whether it was created.
/// Audited as `event_definition.create` or `event_definition.update`.
pub fn put(
    conn: &mut DbConnection,
    acting: &Acting,
    name: &str,
    precondition: &Precondition,
    input: DefinitionInput,
) -> AppResult<(DefinitionRow, bool)> {
    acting.require(Permission::CrmConfigure)?;
    checked_name(name)?;
    let input = input.validated().map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        let now = DbTime(persistence::now());
        match persistence::behavioural_events::find_definition(conn, name) {
            Err(PersistenceError::NotFound) => {
                if persistence::behavioural_events::count_definitions(conn)? >= MAX_EVENT_NAMES {
                    return Err(AppError::Conflict(format!(
                        "a business keeps at most {MAX_EVENT_NAMES} event names"
                    )));
                }
                let row = row_of(name.to_string(), input, now, 1);
                persistence::behavioural_events::insert_definition(conn, &row)?;
                record(conn, acting, "event_definition.create", &json!({}), &row)?;
                Ok((row, true))
            }
            Err(other) => Err(other.into()),
            Ok(current) => {
                precondition.check(current.id.0, current.version)?;
                let row = DefinitionRow {
                    id: current.id,
                    created_at: current.created_at,
                    ..row_of(name.to_string(), input, now, current.version)
                };
                let row = persistence::behavioural_events::update_definition(conn, &row)?;
                record(
                    conn,
                    acting,
                    "event_definition.update",
                    &audit_snapshot(&current),
                    &row,
                )?;
                Ok((row, false))
            }
        }
    })
}

/// Deletes the definition of a name no stored event has (`crm:configure`); 409 while
/// one does. Audited as `event_definition.delete`.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    name: &str,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    checked_name(name)?;
    transaction(conn, |conn| {
        let current = persistence::behavioural_events::find_definition(conn, name)?;
        precondition.check(current.id.0, current.version)?;
        if persistence::behavioural_events::name_in_use(conn, name)? {
            return Err(AppError::Conflict(
                "events of this name are stored; a definition in use cannot be deleted".into(),
            ));
        }
        persistence::behavioural_events::delete_definition(conn, name)?;
        audit::record(
            conn,
            &acting.audit_actor(),
            audit::NewAuditEvent {
                action: "event_definition.delete",
                resource_type: "event_definition",
                resource_id: Some(name.to_string()),
                changes: Some(json!({"before": audit_snapshot(&current)})),
            },
        )?;
        Ok(())
    })
}

fn record(
    conn: &mut DbConnection,
    acting: &Acting,
    action: &str,
    before: &Value,
    row: &DefinitionRow,
) -> AppResult<()> {
    audit::record(
        conn,
        &acting.audit_actor(),
        audit::NewAuditEvent {
            action,
            resource_type: "event_definition",
            resource_id: Some(row.name.clone()),
            changes: Some(json!({"before": before, "after": audit_snapshot(row)})),
        },
    )?;
    Ok(())
}
