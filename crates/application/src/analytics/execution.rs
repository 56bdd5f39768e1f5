//! Carrying out a model run, in steps the job between them reports progress on and
//! checks for cancellation:
//!
//! 1. **read** ([`Reading::read_block`]): the buyers a block at a time, each block's
//!    purchases aggregated per customer by the database (`persistence::scores`), so
//!    memory holds one compact row per buyer, never the orders;
//! 2. **fit** ([`Reading::fit`]): RFM quintiles, or BG/NBD and Gamma-Gamma with the
//!    holdout check, exactly as `peyvand analyze clv` does on a file, or k-means on the
//!    buyers' behavioural features;
//! 3. **write** ([`Storing::write_block`]): the scores onto the customers, a block per
//!    transaction, each score naming the run;
//! 4. **finish** ([`Storing::finish`]): in one transaction, the scores of earlier runs
//!    that this run did not replace are removed, and the run is marked succeeded with
//!    its metadata.
//!
//! [`prepare`] picks the steps of the run's kind: the buyer scores here, or the
//! product models of `cross_sell` and `elasticity` and the `lead_propensity` model
//! (their own modules), which read baskets, per-product sales or leads instead of
//! buyers.

use std::collections::HashMap;
use std::thread;

use analytics::bgnbd::{self, BgNbdFit};
use analytics::churn;
use analytics::clv::{ClvOptions, ClvScorer};
use analytics::gamma_gamma::{self, GammaGammaFit};
use analytics::kmeans::{self, KMeans, KMeansOptions};
use analytics::logistic::{self, LogisticModel, LogisticOptions};
use analytics::rfm::{self, RfmInput};
use analytics::summary::{summarize_aggregates, CustomerAggregate, PurchaseHistory, TimeUnit};
use chrono::{DateTime, NaiveDate, Utc};
use domain::calendar::LocalCalendar;
use domain::model_runs::{
    holdout_bucket, ChurnRun, ClusterRun, ClvRun, RfmRun, RunParameters, AUTO_CLUSTERS,
    BEHAVIOUR_FEATURES, HOLDOUT_BUCKETS,
};
use domain::validation::FieldViolation;
use persistence::db::DbConnection;
use persistence::model_runs::ModelRunRow;
use persistence::scores::{
    self, ChurnScore, ClvScores, PurchaseAggregate, PurchaseWindow, RfmScores,
};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::runs;
use super::steps::{end_of_day, model_failed, no_purchases, succeed, Reading, Storing};
use crate::error::{AppError, AppResult};
use crate::transaction;

/// Buyers read per block.
const READ_BLOCK: i64 = 5_000;
/// Customers scored and stored per block (one transaction each).
const WRITE_BLOCK: usize = 2_000;

/// One buyer as the models need it.
#[derive(Debug, Clone, Copy)]
struct Buyer {
    id: Uuid,
    history: PurchaseHistory,
    /// Average net amount of the repeat purchase days (Gamma-Gamma's z̄).
    monetary: f64,
    total_amount: i64,
    /// Days from the last purchase to the run's last calibration day.
    days_since_last_purchase: i64,
    purchase_days: i64,
    /// Purchase days in the holdout period.
    holdout_days: i64,
    /// Days from the first purchase to the run's last calibration day.
    tenure_days: i64,
    /// For a churn run, the buyer as it was a window earlier, if it had bought by then.
    training: Option<TrainingRow>,
}

/// A buyer as it was at the end of a churn run's training period, and what followed.
#[derive(Debug, Clone, Copy)]
struct TrainingRow {
    features: [f64; 4],
    /// Bought nothing from the training end to the run's day.
    churned: bool,
}

/// Behavioural features in the order of `BEHAVIOUR_FEATURES`.
fn behaviour(
    recency_days: i64,
    purchase_days: i64,
    total_amount: i64,
    tenure_days: i64,
) -> [f64; 4] {
    [
        recency_days as f64,
        purchase_days as f64,
        (total_amount.max(0) as f64).ln_1p(),
        tenure_days as f64,
    ]
}

