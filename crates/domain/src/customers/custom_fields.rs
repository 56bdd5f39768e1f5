//! Custom fields (issue "typed custom fields defined by admins"): an admin defines a
//! key, a label and a type; every customer's values are checked against the
//! definitions, stored with the customer and, one row per value, in a typed side table
//! that filters use.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::snake_names;
use crate::persian::normalize_digits;
use crate::validation::{FieldViolation, Violations};

/// Longest field key; keys are `[a-z][a-z0-9_]*`.
pub const MAX_CUSTOM_FIELD_KEY_CHARS: usize = 40;
const MAX_TEXT_VALUE_CHARS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomFieldKind {
    Text,
    Integer,
    Boolean,
    /// ISO 8601 calendar date (`YYYY-MM-DD`).
    Date,
    /// One of the definition's `options`.
    Select,
}

snake_names!(CustomFieldKind {
    Text => "text",
    Integer => "integer",
    Boolean => "boolean",
    Date => "date",
    Select => "select",
});

/// What a custom field belongs to. Each record is checked against the definitions of
/// its own entity only; definitions made before products had custom fields are the
/// customers'. A key is unique within its entity: a lead field and a customer field may
/// share one, which is how conversion carries a lead's value to its customer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomFieldEntity {
    #[default]
    Customer,
    Product,
    Lead,
    Deal,
    Ticket,
}

snake_names!(CustomFieldEntity {
    Customer => "customer",
    Product => "product",
    Lead => "lead",
    Deal => "deal",
    Ticket => "ticket",
});

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomFieldDefinition {
    pub key: String,
    pub kind: CustomFieldKind,
    pub options: Vec<String>,
    pub required: bool,
}

/// A checked value, typed for the side table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomValue {
    Text(String),
    Integer(i64),
    Boolean(bool),
    Date(NaiveDate),
}

impl CustomValue {
    /// The value in the customer's JSON document.
    pub fn to_json(&self) -> Value {
        match self {
            CustomValue::Text(text) => Value::String(text.clone()),
            CustomValue::Integer(number) => Value::from(*number),
            CustomValue::Boolean(flag) => Value::Bool(*flag),
            CustomValue::Date(date) => Value::String(date.to_string()),
        }
    }
}

/// Whether `key` is an acceptable field key.
pub fn is_valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    key.len() <= MAX_CUSTOM_FIELD_KEY_CHARS
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Checks `values` against `definitions`: unknown keys, wrong types, options and
/// required fields are reported under `custom_fields.<key>`. `null` removes a value.
/// Integers and dates may come as text (imports); Persian digits are accepted.
pub fn validate_custom_fields(
    values: &Map<String, Value>,
    definitions: &[CustomFieldDefinition],
) -> Result<Vec<(String, CustomValue)>, Vec<FieldViolation>> {
    let by_key: HashMap<&str, &CustomFieldDefinition> = definitions
        .iter()
        .map(|definition| (definition.key.as_str(), definition))
        .collect();
    let mut v = Violations::default();
    let mut checked = Vec::new();
    for (key, value) in values {
        let field = format!("custom_fields.{key}");
        let Some(definition) = by_key.get(key.as_str()) else {
            v.push(
                field,
                "unknown_field",
                "no custom field with this key is defined",
            );
            continue;
        };
        if value.is_null() {
            continue;
        }
        match typed(definition, value) {
            Ok(typed) => checked.push((key.clone(), typed)),
            Err((code, message)) => v.push(field, code, message),
        }
    }
    for definition in definitions.iter().filter(|d| d.required) {
        if !checked.iter().any(|(key, _)| key == &definition.key) {
            v.push(
                format!("custom_fields.{}", definition.key),
                "required",
                "this custom field is required",
            );
        }
    }
    v.into_result().map(|()| checked)
}

