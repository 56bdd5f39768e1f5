//! The worker pool: N threads that claim due jobs, run their handlers and record the
//! outcome. Threads poll with back-off while the queue is empty, keep the lock of a
//! running job fresh with a heartbeat, recover jobs abandoned by dead workers, and on
//! shutdown finish (or release) the job at hand before they exit.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::Utc;
use persistence::db::DbPool;
use persistence::jobs::{self, ClaimRequest, Job, JobFailureRecord, JobStatus};
use rand::Rng;

use super::{connection, JobContext, JobError, JobFailure, JobRegistry, INTERNAL_ERROR};

/// How the pool behaves; [`WorkerSettings::new`] has the production values.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Worker threads.
    pub workers: usize,
    /// First wait after finding the queue empty; doubles up to `idle_poll_max`.
    pub idle_poll_min: Duration,
    pub idle_poll_max: Duration,
    /// A running job whose lock is older than this is considered abandoned. Locks are
    /// refreshed by a heartbeat every third of it.
    pub lock_timeout: Duration,
    /// Delay before the first retry; doubles with every failed attempt up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// A read-only replica that handlers may read from ([`JobContext::read_pool`]).
    pub replica: Option<DbPool>,
}

impl WorkerSettings {
    pub fn new(workers: usize) -> WorkerSettings {
        WorkerSettings {
            workers,
            idle_poll_min: Duration::from_millis(100),
            idle_poll_max: Duration::from_secs(2),
            lock_timeout: Duration::from_secs(60),
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(3600),
            replica: None,
        }
    }
}

/// Delay before the retry that follows failed attempt number `attempt` (1-based):
/// exponential back-off, capped, with "equal jitter" — a uniformly random point in the
/// upper half of the interval, given as `jitter` in 0..1, so that jobs that failed
/// together do not retry together.
pub fn retry_delay(attempt: i32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    let exponential = base.saturating_mul(1_u32 << doublings).min(max);
    let half = exponential / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

/// A stop flag threads can sleep on.
#[derive(Default)]
struct StopSignal {
    stopped: Mutex<bool>,
    changed: Condvar,
}

impl StopSignal {
    fn stop(&self) {
        *self
            .stopped
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = true;
        self.changed.notify_all();
    }

    fn is_stopped(&self) -> bool {
        *self
            .stopped
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sleeps up to `timeout`; returns true as soon as the signal is (or was) given.
    fn wait(&self, timeout: Duration) -> bool {
        let guard = self
            .stopped
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (guard, _) = self
            .changed
            .wait_timeout_while(guard, timeout, |stopped| !*stopped)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *guard
    }
}

/// Running worker threads. Dropping the pool (or [`WorkerPool::stop`]) signals the
/// threads and waits until each has finished or released its current job.
pub struct WorkerPool {
    name: String,
    stop: Arc<StopSignal>,
    threads: Vec<JoinHandle<()>>,
}

impl WorkerPool {
    pub fn start(
        pool: DbPool,
        registry: JobRegistry,
        settings: WorkerSettings,
    ) -> std::io::Result<WorkerPool> {
        // Unique per process start, so locks held by a previous run are never mistaken
        // for this run's.
        let simple = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("{}-{}", std::process::id(), &simple[..8]);
        let stop = Arc::new(StopSignal::default());
        let registry = Arc::new(registry);
        let mut threads = Vec::with_capacity(settings.workers);
        for index in 0..settings.workers {
            let worker = Worker {
                name: format!("{name}/{index}"),
                recovers_stale_jobs: index == 0,
                pool: pool.clone(),
                registry: registry.clone(),
                settings: settings.clone(),
                stop: stop.clone(),
            };
            threads.push(
                std::thread::Builder::new()
                    .name(format!("job-worker-{index}"))
                    .spawn(move || worker.run())?,
            );
        }
        tracing::info!(pool = %name, workers = settings.workers, kinds = ?registry.kinds(), "job workers started");
        Ok(WorkerPool {
            name,
            stop,
            threads,
        })
    }

    /// Name of this pool; worker `n` locks jobs as `{name}/{n}`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stops the workers and waits for them.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        self.stop.stop();
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                tracing::error!(pool = %self.name, "a job worker thread panicked");
            }
        }
        tracing::info!(pool = %self.name, "job workers stopped");
    }
}