/// The run a job carries out, ready to read its input.
pub fn prepare(conn: &mut DbConnection, job_id: Uuid) -> AppResult<Box<dyn Reading>> {
    let run = persistence::model_runs::find_by_job(conn, job_id)?
        .ok_or_else(|| AppError::Internal(format!("no model run for job {job_id}")))?;
    let local = crate::settings::calendar(conn)?.local();
    Ok(match runs::parameters(&run)? {
        RunParameters::CrossSell(parameters) => Box::new(
            super::cross_sell::CrossSellReading::prepare(conn, run, parameters, &local)?,
        ),
        RunParameters::Elasticity(parameters) => Box::new(
            super::elasticity::ElasticityReading::prepare(conn, run, parameters, &local)?,
        ),
        RunParameters::LeadPropensity(parameters) => Box::new(
            super::lead_propensity::LeadPropensityReading::prepare(conn, run, parameters, &local)?,
        ),
        parameters => Box::new(Execution::prepare(conn, run, parameters, &local)?),
    })
}

/// What the run read, for its metadata.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InputSummary {
    /// Purchases (orders) read.
    pub orders: i64,
    pub customers: usize,
    pub first_purchase: Option<NaiveDate>,
    pub last_purchase: Option<NaiveDate>,
}

/// A run being carried out: reading its input.
pub struct Execution {
    run: ModelRunRow,
    parameters: RunParameters,
    /// Purchases before this instant are read (the end of the last calibration day).
    window: PurchaseWindow,
    /// Where the holdout period starts, when there is one.
    holdout: Option<PurchaseWindow>,
    holdout_start: DateTime<Utc>,
    /// A churn run's training period: purchases up to its end give the features the
    /// model learns from.
    training: Option<(PurchaseWindow, NaiveDate)>,
    /// The last calibration day.
    end_day: NaiveDate,
    buyers: Vec<Buyer>,
    input: InputSummary,
    after: Uuid,
    expected_buyers: i64,
    read_all: bool,
}

impl Execution {
    /// A run of a kind that scores buyers (`rfm`, `clv`, `clusters`, `churn`).
    fn prepare(
        conn: &mut DbConnection,
        run: ModelRunRow,
        parameters: RunParameters,
        local: &LocalCalendar,
    ) -> AppResult<Execution> {
        let (end_day, holdout_end) = match &parameters {
            RunParameters::Rfm(RfmRun { as_of }) => (*as_of, None),
            RunParameters::Clv(clv) => (clv.calibration_end, clv.holdout_end),
            RunParameters::Clusters(ClusterRun { as_of, .. }) => (*as_of, None),
            RunParameters::Churn(ChurnRun { as_of, .. }) => (*as_of, None),
            RunParameters::CrossSell(_)
            | RunParameters::Elasticity(_)
            | RunParameters::LeadPropensity(_) => {
                return Err(AppError::Internal(format!(
                    "a {} run does not score buyers",
                    run.kind
                )))
            }
        };
        let zone = local.time_zone.name().to_string();
        let window = PurchaseWindow {
            end: end_of_day(local, end_day)?,
            zone: zone.clone(),
        };
        let holdout = holdout_end
            .map(|day| {
                end_of_day(local, day).map(|end| PurchaseWindow {
                    end,
                    zone: zone.clone(),
                })
            })
            .transpose()?;
        let training = match &parameters {
            RunParameters::Churn(churn) => {
                let day = churn
                    .training_end()
                    .ok_or_else(|| AppError::Internal("no training end".into()))?;
                Some((
                    PurchaseWindow {
                        end: end_of_day(local, day)?,
                        zone: zone.clone(),
                    },
                    day,
                ))
            }
            _ => None,
        };
        let expected_buyers = scores::buyer_count(conn, &window)?;
        Ok(Execution {
            run,
            parameters,
            holdout_start: window.end,
            window,
            holdout,
            training,
            end_day,
            buyers: Vec::with_capacity(usize::try_from(expected_buyers).unwrap_or(0)),
            input: InputSummary::default(),
            after: Uuid::nil(),
            expected_buyers,
            read_all: false,
        })
    }

