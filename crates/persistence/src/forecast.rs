//! What the sales forecast reads (S-5): sums of deals per period and group computed by
//! the database, never the deals themselves. Open deals fall in the period of their
//! expected close date (a local date, so the periods are joined as local dates); won
//! deals in the period of `closed_at` (an instant, joined as UTC bounds like the other
//! reports). Visibility is the deal's owner and team, as for every deal read.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Double, Integer, Nullable, Text};
use domain::reports::ForecastDimension;
use domain::sales::pipelines::StageKind;
use uuid::Uuid;

use crate::customers::search::Scope;
use crate::db::{placeholders, DbConnection, MultiBackend};
use crate::reports::{
    bind_periods, bind_visibility, days_between, joined_sum, null_uuid, periods_cte, split_sum_sql,
    visibility_sql, PeriodBounds, Query,
};
use crate::sql_types::{DbTime, DbUuid, UtcTimestamp, Uuid as SqlUuid};
use crate::PersistenceError;

/// The deals of one period, group, currency and win probability, summed exactly (a sum
/// may be past 64 bits; the use case decides what to answer then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForecastCell {
    /// Index of the period in the list given.
    pub period: i64,
    /// The owner or team; `None` for deals without one and when not grouped.
    pub group_id: Option<DbUuid>,
    pub currency: String,
    pub deals: i64,
    pub amount: i128,
    /// Σ amount × the stage's probability in percent.
    pub weighted_percent: i128,
}

/// A [`ForecastCell`] as the database answers it: per probability, the amount in halves,
/// so that the weighted sum is the amount's times the probability, exactly.
#[derive(QueryableByName)]
struct CellSums {
    #[diesel(sql_type = BigInt)]
    period: i64,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    group_id: Option<DbUuid>,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = Integer)]
    probability: i32,
    #[diesel(sql_type = BigInt)]
    deals: i64,
    #[diesel(sql_type = BigInt)]
    amount_high: i64,
    #[diesel(sql_type = BigInt)]
    amount_low: i64,
}

impl From<CellSums> for ForecastCell {
    fn from(row: CellSums) -> ForecastCell {
        let amount = joined_sum(row.amount_high, row.amount_low);
        ForecastCell {
            period: row.period,
            group_id: row.group_id,
            currency: row.currency,
            deals: row.deals,
            amount,
            weighted_percent: amount * i128::from(row.probability),
        }
    }
}

/// The cells of rows read with [`cells_sql`].
fn cells(rows: Vec<CellSums>) -> Vec<ForecastCell> {
    rows.into_iter().map(ForecastCell::from).collect()
}

/// Which deals a forecast reads.
#[derive(Debug, Clone, Copy)]
pub struct ForecastScope<'a> {
    pub visibility: &'a Scope,
    /// Only this pipeline's deals.
    pub pipeline: Option<Uuid>,
    pub group_by: Option<ForecastDimension>,
}

impl ForecastScope<'_> {
    fn group_sql(&self, conn: &DbConnection) -> &'static str {
        match self.group_by {
            Some(ForecastDimension::Owner) => "d.owner_id",
            Some(ForecastDimension::Team) => "d.team_id",
            None => null_uuid(conn),
        }
    }

    /// The pipeline and visibility conditions, bound by [`ForecastScope::bind`].
    fn conditions_sql(&self) -> String {
        let pipeline = if self.pipeline.is_some() {
            " AND d.pipeline_id = ?"
        } else {
            ""
        };
        format!(
            "{pipeline}{}",
            visibility_sql(self.visibility, "d", domain::partners::SharedKind::Deal)
        )
    }

    fn bind<'a>(&self, mut query: Query<'a>) -> Query<'a> {
        if let Some(pipeline) = self.pipeline {
            query = query.bind::<SqlUuid, _>(DbUuid(pipeline));
        }
        bind_visibility(query, self.visibility)
    }
}

