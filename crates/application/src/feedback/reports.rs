//! The feedback reports: NPS, CSAT, CES, ratings and sentiment per period of a range
//! (and per agent, team, product, channel, source or segment), each figure with its
//! count and a 95 % confidence interval (`analytics::intervals`); and the SERVQUAL
//! report — per period and dimension the mean desired, adequate and perceived levels,
//! the adequacy and superiority gaps and the position in the zone of tolerance, with
//! how each expectation factor goes with the gaps. Over the customers the caller sees,
//! narrowed to one customer, a segment or a survey when asked.

use std::collections::HashMap;

use chrono::NaiveDate;
use domain::authz::Permission;
use domain::feedback::reports::{
    metric_value, FeedbackFigures, FeedbackGrouping, Interval, ReportMetric,
};
use domain::feedback::servqual::{gaps_from_sums, Dimension, ExpectationFactor, Gaps};
use domain::reports::round2;
use persistence::db::DbConnection;
use persistence::feedback_reports::{FeedbackCell, FeedbackGroup, FeedbackScope, Measure};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::reports::{cut, last_day, period_index, ReportRange};

/// One group of a period.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FeedbackGroupFigures {
    /// The agent, team, product or segment id, the channel or the source; `null` for
    /// feedback without one.
    pub key: Option<String>,
    /// The agent's, team's, product's or segment's name.
    pub name: Option<String>,
    pub figures: FeedbackFigures,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FeedbackPeriod {
    pub label: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub totals: FeedbackFigures,
    /// Most answers first.
    pub groups: Vec<FeedbackGroupFigures>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FeedbackReport {
    pub range: ReportRange,
    pub metric: ReportMetric,
    pub group_by: Option<FeedbackGrouping>,
    /// The whole range.
    pub totals: FeedbackFigures,
    pub periods: Vec<FeedbackPeriod>,
}

/// Sums that add up across periods and groups.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    answers: i64,
    top: i64,
    bottom: i64,
    sum: f64,
    sum_of_squares: f64,
}

impl Sums {
    fn of(cell: &FeedbackCell) -> Sums {
        Sums {
            answers: cell.answers,
            top: cell.top,
            bottom: cell.bottom,
            sum: cell.sum,
            sum_of_squares: cell.sum_of_squares,
        }
    }

    fn add(&mut self, other: Sums) {
        self.answers += other.answers;
        self.top += other.top;
        self.bottom += other.bottom;
        self.sum += other.sum;
        self.sum_of_squares += other.sum_of_squares;
    }

    fn figures(self, metric: ReportMetric) -> FeedbackFigures {
        let n = u64::try_from(self.answers).unwrap_or(0);
        let interval = |found: Option<analytics::intervals::Interval>, scale: f64| {
            found.map(|i| Interval {
                low: round2(i.low * scale),
                high: round2(i.high * scale),
            })
        };
        let interval = if n == 0 {
            None
        } else {
            match metric {
                ReportMetric::Nps => {
                    let (top, bottom) = (self.top as u64, self.bottom as u64);
                    let passives = n.saturating_sub(top + bottom);
                    interval(
                        analytics::intervals::net_promoter(top, passives, bottom),
                        1.0,
                    )
                }
                ReportMetric::Csat => {
                    interval(analytics::intervals::proportion(self.top as u64, n), 100.0)
                }
                ReportMetric::Ces | ReportMetric::Rating | ReportMetric::Sentiment => interval(
                    analytics::intervals::mean(self.sum, self.sum_of_squares, n),
                    1.0,
                ),
            }
        };
        FeedbackFigures {
            answers: self.answers,
            value: metric_value(metric, self.answers, self.top, self.bottom, self.sum),
            interval,
            top: self.top,
            bottom: self.bottom,
        }
    }
}

fn group_of(grouping: FeedbackGrouping) -> FeedbackGroup {
    match grouping {
        FeedbackGrouping::Agent => FeedbackGroup::Agent,
        FeedbackGrouping::Team => FeedbackGroup::Team,
        FeedbackGrouping::Product => FeedbackGroup::Product,
        FeedbackGrouping::Channel => FeedbackGroup::Channel,
        FeedbackGrouping::Source => FeedbackGroup::Source,
        FeedbackGrouping::Segment => FeedbackGroup::Segment,
    }
}

/// What narrows a report: one customer (whom the caller must see), a segment, a survey.
#[derive(Debug, Clone, Copy, Default)]
pub struct Narrowing {
    pub customer_id: Option<Uuid>,
    pub segment_id: Option<Uuid>,
    pub survey_id: Option<Uuid>,
}

fn narrowing(
    conn: &mut DbConnection,
    acting: &Acting,
    narrowing: Narrowing,
) -> AppResult<FeedbackScope> {
    if let Some(customer) = narrowing.customer_id {
        crate::customers::visible(conn, acting, customer).map_err(|err| match err {
            AppError::NotFound => AppError::field("customer_id", "not_found", "no such customer"),
            other => other,
        })?;
    }
    Ok(FeedbackScope {
        customer_id: narrowing.customer_id,
        segment_id: narrowing.segment_id,
        survey_id: narrowing.survey_id,
    })
}

