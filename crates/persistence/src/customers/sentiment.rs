//! A customer's sentiment (F-2): the mean sentiment score of the texts they wrote in
//! the last `domain::sentiment::CUSTOMER_WINDOW_DAYS` days — their inbound messages on
//! the channels (automatic mail left out) and their feedback texts (a message marked as
//! feedback counts once, as the message). The 360 view reads it for one customer; the
//! search catalogue's `sentiment` and `sentiment_score` fields filter on it.

use chrono::{DateTime, Utc};
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Double, Nullable};
use domain::filter::{Predicate, TypedValue};
use domain::sentiment::{SentimentLabel, CUSTOMER_WINDOW_DAYS, LABEL_THRESHOLD};
use uuid::Uuid;

use crate::db::{DbConnection, MultiBackend};
use crate::filter::FilterError;
use crate::schema::{customers, feedback, messages};
use crate::sql_types::{DbTime, DbUuid, UtcTimestamp};
use crate::PersistenceError;

/// The mean score of `customer`'s texts since `since`, and how many messages and
/// feedback texts it is over; `None` without any.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SentimentFacts {
    pub average_score: Option<f64>,
    pub messages: i64,
    pub feedback: i64,
}

/// The facts of one customer: two aggregates on the customers' indexes of messages and
/// feedback.
pub fn of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
    since: DateTime<Utc>,
) -> Result<SentimentFacts, PersistenceError> {
    let (message_sum, messages): (Option<f64>, i64) = messages::table
        .filter(messages::customer_id.eq(DbUuid(customer)))
        .filter(messages::occurred_at.ge(DbTime(since)))
        .filter(messages::direction.eq("inbound"))
        .filter(messages::automatic.eq(false))
        .filter(messages::sentiment_score.is_not_null())
        .select((
            diesel::dsl::sum(messages::sentiment_score),
            diesel::dsl::count(messages::sentiment_score),
        ))
        .first(conn)?;
    let (feedback_sum, feedback): (Option<f64>, i64) = feedback::table
        .filter(feedback::customer_id.eq(DbUuid(customer)))
        .filter(feedback::created_at.ge(DbTime(since)))
        .filter(feedback::message_id.is_null())
        .filter(feedback::sentiment_score.is_not_null())
        .select((
            diesel::dsl::sum(feedback::sentiment_score),
            diesel::dsl::count(feedback::sentiment_score),
        ))
        .first(conn)?;
    let texts = messages + feedback;
    Ok(SentimentFacts {
        average_score: (texts > 0)
            .then(|| (message_sum.unwrap_or(0.0) + feedback_sum.unwrap_or(0.0)) / texts as f64),
        messages,
        feedback,
    })
}

