//! Background jobs (P-7): the registry of job kinds and their handlers, and the worker
//! pool that runs them from the durable queue in `persistence::jobs`.
//!
//! A job kind is a string such as `audit.verify`; its handler implements [`JobHandler`].
//! Handlers are synchronous (they run on the pool's own threads, never on the async
//! executor) and receive a [`JobContext`] with the database pool, the payload and a way
//! to report progress.

pub mod audit_checkpoint;
mod audit_verify;
pub mod churn_check;
mod customer_export;
mod customer_import;
mod duplicate_scan;
mod lead_check;
mod lead_export;
mod lead_import;
mod lead_rescore;
pub mod loyalty_expiry;
pub mod loyalty_tiers;
mod model_run;
mod order_export;
mod order_import;
mod product_import;
pub mod queue;
mod report_export;
pub mod retention_apply;
mod scheduled_run;
mod segment_refresh;
pub mod share_rule_refresh;
pub mod sla_scan;
pub mod stuck_check;
mod task_reminder;
mod worker;
mod workflow_dates;
mod workflow_run;
mod workflow_schedule;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Days, TimeDelta, Utc};
use persistence::db::{DbConnection, DbPool};
use persistence::jobs::NewJob;
use persistence::PersistenceError;
use serde_json::Value;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

pub use audit_verify::{AuditVerifyJob, ChainVerification, AUDIT_VERIFY};
pub use customer_export::{
    download_location, CustomerExportJob, ExportPayload, ExportResult, CUSTOMER_EXPORT,
};
pub use customer_import::{CustomerImportJob, ImportPayload, CUSTOMER_IMPORT};
pub use duplicate_scan::{
    DuplicateGroup, DuplicatePair, DuplicateScanJob, DuplicateScanPayload, DuplicateScanReport,
    DUPLICATE_SCAN,
};
pub use lead_check::LeadCheckJob;
pub use lead_export::{LeadExportJob, LeadExportPayload, LEAD_EXPORT};
pub use lead_import::{LeadImportJob, LeadImportPayload, LEAD_IMPORT};
pub use lead_rescore::{LeadRescoreJob, LEAD_RESCORE};
pub use model_run::{ModelRunJob, MODEL_RUN};
pub use order_export::{OrderExportJob, OrderExportPayload, ORDER_EXPORT};
pub use order_import::{OrderImportJob, OrderImportPayload, ORDER_IMPORT};
pub use product_import::{ProductImportJob, ProductImportPayload, PRODUCT_IMPORT};
pub use report_export::{ReportExportJob, ReportExportPayload, REPORT_EXPORT};
pub use scheduled_run::ScheduledRunJob;
pub use segment_refresh::{SegmentRefreshJob, SEGMENT_REFRESH};
pub use task_reminder::TaskReminderJob;
pub use worker::{retry_delay, WorkerPool, WorkerSettings};

/// Why a job attempt failed, split by audience: a stable code and, for failures the
/// job's owner can fix (rows that break rules, an unreadable file), a detail for them;
/// internal error text (SQL, driver, I/O) only for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    /// Stable code shown on the job, e.g. `storage_error`, `validation_failed`.
    pub code: &'static str,
    /// Shown on the job: what the owner can act on. Never internal error text.
    pub detail: Option<String>,
    /// Logged with the job id, never shown.
    pub internal: Option<String>,
}

impl JobFailure {
    /// A failure the owner can fix; `detail` tells them what to change.
    pub fn for_user(code: &'static str, detail: impl Into<String>) -> JobFailure {
        JobFailure {
            code,
            detail: Some(detail.into()),
            internal: None,
        }
    }

    /// A failure inside the system: the caller sees `code`, the log sees `reason`.
    pub fn internal(code: &'static str, reason: impl std::fmt::Display) -> JobFailure {
        JobFailure {
            code,
            detail: None,
            internal: Some(reason.to_string()),
        }
    }

    /// The one place a use case's error becomes a job failure: what the API would show
    /// a client (broken rules, a conflict) stays visible; the rest goes to the log.
    pub fn from_app(err: AppError) -> JobFailure {
        match err {
            AppError::Invalid(violations) => JobFailure::for_user(
                "validation_failed",
                violations
                    .iter()
                    .map(|v| format!("{}: {}", v.field, v.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            AppError::Storage(_)
            | AppError::Internal(_)
            | AppError::Unavailable(_)
            | AppError::ConcurrentUpdate(_) => JobFailure::internal(err.code(), &err),
            AppError::BadParameter(violation) => JobFailure::for_user(
                "validation_failed",
                format!("{}: {}", violation.field, violation.message),
            ),
            AppError::Conflict(what) => JobFailure::for_user("conflict", what),
            AppError::Gone(what) => JobFailure::for_user("gone", what),
            other => JobFailure {
                code: other.code(),
                detail: None,
                internal: None,
            },
        }
    }
}

impl std::fmt::Display for JobFailure {
    /// The full story, for logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        if let Some(internal) = &self.internal {
            write!(f, " ({internal})")?;
        }
        Ok(())
    }
}

/// Why a job attempt did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The attempt failed; it is retried with back-off while attempts remain.
    #[error("{0}")]
    Retryable(JobFailure),
    /// Retrying cannot help (e.g. an invalid payload): the job fails at once.
    #[error("{0}")]
    Permanent(JobFailure),
    /// The job was cancelled or taken over while running; its outcome is discarded.
    #[error("the job was cancelled or taken over by another worker")]
    Lost,
    /// The worker is shutting down; the job goes back to the queue without counting the
    /// attempt.
    #[error("the worker is shutting down")]
    Interrupted,
}

