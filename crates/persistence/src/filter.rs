//! Translation of a validated search ([`domain::filter::SearchCriteria`]) into diesel
//! `WHERE` and `ORDER BY` clauses that run unchanged on SQLite and PostgreSQL, plus the
//! keyset ("seek") condition that continues a page after a cursor.
//!
//! # How a resource plugs in
//!
//! A resource implements [`SearchTable`]: it maps each catalogue field name to one of
//! its columns, wrapped as a [`SearchColumn`] of the right kind. Every column is seen
//! as nullable (`column.nullable()`), so one set of comparisons serves `NOT NULL` and
//! nullable columns alike. Then it applies [`apply_search`] to its boxed query and
//! loads `limit + 1` rows (the extra row says whether there is a next page):
//!
//! ```ignore
//! struct UserColumns;
//!
//! impl SearchTable for UserColumns {
//!     type Table = users::table;
//!
//!     fn column(field: &str) -> Option<SearchColumn<users::table>> {
//!         Some(match field {
//!             "id" => SearchColumn::Uuid(|| Box::new(users::id.nullable())),
//!             "email" => SearchColumn::Text(|| Box::new(users::email.nullable())),
//!             "created_at" => SearchColumn::Timestamp(|| Box::new(users::created_at.nullable())),
//!             _ => return None,
//!         })
//!     }
//! }
//!
//! let query = users::table.select(User::as_select()).into_boxed();
//! let rows = apply_search::<UserColumns, _>(query, &criteria, after.as_ref())?
//!     .limit(limit + 1)
//!     .load(conn)?;
//! ```
//!
//! The column named `id` (a UUID) must exist: it is the final sort key that makes the
//! order total and pages stable.
//!
//! # Nullable sort fields
//!
//! The backends disagree on where nulls sort (SQLite: before every value, PostgreSQL:
//! after), and a null cannot be compared in a keyset. So a sort field the catalogue
//! marks nullable is ordered `ASC NULLS FIRST` / `DESC NULLS LAST` on both — a null
//! sorts before every value, SQLite's own order — and the keyset condition tests nulls
//! with `IS NULL`. Its index must keep the same order: `(column, id)` on SQLite,
//! `(column NULLS FIRST, id)` on PostgreSQL, read forwards or backwards.
//!
//! # Text matching
//!
//! `contains` and `starts_with` compare `lower(column)` with the lower-cased needle
//! using `LIKE ... ESCAPE '\'`, with `%`, `_` and `\` in the needle escaped, so a
//! client's `50%` matches the three characters literally. Latin letters match
//! regardless of case on both backends; SQLite's `lower()` folds ASCII only, so other
//! scripts compare by exact case there.

use diesel::dsl::{Asc, Desc};
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::query_builder::QueryFragment;
use diesel::query_dsl::methods::{FilterDsl, ThenOrderDsl};
use diesel::sql_types::{BigInt, Bool, Date, Double, Nullable, Text};
use domain::filter::{
    Predicate, ResolvedFilter, ResolvedSort, SearchCriteria, SortDirection, TypedValue,
};
use serde_json::Value;

use crate::db::MultiBackend;
use crate::sql_types::{DbTime, DbUuid, UtcTimestamp, Uuid};

/// A boolean condition on table `T` (nullable, as SQL comparisons with nulls are).
pub type Condition<T> = Box<dyn BoxableExpression<T, MultiBackend, SqlType = Nullable<Bool>>>;

/// A column of table `T` whose SQL type is `ST`, seen as nullable.
pub type ColumnExpr<T, ST> = Box<dyn BoxableExpression<T, MultiBackend, SqlType = Nullable<ST>>>;

/// How a searchable field is stored: its SQL type and a constructor of the column
/// expression (a plain `fn`, so catalogues can be written as `match` arms).
pub enum SearchColumn<T> {
    Text(fn() -> ColumnExpr<T, Text>),
    Uuid(fn() -> ColumnExpr<T, Uuid>),
    Integer(fn() -> ColumnExpr<T, BigInt>),
    Double(fn() -> ColumnExpr<T, Double>),
    Bool(fn() -> ColumnExpr<T, Bool>),
    Timestamp(fn() -> ColumnExpr<T, UtcTimestamp>),
    Date(fn() -> ColumnExpr<T, Date>),
}

