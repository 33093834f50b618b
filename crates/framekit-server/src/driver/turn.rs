//! The driver of one request/response connection: polled by hand, as quinn drives quinn-proto.
//! Each turn does, in order: the server's shutdown, one read, the machine's events (each request
//! handed to the handler, answered through the machine's responder), the later answers that
//! resolved, the streamed answer at the front, the writes, and the deadline; it turns again
//! while any of them moved and waits (every source registered for a wake-up) when none did.
//!
//! A read's answers are written in the turn that read it, before the next read, so a pipelined
//! burst is answered in one write where the peer allows it, and a due answer never waits for
//! more input. Reading first makes a request's round trip two turns (the second finds nothing
//! to read and waits), where reading last took three.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use framekit::connection::{self, CloseReason as MachineReason, Connection, Event, Failure, State};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Sleep;

use super::work::{self, answer, drop_work, work, EndedBy, Later, Work};
use super::{close_reason, Ending};
use crate::codec::ServerCodec;
use crate::error::{FailureOrigin, HandlerFailure, InputBudgetExceeded, RequestTimeout};
use crate::handler::{Answer, Env, Handler, IntoReply, Responder};
use crate::metrics::{CloseReason, IoFailure};
use crate::pool;
use crate::shared::Shared;
use crate::watch::Watch;

/// The one sleep, as the driver keeps it.
///
/// A poll of a sleep that has not fired is a trip into the runtime's timer (about 120
/// instructions, up to three per request at one request in flight), so a sleep is polled once
/// after it is set, which gives the timer this task's waker, and then only once it has fired.
/// That relies on every poll of the connection carrying the same waker: the driver lives in
/// one task (`accept` spawns one per connection) for its whole life; and on that poll reaching
/// the timer, so it is made outside tokio's cooperative budget (see `deadline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alarm {
    /// Not set: the machine had no deadline when last asked, or the sleep fired.
    Off,
    /// Set to a deadline, not yet polled since.
    Set,
    /// Polled since it was set: in the timer, holding this task's waker.
    Waiting,
}

/// One connection's driver: the machine, the transport, and the handler's work in flight.
pub(crate) struct Driver<Io, C, H: Handler<C, R>, R>
where
    C: ServerCodec<R>,
{
    conn: Connection<C, connection::Server>,
    io: Io,
    state: H::State,
    /// Later answers (at most the in-flight limit) and streamed answers in flight.
    work: Option<Box<Work<H::Later, R>>>,
    /// The one sleep's state (its own deadline says where it is set).
    alarm: Alarm,
    /// Whether the shutdown was passed to the machine.
    shutting: bool,
    /// TLS keeps written records until flushed.
    flush: bool,
    /// The transport's error, when it failed.
    io_error: Option<io::ErrorKind>,
    /// A reason the server gives in the machine's place (it only knows "local").
    ended_by: EndedBy,
    /// Whether the peer closed its side.
    eof: bool,
    /// The buffers went back to the thread's cache when the connection last went quiet.
    parked: bool,
}

