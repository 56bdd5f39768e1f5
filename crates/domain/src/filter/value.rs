//! Reading a condition's value by field kind and operator, and lowering `between` and
//! relative dates into plain comparisons.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::relative::{RelativeDate, RelativePeriod};
use super::{
    ErrorSink, FieldErrorCode, FieldKind, FieldSpec, FilterOp, Finite, Predicate, ResolveContext,
    ResolvedFilter, TypedValue, MAX_LIST_VALUES, MAX_RELATIVE_DAYS, MAX_TEXT_LENGTH,
};
use crate::calendar::{CalendarSystem, DateRange};

/// One side of a comparison: an exact value, or a relative period `[start, end)`.
enum Operand {
    Exact(TypedValue),
    Period { start: TypedValue, end: TypedValue },
}

/// Reads `value` for `op` on the field `spec`, whose operator is already known to be
/// allowed, and returns the lowered condition. Problems go to `sink` under `path`.
pub(super) fn resolve_condition(
    spec: &FieldSpec,
    op: FilterOp,
    value: &Value,
    path: &str,
    context: &ResolveContext,
    sink: &mut ErrorSink,
) -> Option<ResolvedFilter> {
    let leaf = |predicate| ResolvedFilter::Condition {
        field: spec.name,
        predicate,
    };
    match op {
        FilterOp::IsNull => match value {
            Value::Bool(is_null) => Some(leaf(Predicate::IsNull(*is_null))),
            _ => {
                sink.push(
                    path,
                    FieldErrorCode::InvalidValue,
                    "`is_null` takes true or false",
                );
                None
            }
        },
        FilterOp::Contains | FilterOp::StartsWith => {
            let text = pattern(value, path, sink)?;
            Some(leaf(match op {
                FilterOp::Contains => Predicate::Contains(text),
                _ => Predicate::StartsWith(text),
            }))
        }
        FilterOp::In | FilterOp::NotIn => {
            let values = list(spec.kind, op, value, path, sink)?;
            Some(leaf(match op {
                FilterOp::In => Predicate::In(values),
                _ => Predicate::NotIn(values),
            }))
        }
        FilterOp::Between => between(spec, value, path, context, sink),
        FilterOp::Eq
        | FilterOp::Neq
        | FilterOp::Lt
        | FilterOp::Lte
        | FilterOp::Gt
        | FilterOp::Gte => {
            let operand = operand(spec.kind, value, path, context, sink)?;
            Some(compare(spec.name, op, operand))
        }
    }
}

/// Lowers a comparison with one operand; see the table in the module documentation.
fn compare(field: &'static str, op: FilterOp, operand: Operand) -> ResolvedFilter {
    let leaf = |predicate| ResolvedFilter::Condition { field, predicate };
    match operand {
        Operand::Exact(value) => leaf(match op {
            FilterOp::Neq => Predicate::Neq(value),
            FilterOp::Lt => Predicate::Lt(value),
            FilterOp::Lte => Predicate::Lte(value),
            FilterOp::Gt => Predicate::Gt(value),
            FilterOp::Gte => Predicate::Gte(value),
            _ => Predicate::Eq(value),
        }),
        Operand::Period { start, end } => match op {
            FilterOp::Neq => {
                ResolvedFilter::Or(vec![leaf(Predicate::Lt(start)), leaf(Predicate::Gte(end))])
            }
            FilterOp::Lt => leaf(Predicate::Lt(start)),
            FilterOp::Lte => leaf(Predicate::Lt(end)),
            FilterOp::Gt => leaf(Predicate::Gte(end)),
            FilterOp::Gte => leaf(Predicate::Gte(start)),
            _ => ResolvedFilter::And(vec![leaf(Predicate::Gte(start)), leaf(Predicate::Lt(end))]),
        },
    }
}

/// `between [low, high]`: at or after `low` (or its period's start) and at or before
/// `high` (or before its period's end).
fn between(
    spec: &FieldSpec,
    value: &Value,
    path: &str,
    context: &ResolveContext,
    sink: &mut ErrorSink,
) -> Option<ResolvedFilter> {
    let Some([low, high]) = value.as_array().map(Vec::as_slice) else {
        sink.push(
            path,
            FieldErrorCode::InvalidValue,
            "`between` takes an array of two values, [low, high]",
        );
        return None;
    };
    let low = operand(spec.kind, low, &format!("{path}[0]"), context, sink);
    let high = operand(spec.kind, high, &format!("{path}[1]"), context, sink);
    let (low, high) = (low?, high?);
    let lower = match low {
        Operand::Exact(value) | Operand::Period { start: value, .. } => value,
    };
    let (upper, in_order) = match high {
        Operand::Exact(value) => {
            let in_order = lower <= value;
            (Predicate::Lte(value), in_order)
        }
        Operand::Period { end, .. } => {
            let in_order = lower < end;
            (Predicate::Lt(end), in_order)
        }
    };
    if !in_order {
        sink.push(
            path,
            FieldErrorCode::InvalidRange,
            "the low bound of `between` is after the high bound",
        );
        return None;
    }
    let leaf = |predicate| ResolvedFilter::Condition {
        field: spec.name,
        predicate,
    };
    Some(ResolvedFilter::And(vec![
        leaf(Predicate::Gte(lower)),
        leaf(upper),
    ]))
}