struct Worker {
    name: String,
    recovers_stale_jobs: bool,
    pool: DbPool,
    registry: Arc<JobRegistry>,
    settings: WorkerSettings,
    stop: Arc<StopSignal>,
}

impl Worker {
    fn run(self) {
        let mut idle = self.settings.idle_poll_min;
        let mut last_recovery: Option<Instant> = None;
        while !self.stop.is_stopped() {
            if self.recovers_stale_jobs
                && last_recovery.is_none_or(|at| at.elapsed() >= self.settings.lock_timeout / 2)
            {
                self.recover_stale();
                last_recovery = Some(Instant::now());
            }
            match self.claim() {
                Ok(Some(job)) => {
                    self.execute(job);
                    idle = self.settings.idle_poll_min;
                    continue;
                }
                Ok(None) => {}
                Err(err) => {
                    tracing::warn!(worker = %self.name, error = %err, "claiming jobs failed")
                }
            }
            if self.stop.wait(idle) {
                break;
            }
            idle = (idle * 2).min(self.settings.idle_poll_max);
        }
    }

    fn claim(&self) -> Result<Option<Job>, JobError> {
        let kinds = self.registry.kinds();
        let request = ClaimRequest {
            worker: &self.name,
            kinds: &kinds,
            limit: 1,
            now: persistence::now(),
        };
        Ok(jobs::claim(&mut *connection(&self.pool)?, request)?.pop())
    }

    fn recover_stale(&self) {
        let Ok(timeout) = chrono::Duration::from_std(self.settings.lock_timeout) else {
            return;
        };
        let recovered = connection(&self.pool)
            .and_then(|mut conn| Ok(jobs::recover_stale(&mut conn, Utc::now() - timeout)?));
        match recovered {
            Ok(recovered) if recovered != jobs::Recovered::default() => {
                tracing::warn!(
                    requeued = recovered.requeued,
                    failed = recovered.failed,
                    "recovered abandoned jobs"
                );
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(worker = %self.name, error = %err, "recovering abandoned jobs failed")
            }
        }
    }