    fn add_block(&mut self, conn: &mut DbConnection) -> AppResult<bool> {
        if self.read_all {
            return Ok(false);
        }
        let ids = scores::next_buyers(conn, &self.window, self.after, READ_BLOCK)?;
        let (Some(&first), Some(&last)) = (ids.first(), ids.last()) else {
            self.read_all = true;
            return Ok(false);
        };
        let aggregates = scores::purchase_aggregates(conn, &self.window, first, last)?;
        let holdout: HashMap<Uuid, i64> = match &self.holdout {
            Some(window) => {
                scores::purchase_days_between(conn, window, self.holdout_start, first, last)?
                    .into_iter()
                    .collect()
            }
            None => HashMap::new(),
        };
        let earlier: HashMap<Uuid, PurchaseAggregate> = match &self.training {
            Some((window, _)) => scores::purchase_aggregates(conn, window, first, last)?
                .into_iter()
                .map(|aggregate| (aggregate.customer_id, aggregate))
                .collect(),
            None => HashMap::new(),
        };
        self.add(aggregates, &holdout, &earlier)?;
        self.after = last;
        if ids.len() < READ_BLOCK as usize {
            self.read_all = true;
        }
        Ok(!self.read_all)
    }

    fn add(
        &mut self,
        aggregates: Vec<PurchaseAggregate>,
        holdout: &HashMap<Uuid, i64>,
        earlier: &HashMap<Uuid, PurchaseAggregate>,
    ) -> AppResult<()> {
        let unit = match &self.parameters {
            RunParameters::Clv(clv) => time_unit(clv),
            _ => TimeUnit::Day,
        };
        let rows: Vec<CustomerAggregate> = aggregates
            .iter()
            .map(|a| CustomerAggregate {
                customer_id: a.customer_id.to_string(),
                first_purchase: a.first_day,
                last_purchase: a.last_day,
                purchase_days: u32::try_from(a.purchase_days).unwrap_or(u32::MAX),
                total_amount: a.total_amount as f64,
                first_day_amount: a.first_day_amount as f64,
            })
            .collect();
        let summaries = summarize_aggregates(rows, self.end_day, unit).map_err(|err| {
            AppError::Internal(format!("purchase aggregates are inconsistent: {err}"))
        })?;
        for (aggregate, summary) in aggregates.iter().zip(summaries) {
            self.input.orders += aggregate.orders;
            self.input.first_purchase = Some(
                self.input
                    .first_purchase
                    .map_or(aggregate.first_day, |day| day.min(aggregate.first_day)),
            );
            self.input.last_purchase = Some(
                self.input
                    .last_purchase
                    .map_or(aggregate.last_day, |day| day.max(aggregate.last_day)),
            );
            self.buyers.push(Buyer {
                id: aggregate.customer_id,
                history: summary.history(),
                monetary: summary.monetary,
                total_amount: aggregate.total_amount,
                days_since_last_purchase: (self.end_day - aggregate.last_day).num_days(),
                purchase_days: aggregate.purchase_days,
                holdout_days: holdout.get(&aggregate.customer_id).copied().unwrap_or(0),
                tenure_days: (self.end_day - aggregate.first_day).num_days(),
                training: self.training.as_ref().and_then(|(_, day)| {
                    earlier.get(&aggregate.customer_id).map(|then| TrainingRow {
                        features: behaviour(
                            (*day - then.last_day).num_days(),
                            then.purchase_days,
                            then.total_amount,
                            (*day - then.first_day).num_days(),
                        ),
                        churned: aggregate.last_day <= *day,
                    })
                }),
            });
        }
        self.input.customers = self.buyers.len();
        Ok(())
    }
}

impl Reading for Execution {
    /// Reads the next block of buyers; `false` once every buyer is read.
    fn read_block(&mut self, conn: &mut DbConnection) -> AppResult<bool> {
        self.add_block(conn)
    }

    /// Share of the buyers read so far.
    fn read_progress(&self) -> f64 {
        if self.expected_buyers <= 0 {
            return 1.0;
        }
        (self.buyers.len() as f64 / self.expected_buyers as f64).min(1.0)
    }

