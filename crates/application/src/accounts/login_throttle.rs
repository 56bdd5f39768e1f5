//! Login throttling: failed logins count against the e-mail address they named and the
//! client address they came from, and either subject is locked out for a while once it
//! has failed too often (rules in `domain::login_throttle`, limits from the server's
//! configuration). A locked subject's attempts fail with [`AppError::LoginThrottled`]
//! (429 `too_many_login_attempts` with `Retry-After`) before any password is checked.
//!
//! The account subject is the e-mail address as typed (normalised), whether or not an
//! account has it, so an unknown address is throttled exactly like a known one and the
//! answers do not tell them apart. A successful login resets its account's counter but
//! not its address's: otherwise one valid account would let an address guess others'
//! passwords without limit.

use chrono::{DateTime, Duration, Utc};
use domain::login_throttle::ThrottlePolicy;
use persistence::db::DbConnection;
use persistence::login_throttles::{self, LoginThrottleRow};
use persistence::PersistenceError;

use super::sha256_hex;
use crate::error::{AppError, AppResult};

/// How long after its last failure or lockout a subject is remembered (lockouts keep
/// doubling within it).
const MEMORY: Duration = Duration::hours(24);

/// The throttle of one server: per-account and per-address limits.
#[derive(Debug, Clone, Copy)]
pub struct LoginThrottle {
    account: ThrottlePolicy,
    address: ThrottlePolicy,
}

/// The stored keys of one login attempt's subjects.
#[derive(Debug, Clone)]
pub struct LoginSubjects {
    account: String,
    address: String,
}

impl LoginSubjects {
    /// `email` as the client sent it (normalised when valid) and the client address.
    pub fn new(email: &str, address: &str) -> LoginSubjects {
        LoginSubjects {
            account: sha256_hex(&format!("account:{email}")),
            address: sha256_hex(&format!("address:{address}")),
        }
    }
}

/// The limits of a [`LoginThrottle`], as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    pub max_failures_per_account: u32,
    pub max_failures_per_address: u32,
    /// Failures count within this many seconds of each other.
    pub failure_window_secs: u32,
    /// The first lockout; each further one doubles, up to `max_lockout_secs`.
    pub lockout_secs: u32,
    pub max_lockout_secs: u32,
}

impl From<ThrottleLimits> for LoginThrottle {
    fn from(limits: ThrottleLimits) -> Self {
        let policy = |max_failures| ThrottlePolicy {
            max_failures,
            window: Duration::seconds(i64::from(limits.failure_window_secs)),
            first_lockout: Duration::seconds(i64::from(limits.lockout_secs)),
            max_lockout: Duration::seconds(i64::from(limits.max_lockout_secs)),
            memory: MEMORY,
        };
        LoginThrottle {
            account: policy(limits.max_failures_per_account),
            address: policy(limits.max_failures_per_address),
        }
    }
}

impl LoginThrottle {
    /// [`AppError::LoginThrottled`] while either subject is locked, with the longer wait.
    pub fn check(
        conn: &mut DbConnection,
        subjects: &LoginSubjects,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let rows = login_throttles::find(conn, &[&subjects.account, &subjects.address])?;
        let wait = rows
            .iter()
            .filter_map(|row| row.state().locked_for(now))
            .max();
        match wait {
            Some(wait) => Err(AppError::LoginThrottled {
                // Whole seconds, rounded up so that a retry after it is not refused.
                retry_after_secs: u64::try_from((wait.num_milliseconds() + 999) / 1000)
                    .unwrap_or(1)
                    .max(1),
            }),
            None => Ok(()),
        }
    }

    /// Counts a failed login against both subjects and deletes rows that may be
    /// forgotten. Call inside a write transaction.
    pub fn record_failure(
        &self,
        conn: &mut DbConnection,
        subjects: &LoginSubjects,
        now: DateTime<Utc>,
    ) -> Result<(), PersistenceError> {
        login_throttles::delete_expired(conn, now)?;
        for (subject, policy) in [
            (&subjects.account, &self.account),
            (&subjects.address, &self.address),
        ] {
            login_throttles::lock_subject(conn, subject)?;
            let previous = login_throttles::find(conn, &[subject])?
                .first()
                .map(LoginThrottleRow::state);
            let next = policy.after_failure(previous.as_ref(), now);
            login_throttles::save(conn, &LoginThrottleRow::new(subject, &next))?;
        }
        Ok(())
    }

    /// A successful login: the account starts afresh.
    pub fn record_success(
        conn: &mut DbConnection,
        subjects: &LoginSubjects,
    ) -> Result<(), PersistenceError> {
        login_throttles::delete(conn, &subjects.account)
    }
}