/// A resource's mapping from API field names to its table's columns.
pub trait SearchTable {
    type Table: diesel::Table + 'static;

    /// The column of a catalogue field (and of `id`), or `None` for an unknown name.
    fn column(field: &str) -> Option<SearchColumn<Self::Table>>;

    /// The condition on a field that is not a column of the table (a related table's
    /// column, a custom field), or `None` when `field` is an ordinary column.
    fn related_condition(
        _field: &str,
        _predicate: &Predicate,
    ) -> Option<Result<Condition<Self::Table>, FilterError>> {
        None
    }
}

/// The name of the column every searchable table is finally ordered by.
pub const ID_FIELD: &str = "id";

/// Why a validated search could not be translated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The catalogue names a field the table mapping lacks, or the two disagree on its
    /// type: a programming error, not a client's.
    #[error("field `{0}` has no matching column of that type")]
    ColumnMismatch(String),
    /// A continuation position that does not fit the sort order (a forged or foreign
    /// cursor).
    #[error("the cursor does not match the sort order")]
    InvalidCursor,
}

/// Failure of a search: a translation problem or a database error.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Persistence(#[from] crate::PersistenceError),
}

/// Where the previous page ended: the sort key values of its last row (in sort order)
/// and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyset {
    pub values: Vec<Value>,
    pub id: uuid::Uuid,
}

/// Translates a resolved filter tree into one condition.
pub fn condition<S: SearchTable>(
    filter: &ResolvedFilter,
) -> Result<Condition<S::Table>, FilterError> {
    match filter {
        ResolvedFilter::And(nodes) => combine::<S>(nodes, |a, b| Box::new(a.and(b))),
        ResolvedFilter::Or(nodes) => combine::<S>(nodes, |a, b| Box::new(a.or(b))),
        ResolvedFilter::Condition { field, predicate } => field_condition::<S>(field, predicate),
    }
}

fn any_of<T: 'static>(
    conditions: impl Iterator<Item = Condition<T>>,
) -> Result<Condition<T>, FilterError> {
    conditions
        .reduce(|a, b| Box::new(a.or(b)))
        .ok_or_else(|| FilterError::ColumnMismatch("(empty list)".into()))
}

fn all_of<T: 'static>(
    conditions: impl Iterator<Item = Condition<T>>,
) -> Result<Condition<T>, FilterError> {
    conditions
        .reduce(|a, b| Box::new(a.and(b)))
        .ok_or_else(|| FilterError::ColumnMismatch("(empty list)".into()))
}

/// Joins two conditions into one (`AND` or `OR`).
type Join<T> = fn(Condition<T>, Condition<T>) -> Condition<T>;

fn combine<S: SearchTable>(
    nodes: &[ResolvedFilter],
    join: Join<S::Table>,
) -> Result<Condition<S::Table>, FilterError> {
    let mut conditions = nodes.iter().map(condition::<S>);
    // Validation guarantees non-empty groups; an empty one would be a programming error.
    let first = conditions
        .next()
        .ok_or_else(|| FilterError::ColumnMismatch("(empty group)".into()))??;
    conditions.try_fold(first, |joined, next| Ok(join(joined, next?)))
}

/// Comparisons shared by every column kind; `$convert` turns a [`TypedValue`] into the
/// bound Rust value or `None` when the kind does not match.
macro_rules! compare {
    ($column:expr, $predicate:expr, $field:expr, $convert:expr) => {{
        let column = $column;
        let mismatch = || FilterError::ColumnMismatch($field.to_string());
        let value = |typed: &TypedValue| $convert(typed).ok_or_else(mismatch);
        let values = |typed: &[TypedValue]| typed.iter().map(value).collect::<Result<Vec<_>, _>>();
        let condition: Condition<_> = match $predicate {
            Predicate::Eq(v) => Box::new(column().eq(value(v)?)),
            Predicate::Neq(v) => Box::new(column().ne(value(v)?)),
            Predicate::Lt(v) => Box::new(column().lt(value(v)?)),
            Predicate::Lte(v) => Box::new(column().le(value(v)?)),
            Predicate::Gt(v) => Box::new(column().gt(value(v)?)),
            Predicate::Gte(v) => Box::new(column().ge(value(v)?)),
            // `IN (...)` is spelled as equalities because diesel's multi-backend `IN`
            // needs each backend's own fragment, which boxed columns do not provide.
            Predicate::In(vs) => any_of(
                values(vs)?
                    .into_iter()
                    .map(|v| -> Condition<_> { Box::new(column().eq(v)) }),
            )?,
            Predicate::NotIn(vs) => all_of(
                values(vs)?
                    .into_iter()
                    .map(|v| -> Condition<_> { Box::new(column().ne(v)) }),
            )?,
            Predicate::IsNull(true) => Box::new(column().is_null().nullable()),
            Predicate::IsNull(false) => Box::new(column().is_not_null().nullable()),
            Predicate::Contains(_) | Predicate::StartsWith(_) => return Err(mismatch()),
        };
        Ok(condition)
    }};
}