    /// Runs one claimed job with a heartbeat beside it, then records the outcome, all in
    /// the job's span: its id, kind and the id of the request that queued it.
    fn execute(&self, job: Job) {
        let id = job.id.0;
        let request_id = job
            .payload
            .0
            .pointer("/acting/request_id")
            .and_then(|id| id.as_str())
            .unwrap_or_default();
        let span = tracing::info_span!("job", job_id = %id, kind = %job.kind, request_id);
        let _in_job = span.enter();
        let started = Instant::now();
        let outcome = match self.registry.get(&job.kind) {
            None => Err(JobError::internal(format!(
                "no handler for job kind {:?}",
                job.kind
            ))),
            Some(handler) => {
                let stopping = || self.stop.is_stopped();
                let ctx = JobContext {
                    pool: &self.pool,
                    replica: self.settings.replica.as_ref(),
                    job_id: id,
                    worker: &self.name,
                    payload: &job.payload.0,
                    attempt: job.attempts,
                    stopping: &stopping,
                };
                let finished = StopSignal::default();
                std::thread::scope(|scope| {
                    let (span, finished) = (&span, &finished);
                    scope.spawn(move || span.in_scope(|| self.heartbeat(id, finished)));
                    // A panicking handler fails its attempt instead of killing the worker.
                    let outcome = catch_unwind(AssertUnwindSafe(|| handler.run(&ctx)))
                        .unwrap_or_else(|_| {
                            Err(JobError::Retryable(JobFailure::internal(
                                INTERNAL_ERROR,
                                "the job handler panicked",
                            )))
                        });
                    finished.stop();
                    outcome
                })
            }
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let recorded = connection(&self.pool)
            .and_then(|mut conn| self.record(&mut conn, &job, outcome, elapsed_ms));
        if let Err(err) = recorded {
            // The lock expires and stale-job recovery puts the job back in the queue.
            tracing::error!(job_id = %id, kind = %job.kind, error = %err, "recording a job outcome failed");
        }
    }

    fn heartbeat(&self, id: uuid::Uuid, finished: &StopSignal) {
        while !finished.wait(self.settings.lock_timeout / 3) {
            let still_ours = connection(&self.pool)
                .and_then(|mut conn| Ok(jobs::touch(&mut conn, id, &self.name)?));
            match still_ours {
                Ok(true) => {}
                Ok(false) => return,
                Err(err) => tracing::warn!(job_id = %id, error = %err, "job heartbeat failed"),
            }
        }
    }

    fn record(
        &self,
        conn: &mut persistence::DbConnection,
        job: &Job,
        outcome: Result<serde_json::Value, JobError>,
        elapsed_ms: u64,
    ) -> Result<(), JobError> {
        let (id, kind, attempt) = (job.id.0, job.kind.as_str(), job.attempts);
        match outcome {
            Ok(result) => {
                if jobs::complete(conn, id, &self.name, result)?
                    // Completed by the handler in its own transaction.
                    || jobs::find(conn, id)?.is_some_and(|job| {
                        job.status().ok() == Some(jobs::JobStatus::Succeeded)
                    })
                {
                    tracing::info!(job_id = %id, kind, attempt, elapsed_ms, "job succeeded");
                } else {
                    tracing::info!(job_id = %id, kind, "job finished after it was cancelled; result discarded");
                }
            }
            Err(JobError::Lost) => {
                tracing::info!(job_id = %id, kind, "job was cancelled while running")
            }
            Err(JobError::Interrupted) => {
                jobs::release(conn, id, &self.name)?;
                tracing::info!(job_id = %id, kind, "job released for another worker at shutdown");
            }
            Err(JobError::Retryable(failure)) => {
                let jitter = rand::thread_rng().gen::<f64>();
                let delay = retry_delay(
                    attempt,
                    self.settings.retry_base,
                    self.settings.retry_max,
                    jitter,
                );
                let retry_at = chrono::Duration::from_std(delay)
                    .ok()
                    .map(|delay| persistence::now() + delay);
                self.record_failure(conn, job, &failure, retry_at)?;
            }
            Err(JobError::Permanent(failure)) => {
                self.record_failure(conn, job, &failure, None)?;
            }
        }
        Ok(())
    }

    /// Stores the code and the owner-facing detail of a failed attempt; the whole
    /// failure, internal text included, goes to the log with the job id.
    fn record_failure(
        &self,
        conn: &mut persistence::DbConnection,
        job: &Job,
        failure: &JobFailure,
        retry_at: Option<chrono::DateTime<Utc>>,
    ) -> Result<(), JobError> {
        let (id, kind, attempt) = (job.id.0, job.kind.as_str(), job.attempts);
        let record = JobFailureRecord {
            code: failure.code,
            detail: failure.detail.as_deref(),
        };
        match jobs::fail(conn, id, &self.name, &record, retry_at)? {
            Some(JobStatus::Queued) => {
                tracing::warn!(job_id = %id, kind, attempt, error = %failure, "job attempt failed; will retry")
            }
            Some(_) => {
                tracing::error!(job_id = %id, kind, attempt, error = %failure, "job failed")
            }
            None => {
                tracing::info!(job_id = %id, kind, error = %failure, "job failed after it was cancelled")
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_exponentially_within_the_jitter_band_and_are_capped() {
        let base = Duration::from_secs(5);
        let max = Duration::from_secs(3600);
        for attempt in 1..=12 {
            let full = (base * 2_u32.pow(attempt as u32 - 1)).min(max);
            assert_eq!(
                retry_delay(attempt, base, max, 0.0),
                full / 2,
                "attempt {attempt}"
            );
            assert_eq!(
                retry_delay(attempt, base, max, 1.0),
                full,
                "attempt {attempt}"
            );
            let middle = retry_delay(attempt, base, max, 0.5);
            assert!(middle > full / 2 && middle < full);
        }
        assert_eq!(
            retry_delay(1_000, base, max, 1.0),
            max,
            "huge attempt numbers do not overflow"
        );
        assert_eq!(retry_delay(0, base, max, 1.0), base);
    }

    #[test]
    fn the_stop_signal_wakes_sleepers() {
        let signal = Arc::new(StopSignal::default());
        assert!(!signal.wait(Duration::from_millis(1)));
        let sleeper = {
            let signal = signal.clone();
            std::thread::spawn(move || signal.wait(Duration::from_secs(600)))
        };
        signal.stop();
        assert!(sleeper.join().expect("sleeper"));
        assert!(signal.is_stopped());
    }
}
