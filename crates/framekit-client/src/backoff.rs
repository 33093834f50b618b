//! Reconnecting after a failed connect: exponential backoff with jitter, bounded in its
//! longest pause and in its number of attempts, or no retry at all ([`Reconnect::Never`]).
//!
//! The pause before retry `n` (0-based) is `first * factor^n`, capped at `max`, then jittered so
//! that many clients that lost the same server do not return in step. Arithmetic saturates.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::Duration;

/// Default pause before the first retry.
///
/// ```
/// assert_eq!(framekit_client::backoff::DEFAULT_FIRST, std::time::Duration::from_millis(10));
/// ```
pub const DEFAULT_FIRST: Duration = Duration::from_millis(10);
/// Default longest pause between attempts.
///
/// ```
/// assert_eq!(framekit_client::backoff::DEFAULT_MAX, std::time::Duration::from_secs(2));
/// ```
pub const DEFAULT_MAX: Duration = Duration::from_secs(2);
/// Default retries after the first attempt (so at most 9 connects in all, about 4 s of pauses).
///
/// ```
/// assert_eq!(framekit_client::backoff::DEFAULT_RETRIES, 8);
/// ```
pub const DEFAULT_RETRIES: u32 = 8;

/// How the pause is randomised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// The computed pause, exactly.
    None,
    /// Half the pause, plus a random part of the other half (never less than half).
    #[default]
    Equal,
    /// A random pause between zero and the computed one.
    Full,
}

/// Exponential backoff, bounded in pause and in retries.
///
/// ```
/// use std::time::Duration;
/// use framekit_client::{Backoff, Jitter};
///
/// let backoff = Backoff::default()
///     .first(Duration::from_millis(100))
///     .max(Duration::from_millis(350))
///     .jitter(Jitter::None);
/// assert_eq!(backoff.pause(0, 0), Duration::from_millis(100));
/// assert_eq!(backoff.pause(1, 0), Duration::from_millis(200));
/// assert_eq!(backoff.pause(2, 0), Duration::from_millis(350)); // capped
/// assert_eq!(backoff.pause(u32::MAX, 0), Duration::from_millis(350)); // saturates
/// assert_eq!(backoff.pauses().count(), 8);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    factor: u32,
    jitter: Jitter,
    retries: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: DEFAULT_FIRST,
            max: DEFAULT_MAX,
            factor: 2,
            jitter: Jitter::Equal,
            retries: DEFAULT_RETRIES,
        }
    }
}

impl Backoff {
    /// The pause before the first retry.
    pub fn first(mut self, first: Duration) -> Self {
        self.first = first;
        self
    }

    /// The longest pause (at least the first).
    pub fn max(mut self, max: Duration) -> Self {
        self.max = max;
        self
    }

    /// How much each pause grows (at least 1: constant pauses).
    pub fn factor(mut self, factor: u32) -> Self {
        self.factor = factor.max(1);
        self
    }

    /// How pauses are randomised.
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Retries after the first attempt, at most.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Retries after the first attempt, at most.
    pub fn retry_limit(&self) -> u32 {
        self.retries
    }

    /// The pause before retry `retry` (0-based), jittered with `random` (any value: a
    /// deterministic pause for tests, a random one for [`pauses`](Self::pauses)).
    pub fn pause(&self, retry: u32, random: u64) -> Duration {
        let cap = self.max.max(self.first);
        let growth = self.factor.saturating_pow(retry);
        let base = self.first.saturating_mul(growth).min(cap);
        let nanos = u64::try_from(base.as_nanos()).unwrap_or(u64::MAX);
        let jittered = match self.jitter {
            Jitter::None => nanos,
            Jitter::Equal => {
                let half = nanos / 2;
                half.saturating_add(random % (nanos - half).saturating_add(1))
            }
            Jitter::Full => random % nanos.saturating_add(1),
        };
        Duration::from_nanos(jittered)
    }

    /// The pauses of one reconnect run, `retries` of them, randomly jittered.
    pub fn pauses(&self) -> Pauses {
        Pauses {
            backoff: *self,
            next: 0,
            state: seed(),
        }
    }
}

/// The pauses of one reconnect run ([`Backoff::pauses`]).
#[derive(Debug, Clone)]
pub struct Pauses {
    backoff: Backoff,
    next: u32,
    state: u64,
}

impl Iterator for Pauses {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self.next >= self.backoff.retries {
            return None;
        }
        // xorshift64*: enough randomness to spread clients apart, no dependency.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let random = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let pause = self.backoff.pause(self.next, random);
        self.next += 1;
        Some(pause)
    }
}

/// A per-run seed from std's randomly keyed hasher (never zero: xorshift would stay at zero).
fn seed() -> u64 {
    RandomState::new().hash_one(0x5eed_u64) | 1
}

/// Whether and how to connect again after a failed connect.
///
/// ```
/// use framekit_client::{Backoff, Reconnect};
///
/// assert_eq!(Reconnect::Never.retry_limit(), 0);
/// assert_eq!(Reconnect::default(), Reconnect::Backoff(Backoff::default()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconnect {
    /// One attempt; its failure is the caller's.
    Never,
    /// Retry under this backoff.
    Backoff(Backoff),
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect::Backoff(Backoff::default())
    }
}

impl Reconnect {
    /// Retries after the first attempt, at most.
    pub fn retry_limit(&self) -> u32 {
        match self {
            Reconnect::Never => 0,
            Reconnect::Backoff(b) => b.retry_limit(),
        }
    }

    /// The pauses of one reconnect run (none for [`Reconnect::Never`]).
    pub fn pauses(&self) -> Pauses {
        let backoff = match self {
            Reconnect::Never => Backoff::default().retries(0),
            Reconnect::Backoff(b) => *b,
        };
        backoff.pauses()
    }
}

#[cfg(test)]
mod tests;
