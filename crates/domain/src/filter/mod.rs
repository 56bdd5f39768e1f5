//! The filter tree and sort list of `POST /{resource}/search` (`docs/API-CONVENTIONS.md`).
//!
//! A filter is a condition `{"field": "email", "op": "contains", "value": "x"}` or a
//! group `{"and": [...]}` / `{"or": [...]}` of nodes. Each resource supplies a
//! catalogue of [`FieldSpec`]s; [`validate_filter`] checks the raw JSON against it and
//! produces a [`ResolvedFilter`] whose values are typed and whose relative dates are
//! already turned into concrete bounds, so the persistence layer only translates a
//! small, closed set of predicates into SQL.
//!
//! Validation works on raw `serde_json::Value` instead of deserialising into the wire
//! types because a client deserves every problem at once, each with its path (for
//! example `filter.and[1].value`), a stable code and a message, rather than serde's
//! first error. The wire types ([`FilterNode`] and friends) document the shape in
//! OpenAPI and let Rust callers build filters.
//!
//! # Operators by field kind
//!
//! | kind        | operators                                                   |
//! |-------------|-------------------------------------------------------------|
//! | `Text`      | `eq neq in not_in contains starts_with`                     |
//! | `Uuid`      | `eq neq in not_in`                                          |
//! | `Enum`      | `eq neq in not_in`                                          |
//! | `Bool`      | `eq neq`                                                    |
//! | `Integer`   | `eq neq lt lte gt gte in not_in between`                    |
//! | `Timestamp` | `eq neq lt lte gt gte in not_in between`                    |
//! | `Date`      | `eq neq lt lte gt gte in not_in between`                    |
//!
//! `is_null` (value `true` or `false`) is allowed on fields marked nullable. `in` and
//! `not_in` take 1 to [`MAX_LIST_VALUES`] values; `between` takes `[low, high]` with
//! `low <= high`, both inclusive. `neq` and `not_in` follow SQL and never match a
//! null; combine them with `is_null` in an `or` group to include nulls.
//! `contains` and `starts_with` take a non-empty text; how text is compared (case,
//! Persian normalisation per L-1, escaping of `LIKE` wildcards) is the storage
//! layer's business.
//!
//! # Values
//!
//! Text, UUID and enum values are JSON strings, integers JSON integers, booleans JSON
//! booleans. `Timestamp` values are RFC 3339 strings (`2024-03-20T08:00:00+03:30`),
//! `Date` values `YYYY-MM-DD` strings. Both also take a relative date, see
//! [`RelativeDate`]: it names a period of local days, `[start, end)`, computed from
//! the current time in the business time zone, and the operators read it as a set of
//! moments:
//!
//! | operator          | meaning with a relative value                  |
//! |-------------------|------------------------------------------------|
//! | `eq`              | within the period: `start <= x < end`           |
//! | `neq`             | outside the period: `x < start or x >= end`     |
//! | `lt`              | before the period: `x < start`                  |
//! | `lte`             | before the period ends: `x < end`               |
//! | `gt`              | after the period: `x >= end`                    |
//! | `gte`             | from the period's start on: `x >= start`        |
//! | `between [a, b]`  | from the start of `a` to the end of `b`         |
//!
//! For `Timestamp` fields the bounds are UTC instants (the start of the local day in
//! the business time zone); for `Date` fields they are the local dates themselves.
//! Relative values are not accepted by `in`/`not_in`.

mod relative;
mod sort;
mod tree;
mod value;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::calendar::LocalCalendar;
use crate::validation::FieldViolation;

pub use relative::{RelativeDate, RelativePeriod};
pub use sort::{validate_sort, ResolvedSort, SortDirection, SortSpec};
pub use tree::validate_filter;

/// Deepest nesting of groups: a top-level group is at depth 1.
pub const MAX_DEPTH: usize = 5;
/// Most conditions (leaves) in one filter tree.
pub const MAX_CONDITIONS: usize = 50;
/// Most values in an `in` / `not_in` list.
pub const MAX_LIST_VALUES: usize = 100;
/// Longest text value, in characters.
pub const MAX_TEXT_LENGTH: usize = 1_000;
/// Largest `n` of a `last_n_days` relative date (about ten years).
pub const MAX_RELATIVE_DAYS: u32 = 3_660;
/// Most entries in a sort list.
pub const MAX_SORT_FIELDS: usize = 3;
/// Errors reported for one request at most, so a hostile body cannot make a huge reply.
pub const MAX_REPORTED_ERRORS: usize = 100;

