//! What a proxy does to the bytes of one direction ([`Faults`]) and of both ([`Plan`]).
//!
//! Byte positions count the bytes forwarded in that direction on one connection, from 0, so
//! "reset after 7" means the peer sees exactly 7 bytes and then a reset: a frame cut where the
//! test chose.

use std::time::Duration;

/// A pause in forwarding once `after` bytes went through, for `duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    /// Bytes forwarded before the pause.
    pub after: u64,
    /// How long forwarding pauses.
    pub duration: Duration,
}

/// The faults applied to one direction of every proxied connection. The default forwards
/// bytes as they come.
///
/// ```
/// use std::time::Duration;
/// use framekit_testproxy::Faults;
///
/// let faults = Faults::default().sliced().latency(Duration::from_millis(1)).reset_after(5);
/// assert!(faults.is_sliced());
/// assert_eq!(faults.reset_position(), Some(5));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    latency: Option<Duration>,
    sliced: bool,
    stall: Option<Stall>,
    reset_after: Option<u64>,
    half_close_after: Option<u64>,
}

impl Faults {
    /// Each piece waits `latency` before it is written (with [`Faults::sliced`], each byte).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Bytes are written one at a time, one write each: the peer's reads see every chunking.
    pub fn sliced(mut self) -> Self {
        self.sliced = true;
        self
    }

    /// Forwarding pauses for `duration` once `after` bytes went through.
    pub fn stall(mut self, after: u64, duration: Duration) -> Self {
        self.stall = Some(Stall { after, duration });
        self
    }

    /// Once `after` bytes went through, both sockets of the connection are reset (RST).
    pub fn reset_after(mut self, after: u64) -> Self {
        self.reset_after = Some(after);
        self
    }

    /// Once `after` bytes went through, this direction is shut down (the peer reads EOF) and
    /// whatever else arrives for it is read and dropped; the other direction stays open.
    pub fn half_close_after(mut self, after: u64) -> Self {
        self.half_close_after = Some(after);
        self
    }

    /// The delay before each written piece, if any.
    pub fn latency_per_piece(&self) -> Option<Duration> {
        self.latency
    }

    /// Whether bytes go one at a time.
    pub fn is_sliced(&self) -> bool {
        self.sliced
    }

    /// The pause, if any.
    pub fn stall_point(&self) -> Option<Stall> {
        self.stall
    }

    /// The byte count at which the connection is reset, if any.
    pub fn reset_position(&self) -> Option<u64> {
        self.reset_after
    }

    /// The byte count at which this direction is shut down, if any.
    pub fn half_close_position(&self) -> Option<u64> {
        self.half_close_after
    }

    /// The next byte count, above `forwarded`, at which something happens: the forwarding loop
    /// never writes across it, so a fault lands on an exact byte.
    pub(crate) fn next_point(&self, forwarded: u64) -> Option<u64> {
        [
            self.stall.map(|s| s.after),
            self.reset_after,
            self.half_close_after,
        ]
        .into_iter()
        .flatten()
        .filter(|&p| p > forwarded)
        .min()
    }
}

/// The faults for both directions: `upstream` (client to target) and `downstream` (target to
/// client).
///
/// ```
/// use framekit_testproxy::{Faults, Plan};
///
/// let plan = Plan::default().downstream(Faults::default().half_close_after(3));
/// assert_eq!(plan.upstream_faults(), Faults::default());
/// assert_eq!(plan.downstream_faults().half_close_position(), Some(3));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Plan {
    upstream: Faults,
    downstream: Faults,
}

impl Plan {
    /// The same faults in both directions.
    pub fn both(faults: Faults) -> Self {
        Plan {
            upstream: faults,
            downstream: faults,
        }
    }

    /// Faults on the bytes the client sends.
    pub fn upstream(mut self, faults: Faults) -> Self {
        self.upstream = faults;
        self
    }

    /// Faults on the bytes the target answers.
    pub fn downstream(mut self, faults: Faults) -> Self {
        self.downstream = faults;
        self
    }

    /// Faults on the bytes the client sends.
    pub fn upstream_faults(&self) -> Faults {
        self.upstream
    }

    /// Faults on the bytes the target answers.
    pub fn downstream_faults(&self) -> Faults {
        self.downstream
    }
}