    /// Fits the models on what was read.
    fn fit(self: Box<Self>) -> AppResult<Box<dyn Storing>> {
        if self.buyers.is_empty() {
            let field = match self.parameters {
                RunParameters::Clv(_) => "parameters.calibration_end",
                _ => "parameters.as_of",
            };
            return Err(no_purchases(field, self.end_day));
        }
        let model = match &self.parameters {
            RunParameters::Rfm(_) => Model::Rfm(rank(&self.buyers)?),
            RunParameters::Clv(clv) => fit_clv(&self.buyers, clv)?,
            RunParameters::Clusters(run) => Model::Clusters(Box::new(cluster(&self.buyers, run)?)),
            RunParameters::Churn(_) => Model::Churn(Box::new(fit_churn(&self.buyers)?)),
            RunParameters::CrossSell(_)
            | RunParameters::Elasticity(_)
            | RunParameters::LeadPropensity(_) => {
                return Err(AppError::Internal(format!(
                    "a {} run does not score buyers",
                    self.run.kind
                )))
            }
        };
        Ok(Box::new(Scoring {
            run: self.run,
            buyers: self.buyers,
            input: self.input,
            model,
            written: 0,
        }))
    }
}

fn time_unit(clv: &ClvRun) -> TimeUnit {
    match clv.time_unit {
        domain::model_runs::TimeUnit::Day => TimeUnit::Day,
        domain::model_runs::TimeUnit::Week => TimeUnit::Week,
        domain::model_runs::TimeUnit::Month => TimeUnit::Month,
    }
}

/// RFM scores of every buyer, as `peyvand analyze clv` ranks them.
fn rank(buyers: &[Buyer]) -> AppResult<Vec<RfmScores>> {
    let inputs: Vec<RfmInput> = buyers
        .iter()
        .map(|b| RfmInput {
            recency_days: b.days_since_last_purchase as f64,
            frequency: b.purchase_days as f64,
            monetary: b.total_amount as f64,
        })
        .collect();
    Ok(rfm::score(&inputs)
        .map_err(model_failed)?
        .into_iter()
        .map(|score| RfmScores {
            run_id: Uuid::nil(),
            recency: i64::from(score.r),
            frequency: i64::from(score.f),
            monetary: i64::from(score.m),
            segment: score.segment.name().to_string(),
        })
        .collect())
}

/// BG/NBD and Gamma-Gamma fitted as `peyvand analyze clv` fits them (Gamma-Gamma on a
/// second thread), and the holdout check when the run has a holdout period.
fn fit_clv(buyers: &[Buyer], clv: &ClvRun) -> AppResult<Model> {
    let histories: Vec<PurchaseHistory> = buyers.iter().map(|b| b.history).collect();
    let spend: Vec<(u32, f64)> = buyers
        .iter()
        .map(|b| (b.history.frequency, b.monetary))
        .collect();
    let penalizer = clv.penalizer;
    let (bg, gg) = thread::scope(|scope| {
        let spend_side = scope.spawn(|| {
            gamma_gamma::fit(
                &spend,
                &gamma_gamma::FitOptions {
                    penalizer,
                    ..Default::default()
                },
            )
        });
        let bg = bgnbd::fit(
            &histories,
            &bgnbd::FitOptions {
                penalizer,
                ..Default::default()
            },
        );
        let gg = spend_side
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (bg, gg)
    });
    let (bg, gg) = (bg.map_err(model_failed)?, gg.map_err(model_failed)?);
    let unit = time_unit(clv);
    let options = ClvOptions {
        horizon_months: clv.horizon_months,
        monthly_discount_rate: clv.monthly_discount_rate,
        margin: clv.margin,
        unit,
    };
    let scorer = ClvScorer::new(&bg.params, &gg.params, &options).map_err(model_failed)?;
    let holdout = clv
        .holdout_end
        .map(|end| holdout_check(buyers, &bg, clv.calibration_end, end, unit));
    Ok(Model::Clv(Box::new(ClvModel {
        bg,
        gg,
        scorer,
        holdout,
    })))
}