/// Path prefix of errors in the filter tree: the search request's `filter` member.
pub const FILTER_PATH: &str = "filter";
/// Path prefix of errors in the sort list: the search request's `sort` member.
pub const SORT_PATH: &str = "sort";

/// The type of a searchable field, deciding its operators and how values are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Uuid,
    Integer,
    /// A finite decimal number (a probability, an expected count).
    Number,
    Bool,
    Timestamp,
    Date,
    /// A text field restricted to the listed values (snake_case API names).
    Enum(&'static [&'static str]),
}

impl FieldKind {
    /// Whether `op` applies to this kind; `is_null` depends on the field instead.
    fn allows(self, op: FilterOp) -> bool {
        use FilterOp::*;
        match op {
            Eq | Neq => true,
            In | NotIn => self != FieldKind::Bool,
            Contains | StartsWith => self == FieldKind::Text,
            Lt | Lte | Gt | Gte | Between => matches!(
                self,
                FieldKind::Integer | FieldKind::Number | FieldKind::Timestamp | FieldKind::Date
            ),
            IsNull => true,
        }
    }
}

/// One searchable field of a resource, as named in the API.
///
/// Catalogues are plain constants, e.g.
/// `const FIELDS: &[FieldSpec] = &[FieldSpec::new("email", FieldKind::Text).sortable()];`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub kind: FieldKind,
    /// Whether the field may appear in the sort list.
    pub sortable: bool,
    /// Whether the field can be null, which is what makes `is_null` meaningful.
    pub nullable: bool,
}

impl FieldSpec {
    pub const fn new(name: &'static str, kind: FieldKind) -> Self {
        Self {
            name,
            kind,
            sortable: false,
            nullable: false,
        }
    }

    pub const fn sortable(self) -> Self {
        Self {
            sortable: true,
            ..self
        }
    }

    pub const fn nullable(self) -> Self {
        Self {
            nullable: true,
            ..self
        }
    }

    fn allows(&self, op: FilterOp) -> bool {
        match op {
            FilterOp::IsNull => self.nullable,
            _ => self.kind.allows(op),
        }
    }
}

/// Comparison operator of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    In,
    NotIn,
    Contains,
    StartsWith,
    IsNull,
    Between,
}

impl FilterOp {
    const ALL: [FilterOp; 12] = [
        FilterOp::Eq,
        FilterOp::Neq,
        FilterOp::Lt,
        FilterOp::Lte,
        FilterOp::Gt,
        FilterOp::Gte,
        FilterOp::In,
        FilterOp::NotIn,
        FilterOp::Contains,
        FilterOp::StartsWith,
        FilterOp::IsNull,
        FilterOp::Between,
    ];

    /// The API name, e.g. `not_in`.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterOp::Eq => "eq",
            FilterOp::Neq => "neq",
            FilterOp::Lt => "lt",
            FilterOp::Lte => "lte",
            FilterOp::Gt => "gt",
            FilterOp::Gte => "gte",
            FilterOp::In => "in",
            FilterOp::NotIn => "not_in",
            FilterOp::Contains => "contains",
            FilterOp::StartsWith => "starts_with",
            FilterOp::IsNull => "is_null",
            FilterOp::Between => "between",
        }
    }
}

/// A node of the filter tree: a group of nodes or a single condition.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(example = json!({"and": [
    {"field": "email", "op": "contains", "value": "@example.com"},
    {"or": [
        {"field": "created_at", "op": "eq", "value": {"relative": "this_month", "calendar": "jalali"}},
        {"field": "role", "op": "in", "value": ["admin", "manager"]}
    ]}
]}))]
pub enum FilterNode {
    And(AndGroup),
    Or(OrGroup),
    Condition(Condition),
}

/// Matches when every node matches.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct AndGroup {
    #[schema(no_recursion, min_items = 1)]
    pub and: Vec<FilterNode>,
}

/// Matches when at least one node matches.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct OrGroup {
    #[schema(no_recursion, min_items = 1)]
    pub or: Vec<FilterNode>,
}