/// The values of `in` / `not_in`: 1 to [`MAX_LIST_VALUES`] exact values.
fn list(
    kind: FieldKind,
    op: FilterOp,
    value: &Value,
    path: &str,
    sink: &mut ErrorSink,
) -> Option<Vec<TypedValue>> {
    let name = op.as_str();
    let Some(items) = value.as_array() else {
        sink.push(
            path,
            FieldErrorCode::InvalidValue,
            format!("`{name}` takes an array of values"),
        );
        return None;
    };
    if items.is_empty() {
        sink.push(
            path,
            FieldErrorCode::InvalidValue,
            format!("`{name}` needs at least one value"),
        );
        return None;
    }
    if items.len() > MAX_LIST_VALUES {
        sink.push(
            path,
            FieldErrorCode::TooManyValues,
            format!("`{name}` takes at most {MAX_LIST_VALUES} values"),
        );
        return None;
    }
    let values: Vec<Option<TypedValue>> = items
        .iter()
        .enumerate()
        .map(|(index, item)| scalar(kind, item, &format!("{path}[{index}]"), sink))
        .collect();
    values.into_iter().collect()
}

/// The text of `contains` / `starts_with`: non-empty, at most [`MAX_TEXT_LENGTH`].
fn pattern(value: &Value, path: &str, sink: &mut ErrorSink) -> Option<String> {
    match value.as_str() {
        Some("") => sink.push(
            path,
            FieldErrorCode::InvalidValue,
            "the text must not be empty",
        ),
        Some(text) if text.chars().count() > MAX_TEXT_LENGTH => sink.push(
            path,
            FieldErrorCode::InvalidValue,
            format!("the text is longer than {MAX_TEXT_LENGTH} characters"),
        ),
        Some(text) => return Some(text.to_owned()),
        None => sink.push(path, FieldErrorCode::InvalidValue, "expected a text"),
    }
    None
}

/// An operand of a comparison: relative dates are accepted on date and time fields.
fn operand(
    kind: FieldKind,
    value: &Value,
    path: &str,
    context: &ResolveContext,
    sink: &mut ErrorSink,
) -> Option<Operand> {
    match (kind, value) {
        (FieldKind::Timestamp | FieldKind::Date, Value::Object(object)) => {
            let range = relative(object, path, context, sink)?;
            let business = &context.calendar;
            let bounds = match kind {
                FieldKind::Date => {
                    Some((TypedValue::Date(range.start), TypedValue::Date(range.end)))
                }
                _ => business
                    .utc_range(range)
                    .map(|(start, end)| (TypedValue::Timestamp(start), TypedValue::Timestamp(end))),
            };
            match bounds {
                Some((start, end)) => Some(Operand::Period { start, end }),
                None => {
                    sink.push(path, FieldErrorCode::InvalidValue, OUT_OF_RANGE);
                    None
                }
            }
        }
        _ => scalar(kind, value, path, sink).map(Operand::Exact),
    }
}

const OUT_OF_RANGE: &str = "the relative date falls outside the supported dates";

