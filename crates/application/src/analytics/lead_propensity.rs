//! A `lead_propensity` run (S-2, A-9):
//!
//! 1. **read**: the database counts how often each source, province and campaign occurs
//!    among the leads with an outcome (`converted` or `disqualified`) created up to the
//!    calibration end, which fixes the features (`domain::sales::lead_scoring::
//!    FeatureSpace`); then those leads are read a page at a time and kept only as their
//!    feature rows and outcomes;
//! 2. **fit**: the analytics crate's logistic regression of conversion on a seeded
//!    three quarters of them, its AUC measured on the quarter held out; refused when
//!    either outcome has fewer than [`MIN_OUTCOMES`] leads;
//! 3. **write**: the open leads (`new`, `contacted`, `qualified`) a page at a time, each
//!    given its probability and the facts that moved it most, a page per transaction;
//! 4. **finish**: in one transaction, the propensities of earlier runs this run did not
//!    replace are removed and the run is marked succeeded with its metadata.

use analytics::logistic::{self, LogisticModel, LogisticOptions};
use chrono::{DateTime, Utc};
use domain::calendar::LocalCalendar;
use domain::model_runs::LeadPropensityRun;
use domain::sales::lead_scoring::{FeatureSpace, LeadFacts, Vocabulary};
use domain::sales::leads::LeadStatus;
use domain::validation::FieldViolation;
use persistence::db::DbConnection;
use persistence::lead_propensity::{self, Category, LeadFactsRow, Propensity};
use persistence::model_runs::ModelRunRow;
use serde_json::{json, Value};
use uuid::Uuid;

use super::steps::{end_of_day, model_failed, succeed, Reading, Storing};
use crate::error::{AppError, AppResult};
use crate::transaction;

/// Leads read per page.
const READ_BLOCK: i64 = 5_000;
/// Open leads scored and stored per page (one transaction each).
const WRITE_BLOCK: i64 = 2_000;
/// Fewest leads of each outcome a model is fit on.
pub const MIN_OUTCOMES: usize = 20;
/// Share of the leads kept out of the fit to measure the model (AUC).
const HOLDOUT_SHARE: f64 = 0.25;
/// Seed of the holdout split: a run is reproducible.
const HOLDOUT_SEED: u64 = 42;
/// Factors named per lead at most.
const FACTORS: usize = 3;

/// The facts of a stored lead.
fn facts(row: &LeadFactsRow) -> LeadFacts {
    let entries = |list: &serde_json::Value| list.as_array().map_or(0, Vec::len);
    LeadFacts {
        source: row.source.clone(),
        province: row.province.clone(),
        campaign: row.campaign.clone(),
        has_company: row.company.is_some(),
        has_job_title: row.job_title.is_some(),
        phones: entries(&row.phones.0),
        emails: entries(&row.emails.0),
    }
}

/// A `lead_propensity` run reading the leads with an outcome.
pub struct LeadPropensityReading {
    run: ModelRunRow,
    parameters: LeadPropensityRun,
    /// Leads created before this instant (the end of the calibration day) are read.
    end: DateTime<Utc>,
    space: FeatureSpace,
    rows: Vec<Vec<f64>>,
    converted: Vec<bool>,
    first_created: Option<DateTime<Utc>>,
    last_created: Option<DateTime<Utc>>,
    after: Uuid,
    expected: i64,
    read_all: bool,
}

impl LeadPropensityReading {
    pub(super) fn prepare(
        conn: &mut DbConnection,
        run: ModelRunRow,
        parameters: LeadPropensityRun,
        local: &LocalCalendar,
    ) -> AppResult<LeadPropensityReading> {
        let end = end_of_day(local, parameters.calibration_end)?;
        let top = parameters.top_values as usize;
        let mut vocabulary = |category| -> AppResult<Vocabulary> {
            let counts = lead_propensity::value_counts(conn, category, end)?;
            Ok(Vocabulary::most_frequent(&counts, top))
        };
        let space = FeatureSpace {
            source: vocabulary(Category::Source)?,
            province: vocabulary(Category::Province)?,
            campaign: vocabulary(Category::Campaign)?,
        };
        let expected = lead_propensity::outcome_count(conn, end)?;
        Ok(LeadPropensityReading {
            run,
            parameters,
            end,
            space,
            rows: Vec::with_capacity(usize::try_from(expected).unwrap_or(0)),
            converted: Vec::new(),
            first_created: None,
            last_created: None,
            after: Uuid::nil(),
            expected,
            read_all: false,
        })
    }
}

