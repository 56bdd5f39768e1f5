//! `workflow.run`: takes one workflow run's steps until it finishes or waits
//! (`crate::workflows::engine`), each step its own transaction. Stopping the worker
//! between steps leaves the run where it is, for the job's next attempt; a run that
//! was deleted with its workflow has nothing left to do.

use serde_json::{json, Value};
use uuid::Uuid;

use super::{connection, JobContext, JobError, JobHandler};
use crate::error::AppError;
use crate::workflows::engine::{self, Advanced};

pub struct WorkflowRunJob;

impl JobHandler for WorkflowRunJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let id: Uuid = serde_json::from_value(ctx.payload()["run_id"].clone())
            .map_err(|err| JobError::internal(format!("run id: {err}")))?;
        let mut conn = connection(ctx.pool())?;
        let mut steps = 0;
        loop {
            match engine::advance(&mut conn, id) {
                Ok(Advanced::Continue) => steps += 1,
                Ok(Advanced::Paused(until)) => {
                    return Ok(json!({"steps": steps, "waiting_until": until}))
                }
                Ok(Advanced::Finished) => return Ok(json!({"steps": steps})),
                Err(AppError::NotFound) => return Ok(json!({"steps": steps, "gone": true})),
                Err(err) => return Err(err.into()),
            }
            if ctx.should_stop() {
                return Err(JobError::Interrupted);
            }
        }
    }
}
