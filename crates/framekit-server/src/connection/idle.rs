//! The parked connection: what a quiet connection waits on, and nothing else.
//!
//! A connection with nothing buffered, nothing being handled and nothing to write is parked:
//! its task holds only what outlives a burst (the transport, the codec, the dispatcher, the
//! one `Sleep`, and the shutdown waiter) and waits for the first of three
//! things: bytes to read, the idle timeout, the server shutting down. What a busy connection
//! needs besides (the read and write sides, the output queue, the loop's own state) lives in
//! the busy phase's future, boxed, which exists only while there is work (see [`super::run`]).
//!
//! Memory: waiting costs no buffer. The read goes through a buffer on the stack that lives
//! only during the poll ([`poll_read_lazy`]); what arrives is handed to the busy phase in a
//! buffer from the thread's [`pool`](crate::pool) of released ones. Parking itself allocates
//! nothing.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::Poll;

use crate::config::{expiry, ServerConfig};
use crate::context::Watch;
use bytes::BytesMut;
use tokio::io::AsyncRead;
use tokio::time::{Instant, Sleep};

use super::reading::poll_read_lazy;
use crate::timers::poll_until;

/// Why a connection enters its busy phase.
#[derive(Debug)]
pub(super) enum Wake {
    /// It was never parked: the handler kind has work of its own from the start (a duplex
    /// handler's future).
    Start,
    /// A read finished: the bytes that arrived (empty: the peer closed its side), or the
    /// read's error.
    Read(io::Result<BytesMut>),
    /// The server is shutting down.
    Shutdown,
    /// The idle timeout passed.
    IdleTimeout,
}

/// What a parked connection waits with (borrowed from the connection task's own state).
pub(super) struct Clock<'a, 'c> {
    pub(super) sleep: Pin<&'a mut Sleep>,
    /// The server's shutdown, for this connection; polled only while input is open.
    pub(super) closing: Pin<&'a mut Watch<'c>>,
    /// The last time anything was read, answered or written: the idle clock.
    pub(super) last_activity: &'a mut Instant,
}

/// Waits, parked, for what wakes the connection. Only the idle timeout can expire: a parked
/// connection has no frame under way, no output and no request in flight. Not an `async fn`:
/// the future is this one closure, no larger than what it borrows and the empty buffer.
pub(super) fn park<'a, 'c, Io: AsyncRead + Unpin>(
    io: &'a mut Io,
    cfg: &'a ServerConfig,
    clock: Clock<'a, 'c>,
) -> impl Future<Output = Wake> + use<'a, 'c, Io> {
    let Clock {
        mut sleep,
        mut closing,
        last_activity,
    } = clock;
    // Nothing of its own but the borrows: the idle deadline is read through the clock and the
    // read's buffer is made inside the poll, so this future is five pointers.
    let last_activity: &Instant = last_activity;
    poll_fn(move |cx| {
        // The same order as the busy loop's: shutdown first, then input, then the clock.
        if closing.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Wake::Shutdown);
        }
        let mut buf = BytesMut::new();
        if let Poll::Ready(got) = poll_read_lazy(io, &mut buf, cfg.input_budget, cx) {
            return Poll::Ready(Wake::Read(got.map(|_| buf)));
        }
        // No idle timeout (or one past the clock's end): only input or shutdown wakes it.
        match expiry(cfg.idle_timeout, *last_activity) {
            Some(at) => poll_until(sleep.as_mut(), at, cx).map(|()| Wake::IdleTimeout),
            None => Poll::Pending,
        }
    })
}
