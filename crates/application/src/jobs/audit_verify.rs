//! `audit.verify`: walks the audit chain and stores the report as the job's result, so
//! an administrator can check the log from the API without shell access.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

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
}

impl From<persistence::audit::ChainReport> for ChainVerification {
    fn from(report: persistence::audit::ChainReport) -> Self {
        ChainVerification {
            events_checked: report.events_checked,
            intact: report.first_broken.is_none(),
            first_broken_seq: report.first_broken.map(|(seq, _)| seq),
            reason: report.first_broken.map(|(_, reason)| reason.to_string()),
        }
    }
}

pub struct AuditVerifyJob;

impl JobHandler for AuditVerifyJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let report = persistence::audit::verify(&mut *connection(ctx.pool())?)?;
        serde_json::to_value(ChainVerification::from(report)).map_err(JobError::internal)
    }
}
