//! One connection, from its first byte to its close, as a set of rooms:
//!
//! - [`reading`]: lazy reads into a stack buffer, decoding, the input budget, the end of input;
//! - [`pipeline`]: the pipelining ring of request/response handlers;
//! - [`duplex`]: duplex handlers and their two channels;
//! - [`dispatch`]: what the loop sees of a handler kind (its status, work, signals, output);
//! - [`intake`]: how requests get from the read buffer to the handler;
//! - [`kind`]: what makes one dispatcher per connection;
//! - [`borrowed`]: borrowed handlers, lent each request where it lies in the read buffer;
//! - [`writing`]: gathering responses, vectored writes, water marks, flush;
//! - [`close`]: the orderly close (FIN, then a linger);
//! - [`preamble`]: the PROXY protocol header before anything else;
//!
//! Every timeout is one timer of [`crate::timers`]; what every connection of a server shares
//! is [`crate::shared`].
//!
//! - [`idle`]: the parked connection, waiting with nothing but what outlives a burst;
//! - [`busy`]: the busy phase's loop, which lends the transport to one side at a time.
//!
//! [`serve`] is the connection task's whole life: setup stages (the PROXY preamble, then the
//! TLS handshake in [`crate::transport`]), then parked and busy phases in turn ([`idle::park`],
//! then [`busy::run`] until the connection is quiet again), then the close. Everything lives in the
//! one task; dropping it cancels everything cleanly. Handler futures of one connection run
//! inside it: they are concurrent, not parallel. Work that needs a core of its own goes through
//! [`Ctx::blocking`](crate::Ctx::blocking).
//!
//! What an idle connection costs. Its task's future is what a parked connection holds: 624
//! bytes with a line codec and a request/response handler (guarded by a size test), namely
//! the transport (48 for a TCP stream), the codec (144 for `FrameCodec<Delimited>`), the
//! dispatcher (112: no ring, no future boxes while quiet), the one `Sleep` (112), the shutdown
//! watch (96: a flag read on every turn, a waiter registered once; see
//! [`Watch`](crate::context::Watch)), the idle clock, and pointers to the server's shared state
//! and the `Ctx`. What only a busy connection needs (the read and write sides, the output
//! queue, the timer table, the loop's state: 840 bytes in the same test build) is one box that
//! exists from the first byte of a burst until everything owed is written; the setup stages and
//! the close are boxed too, and only while they run. The future is not boxed on its own: it
//! sits inline in tokio's task cell ([`crate::accept`]), which adds a header and a trailer and
//! rounds to 128 bytes (896 for `ack_server` in a release build). Besides: the socket's
//! registration (256), the `Ctx` (one `Arc`, 104; the connection's own cancellation token
//! exists only once a handler asks for it) and the task's entry in its accept loop's set (56).
//! Those two 128-byte-aligned allocations are why the allocator matters: glibc's malloc spends
//! about 280 bytes per connection around them, jemalloc (the example servers' default) almost
//! none. Measured with `STEPS=rss bench/server.sh`: see `BENCHMARKS.md`. A duplex handler's
//! connection does not park (its handler's future runs for the connection's whole life), so it
//! carries the busy phase throughout.
//!
//! The cost of parking is one allocation per burst (the busy phase's box), which a request
//! answered and followed by silence pays once; pipelined requests share one.

mod borrowed;
mod busy;
mod close;
mod dispatch;
mod duplex;
mod idle;
mod intake;
pub(crate) mod kind;
mod pipeline;
mod preamble;
mod reading;
mod writing;

use std::future::Future;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use crate::codec::ConnectionCodec;
use crate::context::{Ctx, Watch};
use crate::metrics::CloseReason;
use crate::transport::Transport;

pub(crate) use self::borrowed::PerView;
use self::dispatch::Dispatch;
pub(crate) use self::duplex::PerConnection;
use self::idle::{Clock, Wake};
use self::kind::HandlerKind;
pub(crate) use self::pipeline::PerRequest;
pub(crate) use self::writing::encode_or_answer;
pub(crate) use crate::shared::Shared;

/// What a connection's rooms consult but never change: the server's shared state and this
/// connection's context.
pub(crate) struct Env<'a, R> {
    pub(crate) shared: &'a Shared<R>,
    pub(crate) ctx: &'a Ctx,
}

impl<R> Clone for Env<'_, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<R> Copy for Env<'_, R> {}

/// How the loop ended, which decides how the connection closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Everything owed was written: send FIN, then linger (see [`close`]).
    Orderly(CloseReason),
    /// The transport failed or a timeout fired: drop it as it is.
    Abrupt(CloseReason),
}

/// What a busy phase ended with.
#[derive(Debug)]
pub(crate) enum Phase {
    /// Nothing buffered, handled or owed: the connection parks until it is woken again.
    Quiet,
    /// The connection is over: close it as `ending` says (`eof`: the peer closed first).
    Ended { ending: Ending, eof: bool },
}

