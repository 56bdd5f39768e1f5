//! Sealing the audit chain in the background for a server's writers (PostgreSQL).
//!
//! A write transaction that recorded audit events leaves them in `audit_pending`, and
//! on its own its connection seals them right after the commit (`write_transaction`
//! calls [`crate::audit::seal_after_commit`]): a check and a short transaction of half
//! a dozen statements, a round trip each, on every write. Under load most of those
//! seals link a single event or find another connection sealing. A [`Sealer`] takes the
//! work off the writers: a write made in its scope ([`Sealer::serve_writes`]) only wakes
//! it, and its thread links whatever is pending in one sealing transaction per wake,
//! however many writers woke it meanwhile.
//!
//! The guarantees are those of sealing after the commit: readers of the log seal first
//! ([`crate::audit::seal_pending`]), so a committed change's event is always listed; a
//! crash, or a sealing that fails, leaves events pending for the next seal; and several
//! server processes' sealers take turns under the chain's lock.

use std::cell::RefCell;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use crate::db::DbPool;

/// Whether the sealer is wanted or stopped, and how its thread waits for either.
#[derive(Default)]
struct Signal {
    state: Mutex<State>,
    /// The thread waits here to be wanted or stopped.
    wake: Condvar,
    /// [`Sealer::flush`] waits here for a pass to end.
    passed: Condvar,
}

#[derive(Default)]
struct State {
    /// A write committed events since the thread last looked.
    wanted: bool,
    /// The last handle is gone.
    stopped: bool,
    /// Sealing passes begun and ended: passes run one at a time, so a pass begun after
    /// a commit links that commit's events.
    begun: u64,
    ended: u64,
}

impl Signal {
    fn state(&self) -> MutexGuard<'_, State> {
        // The state is two flags: a panic while holding the lock cannot leave it torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A handle of a sealing thread: cheap to clone, and the thread ends when the last
/// handle is dropped.
#[derive(Clone)]
pub struct Sealer(Arc<Owner>);

/// Stops the thread when dropped, which happens with the last [`Sealer`].
struct Owner(Arc<Signal>);

impl Drop for Owner {
    fn drop(&mut self) {
        self.0.state().stopped = true;
        self.0.wake.notify_one();
    }
}

impl Sealer {
    /// Starts the thread that seals over connections of `pool` (a PostgreSQL pool: on
    /// SQLite events are linked in their own transaction and nothing is ever pending).
    pub fn start(pool: DbPool) -> std::io::Result<Sealer> {
        let signal = Arc::new(Signal::default());
        let theirs = Arc::clone(&signal);
        std::thread::Builder::new()
            .name("audit-sealer".to_string())
            .spawn(move || run(&theirs, &pool))?;
        Ok(Sealer(Arc::new(Owner(signal))))
    }

    /// Makes the write transactions of the current thread wake this sealer instead of
    /// sealing themselves, until the returned scope is dropped.
    pub fn serve_writes(&self) -> SealingScope {
        let previous = CURRENT.with(|current| current.replace(Some(self.clone())));
        SealingScope { previous }
    }

    /// Returns once a sealing pass begun after this call has ended: every event
    /// committed before the call is then linked, unless the pass failed (and logged
    /// why). For an orderly shutdown, and for tests.
    pub fn flush(&self) {
        let signal = &(self.0).0;
        let mut state = signal.state();
        state.wanted = true;
        let target = state.begun + 1;
        signal.wake.notify_one();
        while state.ended < target {
            state = signal
                .passed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn wake(&self) {
        let signal = &(self.0).0;
        signal.state().wanted = true;
        signal.wake.notify_one();
    }
}

/// While it lives, this thread's writes are sealed by a [`Sealer`].
#[must_use = "the writes are sealed in the background only while the scope lives"]
pub struct SealingScope {
    previous: Option<Sealer>,
}

impl Drop for SealingScope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|current| current.replace(previous));
    }
}

thread_local! {
    /// The sealer of the writes on this thread, if they have one.
    static CURRENT: RefCell<Option<Sealer>> = const { RefCell::new(None) };
}

/// Wakes the sealer serving this thread's writes; `false` when there is none, and the
/// caller seals itself.
pub(crate) fn wake_current() -> bool {
    CURRENT.with(|current| match &*current.borrow() {
        Some(sealer) => {
            sealer.wake();
            true
        }
        None => false,
    })
}

fn run(signal: &Signal, pool: &DbPool) {
    loop {
        {
            let mut state = signal.state();
            while !state.wanted && !state.stopped {
                state = signal
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.stopped {
                return;
            }
            state.wanted = false;
            state.begun += 1;
        }
        let sealed = pool
            .get()
            .map_err(|err| err.to_string())
            .and_then(|mut conn| {
                crate::audit::seal_pending(&mut conn).map_err(|err| err.to_string())
            });
        if let Err(err) = sealed {
            tracing::warn!(error = %err, "audit events stay pending until the next seal");
        }
        signal.state().ended += 1;
        signal.passed.notify_all();
    }
}
