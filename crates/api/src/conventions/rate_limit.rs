//! Per-principal rate limits (`docs/API-CONVENTIONS.md`): `ServerConfig::rate_limit_per_minute`
//! requests per user, API key or (anonymous) client address, reported on every
//! response with the IETF draft headers `RateLimit-Limit`, `RateLimit-Remaining` and
//! `RateLimit-Reset` (seconds until the quota is whole again); over the limit the answer
//! is 429 `rate_limited` with `Retry-After`. Health, readiness, metrics and the docs are
//! exempt so probes and scrapers never starve.
//!
//! The limiter is `governor`'s keyed GCRA: a well-kept crate that enforces a smooth
//! rate without a timer per key, is lock-free on the hot path and reports the state we
//! need for the headers, so there is no reason to hand-write one. Limits are per
//! process; a deployment of several instances divides the quota among them.

use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error, ResponseError};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::caller::Caller;
use super::request_id::respond;
use crate::error::ApiError;
use crate::state::AppState;

pub const RATE_LIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
pub const RATE_LIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
pub const RATE_LIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// Paths that are never limited.
const EXEMPT_PREFIXES: &[&str] = &[
    "/api/v1/health",
    "/api/v1/ready",
    "/metrics",
    "/docs",
    "/api/v1/openapi.json",
];

/// Idle buckets are dropped once this many keys are tracked, bounding memory.
const MAX_TRACKED_KEYS: usize = 100_000;

type Limiter =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// The process-wide limiter (shared by every worker through `web::Data`).
pub struct RateLimits {
    limiter: Limiter,
    per_minute: u32,
    clock: DefaultClock,
}

impl RateLimits {
    pub fn new(per_minute: u32) -> RateLimits {
        let per_minute = per_minute.max(1);
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
        RateLimits {
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            per_minute,
            clock: DefaultClock::default(),
        }
    }

    /// Spends one request of `key`'s quota: `Ok(remaining)` or `Err(wait)`.
    fn check(&self, key: String) -> Result<u32, Duration> {
        if self.limiter.len() > MAX_TRACKED_KEYS {
            self.limiter.retain_recent();
        }
        match self.limiter.check_key(&key) {
            Ok(snapshot) => Ok(snapshot.remaining_burst_capacity()),
            Err(not_until) => Err(not_until.wait_time_from(self.clock.now())),
        }
    }

    /// Seconds until `remaining` has grown back to the whole quota.
    fn reset_secs(&self, remaining: u32) -> u64 {
        let used = u64::from(self.per_minute.saturating_sub(remaining));
        (used * 60).div_ceil(u64::from(self.per_minute))
    }
}

/// Limits whose quota the caller chooses per check: the web chat widget's, where each
/// account sets its visitors' rate. One keyed limiter per quota in use (a handful: the
/// accounts are at most 50), each bounded as [`RateLimits`] is.
#[derive(Default)]
pub struct QuotaLimits {
    limiters: std::sync::Mutex<std::collections::HashMap<u32, std::sync::Arc<Limiter>>>,
    clock: DefaultClock,
}

impl QuotaLimits {
    /// Spends one of `key`'s `per_minute`: `Err(seconds to wait)` when none is left.
    pub fn check(&self, per_minute: u32, key: String) -> Result<(), u64> {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let limiter = {
            let mut limiters = self
                .limiters
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            limiters
                .entry(per_minute.get())
                .or_insert_with(|| {
                    std::sync::Arc::new(
                        RateLimiter::keyed(Quota::per_minute(per_minute))
                            .with_middleware::<StateInformationMiddleware>(),
                    )
                })
                .clone()
        };
        if limiter.len() > MAX_TRACKED_KEYS {
            limiter.retain_recent();
        }
        limiter.check_key(&key).map(|_| ()).map_err(|not_until| {
            not_until
                .wait_time_from(self.clock.now())
                .as_secs_f64()
                .ceil()
                .max(1.0) as u64
        })
    }
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: u64) {
    headers.insert(name, HeaderValue::from(value));
}

/// Middleware: counts the request against its caller's quota.
pub async fn rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let limits = req.app_data::<web::Data<RateLimits>>().cloned();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let exempt = EXEMPT_PREFIXES
        .iter()
        .any(|prefix| req.path().starts_with(prefix));
    let (Some(limits), Some(state), false) = (limits, state, exempt) else {
        return respond(req, next).await;
    };
    let key = Caller::identify(req.request(), &state).rate_key();
    let limit = u64::from(limits.per_minute);
    match limits.check(key) {
        Ok(remaining) => {
            let mut response = respond(req, next).await?;
            let headers = response.headers_mut();
            set(headers, RATE_LIMIT_LIMIT, limit);
            set(headers, RATE_LIMIT_REMAINING, u64::from(remaining));
            set(headers, RATE_LIMIT_RESET, limits.reset_secs(remaining));
            Ok(response)
        }
        Err(wait) => {
            let retry_after_secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            let mut response = ApiError::RateLimited { retry_after_secs }.error_response();
            let headers = response.headers_mut();
            set(headers, RATE_LIMIT_LIMIT, limit);
            set(headers, RATE_LIMIT_REMAINING, 0);
            set(headers, RATE_LIMIT_RESET, retry_after_secs);
            Ok(req.into_response(response))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_is_spent_per_key() {
        let limits = RateLimits::new(3);
        assert_eq!(limits.check("a".into()), Ok(2));
        assert_eq!(limits.check("a".into()), Ok(1));
        assert_eq!(limits.check("a".into()), Ok(0));
        assert!(limits.check("a".into()).is_err());
        assert_eq!(limits.check("b".into()), Ok(2));
        assert_eq!(limits.reset_secs(0), 60);
        assert_eq!(limits.reset_secs(3), 0);
    }

    #[test]
    fn chosen_quotas_are_kept_apart() {
        let limits = QuotaLimits::default();
        assert_eq!(limits.check(2, "a".into()), Ok(()));
        assert_eq!(limits.check(2, "a".into()), Ok(()));
        let wait = limits.check(2, "a".into()).unwrap_err();
        assert!((1..=30).contains(&wait), "{wait}");
        assert_eq!(limits.check(2, "b".into()), Ok(()));
        assert_eq!(limits.check(5, "a".into()), Ok(()));
    }
}
