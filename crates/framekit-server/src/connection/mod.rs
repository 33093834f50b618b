//! One connection, from its first byte to its close, as a set of rooms:
//!
//! - [`reading`]: lazy reads into a stack buffer, decoding, the input budget, the end of input;
//! - [`pipeline`]: the pipelining ring of request/response handlers;
//! - [`duplex`]: duplex handlers and their two channels;
//! - [`dispatch`]: the small traits every handler kind implements;
//! - [`borrowed`]: borrowed handlers, lent each request where it lies in the read buffer;
//! - [`writing`]: gathering responses, vectored writes, water marks, flush;
//! - [`timers`]: every timeout in one table;
//! - [`close`]: the orderly close (FIN, then a linger);
//! - [`preamble`]: the PROXY protocol header before anything else;
//! - [`shared`]: what every connection of a server shares.
//!
//! - [`idle`]: the parked connection, waiting with nothing but what outlives a burst;
//! - [`halves`]: the read and write sides of a busy phase, borrowed without an `Arc`.
//!
//! [`serve`] is the connection task's whole life: setup stages (the PROXY preamble, then the
//! TLS handshake in [`crate::transport`]), then parked and busy phases in turn ([`idle::park`],
//! then [`run`] until the connection is quiet again), then the close. Everything lives in the
//! one task; dropping it cancels everything cleanly. Handler futures of one connection run
//! inside it: they are concurrent, not parallel. Work that needs a core of its own goes through
//! [`Ctx::blocking`](crate::Ctx::blocking).
//!
//! What an idle connection costs. Its task's future is what a parked connection holds: 616
//! bytes with a line codec and a request/response handler (guarded by a size test), namely
//! the transport (48 for a TCP stream), the codec (136 for `FrameCodec<Delimited>`), the
//! dispatcher (112: no ring, no future boxes while quiet), the one `Sleep` (112), the shutdown
//! watch (96: a flag read on every turn, a waiter registered once; see
//! [`Watch`](crate::context::Watch)), the idle clock, and pointers to the server's shared state
//! and the `Ctx`. What only a busy connection needs (the read and write sides, the output
//! queue, the timer table, the loop's state: 824 bytes in the same test build) is one box that
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
mod close;
pub(crate) mod dispatch;
mod duplex;
mod halves;
mod idle;
mod pipeline;
mod preamble;
mod reading;
mod shared;
mod timers;
mod writing;

use std::future::{poll_fn, Future};
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use crate::codec::ConnectionCodec;
use crate::context::{Ctx, Watch};
use crate::metrics::{CloseReason, IoFailure};
use crate::transport::Transport;

