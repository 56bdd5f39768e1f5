//! `loyalty.tiers`: the nightly move of customers between loyalty tiers
//! (`loyalty::retier`). Each occurrence runs at the coming midnight in the business
//! time zone under the key `loyalty.tiers:<local date>` (one row per day however many
//! processes schedule it) and schedules the next.

use chrono::{DateTime, Utc};
use persistence::db::DbConnection;
use serde_json::{json, Value};

use super::{connection, JobContext, JobError, JobHandler};
use crate::error::AppResult;

pub const LOYALTY_TIERS: &str = "loyalty.tiers";

/// Schedules the occurrence after `now` (the next local midnight) unless it exists;
/// answers its start.
pub fn schedule_next(conn: &mut DbConnection, now: DateTime<Utc>) -> AppResult<DateTime<Utc>> {
    super::schedule_nightly(conn, now, LOYALTY_TIERS, json!({}))
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
