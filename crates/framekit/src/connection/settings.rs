//! What a connection may hold and how long it may wait: [`Settings`], with a bounded default for
//! every limit, and [`Timeout`], a duration that can say "never".
//!
//! No setting can make the machine panic: sizes are clamped to what makes sense (a low water mark
//! above the high one is the high one), and a deadline too far to represent is no deadline.

use std::time::{Duration, Instant};

/// How long something may take, or [`Timeout::Never`].
///
/// Arithmetic saturates: a deadline too far in the future for an `Instant` is treated as never,
/// so `Timeout::from(Duration::MAX)` is accepted and never fires.
///
/// ```
/// use std::time::{Duration, Instant};
/// use framekit::connection::Timeout;
///
/// let now = Instant::now();
/// assert_eq!(Timeout::Never.deadline(now), None);
/// assert_eq!(Timeout::from(Duration::MAX).deadline(now), None);
/// assert_eq!(Timeout::from(Duration::from_secs(1)).deadline(now), Some(now + Duration::from_secs(1)));
/// assert_eq!(Timeout::from(None), Timeout::Never);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timeout {
    /// No deadline: the timer is never armed.
    Never,
    /// The deadline is this long after the moment it is armed.
    After(Duration),
}

impl Timeout {
    /// The deadline when armed at `from`; `None` for [`Timeout::Never`] and for a deadline an
    /// `Instant` cannot represent.
    pub fn deadline(self, from: Instant) -> Option<Instant> {
        match self {
            Timeout::Never => None,
            Timeout::After(after) => from.checked_add(after),
        }
    }
}

impl From<Duration> for Timeout {
    fn from(after: Duration) -> Self {
        Timeout::After(after)
    }
}

impl From<Option<Duration>> for Timeout {
    fn from(after: Option<Duration>) -> Self {
        after.map_or(Timeout::Never, Timeout::After)
    }
}

/// The limits and timeouts of one connection, with bounded defaults.
///
/// | setting | default | what it bounds |
/// |---|---|---|
/// | [`input_budget`](Settings::input_budget) | 64 KiB | bytes read but not yet consumed; a frame that needs more closes the connection |
/// | [`high_water`](Settings::high_water) | 64 KiB | bytes owed to the peer before the machine stops taking new exchanges |
/// | [`low_water`](Settings::low_water) | 16 KiB | owed bytes below which it takes new exchanges again |
/// | [`max_in_flight`](Settings::max_in_flight) | 64 | exchanges started and not yet finished |
/// | [`idle`](Settings::idle) | 60 s | time with nothing in flight, owed or arriving |
/// | [`exchange`](Settings::exchange) | never | time from an exchange's start to its answer |
/// | [`write`](Settings::write) | 30 s | time with bytes owed and none written |
/// | [`frame`](Settings::frame) | 10 s | time from a message's first byte to its last (slowloris) |
///
/// ```
/// use std::time::Duration;
/// use framekit::connection::{Settings, Timeout};
///
/// let settings = Settings::default()
///     .idle(Timeout::Never)
///     .exchange(Duration::from_secs(5))
///     .high_water(1 << 20)
///     .low_water(usize::MAX); // clamped to the high water mark
/// assert_eq!(settings.low_water_mark(), 1 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub(crate) input_budget: usize,
    pub(crate) high_water: usize,
    pub(crate) low_water: usize,
    pub(crate) max_in_flight: usize,
    pub(crate) idle: Timeout,
    pub(crate) exchange: Timeout,
    pub(crate) write: Timeout,
    pub(crate) frame: Timeout,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            input_budget: 64 * 1024,
            high_water: 64 * 1024,
            low_water: 16 * 1024,
            max_in_flight: 64,
            idle: Timeout::After(Duration::from_secs(60)),
            exchange: Timeout::Never,
            write: Timeout::After(Duration::from_secs(30)),
            frame: Timeout::After(Duration::from_secs(10)),
        }
    }
}

impl Settings {
    /// Bytes read and not yet consumed, at most (at least 1).
    pub fn input_budget(mut self, bytes: usize) -> Self {
        self.input_budget = bytes.max(1);
        self
    }

    /// Bytes owed to the peer above which no new exchange starts (at least 1).
    pub fn high_water(mut self, bytes: usize) -> Self {
        self.high_water = bytes.max(1);
        self
    }

    /// Owed bytes below which new exchanges start again after the high water mark was reached
    /// (clamped to the high water mark when read: see [`low_water_mark`](Self::low_water_mark)).
    pub fn low_water(mut self, bytes: usize) -> Self {
        self.low_water = bytes;
        self
    }

    /// Exchanges started and not yet finished, at most (at least 1).
    pub fn max_in_flight(mut self, exchanges: usize) -> Self {
        self.max_in_flight = exchanges.max(1);
        self
    }

    /// How long the connection may have nothing in flight, owed or arriving before it closes.
    pub fn idle(mut self, timeout: impl Into<Timeout>) -> Self {
        self.idle = timeout.into();
        self
    }

    /// How long an exchange may wait for its answer, from the moment it started.
    pub fn exchange(mut self, timeout: impl Into<Timeout>) -> Self {
        self.exchange = timeout.into();
        self
    }

    /// How long bytes may be owed with none written before the connection is dropped.
    pub fn write(mut self, timeout: impl Into<Timeout>) -> Self {
        self.write = timeout.into();
        self
    }

    /// How long a message may take to arrive whole once its first byte has: the guard against
    /// a peer that sends a request a byte at a time (slowloris).
    pub fn frame(mut self, timeout: impl Into<Timeout>) -> Self {
        self.frame = timeout.into();
        self
    }

    /// The frame timeout in force.
    pub fn frame_timeout(&self) -> Timeout {
        self.frame
    }

    /// The input budget in force.
    pub fn input_budget_bytes(&self) -> usize {
        self.input_budget
    }

    /// The high water mark in force.
    pub fn high_water_mark(&self) -> usize {
        self.high_water
    }

    /// The low water mark in force: never above the high water mark.
    pub fn low_water_mark(&self) -> usize {
        self.low_water.min(self.high_water)
    }

    /// The bound on exchanges in flight.
    pub fn in_flight_limit(&self) -> usize {
        self.max_in_flight
    }

    /// The exchange timeout: how long an exchange may take from its request to its answer.
    pub fn exchange_timeout(&self) -> Timeout {
        self.exchange
    }

    /// The idle, exchange and write timeouts, in that order.
    pub fn timeouts(&self) -> (Timeout, Timeout, Timeout) {
        (self.idle, self.exchange, self.write)
    }
}
