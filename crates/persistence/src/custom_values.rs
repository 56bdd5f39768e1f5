//! Custom-field values kept as a JSON object in a column of their record (products,
//! leads, deals): the `custom.<key>` conditions of a search on that column, and how
//! many records hold a value for a key. Customers keep theirs in a typed side table
//! instead (`customers::search`).

use std::marker::PhantomData;

use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use domain::filter::{Predicate, TypedValue};

use crate::db::{DbConnection, MultiBackend};
use crate::filter::{like_escape, Condition, FilterError};
use crate::PersistenceError;

/// Prefix of custom fields in a catalogue: `custom.<key>`.
pub const CUSTOM_FIELD_PREFIX: &str = "custom.";

/// The condition of a `custom.<key>` field on the JSON column `column` (written
/// `table.column`) of table `T`, or `None` when `field` is not a custom field.
pub fn condition<T: 'static>(
    field: &str,
    predicate: &Predicate,
    column: &'static str,
) -> Option<Result<Condition<T>, FilterError>> {
    let key = field.strip_prefix(CUSTOM_FIELD_PREFIX)?;
    Some(
        CustomValueMatch::<T>::new(key, predicate, column).map(|m| -> Condition<T> { Box::new(m) }),
    )
}

/// How many rows of `table` hold a value for custom field `key` in their
/// `custom_fields` column.
pub fn count_holding(
    conn: &mut DbConnection,
    table: &'static str,
    key: &str,
) -> Result<i64, PersistenceError> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        found: i64,
    }
    let sql = match conn {
        DbConnection::Postgres(_) => {
            format!("SELECT count(*) AS found FROM {table} WHERE custom_fields ? $1")
        }
        // `->` answers NULL for a missing member (a stored JSON null is never kept).
        DbConnection::Sqlite(_) => format!(
            "SELECT count(*) AS found FROM {table} WHERE custom_fields -> ('$.\"' || ? || '\"') IS NOT NULL"
        ),
    };
    let found: Found = diesel::sql_query(sql)
        .bind::<diesel::sql_types::Text, _>(key)
        .get_result(conn)?;
    Ok(found.found)
}

/// A value compared with a custom field's value.
#[derive(Debug, Clone)]
enum MemberValue {
    Text(String),
    Integer(i64),
}

/// A condition on the value of custom field `key` in a JSON column, read with `->>`,
/// which both backends have (PostgreSQL answers text, SQLite the JSON value's own SQL
/// type): integers are compared after a cast to BIGINT, dates as their ISO text,
/// booleans as `true`/`false` text. A record without the value has NULL there, so `neq`
/// and `not_in` never match it, as the convention says.
#[derive(Debug, Clone)]
pub struct CustomValueMatch<T> {
    column: &'static str,
    key: String,
    integer: bool,
    boolean: bool,
    test: MemberTest,
    table: PhantomData<fn() -> T>,
}

#[derive(Debug, Clone)]
enum MemberTest {
    IsNull(bool),
    Compare(&'static str, MemberValue),
    AnyOf(bool, Vec<MemberValue>),
    Like(String),
}

impl<T> CustomValueMatch<T> {
    fn new(
        key: &str,
        predicate: &Predicate,
        column: &'static str,
    ) -> Result<CustomValueMatch<T>, FilterError> {
        let (mut integer, mut boolean) = (false, false);
        let mut value = |typed: &TypedValue| -> Result<MemberValue, FilterError> {
            Ok(match typed {
                TypedValue::Integer(number) => {
                    integer = true;
                    MemberValue::Integer(*number)
                }
                TypedValue::Bool(flag) => {
                    boolean = true;
                    MemberValue::Text(flag.to_string())
                }
                TypedValue::Text(text) => MemberValue::Text(text.clone()),
                TypedValue::Date(date) => MemberValue::Text(date.to_string()),
                TypedValue::Uuid(_) | TypedValue::Timestamp(_) | TypedValue::Number(_) => {
                    return Err(FilterError::ColumnMismatch(format!("custom.{key}")))
                }
            })
        };
        let test = match predicate {
            Predicate::Eq(v) => MemberTest::Compare("=", value(v)?),
            Predicate::Neq(v) => MemberTest::Compare("<>", value(v)?),
            Predicate::Lt(v) => MemberTest::Compare("<", value(v)?),
            Predicate::Lte(v) => MemberTest::Compare("<=", value(v)?),
            Predicate::Gt(v) => MemberTest::Compare(">", value(v)?),
            Predicate::Gte(v) => MemberTest::Compare(">=", value(v)?),
            Predicate::In(vs) => {
                MemberTest::AnyOf(false, vs.iter().map(&mut value).collect::<Result<_, _>>()?)
            }
            Predicate::NotIn(vs) => {
                MemberTest::AnyOf(true, vs.iter().map(&mut value).collect::<Result<_, _>>()?)
            }
            Predicate::Contains(needle) => MemberTest::Like(format!(
                "%{}%",
                like_escape(&domain::persian::normalize_digits(needle).to_lowercase())
            )),
            Predicate::StartsWith(prefix) => MemberTest::Like(format!(
                "{}%",
                like_escape(&domain::persian::normalize_digits(prefix).to_lowercase())
            )),
            Predicate::IsNull(is_null) => MemberTest::IsNull(*is_null),
        };
        Ok(CustomValueMatch {
            column,
            key: key.to_string(),
            integer,
            boolean,
            test,
            table: PhantomData,
        })
    }

