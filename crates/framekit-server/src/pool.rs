//! A small, bounded, per-thread cache of released byte buffers (Netty's thread-local buffer
//! cache, in miniature): what lets a connection keep no buffer while it is quiet and still not
//! pay the allocator for one at every burst.
//!
//! A connection that wakes takes its read buffer and its encode buffer from here ([`take`])
//! and gives them back when it parks with nothing left in them ([`give`]); a parked connection
//! holds neither. Without the cache, a client that sends one request at a time would cost two
//! allocations, a reallocation chain and two frees per request.
//!
//! Bounds: a thread keeps at most [`KEPT`] buffers, each with room for [`SIZE`] bytes and no
//! larger than [`LARGEST`], so at most `KEPT * LARGEST` bytes (64 KiB) per runtime thread,
//! whatever the number of connections; a buffer that grew past `LARGEST` (a large frame or
//! answer) goes back to the allocator. Buffers taken on one thread may be given back on another
//! (a multi-threaded runtime moves tasks): each thread's cache is bounded by itself.

use std::cell::RefCell;

use bytes::BytesMut;

/// The capacity of a buffer the cache hands out: what a burst of small requests or answers
/// needs (a 16-byte line pipelined 64 deep is about 1.1 KiB).
pub(crate) const SIZE: usize = 2 * 1024;
/// A buffer larger than this is not kept.
pub(crate) const LARGEST: usize = 8 * 1024;
/// At most this many buffers are kept per thread.
pub(crate) const KEPT: usize = 8;

thread_local! {
    static KEPT_BUFFERS: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer with room for at least [`SIZE`] bytes: a kept one if this thread has one,
/// else a new one.
pub(crate) fn take() -> BytesMut {
    KEPT_BUFFERS
        .try_with(|kept| kept.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_else(|| BytesMut::with_capacity(SIZE))
}

/// Gives `buf` back for reuse, its contents dropped. Kept only when it can hold [`SIZE`]
/// bytes without allocating (its memory is not shared with frames still alive elsewhere), is
/// no larger than [`LARGEST`], and this thread keeps fewer than [`KEPT`]; otherwise it is
/// freed as it would have been without the cache.
pub(crate) fn give(mut buf: BytesMut) {
    buf.clear();
    if buf.capacity() > LARGEST || !buf.try_reclaim(SIZE) {
        return;
    }
    // A thread being torn down has no cache any more: the buffer is simply freed.
    let _ = KEPT_BUFFERS.try_with(|kept| {
        let mut kept = kept.borrow_mut();
        if kept.len() < KEPT {
            kept.push(buf);
        }
    });
}

/// How many buffers this thread keeps now.
#[cfg(test)]
pub(crate) fn kept() -> usize {
    KEPT_BUFFERS.with(|kept| kept.borrow().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emptied() {
        while kept() > 0 {
            drop(take());
        }
    }

    #[test]
    fn a_given_buffer_is_taken_again_and_the_cache_is_bounded() {
        emptied();
        let first = take();
        assert!(first.is_empty() && first.capacity() >= SIZE);
        let at = first.as_ptr();
        give(first);
        assert_eq!(kept(), 1);
        let again = take();
        assert_eq!(again.as_ptr(), at, "the same memory is handed out again");
        assert_eq!(kept(), 0);

        for _ in 0..3 * KEPT {
            give(BytesMut::with_capacity(SIZE));
        }
        assert_eq!(kept(), KEPT, "never more than KEPT buffers per thread");
        emptied();
    }

    #[test]
    fn buffers_that_grew_large_or_share_their_memory_are_not_kept() {
        emptied();
        give(BytesMut::with_capacity(LARGEST + 1));
        assert_eq!(kept(), 0, "a large buffer goes back to the allocator");
        give(BytesMut::new());
        assert_eq!(kept(), 0, "one that cannot hold SIZE bytes is not kept");

        let mut shared = BytesMut::with_capacity(SIZE);
        shared.extend_from_slice(b"frame\n");
        let frame = shared.split_to(6).freeze();
        give(shared);
        assert_eq!(kept(), 0, "memory still lent to a frame is not reused");
        drop(frame);

        // Advanced over consumed bytes and uniquely owned: reclaimed to its full size.
        let mut advanced = take();
        advanced.extend_from_slice(&[7; 100]);
        bytes::Buf::advance(&mut advanced, 100);
        give(advanced);
        assert_eq!(kept(), 1);
        assert!(take().capacity() >= SIZE);
        emptied();
    }

    #[test]
    fn what_was_in_a_buffer_is_gone_when_it_is_taken_again() {
        emptied();
        let mut buf = take();
        buf.extend_from_slice(b"secret");
        give(buf);
        assert!(take().is_empty());
        emptied();
    }
}
