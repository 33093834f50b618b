//! Timeouts that can say "never", and the one place this crate adds a duration to an instant.
//! [`Timeout`] is the core's ([`framekit::connection::Timeout`]), so the server's settings and
//! the connection machine's speak the same type; [`deadline`] is where a sum past what an
//! `Instant` can hold saturates to "never" instead of panicking, so `Duration::MAX` and
//! [`Timeout::Never`] mean the same: the timer is never armed and never fires.

use std::time::Duration;

use tokio::time::Instant;

pub use framekit::connection::Timeout;

/// The instant `after` past `from`, or `None` when it lies past anything the clock can hold
/// (it never comes). The one place this crate adds a duration to an instant.
pub(crate) fn deadline(from: Instant, after: Duration) -> Option<Instant> {
    from.checked_add(after)
}

/// When a timer of `timeout` started at `from` expires: `None` for [`Timeout::Never`], and
/// for a deadline past the clock's end (see [`deadline`]).
pub(crate) fn expiry(timeout: Timeout, from: Instant) -> Option<Instant> {
    limit(timeout).and_then(|after| deadline(from, after))
}

/// The duration of `timeout`, or `None` for [`Timeout::Never`].
pub(crate) fn limit(timeout: Timeout) -> Option<Duration> {
    match timeout {
        Timeout::Never => None,
        Timeout::After(after) => Some(after),
    }
}

/// For a sleep that must be armed with some instant: the expiry of `timeout` from `from`, or
/// one so far ahead that it stands for "never" (about thirty years, as tokio's own far future;
/// `from` itself when even that overflows, which only a clock near its end could reach).
pub(crate) fn expiry_or_far(timeout: Timeout, from: Instant) -> Instant {
    const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);
    expiry(timeout, from)
        .or_else(|| deadline(from, FAR))
        .unwrap_or(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_past_the_clock_is_never_instead_of_a_panic() {
        let now = Instant::now();
        let soon = Duration::from_secs(3);
        assert_eq!(deadline(now, Duration::MAX), None);
        assert_eq!(expiry(Timeout::After(Duration::MAX), now), None);
        assert_eq!(expiry(Timeout::Never, now), None);
        assert_eq!(expiry(Timeout::After(soon), now), Some(now + soon));
        let hour = now + Duration::from_secs(3600);
        assert!(expiry_or_far(Timeout::After(Duration::MAX), now) > hour);
        assert!(expiry_or_far(Timeout::Never, now) > hour);
        assert_eq!(expiry_or_far(Timeout::After(soon), now), now + soon);
        assert_eq!(limit(Timeout::from(None)), None);
        assert_eq!(limit(Timeout::from(soon)), Some(soon));
    }
}
