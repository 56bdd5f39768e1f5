//! `loyalty.tiers`: the nightly move of customers between loyalty tiers
//! (`loyalty::retier`). Each occurrence runs at the coming midnight in the business
//! time zone under the key `loyalty.tiers:<local date>` (one row per day however many
//! processes schedule it) and schedules the next.

use chrono::{DateTime, Days, TimeDelta, Utc};
use persistence::db::DbConnection;
use persistence::jobs::NewJob;
use serde_json::{json, Value};

use super::{connection, JobContext, JobError, JobHandler};
use crate::error::AppResult;

pub const LOYALTY_TIERS: &str = "loyalty.tiers";

/// Schedules the occurrence after `now` (the next local midnight) unless it exists;
/// answers its start.
pub fn schedule_next(conn: &mut DbConnection, now: DateTime<Utc>) -> AppResult<DateTime<Utc>> {
    let local = crate::settings::calendar(conn)?.local();
    let tomorrow = local.today(now) + Days::new(1);
    let run_at = local
        .start_of_day(tomorrow)
        .unwrap_or(now + TimeDelta::days(1));
    persistence::jobs::schedule(
        conn,
        NewJob {
            kind: LOYALTY_TIERS,
            payload: json!({}),
            run_at,
            max_attempts: 5,
            created_by: None,
        },
        &format!("{LOYALTY_TIERS}:{tomorrow}"),
    )?;
    Ok(run_at)
}

pub struct LoyaltyTiersJob;

impl JobHandler for LoyaltyTiersJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let mut conn = connection(ctx.pool())?;
        let now = persistence::now();
        let changes = crate::loyalty::retier(&mut conn, now)?;
        let next = schedule_next(&mut conn, now)?;
        Ok(
            json!({"upgraded": changes.upgraded, "downgraded": changes.downgraded,
                  "customers": changes.customers, "next_run_at": next}),
        )
    }
}
