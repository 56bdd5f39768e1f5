//! The sort list of a search: `[{"field": "created_at", "direction": "desc"}]`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{
    field_names, quoted, ErrorSink, FieldErrorCode, FieldSpec, FilterErrors, MAX_SORT_FIELDS,
    SORT_PATH,
};

/// Sort order of one field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortDirection {
    #[default]
    Asc,
    Desc,
}

/// One entry of a sort list, as sent by clients. Entries apply in order; the storage
/// layer adds the record id last so that pages are stable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"field": "created_at", "direction": "desc"}))]
pub struct SortSpec {
    pub field: String,
    /// `asc` when omitted.
    #[serde(default)]
    pub direction: SortDirection,
}

/// A validated sort entry naming a sortable catalogue field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResolvedSort {
    pub field: &'static str,
    pub direction: SortDirection,
    /// Whether the field may be empty. An empty value sorts before every value: first
    /// in ascending order, last in descending order, on every backend.
    pub nullable: bool,
}

/// Checks a sort list against a resource's field catalogue: at most
/// [`MAX_SORT_FIELDS`] entries, each naming a distinct sortable field.
pub fn validate_sort(
    sort: &Value,
    catalogue: &[FieldSpec],
) -> Result<Vec<ResolvedSort>, FilterErrors> {
    let mut sink = ErrorSink::default();
    let resolved = resolve(sort, catalogue, &mut sink);
    sink.into_result(resolved, SORT_PATH)
}

fn resolve(
    sort: &Value,
    catalogue: &[FieldSpec],
    sink: &mut ErrorSink,
) -> Option<Vec<ResolvedSort>> {
    let Some(entries) = sort.as_array() else {
        sink.push(
            SORT_PATH,
            FieldErrorCode::InvalidStructure,
            "expected an array of {\"field\", \"direction\"} objects",
        );
        return None;
    };
    if entries.len() > MAX_SORT_FIELDS {
        sink.push(
            SORT_PATH,
            FieldErrorCode::TooManyValues,
            format!("at most {MAX_SORT_FIELDS} sort fields are allowed"),
        );
        return None;
    }
    let mut resolved: Vec<ResolvedSort> = Vec::with_capacity(entries.len());
    let mut valid = true;
    for (index, entry) in entries.iter().enumerate() {
        let path = format!("{SORT_PATH}[{index}]");
        match self::entry(entry, &path, catalogue, sink) {
            Some(sort) if resolved.iter().any(|earlier| earlier.field == sort.field) => {
                sink.push(
                    format!("{path}.field"),
                    FieldErrorCode::DuplicateField,
                    format!("`{}` is already in the sort list", sort.field),
                );
                valid = false;
            }
            Some(sort) => resolved.push(sort),
            None => valid = false,
        }
    }
    valid.then_some(resolved)
}

fn entry(
    entry: &Value,
    path: &str,
    catalogue: &[FieldSpec],
    sink: &mut ErrorSink,
) -> Option<ResolvedSort> {
    let Some(object) = entry.as_object() else {
        sink.push(
            path,
            FieldErrorCode::InvalidStructure,
            "expected {\"field\", \"direction\"}",
        );
        return None;
    };
    let mut valid = true;
    for key in object.keys() {
        if !matches!(key.as_str(), "field" | "direction") {
            sink.push(
                format!("{path}.{key}"),
                FieldErrorCode::InvalidStructure,
                format!(
                    "unknown key {}; a sort entry has `field` and `direction`",
                    quoted(key)
                ),
            );
            valid = false;
        }
    }
    let direction = match object.get("direction") {
        None => Some(SortDirection::Asc),
        Some(direction) => {
            let parsed = SortDirection::deserialize(direction).ok();
            if parsed.is_none() {
                sink.push(
                    format!("{path}.direction"),
                    FieldErrorCode::InvalidValue,
                    "`direction` is `asc` or `desc`",
                );
            }
            parsed
        }
    };
    let field_path = format!("{path}.field");
    let Some(name) = object.get("field").and_then(Value::as_str) else {
        sink.push(
            field_path,
            FieldErrorCode::InvalidStructure,
            "a sort entry needs a `field` name",
        );
        return None;
    };
    let sortable = || field_names(catalogue, |spec| spec.sortable);
    let field = match catalogue.iter().find(|spec| spec.name == name) {
        Some(spec) if spec.sortable => Some(spec),
        Some(spec) => {
            sink.push(
                field_path,
                FieldErrorCode::NotSortable,
                format!(
                    "`{}` cannot be sorted on; sortable fields: {}",
                    spec.name,
                    sortable()
                ),
            );
            None
        }
        None => {
            sink.push(
                field_path,
                FieldErrorCode::UnknownField,
                format!(
                    "unknown field {}; sortable fields: {}",
                    quoted(name),
                    sortable()
                ),
            );
            None
        }
    };
    let (field, direction) = (field?, direction?);
    valid.then_some(ResolvedSort {
        field: field.name,
        direction,
        nullable: field.nullable,
    })
}
