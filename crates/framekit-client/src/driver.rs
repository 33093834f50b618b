//! The driver of one client connection: the task that owns the transport, one sleep and the
//! callers' reply channels, and does what the connection machine says, in the order its module
//! doc gives (events, calls, writes, reads, the deadline), until the machine is closed.
//!
//! It is polled by hand, as quinn drives quinn-proto: each step borrows the machine in turn, so
//! requests are encoded straight into the machine's output and answers read straight into its
//! read buffer, with no copy in between. Calls are taken from the channel only while the
//! machine has room, so callers wait in the bounded channel, never in an unbounded queue.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use framekit::connection::{
    ClientEvent, CloseReason, Connection, Delivery, Match, State, SubmitError, Timeout,
};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Sleep;

use crate::call::{Call, Message, Outcome, Pending, Waiting};
use crate::codec::ClientCodec;
use crate::connection::{Shared, Tagger};
use crate::error::{Cause, Error};
use crate::metrics::OpenConnection;
use crate::transport::Transport;

/// How long a closed connection's orderly FIN may take before the transport is dropped.
const CLOSE_WRITE: Duration = Duration::from_secs(1);

pub(crate) struct Driver<C: ClientCodec<Req>, M, Req> {
    conn: Connection<C, framekit::connection::Client<M>>,
    io: Transport,
    calls: mpsc::Receiver<Message<Req, C::Answer>>,
    taking: bool,
    /// Graceful close asked for: no new calls; the machine is closed once no caller waits.
    closing: bool,
    waiting: Waiting<Req, C::Answer>,
    tagger: Option<Tagger<Req>>,
    next_tag: u64,
    timer: Pin<Box<Sleep>>,
    armed: Option<Instant>,
    io_error: Option<io::ErrorKind>,
    flush: bool,
    /// The machine's exchange timeout, as expired requests report it.
    expiry: Duration,
    shared: Arc<Shared>,
    done: watch::Sender<bool>,
    _open: OpenConnection,
}