impl<Io, C, H, R> Driver<Io, C, H, R>
where
    Io: AsyncRead + AsyncWrite + Unpin,
    C: ServerCodec<R>,
    H: Handler<C, R>,
    R: Send + 'static,
{
    pub(crate) fn new(io: Io, codec: C, state: H::State, shared: &Shared<R>) -> Self {
        Driver {
            conn: Connection::server(codec, Arc::clone(&shared.settings), Instant::now()),
            io,
            state,
            work: None,
            alarm: Alarm::Off,
            shutting: false,
            flush: false,
            io_error: None,
            ended_by: EndedBy::default(),
            eof: false,
            parked: false,
        }
    }

    /// Turns until the machine is closed (Ready) or nothing can move (Pending).
    pub(crate) fn poll_turns(
        &mut self,
        cx: &mut Context<'_>,
        handler: &H,
        env: Env<'_, R>,
        mut sleep: Pin<&mut Sleep>,
        closing: &mut Watch,
    ) -> Poll<()> {
        if self.parked {
            self.parked = false;
            self.conn.restore_buffers([pool::take(), pool::take()]);
        }
        // When the read that brought the requests being answered completed: a read's requests
        // are handed over in the same turn.
        let mut read_at = tokio::time::Instant::now();
        loop {
            let now = Instant::now();
            let mut moved = false;
            if !self.shutting && env.ctx.poll_shutdown(closing, cx).is_ready() {
                self.shutting = true;
                self.conn.shutdown(now);
                moved = true;
            }
            moved |= self.read(cx, env, now, &mut read_at);
            moved |= self.events(cx, handler, env, now, read_at);
            moved |= self.laters(cx, env, now);
            moved |= self.streams(cx, env, now);
            moved |= self.write(cx, env, now);
            moved |= self.deadline(cx, sleep.as_mut());
            if self.conn.is_closed() {
                return Poll::Ready(());
            }
            if !moved {
                if self.conn.in_flight() == 0 && self.conn.owed() == 0 && !self.parked {
                    // Parked: an idle connection holds no buffer; this thread keeps them for
                    // the next connection that wakes.
                    let [read, write] = self.conn.release_buffers();
                    pool::give(read);
                    pool::give(write);
                    if self
                        .work
                        .as_ref()
                        .is_some_and(|w| w.laters.is_empty() && w.streams.is_empty())
                    {
                        self.work = None;
                    }
                    self.parked = true;
                }
                return Poll::Pending;
            }
        }
    }

    /// Hands every request, failure and expiry the machine has to the handler or the hook.
    fn events(
        &mut self,
        cx: &mut Context<'_>,
        handler: &H,
        env: Env<'_, R>,
        now: Instant,
        read_at: tokio::time::Instant,
    ) -> bool {
        let mut moved = false;
        let mut at_once = 0;
        let mut requests = 0;
        let config = &env.shared.config;
        let Driver {
            conn,
            state,
            work: busy,
            ended_by,
            ..
        } = self;
        // The stream's bytes the requests before took (only a decoded request moves the
        // count): a request's size is what its own decoding took.
        let mut taken = conn.consumed();
        loop {
            let mut requested = false;
            // The event is the match's scrutinee, so it (and its borrow of the machine) is gone
            // when the match ends, before the machine is asked what the request took; and it
            // is not moved on the way (a view can be large: RESP's is 168 bytes).
            match conn.poll_event(now) {
                None => break,
                Some(Event::Request { view, responder }) => {
                    let mut out = Responder::new(responder, env);
                    let id = out.id();
                    match handler.call(view, state, env.ctx, &mut out) {
                        Answer::Done => {
                            at_once += 1;
                            out.into_exchange().finish();
                        }
                        Answer::Close => {
                            ended_by.note(id, CloseReason::HandlerDone);
                            out.into_exchange().close();
                        }
                        Answer::Later(future) => {
                            // Polled once at once: an answer that is ready is written now,
                            // under the room the machine checked before decoding, and only one
                            // that waits is kept (and allocated for).
                            let mut future = Box::pin(future);
                            match future.as_mut().poll(cx) {
                                Poll::Ready(reply) => {
                                    at_once += 1;
                                    if let Some(stream) = answer(out, reply.into_reply(), ended_by)
                                    {
                                        work(busy).streams.push_back(stream);
                                    }
                                }
                                Poll::Pending => {
                                    out.into_exchange().later();
                                    env.shared.metrics.waiting();
                                    work(busy).laters.push_back(Later {
                                        id,
                                        started: now,
                                        future,
                                    });
                                }
                            }
                        }
                        Answer::Failed(error) => {
                            out.reject(FailureOrigin::Handler, &HandlerFailure(&error), true);
                            out.into_exchange().finish();
                        }
                    }
                    requested = true;
                }
                Some(Event::Failed { failure, responder }) => {
                    let mut out = Responder::new(responder, env);
                    let id = out.id();
                    match failure {
                        Failure::Decode(error) => {
                            use framekit::connection::CodecError;
                            let goes_on = error.recoverable() && config.recover_decode_errors;
                            out.reject(FailureOrigin::Decode, &error, goes_on);
                            if goes_on {
                                out.into_exchange().finish();
                            } else {
                                ended_by.note(id, CloseReason::DecodeError);
                                out.into_exchange().close();
                            }
                        }
                        Failure::Stalled(error) => {
                            out.reject(FailureOrigin::Decode, &error, false);
                            out.into_exchange().close();
                        }
                        Failure::InputBudget { budget } => {
                            let error = InputBudgetExceeded {
                                budget,
                                buffered: budget,
                            };
                            out.reject(FailureOrigin::Decode, &error, false);
                            out.into_exchange().close();
                        }
                    }
                }
                Some(Event::Expired(responder)) => {
                    let id = responder.id();
                    if let Some(busy) = busy {
                        drop_work(busy, id, env);
                    }
                    let mut out = Responder::new(responder, env);
                    let after = crate::config::limit(config.request_timeout).unwrap_or_default();
                    let close = config.close_on_request_timeout;
                    out.reject(
                        FailureOrigin::RequestTimeout,
                        &RequestTimeout { after },
                        !close,
                    );
                    if close {
                        ended_by.note(id, CloseReason::RequestTimeout);
                        out.into_exchange().close();
                    } else {
                        out.into_exchange().finish();
                    }
                }
                // The streams step writes the front stream whenever it has room.
                Some(Event::Room(_)) => {}
            }
            moved = true;
            if requested {
                requests += 1;
                let consumed = conn.consumed();
                env.shared
                    .metrics
                    .request_size(consumed.saturating_sub(taken));
                taken = consumed;
            }
        }
        if requests > 0 {
            // Counted once per turn: the counter is shared by every connection.
            env.shared.metrics.frames_in(requests);
        }
        if at_once > 0 {
            env.shared.metrics.answered_at_once(at_once, read_at);
        }
        moved
    }

    /// Writes the answers of the later futures that resolved, polling them in request order.
    fn laters(&mut self, cx: &mut Context<'_>, env: Env<'_, R>, now: Instant) -> bool {
        let Some(busy) = self.work.as_deref_mut() else {
            return false;
        };
        work::poll_laters(busy, &mut self.conn, &mut self.ended_by, cx, env, now)
    }

    /// Writes the front streamed answer's parts while the output has room.
    fn streams(&mut self, cx: &mut Context<'_>, env: Env<'_, R>, now: Instant) -> bool {
        let Some(busy) = self.work.as_deref_mut() else {
            return false;
        };
        work::poll_streams(busy, &mut self.conn, cx, env, now)
    }

    /// Writes what the machine owes until the transport would block.
    fn write(&mut self, cx: &mut Context<'_>, env: Env<'_, R>, now: Instant) -> bool {
        let mut moved = false;
        if self.conn.poll_transmit().is_some() {
            env.shared.metrics.outbound(self.conn.owed());
        }
        while let Some(out) = self.conn.poll_transmit() {
            match Pin::new(&mut self.io).poll_write(cx, out) {
                Poll::Ready(Ok(0)) => {
                    self.failed(io::ErrorKind::WriteZero, IoFailure::Write, env, now);
                    return true;
                }
                Poll::Ready(Ok(n)) => {
                    env.shared.metrics.bytes_out(n);
                    self.conn.handle_written(n, now);
                    self.flush = true;
                    moved = true;
                }
                Poll::Ready(Err(error)) => {
                    self.failed(error.kind(), IoFailure::Write, env, now);
                    return true;
                }
                Poll::Pending => break,
            }
        }
        if self.flush {
            match Pin::new(&mut self.io).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.flush = false,
                Poll::Ready(Err(error)) => {
                    self.failed(error.kind(), IoFailure::Write, env, now);
                    return true;
                }
                Poll::Pending => {}
            }
        }
        moved
    }

    /// Reads once into the machine's buffer, if it wants input; the events that follow decode it.
    fn read(
        &mut self,
        cx: &mut Context<'_>,
        env: Env<'_, R>,
        now: Instant,
        read_at: &mut tokio::time::Instant,
    ) -> bool {
        let Some(buf) = self.conn.read_buf() else {
            return false;
        };
        match tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, buf) {
            Poll::Ready(Ok(0)) => {
                self.eof = true;
                self.conn.handle_eof(now);
            }
            Poll::Ready(Ok(n)) => {
                env.shared.metrics.bytes_in(n);
                *read_at = tokio::time::Instant::now();
                self.conn.handle_read(n, now);
            }
            Poll::Ready(Err(error)) => self.failed(error.kind(), IoFailure::Read, env, now),
            Poll::Pending => return false,
        }
        true
    }

    /// Arms the one sleep at the machine's next deadline, and fires it when it passes. The
    /// sleep is moved earlier when the deadline comes closer, never later: the idle deadline
    /// moves with every request, and moving a sleep is a trip through the runtime's timer
    /// wheel. A sleep that fires before the deadline (it moved later) is armed again.
    fn deadline(&mut self, cx: &mut Context<'_>, mut sleep: Pin<&mut Sleep>) -> bool {
        let Some(at) = self.conn.poll_timeout() else {
            return false;
        };
        if self.alarm == Alarm::Off || at < sleep.deadline().into_std() {
            sleep.as_mut().reset(at.into());
            self.alarm = Alarm::Set;
        }
        if self.alarm == Alarm::Waiting && !sleep.is_elapsed() {
            return false;
        }
        // Outside tokio's cooperative budget: a spent budget answers Pending without giving
        // the timer this task's waker, and a sleep then marked `Waiting` would never wake it.
        let mut unbudgeted = tokio::task::coop::unconstrained(sleep.as_mut());
        if Pin::new(&mut unbudgeted).poll(cx).is_pending() {
            self.alarm = Alarm::Waiting;
            return false;
        }
        self.alarm = Alarm::Off;
        let now = Instant::now();
        if now >= at {
            self.conn.handle_timeout(now);
        }
        true
    }

    fn failed(&mut self, kind: io::ErrorKind, op: IoFailure, env: Env<'_, R>, now: Instant) {
        env.shared.metrics.io_error(op);
        self.io_error.get_or_insert(kind);
        self.conn.handle_transport_error(now);
    }

    /// How the connection ends, and whether the peer closed its side first.
    pub(crate) fn ending(&self) -> (Ending, bool) {
        let reason = match self.conn.state() {
            State::Closed(reason) | State::Closing(reason) => reason,
            State::Open => MachineReason::Transport,
        };
        let named = match (self.ended_by.reason(), reason) {
            (Some(by), MachineReason::Local) => by,
            _ => close_reason(reason, self.io_error),
        };
        let ending = if reason.orderly() && self.io_error.is_none() {
            Ending::Orderly(named)
        } else {
            Ending::Abrupt(named)
        };
        (ending, self.eof)
    }

    /// The transport, for the close; everything else (later answers included) is dropped.
    pub(crate) fn into_transport(self) -> Io {
        self.io
    }
}