/// Reads a relative-date object into its local days.
fn relative(
    object: &Map<String, Value>,
    path: &str,
    context: &ResolveContext,
    sink: &mut ErrorSink,
) -> Option<DateRange> {
    let mut valid = true;
    for key in object.keys() {
        if !matches!(key.as_str(), "relative" | "n" | "calendar") {
            sink.push(
                format!("{path}.{key}"),
                FieldErrorCode::InvalidStructure,
                format!(
                    "unknown key {}; a relative date has `relative`, `n` and `calendar`",
                    super::quoted(key)
                ),
            );
            valid = false;
        }
    }
    let period = match object.get("relative").map(RelativePeriod::deserialize) {
        Some(Ok(period)) => Some(period),
        Some(Err(_)) => {
            sink.push(
                format!("{path}.relative"),
                FieldErrorCode::InvalidValue,
                RELATIVE_NAMES,
            );
            None
        }
        None => {
            sink.push(
                path,
                FieldErrorCode::InvalidValue,
                "a relative date needs `relative`",
            );
            None
        }
    };
    let calendar = match object.get("calendar") {
        None => None,
        Some(value) => match CalendarSystem::deserialize(value) {
            Ok(calendar) => Some(calendar),
            Err(_) => {
                sink.push(
                    format!("{path}.calendar"),
                    FieldErrorCode::InvalidValue,
                    "`calendar` is `gregorian` or `jalali`",
                );
                valid = false;
                None
            }
        },
    };
    let period = period?;
    let n = match (period, object.get("n")) {
        (RelativePeriod::LastNDays, Some(n)) => {
            match n.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n @ 1..=MAX_RELATIVE_DAYS) => Some(n),
                _ => {
                    sink.push(
                        format!("{path}.n"),
                        FieldErrorCode::InvalidValue,
                        format!("`n` is a whole number from 1 to {MAX_RELATIVE_DAYS}"),
                    );
                    return None;
                }
            }
        }
        (RelativePeriod::LastNDays, None) => {
            sink.push(
                path,
                FieldErrorCode::InvalidValue,
                "`last_n_days` needs `n`, the number of days",
            );
            return None;
        }
        (_, Some(_)) => {
            sink.push(
                format!("{path}.n"),
                FieldErrorCode::InvalidValue,
                "`n` is only used by `last_n_days`",
            );
            return None;
        }
        (_, None) => None,
    };
    if !valid {
        return None;
    }
    let relative = RelativeDate {
        relative: period,
        n,
        calendar,
    };
    let range = relative.local_range(context.now, &context.calendar);
    if range.is_none() {
        sink.push(path, FieldErrorCode::InvalidValue, OUT_OF_RANGE);
    }
    range
}

const RELATIVE_NAMES: &str = "`relative` is one of today, yesterday, last_n_days, this_week, \
     last_week, this_month, last_month, this_quarter, last_quarter, this_year, last_year";

/// An exact value of the field's kind.
fn scalar(kind: FieldKind, value: &Value, path: &str, sink: &mut ErrorSink) -> Option<TypedValue> {
    let text = value.as_str();
    let typed = match kind {
        FieldKind::Text => text
            .filter(|text| text.chars().count() <= MAX_TEXT_LENGTH)
            .map(|text| TypedValue::Text(text.to_owned())),
        FieldKind::Enum(allowed) => text
            .filter(|text| allowed.contains(text))
            .map(|text| TypedValue::Text(text.to_owned())),
        FieldKind::Uuid => text
            .and_then(|text| Uuid::try_parse(text).ok())
            .map(TypedValue::Uuid),
        // `5e8` is a whole number written with an exponent.
        FieldKind::Integer => value
            .as_i64()
            .or_else(|| whole(value))
            .map(TypedValue::Integer),
        FieldKind::Number => value.as_f64().and_then(Finite::new).map(TypedValue::Number),
        FieldKind::Bool => value.as_bool().map(TypedValue::Bool),
        FieldKind::Timestamp => text
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|instant| TypedValue::Timestamp(instant.with_timezone(&Utc))),
        FieldKind::Date => text
            .filter(|text| text.len() == 10)
            .and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
            .map(TypedValue::Date),
    };
    if typed.is_none() {
        sink.push(path, FieldErrorCode::InvalidValue, expected(kind));
    }
    typed
}

/// A JSON number with an exponent or a decimal point that is nonetheless a whole
/// number in the `i64` range.
fn whole(value: &Value) -> Option<i64> {
    let number = value.as_f64()?;
    // 2^63 is the first value past the range; every f64 below it in magnitude with no
    // fraction converts exactly.
    let limit = 2f64.powi(63);
    (number.fract() == 0.0 && number.abs() < limit).then_some(number as i64)
}

/// What a value of `kind` looks like, for error messages.
fn expected(kind: FieldKind) -> String {
    match kind {
        FieldKind::Text => format!("expected a text of at most {MAX_TEXT_LENGTH} characters"),
        FieldKind::Enum(allowed) => format!("expected one of: {}", allowed.join(", ")),
        FieldKind::Uuid => "expected a UUID".to_owned(),
        FieldKind::Integer => "expected a whole number".to_owned(),
        FieldKind::Number => "expected a number".to_owned(),
        FieldKind::Bool => "expected true or false".to_owned(),
        FieldKind::Timestamp => "expected an RFC 3339 timestamp such as 2024-03-20T08:30:00Z, \
             or a relative date such as {\"relative\": \"today\"}"
            .to_owned(),
        FieldKind::Date => "expected a date as YYYY-MM-DD, \
             or a relative date such as {\"relative\": \"today\"}"
            .to_owned(),
    }
}
