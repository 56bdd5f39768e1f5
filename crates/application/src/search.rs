//! Searching a resource (`docs/API-CONVENTIONS.md`, "Search"): a filter tree, a sort
//! list, a quick-search text `q` and a cursor, checked against the resource's field
//! catalogue. Every problem in the filter or sort is reported at once, named by its path
//! (e.g. `filter.and[1].value`); a cursor that is not one of ours is a bad parameter.
//!
//! A resource describes itself once with [`Searchable`]; [`Search::resolve`] turns a
//! [`SearchRequest`] into criteria persistence can run, and [`Search::keyset_after`]
//! says where the next page starts.

use std::collections::HashSet;
use std::marker::PhantomData;
use std::sync::{Mutex, OnceLock};

use domain::customers::{CustomFieldDefinition, CustomFieldKind};
use domain::filter::FieldKind;
use domain::filter::{
    validate_filter, validate_search, FieldSpec, FilterNode, Predicate, ResolveContext,
    ResolvedFilter, SearchCriteria, SortSpec, TypedValue, FILTER_PATH,
};
use domain::validation::FieldViolation;
use persistence::filter::{
    keyset_filter, typed_to_json, FilterError, Keyset, SearchError, SearchTable,
};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use validator::Validate;

use crate::error::{AppError, AppResult};
use crate::paging::{checked_limit, Cursor, DEFAULT_LIMIT};

/// The condition of a rule (assignment, scoring: a filter tree stored on a configuration
/// record) checked against `catalogue` and resolved in `context`; every problem is
/// named from `condition` (e.g. `condition.and[0].field`) rather than `filter`.
pub fn resolve_condition(
    condition: &Value,
    catalogue: &[FieldSpec],
    context: &ResolveContext,
) -> Result<ResolvedFilter, Vec<FieldViolation>> {
    validate_filter(condition, catalogue, context).map_err(|errors| {
        errors
            .into_violations()
            .into_iter()
            .map(|mut violation| {
                if let Some(rest) = violation.field.strip_prefix(FILTER_PATH) {
                    violation.field = format!("condition{rest}");
                }
                violation
            })
            .collect()
    })
}

/// Longest quick-search text, in characters.
pub const MAX_QUERY_LENGTH: usize = 200;

/// The body of `POST /{resource}/search`.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "filter": {"and": [
        {"field": "role", "op": "in", "value": ["sales", "manager"]},
        {"field": "created_at", "op": "eq", "value": {"relative": "this_month", "calendar": "jalali"}}
    ]},
    "sort": [{"field": "created_at", "direction": "desc"}],
    "q": "ali",
    "limit": 50
}))]
pub struct SearchRequest {
    /// Filter tree: a condition `{field, op, value}` or a group `{and: [...]}` / `{or: [...]}`.
    #[schema(value_type = Option<FilterNode>)]
    pub filter: Option<Value>,
    /// Sort entries applied in order; the id is always the final key.
    #[schema(value_type = Option<Vec<SortSpec>>)]
    pub sort: Option<Value>,
    /// Text looked for (case-insensitively) in the resource's main text fields.
    #[validate(length(min = 1, max = 200))]
    pub q: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[schema(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page of the same search.
    pub cursor: Option<String>,
}

/// A resource that can be searched.
pub trait Searchable: 'static {
    /// The persistence mapping of the catalogue's fields to columns.
    type Columns: SearchTable;
    /// The row type the search loads.
    type Row;
    /// Fields a filter and sort may name.
    const CATALOGUE: &'static [FieldSpec];
    /// Text fields in which `q` is looked for.
    const QUICK_SEARCH: &'static [&'static str];
    /// Whether the resource answers `q` itself (from its own search index) instead of
    /// with `contains` on [`Searchable::QUICK_SEARCH`]; the text is then left in
    /// [`Search::q`].
    const OWN_QUICK_SEARCH: bool = false;
    /// The value of a sortable field of `row` (for the cursor).
    fn sort_value(row: &Self::Row, field: &str) -> Option<TypedValue>;
    fn id(row: &Self::Row) -> uuid::Uuid;
}

/// A validated search request for resource `R`.
#[derive(Debug)]
pub struct Search<R> {
    pub criteria: SearchCriteria,
    /// The quick-search text, for resources with their own quick search.
    pub q: Option<String>,
    pub limit: usize,
    pub after: Option<Keyset>,
    resource: PhantomData<R>,
}

impl<R: Searchable> Search<R> {
    /// Checks a search body; relative dates ("this week") resolve in `context`.
    pub fn resolve(request: SearchRequest, context: &ResolveContext) -> AppResult<Search<R>> {
        Self::resolve_with(request, context, R::CATALOGUE)
    }