/// Per period of `days` (local `[start, end)` dates), group, currency and probability:
/// the open deals expected to close in it, their amount and weighted amount.
pub fn open_by_expected_close(
    conn: &mut DbConnection,
    days: &[(NaiveDate, NaiveDate)],
    scope: &ForecastScope<'_>,
) -> Result<Vec<ForecastCell>, PersistenceError> {
    if days.is_empty() {
        return Ok(Vec::new());
    }
    let sql = cells_sql(
        conn,
        &periods_cte(days.len(), false),
        "d.expected_close_date",
        StageKind::Open,
        scope,
    );
    let mut query = diesel::sql_query(placeholders(conn, &sql)).into_boxed::<MultiBackend>();
    for (index, (start, end)) in days.iter().enumerate() {
        query = query
            .bind::<BigInt, _>(index as i64)
            .bind::<Date, _>(*start)
            .bind::<Date, _>(*end);
    }
    Ok(cells(scope.bind(query).load(conn)?))
}

/// Per period of `periods`, group, currency and probability: the deals won in it and
/// their amount.
pub fn won_by_close(
    conn: &mut DbConnection,
    periods: &[PeriodBounds],
    scope: &ForecastScope<'_>,
) -> Result<Vec<ForecastCell>, PersistenceError> {
    if periods.is_empty() {
        return Ok(Vec::new());
    }
    let sql = cells_sql(
        conn,
        &periods_cte(periods.len(), false),
        "d.closed_at",
        StageKind::Won,
        scope,
    );
    let query = diesel::sql_query(placeholders(conn, &sql)).into_boxed::<MultiBackend>();
    Ok(cells(
        scope.bind(bind_periods(query, periods, false)).load(conn)?,
    ))
}

/// The statement of [`ForecastCell`]s of deals with `status` whose `column` falls in a
/// period of `cte`.
fn cells_sql(
    conn: &DbConnection,
    cte: &str,
    column: &str,
    status: StageKind,
    scope: &ForecastScope<'_>,
) -> String {
    format!(
        "{cte} \
         SELECT periods.idx AS period, {group} AS group_id, d.currency AS currency, \
                s.probability AS probability, COUNT(*) AS deals, {amount} \
         FROM periods \
         JOIN deals d ON {column} >= periods.starts AND {column} < periods.ends \
         JOIN pipeline_stages s ON s.id = d.stage_id \
         WHERE d.status = '{status}'{conditions} \
         GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        group = scope.group_sql(conn),
        amount = split_sum_sql("d.amount", "amount"),
        status = status.as_str(),
        conditions = scope.conditions_sql(),
    )
}

/// The deals of one pipeline (and group) closed in a range.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct ClosedDeals {
    #[diesel(sql_type = SqlUuid)]
    pub pipeline_id: DbUuid,
    /// The owner or team when grouped.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub group_id: Option<DbUuid>,
    #[diesel(sql_type = BigInt)]
    pub won: i64,
    #[diesel(sql_type = BigInt)]
    pub lost: i64,
    /// Mean days from creation to closing of the won ones; `None` without any.
    #[diesel(sql_type = Nullable<Double>)]
    pub mean_days_to_win: Option<f64>,
}

/// Per pipeline (and group), the deals won and lost with `closed_at` in `[start, end)`
/// and the mean days the won ones took from creation.
pub fn closed_between(
    conn: &mut DbConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    scope: &ForecastScope<'_>,
) -> Result<Vec<ClosedDeals>, PersistenceError> {
    let (won, lost) = (StageKind::Won.as_str(), StageKind::Lost.as_str());
    let sql = format!(
        "SELECT d.pipeline_id AS pipeline_id, {group} AS group_id, \
                CAST(SUM(CASE WHEN d.status = '{won}' THEN 1 ELSE 0 END) AS BIGINT) AS won, \
                CAST(SUM(CASE WHEN d.status = '{lost}' THEN 1 ELSE 0 END) AS BIGINT) AS lost, \
                AVG(CASE WHEN d.status = '{won}' THEN {days} END) AS mean_days_to_win \
         FROM deals d \
         WHERE d.status IN ('{won}', '{lost}') AND d.closed_at >= ? AND d.closed_at < ?{conditions} \
         GROUP BY 1, 2 ORDER BY 1, 2",
        group = scope.group_sql(conn),
        days = days_between(conn, "d.closed_at", "d.created_at"),
        conditions = scope.conditions_sql(),
    );
    let query = diesel::sql_query(placeholders(conn, &sql))
        .into_boxed::<MultiBackend>()
        .bind::<UtcTimestamp, _>(DbTime(start))
        .bind::<UtcTimestamp, _>(DbTime(end));
    Ok(scope.bind(query).load(conn)?)
}
