//! What an audit event records about a change (D-4).

use serde_json::{Map, Value};

/// Field-level difference between two JSON snapshots of a record:
/// `{"field": {"before": .., "after": ..}}` for every top-level field whose value changed
/// (a field missing on one side counts as `null`). Secrets must be removed from the
/// snapshots by the caller before they get here.
pub fn changed_fields(before: &Value, after: &Value) -> Value {
    let empty = Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    let mut changes = Map::new();
    for key in before.keys().chain(after.keys()) {
        if changes.contains_key(key) {
            continue;
        }
        let old = before.get(key).unwrap_or(&Value::Null);
        let new = after.get(key).unwrap_or(&Value::Null);
        if old != new {
            changes.insert(
                key.clone(),
                serde_json::json!({"before": old, "after": new}),
            );
        }
    }
    Value::Object(changes)
}

/// The names of the top-level fields whose value differs between two snapshots (the
/// keys of [`changed_fields`]), for an event that says what changed.
pub fn changed_field_names(before: &Value, after: &Value) -> Vec<String> {
    match changed_fields(before, after) {
        Value::Object(fields) => fields.into_iter().map(|(name, _)| name).collect(),
        _ => Vec::new(),
    }
}

/// Serialises JSON with object keys sorted at every level, so that a hash over it does
/// not depend on how a database or a map type orders keys.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_only_changed_fields() {
        let before = json!({"name": "Ali", "role": "sales", "team": null});
        let after = json!({"name": "Ali", "role": "manager", "locale": "fa"});
        assert_eq!(
            changed_fields(&before, &after),
            json!({"role": {"before": "sales", "after": "manager"}, "locale": {"before": null, "after": "fa"}})
        );
    }

    #[test]
    fn canonical_form_ignores_key_order() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[1,{"z":1,"y":2}],"c":"x"}}"#).unwrap();
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"c":"x","d":[1,{"y":2,"z":1}]},"b":1}"#
        );
    }
}
