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
//! [`serve`] is the connection task's whole life: setup stages (the PROXY preamble, then the
//! TLS handshake in [`crate::transport`]), then [`run`], the select loop, then the close. Everything
//! lives in the one task; dropping it cancels everything cleanly. Handler futures of one
//! connection run inside it: they are concurrent, not parallel. Work that needs a core of its
//! own goes through [`Ctx::blocking`](crate::Ctx::blocking).
//!
//! What an idle connection costs: its future (about 1.8 KiB with a line codec and a
//! request/response handler, guarded by a size test; the setup stage in [`serve`] holds the
//! codec and the transport as its own state too, about 490 bytes of it), whose framing loop
//! ([`run`], 1.35 KiB) is: the timer table (112 bytes) and its one
//! `Sleep` (112), the shutdown waiter (72), the read side (64: no buffer while idle), the write
//! side (120: no encode buffer while quiet), the dispatcher (112: no ring, no future boxes
//! while quiet), the codec (136 for `FrameCodec<Delimited>`), and the loop's own state. Around
//! it: tokio's task header, the socket's registration, the `Ctx` (one `Arc`) and the split
//! halves' shared `Arc`. The close's state is boxed only when the connection closes.

mod borrowed;
mod close;
pub(crate) mod dispatch;
mod duplex;
mod pipeline;
mod preamble;
mod reading;
mod shared;
mod timers;
mod writing;

use std::future::poll_fn;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use crate::codec::ConnectionCodec;
use crate::context::Ctx;
use crate::metrics::{CloseReason, IoFailure};

pub(crate) use self::borrowed::PerView;
use self::dispatch::{Dispatch, HandlerKind, Intake, Signal};
pub(crate) use self::duplex::PerConnection;
pub(crate) use self::pipeline::PerRequest;
use self::reading::Reading;
pub(crate) use self::shared::{ErrorHook, Shared};
#[cfg(feature = "tls")]
pub(crate) use self::timers::within;
pub(crate) use self::timers::Timer;
use self::timers::TimerTable;
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

/// The connection task's life: the setup stages, then the framing loop, then the close.
pub(crate) async fn serve<Io, C, K, R>(
    io: Io,
    codec: C,
    kind: Arc<K>,
    shared: Arc<Shared<R>>,
    ctx: Ctx,
) -> CloseReason
where
    Io: AsyncRead + AsyncWrite + Unpin + Send,
    C: ConnectionCodec<R>,
    K: HandlerKind<C, R>,
    R: Send + 'static,
{
    // Setup stages run here, in the connection's own task (which holds its permit), before
    // any byte is framed: the PROXY preamble (under `Timer::Preamble`, learning the peer's
    // address), then the TLS handshake (under `Timer::Handshake`, wrapping `io`). What they
    // learn goes into the `Ctx` the handler is started with.
    // Boxed: a stage that runs once per connection keeps its buffer, codec and timer out of
    // the future every connection carries for its whole life.
    let (io, ctx) = match Box::pin(preamble::receive(io, &shared.config.preamble, ctx)).await {
        Ok(received) => received,
        Err(reason) => return reason,
    };
    let (io, ctx) = match crate::transport::open(io, &shared, ctx).await {
        Ok(opened) => opened,
        Err(reason) => return reason,
    };
    let dispatch = kind.start(&ctx, &shared);
    drop(kind);
    run(io, codec, dispatch, shared, ctx).await
}

/// Runs one connection to its end and says why it ended.
pub(crate) async fn run<Io, C, D, Req>(
    io: Io,
    mut codec: C,
    mut dispatch: D,
    shared: Arc<Shared<D::Resp>>,
    ctx: Ctx,
) -> CloseReason
where
    Io: AsyncRead + AsyncWrite + Unpin + Send,
    C: ConnectionCodec<D::Resp>,
    D: Dispatch<Req> + Intake<C, D::Resp>,
{
    let env = Env {
        shared: &shared,
        ctx: &ctx,
    };
    let cfg = &shared.config;
    let metrics = &*shared.metrics;
    let (rd, wr) = tokio::io::split(io);
    let start = Instant::now();
    let mut reading = Reading::new(rd);
    let mut writing = Writing::new(wr, cfg.vectored_min, start);
    let mut timers = TimerTable::default();
    // The idle clock: the last time anything was read, answered or written.
    let mut last_activity = start;
    // When the last read completed: requests answered in the turn that decoded them are timed
    // from it, so the request duration costs no clock reading of its own.
    let mut read_at = start;
    // The reply that ends the connection (a fatal decode error's), after every earlier answer.
    let mut last_reply: Option<D::Resp> = None;
    let sleep = tokio::time::sleep_until(start + cfg.idle_timeout);
    tokio::pin!(sleep);
    // Created once: registering a fresh cancellation waiter on every turn costs a lock.
    let closing = ctx.closing().clone().cancelled_owned();
    tokio::pin!(closing);
    // The connection task's waker, for handler futures polled as their request is decoded.
    let mut waker = poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;

    let ending = loop {
        let status = dispatch.status();
        if let Some(reason) = status.closing {
            if reading.input != reading::Input::Ended(reason) {
                // A handler's reply was the last: nothing read after it is handled or
                // answered, not even a decode error found further on.
                reading.end(reason, &mut dispatch);
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
            reading.decode(&mut codec, &mut dispatch, &mut writing, env, cx)
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
            last_activity = now;
        }

        let status = dispatch.status();
        if status.done {
            // The last reply follows every answer to earlier requests.
            if let Some(reply) = last_reply.take() {
                if writing.out.is_empty() {
                    writing.since = Instant::now();
                }
                if writing.encode(&mut codec, reply, env).is_ok() {
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
        timers.set(Timer::Idle, quiet.then(|| last_activity + cfg.idle_timeout));
        timers.set(Timer::Request, status.request_deadline);

        tokio::select! {
            biased;
            () = &mut closing, if reading.input == reading::Input::Open => {
                tracing::debug!("shutdown signalled");
                reading.drain();
            }
            step = poll_fn(|cx| writing.poll_output(&mut dispatch, &mut codec, want_spare, env, cx)),
                if busy || take_responses || want_spare || status.background => {
                match step {
                    Ok(step) => {
                        let now = Instant::now();
                        if writing.record(&step, busy, now, metrics) {
                            last_activity = now;
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
                        last_activity = Instant::now();
                        read_at = last_activity;
                        reading.frame_started.get_or_insert(last_activity);
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
                        tracing::info!(queued = writing.out.len(), "write timeout: peer is not reading");
                        break Ending::Abrupt(CloseReason::WriteTimeout);
                    }
                    Timer::Frame => {
                        tracing::info!(buffered = reading.buf.len(), "frame timeout: incomplete frame");
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
    // Handler futures and their channels go before the close: the peer may take a while.
    drop(dispatch);
    // Boxed, and only now: the close's state (the halves moved into it, the discard buffer)
    // does not weigh on the future of every connection while it runs.
    Box::pin(close::close(
        reading,
        writing,
        ending,
        cfg,
        &mut timers,
        sleep.as_mut(),
    ))
    .await
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