/// The name of a group's record, when the caller may read it.
fn name_of(
    conn: &mut DbConnection,
    grouping: FeedbackGrouping,
    key: &str,
) -> AppResult<Option<String>> {
    let Ok(id) = key.parse::<Uuid>() else {
        return Ok(None);
    };
    let found = match grouping {
        FeedbackGrouping::Agent => persistence::users::find(conn, id).map(|user| user.display_name),
        FeedbackGrouping::Team => persistence::teams::find(conn, id).map(|team| team.name),
        FeedbackGrouping::Product => {
            persistence::products::find(conn, id).map(|product| product.name)
        }
        FeedbackGrouping::Segment => {
            persistence::segments::find(conn, id).map(|segment| segment.name)
        }
        FeedbackGrouping::Channel | FeedbackGrouping::Source => return Ok(None),
    };
    match found {
        Ok(name) => Ok(Some(name)),
        Err(persistence::PersistenceError::NotFound) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// The feedback report of `metric` over `range` (`records:read`).
pub fn feedback(
    conn: &mut DbConnection,
    acting: &Acting,
    range: ReportRange,
    metric: ReportMetric,
    group_by: Option<FeedbackGrouping>,
    narrow: Narrowing,
) -> AppResult<FeedbackReport> {
    acting.require(Permission::RecordsRead)?;
    let scope = narrowing(conn, acting, narrow)?;
    let local = crate::settings::calendar(conn)?.local();
    let (cut, bounds) = cut(&local, &range)?;
    let measure = match metric.metric() {
        Some(scored) => {
            let (top_from, bottom_to) = metric.bands();
            Measure::Score {
                metric: scored.as_str(),
                top_from,
                bottom_to,
            }
        }
        None => Measure::Sentiment,
    };
    let visibility = acting.scope();
    let grouped = match group_by {
        Some(grouping) => persistence::feedback_reports::cells(
            conn,
            &bounds,
            measure,
            Some(group_of(grouping)),
            &scope,
            &visibility,
        )?,
        None => Vec::new(),
    };
    // An answer falls in exactly one agent, team, product, channel or source group (or
    // the group of none), so the groups add up to the totals and the answers need not
    // be read twice; a customer may be in several segments or none, so segment groups
    // do not.
    let totals = match group_by {
        Some(grouping) if grouping != FeedbackGrouping::Segment => None,
        _ => Some(persistence::feedback_reports::cells(
            conn,
            &bounds,
            measure,
            None,
            &scope,
            &visibility,
        )?),
    };
    let mut period_sums = vec![Sums::default(); cut.len()];
    let mut whole = Sums::default();
    for cell in totals.as_ref().unwrap_or(&grouped) {
        let index = period_index(cell.period, cut.len())?;
        period_sums[index].add(Sums::of(cell));
        whole.add(Sums::of(cell));
    }
    let mut periods: Vec<FeedbackPeriod> = cut
        .iter()
        .zip(&period_sums)
        .map(|(period, sums)| FeedbackPeriod {
            label: period.label.clone(),
            start: period.range.start,
            end: last_day(period),
            totals: sums.figures(metric),
            groups: Vec::new(),
        })
        .collect();
    let mut names: HashMap<String, Option<String>> = HashMap::new();
    for cell in &grouped {
        let index = period_index(cell.period, periods.len())?;
        let name = match (group_by, &cell.group_key) {
            (Some(grouping), Some(key)) => match names.get(key) {
                Some(name) => name.clone(),
                None => {
                    let name = name_of(conn, grouping, key)?;
                    names.insert(key.clone(), name.clone());
                    name
                }
            },
            _ => None,
        };
        periods[index].groups.push(FeedbackGroupFigures {
            key: cell.group_key.clone(),
            name,
            figures: Sums::of(cell).figures(metric),
        });
    }
    for period in &mut periods {
        period.groups.sort_by(|a, b| {
            b.figures
                .answers
                .cmp(&a.figures.answers)
                .then(a.key.cmp(&b.key))
        });
    }
    Ok(FeedbackReport {
        range,
        metric,
        group_by,
        totals: whole.figures(metric),
        periods,
    })
}

/// The SERVQUAL figures of one dimension.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DimensionGaps {
    pub dimension: Dimension,
    pub gaps: Gaps,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ServqualPeriod {
    pub label: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Over every item answered in the period; `None` without answers.
    pub overall: Option<Gaps>,
    /// The dimensions with answers, in the instrument's order.
    pub dimensions: Vec<DimensionGaps>,
}

/// A correlation with its count, interval and p-value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Association {
    /// Pearson's r.
    pub r: f64,
    /// Fisher-z 95 % interval of r; `None` for fewer than four respondents.
    pub interval: Option<Interval>,
    /// Two-sided, from Student's t with n − 2 degrees of freedom.
    pub p_value: Option<f64>,
}

/// How one expectation factor goes with the gaps.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FactorAssociation {
    pub factor: ExpectationFactor,
    /// Respondents who rated the factor and answered SERVQUAL items.
    pub respondents: i64,
    /// Mean rating of how much the factor shaped expectations (1–7).
    pub mean_rating: Option<f64>,
    /// With the respondent's mean adequacy gap (perceived − adequate); `None` when
    /// either varies not at all or fewer than three answered.
    pub adequacy: Option<Association>,
    /// With the respondent's mean superiority gap (perceived − desired).
    pub superiority: Option<Association>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ServqualReport {
    pub range: ReportRange,
    /// The whole range.
    pub overall: Option<Gaps>,
    pub dimensions: Vec<DimensionGaps>,
    pub periods: Vec<ServqualPeriod>,
    /// Over the whole range.
    pub factors: Vec<FactorAssociation>,
}

#[derive(Debug, Clone, Copy, Default)]
struct LevelSums {
    answers: i64,
    desired: i64,
    adequate: i64,
    perceived: i64,
}

impl LevelSums {
    fn add(&mut self, answers: i64, desired: i64, adequate: i64, perceived: i64) {
        self.answers += answers;
        self.desired += desired;
        self.adequate += adequate;
        self.perceived += perceived;
    }

    fn gaps(self) -> Option<Gaps> {
        gaps_from_sums(self.answers, self.desired, self.adequate, self.perceived)
    }
}

fn association(found: Option<analytics::intervals::Correlation>) -> Option<Association> {
    found.map(|c| Association {
        r: round2(c.r),
        interval: c.interval.map(|i| Interval {
            low: round2(i.low),
            high: round2(i.high),
        }),
        p_value: c.p_value.map(|p| (p * 10_000.0).round() / 10_000.0),
    })
}

fn dimension_gaps(sums: &HashMap<Dimension, LevelSums>) -> Vec<DimensionGaps> {
    Dimension::ALL
        .iter()
        .filter_map(|dimension| {
            let gaps = sums.get(dimension)?.gaps()?;
            Some(DimensionGaps {
                dimension: *dimension,
                gaps,
            })
        })
        .collect()
}

/// The SERVQUAL report over `range` (`records:read`).
pub fn servqual(
    conn: &mut DbConnection,
    acting: &Acting,
    range: ReportRange,
    narrow: Narrowing,
) -> AppResult<ServqualReport> {
    acting.require(Permission::RecordsRead)?;
    let scope = narrowing(conn, acting, narrow)?;
    let local = crate::settings::calendar(conn)?.local();
    let (cut, bounds) = cut(&local, &range)?;
    let visibility = acting.scope();
    let cells = persistence::feedback_reports::servqual_cells(conn, &bounds, &scope, &visibility)?;
    let mut per_period: Vec<HashMap<Dimension, LevelSums>> = vec![HashMap::new(); cut.len()];
    let mut whole: HashMap<Dimension, LevelSums> = HashMap::new();
    for cell in &cells {
        let index = period_index(cell.period, cut.len())?;
        let dimension = Dimension::parse(&cell.dimension)
            .ok_or_else(|| AppError::Internal(format!("stored dimension {:?}", cell.dimension)))?;
        per_period[index].entry(dimension).or_default().add(
            cell.answers,
            cell.desired,
            cell.adequate,
            cell.perceived,
        );
        whole.entry(dimension).or_default().add(
            cell.answers,
            cell.desired,
            cell.adequate,
            cell.perceived,
        );
    }
    let overall_of = |sums: &HashMap<Dimension, LevelSums>| {
        let mut all = LevelSums::default();
        for s in sums.values() {
            all.add(s.answers, s.desired, s.adequate, s.perceived);
        }
        all.gaps()
    };
    let periods = cut
        .iter()
        .enumerate()
        .map(|(index, period)| ServqualPeriod {
            label: period.label.clone(),
            start: period.range.start,
            end: last_day(period),
            overall: overall_of(&per_period[index]),
            dimensions: dimension_gaps(&per_period[index]),
        })
        .collect();
    let (start, end) = (
        bounds.first().map(|b| b.start),
        bounds.last().map(|b| b.end),
    );
    let factors = match (start, end) {
        (Some(start), Some(end)) => {
            persistence::feedback_reports::factor_sums(conn, start, end, &scope, &visibility)?
        }
        _ => Vec::new(),
    };
    let factors = factors
        .into_iter()
        .filter_map(|sums| {
            let factor = ExpectationFactor::parse(&sums.factor)?;
            let n = u64::try_from(sums.n).unwrap_or(0);
            Some(FactorAssociation {
                factor,
                respondents: sums.n,
                mean_rating: (n > 0).then(|| round2(sums.sum_x / n as f64)),
                adequacy: association(analytics::intervals::correlation(
                    n,
                    sums.sum_x,
                    sums.sum_a,
                    sums.sum_xx,
                    sums.sum_aa,
                    sums.sum_xa,
                )),
                superiority: association(analytics::intervals::correlation(
                    n,
                    sums.sum_x,
                    sums.sum_s,
                    sums.sum_xx,
                    sums.sum_ss,
                    sums.sum_xs,
                )),
            })
        })
        .collect();
    Ok(ServqualReport {
        range,
        overall: overall_of(&whole),
        dimensions: dimension_gaps(&whole),
        periods,
        factors,
    })
}
