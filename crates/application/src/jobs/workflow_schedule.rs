//! `workflow.schedule`: one occurrence of a schedule-triggered workflow
//! (`crate::workflows::enrolment::on_schedule`): a run for everyone who meets its
//! condition, then the next occurrence queued. Keyed by the workflow, its version and
//! the instant, so each occurrence is one row however many processes queue it.

use serde_json::Value;

use super::{connection, JobContext, JobError, JobHandler};
use crate::workflows::enrolment::{self, ScheduleOccurrence};

pub struct WorkflowScheduleJob;

impl JobHandler for WorkflowScheduleJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let occurrence: ScheduleOccurrence = serde_json::from_value(ctx.payload().clone())
            .map_err(|err| JobError::internal(format!("workflow.schedule payload: {err}")))?;
        let mut conn = connection(ctx.pool())?;
        Ok(enrolment::on_schedule(&mut conn, &occurrence)?)
    }
}
