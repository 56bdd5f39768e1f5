//! `deals.stuck_check`: the daily stuck-deals check (`crate::sales::stuck_deals`). Each
//! occurrence is scheduled for 08:00 business time on the next business day (the
//! business calendar's working days and holidays) under the key
//! `deals.stuck_check:<local date>`; every server process schedules it at start and
//! each run schedules the next, and the key keeps one row per day however many
//! processes do so. The claim's row lock lets exactly one of them run it.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use persistence::db::DbConnection;
use persistence::jobs::NewJob;
use serde_json::{json, Value};

use super::{connection, JobContext, JobError, JobHandler};
use crate::error::AppResult;

pub const STUCK_CHECK: &str = "deals.stuck_check";

/// The business's local time of day the check runs: as a working day usually starts, so
/// owners find the notice when they begin.
const RUN_AT: NaiveTime = match NaiveTime::from_hms_opt(8, 0, 0) {
    Some(time) => time,
    None => panic!("08:00 is a time of day"),
};

/// How far ahead a business day is looked for: a calendar without one in a year (every
/// day closed) runs the check daily rather than never.
const SEARCH_DAYS: u64 = 366;

/// Schedules the occurrence after `now` (08:00 business time of the first business day
/// whose 08:00 is still to come) unless it exists; answers its start and whether this
/// call scheduled it.
pub fn schedule_next(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
) -> AppResult<(DateTime<Utc>, bool)> {
    let calendar = crate::settings::calendar(conn)?;
    let local = calendar.local();
    let today = local.today(now);
    let at = |date: NaiveDate| local.instant_at(date.and_time(RUN_AT));
    let upcoming = |date: &NaiveDate| at(*date).is_some_and(|start| start > now);
    let day = (0..=SEARCH_DAYS)
        .map(|offset| today + Days::new(offset))
        .find(|date| calendar.is_business_day(*date) && upcoming(date))
        .unwrap_or_else(|| {
            if upcoming(&today) {
                today
            } else {
                today + Days::new(1)
            }
        });
    let run_at = at(day).unwrap_or(now + chrono::Duration::days(1));
    let key = format!("{STUCK_CHECK}:{day}");
    let scheduled = persistence::jobs::schedule(
        conn,
        NewJob {
            kind: STUCK_CHECK,
            payload: json!({"date": day}),
            run_at,
            max_attempts: 5,
            created_by: None,
        },
        &key,
    )?;
    Ok((run_at, scheduled))
}

pub struct StuckCheckJob;

impl JobHandler for StuckCheckJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let mut conn = connection(ctx.pool())?;
        let now = persistence::now();
        let check = crate::sales::stuck_deals::notify_stuck(&mut conn, now)?;
        let (next, _) = schedule_next(&mut conn, now)?;
        Ok(json!({"stuck": check.stuck, "notified": check.notified, "next_run_at": next}))
    }
}
