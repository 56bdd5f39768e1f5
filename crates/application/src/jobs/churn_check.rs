//! `lifecycle.churn_check`: the daily run of the churn rule (C-8). Each occurrence is
//! scheduled for the coming midnight in the business time zone under the key
//! `lifecycle.churn_check:<local date>`; every server process schedules it at start and
//! each run schedules the next, and the key keeps one row per day however many
//! processes do so. The claim's row lock lets exactly one of them run it.

use chrono::{DateTime, Days, Utc};
use persistence::db::DbConnection;
use persistence::jobs::NewJob;
use serde_json::{json, Value};

use super::{connection, JobContext, JobError, JobHandler};
use crate::error::AppResult;

pub const CHURN_CHECK: &str = "lifecycle.churn_check";

/// Schedules the occurrence after `now` (the next local midnight) unless it exists;
/// answers its start and whether this call scheduled it.
pub fn schedule_next(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
) -> AppResult<(DateTime<Utc>, bool)> {
    let local = crate::settings::calendar(conn)?.local();
    let tomorrow = local.today(now) + Days::new(1);
    // A midnight that does not exist (a clock change at 00:00) starts the day an hour
    // later; `start_of_day` finds the first instant of the date either way.
    let run_at = local
        .start_of_day(tomorrow)
        .unwrap_or(now + chrono::Duration::days(1));
    let key = format!("{CHURN_CHECK}:{tomorrow}");
    let scheduled = persistence::jobs::schedule(
        conn,
        NewJob {
            kind: CHURN_CHECK,
            payload: json!({"date": tomorrow}),
            run_at,
            max_attempts: 5,
            created_by: None,
        },
        &key,
    )?;
    Ok((run_at, scheduled))
}

pub struct ChurnCheckJob;

impl JobHandler for ChurnCheckJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let mut conn = connection(ctx.pool())?;
        let now = persistence::now();
        let check = crate::commerce::lifecycle::check_churn(&mut conn, now)?;
        let (next, _) = schedule_next(&mut conn, now)?;
        Ok(json!({"churned": check.churned, "next_run_at": next}))
    }
}
