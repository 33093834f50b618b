//! The read side's bookkeeping: how much of the read buffer a lent view took, the input budget,
//! the end of the peer's stream, and whether the codec already waits for more.
//!
//! The buffer itself is a field of its own in [`Connection`](super::Connection), so a view can
//! borrow it while this bookkeeping is updated: the bytes a view took are dropped by
//! [`Input::settle`] at the start of the machine's next call.

use std::time::Instant;

use bytes::{Buf, BytesMut};

/// How much spare room a read is offered at most, so one read never reserves the whole budget.
const READ_CHUNK: usize = 16 * 1024;
/// Spare room below which a read first grows the buffer by a [`READ_CHUNK`].
const MIN_READ: usize = 1024;

/// The budget itself is the settings' (shared by every connection), passed in.
#[derive(Debug, Default)]
pub(crate) struct Input {
    /// Bytes at the front of the buffer that a lent view took: dropped by the next `settle`.
    lent: usize,
    eof: bool,
    /// The codec answered "wait for more bytes" and nothing arrived since: asking again would
    /// change nothing (see the no-busy-loop law).
    settled: bool,
    /// Bytes decoded messages took from the stream so far (skipped bytes included).
    consumed: u64,
    /// When the first byte of the message at the front arrived (at the latest).
    started: Option<Instant>,
}

impl Input {
    /// Drops the bytes a view took.
    #[inline]
    pub(crate) fn settle(&mut self, buf: &mut BytesMut) {
        if self.lent > 0 {
            let lent = std::mem::take(&mut self.lent).min(buf.len());
            buf.advance(lent);
        }
    }

    /// A decoded message took `n` bytes of the stream.
    pub(crate) fn consumed(&mut self, n: usize) {
        self.consumed = self.consumed.saturating_add(n as u64);
    }

    /// Bytes decoded messages took so far.
    pub(crate) fn consumed_total(&self) -> u64 {
        self.consumed
    }

    pub(crate) fn eof(&self) -> bool {
        self.eof
    }

    /// Whether a read would be taken: the peer may still send and the budget has room.
    pub(crate) fn open(&self, buf: &BytesMut, budget: usize) -> bool {
        !self.eof && buf.len().saturating_sub(self.lent) < budget
    }

    /// Makes room in `buf` for a read, up to the budget: a buffer with a little room left is
    /// read into as it is (a burst of small requests fits), one without is grown by a chunk.
    pub(crate) fn reserve(&mut self, buf: &mut BytesMut, budget: usize) {
        self.settle(buf);
        let room = budget.saturating_sub(buf.len()).min(READ_CHUNK);
        let spare = buf.capacity().saturating_sub(buf.len());
        if spare < room.min(MIN_READ) {
            buf.reserve(room);
        }
    }

    /// Bytes arrived at `now`, after `before` were buffered.
    pub(crate) fn arrived(&mut self, before: usize, now: Instant) {
        self.settled = false;
        if before == 0 {
            self.started = Some(now);
        }
    }

    /// A message was taken at `now`: the next one's first byte arrived by then.
    pub(crate) fn took(&mut self, now: Instant) {
        self.started = Some(now);
    }

    /// While the codec waits for the rest of a message whose first bytes are buffered: since
    /// when they arrived.
    pub(crate) fn partial_since(&self, buf: &BytesMut) -> Option<Instant> {
        (self.settled && !self.eof && buf.len() > self.lent)
            .then_some(self.started)
            .flatten()
    }

    pub(crate) fn end(&mut self) {
        self.eof = true;
        self.settled = false;
    }

    pub(crate) fn settled(&self) -> bool {
        self.settled
    }

    pub(crate) fn mark_settled(&mut self) {
        self.settled = true;
    }

    /// Whether the buffer holds as much as the budget allows: a codec that still waits then
    /// waits for a message larger than the connection may hold.
    pub(crate) fn full(&self, buf: &BytesMut, budget: usize) -> bool {
        buf.len() >= budget
    }

    /// Records that a view took `len` bytes, dropped at the next [`settle`](Self::settle).
    pub(crate) fn lend(&mut self, len: usize) {
        self.lent = len;
    }

    /// Stops reading for good and forgets what is buffered.
    pub(crate) fn discard(&mut self, buf: &mut BytesMut) {
        *buf = BytesMut::new();
        self.lent = 0;
        self.eof = true;
        self.settled = true;
    }
}