    fn walk_member<'b>(&'b self, out: &mut AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        if self.integer {
            out.push_sql("CAST(");
            out.push_sql(self.column);
            out.push_sql(" ->> ");
            out.push_bind_param::<Text, _>(&self.key)?;
            out.push_sql(" AS BIGINT)");
        } else if self.boolean {
            // SQLite answers a JSON boolean as 1 or 0, PostgreSQL as `true` or `false`.
            out.push_sql("CASE CAST(");
            out.push_sql(self.column);
            out.push_sql(" ->> ");
            out.push_bind_param::<Text, _>(&self.key)?;
            out.push_sql(" AS TEXT) WHEN '1' THEN 'true' WHEN '0' THEN 'false' ELSE CAST(");
            out.push_sql(self.column);
            out.push_sql(" ->> ");
            out.push_bind_param::<Text, _>(&self.key)?;
            out.push_sql(" AS TEXT) END");
        } else {
            out.push_sql("(");
            out.push_sql(self.column);
            out.push_sql(" ->> ");
            out.push_bind_param::<Text, _>(&self.key)?;
            out.push_sql(")");
        }
        Ok(())
    }
}

impl MemberValue {
    fn walk<'b>(&'b self, out: &mut AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        match self {
            MemberValue::Text(text) => out.push_bind_param::<Text, _>(text),
            MemberValue::Integer(number) => out.push_bind_param::<BigInt, _>(number),
        }
    }
}

impl<T> Expression for CustomValueMatch<T> {
    type SqlType = Nullable<Bool>;
}

impl<T> AppearsOnTable<T> for CustomValueMatch<T> {}
impl<T> SelectableExpression<T> for CustomValueMatch<T> {}

impl<T> ValidGrouping<()> for CustomValueMatch<T> {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl<T> QueryId for CustomValueMatch<T> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<T> QueryFragment<MultiBackend> for CustomValueMatch<T> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql("(");
        match &self.test {
            MemberTest::IsNull(is_null) => {
                self.walk_member(&mut out)?;
                out.push_sql(if *is_null { " IS NULL" } else { " IS NOT NULL" });
            }
            MemberTest::Compare(op, value) => {
                self.walk_member(&mut out)?;
                out.push_sql(" ");
                out.push_sql(op);
                out.push_sql(" ");
                value.walk(&mut out)?;
            }
            MemberTest::AnyOf(negated, values) => {
                self.walk_member(&mut out)?;
                out.push_sql(if *negated { " NOT IN (" } else { " IN (" });
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        out.push_sql(", ");
                    }
                    value.walk(&mut out)?;
                }
                out.push_sql(")");
            }
            MemberTest::Like(pattern) => {
                out.push_sql("lower(");
                self.walk_member(&mut out)?;
                out.push_sql(") LIKE ");
                out.push_bind_param::<Text, _>(pattern)?;
                out.push_sql(" ESCAPE '\\'");
            }
        }
        out.push_sql(")");
        Ok(())
    }
}