diesel::define_sql_function! {
    /// `lower()`, the same on both backends for ASCII.
    fn lower(text: Nullable<Text>) -> Nullable<Text>;
}

fn field_condition<S: SearchTable>(
    field: &str,
    predicate: &Predicate,
) -> Result<Condition<S::Table>, FilterError> {
    if let Some(condition) = S::related_condition(field, predicate) {
        return condition;
    }
    let column = S::column(field).ok_or_else(|| FilterError::ColumnMismatch(field.to_string()))?;
    match column {
        SearchColumn::Text(column) => match predicate {
            Predicate::Contains(needle) => Ok(Box::new(
                lower(column())
                    .like(format!("%{}%", like_escape(&needle.to_lowercase())))
                    .escape('\\'),
            )),
            Predicate::StartsWith(prefix) => Ok(Box::new(
                lower(column())
                    .like(format!("{}%", like_escape(&prefix.to_lowercase())))
                    .escape('\\'),
            )),
            _ => compare!(column, predicate, field, |typed: &TypedValue| match typed {
                TypedValue::Text(text) => Some(text.clone()),
                _ => None,
            }),
        },
        SearchColumn::Uuid(column) => {
            compare!(column, predicate, field, |typed: &TypedValue| match typed {
                TypedValue::Uuid(id) => Some(DbUuid(*id)),
                _ => None,
            })
        }
        SearchColumn::Integer(column) => {
            compare!(column, predicate, field, |typed: &TypedValue| match typed {
                TypedValue::Integer(number) => Some(*number),
                _ => None,
            })
        }
        SearchColumn::Double(column) => {
            compare!(column, predicate, field, |typed: &TypedValue| match typed {
                TypedValue::Number(number) => Some(number.get()),
                _ => None,
            })
        }
        SearchColumn::Bool(column) => {
            compare!(column, predicate, field, |typed: &TypedValue| match typed {
                TypedValue::Bool(flag) => Some(*flag),
                _ => None,
            })
        }
        SearchColumn::Timestamp(column) => {
            compare!(column, predicate, field, |typed: &TypedValue| match typed {
                TypedValue::Timestamp(at) => Some(DbTime(*at)),
                _ => None,
            })
        }
        SearchColumn::Date(column) => {
            compare!(column, predicate, field, |typed: &TypedValue| match typed {
                TypedValue::Date(date) => Some(*date),
                _ => None,
            })
        }
    }
}

