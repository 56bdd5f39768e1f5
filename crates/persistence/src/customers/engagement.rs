//! Behavioural events in the customer search: `engagement_score` (the time-decayed,
//! weighted count of the customer's events now) and, per event name,
//! `event.<name>.count`, `event.<name>.first_at` and `event.<name>.last_at`, all read
//! from the per-customer facts `crate::behavioural_events` keeps, never from the events.
//!
//! A customer without events of a name has the count 0 and no first or last time; a
//! customer without any events has the score 0. A condition that holds for 0 is
//! therefore written as "not one of those whose facts fail it", so that customers
//! without facts are in.

use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Double, Nullable, Text};
use domain::behaviour::engagement::mass_of_score;
use domain::filter::{Predicate, TypedValue};

use crate::db::MultiBackend;
use crate::filter::FilterError;
use crate::schema::customers;
use crate::sql_types::{DbTime, UtcTimestamp};

/// Prefix of the per-name fields: `event.<name>.<fact>`.
pub const EVENT_FIELD_PREFIX: &str = "event.";
/// The facts each event name has in the catalogue.
pub const EVENT_FACTS: [&str; 3] = ["count", "first_at", "last_at"];
/// The engagement score's field.
pub const ENGAGEMENT_FIELD: &str = "engagement_score";

/// A value a condition compares facts with.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bound {
    /// A weighted mass (the engagement score, scaled to stored masses).
    Mass(f64),
    Count(i64),
    At(DbTime),
}