/// Predicted against actual purchases in the holdout period per calibration frequency
/// (the Fader–Hardie conditional-expectation check).
#[derive(Debug, Clone, Serialize)]
pub struct HoldoutCheck {
    pub calibration_end: NaiveDate,
    pub holdout_end: NaiveDate,
    /// Length of the holdout in the run's time unit.
    pub length: f64,
    pub buckets: Vec<HoldoutBucket>,
    pub actual_total: i64,
    pub predicted_total: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct HoldoutBucket {
    /// Repeat purchases in the calibration period: `0` … `6`, `7+`.
    pub frequency: String,
    pub customers: usize,
    /// Mean purchase days per customer in the holdout.
    pub actual_mean: f64,
    /// Mean of E[X(holdout) | x, t_x, T].
    pub predicted_mean: f64,
}

fn holdout_check(
    buyers: &[Buyer],
    bg: &BgNbdFit,
    calibration_end: NaiveDate,
    holdout_end: NaiveDate,
    unit: TimeUnit,
) -> HoldoutCheck {
    let length = (holdout_end - calibration_end).num_days() as f64 / unit.days();
    let buckets = HOLDOUT_BUCKETS as usize;
    let (mut customers, mut actual, mut predicted) = (
        vec![0_usize; buckets],
        vec![0_i64; buckets],
        vec![0.0; buckets],
    );
    for buyer in buyers {
        let bucket = holdout_bucket(buyer.history.frequency);
        customers[bucket] += 1;
        actual[bucket] += buyer.holdout_days;
        predicted[bucket] += bg
            .params
            .conditional_expected_purchases(length, &buyer.history);
    }
    let mean = |total: f64, n: usize| if n == 0 { 0.0 } else { total / n as f64 };
    HoldoutCheck {
        calibration_end,
        holdout_end,
        length,
        buckets: (0..buckets)
            .map(|b| HoldoutBucket {
                frequency: if b + 1 == buckets {
                    format!("{b}+")
                } else {
                    b.to_string()
                },
                customers: customers[b],
                actual_mean: mean(actual[b] as f64, customers[b]),
                predicted_mean: mean(predicted[b], customers[b]),
            })
            .collect(),
        actual_total: actual.iter().sum(),
        predicted_total: predicted.iter().sum(),
    }
}

/// Seed of k-means++, of the silhouette's sample and of the churn model's held-out
/// buyers: a run is reproducible.
const CLUSTER_SEED: u64 = 42;
/// Lloyd iterations at most.
const CLUSTER_ITERATIONS: usize = 300;
/// Rows the silhouette is computed on (a seeded sample beyond; it is quadratic).
const SILHOUETTE_SAMPLE: usize = 2_000;

/// A buyer's behavioural features as of the run's day.
fn features(buyer: &Buyer) -> Vec<f64> {
    behaviour(
        buyer.days_since_last_purchase,
        buyer.purchase_days,
        buyer.total_amount,
        buyer.tenure_days,
    )
    .to_vec()
}

/// Fewest buyers with a history before the training end a churn model is fit on.
const MIN_CHURN_TRAINING: usize = 20;
/// Share of them kept out of the fit to measure the model (AUC).
const CHURN_HOLDOUT_SHARE: f64 = 0.25;
/// Features named as a buyer's drivers at most.
const CHURN_DRIVERS: usize = 3;

struct ChurnModel {
    model: LogisticModel,
    training_rows: usize,
    training_churned: usize,
    holdout_rows: usize,
    /// Area under the ROC curve on the held-out buyers.
    holdout_auc: f64,
}

/// A logistic model of "bought nothing in the window" on the buyers as they were a
/// window before the run's day, checked on a seeded quarter of them kept out of the fit.
fn fit_churn(buyers: &[Buyer]) -> AppResult<ChurnModel> {
    let rows: Vec<TrainingRow> = buyers.iter().filter_map(|buyer| buyer.training).collect();
    if rows.len() < MIN_CHURN_TRAINING {
        return Err(AppError::Invalid(vec![FieldViolation::new(
            "parameters.window_days",
            "too_little_history",
            format!(
                "{} buyers had bought a window before `as_of`; the model needs at least \
                 {MIN_CHURN_TRAINING}",
                rows.len()
            ),
        )]));
    }
    let (train, held_out) =
        logistic::train_holdout_split(rows.len(), CHURN_HOLDOUT_SHARE, CLUSTER_SEED);
    let pick = |indices: &[usize]| -> (Vec<Vec<f64>>, Vec<bool>) {
        indices
            .iter()
            .map(|&i| (rows[i].features.to_vec(), rows[i].churned))
            .unzip()
    };
    let (features, labels) = pick(&train);
    let model = LogisticModel::fit(
        &BEHAVIOUR_FEATURES,
        &features,
        &labels,
        &LogisticOptions::default(),
    )
    .map_err(model_failed)?;
    let (held_features, held_labels) = pick(&held_out);
    let predictions: Vec<f64> = held_features.iter().map(|row| model.predict(row)).collect();
    Ok(ChurnModel {
        holdout_auc: logistic::auc(&predictions, &held_labels),
        training_rows: train.len(),
        training_churned: labels.iter().filter(|churned| **churned).count(),
        holdout_rows: held_out.len(),
        model,
    })
}

/// One cluster described in the features' own units.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterProfile {
    pub cluster: usize,
    pub customers: usize,
    pub mean_recency_days: f64,
    pub mean_purchase_days: f64,
    /// Mean net spend, minor units.
    pub mean_net_spend: i64,
    pub mean_tenure_days: f64,
}

