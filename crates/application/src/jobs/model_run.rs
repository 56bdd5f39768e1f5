//! `analytics.model_run`: carries out a model run (`crate::analytics::execution`),
//! reporting progress between its steps — reading 0–45 %, fitting, storing 50–100 % —
//! and stopping at the next step when cancelled or when the worker shuts down. Once it
//! is storing scores it no longer stops for a cancellation: a run half stored would
//! leave customers with the scores of a run that never became current. The input is
//! read through [`JobContext::read_pool`] (a replica, when the server has one).

use serde_json::Value;

use super::{connection, JobContext, JobError, JobHandler};
use crate::analytics::execution;

pub use crate::analytics::runs::MODEL_RUN;

pub struct ModelRunJob;

impl JobHandler for ModelRunJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let mut conn = connection(ctx.pool())?;
        let mut execution = execution::prepare(&mut conn, ctx.job_id())?;
        // The input is read from the replica when there is one; the run and its scores
        // are the database's.
        let mut reading = connection(ctx.read_pool())?;
        while execution.read_block(&mut reading)? {
            if ctx.should_stop() {
                return Err(JobError::Interrupted);
            }
            ctx.set_progress(0.45 * execution.read_progress())?;
        }
        ctx.set_progress(0.45)?;
        let mut scoring = execution.fit().map_err(|err| match err {
            // A history the models cannot use stays so on a retry.
            crate::error::AppError::Invalid(_) => JobError::invalid(err),
            other => other.into(),
        })?;
        ctx.set_progress(0.5)?;
        while scoring.write_block(&mut conn)? {
            // Progress only: see the module documentation.
            let _ = ctx.set_progress(0.5 + 0.5 * scoring.write_progress());
        }
        Ok(scoring.finish(&mut conn)?)
    }
}
