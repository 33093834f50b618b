//! The server's shutdown as its connections watch it: [`Shutdown`], one per accept loop,
//! polled on every turn of each connection's loop through [`Shutdown::poll_watch`].
//!
//! A connection is woken for the shutdown through a registry of wakers in the [`Shutdown`]
//! itself, not through a waiter of its own in the cancellation token: a token's waiter lives in
//! the waiting future (72 bytes of list links, waker and state), and that future would sit in
//! every connection's task for its whole life. A connection's entry is one key, kept in its
//! context ([`Registration`]); the loop itself keeps a [`Watch`] of 8 bytes (see
//! BENCHMARKS.md, "Idle memory").

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use slab::Slab;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

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
    /// The waker of each connection that watches, under the key its [`Registration`] keeps.
    /// Only a registration removes its entry ([`Shutdown::unregister`]): `begin` wakes them
    /// where they are, so a key is never reused while its registration holds it.
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

    /// Whether the shutdown has begun, for the connection whose registration is
    /// `registration`: the first poll puts the task's waker in the registry (a lock), later
    /// polls read only the flag, so a busy connection takes no lock per turn. `watch` is the
    /// connection loop's own part (used only for a hand-made context's token).
    ///
    /// That relies on every poll carrying the same waker, as the connection's sleep does: a
    /// registration belongs to one connection's task (`accept` spawns one per connection)
    /// for its whole life.
    #[inline]
    pub(crate) fn poll_watch(
        &self,
        registration: &Registration,
        watch: &mut Watch,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        let Some(begun) = &self.begun else {
            let wait = watch
                .token
                .get_or_insert_with(|| Box::pin(self.token.clone().cancelled_owned()));
            return wait.as_mut().poll(cx);
        };
        if begun.flag.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        if registration.key().is_some() {
            // `begin` sets the flag before it wakes the registered waker.
            return Poll::Pending;
        }
        let mut waiters = begun.waiters.lock().unwrap_or_else(PoisonError::into_inner);
        registration.set(waiters.insert(cx.waker().clone()));
        // Read under the lock: a `begin` that woke the registry before this entry was in it
        // had set the flag first.
        if begun.flag.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// Takes `registration`'s waker out of the registry, if it is in it.
    pub(crate) fn unregister(&self, registration: &Registration) {
        if let (Some(key), Some(begun)) = (registration.take(), &self.begun) {
            let mut waiters = begun.waiters.lock().unwrap_or_else(PoisonError::into_inner);
            waiters.try_remove(key);
        }
    }
}

/// Where one connection's waker is in the shutdown's registry, if it is: kept in the
/// connection's context (whose allocation had the room), so the connection's future carries
/// nothing for it. Only the connection's loop registers, through the `Live` context it holds,
/// which takes the entry out of the registry when it is dropped (the loop ended, however).
#[derive(Debug, Default)]
pub(crate) struct Registration(AtomicUsize);

impl Registration {
    /// 0 is "not registered"; a key is kept plus one.
    fn key(&self) -> Option<usize> {
        self.0.load(Ordering::Acquire).checked_sub(1)
    }

    fn set(&self, key: usize) {
        self.0.store(key.saturating_add(1), Ordering::Release);
    }

    fn take(&self) -> Option<usize> {
        self.0.swap(0, Ordering::AcqRel).checked_sub(1)
    }
}

/// What a connection's loop keeps to watch the shutdown: nothing for the server's own (the
/// registration is in the context), and for a hand-made context's token, which has no
/// registry, its own wait, boxed (only handler tests and hand-made contexts take this way).
#[derive(Debug, Default)]
pub(crate) struct Watch {
    token: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;

    fn registered(shutdown: &Shutdown) -> usize {
        let begun = shutdown.begun.as_ref().unwrap();
        begun.waiters.lock().unwrap().len()
    }

    fn poll(shutdown: &Shutdown, registration: &Registration) -> Poll<()> {
        let mut cx = Context::from_waker(Waker::noop());
        shutdown.poll_watch(registration, &mut Watch::default(), &mut cx)
    }

    #[test]
    fn a_connection_registers_once_and_leaves_the_registry_when_it_unregisters() {
        let shutdown = Shutdown::new();
        let registrations: Vec<_> = (0..3).map(|_| Registration::default()).collect();
        for registration in &registrations {
            for _ in 0..3 {
                assert!(poll(&shutdown, registration).is_pending());
            }
        }
        assert_eq!(
            registered(&shutdown),
            3,
            "one entry per connection, however often polled"
        );
        shutdown.unregister(&registrations[1]);
        shutdown.unregister(&registrations[1]);
        assert_eq!(registered(&shutdown), 2, "a second unregister does nothing");
        // A freed key goes to the next registration, and the others keep theirs.
        let late = Registration::default();
        assert!(poll(&shutdown, &late).is_pending());
        assert_eq!(late.key(), Some(1));
        for registration in registrations.iter().chain([&late]) {
            shutdown.unregister(registration);
        }
        assert_eq!(registered(&shutdown), 0);
    }

    #[test]
    fn a_begun_shutdown_is_ready_for_every_connection_registered_or_not() {
        let shutdown = Shutdown::new();
        let early = Registration::default();
        assert!(poll(&shutdown, &early).is_pending());
        shutdown.begin();
        assert!(shutdown.token.is_cancelled());
        assert!(poll(&shutdown, &early).is_ready());
        let late = Registration::default();
        assert!(poll(&shutdown, &late).is_ready());
        assert_eq!(late.key(), None, "the late connection never registered");
        shutdown.unregister(&early);
        assert_eq!(registered(&shutdown), 0);
    }
}