struct ClusterModel {
    model: KMeans,
    /// Whether k was chosen by silhouette (not fixed by the request).
    chosen: bool,
    /// (k, silhouette) of each k tried, or of the one asked for.
    silhouettes: Vec<(usize, f64)>,
    profiles: Vec<ClusterProfile>,
}

/// k-means on the buyers' features, with k fixed by the run or chosen by silhouette.
fn cluster(buyers: &[Buyer], run: &ClusterRun) -> AppResult<ClusterModel> {
    let rows: Vec<Vec<f64>> = buyers.iter().map(features).collect();
    // More clusters than distinct buyers would leave some empty.
    let distinct: std::collections::HashSet<Vec<u64>> = rows
        .iter()
        .map(|row| row.iter().map(|value| value.to_bits()).collect())
        .collect();
    let largest = u32::try_from(rows.len()).unwrap_or(u32::MAX);
    let most_distinct = u32::try_from(distinct.len()).unwrap_or(u32::MAX);
    let (k, chosen, silhouettes) = match run.k {
        Some(k) if k > largest => {
            return Err(AppError::Invalid(vec![FieldViolation::new(
                "parameters.k",
                "more_than_buyers",
                format!("asks for {k} clusters of {} buyers", rows.len()),
            )]))
        }
        Some(k) => (k as usize, false, Vec::new()),
        None if most_distinct < *AUTO_CLUSTERS.start() => {
            return Err(AppError::Invalid(vec![FieldViolation::new(
                "parameters.k",
                "too_few_buyers",
                format!(
                    "the buyers' features take {most_distinct} distinct values: too few to cluster"
                ),
            )]))
        }
        None => {
            let ks = (*AUTO_CLUSTERS.start()..=(*AUTO_CLUSTERS.end()).min(most_distinct))
                .map(|k| k as usize);
            let (k, scores) = kmeans::suggest_k(&rows, ks, CLUSTER_ITERATIONS, CLUSTER_SEED)
                .map_err(model_failed)?;
            (k, true, scores)
        }
    };
    let model = kmeans::fit(
        &rows,
        &KMeansOptions {
            k,
            max_iterations: CLUSTER_ITERATIONS,
            seed: CLUSTER_SEED,
        },
    )
    .map_err(model_failed)?;
    let silhouettes = if chosen {
        silhouettes
    } else {
        vec![(
            k,
            kmeans::silhouette(&model, &rows, SILHOUETTE_SAMPLE, CLUSTER_SEED),
        )]
    };
    let mut sums = vec![(0_usize, 0.0, 0.0, 0_i128, 0.0); k];
    for (buyer, &cluster) in buyers.iter().zip(&model.assignments) {
        let sum = &mut sums[cluster];
        sum.0 += 1;
        sum.1 += buyer.days_since_last_purchase as f64;
        sum.2 += buyer.purchase_days as f64;
        sum.3 += i128::from(buyer.total_amount);
        sum.4 += buyer.tenure_days as f64;
    }
    let profiles = sums
        .into_iter()
        .enumerate()
        .map(|(cluster, (n, recency, days, spend, tenure))| {
            let mean = |total: f64| if n == 0 { 0.0 } else { total / n as f64 };
            ClusterProfile {
                cluster,
                customers: n,
                mean_recency_days: mean(recency),
                mean_purchase_days: mean(days),
                mean_net_spend: if n == 0 {
                    0
                } else {
                    (spend / n as i128) as i64
                },
                mean_tenure_days: mean(tenure),
            }
        })
        .collect();
    Ok(ClusterModel {
        model,
        chosen,
        silhouettes,
        profiles,
    })
}

