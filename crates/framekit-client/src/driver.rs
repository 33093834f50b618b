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
    ClientEvent, CloseReason, Connection, Delivery, Match, SubmitError, Timeout,
};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Sleep;

use crate::call::{Call, Message, Outcome, Pending, Waiting};
use crate::codec::ClientCodec;
use crate::error::{Cause, Error};
use crate::metrics::OpenConnection;
use crate::shared::{Shared, Tagger};
use crate::transport::Transport;

/// How long a closed connection's orderly FIN may take before the transport is dropped.
const CLOSE_WRITE: Duration = Duration::from_secs(1);

pub(crate) struct Driver<C: ClientCodec<Req>, M, Req> {
    conn: Connection<C, framekit::connection::Client<M>>,
    io: Transport,
    calls: mpsc::Receiver<Message<Req, C::Answer>>,
    taking: bool,
    waiting: Waiting<Req, C::Answer>,
    tagger: Option<Tagger<Req>>,
    next_tag: u64,
    timer: Pin<Box<Sleep>>,
    alarm: Alarm,
    io_error: Option<io::ErrorKind>,
    flush: bool,
    /// The settings' exchange timeout, and as expired requests report it.
    timeout: Timeout,
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
        let timeout = conn.settings().timeouts().1;
        let expiry = match timeout {
            Timeout::After(after) => after,
            Timeout::Never => Duration::MAX,
        };
        Driver {
            conn,
            io,
            calls,
            taking: true,
            waiting: Waiting::new(),
            tagger,
            next_tag: 0,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            alarm: Alarm::Off,
            io_error: None,
            flush: false,
            timeout,
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
        // A source that answered Pending has registered this task's waker and will wake it:
        // asking it again in the same poll only costs (the channel's and the socket's
        // readiness checks were a tenth of a request's instructions at one in flight).
        let mut quiet = Quiet::default();
        loop {
            let now = Instant::now();
            let mut moved = self.events(now);
            if !quiet.calls {
                moved |= self.take_calls(cx, now, &mut quiet.calls);
            }
            moved |= self.write(cx, now);
            if !quiet.read {
                moved |= self.read(cx, now, &mut quiet.read);
            }
            moved |= self.deadline(cx);
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
                ClientEvent::Expired { id, delivery } => (id, Err(Expired(delivery))),
                ClientEvent::Dropped { .. } => continue,
                ClientEvent::Undecodable { id, kind } => {
                    let error = Error::Decode {
                        endpoint: Arc::clone(&self.shared.endpoint),
                        kind,
                    };
                    (id, Err(Ended(error)))
                }
                ClientEvent::Failed {
                    id,
                    delivery,
                    reason,
                } => {
                    let error = failure(&self.shared.endpoint, self.io_error, delivery, reason);
                    (id, Err(Ended(error)))
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
                Err(end) => {
                    let error = match end {
                        Ended(error) => error,
                        Expired(delivery) => Error::Timeout {
                            endpoint: Arc::clone(&self.shared.endpoint),
                            after: pending.timeout,
                            delivery,
                        },
                    };
                    self.shared.metrics.failed(&error);
                    Outcome::Failed(error)
                }
            };
            // A caller that went away dropped its receiver: the answer is consumed here and
            // dropped, and the stream stays in sync.
            let _ = pending.reply.send(outcome);
        }
        moved
    }

    /// Takes calls from the channel while the machine has room, and encodes each.
    fn take_calls(&mut self, cx: &mut Context<'_>, now: Instant, pending: &mut bool) -> bool {
        let mut moved = false;
        while self.taking && self.conn.can_submit() {
            let call = match self.calls.poll_recv(cx) {
                Poll::Ready(Some(Message::Call(call))) => call,
                Poll::Ready(Some(Message::Close)) | Poll::Ready(None) => {
                    // Graceful: the machine reads the answers in flight, then closes.
                    self.taking = false;
                    self.shared.accepting.store(false, Relaxed);
                    self.conn.close(now);
                    return true;
                }
                Poll::Pending => {
                    *pending = true;
                    break;
                }
            };
            moved = true;
            self.submit(call, now);
        }
        moved
    }

