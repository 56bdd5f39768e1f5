//! `follow_ups.lead_check`: whether a lead assigned a while ago was contacted
//! (`crate::sales::follow_ups`).

use serde_json::Value;

use super::{connection, JobContext, JobError, JobHandler};
use crate::sales::follow_ups::{check_lead, LeadCheckPayload};

pub struct LeadCheckJob;

impl JobHandler for LeadCheckJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let payload: LeadCheckPayload = serde_json::from_value(ctx.payload().clone())
            .map_err(|err| JobError::internal(format!("invalid payload: {err}")))?;
        let mut conn = connection(ctx.pool())?;
        Ok(check_lead(&mut conn, &payload)?)
    }
}
