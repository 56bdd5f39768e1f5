//! What the feedback reports read: per period (and group) the counts and sums a
//! metric's figures and confidence intervals need, the SERVQUAL level sums per
//! dimension, and the sums that correlate expectation factors with the gaps — each
//! computed by the database in one statement, never the answers themselves.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use domain::authz::Visibility;
use uuid::Uuid;

use crate::customers::search::Scope;
use crate::db::{placeholders, DbConnection, MultiBackend};
use crate::reports::{
    bind_periods, bind_visibility, periods_cte, visibility_sql, PeriodBounds, Query,
};
use crate::sql_types::{DbTime, DbUuid, UtcTimestamp, Uuid as SqlUuid};
use crate::PersistenceError;

/// What a feedback report groups by besides the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackGroup {
    Agent,
    Team,
    Product,
    Channel,
    Source,
    /// The customers' current segments: a customer in two counts in both.
    Segment,
}

/// What a feedback report measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Scores of one metric (`domain::feedback::entries::Metric` name), with the score
    /// from which an answer is `top` and the one up to which it is `bottom`.
    Score {
        metric: &'static str,
        top_from: i32,
        bottom_to: i32,
    },
    /// Sentiment of feedback texts: `top` positive, `bottom` negative.
    Sentiment,
}

/// One period and group of a feedback report.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct FeedbackCell {
    #[diesel(sql_type = BigInt)]
    pub period: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub group_key: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub answers: i64,
    /// Promoters (NPS), satisfied answers (CSAT), positive texts (sentiment).
    #[diesel(sql_type = BigInt)]
    pub top: i64,
    /// Detractors (NPS), negative texts (sentiment).
    #[diesel(sql_type = BigInt)]
    pub bottom: i64,
    #[diesel(sql_type = Double)]
    pub sum: f64,
    #[diesel(sql_type = Double)]
    pub sum_of_squares: f64,
}

/// The narrowing every feedback report takes.
#[derive(Debug, Clone, Default)]
pub struct FeedbackScope {
    pub customer_id: Option<Uuid>,
    pub segment_id: Option<Uuid>,
    pub survey_id: Option<Uuid>,
}

/// The join to the customers that visibility needs; none for whoever sees everyone,
/// so that their reports read the feedback table alone.
fn customers_join(visibility: &Scope, alias: &str) -> String {
    match visibility.visibility {
        Visibility::All => String::new(),
        _ => format!("JOIN customers c ON c.id = {alias}.customer_id"),
    }
}

fn narrowing_sql(scope: &FeedbackScope, customer: &str) -> String {
    let mut sql = String::new();
    if scope.customer_id.is_some() {
        sql.push_str(&format!(" AND {customer} = ?"));
    }
    if scope.segment_id.is_some() {
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM segment_memberships m WHERE m.customer_id = {customer} \
               AND m.segment_id = ? AND m.left_at IS NULL)"
        ));
    }
    sql
}

fn bind_narrowing<'a>(mut query: Query<'a>, scope: &FeedbackScope) -> Query<'a> {
    if let Some(id) = scope.customer_id {
        query = query.bind::<SqlUuid, _>(DbUuid(id));
    }
    if let Some(id) = scope.segment_id {
        query = query.bind::<SqlUuid, _>(DbUuid(id));
    }
    query
}

