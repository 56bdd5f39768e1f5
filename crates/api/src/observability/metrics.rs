//! The Prometheus registry of one server.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// Latency buckets in seconds: 1 ms to 10 s, dense where API requests usually are.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    pool_max: IntGauge,
    jobs: IntGaugeVec,
}

/// Database pool figures at one instant.
#[derive(Debug, Clone, Copy)]
pub struct PoolFigures {
    pub connections: u32,
    pub idle: u32,
    pub max: u32,
}

impl Metrics {
    pub fn new() -> prometheus::Result<Metrics> {
        let registry = Registry::new();
        let labels = &["method", "route", "status"];
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by method, route pattern and status",
            ),
            labels,
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer HTTP requests",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            labels,
        )?;
        let pool_connections = IntGauge::new(
            "db_pool_connections",
            "Open database connections in the pool",
        )?;
        let pool_idle = IntGauge::new(
            "db_pool_idle_connections",
            "Idle database connections in the pool",
        )?;
        let pool_max = IntGauge::new(
            "db_pool_max_connections",
            "Largest number of pooled database connections",
        )?;
        let jobs = IntGaugeVec::new(
            Opts::new("jobs", "Jobs in the durable queue, by status"),
            &["status"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool_connections.clone()))?;
        registry.register(Box::new(pool_idle.clone()))?;
        registry.register(Box::new(pool_max.clone()))?;
        registry.register(Box::new(jobs.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            pool_connections,
            pool_idle,
            pool_max,
            jobs,
        })
    }

    /// Counts one answered request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// The text exposition, after setting the gauges to the given figures. `job_counts`
    /// holds every status, zeros included, so a drained queue reads 0 rather than a
    /// stale value.
    pub fn render(&self, pool: PoolFigures, job_counts: &[(&str, i64)]) -> Result<String, String> {
        self.pool_connections.set(i64::from(pool.connections));
        self.pool_idle.set(i64::from(pool.idle));
        self.pool_max.set(i64::from(pool.max));
        for (status, count) in job_counts {
            self.jobs.with_label_values(&[status]).set(*count);
        }
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .map_err(|err| err.to_string())?;
        String::from_utf8(buffer).map_err(|err| err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_gauges_are_exposed() {
        let metrics = Metrics::new().expect("metrics");
        metrics.observe_request("GET", "/api/v1/jobs/{id}", 200, 0.003);
        metrics.observe_request("GET", "/api/v1/jobs/{id}", 200, 0.004);
        let text = metrics
            .render(
                PoolFigures {
                    connections: 3,
                    idle: 2,
                    max: 16,
                },
                &[("queued", 4), ("running", 0)],
            )
            .expect("render");
        assert!(
            text.contains(
                r#"http_requests_total{method="GET",route="/api/v1/jobs/{id}",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"http_request_duration_seconds_bucket{method="GET",route="/api/v1/jobs/{id}",status="200",le="0.005"} 2"#));
        assert!(text.contains("db_pool_connections 3"));
        assert!(text.contains("db_pool_idle_connections 2"));
        assert!(text.contains(r#"jobs{status="queued"} 4"#));
        assert!(text.contains(r#"jobs{status="running"} 0"#));
    }
}
