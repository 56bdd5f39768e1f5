//! `tasks.reminder`: one reminder of a task, queued for `due_at − offset`
//! (`crate::sales::tasks`).

use serde_json::Value;

use super::{connection, JobContext, JobError, JobHandler};
use crate::sales::tasks::{fire_reminder, ReminderPayload};

pub struct TaskReminderJob;

impl JobHandler for TaskReminderJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let payload: ReminderPayload = serde_json::from_value(ctx.payload().clone())
            .map_err(|err| JobError::internal(format!("invalid payload: {err}")))?;
        let mut conn = connection(ctx.pool())?;
        Ok(fire_reminder(&mut conn, &payload)?)
    }
}