impl Reading for LeadPropensityReading {
    fn read_block(&mut self, conn: &mut DbConnection) -> AppResult<bool> {
        if self.read_all {
            return Ok(false);
        }
        let page = lead_propensity::outcomes_after(conn, self.end, self.after, READ_BLOCK)?;
        for lead in &page {
            self.rows.push(self.space.encode(&facts(lead)));
            self.converted
                .push(lead.status == LeadStatus::Converted.as_str());
            let created = lead.created_at.0;
            self.first_created = Some(self.first_created.map_or(created, |at| at.min(created)));
            self.last_created = Some(self.last_created.map_or(created, |at| at.max(created)));
        }
        self.read_all = page.len() < READ_BLOCK as usize;
        if let Some(last) = page.last() {
            self.after = last.id.0;
        }
        Ok(!self.read_all)
    }

    fn read_progress(&self) -> f64 {
        if self.expected <= 0 {
            return 1.0;
        }
        (self.rows.len() as f64 / self.expected as f64).min(1.0)
    }

    fn fit(self: Box<Self>) -> AppResult<Box<dyn Storing>> {
        let positives = self
            .converted
            .iter()
            .filter(|converted| **converted)
            .count();
        let negatives = self.converted.len() - positives;
        if positives < MIN_OUTCOMES || negatives < MIN_OUTCOMES {
            return Err(AppError::Invalid(vec![FieldViolation::new(
                "parameters.calibration_end",
                "too_few_outcomes",
                format!(
                    "{positives} converted and {negatives} disqualified leads were created by \
                     {}; the model needs at least {MIN_OUTCOMES} of each",
                    self.parameters.calibration_end
                ),
            )]));
        }
        let (train, held_out) =
            logistic::train_holdout_split(self.rows.len(), HOLDOUT_SHARE, HOLDOUT_SEED);
        let pick = |indices: &[usize]| -> (Vec<Vec<f64>>, Vec<bool>) {
            indices
                .iter()
                .map(|&i| (self.rows[i].clone(), self.converted[i]))
                .unzip()
        };
        let names = self.space.names();
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let (features, labels) = pick(&train);
        let model = LogisticModel::fit(&name_refs, &features, &labels, &LogisticOptions::default())
            .map_err(model_failed)?;
        let (held_features, held_labels) = pick(&held_out);
        let predictions: Vec<f64> = held_features.iter().map(|row| model.predict(row)).collect();
        let day = |at: Option<DateTime<Utc>>| at.map(|at| at.date_naive());
        let metadata = json!({
            "input": {
                "leads": self.rows.len(),
                "converted": positives,
                "disqualified": negatives,
                "first_created": day(self.first_created),
                "last_created": day(self.last_created),
                "calibration_end": self.parameters.calibration_end,
            },
            "features": names,
            "training": {
                "leads": train.len(),
                "converted": labels.iter().filter(|converted| **converted).count(),
            },
            "holdout": {
                "leads": held_out.len(),
                "converted": held_labels.iter().filter(|converted| **converted).count(),
                "auc": logistic::auc(&predictions, &held_labels),
            },
            "model": {
                "intercept": model.intercept,
                // On the standardised features, so that their sizes compare.
                "coefficients": names
                    .iter()
                    .zip(&model.coefficients)
                    .map(|(feature, coefficient)| json!({"feature": feature, "coefficient": coefficient}))
                    .collect::<Vec<_>>(),
                "report": model.report,
            },
        });
        Ok(Box::new(LeadPropensityStoring {
            run: self.run,
            space: self.space,
            model,
            metadata,
            after: Uuid::nil(),
            written_all: false,
            scored: 0,
            expected: 0,
        }))
    }
}

