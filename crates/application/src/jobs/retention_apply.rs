//! `retention.apply`: applies the enabled retention rules
//! (`administration::retention`). Each occurrence runs at the coming midnight in the
//! business time zone under the key `retention.apply:<local date>` (one row per day
//! however many processes schedule it) and schedules the next; a run asked for on
//! demand (`on_demand` in its payload) schedules nothing.

use chrono::{DateTime, Utc};
use persistence::db::DbConnection;
use serde_json::{json, Value};

use super::{connection, JobContext, JobError, JobHandler};
use crate::administration::retention;
use crate::error::AppResult;

pub const RETENTION_APPLY: &str = "retention.apply";

/// Schedules the occurrence after `now` (the next local midnight) unless it exists;
/// answers its start.
pub fn schedule_next(conn: &mut DbConnection, now: DateTime<Utc>) -> AppResult<DateTime<Utc>> {
    super::schedule_nightly(conn, now, RETENTION_APPLY, json!({}))
}

pub struct RetentionApplyJob;

impl JobHandler for RetentionApplyJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let on_demand = ctx.payload()["on_demand"].as_bool().unwrap_or(false);
        let mut conn = connection(ctx.pool())?;
        let now = persistence::now();
        let Some(applied) = retention::apply(&mut conn, now, &|| !ctx.should_stop())? else {
            // The finished batches stay done; the next attempt goes on from them.
            return Err(JobError::Interrupted);
        };
        let next = if on_demand {
            None
        } else {
            Some(schedule_next(&mut conn, now)?)
        };
        Ok(json!({"applied": applied, "next_run_at": next}))
    }
}
