//! `workflow.dates`: at each midnight of the business time zone, starts the runs of the
//! date-triggered workflows due that day (birthdays and anniversaries, on the Jalali
//! or the Gregorian calendar) and schedules the next midnight's occurrence. One row
//! per day however many processes schedule it, and one run per workflow, customer and
//! day however often it runs.

use serde_json::{json, Value};

use super::{connection, JobContext, JobError, JobHandler};
use crate::workflows::enrolment;

pub struct WorkflowDatesJob;

impl JobHandler for WorkflowDatesJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let mut conn = connection(ctx.pool())?;
        let now = persistence::now();
        let started = enrolment::on_dates(&mut conn, now)?;
        let next = enrolment::schedule_dates(&mut conn, now)?;
        Ok(json!({"runs_started": started, "next_run_at": next}))
    }
}