pub(crate) use self::borrowed::PerView;
use self::dispatch::{Dispatch, HandlerKind, Intake, Signal};
pub(crate) use self::duplex::PerConnection;
use self::idle::{Clock, Wake};
pub(crate) use self::pipeline::PerRequest;
use self::reading::Reading;
pub(crate) use self::shared::{ErrorHook, Shared};
#[cfg(feature = "tls")]
pub(crate) use self::timers::within;
pub(crate) use self::timers::Timer;
use self::timers::TimerTable;
pub(crate) use self::writing::encode_or_answer;
use self::writing::{Flow, OutputError, Writing};

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
        let sleep = tokio::time::sleep_until(last_activity + cfg.idle_timeout);
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
            let busy = run(&mut io, &mut codec, &mut dispatch, env, wake, clock);
            match Box::pin(busy).await {
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

/// One busy phase of a connection, from what woke it (`wake`) until it is quiet again or
/// over.
async fn run<Io, C, D, Req>(
    io: &mut Io,
    codec: &mut C,
    dispatch: &mut D,
    env: Env<'_, D::Resp>,
    wake: Wake,
    clock: Clock<'_, '_>,
) -> Phase
where
    Io: AsyncRead + AsyncWrite + Unpin + Send,
    C: ConnectionCodec<D::Resp>,
    D: Dispatch<Req> + Intake<C, D::Resp>,
{
    let cfg = &env.shared.config;
    let metrics = &*env.shared.metrics;
    let Clock {
        mut sleep,
        mut closing,
        last_activity,
    } = clock;
    let mut timers = TimerTable::default();
    let halves = halves::Borrowed::new(io);
    let now = Instant::now();
    let shutdown = matches!(wake, Wake::Shutdown);
    let mut early = None;
    let (buf, eof) = match wake {
        Wake::Read(Ok(buf)) if buf.is_empty() => (buf, true),
        Wake::Read(Ok(buf)) => {
            metrics.bytes_in(buf.len());
            *last_activity = now;
            (buf, false)
        }
        Wake::Read(Err(e)) => {
            metrics.io_error(IoFailure::Read);
            tracing::debug!(error = %e, "read failed");
            early = Some(Ending::Abrupt(io_close_reason(&e)));
            (BytesMut::new(), false)
        }
        Wake::IdleTimeout => {
            tracing::debug!("idle timeout");
            early = Some(Ending::Abrupt(CloseReason::IdleTimeout));
            (BytesMut::new(), false)
        }
        Wake::Start | Wake::Shutdown => (BytesMut::new(), false),
    };
    let mut reading = Reading::new(halves.half(), buf, eof);
    if !reading.buf.is_empty() {
        reading.frame_started = Some(now);
    }
    if shutdown {
        tracing::debug!("shutdown signalled");
        reading.drain();
    }
    let mut writing = Writing::new(halves.half(), cfg.vectored_min, now);
    // When the last read completed: requests answered in the turn that decoded them are timed
    // from it, so the request duration costs no clock reading of its own.
    let mut read_at = now;
    // The reply that ends the connection (a fatal decode error's), after every earlier answer.
    let mut last_reply: Option<D::Resp> = None;
    // The connection task's waker, for handler futures polled as their request is decoded.
    let mut waker = poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;

    let ending = loop {
        if let Some(ending) = early.take() {
            break ending;
        }
        let status = dispatch.status();
        if let Some(reason) = status.closing {
            if reading.input != reading::Input::Ended(reason) {
                // A handler's reply was the last: nothing read after it is handled or
                // answered, not even a decode error found further on.
                reading.end(reason, &mut *dispatch);
                last_reply = None;
            }
        }
        let was_busy = writing.is_busy();
        if reading.is_open() && status.spare {
            poll_fn(|cx| {
                if !waker.will_wake(cx.waker()) {
                    waker = cx.waker().clone();
                }
                Poll::Ready(())
            })
            .await;
        }
        let decoded = {
            // Scoped: a `Context` must not live across an await.
            let cx = &mut Context::from_waker(&waker);
            reading.decode(&mut *codec, &mut *dispatch, &mut writing, env, cx)
        };
        let Ok((turn, fatal_reply)) = decoded else {
            break Ending::Abrupt(CloseReason::EncodeError);
        };
        if fatal_reply.is_some() {
            last_reply = fatal_reply;
        }
        if turn.requests > 0 {
            metrics.frames_in(turn.requests);
        }
        if let (true, Some(now)) = (turn.answered > 0, turn.stamp) {
            metrics.answered_at_once(turn.answered, now - read_at);
            writing.answered(turn.answered, writing.out.len(), was_busy, now, metrics);
            *last_activity = now;
        }

        let status = dispatch.status();
        if status.done {
            // The last reply follows every answer to earlier requests.
            if let Some(reply) = last_reply.take() {
                if writing.out.is_empty() {
                    writing.since = Instant::now();
                }
                if writing.encode(&mut *codec, reply, env).is_ok() {
                    metrics.frames_out(1);
                }
            }
            if !writing.is_busy() {
                break Ending::Orderly(match reading.input {
                    reading::Input::Ended(reason) => reason,
                    _ => CloseReason::HandlerDone,
                });
            }
        }
        writing.update_flow(cfg.low_water, cfg.high_water);
        if writing.out.is_empty() && status.quiet {
            // Nothing to answer: keep no encode buffer either while the peer thinks.
            writing.release();
            dispatch.signal(Signal::Release);
        }

        let read_limit = cfg.input_budget.saturating_sub(reading.buf.len());
        let read = reading.wants_read(status.spare, writing.flow == Flow::Paused, cfg.input_budget);
        let busy = writing.is_busy();
        let take_responses = writing.flow == Flow::Flowing && status.responding;
        let want_spare = reading.is_open() && !status.spare;
        // The one place the timers are armed.
        timers.set(
            Timer::Write,
            busy.then(|| writing.since + cfg.write_timeout),
        );
        timers.set(
            Timer::Frame,
            read.then_some(reading.frame_started)
                .flatten()
                .map(|started| started + cfg.frame_timeout),
        );
        let quiet = reading.buf.is_empty() && !busy && status.quiet && reading.is_open();
        timers.set(
            Timer::Idle,
            quiet.then(|| *last_activity + cfg.idle_timeout),
        );
        timers.set(Timer::Request, status.request_deadline);
        if quiet
            && reading.input == reading::Input::Open
            && !reading.eof
            && writing.flow == Flow::Flowing
            && last_reply.is_none()
            && parks(&status)
        {
            // Everything owed is written and nothing is under way: this phase's state (the
            // two sides, the queue) goes, and the connection parks.
            return Phase::Quiet;
        }

        tokio::select! {
            biased;
            () = closing.as_mut(), if reading.input == reading::Input::Open => {
                tracing::debug!("shutdown signalled");
                reading.drain();
            }
            step = poll_fn(|cx| writing.poll_output(&mut *dispatch, &mut *codec, want_spare, env, cx)),
                if busy || take_responses || want_spare || status.background => {
                match step {
                    Ok(step) => {
                        let now = Instant::now();
                        if writing.record(&step, busy, now, metrics) {
                            *last_activity = now;
                        }
                    }
                    Err(OutputError::Unencodable) => break Ending::Abrupt(CloseReason::EncodeError),
                    Err(OutputError::Io(e)) => {
                        metrics.io_error(IoFailure::Write);
                        tracing::debug!(error = %e, "write failed");
                        break Ending::Abrupt(io_close_reason(&e));
                    }
                }
            }
            got = poll_fn(|cx| reading.poll_read(read_limit, cx)), if read => {
                match got {
                    Ok(0) => {}
                    Ok(n) => {
                        metrics.bytes_in(n);
                        *last_activity = Instant::now();
                        read_at = *last_activity;
                        reading.frame_started.get_or_insert(*last_activity);
                    }
                    Err(e) => {
                        metrics.io_error(IoFailure::Read);
                        tracing::debug!(error = %e, "read failed");
                        break Ending::Abrupt(io_close_reason(&e));
                    }
                }
            }
            timer = poll_fn(|cx| timers.poll_expired(sleep.as_mut(), cx)), if timers.is_armed() => {
                match timer {
                    Timer::Request => dispatch.signal(Signal::Expire(Instant::now())),
                    Timer::Write => {
                        tracing::info!(conn = env.ctx.id(), peer = %env.ctx.peer(), queued = writing.out.len(), "write timeout: peer is not reading");
                        break Ending::Abrupt(CloseReason::WriteTimeout);
                    }
                    Timer::Frame => {
                        tracing::info!(conn = env.ctx.id(), peer = %env.ctx.peer(), buffered = reading.buf.len(), "frame timeout: incomplete frame");
                        break Ending::Abrupt(CloseReason::FrameTimeout);
                    }
                    Timer::Idle => {
                        tracing::debug!("idle timeout");
                        break Ending::Abrupt(CloseReason::IdleTimeout);
                    }
                    // Armed only before the loop (setup stages) or after it (the close).
                    Timer::Preamble | Timer::Handshake | Timer::Linger => {}
                }
            }
        }
    };
    Phase::Ended {
        ending,
        eof: reading.eof,
    }
}

fn io_close_reason(err: &io::Error) -> CloseReason {
    match err.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => CloseReason::Reset,
        _ => CloseReason::IoError,
    }
}

#[cfg(test)]
mod tests;
