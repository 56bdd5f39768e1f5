//! `tickets.sla_scan`: a pass of the SLA scan (`crate::service::sla_scan`, which also
//! queues the occurrences). Occurrences are queued for the instants tickets come due rather than on a fixed beat: every
//! ticket write that sets a check time queues an occurrence for that minute (the key
//! `tickets.sla_scan:<minute>` keeps one per minute however many writes ask), each run
//! queues the next for the earliest check time left, and every process queues it at
//! start, so a lost occurrence is made good. The claim's row lock lets one process run
//! an occurrence; the scan's per-ticket locks and the breaches' unique key keep two
//! occurrences that overlap from doing anything twice.

use serde_json::{json, Value};

use super::{connection, JobContext, JobError, JobHandler};
use crate::service::sla_scan::scan;
use crate::service::sla_schedule::schedule_next;

pub struct SlaScanJob;

impl JobHandler for SlaScanJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let mut conn = connection(ctx.pool())?;
        let outcome = scan(&mut conn, persistence::now())?;
        let next = schedule_next(&mut conn)?;
        Ok(json!({
            "checked": outcome.checked,
            "breaches": outcome.breaches,
            "reassigned": outcome.reassigned,
            "escalated": outcome.escalated,
            "next_run_at": next,
        }))
    }
}
