//! `lead_scoring.rescore`: recounts every lead's points after the scoring rules changed
//! (`crate::sales::lead_scoring_rules`), in one transaction, so that no lead is ever seen
//! with a half-applied rule set. Its result says how many rules and matches it counted.

use serde_json::Value;

use super::{connection, JobContext, JobError, JobHandler};
use crate::sales::lead_scoring_rules;

pub use crate::sales::lead_scoring_rules::LEAD_RESCORE;

pub struct LeadRescoreJob;

impl JobHandler for LeadRescoreJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let mut conn = connection(ctx.pool())?;
        let recount = lead_scoring_rules::recount(&mut conn)?;
        serde_json::to_value(recount).map_err(JobError::internal)
    }
}
