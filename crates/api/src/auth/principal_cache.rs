//! A short-lived, per-process cache of the account facts a principal is built from, so
//! that an authenticated request costs no extra database round trip (the load test in
//! `docs/benchmarks.md` shows that round trip halving throughput).
//!
//! Writes to a user in this process invalidate its entry at once; another process
//! sharing the database sees a role change or deactivation within [`FRESHNESS`]. Access
//! tokens are short-lived anyway, so this bounds how long a deactivated user's token
//! keeps working elsewhere, and keeps it well under the token lifetime.

use std::time::Duration;

use domain::authz::{Role, Visibility};
use moka::sync::Cache;
use uuid::Uuid;

/// How long cached account facts are trusted.
pub const FRESHNESS: Duration = Duration::from_secs(5);

/// Entries kept at most; the least recently used go first.
const CAPACITY: u64 = 100_000;

/// What a principal needs to know about an active user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountFacts {
    pub role: Role,
    pub team_id: Option<Uuid>,
    pub visibility: Visibility,
}

#[derive(Clone)]
pub struct PrincipalCache {
    entries: Cache<Uuid, AccountFacts>,
}

impl Default for PrincipalCache {
    fn default() -> Self {
        PrincipalCache {
            entries: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(FRESHNESS)
                .build(),
        }
    }
}

impl PrincipalCache {
    pub fn get(&self, user_id: &Uuid) -> Option<AccountFacts> {
        self.entries.get(user_id)
    }

    pub fn insert(&self, user_id: Uuid, facts: AccountFacts) {
        self.entries.insert(user_id, facts);
    }

    /// Forgets a user after any change to their account (role, team, visibility,
    /// password, deactivation).
    pub fn invalidate(&self, user_id: &Uuid) {
        self.entries.invalidate(user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidation_forgets_the_user() {
        let cache = PrincipalCache::default();
        let id = Uuid::now_v7();
        let facts = AccountFacts {
            role: Role::Sales,
            team_id: None,
            visibility: Visibility::Own,
        };
        cache.insert(id, facts);
        assert_eq!(cache.get(&id), Some(facts));
        cache.invalidate(&id);
        assert_eq!(cache.get(&id), None);
    }
}