impl Bound {
    fn walk<'b>(&'b self, out: &mut AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        match self {
            Bound::Mass(mass) => out.push_bind_param::<Double, _>(mass),
            Bound::Count(count) => out.push_bind_param::<BigInt, _>(count),
            Bound::At(at) => out.push_bind_param::<UtcTimestamp, _>(at),
        }
    }

    /// Whether a customer without facts (count 0, mass 0) meets `op value`.
    fn zero_meets(&self, op: &str) -> bool {
        let zero_vs = match self {
            Bound::Mass(mass) => 0.0f64.partial_cmp(mass),
            Bound::Count(count) => Some(0.cmp(count)),
            Bound::At(_) => return false,
        };
        let Some(ordering) = zero_vs else {
            return false;
        };
        match op {
            "=" => ordering.is_eq(),
            "<>" => ordering.is_ne(),
            "<" => ordering.is_lt(),
            "<=" => ordering.is_le(),
            ">" => ordering.is_gt(),
            ">=" => ordering.is_ge(),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    /// Any facts of the name exist.
    Exists,
    Compare(&'static str, Bound),
    AnyOf(Vec<Bound>),
    NoneOf(Vec<Bound>),
}

impl Test {
    /// Whether a customer without facts meets the test.
    fn zero_meets(&self) -> bool {
        match self {
            Test::Exists => false,
            Test::Compare(op, bound) => bound.zero_meets(op),
            Test::AnyOf(bounds) => bounds.iter().any(|bound| bound.zero_meets("=")),
            Test::NoneOf(bounds) => bounds.iter().all(|bound| bound.zero_meets("<>")),
        }
    }
}

/// What a condition reads.
#[derive(Debug, Clone, PartialEq)]
enum Fact {
    /// The sum of the customer's masses weighted by their names' definitions.
    Engagement,
    /// One column of the facts of one name.
    OfName { name: String, column: &'static str },
}

/// `customers.id [NOT] IN (SELECT customer_id FROM customer_event_stats …)`.
#[derive(Debug, Clone)]
pub struct EngagementMatch {
    fact: Fact,
    /// Whether the subquery selects the customers that fail the test (whose complement
    /// then includes the customers without facts).
    complement: bool,
    test: Test,
}

impl EngagementMatch {
    /// The condition of `predicate` on `field`, for the engagement and event fields;
    /// `None` for another field.
    pub fn of(field: &str, predicate: &Predicate) -> Option<Result<EngagementMatch, FilterError>> {
        let mismatch = || FilterError::ColumnMismatch(field.to_string());
        let fact = if field == ENGAGEMENT_FIELD {
            Fact::Engagement
        } else {
            let rest = field.strip_prefix(EVENT_FIELD_PREFIX)?;
            let (name, fact) = rest.rsplit_once('.')?;
            let column = match fact {
                "count" => "event_count",
                "first_at" => "first_at",
                "last_at" => "last_at",
                _ => return None,
            };
            Fact::OfName {
                name: name.to_string(),
                column,
            }
        };
        let now = crate::now();
        let bound = |value: &TypedValue| -> Option<Bound> {
            match (&fact, value) {
                (Fact::Engagement, TypedValue::Number(number)) => {
                    Some(Bound::Mass(mass_of_score(number.get(), now)))
                }
                (Fact::Engagement, TypedValue::Integer(number)) => {
                    Some(Bound::Mass(mass_of_score(*number as f64, now)))
                }
                (Fact::OfName { column, .. }, TypedValue::Integer(count))
                    if *column == "event_count" =>
                {
                    Some(Bound::Count(*count))
                }
                (Fact::OfName { column, .. }, TypedValue::Timestamp(at))
                    if *column != "event_count" =>
                {
                    Some(Bound::At(DbTime(*at)))
                }
                _ => None,
            }
        };
        let bounds = |values: &[TypedValue]| values.iter().map(bound).collect::<Option<Vec<_>>>();
        let test = match predicate {
            Predicate::Eq(value) => bound(value).map(|b| Test::Compare("=", b)),
            Predicate::Neq(value) => bound(value).map(|b| Test::Compare("<>", b)),
            Predicate::Lt(value) => bound(value).map(|b| Test::Compare("<", b)),
            Predicate::Lte(value) => bound(value).map(|b| Test::Compare("<=", b)),
            Predicate::Gt(value) => bound(value).map(|b| Test::Compare(">", b)),
            Predicate::Gte(value) => bound(value).map(|b| Test::Compare(">=", b)),
            Predicate::In(values) if !values.is_empty() => bounds(values).map(Test::AnyOf),
            Predicate::NotIn(values) if !values.is_empty() => bounds(values).map(Test::NoneOf),
            Predicate::IsNull(is_null) => {
                return Some(Ok(EngagementMatch {
                    fact,
                    complement: *is_null,
                    test: Test::Exists,
                }))
            }
            _ => None,
        };
        Some(test.ok_or_else(mismatch).map(|test| EngagementMatch {
            fact,
            complement: test.zero_meets(),
            test,
        }))
    }
}

impl Expression for EngagementMatch {
    type SqlType = Nullable<Bool>;
}

impl AppearsOnTable<customers::table> for EngagementMatch {}
impl SelectableExpression<customers::table> for EngagementMatch {}

impl ValidGrouping<()> for EngagementMatch {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl QueryId for EngagementMatch {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<MultiBackend> for EngagementMatch {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql(if self.complement {
            "customers.id NOT IN (SELECT s.customer_id FROM customer_event_stats s"
        } else {
            "customers.id IN (SELECT s.customer_id FROM customer_event_stats s"
        });
        let value = match &self.fact {
            Fact::Engagement => {
                out.push_sql(
                    " JOIN event_definitions d ON d.name = s.event_name \
                     GROUP BY s.customer_id",
                );
                if self.test == Test::Exists {
                    out.push_sql(")");
                    return Ok(());
                }
                out.push_sql(" HAVING ");
                "SUM(d.weight * s.mass)"
            }
            Fact::OfName { name, column } => {
                out.push_sql(" WHERE s.event_name = ");
                out.push_bind_param::<Text, _>(name)?;
                if self.test == Test::Exists {
                    out.push_sql(")");
                    return Ok(());
                }
                out.push_sql(" AND ");
                *column
            }
        };
        // The subquery selects the customers meeting the test, or with `complement`
        // those failing it.
        if self.complement {
            out.push_sql("NOT (");
        }
        out.push_sql(value);
        match &self.test {
            Test::Exists => unreachable!("answered above"),
            Test::Compare(op, bound) => {
                out.push_sql(" ");
                out.push_sql(op);
                out.push_sql(" ");
                bound.walk(&mut out)?;
            }
            Test::AnyOf(bounds) => {
                out.push_sql(" IN ");
                walk_list(&mut out, bounds)?;
            }
            Test::NoneOf(bounds) => {
                out.push_sql(" NOT IN ");
                walk_list(&mut out, bounds)?;
            }
        }
        if self.complement {
            out.push_sql(")");
        }
        out.push_sql(")");
        Ok(())
    }
}

/// `(?, ?, …)` of `bounds`.
fn walk_list<'b>(out: &mut AstPass<'_, 'b, MultiBackend>, bounds: &'b [Bound]) -> QueryResult<()> {
    out.push_sql("(");
    for (i, bound) in bounds.iter().enumerate() {
        if i > 0 {
            out.push_sql(", ");
        }
        bound.walk(out)?;
    }
    out.push_sql(")");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_knows_whether_customers_without_events_meet_it() {
        let count = |n| Bound::Count(n);
        assert!(Test::Compare("<", count(3)).zero_meets());
        assert!(Test::Compare("=", count(0)).zero_meets());
        assert!(!Test::Compare(">=", count(1)).zero_meets());
        assert!(Test::Compare("<>", count(2)).zero_meets());
        assert!(Test::AnyOf(vec![count(0), count(5)]).zero_meets());
        assert!(!Test::NoneOf(vec![count(0)]).zero_meets());
        assert!(!Test::Compare("<", Bound::At(DbTime(crate::now()))).zero_meets());
        assert!(Test::Compare("<=", Bound::Mass(0.0)).zero_meets());
        assert!(!Test::Exists.zero_meets());
    }
}
