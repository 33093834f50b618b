//! Whether a backend is worth trying ([`Health`]): after a connect to it fails, its requests
//! are answered with an error at once for a pause (twemproxy's `server_retry_timeout`), instead
//! of each waiting for a connect of its own to fail; the first request after the pause tries
//! again. Without it, every request of a client queued behind a dead backend's requests waits
//! for their connects (and their deadlines) in turn.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// One backend's health: the instant (as nanoseconds after `epoch`) before which it is not
/// tried; 0 when it is up.
#[derive(Debug)]
pub struct Health {
    epoch: Instant,
    down_until: AtomicU64,
    pause: Duration,
}

impl Health {
    /// A backend that is up; a failed connect takes it out for `pause`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use framekit_examples::proxy::Health;
    ///
    /// let health = Health::new(Duration::from_millis(500));
    /// let now = Instant::now();
    /// assert_eq!(health.down_for(now), None);
    /// health.connect_failed(now);
    /// assert_eq!(health.down_for(now), Some(Duration::from_millis(500)));
    /// assert_eq!(health.down_for(now + Duration::from_millis(500)), None, "tried again");
    /// ```
    pub fn new(pause: Duration) -> Health {
        Health {
            epoch: Instant::now(),
            down_until: AtomicU64::new(0),
            pause,
        }
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// How much longer the backend is out at `now`, or `None` when it may be tried.
    pub fn down_for(&self, now: Instant) -> Option<Duration> {
        let until = self.down_until.load(Relaxed);
        let now = self.nanos(now);
        (until > now).then(|| Duration::from_nanos(until - now))
    }

    /// A connect to the backend failed at `now`: out for the pause from then.
    pub fn connect_failed(&self, now: Instant) {
        let until = self
            .nanos(now)
            .saturating_add(u64::try_from(self.pause.as_nanos()).unwrap_or(u64::MAX));
        self.down_until.fetch_max(until, Relaxed);
    }
}