/// Escapes the `LIKE` wildcards `%` and `_` and the escape character itself.
pub fn like_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The condition selecting rows strictly after `after` in the order of `sort` followed
/// by `id` (in [`tiebreak_direction`]): `(k1 > v1) OR (k1 = v1 AND k2 > v2) OR ... OR (k1 = v1 AND ... AND
/// id > last_id)`, with `<` for descending keys. A null value of a nullable key (which
/// sorts before every value) is matched with `IS NULL`; after it ascending come all
/// values, descending nothing; descending after a value come also the nulls.
pub fn keyset_filter<S: SearchTable>(
    sort: &[ResolvedSort],
    after: &Keyset,
) -> Result<ResolvedFilter, FilterError> {
    if after.values.len() != sort.len() {
        return Err(FilterError::InvalidCursor);
    }
    let mut keys = Vec::with_capacity(sort.len() + 1);
    for (entry, value) in sort.iter().zip(&after.values) {
        let column = S::column(entry.field)
            .ok_or_else(|| FilterError::ColumnMismatch(entry.field.to_string()))?;
        let typed = match value {
            Value::Null if entry.nullable => None,
            value => Some(typed_from_json(&column, value).ok_or(FilterError::InvalidCursor)?),
        };
        keys.push((entry.field, entry.direction, entry.nullable, typed));
    }
    keys.push((
        ID_FIELD,
        tiebreak_direction(sort),
        false,
        Some(TypedValue::Uuid(after.id)),
    ));
    let condition = |field: &'static str, predicate| ResolvedFilter::Condition { field, predicate };
    let branches = (0..keys.len())
        .filter_map(|position| {
            let mut terms: Vec<ResolvedFilter> = keys[..position]
                .iter()
                .map(|(field, _, _, value)| {
                    condition(
                        field,
                        match value {
                            Some(value) => Predicate::Eq(value.clone()),
                            None => Predicate::IsNull(true),
                        },
                    )
                })
                .collect();
            let (field, direction, nullable, value) = &keys[position];
            terms.push(match (direction, value) {
                (SortDirection::Asc, Some(value)) => condition(field, Predicate::Gt(value.clone())),
                (SortDirection::Asc, None) => condition(field, Predicate::IsNull(false)),
                (SortDirection::Desc, Some(value)) if *nullable => ResolvedFilter::Or(vec![
                    condition(field, Predicate::Lt(value.clone())),
                    condition(field, Predicate::IsNull(true)),
                ]),
                (SortDirection::Desc, Some(value)) => {
                    condition(field, Predicate::Lt(value.clone()))
                }
                (SortDirection::Desc, None) => return None,
            });
            Some(ResolvedFilter::And(terms))
        })
        .collect();
    Ok(ResolvedFilter::Or(branches))
}

/// A sort key value in the JSON form cursors carry.
pub fn typed_to_json(value: &TypedValue) -> Value {
    match value {
        TypedValue::Text(text) => Value::String(text.clone()),
        TypedValue::Uuid(id) => Value::String(id.to_string()),
        TypedValue::Integer(number) => Value::from(*number),
        TypedValue::Number(number) => Value::from(number.get()),
        TypedValue::Bool(flag) => Value::Bool(*flag),
        TypedValue::Timestamp(at) => Value::String(crate::sql_types::sqlite_timestamp(at)),
        TypedValue::Date(date) => Value::String(date.to_string()),
    }
}

/// Reads a cursor's JSON sort key value as the column's type; `None` when it does not
/// fit (strict: no coercion between JSON types).
pub fn typed_from_json<T>(column: &SearchColumn<T>, value: &Value) -> Option<TypedValue> {
    match (column, value) {
        (SearchColumn::Text(_), Value::String(text)) => Some(TypedValue::Text(text.clone())),
        (SearchColumn::Uuid(_), Value::String(text)) => {
            uuid::Uuid::parse_str(text).ok().map(TypedValue::Uuid)
        }
        (SearchColumn::Integer(_), Value::Number(number)) => {
            number.as_i64().map(TypedValue::Integer)
        }
        (SearchColumn::Double(_), Value::Number(number)) => number
            .as_f64()
            .and_then(domain::filter::Finite::new)
            .map(TypedValue::Number),
        (SearchColumn::Bool(_), Value::Bool(flag)) => Some(TypedValue::Bool(*flag)),
        (SearchColumn::Date(_), Value::String(text)) => text.parse().ok().map(TypedValue::Date),
        (SearchColumn::Timestamp(_), Value::String(text)) => {
            chrono::DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|at| TypedValue::Timestamp(at.with_timezone(&chrono::Utc)))
        }
        _ => None,
    }
}

