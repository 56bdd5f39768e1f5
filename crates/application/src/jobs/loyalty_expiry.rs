//! `loyalty.expire`: the daily write-off of expired loyalty lots. Each occurrence runs
//! at the coming midnight in the business time zone under the key
//! `loyalty.expire:<local date>` (one row per day however many processes schedule it)
//! and writes off the lots that expired since the previous run's end, which it carries
//! in its payload; the first one, scheduled at a process start, looks back
//! [`LOOK_BACK_DAYS`]. Balances never wait for it: a lot past its expiry counts for
//! nothing when read. The run only records the write-off in the ledger.

use chrono::{DateTime, TimeDelta, Utc};
use persistence::db::DbConnection;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{connection, JobContext, JobError, JobHandler};
use crate::error::AppResult;

pub const LOYALTY_EXPIRE: &str = "loyalty.expire";

/// How far back an occurrence scheduled without a previous run looks.
pub const LOOK_BACK_DAYS: i64 = 400;

#[derive(Debug, Deserialize)]
struct Payload {
    /// The end of the previous run's window.
    after: DateTime<Utc>,
}

/// Schedules the occurrence after `now` (the next local midnight) unless it exists,
/// writing off what expired after `after` (default: [`LOOK_BACK_DAYS`] ago); answers
/// its start.
pub fn schedule_next(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    after: Option<DateTime<Utc>>,
) -> AppResult<DateTime<Utc>> {
    let after = after.unwrap_or(now - TimeDelta::days(LOOK_BACK_DAYS));
    super::schedule_nightly(conn, now, LOYALTY_EXPIRE, json!({"after": after}))
}

pub struct LoyaltyExpiryJob;

impl JobHandler for LoyaltyExpiryJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let payload: Payload = serde_json::from_value(ctx.payload().clone())
            .map_err(|err| JobError::internal(format!("loyalty.expire payload: {err}")))?;
        let mut conn = connection(ctx.pool())?;
        let until = persistence::now();
        let written = crate::loyalty::expire(&mut conn, payload.after, until)?;
        let next = schedule_next(&mut conn, until, Some(until))?;
        Ok(json!({"lots_expired": written, "next_run_at": next}))
    }
}