/// Per period of `periods` (and group): the counts and sums of `measure` over the
/// feedback about customers `visibility` may see, narrowed by `narrowing`.
pub fn cells(
    conn: &mut DbConnection,
    periods: &[PeriodBounds],
    measure: Measure,
    group: Option<FeedbackGroup>,
    narrowing: &FeedbackScope,
    visibility: &Scope,
) -> Result<Vec<FeedbackCell>, PersistenceError> {
    if periods.is_empty() {
        return Ok(Vec::new());
    }
    let (join, key) = match group {
        None => ("", "CAST(NULL AS TEXT)".to_string()),
        Some(FeedbackGroup::Agent) => ("", "CAST(f.agent_id AS TEXT)".into()),
        Some(FeedbackGroup::Team) => ("", "CAST(f.team_id AS TEXT)".into()),
        Some(FeedbackGroup::Product) => ("", "CAST(f.product_id AS TEXT)".into()),
        Some(FeedbackGroup::Channel) => ("", "f.channel".into()),
        Some(FeedbackGroup::Source) => ("", "f.source".into()),
        Some(FeedbackGroup::Segment) => (
            " JOIN segment_memberships sm ON sm.customer_id = f.customer_id AND sm.left_at IS NULL",
            "CAST(sm.segment_id AS TEXT)".into(),
        ),
    };
    let (value, top, bottom, condition) = match measure {
        Measure::Score {
            top_from,
            bottom_to,
            ..
        } => (
            "CAST(f.score AS DOUBLE PRECISION)".to_string(),
            format!("f.score >= {top_from}"),
            format!("f.score <= {bottom_to}"),
            "f.metric = ?",
        ),
        Measure::Sentiment => (
            "f.sentiment_score".to_string(),
            "f.sentiment_label = 'positive'".to_string(),
            "f.sentiment_label = 'negative'".to_string(),
            "f.sentiment_score IS NOT NULL",
        ),
    };
    let sql = format!(
        "{cte} SELECT periods.idx AS period, {key} AS group_key, \
                CAST(COUNT(*) AS BIGINT) AS answers, \
                CAST(SUM(CASE WHEN {top} THEN 1 ELSE 0 END) AS BIGINT) AS top, \
                CAST(SUM(CASE WHEN {bottom} THEN 1 ELSE 0 END) AS BIGINT) AS bottom, \
                CAST(SUM({value}) AS DOUBLE PRECISION) AS sum, \
                CAST(SUM({value} * {value}) AS DOUBLE PRECISION) AS sum_of_squares \
         FROM periods \
         JOIN feedback f ON f.created_at >= periods.starts AND f.created_at < periods.ends \
         {customers}{join} \
         WHERE {condition}{survey}{narrowing}{visibility} \
         GROUP BY periods.idx{grouped} ORDER BY periods.idx",
        grouped = if group.is_some() {
            format!(", {key}")
        } else {
            String::new()
        },
        cte = periods_cte(periods.len(), false),
        customers = customers_join(visibility, "f"),
        survey = if narrowing.survey_id.is_some() {
            " AND f.survey_id = ?"
        } else {
            ""
        },
        narrowing = narrowing_sql(narrowing, "f.customer_id"),
        visibility = visibility_sql(visibility, "c", domain::partners::SharedKind::Customer),
    );
    let mut query = bind_periods(
        diesel::sql_query(placeholders(conn, &sql)).into_boxed::<MultiBackend>(),
        periods,
        false,
    );
    if let Measure::Score { metric, .. } = measure {
        query = query.bind::<Text, _>(metric);
    }
    if let Some(id) = narrowing.survey_id {
        query = query.bind::<SqlUuid, _>(DbUuid(id));
    }
    let query = bind_visibility(bind_narrowing(query, narrowing), visibility);
    Ok(query.load(conn)?)
}

/// The SERVQUAL level sums of one period and dimension.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ServqualCell {
    #[diesel(sql_type = BigInt)]
    pub period: i64,
    #[diesel(sql_type = Text)]
    pub dimension: String,
    #[diesel(sql_type = BigInt)]
    pub answers: i64,
    #[diesel(sql_type = BigInt)]
    pub desired: i64,
    #[diesel(sql_type = BigInt)]
    pub adequate: i64,
    #[diesel(sql_type = BigInt)]
    pub perceived: i64,
}

/// Per period and dimension: the sums of the desired, adequate and perceived levels.
pub fn servqual_cells(
    conn: &mut DbConnection,
    periods: &[PeriodBounds],
    narrowing: &FeedbackScope,
    visibility: &Scope,
) -> Result<Vec<ServqualCell>, PersistenceError> {
    if periods.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{cte} SELECT periods.idx AS period, a.dimension AS dimension, \
                CAST(COUNT(*) AS BIGINT) AS answers, \
                CAST(SUM(a.desired) AS BIGINT) AS desired, \
                CAST(SUM(a.adequate) AS BIGINT) AS adequate, \
                CAST(SUM(a.perceived) AS BIGINT) AS perceived \
         FROM periods \
         JOIN servqual_answers a ON a.answered_at >= periods.starts AND a.answered_at < periods.ends \
         {customers} \
         WHERE 1 = 1{survey}{narrowing}{visibility} \
         GROUP BY periods.idx, a.dimension ORDER BY periods.idx, a.dimension",
        cte = periods_cte(periods.len(), false),
        customers = customers_join(visibility, "a"),
        survey = if narrowing.survey_id.is_some() {
            " AND a.survey_id = ?"
        } else {
            ""
        },
        narrowing = narrowing_sql(narrowing, "a.customer_id"),
        visibility = visibility_sql(visibility, "c", domain::partners::SharedKind::Customer),
    );
    let mut query = bind_periods(
        diesel::sql_query(placeholders(conn, &sql)).into_boxed::<MultiBackend>(),
        periods,
        false,
    );
    if let Some(id) = narrowing.survey_id {
        query = query.bind::<SqlUuid, _>(DbUuid(id));
    }
    let query = bind_visibility(bind_narrowing(query, narrowing), visibility);
    Ok(query.load(conn)?)
}