/// A boxed query that [`apply_search`] can filter and order; every boxed select of the
/// table over [`MultiBackend`] is one.
pub trait SearchQuery<T>:
    Sized
    + FilterDsl<Condition<T>, Output = Self>
    + ThenOrderDsl<Asc<ColumnExpr<T, Text>>, Output = Self>
    + ThenOrderDsl<Desc<ColumnExpr<T, Text>>, Output = Self>
    + ThenOrderDsl<NullsFirst<ColumnExpr<T, Text>>, Output = Self>
    + ThenOrderDsl<Asc<ColumnExpr<T, Uuid>>, Output = Self>
    + ThenOrderDsl<Desc<ColumnExpr<T, Uuid>>, Output = Self>
    + ThenOrderDsl<NullsFirst<ColumnExpr<T, Uuid>>, Output = Self>
    + ThenOrderDsl<Asc<ColumnExpr<T, BigInt>>, Output = Self>
    + ThenOrderDsl<Desc<ColumnExpr<T, BigInt>>, Output = Self>
    + ThenOrderDsl<NullsFirst<ColumnExpr<T, BigInt>>, Output = Self>
    + ThenOrderDsl<Asc<ColumnExpr<T, Double>>, Output = Self>
    + ThenOrderDsl<Desc<ColumnExpr<T, Double>>, Output = Self>
    + ThenOrderDsl<NullsFirst<ColumnExpr<T, Double>>, Output = Self>
    + ThenOrderDsl<Asc<ColumnExpr<T, Bool>>, Output = Self>
    + ThenOrderDsl<Desc<ColumnExpr<T, Bool>>, Output = Self>
    + ThenOrderDsl<NullsFirst<ColumnExpr<T, Bool>>, Output = Self>
    + ThenOrderDsl<Asc<ColumnExpr<T, UtcTimestamp>>, Output = Self>
    + ThenOrderDsl<Desc<ColumnExpr<T, UtcTimestamp>>, Output = Self>
    + ThenOrderDsl<NullsFirst<ColumnExpr<T, UtcTimestamp>>, Output = Self>
    + ThenOrderDsl<Asc<ColumnExpr<T, Date>>, Output = Self>
    + ThenOrderDsl<Desc<ColumnExpr<T, Date>>, Output = Self>
    + ThenOrderDsl<NullsFirst<ColumnExpr<T, Date>>, Output = Self>
{
}

impl<T, Q> SearchQuery<T> for Q where
    Q: Sized
        + FilterDsl<Condition<T>, Output = Q>
        + ThenOrderDsl<Asc<ColumnExpr<T, Text>>, Output = Q>
        + ThenOrderDsl<Desc<ColumnExpr<T, Text>>, Output = Q>
        + ThenOrderDsl<NullsFirst<ColumnExpr<T, Text>>, Output = Q>
        + ThenOrderDsl<Asc<ColumnExpr<T, Uuid>>, Output = Q>
        + ThenOrderDsl<Desc<ColumnExpr<T, Uuid>>, Output = Q>
        + ThenOrderDsl<NullsFirst<ColumnExpr<T, Uuid>>, Output = Q>
        + ThenOrderDsl<Asc<ColumnExpr<T, BigInt>>, Output = Q>
        + ThenOrderDsl<Desc<ColumnExpr<T, BigInt>>, Output = Q>
        + ThenOrderDsl<NullsFirst<ColumnExpr<T, BigInt>>, Output = Q>
        + ThenOrderDsl<Asc<ColumnExpr<T, Double>>, Output = Q>
        + ThenOrderDsl<Desc<ColumnExpr<T, Double>>, Output = Q>
        + ThenOrderDsl<NullsFirst<ColumnExpr<T, Double>>, Output = Q>
        + ThenOrderDsl<Asc<ColumnExpr<T, Bool>>, Output = Q>
        + ThenOrderDsl<Desc<ColumnExpr<T, Bool>>, Output = Q>
        + ThenOrderDsl<NullsFirst<ColumnExpr<T, Bool>>, Output = Q>
        + ThenOrderDsl<Asc<ColumnExpr<T, UtcTimestamp>>, Output = Q>
        + ThenOrderDsl<Desc<ColumnExpr<T, UtcTimestamp>>, Output = Q>
        + ThenOrderDsl<NullsFirst<ColumnExpr<T, UtcTimestamp>>, Output = Q>
        + ThenOrderDsl<Asc<ColumnExpr<T, Date>>, Output = Q>
        + ThenOrderDsl<Desc<ColumnExpr<T, Date>>, Output = Q>
        + ThenOrderDsl<NullsFirst<ColumnExpr<T, Date>>, Output = Q>
{
}

