//! [`SkipReport`]: what a strategy says about a frame or block it skipped, which the codec
//! turns into [`FrameError::Skipped`] with the stream offset, the strategy's configured maximum
//! and, when the protocol has one, the reason it gives its peer.

#[cfg(doc)]
use crate::framing::Decision;
use crate::FrameError;

/// What a [`Decision::Discard`] reports about the frame (or protocol block) it skipped.
///
/// ```
/// use framekit::framing::SkipReport;
/// // The last 10 bytes of a 70,000-byte frame, whose first 69,990 were dropped before, under
/// // a maximum of 65,536.
/// let report = SkipReport::new(70_000, 69_990, 65_536);
/// let err = report.error(100_000);
/// assert_eq!(err.to_string(), "skipped an over-long frame of 70000 bytes at byte 30010 (maximum 65536)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkipReport {
    /// The frame's length: as declared by a length prefix (header included), as found for a
    /// delimiter (delimiter included), or what is known when a strategy fails fast.
    pub frame_len: u64,
    /// Bytes of the frame dropped before the piece that carries the report: the frame started
    /// that many bytes before the piece's first byte.
    pub dropped_before: u64,
    /// The maximum the strategy was configured with (the one the frame broke), as the user set
    /// it: not [`frame_limit`](super::Framing::frame_limit), which may add a kept delimiter or
    /// header.
    pub max: usize,
    /// Why the protocol refuses the frame, in its own words (memcached's `object too large for
    /// cache`), for the answer to the peer; `None` when the maximum says it all.
    pub reason: Option<&'static str>,
}

impl SkipReport {
    /// A report for a frame of `frame_len` bytes, `dropped_before` of them dropped already,
    /// over the configured maximum `max`.
    pub fn new(frame_len: u64, dropped_before: u64, max: usize) -> Self {
        SkipReport {
            frame_len,
            dropped_before,
            max,
            reason: None,
        }
    }

    /// The same report with the protocol's reason for refusing the frame, carried into
    /// [`FrameError::Skipped`] for the answer to the peer.
    ///
    /// ```
    /// use framekit::framing::SkipReport;
    /// let report = SkipReport::new(2_000_000, 0, 1 << 20).because("object too large for cache");
    /// let err = report.error(0);
    /// assert_eq!(err.reason(), Some("object too large for cache"));
    /// assert_eq!(
    ///     err.to_string(),
    ///     "skipped an over-long frame of 2000000 bytes at byte 0 (maximum 1048576): object too \
    ///      large for cache"
    /// );
    /// ```
    pub fn because(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    /// The [`FrameError::Skipped`] for this report, given the stream offset of the reporting
    /// piece's first byte.
    ///
    /// ```
    /// use framekit::{FrameError, framing::SkipReport};
    /// let err = SkipReport::new(9, 4, 8).error(10);
    /// assert!(matches!(err, FrameError::Skipped { len: 9, max: 8, offset: 6, reason: None }));
    /// ```
    pub fn error(&self, piece_start: u64) -> FrameError {
        FrameError::Skipped {
            len: self.frame_len,
            max: self.max,
            offset: piece_start.saturating_sub(self.dropped_before),
            reason: self.reason,
        }
    }
}
