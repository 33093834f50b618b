//! Skipping an over-long frame by its declared length (Netty's discarding mode): the bytes are
//! dropped as they arrive, never buffered, and the frame is reported once.

use super::{LengthPrefixed, State};
use crate::framing::{Decision, SkipReport};

/// An over-long frame being dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Skip {
    /// The frame's declared length, header included.
    frame: u64,
    /// Bytes of it not dropped yet.
    left: u64,
    /// Report when the header is read (fail fast) rather than once the frame is gone.
    fail_fast: bool,
    /// The configured maximum the frame broke, for the report.
    max: usize,
}

impl Skip {
    /// A frame of `frame` bytes (header included) over the maximum `max`, to skip from its
    /// first byte.
    pub(super) fn new(frame: u64, fail_fast: bool, max: usize) -> Self {
        Skip {
            frame,
            left: frame,
            fail_fast,
            max,
        }
    }

    fn dropped(&self) -> u64 {
        self.frame - self.left
    }

    /// The stream ended inside the skipped frame: drop what is left in the buffer, and report
    /// the frame now unless that was done when its header was read. `None` when there is
    /// neither a byte to drop nor a report to give: a zero-byte discard that reports nothing
    /// breaks the decoding contract.
    pub(super) fn end_of_stream(&self, buffered: usize) -> Option<Decision> {
        let report =
            (!self.fail_fast).then(|| SkipReport::new(self.frame, self.dropped(), self.max));
        (buffered > 0 || report.is_some()).then_some(Decision::Discard {
            len: buffered,
            skipped_frame: report,
        })
    }
}

impl LengthPrefixed {
    /// Drops what `buf` holds of the frame being skipped, and says whether this piece reports
    /// it: the first one under fail fast, the last one otherwise. Nothing is examined.
    pub(super) fn skip(&mut self, mut skip: Skip, buf: &[u8]) -> Decision {
        if buf.is_empty() {
            self.state = State::Skipping(skip);
            return Decision::incomplete(1);
        }
        let first = skip.left == skip.frame;
        let before = skip.dropped();
        // Never ask for the rest: the caller would buffer it all before asking again.
        let piece = skip.left.min(buf.len() as u64);
        skip.left -= piece;
        let report = match skip.fail_fast {
            true => first,
            false => skip.left == 0,
        };
        self.state = match skip.left {
            0 => State::Header,
            _ => State::Skipping(skip),
        };
        Decision::Discard {
            // piece <= buf.len(): it fits a usize.
            len: piece as usize,
            skipped_frame: report.then(|| SkipReport::new(skip.frame, before, skip.max)),
        }
    }
}
