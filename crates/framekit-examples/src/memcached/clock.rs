//! memcached's clock: whole seconds since a start time (its `rel_time_t`), and how an
//! expiry a client gives (relative, a Unix time, or negative) becomes a time on that clock.

/// memcached's `REALTIME_MAXDELTA`: an expiry up to 30 days is relative, above it a Unix time.
const REALTIME_MAXDELTA: i64 = 60 * 60 * 24 * 30;
/// memcached's `ITEM_UPDATE_INTERVAL`: an item's last-access time moves at most this often.
pub(crate) const ITEM_UPDATE_INTERVAL: u32 = 60;

/// memcached's clock: seconds since a start time set 62 s in the past (as memcached sets it),
/// so that no live time is 0 and "expired at 1" is always in the past.
///
/// ```
/// use framekit_examples::memcached::Clock;
/// let clock = Clock::started_at(1_700_000_000);
/// assert_eq!(clock.now(1_700_000_000), 62);
/// assert_eq!(clock.expiry(10, 62), 72); // relative
/// assert_eq!(clock.expiry(1_700_000_100, 62), 162); // a Unix time
/// assert_eq!(clock.expiry(-1, 62), 1); // negative: already expired
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    started: i64,
}

impl Clock {
    /// A clock for a server started at Unix time `unix`.
    pub fn started_at(unix: i64) -> Self {
        Clock {
            started: unix.saturating_sub(i64::from(ITEM_UPDATE_INTERVAL) + 2),
        }
    }

    /// A clock started now.
    pub fn system() -> Self {
        Clock::started_at(unix_now())
    }

    /// The store time at Unix time `unix`.
    pub fn now(&self, unix: i64) -> u32 {
        u32::try_from(unix.saturating_sub(self.started).max(1)).unwrap_or(u32::MAX)
    }

    /// The store time now.
    pub fn now_system(&self) -> u32 {
        self.now(unix_now())
    }

    /// The Unix time at store time `at` (for `stats time`).
    pub fn unix(&self, at: u32) -> i64 {
        self.started.saturating_add(i64::from(at))
    }

    /// memcached's `realtime(EXPTIME_TO_POSITIVE_TIME(exptime))`: 0 never expires, up to 30
    /// days is relative to `now`, more is a Unix time (in the past: 1, expired), negative is
    /// expired.
    pub fn expiry(&self, exptime: i32, now: u32) -> u32 {
        let exptime = if exptime < 0 {
            REALTIME_MAXDELTA + 1
        } else {
            i64::from(exptime)
        };
        if exptime == 0 {
            0
        } else if exptime > REALTIME_MAXDELTA {
            if exptime <= self.started {
                1
            } else {
                u32::try_from(exptime - self.started).unwrap_or(u32::MAX)
            }
        } else {
            u32::try_from(exptime + i64::from(now)).unwrap_or(u32::MAX)
        }
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