impl<C, M, Req> Driver<C, M, Req>
where
    C: ClientCodec<Req>,
    <C as tokio_util::codec::Encoder<Req>>::Error: std::error::Error + Send + Sync + 'static,
    M: Match<C> + Send + 'static,
    Req: Send + 'static,
{
    pub(crate) fn new(
        conn: Connection<C, framekit::connection::Client<M>>,
        io: Transport,
        calls: mpsc::Receiver<Message<Req, C::Answer>>,
        tagger: Option<Tagger<Req>>,
        shared: Arc<Shared>,
        done: watch::Sender<bool>,
    ) -> Self {
        let open = shared.metrics.opened();
        let expiry = match conn.settings().timeouts().1 {
            Timeout::After(after) => after,
            Timeout::Never => Duration::MAX,
        };
        Driver {
            conn,
            io,
            calls,
            taking: true,
            closing: false,
            waiting: Waiting::new(),
            tagger,
            next_tag: 0,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            armed: None,
            io_error: None,
            flush: false,
            expiry,
            shared,
            done,
            _open: open,
        }
    }

    /// Runs the connection to its end, then closes the transport and answers every call left.
    pub(crate) async fn run(mut self) {
        poll_fn(|cx| self.poll_turns(cx)).await;
        self.shared.accepting.store(false, Relaxed);
        // Calls that were never taken go back to their callers, to be sent elsewhere.
        self.calls.close();
        while let Ok(message) = self.calls.try_recv() {
            if let Message::Call(call) = message {
                let _ = call.reply.send(Outcome::NotTaken(call.request));
            }
        }
        let reason = self.conn.state().reason().unwrap_or(CloseReason::Transport);
        for pending in self.waiting.drain() {
            // The machine reports every unfinished exchange; this is only a guard.
            let error = failure(
                &self.shared.endpoint,
                self.io_error,
                Delivery::MaybeApplied,
                reason,
            );
            let _ = pending.reply.send(Outcome::Failed(error));
        }
        if reason.orderly() && self.io_error.is_none() {
            let _ = tokio::time::timeout(CLOSE_WRITE, self.io.shutdown()).await;
        } else if let Transport::Tcp(tcp) = &self.io {
            // An abrupt end is a reset, so the server does not take a half-written request.
            let _ = socket2::SockRef::from(tcp).set_linger(Some(Duration::ZERO));
        }
        let _ = self.done.send(true);
    }

    /// Turns until the machine is closed (Ready) or nothing can move (Pending, every source
    /// registered for a wake-up).
    fn poll_turns(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let now = Instant::now();
            let mut moved = self.events(now);
            moved |= self.take_calls(cx, now);
            moved |= self.write(cx, now);
            moved |= self.read(cx, now);
            moved |= self.deadline(cx);
            moved |= self.close_when_done(cx, now);
            if self.conn.is_closed() {
                self.events(now);
                return Poll::Ready(());
            }
            if !moved {
                return Poll::Pending;
            }
        }
    }

    /// Hands every answer, expiry and failure the machine has to its caller.
    fn events(&mut self, now: Instant) -> bool {
        let mut moved = false;
        while let Some(event) = self.conn.poll_event(now) {
            moved = true;
            let (id, outcome) = match event {
                ClientEvent::Response { id, answer } => (id, Ok(C::own(answer))),
                ClientEvent::Expired { id, delivery } => {
                    let error = Error::Timeout {
                        endpoint: Arc::clone(&self.shared.endpoint),
                        after: self.expiry,
                        delivery,
                    };
                    (id, Err(error))
                }
                ClientEvent::Dropped { .. } => continue,
                ClientEvent::Undecodable { id, kind } => {
                    let error = Error::Decode {
                        endpoint: Arc::clone(&self.shared.endpoint),
                        kind,
                    };
                    (id, Err(error))
                }
                ClientEvent::Failed {
                    id,
                    delivery,
                    reason,
                } => {
                    let error = failure(&self.shared.endpoint, self.io_error, delivery, reason);
                    (id, Err(error))
                }
            };
            let Some(pending) = self.waiting.remove(id) else {
                continue;
            };
            let outcome = match outcome {
                Ok(answer) => {
                    self.shared
                        .metrics
                        .answered(now.saturating_duration_since(pending.started));
                    Outcome::Answer(answer)
                }
                Err(error) => {
                    self.shared.metrics.failed(&error);
                    Outcome::Failed(error)
                }
            };
            // A caller that gave up (its own deadline) dropped its receiver: the answer is
            // consumed here and dropped, and the stream stays in sync.
            let _ = pending.reply.send(outcome);
        }
        moved
    }

    /// Takes calls from the channel while the machine has room, and encodes each.
    fn take_calls(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let mut moved = false;
        while self.taking && self.conn.state() == State::Open && self.has_room() {
            let call = match self.calls.poll_recv(cx) {
                Poll::Ready(Some(Message::Call(call))) => call,
                Poll::Ready(Some(Message::Close)) | Poll::Ready(None) => {
                    self.taking = false;
                    self.closing = true;
                    self.shared.accepting.store(false, Relaxed);
                    return true;
                }
                Poll::Pending => break,
            };
            moved = true;
            self.submit(call, now);
        }
        moved
    }

    /// Ends a gracefully closing connection once no caller waits. MARKED (client-needs.md):
    /// the machine stops reading when it is closing, so the answers in flight could not
    /// arrive after `close`; the driver waits for them itself, then closes the machine, at
    /// once (nothing in flight) or, when only answers no caller waits for are left (callers
    /// that gave up), abruptly.
    fn close_when_done(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        if !self.closing || self.conn.state() != State::Open || self.waiting.poll_any_caller(cx) {
            return false;
        }
        if self.conn.in_flight() == 0 {
            self.conn.close(now);
        } else {
            self.conn.handle_transport_error(now);
        }
        true
    }

    /// Whether a submit now is sure not to be refused as busy. MARKED (client-needs.md): the
    /// machine drops a request it refuses, so the driver asks first, with the low water mark
    /// (below it the machine's output always has room, whatever its hysteresis state).
    fn has_room(&self) -> bool {
        let settings = self.conn.settings();
        self.conn.in_flight() < settings.in_flight_limit()
            && self.conn.owed() <= settings.low_water_mark()
    }

    fn submit(&mut self, call: Call<Req, C::Answer>, now: Instant) {
        let Call { mut request, reply } = call;
        if reply.is_closed() {
            // Its caller gave up before it was sent: send nothing.
            return;
        }
        let tag = self.tagger.as_ref().map(|set| {
            let tag = self.next_tag;
            self.next_tag = self.next_tag.wrapping_add(1);
            set(&mut request, tag);
            tag
        });
        let error = match self.conn.submit(request, tag, now) {
            Ok(id) => {
                let started = now;
                self.waiting.insert(id, Pending { reply, started });
                self.flush = true;
                return;
            }
            Err(SubmitError::Encode(error)) => Error::Encode(Box::new(error)),
            Err(SubmitError::Busy { .. } | SubmitError::Closing | SubmitError::TagInUse(_)) => {
                let reason = self.conn.state().reason().unwrap_or(CloseReason::Local);
                failure(
                    &self.shared.endpoint,
                    self.io_error,
                    Delivery::NotSent,
                    reason,
                )
            }
        };
        self.shared.metrics.failed(&error);
        let _ = reply.send(Outcome::Failed(error));
    }

    /// Writes what the machine owes until the transport would block.
    fn write(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let mut moved = false;
        while let Some(out) = self.conn.poll_transmit() {
            match Pin::new(&mut self.io).poll_write(cx, out) {
                Poll::Ready(Ok(0)) => {
                    self.transport_failed(io::ErrorKind::WriteZero, now);
                    return true;
                }
                Poll::Ready(Ok(n)) => {
                    self.conn.handle_written(n, now);
                    self.flush = true;
                    moved = true;
                }
                Poll::Ready(Err(error)) => {
                    self.transport_failed(error.kind(), now);
                    return true;
                }
                Poll::Pending => break,
            }
        }
        // TLS keeps written records until flushed; TCP and Unix flush at once.
        if self.flush {
            match Pin::new(&mut self.io).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.flush = false,
                Poll::Ready(Err(error)) => {
                    self.transport_failed(error.kind(), now);
                    return true;
                }
                Poll::Pending => {}
            }
        }
        moved
    }

    /// Reads once into the machine's buffer, if it wants input; the next turn decodes it.
    fn read(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let Some(buf) = self.conn.read_buf() else {
            return false;
        };
        match tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, buf) {
            Poll::Ready(Ok(0)) => self.conn.handle_eof(now),
            Poll::Ready(Ok(n)) => self.conn.handle_read(n, now),
            Poll::Ready(Err(error)) => self.transport_failed(error.kind(), now),
            Poll::Pending => return false,
        }
        true
    }

    /// Arms the one sleep at the machine's next deadline, and fires it when it passes.
    fn deadline(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(at) = self.conn.poll_timeout() else {
            self.armed = None;
            return false;
        };
        if self.armed != Some(at) {
            self.timer.as_mut().reset(at.into());
            self.armed = Some(at);
        }
        if self.timer.as_mut().poll(cx).is_pending() {
            return false;
        }
        self.armed = None;
        self.conn.handle_timeout(Instant::now());
        true
    }

    fn transport_failed(&mut self, kind: io::ErrorKind, now: Instant) {
        self.io_error.get_or_insert(kind);
        self.conn.handle_transport_error(now);
    }
}

/// The error of a request the connection to `endpoint` could not finish.
fn failure(
    endpoint: &Arc<str>,
    io_error: Option<io::ErrorKind>,
    delivery: Delivery,
    reason: CloseReason,
) -> Error {
    let cause = match (reason, io_error) {
        (CloseReason::Transport, Some(kind)) => Cause::Io(kind),
        (CloseReason::PeerClosed, _) => Cause::PeerClosed,
        (CloseReason::Decode(kind), _) => Cause::Decode(kind),
        (reason, _) => Cause::Ended(reason.name()),
    };
    Error::Failed {
        endpoint: Arc::clone(endpoint),
        delivery,
        cause,
    }
}
