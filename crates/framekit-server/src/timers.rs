//! The clocks of a connection's setup stages and its close (the machine keeps the timers of
//! everything in between): every timeout is one [`Timer`] in one [`TimerTable`], and one
//! `tokio` sleep waits for the earliest.
//!
//! The sleep is moved earlier when a deadline comes closer, but never later: a deadline that
//! moved later is found when the sleep fires early, and only then is the sleep re-armed.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::time::{Instant, Sleep};

use crate::config::{expiry, expiry_or_far, Timeout};

/// One of the connection's timeouts. When several expire at once, the first in this order is
/// the one reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Setup: the PROXY protocol preamble must arrive in time (armed by the preamble stage).
    Preamble,
    /// Setup: the TLS handshake must finish in time (armed by the handshake stage).
    Handshake,
    /// Queued output the peer does not read; also bounds the final write-side shutdown.
    Write,
    /// A closing connection reads and discards what the peer still sends.
    Linger,
}

/// How many timers there are.
const TIMERS: usize = 4;

impl Timer {
    /// Every timer, in the order expiries are reported.
    pub(crate) const ALL: [Timer; TIMERS] = [
        Timer::Preamble,
        Timer::Handshake,
        Timer::Write,
        Timer::Linger,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// The deadline of every [`Timer`] (or none).
#[derive(Debug, Default)]
pub(crate) struct TimerTable {
    deadlines: [Option<Instant>; TIMERS],
}

impl TimerTable {
    /// Arms `timer` to expire at `at`, or disarms it with `None`.
    pub(crate) fn set(&mut self, timer: Timer, at: Option<Instant>) {
        self.deadlines[timer.index()] = at;
    }

    /// Disarms every timer.
    pub(crate) fn clear(&mut self) {
        self.deadlines = [None; TIMERS];
    }

    /// The earliest deadline, if any timer is armed.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// The timer that has expired at `now`, if any (the first in [`Timer::ALL`] order).
    pub(crate) fn expired(&self, now: Instant) -> Option<Timer> {
        Timer::ALL
            .into_iter()
            .find(|t| self.deadlines[t.index()].is_some_and(|at| at <= now))
    }

    /// Waits on `sleep` for the first armed timer to expire, and says which. Pending forever
    /// while no timer is armed.
    pub(crate) fn poll_expired(
        &self,
        mut sleep: Pin<&mut Sleep>,
        cx: &mut Context<'_>,
    ) -> Poll<Timer> {
        loop {
            let Some(next) = self.next() else {
                return Poll::Pending;
            };
            ready!(poll_until(sleep.as_mut(), next, cx));
            if let Some(timer) = self.expired(Instant::now()) {
                return Poll::Ready(timer);
            }
        }
    }
}

/// Runs a setup stage's `work` (the TLS handshake, for one) under `timer`, armed `after` from
/// now: the stage is bounded by a deadline of the table like every other timeout of the
/// connection. `Err(timer)` when it expired before `work` finished (which is then dropped).
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub(crate) async fn within<F: Future>(
    timer: Timer,
    after: Timeout,
    work: F,
) -> Result<F::Output, Timer> {
    let now = Instant::now();
    let mut table = TimerTable::default();
    // With no timeout the table stays empty and only `work` ends the stage.
    table.set(timer, expiry(after, now));
    let sleep = tokio::time::sleep_until(expiry_or_far(after, now));
    tokio::pin!(sleep);
    tokio::pin!(work);
    poll_fn(|cx| {
        // The work first: a stage that finishes at its deadline has finished.
        if let Poll::Ready(out) = work.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        table.poll_expired(sleep.as_mut(), cx).map(Err)
    })
    .await
}

/// Waits on `sleep` until `at`, moving it earlier but never later (see the module doc): a
/// sleep armed for an earlier deadline fires early, and is re-armed for `at` only then.
pub(crate) fn poll_until(
    mut sleep: Pin<&mut Sleep>,
    at: Instant,
    cx: &mut Context<'_>,
) -> Poll<()> {
    loop {
        let armed = sleep.deadline();
        if at < armed || (sleep.is_elapsed() && at != armed) {
            sleep.as_mut().reset(at);
        }
        ready!(sleep.as_mut().poll(cx));
        if Instant::now() >= at {
            return Poll::Ready(());
        }
        // Fired early: the deadline it was armed for moved later. Re-armed on the next
        // round of the loop, which also registers the waker again.
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_stage_within_its_timer_ends_at_the_deadline_or_when_done() {
        let start = Instant::now();
        let never = within(
            Timer::Handshake,
            Duration::from_secs(10).into(),
            std::future::pending::<()>(),
        );
        assert_eq!(never.await, Err(Timer::Handshake));
        assert_eq!(Instant::now() - start, Duration::from_secs(10));

        let start = Instant::now();
        let work = tokio::time::sleep(Duration::from_secs(4));
        let done = within(Timer::Handshake, Duration::from_secs(10).into(), async {
            work.await;
            7
        });
        assert_eq!(done.await, Ok(7));
        assert_eq!(Instant::now() - start, Duration::from_secs(4));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stage_with_no_timeout_ends_only_when_done() {
        for after in [Timeout::Never, Timeout::After(Duration::MAX)] {
            let never = within(Timer::Handshake, after, std::future::pending::<()>());
            let year = Duration::from_secs(365 * 24 * 3600);
            assert!(
                tokio::time::timeout(year, never).await.is_err(),
                "{after:?}"
            );
            let done = within(Timer::Handshake, after, async { 7 });
            assert_eq!(done.await, Ok(7));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_earliest_armed_timer_is_the_one_that_expires() {
        let start = Instant::now();
        let mut table = TimerTable::default();
        table.set(Timer::Linger, Some(start + Duration::from_secs(60)));
        table.set(Timer::Write, Some(start + Duration::from_secs(10)));
        table.set(Timer::Preamble, Some(start + Duration::from_secs(30)));
        let sleep = tokio::time::sleep_until(start + Duration::from_secs(60));
        tokio::pin!(sleep);
        let fired = poll_fn(|cx| table.poll_expired(sleep.as_mut(), cx)).await;
        assert_eq!(fired, Timer::Write);
        assert_eq!(Instant::now() - start, Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_moved_later_is_honoured_after_an_early_wake() {
        let start = Instant::now();
        let mut table = TimerTable::default();
        table.set(Timer::Linger, Some(start + Duration::from_secs(1)));
        let sleep = tokio::time::sleep_until(start + Duration::from_secs(1));
        tokio::pin!(sleep);
        // Activity moved the idle deadline later; the sleep still fires at 1 s, finds nothing
        // expired, and waits on.
        table.set(Timer::Linger, Some(start + Duration::from_secs(5)));
        let fired = poll_fn(|cx| table.poll_expired(sleep.as_mut(), cx)).await;
        assert_eq!(fired, Timer::Linger);
        assert_eq!(Instant::now() - start, Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_armed_never_fires_and_ties_go_in_table_order() {
        let start = Instant::now();
        let mut table = TimerTable::default();
        assert_eq!(table.next(), None);
        let sleep = tokio::time::sleep_until(start + Duration::from_secs(1));
        tokio::pin!(sleep);
        let waited = tokio::time::timeout(
            Duration::from_secs(3600),
            poll_fn(|cx| table.poll_expired(sleep.as_mut(), cx)),
        )
        .await;
        assert!(waited.is_err(), "no timer armed, none fired");

        let at = Instant::now() + Duration::from_secs(2);
        for timer in Timer::ALL.into_iter().rev() {
            table.set(timer, Some(at));
        }
        assert_eq!(table.expired(at - Duration::from_millis(1)), None);
        assert_eq!(table.expired(at), Some(Timer::Preamble));
        table.set(Timer::Preamble, None);
        table.set(Timer::Handshake, None);
        assert_eq!(table.expired(at), Some(Timer::Write));
        table.clear();
        assert_eq!(table.next(), None);
    }
}
