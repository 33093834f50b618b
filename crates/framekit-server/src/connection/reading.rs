//! The read side: lazy reads, decoding what is buffered, the input budget, and the end of
//! input.
//!
//! Memory: an idle connection holds **no** read buffer. While waiting for the first byte of a
//! frame it polls the socket with a buffer on the stack that lives only during the poll, and it
//! takes a buffer only for bytes that arrived (from the thread's [`pool`] of released ones);
//! the buffer goes back to the pool once it is empty. The
//! input budget applies whatever the codec says: a codec still asking for more once the budget
//! is buffered is a failure of kind `"input_budget"` (error reply, then close).

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{ready, Context, Poll};

use bytes::{BufMut, BytesMut};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::time::Instant;

use crate::codec::ConnectionCodec;
use crate::error::{CodecError, FailureOrigin, InputBudgetExceeded};
use crate::metrics::CloseReason;
use crate::pool;

use super::dispatch::{Dispatch, Signal, Work};
use super::intake::{Intake, Refused, Taken};
use super::writing::{Unencodable, Writing};
use super::Env;

/// Size of the on-stack buffer used to read into an idle connection.
const IDLE_READ: usize = 4 * 1024;
/// How much spare capacity a connection reserves when a frame is under way and the buffer is full.
const READ_CHUNK: usize = 8 * 1024;

/// Whether requests still come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Input {
    /// Reading and decoding.
    Open,
    /// The server is shutting down: what is buffered is decoded, and only the rest of a request
    /// under way is read.
    Draining,
    /// No more requests, and why.
    Ended(CloseReason),
}

/// The read side of one connection. It does not hold the transport: the connection lends it
/// to [`poll_read`](Reading::poll_read), so the read and write sides need no lock or shared
/// handle between them.
pub(super) struct Reading {
    /// Undecoded input; unallocated while empty.
    pub(super) buf: BytesMut,
    pub(super) input: Input,
    /// The peer closed its side (a read returned 0).
    pub(super) eof: bool,
    /// The codec asked for more input at its last call.
    wants_more: bool,
    /// The codec's last answer was "incomplete" and nothing that could change it has happened
    /// since (no byte read, no end of input, no drain, no response encoded outside
    /// [`decode`](Reading::decode)): asking it again would get the same answer, so a decode
    /// turn does not. The turn after every answer is written would otherwise ask once more.
    settled: bool,
    /// When the frame now arriving started, while one is under way: the frame clock.
    pub(super) frame_started: Option<Instant>,
    /// Whether the previous turn was reading (a pause of our own restarts the frame clock).
    was_reading: bool,
}

/// What one decode turn did.
#[derive(Debug, Default)]
pub(super) struct Decoded {
    /// Requests decoded and handed over.
    pub(super) requests: u64,
    /// Responses that were ready at once and went straight into the outbound queue.
    pub(super) answered: u64,
    /// The dispatcher was handed or told something (its status may have changed): without
    /// it, the status from before the turn still holds.
    pub(super) asked: bool,
}

impl Reading {
    /// The read side of a connection waking with `buf` read (`eof`: the read that woke it
    /// found the end).
    pub(super) fn new(buf: BytesMut, eof: bool) -> Self {
        Reading {
            buf,
            input: Input::Open,
            eof,
            wants_more: false,
            settled: false,
            frame_started: None,
            was_reading: false,
        }
    }

    /// Whether requests may still be decoded.
    pub(super) fn is_open(&self) -> bool {
        !matches!(self.input, Input::Ended(_))
    }

    /// The server is shutting down: read no more, except the rest of a request under way.
    pub(super) fn drain(&mut self) {
        if self.input == Input::Open {
            self.input = Input::Draining;
            self.settled = false;
        }
    }

    /// A response was encoded outside [`decode`](Reading::decode) (a codec may decode
    /// differently once it has answered): the next decode turn asks the codec again.
    pub(super) fn unsettle(&mut self) {
        self.settled = false;
    }