/// What a sentiment condition asks of the mean score.
#[derive(Debug, Clone)]
enum MeanTest {
    /// The customer has any scored text.
    Exists,
    Compare(&'static str, f64),
    AnyOf(Vec<f64>),
    /// The mean's label is one of these.
    Labels(Vec<SentimentLabel>),
}

/// `customers.id [NOT] IN (SELECT customer_id FROM <texts> GROUP BY customer_id HAVING
/// <test on AVG(score)>)`: the `sentiment` (label) or `sentiment_score` (mean) field.
#[derive(Debug, Clone)]
pub struct SentimentMatch {
    negated: bool,
    since: DbTime,
    test: MeanTest,
}

impl SentimentMatch {
    /// The condition of `predicate` on `field` (`sentiment` or `sentiment_score`), for
    /// texts from [`CUSTOMER_WINDOW_DAYS`] days before now; `None` for another field.
    pub fn of(field: &str, predicate: &Predicate) -> Option<Result<SentimentMatch, FilterError>> {
        let mismatch = || FilterError::ColumnMismatch(field.to_string());
        let test = match field {
            "sentiment" => label_test(predicate).ok_or_else(mismatch),
            "sentiment_score" => score_test(predicate).ok_or_else(mismatch),
            _ => return None,
        };
        let since = DbTime(crate::now() - chrono::TimeDelta::days(CUSTOMER_WINDOW_DAYS));
        Some(test.map(|(negated, test)| SentimentMatch {
            negated,
            since,
            test,
        }))
    }
}

fn label_test(predicate: &Predicate) -> Option<(bool, MeanTest)> {
    let label = |value: &TypedValue| match value {
        TypedValue::Text(text) => SentimentLabel::parse(text),
        _ => None,
    };
    let labels = |values: &[TypedValue]| values.iter().map(label).collect::<Option<Vec<_>>>();
    Some(match predicate {
        Predicate::Eq(value) => (false, MeanTest::Labels(vec![label(value)?])),
        Predicate::Neq(value) => (true, MeanTest::Labels(vec![label(value)?])),
        Predicate::In(values) if !values.is_empty() => (false, MeanTest::Labels(labels(values)?)),
        Predicate::NotIn(values) if !values.is_empty() => (true, MeanTest::Labels(labels(values)?)),
        Predicate::IsNull(is_null) => (*is_null, MeanTest::Exists),
        _ => return None,
    })
}

fn score_test(predicate: &Predicate) -> Option<(bool, MeanTest)> {
    let number = |value: &TypedValue| match value {
        TypedValue::Number(number) => Some(number.get()),
        TypedValue::Integer(number) => Some(*number as f64),
        _ => None,
    };
    let numbers = |values: &[TypedValue]| values.iter().map(number).collect::<Option<Vec<_>>>();
    Some(match predicate {
        Predicate::Eq(value) => (false, MeanTest::Compare("=", number(value)?)),
        Predicate::Neq(value) => (true, MeanTest::Compare("=", number(value)?)),
        Predicate::Lt(value) => (false, MeanTest::Compare("<", number(value)?)),
        Predicate::Lte(value) => (false, MeanTest::Compare("<=", number(value)?)),
        Predicate::Gt(value) => (false, MeanTest::Compare(">", number(value)?)),
        Predicate::Gte(value) => (false, MeanTest::Compare(">=", number(value)?)),
        Predicate::In(values) if !values.is_empty() => (false, MeanTest::AnyOf(numbers(values)?)),
        Predicate::NotIn(values) if !values.is_empty() => (true, MeanTest::AnyOf(numbers(values)?)),
        Predicate::IsNull(is_null) => (*is_null, MeanTest::Exists),
        _ => return None,
    })
}

impl Expression for SentimentMatch {
    type SqlType = Nullable<Bool>;
}

impl AppearsOnTable<customers::table> for SentimentMatch {}
impl SelectableExpression<customers::table> for SentimentMatch {}

impl ValidGrouping<()> for SentimentMatch {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl QueryId for SentimentMatch {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// The bounds of the labels, and the messages that count (not automatic mail).
const NEGATIVE_AT: f64 = -LABEL_THRESHOLD;
const POSITIVE_AT: f64 = LABEL_THRESHOLD;
const NOT_AUTOMATIC: bool = false;

impl QueryFragment<MultiBackend> for SentimentMatch {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql(if self.negated {
            "customers.id NOT IN (SELECT customer_id FROM "
        } else {
            "customers.id IN (SELECT customer_id FROM "
        });
        // Every customer's scored texts in the window, as `(customer_id, score)`.
        out.push_sql(
            "(SELECT customer_id, sentiment_score AS score FROM messages \
             WHERE direction = 'inbound' AND automatic = ",
        );
        out.push_bind_param::<Bool, _>(&NOT_AUTOMATIC)?;
        out.push_sql(
            " AND sentiment_score IS NOT NULL AND customer_id IS NOT NULL AND occurred_at >= ",
        );
        out.push_bind_param::<UtcTimestamp, _>(&self.since)?;
        out.push_sql(
            " UNION ALL SELECT customer_id, sentiment_score AS score FROM feedback \
             WHERE message_id IS NULL AND sentiment_score IS NOT NULL AND created_at >= ",
        );
        out.push_bind_param::<UtcTimestamp, _>(&self.since)?;
        out.push_sql(") AS texts GROUP BY customer_id");
        match &self.test {
            MeanTest::Exists => {}
            MeanTest::Compare(op, value) => {
                out.push_sql(" HAVING AVG(score) ");
                out.push_sql(op);
                out.push_sql(" ");
                out.push_bind_param::<Double, _>(value)?;
            }
            MeanTest::AnyOf(values) => {
                out.push_sql(" HAVING AVG(score) IN (");
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        out.push_sql(", ");
                    }
                    out.push_bind_param::<Double, _>(value)?;
                }
                out.push_sql(")");
            }
            MeanTest::Labels(labels) => {
                out.push_sql(" HAVING ");
                for (i, label) in labels.iter().enumerate() {
                    if i > 0 {
                        out.push_sql(" OR ");
                    }
                    // The rule of `analytics::sentiment::label_of`.
                    match label {
                        SentimentLabel::Negative => {
                            out.push_sql("AVG(score) <= ");
                            out.push_bind_param::<Double, _>(&NEGATIVE_AT)?;
                        }
                        SentimentLabel::Positive => {
                            out.push_sql("AVG(score) >= ");
                            out.push_bind_param::<Double, _>(&POSITIVE_AT)?;
                        }
                        SentimentLabel::Neutral => {
                            out.push_sql("(AVG(score) > ");
                            out.push_bind_param::<Double, _>(&NEGATIVE_AT)?;
                            out.push_sql(" AND AVG(score) < ");
                            out.push_bind_param::<Double, _>(&POSITIVE_AT)?;
                            out.push_sql(")");
                        }
                    }
                }
            }
        }
        out.push_sql(")");
        Ok(())
    }
}
