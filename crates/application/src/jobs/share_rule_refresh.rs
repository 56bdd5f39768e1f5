//! `share_rules.refresh`: brings one share rule's shares up to date with its condition
//! (`crate::partners::sharing::refresh`). A rule deleted since does nothing.

use serde_json::{json, Value};
use uuid::Uuid;

use super::{connection, JobContext, JobError, JobHandler};
use crate::error::AppError;
use crate::partners::sharing;

pub use crate::partners::sharing::SHARE_RULE_REFRESH;

pub struct ShareRuleRefreshJob;

impl JobHandler for ShareRuleRefreshJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let id: Uuid = serde_json::from_value(ctx.payload()["rule_id"].clone())
            .map_err(|err| JobError::internal(format!("rule id: {err}")))?;
        let mut conn = connection(ctx.pool())?;
        match sharing::refresh(&mut conn, id, &|| ctx.should_stop()) {
            Ok(Some(refreshed)) => serde_json::to_value(refreshed).map_err(JobError::internal),
            Ok(None) => Ok(json!({"stopped": true})),
            Err(err @ AppError::Invalid(_)) => Err(JobError::invalid(err)),
            Err(_) if ctx.should_stop() => Err(JobError::Interrupted),
            Err(err) => Err(err.into()),
        }
    }
}