/// The sums that correlate one expectation factor's ratings (x) with each
/// respondent's mean adequacy gap (perceived − adequate, `a`) and superiority gap
/// (perceived − desired, `s`) over their SERVQUAL items.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct FactorSums {
    #[diesel(sql_type = Text)]
    pub factor: String,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
    #[diesel(sql_type = Double)]
    pub sum_x: f64,
    #[diesel(sql_type = Double)]
    pub sum_xx: f64,
    #[diesel(sql_type = Double)]
    pub sum_a: f64,
    #[diesel(sql_type = Double)]
    pub sum_aa: f64,
    #[diesel(sql_type = Double)]
    pub sum_xa: f64,
    #[diesel(sql_type = Double)]
    pub sum_s: f64,
    #[diesel(sql_type = Double)]
    pub sum_ss: f64,
    #[diesel(sql_type = Double)]
    pub sum_xs: f64,
}

/// Per expectation factor, the sums of [`FactorSums`] over the respondents who
/// answered from `start` until `end` and rated it.
pub fn factor_sums(
    conn: &mut DbConnection,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
    narrowing: &FeedbackScope,
    visibility: &Scope,
) -> Result<Vec<FactorSums>, PersistenceError> {
    let sql = format!(
        "WITH respondents AS (\
           SELECT a.invitation_id AS invitation_id, \
                  AVG(CAST(a.perceived - a.adequate AS DOUBLE PRECISION)) AS adequacy, \
                  AVG(CAST(a.perceived - a.desired AS DOUBLE PRECISION)) AS superiority \
           FROM servqual_answers a {customers} \
           WHERE a.answered_at >= ? AND a.answered_at < ?{survey}{narrowing}{visibility} \
           GROUP BY a.invitation_id) \
         SELECT r.factor AS factor, CAST(COUNT(*) AS BIGINT) AS n, \
                CAST(SUM(r.rating) AS DOUBLE PRECISION) AS sum_x, \
                CAST(SUM(r.rating * r.rating) AS DOUBLE PRECISION) AS sum_xx, \
                SUM(x.adequacy) AS sum_a, SUM(x.adequacy * x.adequacy) AS sum_aa, \
                SUM(r.rating * x.adequacy) AS sum_xa, \
                SUM(x.superiority) AS sum_s, SUM(x.superiority * x.superiority) AS sum_ss, \
                SUM(r.rating * x.superiority) AS sum_xs \
         FROM expectation_factor_ratings r JOIN respondents x ON x.invitation_id = r.invitation_id \
         GROUP BY r.factor ORDER BY r.factor",
        customers = customers_join(visibility, "a"),
        survey = if narrowing.survey_id.is_some() {
            " AND a.survey_id = ?"
        } else {
            ""
        },
        narrowing = narrowing_sql(narrowing, "a.customer_id"),
        visibility = visibility_sql(visibility, "c", domain::partners::SharedKind::Customer),
    );
    let mut query = diesel::sql_query(placeholders(conn, &sql))
        .into_boxed::<MultiBackend>()
        .bind::<UtcTimestamp, _>(DbTime(start))
        .bind::<UtcTimestamp, _>(DbTime(end));
    if let Some(id) = narrowing.survey_id {
        query = query.bind::<SqlUuid, _>(DbUuid(id));
    }
    let query = bind_visibility(bind_narrowing(query, narrowing), visibility);
    Ok(query.load(conn)?)
}
