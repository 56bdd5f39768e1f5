//! `audit.verify`: walks the audit chain and checks its checkpoints (the anchor file's
//! and the newest stored one, signatures included when the key is known), and stores
//! the report as the job's result, so an administrator can check the log from the API
//! without shell access.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use std::sync::Arc;

use super::audit_checkpoint::AuditAnchor;
use super::{connection, JobContext, JobError, JobHandler};

pub const AUDIT_VERIFY: &str = "audit.verify";

/// The result of an `audit.verify` job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"events_checked": 1842, "intact": false, "first_broken_seq": 1203, "reason": "content does not match its hash"}))]
pub struct ChainVerification {
    /// Events whose link was checked and found intact.
    pub events_checked: u64,
    /// True when every link holds.
    pub intact: bool,
    /// Sequence number of the first broken link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken_seq: Option<i64>,
    /// Why that link is broken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The newest signed checkpoint the chain still reaches: events up to it cannot
    /// have been removed unnoticed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchored_seq: Option<i64>,
}

impl From<persistence::audit::ChainReport> for ChainVerification {
    fn from(report: persistence::audit::ChainReport) -> Self {
        ChainVerification {
            events_checked: report.events_checked,
            intact: report.first_broken.is_none(),
            first_broken_seq: report.first_broken.map(|(seq, _)| seq),
            reason: report.first_broken.map(|(_, reason)| reason.to_string()),
            anchored_seq: report.anchored_seq,
        }
    }
}

/// The verification job; with the server's anchor, its checkpoints are checked too.
#[derive(Default)]
pub struct AuditVerifyJob(pub Option<Arc<AuditAnchor>>);

impl JobHandler for AuditVerifyJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let mut conn = connection(ctx.pool())?;
        let (key, anchors) = match &self.0 {
            Some(anchor) => (Some(anchor.key()), anchor.anchored()?.into_iter().collect()),
            None => (None, Vec::new()),
        };
        let report = persistence::audit::verify(&mut conn, key, &anchors)?;
        serde_json::to_value(ChainVerification::from(report)).map_err(JobError::internal)
    }
}
