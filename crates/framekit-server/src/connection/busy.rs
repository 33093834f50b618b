//! The busy phase's loop: from what woke a connection until it is quiet again or over.
//!
//! Each turn decodes what is buffered, books what it answered, arms the timers in one place,
//! and then waits for the first [`Event`] (shutdown, output, input, a timer, in that order).
//! The loop holds the transport itself and lends it to the read side or the write side for
//! one poll at a time, so the two sides share it without a lock or a reference count.
//!
//! The clock is read once per turn that waited, not per use: `now` is read when the
//! connection wakes and again only after the loop had to wait for an event (or a timer fired,
//! which needs the true time), as HAProxy's event loop keeps its `now_ms`. Every timestamp a
//! turn takes (the idle clock, the write clock, a frame's start) is that turn's `now`, so a
//! deadline can be early by at most the turn's own synchronous work, which tokio's
//! cooperative budget bounds. A request answered at once is timed for the duration histogram
//! only when a metrics recorder is installed (see [`Metrics::answered_at_once`]).
//!
//! [`Metrics::answered_at_once`]: crate::Metrics

use std::future::{poll_fn, Future};
use std::io;
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use crate::codec::ConnectionCodec;
use crate::config::expiry;
use crate::metrics::{CloseReason, IoFailure};

use super::dispatch::{Dispatch, Signal};
use super::idle::{Clock, Wake};
use super::intake::Intake;
use super::reading::{self, Reading};
use super::writing::{Drive, Flow, OutputError, Step, Writing};
use super::{parks, Ending, Env, Phase};
use crate::timers::{Timer, TimerTable};

/// What a turn of the busy loop waited for: the first of them that is ready, in this order.
enum Event {
    /// The server is shutting down.
    Shutdown,
    /// The output side progressed (or failed).
    Output(Result<Step, OutputError>),
    /// A read finished: how many bytes arrived (0: the peer closed its side).
    Read(io::Result<usize>),
    /// A timer expired.
    Timer(Timer),
}

