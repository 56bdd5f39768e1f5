//! Operability (P-6): Prometheus metrics and one structured log line per request.
//!
//! The [`observe`] middleware times every request and records it under its matched
//! route PATTERN (`/api/v1/jobs/{id}`), never the raw path, so ids do not multiply the
//! series and no identifier or query string reaches the logs. Gauges of the database
//! pool and the job queue are read at scrape time by `routes::metrics`.

mod metrics;
mod middleware;

pub use metrics::{Metrics, PoolFigures};
pub use middleware::observe;