fn typed(
    definition: &CustomFieldDefinition,
    value: &Value,
) -> Result<CustomValue, (&'static str, String)> {
    let text = || -> Option<String> {
        match value {
            Value::String(text) => Some(text.trim().to_string()),
            _ => None,
        }
    };
    match definition.kind {
        CustomFieldKind::Text => {
            let text = text().ok_or(("invalid_type", "must be text".to_string()))?;
            if text.chars().count() > MAX_TEXT_VALUE_CHARS {
                return Err((
                    "too_long",
                    format!("must be at most {MAX_TEXT_VALUE_CHARS} characters"),
                ));
            }
            Ok(CustomValue::Text(text))
        }
        CustomFieldKind::Integer => match value {
            Value::Number(number) => number.as_i64().map(CustomValue::Integer),
            Value::String(text) => normalize_digits(text.trim())
                .parse()
                .ok()
                .map(CustomValue::Integer),
            _ => None,
        }
        .ok_or(("invalid_type", "must be a whole number".to_string())),
        CustomFieldKind::Boolean => match value {
            Value::Bool(flag) => Some(CustomValue::Boolean(*flag)),
            Value::String(text) => match text.trim().to_lowercase().as_str() {
                "true" | "yes" | "1" | "بله" => Some(CustomValue::Boolean(true)),
                "false" | "no" | "0" | "خیر" => Some(CustomValue::Boolean(false)),
                _ => None,
            },
            _ => None,
        }
        .ok_or(("invalid_type", "must be true or false".to_string())),
        CustomFieldKind::Date => text()
            .and_then(|text| NaiveDate::parse_from_str(&normalize_digits(&text), "%Y-%m-%d").ok())
            .map(CustomValue::Date)
            .ok_or(("invalid_type", "must be a date as YYYY-MM-DD".to_string())),
        CustomFieldKind::Select => {
            let text = text().ok_or(("invalid_type", "must be text".to_string()))?;
            if definition.options.contains(&text) {
                Ok(CustomValue::Text(text))
            } else {
                Err((
                    "not_an_option",
                    format!("must be one of: {}", definition.options.join(", ")),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn definitions() -> Vec<CustomFieldDefinition> {
        vec![
            CustomFieldDefinition {
                key: "branch".into(),
                kind: CustomFieldKind::Select,
                options: vec!["Vanak".into(), "Tajrish".into()],
                required: true,
            },
            CustomFieldDefinition {
                key: "employees".into(),
                kind: CustomFieldKind::Integer,
                options: vec![],
                required: false,
            },
            CustomFieldDefinition {
                key: "since".into(),
                kind: CustomFieldKind::Date,
                options: vec![],
                required: false,
            },
        ]
    }

    #[test]
    fn values_are_typed_and_persian_digits_accepted() {
        let values = json!({"branch": "Vanak", "employees": "۱۲۰", "since": "2020-01-02"});
        let checked = validate_custom_fields(values.as_object().unwrap(), &definitions()).unwrap();
        assert!(checked.contains(&("employees".into(), CustomValue::Integer(120))));
        assert!(checked.contains(&(
            "since".into(),
            CustomValue::Date(NaiveDate::from_ymd_opt(2020, 1, 2).unwrap())
        )));
    }

    #[test]
    fn every_problem_is_named() {
        let values = json!({"employees": "many", "colour": "red", "since": "1399/01/01"});
        let errors =
            validate_custom_fields(values.as_object().unwrap(), &definitions()).unwrap_err();
        let fields: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert!(fields.contains(&("custom_fields.employees", "invalid_type")));
        assert!(fields.contains(&("custom_fields.colour", "unknown_field")));
        assert!(fields.contains(&("custom_fields.since", "invalid_type")));
        assert!(fields.contains(&("custom_fields.branch", "required")));
    }

    #[test]
    fn keys() {
        assert!(is_valid_key("favourite_branch2"));
        assert!(!is_valid_key("2branch"));
        assert!(!is_valid_key("Branch"));
        assert!(!is_valid_key(""));
    }
}
