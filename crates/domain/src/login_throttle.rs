//! Login throttling rules: how failed logins of one subject (an account or a client
//! address) add up to a temporary lockout that grows with each repetition.
//!
//! A subject may fail `max_failures` times within `window`; the failure that reaches the
//! limit locks it for `first_lockout`, and every further lockout doubles the previous
//! one up to `max_lockout`. While locked, attempts are refused without being checked
//! (so they neither count nor can succeed). A subject with no failure for
//! [`ThrottlePolicy::memory`] is forgotten, so its next lockout is short again.

use chrono::{DateTime, Duration, Utc};

/// Limits for one kind of subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures within `window` that lock the subject (at least 1).
    pub max_failures: u32,
    pub window: Duration,
    /// Length of the first lockout; each further one doubles it.
    pub first_lockout: Duration,
    pub max_lockout: Duration,
    /// How long after its last failure (or the end of its lockout) a subject is
    /// remembered, lockout count included.
    pub memory: Duration,
}

/// What is known about one subject's recent failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleState {
    /// Failures since `window_started_at` (reset by a lockout).
    pub failures: u32,
    pub window_started_at: DateTime<Utc>,
    /// Lockouts so far: the next one lasts `first_lockout * 2^lockouts`.
    pub lockouts: u32,
    pub locked_until: Option<DateTime<Utc>>,
    /// When the subject may be forgotten.
    pub expires_at: DateTime<Utc>,
}

impl ThrottleState {
    /// How long the subject is still locked at `now`, if it is.
    pub fn locked_for(&self, now: DateTime<Utc>) -> Option<Duration> {
        self.locked_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }
}

impl ThrottlePolicy {
    /// The state after a failed login at `now`, given the state before (`None` for a
    /// subject not seen yet or forgotten).
    pub fn after_failure(
        &self,
        previous: Option<&ThrottleState>,
        now: DateTime<Utc>,
    ) -> ThrottleState {
        let mut state = match previous {
            Some(previous) if previous.expires_at > now => *previous,
            _ => ThrottleState {
                failures: 0,
                window_started_at: now,
                lockouts: 0,
                locked_until: None,
                expires_at: now,
            },
        };
        if now - state.window_started_at >= self.window {
            state.failures = 0;
            state.window_started_at = now;
        }
        state.failures = state.failures.saturating_add(1);
        if state.failures >= self.max_failures.max(1) {
            let until = now + self.lockout(state.lockouts);
            state.locked_until = Some(until);
            state.lockouts = state.lockouts.saturating_add(1);
            state.failures = 0;
            state.window_started_at = until;
        }
        let last_relevant = state.locked_until.map_or(now, |until| until.max(now));
        state.expires_at = last_relevant + self.memory;
        state
    }

    /// Length of the lockout that follows `earlier` lockouts.
    fn lockout(&self, earlier: u32) -> Duration {
        // Doubling past 2^20 exceeds any sensible maximum; stop before overflowing.
        let factor = 1_i32 << earlier.min(20);
        self.first_lockout
            .checked_mul(factor)
            .map_or(self.max_lockout, |lockout| lockout.min(self.max_lockout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy {
            max_failures: 3,
            window: Duration::minutes(15),
            first_lockout: Duration::minutes(1),
            max_lockout: Duration::minutes(5),
            memory: Duration::hours(24),
        }
    }

    fn fail(times: u32, state: Option<ThrottleState>, now: DateTime<Utc>) -> ThrottleState {
        (0..times)
            .fold(state, |state, _| {
                Some(policy().after_failure(state.as_ref(), now))
            })
            .expect("at least one failure")
    }

    #[test]
    fn the_failure_reaching_the_limit_locks() {
        let now = Utc::now();
        let state = fail(2, None, now);
        assert_eq!(state.locked_for(now), None);
        let state = fail(1, Some(state), now);
        assert_eq!(state.locked_for(now), Some(Duration::minutes(1)));
        assert_eq!(state.locked_for(now + Duration::minutes(1)), None);
    }

    #[test]
    fn lockouts_double_up_to_the_maximum() {
        let mut now = Utc::now();
        let mut state = None;
        let mut lockouts = Vec::new();
        for _ in 0..5 {
            let locked = fail(3, state, now);
            lockouts.push(locked.locked_for(now).unwrap().num_minutes());
            now = locked.locked_until.unwrap();
            state = Some(locked);
        }
        assert_eq!(lockouts, [1, 2, 4, 5, 5]);
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let now = Utc::now();
        let state = fail(2, None, now);
        let later = now + Duration::minutes(15);
        let state = fail(2, Some(state), later);
        assert_eq!((state.failures, state.locked_for(later)), (2, None));
    }

    #[test]
    fn a_quiet_subject_is_forgotten_with_its_lockouts() {
        let now = Utc::now();
        let locked = fail(3, None, now);
        assert_eq!(
            locked.expires_at,
            now + Duration::minutes(1) + Duration::hours(24)
        );
        let much_later = locked.expires_at;
        let relocked = fail(3, Some(locked), much_later);
        assert_eq!(relocked.locked_for(much_later), Some(Duration::minutes(1)));
    }

    #[test]
    fn huge_lockout_counts_stay_at_the_maximum() {
        assert_eq!(policy().lockout(u32::MAX), Duration::minutes(5));
        let unlimited = ThrottlePolicy {
            max_lockout: Duration::MAX,
            ..policy()
        };
        assert_eq!(unlimited.lockout(0), Duration::minutes(1));
        assert!(unlimited.lockout(u32::MAX) > Duration::days(365));
    }
}
