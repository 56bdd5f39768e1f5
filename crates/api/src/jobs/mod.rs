//! Background jobs (P-7): the registry of job kinds and their handlers, and the worker
//! pool that runs them from the durable queue in `persistence::jobs`.
//!
//! A job kind is a string such as `audit.verify`; its handler implements [`JobHandler`].
//! Handlers are synchronous (they run on the pool's own threads, never on the async
//! executor) and receive a [`JobContext`] with the database pool, the payload and a way
//! to report progress.

mod audit_verify;
mod customer_export;
mod customer_import;
mod duplicate_scan;
mod on_behalf;
mod worker;

use std::collections::BTreeMap;
use std::sync::Arc;

use persistence::db::DbPool;
use persistence::PersistenceError;
use serde_json::Value;
use uuid::Uuid;

pub use audit_verify::{AuditVerifyJob, ChainVerification, AUDIT_VERIFY};
pub use customer_export::{
    download_location, CustomerExportJob, ExportPayload, ExportResult, CUSTOMER_EXPORT,
};
pub use customer_import::{CustomerImportJob, ImportPayload, CUSTOMER_IMPORT};
pub use duplicate_scan::{
    DuplicateGroup, DuplicatePair, DuplicateScanJob, DuplicateScanPayload, DuplicateScanReport,
    DUPLICATE_SCAN,
};
pub use on_behalf::OnBehalf;
pub use worker::{retry_delay, WorkerPool, WorkerSettings};

/// Why a job attempt did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The attempt failed; it is retried with back-off while attempts remain.
    #[error("{0}")]
    Retryable(String),
    /// Retrying cannot help (e.g. an invalid payload): the job fails at once.
    #[error("{0}")]
    Permanent(String),
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
    pub fn invalid(err: crate::error::ApiError) -> JobError {
        match err {
            crate::error::ApiError::Validation(violations) => JobError::Permanent(
                violations
                    .iter()
                    .map(|v| format!("{}: {}", v.field, v.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            other => JobError::Permanent(other.to_string()),
        }
    }
}

impl From<PersistenceError> for JobError {
    fn from(err: PersistenceError) -> Self {
        JobError::Retryable(err.to_string())
    }
}

/// A pooled connection; a pool timeout is a retryable failure.
pub fn connection(pool: &DbPool) -> Result<persistence::db::PooledConnection, JobError> {
    pool.get()
        .map_err(|err| JobError::Retryable(format!("database pool: {err}")))
}

/// The work of one job kind.
pub trait JobHandler: Send + Sync {
    /// Runs one attempt; the returned value is stored as the job's result.
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError>;
}

/// What a handler gets to do its work.
pub struct JobContext<'a> {
    pool: &'a DbPool,
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
        registry.register(AUDIT_VERIFY, AuditVerifyJob);
        registry.register(DUPLICATE_SCAN, DuplicateScanJob);
        registry.register(CUSTOMER_IMPORT, CustomerImportJob);
        registry.register(CUSTOMER_EXPORT, CustomerExportJob);
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