    /// [`Search::resolve`] against a catalogue built at run time (e.g. with custom
    /// fields).
    pub fn resolve_with(
        request: SearchRequest,
        context: &ResolveContext,
        catalogue: &[FieldSpec],
    ) -> AppResult<Search<R>> {
        let mut criteria = validate_search(
            request.filter.as_ref(),
            request.sort.as_ref(),
            catalogue,
            context,
        )
        .map_err(|errors| AppError::Invalid(errors.into_violations()))?;
        let limit = checked_limit(request.limit.unwrap_or(DEFAULT_LIMIT as i64))?;
        let text = request
            .q
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty());
        if let Some(text) = text {
            check_query_length(text)?;
        }
        let mut q = None;
        match text {
            Some(text) if R::OWN_QUICK_SEARCH => q = Some(text.to_string()),
            Some(text) => {
                criteria.filter = Some(with_quick_search(
                    criteria.filter.take(),
                    R::QUICK_SEARCH,
                    text,
                ));
            }
            None => {}
        }
        let after = match request.cursor.as_deref() {
            None => None,
            Some(raw) => {
                let keyset = Cursor::decode(raw)?.keyset(&order_of(&criteria))?;
                // The values must also fit the sort fields' types.
                keyset_filter::<R::Columns>(&criteria.sort, &keyset).map_err(|err| match err {
                    FilterError::InvalidCursor => AppError::bad_parameter(
                        "cursor",
                        "invalid_cursor",
                        "the cursor is not valid",
                    ),
                    other => AppError::Internal(other.to_string()),
                })?;
                Some(keyset)
            }
        };
        Ok(Search {
            criteria,
            q,
            limit,
            after,
            resource: PhantomData,
        })
    }

    /// The order its cursors belong to, e.g. `created_at:desc,id`.
    pub fn order(&self) -> String {
        order_of(&self.criteria)
    }

    /// Rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.limit as i64 + 1
    }

    /// The position right after `row` in this search's order: where the next page
    /// starts when `row` ends the current one.
    pub fn keyset_after(&self, row: &R::Row) -> Keyset {
        Keyset {
            values: self
                .criteria
                .sort
                .iter()
                .map(|entry| {
                    R::sort_value(row, entry.field)
                        .map(|value| typed_to_json(&value))
                        .unwrap_or(Value::Null)
                })
                .collect(),
            id: R::id(row),
        }
    }
}

/// The order a cursor belongs to, e.g. `created_at:desc,email:asc` (`id` alone when
/// no sort was given).
fn order_of(criteria: &SearchCriteria) -> String {
    let mut order: Vec<String> = criteria
        .sort
        .iter()
        .map(|entry| format!("{}:{:?}", entry.field, entry.direction).to_lowercase())
        .collect();
    order.push("id".into());
    order.join(",")
}

fn check_query_length(text: &str) -> AppResult<()> {
    if text.chars().count() > MAX_QUERY_LENGTH {
        return Err(AppError::Invalid(vec![FieldViolation::new(
            "q",
            "too_long",
            "the search text is too long",
        )]));
    }
    Ok(())
}

/// `filter AND (q in any quick-search field)`.
fn with_quick_search(
    filter: Option<ResolvedFilter>,
    fields: &'static [&'static str],
    text: &str,
) -> ResolvedFilter {
    let any_field = ResolvedFilter::Or(
        fields
            .iter()
            .map(|field| ResolvedFilter::Condition {
                field,
                predicate: Predicate::Contains(text.to_string()),
            })
            .collect(),
    );
    match filter {
        Some(filter) => ResolvedFilter::And(vec![filter, any_field]),
        None => any_field,
    }
}

/// Prefix of custom fields in a catalogue: `custom.<key>`.
pub const CUSTOM_FIELD_PREFIX: &str = "custom.";

/// A `&'static` name for a catalogue entry made at run time (a custom field, an event
/// name's facts). The filter machinery names fields by `&'static str`; such fields are
/// few (custom fields are made by admins, event names are capped) so each distinct name
/// is kept once for the life of the process.
pub(crate) fn interned(name: String) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(existing) = names.get(name.as_str()) {
        return existing;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}

/// One nullable `custom.<key>` catalogue entry per custom field, of the field's type
/// (customers and products alike).
pub fn custom_field_specs(
    definitions: &[CustomFieldDefinition],
) -> impl Iterator<Item = FieldSpec> + '_ {
    definitions.iter().map(|definition| {
        let kind = match definition.kind {
            CustomFieldKind::Text | CustomFieldKind::Select => FieldKind::Text,
            CustomFieldKind::Integer => FieldKind::Integer,
            CustomFieldKind::Boolean => FieldKind::Bool,
            CustomFieldKind::Date => FieldKind::Date,
        };
        FieldSpec::new(
            interned(format!("{CUSTOM_FIELD_PREFIX}{}", definition.key)),
            kind,
        )
        .nullable()
    })
}

/// A failed search: a forged cursor is the client's fault, anything else the server's.
impl From<SearchError> for AppError {
    fn from(err: SearchError) -> Self {
        match err {
            SearchError::Filter(FilterError::InvalidCursor) => {
                AppError::bad_parameter("cursor", "invalid_cursor", "the cursor is not valid")
            }
            SearchError::Filter(other) => AppError::Internal(other.to_string()),
            SearchError::Persistence(other) => other.into(),
        }
    }
}