/// Compares one field with a value.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({"field": "created_at", "op": "gte", "value": {"relative": "last_n_days", "n": 7}}))]
pub struct Condition {
    pub field: String,
    pub op: FilterOp,
    pub value: FilterValue,
}

/// The value of a condition; its allowed form depends on the field and operator.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum FilterValue {
    Bool(bool),
    /// A number: whole for whole-number fields (counts, money; `5e8` is whole), any
    /// finite number for decimal fields.
    Integer(FilterNumber),
    /// Text, UUID, enum value, RFC 3339 timestamp or `YYYY-MM-DD` date.
    Text(String),
    Relative(RelativeDate),
    /// Values of `in` / `not_in`, or the `[low, high]` bounds of `between`.
    #[schema(value_type = Vec<FilterListItem>)]
    List(Vec<FilterValue>),
}

/// A number in a condition as the document shows it: whole for whole-number fields
/// (counts, money; `5e8` is whole), any finite number for decimal fields.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, ToSchema)]
#[schema(value_type = f64)]
pub struct FilterNumber(pub i64);

/// One value of a list in a condition, as documented: lists of lists are never
/// valid, and a self-referencing value schema defeats some client generators.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum FilterListItem {
    Bool(bool),
    Integer(FilterNumber),
    /// Text, UUID, enum value, RFC 3339 timestamp or `YYYY-MM-DD` date.
    Text(String),
    Relative(RelativeDate),
}

/// A value checked against its field's kind.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TypedValue {
    /// Text and enum fields.
    Text(String),
    Uuid(Uuid),
    Integer(i64),
    Number(Finite),
    Bool(bool),
    Timestamp(DateTime<Utc>),
    Date(NaiveDate),
}

/// A finite `f64`, so that typed values can be compared, ordered and hashed (no NaN or
/// infinity ever reaches a filter).
#[derive(Clone, Copy, Debug)]
pub struct Finite(f64);

impl Finite {
    pub fn new(value: f64) -> Option<Finite> {
        value.is_finite().then_some(Finite(value))
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

impl PartialEq for Finite {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Finite {}

impl PartialOrd for Finite {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Finite {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl std::hash::Hash for Finite {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // -0.0 and 0.0 compare unequal under `total_cmp`, so their bits may differ too.
        self.0.to_bits().hash(state);
    }
}

/// What a resolved condition requires of its field.
///
/// `between` and relative dates are lowered into these comparisons (combined with
/// [`ResolvedFilter::And`] / [`ResolvedFilter::Or`]), so storage handles only these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Predicate {
    Eq(TypedValue),
    Neq(TypedValue),
    Lt(TypedValue),
    Lte(TypedValue),
    Gt(TypedValue),
    Gte(TypedValue),
    /// Non-empty list of values.
    In(Vec<TypedValue>),
    /// Non-empty list of values.
    NotIn(Vec<TypedValue>),
    /// Non-empty text anywhere in the field.
    Contains(String),
    /// Non-empty text at the start of the field.
    StartsWith(String),
    /// `true`: the field is null; `false`: it is not.
    IsNull(bool),
}

/// A validated filter tree: groups are non-empty, fields come from the catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResolvedFilter {
    And(Vec<ResolvedFilter>),
    Or(Vec<ResolvedFilter>),
    Condition {
        /// The catalogue's name for the field.
        field: &'static str,
        predicate: Predicate,
    },
}

/// The moment and place relative dates are resolved in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolveContext {
    pub now: DateTime<Utc>,
    pub calendar: LocalCalendar,
}

impl ResolveContext {
    /// Resolves at `now` in the business's time zone and week.
    pub fn new(now: DateTime<Utc>, calendar: LocalCalendar) -> Self {
        Self { now, calendar }
    }
}

/// Stable, machine-readable reason of a [`FieldError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldErrorCode {
    UnknownField,
    UnknownOperator,
    OperatorNotAllowed,
    InvalidValue,
    InvalidStructure,
    TooDeep,
    TooManyConditions,
    TooManyValues,
    InvalidRange,
    NotSortable,
    DuplicateField,
}

