//! Walking the filter tree: groups, depth and size limits, and the shape of conditions.

use serde_json::{Map, Value};

use super::value::resolve_condition;
use super::{
    field_names, quoted, ErrorSink, FieldErrorCode, FieldSpec, FilterErrors, FilterOp,
    ResolveContext, ResolvedFilter, FILTER_PATH, MAX_CONDITIONS, MAX_DEPTH,
};

/// Checks a filter tree against a resource's field catalogue and resolves it.
///
/// On failure every problem found is returned (up to
/// [`super::MAX_REPORTED_ERRORS`]), with paths starting at `filter`. Relative dates are
/// resolved at `context.now` in `context.calendar`.
pub fn validate_filter(
    filter: &Value,
    catalogue: &[FieldSpec],
    context: &ResolveContext,
) -> Result<ResolvedFilter, FilterErrors> {
    let mut walker = Walker {
        catalogue,
        context,
        sink: ErrorSink::default(),
        conditions: 0,
    };
    let resolved = walker.node(filter, FILTER_PATH, 1);
    walker.sink.into_result(resolved, FILTER_PATH)
}

struct Walker<'a> {
    catalogue: &'a [FieldSpec],
    context: &'a ResolveContext,
    sink: ErrorSink,
    conditions: usize,
}

impl<'a> Walker<'a> {
    /// `depth` is the depth a group at this position would have.
    fn node(&mut self, node: &Value, path: &str, depth: usize) -> Option<ResolvedFilter> {
        let Value::Object(object) = node else {
            self.sink.push(
                path,
                FieldErrorCode::InvalidStructure,
                "expected a condition {\"field\", \"op\", \"value\"} or a group {\"and\": [...]} or {\"or\": [...]}",
            );
            return None;
        };
        if object.contains_key("and") || object.contains_key("or") {
            self.group(object, path, depth)
        } else {
            self.condition(object, path)
        }
    }

    fn group(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
        depth: usize,
    ) -> Option<ResolvedFilter> {
        let mut entries = object.iter();
        let (Some((key, children)), None) = (entries.next(), entries.next()) else {
            self.sink.push(
                path,
                FieldErrorCode::InvalidStructure,
                "a group has exactly one key, `and` or `or`",
            );
            return None;
        };
        if depth > MAX_DEPTH {
            self.sink.push(
                path,
                FieldErrorCode::TooDeep,
                format!("groups may be nested at most {MAX_DEPTH} deep"),
            );
            return None;
        }
        let children_path = format!("{path}.{key}");
        let children = match children.as_array() {
            Some(children) if !children.is_empty() => children,
            _ => {
                self.sink.push(
                    children_path,
                    FieldErrorCode::InvalidStructure,
                    "a group takes a non-empty array of conditions and groups",
                );
                return None;
            }
        };
        let resolved: Vec<Option<ResolvedFilter>> = children
            .iter()
            .enumerate()
            .map(|(index, child)| self.node(child, &format!("{children_path}[{index}]"), depth + 1))
            .collect();
        let resolved = resolved.into_iter().collect::<Option<Vec<_>>>()?;
        Some(match key.as_str() {
            "and" => ResolvedFilter::And(resolved),
            _ => ResolvedFilter::Or(resolved),
        })
    }

    fn condition(&mut self, object: &Map<String, Value>, path: &str) -> Option<ResolvedFilter> {
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            // Reported once, at the root, and the rest is not examined.
            if self.conditions == MAX_CONDITIONS + 1 {
                self.sink.push(
                    FILTER_PATH,
                    FieldErrorCode::TooManyConditions,
                    format!("a filter may have at most {MAX_CONDITIONS} conditions"),
                );
            }
            return None;
        }
        let mut well_formed = true;
        for key in object.keys() {
            if !matches!(key.as_str(), "field" | "op" | "value") {
                self.sink.push(
                    format!("{path}.{key}"),
                    FieldErrorCode::InvalidStructure,
                    format!(
                        "unknown key {}; a condition has `field`, `op` and `value`",
                        quoted(key)
                    ),
                );
                well_formed = false;
            }
        }
        let spec = self.field(object.get("field"), path);
        let op = operator(object.get("op"), path, &mut self.sink);
        let value = object.get("value");
        if value.is_none() {
            self.sink.push(
                format!("{path}.value"),
                FieldErrorCode::InvalidValue,
                "a condition needs a `value`",
            );
        }
        let (spec, op, value) = (spec?, op?, value?);
        if !spec.allows(op) {
            self.sink.push(
                format!("{path}.op"),
                FieldErrorCode::OperatorNotAllowed,
                not_allowed_message(spec, op),
            );
            return None;
        }
        let resolved = resolve_condition(
            spec,
            op,
            value,
            &format!("{path}.value"),
            self.context,
            &mut self.sink,
        );
        resolved.filter(|_| well_formed)
    }

    fn field(&mut self, name: Option<&Value>, path: &str) -> Option<&'a FieldSpec> {
        let path = format!("{path}.field");
        let Some(name) = name.and_then(Value::as_str) else {
            self.sink.push(
                path,
                FieldErrorCode::InvalidStructure,
                "a condition needs a `field` name",
            );
            return None;
        };
        let spec = self.catalogue.iter().find(|spec| spec.name == name);
        if spec.is_none() {
            self.sink.push(
                path,
                FieldErrorCode::UnknownField,
                format!(
                    "unknown field {}; searchable fields: {}",
                    quoted(name),
                    field_names(self.catalogue, |_| true)
                ),
            );
        }
        spec
    }
}

fn operator(op: Option<&Value>, path: &str, sink: &mut ErrorSink) -> Option<FilterOp> {
    let path = format!("{path}.op");
    let Some(op) = op else {
        sink.push(
            path,
            FieldErrorCode::InvalidStructure,
            "a condition needs an `op`",
        );
        return None;
    };
    let parsed = FilterOp::ALL
        .into_iter()
        .find(|known| op.as_str() == Some(known.as_str()));
    if parsed.is_none() {
        let names: Vec<&str> = FilterOp::ALL.iter().map(|known| known.as_str()).collect();
        sink.push(
            path,
            FieldErrorCode::UnknownOperator,
            format!("unknown operator; expected one of: {}", names.join(", ")),
        );
    }
    parsed
}

fn not_allowed_message(spec: &FieldSpec, op: FilterOp) -> String {
    let allowed: Vec<&str> = FilterOp::ALL
        .iter()
        .filter(|candidate| spec.allows(**candidate))
        .map(|candidate| candidate.as_str())
        .collect();
    format!(
        "`{}` does not apply to `{}`; it takes: {}",
        op.as_str(),
        spec.name,
        allowed.join(", ")
    )
}