impl JobError {
    /// A payload that no retry can make valid (e.g. it names a custom field deleted since
    /// the job was queued), naming each broken rule.
    pub fn invalid(err: AppError) -> JobError {
        JobError::Permanent(JobFailure::from_app(err))
    }

    /// A broken payload or result document: the job's own data, which no retry mends
    /// and nothing the owner can fix.
    pub fn internal(reason: impl std::fmt::Display) -> JobError {
        JobError::Permanent(JobFailure::internal(INTERNAL_ERROR, reason))
    }
}

/// Code of a failure inside the system that is neither storage nor contention.
pub const INTERNAL_ERROR: &str = "internal_error";
/// Code of a failure of the database (or of reaching it).
pub const STORAGE_ERROR: &str = "storage_error";

/// Storage failures are retried; a retry may find the database back or the competing
/// transaction gone.
impl From<PersistenceError> for JobError {
    fn from(err: PersistenceError) -> Self {
        JobError::Retryable(JobFailure::from_app(err.into()))
    }
}

/// A use case failing inside a job: anything may pass on a later attempt (a lost
/// connection, a concurrent change that broke a unique code or a version check), which
/// does the work again from the start.
impl From<AppError> for JobError {
    fn from(err: AppError) -> Self {
        JobError::Retryable(JobFailure::from_app(err))
    }
}

/// Schedules the nightly occurrence of `kind` after `now` with `payload`: at the coming
/// midnight in the business time zone, under the key `<kind>:<local date>`, so that
/// however many processes schedule it there is one row per day. Answers its start.
pub(crate) fn schedule_nightly(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    kind: &'static str,
    payload: Value,
) -> AppResult<DateTime<Utc>> {
    let local = crate::settings::calendar(conn)?.local();
    let tomorrow = local.today(now) + Days::new(1);
    let run_at = local
        .start_of_day(tomorrow)
        .unwrap_or(now + TimeDelta::days(1));
    persistence::jobs::schedule(
        conn,
        NewJob {
            kind,
            payload,
            run_at,
            max_attempts: 5,
            created_by: None,
        },
        &format!("{kind}:{tomorrow}"),
    )?;
    Ok(run_at)
}

/// A pooled connection; a pool timeout is a retryable failure.
pub fn connection(pool: &DbPool) -> Result<persistence::db::PooledConnection, JobError> {
    pool.get().map_err(|err| {
        JobError::Retryable(JobFailure::internal(
            STORAGE_ERROR,
            format!("database pool: {err}"),
        ))
    })
}

/// The work of one job kind.
pub trait JobHandler: Send + Sync {
    /// Runs one attempt; the returned value is stored as the job's result.
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError>;
}

/// What a handler gets to do its work.
pub struct JobContext<'a> {
    pool: &'a DbPool,
    replica: Option<&'a DbPool>,
    job_id: Uuid,
    worker: &'a str,
    payload: &'a Value,
    attempt: i32,
    stopping: &'a dyn Fn() -> bool,
}

impl JobContext<'_> {
    pub fn pool(&self) -> &DbPool {
        self.pool
    }

    /// Where to read what only needs reading (a model run's input): the read-only
    /// replica when the server has one, which may lag the database a little, else the
    /// database itself.
    pub fn read_pool(&self) -> &DbPool {
        self.replica.unwrap_or(self.pool)
    }

    pub fn job_id(&self) -> Uuid {
        self.job_id
    }

    pub fn payload(&self) -> &Value {
        self.payload
    }

    /// 1 for the first attempt.
    pub fn attempt(&self) -> i32 {
        self.attempt
    }

    /// Records progress in 0..=1. Fails with [`JobError::Lost`] when the job was
    /// cancelled, so a handler that reports progress stops early on cancellation.
    pub fn set_progress(&self, progress: f64) -> Result<(), JobError> {
        let mut conn = connection(self.pool)?;
        if persistence::jobs::set_progress(&mut conn, self.job_id, self.worker, progress)? {
            Ok(())
        } else {
            Err(JobError::Lost)
        }
    }

    /// Marks the job succeeded with `result` inside the caller's write transaction, so
    /// that the job's writes and its completion commit together: a worker killed after
    /// the commit leaves a finished job, never one that runs again, and a job taken over
    /// meanwhile (its lease ran out) rolls back instead of writing twice.
    pub fn complete_within(&self, conn: &mut DbConnection, result: Value) -> AppResult<()> {
        if persistence::jobs::complete(conn, self.job_id, self.worker, result)? {
            Ok(())
        } else {
            Err(AppError::Conflict(
                "the job was cancelled or taken over by another worker".into(),
            ))
        }
    }

    /// Whether the worker pool is shutting down; long handlers check it between steps
    /// and return [`JobError::Interrupted`].
    pub fn should_stop(&self) -> bool {
        (self.stopping)()
    }
}