struct ClvModel {
    bg: BgNbdFit,
    gg: GammaGammaFit,
    scorer: ClvScorer,
    holdout: Option<HoldoutCheck>,
}

enum Model {
    /// Scores per buyer, in the buyers' order.
    Rfm(Vec<RfmScores>),
    Clv(Box<ClvModel>),
    Clusters(Box<ClusterModel>),
    Churn(Box<ChurnModel>),
}

/// A fitted run: storing its scores.
pub struct Scoring {
    run: ModelRunRow,
    buyers: Vec<Buyer>,
    input: InputSummary,
    model: Model,
    written: usize,
}

impl Storing for Scoring {
    /// Scores and stores the next block of customers; `false` once all are stored.
    fn write_block(&mut self, conn: &mut DbConnection) -> AppResult<bool> {
        let start = self.written;
        let end = (start + WRITE_BLOCK).min(self.buyers.len());
        if start >= end {
            return Ok(false);
        }
        let run_id = self.run.id.0;
        let buyers = &self.buyers[start..end];
        match &mut self.model {
            Model::Rfm(scores) => {
                let rows: Vec<(Uuid, RfmScores)> = buyers
                    .iter()
                    .zip(&scores[start..end])
                    .map(|(buyer, score)| {
                        (
                            buyer.id,
                            RfmScores {
                                run_id,
                                ..score.clone()
                            },
                        )
                    })
                    .collect();
                transaction(conn, |conn| Ok(scores::write_rfm(conn, run_id, &rows)?))?;
            }
            Model::Clv(model) => {
                let rows: Vec<(Uuid, ClvScores)> = buyers
                    .iter()
                    .map(|buyer| {
                        let value = model.scorer.score(
                            &buyer.history,
                            buyer.monetary,
                            buyer.total_amount as f64,
                        );
                        (
                            buyer.id,
                            ClvScores {
                                run_id,
                                p_alive: value.probability_alive,
                                expected_purchases: value.expected_purchases,
                                expected_spend: minor_units(value.expected_spend),
                                clv: minor_units(value.clv),
                            },
                        )
                    })
                    .collect();
                transaction(conn, |conn| Ok(scores::write_clv(conn, run_id, &rows)?))?;
            }
            Model::Clusters(model) => {
                let rows: Vec<(Uuid, i64)> = buyers
                    .iter()
                    .zip(&model.model.assignments[start..end])
                    .map(|(buyer, &cluster)| (buyer.id, cluster as i64))
                    .collect();
                transaction(conn, |conn| {
                    Ok(scores::write_clusters(conn, run_id, &rows)?)
                })?;
            }
            Model::Churn(model) => {
                let rows: Vec<(Uuid, ChurnScore)> = buyers
                    .iter()
                    .map(|buyer| {
                        let row = features(buyer);
                        (
                            buyer.id,
                            ChurnScore {
                                run_id,
                                risk: model.model.predict(&row),
                                drivers: json!(churn::top_drivers(
                                    &model.model,
                                    &row,
                                    CHURN_DRIVERS
                                )),
                            },
                        )
                    })
                    .collect();
                transaction(conn, |conn| Ok(scores::write_churn(conn, run_id, &rows)?))?;
            }
        }
        self.written = end;
        Ok(end < self.buyers.len())
    }