/// One busy phase of a connection, from what woke it (`wake`) until it is quiet again or
/// over.
pub(super) async fn run<Io, C, D, Req>(
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
    // The turn's clock (see the module doc).
    let mut now = Instant::now();
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
            early = Some(read_failed(metrics, &e));
            (BytesMut::new(), false)
        }
        Wake::IdleTimeout => {
            tracing::debug!("idle timeout");
            early = Some(Ending::Abrupt(CloseReason::IdleTimeout));
            (BytesMut::new(), false)
        }
        Wake::Start | Wake::Shutdown => (BytesMut::new(), false),
    };
    let mut reading = Reading::new(buf, eof);
    if !reading.buf.is_empty() {
        reading.frame_started = Some(now);
    }
    if shutdown {
        tracing::debug!("shutdown signalled");
        reading.drain();
    }
    let mut writing = Writing::new(cfg.vectored_min, now);
    // When the last read completed: requests answered in the turn that decoded them are timed
    // from it (with a recorder installed).
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
        // Whether the dispatcher was told something since `status` was taken.
        let told = end_on_close(
            status.closing,
            &mut reading,
            &mut *dispatch,
            &mut last_reply,
        );
        // The flow as the queue is now: a request left waiting for output to drain below the
        // low water mark is handled in this turn's decode, not after more input arrives.
        writing.update_flow(cfg.low_water, cfg.high_water);
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
            reading.decode(&mut *codec, &mut *dispatch, &mut writing, env, now, cx)
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
        if turn.answered > 0 {
            metrics.answered_at_once(turn.answered, read_at);
            writing.answered(turn.answered, writing.out.len(), was_busy, now, metrics);
            *last_activity = now;
        }

        // Asked again only if something could have changed it.
        let mut status = if told || turn.asked {
            dispatch.status()
        } else {
            status
        };
        // A close asked for in this turn's decode (with nothing written, nothing else may
        // wake the loop) ends the input now, so the connection closes without waiting.
        if end_on_close(
            status.closing,
            &mut reading,
            &mut *dispatch,
            &mut last_reply,
        ) {
            status = dispatch.status();
        }
        if status.done {
            // The last reply follows every answer to earlier requests.
            if let Some(reply) = last_reply.take() {
                if writing.out.is_empty() {
                    writing.since = now;
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
        let read = reading.wants_read(
            status.spare,
            writing.flow == Flow::Paused,
            cfg.input_budget,
            now,
        );
        let busy = writing.is_busy();
        let take_responses = writing.flow == Flow::Flowing && status.responding;
        let want_spare = reading.is_open() && !status.spare;
        let output = busy || take_responses || want_spare || status.background;
        let drive = Drive {
            background: status.background,
            want_spare,
        };
        // The one place the timers are armed.
        timers.set(
            Timer::Write,
            busy.then(|| expiry(cfg.write_timeout, writing.since))
                .flatten(),
        );
        timers.set(
            Timer::Frame,
            read.then_some(reading.frame_started)
                .flatten()
                .and_then(|started| expiry(cfg.frame_timeout, started)),
        );
        let quiet = reading.buf.is_empty() && !busy && status.quiet && reading.is_open();
        timers.set(
            Timer::Idle,
            quiet
                .then(|| expiry(cfg.idle_timeout, *last_activity))
                .flatten(),
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

        // The first event that is ready, in the order of `Event`; each is polled only while
        // it can happen, and all of them register the task's waker when none is ready.
        let mut waited = false;
        let event = poll_fn(|cx| {
            if reading.input == reading::Input::Open && closing.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Event::Shutdown);
            }
            if output {
                let polled =
                    writing.poll_output(&mut *io, &mut *dispatch, &mut *codec, drive, env, cx);
                if let Poll::Ready(step) = polled {
                    return Poll::Ready(Event::Output(step));
                }
            }
            if read {
                if let Poll::Ready(got) = reading.poll_read(&mut *io, read_limit, cx) {
                    return Poll::Ready(Event::Read(got));
                }
            }
            if timers.is_armed() {
                if let Poll::Ready(timer) = timers.poll_expired(sleep.as_mut(), cx) {
                    return Poll::Ready(Event::Timer(timer));
                }
            }
            waited = true;
            Poll::Pending
        })
        .await;
        // A timer is judged against the true time: a stale `now` could leave it due forever.
        if waited || matches!(event, Event::Timer(_)) {
            now = Instant::now();
        }

        match event {
            Event::Shutdown => {
                tracing::debug!("shutdown signalled");
                reading.drain();
            }
            Event::Output(Ok(step)) => {
                if step.responses > 0 {
                    // The codec answered: it may decode what is buffered differently now.
                    reading.unsettle();
                }
                if writing.record(&step, busy, now, metrics) {
                    *last_activity = now;
                }
            }
            Event::Output(Err(OutputError::Unencodable)) => {
                break Ending::Abrupt(CloseReason::EncodeError)
            }
            Event::Output(Err(OutputError::Io(e))) => {
                metrics.io_error(IoFailure::Write);
                tracing::debug!(error = %e, "write failed");
                break Ending::Abrupt(io_close_reason(&e));
            }
            Event::Read(Ok(0)) => {}
            Event::Read(Ok(n)) => {
                metrics.bytes_in(n);
                *last_activity = now;
                read_at = now;
                reading.frame_started.get_or_insert(now);
            }
            Event::Read(Err(e)) => break read_failed(metrics, &e),
            Event::Timer(Timer::Request) => dispatch.signal(Signal::Expire(now)),
            Event::Timer(Timer::Write) => {
                tracing::info!(conn = env.ctx.id(), peer = %env.ctx.peer(), queued = writing.out.len(), "write timeout: peer is not reading");
                break Ending::Abrupt(CloseReason::WriteTimeout);
            }
            Event::Timer(Timer::Frame) => {
                tracing::info!(conn = env.ctx.id(), peer = %env.ctx.peer(), buffered = reading.buf.len(), "frame timeout: incomplete frame");
                break Ending::Abrupt(CloseReason::FrameTimeout);
            }
            Event::Timer(Timer::Idle) => {
                tracing::debug!("idle timeout");
                break Ending::Abrupt(CloseReason::IdleTimeout);
            }
            // Armed only before the loop (setup stages) or after it (the close).
            Event::Timer(Timer::Preamble | Timer::Handshake | Timer::Linger) => {}
        }
    };
    Phase::Ended {
        ending,
        eof: reading.eof,
    }
}

/// Ends the input once the handler closed the connection (`closing`): its reply was the
/// last, so nothing read after it is handled or answered, not even a decode error found
/// further on (`last_reply` goes). Returns whether the dispatcher was told.
fn end_on_close<D: Dispatch<Req>, Req>(
    closing: Option<CloseReason>,
    reading: &mut Reading,
    dispatch: &mut D,
    last_reply: &mut Option<D::Resp>,
) -> bool {
    let Some(reason) = closing else {
        return false;
    };
    if reading.input == reading::Input::Ended(reason) {
        return false;
    }
    reading.end(reason, dispatch);
    *last_reply = None;
    true
}

/// How a failed read ends the connection, counted and logged: the same whether the read
/// woke the connection from its park or came during the busy phase.
fn read_failed(metrics: &crate::Metrics, err: &io::Error) -> Ending {
    metrics.io_error(IoFailure::Read);
    tracing::debug!(error = %err, "read failed");
    Ending::Abrupt(io_close_reason(err))
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