/// Job kinds this process can run.
#[derive(Clone, Default)]
pub struct JobRegistry {
    handlers: BTreeMap<&'static str, Arc<dyn JobHandler>>,
}

impl JobRegistry {
    /// Every built-in job kind.
    pub fn builtin() -> JobRegistry {
        let mut registry = JobRegistry::default();
        registry.register(AUDIT_VERIFY, AuditVerifyJob::default());
        registry.register(DUPLICATE_SCAN, DuplicateScanJob);
        registry.register(CUSTOMER_IMPORT, CustomerImportJob);
        registry.register(CUSTOMER_EXPORT, CustomerExportJob);
        registry.register(ORDER_IMPORT, OrderImportJob);
        registry.register(ORDER_EXPORT, OrderExportJob);
        registry.register(PRODUCT_IMPORT, ProductImportJob);
        registry.register(LEAD_IMPORT, LeadImportJob);
        registry.register(LEAD_EXPORT, LeadExportJob);
        registry.register(MODEL_RUN, ModelRunJob);
        registry.register(LEAD_RESCORE, LeadRescoreJob);
        registry.register(SEGMENT_REFRESH, SegmentRefreshJob);
        registry.register(
            share_rule_refresh::SHARE_RULE_REFRESH,
            share_rule_refresh::ShareRuleRefreshJob,
        );
        registry.register(REPORT_EXPORT, ReportExportJob);
        registry.register(crate::analytics::schedules::SCHEDULED_RUN, ScheduledRunJob);
        registry.register(churn_check::CHURN_CHECK, churn_check::ChurnCheckJob);
        registry.register(
            loyalty_expiry::LOYALTY_EXPIRE,
            loyalty_expiry::LoyaltyExpiryJob,
        );
        registry.register(loyalty_tiers::LOYALTY_TIERS, loyalty_tiers::LoyaltyTiersJob);
        registry.register(stuck_check::STUCK_CHECK, stuck_check::StuckCheckJob);
        registry.register(
            retention_apply::RETENTION_APPLY,
            retention_apply::RetentionApplyJob,
        );
        registry.register(crate::service::sla_schedule::SLA_SCAN, sla_scan::SlaScanJob);
        registry.register(crate::sales::tasks::TASK_REMINDER, TaskReminderJob);
        registry.register(crate::sales::follow_ups::LEAD_CHECK, LeadCheckJob);
        registry.register(
            crate::workflows::enrolment::WORKFLOW_RUN,
            workflow_run::WorkflowRunJob,
        );
        registry.register(
            crate::workflows::enrolment::WORKFLOW_SCHEDULE,
            workflow_schedule::WorkflowScheduleJob,
        );
        registry.register(
            crate::workflows::enrolment::WORKFLOW_DATES,
            workflow_dates::WorkflowDatesJob,
        );
        registry
    }

    pub fn register(&mut self, kind: &'static str, handler: impl JobHandler + 'static) {
        self.handlers.insert(kind, Arc::new(handler));
    }

    pub fn get(&self, kind: &str) -> Option<&Arc<dyn JobHandler>> {
        self.handlers.get(kind)
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        self.handlers.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use domain::validation::FieldViolation;

    use super::*;

    #[test]
    fn failures_show_what_the_owner_can_fix_and_log_the_rest() {
        let rows = JobFailure::from_app(AppError::Invalid(vec![FieldViolation::new(
            "custom_fields.branch",
            "unknown_field",
            "no such custom field",
        )]));
        assert_eq!(rows.code, "validation_failed");
        assert_eq!(
            rows.detail.as_deref(),
            Some("custom_fields.branch: no such custom field")
        );

        let conflict = JobFailure::from_app(AppError::Conflict("the code is taken".into()));
        assert_eq!(
            (conflict.code, conflict.detail.as_deref()),
            ("conflict", Some("the code is taken"))
        );

        let internal = JobFailure::from_app(AppError::Internal(
            "database error: relation \"audit_events\" does not exist".into(),
        ));
        assert_eq!(
            (internal.code, internal.detail.as_deref()),
            (INTERNAL_ERROR, None)
        );
        assert!(
            internal.to_string().contains("audit_events"),
            "kept for the log"
        );

        let JobError::Retryable(storage) = JobError::from(PersistenceError::Pool("gone".into()))
        else {
            panic!("storage failures are retried");
        };
        assert_eq!((storage.code, storage.detail), (STORAGE_ERROR, None));
    }
}