impl FieldErrorCode {
    /// The code as sent to clients, e.g. `unknown_field`.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldErrorCode::UnknownField => "unknown_field",
            FieldErrorCode::UnknownOperator => "unknown_operator",
            FieldErrorCode::OperatorNotAllowed => "operator_not_allowed",
            FieldErrorCode::InvalidValue => "invalid_value",
            FieldErrorCode::InvalidStructure => "invalid_structure",
            FieldErrorCode::TooDeep => "too_deep",
            FieldErrorCode::TooManyConditions => "too_many_conditions",
            FieldErrorCode::TooManyValues => "too_many_values",
            FieldErrorCode::InvalidRange => "invalid_range",
            FieldErrorCode::NotSortable => "not_sortable",
            FieldErrorCode::DuplicateField => "duplicate_field",
        }
    }
}

impl fmt::Display for FieldErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem in a filter or sort list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Where in the request body, e.g. `filter.and[1].value` or `sort[0].field`.
    pub path: String,
    pub code: FieldErrorCode,
    /// English explanation; the API may localise by `code`.
    pub message: String,
}

/// Every problem found in a filter or sort list, in document order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the search request has {} invalid part(s)", .0.len())]
pub struct FilterErrors(pub Vec<FieldError>);

impl FilterErrors {
    /// The errors in the shape every resource reports field problems in.
    pub fn into_violations(self) -> Vec<FieldViolation> {
        self.0
            .into_iter()
            .map(|error| FieldViolation::new(error.path, error.code.as_str(), error.message))
            .collect()
    }
}

/// A validated filter and sort list, ready for the storage layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchCriteria {
    pub filter: Option<ResolvedFilter>,
    pub sort: Vec<ResolvedSort>,
}

/// Validates the `filter` and `sort` members of a search request together so that the
/// client hears about all problems in one response.
pub fn validate_search(
    filter: Option<&serde_json::Value>,
    sort: Option<&serde_json::Value>,
    catalogue: &[FieldSpec],
    context: &ResolveContext,
) -> Result<SearchCriteria, FilterErrors> {
    let filter = filter.map(|value| validate_filter(value, catalogue, context));
    let sort = sort.map(|value| validate_sort(value, catalogue));
    let mut errors = Vec::new();
    if let Some(Err(FilterErrors(found))) = &filter {
        errors.extend_from_slice(found);
    }
    if let Some(Err(FilterErrors(found))) = &sort {
        errors.extend_from_slice(found);
    }
    match (filter.transpose(), sort.transpose()) {
        (Ok(filter), Ok(sort)) => Ok(SearchCriteria {
            filter,
            sort: sort.unwrap_or_default(),
        }),
        _ => {
            errors.truncate(MAX_REPORTED_ERRORS);
            Err(FilterErrors(errors))
        }
    }
}

/// Collects errors up to [`MAX_REPORTED_ERRORS`].
#[derive(Default)]
struct ErrorSink {
    errors: Vec<FieldError>,
}

impl ErrorSink {
    fn push(&mut self, path: impl Into<String>, code: FieldErrorCode, message: impl Into<String>) {
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(FieldError {
                path: path.into(),
                code,
                message: message.into(),
            });
        }
    }

    /// `Ok` only when a value was produced and nothing was reported. A missing value
    /// always comes with an error; `root` names the whole input should that ever fail.
    fn into_result<T>(mut self, value: Option<T>, root: &str) -> Result<T, FilterErrors> {
        match value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => {
                if self.errors.is_empty() {
                    self.push(
                        root,
                        FieldErrorCode::InvalidStructure,
                        "the value is not valid",
                    );
                }
                Err(FilterErrors(self.errors))
            }
        }
    }
}

/// Quotes a client-supplied name for a message, cut short so a long key cannot bloat
/// the reply.
fn quoted(name: &str) -> String {
    const LIMIT: usize = 64;
    match name.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("`{}…`", &name[..cut]),
        None => format!("`{name}`"),
    }
}

/// Comma-separated names of the catalogue fields that pass `keep`.
fn field_names(catalogue: &[FieldSpec], keep: impl Fn(&FieldSpec) -> bool) -> String {
    let names: Vec<&str> = catalogue
        .iter()
        .filter(|spec| keep(spec))
        .map(|spec| spec.name)
        .collect();
    names.join(", ")
}