/// The connection task's life: the setup stages, then parked and busy phases in turn until
/// the connection ends, then the close.
///
/// Not an `async fn`: the parameters of one would keep their slots for the future's whole
/// life, so the accepted stream would be carried twice (once as it came, once as the
/// transport). The setup stage takes it at once and the future starts from that.
pub(crate) fn serve<Io, C, K, R>(
    io: Io,
    mut codec: C,
    kind: Arc<K>,
    shared: Arc<Shared<R>>,
    ctx: Ctx,
) -> impl Future<Output = CloseReason>
where
    Io: AsyncRead + AsyncWrite + Unpin + Send,
    C: ConnectionCodec<R>,
    K: HandlerKind<C, R>,
    R: Send + 'static,
{
    // Boxed, and gone once done: a stage that runs once per connection keeps its buffers,
    // codec and timer out of the future every connection carries for its whole life.
    let setup = Box::pin(setup(io, shared.clone(), ctx));
    async move {
        let (mut io, ctx) = match setup.await {
            Ok(opened) => opened,
            Err(reason) => return reason,
        };
        let mut dispatch = kind.start(&ctx, &shared);
        drop(kind);
        let cfg = &shared.config;
        let env = Env {
            shared: &shared,
            ctx: &ctx,
        };
        let mut last_activity = Instant::now();
        // Armed for the idle deadline, or far ahead with none (it is moved, never read, then).
        let sleep = tokio::time::sleep_until(crate::config::expiry_or_far(
            cfg.idle_timeout,
            last_activity,
        ));
        tokio::pin!(sleep);
        // Created once and kept: it registers with the shutdown once, then reads a flag.
        let closing = Watch::new(&ctx);
        tokio::pin!(closing);
        let (ending, eof) = loop {
            let wake = if parks(&dispatch.status()) {
                let clock = Clock {
                    sleep: sleep.as_mut(),
                    closing: closing.as_mut(),
                    last_activity: &mut last_activity,
                };
                idle::park(&mut io, cfg, clock).await
            } else {
                Wake::Start
            };
            let clock = Clock {
                sleep: sleep.as_mut(),
                closing: closing.as_mut(),
                last_activity: &mut last_activity,
            };
            // Boxed: what only a busy connection needs is on the heap only while it is busy.
            let busy =
                boxed_in_place(|| busy::run(&mut io, &mut codec, &mut dispatch, env, wake, clock));
            match busy.await {
                Phase::Quiet => {}
                Phase::Ended { ending, eof } => break (ending, eof),
            }
        };
        // Handler futures and their channels go before the close: the peer may take a while.
        drop(dispatch);
        // Boxed, and only now: the close's state (its timers, the discard buffer) does not
        // weigh on the future of every connection while it runs.
        Box::pin(close::close(&mut io, eof, ending, cfg, sleep.as_mut())).await
    }
}

/// What `make` builds, in a new box allocated first: inlined, the value is built in the heap
/// memory itself, where `Box::pin(value)` builds it on the stack and then copies it whole (for
/// the busy phase's future, about 110 instructions per burst). `Box::write` after
/// `Box::new_uninit` does the same, but is stable only from Rust 1.87, above this crate's MSRV.
#[inline(always)]
fn boxed_in_place<T>(make: impl FnOnce() -> T) -> std::pin::Pin<Box<T>> {
    let mut slot = Box::new_uninit();
    slot.write(make());
    // SAFETY: `slot` was initialised by the `write` just above, and nothing else touched it;
    // `assume_init` only changes the box's type. Tested by
    // `a_value_boxed_in_place_is_the_value_and_is_dropped_once`.
    Box::into_pin(unsafe { slot.assume_init() })
}

/// The setup stages, in the connection's own task (which holds its permit), before any byte
/// is framed: the PROXY preamble (under `Timer::Preamble`, learning the peer's address), then
/// the TLS handshake (wrapping `io`). What they learn goes into the `Ctx` the handler is
/// started with.
async fn setup<Io, R>(
    io: Io,
    shared: Arc<Shared<R>>,
    ctx: Ctx,
) -> Result<(Transport<preamble::Rewind<Io>>, Ctx), CloseReason>
where
    Io: AsyncRead + AsyncWrite + Unpin,
{
    let (io, ctx) = preamble::receive(io, &shared.config.preamble, ctx).await?;
    crate::transport::open(io, &shared, ctx).await
}

/// Whether a dispatcher in this state lets its connection park: nothing in flight, nothing
/// of its own to drive, nothing ending.
fn parks(status: &dispatch::Status) -> bool {
    status.quiet
        && !status.responding
        && !status.background
        && !status.done
        && status.closing.is_none()
        && status.request_deadline.is_none()
}

#[cfg(test)]
mod tests;