    /// Ends the input for `reason`: the dispatcher hears of it, and the buffer goes. A later
    /// end (the handler closing after the peer did) replaces the reason.
    pub(super) fn end<D: Dispatch<Req>, Req>(&mut self, reason: CloseReason, dispatch: &mut D) {
        if self.is_open() {
            dispatch.signal(Signal::EndInput);
            pool::give(std::mem::take(&mut self.buf));
            self.frame_started = None;
        }
        self.input = Input::Ended(reason);
    }

    /// Decodes and dispatches every request already buffered, as the dispatcher takes them; answers that
    /// are ready at once are encoded straight into `writing`'s queue. A fatal failure (decode
    /// error, input budget) ends the input and returns the last reply for after every earlier
    /// answer. `now` is the turn's clock (see [`super::run`]): a frame left over starts then.
    pub(super) fn decode<C, D, Req>(
        &mut self,
        codec: &mut C,
        dispatch: &mut D,
        writing: &mut Writing,
        env: Env<'_, D::Resp>,
        now: Instant,
        cx: &mut Context<'_>,
    ) -> Result<(Decoded, Option<D::Resp>), Unencodable>
    where
        C: ConnectionCodec<D::Resp>,
        D: Dispatch<Req> + Intake<C, D::Resp>,
    {
        let cfg = &env.shared.config;
        let mut turn = Decoded::default();
        let mut last_reply = None;
        // Frames consumed without a request (recoverable errors): the frame clock restarts too.
        let mut refused = 0;
        // Where the last recoverable error left the buffer: a codec that fails twice there in
        // a row makes no progress, and the error is treated as fatal.
        let mut recovered_at: Option<usize> = None;
        while !self.settled && self.is_open() && dispatch.spare() {
            turn.asked = true;
            let buffered = self.buf.len();
            match dispatch.take(codec, &mut self.buf, self.eof, writing, env, cx) {
                Ok(Taken::Request { answered }) => {
                    turn.requests += 1;
                    env.shared
                        .metrics
                        .frame(buffered.saturating_sub(self.buf.len()));
                    self.wants_more = false;
                    recovered_at = None;
                    turn.answered += answered;
                }
                // Handled on a later turn, once output is below its high water mark again.
                Ok(Taken::Wait) => break,
                Err(Refused::Unencodable) => return Err(Unencodable),
                Ok(Taken::Incomplete) => {
                    self.wants_more = true;
                    self.settled = true;
                    // At shutdown a connection closes at a request boundary only: a request
                    // whose first bytes arrived is read to its end (within the frame timeout)
                    // and answered, so a request without an answer was never started.
                    if self.input == Input::Draining && self.buf.is_empty() {
                        self.end(CloseReason::Shutdown, dispatch);
                    } else if self.eof {
                        self.end(CloseReason::PeerClosed, dispatch);
                    }
                    break;
                }
                Err(Refused::Decode(err)) => {
                    let kind = err.kind_name();
                    let recover = cfg.recover_decode_errors
                        && err.recoverable()
                        && recovered_at != Some(self.buf.len());
                    let reply =
                        env.shared
                            .reject(FailureOrigin::Decode, kind, &err, recover, env.ctx);
                    if recover {
                        tracing::debug!(error = %err, kind, "recoverable decode error, going on");
                        recovered_at = Some(self.buf.len());
                        self.wants_more = false;
                        refused += 1;
                        if let Some(reply) = reply {
                            dispatch.push(Work::Reply(reply), cx);
                        }
                        continue;
                    }
                    tracing::debug!(error = %err, kind, "decode error, closing");
                    last_reply = reply;
                    self.end(CloseReason::DecodeError, dispatch);
                    dispatch.signal(Signal::Abandon);
                    break;
                }
            }
        }
        if turn.requests > 0 || refused > 0 {
            // What is left over is the start of the next frame: its clock starts now.
            self.frame_started = (!self.buf.is_empty()).then_some(now);
        }
        if self.buf.is_empty() {
            self.frame_started = None;
            if self.buf.capacity() > 0 {
                // Idle connections hold no read buffer (frames cut from it keep their bytes);
                // it goes back to the thread's pool for the next burst.
                pool::give(std::mem::take(&mut self.buf));
            }
        }
        if self.is_open() && self.wants_more && self.buf.len() >= cfg.input_budget {
            let err = InputBudgetExceeded {
                budget: cfg.input_budget,
                buffered: self.buf.len(),
            };
            if !env.shared.budget_warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    budget = cfg.input_budget,
                    "input budget exhausted while the codec still wanted more input; if frames \
                     this large are legitimate, raise ServerConfig::input_budget above the \
                     framing's buffer_limit (ServerConfig::fit_framing); logged once per server"
                );
            }
            tracing::debug!(buffered = self.buf.len(), "input budget exhausted, closing");
            last_reply =
                env.shared
                    .reject(FailureOrigin::Decode, err.kind_name(), &err, false, env.ctx);
            self.end(CloseReason::InputBudget, dispatch);
            dispatch.signal(Signal::Abandon);
            turn.asked = true;
        }
        Ok((turn, last_reply))
    }

    /// Whether to read this turn (`spare`: the dispatcher takes another request; `paused`: output is
    /// above its high water mark). Reading that resumes after a pause of our own restarts the
    /// frame clock.
    /// `now` is the turn's clock.
    pub(super) fn wants_read(
        &mut self,
        spare: bool,
        paused: bool,
        budget: usize,
        now: Instant,
    ) -> bool {
        // Draining, a request under way is still read to its end (see `decode`).
        let accepting = match self.input {
            Input::Open => true,
            Input::Draining => !self.buf.is_empty(),
            Input::Ended(_) => false,
        };
        let reading = accepting && !self.eof && !paused && spare && self.buf.len() < budget;
        if reading && !self.was_reading && !self.buf.is_empty() {
            self.frame_started = Some(now);
        }
        self.was_reading = reading;
        reading
    }

    /// Reads at most `limit` bytes; with an empty, unallocated buffer the read goes through
    /// the stack so waiting costs no heap memory. Returns how many bytes arrived (0: the peer
    /// closed its side, recorded in `eof`).
    pub(super) fn poll_read<Rd: AsyncRead + Unpin>(
        &mut self,
        rd: &mut Rd,
        limit: usize,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        let n = ready!(poll_read_lazy(rd, &mut self.buf, limit, cx))?;
        self.eof |= n == 0;
        // New bytes or the end: the codec's last answer no longer stands.
        self.settled = false;
        Poll::Ready(Ok(n))
    }
}

/// Reads at most `limit` bytes into `buf`; with an empty, unallocated buffer the read goes
/// through a buffer on the stack that lives only during the poll, so waiting costs no heap
/// memory and allocates only for bytes that arrived. Also the parked connection's one read.
pub(super) fn poll_read_lazy<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
    limit: usize,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    let limit = limit.max(1);
    if buf.is_empty() && buf.capacity() == 0 {
        let mut stack = [MaybeUninit::<u8>::uninit(); IDLE_READ];
        let want = limit.min(IDLE_READ);
        let mut rb = ReadBuf::uninit(&mut stack[..want]);
        ready!(Pin::new(rd).poll_read(cx, &mut rb))?;
        let got = rb.filled();
        if !got.is_empty() {
            // A kept buffer with room for what comes next, rather than one of exactly this
            // size that the next read would have to grow.
            *buf = pool::take();
            buf.extend_from_slice(got);
        }
        return Poll::Ready(Ok(got.len()));
    }
    if buf.capacity() == buf.len() {
        buf.reserve(READ_CHUNK.min(limit));
    }
    let mut limited = (&mut *buf).limit(limit);
    tokio_util::io::poll_read_buf(Pin::new(rd), cx, &mut limited)
}