/// The factors of one prediction: the `FACTORS` features whose contributions to the
/// log-odds (relative to an average lead) are largest in size, with their direction.
fn factors(model: &LogisticModel, row: &[f64]) -> Value {
    let mut contributions: Vec<(usize, f64)> = model
        .contributions(row)
        .into_iter()
        .enumerate()
        .filter(|(_, contribution)| *contribution != 0.0)
        .collect();
    contributions.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
    Value::Array(
        contributions
            .into_iter()
            .take(FACTORS)
            .map(|(feature, contribution)| {
                json!({
                    "feature": model.feature_names[feature],
                    "contribution": contribution,
                    "direction": if contribution > 0.0 { "raises" } else { "lowers" },
                })
            })
            .collect(),
    )
}

/// A fitted `lead_propensity` run scoring the open leads.
struct LeadPropensityStoring {
    run: ModelRunRow,
    space: FeatureSpace,
    model: LogisticModel,
    metadata: Value,
    after: Uuid,
    written_all: bool,
    scored: usize,
    /// Open leads when scoring started (0 until the first page).
    expected: i64,
}

impl Storing for LeadPropensityStoring {
    fn write_block(&mut self, conn: &mut DbConnection) -> AppResult<bool> {
        if self.written_all {
            return Ok(false);
        }
        if self.expected == 0 {
            self.expected = lead_propensity::open_count(conn)?;
        }
        let page = lead_propensity::open_after(conn, self.after, WRITE_BLOCK)?;
        let rows: Vec<Propensity> = page
            .iter()
            .map(|lead| {
                let row = self.space.encode(&facts(lead));
                Propensity {
                    lead_id: lead.id.0,
                    probability: self.model.predict(&row),
                    factors: factors(&self.model, &row),
                }
            })
            .collect();
        let run_id = self.run.id.0;
        transaction(conn, |conn| {
            Ok(lead_propensity::write(conn, run_id, &rows)?)
        })?;
        self.scored += rows.len();
        self.written_all = page.len() < WRITE_BLOCK as usize;
        if let Some(last) = page.last() {
            self.after = last.id.0;
        }
        Ok(!self.written_all)
    }

    fn write_progress(&self) -> f64 {
        if self.written_all || self.expected <= 0 {
            return 1.0;
        }
        (self.scored as f64 / self.expected as f64).min(1.0)
    }

    fn finish(self: Box<Self>, conn: &mut DbConnection) -> AppResult<Value> {
        let run_id = self.run.id.0;
        let mut result = self.metadata;
        result["scored"] = json!(self.scored);
        transaction(conn, |conn| {
            let cleared = lead_propensity::clear_before(conn, run_id)?;
            result["cleared"] = json!(cleared);
            succeed(conn, &self.run, &result, self.scored, cleared)?;
            Ok(result)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_are_the_largest_pushes_either_way() {
        let features: Vec<Vec<f64>> = (0..400)
            .map(|i| {
                vec![
                    f64::from(i % 2),
                    f64::from((i / 2) % 2),
                    f64::from((i / 4) % 2),
                ]
            })
            .collect();
        // The first fact raises conversion, the second lowers it, the third is noise;
        // every seventh outcome is flipped, so the classes overlap.
        let labels: Vec<bool> = features
            .iter()
            .enumerate()
            .map(|(i, row)| (row[0] - row[1] >= 0.0) != (i % 7 == 0))
            .collect();
        let model = LogisticModel::fit(
            &["a", "b", "noise"],
            &features,
            &labels,
            &LogisticOptions::default(),
        )
        .expect("fit");
        let explained = factors(&model, &[1.0, 1.0, 0.0]);
        let named: Vec<(&str, &str)> = explained
            .as_array()
            .expect("factors")
            .iter()
            .map(|f| {
                (
                    f["feature"].as_str().unwrap(),
                    f["direction"].as_str().unwrap(),
                )
            })
            .collect();
        assert!(named.contains(&("a", "raises")), "{explained}");
        assert!(named.contains(&("b", "lowers")), "{explained}");
    }
}