fn order_by<S: SearchTable, Q: SearchQuery<S::Table>>(
    query: Q,
    field: &str,
    direction: SortDirection,
    nullable: bool,
) -> Result<Q, FilterError> {
    let column = S::column(field).ok_or_else(|| FilterError::ColumnMismatch(field.to_string()))?;
    macro_rules! order {
        ($column:expr) => {
            match (direction, nullable) {
                (SortDirection::Asc, false) => query.then_order_by($column().asc()),
                (SortDirection::Desc, false) => query.then_order_by($column().desc()),
                (direction, true) => query.then_order_by(NullsFirst {
                    column: $column(),
                    direction,
                }),
            }
        };
    }
    Ok(match column {
        SearchColumn::Text(column) => order!(column),
        SearchColumn::Uuid(column) => order!(column),
        SearchColumn::Integer(column) => order!(column),
        SearchColumn::Double(column) => order!(column),
        SearchColumn::Bool(column) => order!(column),
        SearchColumn::Timestamp(column) => order!(column),
        SearchColumn::Date(column) => order!(column),
    })
}

/// Applies the filter, the continuation after `after` and the order (the sort list,
/// then `id` in [`tiebreak_direction`]) to a boxed query. The caller adds `LIMIT` and loads.
pub fn apply_search<S: SearchTable, Q: SearchQuery<S::Table>>(
    mut query: Q,
    criteria: &SearchCriteria,
    after: Option<&Keyset>,
) -> Result<Q, FilterError> {
    if let Some(filter) = &criteria.filter {
        query = query.filter(condition::<S>(filter)?);
    }
    if let Some(after) = after {
        query = query.filter(condition::<S>(&keyset_filter::<S>(&criteria.sort, after)?)?);
    }
    for entry in &criteria.sort {
        query = order_by::<S, Q>(query, entry.field, entry.direction, entry.nullable)?;
    }
    order_by::<S, Q>(query, ID_FIELD, tiebreak_direction(&criteria.sort), false)
}

/// `column ASC NULLS FIRST` or `column DESC NULLS LAST`: a nullable sort key with its
/// nulls before every value on both backends (see "Nullable sort fields" above).
pub struct NullsFirst<E> {
    column: E,
    direction: SortDirection,
}

impl<E: Expression> Expression for NullsFirst<E> {
    type SqlType = E::SqlType;
}

impl<E: diesel::expression::ValidGrouping<()>> diesel::expression::ValidGrouping<()>
    for NullsFirst<E>
{
    type IsAggregate = E::IsAggregate;
}

impl<E, QS> AppearsOnTable<QS> for NullsFirst<E> where E: AppearsOnTable<QS> {}

impl<E> diesel::query_builder::QueryId for NullsFirst<E> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<E: QueryFragment<MultiBackend>> QueryFragment<MultiBackend> for NullsFirst<E> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, MultiBackend>,
    ) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(match self.direction {
            SortDirection::Asc => " ASC NULLS FIRST",
            SortDirection::Desc => " DESC NULLS LAST",
        });
        Ok(())
    }
}

/// The direction of the final `id` key: that of the last sort key (ascending when there
/// is none), so that an index on `(key, id)` read forwards or backwards yields the whole
/// order and the database never sorts rows that tie on the key.
pub fn tiebreak_direction(sort: &[ResolvedSort]) -> SortDirection {
    sort.last()
        .map_or(SortDirection::Asc, |entry| entry.direction)
}

/// Loads the page of a boxed select of `$table` that follows `$after` (a creation
/// instant and id) in creation order, `(created_at, id)`: `$limit + 1` rows, the extra
/// one telling that another page follows. `$table` needs `created_at` and `id` columns.
#[macro_export]
macro_rules! creation_order_page {
    ($conn:expr, $table:ident, $query:expr, $after:expr, $limit:expr) => {{
        use diesel::prelude::*;
        let mut query = $query;
        if let Some((created_at, id)) = $after {
            let (created_at, id) = (
                $crate::sql_types::DbTime(created_at),
                $crate::sql_types::DbUuid(id),
            );
            query = query.filter(
                $table::created_at
                    .gt(created_at)
                    .or($table::created_at.eq(created_at).and($table::id.gt(id))),
            );
        }
        query
            .order(($table::created_at.asc(), $table::id.asc()))
            .limit($limit + 1)
            .load($conn)
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escape("50%_off\\"), "50\\%\\_off\\\\");
        assert_eq!(like_escape("plain"), "plain");
    }
}
