//! `analytics.scheduled_run`: one occurrence of a model-run schedule
//! (`crate::analytics::schedules`).

use serde_json::Value;

use super::{connection, JobContext, JobError, JobHandler};
use crate::analytics::schedules::{self, OccurrencePayload};

pub struct ScheduledRunJob;

impl JobHandler for ScheduledRunJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let payload: OccurrencePayload = serde_json::from_value(ctx.payload().clone())
            .map_err(|err| JobError::internal(format!("invalid payload: {err}")))?;
        let mut conn = connection(ctx.pool())?;
        Ok(schedules::run_occurrence(&mut conn, &payload)?)
    }
}
