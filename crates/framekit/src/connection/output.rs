//! The write side: the bytes owed to the peer in the order they must leave, and the water
//! marks that stop new exchanges while too much is owed.
//!
//! The marks have hysteresis: once the owed bytes reach the high water mark, new exchanges wait
//! until they fall to the low one, so a connection near the mark does not flip every byte.

use bytes::{Buf, BytesMut};

use super::settings::Settings;

/// The marks themselves are the [`Settings`]' (shared by every connection), passed in.
#[derive(Debug, Default)]
pub(crate) struct Output {
    buf: BytesMut,
    /// The high water mark was reached and the low one not yet.
    full: bool,
}

impl Output {
    /// The queue answers for the exchange at the head write into.
    pub(crate) fn queue(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// `n` bytes left (the caller then recomputes the marks with [`update`](Self::update)).
    pub(crate) fn written(&mut self, n: usize) -> usize {
        let n = n.min(self.buf.len());
        self.buf.advance(n);
        n
    }

    /// Recomputes the marks with `held` more bytes owed elsewhere (answers not yet at the head).
    pub(crate) fn update(&mut self, held: usize, marks: &Settings) {
        let owed = self.buf.len().saturating_add(held);
        if owed >= marks.high_water_mark() {
            self.full = true;
        } else if owed <= marks.low_water_mark() {
            self.full = false;
        }
    }

    /// Whether a new exchange may start (or a streaming answer write its next part).
    pub(crate) fn has_room(&self) -> bool {
        !self.full
    }

    /// Whether the answer at the head may write another part: its bytes are the next to
    /// leave, so only what is queued to write counts (answers held behind it must not block
    /// the very answer they wait for).
    pub(crate) fn head_room(&self, marks: &Settings) -> bool {
        self.buf.len() < marks.high_water_mark()
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Takes the buffer's memory out while nothing is owed (an empty buffer otherwise).
    pub(crate) fn release(&mut self) -> BytesMut {
        if self.buf.is_empty() {
            std::mem::take(&mut self.buf)
        } else {
            BytesMut::new()
        }
    }

    /// Uses `buf` (empty) where the buffer has no memory.
    pub(crate) fn restore(&mut self, buf: BytesMut) {
        if self.buf.capacity() == 0 && buf.is_empty() {
            self.buf = buf;
        }
    }
}
