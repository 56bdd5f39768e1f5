//! The steps every model run goes through, whatever its kind — read a block, fit, store
//! a block, finish — as the job drives them (reporting progress and checking for
//! cancellation between blocks), and what the kinds share: marking a run succeeded,
//! the day bounds of its history and the refusals of a history it cannot use.

use chrono::{DateTime, Days, NaiveDate, Utc};
use domain::calendar::LocalCalendar;
use domain::validation::FieldViolation;
use persistence::audit::{self, Actor, NewAuditEvent};
use persistence::db::DbConnection;
use persistence::model_runs::ModelRunRow;
use serde_json::{json, Value};

use crate::error::{AppError, AppResult};

/// A run reading its input, whatever its kind: a block per call, so that the job can
/// report progress and stop between blocks.
pub trait Reading {
    /// Reads the next block; `false` once everything is read.
    fn read_block(&mut self, conn: &mut DbConnection) -> AppResult<bool>;
    /// Share of the input read so far.
    fn read_progress(&self) -> f64;
    /// Fits the model on what was read.
    fn fit(self: Box<Self>) -> AppResult<Box<dyn Storing>>;
}

/// A fitted run storing its results.
pub trait Storing {
    /// Stores the next block; `false` once everything is stored.
    fn write_block(&mut self, conn: &mut DbConnection) -> AppResult<bool>;
    /// Share of the results stored so far.
    fn write_progress(&self) -> f64;
    /// Stores what remains, removes what earlier runs left that this run did not
    /// replace, and marks the run succeeded with its metadata, which it returns.
    fn finish(self: Box<Self>, conn: &mut DbConnection) -> AppResult<Value>;
}

/// Marks run `run` succeeded with metadata `result` and audits it, in the caller's
/// transaction; `stored` counts what it stored, `cleared` what it removed of earlier
/// runs.
pub fn succeed(
    conn: &mut DbConnection,
    run: &ModelRunRow,
    result: &Value,
    stored: usize,
    cleared: usize,
) -> AppResult<()> {
    let run_id = run.id.0;
    persistence::model_runs::succeed(conn, run_id, result.clone())?;
    audit::record(
        conn,
        &Actor::system(),
        NewAuditEvent {
            action: "model_run.succeed",
            resource_type: "model_run",
            resource_id: Some(run_id.to_string()),
            changes: Some(json!({
                "kind": {"before": null, "after": run.kind},
                "scored": {"before": null, "after": stored},
                "cleared": {"before": null, "after": cleared},
            })),
        },
    )?;
    Ok(())
}

/// The refusal of a run over a history without purchases up to `last_day`, naming the
/// parameter that set that day.
pub fn no_purchases(field: &str, last_day: NaiveDate) -> AppError {
    AppError::Invalid(vec![FieldViolation::new(
        field,
        "no_purchases",
        format!("there are no purchases on or before {last_day}"),
    )])
}

/// The first instant after local day `day`.
pub fn end_of_day(local: &LocalCalendar, day: NaiveDate) -> AppResult<DateTime<Utc>> {
    day.checked_add_days(Days::new(1))
        .and_then(|next| local.start_of_day(next))
        .ok_or_else(|| AppError::Internal(format!("no end of day for {day}")))
}

/// The refusal of a run whose model cannot be fitted on the history read.
pub fn model_failed(err: analytics::AnalyticsError) -> AppError {
    AppError::Invalid(vec![FieldViolation::new(
        "parameters",
        "model_failed",
        format!("the model cannot be fit on this history: {err}"),
    )])
}