    fn submit(&mut self, call: Call<Req, C::Answer>, now: Instant) {
        let Call {
            mut request,
            reply,
            deadline,
        } = call;
        if reply.is_closed() {
            // Its caller went away before it was sent: send nothing.
            return;
        }
        // The request's own deadline, less the time it waited for room; the settings' one
        // otherwise.
        let (timeout, after) = match deadline {
            Some((at, after)) => match at.checked_duration_since(now) {
                Some(left) if !left.is_zero() => (Timeout::After(left), after),
                _ => {
                    let error = Error::Timeout {
                        endpoint: Arc::clone(&self.shared.endpoint),
                        after,
                        delivery: Delivery::NotSent,
                    };
                    self.shared.metrics.failed(&error);
                    let _ = reply.send(Outcome::Failed(error));
                    return;
                }
            },
            None => (self.timeout, self.expiry),
        };
        let tag = self.tagger.as_ref().map(|set| {
            let tag = self.next_tag;
            self.next_tag = self.next_tag.wrapping_add(1);
            set(&mut request, tag);
            tag
        });
        let error = match self.conn.submit_within(request, tag, timeout, now) {
            Ok(id) => {
                let started = now;
                let pending = Pending {
                    reply,
                    started,
                    timeout: after,
                };
                self.waiting.insert(id, pending);
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
    fn read(&mut self, cx: &mut Context<'_>, now: Instant, pending: &mut bool) -> bool {
        let Some(buf) = self.conn.read_buf() else {
            return false;
        };
        match tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, buf) {
            Poll::Ready(Ok(0)) => self.conn.handle_eof(now),
            Poll::Ready(Ok(n)) => self.conn.handle_read(n, now),
            Poll::Ready(Err(error)) => self.transport_failed(error.kind(), now),
            Poll::Pending => {
                *pending = true;
                return false;
            }
        }
        true
    }

    /// Arms the one sleep for the machine's next deadline, and hands the machine the time when
    /// it fires. A sleep armed earlier than the deadline is kept: it fires early, the machine
    /// finds nothing due, and the next turn arms it again. The idle and write deadlines move
    /// later with every request, and moving the sleep each time (out of tokio's timer wheel
    /// and back) cost ~250 instructions a request at one in flight.
    fn deadline(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(at) = self.conn.poll_timeout() else {
            // Nothing is due: the sleep is not polled, so at most it wakes the task once.
            return false;
        };
        if self.alarm == Alarm::Off || at < self.timer.deadline().into_std() {
            self.timer.as_mut().reset(at.into());
            self.alarm = Alarm::Set;
        }
        if self.alarm == Alarm::Waiting && !self.timer.is_elapsed() {
            return false;
        }
        // Outside tokio's cooperative budget: a spent budget answers Pending without giving
        // the timer this task's waker, and a sleep then marked `Waiting` would never wake it.
        let mut unbudgeted = tokio::task::coop::unconstrained(self.timer.as_mut());
        if Pin::new(&mut unbudgeted).poll(cx).is_pending() {
            self.alarm = Alarm::Waiting;
            return false;
        }
        self.alarm = Alarm::Off;
        self.conn.handle_timeout(Instant::now());
        true
    }

    fn transport_failed(&mut self, kind: io::ErrorKind, now: Instant) {
        self.io_error.get_or_insert(kind);
        self.conn.handle_transport_error(now);
    }
}

/// The one sleep, as the driver keeps it.
///
/// A poll of a sleep that has not fired is a trip into the runtime's timer, so the sleep is
/// polled once after it is set, which gives the timer this task's waker, and then only once it
/// has fired. That relies on every poll carrying the same waker: the driver is one task
/// (`ClientConnection::spawn`) for its whole life; and on that poll reaching the timer, so it
/// is made outside tokio's cooperative budget (see `deadline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alarm {
    /// Not set: no deadline when last asked, or the sleep fired.
    Off,
    /// Set (the sleep's own deadline says where), not yet polled since.
    Set,
    /// Set and polled since: in the timer, holding this task's waker.
    Waiting,
}

/// Which sources answered Pending in this poll (each has registered the task's waker).
#[derive(Default)]
struct Quiet {
    calls: bool,
    read: bool,
}

/// How an exchange ended without an answer.
enum End {
    /// With this error.
    Ended(Error),
    /// Its deadline passed; whether it was written.
    Expired(Delivery),
}

use End::{Ended, Expired};

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
