//! Every timer of a connection in one table: one variant of [`Timer`] each, one place to arm and
//! one to ask which expired, as quinn-proto's `TimerTable`.

use std::time::Instant;

/// A connection's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Nothing in flight, owed or arriving for the idle timeout.
    Idle,
    /// The oldest unfinished exchange reached its deadline.
    Exchange,
    /// Bytes owed and none written for the write timeout.
    Write,
    /// Part of a message buffered and the rest not arrived for the frame timeout (the
    /// slowloris guard).
    Frame,
}

impl Timer {
    const ALL: [Timer; 4] = [Timer::Idle, Timer::Exchange, Timer::Write, Timer::Frame];

    fn slot(self) -> usize {
        self as usize
    }
}

/// The armed deadlines, one slot per [`Timer`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TimerTable {
    deadlines: [Option<Instant>; 4],
}

impl TimerTable {
    /// Arms `timer` for `deadline`, or disarms it with `None`.
    pub(crate) fn set(&mut self, timer: Timer, deadline: Option<Instant>) {
        self.deadlines[timer.slot()] = deadline;
    }

    /// When `timer` fires, if armed.
    pub(crate) fn deadline(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer.slot()]
    }

    /// The earliest armed deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// The first timer (in [`Timer`] order) whose deadline is at or before `now`.
    pub(crate) fn expired(&self, now: Instant) -> Option<Timer> {
        Timer::ALL
            .into_iter()
            .find(|t| self.deadline(*t).is_some_and(|at| at <= now))
    }
}