    /// Share of the customers stored so far.
    fn write_progress(&self) -> f64 {
        if self.buyers.is_empty() {
            return 1.0;
        }
        self.written as f64 / self.buyers.len() as f64
    }

    /// Removes what earlier runs left on customers this run did not score, and marks the
    /// run succeeded with its metadata, which it returns.
    fn finish(self: Box<Self>, conn: &mut DbConnection) -> AppResult<Value> {
        let run_id = self.run.id.0;
        let mut result = json!({
            "input": self.input,
            "scored": self.buyers.len(),
        });
        match &self.model {
            Model::Rfm(scores) => {
                let mut segments: std::collections::BTreeMap<&str, usize> = Default::default();
                for score in scores {
                    *segments.entry(score.segment.as_str()).or_default() += 1;
                }
                result["segments"] = json!(segments);
            }
            Model::Clv(model) => {
                result["bgnbd"] = json!({"parameters": model.bg.params, "report": model.bg.report});
                result["gamma_gamma"] =
                    json!({"parameters": model.gg.params, "report": model.gg.report});
                result["holdout"] = json!(model.holdout);
            }
            Model::Clusters(model) => {
                result["k"] = json!(model.model.centroids.len());
                result["k_chosen_by"] = json!(if model.chosen {
                    "silhouette"
                } else {
                    "request"
                });
                result["silhouettes"] = json!(model
                    .silhouettes
                    .iter()
                    .map(|(k, score)| json!({"k": k, "silhouette": score}))
                    .collect::<Vec<_>>());
                result["features"] = json!(BEHAVIOUR_FEATURES);
                result["inertia"] = json!(model.model.inertia());
                result["iterations"] = json!(model.model.iterations);
                result["converged"] = json!(model.model.converged);
                result["profiles"] = json!(model.profiles);
            }
            Model::Churn(model) => {
                result["features"] = json!(BEHAVIOUR_FEATURES);
                result["training"] = json!({
                    "buyers": model.training_rows,
                    "churned": model.training_churned,
                });
                result["holdout"] = json!({
                    "buyers": model.holdout_rows,
                    "auc": model.holdout_auc,
                });
                result["model"] = json!({
                    "intercept": model.model.intercept,
                    "coefficients": model.model.coefficients,
                    "means": model.model.means,
                    "scales": model.model.scales,
                    "report": model.model.report,
                });
            }
        }
        transaction(conn, |conn| {
            let cleared = match &self.model {
                Model::Rfm(_) => scores::clear_rfm_before(conn, run_id)?,
                Model::Clv(_) => scores::clear_clv_before(conn, run_id)?,
                Model::Clusters(_) => scores::clear_clusters_before(conn, run_id)?,
                Model::Churn(_) => scores::clear_churn_before(conn, run_id)?,
            };
            result["cleared"] = json!(cleared);
            succeed(conn, &self.run, &result, self.buyers.len(), cleared)?;
            Ok(result)
        })
    }
}

/// An amount in minor units, rounded; a figure the model could not compute (NaN) is 0.
fn minor_units(amount: f64) -> i64 {
    if amount.is_finite() {
        amount.round() as i64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use analytics::rfm::Segment;
    use domain::model_runs::RFM_SEGMENTS;

    #[test]
    fn the_api_names_every_rfm_segment_the_model_assigns() {
        let assigned: BTreeSet<&str> = (1..=5)
            .flat_map(|r| (1..=5).map(move |f| Segment::of(r, f).name()))
            .collect();
        let named: BTreeSet<&str> = RFM_SEGMENTS.iter().copied().collect();
        assert_eq!(assigned, named);
        assert_eq!(named.len(), RFM_SEGMENTS.len());
    }
}
