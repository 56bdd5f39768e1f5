//! `segments.refresh`: computes one dynamic segment's membership and stores the
//! difference (`crate::segments::membership::refresh`), then schedules the segment's
//! next periodic occurrence while it is active. A periodic occurrence of a segment
//! deleted or deactivated since does nothing; one asked for by hand refreshes an
//! inactive segment too.

use serde_json::{json, Value};
use uuid::Uuid;

use super::{connection, JobContext, JobError, JobHandler};
use crate::error::AppError;
use crate::segments::membership;

pub use crate::segments::membership::SEGMENT_REFRESH;

pub struct SegmentRefreshJob;

impl JobHandler for SegmentRefreshJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let id: Uuid = serde_json::from_value(ctx.payload()["segment_id"].clone())
            .map_err(|err| JobError::internal(format!("segment id: {err}")))?;
        let mut conn = connection(ctx.pool())?;
        let periodic = ctx.payload()["periodic"].as_bool().unwrap_or(false);
        let Some(segment) = membership::to_refresh(&mut conn, id, periodic)? else {
            return Ok(json!({"stopped": true}));
        };
        let refreshed = membership::refresh(&mut conn, id);
        // Whatever this run's outcome, the next slot comes.
        membership::schedule_refreshes(&mut conn, &segment, false)?;
        match refreshed {
            Ok(refreshed) => serde_json::to_value(refreshed).map_err(JobError::internal),
            Err(err @ AppError::Invalid(_)) => Err(JobError::invalid(err)),
            Err(err) => Err(err.into()),
        }
    }
}
