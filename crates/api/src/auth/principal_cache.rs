//! A short-lived, per-process cache of what a principal is built from: the account facts
//! of a user and which login sessions are live. An authenticated request whose user and
//! session are both cached costs no database round trip (the load test in
//! `docs/benchmarks.md` shows that round trip halving throughput); a miss loads both in
//! one query.
//!
//! Writes to a user and revoked sessions in this process invalidate their entries at
//! once. They are also announced to the other processes sharing the database
//! (`AppState::user_changed`, `AppState::sessions_ended`); on PostgreSQL each process
//! listens ([`listen`]) and forgets the entries at once too. Without that (SQLite, or
//! while the listening connection is down) another process sees a role change, a
//! deactivation or a revoked session (logout, refresh-token reuse, password change)
//! within [`FRESHNESS`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use domain::authz::{Role, Visibility};
use moka::sync::Cache;
use persistence::principal_events::{PrincipalEvent, PrincipalListener};
use uuid::Uuid;

/// How long cached account facts and live sessions are trusted.
pub const FRESHNESS: Duration = Duration::from_secs(5);

/// Entries kept at most in each map; the least recently used go first.
const CAPACITY: u64 = 100_000;

/// What a principal needs to know about an active user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountFacts {
    pub role: Role,
    pub team_id: Option<Uuid>,
    pub visibility: Visibility,
    /// The partner the user belongs to.
    pub partner_id: Option<Uuid>,
}

#[derive(Clone)]
pub struct PrincipalCache {
    accounts: Cache<Uuid, AccountFacts>,
    /// Live sessions (refresh-token families), each with the user it belongs to.
    sessions: Cache<Uuid, Uuid>,
}

impl Default for PrincipalCache {
    fn default() -> Self {
        PrincipalCache {
            accounts: short_lived(),
            sessions: short_lived(),
        }
    }
}

fn short_lived<V: Clone + Send + Sync + 'static>() -> Cache<Uuid, V> {
    Cache::builder()
        .max_capacity(CAPACITY)
        .time_to_live(FRESHNESS)
        .build()
}

impl PrincipalCache {
    /// The facts of `user_id` if both they and the live `session` of that user are cached.
    pub fn get(&self, user_id: &Uuid, session: &Uuid) -> Option<AccountFacts> {
        if self.sessions.get(session) != Some(*user_id) {
            return None;
        }
        self.accounts.get(user_id)
    }

    /// Remembers an active user and one of their live sessions.
    pub fn insert(&self, user_id: Uuid, session: Uuid, facts: AccountFacts) {
        self.accounts.insert(user_id, facts);
        self.sessions.insert(session, user_id);
    }

    /// Forgets a user after any change to their account (role, team, visibility,
    /// password, deactivation).
    pub fn invalidate(&self, user_id: &Uuid) {
        self.accounts.invalidate(user_id);
    }

    /// Forgets revoked sessions, so their access tokens stop working in this process at
    /// once.
    pub fn end_sessions(&self, sessions: &[Uuid]) {
        for session in sessions {
            self.sessions.invalidate(session);
        }
    }
}

/// How often the listening connection is asked for what arrived.
const POLL: Duration = Duration::from_millis(100);
/// How long to wait before connecting again after the listening connection failed.
const RECONNECT: Duration = Duration::from_secs(2);

impl PrincipalCache {
    /// Applies a change another process announced.
    pub fn apply(&self, event: &PrincipalEvent) {
        match event {
            PrincipalEvent::UserChanged { user_id } => self.invalidate(user_id),
            PrincipalEvent::SessionsEnded { sessions } => self.end_sessions(sessions),
        }
    }

    fn forget_everything(&self) {
        self.accounts.invalidate_all();
        self.sessions.invalidate_all();
    }
}

/// The thread that applies the other processes' announcements to this process's cache.
pub struct Listening {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Listening {
    /// Stops listening and waits for the thread.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        if self.thread.join().is_err() {
            tracing::error!("the principal listener panicked");
        }
    }
}

/// Starts listening on the PostgreSQL database at `url` for principal changes; `None`
/// on SQLite. A lost connection is opened again, and the whole cache is forgotten then,
/// since announcements may have been missed meanwhile.
pub fn listen(url: String, cache: PrincipalCache) -> std::io::Result<Option<Listening>> {
    if persistence::BackendKind::of_url(&url) != persistence::BackendKind::Postgres {
        return Ok(None);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    let thread = std::thread::Builder::new()
        .name("principal-listener".into())
        .spawn(move || {
            let mut listener: Option<PrincipalListener> = None;
            while !stopping.load(Ordering::Relaxed) {
                let Some(connected) = listener.as_mut() else {
                    match PrincipalListener::connect(&url) {
                        Ok(connected) => {
                            cache.forget_everything();
                            listener = connected;
                        }
                        Err(error) => {
                            tracing::warn!(%error, "listening for principal changes failed");
                            std::thread::sleep(RECONNECT);
                        }
                    }
                    continue;
                };
                match connected.take() {
                    Ok(events) => events.iter().for_each(|event| cache.apply(event)),
                    Err(error) => {
                        tracing::warn!(%error, "the principal listener lost its connection");
                        listener = None;
                        continue;
                    }
                }
                std::thread::sleep(POLL);
            }
        })?;
    Ok(Some(Listening { stop, thread }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FACTS: AccountFacts = AccountFacts {
        role: Role::Sales,
        team_id: None,
        visibility: Visibility::Own,
        partner_id: None,
    };

    #[test]
    fn invalidation_forgets_the_user() {
        let cache = PrincipalCache::default();
        let (id, session) = (Uuid::now_v7(), Uuid::now_v7());
        cache.insert(id, session, FACTS);
        assert_eq!(cache.get(&id, &session), Some(FACTS));
        cache.invalidate(&id);
        assert_eq!(cache.get(&id, &session), None);
    }

    #[test]
    fn ended_sessions_are_forgotten_and_others_kept() {
        let cache = PrincipalCache::default();
        let (id, ended, kept) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        cache.insert(id, ended, FACTS);
        cache.insert(id, kept, FACTS);
        cache.end_sessions(&[ended]);
        assert_eq!(cache.get(&id, &ended), None);
        assert_eq!(cache.get(&id, &kept), Some(FACTS));
    }

    #[test]
    fn a_session_counts_only_for_its_own_user() {
        let cache = PrincipalCache::default();
        let (id, other, session) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        cache.insert(id, session, FACTS);
        cache.insert(other, Uuid::now_v7(), FACTS);
        assert_eq!(cache.get(&other, &session), None);
    }
}
