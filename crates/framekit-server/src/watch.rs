//! The server's shutdown as its connections watch it: [`Shutdown`], one per accept loop, and
//! [`Watch`], the future each connection keeps for its whole life and polls on every turn.
//!
//! A connection is woken for the shutdown through a registry of wakers in the [`Shutdown`]
//! itself, not through a waiter of its own in the cancellation token: a token's waiter lives in
//! the waiting future (72 bytes of list links, waker and state), and that future would sit in
//! every connection's task for its whole life. A registered watch is one key (the waker is in
//! the registry), so the task is smaller by a jemalloc size class (see BENCHMARKS.md, "Idle
//! memory").

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use slab::Slab;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

/// The server's shutdown as one accept loop's connections see it: the token every
/// connection's own token is a child of, and (for the server's own) a flag set just before it
/// is cancelled, which a connection reads without a lock on every turn of its loop, with the
/// wakers of the connections that wait for it.
#[derive(Debug)]
pub(crate) struct Shutdown {
    pub(crate) token: CancellationToken,
    /// `None` for a token handed to [`Ctx::new`](crate::Ctx::new), which may be cancelled from
    /// anywhere: watchers then wait on the token itself.
    begun: Option<Begun>,
}

/// The server's own shutdown: the flag, and who to wake when it is set.
#[derive(Debug, Default)]
struct Begun {
    flag: AtomicBool,
    /// The waker of each connection that watches, under the key its [`Watch`] keeps. Only a
    /// watch removes its entry (when dropped): `begin` wakes them where they are, so a key is
    /// never reused while its watch lives.
    waiters: Mutex<Slab<Waker>>,
}

impl Shutdown {
    /// The shutdown of one accept loop, begun with [`begin`](Shutdown::begin).
    pub(crate) fn new() -> Arc<Shutdown> {
        Arc::new(Shutdown {
            token: CancellationToken::new(),
            begun: Some(Begun::default()),
        })
    }

    /// A shutdown that follows `token` alone (a hand-made context's).
    pub(crate) fn following(token: CancellationToken) -> Arc<Shutdown> {
        Arc::new(Shutdown { token, begun: None })
    }

    /// Signals every connection and every token made from this one.
    pub(crate) fn begin(&self) {
        if let Some(begun) = &self.begun {
            // Before the wake-ups: a woken watcher finds it set, and one that registers after
            // the wake-ups took the lock finds it set once it has the lock.
            begun.flag.store(true, Ordering::Release);
            let waiters = begun.waiters.lock().unwrap_or_else(PoisonError::into_inner);
            for (_, waker) in waiters.iter() {
                waker.wake_by_ref();
            }
        }
        self.token.cancel();
    }

    /// Whether the flag says it has begun (always `false` without one).
    pub(crate) fn flagged(&self) -> bool {
        self.begun
            .as_ref()
            .is_some_and(|begun| begun.flag.load(Ordering::Acquire))
    }

    /// A watch on this shutdown, for one connection's task.
    pub(crate) fn watch(&self) -> Watch<'_> {
        Watch {
            shutdown: self,
            state: WatchState::New,
        }
    }
}

/// Waits for the server's shutdown: a future a connection keeps for its whole life and polls
/// on every turn. The first poll puts the task's waker in the shutdown's registry (a lock);
/// later polls read only the flag, so a busy connection takes no lock per turn.
///
/// That relies on every poll carrying the same waker, as the connection's sleep does: a watch
/// belongs to one connection's task (`accept` spawns one per connection) for its whole life.
#[derive(Debug)]
pub(crate) struct Watch<'a> {
    shutdown: &'a Shutdown,
    state: WatchState<'a>,
}

#[derive(Debug)]
enum WatchState<'a> {
    /// Not polled yet.
    New,
    /// The task's waker is in the shutdown's registry under this key.
    Registered(usize),
    /// A hand-made context's token, which has no registry: its own wait, boxed (only handler
    /// tests and hand-made contexts take this way).
    Token(Pin<Box<WaitForCancellationFuture<'a>>>),
}

impl Future for Watch<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(begun) = &this.shutdown.begun else {
            if !matches!(this.state, WatchState::Token(_)) {
                this.state = WatchState::Token(Box::pin(this.shutdown.token.cancelled()));
            }
            let WatchState::Token(wait) = &mut this.state else {
                unreachable!("set just above");
            };
            return wait.as_mut().poll(cx);
        };
        if begun.flag.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        if matches!(this.state, WatchState::Registered(_)) {
            // `begin` sets the flag before it wakes the registered waker.
            return Poll::Pending;
        }
        let mut waiters = begun.waiters.lock().unwrap_or_else(PoisonError::into_inner);
        this.state = WatchState::Registered(waiters.insert(cx.waker().clone()));
        // Read under the lock: a `begin` that woke the registry before this entry was in it
        // had set the flag first.
        if begun.flag.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        if let (WatchState::Registered(key), Some(begun)) = (&self.state, &self.shutdown.begun) {
            let mut waiters = begun.waiters.lock().unwrap_or_else(PoisonError::into_inner);
            waiters.try_remove(*key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;

    fn registered(shutdown: &Shutdown) -> usize {
        let begun = shutdown.begun.as_ref().unwrap();
        begun.waiters.lock().unwrap().len()
    }

    #[test]
    fn a_watch_registers_once_and_leaves_the_registry_when_dropped() {
        let shutdown = Shutdown::new();
        let mut cx = Context::from_waker(Waker::noop());
        let mut watches: Vec<_> = (0..3).map(|_| shutdown.watch()).collect();
        for watch in &mut watches {
            for _ in 0..3 {
                assert!(Pin::new(&mut *watch).poll(&mut cx).is_pending());
            }
        }
        assert_eq!(
            registered(&shutdown),
            3,
            "one entry per watch, however often polled"
        );
        watches.remove(1);
        assert_eq!(registered(&shutdown), 2);
        // A freed key goes to the next watch, and the others keep theirs.
        let mut late = shutdown.watch();
        assert!(Pin::new(&mut late).poll(&mut cx).is_pending());
        drop(watches);
        assert_eq!(registered(&shutdown), 1);
        drop(late);
        assert_eq!(registered(&shutdown), 0);
    }

    #[test]
    fn a_begun_shutdown_is_ready_for_every_watch_registered_or_not() {
        let shutdown = Shutdown::new();
        let mut cx = Context::from_waker(Waker::noop());
        let mut early = shutdown.watch();
        assert!(Pin::new(&mut early).poll(&mut cx).is_pending());
        shutdown.begin();
        assert!(shutdown.token.is_cancelled());
        assert!(Pin::new(&mut early).poll(&mut cx).is_ready());
        let mut late = shutdown.watch();
        assert!(Pin::new(&mut late).poll(&mut cx).is_ready());
        drop(early);
        assert_eq!(registered(&shutdown), 0, "the late watch never registered");
    }
}
